"""The demo's clock starts at the demo's instant and runs with the machine's."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from espacefamille_portal import DemoClock


def test_the_demo_clock_starts_at_its_instant_and_runs_on() -> None:
    ticks = iter([100.0, 100.0, 160.5])
    start = dt.datetime(2027, 2, 2, 9, 0, tzinfo=ZoneInfo("Europe/Paris"))
    clock = DemoClock(start, monotonic=lambda: next(ticks))
    assert clock.now() == start
    assert clock.now() == start + dt.timedelta(seconds=60.5)


def test_the_demo_clock_needs_an_aware_instant() -> None:
    with pytest.raises(ValueError, match="aware"):
        DemoClock(dt.datetime(2027, 2, 2, 9, 0))
