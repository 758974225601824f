"""The families repository in memory: households, children, enrolments, unpaid-block waivers."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from espacefamille.adapters.memory.tables import _family, _not_found
from espacefamille.model import Child, Enrolment, Family
from espacefamille.rules.unpaid import UnpaidExemption

if TYPE_CHECKING:
    from espacefamille.adapters.memory.store import MemoryUnitOfWork


class _MemoryFamilies:
    """Families of a ``MemoryUnitOfWork`` (see ``espacefamille.ports.Families``)."""

    def __init__(self, uow: MemoryUnitOfWork) -> None:
        self._uow = uow

    def get(self, family_id: str) -> Family:
        with self._uow.lock():
            self._uow.see(_family(family_id))
            found = self._uow.tables.families.get(family_id)
        if found is None:
            raise _not_found("family", family_id)
        return found

    def all(self) -> Iterator[Family]:
        with self._uow.lock():
            found = sorted(self._uow.tables.families.values(), key=lambda f: f.id)
            for item in found:
                self._uow.see(_family(item.id))
        return iter(found)

    def save(self, family: Family) -> None:
        with self._uow.lock():
            self._uow.touch(_family(family.id))
        self._uow.tables.families.put(family.id, family)

    def child(self, child_id: str) -> Child:
        with self._uow.lock():
            found = self._uow.tables.children.get(child_id)
            if found is not None:
                for family_id in found.family_ids:
                    self._uow.see(_family(family_id))
        if found is None:
            raise _not_found("child", child_id)
        return found

    def children_of(self, family_id: str) -> tuple[Child, ...]:
        with self._uow.lock():
            self._uow.see(_family(family_id))
            found = self._uow.tables.children.of_owner(family_id)
        return tuple(sorted(found, key=lambda c: c.id))

    def save_child(self, child: Child) -> None:
        with self._uow.lock():
            before = self._uow.tables.children.get(child.id)
            for family_id in {*child.family_ids, *(before.family_ids if before else ())}:
                self._uow.touch(_family(family_id))
        self._uow.tables.children.put(child.id, child)

    def enrolments_of(self, child_id: str) -> tuple[Enrolment, ...]:
        with self._uow.lock():
            found = [e for e in self._uow.tables.enrolments.values() if e.child_id == child_id]
            for enrolment in found:
                self._uow.see(_family(enrolment.family_id))
        return tuple(sorted(found, key=lambda e: e.id))

    def save_enrolment(self, enrolment: Enrolment) -> None:
        with self._uow.lock():
            before = self._uow.tables.enrolments.get(enrolment.id)
            self._uow.touch(_family(enrolment.family_id))
            if before is not None:
                self._uow.touch(_family(before.family_id))
        self._uow.tables.enrolments.put(enrolment.id, enrolment)

    def unpaid_exemption(self, family_id: str) -> UnpaidExemption | None:
        with self._uow.lock():
            self._uow.see(_family(family_id))
            return self._uow.tables.unpaid_exemptions.get(family_id)

    def save_unpaid_exemption(self, family_id: str, exemption: UnpaidExemption | None) -> None:
        with self._uow.lock():
            self._uow.touch(_family(family_id))
        self._uow.tables.unpaid_exemptions.put(family_id, exemption)
