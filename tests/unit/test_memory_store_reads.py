"""The memory store reads a household's rows without visiting the other households' (month end reads every
family's records: a scan of each table for each family made it quadratic in the city)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from espacefamille.adapters.memory import MemoryStore
from espacefamille.billing.documents import Allocation
from espacefamille.calendar.periods import DateRange
from espacefamille.examples import example_commune
from espacefamille.money import Money
from espacefamille.ports import UnitOfWork
from espacefamille.rules.attendance import AbsenceDeclaration, AbsenceReason, AttendanceFact, AttendanceStatus
from espacefamille.testing.builders import (
    BOOKED_AT,
    MONDAY,
    NOVEMBER,
    booking,
    child,
    family,
    invoice,
    payment,
)
from espacefamille.testing.conformance.mandates import mandate

FAMILIES = ("F1", "F2", "F3")
# The tables a household's reads go through; each holds rows of every household.
BY_HOUSEHOLD = (
    "children",
    "bookings",
    "attendance",
    "absences",
    "invoices",
    "payments",
    "allocations",
    "mandates",
)


def _city() -> MemoryStore:
    """Three households, each with its own rows in every table, and a child shared by F1 and F2."""
    store = MemoryStore()
    with store.unit_of_work() as uow:
        uow.save_commune(example_commune())
        for n, family_id in enumerate(FAMILIES, start=1):
            child_id, day = f"C{n}", MONDAY + dt.timedelta(days=n - 1)
            uow.families.save(family(family_id))
            uow.families.save_child(child(child_id, family_id))
            uow.bookings.save([booking(child_id, family_id, day), booking(child_id, family_id, day, "soir")])
            fact = AttendanceFact(child_id, "repas", day, AttendanceStatus.ABSENT_JUSTIFIED)
            uow.attendance.save([fact], family_id)
            declared = AbsenceDeclaration(child_id, DateRange(day, day), AbsenceReason.ILLNESS, BOOKED_AT)
            uow.attendance.save_absence(declared, family_id)
            number, paid = f"FAC-enfance-2026-00000{n}", f"PAY-enfance-2026-00000{n}"
            uow.documents.save_invoice(invoice(number, family_id))
            uow.documents.save_payment(payment(paid, family_id))
            uow.documents.save_allocations([Allocation(paid, number, Money("12.34"))], family_id)
            uow.mandates.save(mandate(f"SAP-{family_id}-0001", family_id))
        uow.families.save_child(child("S", "F1", "F2"))
        uow.bookings.save([booking("S", "F2", MONDAY + dt.timedelta(days=7))])
        uow.commit()
    return store


def _reads(uow: UnitOfWork, family_id: str) -> tuple[object, ...]:
    """Everything a household's reads give, month end's records included."""
    return (
        uow.families.children_of(family_id),
        uow.bookings.of_family(family_id, NOVEMBER),
        uow.bookings.of_family(family_id, DateRange(MONDAY, MONDAY)),
        uow.attendance.of_family(family_id, NOVEMBER),
        uow.attendance.absences_of(family_id),
        uow.documents.invoices_of(family_id),
        uow.documents.invoices_of_families([family_id, "F9"]),
        uow.documents.payments_of(family_id),
        uow.documents.allocations_of(family_id),
        uow.mandates.of_family(family_id),
    )


def _refusing_scans(table: dict[Any, Any], name: str) -> dict[Any, Any]:
    """A copy of a committed table (of its class, index included) that fails when anything goes through
    all of its rows."""

    def scanned(*_args: object) -> Any:
        raise AssertionError(f"the {name} table was scanned")

    refusing: Any = type("Refusing", (type(table),), {"__iter__": scanned, "items": scanned, "keys": scanned})
    copy: dict[Any, Any] = refusing.__new__(refusing)
    dict.update(copy, table)
    vars(copy).update(getattr(table, "__dict__", {}))
    refusing.values = scanned  # after the copy: dict.update reads the rows of ``table``, not of ``copy``
    return copy


def _refuse_scans(store: MemoryStore) -> None:
    for name in BY_HOUSEHOLD:
        setattr(store._tables, name, _refusing_scans(getattr(store._tables, name), name))


def test_a_households_reads_visit_none_of_the_other_households_rows() -> None:
    store = _city()
    with store.unit_of_work() as uow:
        expected = {family_id: _reads(uow, family_id) for family_id in FAMILIES}
        records = list(uow.runs.family_records(NOVEMBER))
        assert [c.id for c in uow.families.children_of("F2")] == ["C2", "S"]
    assert [r.family.id for r in records] == list(FAMILIES)
    _refuse_scans(store)
    with store.unit_of_work() as uow:
        assert {family_id: _reads(uow, family_id) for family_id in FAMILIES} == expected
        assert list(uow.runs.family_records(NOVEMBER)) == records


def test_a_households_reads_see_the_unit_of_works_own_moves_without_a_scan() -> None:
    store = _city()
    _refuse_scans(store)
    moved = booking("C1", "F3")  # the same day of C1, now booked by F3
    with store.unit_of_work() as uow:
        uow.bookings.save([moved])
        uow.families.save_child(child("S", "F2", "F3"))
        uow.documents.save_allocations(
            [Allocation("PAY-enfance-2026-000003", "FAC-enfance-2026-000001", Money("1.00"))], "F3"
        )
        assert uow.bookings.of_family("F1", DateRange(MONDAY, MONDAY)) == (
            booking("C1", "F1", MONDAY, "soir"),
        )
        assert moved in uow.bookings.of_family("F3", NOVEMBER)
        assert [c.id for c in uow.families.children_of("F1")] == ["C1"]
        assert [c.id for c in uow.families.children_of("F3")] == ["C3", "S"]
        assert len(uow.documents.allocations_of("F3")) == 2
        during = {family_id: _reads(uow, family_id) for family_id in FAMILIES}
        uow.commit()
    with store.unit_of_work() as uow:
        assert {family_id: _reads(uow, family_id) for family_id in FAMILIES} == during
