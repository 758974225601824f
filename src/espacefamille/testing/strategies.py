"""Hypothesis strategies for the library's values: money, a commune's configuration, and what a store keeps.

The library's own property tests and the store conformance kit draw from this one module: amounts and
rounding policies; openings, prestations, services, régies and whole communes; families, children, bookings,
invoices, payments, requests…

Each strategy only builds values the model accepts (a slot has hours and ends after it starts, services name
an existing régie, a payer is one of the guardians, quotients do not overlap, a credit note is negative, a
request's history follows the rules), so a test that fails has found a bug in the code under test, not in
its generator. Identifiers can be fixed by argument, so a test can build several values that refer to one
another (a child of a family, a booking of that child, the prestations of a service).

Instants are drawn as UTC instants then shown in a French zone, the clock-change nights included: a store
must keep the instant, whatever zone it gives it back in (see ``same_instants``).

Why one module of some 850 lines: a store implementer imports one module of strategies for every value
the ports carry; they build on each other (a family's children, an invoice's lines), so splitting them
would only move imports around.
"""

from __future__ import annotations

import datetime as dt
import functools
import unicodedata
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
from espacefamille.calendar.opening import Closure, ClosureReason, Opening
from espacefamille.calendar.periods import DateRange, Weekday
from espacefamille.calendar.public_holidays import HolidaySubdivision
from espacefamille.calendar.school import SchoolHoliday, SchoolYear, SchoolZone
from espacefamille.commune import Commune
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
    Collectivite,
    Diet,
    Enrolment,
    Family,
    Guardian,
    PaymentMode,
    PostalAddress,
    Prestation,
    PrestationKind,
    QuotientFamilial,
    Regie,
    Residence,
    SchoolClass,
    Service,
    ServiceKind,
)
from espacefamille.money import Money, RoundingMode, RoundingPoint, RoundingPolicy
from espacefamille.rules.attendance import (
    AbsenceDeclaration,
    AbsenceReason,
    AttendanceFact,
    AttendanceStatus,
)
from espacefamille.rules.unpaid import UnpaidExemption

__all__ = [
    "SHIPPED_ZONES",
    "absence_declarations",
    "accounts",
    "activations",
    "allocations",
    "attendance_facts",
    "bookings",
    "carried_balances",
    "cents",
    "children",
    "closures",
    "collectivites",
    "communes",
    "date_ranges",
    "dates",
    "enrolments",
    "exact_amounts",
    "families",
    "hostile_values",
    "identifiers",
    "instants",
    "invoice_lines",
    "invoices",
    "money_amounts",
    "names",
    "numberings",
    "openings",
    "outbox_messages",
    "payment_attempts",
    "payments",
    "postal_addresses",
    "prestations",
    "regies",
    "requests",
    "rounding_policies",
    "same_instants",
    "school_years",
    "services",
    "unpaid_exemptions",
    "weekday_sets",
    "weights",
]

#: The school zones whose holidays the library ships: a generated commune can answer any date of
#: the shipped years without bringing its own table.
SHIPPED_ZONES = (SchoolZone.A, SchoolZone.B, SchoolZone.C)

# Zones a French collectivité uses; Paris brings the clock-change nights (ambiguous 02:30 in October).
_ZONES = (
    zoneinfo.ZoneInfo("Europe/Paris"),
    zoneinfo.ZoneInfo("Indian/Reunion"),
    zoneinfo.ZoneInfo("America/Cayenne"),
    dt.UTC,
)
# The zones a French collectivité is configured in (metropole and overseas départements).
_TIMEZONES = (
    "Europe/Paris",
    "Indian/Reunion",
    "America/Guadeloupe",
    "America/Martinique",
    "America/Cayenne",
    "Indian/Mayotte",
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
def hostile_values() -> st.SearchStrategy[object]:
    """What a frontend may pass by mistake or a hostile client on purpose: None, wrong types, huge numbers,
    floats, lone surrogates and control characters, bytes, dates at the ends of the calendar, naive
    datetimes, nested lists and tables. For fuzzing the public entry points (tests/fuzz)."""
    scalars: st.SearchStrategy[object] = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.sampled_from([2**63, -(2**63) - 1, 2**70, 10**17, -1, 0]),
        st.floats(allow_nan=True, allow_infinity=True),
        st.decimals(allow_nan=True, allow_infinity=True),
        st.sampled_from(
            ["", " ", "\ud800", "a\udfffb", "\x00", "x\ny", "8_12", "１２", "1E+5000", "é" * 2000]
        ),
        st.text(max_size=12),
        st.binary(max_size=8),
        st.sampled_from([dt.date.min, dt.date.max, dt.date(1899, 1, 1), dt.date(9999, 12, 31)]),
        st.dates(),
        st.datetimes(),
        st.sampled_from([dt.timedelta.max, dt.timedelta(0), -dt.timedelta(days=1)]),
        st.just(Money("1000000000000")),
    )
    return st.recursive(
        scalars,
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
        max_leaves=6,
    )


@functools.cache
def names() -> st.SearchStrategy[str]:
    """A display name: any one-line text that is not blank (accents, apostrophes, quotes, emoji…), composed
    (NFC) as the model keeps it; no control character nor lone surrogate, which the model refuses."""
    return (
        st.text(st.characters(codec="utf-8", exclude_categories=["Cs", "Cc"]), min_size=1, max_size=30)
        .map(lambda s: unicodedata.normalize("NFC", s))
        .filter(lambda s: bool(s.strip()))
    )


@functools.cache
def dates(min_value: dt.date = _FIRST_DAY, max_value: dt.date = _LAST_DAY) -> st.SearchStrategy[dt.date]:
    return st.dates(min_value=min_value, max_value=max_value)


@functools.cache
@st.composite
def date_ranges(
    draw: st.DrawFn, min_value: dt.date = _FIRST_DAY, max_value: dt.date = _LAST_DAY, max_days: int = 60
) -> DateRange:
    """An inclusive range of one to ``max_days`` days, within ``min_value`` … ``max_value``."""
    start = draw(dates(min_value, max_value))
    length = draw(st.integers(min_value=0, max_value=max_days - 1))
    return DateRange(start, min(start + dt.timedelta(days=length), max_value))


@functools.cache
def weekday_sets(min_size: int = 0) -> st.SearchStrategy[frozenset[Weekday]]:
    return st.frozensets(st.sampled_from(Weekday), min_size=min_size)


# -- money ------------------------------------------------------------------------------------


def cents(min_value: int = -_MAX_CENTS, max_value: int = _MAX_CENTS) -> st.SearchStrategy[int]:
    return st.integers(min_value=min_value, max_value=max_value)


def money_amounts(min_cents: int = -_MAX_CENTS, max_cents: int = _MAX_CENTS) -> st.SearchStrategy[Money]:
    """Any amount in whole cents, negative ones (credits, refunds) included by default."""
    return cents(min_cents, max_cents).map(Money.from_cents)


def exact_amounts(places: int = 4, max_value: int = 100_000) -> st.SearchStrategy[Decimal]:
    """An exact amount finer than the cent (a unit price from a taux d'effort, a reduction)."""
    return st.decimals(
        min_value=-max_value, max_value=max_value, places=places, allow_nan=False, allow_infinity=False
    )


def weights(min_size: int = 1, max_size: int = 12) -> st.SearchStrategy[list[Decimal | int]]:
    """Allocation weights: non-negative, at least one positive (an int or an exact decimal each)."""
    weight: st.SearchStrategy[Decimal | int] = st.one_of(
        st.integers(min_value=0, max_value=1_000),
        st.decimals(min_value=0, max_value=1_000, places=3, allow_nan=False, allow_infinity=False),
    )
    return st.lists(weight, min_size=min_size, max_size=max_size).filter(lambda ws: sum(ws) > 0)


@functools.cache
def rounding_policies() -> st.SearchStrategy[RoundingPolicy]:
    return st.builds(RoundingPolicy, st.sampled_from(RoundingMode), st.sampled_from(RoundingPoint))


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


# -- a commune's configuration ----------------------------------------------------------------


@functools.cache
def closures() -> st.SearchStrategy[Closure]:
    """A closure decided by the commune (strike, training day, outing…), labelled or not."""
    return st.builds(Closure, date_ranges(max_days=10), st.sampled_from(ClosureReason), st.just("") | names())


@functools.cache
def _closure_lists() -> st.SearchStrategy[list[Closure]]:
    return st.lists(closures(), max_size=2)


@functools.cache
def _seasons() -> st.SearchStrategy[DateRange | None]:
    return st.none() | date_ranges(max_days=400)


@functools.cache
@st.composite
def openings(draw: st.DrawFn, allow_never_open: bool = False) -> Opening:
    """When a prestation runs; unless ``allow_never_open``, on at least one weekday (as configured)."""
    school = draw(weekday_sets())
    holiday = draw(weekday_sets(min_size=0 if school or allow_never_open else 1))
    return Opening(
        school_weekdays=school,
        holiday_weekdays=holiday,
        closures=tuple(draw(_closure_lists())),
        season=draw(_seasons()),
        open_on_public_holidays=draw(st.booleans()),
    )


_TWO_TIMES = st.lists(st.times(), min_size=2, max_size=2, unique=True)


@functools.cache
@st.composite
def _hours(draw: st.DrawFn) -> tuple[dt.time, dt.time]:
    """Start and end wall-clock times of a day, the end strictly later."""
    start, end = sorted(draw(_TWO_TIMES))
    return start, end


@functools.cache
def _maybe_hours() -> st.SearchStrategy[tuple[dt.time, dt.time] | None]:
    return st.none() | _hours()


@functools.cache
def _block_lists() -> st.SearchStrategy[list[DateRange]]:
    return st.lists(date_ranges(max_days=14), max_size=3)


@st.composite
def prestations(
    draw: st.DrawFn, service_id: str | None = None, prestation_id: str | None = None
) -> Prestation:
    """A bookable prestation: a slot always has hours, only a block has blocks."""
    kind = draw(st.sampled_from(PrestationKind))
    hours = draw(_hours()) if kind is PrestationKind.SLOT else draw(_maybe_hours())
    blocks = draw(_block_lists()) if kind is PrestationKind.BLOCK else []
    return Prestation(
        id=_or_draw(draw, prestation_id),
        name=draw(names()),
        service_id=_or_draw(draw, service_id),
        kind=kind,
        payment_mode=draw(st.sampled_from(PaymentMode)),
        opening=draw(openings()),
        start=None if hours is None else hours[0],
        end=None if hours is None else hours[1],
        blocks=tuple(blocks),
    )


@st.composite
def services(
    draw: st.DrawFn,
    service_id: str | None = None,
    regie_ids: tuple[str, ...] | None = None,
    prestation_ids: tuple[str, ...] | None = None,
) -> Service:
    """A service with at least one prestation, invoiced by one of ``regie_ids`` when given."""
    sid = _or_draw(draw, service_id)
    if prestation_ids is None:
        prestation_ids = tuple(draw(st.lists(identifiers(), min_size=1, max_size=3, unique=True)))
    regie_id = draw(st.sampled_from(regie_ids)) if regie_ids else draw(identifiers())
    return Service(
        id=sid,
        name=draw(names()),
        kind=draw(st.sampled_from(ServiceKind)),
        regie_id=regie_id,
        prestations=tuple(draw(prestations(sid, pid)) for pid in prestation_ids),
        closures=tuple(draw(_closure_lists())),
    )


@functools.cache
def regies(regie_id: str | None = None) -> st.SearchStrategy[Regie]:
    """A régie, with or without its PayFiP client number."""
    return st.builds(
        Regie,
        st.just(regie_id) if regie_id is not None else identifiers(),
        names(),
        st.none() | st.just("") | st.from_regex(r"[0-9]{6}", fullmatch=True),
    )


@functools.cache
def collectivites() -> st.SearchStrategy[Collectivite]:
    """A collectivité in a shipped school zone (A, B or C), with any holiday subdivision and zone."""
    return st.builds(
        Collectivite,
        id=identifiers(),
        name=names(),
        school_zone=st.sampled_from(SHIPPED_ZONES),
        subdivision=st.sampled_from(HolidaySubdivision),
        timezone=st.sampled_from(_TIMEZONES),
    )


@st.composite
def school_years(draw: st.DrawFn, first_year: int | None = None) -> SchoolYear:
    """A commune's own school year: rentrée in early September, holidays in order, summer in July."""
    first = first_year if first_year is not None else draw(st.integers(min_value=2020, max_value=2034))
    rentree = dt.date(first, 9, 1) + dt.timedelta(days=draw(st.integers(min_value=0, max_value=6)))
    summer_start = dt.date(first + 1, 7, 1) + dt.timedelta(days=draw(st.integers(min_value=0, max_value=6)))
    # Holidays are cut from the weeks between the rentrée and the summer, in order.
    holidays: list[SchoolHoliday] = []
    cursor = rentree
    for index in range(draw(st.integers(min_value=0, max_value=5))):
        start = cursor + dt.timedelta(days=draw(st.integers(min_value=0, max_value=40)))
        end = start + dt.timedelta(days=draw(st.integers(min_value=1, max_value=16)))
        if end > summer_start:
            break
        holidays.append(SchoolHoliday(f"Vacances n° {index + 1}", start, end))
        cursor = end
    return SchoolYear(f"{first}-{first + 1}", rentree, summer_start, tuple(holidays))


@st.composite
def communes(draw: st.DrawFn, max_services: int = 3) -> Commune:
    """A whole valid commune: unique ids everywhere, each service invoiced by an existing régie."""
    regie_ids = draw(st.lists(identifiers(), min_size=1, max_size=3, unique=True))
    service_ids = draw(st.lists(identifiers(), min_size=0, max_size=max_services, unique=True))
    # Prestation ids are unique across the whole commune, not only within a service.
    counts = [draw(st.integers(min_value=1, max_value=3)) for _ in service_ids]
    all_prestation_ids = draw(
        st.lists(identifiers(), min_size=sum(counts), max_size=sum(counts), unique=True)
    )
    service_list: list[Service] = []
    used = 0
    for sid, count in zip(service_ids, counts, strict=True):
        own = tuple(all_prestation_ids[used : used + count])
        used += count
        service_list.append(draw(services(sid, tuple(regie_ids), own)))
    first_years = draw(st.lists(st.integers(min_value=2020, max_value=2034), max_size=2, unique=True))
    return Commune(
        collectivite=draw(collectivites()),
        regies=tuple(draw(regies(rid)) for rid in regie_ids),
        services=tuple(service_list),
        school_years=tuple(draw(school_years(year)) for year in first_years),
        rounding=draw(rounding_policies()),
        recovery_threshold=draw(money_amounts(0, 100_000)),
    )


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
def postal_addresses(draw: st.DrawFn) -> PostalAddress:
    """A payer's address: one to four lines of up to 38 characters, in France (five-digit postcode) or
    abroad (a country, a postcode of its own)."""
    line = names()  # at most 30 characters
    abroad = draw(st.booleans())
    postcode = (
        draw(st.from_regex(r"[A-Z]{0,2}-?[0-9]{4,5}", fullmatch=True))
        if abroad
        else draw(st.from_regex(r"[0-9]{5}", fullmatch=True))
    )
    return PostalAddress(
        lines=draw(st.lists(line, min_size=1, max_size=4)),
        postcode=postcode,
        city=draw(line.filter(lambda text: len(text) <= 20)),
        country=draw(st.sampled_from(("Belgique", "Suisse", "España"))) if abroad else None,
    )


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
        address=draw(_maybe(postal_addresses())),
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
        reason=draw(st.none() | identifiers()),  # the commune's own attendance reason, if any
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
        quantity=draw(exact_amounts(places=4, max_value=100)),
        unit_price=draw(exact_amounts(max_value=10_000)),
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
