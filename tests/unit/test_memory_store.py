"""The in-memory reference store: the conformance kit, plus what only a store in memory can show."""

from __future__ import annotations

import datetime as dt
import re
import threading
import zoneinfo
from pathlib import Path

import attrs
import pytest

from espacefamille.adapters import memory
from espacefamille.adapters.memory import MemoryAccountStore, MemoryStore
from espacefamille.adapters.memory.tables import _Tables, _Views
from espacefamille.billing.documents import Allocation, Numbering, Series
from espacefamille.calendar.periods import DateRange
from espacefamille.errors import ConcurrentChange, InvalidInput, NotFound
from espacefamille.examples import example_commune
from espacefamille.families.accounts import Activation, token_hash
from espacefamille.money import Money
from espacefamille.ports import AccountStore, CommuneStore, UnitOfWork
from espacefamille.testing.builders import booking, child, family, invoice, message, payment
from espacefamille.testing.conformance import StoreConformance
from espacefamille.testing.faults import FailingStore, InjectedFault


class TestMemoryStore(StoreConformance):
    def make_store(self) -> CommuneStore:
        return MemoryStore()

    def make_account_store(self) -> AccountStore:
        return MemoryAccountStore()


class TestFailingStoreThatNeverFails(StoreConformance):
    """The fault-injection wrapper is transparent until its failing write: it passes the kit too."""

    def make_store(self) -> CommuneStore:
        return FailingStore(MemoryStore(), fail_at=0)


# -- what only the memory store shows ---------------------------------------------------------

REPOSITORIES = (
    "families",
    "bookings",
    "attendance",
    "documents",
    "runs",
    "mandates",
    "online_payments",
    "requests",
    "submissions",
    "outbox",
)

DAY = dt.date(2026, 12, 23)  # Wednesday of the Christmas holidays (zone B): the ALSH day "journee" runs
PARIS = zoneinfo.ZoneInfo("Europe/Paris")


def seeded() -> MemoryStore:
    store = MemoryStore()
    with store.unit_of_work() as uow:
        uow.save_commune(example_commune())
        for index in range(8):
            uow.families.save(family(f"F{index}"))
            uow.families.save_child(child(f"C{index}", f"F{index}"))
        uow.commit()
    return store


def month_end(uow: UnitOfWork) -> None:
    """A payment run for family F0: six writes that belong together."""
    numbering, number = uow.documents.numbering().next("enfance", 2026, Series.INVOICE)
    uow.documents.save_numbering(numbering)
    uow.documents.save_invoice(invoice(number, "F0"))
    uow.documents.save_payment(payment("PAY-enfance-2026-000001", "F0"))
    uow.documents.save_allocations([Allocation("PAY-enfance-2026-000001", number, Money("12.34"))], "F0")
    uow.bookings.save([booking("C0", "F0", DAY, "journee")])
    uow.outbox.add(message("m-1", "F0", number))
    uow.commit()


@pytest.mark.parametrize("k", range(1, 7))
def test_a_store_failing_at_any_write_leaves_no_partial_invoice_payment_or_basket(k: int) -> None:
    store = seeded()
    failing = FailingStore(store, fail_at=k)
    with pytest.raises(InjectedFault) as fault, failing.unit_of_work() as uow:
        month_end(uow)
    assert fault.value.write == k
    with store.unit_of_work() as uow:
        assert uow.documents.numbering() == Numbering()
        assert uow.documents.invoices_of("F0") == ()
        assert uow.documents.payments_of("F0") == ()
        assert uow.documents.allocations_of("F0") == ()
        assert uow.bookings.of_family("F0", DateRange(DAY, DAY)) == ()
        assert uow.outbox.all() == ()


def test_a_store_that_does_not_fail_writes_the_whole_run() -> None:
    store = seeded()
    failing = FailingStore(store, fail_at=7)
    with failing.unit_of_work() as uow:
        month_end(uow)
    assert failing.writes == 6
    with store.unit_of_work() as uow:
        assert [i.number for i in uow.documents.invoices_of("F0")] == ["FAC-enfance-2026-000001"]
        assert len(uow.documents.payments_of("F0")) == len(uow.documents.allocations_of("F0")) == 1
        assert len(uow.outbox.all()) == 1


def test_threads_racing_for_the_last_places_never_overbook() -> None:
    store = seeded()
    places = 3  # what is left of the day's places in this test
    errors: list[BaseException] = []

    def book_last_place(index: int) -> None:
        try:
            while True:
                with store.unit_of_work() as uow:
                    taken = [
                        b for b in uow.bookings.of_prestation("journee", DateRange(DAY, DAY)) if b.is_active
                    ]
                    if len(taken) >= places:
                        return
                    uow.bookings.save([booking(f"C{index}", f"F{index}", DAY, "journee")])
                    try:
                        uow.commit()
                    except ConcurrentChange:
                        continue
                    return
        except BaseException as error:  # reported to the main thread, which fails the test
            errors.append(error)

    threads = [threading.Thread(target=book_last_place, args=(index,)) for index in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with store.unit_of_work() as uow:
        assert len(uow.bookings.of_prestation("journee", DateRange(DAY, DAY))) == places


def test_a_unit_of_work_can_go_on_after_its_commit() -> None:
    store = seeded()
    with store.unit_of_work() as uow:
        uow.bookings.save([booking("C0", "F0", DAY, "journee")])
        uow.commit()
        uow.bookings.save([booking("C1", "F1", DAY, "journee")])
        # leaving now rolls back only what came after the commit
    with store.unit_of_work() as uow:
        assert [b.child_id for b in uow.bookings.of_prestation("journee", DateRange(DAY, DAY))] == ["C0"]


def test_an_outbox_message_queued_twice_with_other_content_is_refused() -> None:
    store = seeded()
    with store.unit_of_work() as uow:
        uow.outbox.add(message("m-1", "F0"))
        with pytest.raises(InvalidInput):
            uow.outbox.add(message("m-1", "F0", "FAC-enfance-2026-000009"))


def test_two_activations_cannot_share_a_token_hash() -> None:
    accounts = MemoryAccountStore()
    issued = dt.datetime(2026, 9, 1, 9, 0, tzinfo=PARIS)
    first = Activation(
        "act-1",
        "saint-aubin",
        "F0",
        "F0-g1",
        token_hash("t"),
        issued,
        issued + dt.timedelta(days=14),
        "agent-1",
    )
    accounts.save_activation(first)
    with pytest.raises(InvalidInput):
        accounts.save_activation(attrs.evolve(first, id="act-2"))
    with pytest.raises(NotFound):
        accounts.account("acc-unknown")


def test_a_unit_of_work_sees_every_table_of_the_store() -> None:
    # A table without its view would never be read back nor committed.
    committed = _Tables()
    assert set(vars(_Views(committed))) == set(vars(committed))
    assert all(view.committed is getattr(committed, name) for name, view in vars(_Views(committed)).items())


@pytest.mark.parametrize("module", sorted(REPOSITORIES))
def test_a_repository_uses_only_what_its_unit_of_work_names(module: str) -> None:
    # The model of a store for a host's developer: lock(), tables, see, touch; never the store's insides.
    text = (Path(memory.__file__).parent / f"{module}.py").read_text(encoding="utf-8")
    assert re.findall(r"\b_store\b|_uow\._\w+", text) == []
