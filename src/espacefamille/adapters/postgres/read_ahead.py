"""Reading a month-end run's next batch of households ahead, on a second connection, while the caller bills
the current one.

A month-end run bills a city a batch at a time, each batch in a unit of work of its own: read the batch's
households, bill them (Python), write their documents (the server), commit. Read one after the other, the
server waits for Python while it bills, and Python for the server while it reads: at 10,000 children, the
reads of the batches took about a sixth of the run. So when a unit of work has read a whole batch
(``MonthEndRuns.family_records`` with its ``batch``), the store starts reading the next one in a thread, on
another connection of its pool; the run's next unit of work takes it instead of reading it again.

What the next unit of work takes is what it would have read itself, as it would have read it: each household
with the version it had when read (read in the same statement as the household, before the rest of its
records), which the unit of work checks at commit as for its own reads — a household that changed in between
(a basket validated meanwhile) makes the batch a conflict to retry, and the retry reads it again. It is taken
only by a unit of work that has written nothing yet (it would otherwise need to read its own writes), and only
for the very reads it answers (the same period, the same first household, the same batch, the same
documents). Anything else — no second connection, an error, another request — and the unit of work reads for
itself: reading ahead saves time, never changes an answer.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

T = TypeVar("T")

_WAITING, _READING, _DONE, _CANCELLED = "waiting for a connection", "reading", "done", "cancelled"


class _ReadAhead(Generic[T]):
    """One read running in a thread for a later request ``key``.

    ``read(begun)`` does the reading: it obtains its connection, then calls ``begun()`` — which says whether
    to go on (False: the read was given up while it waited for a connection) — then reads and returns what
    it read. ``take(key)`` gives that result to the request it was for (waiting for the read if it has
    begun), or None: another request, a read given up while it waited, or one that failed.
    """

    def __init__(self, key: Hashable, read: Callable[[Callable[[], bool]], T]) -> None:
        self.key = key
        self._read = read
        self._lock = threading.Lock()
        self._state = _WAITING
        self._result: T | None = None
        self._thread = threading.Thread(target=self._run, name="espacefamille-read-ahead", daemon=True)
        self._thread.start()

    def _begun(self) -> bool:
        with self._lock:
            if self._state == _CANCELLED:
                return False
            self._state = _READING
            return True

    def _run(self) -> None:
        result: T | None = None
        try:
            result = self._read(self._begun)
        except Exception:  # the caller reads for itself, and meets the error there
            result = None
        with self._lock:
            if self._state != _CANCELLED:
                self._result, self._state = result, _DONE

    def take(self, key: Hashable) -> T | None:
        """What was read for ``key``; None when it was for another request, given up or failed."""
        with self._lock:
            if self._state == _WAITING or key != self.key:
                self._state = _CANCELLED
                return None
        self._thread.join()
        with self._lock:
            result, self._result = self._result, None
            self._state = _CANCELLED
            return result

    def cancel(self, *, wait: bool) -> None:
        """Give the read up; with ``wait``, wait for its thread to end (a store closing its pool)."""
        with self._lock:
            self._state = _CANCELLED
            self._result = None
        if wait:
            self._thread.join()
