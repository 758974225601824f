"""Hypothesis strategies for what a store keeps: families, children, bookings, invoices, payments, requests…

Each strategy only builds values the model accepts (a payer is one of the guardians, quotients do not
overlap, a credit note is negative, a request's history follows the rules), so a conformance test that
fails has found a bug in the store, not in its generator. Identifiers can be fixed by argument, so a test
can build several values that refer to one another (a child of a family, a booking of that child).

Instants are drawn as UTC instants then shown in a French zone, the clock-change nights included: a store
must keep the instant, whatever zone it gives it back in (see ``same_instants``).
"""

from __future__ import annotations

import datetime as dt
import functools
import zoneinfo
from decimal import Decimal
from typing import Any

import attrs
from hypothesis import strategies as st

from espacefamille.billing.documents import (
    Allocation,
    DocumentKind,
    Invoice,
    InvoiceLine,
    Numbering,
    Payment,
    PaymentMethod,
    Series,
)
from espacefamille.billing.invoicing import CarriedBalance
from espacefamille.billing.online import CreatedPayment, PaymentAttempt, PaymentStatus
from espacefamille.calendar.opening import Closure, ClosureReason
from espacefamille.calendar.periods import DateRange
from espacefamille.families.accounts import Account, AccountLink, Activation, LinkScope, token_hash
from espacefamille.families.events import (
    AccountActivated,
    BookingConfirmed,
    DomainEvent,
    InvoiceIssued,
    OutboxMessage,
    PaymentReceived,
    RequestAnswered,
    UnpaidExemptionGranted,
    UnpaidExemptionRevoked,
)
from espacefamille.families.requests import Actor, EventKind, FieldValue, Request, RequestEvent, RequestStatus
from espacefamille.model import (
    Booking,
    BookingStatus,
    Child,
    Diet,
    Enrolment,
    Family,
    Guardian,
    QuotientFamilial,
    Residence,
    SchoolClass,
)
from espacefamille.money import Money
from espacefamille.rules.attendance import (
    AbsenceDeclaration,
    AbsenceReason,
    AttendanceFact,
    AttendanceStatus,
)
from espacefamille.rules.unpaid import UnpaidExemption

__all__ = [
    "absence_declarations",
    "accounts",
    "activations",
    "allocations",
    "attendance_facts",
    "bookings",
    "carried_balances",
    "children",
    "closures",
    "date_ranges",
    "dates",
    "enrolments",
    "families",
    "identifiers",
    "instants",
    "invoice_lines",
    "invoices",
    "money_amounts",
    "names",
    "numberings",
    "outbox_messages",
    "payment_attempts",
    "payments",
    "requests",
    "same_instants",
    "unpaid_exemptions",
]

# Zones a French collectivité uses; Paris brings the clock-change nights (ambiguous 02:30 in October).
_ZONES = (
    zoneinfo.ZoneInfo("Europe/Paris"),
    zoneinfo.ZoneInfo("Indian/Reunion"),
    zoneinfo.ZoneInfo("America/Cayenne"),
    dt.UTC,
)
_FIRST_DAY = dt.date(2020, 1, 1)
_LAST_DAY = dt.date(2035, 12, 31)
#: ± 10 million euros, in cents: well beyond any real invoice.
_MAX_CENTS = 1_000_000_000


# -- basics -----------------------------------------------------------------------------------


@functools.cache
def identifiers() -> st.SearchStrategy[str]:
    """An identifier as the model accepts it (``F1``, ``repas``, ``regie-2``)."""
    return st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,15}", fullmatch=True)


@functools.cache
def names() -> st.SearchStrategy[str]:
    """A display name: any text that is not blank (accents, apostrophes, quotes, emoji…)."""
    return st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), min_size=1, max_size=30).filter(
        lambda s: bool(s.strip())
    )


@functools.cache
def dates(min_value: dt.date = _FIRST_DAY, max_value: dt.date = _LAST_DAY) -> st.SearchStrategy[dt.date]:
    return st.dates(min_value=min_value, max_value=max_value)


@st.composite
def date_ranges(draw: st.DrawFn, max_days: int = 60) -> DateRange:
    """An inclusive range of one to ``max_days`` days."""
    start = draw(dates())
    length = draw(st.integers(min_value=0, max_value=max_days - 1))
    return DateRange(start, start + dt.timedelta(days=length))


def money_amounts(min_cents: int = -_MAX_CENTS, max_cents: int = _MAX_CENTS) -> st.SearchStrategy[Money]:
    """Any amount in whole cents, negative ones (credits, refunds) included by default."""
    return st.integers(min_value=min_cents, max_value=max_cents).map(Money.from_cents)


def _exact(places: int = 4, max_value: int = 10_000) -> st.SearchStrategy[Decimal]:
    return st.decimals(
        min_value=-max_value, max_value=max_value, places=places, allow_nan=False, allow_infinity=False
    )


@st.composite
def instants(draw: st.DrawFn) -> dt.datetime:
    """An aware instant, shown in one of the French zones (or UTC)."""
    naive = draw(
        st.datetimes(
            min_value=dt.datetime(2020, 1, 1),  # noqa: DTZ001 - made aware on the next line
            max_value=dt.datetime(2035, 12, 31),  # noqa: DTZ001
        )
    )
    return naive.replace(tzinfo=dt.UTC).astimezone(draw(st.sampled_from(_ZONES)))


def _maybe(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.none() | strategy


def _or_draw(draw: st.DrawFn, value: str | None) -> str:
    return value if value is not None else draw(identifiers())


# -- families ---------------------------------------------------------------------------------


@st.composite
def _quotient_lists(draw: st.DrawFn) -> list[QuotientFamilial]:
    """Successive quotients that never overlap; only the last may be open-ended."""
    count = draw(st.integers(min_value=0, max_value=3))
    result: list[QuotientFamilial] = []
    start = draw(dates(max_value=dt.date(2030, 1, 1)))
    for index in range(count):
        length = draw(st.integers(min_value=0, max_value=400))
        last = index == count - 1
        until = None if last and draw(st.booleans()) else start + dt.timedelta(days=length)
        value = draw(
            st.decimals(min_value=0, max_value=5_000, places=2, allow_nan=False, allow_infinity=False)
        )
        source = draw(st.sampled_from(("CAF", "MSA", "mairie")))
        # Sometimes the day the attestation was received, shortly before or after the validity starts.
        received = draw(st.none() | st.integers(min_value=-30, max_value=60))
        received_on = None if received is None else start + dt.timedelta(days=received)
        result.append(QuotientFamilial(value, start, until, source, received_on=received_on))
        if until is None:
            break
        start = until + dt.timedelta(days=draw(st.integers(min_value=1, max_value=30)))
    return result


@st.composite
def families(draw: st.DrawFn, family_id: str | None = None) -> Family:
    """A household: one or two guardians (one pays), its quotients over time, resident or not."""
    guardian_ids = draw(st.lists(identifiers(), min_size=1, max_size=2, unique=True))
    guardians = [
        Guardian(
            gid,
            draw(names()),
            draw(names()),
            draw(_maybe(st.emails())),
            draw(_maybe(st.from_regex(r"0[67][0-9]{8}", fullmatch=True))),
        )
        for gid in guardian_ids
    ]
    return Family(
        id=_or_draw(draw, family_id),
        name=draw(names()),
        guardians=guardians,
        payer_id=draw(st.sampled_from(guardian_ids)),
        residence=draw(st.sampled_from(Residence)),
        quotients=draw(_quotient_lists()),
        direct_debit=draw(st.booleans()),
    )


@st.composite
def children(
    draw: st.DrawFn, family_ids: tuple[str, ...] | None = None, child_id: str | None = None
) -> Child:
    """A child of one household, or of two (separated parents)."""
    households = family_ids or tuple(draw(st.lists(identifiers(), min_size=1, max_size=2, unique=True)))
    return Child(
        id=_or_draw(draw, child_id),
        first_name=draw(names()),
        last_name=draw(names()),
        birth_date=draw(dates(dt.date(2008, 1, 1), dt.date(2030, 12, 31))),
        family_ids=households,
        school=draw(_maybe(names())),
        school_class=draw(_maybe(st.sampled_from(SchoolClass))),
        pai=draw(st.booleans()),
        needs_support=draw(st.booleans()),
        diets=draw(st.frozensets(st.sampled_from(Diet))),
    )


@st.composite
def enrolments(
    draw: st.DrawFn,
    child_id: str | None = None,
    family_id: str | None = None,
    enrolment_id: str | None = None,
) -> Enrolment:
    return Enrolment(
        id=_or_draw(draw, enrolment_id),
        child_id=_or_draw(draw, child_id),
        family_id=_or_draw(draw, family_id),
        service_id=draw(identifiers()),
        period=draw(date_ranges(max_days=400)),
        validated=draw(st.booleans()),
    )


# -- bookings and attendance ------------------------------------------------------------------


@st.composite
def bookings(
    draw: st.DrawFn,
    child_id: str | None = None,
    prestation_id: str | None = None,
    family_id: str | None = None,
    day: dt.date | None = None,
) -> Booking:
    """A booking in any status, prepaid (with what was paid) or not, with or without a surcharge."""
    return Booking(
        child_id=_or_draw(draw, child_id),
        prestation_id=_or_draw(draw, prestation_id),
        day=day if day is not None else draw(dates()),
        family_id=_or_draw(draw, family_id),
        status=draw(st.sampled_from(BookingStatus)),
        booked_at=draw(instants()),
        paid=draw(_maybe(money_amounts(0, 100_000))),
        surcharge_code=draw(_maybe(st.sampled_from(("surcharge.late_booking", "surcharge.unbooked")))),
    )


@st.composite
def attendance_facts(
    draw: st.DrawFn, child_id: str | None = None, prestation_id: str | None = None, day: dt.date | None = None
) -> AttendanceFact:
    recorded = draw(st.booleans())
    return AttendanceFact(
        child_id=_or_draw(draw, child_id),
        prestation_id=_or_draw(draw, prestation_id),
        day=day if day is not None else draw(dates()),
        status=draw(st.sampled_from(AttendanceStatus)),
        recorded_by=draw(identifiers()) if recorded else None,
        recorded_at=draw(instants()) if recorded else None,
        note=draw(st.just("") | names()),
    )


@st.composite
def absence_declarations(draw: st.DrawFn, child_id: str | None = None) -> AbsenceDeclaration:
    return AbsenceDeclaration(
        child_id=_or_draw(draw, child_id),
        days=draw(date_ranges(max_days=15)),
        reason=draw(st.sampled_from(AbsenceReason)),
        declared_at=draw(instants()),
        proof_received_at=draw(_maybe(instants())),
    )


@functools.cache
def closures() -> st.SearchStrategy[Closure]:
    """A closure decided by the commune (strike, training day…), labelled or not."""
    return st.builds(Closure, date_ranges(max_days=10), st.sampled_from(ClosureReason), st.just("") | names())


# -- billing ----------------------------------------------------------------------------------


@st.composite
def invoice_lines(draw: st.DrawFn, child_id: str | None = None) -> InvoiceLine:
    """A line with exact quantities and prices; some correct an earlier invoice, some bill minutes."""
    return InvoiceLine(
        child_id=_or_draw(draw, child_id),
        prestation_id=draw(identifiers()),
        label=draw(names()),
        reason=draw(st.sampled_from(("attendance.present", "surcharge.late_booking", "regularisation"))),
        days=draw(st.lists(dates(), max_size=5, unique=True)),
        quantity=draw(_exact(places=4, max_value=100)),
        unit_price=draw(_exact()),
        total=draw(money_amounts(-1_000_000, 1_000_000)),
        explanation=draw(st.just("") | names()),
        regularises=draw(_maybe(st.tuples(identifiers(), dates()))),
        minutes=draw(_maybe(st.integers(min_value=0, max_value=600))),
    )


@st.composite
def carried_balances(
    draw: st.DrawFn, family_id: str | None = None, regie_id: str | None = None
) -> CarriedBalance:
    """Lines below the recovery threshold waiting for a later invoice (possibly none, as billing allows)."""
    return CarriedBalance(
        _or_draw(draw, family_id), _or_draw(draw, regie_id), draw(st.lists(invoice_lines(), max_size=4))
    )


@st.composite
def invoices(
    draw: st.DrawFn, number: str | None = None, family_id: str | None = None, regie_id: str | None = None
) -> Invoice:
    """An issued invoice, credit note (negative) or imported invoice, with its lines."""
    lines = draw(st.lists(invoice_lines(), min_size=1, max_size=5))
    total = Money.total(line.total for line in lines)
    kinds = [DocumentKind.IMPORTED]
    if total.is_negative:
        kinds.append(DocumentKind.CREDIT_NOTE)
    else:
        kinds.append(DocumentKind.INVOICE)
    issued = draw(dates())
    return Invoice(
        number=_or_draw(draw, number),
        regie_id=_or_draw(draw, regie_id),
        family_id=_or_draw(draw, family_id),
        kind=draw(st.sampled_from(kinds)),
        period=draw(date_ranges(max_days=31)),
        issued_on=issued,
        due_on=issued + dt.timedelta(days=draw(st.integers(min_value=0, max_value=60))),
        lines=lines,
        direct_debit_on=draw(_maybe(dates())),
    )


@st.composite
def payments(
    draw: st.DrawFn, number: str | None = None, family_id: str | None = None, regie_id: str | None = None
) -> Payment:
    """Money received (or a refund paid back, negative)."""
    return Payment(
        number=_or_draw(draw, number),
        regie_id=_or_draw(draw, regie_id),
        family_id=_or_draw(draw, family_id),
        amount=draw(money_amounts(-1_000_000, 1_000_000)),
        received_at=draw(instants()),
        method=draw(st.sampled_from(PaymentMethod)),
        reference=draw(st.just("") | identifiers()),
    )


@st.composite
def payment_attempts(
    draw: st.DrawFn, payment_id: str | None = None, family_id: str | None = None
) -> PaymentAttempt:
    """The portal's record of an online payment: for invoices or a hold, in any state."""
    created_at = draw(instants())
    created = CreatedPayment(
        _or_draw(draw, payment_id),
        "https://paiement.example.fr/" + draw(identifiers()),
        draw(money_amounts(1, 1_000_000)),
        draw(identifiers()),
        draw(identifiers()) + "@example.fr",
        created_at,
        created_at + dt.timedelta(minutes=draw(st.integers(min_value=1, max_value=60 * 24))),
    )
    numbers = draw(st.lists(identifiers(), min_size=1, max_size=3, unique=True))
    return PaymentAttempt(
        created, draw(identifiers()), _or_draw(draw, family_id), numbers, draw(st.sampled_from(PaymentStatus))
    )


@st.composite
def unpaid_exemptions(draw: st.DrawFn) -> UnpaidExemption:
    """An agent's waiver of the unpaid-invoice block: from a day, open-ended or until a later one."""
    since = draw(dates(max_value=dt.date(2034, 12, 31)))
    length = draw(st.none() | st.integers(min_value=0, max_value=365))
    until = None if length is None else since + dt.timedelta(days=length)
    return UnpaidExemption(draw(names()), since, until, draw(st.just("") | names()))


@st.composite
def allocations(draw: st.DrawFn, source: str | None = None, invoice_number: str | None = None) -> Allocation:
    return Allocation(
        source=_or_draw(draw, source),
        invoice_number=_or_draw(draw, invoice_number),
        amount=draw(money_amounts(1, 1_000_000)),
    )


@st.composite
def numberings(draw: st.DrawFn) -> Numbering:
    keys = st.tuples(identifiers(), st.integers(min_value=2020, max_value=2035), st.sampled_from(Series))
    return Numbering(draw(st.dictionaries(keys, st.integers(min_value=1, max_value=999_999), max_size=5)))


# -- requests, outbox, accounts ---------------------------------------------------------------


@functools.cache
def _field_values() -> st.SearchStrategy[FieldValue]:
    return st.one_of(
        names(),
        st.integers(min_value=-1_000_000, max_value=1_000_000),
        st.booleans(),
        st.decimals(min_value=0, max_value=100_000, places=2, allow_nan=False, allow_infinity=False),
        dates(),
    )


@st.composite
def requests(draw: st.DrawFn, request_id: str | None = None, family_id: str | None = None) -> Request:
    """A request submitted by its family, then perhaps answered, decided and closed by an agent."""
    fid = _or_draw(draw, family_id)
    at = draw(instants())
    step = dt.timedelta(minutes=draw(st.integers(min_value=0, max_value=10_000)))
    submitted = RequestEvent(
        at, Actor.family(fid), EventKind.SUBMITTED, None, RequestStatus.SUBMITTED, draw(_maybe(names()))
    )
    request = Request(
        id=_or_draw(draw, request_id),
        family_id=fid,
        category_id=draw(identifiers()),
        values=draw(st.dictionaries(identifiers(), _field_values(), max_size=4)),
        history=(submitted,),
    )
    agent = Actor.agent(draw(identifiers()))
    for action in draw(st.lists(st.sampled_from(("answer", "accept", "message", "close")), max_size=3)):
        at = at + step
        if action == "answer" and not request.is_closed:
            request = request.answer(agent, at, draw(names()))
        elif action == "accept" and request.status in (RequestStatus.SUBMITTED, RequestStatus.IN_PROGRESS):
            request = request.accept(agent, at, draw(names()))
        elif action == "message" and not request.is_closed:
            request = request.add_message(Actor.family(fid), at, draw(names()))
        elif not request.is_closed:
            request = request.close(agent, at)
    return request


@st.composite
def _events(draw: st.DrawFn, family_id: str) -> DomainEvent:
    cid = draw(identifiers())
    at = draw(instants())
    kind = draw(st.sampled_from(("invoice", "payment", "booking", "request", "account", "exemption")))
    if kind == "invoice":
        return InvoiceIssued(
            cid, family_id, at, draw(identifiers()), draw(identifiers()), draw(money_amounts()), draw(dates())
        )
    if kind == "payment":
        return PaymentReceived(
            cid,
            family_id,
            at,
            draw(identifiers()),
            draw(money_amounts(1)),
            tuple(draw(st.lists(identifiers()))),
        )
    if kind == "booking":
        return BookingConfirmed(
            cid,
            family_id,
            at,
            draw(identifiers()),
            draw(names()),
            draw(identifiers()),
            draw(names()),
            draw(st.lists(dates(), min_size=1, max_size=4)),
            draw(_maybe(money_amounts(0))),
        )
    if kind == "request":
        return RequestAnswered(
            cid, family_id, at, draw(identifiers()), draw(names()), "accepted", draw(names())
        )
    if kind == "exemption":
        if draw(st.booleans()):
            return UnpaidExemptionRevoked(cid, family_id, at)
        exemption = draw(unpaid_exemptions())
        return UnpaidExemptionGranted(cid, family_id, at, exemption.since, exemption.until)
    return AccountActivated(
        cid,
        family_id,
        at,
        draw(identifiers()),
        "parent@example.fr",
        draw(names()),
        draw(_maybe(st.just("https://famille.example.fr/activer?jeton=abc"))),
        at + dt.timedelta(days=14),
    )


@st.composite
def outbox_messages(
    draw: st.DrawFn, message_id: str | None = None, family_id: str | None = None
) -> OutboxMessage:
    """A notification waiting to be sent, waiting out a back-off after a failure, or sent."""
    event = draw(_events(_or_draw(draw, family_id)))
    state = draw(st.sampled_from(("pending", "failed", "sent")))
    return OutboxMessage(
        id=_or_draw(draw, message_id),
        event=event,
        attempts=0 if state == "pending" else draw(st.integers(min_value=1, max_value=50)),
        sent_at=draw(instants()) if state == "sent" else None,
        next_attempt_at=draw(instants()) if state == "failed" else None,
        last_error=draw(names()) if state == "failed" else None,
    )


@st.composite
def activations(draw: st.DrawFn, activation_id: str | None = None) -> Activation:
    """An activation as stored: the hash of a token, issued, perhaps used, always expiring later."""
    issued = draw(instants())
    used = draw(st.booleans())
    return Activation(
        id=_or_draw(draw, activation_id),
        collectivite_id=draw(identifiers()),
        family_id=draw(identifiers()),
        guardian_id=draw(identifiers()),
        token_sha256=token_hash(draw(st.text(min_size=1, max_size=40))),
        issued_at=issued,
        expires_at=issued + dt.timedelta(seconds=draw(st.integers(min_value=1, max_value=30 * 86_400))),
        issued_by=draw(identifiers()),
        scope=draw(st.sampled_from(LinkScope)),
        used_at=issued + dt.timedelta(minutes=5) if used else None,
        used_by=draw(identifiers()) if used else None,
    )


@st.composite
def accounts(draw: st.DrawFn, account_id: str | None = None) -> Account:
    """An account linked to family records of several collectivités (each record once)."""
    keys = draw(st.lists(st.tuples(identifiers(), identifiers()), max_size=3, unique=True))
    links = [
        AccountLink(
            cid,
            fid,
            draw(identifiers()),
            draw(identifiers()),
            draw(instants()),
            draw(st.sampled_from(LinkScope)),
        )
        for cid, fid in keys
    ]
    return Account(_or_draw(draw, account_id), draw(st.emails()), links)


# -- comparing what a store gives back --------------------------------------------------------


def _utc(_instance: object, _field: object, value: object) -> object:
    if isinstance(value, dt.datetime) and value.utcoffset() is not None:
        return value.astimezone(dt.UTC)
    return value


def same_instants(first: object, second: object) -> bool:
    """Whether two values are equal once every instant in them is shown in UTC.

    Python compares an ambiguous wall-clock time (02:30 on the October clock-change night in Paris)
    unequal to the same instant in any other zone, so a store that gives instants back in UTC or at a
    fixed offset would fail a plain ``==`` while keeping every instant right.
    """
    if attrs.has(type(first)) and attrs.has(type(second)):
        return bool(
            type(first) is type(second)
            and attrs.asdict(first, value_serializer=_utc)  # type: ignore[arg-type]
            == attrs.asdict(second, value_serializer=_utc)  # type: ignore[arg-type]
        )
    if isinstance(first, tuple) and isinstance(second, tuple):
        return len(first) == len(second) and all(
            same_instants(a, b) for a, b in zip(first, second, strict=True)
        )
    return bool(_utc(None, None, first) == _utc(None, None, second))
