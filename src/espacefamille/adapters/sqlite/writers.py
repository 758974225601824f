"""The order in which a SQLite file's writers get its write lock: the order they came, kept by the kernel.

SQLite's own wait for the lock (its busy handler) sleeps and tries again, longer and longer (up to 100 ms a
sleep), so a writer that has waited a while is overtaken by newcomers finding the lock free between two of
its sleeps: in a booking rush most families waited milliseconds and a few seconds. So a unit of work first
takes an exclusive ``flock`` of a file beside the database (``<database>-lock``), then ``BEGIN IMMEDIATE``,
and lets it go when its transaction ends: the writers waiting sleep in the kernel's queue of that file and
are woken one at a time, in the order they came (a newcomer may only slip in between a release and the
next one's waking). Readers never take it, and the kernel releases it when a process dies.

It only orders the writers: SQLite's lock still guards the data, so a writer that does not queue (another
program, a store without ``fcntl``) is waited for as before. Without ``fcntl`` (Windows), for a
``:memory:`` database, or when the file cannot be created or locked, writers wait in SQLite's busy handler
as before.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

_flock: Callable[[int, int], Any] | None
try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no queue, SQLite's busy handler alone
    _flock = None
    _EXCLUSIVE = _AT_ONCE = 0
else:
    _flock = fcntl.flock
    _EXCLUSIVE, _AT_ONCE = fcntl.LOCK_EX, fcntl.LOCK_EX | fcntl.LOCK_NB


class _WriterQueue:
    """The queue of one database file's writers."""

    def __init__(self, database: Path) -> None:
        #: The lock file, or ``None``: no queue (``:memory:``, no ``fcntl``).
        self.path = None if _flock is None or str(database) == ":memory:" else lock_file(database)

    def wait(self, timeout: float) -> int | None:
        """Wait up to ``timeout`` seconds for this writer's turn: the open lock file holding it (closing it
        ends the turn), or ``None`` when there is no queue to wait in. ``TimeoutError`` when the turn did
        not come in time."""
        if self.path is None or _flock is None:
            return None
        try:
            turn = os.open(self.path, os.O_RDONLY | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError:  # a folder this process may not create the file in: no queue
            return None
        try:
            _flock(turn, _AT_ONCE)
        except BlockingIOError:
            return _Waiter(turn).turn(timeout)
        except OSError:  # a file system without locks
            os.close(turn)
            return None
        return turn


def lock_file(database: Path) -> Path:
    """The file whose lock orders the writers of ``database``."""
    return database.with_name(database.name + "-lock")


def end_turn(turn: int | None) -> None:
    """Let the next writer in (nothing when there was no queue)."""
    if turn is not None:
        os.close(turn)


class _Waiter:
    """Waits in the kernel's queue on a thread of its own, so that the writer can stop waiting in time: a
    turn that comes too late is passed on to the next at once."""

    def __init__(self, turn: int) -> None:
        self._turn = turn
        self._decided = threading.Lock()
        self._came = threading.Event()
        self._given_up = False
        self._failed = False

    def turn(self, timeout: float) -> int | None:
        threading.Thread(target=self._wait, name="espacefamille-sqlite-writers", daemon=True).start()
        if not self._came.wait(timeout):
            with self._decided:
                if not self._came.is_set():
                    self._given_up = True  # the thread closes the file when the turn comes
                    raise TimeoutError
        if self._failed:
            os.close(self._turn)
            return None
        return self._turn

    def _wait(self) -> None:
        assert _flock is not None
        try:
            _flock(self._turn, _EXCLUSIVE)
        except OSError:
            self._failed = True
        with self._decided:
            if self._given_up:
                os.close(self._turn)
            else:
                self._came.set()
