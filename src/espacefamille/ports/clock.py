"""The clock port: where services read the time (rules and billing never do: ``now`` is their argument)."""

from __future__ import annotations

import datetime as dt
from typing import Protocol, runtime_checkable

import attrs

from espacefamille.calendar.timezones import require_aware, time_zone

__all__ = ["Clock", "FixedClock", "SystemClock"]


@runtime_checkable
class Clock(Protocol):
    """Where services read the time; rules and billing never do (``now`` is their argument)."""

    def now(self) -> dt.datetime:
        """The current instant, timezone-aware."""
        ...


@attrs.frozen
class SystemClock:
    """The machine's clock, in the commune's time zone."""

    timezone: str = "Europe/Paris"

    def now(self) -> dt.datetime:
        return dt.datetime.now(time_zone(self.timezone))


@attrs.define
class FixedClock:
    """A clock for tests and demos: it shows ``instant`` until told otherwise."""

    instant: dt.datetime = attrs.field(validator=lambda _i, _a, v: require_aware(v, "instant"))

    def now(self) -> dt.datetime:
        return self.instant

    def advance(self, delta: dt.timedelta) -> None:
        self.instant = self.instant + delta
