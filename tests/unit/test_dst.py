"""Deadlines on the nights the clocks change (Europe/Paris, 2026): an ambiguous or skipped wall time
is judged on the side of the deadline its instant is on, whatever zone or ``fold`` it is written with."""

from __future__ import annotations

import datetime as dt
import functools
from pathlib import Path
from zoneinfo import ZoneInfo

import attrs
import pytest

from espacefamille.adapters.memory import MemoryAccountStore, MemoryStore
from espacefamille.adapters.sqlite import SqliteStore
from espacefamille.calendar.commune import CommuneCalendar
from espacefamille.calendar.opening import Opening, OpeningCalendar
from espacefamille.calendar.periods import Weekday
from espacefamille.calendar.public_holidays import HolidaySubdivision
from espacefamille.calendar.school import SchoolZone, school_calendar
from espacefamille.calendar.timezones import local_instant, utc_instant
from espacefamille.errors import InvalidInput
from espacefamille.examples import example_commune
from espacefamille.model import PaymentMode, Prestation, PrestationKind
from espacefamille.ports import CommuneStore
from espacefamille.rules.deadlines import DaysBefore, DeadlineContext, RegistrationWindow
from espacefamille.rules.policies import (
    BookingRules,
    DeadlineOutcome,
    Refuse,
    judge_booking,
    judge_cancellation,
)
from tests.unit.test_services import MARTIN, book, open_world

PARIS = ZoneInfo("Europe/Paris")
EVERY_DAY = tuple(Weekday)
AUTUMN_SUNDAY = dt.date(2026, 10, 25)  # 03:00 summer time becomes 02:00 winter time: 02:30 happens twice
SPRING_SUNDAY = dt.date(2026, 3, 29)  # 02:00 winter time becomes 03:00 summer time: 02:30 never happens
#: The overseas départements' zones: none changes its clocks.
OVERSEAS = ("Indian/Reunion", "Indian/Mayotte", "America/Guadeloupe", "America/Martinique", "America/Cayenne")


@functools.cache
def context(zone: str = "Europe/Paris") -> DeadlineContext:
    """An accueil de loisirs open every day from 09:00, in a commune of ``zone``."""
    calendar = CommuneCalendar(zone, HolidaySubdivision.METROPOLE, school_calendar(SchoolZone.B))
    opening = Opening(EVERY_DAY, EVERY_DAY)
    prestation = Prestation(
        "centre", "Accueil de loisirs", "loisirs", PrestationKind.SLOT, PaymentMode.MONTH_END, opening,
        dt.time(9), dt.time(17),
    )  # fmt: skip
    return DeadlineContext(calendar, prestation, OpeningCalendar(opening, calendar))


def rules_at(at: dt.time) -> BookingRules:
    """Book and cancel until the day before at ``at``; refused after."""
    deadline = DaysBefore(1, at)
    return BookingRules(deadline, deadline, Refuse(), Refuse())


def paris(day: dt.date, hour: int, minute: int, fold: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=PARIS).replace(fold=fold)


def utc(day: dt.date, hour: int, minute: int) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=dt.UTC)


# -- the autumn night: 02:30 happens twice ------------------------------------------------------


def test_a_deadline_at_an_ambiguous_time_is_its_first_occurrence_in_summer_time() -> None:
    deadline = DaysBefore(1, dt.time(2, 30)).instant(AUTUMN_SUNDAY + dt.timedelta(days=1), context())
    assert utc_instant(deadline) == utc(AUTUMN_SUNDAY, 0, 30)
    assert deadline.utcoffset() == dt.timedelta(hours=2)


@pytest.mark.parametrize(
    ("now", "in_time"),
    [
        (paris(AUTUMN_SUNDAY, 2, 15), True),  # first 02:15, 00:15 UTC
        (paris(AUTUMN_SUNDAY, 2, 30), True),  # the deadline itself
        (paris(AUTUMN_SUNDAY, 2, 45), False),  # first 02:45, 00:45 UTC
        (paris(AUTUMN_SUNDAY, 2, 15, fold=1), False),  # second 02:15, 01:15 UTC: an hour after
        (paris(AUTUMN_SUNDAY, 2, 30, fold=1), False),  # second 02:30, 01:30 UTC
        (utc(AUTUMN_SUNDAY, 0, 30), True),
        (utc(AUTUMN_SUNDAY, 0, 31), False),
    ],
)
def test_a_request_in_the_repeated_hour_is_judged_by_its_instant(now: dt.datetime, in_time: bool) -> None:
    monday, rules = AUTUMN_SUNDAY + dt.timedelta(days=1), rules_at(dt.time(2, 30))
    for judge in (judge_booking, judge_cancellation):
        decision = judge(rules, monday, now, context())
        assert (decision.outcome is DeadlineOutcome.ACCEPTED) is in_time, (judge.__name__, now)
        assert decision.code == (
            "deadline.in_time" if in_time else f"deadline.{decision.request.value}_expired"
        )


def test_the_second_occurrence_of_a_deadline_time_is_late_in_its_french_sentence_too() -> None:
    monday = AUTUMN_SUNDAY + dt.timedelta(days=1)
    decision = judge_booking(rules_at(dt.time(2, 30)), monday, paris(AUTUMN_SUNDAY, 2, 10, fold=1), context())
    assert decision.code == "deadline.booking_expired"
    assert "25 octobre 2026 à 2 h 30" in decision.message_fr


# -- the spring night: 02:30 does not exist ----------------------------------------------------


def test_a_deadline_at_a_skipped_time_is_moved_forward_by_the_gap() -> None:
    deadline = DaysBefore(1, dt.time(2, 30)).instant(SPRING_SUNDAY + dt.timedelta(days=1), context())
    assert utc_instant(deadline) == utc(SPRING_SUNDAY, 1, 30)
    assert deadline.time() == dt.time(3, 30)


@pytest.mark.parametrize(
    ("now", "in_time"),
    [
        (paris(SPRING_SUNDAY, 3, 15), True),  # 01:15 UTC
        (paris(SPRING_SUNDAY, 3, 30), True),  # the deadline
        (paris(SPRING_SUNDAY, 2, 45), False),  # does not exist: read with the winter offset, 01:45 UTC
        (paris(SPRING_SUNDAY, 2, 45, fold=1), True),  # read with the summer offset, 00:45 UTC
        (paris(SPRING_SUNDAY, 3, 45), False),
    ],
)
def test_a_request_at_a_skipped_wall_time_is_judged_by_its_instant(now: dt.datetime, in_time: bool) -> None:
    monday = SPRING_SUNDAY + dt.timedelta(days=1)
    decision = judge_booking(rules_at(dt.time(3, 30)), monday, now, context())
    assert (decision.outcome is DeadlineOutcome.ACCEPTED) is in_time


def test_local_instant_takes_the_first_occurrence_and_skips_the_gap() -> None:
    assert utc_instant(local_instant(AUTUMN_SUNDAY, dt.time(2, 30), PARIS)) == utc(AUTUMN_SUNDAY, 0, 30)
    assert local_instant(SPRING_SUNDAY, dt.time(2, 30), PARIS).time() == dt.time(3, 30)


# -- windows and naive times --------------------------------------------------------------------


def test_a_window_closing_in_the_repeated_hour_closes_at_its_instant() -> None:
    opens = paris(dt.date(2026, 9, 1), 8, 0)
    closes = paris(AUTUMN_SUNDAY, 2, 30, fold=1)  # 01:30 UTC, the second 02:30
    deadline = DaysBefore(1, dt.time(2, 45))  # the first 02:45, 00:45 UTC: before the window closes
    rules = BookingRules(deadline, deadline, Refuse(), Refuse(), windows=(RegistrationWindow(opens, closes),))
    day = AUTUMN_SUNDAY + dt.timedelta(days=1)
    late = judge_booking(rules, day, paris(AUTUMN_SUNDAY, 2, 50), context())
    assert late.code == "deadline.booking_expired"  # the deadline (00:45 UTC) came before the window closed


def test_a_window_opening_after_it_closes_by_instant_is_refused_even_if_its_wall_clock_says_otherwise() -> (
    None
):
    with pytest.raises(InvalidInput) as refused:
        RegistrationWindow(paris(AUTUMN_SUNDAY, 2, 15, fold=1), paris(AUTUMN_SUNDAY, 2, 45))
    assert refused.value.code == "deadline.window_order"


def test_a_naive_time_is_refused_it_could_be_either_side() -> None:
    with pytest.raises(InvalidInput) as refused:
        judge_booking(
            rules_at(dt.time(2, 30)), dt.date(2026, 10, 26), dt.datetime(2026, 10, 25, 2, 30), context()
        )
    assert refused.value.code == "input.naive_datetime"


@pytest.mark.parametrize(
    "zone", ["Indian/Reunion", "America/Guadeloupe", "America/Cayenne", "Indian/Mayotte"]
)
def test_overseas_zones_have_no_clock_change_to_judge(zone: str) -> None:
    tz = ZoneInfo(zone)
    night = [dt.datetime(2026, 10, 25, hour, 30, tzinfo=tz) for hour in range(24)]
    assert all(m.replace(fold=1).utcoffset() == m.utcoffset() for m in night)
    monday = AUTUMN_SUNDAY + dt.timedelta(days=1)
    decision = judge_booking(
        rules_at(dt.time(2, 30)), monday, dt.datetime(2026, 10, 25, 2, 30, tzinfo=tz), context(zone)
    )
    assert decision.code == "deadline.in_time"


# -- through the family portal, on the stores ------------------------------------------------------


@pytest.mark.parametrize("store_kind", ["memory", "sqlite"])
@pytest.mark.parametrize(("fold", "code"), [(0, "basket.accepted"), (1, "deadline.booking_expired")])
def test_the_portal_judges_a_basket_of_the_repeated_hour_by_its_instant(
    store_kind: str, fold: int, code: str, tmp_path: Path
) -> None:
    """Léa's holiday-centre day of Monday 26 October 2026 is due the day before at 02:30: her mother
    validates at 02:15 — the first one, in time; the second one, an hour later, late."""
    commune = example_commune()
    eve = DaysBefore(1, dt.time(2, 30))
    rules = BookingRules(eve, commune.booking_rules["journee"].cancellation_deadline, Refuse(), Refuse())
    commune = attrs.evolve(commune, booking_rules={**commune.booking_rules, "journee": rules})
    store: CommuneStore = MemoryStore() if store_kind == "memory" else SqliteStore(tmp_path / "commune.db")
    clock, _, portal, _ = open_world(store, MemoryAccountStore(), commune)
    clock.instant = paris(AUTUMN_SUNDAY, 2, 15, fold=fold)
    outcome = portal.validate_basket(
        MARTIN, "F1", book("C1", "journee", AUTUMN_SUNDAY + dt.timedelta(days=1))
    )
    assert [d.code for d in outcome.decisions] == [code]
