"""The fuzz suite's service calls on the PostgreSQL store (the embedded server of ``tests/postgres_server``):
hostile arguments get a library error or succeed, never a raw psycopg or Python error, and a refused call
leaves every row of the collectivité, and the accounts, as they were. A few examples per call, so that it
stays quick; the memory store's run (``test_services_fuzz``) tries many more."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from psycopg import sql
from psycopg_pool import ConnectionPool

from espacefamille.adapters.postgres import PostgresAccountStore, PostgresStore
from espacefamille.calendar.periods import DateRange
from espacefamille.examples import example_commune
from espacefamille.services import BackOffice, FamilyPortal
from tests import postgres_server
from tests.fuzz.test_services_fuzz import (
    OFFICE_CALLS,
    PORTAL_CALLS,
    SURROGATES_INSIDE,
    call_refusing_whole,
    fuzz_call,
)
from tests.unit.test_services import open_world

# Per call (about thirty calls), each example a fresh collectivité: some ten seconds in all. Run with 25,
# the suite found nothing the memory store's run had not.
EXAMPLES = 3


@pytest.fixture(scope="module")
def pool() -> Iterator[ConnectionPool]:
    with postgres_server.pool("fuzz") as shared:
        yield shared


class PostgresWorld:
    """The services on a fresh collectivité of the shared database, and what its tables hold."""

    def __init__(self, pool: ConnectionPool) -> None:
        self.pool = pool
        self.collectivite_id = postgres_server.collectivite_id("fuzz")
        store = PostgresStore(pool, self.collectivite_id)
        _, _, self.portal, self.office = open_world(store, PostgresAccountStore(pool), example_commune())

    def held(self) -> object:
        """Every row of the collectivité's tables, and of the accounts' (which span collectivités)."""
        rows: dict[str, list[str]] = {}
        with self.pool.connection() as connection:
            tables = connection.execute(
                "SELECT table_name, bool_or(column_name = 'collectivite_id') FROM information_schema.columns "
                "WHERE table_schema = current_schema() AND table_name <> 'espacefamille_schema' "
                "GROUP BY table_name ORDER BY table_name"
            ).fetchall()
            for table, per_collectivite in tables:
                query = sql.SQL("SELECT * FROM {}").format(sql.Identifier(table))
                if per_collectivite:
                    query = sql.SQL("{} WHERE collectivite_id = %s").format(query)
                found = connection.execute(query, (self.collectivite_id,) if per_collectivite else ())
                rows[table] = sorted(repr(row) for row in found)
        return rows

    def side(self, side: str) -> FamilyPortal | BackOffice:
        return self.portal if side == "portal" else self.office


@pytest.mark.parametrize(
    ("side", "name"),
    [("portal", name) for name in sorted(PORTAL_CALLS)] + [("office", name) for name in sorted(OFFICE_CALLS)],
)
@settings(max_examples=EXAMPLES, deadline=None)
@given(data=st.data())
def test_hostile_arguments_on_postgres_get_the_library_s_errors_and_write_nothing(
    pool: ConnectionPool, side: str, name: str, data: st.DataObject
) -> None:
    world = PostgresWorld(pool)
    calls = PORTAL_CALLS if side == "portal" else OFFICE_CALLS
    fuzz_call(world.held, world.side(side), name, calls[name], data)


@pytest.mark.parametrize("name", sorted(SURROGATES_INSIDE))
def test_a_lone_surrogate_inside_a_value_never_reaches_postgres(pool: ConnectionPool, name: str) -> None:
    world = PostgresWorld(pool)
    arguments, keywords = OFFICE_CALLS[name]
    (value,) = SURROGATES_INSIDE[name]
    call_refusing_whole(world.held, world.office, name, [*arguments[:-1], value], keywords)


def test_text_and_dates_at_the_edges_are_refused_before_postgres_sees_them(pool: ConnectionPool) -> None:
    world = PostgresWorld(pool)
    for arguments in (("M\x00rtin",), ("x" * 100_000,), ("F\ud800",)):
        call_refusing_whole(
            world.held, world.portal, "children", [PORTAL_CALLS["children"][0][0], *arguments], {}
        )
    (actor, child, _, reason), keywords = PORTAL_CALLS["declare_absence"]
    for day in (dt.date(1, 1, 1), dt.date(9999, 12, 31)):
        period = DateRange(day, day)
        call_refusing_whole(
            world.held, world.portal, "declare_absence", [actor, child, period, reason], keywords
        )
