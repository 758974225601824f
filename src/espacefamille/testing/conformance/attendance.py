"""The ``attendance`` repository: facts, absence declarations, closures."""

from __future__ import annotations

import datetime as dt

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from espacefamille.calendar.opening import Closure, ClosureReason
from espacefamille.calendar.periods import DateRange
from espacefamille.errors import ConcurrentChange
from espacefamille.ports import UnitOfWork
from espacefamille.rules.attendance import (
    AbsenceDeclaration,
    AbsenceReason,
    AttendanceFact,
    AttendanceStatus,
)
from espacefamille.testing import strategies as s
from espacefamille.testing.builders import BOOKED_AT, MONDAY, NOVEMBER
from espacefamille.testing.conformance._base import _ROUND_TRIPS, ConformanceBase


class AttendanceConformance(ConformanceBase):
    """The ``attendance`` repository: facts, absence declarations, closures."""

    @_ROUND_TRIPS
    @given(
        st.lists(s.attendance_facts(child_id="C1"), max_size=6, unique_by=lambda f: (f.prestation_id, f.day))
    )
    def test_attendance_facts_read_back_by_household(self, values: list[AttendanceFact]) -> None:
        everything = DateRange(dt.date(2020, 1, 1), dt.date(2035, 12, 31))
        own, later = self.round_trip(
            lambda uow: uow.attendance.save(values, "F1"),
            lambda uow: uow.attendance.of_family("F1", everything),
        )
        expected = tuple(sorted(values, key=lambda f: (f.child_id, f.prestation_id, f.day)))
        assert s.same_instants(own, expected)
        assert s.same_instants(later, expected)

    def test_attendance_is_replaced_per_day_and_filtered_by_period(self) -> None:
        store = self.seeded_store()
        absent = AttendanceFact("C1", "repas", MONDAY, AttendanceStatus.ABSENT_UNJUSTIFIED)
        december = AttendanceFact("C1", "repas", dt.date(2026, 12, 1), AttendanceStatus.PRESENT)
        self.write(store, lambda uow: uow.attendance.save([absent, december], "F1"))
        justified = attrs.evolve(absent, status=AttendanceStatus.ABSENT_JUSTIFIED)
        self.write(store, lambda uow: uow.attendance.save([justified], "F1"))
        assert self.read(store, lambda uow: uow.attendance.of_family("F1", NOVEMBER)) == (justified,)
        assert self.read(store, lambda uow: uow.attendance.of_family("F2", NOVEMBER)) == ()

    def test_the_reasons_recorded_are_read_by_prestation_and_days_whichever_household(self) -> None:
        store = self.seeded_store()
        december_1 = dt.date(2026, 12, 1)
        excused, present = AttendanceStatus.ABSENT_JUSTIFIED, AttendanceStatus.PRESENT
        outing = AttendanceFact("C1", "repas", MONDAY, excused, reason="sortie_scolaire")
        strike = AttendanceFact("C1", "matin", MONDAY, excused, reason="greve")
        packed = AttendanceFact("C2", "repas", december_1, present, reason="panier")
        plain = AttendanceFact("C2", "repas", MONDAY, AttendanceStatus.ABSENT_UNJUSTIFIED)
        self.write(
            store,
            lambda uow: uow.attendance.save([outing, strike], "F1"),
            lambda uow: uow.attendance.save([packed, plain], "F2"),
        )

        def reasons(prestations: list[str], *periods: DateRange) -> frozenset[str]:
            return self.read(store, lambda uow: uow.attendance.reasons_recorded(prestations, periods))

        first = DateRange(december_1, december_1)
        assert reasons(["repas"], NOVEMBER) == {"sortie_scolaire"}
        assert reasons(["repas"], NOVEMBER, first) == {"sortie_scolaire", "panier"}
        assert reasons(["repas", "matin"], first, NOVEMBER) == {"sortie_scolaire", "panier", "greve"}
        assert reasons(["soir"], NOVEMBER, first) == frozenset()
        assert reasons(["repas"], DateRange(MONDAY + dt.timedelta(days=1), december_1)) == {"panier"}
        assert reasons([], NOVEMBER) == reasons(["repas"]) == frozenset()
        days = [MONDAY - dt.timedelta(days=n) for n in range(1, 500)]
        assert reasons(["repas"], *(DateRange(day, day) for day in days), first) == {"panier"}

    def test_the_reasons_recorded_include_the_unit_of_work_s_own_facts(self) -> None:
        store = self.seeded_store()
        outing = AttendanceFact("C1", "repas", MONDAY, AttendanceStatus.ABSENT_JUSTIFIED, reason="sortie")
        with store.unit_of_work() as uow:
            uow.attendance.save([outing], "F1")
            assert uow.attendance.reasons_recorded(["repas"], [NOVEMBER]) == {"sortie"}

    def test_a_fact_filed_under_another_household_changes_the_household_it_left(self) -> None:
        # C1 moved to F2, whose booking the day was: the agent files Monday's presence there, among a batch
        # long enough to be read in several parts.
        store = self.seeded_store()
        present = AttendanceFact("C1", "repas", MONDAY, AttendanceStatus.PRESENT)
        self.write(store, lambda uow: uow.attendance.save([present], "F1"))
        others = [
            AttendanceFact("C2", "repas", MONDAY - dt.timedelta(days=n), AttendanceStatus.PRESENT)
            for n in range(1, 400)
        ]
        with store.unit_of_work() as reader:
            assert reader.attendance.of_family("F1", NOVEMBER) == (present,)
            self.write(store, lambda uow: uow.attendance.save([*others, present], "F2"))
            tuesday = AttendanceFact("C1", "repas", MONDAY + dt.timedelta(days=1), AttendanceStatus.PRESENT)
            reader.attendance.save([tuesday], "F1")
            with pytest.raises(ConcurrentChange):
                reader.commit()
        assert self.read(store, lambda uow: uow.attendance.of_family("F1", NOVEMBER)) == ()
        monday = DateRange(MONDAY, MONDAY)
        assert self.read(store, lambda uow: uow.attendance.of_family("F2", monday)) == (present,)

    @_ROUND_TRIPS
    @given(st.lists(s.absence_declarations(child_id="C1"), max_size=4, unique_by=lambda a: a.days))
    def test_absence_declarations_read_back_by_household(self, values: list[AbsenceDeclaration]) -> None:
        def save(uow: UnitOfWork) -> None:
            for value in values:
                uow.attendance.save_absence(value, "F1")

        own, later = self.round_trip(save, lambda uow: uow.attendance.absences_of("F1"))
        expected = tuple(sorted(values, key=lambda a: (a.child_id, a.days.start, a.days.end)))
        assert s.same_instants(own, expected)
        assert s.same_instants(later, expected)

    def test_an_absence_declared_again_with_its_proof_replaces_it(self) -> None:
        store = self.seeded_store()
        declared = AbsenceDeclaration(
            "C1", DateRange(MONDAY, MONDAY + dt.timedelta(days=1)), AbsenceReason.ILLNESS, BOOKED_AT
        )
        self.write(store, lambda uow: uow.attendance.save_absence(declared, "F1"))
        proven = attrs.evolve(declared, proof_received_at=BOOKED_AT + dt.timedelta(days=3))
        self.write(store, lambda uow: uow.attendance.save_absence(proven, "F1"))
        assert self.read(store, lambda uow: uow.attendance.absences_of("F1")) == (proven,)
        assert self.read(store, lambda uow: uow.attendance.absences_of("F2")) == ()

    def test_an_absence_filed_under_another_household_changes_the_household_it_left(self) -> None:
        store = self.seeded_store()
        ill = AbsenceDeclaration("C1", DateRange(MONDAY, MONDAY), AbsenceReason.ILLNESS, BOOKED_AT)
        self.write(store, lambda uow: uow.attendance.save_absence(ill, "F1"))
        with store.unit_of_work() as reader:
            assert reader.attendance.absences_of("F1") == (ill,)
            self.write(store, lambda uow: uow.attendance.save_absence(ill, "F2"))
            later = attrs.evolve(
                ill, days=DateRange(MONDAY + dt.timedelta(days=7), MONDAY + dt.timedelta(days=7))
            )
            reader.attendance.save_absence(later, "F1")
            with pytest.raises(ConcurrentChange):
                reader.commit()
        assert self.read(store, lambda uow: uow.attendance.absences_of("F1")) == ()
        assert self.read(store, lambda uow: uow.attendance.absences_of("F2")) == (ill,)

    def test_closures_are_kept_by_service_in_date_order_once_each(self) -> None:
        store = self.seeded_store()
        assert self.read(store, lambda uow: dict(uow.attendance.closures())) == {}
        strike = Closure(DateRange(dt.date(2026, 12, 3), dt.date(2026, 12, 3)), ClosureReason.STRIKE, "Grève")
        training = Closure(DateRange(MONDAY, MONDAY), ClosureReason.TRAINING)
        self.write(
            store,
            lambda uow: uow.attendance.add_closure("cantine", strike),
            lambda uow: uow.attendance.add_closure("cantine", training),
        )
        self.write(
            store,
            lambda uow: uow.attendance.add_closure("cantine", strike),
            lambda uow: uow.attendance.add_closure("alsh", strike),
        )
        assert self.read(store, lambda uow: dict(uow.attendance.closures())) == {
            "alsh": (strike,),
            "cantine": (training, strike),
        }

    @_ROUND_TRIPS
    @given(s.closures())
    def test_a_closure_reads_back_equal(self, value: Closure) -> None:
        own, later = self.round_trip(
            lambda uow: uow.attendance.add_closure("cantine", value),
            lambda uow: dict(uow.attendance.closures()),
        )
        assert own == {"cantine": (value,)}
        assert later == {"cantine": (value,)}
