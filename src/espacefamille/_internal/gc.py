"""Pausing Python's cyclic garbage collector while a month-end run builds a city's invoices.

A run allocates millions of small objects that reference counting frees (rows, runs of days, lines) while it
keeps the documents it made: the cyclic collector then scans an ever larger heap again and again, a fifth of
the run's time on the SQLite store, to find no cycle. ``paused()`` switches it off for the run and back on
after (only if it was on: a host that runs without it keeps it off). The collector is process-wide: other
threads' cyclic garbage waits for the end of the run, which reference counting does not need.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["paused"]


@contextmanager
def paused() -> Iterator[None]:
    """Run the block without the cyclic garbage collector; nested uses are harmless."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
