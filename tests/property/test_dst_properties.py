"""Deadlines over the clock-change nights of 2020-2035 in the zones a French commune is configured in:
a request is in time exactly when its instant is at or before the deadline's, however it is written
(the commune's zone with either ``fold``, UTC, another zone)."""

from __future__ import annotations

import datetime as dt
import functools
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from espacefamille.calendar.timezones import utc_instant
from espacefamille.rules.deadlines import DaysBefore
from espacefamille.rules.policies import (
    BookingRules,
    DeadlineOutcome,
    Refuse,
    judge_booking,
    judge_cancellation,
)
from tests.unit.test_dst import OVERSEAS, context

ZONES = ("Europe/Paris", *OVERSEAS)


@functools.cache
def clock_changes(zone: str, year: int) -> tuple[dt.datetime, ...]:
    """The UTC instants (to the hour) at which ``zone``'s offset changes in ``year`` — or, for a zone
    without any, 1 March and 1 October at midnight UTC, so that its nights are tried too."""
    tz = ZoneInfo(zone)
    hour = dt.timedelta(hours=1)
    moment, end = dt.datetime(year, 1, 1, tzinfo=dt.UTC), dt.datetime(year + 1, 1, 1, tzinfo=dt.UTC)
    changes = []
    while moment < end:
        if (moment + hour).astimezone(tz).utcoffset() != moment.astimezone(tz).utcoffset():
            changes.append(moment + hour)
        moment += hour
    return tuple(changes) or (dt.datetime(year, 3, 1, tzinfo=dt.UTC), dt.datetime(year, 10, 1, tzinfo=dt.UTC))


@st.composite
def nights(draw: st.DrawFn) -> tuple[str, dt.datetime]:
    """A zone and an instant within three hours of one of its clock changes."""
    zone = draw(st.sampled_from(("Europe/Paris",) * len(ZONES) + ZONES))  # Paris has the changes
    change = draw(st.sampled_from(clock_changes(zone, draw(st.integers(2020, 2035)))))
    return zone, change + dt.timedelta(minutes=draw(st.integers(-150, 150)))


def wall_time_near(moment: dt.datetime, zone: str, minutes: int) -> dt.time:
    """The wall time ``minutes`` away from ``moment``'s on the clocks of ``zone``."""
    local = moment.astimezone(ZoneInfo(zone)).replace(tzinfo=None)
    return (local + dt.timedelta(minutes=minutes)).time().replace(second=0, microsecond=0)


def written(moment: dt.datetime, zone: str) -> list[dt.datetime]:
    """The same instant written in UTC, in ``zone`` (``astimezone`` sets ``fold``) and in Paris."""
    return [moment, moment.astimezone(ZoneInfo(zone)), moment.astimezone(ZoneInfo("Europe/Paris"))]


@given(nights(), st.integers(-90, 90), st.booleans())
def test_a_request_is_in_time_exactly_when_its_instant_is_not_after_the_deadline(
    night: tuple[str, dt.datetime], minutes: int, cancelling: bool
) -> None:
    zone, now = night
    ctx = context(zone)
    local_day = now.astimezone(ZoneInfo(zone)).date()
    at = wall_time_near(now, zone, minutes)  # a deadline the same night, on the same side or not
    deadline = DaysBefore(1, at)
    rules = BookingRules(deadline, deadline, Refuse(), Refuse())
    target = local_day + dt.timedelta(days=1)
    judge = judge_cancellation if cancelling else judge_booking
    due = utc_instant(deadline.instant(target, ctx))
    for moment in written(now, zone):
        decision = judge(rules, target, moment, ctx)
        assert (decision.outcome is DeadlineOutcome.ACCEPTED) is (now <= due), (zone, moment, due)


@given(nights(), st.integers(0, 4 * 60 - 1))
def test_a_deadline_wall_time_is_its_first_occurrence_or_moved_past_a_gap(
    night: tuple[str, dt.datetime], minute_of_night: int
) -> None:
    zone, moment = night
    tz = ZoneInfo(zone)
    day = moment.astimezone(tz).date()
    at = dt.time(minute_of_night // 60, minute_of_night % 60)
    deadline = DaysBefore(0, at).instant(day, context(zone))
    naive = dt.datetime.combine(day, at)
    first = naive.replace(tzinfo=tz, fold=0)
    if first.astimezone(dt.UTC).astimezone(tz).replace(tzinfo=None) == naive:  # the wall time exists
        assert deadline.replace(tzinfo=None) == naive
        assert utc_instant(deadline) <= utc_instant(naive.replace(tzinfo=tz, fold=1))  # the first of two
    else:  # skipped by the spring change: moved forward by the gap, never earlier than asked
        assert deadline.replace(tzinfo=None) > naive
    assert deadline.utcoffset() == deadline.astimezone(dt.UTC).astimezone(tz).utcoffset()
