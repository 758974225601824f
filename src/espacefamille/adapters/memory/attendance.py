"""The attendance repository in memory: facts, absence declarations, closures."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from espacefamille.adapters.memory.tables import _family
from espacefamille.calendar.opening import Closure
from espacefamille.calendar.periods import DateRange
from espacefamille.rules.attendance import AbsenceDeclaration, AttendanceFact

if TYPE_CHECKING:
    from espacefamille.adapters.memory.store import MemoryUnitOfWork


class _MemoryAttendance:
    """Attendance of a ``MemoryUnitOfWork`` (see ``espacefamille.ports.Attendance``)."""

    def __init__(self, uow: MemoryUnitOfWork) -> None:
        self._uow = uow

    def of_family(self, family_id: str, period: DateRange) -> tuple[AttendanceFact, ...]:
        with self._uow.lock():
            self._uow.see(_family(family_id))
            found = self._uow.tables.attendance.of_owner(family_id, lambda key: key[2] in period)
        facts = (fact for _, fact in found)
        return tuple(sorted(facts, key=lambda f: (f.child_id, f.prestation_id, f.day)))

    def save(self, facts: Iterable[AttendanceFact], family_id: str) -> None:
        facts = list(facts)
        with self._uow.lock():
            view = self._uow.tables.attendance
            self._uow.touch(_family(family_id))
            for fact in facts:
                before = view.get((fact.child_id, fact.prestation_id, fact.day))
                if before is not None:
                    self._uow.touch(_family(before[0]))
        for fact in facts:
            view.put((fact.child_id, fact.prestation_id, fact.day), (family_id, fact))

    def reasons_recorded(self, prestation_ids: Iterable[str], periods: Iterable[DateRange]) -> frozenset[str]:
        prestations, spans = set(prestation_ids), list(periods)
        with self._uow.lock():
            found = self._uow.tables.attendance.values(
                lambda key: key[1] in prestations and any(key[2] in span for span in spans)
            )
        return frozenset(fact.reason for _, fact in found if fact.reason is not None)

    def absences_of(self, family_id: str) -> tuple[AbsenceDeclaration, ...]:
        with self._uow.lock():
            self._uow.see(_family(family_id))
            found = self._uow.tables.absences.of_owner(family_id)
        declarations = (d for _, d in found)
        return tuple(sorted(declarations, key=lambda d: (d.child_id, d.days.start, d.days.end)))

    def save_absence(self, declaration: AbsenceDeclaration, family_id: str) -> None:
        key = (declaration.child_id, declaration.days.start, declaration.days.end)
        with self._uow.lock():
            before = self._uow.tables.absences.get(key)
            self._uow.touch(_family(family_id))
            if before is not None:
                self._uow.touch(_family(before[0]))
        self._uow.tables.absences.put(key, (family_id, declaration))

    def closures(self) -> Mapping[str, tuple[Closure, ...]]:
        with self._uow.lock():
            keys = list(self._uow.tables.closures)
        result: dict[str, list[Closure]] = {}
        for service_id, closure in sorted(keys, key=lambda k: k[0]):
            result.setdefault(service_id, []).append(closure)
        return {
            service_id: tuple(sorted(items, key=lambda c: (c.period.start, c.period.end)))
            for service_id, items in result.items()
        }

    def add_closure(self, service_id: str, closure: Closure) -> None:
        self._uow.tables.closures.put((service_id, closure), closure)
