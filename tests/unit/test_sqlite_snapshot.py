"""A SQLite unit of work reads one snapshot: another process's commit between two reads is never half seen.

Household F1 owes a 1 000 € invoice; the régie records small cash payments while the family's portal reads
what is left to pay. A payment read before the other process committed and its allocation read after used to
make the ledger inconsistent (``billing.unknown_allocation_source``) about one read in ten under that load.
"""

from __future__ import annotations

import collections
import datetime as dt
import multiprocessing
from pathlib import Path
from zoneinfo import ZoneInfo

from espacefamille.adapters.fake_gateway import FakeGateway
from espacefamille.adapters.sqlite import SqliteStore
from espacefamille.billing.documents import Allocation, PaymentMethod
from espacefamille.errors import EspaceFamilleError
from espacefamille.examples import example_commune
from espacefamille.families.accounts import AccountLink, Agent, AgentRole, FamilyMember
from espacefamille.money import Money
from espacefamille.ports import FixedClock
from espacefamille.services import BackOffice, FamilyPortal
from espacefamille.testing.builders import family, invoice, payment

NOW = dt.datetime(2026, 12, 20, 9, 0, tzinfo=ZoneInfo("Europe/Paris"))
AGENT = Agent("agent-1", "saint-aubin", AgentRole.ADMINISTRATEUR)
MEMBER = FamilyMember("acc-1", [AccountLink("saint-aubin", "F1", "F1-g1", "act-1", NOW)])
INVOICE = "FAC-enfance-2026-000001"


def _city(path: Path) -> SqliteStore:
    store = SqliteStore(path)
    with store.unit_of_work() as uow:
        uow.save_commune(example_commune())
        uow.families.save(family("F1"))
        uow.documents.save_invoice(invoice(INVOICE, "F1", 100_000))
        uow.commit()
    return store


def test_a_unit_of_work_does_not_see_a_commit_made_between_its_reads(tmp_path: Path) -> None:
    store = _city(tmp_path / "commune.sqlite")
    with store.unit_of_work() as reading:
        assert reading.documents.payments_of("F1") == ()
        with store.unit_of_work() as other:  # another process pays, with its allocation
            other.documents.save_payment(payment("ENC-enfance-2026-000001", "F1", 500))
            other.documents.save_allocations(
                [Allocation("ENC-enfance-2026-000001", INVOICE, Money.from_cents(500))], "F1"
            )
            other.commit()
        assert reading.documents.allocations_of("F1") == ()  # the same snapshot as the payments
    with store.unit_of_work() as later:
        assert len(later.documents.allocations_of("F1")) == 1


def _pay(path: Path, times: int) -> None:
    office = BackOffice(SqliteStore(path), clock=FixedClock(NOW))
    for _ in range(times):
        office.record_payment(AGENT, "F1", "enfance", [INVOICE], Money("0.01"), PaymentMethod.CASH)


def _read(path: Path, times: int, results: multiprocessing.Queue[dict[str, int]]) -> None:
    portal = FamilyPortal(SqliteStore(path), gateway=FakeGateway(), clock=FixedClock(NOW))
    codes: collections.Counter[str] = collections.Counter()
    for _ in range(times):
        try:
            portal.invoices_to_pay(MEMBER, "F1")
            codes["ok"] += 1
        except EspaceFamilleError as error:
            codes[error.code] += 1
    results.put(dict(codes))


def test_reads_under_another_process_s_payments_are_never_inconsistent(tmp_path: Path) -> None:
    path = tmp_path / "commune.sqlite"
    _city(path)
    context = multiprocessing.get_context("spawn")
    results: multiprocessing.Queue[dict[str, int]] = context.Queue()
    workers = [context.Process(target=_pay, args=(path, 150))]
    workers += [context.Process(target=_read, args=(path, 150, results)) for _ in range(2)]
    for worker in workers:
        worker.start()
    codes: collections.Counter[str] = collections.Counter()
    for _ in range(2):
        codes.update(results.get(timeout=120))
    for worker in workers:
        worker.join(timeout=120)
        assert worker.exitcode == 0
    assert "billing.unknown_allocation_source" not in codes
    # A read that kept meeting a commit may still give up after its retries: rarely.
    assert codes["ok"] >= 0.9 * 300, codes
