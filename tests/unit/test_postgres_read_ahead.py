"""The PostgreSQL store reads a month-end run's next batch of households ahead, on another connection, while
the run bills the current one — and a run bills exactly what it would have billed without it: a household
that changed after its batch was read ahead is billed as it is at commit.

Saint-Aubin-des-Prés bills November 2026's canteen meals (2,60 € each at QF 800) on 1 December for seven
households, two at a time.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Iterator
from zoneinfo import ZoneInfo

import pytest
from psycopg_pool import ConnectionPool

from espacefamille.adapters.postgres import PostgresStore
from espacefamille.adapters.postgres.read_ahead import _ReadAhead
from espacefamille.billing.documents import Invoice
from espacefamille.calendar.periods import DateRange
from espacefamille.examples import example_commune
from espacefamille.families.accounts import Agent, AgentRole
from espacefamille.model import (
    Booking,
    BookingStatus,
)
from espacefamille.ports import FixedClock
from espacefamille.services import BackOffice
from tests import postgres_server
from tests.stores import canteen_city

PARIS = ZoneInfo("Europe/Paris")
AGENT = Agent("agent-1", "saint-aubin", AgentRole.ADMINISTRATEUR)
NOVEMBER = DateRange.month(2026, 11)
RUN_AT = dt.datetime(2026, 12, 1, 10, 0, tzinfo=PARIS)
HOUSEHOLDS = 7


@pytest.fixture(scope="module")
def pool() -> Iterator[ConnectionPool]:
    with postgres_server.pool("read_ahead", size=4) as shared:
        yield shared


def _meals() -> list[dt.date]:
    return list(example_commune().opening_calendar("repas").open_days(NOVEMBER))


def _city(pool: ConnectionPool, *, read_ahead: bool = True) -> PostgresStore:
    return _fill(PostgresStore(pool, postgres_server.collectivite_id("read-ahead"), read_ahead=read_ahead))


def _fill(store: PostgresStore) -> PostgresStore:
    """Households F01…F07, each with one child booked on every November meal but the last."""
    canteen_city(store, HOUSEHOLDS, meals_missed=lambda _: 1)
    return store


def _invoices(store: PostgresStore) -> list[Invoice]:
    with store.unit_of_work() as uow:
        return [
            invoice
            for index in range(1, HOUSEHOLDS + 1)
            for invoice in uow.documents.invoices_of(f"F{index:02}")
        ]


def _taken(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Whether each batch after a run's first was given what was read ahead for it."""
    taken: list[bool] = []
    original = PostgresStore._read_ahead_for

    def recorded(self: PostgresStore, key: object) -> object:
        batch = original(self, key)
        taken.append(batch is not None)
        return batch

    monkeypatch.setattr(PostgresStore, "_read_ahead_for", recorded)
    return taken


def _run(store: PostgresStore, progress: Callable[[int, int], None] | None = None) -> None:
    BackOffice(store, clock=FixedClock(RUN_AT)).run_month_end(
        AGENT, "enfance", NOVEMBER, issued_on=dt.date(2026, 12, 1), batch=2, progress=progress
    )


def _run_on(store: PostgresStore) -> PostgresStore:
    _run(store)
    return store


def _content(invoices: list[Invoice]) -> list[tuple[object, ...]]:
    return [(i.number, i.family_id, i.total, [(line.label, line.days) for line in i.lines]) for i in invoices]


def test_a_run_reading_ahead_bills_what_a_run_reading_each_batch_itself_bills(
    pool: ConnectionPool, monkeypatch: pytest.MonkeyPatch
) -> None:
    ahead, alone = _city(pool), _city(pool, read_ahead=False)
    taken = _taken(monkeypatch)
    _run(ahead)
    # Seven households two at a time: the three batches after the first were read ahead.
    assert taken == [True, True, True]
    taken.clear()
    _run(alone)
    assert taken == [False, False, False]
    billed = _invoices(ahead)
    assert len(billed) == HOUSEHOLDS
    assert _content(billed) == _content(_invoices(alone))
    # Running the month again issues nothing new, read ahead or not.
    _run(ahead)
    assert _content(_invoices(ahead)) == _content(billed)


def test_a_household_changed_after_its_batch_was_read_ahead_is_billed_as_it_is_then(
    pool: ConnectionPool, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = _city(pool)
    taken = _taken(monkeypatch)
    last_meal = _meals()[-1]
    changed = threading.Event()

    def progress(done: int, total: int) -> None:
        # While F01 of the first batch is billed, F03 and F04 are read ahead; once they are, F03's family
        # books November's last meal (another unit of work, committed).
        if changed.is_set():
            return
        ahead = store._ahead
        assert ahead is not None
        ahead._thread.join()
        with store.unit_of_work() as uow:
            uow.bookings.save([Booking("C03", "repas", last_meal, "F03", BookingStatus.BOOKED, RUN_AT)])
            uow.commit()
        changed.set()

    _run(store, progress)
    assert changed.is_set()
    by_family = {invoice.family_id: invoice for invoice in _invoices(store)}
    meals = len(_meals())
    assert by_family["F03"].lines[0].days == tuple(_meals())  # the meal booked meanwhile is billed
    assert [len(by_family[f"F{i:02}"].lines[0].days) for i in (1, 2, 4, 5)] == [meals - 1] * 4
    # The second batch was taken as read ahead, found F03 changed at commit, and was read again (the slot
    # then held the third batch's read); the later batches were read ahead again.
    assert taken == [True, False, True, True]


def test_a_store_with_one_connection_reads_each_batch_itself(
    pool: ConnectionPool, monkeypatch: pytest.MonkeyPatch
) -> None:
    taken = _taken(monkeypatch)
    with postgres_server.database("read_ahead_one") as url, PostgresStore(url, "one", pool_size=1) as store:
        _run(_fill(store))
        assert taken == [False, False, False]  # its one connection is the run's
        assert _content(_invoices(store)) == _content(_invoices(_run_on(_city(pool))))


def test_what_was_read_ahead_goes_only_to_the_request_it_was_read_for() -> None:
    release = threading.Event()

    def read(begun: Callable[[], bool]) -> str | None:
        assert begun()
        release.wait(5)
        return "the batch"

    ahead = _ReadAhead("batch after F02", read)
    release.set()
    assert ahead.take("batch after F04") is None  # another request: given up
    assert ahead.take("batch after F02") is None  # and not given to anyone afterwards

    ahead = _ReadAhead("batch after F02", read)
    assert ahead.take("batch after F02") == "the batch"  # waits for the read that has begun
    assert ahead.take("batch after F02") is None  # given once


def test_a_read_ahead_still_waiting_for_a_connection_or_failing_is_given_up() -> None:
    connection = threading.Event()
    went_on: list[bool] = []

    def waiting(begun: Callable[[], bool]) -> str | None:
        connection.wait(5)  # the pool has no connection to spare yet
        went_on.append(begun())
        return "the batch" if went_on[-1] else None

    ahead = _ReadAhead("batch after F02", waiting)
    assert ahead.take("batch after F02") is None  # the caller reads for itself rather than wait
    connection.set()
    ahead.cancel(wait=True)
    assert went_on == [False]  # and the read stopped once it had its connection

    def failing(begun: Callable[[], bool]) -> str:
        begun()
        raise OSError("server closed the connection")

    ahead = _ReadAhead("batch after F02", failing)
    ahead._thread.join()
    assert ahead.take("batch after F02") is None
