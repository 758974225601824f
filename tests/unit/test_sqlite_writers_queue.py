"""Writers of a SQLite store get its write lock in the order they came.

SQLite's own wait (its busy handler) sleeps longer and longer between tries, so a basket that has waited a
while used to be overtaken by newcomers: in the booking rush of ``benchmarks/rush.py`` a few families waited
seconds. The store now queues its writers on the lock of a file beside the database (``<path>-lock``,
``adapters.sqlite.writers``), which the kernel hands over in arrival order, frees when a process dies, and
which readers never take; the busy timeout still bounds the whole wait.
"""

from __future__ import annotations

import errno
import fcntl
import multiprocessing
import os
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from espacefamille.adapters.fake_gateway import FakeGateway
from espacefamille.adapters.sqlite import SqliteStore, SqliteUnitOfWork, writers
from espacefamille.calendar.periods import DateRange
from espacefamille.errors import StoreUnavailable
from espacefamille.ports import FixedClock
from espacefamille.services import FamilyPortal
from espacefamille.testing.builders import family
from tests import rush

SRC = Path(__file__).resolve().parents[2] / "src"
FEBRUARY = DateRange(rush.DAYS[0], rush.DAYS[-1])


def _portal(path: Path) -> FamilyPortal:
    return FamilyPortal(SqliteStore(path), gateway=FakeGateway(), clock=FixedClock(rush.OPENING))


def _validate(portal: FamilyPortal, n: int) -> list[int | None]:
    """Family ``n`` validates its basket of the February week; the waiting-list positions it is told."""
    outcome = portal.validate_basket(rush.member(n), rush.family_id(n), rush.basket(n))
    return [d.position for d in outcome.decisions]


def _queue_is_free(path: Path) -> bool:
    """Whether a writer would get its turn at once (the test takes and lets go of the lock)."""
    with open(writers.lock_file(path), "ab") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True


def _save(store: SqliteStore, family_id: str) -> float:
    """Save household ``family_id`` in a unit of work of its own; the seconds it took."""
    started = time.monotonic()
    with store.unit_of_work() as uow:
        uow.families.save(family(family_id))
        uow.commit()
    return time.monotonic() - started


def _refused(store: SqliteStore, family_id: str) -> StoreUnavailable:
    """Saving household ``family_id`` is refused: the error."""
    with store.unit_of_work() as uow:
        uow.families.save(family(family_id))
        with pytest.raises(StoreUnavailable) as caught:
            uow.commit()
    return caught.value


@contextmanager
def _writing(store: SqliteStore, family_id: str) -> Iterator[SqliteUnitOfWork]:
    """A unit of work holding the write lock, and its turn: it saved household ``family_id`` and read it."""
    with store.unit_of_work() as uow:
        uow.families.save(family(family_id))
        uow.families.get(family_id)
        yield uow


def _households(store: SqliteStore) -> list[str]:
    with store.unit_of_work() as uow:
        return sorted(f.id for f in uow.families.all())


def test_families_waiting_for_the_places_are_served_in_the_order_they_came(tmp_path: Path) -> None:
    path = tmp_path / "rush.sqlite"
    rush.prepare(SqliteStore(path), families=6, places=1)
    assert _validate(_portal(path), 0) == [None] * 5  # the first family takes the only place
    told: dict[int, list[int | None]] = {}

    def family_validates(n: int) -> None:
        told[n] = _validate(_portal(path), n)

    threads = [threading.Thread(target=family_validates, args=(n,)) for n in range(1, 6)]
    with SqliteStore(path).unit_of_work() as uow:
        # Another basket holds the places (the write lock) while five families come, one every 0.15 s.
        uow.bookings.of_prestation(rush.PRESTATION, FEBRUARY, for_booking=True)
        for thread in threads:
            thread.start()
            time.sleep(0.15)
    for thread in threads:
        thread.join(30)
    # SQLite's busy handler served them in whatever order their sleeps ended: the last comer, having slept
    # least, usually first.
    assert told == {n: [n] * 5 for n in range(1, 6)}


def test_readers_do_not_queue_and_the_turn_ends_with_the_transaction(tmp_path: Path) -> None:
    path = tmp_path / "commune.sqlite"
    store = SqliteStore(path)
    with store.unit_of_work() as uow:
        uow.families.save(family("F1"))
        assert _queue_is_free(path)  # the write waits in the unit of work until commit
        uow.families.get("F1")  # reading its own write takes the write lock, and the turn
        assert not _queue_is_free(path)
        assert _households(store) == []  # a reader neither waits nor queues
        uow.commit()
        assert _queue_is_free(path)
        uow.families.save(family("F2"))
        uow.families.get("F2")
        assert not _queue_is_free(path)
        uow.rollback()
        assert _queue_is_free(path)
    with _writing(store, "F3"):
        assert not _queue_is_free(path)
    assert _queue_is_free(path)  # left without commit: rolled back, turn ended
    assert _households(store) == ["F1"]


def test_a_writer_whose_turn_does_not_come_in_time_is_store_locked_and_passes_it_on(tmp_path: Path) -> None:
    path = tmp_path / "commune.sqlite"
    store = SqliteStore(path)
    impatient = SqliteStore(path, busy_timeout=0.2)
    with _writing(store, "F1") as uow:
        started = time.monotonic()
        refused = _refused(impatient, "F2")
        assert 0.15 < time.monotonic() - started < 2
        assert refused.code == "store.locked"
        assert refused.details == {"path": str(path)}
        uow.commit()
    # The turn that came too late was handed on at once: the next writer does not wait for it.
    assert _save(impatient, "F3") < 0.5
    assert _households(store) == ["F1", "F3"]


def test_the_wait_for_the_turn_counts_in_the_busy_timeout(tmp_path: Path) -> None:
    path = tmp_path / "commune.sqlite"
    store = SqliteStore(path, busy_timeout=1.0)
    other_tool = sqlite3.connect(path, isolation_level=None)  # a writer that does not queue
    other_tool.execute("BEGIN IMMEDIATE")
    queued = os.open(writers.lock_file(path), os.O_RDONLY | os.O_CREAT)  # and a writer holding its turn
    fcntl.flock(queued, fcntl.LOCK_EX)
    threading.Timer(0.6, os.close, (queued,)).start()
    try:
        started = time.monotonic()
        assert _refused(store, "F1").code == "store.locked"
        # 0.6 s for the turn, then what is left of the second for SQLite's lock: not a second more.
        assert 0.9 < time.monotonic() - started < 1.4
    finally:
        other_tool.execute("ROLLBACK")
        other_tool.close()
    _save(store, "F1")


def _write_and_hang(path: str, writing: Any) -> None:
    with _writing(SqliteStore(path), "F1"):
        writing.set()
        time.sleep(60)


def test_a_process_that_dies_holding_its_turn_lets_the_next_writer_in(tmp_path: Path) -> None:
    path = tmp_path / "commune.sqlite"
    store = SqliteStore(path)
    context: Any = multiprocessing.get_context("fork")
    writing = context.Event()
    process = context.Process(target=_write_and_hang, args=(str(path), writing))
    process.start()
    try:
        assert writing.wait(30)
        assert not _queue_is_free(path)
    finally:
        process.kill()
        process.join()
    assert _save(store, "F2") < 1
    assert _households(store) == ["F2"]


_WITHOUT_FCNTL = """
import sys
sys.modules["fcntl"] = None  # as on Windows
from espacefamille.adapters.sqlite import SqliteStore
from espacefamille.testing.builders import family
store = SqliteStore(sys.argv[1])
with store.unit_of_work() as uow:
    uow.families.save(family("F1"))
    uow.commit()
with store.unit_of_work() as uow:
    print(*(f.id for f in uow.families.all()))
"""


def test_without_fcntl_the_store_imports_and_writers_wait_in_sqlite_s_handler(tmp_path: Path) -> None:
    path = tmp_path / "commune.sqlite"
    result = subprocess.run(
        [sys.executable, "-c", _WITHOUT_FCNTL, str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(SRC)},
        check=True,
    )
    assert result.stdout.split() == ["F1"]
    assert not writers.lock_file(path).exists()


def _writes(store: SqliteStore) -> list[str]:
    _save(store, "F1")
    with _writing(store, "F2") as uow:
        # SQLite's own lock still guards the file.
        assert _refused(SqliteStore(store.path, busy_timeout=0.1), "F3").code == "store.locked"
        uow.commit()
    return _households(store)


def test_without_a_lock_file_writers_wait_in_sqlite_s_handler_as_before(tmp_path: Path) -> None:
    path = tmp_path / "commune.sqlite"
    writers.lock_file(path).mkdir()  # cannot be opened as a file
    assert _writes(SqliteStore(path)) == ["F1", "F2"]


def test_on_a_file_system_without_locks_writers_wait_in_sqlite_s_handler_as_before(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_locks(fd: int, operation: int) -> None:
        raise OSError(errno.ENOLCK, "No locks available")

    monkeypatch.setattr(writers, "_flock", no_locks)
    assert _writes(SqliteStore(tmp_path / "commune.sqlite")) == ["F1", "F2"]


def test_a_wait_in_the_queue_that_fails_falls_back_to_sqlite_s_handler(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def busy_then_failing(fd: int, operation: int) -> None:
        if operation & fcntl.LOCK_NB:
            raise BlockingIOError(errno.EWOULDBLOCK, "Resource temporarily unavailable")
        raise OSError(errno.ENOLCK, "No locks available")

    monkeypatch.setattr(writers, "_flock", busy_then_failing)
    assert _writes(SqliteStore(tmp_path / "commune.sqlite")) == ["F1", "F2"]


def test_an_in_memory_database_has_no_queue() -> None:
    assert writers._WriterQueue(Path(":memory:")).wait(1.0) is None
