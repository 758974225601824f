"""``MemoryStore`` and its unit of work: the committed tables under one lock, a unit of work's changes, the
versions it read and wrote."""

from __future__ import annotations

import threading
from contextlib import AbstractContextManager
from types import TracebackType

from espacefamille.adapters.memory.attendance import _MemoryAttendance
from espacefamille.adapters.memory.bookings import _MemoryBookings
from espacefamille.adapters.memory.documents import _MemoryDocuments
from espacefamille.adapters.memory.families import _MemoryFamilies
from espacefamille.adapters.memory.mandates import _MemoryMandates
from espacefamille.adapters.memory.online_payments import _MemoryOnlinePayments
from espacefamille.adapters.memory.outbox import _MemoryOutbox
from espacefamille.adapters.memory.requests import _MemoryRequests
from espacefamille.adapters.memory.runs import _MemoryMonthEndRuns
from espacefamille.adapters.memory.submissions import _MemorySubmissions
from espacefamille.adapters.memory.tables import _SINGLE, _Key, _Tables, _Views
from espacefamille.commune import Commune
from espacefamille.errors import ConcurrentChange, NotFound


class MemoryUnitOfWork:
    """One all-or-nothing set of reads and writes on a ``MemoryStore`` (see ``espacefamille.ports``).

    Its repositories work through four things of it: ``lock()`` (the store's lock, held while they read the
    committed rows), ``tables`` (each table as it sees it: its changes over the committed rows), ``see``
    (what they read: the version it depends on) and ``touch`` (what they write: a version its commit bumps).
    """

    def __init__(self, store: MemoryStore) -> None:
        self._lock = store._lock
        self._committed = store._tables
        self._versions = store._versions
        self.tables = _Views(store._tables)
        # The outbox messages this unit of work added (not changed): someone may queue the same meanwhile.
        self.added_messages: set[str] = set()
        self._seen: dict[_Key, int] = {}
        self._written: set[_Key] = set()
        self.families = _MemoryFamilies(self)
        self.bookings = _MemoryBookings(self)
        self.attendance = _MemoryAttendance(self)
        self.documents = _MemoryDocuments(self)
        self.runs = _MemoryMonthEndRuns(self)
        self.mandates = _MemoryMandates(self)
        self.online_payments = _MemoryOnlinePayments(self)
        self.requests = _MemoryRequests(self)
        self.submissions = _MemorySubmissions(self)
        self.outbox = _MemoryOutbox(self)

    def _reset(self) -> None:
        for view in self.tables.all():
            view.clear()
        self.added_messages.clear()
        self._seen.clear()
        self._written.clear()

    def __enter__(self) -> MemoryUnitOfWork:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.rollback()

    # -- what its repositories use -------------------------------------------------------------------

    def lock(self) -> AbstractContextManager[bool]:
        """The store's lock: held while reading the committed rows, and by ``see`` and ``touch``."""
        return self._lock

    def see(self, key: _Key) -> None:
        """Depend on ``key`` (``tables._Key``) as it is now: the first read records its version, which the
        commit compares (always for a family and what a régie billed through, otherwise if written too)."""
        if key not in self._seen:
            self._seen[key] = self._versions.get(key, 0)

    def touch(self, key: _Key) -> None:
        """Write ``key``: seen (as by ``see``), and its version bumped by the commit."""
        self.see(key)
        self._written.add(key)

    # -- commit and rollback -------------------------------------------------------------------------

    def commit(self) -> None:
        with self._lock:
            commune = self.tables.commune.get(_SINGLE)
            limited = set(commune.capacities) if commune is not None else set()
            for key, version in self._seen.items():
                kind, ident = key
                # What a régie billed through decides whether a change is a correction: always checked.
                checked = kind in ("family", "billed") or (
                    key in self._written and (kind != "prestation" or ident in limited)
                )
                if checked and self._versions.get(key, 0) != version:
                    raise ConcurrentChange(
                        f"{kind} {ident!r} was changed by someone else; nothing was written",
                        message_fr="Vos données ont été modifiées entre-temps : veuillez recommencer.",
                        details={"kind": kind, "id": ident},
                    )
            self._check_documents()
            for view in self.tables.all():
                view.committed.update(view.changes)
            changed = self._committed.changed_days
            for day_key in [day_key for day_key, waiting in changed.items() if not waiting]:
                del changed[day_key]
            for key in self._written:
                self._versions[key] = self._versions.get(key, 0) + 1
        self._reset()

    def _check_documents(self) -> None:
        """Someone else may have issued the same invoice number or queued the same message meanwhile."""
        invoices, outbox = self.tables.invoices, self.tables.outbox
        for number, invoice in invoices.changes.items():
            if invoices.committed.get(number, invoice) != invoice:
                raise ConcurrentChange(
                    f"invoice {number} was issued meanwhile with other content",
                    message_fr="Ce numéro de facture a déjà été attribué : veuillez recommencer.",
                )
        for message_id in self.added_messages:
            if message_id in outbox.committed and outbox.committed[message_id] != outbox.changes[message_id]:
                raise ConcurrentChange(f"outbox message {message_id!r} was queued meanwhile")

    def rollback(self) -> None:
        self._reset()

    # -- configuration -------------------------------------------------------------------------------

    def commune(self) -> Commune:
        with self._lock:
            commune = self.tables.commune.get(_SINGLE)
        if commune is None:
            raise NotFound(
                "no commune configuration has been saved in this store",
                message_fr="La configuration de la collectivité n'est pas enregistrée.",
                code="not_found.commune",
            )
        return commune

    def save_commune(self, commune: Commune) -> None:
        self.tables.commune.put(_SINGLE, commune)


class MemoryStore:
    """A commune store in memory (``CommuneStore``); usable from several threads at once."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tables = _Tables()
        self._versions: dict[_Key, int] = {}

    def unit_of_work(self) -> MemoryUnitOfWork:
        return MemoryUnitOfWork(self)
