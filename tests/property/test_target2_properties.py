"""TARGET2 invariants over several years: a collection is never on a closing day, never before its notice."""

from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from espacefamille.billing.direct_debit import debit_date
from espacefamille.calendar.target2 import (
    is_target2_business_day,
    next_target2_business_day,
    target2_closing_days,
)

days = st.dates(min_value=dt.date(2020, 1, 1), max_value=dt.date(2040, 12, 31))


@given(days)
def test_the_next_business_day_is_never_a_closing_day(day: dt.date) -> None:
    found = next_target2_business_day(day)
    assert is_target2_business_day(found)
    assert found.weekday() < 5
    assert found not in target2_closing_days(found.year)


@given(days)
def test_the_next_business_day_is_the_first_one_on_or_after(day: dt.date) -> None:
    found = next_target2_business_day(day)
    assert found >= day
    between = day
    while between < found:
        assert not is_target2_business_day(between)
        between += dt.timedelta(days=1)


@given(days)
def test_a_business_day_is_a_weekday_outside_the_six_closing_days(day: dt.date) -> None:
    closed = day.weekday() >= 5 or day in target2_closing_days(day.year)
    assert is_target2_business_day(day) is not closed


@given(st.integers(min_value=2000, max_value=2099))
def test_each_year_has_six_closing_days_good_friday_three_days_before_easter_monday(year: int) -> None:
    closing = target2_closing_days(year)
    assert len(closing) == 6
    good_friday, easter_monday = sorted(day for day in closing if day.month in (3, 4))
    assert easter_monday - good_friday == dt.timedelta(days=3)
    assert good_friday.weekday() == 4


@given(days, st.integers(0, 45), st.integers(1, 28), st.integers(1, 60))
def test_a_debit_date_is_a_business_day_never_before_the_notice_nor_the_regie_day(
    issued_on: dt.date, after: int, day_of_month: int, notice: int
) -> None:
    scheduled = (issued_on + dt.timedelta(days=after)).replace(day=day_of_month)
    found = debit_date(issued_on, scheduled, pre_notification_days=notice)
    assert is_target2_business_day(found)
    assert found >= issued_on + dt.timedelta(days=notice)
    assert found >= scheduled
    assert found == next_target2_business_day(max(scheduled, issued_on + dt.timedelta(days=notice)))
