"""Instants in the commune's time zone: aware datetimes, correct on daylight-saving days.

A deadline such as "the day before at 10:00" is a wall-clock time in the commune. Converting it to
an instant must respect the zone's rules: on the spring-forward Sunday 02:30 does not exist in
Europe/Paris (it becomes 03:30), on the autumn Sunday 02:30 happens twice (the first is taken).

Instants are compared in UTC (``utc_instant``): Python compares two datetimes of one zone by their wall
clocks and ignores ``fold``, so the second 02:15 of the autumn night (01:15 UTC) would come before the
first 02:30 (00:30 UTC) — and a request made after a deadline would be judged in time.
"""

from __future__ import annotations

import datetime as dt
import functools
import zoneinfo
from typing import Any, cast

import attrs

from espacefamille.errors import InvalidInput

__all__ = [
    "DEFAULT_TIMEZONE",
    "aware_instant",
    "local_instant",
    "optional_aware_instant",
    "require_aware",
    "time_zone",
    "utc_instant",
]

DEFAULT_TIMEZONE = "Europe/Paris"


def time_zone(name: str) -> zoneinfo.ZoneInfo:
    """The IANA zone named ``name`` (``Europe/Paris``, ``Indian/Reunion``…), from tzdata.

    An empty name is refused like an unknown one (it is never read as the default zone).
    """
    if not isinstance(name, str) or not name or len(name) > _LONGEST_ZONE_NAME:
        raise _unknown(name)
    return _zone(name)


@functools.cache
def _zone(name: str) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        raise _unknown(name) from None


# The longest IANA name is under 40 characters; a longer one is not looked up on disk.
_LONGEST_ZONE_NAME = 100


def _unknown(name: object) -> InvalidInput:
    return InvalidInput(
        f"unknown time zone {name!r}",
        message_fr=f"Fuseau horaire inconnu : « {name} ».",
        code="calendar.unknown_timezone",
    )


def require_aware(moment: dt.datetime, what: str = "now") -> dt.datetime:
    """Return ``moment`` if it is timezone-aware, else raise: naive datetimes are ambiguous."""
    if not isinstance(moment, dt.datetime):
        raise InvalidInput(
            f"{what} must be a datetime, got {type(moment).__name__}", code="input.not_a_datetime"
        )
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise InvalidInput(
            f"{what} is a naive datetime ({moment.isoformat()}); give it a time zone",
            message_fr="Date et heure sans fuseau horaire.",
            code="input.naive_datetime",
        )
    return moment


def utc_instant(moment: dt.datetime, what: str = "now") -> dt.datetime:
    """``moment`` (aware) as the same instant in UTC: compare instants this way, never by wall clock.

    Two datetimes of one zone compare by their wall clocks, ``fold`` ignored: on the autumn night
    02:15 *second* occurrence (fold=1, 01:15 UTC) compares before 02:30 *first* (00:30 UTC). A wall
    time the spring change skips (02:30 on the last Sunday of March in Paris) is read as Python reads
    it, with the offset before the change for ``fold=0`` (so 03:30 summer time, as ``local_instant``
    places it) and the one after for ``fold=1`` (01:30 winter time).
    """
    return require_aware(moment, what).astimezone(dt.UTC)


def aware_instant(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    """An attrs validator: the field is a timezone-aware datetime (``require_aware`` names the field)."""
    require_aware(cast(dt.datetime, value), f"{type(instance).__name__}.{attribute.name}")


def optional_aware_instant(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    """An attrs validator: the field is None or a timezone-aware datetime."""
    if value is not None:
        aware_instant(instance, attribute, value)


def local_instant(day: dt.date, at: dt.time, zone: zoneinfo.ZoneInfo) -> dt.datetime:
    """The instant the commune's clocks show ``at`` on ``day``.

    A wall time skipped by the spring change is moved forward by the gap (02:30 → 03:30); a wall
    time repeated in autumn is its first occurrence (summer time).
    """
    naive = dt.datetime.combine(day, at.replace(tzinfo=None))
    candidate = naive.replace(tzinfo=zone, fold=0)
    # Normalise through UTC: a non-existent wall time comes back shifted by the gap.
    return candidate.astimezone(dt.UTC).astimezone(zone)
