"""Recurrence for period booking: given weekdays between two dates, every N weeks (on dateutil)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from dateutil import rrule

from espacefamille.calendar.periods import DateRange, Weekday
from espacefamille.errors import InvalidInput

__all__ = ["weekly_dates"]


def weekly_dates(period: DateRange, weekdays: Iterable[Weekday], every: int = 1) -> list[dt.date]:
    """The dates of ``period`` falling on ``weekdays``, every ``every`` weeks.

    Weeks run Monday to Sunday and are counted from the week of ``period.start``: with
    ``every=2`` the first week is taken, the second skipped, and so on.
    """
    chosen = sorted({Weekday(w) for w in weekdays})
    if not chosen:
        raise InvalidInput("at least one weekday is needed", code="calendar.no_weekday")
    if isinstance(every, bool) or not isinstance(every, int) or every < 1:
        raise InvalidInput(f"every must be a positive int, got {every!r}", code="calendar.bad_interval")
    rule = rrule.rrule(
        rrule.WEEKLY,
        interval=every,
        byweekday=[rrule.weekdays[w.value] for w in chosen],
        wkst=rrule.MO,
        # Anchor on the Monday of the first week so that week parity is counted from it.
        dtstart=dt.datetime.combine(period.start - dt.timedelta(days=period.start.weekday()), dt.time()),
        until=dt.datetime.combine(period.end, dt.time()),
    )
    return [moment.date() for moment in rule if moment.date() >= period.start]
