"""TARGET2 business days: the days a SEPA direct debit can be collected.

The Eurosystem's payment system is closed on Saturdays, Sundays, 1 January, Good Friday, Easter Monday,
1 May, 25 and 26 December — whatever a country's own public holidays (8 May, 14 July or Ascension are
business days for a collection). Easter is the Western one, from python-dateutil.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Mapping
from types import MappingProxyType

from dateutil.easter import easter

from espacefamille.errors import InvalidInput

__all__ = ["is_target2_business_day", "next_target2_business_day", "target2_closing_days"]

_FIRST_YEAR = 1990
_LAST_YEAR = 2100
# Six closing days and a weekend never make more than a few days in a row: this only stops a runaway loop.
_SEARCH_LIMIT_DAYS = 14


@functools.cache
def target2_closing_days(year: int) -> Mapping[dt.date, str]:
    """The six TARGET2 closing days of ``year`` besides weekends, read-only: date → French name."""
    if isinstance(year, bool) or not isinstance(year, int) or not _FIRST_YEAR <= year <= _LAST_YEAR:
        raise InvalidInput(
            f"year {year} is outside {_FIRST_YEAR}-{_LAST_YEAR}",
            message_fr=f"Année hors des limites : {year}.",
            code="calendar.year_out_of_range",
        )
    sunday = easter(year)
    days = {
        dt.date(year, 1, 1): "Jour de l'an",
        sunday - dt.timedelta(days=2): "Vendredi saint",
        sunday + dt.timedelta(days=1): "Lundi de Pâques",
        dt.date(year, 5, 1): "Fête du Travail",
        dt.date(year, 12, 25): "Noël",
        dt.date(year, 12, 26): "Lendemain de Noël",
    }
    return MappingProxyType(dict(sorted(days.items())))


def _check_day(day: object) -> dt.date:
    if not isinstance(day, dt.date) or isinstance(day, dt.datetime):
        raise InvalidInput(
            f"expected a date, got {day!r}",
            message_fr="Une date (jour, mois, année) est attendue.",
            code="input.not_a_date",
        )
    return day


def is_target2_business_day(day: dt.date) -> bool:
    """Whether a SEPA collection can be settled on ``day``: a weekday that is not a TARGET2 closing day."""
    _check_day(day)
    return day.weekday() < 5 and day not in target2_closing_days(day.year)


def next_target2_business_day(day: dt.date) -> dt.date:
    """The first TARGET2 business day on or after ``day`` (``day`` itself when it is one)."""
    current = _check_day(day)
    for _ in range(_SEARCH_LIMIT_DAYS):
        if is_target2_business_day(current):
            return current
        current += dt.timedelta(days=1)
    raise AssertionError(f"no TARGET2 business day near {day}")  # pragma: no cover
