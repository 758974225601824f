"""Every write of every service call, and its commit, may fail: the store then holds what it held before.

For each call a family or an agent makes on Saint-Aubin-des-Prés, on the in-memory and the SQLite store, the
k-th write (or commit) fails for k = 1, 2, … until the call goes through: each failed attempt leaves the store
exactly as it was (no booking without its confirmation e-mail, no payment without its allocations, no
closure without its attendance facts…), and the call then succeeds.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from espacefamille.adapters.fake_gateway import FakeGateway
from espacefamille.adapters.memory import MemoryStore
from espacefamille.adapters.sqlite import SqliteStore
from espacefamille.billing.documents import PaymentMethod
from espacefamille.calendar.opening import Closure, ClosureReason
from espacefamille.calendar.periods import DateRange
from espacefamille.examples import example_commune
from espacefamille.model import Child, Enrolment, Family, Guardian, QuotientFamilial
from espacefamille.money import Money
from espacefamille.ports import CommuneStore, FixedClock
from espacefamille.rules.attendance import AbsenceReason, AttendanceFact, AttendanceStatus
from espacefamille.rules.unpaid import UnpaidExemption
from espacefamille.services import BackOffice, FamilyPortal
from espacefamille.testing.faults import FailingStore, InjectedFault
from tests.unit.test_services import AGENT, DECEMBER_MEALS, HOLIDAY_MONDAY, MARTIN, NOW, YEAR, book

DAY = DECEMBER_MEALS[0]
_FORM = {"enfant": "C1", "du": "2026-09-01", "au": "2026-11-30"}
_DURAND = Family("F2", "Durand", [Guardian("G2", "Marc", "Durand", email="marc@example.fr")], "G2")

Services = tuple[FamilyPortal, BackOffice]
CALLS: dict[str, Callable[[Services], object]] = {
    "validate_basket (month end)": lambda s: s[0].validate_basket(
        MARTIN, "F1", book("C1", "repas", *DECEMBER_MEALS[:3])
    ),
    "validate_basket (prepaid)": lambda s: s[0].validate_basket(
        MARTIN, "F1", book("C1", "journee", HOLIDAY_MONDAY)
    ),
    "declare_absence": lambda s: s[0].declare_absence(
        MARTIN, "C1", DateRange(DAY, DAY), AbsenceReason.ILLNESS
    ),
    "submit_request": lambda s: s[0].submit_request(MARTIN, "F1", "attestation-caf", _FORM),
    "register_family": lambda s: s[1].register_family(
        AGENT, _DURAND, [Child("C3", "Hugo", "Durand", dt.date(2018, 5, 2), ["F2"])]
    ),
    "enrol_child": lambda s: s[1].enrol_child(
        AGENT, Enrolment("E-C1-peri", "C1", "F1", "periscolaire", YEAR)
    ),
    "record_attendance": lambda s: s[1].record_attendance(
        AGENT, [AttendanceFact("C1", "repas", DAY, AttendanceStatus.ABSENT_UNJUSTIFIED)]
    ),
    "declare_closure": lambda s: s[1].declare_closure(
        AGENT, "cantine", Closure(DateRange(DAY, DAY), ClosureReason.STRIKE, "grève")
    ),
    "record_payment": lambda s: s[1].record_payment(
        AGENT, "F1", "enfance", [_invoice(s)], Money("5"), PaymentMethod.CASH
    ),
    "pay_invoices": lambda s: s[0].pay_invoices(MARTIN, "F1", [_invoice(s)]),
    "issue_credit": lambda s: s[1].issue_credit(AGENT, "F1", "enfance", Money("3"), "geste commercial"),
    "grant_unpaid_exemption": lambda s: s[1].grant_unpaid_exemption(
        AGENT, "F1", UnpaidExemption("agent-1", dt.date(2026, 11, 1))
    ),
    "run_month_end": lambda s: s[1].run_month_end(AGENT, "enfance", DateRange.month(2026, 12)),
}


def _source() -> Callable[[int], bytes]:
    counter = iter(range(1, 10_000))
    return lambda n: next(counter).to_bytes(n, "big")


def _invoice(services: Services) -> str:
    """The number of the Martins' December invoice, read without counting a write."""
    store = services[1].store
    inner = store.store if isinstance(store, FailingStore) else store
    with inner.unit_of_work() as uow:
        return next(i.number for i in uow.documents.invoices_of("F1") if i.total > Money(0))


def _in_january(services: Services) -> None:
    clock = services[1].clock
    assert isinstance(clock, FixedClock)
    clock.instant = dt.datetime(2027, 1, 4, 9, 0, tzinfo=NOW.tzinfo)


def _bill_december(services: Services) -> None:
    _in_january(services)
    services[1].run_month_end(AGENT, "enfance", DateRange.month(2026, 12))


# What a call needs done first, on the healthy store.
SETUPS: dict[str, Callable[[Services], None]] = {
    "record_payment": _bill_december,
    "pay_invoices": _bill_december,
    "run_month_end": _in_january,
}


def _services(store: CommuneStore, clock: FixedClock, gateway: FakeGateway) -> Services:
    portal = FamilyPortal(store, gateway=gateway, clock=clock, source=_source())
    return portal, BackOffice(store, clock=clock, source=_source())


def _world(store: CommuneStore, clock: FixedClock, gateway: FakeGateway, name: str) -> None:
    """Saint-Aubin with the Martins (Léa at the canteen and the holiday centre), seven December meals booked,
    and what the call ``name`` needs done first."""
    with store.unit_of_work() as uow:
        uow.save_commune(example_commune())
        uow.commit()
    portal, office = _services(store, clock, gateway)
    qf = [QuotientFamilial(800, dt.date(2026, 9, 1))]
    martin = Family(
        "F1", "Martin", [Guardian("G1", "Claire", "Martin", email="claire@example.fr")], "G1", quotients=qf
    )
    office.register_family(AGENT, martin, [Child("C1", "Léa", "Martin", dt.date(2018, 3, 14), ["F1"])])
    for service in ("cantine", "alsh"):
        office.enrol_child(AGENT, Enrolment(f"E-C1-{service}", "C1", "F1", service, YEAR))
    portal.validate_basket(MARTIN, "F1", book("C1", "repas", *DECEMBER_MEALS[3:]))
    if name in SETUPS:
        SETUPS[name]((portal, office))


def _memory_dump(store: CommuneStore) -> object:
    assert isinstance(store, MemoryStore)
    return {name: dict(table) for name, table in vars(store._tables).items()}


def _sqlite_dump(store: CommuneStore) -> object:
    assert isinstance(store, SqliteStore)
    connection = sqlite3.connect(store.path)
    try:
        return [line for line in connection.iterdump() if not line.startswith('INSERT INTO "versions"')]
    finally:
        connection.close()


STORES: dict[str, tuple[Callable[[Path], CommuneStore], Callable[[CommuneStore], object]]] = {
    "memory": (lambda _: MemoryStore(), _memory_dump),
    "sqlite": (lambda folder: SqliteStore(folder / "commune.sqlite"), _sqlite_dump),
}


@pytest.mark.parametrize("kind", sorted(STORES))
@pytest.mark.parametrize("name", sorted(CALLS))
def test_a_call_failing_at_any_write_or_commit_leaves_the_store_as_it_was(
    kind: str, name: str, tmp_path: Path
) -> None:
    make, dump = STORES[kind]
    failures: list[str] = []
    for fail_at in range(1, 60):
        folder = tmp_path / str(fail_at)
        folder.mkdir()
        store, clock, gateway = make(folder), FixedClock(NOW), FakeGateway()
        _world(store, clock, gateway, name)
        before = dump(store)
        failing = FailingStore(store, fail_at, commits=True)
        try:
            CALLS[name](_services(failing, clock, gateway))
        except InjectedFault as fault:
            failures.append(fault.operation)
        else:
            assert dump(store) != before  # once nothing fails, the call does its work
            break
        assert dump(store) == before, f"{name} failing at {failures[-1]} (write {fail_at}) wrote"
    else:  # pragma: no cover - a call that never gets through
        pytest.fail(f"{name} failed at every one of 59 writes")
    assert failures[-1] == "commit"  # the last thing that can fail is the commit
