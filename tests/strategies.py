"""Hypothesis strategies for the money and the commune model, shared by every property test.

Each strategy only builds values the model accepts (a slot has hours and ends after it starts, only
a block prestation has blocks, services name an existing régie, ids are unique), so a property test
that fails has found a bug in the code under test, not in its generator. A conformance kit for
another implementation can reuse them as they are.
"""

from __future__ import annotations

import datetime as dt
import functools
from decimal import Decimal

from hypothesis import strategies as st

from espacefamille.calendar.opening import Closure, ClosureReason, Opening
from espacefamille.calendar.periods import DateRange, Weekday
from espacefamille.calendar.public_holidays import HolidaySubdivision
from espacefamille.calendar.school import SchoolHoliday, SchoolYear, SchoolZone
from espacefamille.commune import Commune
from espacefamille.model import (
    Collectivite,
    PaymentMode,
    Prestation,
    PrestationKind,
    Regie,
    Service,
    ServiceKind,
)
from espacefamille.money import Money, RoundingMode, RoundingPoint, RoundingPolicy

__all__ = [
    "SHIPPED_ZONES",
    "cents",
    "closures",
    "collectivites",
    "communes",
    "date_ranges",
    "dates",
    "exact_amounts",
    "identifiers",
    "money_amounts",
    "names",
    "openings",
    "prestations",
    "regies",
    "rounding_policies",
    "school_years",
    "services",
    "weekday_sets",
    "weights",
]

#: The school zones whose holidays the library ships: a generated commune can answer any date of
#: the shipped years without bringing its own table.
SHIPPED_ZONES = (SchoolZone.A, SchoolZone.B, SchoolZone.C)

# Zones a French collectivité actually uses (metropole and overseas départements).
_TIMEZONES = (
    "Europe/Paris",
    "Indian/Reunion",
    "America/Guadeloupe",
    "America/Martinique",
    "America/Cayenne",
    "Indian/Mayotte",
)

# Years around the shipped school data; configuration dates stay in a plausible span.
_FIRST_DAY = dt.date(2020, 1, 1)
_LAST_DAY = dt.date(2035, 12, 31)

_TWO_TIMES = st.lists(st.times(), min_size=2, max_size=2, unique=True)

# -- money ------------------------------------------------------------------------------------

#: A commune's amounts: well beyond any real invoice (± 10 million euros), in whole cents.
_MAX_CENTS = 1_000_000_000


def cents(min_value: int = -_MAX_CENTS, max_value: int = _MAX_CENTS) -> st.SearchStrategy[int]:
    return st.integers(min_value=min_value, max_value=max_value)


def money_amounts(min_cents: int = -_MAX_CENTS, max_cents: int = _MAX_CENTS) -> st.SearchStrategy[Money]:
    """Any amount of euros in whole cents, negative ones (credits, refunds) included by default."""
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


# -- identifiers, names and dates -------------------------------------------------------------


@functools.cache
def identifiers() -> st.SearchStrategy[str]:
    """A configuration identifier (``cantine``, ``mercredi_matin``, ``regie-2``)."""
    return st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,15}", fullmatch=True)


@functools.cache
def names() -> st.SearchStrategy[str]:
    """A display name: any text that is not blank (accents, apostrophes, quotes, emoji…)."""
    return st.text(st.characters(codec="utf-8"), min_size=1, max_size=30).filter(lambda s: bool(s.strip()))


@functools.cache
def dates(min_value: dt.date = _FIRST_DAY, max_value: dt.date = _LAST_DAY) -> st.SearchStrategy[dt.date]:
    return st.dates(min_value=min_value, max_value=max_value)


@functools.cache
@st.composite
def date_ranges(
    draw: st.DrawFn, min_value: dt.date = _FIRST_DAY, max_value: dt.date = _LAST_DAY, max_days: int = 60
) -> DateRange:
    """An inclusive range of one to ``max_days`` days."""
    start = draw(dates(min_value, max_value))
    length = draw(st.integers(min_value=0, max_value=max_days - 1))
    return DateRange(start, min(start + dt.timedelta(days=length), max_value))


@functools.cache
def weekday_sets(min_size: int = 0) -> st.SearchStrategy[frozenset[Weekday]]:
    return st.frozensets(st.sampled_from(Weekday), min_size=min_size)


# -- calendars --------------------------------------------------------------------------------


@functools.cache
def closures() -> st.SearchStrategy[Closure]:
    """A commune's exceptional closure (strike, training day, outing…), labelled or not."""
    return st.builds(
        Closure, date_ranges(max_days=10), st.sampled_from(ClosureReason), st.one_of(st.just(""), names())
    )


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
        id=prestation_id if prestation_id is not None else draw(identifiers()),
        name=draw(names()),
        service_id=service_id if service_id is not None else draw(identifiers()),
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
    sid = service_id if service_id is not None else draw(identifiers())
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
