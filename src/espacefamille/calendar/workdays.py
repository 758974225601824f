"""Counting days with the counting made explicit: calendar days, jours ouvrés, jours ouvrables or
the service's own opening days.

*Jours ouvrés* are Monday to Friday and *jours ouvrables* Monday to Saturday, public holidays
excluded in both unless a commune's règlement says to count them. "J-3 ouvrés" before a Tuesday is
the previous Thursday.
"""

from __future__ import annotations

import datetime as dt
import enum

from espacefamille.calendar.commune import CommuneCalendar
from espacefamille.calendar.opening import OpeningCalendar
from espacefamille.errors import InvalidInput

__all__ = ["DayCounting", "counts", "shift"]

# Nothing a commune writes needs to look further than this for the next counted day.
_SEARCH_LIMIT_DAYS = 800


class DayCounting(enum.Enum):
    """Which days count when a rule says "N days"."""

    CALENDAR_DAYS = "calendar_days"
    JOURS_OUVRES = "jours_ouvres"
    JOURS_OUVRABLES = "jours_ouvrables"
    OPENING_DAYS = "opening_days"

    @property
    def skips_public_holidays_by_default(self) -> bool:
        return self in (DayCounting.JOURS_OUVRES, DayCounting.JOURS_OUVRABLES)


def counts(
    day: dt.date,
    counting: DayCounting,
    calendar: CommuneCalendar,
    *,
    opening: OpeningCalendar | None = None,
    skip_public_holidays: bool | None = None,
) -> bool:
    """Whether ``day`` counts as one day under ``counting``.

    ``skip_public_holidays`` defaults to the usual meaning of the counting (ouvrés and ouvrables skip
    them, calendar days do not). Opening days follow the prestation's opening calendar.
    """
    if counting is DayCounting.OPENING_DAYS:
        if opening is None:
            raise InvalidInput(
                "counting opening days needs the prestation's opening calendar",
                code="calendar.opening_required",
            )
        return opening.is_open(day)
    skip = counting.skips_public_holidays_by_default if skip_public_holidays is None else skip_public_holidays
    if skip and calendar.is_public_holiday(day):
        return False
    if counting is DayCounting.JOURS_OUVRES:
        return day.weekday() < 5
    if counting is DayCounting.JOURS_OUVRABLES:
        return day.weekday() < 6
    return True


def shift(
    day: dt.date,
    n: int,
    counting: DayCounting,
    calendar: CommuneCalendar,
    *,
    opening: OpeningCalendar | None = None,
    skip_public_holidays: bool | None = None,
) -> dt.date:
    """The date ``n`` counted days after ``day`` (before it when ``n`` is negative).

    ``day`` itself is never counted: ``shift(tuesday, -3, JOURS_OUVRES)`` is the previous Thursday.
    """
    if isinstance(n, bool) or not isinstance(n, int):
        raise InvalidInput(f"n must be an int, got {n!r}", code="input.not_an_int")
    step = dt.timedelta(days=1 if n > 0 else -1)
    remaining = abs(n)
    current = day
    searched = 0
    while remaining:
        current += step
        searched += 1
        if searched > _SEARCH_LIMIT_DAYS * max(1, abs(n)):
            raise InvalidInput(
                f"no day counts as {counting.value} near {day}",
                message_fr="Aucun jour ne compte dans ce calendrier.",
                code="calendar.no_counted_day",
            )
        if counts(current, counting, calendar, opening=opening, skip_public_holidays=skip_public_holidays):
            remaining -= 1
    return current
