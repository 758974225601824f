"""Properties of deadlines and their judgement, over every pattern and school years 2024-2025 to
2027-2028 (zone B, with daylight-saving days and public holidays among the generated dates)."""

from __future__ import annotations

import datetime as dt
import tomllib
from decimal import Decimal
from typing import Any, cast

import attrs
import tomli_w
from hypothesis import given, reject
from hypothesis import strategies as st

from espacefamille.calendar.commune import CommuneCalendar
from espacefamille.calendar.opening import Opening, OpeningCalendar
from espacefamille.calendar.periods import DateRange, Weekday
from espacefamille.calendar.public_holidays import HolidaySubdivision
from espacefamille.calendar.school import SchoolZone, school_calendar
from espacefamille.calendar.workdays import DayCounting
from espacefamille.errors import MissingData
from espacefamille.model import PaymentMode, Prestation, PrestationKind
from espacefamille.money import Money
from espacefamille.rules.deadlines import (
    DayOfPreviousMonth,
    DaysBefore,
    Deadline,
    DeadlineContext,
    DueOn,
    Horizon,
    HoursBefore,
    OnClosedDay,
    PreviousWeekday,
    RegistrationWindow,
    WeekdayOfPreviousWeek,
    WeekdayTable,
)
from espacefamille.rules.policies import (
    AfterDeadlinePolicy,
    BookingRules,
    DeadlineDecision,
    DeadlineOutcome,
    ExceptionalTariff,
    Refuse,
    Surcharge,
    WaitingList,
    booking_rules_from_dict,
    booking_rules_to_dict,
    judge_booking,
    judge_cancellation,
)

UTC = dt.UTC
FIRST_TARGET, LAST_TARGET = dt.date(2024, 9, 1), dt.date(2028, 6, 30)
_CALENDARS = {
    subdivision: CommuneCalendar("Europe/Paris", subdivision, school_calendar(SchoolZone.B))
    for subdivision in (HolidaySubdivision.METROPOLE, HolidaySubdivision.ALSACE_MOSELLE)
}

# Daylight-saving Sundays, public holidays and the days around them are drawn often.
_SPECIAL_DAYS = [
    dt.date(2026, 3, 29),
    dt.date(2026, 3, 30),
    dt.date(2026, 3, 31),
    dt.date(2026, 10, 25),
    dt.date(2026, 10, 26),
    dt.date(2026, 10, 27),
    dt.date(2026, 11, 11),
    dt.date(2026, 11, 12),
    dt.date(2026, 5, 14),
    dt.date(2026, 5, 15),
    dt.date(2026, 11, 2),
    dt.date(2027, 1, 4),
    dt.date(2028, 3, 1),
]
target_days = st.one_of(st.dates(FIRST_TARGET, LAST_TARGET), st.sampled_from(_SPECIAL_DAYS))
wall_times = st.one_of(
    st.builds(dt.time, st.integers(0, 23), st.integers(0, 59)),
    st.sampled_from([dt.time(2, 30), dt.time(0, 0), dt.time(23, 59), dt.time(8, 30)]),
)
on_closed_days = st.sampled_from(OnClosedDay)
weekdays = st.sampled_from(Weekday)


def due_ons() -> st.SearchStrategy[DueOn]:
    return st.builds(DueOn, weekdays, wall_times)


deadlines: st.SearchStrategy[Deadline] = st.one_of(
    st.builds(
        DaysBefore,
        st.one_of(st.just(0), st.integers(0, 12)),
        wall_times,
        st.sampled_from(DayCounting),
        st.one_of(st.none(), st.booleans()),
        on_closed_days,
    ),
    st.builds(HoursBefore, st.integers(0, 24 * 21), on_closed_days),
    st.builds(WeekdayOfPreviousWeek, weekdays, wall_times, on_closed_days),
    st.builds(PreviousWeekday, weekdays, wall_times, on_closed_days),
    st.builds(WeekdayTable, st.dictionaries(weekdays, due_ons(), min_size=7, max_size=7), on_closed_days),
    st.builds(DayOfPreviousMonth, st.integers(1, 31), wall_times, on_closed_days),
)


@st.composite
def contexts(draw: st.DrawFn) -> DeadlineContext:
    """A prestation open at least one weekday in school periods, with a start time (HoursBefore needs it)."""
    calendar = _CALENDARS[draw(st.sampled_from(list(_CALENDARS)))]
    school = draw(st.frozensets(weekdays, min_size=1))
    holidays = draw(st.frozensets(weekdays))
    opening = Opening(school, holidays, open_on_public_holidays=draw(st.booleans()))
    start = draw(st.builds(dt.time, st.integers(0, 21), st.sampled_from([0, 15, 30, 45])))
    prestation = Prestation("p", "Prestation", "s", PrestationKind.DAY, PaymentMode.MONTH_END, opening, start)
    return DeadlineContext(calendar, prestation, OpeningCalendar(opening, calendar), draw(st.booleans()))


policies: st.SearchStrategy[AfterDeadlinePolicy] = st.one_of(
    st.just(Refuse()),
    st.builds(lambda p: Surcharge(percent=Decimal(p)), st.integers(1, 100)),
    st.builds(lambda c: Surcharge(amount=Money.from_cents(c)), st.integers(1, 2_000)),
    st.builds(lambda c: ExceptionalTariff(Money.from_cents(c)), st.integers(0, 2_000)),
    st.just(WaitingList()),
)
cancellation_policies = policies.filter(lambda p: not isinstance(p, WaitingList))


def instant_or_reject(deadline: Deadline, day: dt.date, context: DeadlineContext) -> dt.datetime:
    try:
        return deadline.instant(day, context)
    except MissingData:
        # Counting back from the first weeks of 2024-2025 may reach a summer with no school data.
        reject()


@given(deadlines, target_days, contexts())
def test_a_deadline_is_never_after_the_start_it_guards(
    deadline: Deadline, day: dt.date, context: DeadlineContext
) -> None:
    due = instant_or_reject(deadline, day, context)
    assert due <= context.start_of(day)
    assert due.utcoffset() is not None


@given(deadlines, target_days, contexts())
def test_a_deadline_naming_an_earlier_day_falls_on_an_earlier_day(
    deadline: Deadline, day: dt.date, context: DeadlineContext
) -> None:
    due = instant_or_reject(deadline, day, context)
    if isinstance(deadline, HoursBefore):
        return
    if isinstance(deadline, DaysBefore) and deadline.days == 0:
        assert context.calendar.local(due).date() <= day
    else:
        assert context.calendar.local(due).date() < day


def with_closed_day(deadline: Deadline, on_closed_day: OnClosedDay) -> Deadline:
    moved: Deadline = attrs.evolve(cast(Any, deadline), on_closed_day=on_closed_day)  # every pattern is attrs
    return moved


@given(deadlines, target_days, contexts())
def test_a_deadline_moved_off_closed_days_lands_on_an_open_day_no_later(
    deadline: Deadline, day: dt.date, context: DeadlineContext
) -> None:
    kept = instant_or_reject(with_closed_day(deadline, OnClosedDay.KEEP), day, context)
    moved = instant_or_reject(with_closed_day(deadline, OnClosedDay.PREVIOUS_OPEN_DAY), day, context)
    assert moved <= kept
    if moved < context.start_of(day):  # not clamped to the start
        assert context.opening.is_open(context.calendar.local(moved).date())


def expect_late(
    decision: DeadlineDecision, policy: AfterDeadlinePolicy, now: dt.datetime, context: DeadlineContext
) -> None:
    assert decision.policy == policy
    if isinstance(policy, Refuse):
        assert decision.outcome is DeadlineOutcome.REFUSED
        assert decision.code == f"deadline.{decision.request.value}_expired"
    elif now >= context.start_of(decision.day):
        assert (decision.outcome, decision.code) == (DeadlineOutcome.REFUSED, "deadline.started")
    else:
        expected = {
            Surcharge: DeadlineOutcome.ACCEPTED_WITH_SURCHARGE,
            ExceptionalTariff: DeadlineOutcome.EXCEPTIONAL_TARIFF,
            WaitingList: DeadlineOutcome.WAITING_LIST,
        }[type(policy)]
        assert decision.outcome is expected


@given(
    deadlines,
    target_days,
    contexts(),
    st.tuples(policies, cancellation_policies),
    st.integers(-3 * 86_400, 3 * 86_400),
)
def test_judging_at_or_before_the_deadline_accepts_and_after_applies_the_policy(
    deadline: Deadline,
    day: dt.date,
    context: DeadlineContext,
    late: tuple[AfterDeadlinePolicy, AfterDeadlinePolicy],
    offset_seconds: int,
) -> None:
    late_booking, late_cancellation = late
    rules = BookingRules(deadline, deadline, late_booking, late_cancellation)
    due = instant_or_reject(deadline, day, context).astimezone(UTC)
    now = due + dt.timedelta(seconds=offset_seconds)
    for judge, policy in ((judge_booking, late_booking), (judge_cancellation, late_cancellation)):
        decision = judge(rules, day, now, context)
        assert decision.deadline.astimezone(UTC) == due
        if offset_seconds <= 0:
            assert (decision.outcome, decision.code) == (DeadlineOutcome.ACCEPTED, "deadline.in_time")
            assert decision.policy is None
        else:
            expect_late(decision, policy, now, context)
        assert decision.message_fr
        assert decision.message


@given(contexts(), st.dates(dt.date(2024, 9, 1), dt.date(2028, 4, 30)), st.integers(1, 70), st.integers(0, 8))
def test_a_date_is_bookable_exactly_when_it_is_within_the_horizon(
    context: DeadlineContext, today: dt.date, days_ahead: int, weeks: int
) -> None:
    now = context.calendar.instant(today, dt.time(0, 0)) + dt.timedelta(seconds=1)
    day = today + dt.timedelta(days=days_ahead)
    rules = BookingRules(HoursBefore(0), HoursBefore(0), horizon=Horizon(weeks))
    decision = judge_booking(rules, day, now, context)
    if day > today + dt.timedelta(weeks=weeks):
        assert decision.code == "deadline.beyond_horizon"
        assert decision.opens is not None
        assert context.calendar.local(decision.opens).date() == day - dt.timedelta(weeks=weeks)
    else:
        assert decision.code == "deadline.in_time"


@st.composite
def windows(draw: st.DrawFn) -> RegistrationWindow:
    opens = draw(st.datetimes(dt.datetime(2026, 1, 1), dt.datetime(2027, 12, 31), timezones=st.just(UTC)))
    closes = opens + dt.timedelta(minutes=draw(st.integers(1, 60 * 24 * 40)))
    earlier = draw(st.one_of(st.none(), st.integers(0, 60 * 24 * 14)))
    resident = None if earlier is None else opens - dt.timedelta(minutes=earlier)
    return RegistrationWindow(opens, closes, resident)


@given(contexts(), windows(), st.integers(-60 * 24 * 20, 60 * 24 * 60))
def test_a_family_registers_only_between_its_opening_and_the_close(
    context: DeadlineContext, window: RegistrationWindow, minutes_after_opening: int
) -> None:
    day = context.calendar.local(window.closes).date() + dt.timedelta(days=30)
    rules = BookingRules(HoursBefore(0), HoursBefore(0), windows=[window])
    now = window.opens + dt.timedelta(minutes=minutes_after_opening)
    decision = judge_booking(rules, day, now, context)
    if now < window.opens_for(context.resident):
        assert decision.code == "deadline.window_not_open"
    elif now > window.closes:
        assert decision.code == "deadline.window_closed"
    else:
        assert decision.code == "deadline.in_time"


@st.composite
def booking_rules(draw: st.DrawFn) -> BookingRules:
    offsets = st.sampled_from([dt.timezone(dt.timedelta(hours=h)) for h in (1, 2, -4, 4)])
    found: list[RegistrationWindow] = []
    first = draw(st.dates(dt.date(2025, 1, 1), dt.date(2027, 1, 1)))
    for index in range(draw(st.integers(0, 2))):
        window = draw(windows())
        start = first + dt.timedelta(days=40 * index)
        zone = draw(offsets)
        found.append(
            RegistrationWindow(
                window.opens.astimezone(zone),
                window.closes.astimezone(zone),
                None if window.resident_opens is None else window.resident_opens.astimezone(zone),
                DateRange(start, start + dt.timedelta(days=draw(st.integers(0, 30)))),
            )
        )
    return BookingRules(
        draw(deadlines),
        draw(deadlines),
        draw(policies),
        draw(cancellation_policies),
        draw(st.one_of(st.none(), st.builds(Horizon, st.integers(0, 52)))),
        found,
    )


@given(booking_rules())
def test_rules_written_to_toml_read_back_equal(rules: BookingRules) -> None:
    data: dict[str, Any] = {"booking": booking_rules_to_dict(rules)}
    text = tomli_w.dumps(data)
    assert booking_rules_from_dict(tomllib.loads(text)["booking"], "booking") == rules
