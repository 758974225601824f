"""Mensualisation: instalments add up exactly to the yearly amount, whatever the amount and the count."""

from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from espacefamille.billing.tariffs import MAX_INSTALMENTS, Forfait, ForfaitPer, instalment_amounts
from espacefamille.calendar.periods import DateRange
from espacefamille.money import Money

amounts = st.integers(min_value=-10_000_000, max_value=10_000_000).map(Money.from_cents)
counts = st.integers(min_value=1, max_value=MAX_INSTALMENTS)
SCHOOL_YEAR = DateRange(dt.date(2026, 9, 1), dt.date(2027, 8, 31))


@given(amounts, counts)
def test_instalments_sum_exactly_to_the_amount_and_only_the_last_differs(total: Money, count: int) -> None:
    parts = instalment_amounts(total, count)
    assert len(parts) == count
    assert Money.total(parts) == total
    assert len(set(parts[:-1])) <= 1  # equal instalments…
    difference = abs(parts[-1].cents) - abs(parts[0].cents)
    assert 0 <= difference < count  # …and the rounding difference on the last one, less than a cent each


@given(counts, st.dates(SCHOOL_YEAR.start, SCHOOL_YEAR.end), st.integers(min_value=0, max_value=400))
def test_an_enrolment_owes_one_instalment_per_month_it_touches_among_the_first_n(
    count: int, start: dt.date, length: int
) -> None:
    end = min(start + dt.timedelta(days=length), SCHOOL_YEAR.end)
    forfait = Forfait(ForfaitPer.SCHOOL_YEAR, count)
    due = forfait.due_days(SCHOOL_YEAR, "2026-2027", DateRange(start, end), SCHOOL_YEAR)
    months = {(day.day.year, day.day.month) for day in due}
    assert len(months) == len(due)  # one a month
    assert [day.index for day in due] == sorted(day.index for day in due if day.index is not None)
    for day in due:
        assert start <= day.day <= end
        assert day.count == count
        assert day.index is not None
        assert 1 <= day.index <= count
    whole_year = forfait.due_days(SCHOOL_YEAR, "2026-2027", SCHOOL_YEAR, SCHOOL_YEAR)
    assert [day.index for day in whole_year] == list(range(1, count + 1))
    # Billed month by month, the same instalments as the whole year at once.
    by_month = [
        day
        for number in range(12)
        for day in forfait.due_days(
            SCHOOL_YEAR,
            "2026-2027",
            DateRange(start, end),
            DateRange.month(2026 + (8 + number) // 12, (8 + number) % 12 + 1),
        )
    ]
    assert by_month == due
