"""Fault injection: a commune store failing at its k-th write, to prove a failure leaves nothing half-written.

``FailingStore(store, fail_at=k)`` wraps any ``CommuneStore``. Writes (every repository call named
``save*``, ``add*``, ``mark_*`` or ``clear_*``, and ``save_commune``) are counted across all its units of
work; the k-th raises ``InjectedFault`` (its ``operation`` names it: ``families.save_unpaid_exemption``)
before reaching the wrapped store.
A service that lets the error escape its unit of work never commits, so nothing it wrote is visible: run
it for every k from 1 to the number of writes it makes and check that the store holds either everything
or nothing (no basket without its bookings, no invoice without its numbering, no payment without its
allocations).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any, cast

from espacefamille.commune import Commune
from espacefamille.ports import CommuneStore, UnitOfWork
from espacefamille.ports.store import (
    Attendance,
    Bookings,
    Documents,
    Families,
    MonthEndRuns,
    OnlinePayments,
    Outbox,
    Requests,
)

__all__ = ["FailingStore", "InjectedFault"]

# A repository method writes when its name starts so (save, save_child, add, add_closure, mark_changed…).
_WRITES = ("save", "add", "mark_", "clear_")


class InjectedFault(RuntimeError):
    """The failure ``FailingStore`` injects (a disk full, a lost connection…); ``write`` is its rank."""

    def __init__(self, write: int, operation: str) -> None:
        super().__init__(f"injected failure at write {write} ({operation})")
        self.write = write
        self.operation = operation


class FailingStore:
    """A ``CommuneStore`` that fails at its ``fail_at``-th write (1 is the first); ``writes`` counts them."""

    def __init__(self, store: CommuneStore, fail_at: int) -> None:
        self.store = store
        self.fail_at = fail_at
        self.writes = 0
        self._lock = threading.Lock()

    def count(self, operation: str) -> None:
        """Count one write, failing if it is the ``fail_at``-th."""
        with self._lock:
            self.writes += 1
            rank = self.writes
        if rank == self.fail_at:
            raise InjectedFault(rank, operation)

    def unit_of_work(self) -> AbstractContextManager[UnitOfWork]:
        return self._unit_of_work()

    @contextmanager
    def _unit_of_work(self) -> Iterator[UnitOfWork]:
        with self.store.unit_of_work() as inner:
            yield _FailingUnitOfWork(self, inner)


class _CountingRepository:
    """A repository whose writes are counted before they reach the wrapped one; reads go straight through."""

    def __init__(self, store: FailingStore, name: str, inner: object) -> None:
        self._store = store
        self._name = name
        self._inner = inner

    def __getattr__(self, method: str) -> Any:
        target = getattr(self._inner, method)
        if not method.startswith(_WRITES):
            return target

        def write(*args: object, **kwargs: object) -> object:
            self._store.count(f"{self._name}.{method}")
            return cast(Callable[..., object], target)(*args, **kwargs)

        return write


class _FailingUnitOfWork:
    """The wrapped unit of work, its repositories' writes counted first."""

    def __init__(self, store: FailingStore, inner: UnitOfWork) -> None:
        self._store = store
        self._inner = inner
        self.families = cast(Families, _CountingRepository(store, "families", inner.families))
        self.bookings = cast(Bookings, _CountingRepository(store, "bookings", inner.bookings))
        self.attendance = cast(Attendance, _CountingRepository(store, "attendance", inner.attendance))
        self.documents = cast(Documents, _CountingRepository(store, "documents", inner.documents))
        self.runs = cast(MonthEndRuns, _CountingRepository(store, "runs", inner.runs))
        self.online_payments = cast(
            OnlinePayments, _CountingRepository(store, "online_payments", inner.online_payments)
        )
        self.requests = cast(Requests, _CountingRepository(store, "requests", inner.requests))
        self.outbox = cast(Outbox, _CountingRepository(store, "outbox", inner.outbox))

    def commit(self) -> None:
        self._inner.commit()

    def rollback(self) -> None:
        self._inner.rollback()

    def commune(self) -> Commune:
        return self._inner.commune()

    def save_commune(self, commune: Commune) -> None:
        self._store.count("save_commune")
        self._inner.save_commune(commune)
