"""Notifications as domain events, and the outbox that delivers each of them exactly once.

The services emit an event when something a family should hear about happens — its account was
activated, a booking confirmed, a waiting-list place granted, a hold expired, an invoice issued, a
payment received, a request answered, the unpaid-invoice block of its bookings lifted or restored. The
store keeps each event as an ``OutboxMessage`` in the same transaction as the change it reports, so an
event exists if and only if the change does. A host application then calls ``drain`` with its
``Notifier`` (e-mail, SMS…): a message that fails stays pending and is retried after a growing delay; a
message that was sent is never sent again.

Every event has a stable ``type_code``, the collectivité and family it concerns, the instant it
happened, a French subject and body for an e-mail, and a JSON-safe ``to_dict``/``from_dict`` form.
"""

from __future__ import annotations

import datetime as dt
import secrets
import typing
import zoneinfo
from collections.abc import Callable, Iterable, Mapping
from typing import Any, ClassVar, Final, Protocol

import attrs

from espacefamille._internal.validators import identifier

# The account and event records share their validators (identifiers, aware instants).
from espacefamille.calendar.timezones import optional_aware_instant, require_aware
from espacefamille.errors import InvalidInput
from espacefamille.families.accounts import RandomSource
from espacefamille.money import Money
from espacefamille.text import format_date, format_datetime

__all__ = [
    "EVENT_TYPES",
    "AccountActivated",
    "BookingConfirmed",
    "DomainEvent",
    "HoldExpired",
    "InvoiceIssued",
    "Notifier",
    "OutboxMessage",
    "PaymentReceived",
    "RequestAnswered",
    "RetryPolicy",
    "UnpaidExemptionGranted",
    "UnpaidExemptionRevoked",
    "WaitingListPlaceGranted",
    "drain",
    "event_from_dict",
    "mark_failed",
    "mark_sent",
    "new_message",
    "pending",
]

# An error text is kept for the agent who looks at a stuck message, not as a log: a bounded length.
_MAX_ERROR_LENGTH: Final = 500


def _dates(items: Iterable[dt.date]) -> tuple[dt.date, ...]:
    return tuple(sorted(set(items)))


def _strings(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(items)


def _list_fr(items: Iterable[str]) -> str:
    words = list(items)
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + " et " + words[-1]


# -- JSON forms of field values ---------------------------------------------------------------
#
# An instant keeps its zone name, RFC 9557 style ("2026-11-12T12:00:00+01:00[Europe/Paris]"), so that
# an event read back shows the same wall-clock times in its e-mail as the one written.


def _instant_to_json(moment: dt.datetime) -> str:
    text = moment.isoformat()
    if isinstance(moment.tzinfo, zoneinfo.ZoneInfo):
        text += f"[{moment.tzinfo.key}]"
    return text


def _instant_from_json(value: object) -> dt.datetime:
    if not isinstance(value, str):
        raise TypeError("an instant is an ISO 8601 string")
    text, _, zone = value.partition("[")
    moment = dt.datetime.fromisoformat(text)
    if moment.utcoffset() is None:
        raise ValueError("an instant needs its UTC offset")
    if zone:
        moment = moment.astimezone(zoneinfo.ZoneInfo(zone.removesuffix("]")))
    return moment


def _date_from_json(value: object) -> dt.date:
    if not isinstance(value, str):
        raise TypeError("a date is an ISO 8601 string")
    return dt.date.fromisoformat(value)


def _str_from_json(value: object) -> str:
    if not isinstance(value, str):
        raise TypeError("expected a string")
    return value


def _bool_from_json(value: object) -> bool:
    if not isinstance(value, bool):
        raise TypeError("expected true or false")
    return value


def _money_from_json(value: object) -> Money:
    if not isinstance(value, str):
        raise TypeError("an amount is a decimal string")
    return Money(value)


def _optional(decode: Callable[[object], Any]) -> Callable[[object], Any]:
    return lambda value: None if value is None else decode(value)


def _optional_encode(encode: Callable[[Any], object]) -> Callable[[Any], object]:
    return lambda value: None if value is None else encode(value)


def _sequence(decode: Callable[[object], Any]) -> Callable[[object], Any]:
    def decode_all(value: object) -> tuple[Any, ...]:
        if not isinstance(value, list):
            raise TypeError("expected a list")
        return tuple(decode(item) for item in value)

    return decode_all


def _iso(value: dt.date) -> str:
    return value.isoformat()


def _same(value: object) -> object:
    return value


def _money_to_json(value: Money) -> str:
    # The exact decimal amount as text: JSON numbers are floats to many readers.
    return str(value.amount)


# The field types an event may have, with their JSON encoders and decoders.
_CODECS: Final[dict[object, tuple[Callable[[Any], object], Callable[[object], Any]]]] = {
    str: (_same, _str_from_json),
    str | None: (_same, _optional(_str_from_json)),
    bool: (_same, _bool_from_json),
    dt.date: (_iso, _date_from_json),
    dt.date | None: (_optional_encode(_iso), _optional(_date_from_json)),
    dt.datetime: (_instant_to_json, _instant_from_json),
    Money: (_money_to_json, _money_from_json),
    Money | None: (_optional_encode(_money_to_json), _optional(_money_from_json)),
    tuple[str, ...]: (list, _sequence(_str_from_json)),
    tuple[dt.date, ...]: (lambda days: [day.isoformat() for day in days], _sequence(_date_from_json)),
}


def _malformed(message: str) -> InvalidInput:
    return InvalidInput(message, message_fr="Notification illisible.", code="event.malformed")


# -- the events -------------------------------------------------------------------------------


@attrs.frozen
class DomainEvent:
    """What every event has: who it concerns, when it happened, and how it reads in an e-mail."""

    type_code: ClassVar[str] = ""

    collectivite_id: str = attrs.field(validator=identifier)
    family_id: str = attrs.field(validator=identifier)
    occurred_at: dt.datetime = attrs.field(validator=optional_aware_instant)

    @property
    def subject_fr(self) -> str:
        raise NotImplementedError

    @property
    def body_fr(self) -> str:
        raise NotImplementedError

    def after_sending(self) -> DomainEvent:
        """The event as the outbox keeps it once sent: the same, unless it carried a secret."""
        return self

    def to_dict(self) -> dict[str, object]:
        """A JSON-safe form: ``{"type": ..., <field>: ...}``; ``event_from_dict`` reads it back."""
        hints = _hints(type(self))
        result: dict[str, object] = {"type": self.type_code}
        for field in attrs.fields(type(self)):
            encode, _ = _CODECS[hints[field.name]]
            result[field.name] = encode(getattr(self, field.name))
        return result

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> DomainEvent:
        """The event ``to_dict`` wrote (of this class, or of any event class when called on the base)."""
        return event_from_dict(data) if cls is DomainEvent else _decode(cls, data)


_HINTS: dict[type[DomainEvent], dict[str, object]] = {}


def _hints(cls: type[DomainEvent]) -> dict[str, object]:
    # Resolving the annotations is slow (a month-end run writes one event per invoice): once per class.
    found = _HINTS.get(cls)
    if found is None:
        found = _HINTS[cls] = typing.get_type_hints(cls)
    return found


def _decode(cls: type[DomainEvent], data: Mapping[str, object]) -> DomainEvent:
    if not isinstance(data, Mapping):
        raise _malformed(f"an event is a mapping, got {type(data).__name__}")
    if data.get("type") != cls.type_code:
        raise _malformed(f"expected an event of type {cls.type_code!r}, got {data.get('type')!r}")
    hints = _hints(cls)
    fields = attrs.fields(cls)
    unknown = sorted(set(data) - {"type"} - {field.name for field in fields})
    if unknown:
        raise _malformed(f"{cls.type_code}: unknown keys {unknown}")
    values: dict[str, Any] = {}
    for field in fields:
        if field.name not in data:
            if field.default is attrs.NOTHING:
                raise _malformed(f"{cls.type_code}: missing key {field.name!r}")
            continue
        _, decode = _CODECS[hints[field.name]]
        try:
            values[field.name] = decode(data[field.name])
        except (TypeError, ValueError, zoneinfo.ZoneInfoNotFoundError) as error:
            raise _malformed(f"{cls.type_code}.{field.name}: {error}") from None
    return cls(**values)


@attrs.frozen
class AccountActivated(DomainEvent):
    """The collectivité activated a family account: the guardian is e-mailed the link to finish it.

    The link carries the clear activation token, so it is dropped once the message is sent
    (``after_sending``): the outbox does not keep a working token longer than needed.
    """

    type_code: ClassVar[str] = "account.activated"

    guardian_id: str = attrs.field(validator=identifier)
    email: str = attrs.field(validator=attrs.validators.instance_of(str))
    collectivite_name: str = attrs.field(validator=attrs.validators.instance_of(str))
    activation_link: str | None = attrs.field(repr=False)
    expires_at: dt.datetime = attrs.field(validator=optional_aware_instant)

    @property
    def subject_fr(self) -> str:
        return f"{self.collectivite_name} : activez votre espace famille"

    @property
    def body_fr(self) -> str:
        link = self.activation_link if self.activation_link is not None else "(lien déjà envoyé)"
        return (
            f"Bonjour,\n\n{self.collectivite_name} a activé votre compte espace famille. "
            f"Pour finaliser la création de votre compte, suivez ce lien :\n{link}\n\n"
            f"Ce lien ne sert qu'une fois et expire le {format_datetime(self.expires_at)}."
        )

    def after_sending(self) -> AccountActivated:
        return attrs.evolve(self, activation_link=None)


@attrs.frozen
class BookingConfirmed(DomainEvent):
    """A basket's bookings for a child are confirmed (on validation, or once a prepaid basket is paid)."""

    type_code: ClassVar[str] = "booking.confirmed"

    child_id: str = attrs.field(validator=identifier)
    child_name: str = attrs.field(validator=attrs.validators.instance_of(str))
    prestation_id: str = attrs.field(validator=identifier)
    prestation_name: str = attrs.field(validator=attrs.validators.instance_of(str))
    days: tuple[dt.date, ...] = attrs.field(converter=_dates)
    amount_paid: Money | None = None

    def __attrs_post_init__(self) -> None:
        if not self.days:
            raise InvalidInput("a booking confirmation needs at least one date", code="event.no_dates")

    @property
    def subject_fr(self) -> str:
        return f"Réservation confirmée : {self.prestation_name} pour {self.child_name}"

    @property
    def body_fr(self) -> str:
        paid = "" if self.amount_paid is None else f"\nMontant payé : {self.amount_paid.format()}."
        return (
            f"Bonjour,\n\nLa réservation de {self.child_name} pour « {self.prestation_name} » est "
            f"confirmée pour : {_list_fr(format_date(day) for day in self.days)}.{paid}"
        )


@attrs.frozen
class WaitingListPlaceGranted(DomainEvent):
    """A place freed and a child on the waiting list got it."""

    type_code: ClassVar[str] = "waiting_list.place_granted"

    child_id: str = attrs.field(validator=identifier)
    child_name: str = attrs.field(validator=attrs.validators.instance_of(str))
    prestation_id: str = attrs.field(validator=identifier)
    prestation_name: str = attrs.field(validator=attrs.validators.instance_of(str))
    day: dt.date = attrs.field(validator=attrs.validators.instance_of(dt.date))

    @property
    def subject_fr(self) -> str:
        return f"Une place s'est libérée pour {self.child_name}"

    @property
    def body_fr(self) -> str:
        return (
            f"Bonjour,\n\nUne place s'est libérée : la réservation de {self.child_name} pour "
            f"« {self.prestation_name} » le {format_date(self.day)} est confirmée. "
            "Si vous n'en avez plus besoin, pensez à annuler dans les délais."
        )


@attrs.frozen
class HoldExpired(DomainEvent):
    """A prepaid basket was not paid in time: its held places were released."""

    type_code: ClassVar[str] = "booking.hold_expired"

    child_id: str = attrs.field(validator=identifier)
    child_name: str = attrs.field(validator=attrs.validators.instance_of(str))
    prestation_id: str = attrs.field(validator=identifier)
    prestation_name: str = attrs.field(validator=attrs.validators.instance_of(str))
    days: tuple[dt.date, ...] = attrs.field(converter=_dates)
    held_until: dt.datetime = attrs.field(validator=optional_aware_instant)

    def __attrs_post_init__(self) -> None:
        if not self.days:
            raise InvalidInput("an expired hold needs at least one date", code="event.no_dates")

    @property
    def subject_fr(self) -> str:
        return f"Réservation non payée : places libérées pour {self.child_name}"

    @property
    def body_fr(self) -> str:
        return (
            f"Bonjour,\n\nLe paiement de votre panier n'est pas arrivé avant le "
            f"{format_datetime(self.held_until)}. Les places de {self.child_name} pour "
            f"« {self.prestation_name} » ({_list_fr(format_date(day) for day in self.days)}) ont été "
            "libérées. Vous pouvez réserver à nouveau si des places restent disponibles."
        )


@attrs.frozen
class InvoiceIssued(DomainEvent):
    """A month-end invoice (or a credit note) was issued to the family's payer."""

    type_code: ClassVar[str] = "invoice.issued"

    regie_id: str = attrs.field(validator=identifier)
    invoice_number: str = attrs.field(validator=attrs.validators.instance_of(str))
    total: Money = attrs.field(validator=attrs.validators.instance_of(Money))
    due_date: dt.date = attrs.field(validator=attrs.validators.instance_of(dt.date))
    direct_debit: bool = False

    def __attrs_post_init__(self) -> None:
        if not self.invoice_number:
            raise InvalidInput("an issued invoice has a number", code="event.no_number")

    @property
    def subject_fr(self) -> str:
        if self.total.is_negative:
            return f"Avoir n° {self.invoice_number}"
        return f"Nouvelle facture n° {self.invoice_number}"

    @property
    def body_fr(self) -> str:
        if self.total.is_negative:
            return (
                f"Bonjour,\n\nUn avoir n° {self.invoice_number} de {(-self.total).format()} a été établi "
                "en votre faveur. Il sera déduit de vos prochaines factures."
            )
        how = (
            f"Elle sera prélevée à partir du {format_date(self.due_date)}."
            if self.direct_debit
            else f"Vous pouvez la payer en ligne dans « Mes factures » jusqu'au {format_date(self.due_date)}."
        )
        return (
            f"Bonjour,\n\nVotre facture n° {self.invoice_number} d'un montant de {self.total.format()} "
            f"est disponible. {how}"
        )


@attrs.frozen
class PaymentReceived(DomainEvent):
    """A payment was received and allocated to invoices."""

    type_code: ClassVar[str] = "payment.received"

    payment_reference: str = attrs.field(validator=attrs.validators.instance_of(str))
    amount: Money = attrs.field(validator=attrs.validators.instance_of(Money))
    invoice_numbers: tuple[str, ...] = attrs.field(converter=_strings, default=())

    @property
    def subject_fr(self) -> str:
        return f"Paiement reçu : {self.amount.format()}"

    @property
    def body_fr(self) -> str:
        paid = ""
        if self.invoice_numbers:
            word = "la facture" if len(self.invoice_numbers) == 1 else "les factures"
            paid = f" Il règle {word} n° {_list_fr(self.invoice_numbers)}."
        return (
            f"Bonjour,\n\nNous avons bien reçu votre paiement de {self.amount.format()} "
            f"(référence {self.payment_reference}).{paid}"
        )


@attrs.frozen
class RequestAnswered(DomainEvent):
    """An agent answered a family's request (*demande*)."""

    type_code: ClassVar[str] = "request.answered"

    request_id: str = attrs.field(validator=identifier)
    category: str = attrs.field(validator=attrs.validators.instance_of(str))
    status: str = attrs.field(validator=attrs.validators.instance_of(str))
    answer: str = attrs.field(validator=attrs.validators.instance_of(str))

    @property
    def subject_fr(self) -> str:
        return f"Réponse à votre demande : {self.category}"

    @property
    def body_fr(self) -> str:
        status = _REQUEST_STATUS_FR.get(self.status, self.status)
        return (
            f"Bonjour,\n\nVotre demande « {self.category} » est {status}. "
            f"Réponse de la mairie :\n\n{self.answer}"
        )


@attrs.frozen
class UnpaidExemptionGranted(DomainEvent):
    """The régie lifted the unpaid-invoice block of the household's bookings from ``since`` until ``until``
    included (open-ended if ``None``); the invoices are still due.

    The agent and the reason (a social-services follow-up…) stay in the store's record, not in a message
    that any guardian of the household may read.
    """

    type_code: ClassVar[str] = "unpaid.exemption_granted"

    since: dt.date = attrs.field(validator=attrs.validators.instance_of(dt.date))
    until: dt.date | None = attrs.field(
        default=None, validator=attrs.validators.optional(attrs.validators.instance_of(dt.date))
    )

    def __attrs_post_init__(self) -> None:
        if self.until is not None and self.until < self.since:
            raise InvalidInput("an exemption cannot end before it starts", code="input.end_before_start")

    @property
    def subject_fr(self) -> str:
        return "Vos réservations ne sont plus bloquées pour factures impayées"

    @property
    def body_fr(self) -> str:
        when = (
            f"à partir du {format_date(self.since)} et jusqu'à nouvel ordre"
            if self.until is None
            else f"du {format_date(self.since)} au {format_date(self.until)} inclus"
        )
        return (
            f"Bonjour,\n\nLa régie a suspendu le blocage pour factures impayées {when} : vos réservations "
            "ne sont plus bloquées pendant cette période. Vos factures impayées restent à régler."
        )


@attrs.frozen
class UnpaidExemptionRevoked(DomainEvent):
    """The régie ended the household's exemption: unpaid invoices may block its bookings again."""

    type_code: ClassVar[str] = "unpaid.exemption_revoked"

    @property
    def subject_fr(self) -> str:
        return "Fin de la suspension du blocage pour factures impayées"

    @property
    def body_fr(self) -> str:
        return (
            "Bonjour,\n\nLa régie a mis fin à la suspension du blocage pour factures impayées : tant que des "
            "factures restent impayées, vos réservations peuvent de nouveau être bloquées. Réglez vos "
            "factures ou contactez la régie."
        )


# The request statuses as a family reads them; a status not listed here is shown as it is.
_REQUEST_STATUS_FR: Final = {
    "submitted": "envoyée",
    "in_progress": "en cours de traitement",
    "accepted": "acceptée",
    "refused": "refusée",
    "closed": "close",
}


EVENT_TYPES: Final[Mapping[str, type[DomainEvent]]] = {
    cls.type_code: cls
    for cls in (
        AccountActivated,
        BookingConfirmed,
        WaitingListPlaceGranted,
        HoldExpired,
        InvoiceIssued,
        PaymentReceived,
        RequestAnswered,
        UnpaidExemptionGranted,
        UnpaidExemptionRevoked,
    )
}


def event_from_dict(data: Mapping[str, object]) -> DomainEvent:
    """Read back any event written by ``to_dict``; an unknown type or a malformed field is refused."""
    if not isinstance(data, Mapping):
        raise _malformed(f"an event is a mapping, got {type(data).__name__}")
    type_code = data.get("type")
    cls = EVENT_TYPES.get(type_code) if isinstance(type_code, str) else None
    if cls is None:
        raise InvalidInput(
            f"unknown event type {type_code!r}",
            message_fr="Type de notification inconnu.",
            code="event.unknown_type",
        )
    return _decode(cls, data)


# -- the outbox -------------------------------------------------------------------------------


@attrs.frozen
class RetryPolicy:
    """How long a failed message waits before the next try: ``first`` doubled each time, up to ``longest``.

    There is no last try: a message is never dropped, and an agent can see a stuck one by its
    ``attempts`` and ``last_error``.
    """

    first: dt.timedelta = dt.timedelta(minutes=1)
    longest: dt.timedelta = dt.timedelta(hours=6)

    def __attrs_post_init__(self) -> None:
        if self.first <= dt.timedelta(0) or self.longest < self.first:
            raise InvalidInput("a retry policy needs 0 < first <= longest", code="outbox.bad_retry_policy")

    def delay(self, attempts: int) -> dt.timedelta:
        """The wait after the ``attempts``-th failed try (1 → ``first``, 2 → twice that…)."""
        # Capping the exponent first keeps the arithmetic small after many failures.
        exponent = min(max(attempts - 1, 0), 40)
        return min(self.first * (1 << exponent), self.longest)


@attrs.frozen
class OutboxMessage:
    """An event waiting to be sent (``sent_at`` None) or sent, with its tries so far.

    ``id`` is unique and stable: a notifier can pass it on (as an e-mail's Message-ID, an SMS
    gateway's idempotency key) so that a crash between sending and recording cannot send it twice.
    """

    id: str = attrs.field(validator=identifier)
    event: DomainEvent = attrs.field(validator=attrs.validators.instance_of(DomainEvent))
    attempts: int = attrs.field(default=0, validator=attrs.validators.ge(0))
    sent_at: dt.datetime | None = attrs.field(default=None, validator=optional_aware_instant)
    next_attempt_at: dt.datetime | None = attrs.field(default=None, validator=optional_aware_instant)
    last_error: str | None = None

    @property
    def is_sent(self) -> bool:
        return self.sent_at is not None

    def is_due(self, now: dt.datetime) -> bool:
        """Pending, and its back-off (if it failed before) is over."""
        return not self.is_sent and (self.next_attempt_at is None or self.next_attempt_at <= now)

    def to_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "event": self.event.to_dict(),
            "attempts": self.attempts,
            "sent_at": None if self.sent_at is None else _instant_to_json(self.sent_at),
            "next_attempt_at": None
            if self.next_attempt_at is None
            else _instant_to_json(self.next_attempt_at),
            "last_error": self.last_error,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> OutboxMessage:
        if not isinstance(data, Mapping):
            raise _malformed(f"an outbox message is a mapping, got {type(data).__name__}")
        event = data.get("event")
        if not isinstance(event, Mapping):
            raise _malformed("an outbox message has an event")
        attempts = data.get("attempts", 0)
        if isinstance(attempts, bool) or not isinstance(attempts, int):
            raise _malformed("attempts is a whole number")
        try:
            sent_at = _optional(_instant_from_json)(data.get("sent_at"))
            next_attempt_at = _optional(_instant_from_json)(data.get("next_attempt_at"))
            last_error = _optional(_str_from_json)(data.get("last_error"))
            message_id = _str_from_json(data.get("id"))
        except (TypeError, ValueError, zoneinfo.ZoneInfoNotFoundError) as error:
            raise _malformed(f"outbox message: {error}") from None
        return cls(message_id, event_from_dict(event), attempts, sent_at, next_attempt_at, last_error)


def new_message(event: DomainEvent, *, source: RandomSource = secrets) -> OutboxMessage:
    """A pending message for ``event``, with a random id (128 bits)."""
    return OutboxMessage(id="msg-" + source.token_bytes(16).hex(), event=event)


def pending(messages: Iterable[OutboxMessage]) -> list[OutboxMessage]:
    """The messages not sent yet, in their order (including those waiting out a back-off)."""
    return [message for message in messages if not message.is_sent]


def mark_sent(message: OutboxMessage, now: dt.datetime) -> OutboxMessage:
    """The message once its notifier accepted it; sending twice is a bug, so it is refused."""
    now = require_aware(now)
    if message.is_sent:
        raise InvalidInput(f"outbox message {message.id!r} was already sent", code="outbox.already_sent")
    return attrs.evolve(
        message,
        event=message.event.after_sending(),
        attempts=message.attempts + 1,
        sent_at=now,
        next_attempt_at=None,
        last_error=None,
    )


def mark_failed(
    message: OutboxMessage, now: dt.datetime, error: str, *, retry: RetryPolicy | None = None
) -> OutboxMessage:
    """The message after a failed try: still pending, one more attempt, next try after the back-off."""
    now = require_aware(now)
    if message.is_sent:
        raise InvalidInput(f"outbox message {message.id!r} was already sent", code="outbox.already_sent")
    attempts = message.attempts + 1
    policy = retry if retry is not None else RetryPolicy()
    return attrs.evolve(
        message,
        attempts=attempts,
        next_attempt_at=now + policy.delay(attempts),
        last_error=str(error)[:_MAX_ERROR_LENGTH],
    )


class Notifier(Protocol):
    """The host application's way to reach a family (e-mail, SMS): returns, or raises if it failed."""

    def send(self, message: OutboxMessage, /) -> None: ...


def drain(
    messages: Iterable[OutboxMessage],
    notifier: Notifier,
    now: dt.datetime,
    *,
    retry: RetryPolicy | None = None,
) -> list[OutboxMessage]:
    """Try to send every due message once; return all the messages, updated, in the same order.

    A failure of one message does not stop the others (one bad address must not hold back a whole
    month's invoices). A sent message is left as it is; a message still in its back-off waits.
    """
    now = require_aware(now)
    messages = list(messages)
    ids = [message.id for message in messages]
    if len(set(ids)) != len(ids):
        raise InvalidInput("the outbox holds two messages with one id", code="outbox.duplicate_id")
    result: list[OutboxMessage] = []
    for message in messages:
        if not message.is_due(now):
            result.append(message)
            continue
        try:
            notifier.send(message)
        except Exception as error:  # whatever the notifier raised, the message must stay pending
            result.append(mark_failed(message, now, f"{type(error).__name__}: {error}", retry=retry))
        else:
            result.append(mark_sent(message, now))
    return result
