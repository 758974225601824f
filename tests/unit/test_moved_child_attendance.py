"""Separated parents, a move: what an agent records of a child's day is filed under the household whose
booking it is, whichever households the child is in today, on every store (docs/invoicing.md, "A child who
left the household")."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import attrs
import pytest

from espacefamille.adapters.memory import MemoryAccountStore
from espacefamille.calendar.periods import DateRange
from espacefamille.examples import example_commune
from espacefamille.model import Enrolment
from espacefamille.money import Money
from espacefamille.ports import CommuneStore
from espacefamille.rules.attendance import AttendanceFact, AttendanceStatus
from espacefamille.services import BackOffice
from tests.stores import KINDS, empty_store
from tests.unit.test_services import AGENT, DECEMBER_MEALS, DURAND, MARTIN, PARIS, YEAR, book, open_world

DECEMBER = DateRange.month(2026, 12)
PRESENT, ILL = dt.date(2026, 12, 3), dt.date(2026, 12, 8)
UNBOOKED = dt.date(2026, 12, 17)  # the canteen's last day before the holidays: nobody booked it
BOOKED = [day for day in DECEMBER_MEALS if day != UNBOOKED]


def _register_hugo(store: CommuneStore, office: BackOffice, family_ids: tuple[str, ...]) -> None:
    """Hugo, of the Durands, registered again with the Martins' Léa, in the households ``family_ids``."""
    with store.unit_of_work() as uow:
        martin, (lea,), (hugo,) = (
            uow.families.get("F1"),
            uow.families.children_of("F1"),
            uow.families.children_of("F2"),
        )
    office.register_family(AGENT, martin, [lea, attrs.evolve(hugo, family_ids=family_ids)])


def _facts(store: CommuneStore, family_id: str) -> list[tuple[str, dt.date, AttendanceStatus]]:
    with store.unit_of_work() as uow:
        return [(f.child_id, f.day, f.status) for f in uow.attendance.of_family(family_id, DECEMBER)]


def _billed(store: CommuneStore, family_id: str) -> list[tuple[tuple[dt.date, ...], Money]]:
    """Hugo's lines the run left the household, invoiced or carried below the recovery threshold: the days
    of each and its total."""
    with store.unit_of_work() as uow:
        lines = [line for document in uow.documents.invoices_of(family_id) for line in document.lines]
        carried = uow.runs.carried("enfance").get(family_id)
    lines.extend(carried.lines if carried else ())
    return sorted((line.days, line.total) for line in lines if line.child_id == "C3")


@pytest.mark.parametrize("kind", KINDS)
def test_attendance_recorded_after_the_move_goes_to_the_household_that_booked_the_day(
    kind: str, tmp_path: Path
) -> None:
    """The Durands booked nine December meals for Hugo; he then moved to the Martins. On 17 December the agent
    records him present on the 3rd, absent ill on the 8th (justified) and present on the 17th, which nobody
    booked. The Durands' days are theirs: they are billed eight meals, the 8th not; the Martins only the
    17th, Hugo's presence without booking in his household of today."""
    with empty_store(kind, tmp_path, "moved_facts") as store:
        clock, _, portal, office = open_world(store, MemoryAccountStore(), example_commune())
        portal.validate_basket(DURAND, "F2", book("C3", "repas", *BOOKED))
        _register_hugo(store, office, ("F1",))
        clock.instant = dt.datetime(2026, 12, 17, 17, 0, tzinfo=PARIS)
        office.record_attendance(
            AGENT,
            [
                AttendanceFact("C3", "repas", PRESENT, AttendanceStatus.PRESENT),
                AttendanceFact("C3", "repas", ILL, AttendanceStatus.ABSENT_JUSTIFIED),
                AttendanceFact("C3", "repas", UNBOOKED, AttendanceStatus.PRESENT),
            ],
        )
        assert _facts(store, "F2") == [
            ("C3", PRESENT, AttendanceStatus.PRESENT),
            ("C3", ILL, AttendanceStatus.ABSENT_JUSTIFIED),
        ]
        assert _facts(store, "F1") == [("C3", UNBOOKED, AttendanceStatus.PRESENT)]
        # The day's sheet shows what was recorded against the Durands' booking.
        (line,) = office.attendance_sheet(AGENT, "cantine", PRESENT)
        assert line.booking.family_id == "F2"
        assert line.fact is not None
        assert line.fact.status is AttendanceStatus.PRESENT

        clock.instant = dt.datetime(2027, 1, 4, 8, 0, tzinfo=PARIS)
        office.run_month_end(AGENT, "enfance", DECEMBER)
        assert _billed(store, "F2") == [
            (tuple(day for day in BOOKED if day != ILL), Money("2.60") * 8),
            ((ILL,), Money("0.00")),  # the justified absence, not billed
        ]
        # Hugo's presence without booking, priced after Léa in his household of today (−10 %).
        assert _billed(store, "F1") == [((UNBOOKED,), Money("2.34"))]


@pytest.mark.parametrize("kind", KINDS)
def test_in_alternating_residence_each_household_has_the_days_it_booked(kind: str, tmp_path: Path) -> None:
    """Hugo lives with the Durands and the Martins in turn; each household booked its own December meals.
    What the agent records of each day goes to the household that booked it, and so does the billing."""
    with empty_store(kind, tmp_path, "alternating") as store:
        clock, _, portal, office = open_world(store, MemoryAccountStore(), example_commune())
        _register_hugo(store, office, ("F2", "F1"))
        office.enrol_child(AGENT, Enrolment("E-C3-cantine-F1", "C3", "F1", "cantine", YEAR))
        durand_days, martin_days = DECEMBER_MEALS[:5], DECEMBER_MEALS[5:]
        portal.validate_basket(DURAND, "F2", book("C3", "repas", *durand_days))
        portal.validate_basket(MARTIN, "F1", book("C3", "repas", *martin_days))
        clock.instant = dt.datetime(2026, 12, 17, 17, 0, tzinfo=PARIS)
        office.record_attendance(
            AGENT, [AttendanceFact("C3", "repas", day, AttendanceStatus.PRESENT) for day in DECEMBER_MEALS]
        )
        assert [day for _, day, _ in _facts(store, "F2")] == durand_days
        assert [day for _, day, _ in _facts(store, "F1")] == martin_days
        clock.instant = dt.datetime(2027, 1, 4, 8, 0, tzinfo=PARIS)
        office.run_month_end(AGENT, "enfance", DECEMBER)
        assert _billed(store, "F2") == [(tuple(durand_days), Money("2.60") * 5)]
        assert _billed(store, "F1") == [(tuple(martin_days), Money("2.34") * 5)]  # after Léa, −10 %


@pytest.mark.parametrize("kind", KINDS)
def test_a_fact_recorded_again_corrects_the_household_it_leaves(kind: str, tmp_path: Path) -> None:
    """Before the library filed a fact under the household whose booking it is, Hugo's presence of 3 December,
    a day the Durands booked, was filed under the Martins he had moved to: December billed them a presence
    without booking, carried below the recovery threshold. The agent records the day again on 5 January: the
    fact goes to the Durands, and January's run takes the day off what the Martins carry."""
    with empty_store(kind, tmp_path, "refiled") as store:
        clock, _, portal, office = open_world(store, MemoryAccountStore(), example_commune())
        portal.validate_basket(DURAND, "F2", book("C3", "repas", *BOOKED))
        _register_hugo(store, office, ("F1",))
        seen = AttendanceFact("C3", "repas", PRESENT, AttendanceStatus.PRESENT)
        with store.unit_of_work() as uow:  # as the library filed it before
            uow.attendance.save([seen], "F1")
            uow.commit()
        clock.instant = dt.datetime(2027, 1, 4, 8, 0, tzinfo=PARIS)
        office.run_month_end(AGENT, "enfance", DECEMBER)
        assert _billed(store, "F1") == [((PRESENT,), Money("2.34"))]
        clock.instant = dt.datetime(2027, 1, 5, 9, 0, tzinfo=PARIS)
        office.record_attendance(AGENT, [seen])
        assert _facts(store, "F1") == []
        assert _facts(store, "F2") == [("C3", PRESENT, AttendanceStatus.PRESENT)]
        clock.instant = dt.datetime(2027, 2, 1, 8, 0, tzinfo=PARIS)
        office.run_month_end(AGENT, "enfance", DateRange.month(2027, 1))
        assert _billed(store, "F1") == []  # the line carried below the threshold for that day, dropped
        assert _billed(store, "F2") == [(tuple(BOOKED), Money("2.60") * 9)]  # the day's price unchanged
        with store.unit_of_work() as uow:
            assert uow.runs.changed_days("enfance") == {}
