"""The PostgreSQL store: the conformance kit on a real server, and what only a server shows."""

from __future__ import annotations

import datetime as dt
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import attrs
import psycopg
import pytest
from psycopg.conninfo import make_conninfo
from psycopg_pool import ConnectionPool

from espacefamille.adapters.postgres import (
    ACCOUNTS_SCHEMA_VERSION,
    SCHEMA_VERSION,
    IncompatibleDatabase,
    PostgresAccountStore,
    PostgresStore,
    PostgresStoreError,
    StoreUnavailable,
)
from espacefamille.adapters.postgres.schema import _store_error
from espacefamille.calendar.periods import DateRange
from espacefamille.errors import ConcurrentChange, InvalidInput, NotFound
from espacefamille.examples import example_commune
from espacefamille.model import BookingStatus
from espacefamille.ports import AccountStore, CommuneStore
from espacefamille.testing.builders import NOVEMBER, booking, child, family
from espacefamille.testing.conformance import StoreConformance
from tests import postgres_server


@pytest.fixture(scope="module")
def postgres_url(pool: ConnectionPool) -> str:
    assert isinstance(pool.conninfo, str)
    return pool.conninfo


@pytest.fixture(scope="module")
def pool() -> Iterator[ConnectionPool]:
    with postgres_server.pool("store") as shared:
        yield shared


class TestPostgresStore(StoreConformance):
    @pytest.fixture(autouse=True)
    def _pool(self, pool: ConnectionPool) -> None:
        self.pool = pool

    def make_store(self) -> CommuneStore:
        # Every store is another collectivité of the one database: the kit checks isolation too.
        return PostgresStore(self.pool, postgres_server.collectivite_id("kit"))

    def make_account_store(self) -> AccountStore:
        store = PostgresAccountStore(self.pool)
        with self.pool.connection() as connection:
            connection.execute("TRUNCATE accounts, account_links, activations")
        return store


# -- what only a server shows ------------------------------------------------------------------

JOURNEE_DAY = dt.date(2026, 12, 23)  # the example commune limits "journee" (ALSH day) to 40 places


def _seeded(pool: ConnectionPool, collectivite_id: str, families: int = 2) -> PostgresStore:
    store = PostgresStore(pool, collectivite_id)
    with store.unit_of_work() as uow:
        uow.save_commune(example_commune())
        for index in range(1, families + 1):
            uow.families.save(family(f"F{index}"))
            uow.families.save_child(child(f"C{index}", f"F{index}"))
        uow.commit()
    return store


def test_a_new_database_records_its_schema_versions(postgres_url: str) -> None:
    with PostgresStore(postgres_url, "saint-aubin") as store, PostgresAccountStore(postgres_url) as accounts:
        assert "saint-aubin" in repr(store)
        assert "pool" in repr(accounts)
        with psycopg.connect(postgres_url) as connection:
            versions: dict[str, int] = dict(
                connection.execute("SELECT component, version FROM espacefamille_schema").fetchall()
            )
    assert versions == {"commune": SCHEMA_VERSION, "accounts": ACCOUNTS_SCHEMA_VERSION}


def test_collectivites_of_one_database_never_see_each_other(pool: ConnectionPool) -> None:
    here, there = _seeded(pool, "iso-here"), _seeded(pool, "iso-there")
    with here.unit_of_work() as uow:
        uow.families.save(attrs.evolve(family("F1"), direct_debit=True))
        uow.bookings.save([booking("C1", "F1")])
        uow.commit()
    with there.unit_of_work() as uow:
        assert uow.families.get("F1").direct_debit is False
        assert uow.bookings.of_family("F1", NOVEMBER) == ()
    with PostgresStore(pool, "iso-elsewhere").unit_of_work() as uow, pytest.raises(NotFound):
        uow.commune()


def test_a_database_of_a_newer_schema_is_refused_untouched() -> None:
    with postgres_server.database("newer") as url:
        with psycopg.connect(url) as connection:
            connection.execute("CREATE TABLE espacefamille_schema (component text PRIMARY KEY, version int)")
            connection.execute("INSERT INTO espacefamille_schema VALUES ('commune', 99)")
        with pytest.raises(IncompatibleDatabase) as refused:
            PostgresStore(url, "saint-aubin")
        assert refused.value.code == "store.schema_too_new"
        assert refused.value.details["version"] == 99
        with psycopg.connect(url) as connection:
            assert connection.execute("SELECT to_regclass('families')").fetchone() == (None,)


def test_a_database_holding_someone_elses_tables_is_refused() -> None:
    with postgres_server.database("foreign") as url:
        with psycopg.connect(url) as connection:
            connection.execute("CREATE TABLE families (id text PRIMARY KEY)")
        with pytest.raises(IncompatibleDatabase) as refused:
            PostgresStore(url, "saint-aubin")
        assert refused.value.code == "store.foreign_database"


def test_a_wrong_database_or_server_is_one_clear_error(postgres_url: str) -> None:
    with pytest.raises(StoreUnavailable) as missing:
        PostgresStore(make_conninfo(postgres_url, dbname="no_such_database"), "saint-aubin")
    assert missing.value.code == "store.unavailable"
    assert "no_such_database" in str(missing.value)
    with pytest.raises(StoreUnavailable):
        PostgresAccountStore("postgresql://nobody@127.0.0.1:1/espacefamille?connect_timeout=2")
    with pytest.raises(InvalidInput):
        PostgresStore(postgres_url, "")


@pytest.mark.skipif(
    bool(os.environ.get(postgres_server.ENVIRONMENT)), reason="it edits the embedded server's pg_hba.conf"
)
def test_a_wrong_password_is_one_clear_error_that_never_shows_the_password(postgres_url: str) -> None:
    # The embedded server trusts every local user; this one must give its password (scram-sha-256), as
    # on a host's server.
    role, right, wrong = "ef_with_password", "bon-mot-de-passe", "mauvais-mot-de-passe"
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        hba = Path(admin.execute("SHOW hba_file").fetchone()[0])  # type: ignore[index]
        admin.execute(f"DROP ROLE IF EXISTS {role}")
        admin.execute(f"CREATE ROLE {role} LOGIN PASSWORD '{right}'")
        trusted = hba.read_text()
        hba.write_text(
            f"local all {role} scram-sha-256\nhost all {role} 127.0.0.1/32 scram-sha-256\n{trusted}"
        )
        admin.execute("SELECT pg_reload_conf()")
        try:
            with_password = make_conninfo(postgres_url, user=role, password=right)
            for _ in range(50):  # the server reads its rules again soon after the signal
                try:
                    psycopg.connect(make_conninfo(postgres_url, user=role, password=wrong)).close()
                except psycopg.OperationalError:
                    break
                time.sleep(0.05)
            psycopg.connect(with_password).close()
            with pytest.raises(StoreUnavailable) as refused:
                PostgresStore(make_conninfo(postgres_url, user=role, password=wrong), "saint-aubin")
            assert refused.value.code == "store.unavailable"
            assert "password authentication failed" in str(refused.value)
            assert wrong not in str(refused.value)
            assert wrong not in refused.value.message_fr
            with pytest.raises(StoreUnavailable):
                PostgresAccountStore(make_conninfo(postgres_url, user=role, password=""))
        finally:
            hba.write_text(trusted)
            admin.execute("SELECT pg_reload_conf()")
            admin.execute(f"DROP ROLE IF EXISTS {role}")


def test_a_server_connection_lost_mid_work_is_the_library_error_and_nothing_is_half_written(
    pool: ConnectionPool,
) -> None:
    store = _seeded(pool, "lost")
    with store.unit_of_work() as uow:
        uow.bookings.save([booking("C1", "F1")])
        uow.bookings.of_family("F1", NOVEMBER)  # applied in the transaction, not committed
        with pool.connection() as killer:
            pid = uow._db.info.backend_pid
            killer.execute("SELECT pg_terminate_backend(%s)", (pid,))
        uow.families.save(family("F1"))
        with pytest.raises(StoreUnavailable):
            uow.commit()
    # The pool replaces the broken connection; the rerun completes.
    with store.unit_of_work() as uow:
        assert uow.bookings.of_family("F1", NOVEMBER) == ()
        uow.bookings.save([booking("C1", "F1")])
        uow.commit()
    with store.unit_of_work() as uow:
        assert uow.bookings.of_family("F1", NOVEMBER) == (booking("C1", "F1"),)


def test_a_failed_statement_is_the_library_error(pool: ConnectionPool) -> None:
    store = _seeded(pool, "failed")
    with store.unit_of_work() as uow:
        with pytest.raises(PostgresStoreError) as failed:
            uow._rows("SELECT no_such_column FROM families")
        assert failed.value.code == "store.database_error"
        assert uow.families.get("F1") == family("F1")  # the unit of work goes on after a rollback


def test_a_deadlock_between_commits_is_a_concurrent_change() -> None:
    error = _store_error(psycopg.errors.DeadlockDetected("deadlock detected"))
    assert isinstance(error, ConcurrentChange)


def test_threads_rushing_for_the_last_places_never_exceed_them(pool: ConnectionPool) -> None:
    # 7 households, 3 places left on one ALSH day (37 of 40 taken): each reads the places and books if one
    # is free, retrying on ConcurrentChange, each on its own connection, at once.
    store = _seeded(pool, "rush", families=7)
    with store.unit_of_work() as uow:
        uow.bookings.save([booking(f"X{index}", "F1", JOURNEE_DAY, "journee") for index in range(37)])
        uow.commit()
    day = DateRange(JOURNEE_DAY, JOURNEE_DAY)
    outcomes: dict[str, str] = {}
    errors: list[BaseException] = []
    start = threading.Barrier(7)

    def rush(index: int) -> None:
        try:
            start.wait()
            while True:
                try:
                    with store.unit_of_work() as uow:
                        taken = [
                            b
                            for b in uow.bookings.of_prestation("journee", day)
                            if b.status is BookingStatus.BOOKED
                        ]
                        if len(taken) >= 40:
                            outcomes[f"F{index}"] = "full"
                            return
                        uow.bookings.save([booking(f"C{index}", f"F{index}", JOURNEE_DAY, "journee")])
                        uow.commit()
                        outcomes[f"F{index}"] = "booked"
                        return
                except ConcurrentChange:
                    continue
        except BaseException as error:  # reported to the main thread
            errors.append(error)

    threads = [threading.Thread(target=rush, args=(index,)) for index in range(1, 8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(outcomes.values()) == ["booked"] * 3 + ["full"] * 4
    with store.unit_of_work() as uow:
        assert len(uow.bookings.of_prestation("journee", day)) == 40
