"""How values are written to SQLite and read back equal: instants, days, runs of days, and the
``_ENCODING`` the codecs of ``adapters._sql`` take."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable
from typing import Final

from espacefamille.adapters import _sql
from espacefamille.adapters._sql import _check_day, _Encoding, _same, _zone, _zone_named
from espacefamille.adapters.sqlite.schema import _marks

# The bookings repository reads these from here.
_BOOKING_STATUS: Final = _sql._BOOKING_STATUS
_new_booking: Final = _sql._new_booking


def _instant(moment: dt.datetime) -> str:
    """Fixed-width UTC text (it sorts as time does) and the zone the instant was given in."""
    utc = moment.astimezone(dt.UTC).replace(tzinfo=None).isoformat(timespec="microseconds")
    return f"{utc}Z[{_zone(moment)}]"


@functools.lru_cache(maxsize=8192)
def _read_instant(text: str) -> dt.datetime:
    # A month of bookings shares few booking instants: caching the parse saves most of the reading time.
    utc_text, _, zone = text.partition("Z[")
    utc = dt.datetime.fromisoformat(utc_text).replace(tzinfo=dt.UTC)
    return utc.astimezone(_zone_named(zone.removesuffix("]")))


def _optional_instant(moment: dt.datetime | None) -> str | None:
    return None if moment is None else _instant(moment)


def _read_optional_instant(text: str | None) -> dt.datetime | None:
    return None if text is None else _read_instant(text)


def _day(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


def _optional_day(text: str | None) -> dt.date | None:
    return None if text is None else dt.date.fromisoformat(text)


def _iso_day(day: object, what: str) -> str:
    return _check_day(day, what).isoformat()


def _iso(day: dt.date | None) -> str | None:
    return None if day is None else day.isoformat()


@functools.cache
def _runs_query(families: int, one_month: bool) -> str:
    """The booking-days of ``families`` households (their ids) in a period (its first and last day, then,
    if ``one_month``, its month as ``YYYY-MM``), grouped into runs of child × prestation × status × surcharge.

    Each family is an equality, not a range of ids: SQLite seeks to the period inside each family's
    bookings, whatever other months the file holds. Within one month the index bookings_by_month gives
    the days in run order (no sort); a longer period is read from the primary key (family, day) and sorted.
    """
    month = " AND substr(day, 1, 7) = ?" if one_month else ""
    return (
        "SELECT family_id, child_id, prestation_id, status, surcharge_code, group_concat(day) FROM bookings "
        f"WHERE family_id IN ({_marks(families)}) AND day BETWEEN ? AND ?{month} "
        "GROUP BY family_id, child_id, prestation_id, status, surcharge_code "
        "ORDER BY family_id, child_id, prestation_id, status, surcharge_code"
    )


def _compact_days(days: Iterable[dt.date]) -> str:
    """A line's days as stored: the first in full, then each by what differs from the one before — the day
    in the same month, month and day in the same year, else in full: ``2026-11-30,12-01,02,03``."""
    parts: list[str] = []
    previous: dt.date | None = None
    for day in days:
        if previous is None or day.year != previous.year:
            parts.append(day.isoformat())
        elif day.month != previous.month:
            parts.append(f"{day.month:02d}-{day.day:02d}")
        else:
            parts.append(f"{day.day:02d}")
        previous = day
    return ",".join(parts)


def _line_days(text: str) -> tuple[dt.date, ...]:
    """The days ``_compact_days`` wrote, or a list of full dates (lines written before schema version 7)."""
    days: list[dt.date] = []
    for part in text.split(","):
        if len(part) == 10:
            day = dt.date.fromisoformat(part)
        elif days and len(part) == 5 and part[2] == "-":
            day = dt.date(days[-1].year, int(part[:2]), int(part[3:]))
        elif days and len(part) == 2:
            day = days[-1].replace(day=int(part))
        elif part:
            raise ValueError(f"not a line's days: {text!r}")
        else:
            continue
        days.append(day)
    return tuple(days)


class _LineDaysText(dict[tuple[dt.date, ...], str]):
    """``_compact_days`` of the days of a city's invoice lines: most children of a month share their days, so
    each list is written once (at most ``_LINE_DAYS_KEPT`` lists kept)."""

    def __missing__(self, days: tuple[dt.date, ...]) -> str:
        if len(self) >= _LINE_DAYS_KEPT:
            self.clear()
        text = self[days] = _compact_days(days)
        return text


_LINE_DAYS_KEPT: Final = 50_000
_LINE_DAYS_TEXT: Final = _LineDaysText()


# The columns each repository reads, in the order its codec expects (those alike on both stores: _sql).
_BOOKING_COLUMNS: Final = (
    "child_id, prestation_id, day, family_id, status, booked_at, paid_cents, surcharge_code"
)

_FACT_COLUMNS: Final = "child_id, prestation_id, day, status, recorded_by, recorded_at, note, reason"

_ABSENCE_COLUMNS: Final = "child_id, start_day, end_day, reason, declared_at, proof_received_at"

_ATTEMPT_COLUMNS: Final = (
    "payment_id, family_id, regie_id, invoice_numbers, status, redirect_url, amount_cents, reference, "
    "email, created_at, expires_at"
)


def _names(text: str) -> list[str]:
    return [name for name in text.split(",") if name]


def _lines(text: str) -> tuple[str, ...]:
    return tuple(text.split("\n"))


# Days as ISO text, text as it is, flags as 0 and 1, a child's diets joined by commas, an address's lines
# by line breaks.
_ENCODING: Final = _Encoding(
    day=dt.date.isoformat,
    read_day=dt.date.fromisoformat,
    text=_same,
    read_text=_same,
    flag=int,
    read_flag=bool,
    names=",".join,
    read_names=_names,
    lines="\n".join,
    read_lines=_lines,
)
