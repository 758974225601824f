"""Separated parents, a move: a household pays the days it booked of a child who has left it since, its
corrections included, on every store (docs/invoicing.md, "A child who left the household")."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import attrs
import pytest

from espacefamille.adapters.memory import MemoryAccountStore
from espacefamille.calendar.periods import DateRange
from espacefamille.examples import example_commune
from espacefamille.model import Child, Enrolment
from espacefamille.money import Money
from espacefamille.ports import with_children_named
from espacefamille.rules.attendance import AttendanceFact, AttendanceStatus
from espacefamille.testing.builders import booking
from tests.stores import KINDS, empty_store
from tests.unit.test_services import AGENT, DECEMBER_MEALS, DURAND, PARIS, YEAR, book, open_world

DECEMBER = DateRange.month(2026, 12)
JANUARY = DateRange.month(2027, 1)


@pytest.mark.parametrize("kind", KINDS)
def test_a_correction_of_a_day_booked_before_the_move_is_billed_to_the_household_that_booked_it(
    kind: str, tmp_path: Path
) -> None:
    """Hugo's ten December meals are billed to the Durands; on 5 January his absence of 3 December is
    recorded as justified, then he moves to the Martins. January's run gives the Durands back that meal."""
    with empty_store(kind, tmp_path, "moved") as store:
        clock, _, portal, office = open_world(store, MemoryAccountStore(), example_commune())
        portal.validate_basket(DURAND, "F2", book("C3", "repas", *DECEMBER_MEALS))
        clock.instant = dt.datetime(2027, 1, 4, 8, 0, tzinfo=PARIS)
        office.run_month_end(AGENT, "enfance", DECEMBER)
        with store.unit_of_work() as uow:
            (december,) = uow.documents.invoices_of("F2")
            martin, (lea,), (hugo,) = (
                uow.families.get("F1"),
                uow.families.children_of("F1"),
                uow.families.children_of("F2"),
            )
        clock.instant = dt.datetime(2027, 1, 5, 9, 0, tzinfo=PARIS)
        ill = dt.date(2026, 12, 3)
        office.record_attendance(
            AGENT, [AttendanceFact("C3", "repas", ill, AttendanceStatus.ABSENT_JUSTIFIED)]
        )
        office.register_family(AGENT, martin, [lea, attrs.evolve(hugo, family_ids=("F1",))])
        clock.instant = dt.datetime(2027, 2, 1, 8, 0, tzinfo=PARIS)
        office.run_month_end(AGENT, "enfance", JANUARY)
        with store.unit_of_work() as uow:
            documents = [d for d in uow.documents.invoices_of("F2") if d.number != december.number]
            carried = uow.runs.carried("enfance").get("F2")
            changed = uow.runs.changed_days("enfance")
        lines = [line for d in documents for line in d.lines] + list(carried.lines if carried else ())
        (line,) = lines
        assert (line.child_id, line.days, line.regularises) == ("C3", (ill,), (december.number, ill))
        assert line.total == -Money("2.60")
        assert "F2" not in changed  # the corrected day is billed: not read again


def test_a_child_the_store_does_not_know_is_left_to_billing_to_name(tmp_path: Path) -> None:
    with empty_store("memory", tmp_path, "unknown") as store:
        open_world(store, MemoryAccountStore(), example_commune())
        with store.unit_of_work() as uow:
            (hugo,) = uow.families.children_of("F2")
            named = with_children_named(uow, (), [booking("C9", "F1"), booking("C3", "F1")], ())
    assert named == (hugo,)  # Hugo, named by the days; no child C9 to give


@pytest.mark.parametrize("kind", KINDS)
def test_a_child_who_left_counts_for_the_sibling_rank_of_the_month_billed_days_of_it(
    kind: str, tmp_path: Path
) -> None:
    """The Durands booked December meals for Hugo and his little brother Tom; Hugo then moved to the
    Martins. December is billed to the Durands as before the move: Hugo first, Tom second (−10 %)."""
    with empty_store(kind, tmp_path, "rank") as store:
        clock, _, portal, office = open_world(store, MemoryAccountStore(), example_commune())
        with store.unit_of_work() as uow:
            durand, (hugo,) = uow.families.get("F2"), uow.families.children_of("F2")
            martin, (lea,) = uow.families.get("F1"), uow.families.children_of("F1")
        tom = Child("C4", "Tom", "Durand", dt.date(2021, 2, 9), ["F2"])
        office.register_family(AGENT, durand, [hugo, tom])
        office.enrol_child(AGENT, Enrolment("E-C4-cantine", "C4", "F2", "cantine", YEAR))
        portal.validate_basket(
            DURAND, "F2", book("C3", "repas", *DECEMBER_MEALS) + book("C4", "repas", *DECEMBER_MEALS)
        )
        office.register_family(AGENT, martin, [lea, attrs.evolve(hugo, family_ids=("F1",))])
        clock.instant = dt.datetime(2027, 1, 4, 8, 0, tzinfo=PARIS)
        office.run_month_end(AGENT, "enfance", DECEMBER)
        with store.unit_of_work() as uow:
            (durands,) = uow.documents.invoices_of("F2")
        prices = {(line.child_id, line.unit_price) for line in durands.lines}
        assert prices == {("C3", Money("2.60").amount), ("C4", Money("2.34").amount)}
        assert durands.total == Money("2.60") * 10 + Money("2.34") * 10
