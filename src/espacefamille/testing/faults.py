"""Fault injection: a store failing at its k-th write, to prove a failure leaves nothing half-written.

``FailingStore(store, fail_at=k)`` wraps any ``CommuneStore``. Writes (every repository call named
``save*``, ``add*``, ``mark_*`` or ``clear_*``, and ``save_commune``) are counted across all its units of
work; the k-th raises ``InjectedFault`` (its ``operation`` names it: ``families.save_unpaid_exemption``)
before reaching the wrapped store.
A service that lets the error escape its unit of work never commits, so nothing it wrote is visible: run
it for every k from 1 to the number of writes it makes and check that the store holds either everything
or nothing (no basket without its bookings, no invoice without its numbering, no payment without its
allocations). With ``commits=True`` each commit counts as a write too, so the k-th may be a commit.

``FailingAccountStore(accounts, fail_at=k)`` does the same for an ``AccountStore`` (its ``save_account``
and ``save_activation``): a failure between two of its writes must leave a family able to try again.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any, cast

from espacefamille.commune import Commune
from espacefamille.families.accounts import Account, Activation
from espacefamille.ports import AccountStore, CommuneStore, UnitOfWork
from espacefamille.ports.store import (
    Attendance,
    Bookings,
    Documents,
    Families,
    Mandates,
    MonthEndRuns,
    OnlinePayments,
    Outbox,
    Requests,
    Submissions,
)

__all__ = ["FailingAccountStore", "FailingStore", "InjectedFault"]

# A repository method writes when its name starts so (save, save_child, add, add_closure, mark_changed…).
_WRITES = ("save", "add", "mark_", "clear_")


class InjectedFault(RuntimeError):
    """The failure ``FailingStore`` injects (a disk full, a lost connection…); ``write`` is its rank."""

    def __init__(self, write: int, operation: str) -> None:
        super().__init__(f"injected failure at write {write} ({operation})")
        self.write = write
        self.operation = operation


class FailingStore:
    """A ``CommuneStore`` that fails at its ``fail_at``-th write (1 is the first); ``writes`` counts them
    (commits too, with ``commits``)."""

    def __init__(self, store: CommuneStore, fail_at: int, *, commits: bool = False) -> None:
        self.store = store
        self.fail_at = fail_at
        self.commits = commits
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
        self.mandates = cast(Mandates, _CountingRepository(store, "mandates", inner.mandates))
        self.online_payments = cast(
            OnlinePayments, _CountingRepository(store, "online_payments", inner.online_payments)
        )
        self.requests = cast(Requests, _CountingRepository(store, "requests", inner.requests))
        self.submissions = cast(Submissions, _CountingRepository(store, "submissions", inner.submissions))
        self.outbox = cast(Outbox, _CountingRepository(store, "outbox", inner.outbox))

    def commit(self) -> None:
        if self._store.commits:
            self._store.count("commit")
        self._inner.commit()

    def rollback(self) -> None:
        self._inner.rollback()

    def commune(self) -> Commune:
        return self._inner.commune()

    def save_commune(self, commune: Commune) -> None:
        self._store.count("save_commune")
        self._inner.save_commune(commune)


class FailingAccountStore:
    """An ``AccountStore`` that fails at its ``fail_at``-th write (1 is the first); ``writes`` counts them.

    Reads go straight through; ``fail_at = 0`` never fails (to count the writes of a call).
    """

    def __init__(self, accounts: AccountStore, fail_at: int) -> None:
        self.accounts = accounts
        self.fail_at = fail_at
        self.writes = 0
        self._lock = threading.Lock()

    def _count(self, operation: str) -> None:
        with self._lock:
            self.writes += 1
            rank = self.writes
        if rank == self.fail_at:
            raise InjectedFault(rank, operation)

    def account(self, account_id: str) -> Account:
        return self.accounts.account(account_id)

    def save_account(self, account: Account) -> None:
        self._count("accounts.save_account")
        self.accounts.save_account(account)

    def activation(self, token_hash: str) -> Activation:
        return self.accounts.activation(token_hash)

    def save_activation(self, activation: Activation) -> None:
        self._count("accounts.save_activation")
        self.accounts.save_activation(activation)
