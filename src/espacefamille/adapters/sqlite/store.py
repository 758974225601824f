"""``SqliteStore`` and its unit of work: one connection, the versions it read, one write transaction."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

from espacefamille.adapters._sql import _last_commune, _places_booked_meanwhile
from espacefamille.adapters.sqlite.attendance import _SqliteAttendance
from espacefamille.adapters.sqlite.bookings import _SqliteBookings
from espacefamille.adapters.sqlite.documents import _SqliteDocuments
from espacefamille.adapters.sqlite.families import _SqliteFamilies
from espacefamille.adapters.sqlite.mandates import _SqliteMandates
from espacefamille.adapters.sqlite.online_payments import _SqliteOnlinePayments
from espacefamille.adapters.sqlite.outbox import _SqliteOutbox
from espacefamille.adapters.sqlite.requests import _SqliteRequests
from espacefamille.adapters.sqlite.runs import _SqliteMonthEndRuns
from espacefamille.adapters.sqlite.schema import (
    _BUSY_TIMEOUT_SECONDS,
    _COMMUNE_APPLICATION_ID,
    _COMMUNE_MIGRATIONS,
    _FAMILY,
    _IN_CHUNK,
    _PRESTATION,
    _chunks,
    _connect,
    _locked,
    _marks,
    _open_database,
    _scalar,
    _store_error,
)
from espacefamille.adapters.sqlite.submissions import _SqliteSubmissions
from espacefamille.adapters.sqlite.writers import _WriterQueue, end_turn
from espacefamille.billing.documents import (
    Invoice,
)
from espacefamille.commune import Commune
from espacefamille.config import dumps_commune
from espacefamille.errors import NotFound
from espacefamille.ports.store import changed_meanwhile


class SqliteStore:
    """A commune's store in one SQLite file (created, or migrated, when opened).

    A writer waits up to ``busy_timeout`` seconds for another to commit (a month-end run may take a while),
    then gives up with ``StoreUnavailable`` (``store.locked``); writers waiting are served in the order they
    came (they queue for the lock of a file ``<path>-lock`` beside the database, see ``writers``). Every
    fault SQLite reports — a read-only file or folder (refused when the store is opened), a full disk, an
    I/O error — is a ``StoreUnavailable`` with its code, and nothing of the unit of work is written.
    """

    def __init__(self, path: str | os.PathLike[str], *, busy_timeout: float = _BUSY_TIMEOUT_SECONDS) -> None:
        self.path = Path(path)
        self.busy_timeout = busy_timeout
        self._writers = _WriterQueue(self.path)
        _open_database(self.path, _COMMUNE_APPLICATION_ID, _COMMUNE_MIGRATIONS, "commune", busy_timeout)
        self._parse_commune = _last_commune()

    def __repr__(self) -> str:
        return f"SqliteStore({str(self.path)!r})"

    @contextmanager
    def _unit_of_work(self) -> Iterator[SqliteUnitOfWork]:
        try:
            connection = _connect(self.path, self.busy_timeout)
        except sqlite3.OperationalError as error:
            raise _store_error(error, self.path, self.busy_timeout) from error
        uow = SqliteUnitOfWork(self, connection)
        try:
            yield uow
        except sqlite3.OperationalError as error:
            # A lock held past the timeout, a read-only file, a full disk: the library's error, not SQLite's.
            raise _store_error(error, self.path, self.busy_timeout) from error
        finally:
            with contextlib.suppress(sqlite3.OperationalError):  # closing after a failed disk
                uow._close()

    def unit_of_work(self) -> AbstractContextManager[SqliteUnitOfWork]:
        """A unit of work on its own connection; leaving it without ``commit()`` rolls everything back."""
        return self._unit_of_work()


class SqliteUnitOfWork:
    """One all-or-nothing set of reads and writes on a ``SqliteStore`` (see the module docstring).

    Writes wait in the unit of work until ``commit()`` (or until the unit of work reads again, so that it
    reads its own writes): only then does it take the database's single write lock, so that two units of
    work may prepare their changes side by side and the second to commit learns of the conflict.
    """

    def __init__(self, store: SqliteStore, connection: sqlite3.Connection) -> None:
        self._store = store
        self._db = connection
        self._writing = False
        # The open lock file holding this unit of work's turn among the writers, while it writes.
        self._turn: int | None = None
        self._pending: list[Callable[[], None]] = []
        # What a write waiting for commit already promises: an invoice number, an outbox message id.
        self._pending_invoices: dict[str, Invoice] = {}
        self._pending_outbox: set[str] = set()
        # (scope, key) -> the version seen when first read; (scope, key) written by this unit of work.
        self._read: dict[tuple[str, str], int] = {}
        self._written: set[tuple[str, str]] = set()
        self.families = _SqliteFamilies(self)
        self.bookings = _SqliteBookings(self)
        self.attendance = _SqliteAttendance(self)
        self.documents = _SqliteDocuments(self)
        self.runs = _SqliteMonthEndRuns(self)
        self.mandates = _SqliteMandates(self)
        self.online_payments = _SqliteOnlinePayments(self)
        self.requests = _SqliteRequests(self)
        self.submissions = _SqliteSubmissions(self)
        self.outbox = _SqliteOutbox(self)

    # -- transaction ---------------------------------------------------------------------------

    def _seen(self, scope: str, key: str) -> None:
        # The version is read before the data it guards: a change in between is then seen as a
        # conflict at commit (at worst a needless retry), never missed. Under the write lock nobody else
        # can commit before this unit of work does: what it reads then cannot change, nothing to record
        # (a month-end run reads most of a city that way).
        if not self._writing and (scope, key) not in self._read:
            version = _scalar(
                self._db, "SELECT version FROM versions WHERE scope = ? AND key = ?", (scope, key)
            )
            self._read[(scope, key)] = 0 if version is None else int(version)

    def _sync(self) -> None:
        """Before a read: apply the writes waiting for commit, so the unit of work reads its own writes; or
        start the unit of work's read snapshot."""
        if self._pending:
            self._begin_writing()
            pending, self._pending = self._pending, []
            for apply in pending:
                apply()
        elif not self._db.in_transaction:
            # One snapshot for every read until the unit of work writes (WAL: a deferred transaction reads
            # the database as it was at its first read), so that two reads never straddle another process's
            # commit: a payment read before it and its allocation after, say.
            self._db.execute("BEGIN")

    def _begin_writing(self) -> None:
        if not self._writing:
            reading = self._db.in_transaction
            if reading:
                self._db.execute("COMMIT")  # the read snapshot: nothing was written in it
            # Take the write lock now (waiting for another writer to finish), so that what this
            # transaction reads cannot change before it commits.
            self._take_write_lock()
            self._writing = True
            if reading:
                # What the snapshot showed must still hold under the lock, or the reads that follow would
                # mix two states of the database: a conflict, which the caller retries from fresh reads.
                self._raise_if_changed()

    def _take_write_lock(self) -> None:
        """``BEGIN IMMEDIATE`` once this unit of work's turn among the writers has come (``writers``: in
        the order they came), waiting up to the busy timeout for both."""
        store = self._store
        began = time.monotonic()
        try:
            self._turn = store._writers.wait(store.busy_timeout)
        except TimeoutError:
            raise _locked(store.path, store.busy_timeout, {"path": str(store.path)}) from None
        waited = time.monotonic() - began
        try:
            if waited > 0.001:
                # SQLite's lock is free by now, unless a writer that does not queue holds it.
                self._busy_timeout(store.busy_timeout - waited)
            self._db.execute("BEGIN IMMEDIATE")
        except BaseException:
            self._end_turn()
            raise
        finally:
            if waited > 0.001:
                self._busy_timeout(store.busy_timeout)

    def _busy_timeout(self, seconds: float) -> None:
        self._db.execute(f"PRAGMA busy_timeout = {max(0, int(seconds * 1000)):d}")

    def _end_turn(self) -> None:
        end_turn(self._turn)
        self._turn = None

    def _write(self, apply: Callable[[], None]) -> None:
        if self._writing:
            apply()
        else:
            self._pending.append(apply)

    def _mark(self, scope: str, key: str) -> None:
        self._written.add((scope, key))

    def _mark_owners(self, table: str, key_column: str, key: str, family_id: str) -> None:
        """A row moving between households changes both: mark the new owner and the one it had."""
        self._mark(_FAMILY, family_id)
        self._mark_previous_owners(table, (key_column,), [(key,)])

    def _mark_previous_owners(
        self, table: str, columns: Sequence[str], keys: Iterable[Sequence[object]]
    ) -> None:
        """The rows of ``table`` whose unique key (``columns``) is one of ``keys`` belong to households
        this write may move them from: mark those too, read in a statement per few hundred keys."""
        unique = list(dict.fromkeys(map(tuple, keys)))
        per_read = _IN_CHUNK // len(columns)
        row = f"({_marks(len(columns))})"
        join = " AND ".join(f"t.{column} = k.column{n}" for n, column in enumerate(columns, 1))
        for start in range(0, len(unique), per_read):
            chunk = unique[start : start + per_read]
            for (previous,) in self._db.execute(
                f"SELECT DISTINCT t.family_id FROM (VALUES {', '.join([row] * len(chunk))}) AS k "
                f"JOIN {table} AS t ON {join}",
                [value for key in chunk for value in key],
            ):
                self._mark(_FAMILY, previous)

    def _changed(self, *, places: bool) -> list[tuple[str, str]]:
        """What this unit of work read that someone else changed since: the families, numbering and
        carried amounts it read, or (``places``) the limited places it read and then booked."""
        if places:
            written = {key for scope, key in self._written if scope == _PRESTATION}
            limited = {
                row[0]
                for row in self._db.execute("SELECT prestation_id FROM capacity_limited").fetchall()
                if row[0] in written
            }
            checked = {(s, k): v for (s, k), v in self._read.items() if s == _PRESTATION and k in limited}
        else:
            checked = {(s, k): v for (s, k), v in self._read.items() if s != _PRESTATION}
        changed: list[tuple[str, str]] = []
        by_scope: dict[str, list[str]] = {}
        for scope, key in checked:
            by_scope.setdefault(scope, []).append(key)
        for scope, keys in by_scope.items():
            for chunk in _chunks(keys):
                current = dict(
                    self._db.execute(
                        "SELECT key, version FROM versions "
                        f"WHERE scope = ? AND key IN ({_marks(len(chunk))})",
                        (scope, *chunk),
                    ).fetchall()
                )
                changed.extend((scope, key) for key in chunk if current.get(key, 0) != checked[(scope, key)])
        return sorted(changed)

    def _raise_if_changed(self) -> None:
        changed = self._changed(places=False)
        if changed:
            raise changed_meanwhile(changed)

    def commit(self) -> None:
        """Write everything at once, or raise ``ConcurrentChange`` and write nothing."""
        try:
            if self._pending or self._writing:
                self._begin_writing()
            else:
                # Nothing to write, but the caller relies on what it read being still true: checked against
                # the database as it is now, not the snapshot the reads saw.
                if self._db.in_transaction:
                    self._db.execute("COMMIT")
                self._db.execute("BEGIN")
            # Checked before the writes are applied: a write that fails because of someone else's
            # change (an invoice number already taken) is reported as the conflict it is.
            self._raise_if_changed()
            self._sync()
            changed = self._changed(places=True)
            if changed:
                raise _places_booked_meanwhile(changed)
            self._db.executemany(
                "INSERT INTO versions (scope, key, version) VALUES (?, ?, 1) "
                "ON CONFLICT (scope, key) DO UPDATE SET version = version + 1",
                sorted(self._written),
            )
            self._db.execute("COMMIT")
        except BaseException as error:
            # After a failed disk the rollback may fail too: closing the connection then rolls back.
            with contextlib.suppress(sqlite3.OperationalError):
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
            self._reset()
            if isinstance(error, sqlite3.OperationalError):
                store = self._store
                raise _store_error(error, store.path, store.busy_timeout) from error
            raise
        self._reset()

    def rollback(self) -> None:
        """Forget every write since the last commit."""
        if self._db.in_transaction:
            self._db.execute("ROLLBACK")
        self._reset()

    def _reset(self) -> None:
        self._end_turn()
        self._writing = False
        self._pending.clear()
        self._pending_invoices.clear()
        self._pending_outbox.clear()
        self._read.clear()
        self._written.clear()

    def _close(self) -> None:
        try:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
        finally:
            self._reset()
            self._db.close()

    def commune(self) -> Commune:
        self._sync()
        text = _scalar(self._db, "SELECT toml FROM commune")
        if text is None:
            raise NotFound(
                "no commune configuration saved in this store",
                message_fr="Aucune configuration de commune n'est enregistrée.",
                code="not_found.commune",
            )
        return self._store._parse_commune(text)

    def save_commune(self, commune: Commune) -> None:
        text = dumps_commune(commune)

        def apply() -> None:
            self._db.execute(
                "INSERT INTO commune (singleton, toml) VALUES (1, ?) "
                "ON CONFLICT (singleton) DO UPDATE SET toml = excluded.toml",
                (text,),
            )
            self._db.execute("DELETE FROM capacity_limited")
            self._db.executemany(
                "INSERT INTO capacity_limited (prestation_id) VALUES (?)",
                [(prestation_id,) for prestation_id in sorted(commune.capacities)],
            )

        self._write(apply)
