"""What the SQLite and PostgreSQL stores share about their rows: the columns of a concept's rows, in the order
its codec reads them; the codecs between those rows and the model's objects; the builders that turn a row the
store wrote from validated values back into its object without validating it again; the scopes of the
versions, the refusals both stores give, how an instant's zone is named and a form's values tagged.

What differs stays in each store: the SQL (placeholders, upserts, PostgreSQL's ``collectivite_id`` column,
locking), and how a value is written where the two differ. Each store's ``codecs._ENCODING`` (an
``_Encoding``) says how it writes days (ISO text on SQLite, ``date`` on PostgreSQL), free text (as it is;
with NUL escaped), flags (0 and 1; ``boolean``), a child's diets and an address's lines (separated text;
arrays), and the codecs here take it. Rows holding an instant keep their codecs in each store (one text
column on SQLite, a ``timestamptz`` and its zone on PostgreSQL), and so do the rows month-end billing reads
by the hundred thousand (bookings, attendance facts), written out there for speed.
"""

from __future__ import annotations

import datetime as dt
import functools
import zoneinfo
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any, Final, TypeVar

import attrs

from espacefamille._internal.trusted import trusted_builder
from espacefamille.billing.direct_debit import DebitBatch, DebitCollection, DebitReject
from espacefamille.billing.documents import DocumentKind, Invoice, InvoiceLine
from espacefamille.billing.mandates import FamilyMandate, Mandate, SequenceType
from espacefamille.calendar.opening import Closure, ClosureReason
from espacefamille.calendar.periods import DateRange
from espacefamille.commune import Commune
from espacefamille.config import loads_commune
from espacefamille.errors import ConcurrentChange, InvalidInput, NotFound
from espacefamille.families.requests import FieldValue
from espacefamille.model import (
    BookedDays,
    Booking,
    BookingStatus,
    Child,
    Diet,
    Enrolment,
    Family,
    Guardian,
    PostalAddress,
    QuotientFamilial,
    Residence,
    SchoolClass,
)
from espacefamille.money import Money
from espacefamille.rules.attendance import AttendanceFact, AttendanceStatus
from espacefamille.rules.unpaid import UnpaidExemption

_T = TypeVar("_T")

# The scopes of the versions a unit of work reads and bumps (the ``versions`` table's ``scope``).
_FAMILY: Final = "family"
_PRESTATION: Final = "prestation"
_NUMBERING: Final = "numbering"
_CARRIED: Final = "carried"
_BILLED: Final = "billed"
_DEBITS: Final = "debits"


def _not_found(what: str, key: str, what_fr: str) -> NotFound:
    return NotFound(
        f"unknown {what} {key!r}",
        message_fr=f"Introuvable : {what_fr} « {key} ».",
        code=f"not_found.{what.replace(' ', '_')}",
        details={"id": key},
    )


def _no_activation() -> NotFound:
    # The hash is a secret's fingerprint: it is not repeated in the message.
    return NotFound(
        "no activation for this token",
        message_fr="Ce lien d'activation n'est pas valable.",
        code="not_found.activation",
    )


def _activation_used(activation_id: str) -> ConcurrentChange:
    # Two activations of one token at once: the first one used it, the second must fail.
    return ConcurrentChange(
        f"activation {activation_id!r} was already used",
        message_fr="Ce lien d'activation a déjà été utilisé.",
        code="account.activation_used",
    )


def _places_booked_meanwhile(places: Sequence[tuple[str, str]]) -> ConcurrentChange:
    """What ``commit()`` raises when limited places its unit of work read and booked (``("prestation",
    id)`` pairs) were booked by another one since."""
    return ConcurrentChange(
        "places booked by another unit of work since read: "
        + ", ".join(f"{scope} {key!r}" for scope, key in places),
        message_fr="Ces places ont été réservées entre-temps ; veuillez recommencer.",
        details={"changed": list(places)},
    )


def _duplicate_message(message_id: str) -> InvalidInput:
    """The refusal of an outbox message whose id is queued already with other content."""
    return InvalidInput(
        f"outbox message {message_id!r} is already queued with other content",
        code="store.duplicate_message",
        details={"id": message_id},
    )


def _last_commune() -> Callable[[str], Commune]:
    """A store's parser of its configuration's text, which keeps the commune it parsed last: parsing costs
    milliseconds, and units of work come and go by the thousand."""
    return functools.lru_cache(maxsize=1)(loads_commune)


def _check_day(day: object, what: str) -> dt.date:
    """``day``, once it is a date (a day a caller names, before it is written; the memory store checks with
    it too)."""
    if not isinstance(day, dt.date) or isinstance(day, dt.datetime):
        raise InvalidInput(f"{what} must be a date, got {day!r}", code="input.not_a_date")
    return day


def _same(value: _T) -> _T:
    return value


@attrs.frozen
class _Encoding:
    """How one store writes, and reads back, the values whose SQL form differs between the stores."""

    day: Callable[[dt.date], object]
    read_day: Callable[[Any], dt.date]
    text: Callable[[str], object]
    read_text: Callable[[Any], str]
    flag: Callable[[bool], object]
    read_flag: Callable[[Any], bool]
    names: Callable[[Collection[str]], object]
    """A set of names (a child's diets), given sorted."""
    read_names: Callable[[Any], Collection[str]]
    lines: Callable[[Sequence[str]], object]
    """An address's lines."""
    read_lines: Callable[[Any], tuple[str, ...]]

    def optional_day(self, day: dt.date | None) -> object:
        return None if day is None else self.day(day)

    def read_optional_day(self, value: Any) -> dt.date | None:
        return None if value is None else self.read_day(value)

    def optional_text(self, text: str | None) -> object:
        return None if text is None else self.text(text)

    def read_optional_text(self, value: Any) -> str | None:
        return None if value is None else self.read_text(value)


def _zone(moment: dt.datetime) -> str:
    """The name of the zone an instant was given in: its IANA key, or its fixed offset (``+05:30:00``)."""
    zone = moment.tzinfo
    if isinstance(zone, zoneinfo.ZoneInfo) and zone.key:
        return zone.key
    offset = moment.utcoffset()
    assert offset is not None  # the model only holds aware instants
    seconds = int(offset.total_seconds())
    sign = "-" if seconds < 0 else "+"
    return f"{sign}{abs(seconds) // 3600:02d}:{abs(seconds) % 3600 // 60:02d}:{abs(seconds) % 60:02d}"


@functools.cache
def _zone_named(name: str) -> dt.tzinfo:
    """The zone ``_zone`` named."""
    if name[:1] in "+-":
        sign = -1 if name[0] == "-" else 1
        hours, minutes, seconds = (int(part) for part in name[1:].split(":"))
        return dt.timezone(dt.timedelta(hours=hours, minutes=minutes, seconds=seconds) * sign)
    return zoneinfo.ZoneInfo(name)


def _field_value_to_json(value: FieldValue) -> list[object]:
    # Tagged, because JSON cannot tell a date or an exact amount from text, nor (for some readers) a bool.
    if isinstance(value, bool):
        return ["bool", value]
    if isinstance(value, int):
        return ["int", value]
    if isinstance(value, Decimal):
        return ["decimal", str(value)]
    if isinstance(value, dt.date):
        return ["date", value.isoformat()]
    return ["str", value]


def _field_value_from_json(item: list[Any]) -> FieldValue:
    kind, raw = item
    if kind == "decimal":
        return Decimal(raw)
    if kind == "date":
        return dt.date.fromisoformat(raw)
    value: FieldValue = raw
    return value


# Rows a store wrote from validated values: rebuilt without checking them again.
_new_booking: Final = trusted_builder(Booking)
_new_booked_days: Final = trusted_builder(BookedDays)
_new_fact: Final = trusted_builder(AttendanceFact)
_new_family: Final = trusted_builder(Family)
_new_guardian: Final = trusted_builder(Guardian)
_new_quotient: Final = trusted_builder(QuotientFamilial)
_new_child: Final = trusted_builder(Child)
_new_address: Final = trusted_builder(PostalAddress)
_new_mandate: Final = trusted_builder(Mandate)
_new_family_mandate: Final = trusted_builder(FamilyMandate)
_new_collection: Final = trusted_builder(DebitCollection)
_new_reject: Final = trusted_builder(DebitReject)
_new_batch: Final = trusted_builder(DebitBatch)
_ATTENDANCE_STATUS: Final = {status.value: status for status in AttendanceStatus}
_BOOKING_STATUS: Final = {status.value: status for status in BookingStatus}
_SEQUENCES: Final = {sequence.value: sequence for sequence in SequenceType}


def _of(alias: str, columns: str) -> str:
    """``columns`` each prefixed by a table's alias: ``c.id, c.first_name, …``."""
    return ", ".join(f"{alias}.{column.strip()}" for column in columns.split(","))


# The columns each repository reads, in the order its codec expects.
_FAMILY_COLUMNS: Final = (
    "id, name, payer_id, residence, direct_debit, address_lines, address_postcode, address_city, "
    "address_country"
)
_FAMILY_COLUMNS_OF_F: Final = _of("f", _FAMILY_COLUMNS)
_GUARDIAN_COLUMNS: Final = "id, first_name, last_name, email, phone"
_QUOTIENT_COLUMNS: Final = "value, valid_from, valid_until, source, received_on"
_CHILD_COLUMNS: Final = (
    "id, first_name, last_name, birth_date, school, school_class, pai, needs_support, diets"
)
_CHILD_COLUMNS_OF_C: Final = _of("c", _CHILD_COLUMNS)
_ENROLMENT_COLUMNS: Final = "id, child_id, family_id, service_id, start_day, end_day, validated"
_EXEMPTION_COLUMNS: Final = "granted_by, since, until, reason"
_CLOSURE_COLUMNS: Final = "service_id, start_day, end_day, reason, label"
_MANDATE_COLUMNS: Final = (
    "rum, regie_id, family_id, debtor_name, iban, bic, signed_on, sequence, pre_notification_days, "
    "registered_on, last_collected_on, revoked_on"
)
_INVOICE_COLUMNS: Final = (
    "number, regie_id, family_id, kind, period_start, period_end, issued_on, due_on, direct_debit_on"
)
_LINE_COLUMNS: Final = (
    "child_id, prestation_id, label, reason, days, quantity, unit_price, total_cents, explanation, "
    "regularises_invoice, regularises_day, minutes"
)
"""An invoice line's columns (as ``invoice_lines`` and ``carried_lines`` hold them, after their keys)."""
_COLLECTION_COLUMNS: Final = (
    "batch_id, invoice_number, family_id, rum, amount_cents, sequence, payment_number, rejected_on, "
    "reject_reason, reject_document"
)


def _families(
    rows: Iterable[Sequence[Any]],
    guardians: Mapping[str, Sequence[Guardian]],
    quotients: Mapping[str, Sequence[QuotientFamilial]],
    encoding: _Encoding,
) -> list[Family]:
    """Families from their ``_FAMILY_COLUMNS``, each with its guardians and quotients (by family id)."""
    text, optional_text, flag, read_lines = (
        encoding.read_text,
        encoding.read_optional_text,
        encoding.read_flag,
        encoding.read_lines,
    )
    new_family, new_address = _new_family, _new_address
    return [
        new_family(
            family_id,
            text(name),
            tuple(guardians.get(family_id, ())),
            payer_id,
            Residence(residence),
            tuple(quotients.get(family_id, ())),
            flag(direct_debit),
            None
            if lines is None
            else new_address(read_lines(lines), text(postcode), text(city), optional_text(country)),
        )
        for family_id, name, payer_id, residence, direct_debit, lines, postcode, city, country in rows
    ]


def _family_row(family: Family, encoding: _Encoding) -> tuple[object, ...]:
    """The ``_FAMILY_COLUMNS`` of ``family`` (the payer's address: four NULLs when it has none)."""
    address = family.address
    text = encoding.text
    return (
        family.id,
        text(family.name),
        family.payer_id,
        family.residence.value,
        encoding.flag(family.direct_debit),
        *(
            (None, None, None, None)
            if address is None
            else (
                encoding.lines(address.lines),
                text(address.postcode),
                text(address.city),
                encoding.optional_text(address.country),
            )
        ),
    )


def _guardians(rows: Iterable[Sequence[Any]], encoding: _Encoding) -> dict[str, list[Guardian]]:
    """Guardians by family id, from rows of a family id and the ``_GUARDIAN_COLUMNS``, in order."""
    text, optional_text, new = encoding.read_text, encoding.read_optional_text, _new_guardian
    found: dict[str, list[Guardian]] = {}
    for family_id, id_, first_name, last_name, email, phone in rows:
        guardian = new(id_, text(first_name), text(last_name), email, optional_text(phone))
        found.setdefault(family_id, []).append(guardian)
    return found


def _guardian_row(guardian: Guardian, encoding: _Encoding) -> tuple[object, ...]:
    text = encoding.text
    return (
        guardian.id,
        text(guardian.first_name),
        text(guardian.last_name),
        guardian.email,
        encoding.optional_text(guardian.phone),
    )


def _quotients(rows: Iterable[Sequence[Any]], encoding: _Encoding) -> dict[str, list[QuotientFamilial]]:
    """Quotients by family id, from rows of a family id and the ``_QUOTIENT_COLUMNS``, in order."""
    day, optional_day, text = encoding.read_day, encoding.read_optional_day, encoding.read_text
    found: dict[str, list[QuotientFamilial]] = {}
    for family_id, value, valid_from, valid_until, source, received_on in rows:
        quotient = _new_quotient(
            Decimal(value),
            day(valid_from),
            optional_day(valid_until),
            text(source),
            optional_day(received_on),
        )
        found.setdefault(family_id, []).append(quotient)
    return found


def _quotient_row(quotient: QuotientFamilial, encoding: _Encoding) -> tuple[object, ...]:
    return (
        str(quotient.value),
        encoding.day(quotient.valid_from),
        encoding.optional_day(quotient.valid_until),
        encoding.text(quotient.source),
        encoding.optional_day(quotient.received_on),
    )


def _children(
    rows: Iterable[Sequence[Any]], family_ids: Mapping[str, Sequence[str]], encoding: _Encoding
) -> list[Child]:
    """Children from their ``_CHILD_COLUMNS``, each with the households it belongs to (by child id)."""
    text, optional_text, day, flag, names = (
        encoding.read_text,
        encoding.read_optional_text,
        encoding.read_day,
        encoding.read_flag,
        encoding.read_names,
    )
    new = _new_child
    return [
        new(
            child_id,
            text(first_name),
            text(last_name),
            day(birth_date),
            tuple(family_ids.get(child_id, ())),
            optional_text(school),
            None if school_class is None else SchoolClass(school_class),
            flag(pai),
            flag(support),
            frozenset(Diet(diet) for diet in names(diets)),
        )
        for child_id, first_name, last_name, birth_date, school, school_class, pai, support, diets in rows
    ]


def _child_row(child: Child, encoding: _Encoding) -> tuple[object, ...]:
    text, flag = encoding.text, encoding.flag
    return (
        child.id,
        text(child.first_name),
        text(child.last_name),
        encoding.day(child.birth_date),
        encoding.optional_text(child.school),
        None if child.school_class is None else child.school_class.value,
        flag(child.pai),
        flag(child.needs_support),
        encoding.names(sorted(diet.value for diet in child.diets)),
    )


def _enrolment(row: Sequence[Any], encoding: _Encoding) -> Enrolment:
    id_, child_id, family_id, service_id, start, end, validated = row
    day = encoding.read_day
    period = DateRange(day(start), day(end))
    return Enrolment(id_, child_id, family_id, service_id, period, encoding.read_flag(validated))


def _enrolment_row(enrolment: Enrolment, encoding: _Encoding) -> tuple[object, ...]:
    return (
        enrolment.id,
        enrolment.child_id,
        enrolment.family_id,
        enrolment.service_id,
        encoding.day(enrolment.period.start),
        encoding.day(enrolment.period.end),
        encoding.flag(enrolment.validated),
    )


def _exemption(row: Sequence[Any], encoding: _Encoding) -> UnpaidExemption:
    granted_by, since, until, reason = row
    text = encoding.read_text
    return UnpaidExemption(
        text(granted_by), encoding.read_day(since), encoding.read_optional_day(until), text(reason)
    )


def _exemption_row(exemption: UnpaidExemption, encoding: _Encoding) -> tuple[object, ...]:
    return (
        encoding.text(exemption.granted_by),
        encoding.day(exemption.since),
        encoding.optional_day(exemption.until),
        encoding.text(exemption.reason),
    )


def _closure(row: Sequence[Any], encoding: _Encoding) -> tuple[str, Closure]:
    """A service's id and its closure, from the ``_CLOSURE_COLUMNS``."""
    service_id, start, end, reason, label = row
    day = encoding.read_day
    return service_id, Closure(
        DateRange(day(start), day(end)), ClosureReason(reason), encoding.read_text(label)
    )


def _closure_row(service_id: str, closure: Closure, encoding: _Encoding) -> tuple[object, ...]:
    return (
        service_id,
        encoding.day(closure.period.start),
        encoding.day(closure.period.end),
        closure.reason.value,
        encoding.text(closure.label),
    )


def _mandate(row: Sequence[Any], encoding: _Encoding) -> FamilyMandate:
    rum, regie_id, family_id, debtor, iban, bic, signed_on, sequence, days, registered, last, revoked = row
    day, optional_day = encoding.read_day, encoding.read_optional_day
    terms = _new_mandate(
        rum, day(signed_on), encoding.read_text(debtor), iban, bic, _SEQUENCES[sequence], days
    )
    return _new_family_mandate(
        terms, family_id, regie_id, day(registered), optional_day(last), optional_day(revoked)
    )


def _mandate_row(mandate: FamilyMandate, encoding: _Encoding) -> tuple[object, ...]:
    terms = mandate.mandate
    signed_on = terms.signed_on
    assert signed_on is not None  # a Mandate always has one
    return (
        mandate.rum,
        mandate.regie_id,
        mandate.family_id,
        encoding.text(terms.debtor_name),
        terms.iban,
        terms.bic,
        encoding.day(signed_on),
        terms.sequence.value,
        terms.pre_notification_days,
        encoding.day(mandate.registered_on),
        encoding.optional_day(mandate.last_collected_on),
        encoding.optional_day(mandate.revoked_on),
    )


def _collection(row: Sequence[Any], encoding: _Encoding) -> DebitCollection:
    batch_id, number, family_id, rum, cents, sequence, payment, rejected_on, reason, document = row
    reject = None if rejected_on is None else _new_reject(encoding.read_day(rejected_on), reason, document)
    return _new_collection(
        batch_id, number, family_id, rum, Money.from_cents(cents), _SEQUENCES[sequence], payment, reject
    )


def _collection_row(collection: DebitCollection, encoding: _Encoding) -> tuple[object, ...]:
    reject = collection.reject
    return (
        collection.batch_id,
        collection.invoice_number,
        collection.family_id,
        collection.rum,
        collection.amount.cents,
        collection.sequence.value,
        collection.payment_number,
        None if reject is None else encoding.day(reject.on),
        None if reject is None else reject.reason,
        None if reject is None else reject.document,
    )


def _invoices(
    rows: Iterable[Sequence[Any]], lines: Mapping[str, Sequence[InvoiceLine]], encoding: _Encoding
) -> tuple[Invoice, ...]:
    """Invoices from their ``_INVOICE_COLUMNS``, each with its lines (by number)."""
    read_day = encoding.read_day
    if read_day is not _same:  # days stored as text: read in a pass of their own (none for dates)
        rows = [
            (
                number,
                regie_id,
                family_id,
                kind,
                read_day(start),
                read_day(end),
                read_day(issued_on),
                read_day(due_on),
                None if debit_on is None else read_day(debit_on),
            )
            for number, regie_id, family_id, kind, start, end, issued_on, due_on, debit_on in rows
        ]
    return tuple(
        Invoice(
            number,
            regie_id,
            family_id,
            DocumentKind(kind),
            DateRange(start, end),
            issued_on,
            due_on,
            lines.get(number, ()),
            direct_debit_on,
        )
        for number, regie_id, family_id, kind, start, end, issued_on, due_on, direct_debit_on in rows
    )


def _invoice_lines(
    rows: Iterable[Sequence[Any]], encoding: _Encoding, read_days: Callable[[Any], tuple[dt.date, ...]]
) -> dict[str, list[InvoiceLine]]:
    """Lines by their owner's key, from rows of a key (an invoice's number, a family's id) and the
    ``_LINE_COLUMNS``, in order; ``read_days`` reads the value of a line's days."""
    # A month end reads its lines by the ten thousand: an encoding's identities (SQLite's text,
    # PostgreSQL's days) are not called for each.
    text = None if encoding.read_text is _same else encoding.read_text
    day = None if encoding.read_day is _same else encoding.read_day
    found: dict[str, list[InvoiceLine]] = {}
    for key, child_id, prestation, label, reason, days, quantity, price, total, why, of, on, minutes in rows:
        line = InvoiceLine(
            child_id,
            prestation,
            label if text is None else text(label),
            reason if text is None else text(reason),
            read_days(days),
            Decimal(quantity),
            Decimal(price),
            Money.from_cents(total),
            why if text is None else text(why),
            None if of is None else (of, on if day is None else day(on)),
            minutes,
        )
        found.setdefault(key, []).append(line)
    return found


def _line_rows(
    owners: Iterable[tuple[tuple[object, ...], Iterable[InvoiceLine]]],
    encoding: _Encoding,
    days: Callable[[tuple[dt.date, ...]], object],
) -> list[tuple[object, ...]]:
    """The rows of lines: for each owner's key columns and lines, the key, the line's position among them
    and its ``_LINE_COLUMNS``; ``days`` gives the value of a line's days (SQLite's compact text; on
    PostgreSQL a list of dates, or a ``date[]``'s text for ``COPY``)."""
    text = None if encoding.text is _same else encoding.text
    day = None if encoding.day is _same else encoding.day
    return [
        (
            *key,
            position,
            line.child_id,
            line.prestation_id,
            line.label if text is None else text(line.label),
            line.reason if text is None else text(line.reason),
            days(line.days),
            str(line.quantity),
            str(line.unit_price),
            line.total.cents,
            line.explanation if text is None else text(line.explanation),
            None if line.regularises is None else line.regularises[0],
            None
            if line.regularises is None
            else line.regularises[1]
            if day is None
            else day(line.regularises[1]),
            line.minutes,
        )
        for key, lines in owners
        for position, line in enumerate(lines)
    ]


def _check_known_invoice(earlier: Invoice, invoice: Invoice, raise_if_changed: Callable[[], None]) -> None:
    """Refuse ``invoice`` where ``earlier`` holds its number with another content."""
    if earlier != invoice:
        # The number may have been given by another unit of work since this one read the numbering:
        # that is a conflict to retry (``raise_if_changed``), not a change to an issued invoice.
        raise_if_changed()
        raise InvalidInput(
            f"invoice {invoice.number} is already issued with another content; an issued invoice never "
            "changes (correct it with regularisation lines on a later one)",
            message_fr=f"La facture {invoice.number} est déjà émise : elle ne peut plus être modifiée.",
            code="store.invoice_immutable",
            details={"number": invoice.number},
        )
