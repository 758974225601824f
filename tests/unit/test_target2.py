"""TARGET2 closing days, as a régie's bank reads them: the days no SEPA collection is settled."""

from __future__ import annotations

import datetime as dt

import pytest

from espacefamille.calendar.target2 import (
    is_target2_business_day,
    next_target2_business_day,
    target2_closing_days,
)
from espacefamille.errors import InvalidInput

D = dt.date


def test_the_2026_closing_days_are_new_year_easter_labour_day_and_christmas() -> None:
    assert dict(target2_closing_days(2026)) == {
        D(2026, 1, 1): "Jour de l'an",
        D(2026, 4, 3): "Vendredi saint",
        D(2026, 4, 6): "Lundi de Pâques",
        D(2026, 5, 1): "Fête du Travail",
        D(2026, 12, 25): "Noël",
        D(2026, 12, 26): "Lendemain de Noël",
    }


def test_french_public_holidays_that_are_not_target2_closing_days_are_business_days() -> None:
    # 8 May, Ascension, 14 July, 15 August, 1 and 11 November 2026: banks settle collections.
    for day in (D(2026, 5, 8), D(2026, 5, 14), D(2026, 7, 14), D(2026, 11, 11)):
        assert is_target2_business_day(day)


def test_weekends_are_closed() -> None:
    assert not is_target2_business_day(D(2026, 11, 14))  # Saturday
    assert not is_target2_business_day(D(2026, 11, 15))  # Sunday
    assert is_target2_business_day(D(2026, 11, 16))


def test_the_next_business_day_of_a_business_day_is_itself() -> None:
    assert next_target2_business_day(D(2026, 11, 10)) == D(2026, 11, 10)


def test_christmas_2026_on_a_friday_moves_to_the_monday_after() -> None:
    assert next_target2_business_day(D(2026, 12, 25)) == D(2026, 12, 28)


def test_easter_2027_good_friday_moves_past_easter_monday() -> None:
    # Good Friday 26 March 2027, Easter Monday 29 March: the next business day is Tuesday 30 March.
    assert next_target2_business_day(D(2027, 3, 26)) == D(2027, 3, 30)


def test_new_year_after_a_weekend() -> None:
    # 1 January 2028 is a Saturday; Monday 3 January is open.
    assert next_target2_business_day(D(2027, 12, 31)) == D(2027, 12, 31)
    assert next_target2_business_day(D(2028, 1, 1)) == D(2028, 1, 3)


@pytest.mark.parametrize("bad", [dt.datetime(2026, 1, 1, 12, 0), "2026-01-01", None])
def test_a_day_must_be_a_date(bad: object) -> None:
    with pytest.raises(InvalidInput) as error:
        is_target2_business_day(bad)  # type: ignore[arg-type]
    assert error.value.code == "input.not_a_date"
    with pytest.raises(InvalidInput):
        next_target2_business_day(bad)  # type: ignore[arg-type]


def test_a_year_out_of_range_is_refused_in_french() -> None:
    with pytest.raises(InvalidInput) as error:
        target2_closing_days(1500)
    assert error.value.code == "calendar.year_out_of_range"
    assert error.value.message_fr == "Année hors des limites : 1500."
