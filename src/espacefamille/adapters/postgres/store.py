"""``PostgresStore`` and its unit of work: one pooled connection, the versions it read, and a commit that
locks, checks and bumps them in one transaction."""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import threading
from collections.abc import Callable, Hashable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import Any

import psycopg
from psycopg.rows import TupleRow

from espacefamille.adapters._sql import _FAMILY, _PRESTATION, _last_commune, _places_booked_meanwhile
from espacefamille.adapters.postgres.attendance import _PostgresAttendance
from espacefamille.adapters.postgres.bookings import _PostgresBookings
from espacefamille.adapters.postgres.documents import _PostgresDocuments
from espacefamille.adapters.postgres.families import _PostgresFamilies
from espacefamille.adapters.postgres.mandates import _PostgresMandates
from espacefamille.adapters.postgres.online_payments import _PostgresOnlinePayments
from espacefamille.adapters.postgres.outbox import _PostgresOutbox
from espacefamille.adapters.postgres.read_ahead import _ReadAhead
from espacefamille.adapters.postgres.requests import _PostgresRequests
from espacefamille.adapters.postgres.runs import _Batch, _PostgresMonthEndRuns
from espacefamille.adapters.postgres.schema import (
    _COMMUNE_MIGRATIONS,
    _POOL_TIMEOUT_SECONDS,
    Connection,
    Pool,
    _migrate_on,
    _open_pool,
    _store_error,
)
from espacefamille.adapters.postgres.submissions import _PostgresSubmissions
from espacefamille.billing.documents import Invoice
from espacefamille.billing.mandates import FamilyMandate
from espacefamille.calendar.periods import DateRange
from espacefamille.commune import Commune
from espacefamille.config import dumps_commune
from espacefamille.errors import InvalidInput, NotFound
from espacefamille.ports.store import changed_meanwhile


def _place_lock(collectivite_id: str, prestation_id: str, day: dt.date) -> int:
    """The advisory lock key of a prestation's places on a day: a signed 64-bit hash, the same in every
    process (two places sharing a key only wait for each other needlessly)."""
    text = "\x1f".join((collectivite_id, prestation_id, day.isoformat())).encode()
    return int.from_bytes(hashlib.blake2b(text, digest_size=8).digest(), "big", signed=True)


class PostgresStore:
    """A collectivité's store in a PostgreSQL database shared with other collectivités.

    ``database`` is a connection URL or conninfo string (the store then opens, and ``close()`` closes, a
    pool of up to ``pool_size`` connections) or a ``psycopg_pool.ConnectionPool`` the host owns and may
    share between the stores of several collectivités. The schema is created or migrated on opening.
    """

    def __init__(
        self, database: str | Pool, collectivite_id: str, *, pool_size: int = 10, read_ahead: bool = True
    ) -> None:
        if not isinstance(collectivite_id, str) or not collectivite_id:
            raise InvalidInput(
                f"a collectivité id must be a non-empty string, got {collectivite_id!r}",
                code="store.collectivite_id",
            )
        self.collectivite_id = collectivite_id
        if isinstance(database, str):
            self._pool = _open_pool(database, pool_size, _COMMUNE_MIGRATIONS, "commune")
            self._owns_pool = True
        else:
            _migrate_on(database, _COMMUNE_MIGRATIONS, "commune")
            self._pool = database
            self._owns_pool = False
        self._parse_commune = _last_commune()
        # The month-end batch read ahead for a run's next unit of work (read_ahead.py), if any.
        self._reads_ahead = read_ahead
        self._ahead_lock = threading.Lock()
        self._ahead: _ReadAhead[_Batch | None] | None = None

    def __repr__(self) -> str:
        return f"PostgresStore(<pool {self._pool.name}>, {self.collectivite_id!r})"

    def close(self) -> None:
        """Close the pool the store opened (a pool the host gave stays open)."""
        with self._ahead_lock:
            ahead, self._ahead = self._ahead, None
        if ahead is not None:
            ahead.cancel(wait=True)
        if self._owns_pool:
            self._pool.close()

    def __enter__(self) -> PostgresStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @contextmanager
    def _unit_of_work(self) -> Iterator[PostgresUnitOfWork]:
        try:
            connection = self._pool.getconn(timeout=_POOL_TIMEOUT_SECONDS)
        except psycopg.Error as error:
            raise _store_error(error) from None
        uow = PostgresUnitOfWork(self, connection)
        try:
            yield uow
        finally:
            uow._close()
            self._pool.putconn(connection)

    def unit_of_work(self) -> AbstractContextManager[PostgresUnitOfWork]:
        """A unit of work on a connection of the pool; leaving it without ``commit()`` rolls it back."""
        return self._unit_of_work()

    def _read_ahead(self, key: Hashable, read: Callable[[PostgresUnitOfWork], _Batch]) -> None:
        """Start reading, on another connection of the pool, what a later unit of work will ask for ``key``
        (a month-end run's next batch: read_ahead.py). Not with a pool of one connection: the run's next
        unit of work would wait for it."""
        if not self._reads_ahead or self._pool.max_size < 2:
            return

        def run(begun: Callable[[], bool]) -> _Batch | None:
            with self._unit_of_work() as uow:
                return read(uow) if begun() else None

        ahead = _ReadAhead(key, run)
        with self._ahead_lock:
            previous, self._ahead = self._ahead, ahead
        if previous is not None:
            previous.cancel(wait=False)

    def _read_ahead_for(self, key: Hashable) -> _Batch | None:
        """What was read ahead for ``key`` (waiting for the read if it has begun), or None."""
        with self._ahead_lock:
            ahead, self._ahead = self._ahead, None
        return None if ahead is None else ahead.take(key)


class PostgresUnitOfWork:
    """One all-or-nothing set of reads and writes on a ``PostgresStore`` (see the package docstring).

    Reads run at READ COMMITTED and record the version of what they read (read before the data, so that a
    change in between is a conflict at worst, never missed). Writes wait in the unit of work until
    ``commit()``, or until it reads again (so that it reads its own writes; a read of what they do not
    change leaves them waiting, so that a month-end batch's invoices go in a few statements): two units of
    work prepare their changes side by side without blocking each other, and the second to commit learns
    of the conflict. A driver error rolls the unit of work back and is raised as the library's.
    """

    def __init__(self, store: PostgresStore, connection: Connection) -> None:
        self._store = store
        self._db = connection
        if connection.autocommit:  # a host's pool may hand out autocommit connections: not ours
            connection.autocommit = False
        self._c = store.collectivite_id
        # The writes waiting for commit, in order, each with the tables it writes (None: any).
        self._pending: list[tuple[Callable[[], None], frozenset[str] | None]] = []
        self._applied = False  # writes were applied in the current transaction
        # What a write waiting for commit already promises: an invoice number, an outbox message id.
        self._pending_invoices: dict[str, Invoice] = {}
        self._pending_outbox: set[str] = set()
        # Invoices saved since the last write was applied: written together (documents._insert_invoices);
        # outbox messages likewise (outbox._insert_messages).
        self._invoice_batch: list[Invoice] = []
        self._outbox_batch: list[tuple[str, str]] | None = None
        # Per prefix of an invoice number (the number without its trailing digits), the highest number of
        # the database with it when first looked at: a higher one is new (documents.save_invoice).
        self._highest_numbers: dict[str, str | None] = {}
        # The households of the month-end batch last read (runs.family_records) and the mandates read for
        # them at once (mandates.of_family), forgotten when a write that may change mandates is queued.
        self._batch_families: frozenset[str] = frozenset()
        self._mandates_of: dict[str, tuple[FamilyMandate, ...]] = {}
        # (scope, key) -> the version seen when first read; (scope, key) written by this unit of work.
        self._read: dict[tuple[str, str], int] = {}
        self._written: set[tuple[str, str]] = set()
        # The prestations with a limit of places, as this unit of work's own save_commune set them.
        self._capacities: frozenset[str] | None = None
        # The places (prestation, day) this unit of work holds the lock of, and those it writes bookings of.
        self._places_taken: set[tuple[str, dt.date]] = set()
        self._booked_days: set[tuple[str, dt.date]] = set()
        self.families = _PostgresFamilies(self)
        self.bookings = _PostgresBookings(self)
        self.attendance = _PostgresAttendance(self)
        self.documents = _PostgresDocuments(self)
        self.runs = _PostgresMonthEndRuns(self)
        self.mandates = _PostgresMandates(self)
        self.online_payments = _PostgresOnlinePayments(self)
        self.requests = _PostgresRequests(self)
        self.submissions = _PostgresSubmissions(self)
        self.outbox = _PostgresOutbox(self)

    # -- statements: every driver error becomes the library's ----------------------------------

    def _failed(self, error: psycopg.Error) -> Exception:
        self._abandon()
        return _store_error(error)

    def _rows(self, sql: str, parameters: Sequence[object] = ()) -> list[TupleRow]:
        try:
            return self._db.execute(sql, parameters).fetchall()
        except psycopg.Error as error:
            raise self._failed(error) from None

    def _one(self, sql: str, parameters: Sequence[object] = ()) -> TupleRow | None:
        try:
            return self._db.execute(sql, parameters).fetchone()
        except psycopg.Error as error:
            raise self._failed(error) from None

    def _scalar(self, sql: str, parameters: Sequence[object] = ()) -> Any:
        row = self._one(sql, parameters)
        return None if row is None else row[0]

    def _run(self, sql: str, parameters: Sequence[object] = ()) -> int:
        try:
            return self._db.execute(sql, parameters).rowcount
        except psycopg.Error as error:
            raise self._failed(error) from None

    def _many(self, sql: str, rows: Iterable[Sequence[object]]) -> None:
        rows = list(rows)
        if not rows:
            return
        try:
            with self._db.cursor() as cursor:
                cursor.executemany(sql, rows)
        except psycopg.Error as error:
            raise self._failed(error) from None

    def _copy(self, sql: str, rows: Iterable[Sequence[object]]) -> None:
        rows = list(rows)
        if not rows:
            return
        try:
            with self._db.cursor() as cursor, cursor.copy(sql) as copy:
                for row in rows:
                    copy.write_row(row)
        except psycopg.Error as error:
            raise self._failed(error) from None

    # -- versions ------------------------------------------------------------------------------

    def _seen(self, scope: str, key: str) -> None:
        # The version is read before the data it guards: a change in between is then seen as a
        # conflict at commit (at worst a needless retry), never missed.
        if (scope, key) not in self._read:
            version = self._scalar(
                "SELECT version FROM versions WHERE collectivite_id = %s AND scope = %s AND key = %s",
                (self._c, scope, key),
            )
            self._read[(scope, key)] = 0 if version is None else int(version)

    def _seen_all(self, scope: str, keys: Iterable[str]) -> None:
        """``_seen`` of many keys of ``scope``, those not read yet in one statement."""
        unseen = [(scope, key) for key in dict.fromkeys(keys) if (scope, key) not in self._read]
        current = self._versions(unseen, lock=False)
        for key in unseen:
            self._read[key] = current.get(key, 0)

    def _sync(self, reads: frozenset[str] | None = None) -> None:
        """Before a read: apply the writes waiting for commit, so the unit of work reads its own writes.
        A read that names the tables it ``reads`` applies them only if one of them writes to those (or
        says not what it writes): the others wait, in order, so that a month-end batch's invoices, lines
        and messages go in a few statements however often it reads a household's mandates meanwhile."""
        if not self._pending:
            return
        if reads is not None and all(
            tables is not None and tables.isdisjoint(reads) for _, tables in self._pending
        ):
            return
        pending, self._pending = self._pending, []
        self._applied = True
        for apply, _ in pending:
            apply()

    def _write(self, apply: Callable[[], None], tables: frozenset[str] | None = None) -> None:
        """Queue a write until commit or a read that needs it; ``tables``: those it writes (None: any)."""
        if tables is None or "mandates" in tables:
            self._mandates_of.clear()
        self._pending.append((apply, tables))

    def _mark(self, scope: str, key: str) -> None:
        self._written.add((scope, key))

    def _mark_owners(self, table: str, key_column: str, key: str, family_id: str) -> None:
        """A row moving between households changes both: mark the new owner and the one it had."""
        self._mark(_FAMILY, family_id)
        self._mark_previous_owners(table, ((key_column, "text"),), [(key,)])

    def _mark_previous_owners(
        self, table: str, columns: Sequence[tuple[str, str]], keys: Iterable[Sequence[object]]
    ) -> None:
        """The rows of ``table`` whose unique key (``columns``: names and types) is one of ``keys`` belong
        to households this write may move them from: mark those too, read in one statement."""
        keys = list(keys)
        if not keys:
            return
        names = ", ".join(name for name, _ in columns)
        arrays = ", ".join(f"%s::{kind}[]" for _, kind in columns)
        same = " AND ".join(f"t.{name} = k.{name}" for name, _ in columns)
        # A lookup of the key's index per key (LIMIT 1 keeps the planner from turning the lateral read into
        # a hash join, which scans the whole table while its statistics still say it is small).
        rows = self._rows(
            f"SELECT DISTINCT o.family_id FROM unnest({arrays}) AS k ({names}) CROSS JOIN LATERAL "
            f"(SELECT t.family_id FROM {table} AS t WHERE t.collectivite_id = %s AND {same} LIMIT 1) AS o",
            (*([key[n] for key in keys] for n in range(len(columns))), self._c),
        )
        for (previous,) in rows:
            self._mark(_FAMILY, previous)

    def _versions(self, keys: Sequence[tuple[str, str]], *, lock: bool) -> dict[tuple[str, str], int]:
        """The current versions of ``keys`` (0: never written); with ``lock``, rows locked until the end of
        the transaction (created at 0 first, so that a key nobody wrote yet can be locked too), in one
        order for every unit of work."""
        if not keys:
            return {}
        scopes, names = [scope for scope, _ in keys], [key for _, key in keys]
        if lock:
            self._run(
                "INSERT INTO versions (collectivite_id, scope, key, version) "
                "SELECT %s, s, k, 0 FROM unnest(%b::text[], %b::text[]) AS t (s, k) ORDER BY s, k "
                "ON CONFLICT (collectivite_id, scope, key) DO NOTHING",
                (self._c, scopes, names),
            )
        rows = self._rows(
            "SELECT scope, key, version FROM versions WHERE collectivite_id = %s "
            "AND (scope, key) IN (SELECT s, k FROM unnest(%b::text[], %b::text[]) AS t (s, k)) "
            + ("ORDER BY scope, key FOR UPDATE" if lock else ""),
            (self._c, scopes, names),
        )
        return {(scope, key): int(version) for scope, key, version in rows}

    def _limited(self) -> frozenset[str]:
        """The prestations with a limit of places: only their bookings conflict across families."""
        if self._capacities is not None:
            return self._capacities
        if not any(scope == _PRESTATION for scope, _ in (*self._written, *self._read)):
            return frozenset()
        self._capacities = frozenset(
            row[0]
            for row in self._rows(
                "SELECT prestation_id FROM capacity_limited WHERE collectivite_id = %s", (self._c,)
            )
        )
        return self._capacities

    def _take_places(self, prestation_id: str, period: DateRange) -> None:
        """Lock a prestation's places on the days of ``period`` (if it has a limit) until the end of the
        transaction."""
        self._seen(_PRESTATION, prestation_id)  # so that _limited() reads the prestations with places
        if prestation_id in self._limited():
            self._lock_places((prestation_id, day) for day in period)

    def _lock_places(self, places: Iterable[tuple[str, dt.date]]) -> None:
        # One transaction-level advisory lock per (collectivité, prestation, day), taken in one order by
        # every unit of work (prestation, then day), so that two of them never wait for each other in a
        # circle; the lock ends with the transaction, committed or not.
        wanted = sorted(set(places) - self._places_taken)
        if not wanted:
            return
        self._run(
            "SELECT pg_advisory_xact_lock(k) FROM unnest(%s::bigint[]) WITH ORDINALITY AS t (k, n) "
            "ORDER BY n",
            ([_place_lock(self._c, prestation_id, day) for prestation_id, day in wanted],),
        )
        self._places_taken.update(wanted)

    def _changed_since_read(self, current: dict[tuple[str, str], int]) -> list[tuple[str, str]]:
        return sorted(
            key for key, seen in self._read.items() if key[0] != _PRESTATION and current.get(key, 0) != seen
        )

    def _raise_if_changed(self, changed: list[tuple[str, str]] | None = None) -> None:
        """``ConcurrentChange`` if a family, numbering or carried amount this unit of work read changed."""
        if changed is None:
            checked = sorted(key for key in self._read if key[0] != _PRESTATION)
            changed = self._changed_since_read(self._versions(checked, lock=False))
        if changed:
            raise changed_meanwhile(changed)

    # -- transaction ---------------------------------------------------------------------------

    def commit(self) -> None:
        """Write everything at once, or raise ``ConcurrentChange`` and write nothing."""
        try:
            if self._pending or self._applied:
                self._commit_writes()
            else:
                # Nothing to write, but the caller relies on what it read being still true.
                self._raise_if_changed()
            self._db.commit()
        except psycopg.Error as error:
            raise self._failed(error) from None
        except BaseException:
            self._abandon()
            raise
        self._reset()

    def _commit_writes(self) -> None:
        limited = self._limited()
        # The places written but not locked when read are locked now: whoever locked them when reading
        # them has committed by then, and the prestation's version tells whether it booked meanwhile.
        booked = {place for place in self._booked_days if place[0] in limited}
        unlocked = booked - self._places_taken
        self._lock_places(unlocked)
        # A prestation whose places written were all locked when read needs no version check: nobody
        # else could book them between this unit of work's read and its commit.
        checked = {prestation_id for prestation_id, _ in unlocked}
        # Lock every version this unit of work read or writes (a prestation's only if it has places),
        # then check them: from here until COMMIT nobody else can change what it depends on.
        guarded = {key for key in self._read if key[0] != _PRESTATION}
        guarded.update(key for key in self._written if key[0] != _PRESTATION or key[1] in limited)
        current = self._versions(sorted(guarded), lock=True)
        # Checked before the writes are applied: a write that fails because of someone else's change
        # (an invoice number already taken) is reported as the conflict it is, and a unit of work that
        # lost the last places writes nothing before it learns so.
        self._raise_if_changed(self._changed_since_read(current))
        places = sorted(
            key
            for key, seen in self._read.items()
            if key[0] == _PRESTATION
            and key[1] in checked
            and key in self._written
            and current.get(key, 0) != seen
        )
        if places:
            raise _places_booked_meanwhile(places)
        self._sync()
        bumped = sorted(key for key in self._written if key[0] != _PRESTATION or key[1] in limited)
        if bumped:
            self._run(
                "INSERT INTO versions (collectivite_id, scope, key, version) "
                "SELECT %s, s, k, 1 FROM unnest(%b::text[], %b::text[]) AS t (s, k) ORDER BY s, k "
                "ON CONFLICT (collectivite_id, scope, key) DO UPDATE SET version = versions.version + 1",
                (self._c, [scope for scope, _ in bumped], [key for _, key in bumped]),
            )

    def rollback(self) -> None:
        """Forget every write since the last commit."""
        try:
            self._db.rollback()
        except psycopg.Error as error:
            raise self._failed(error) from None
        self._reset()

    def _abandon(self) -> None:
        """Roll back after a failure (a connection that broke is left for the pool to discard)."""
        with contextlib.suppress(psycopg.Error):
            self._db.rollback()
        self._reset()

    def _reset(self) -> None:
        self._applied = False
        self._pending.clear()
        self._pending_invoices.clear()
        self._pending_outbox.clear()
        self._invoice_batch = []
        self._outbox_batch = None
        self._highest_numbers.clear()
        self._batch_families = frozenset()
        self._mandates_of.clear()
        self._read.clear()
        self._written.clear()
        self._capacities = None
        self._places_taken.clear()
        self._booked_days.clear()

    def _close(self) -> None:
        self._abandon()

    # -- configuration -------------------------------------------------------------------------

    def commune(self) -> Commune:
        self._sync()
        text = self._scalar("SELECT toml FROM communes WHERE collectivite_id = %s", (self._c,))
        if text is None:
            raise NotFound(
                "no commune configuration saved in this store",
                message_fr="Aucune configuration de commune n'est enregistrée.",
                code="not_found.commune",
            )
        return self._store._parse_commune(text)

    def save_commune(self, commune: Commune) -> None:
        text = dumps_commune(commune)
        limited = sorted(commune.capacities)
        self._capacities = frozenset(limited)

        def apply() -> None:
            self._run(
                "INSERT INTO communes (collectivite_id, toml) VALUES (%s, %s) "
                "ON CONFLICT (collectivite_id) DO UPDATE SET toml = excluded.toml",
                (self._c, text),
            )
            self._run("DELETE FROM capacity_limited WHERE collectivite_id = %s", (self._c,))
            self._many(
                "INSERT INTO capacity_limited (collectivite_id, prestation_id) VALUES (%s, %s)",
                [(self._c, prestation_id) for prestation_id in limited],
            )

        self._write(apply)
