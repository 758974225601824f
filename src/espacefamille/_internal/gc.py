"""Pausing Python's cyclic garbage collector while a month-end run builds a city's invoices — when asked.

A run allocates millions of small objects that reference counting frees (rows, runs of days, lines) while it
keeps the documents it made: the cyclic collector then scans an ever larger heap again and again, a fifth of
the run's time on the SQLite store, to find no cycle. ``paused()`` switches it off for a block and back on
after, only if it was on when the first block began. The collector is process-wide, so the pause is opt-in
(``BackOffice.run_month_end(..., pause_collector=True)``, which the command line and the benchmarks use): a
host whose other threads make cyclic garbage leaves it off. Blocks may overlap (nested, or in several
threads): the collector comes back when the last one ends.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["paused"]

_lock = threading.Lock()
_pausing = 0  # blocks under way
_restore = False  # whether the collector was on when the first of them began


@contextmanager
def paused() -> Iterator[None]:
    """Run the block without the cyclic garbage collector (see the module docstring)."""
    global _pausing, _restore  # noqa: PLW0603 - one process-wide collector, one count of its pauses
    with _lock:
        if _pausing == 0:
            _restore = gc.isenabled()
            gc.disable()
        _pausing += 1
    try:
        yield
    finally:
        with _lock:
            _pausing -= 1
            if _pausing == 0 and _restore:
                gc.enable()
