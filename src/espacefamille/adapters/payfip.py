"""The ``PaymentGateway`` of a régie on PayFiP, the Treasury's online payment for communes (DGFiP).

``PayfipGateway`` sits on top of a ``PayfipClient`` — two calls the host application makes with its own SOAP
client: create the *idop* (the payment id) and read its result. Amounts are whole cents, the régie is its
*numcli*, each payment has its own reference (*refdet*), results ``P``/``V`` (paid by card / by direct debit),
``R``/``Z`` (refused) and ``A`` (cancelled). An id is valid about 15 minutes: a payment still unanswered after
that is expired, before that it is pending.
"""

from __future__ import annotations

import datetime as dt
import enum
import re
from collections.abc import Mapping
from typing import Final, Protocol

import attrs

from espacefamille.billing.online import (
    DEFAULT_VALIDITY,
    CreatedPayment,
    PaymentNotification,
    PaymentResult,
    PaymentStatus,
    check_validity,
    email_address,
    expires_after,
    notification_id,
    required_text,
    unanswered_result,
)
from espacefamille.calendar.timezones import (
    DEFAULT_TIMEZONE,
    local_instant,
    require_aware,
    time_zone,
)
from espacefamille.errors import InvalidInput
from espacefamille.money import Money

__all__ = [
    "PAYFIP_PAYMENT_URL",
    "PAYFIP_RESULTS",
    "PayfipClient",
    "PayfipGateway",
    "PayfipMode",
    "PayfipOrder",
    "PayfipResult",
    "payfip_cents",
    "payfip_status",
]

PAYFIP_PAYMENT_URL: Final = "https://www.payfip.gouv.fr/tpa/paiementws.web"

# -- PayFiP -----------------------------------------------------------------------------------

PAYFIP_RESULTS: Final[Mapping[str, PaymentStatus]] = {
    "P": PaymentStatus.PAID,  # paid by card
    "V": PaymentStatus.PAID,  # paid by SEPA direct debit
    "R": PaymentStatus.REFUSED,
    "Z": PaymentStatus.REFUSED,
    "A": PaymentStatus.CANCELLED,  # the payer gave up
}
"""PayFiP's ``resultrans`` codes and the status each one means."""


def payfip_status(resultrans: str) -> PaymentStatus:
    """The status a PayFiP result code means; an unknown code is an error, never guessed."""
    try:
        return PAYFIP_RESULTS[resultrans.strip().upper()]
    except (KeyError, AttributeError):
        raise InvalidInput(
            f"unknown PayFiP result {resultrans!r} (expected one of P, V, R, Z, A)",
            message_fr=f"Résultat PayFiP inconnu : « {resultrans} ».",
            code="payfip.unknown_result",
        ) from None


def payfip_cents(value: object, *, what: str = "montant") -> int:
    """A PayFiP amount: whole cents, as an ``int`` or a string of digits (SOAP answers are text).

    Floats, fractions of a cent, signs and anything else are refused: a gateway amount is never rounded.
    """
    if isinstance(value, Money):
        cents = value.cents
    elif isinstance(value, int) and not isinstance(value, bool):
        cents = value
    elif isinstance(value, str) and re.fullmatch(r"\d+", value.strip()):
        cents = int(value.strip())
    else:
        raise InvalidInput(
            f"{what} must be a whole number of cents, got {type(value).__name__} {value!r}",
            message_fr=f"Montant PayFiP invalide : « {value} » n'est pas un nombre entier de centimes.",
            code="payfip.amount_not_integral",
        )
    if cents < 0:
        raise InvalidInput(
            f"{what} must not be negative, got {cents}",
            message_fr="Un montant PayFiP ne peut pas être négatif.",
            code="payfip.amount_negative",
        )
    return cents


def _order_cents(value: object) -> int:
    cents = payfip_cents(value)
    if cents == 0:
        raise InvalidInput(
            "a PayFiP payment must be positive, got 0 cents",
            message_fr="Un paiement de 0 € ne peut pas être demandé.",
            code="payment.not_positive",
        )
    return cents


def _result_cents(value: object) -> int:
    return payfip_cents(value)


def _digits(instance: object, attribute: attrs.Attribute[str], value: object) -> None:
    if not isinstance(value, str) or not re.fullmatch(r"\d+", value):
        raise InvalidInput(
            f"{attribute.name} must be the régie's PayFiP client number (digits), got {value!r}",
            message_fr=f"Numéro de client PayFiP invalide : « {value} ».",
            code="payfip.invalid_numcli",
        )


_REFDET: Final = re.compile(r"[A-Za-z0-9]{6,30}")


def _refdet(instance: object, attribute: attrs.Attribute[str], value: object) -> None:
    if not isinstance(value, str) or not _REFDET.fullmatch(value):
        raise InvalidInput(
            f"a PayFiP reference is 6 to 30 letters or digits, got {value!r}",
            message_fr=(
                f"Référence de paiement invalide pour PayFiP : « {value} » (6 à 30 lettres ou chiffres)."
            ),
            code="payfip.invalid_reference",
        )


class PayfipMode(enum.Enum):
    """PayFiP's ``saisie``: test, activation (the régie's first real payments), or production."""

    TEST = "T"
    ACTIVATION = "X"
    PRODUCTION = "W"


@attrs.frozen
class PayfipOrder:
    """The fields of PayFiP's ``creerPaiementSecurise``, validated before the host's client sends them.

    ``montant`` is in cents (an ``int``: fractions, floats, zero and negative amounts are refused); ``numcli``
    is the régie's PayFiP client number; ``exer`` the accounting year; ``refdet`` the payment's reference.
    """

    numcli: str = attrs.field(validator=_digits)
    exer: int
    refdet: str = attrs.field(validator=_refdet)
    montant: int = attrs.field(converter=_order_cents)
    mel: str = attrs.field(validator=email_address)
    saisie: PayfipMode = attrs.field(validator=attrs.validators.instance_of(PayfipMode))
    urlnotif: str = attrs.field(validator=required_text)
    urlredirect: str = attrs.field(validator=required_text)
    objet: str = ""


@attrs.frozen
class PayfipResult:
    """The fields of PayFiP's ``recupererDetailPaiementSecurise`` the library reads.

    ``dattrans`` (``DDMMYYYY``) and ``heurtrans`` (``HHMM``) are the payment's date and time in the régie's
    zone, when PayFiP gives them.
    """

    idop: str = attrs.field(validator=required_text)
    resultrans: str
    montant: int = attrs.field(converter=_result_cents)
    refdet: str
    numcli: str
    dattrans: str = ""
    heurtrans: str = ""
    numauto: str = ""

    def answered_at(self, zone: str = DEFAULT_TIMEZONE) -> dt.datetime | None:
        """When PayFiP says the payment happened, or ``None`` when it does not say."""
        stamp = re.fullmatch(r"(\d\d)(\d\d)(\d{4})(\d\d)(\d\d)", self.dattrans + self.heurtrans)
        if stamp is None:
            return None
        day, month, year, hour, minute = (int(part) for part in stamp.groups())
        try:
            return local_instant(dt.date(year, month, day), dt.time(hour, minute), time_zone(zone))
        except ValueError:
            return None


class PayfipClient(Protocol):
    """What the host application implements with its own SOAP client (the library does no network I/O).

    ``create_idop`` calls ``creerPaiementSecurise`` and returns the ``idOp``. ``read_result`` calls
    ``recupererDetailPaiementSecurise``; it returns ``None`` while PayFiP has no result for the id (the
    payment is not finished, or the id lapsed unused), and raises for anything else (a network failure, a
    SOAP fault the host does not expect) so that nothing is decided on it.
    """

    def create_idop(self, order: PayfipOrder) -> str: ...

    def read_result(self, idop: str) -> PayfipResult | None: ...


def _positive_delta(instance: object, attribute: attrs.Attribute[dt.timedelta], value: object) -> None:
    check_validity(value)


@attrs.frozen
class PayfipGateway:
    """The ``PaymentGateway`` of a régie on PayFiP, on top of the host's ``PayfipClient``.

    ``numcli`` is the régie's client number (``Regie.payfip_client``); ``notification_url`` and ``return_url``
    are the portal's addresses PayFiP calls back and sends the family back to; ``validity`` is how long an id
    stays valid (15 minutes by default); ``zone`` is the régie's time zone, for the accounting year and the
    times PayFiP reports.
    """

    client: PayfipClient
    numcli: str = attrs.field(validator=_digits)
    notification_url: str = attrs.field(validator=required_text)
    return_url: str = attrs.field(validator=required_text)
    mode: PayfipMode = attrs.field(
        default=PayfipMode.PRODUCTION, validator=attrs.validators.instance_of(PayfipMode)
    )
    validity: dt.timedelta = attrs.field(default=DEFAULT_VALIDITY, validator=_positive_delta)
    payment_url: str = PAYFIP_PAYMENT_URL
    zone: str = DEFAULT_TIMEZONE
    subject: str = ""

    def create_payment(
        self, amount: Money, reference: str, *, email: str, now: dt.datetime
    ) -> CreatedPayment:
        require_aware(now)
        order = PayfipOrder(
            numcli=self.numcli,
            exer=now.astimezone(time_zone(self.zone)).year,
            refdet=reference,
            montant=_order_cents(amount),
            mel=email,
            saisie=self.mode,
            urlnotif=self.notification_url,
            urlredirect=self.return_url,
            objet=self.subject,
        )
        idop = self.client.create_idop(order)
        if not isinstance(idop, str) or not idop.strip():
            raise InvalidInput(f"the PayFiP client returned no idop ({idop!r})", code="payfip.no_idop")
        return CreatedPayment(
            idop,
            f"{self.payment_url}?idop={idop}",
            amount,
            reference,
            email,
            now,
            expires_after(now, self.validity),
        )

    def receive_notification(self, payload: Mapping[str, str]) -> PaymentNotification:
        idop = notification_id(
            payload,
            ["idop", "idOp"],
            code="payfip.notification_without_idop",
            message_fr="Notification PayFiP sans identifiant de paiement.",
        )
        return PaymentNotification(idop)

    def query_status(self, payment: CreatedPayment, now: dt.datetime) -> PaymentResult:
        require_aware(now)
        result = self.client.read_result(payment.payment_id)
        if result is None:
            return unanswered_result(payment, now)
        if result.numcli != self.numcli:
            # Another régie's answer: a misconfigured client, or a forged one; decide nothing on it.
            raise InvalidInput(
                f"PayFiP answered for client {result.numcli!r}, not this régie's {self.numcli!r}",
                message_fr="La réponse PayFiP concerne une autre régie : rien n'est enregistré.",
                code="payfip.other_client",
            )
        return PaymentResult(
            payment.payment_id,
            payfip_status(result.resultrans),
            Money.from_cents(result.montant),
            result.refdet,
            result.answered_at(self.zone),
            result.resultrans.strip().upper(),
        )


# -- the fake gateway -------------------------------------------------------------------------
