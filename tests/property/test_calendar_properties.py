"""Invariants of the calendar arithmetic that every commune's deadlines rely on."""

from __future__ import annotations

import datetime as dt

from hypothesis import given, reject
from hypothesis import strategies as st

from espacefamille.calendar import (
    Closure,
    ClosureReason,
    CommuneCalendar,
    DateRange,
    DayCounting,
    HolidaySubdivision,
    Opening,
    OpeningCalendar,
    SchoolZone,
    Weekday,
    counts,
    local_instant,
    school_calendar,
    shift,
    time_zone,
    weekly_dates,
)
from espacefamille.calendar.school import SUMMER
from espacefamille.errors import MissingData

D = dt.date
PARIS = time_zone("Europe/Paris")
REUNION = time_zone("Indian/Reunion")
HOUR = dt.timedelta(hours=1)

CALENDAR = CommuneCalendar("Europe/Paris", HolidaySubdivision.METROPOLE, school_calendar(SchoolZone.B))

# An accueil open Monday, Tuesday, Thursday and Friday in school periods and every weekday of the
# holidays, closed one strike day: a calendar with gaps of every kind.
ACCUEIL = OpeningCalendar(
    Opening(
        school_weekdays={Weekday.MONDAY, Weekday.TUESDAY, Weekday.THURSDAY, Weekday.FRIDAY},
        holiday_weekdays={
            Weekday.MONDAY,
            Weekday.TUESDAY,
            Weekday.WEDNESDAY,
            Weekday.THURSDAY,
            Weekday.FRIDAY,
        },
        closures=[Closure(DateRange(D(2026, 11, 26), D(2026, 11, 26)), ClosureReason.STRIKE)],
    ),
    CALENDAR,
)

days = st.dates(min_value=D(2024, 9, 1), max_value=D(2028, 6, 30))
countings = st.sampled_from(DayCounting)


def _counts(day: dt.date, counting: DayCounting) -> bool:
    return counts(day, counting, CALENDAR, opening=ACCUEIL)


def _shift(day: dt.date, n: int, counting: DayCounting) -> dt.date:
    try:
        return shift(day, n, counting, CALENDAR, opening=ACCUEIL)
    except MissingData:
        # Opening days past the shipped school years are refused rather than guessed.
        reject()


@given(day=days, n=st.integers(0, 40), counting=countings)
def test_shifting_n_counted_days_forward_then_back_returns_to_the_counted_day(
    day: dt.date, n: int, counting: DayCounting
) -> None:
    if not _counts(day, counting):
        reject()
    assert _shift(_shift(day, n, counting), -n, counting) == day


@given(day=days, n=st.integers(-40, 40).filter(lambda n: n != 0), counting=countings)
def test_shift_never_lands_on_a_day_that_does_not_count(day: dt.date, n: int, counting: DayCounting) -> None:
    landed = _shift(day, n, counting)
    assert _counts(landed, counting)
    assert (landed > day) if n > 0 else (landed < day)
    # Exactly |n| counted days lie between the start (excluded) and the landing day (included).
    low, high = (day + dt.timedelta(days=1), landed) if n > 0 else (landed, day - dt.timedelta(days=1))
    assert sum(_counts(d, counting) for d in DateRange(low, high)) == abs(n)


@given(
    start=st.dates(min_value=D(2024, 1, 1), max_value=D(2028, 12, 31)),
    length=st.integers(0, 120),
    weekdays=st.lists(st.sampled_from(Weekday), min_size=1, max_size=9),
    every=st.integers(1, 4),
)
def test_weekly_dates_are_the_chosen_weekdays_of_the_taken_weeks_sorted_without_duplicates(
    start: dt.date, length: int, weekdays: list[Weekday], every: int
) -> None:
    period = DateRange(start, start + dt.timedelta(days=length))
    dates = weekly_dates(period, weekdays, every)
    assert all(d in period and Weekday.of(d) in weekdays for d in dates)
    assert dates == sorted(set(dates))
    first_monday = start - dt.timedelta(days=start.weekday())
    expected = [
        d for d in period if Weekday.of(d) in weekdays and ((d - first_monday).days // 7) % every == 0
    ]
    assert dates == expected


def _last_sunday(year: int, month: int) -> dt.date:
    last = DateRange.month(year, month).end
    return last - dt.timedelta(days=(last.weekday() + 1) % 7)


# The two daylight-saving Sundays of each year and the hour around 02:00 are drawn often on purpose.
dst_sundays = st.sampled_from([_last_sunday(year, month) for year in range(2024, 2031) for month in (3, 10)])
night_hours = st.times(min_value=dt.time(1, 30), max_value=dt.time(3, 30))


@given(
    day=st.one_of(st.dates(min_value=D(2024, 1, 1), max_value=D(2030, 12, 31)), dst_sundays),
    at=st.one_of(st.times(), night_hours),
)
def test_local_instant_keeps_the_wall_time_except_inside_the_spring_gap(day: dt.date, at: dt.time) -> None:
    moment = local_instant(day, at, PARIS)
    assert moment.tzinfo is not None
    assert moment.utcoffset() is not None
    wall = dt.datetime.combine(day, at.replace(tzinfo=None, fold=0))
    # The EU rule: clocks go forward at 02:00 on the last Sunday of March, back at 03:00 on the
    # last Sunday of October.
    in_gap = day == _last_sunday(day.year, 3) and dt.time(2) <= at < dt.time(3)
    repeated = day == _last_sunday(day.year, 10) and dt.time(2) <= at < dt.time(3)
    if in_gap:
        assert moment.replace(tzinfo=None) == wall + HOUR
        assert moment.utcoffset() == 2 * HOUR
    else:
        assert moment.replace(tzinfo=None, fold=0) == wall
    if repeated:
        assert moment.utcoffset() == 2 * HOUR


@given(day=st.dates(min_value=D(2024, 1, 1), max_value=D(2030, 12, 31)), at=st.times())
def test_local_instant_in_reunion_is_always_four_hours_ahead_of_utc(day: dt.date, at: dt.time) -> None:
    moment = local_instant(day, at, REUNION)
    assert moment.utcoffset() == 4 * HOUR
    assert moment.replace(tzinfo=None) == dt.datetime.combine(day, at.replace(tzinfo=None, fold=0))


@given(
    zone=st.sampled_from([SchoolZone.A, SchoolZone.B, SchoolZone.C]),
    day=st.dates(min_value=D(2024, 8, 1), max_value=D(2028, 7, 31)),
)
def test_every_day_of_a_shipped_school_year_is_a_school_day_or_in_exactly_one_holiday(
    zone: SchoolZone, day: dt.date
) -> None:
    calendar = school_calendar(zone)
    year = calendar.year_of(day)
    in_summer = day < year.rentree or day > year.summer_start
    containing = [h for h in year.holidays if day in h]
    answer = calendar.holiday_on(day)
    assert in_summer + len(containing) <= 1
    if in_summer:
        assert answer is not None
        assert answer.name == SUMMER
        assert day in answer
    elif containing:
        assert answer == containing[0]
    else:
        assert answer is None
        assert year.rentree <= day <= year.summer_start
