"""The SQLite files' schemas and migrations, opening a file (created, migrated, or refused when newer), and
what the versions of a commune file guard."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Final

from espacefamille.adapters import _sql
from espacefamille.errors import EspaceFamilleError, StoreUnavailable

# Tells our files apart from any other SQLite file, and a commune's from the accounts file ("EFco", "EFac").
_COMMUNE_APPLICATION_ID: Final = 0x4546636F
_ACCOUNTS_APPLICATION_ID: Final = 0x45466163
# A writer waits this long for another to commit before giving up (a month-end run may take a while).
_BUSY_TIMEOUT_SECONDS: Final = 60.0
# families() reads the city this many households at a time: streaming without holding a cursor open
# across the writes of the same unit of work.
_BATCH: Final = 500
# SQLite's default limit of bound parameters is 999 on old builds: stay well under it.
_IN_CHUNK: Final = 500

# The line a version-1 carried amount becomes (the label the services gave it then).
_V1_CARRIED_LABEL: Final = "Report des périodes précédentes (sous le seuil de mise en recouvrement)"

#
# Each migration brings the schema from version i to i + 1; a new version appends one, never edits one.

_COMMUNE_MIGRATIONS: Final[tuple[tuple[str, ...], ...]] = (
    (
        "CREATE TABLE commune (singleton INTEGER PRIMARY KEY CHECK (singleton = 1), toml TEXT NOT NULL)",
        "CREATE TABLE capacity_limited (prestation_id TEXT PRIMARY KEY) WITHOUT ROWID",
        """CREATE TABLE versions (
            scope TEXT NOT NULL, key TEXT NOT NULL, version INTEGER NOT NULL,
            PRIMARY KEY (scope, key)) WITHOUT ROWID""",
        """CREATE TABLE families (
            id TEXT PRIMARY KEY, name TEXT NOT NULL, payer_id TEXT NOT NULL, residence TEXT NOT NULL,
            direct_debit INTEGER NOT NULL) WITHOUT ROWID""",
        """CREATE TABLE guardians (
            family_id TEXT NOT NULL REFERENCES families (id) ON DELETE CASCADE,
            position INTEGER NOT NULL, id TEXT NOT NULL, first_name TEXT NOT NULL, last_name TEXT NOT NULL,
            email TEXT, phone TEXT, PRIMARY KEY (family_id, position)) WITHOUT ROWID""",
        """CREATE TABLE quotients (
            family_id TEXT NOT NULL REFERENCES families (id) ON DELETE CASCADE,
            position INTEGER NOT NULL, value TEXT NOT NULL, valid_from TEXT NOT NULL, valid_until TEXT,
            source TEXT NOT NULL, PRIMARY KEY (family_id, position)) WITHOUT ROWID""",
        """CREATE TABLE children (
            id TEXT PRIMARY KEY, first_name TEXT NOT NULL, last_name TEXT NOT NULL, birth_date TEXT NOT NULL,
            school TEXT, school_class TEXT, pai INTEGER NOT NULL, needs_support INTEGER NOT NULL,
            diets TEXT NOT NULL) WITHOUT ROWID""",
        """CREATE TABLE child_families (
            child_id TEXT NOT NULL REFERENCES children (id) ON DELETE CASCADE,
            position INTEGER NOT NULL, family_id TEXT NOT NULL,
            PRIMARY KEY (child_id, position)) WITHOUT ROWID""",
        "CREATE INDEX child_families_by_family ON child_families (family_id, child_id)",
        """CREATE TABLE enrolments (
            id TEXT PRIMARY KEY, child_id TEXT NOT NULL, family_id TEXT NOT NULL, service_id TEXT NOT NULL,
            start_day TEXT NOT NULL, end_day TEXT NOT NULL, validated INTEGER NOT NULL) WITHOUT ROWID""",
        "CREATE INDEX enrolments_by_child ON enrolments (child_id, id)",
        # Clustered by household and date: month-end billing reads one family's month at a time.
        """CREATE TABLE bookings (
            family_id TEXT NOT NULL, day TEXT NOT NULL, child_id TEXT NOT NULL, prestation_id TEXT NOT NULL,
            status TEXT NOT NULL, booked_at TEXT NOT NULL, paid_cents INTEGER, surcharge_code TEXT,
            PRIMARY KEY (family_id, day, child_id, prestation_id)) WITHOUT ROWID""",
        "CREATE UNIQUE INDEX bookings_by_key ON bookings (child_id, prestation_id, day)",
        "CREATE INDEX bookings_by_prestation ON bookings (prestation_id, day)",
        """CREATE TABLE attendance (
            family_id TEXT NOT NULL, day TEXT NOT NULL, child_id TEXT NOT NULL, prestation_id TEXT NOT NULL,
            status TEXT NOT NULL, recorded_by TEXT, recorded_at TEXT, note TEXT NOT NULL,
            PRIMARY KEY (family_id, day, child_id, prestation_id)) WITHOUT ROWID""",
        "CREATE UNIQUE INDEX attendance_by_key ON attendance (child_id, prestation_id, day)",
        """CREATE TABLE absences (
            child_id TEXT NOT NULL, start_day TEXT NOT NULL, end_day TEXT NOT NULL, family_id TEXT NOT NULL,
            reason TEXT NOT NULL, declared_at TEXT NOT NULL, proof_received_at TEXT,
            PRIMARY KEY (child_id, start_day, end_day)) WITHOUT ROWID""",
        "CREATE INDEX absences_by_family ON absences (family_id)",
        """CREATE TABLE closures (
            position INTEGER PRIMARY KEY, service_id TEXT NOT NULL, start_day TEXT NOT NULL,
            end_day TEXT NOT NULL, reason TEXT NOT NULL, label TEXT NOT NULL,
            UNIQUE (service_id, start_day, end_day, reason, label))""",
        """CREATE TABLE invoices (
            number TEXT PRIMARY KEY, regie_id TEXT NOT NULL, family_id TEXT NOT NULL, kind TEXT NOT NULL,
            period_start TEXT NOT NULL, period_end TEXT NOT NULL, issued_on TEXT NOT NULL,
            due_on TEXT NOT NULL, direct_debit_on TEXT) WITHOUT ROWID""",
        "CREATE INDEX invoices_by_family ON invoices (family_id, number)",
        """CREATE TABLE invoice_lines (
            invoice_number TEXT NOT NULL REFERENCES invoices (number) ON DELETE CASCADE,
            position INTEGER NOT NULL, child_id TEXT NOT NULL, prestation_id TEXT NOT NULL,
            label TEXT NOT NULL, reason TEXT NOT NULL, days TEXT NOT NULL, quantity TEXT NOT NULL,
            unit_price TEXT NOT NULL, total_cents INTEGER NOT NULL, explanation TEXT NOT NULL,
            regularises_invoice TEXT, regularises_day TEXT, minutes INTEGER,
            PRIMARY KEY (invoice_number, position)) WITHOUT ROWID""",
        """CREATE TABLE payments (
            number TEXT PRIMARY KEY, regie_id TEXT NOT NULL, family_id TEXT NOT NULL,
            amount_cents INTEGER NOT NULL, received_at TEXT NOT NULL, method TEXT NOT NULL,
            reference TEXT NOT NULL) WITHOUT ROWID""",
        "CREATE INDEX payments_by_family ON payments (family_id, number)",
        """CREATE TABLE allocations (
            source TEXT NOT NULL, invoice_number TEXT NOT NULL, family_id TEXT NOT NULL,
            amount_cents INTEGER NOT NULL CHECK (amount_cents > 0),
            PRIMARY KEY (source, invoice_number)) WITHOUT ROWID""",
        "CREATE INDEX allocations_by_family ON allocations (family_id, source, invoice_number)",
        """CREATE TABLE numbering (
            regie_id TEXT NOT NULL, year INTEGER NOT NULL, series TEXT NOT NULL, last INTEGER NOT NULL,
            PRIMARY KEY (regie_id, year, series)) WITHOUT ROWID""",
        """CREATE TABLE carried (
            regie_id TEXT NOT NULL, family_id TEXT NOT NULL, amount_cents INTEGER NOT NULL,
            PRIMARY KEY (regie_id, family_id)) WITHOUT ROWID""",
        """CREATE TABLE requests (
            id TEXT PRIMARY KEY, family_id TEXT NOT NULL, category_id TEXT NOT NULL,
            field_values TEXT NOT NULL) WITHOUT ROWID""",
        "CREATE INDEX requests_by_family ON requests (family_id, id)",
        """CREATE TABLE request_events (
            request_id TEXT NOT NULL REFERENCES requests (id) ON DELETE CASCADE, position INTEGER NOT NULL,
            at TEXT NOT NULL, actor_role TEXT NOT NULL, actor_id TEXT NOT NULL, kind TEXT NOT NULL,
            from_status TEXT, to_status TEXT, message TEXT,
            PRIMARY KEY (request_id, position)) WITHOUT ROWID""",
        """CREATE TABLE outbox (
            position INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, message TEXT NOT NULL)""",
    ),
    # 2: carried balances kept with their lines, per run (régie, family, first day of the period billed),
    # so a rerun starts from what the month started from. A version-1 amount becomes one line recorded
    # for a run before any other (0001-01-01), just as the services used to rebuild it.
    (
        """CREATE TABLE carried_balances (
            regie_id TEXT NOT NULL, family_id TEXT NOT NULL, period_start TEXT NOT NULL,
            period_end TEXT NOT NULL, carries INTEGER NOT NULL,
            PRIMARY KEY (regie_id, family_id, period_start)) WITHOUT ROWID""",
        """CREATE TABLE carried_lines (
            regie_id TEXT NOT NULL, family_id TEXT NOT NULL, period_start TEXT NOT NULL,
            position INTEGER NOT NULL, child_id TEXT NOT NULL, prestation_id TEXT NOT NULL,
            label TEXT NOT NULL, reason TEXT NOT NULL, days TEXT NOT NULL, quantity TEXT NOT NULL,
            unit_price TEXT NOT NULL, total_cents INTEGER NOT NULL, explanation TEXT NOT NULL,
            regularises_invoice TEXT, regularises_day TEXT, minutes INTEGER,
            PRIMARY KEY (regie_id, family_id, period_start, position),
            FOREIGN KEY (regie_id, family_id, period_start)
                REFERENCES carried_balances (regie_id, family_id, period_start) ON DELETE CASCADE
            ) WITHOUT ROWID""",
        """INSERT INTO carried_balances (regie_id, family_id, period_start, period_end, carries)
            SELECT regie_id, family_id, '0001-01-01', '0001-01-01', 1 FROM carried""",
        f"""INSERT INTO carried_lines (regie_id, family_id, period_start, position, child_id, prestation_id,
            label, reason, days, quantity, unit_price, total_cents, explanation)
            SELECT regie_id, family_id, '0001-01-01', 0, '', '', '{_V1_CARRIED_LABEL}', 'carried', '', '1',
                CASE WHEN amount_cents < 0 THEN '-' ELSE '' END
                    || printf('%d.%02d', abs(amount_cents) / 100, abs(amount_cents) % 100),
                amount_cents, '{_V1_CARRIED_LABEL}'
            FROM carried""",
        "DROP TABLE carried",
        # The portal's online payments, written in the same transaction as the hold or invoices they pay.
        """CREATE TABLE payment_attempts (
            payment_id TEXT PRIMARY KEY, family_id TEXT NOT NULL, regie_id TEXT NOT NULL,
            invoice_numbers TEXT NOT NULL, status TEXT NOT NULL, redirect_url TEXT NOT NULL,
            amount_cents INTEGER NOT NULL, reference TEXT NOT NULL, email TEXT NOT NULL,
            created_at TEXT NOT NULL, expires_at TEXT NOT NULL) WITHOUT ROWID""",
        "CREATE INDEX payment_attempts_by_family ON payment_attempts (family_id, payment_id)",
    ),
    # 3: the day the commune received a quotient's attestation (a QF is never backdated); NULL for the
    # quotients already stored, which keep applying from their valid_from.
    ("ALTER TABLE quotients ADD COLUMN received_on TEXT",),
    # 4: month-end billing reads bookings as runs of days (child x prestation x status x surcharge): this
    # covering index gives them in that order, so SQLite groups them without sorting a city's month.
    (
        "CREATE INDEX bookings_by_run ON bookings "
        "(family_id, child_id, prestation_id, status, surcharge_code, day)",
    ),
    # 5: an agent's waiver of the unpaid-invoice block (rules.unpaid.UnpaidExemption), one per household;
    # removing it deletes the row.
    (
        """CREATE TABLE unpaid_exemptions (
            family_id TEXT PRIMARY KEY, granted_by TEXT NOT NULL, since TEXT NOT NULL, until TEXT,
            reason TEXT NOT NULL) WITHOUT ROWID""",
    ),
    # 6: month-end billing seeks each family's month. bookings_by_run ended with the day, so a file holding
    # a school year made every month's run read the year; here the month comes right after the family, and
    # the columns of a run after it still give a month's days in run order (no sort).
    (
        "DROP INDEX bookings_by_run",
        "CREATE INDEX bookings_by_month ON bookings "
        "(family_id, substr(day, 1, 7), child_id, prestation_id, status, surcharge_code, day)",
    ),
    # 7: invoice and carried lines store their days compactly (_compact_days: a third of a line's bytes
    # were its dates). Rows written before keep full dates, which read the same; the version tells an older
    # library that it could not read the new rows.
    (),
    # 8: corrections of days already billed. What each régie's latest run billed through, and the days
    # changed after that, which the next run reads besides its month (and forgets once billed).
    (
        "CREATE TABLE billed_through (regie_id TEXT PRIMARY KEY, day TEXT NOT NULL) WITHOUT ROWID",
        """CREATE TABLE changed_days (
            regie_id TEXT NOT NULL, family_id TEXT NOT NULL, day TEXT NOT NULL,
            PRIMARY KEY (regie_id, family_id, day)) WITHOUT ROWID""",
    ),
    # 9: an attendance fact may carry the commune's own attendance reason (a code of its price lists).
    ("ALTER TABLE attendance ADD COLUMN reason TEXT",),
    # 10: SEPA direct debit. The payer's postal address (NULL columns: none known; lines joined by a line
    # break); the payers' mandates (by RUM: the sequence of the next collection, the last one, revocation);
    # the debit files built (the whole pain.008 document kept) and each invoice they collect, with its
    # reject once the bank returned it.
    (
        "ALTER TABLE families ADD COLUMN address_lines TEXT",
        "ALTER TABLE families ADD COLUMN address_postcode TEXT",
        "ALTER TABLE families ADD COLUMN address_city TEXT",
        "ALTER TABLE families ADD COLUMN address_country TEXT",
        """CREATE TABLE mandates (
            rum TEXT PRIMARY KEY, regie_id TEXT NOT NULL, family_id TEXT NOT NULL,
            debtor_name TEXT NOT NULL, iban TEXT NOT NULL, bic TEXT, signed_on TEXT NOT NULL,
            sequence TEXT NOT NULL, pre_notification_days INTEGER NOT NULL, registered_on TEXT NOT NULL,
            last_collected_on TEXT, revoked_on TEXT) WITHOUT ROWID""",
        "CREATE INDEX mandates_by_family ON mandates (family_id, regie_id, rum)",
        """CREATE TABLE debit_batches (
            id TEXT PRIMARY KEY, regie_id TEXT NOT NULL, debit_date TEXT NOT NULL, built_at TEXT NOT NULL,
            document TEXT NOT NULL) WITHOUT ROWID""",
        "CREATE INDEX debit_batches_by_regie ON debit_batches (regie_id, debit_date, id)",
        """CREATE TABLE debit_collections (
            batch_id TEXT NOT NULL REFERENCES debit_batches (id) ON DELETE CASCADE,
            invoice_number TEXT NOT NULL, family_id TEXT NOT NULL, rum TEXT NOT NULL,
            amount_cents INTEGER NOT NULL CHECK (amount_cents > 0), sequence TEXT NOT NULL,
            payment_number TEXT, rejected_on TEXT, reject_reason TEXT, reject_document TEXT,
            PRIMARY KEY (batch_id, invoice_number)) WITHOUT ROWID""",
        "CREATE INDEX debit_collections_by_invoice ON debit_collections (invoice_number, batch_id)",
        "CREATE INDEX debit_collections_by_family ON debit_collections (family_id, batch_id, invoice_number)",
    ),
    # 11: what households submitted under a caller's idempotency key (a request, a basket), with the first
    # result, recorded in the unit of work of the submission: a replay returns it and writes nothing.
    (
        """CREATE TABLE submissions (
            family_id TEXT NOT NULL, key TEXT NOT NULL, operation TEXT NOT NULL, fingerprint TEXT NOT NULL,
            result BLOB NOT NULL, at TEXT NOT NULL, PRIMARY KEY (family_id, key)) WITHOUT ROWID""",
    ),
)

_ACCOUNTS_MIGRATIONS: Final[tuple[tuple[str, ...], ...]] = (
    (
        "CREATE TABLE accounts (id TEXT PRIMARY KEY, email TEXT NOT NULL) WITHOUT ROWID",
        """CREATE TABLE account_links (
            account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE, position INTEGER NOT NULL,
            collectivite_id TEXT NOT NULL, family_id TEXT NOT NULL, guardian_id TEXT NOT NULL,
            activation_id TEXT NOT NULL, linked_at TEXT NOT NULL, scope TEXT NOT NULL,
            PRIMARY KEY (account_id, position)) WITHOUT ROWID""",
        """CREATE TABLE activations (
            id TEXT PRIMARY KEY, token_sha256 TEXT NOT NULL UNIQUE, collectivite_id TEXT NOT NULL,
            family_id TEXT NOT NULL, guardian_id TEXT NOT NULL, issued_at TEXT NOT NULL,
            expires_at TEXT NOT NULL, issued_by TEXT NOT NULL, scope TEXT NOT NULL, used_at TEXT,
            used_by TEXT) WITHOUT ROWID""",
    ),
)

#: The schema version this library writes; a file with a higher one is refused.
SCHEMA_VERSION: Final = len(_COMMUNE_MIGRATIONS)
ACCOUNTS_SCHEMA_VERSION: Final = len(_ACCOUNTS_MIGRATIONS)


class IncompatibleDatabase(EspaceFamilleError):
    """The file cannot be used by this version of the library: written by a newer one, not a database, or
    another kind of database. Nothing in it was changed."""

    default_code = "store.incompatible_database"


def _connect(path: Path, timeout: float = _BUSY_TIMEOUT_SECONDS) -> sqlite3.Connection:
    # isolation_level=None: the module never opens transactions behind our back; we say BEGIN ourselves.
    connection = sqlite3.connect(path, timeout=timeout, isolation_level=None)
    try:
        connection.execute("PRAGMA foreign_keys = ON")
        # Safe in WAL mode: a commit survives a crash of the process, only a power cut may lose the last one.
        connection.execute("PRAGMA synchronous = NORMAL")
    except sqlite3.DatabaseError:
        connection.close()
        raise
    return connection


def _store_error(error: sqlite3.Error, path: Path, timeout: float) -> StoreUnavailable:
    """The library's error for what SQLite reported (``StoreUnavailable``, its code by SQLite's own)."""
    primary = getattr(error, "sqlite_errorcode", 0) & 0xFF
    details = {"path": str(path), "sqlite_error": getattr(error, "sqlite_errorname", type(error).__name__)}
    if primary in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
        return _locked(path, timeout, details)
    if primary == sqlite3.SQLITE_READONLY:
        return _read_only(path, details)
    if primary == sqlite3.SQLITE_FULL:
        return StoreUnavailable(
            f"the disk holding {path} is full; nothing was written",
            message_fr="Le disque de la base de données est plein ; rien n'a été enregistré. "
            "Prévenez le service informatique.",
            code="store.disk_full",
            details=details,
        )
    if primary == sqlite3.SQLITE_IOERR:
        return StoreUnavailable(
            f"the disk failed a read or write of {path} (a failing disk, or a file size limit); nothing was "
            "written",
            message_fr="Le disque de la base de données a refusé une lecture ou une écriture ; rien n'a été "
            "enregistré. Prévenez le service informatique.",
            code="store.io_error",
            details=details,
        )
    if primary in (sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_PERM, sqlite3.SQLITE_AUTH):
        return _cannot_open(path, details)
    return StoreUnavailable(
        f"the database {path} failed: {error}",
        message_fr="La base de données a rencontré une erreur ; rien n'a été enregistré. "
        "Prévenez le service informatique.",
        code="store.error",
        details=details,
    )


def _locked(path: Path, timeout: float, details: dict[str, str]) -> StoreUnavailable:
    return StoreUnavailable(
        f"{path} stayed locked by another writer for more than {timeout:g} s; nothing was written, "
        "try again later",
        message_fr="La base de données est occupée par un autre traitement (la facturation de fin de "
        "mois, peut-être) ; rien n'a été enregistré, réessayez dans quelques instants.",
        code="store.locked",
        details=details,
    )


def _read_only(path: Path, details: dict[str, str]) -> StoreUnavailable:
    return StoreUnavailable(
        f"{path} or its folder is read-only; nothing can be written",
        message_fr="La base de données ne peut pas être modifiée (fichier ou dossier en lecture seule) ; "
        "rien n'a été enregistré. Prévenez le service informatique.",
        code="store.read_only",
        details=details,
    )


def _cannot_open(path: Path, details: dict[str, str]) -> StoreUnavailable:
    return StoreUnavailable(
        f"{path} cannot be opened: the file or its folder is missing or not accessible",
        message_fr="La base de données est introuvable ou inaccessible. Prévenez le service informatique.",
        code="store.cannot_open",
        details=details,
    )


def _check_access(path: Path) -> None:
    """Refuse at open what would fail every write: a folder that is missing, or that cannot be written (a
    WAL database writes its -wal and -shm files beside it), or a file that cannot be written."""
    folder = path.parent if str(path.parent) else Path(".")
    details = {"path": str(path)}
    if not folder.is_dir() or not os.access(folder, os.X_OK):
        raise _cannot_open(path, details)
    if path.exists() and not os.access(path, os.R_OK):
        raise _cannot_open(path, details)
    if path.exists() and not os.access(path, os.W_OK):
        raise _read_only(path, details)
    if not os.access(folder, os.W_OK):
        # SQLite creates the database, and its -wal and -shm files, beside it: unless they are all there.
        sidecars = [path.with_name(path.name + suffix) for suffix in ("-wal", "-shm")]
        if not path.exists() or not all(p.exists() and os.access(p, os.W_OK) for p in sidecars):
            raise _read_only(path, details)


def _open_database(
    path: Path,
    application_id: int,
    migrations: tuple[tuple[str, ...], ...],
    what: str,
    timeout: float = _BUSY_TIMEOUT_SECONDS,
) -> None:
    """Create or migrate the schema of ``path``, refusing (unchanged) a file this library cannot use.

    A file or folder that cannot be written is refused here (``StoreUnavailable``, ``store.read_only``),
    rather than at the first write.
    """
    _check_access(path)
    try:
        _migrate(path, application_id, migrations, what, timeout)
    except sqlite3.OperationalError as error:
        raise _store_error(error, path, timeout) from error


def _migrate(
    path: Path, application_id: int, migrations: tuple[tuple[str, ...], ...], what: str, timeout: float
) -> None:
    latest = len(migrations)
    try:
        connection = _connect(path, timeout)
    except sqlite3.OperationalError:
        raise
    except sqlite3.DatabaseError as error:
        raise _not_a_database(path, error) from None
    try:
        try:
            found_id = _scalar(connection, "PRAGMA application_id")
            version = _scalar(connection, "PRAGMA user_version")
            tables = _scalar(connection, "SELECT count(*) FROM sqlite_master")
        except sqlite3.OperationalError:
            raise
        except sqlite3.DatabaseError as error:
            raise _not_a_database(path, error) from None
        if found_id != application_id and (found_id != 0 or version != 0 or tables != 0):
            raise IncompatibleDatabase(
                f"{path} is not an espacefamille {what} database",
                message_fr=f"Le fichier {path} n'est pas une base espacefamille ({what}).",
                code="store.foreign_database",
                details={"path": str(path)},
            )
        _refuse_newer(path, version, latest)
        if connection.execute("PRAGMA journal_mode = WAL").fetchone()[0] != "wal":  # pragma: no cover
            raise IncompatibleDatabase(f"{path} cannot use WAL journaling", code="store.no_wal")
        if version == latest:
            return
        connection.execute("BEGIN IMMEDIATE")
        try:
            # Another process may have migrated it while we waited for the lock.
            version = _scalar(connection, "PRAGMA user_version")
            _refuse_newer(path, version, latest)
            for statements in migrations[version:]:
                for statement in statements:
                    connection.execute(statement)
            connection.execute(f"PRAGMA application_id = {application_id:d}")
            connection.execute(f"PRAGMA user_version = {latest:d}")
            connection.execute("COMMIT")
        except BaseException:
            connection.execute("ROLLBACK")
            raise
    finally:
        connection.close()


def _refuse_newer(path: Path, version: int, latest: int) -> None:
    if version > latest:
        raise IncompatibleDatabase(
            f"{path} has schema version {version}, newer than {latest} which this version of espacefamille "
            "knows; upgrade espacefamille to open it",
            message_fr=f"La base {path} a été écrite par une version plus récente d'espacefamille "
            f"(schéma {version}, connu : {latest}) ; mettez la bibliothèque à jour.",
            code="store.schema_too_new",
            details={"path": str(path), "version": version, "supported": latest},
        )


def _not_a_database(path: Path, error: sqlite3.Error) -> IncompatibleDatabase:
    return IncompatibleDatabase(
        f"{path} cannot be opened as a SQLite database: {error}",
        message_fr=f"Le fichier {path} n'est pas une base de données lisible.",
        code="store.not_a_database",
        details={"path": str(path)},
    )


def _scalar(connection: sqlite3.Connection, sql: str, parameters: Sequence[object] = ()) -> Any:
    row = connection.execute(sql, parameters).fetchone()
    return None if row is None else row[0]


def _chunks(items: Sequence[str]) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), _IN_CHUNK):
        yield items[start : start + _IN_CHUNK]


def _marks(count: int) -> str:
    return ",".join("?" * count)


# The unit of work and the bookings repository read these scopes of the versions from here.
_FAMILY: Final = _sql._FAMILY
_PRESTATION: Final = _sql._PRESTATION
