"""Online payment: the gateway port's values, the portal's record of each payment, and checked notifications.

A family pays invoices (or a basket at booking) online: the portal asks a **gateway** to create a payment for
an amount and a reference and sends the family to the returned redirect URL. The gateway later calls the
portal back with a **notification** that carries only the payment's id (as PayFiP does): the portal must then
**query** the result, which is one of ``PaymentStatus``: paid, refused, cancelled, pending or expired.

* ``PaymentGateway`` is the port (a ``typing.Protocol``, also offered by ``espacefamille.ports``). The library
  never does network I/O itself; ``espacefamille.adapters.payfip`` implements the port for PayFiP and
  ``espacefamille.adapters.fake_gateway`` is a deterministic one for tests and the demo.
* ``settle_notification`` turns a notification into a decision value: settle the payment once, ignore a
  duplicate, wait, close an unpaid payment, or reject an unknown id or a result whose amount or reference is
  not what was asked. A rejected notification settles nothing.
* ``payment_under_way`` tells the portal a family already has a payment in progress for some invoices, so it
  does not offer to pay them twice; an expired payment is not under way any more.

All instants are aware datetimes and ``now`` is always an argument. Validity windows are measured in elapsed
time (through UTC), so a payment started at 02:50 on the night clocks go back still expires 15 minutes later.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable, Mapping
from typing import Final, Protocol

import attrs

from espacefamille._internal.validators import email_address as _email_address
from espacefamille._internal.validators import non_empty, text_problem
from espacefamille.billing.documents import PaymentMethod
from espacefamille.billing.payments import Hold, PaymentOrder, payment_order
from espacefamille.calendar.timezones import (
    aware_instant,
    optional_aware_instant,
    require_aware,
)
from espacefamille.errors import InvalidInput
from espacefamille.money import Money
from espacefamille.text import Lang, format_time

__all__ = [
    "DEFAULT_VALIDITY",
    "CreatedPayment",
    "NotificationDecision",
    "NotificationOutcome",
    "PaymentAttempt",
    "PaymentGateway",
    "PaymentNotification",
    "PaymentResult",
    "PaymentStatus",
    "begin_payment",
    "check_validity",
    "expires_after",
    "notification_id",
    "payment_under_way",
    "reference_reused",
    "settle_notification",
    "unanswered_result",
]

DEFAULT_VALIDITY: Final = dt.timedelta(minutes=15)
"""How long a payment id stays valid at PayFiP (and, by default, at the fake gateway): about 15 minutes."""


def in_utc(moment: dt.datetime) -> dt.datetime:
    # Aware datetimes sharing a tzinfo compare by wall time, ignoring ``fold``; UTC makes the night
    # clocks go back compare (and add) in elapsed time.
    return moment.astimezone(dt.UTC)


#: An attrs validator of the gateways' values: a string that is not blank (``payment.missing_field``).
required_text = non_empty(code="payment.missing_field", message_fr="Valeur manquante : {name}.")
#: An attrs validator: the address a gateway sends its receipt to (``payment.invalid_email``).
email_address = _email_address(code="payment.invalid_email")


def _positive_money(instance: object, attribute: attrs.Attribute[Money], value: object) -> None:
    if not isinstance(value, Money):
        raise InvalidInput(f"{attribute.name} must be Money, got {value!r}", code="money.not_a_number")
    if value.cents <= 0:
        raise InvalidInput(
            f"a payment must be positive, got {value}",
            message_fr=f"Un paiement doit être positif (montant reçu : {value.format('fr')}).",
            code="payment.not_positive",
        )


# -- statuses ---------------------------------------------------------------------------------


class PaymentStatus(enum.Enum):
    """Where an online payment stands, as the gateway answers a query."""

    PAID = "paid"
    REFUSED = "refused"
    CANCELLED = "cancelled"
    PENDING = "pending"
    EXPIRED = "expired"

    @property
    def label_fr(self) -> str:
        """The word a family reads in its portal (``Paiement en cours``)."""
        return _LABELS[self][0]

    @property
    def label_en(self) -> str:
        return _LABELS[self][1]

    def label(self, lang: Lang = "fr") -> str:
        return self.label_fr if lang == "fr" else self.label_en

    @property
    def is_final(self) -> bool:
        """True once the gateway has answered (paid, refused, cancelled); pending and expired are not."""
        return self in (PaymentStatus.PAID, PaymentStatus.REFUSED, PaymentStatus.CANCELLED)


_LABELS: Final = {
    PaymentStatus.PAID: ("Payé", "Paid"),
    PaymentStatus.REFUSED: ("Refusé", "Refused"),
    PaymentStatus.CANCELLED: ("Annulé", "Cancelled"),
    PaymentStatus.PENDING: ("Paiement en cours", "Payment in progress"),
    PaymentStatus.EXPIRED: ("Expiré", "Expired"),
}


# -- what gateways return ---------------------------------------------------------------------


@attrs.frozen
class CreatedPayment:
    """A payment created at a gateway: its id, where to send the family, and what was asked.

    ``expires_at`` is ``created_at`` plus the gateway's validity (elapsed time): unanswered after that, the
    payment is expired.
    """

    payment_id: str = attrs.field(validator=required_text)
    redirect_url: str = attrs.field(validator=required_text)
    amount: Money = attrs.field(validator=_positive_money)
    reference: str = attrs.field(validator=required_text)
    email: str = attrs.field(validator=email_address)
    created_at: dt.datetime = attrs.field(validator=aware_instant)
    expires_at: dt.datetime = attrs.field(validator=aware_instant)

    def __attrs_post_init__(self) -> None:
        if in_utc(self.expires_at) <= in_utc(self.created_at):
            raise InvalidInput(
                f"payment {self.payment_id} expires at {self.expires_at.isoformat()}, not after its creation",
                code="input.end_before_start",
            )

    def is_expired_at(self, now: dt.datetime) -> bool:
        """True from ``expires_at`` on: the validity window is half-open, [created_at, expires_at)."""
        return in_utc(require_aware(now)) >= in_utc(self.expires_at)


@attrs.frozen
class PaymentNotification:
    """A gateway's call back: only the payment id, never the result (that must be queried)."""

    payment_id: str = attrs.field(validator=required_text)


def notification_id(payload: object, keys: Iterable[str], *, code: str, message_fr: str) -> str:
    """The payment id a gateway's call back carries under the first of ``keys`` it has, stripped.

    What arrives is whatever was posted to the host's web hook: a payload that is not a mapping, a key whose
    value is not text (a number, a list, a lone surrogate), or no id at all is an ``InvalidInput`` with
    ``code`` (the gateway's own) and ``message_fr``, never a ``TypeError``.
    """
    if isinstance(payload, Mapping):
        for key in keys:
            value = payload.get(key)
            if value is None or value == "":
                continue
            if isinstance(value, str) and value.strip() and text_problem(value.strip()) is None:
                return value.strip()
            break
    raise InvalidInput("a notification must carry a payment id as text", message_fr=message_fr, code=code)


@attrs.frozen
class PaymentResult:
    """A gateway's answer to a status query.

    ``amount`` and ``reference`` are the figures *the gateway* reports, to be checked against what was asked;
    they are ``None`` while it has not answered (pending or expired). ``gateway_code`` is the raw result
    (PayFiP's ``P``, ``V``, ``R``, ``Z``, ``A``; empty when there is none).
    """

    payment_id: str = attrs.field(validator=required_text)
    status: PaymentStatus = attrs.field(validator=attrs.validators.instance_of(PaymentStatus))
    amount: Money | None = None
    reference: str | None = None
    answered_at: dt.datetime | None = attrs.field(default=None, validator=optional_aware_instant)
    gateway_code: str = ""


class PaymentGateway(Protocol):
    """The payment port: what the portal needs from an online payment provider."""

    def create_payment(
        self, amount: Money, reference: str, *, email: str, now: dt.datetime
    ) -> CreatedPayment:
        """Create a payment of ``amount`` under ``reference`` (one reference per payment, a group payment
        over several invoices included) and return its id and the URL to send the family to."""
        ...

    def receive_notification(self, payload: Mapping[str, str]) -> PaymentNotification:
        """Read the gateway's call back (its form fields); it names the payment, nothing more."""
        ...

    def query_status(self, payment: CreatedPayment, now: dt.datetime) -> PaymentResult:
        """Ask the gateway where ``payment`` stands at ``now``."""
        ...


# -- what every gateway shares ------------------------------------------------------------------


def check_validity(value: object) -> None:
    if not isinstance(value, dt.timedelta) or value <= dt.timedelta(0):
        raise InvalidInput(
            f"a payment's validity must be a positive duration, got {value!r}",
            message_fr="La durée de validité d'un paiement doit être positive.",
            code="payment.invalid_validity",
        )


def expires_after(now: dt.datetime, validity: dt.timedelta) -> dt.datetime:
    return (in_utc(now) + validity).astimezone(now.tzinfo)


def unanswered_result(payment: CreatedPayment, now: dt.datetime) -> PaymentResult:
    status = PaymentStatus.EXPIRED if payment.is_expired_at(now) else PaymentStatus.PENDING
    return PaymentResult(payment.payment_id, status)


# -- the portal's record of its payments ----------------------------------------------------------


def _numbers(items: Iterable[str]) -> tuple[str, ...]:
    if isinstance(items, str):  # one number would otherwise become a tuple of characters
        return (items,)
    return tuple(items)


def _non_empty_numbers(instance: object, attribute: attrs.Attribute[tuple[str, ...]], value: object) -> None:
    if not value:
        raise InvalidInput(
            "a payment must name what it pays (invoice numbers, or a basket's hold)",
            message_fr="Aucune facture sélectionnée.",
            code="payment.no_selection",
        )


@attrs.frozen
class PaymentAttempt:
    """The portal's record of an online payment: what the gateway created, for whom and what, and its state.

    ``invoice_numbers`` are the invoices it pays (for a payment at booking, the id of the basket's hold).
    ``status`` is what the portal has recorded from notifications: pending until a decision is recorded with
    ``NotificationDecision.record``; ``status_at`` adds the validity window.
    """

    created: CreatedPayment
    regie_id: str = attrs.field(validator=required_text)
    family_id: str = attrs.field(validator=required_text)
    invoice_numbers: tuple[str, ...] = attrs.field(converter=_numbers, validator=_non_empty_numbers)
    status: PaymentStatus = PaymentStatus.PENDING

    @property
    def payment_id(self) -> str:
        return self.created.payment_id

    @property
    def hold(self) -> Hold | None:
        """The basket's hold this payment at booking pays, or None when it pays invoices."""
        return Hold.parse(self.invoice_numbers[0]) if len(self.invoice_numbers) == 1 else None

    @property
    def reference(self) -> str:
        return self.created.reference

    @property
    def amount(self) -> Money:
        return self.created.amount

    @property
    def settled(self) -> bool:
        return self.status is PaymentStatus.PAID

    def status_at(self, now: dt.datetime) -> PaymentStatus:
        """What the family sees at ``now``: the recorded status, or expired once the window has passed."""
        if self.status is PaymentStatus.PENDING and self.created.is_expired_at(now):
            return PaymentStatus.EXPIRED
        return self.status


def reference_reused(reference: str) -> InvalidInput:
    return InvalidInput(
        f"reference {reference!r} was already used for a payment; each payment needs its own",
        message_fr=f"La référence « {reference} » a déjà servi pour un paiement : il en faut une nouvelle.",
        code="payment.reference_reused",
    )


def payment_under_way(
    attempts: Iterable[PaymentAttempt], family_id: str, invoice_numbers: Iterable[str], now: dt.datetime
) -> PaymentAttempt | None:
    """The family's payment still pending at ``now`` for any of ``invoice_numbers``, if there is one.

    The portal shows it as "Paiement en cours" and does not offer to pay those invoices again. An expired,
    refused or cancelled payment is not under way: the family may pay again.
    """
    require_aware(now)
    wanted = set(_numbers(invoice_numbers))
    for attempt in attempts:
        if (
            attempt.family_id == family_id
            and wanted.intersection(attempt.invoice_numbers)
            and attempt.status_at(now) is PaymentStatus.PENDING
        ):
            return attempt
    return None


def begin_payment(
    gateway: PaymentGateway,
    known_payments: Mapping[str, PaymentAttempt],
    *,
    regie_id: str,
    family_id: str,
    invoice_numbers: Iterable[str],
    amount: Money,
    reference: str,
    email: str,
    now: dt.datetime,
) -> PaymentAttempt:
    """Create a payment at ``gateway`` and return the portal's record of it (to add to ``known_payments``).

    Refused with ``InvalidInput`` before anything is created when ``reference`` was already used (each
    payment, a retry included, needs its own: ``payment.reference_reused``) or when a payment of the same
    invoices is already under way (``payment.under_way``).
    """
    require_aware(now)
    numbers = _numbers(invoice_numbers)
    if any(attempt.reference == reference for attempt in known_payments.values()):
        raise reference_reused(reference)
    current = payment_under_way(known_payments.values(), family_id, numbers, now)
    if current is not None:
        until = current.created.expires_at
        raise InvalidInput(
            f"payment {current.reference} of these invoices is under way until {until.isoformat()}",
            message_fr=(
                f"Un paiement de ces factures est déjà en cours (référence {current.reference}) ; "
                f"réessayez après {format_time(until, 'fr')} s'il n'aboutit pas."
            ),
            code="payment.under_way",
            details={"payment_id": current.payment_id},
        )
    created = gateway.create_payment(amount, reference, email=email, now=now)
    return PaymentAttempt(created, regie_id, family_id, numbers)


# -- notifications ----------------------------------------------------------------------------


class NotificationOutcome(enum.Enum):
    """What the portal does with a notification."""

    SETTLE = "settle"  # paid: record the payment, once
    CLOSE = "close"  # refused, cancelled or expired: nothing is paid, the invoices are open again
    WAIT = "wait"  # no answer yet: nothing to do now
    IGNORE = "ignore"  # already settled: a duplicate notification
    REJECT = "reject"  # unknown id, or a result that is not what was asked: settle nothing


_MESSAGES: Final[Mapping[str, tuple[str, str]]] = {
    "payment.notification.paid": (
        "Paiement {reference} de {amount} reçu : il est enregistré.",
        "Payment {reference} of {amount_en} received: record it.",
    ),
    "payment.notification.duplicate": (
        "Le paiement {reference} est déjà enregistré : rien ne change.",
        "Payment {reference} is already settled: nothing changes.",
    ),
    "payment.notification.pending": (
        "Le paiement {reference} est en cours : pas encore de réponse.",
        "Payment {reference} is in progress: no answer yet.",
    ),
    "payment.notification.refused": (
        "Le paiement {reference} a été refusé : les factures restent à payer.",
        "Payment {reference} was refused: the invoices are still to pay.",
    ),
    "payment.notification.cancelled": (
        "Le paiement {reference} a été annulé : les factures restent à payer.",
        "Payment {reference} was cancelled: the invoices are still to pay.",
    ),
    "payment.notification.expired": (
        "Le paiement {reference} a expiré sans réponse : les factures restent à payer.",
        "Payment {reference} expired unanswered: the invoices are still to pay.",
    ),
    "payment.notification.unknown_id": (
        "Notification d'un paiement inconnu ({payment_id}) : rien n'est enregistré.",
        "Notification for an unknown payment ({payment_id}): nothing is recorded.",
    ),
    "payment.notification.amount_mismatch": (
        "Le paiement {reference} annonce {reported}, et non les {amount} demandés : rien n'est enregistré.",
        "Payment {reference} reports {reported_en}, not the {amount_en} asked: nothing is recorded.",
    ),
    "payment.notification.reference_mismatch": (
        "Le paiement {payment_id} annonce la référence {reported}, et non {reference} : "
        "rien n'est enregistré.",
        "Payment {payment_id} reports reference {reported}, not {reference}: nothing is recorded.",
    ),
}

_CLOSING_CODES: Final = {
    PaymentStatus.REFUSED: "payment.notification.refused",
    PaymentStatus.CANCELLED: "payment.notification.cancelled",
    PaymentStatus.EXPIRED: "payment.notification.expired",
}


def _render(code: str, lang: Lang, words: Mapping[str, object]) -> str:
    values: dict[str, str] = {}
    for key, value in words.items():
        if isinstance(value, Money):
            values[key], values[f"{key}_en"] = value.format("fr"), value.format("en")
        else:
            values[key] = values[f"{key}_en"] = str(value)
    return _MESSAGES[code][0 if lang == "fr" else 1].format(**values)


@attrs.frozen
class NotificationDecision:
    """What to do with one notification: an outcome, a stable code, and a sentence in French and English.

    ``attempt`` is the portal's record of the payment (``None`` for an unknown id); ``result`` is the
    gateway's answer when it was queried; ``decided_at`` is the ``now`` of the decision.
    """

    outcome: NotificationOutcome
    code: str
    message_fr: str
    message: str
    payment_id: str
    decided_at: dt.datetime
    attempt: PaymentAttempt | None = None
    result: PaymentResult | None = None

    @classmethod
    def _of(
        cls,
        outcome: NotificationOutcome,
        code: str,
        payment_id: str,
        now: dt.datetime,
        attempt: PaymentAttempt | None = None,
        result: PaymentResult | None = None,
        **words: object,
    ) -> NotificationDecision:
        if attempt is not None:
            words = {"reference": attempt.reference, "amount": attempt.amount, **words}
        words = {"payment_id": payment_id, **words}
        return cls(
            outcome,
            code,
            _render(code, "fr", words),
            _render(code, "en", words),
            payment_id,
            now,
            attempt,
            result,
        )

    @property
    def settles(self) -> bool:
        return self.outcome is NotificationOutcome.SETTLE

    @property
    def status(self) -> PaymentStatus | None:
        """The gateway's status behind the decision, when it was queried."""
        return self.result.status if self.result is not None else None

    def explain(self, lang: Lang = "fr") -> str:
        return self.message_fr if lang == "fr" else self.message

    def record(self, known_payments: Mapping[str, PaymentAttempt]) -> dict[str, PaymentAttempt]:
        """``known_payments`` after this decision: a settled or closed payment records its status.

        Waiting, ignored and rejected notifications change nothing.
        """
        after = dict(known_payments)
        recorded = (NotificationOutcome.SETTLE, NotificationOutcome.CLOSE)
        if self.attempt is not None and self.result is not None and self.outcome in recorded:
            after[self.payment_id] = attrs.evolve(self.attempt, status=self.result.status)
        return after

    def payment_order(self) -> PaymentOrder:
        """The billing ``PaymentOrder`` to record for a settled payment (``billing.payments.record_payment``).

        Its reference is the payment's, so recording it twice is recorded once there too.
        """
        if not self.settles or self.attempt is None or self.result is None:
            raise InvalidInput(
                f"only a settled payment gives a payment order ({self.code})", code="payment.not_settled"
            )
        attempt = self.attempt
        return payment_order(
            attempt.regie_id,
            attempt.family_id,
            attempt.invoice_numbers,
            attempt.amount.cents,
            self.result.answered_at or self.decided_at,
            reference=attempt.reference,
            method=PaymentMethod.ONLINE,
        )


def settle_notification(
    gateway: PaymentGateway,
    known_payments: Mapping[str, PaymentAttempt],
    notification: PaymentNotification,
    now: dt.datetime,
) -> NotificationDecision:
    """Decide what a gateway notification means, without changing anything.

    In order: an id the portal never created is rejected; a payment already settled is a duplicate, ignored
    (without asking the gateway); otherwise the gateway is queried, and a result whose amount or reference is
    not what was asked is rejected. Then: paid settles, refused / cancelled / expired close, pending waits.
    The portal applies the decision with ``record`` (and, to settle, records ``payment_order()`` in billing)
    in one transaction, so a second notification finds the payment settled.
    """
    require_aware(now)
    payment_id = notification.payment_id
    attempt = known_payments.get(payment_id)
    if attempt is None:
        return NotificationDecision._of(
            NotificationOutcome.REJECT, "payment.notification.unknown_id", payment_id, now
        )
    if attempt.settled:
        return NotificationDecision._of(
            NotificationOutcome.IGNORE, "payment.notification.duplicate", payment_id, now, attempt
        )
    result = gateway.query_status(attempt.created, now)
    if result.amount is not None and result.amount != attempt.amount:
        return NotificationDecision._of(
            NotificationOutcome.REJECT,
            "payment.notification.amount_mismatch",
            payment_id,
            now,
            attempt,
            result,
            reported=result.amount,
        )
    if result.reference is not None and result.reference != attempt.reference:
        return NotificationDecision._of(
            NotificationOutcome.REJECT,
            "payment.notification.reference_mismatch",
            payment_id,
            now,
            attempt,
            result,
            reported=result.reference,
        )
    if result.status is PaymentStatus.PAID:
        return NotificationDecision._of(
            NotificationOutcome.SETTLE, "payment.notification.paid", payment_id, now, attempt, result
        )
    if result.status is PaymentStatus.PENDING:
        return NotificationDecision._of(
            NotificationOutcome.WAIT, "payment.notification.pending", payment_id, now, attempt, result
        )
    return NotificationDecision._of(
        NotificationOutcome.CLOSE, _CLOSING_CODES[result.status], payment_id, now, attempt, result
    )
