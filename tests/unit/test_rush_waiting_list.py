"""The morning the holiday registrations open: many families at once, each told its real waiting-list
position.

The list is ordered by the instant each family joined it: the instant of its call, or just after the last
one waiting, read with the places locked (``PlaceLedger.joining_instant``): a family judged after another
comes after it, whatever its clock read. So the position a family is told is unique and only moves up.
The multi-process tests run the rush of ``tests/rush.py`` (8 worker processes validating baskets through
``FamilyPortal``) on SQLite and PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterator
from pathlib import Path

import pytest

from espacefamille.adapters.fake_gateway import FakeGateway
from espacefamille.adapters.memory import MemoryStore
from espacefamille.adapters.postgres import PostgresStore
from espacefamille.adapters.sqlite import SqliteStore
from espacefamille.families.accounts import AccountLink, FamilyMember
from espacefamille.ports import FixedClock
from espacefamille.rules.basket import Action, BasketLine
from espacefamille.rules.capacity import Capacity, PlaceLedger, Places
from espacefamille.services import FamilyPortal
from tests import postgres_server, rush

WORKERS = 8


def _basket(portal: FamilyPortal, n: int) -> rush.Basket:
    fid = rush.family_id(n)
    member = FamilyMember(
        f"acc-{fid}", [AccountLink(rush.COLLECTIVITE, fid, f"{fid}-g", "act", rush.OPENING)]
    )
    lines = [BasketLine(Action.BOOK, f"{fid}-c", rush.PRESTATION, day) for day in rush.DAYS]
    outcome = portal.validate_basket(member, fid, lines)
    return rush.Basket(fid, 0.0, tuple((d.line.day, d.code, d.position) for d in outcome.decisions))


def test_a_family_judged_later_at_the_same_instant_comes_after_and_nobody_moves() -> None:
    store = MemoryStore()
    rush.prepare(store, families=4, places=1)
    clock = FixedClock(rush.OPENING)
    portal = FamilyPortal(store, gateway=FakeGateway(), clock=clock)
    # The families come in the reverse order of their ids, all at 9:00 on the dot (one clock tick): the
    # list used to order such ties by child id, putting each newcomer ahead of those already told.
    baskets = [_basket(portal, n) for n in (3, 2, 1, 0)]
    assert [[position for _, _, position in b.told] for b in baskets] == [
        [None] * 5,
        [1] * 5,
        [2] * 5,
        [3] * 5,
    ]
    assert rush.check(store, rush.RushResult(tuple(baskets), 1.0), places=1) == []


def test_a_clock_that_goes_back_does_not_jump_the_queue() -> None:
    store = MemoryStore()
    rush.prepare(store, families=3, places=1)
    clock = FixedClock(rush.OPENING)
    portal = FamilyPortal(store, gateway=FakeGateway(), clock=clock)
    first = _basket(portal, 0)
    second = _basket(portal, 1)
    clock.advance(dt.timedelta(seconds=-30))  # another web worker whose clock is late
    third = _basket(portal, 2)
    assert [told[0][2] for told in (first.told, second.told, third.told)] == [None, 1, 2]
    assert rush.check(store, rush.RushResult((first, second, third), 1.0), places=1) == []


def test_the_joining_instant_is_the_request_s_own_or_just_after_the_last_one_waiting() -> None:
    day = rush.DAYS[0]
    ledger = PlaceLedger(Capacity(Places(1)))
    assert ledger.joining_instant(day, None, rush.OPENING) == rush.OPENING
    ledger, _ = ledger.request("ines", day, None, rush.OPENING)
    assert ledger.joining_instant(day, None, rush.OPENING) == rush.OPENING  # nobody waits yet
    ledger, _ = ledger.request("zoe", day, None, rush.OPENING)
    later = rush.OPENING + dt.timedelta(seconds=1)
    assert ledger.joining_instant(day, None, later) == later
    assert ledger.joining_instant(day, None, rush.OPENING) == rush.OPENING + dt.timedelta(microseconds=1)
    assert ledger.joining_instant(dt.date(2027, 2, 23), None, rush.OPENING) == rush.OPENING


def _rush(open_store: rush.StoreOpener, families: int) -> rush.RushResult:
    result = rush.rush(open_store, families, WORKERS)
    assert [b for b in result.baskets if b.error is not None] == []
    assert len(result.baskets) == families
    return result


def test_eight_processes_on_sqlite_never_overbook_and_tell_each_family_its_real_position(
    tmp_path: Path,
) -> None:
    path = tmp_path / "rush.sqlite"
    rush.prepare(SqliteStore(path), families=120, places=40)
    result = _rush(functools.partial(SqliteStore, path), families=120)
    assert rush.check(SqliteStore(path), result, places=40) == []


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    with postgres_server.database("rush") as url:
        yield url


def test_eight_processes_on_postgres_never_overbook_and_tell_each_family_its_real_position(
    postgres_url: str,
) -> None:
    collectivite_id = postgres_server.collectivite_id("rush")
    with PostgresStore(postgres_url, collectivite_id) as store:
        rush.prepare(store, families=120, places=40)
    result = _rush(functools.partial(PostgresStore, postgres_url, collectivite_id, pool_size=1), families=120)
    with PostgresStore(postgres_url, collectivite_id) as store:
        assert rush.check(store, result, places=40) == []
