"""The demo's time: a chosen instant that then runs on with the machine's."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable

__all__ = ["DemoClock"]


class DemoClock:
    """A ``Clock`` (``espacefamille.ports``) that starts at ``start`` and runs as the machine's clock runs.

    The demo city lives in the winter of 2026-2027, whatever the date: its deadlines and invoices keep the
    meaning they had on ``start`` while a visitor books and pays.
    """

    def __init__(self, start: dt.datetime, *, monotonic: Callable[[], float] = time.monotonic) -> None:
        if start.tzinfo is None:
            raise ValueError("the demo clock needs an aware instant")
        self.start = start
        self._monotonic = monotonic
        self._origin = monotonic()

    def now(self) -> dt.datetime:
        return self.start + dt.timedelta(seconds=self._monotonic() - self._origin)
