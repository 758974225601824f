"""The embedded default store: one SQLite database file per commune, on the standard library's ``sqlite3``.

``SqliteStore(path)`` is a ``CommuneStore``; ``SqliteAccountStore(path)`` an ``AccountStore`` (accounts span
collectivités, so they live in a file of their own). Opening a file creates its schema, or migrates an older
one, and records the schema version (``PRAGMA user_version``; ``PRAGMA application_id`` tells a commune file
from an accounts file). A file written by a newer version of the library is refused before anything in it
is touched (``IncompatibleDatabase``, code ``store.schema_too_new``).

How values are kept, so that what is read back is *equal* to what was saved:

* money as whole cents (``INTEGER``), ``Decimal`` quantities and quotients as their exact text;
* dates as ISO text; aware instants as fixed-width UTC ISO text followed by the zone they were given in
  (``2026-11-12T11:00:00.000000Z[Europe/Paris]``), so that they sort, and read back in their own zone;
* the commune's configuration as its TOML text (``config.dumps_commune``);
* families, children, invoices and their lines, requests and their history in normalised tables; form
  values and outbox messages as JSON of their own ``to_dict``.

Each unit of work has its own connection. Reads before the first write run outside any transaction; the
first write starts ``BEGIN IMMEDIATE``, so writers are serialised and one never waits on a half-done other.
Every family (and régie numbering, and carried amounts) has a version number, bumped by the commit of a unit
of work that wrote it; ``commit()`` compares the versions of what the unit of work read with the current
ones and, when one changed, rolls back and raises ``ConcurrentChange``. Bookings of a prestation with a
capacity bump the prestation's version too, and a unit of work that read that prestation's bookings (to
rebuild its places) and then writes some is refused if another wrote some meanwhile, so that two families
can never both take the last place. The database runs in WAL mode (readers never block the writer) with
foreign keys on.
"""

from __future__ import annotations

import datetime as dt
import functools
import itertools
import json
import operator
import os
import sqlite3
import zoneinfo
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any, Final

from espacefamille._internal.trusted import trusted_builder
from espacefamille.billing.documents import (
    Allocation,
    DocumentKind,
    Invoice,
    InvoiceLine,
    Numbering,
    Payment,
    PaymentMethod,
    Series,
)
from espacefamille.billing.invoicing import CarriedBalance
from espacefamille.billing.online import CreatedPayment, PaymentAttempt, PaymentStatus
from espacefamille.calendar.opening import Closure, ClosureReason
from espacefamille.calendar.periods import DateRange
from espacefamille.commune import Commune
from espacefamille.config import dumps_commune, loads_commune
from espacefamille.errors import ConcurrentChange, EspaceFamilleError, InvalidInput, NotFound
from espacefamille.families.accounts import Account, AccountLink, Activation, LinkScope
from espacefamille.families.events import OutboxMessage
from espacefamille.families.requests import (
    Actor,
    ActorRole,
    EventKind,
    FieldValue,
    Request,
    RequestEvent,
    RequestStatus,
)
from espacefamille.model import (
    BookedDays,
    Booking,
    BookingStatus,
    Child,
    Diet,
    Enrolment,
    Family,
    Guardian,
    QuotientFamilial,
    Residence,
    SchoolClass,
)
from espacefamille.money import Money
from espacefamille.ports import FamilyRecords, check_carried
from espacefamille.rules.attendance import AbsenceDeclaration, AbsenceReason, AttendanceFact, AttendanceStatus
from espacefamille.rules.unpaid import UnpaidExemption

__all__ = [
    "ACCOUNTS_SCHEMA_VERSION",
    "SCHEMA_VERSION",
    "IncompatibleDatabase",
    "SqliteAccountStore",
    "SqliteStore",
    "SqliteUnitOfWork",
]

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

# -- schema --------------------------------------------------------------------------------------
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


def _connect(path: Path) -> sqlite3.Connection:
    # isolation_level=None: the module never opens transactions behind our back; we say BEGIN ourselves.
    connection = sqlite3.connect(path, timeout=_BUSY_TIMEOUT_SECONDS, isolation_level=None)
    try:
        connection.execute("PRAGMA foreign_keys = ON")
        # Safe in WAL mode: a commit survives a crash of the process, only a power cut may lose the last one.
        connection.execute("PRAGMA synchronous = NORMAL")
    except sqlite3.DatabaseError:
        connection.close()
        raise
    return connection


def _open_database(
    path: Path, application_id: int, migrations: tuple[tuple[str, ...], ...], what: str
) -> None:
    """Create or migrate the schema of ``path``, refusing (unchanged) a file this library cannot use."""
    latest = len(migrations)
    try:
        connection = _connect(path)
    except sqlite3.DatabaseError as error:
        raise _not_a_database(path, error) from None
    try:
        try:
            found_id = _scalar(connection, "PRAGMA application_id")
            version = _scalar(connection, "PRAGMA user_version")
            tables = _scalar(connection, "SELECT count(*) FROM sqlite_master")
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


# -- value codecs ------------------------------------------------------------------------------


def _instant(moment: dt.datetime) -> str:
    """Fixed-width UTC text (it sorts as time does) and the zone the instant was given in."""
    utc = moment.astimezone(dt.UTC).replace(tzinfo=None).isoformat(timespec="microseconds")
    zone = moment.tzinfo
    if isinstance(zone, zoneinfo.ZoneInfo) and zone.key:
        name = zone.key
    else:
        offset = moment.utcoffset()
        assert offset is not None  # the model only holds aware instants
        seconds = int(offset.total_seconds())
        sign = "-" if seconds < 0 else "+"
        name = f"{sign}{abs(seconds) // 3600:02d}:{abs(seconds) % 3600 // 60:02d}:{abs(seconds) % 60:02d}"
    return f"{utc}Z[{name}]"


@functools.lru_cache(maxsize=8192)
def _read_instant(text: str) -> dt.datetime:
    # A month of bookings shares few booking instants: caching the parse saves most of the reading time.
    utc_text, _, zone = text.partition("Z[")
    utc = dt.datetime.fromisoformat(utc_text).replace(tzinfo=dt.UTC)
    name = zone.removesuffix("]")
    if name[:1] in "+-":
        sign = -1 if name[0] == "-" else 1
        hours, minutes, seconds = (int(part) for part in name[1:].split(":"))
        offset = dt.timedelta(hours=hours, minutes=minutes, seconds=seconds) * sign
        return utc.astimezone(dt.timezone(offset))
    return utc.astimezone(zoneinfo.ZoneInfo(name))


def _optional_instant(moment: dt.datetime | None) -> str | None:
    return None if moment is None else _instant(moment)


def _read_optional_instant(text: str | None) -> dt.datetime | None:
    return None if text is None else _read_instant(text)


def _day(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


def _optional_day(text: str | None) -> dt.date | None:
    return None if text is None else dt.date.fromisoformat(text)


def _iso_day(day: object, what: str) -> str:
    if not isinstance(day, dt.date) or isinstance(day, dt.datetime):
        raise InvalidInput(f"{what} must be a date, got {day!r}", code="input.not_a_date")
    return day.isoformat()


def _iso(day: dt.date | None) -> str | None:
    return None if day is None else day.isoformat()


def _field_value_to_json(value: FieldValue) -> list[object]:
    # Tagged, because JSON cannot tell a date or an exact amount from text, nor (for some readers) a bool.
    if isinstance(value, bool):
        return ["bool", value]
    if isinstance(value, int):
        return ["int", value]
    if isinstance(value, Decimal):
        return ["decimal", str(value)]
    if isinstance(value, dt.date):
        return ["date", value.isoformat()]
    return ["str", value]


def _field_value_from_json(item: list[Any]) -> FieldValue:
    kind, raw = item
    if kind == "decimal":
        return Decimal(raw)
    if kind == "date":
        return dt.date.fromisoformat(raw)
    value: FieldValue = raw
    return value


@functools.cache
def _runs_query(families: int, one_month: bool) -> str:
    """The booking-days of ``families`` households (their ids) in a period (its first and last day, then,
    if ``one_month``, its month as ``YYYY-MM``), grouped into runs of child × prestation × status × surcharge.

    Each family is an equality, not a range of ids: SQLite seeks to the period inside each family's
    bookings, whatever other months the file holds. Within one month the index bookings_by_month gives
    the days in run order (no sort); a longer period is read from the primary key (family, day) and sorted.
    """
    month = " AND substr(day, 1, 7) = ?" if one_month else ""
    return (
        "SELECT family_id, child_id, prestation_id, status, surcharge_code, group_concat(day) FROM bookings "
        f"WHERE family_id IN ({_marks(families)}) AND day BETWEEN ? AND ?{month} "
        "GROUP BY family_id, child_id, prestation_id, status, surcharge_code "
        "ORDER BY family_id, child_id, prestation_id, status, surcharge_code"
    )


_new_booking: Final = trusted_builder(Booking)
_new_booked_days: Final = trusted_builder(BookedDays)
_new_fact: Final = trusted_builder(AttendanceFact)
_new_family: Final = trusted_builder(Family)
_new_guardian: Final = trusted_builder(Guardian)
_new_quotient: Final = trusted_builder(QuotientFamilial)
_new_child: Final = trusted_builder(Child)
_ATTENDANCE_STATUS: Final = {status.value: status for status in AttendanceStatus}


_BOOKING_STATUS: Final = {status.value: status for status in BookingStatus}


def _compact_days(days: Iterable[dt.date]) -> str:
    """A line's days as stored: the first in full, then each by what differs from the one before — the day
    in the same month, month and day in the same year, else in full: ``2026-11-30,12-01,02,03``."""
    parts: list[str] = []
    previous: dt.date | None = None
    for day in days:
        if previous is None or day.year != previous.year:
            parts.append(day.isoformat())
        elif day.month != previous.month:
            parts.append(f"{day.month:02d}-{day.day:02d}")
        else:
            parts.append(f"{day.day:02d}")
        previous = day
    return ",".join(parts)


def _line_days(text: str) -> tuple[dt.date, ...]:
    """The days ``_compact_days`` wrote, or a list of full dates (lines written before schema version 7)."""
    days: list[dt.date] = []
    for part in text.split(","):
        if len(part) == 10:
            day = dt.date.fromisoformat(part)
        elif days and len(part) == 5 and part[2] == "-":
            day = dt.date(days[-1].year, int(part[:2]), int(part[3:]))
        elif days and len(part) == 2:
            day = days[-1].replace(day=int(part))
        elif part:
            raise ValueError(f"not a line's days: {text!r}")
        else:
            continue
        days.append(day)
    return tuple(days)


class _LineDaysText(dict[tuple[dt.date, ...], str]):
    """``_compact_days`` of the days of a city's invoice lines: most children of a month share their days, so
    each list is written once (at most ``_LINE_DAYS_KEPT`` lists kept)."""

    def __missing__(self, days: tuple[dt.date, ...]) -> str:
        if len(self) >= _LINE_DAYS_KEPT:
            self.clear()
        text = self[days] = _compact_days(days)
        return text


_LINE_DAYS_KEPT: Final = 50_000
_LINE_DAYS_TEXT: Final = _LineDaysText()


# -- the commune store -------------------------------------------------------------------------


class SqliteStore:
    """A commune's store in one SQLite file (created, or migrated, when opened)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        _open_database(self.path, _COMMUNE_APPLICATION_ID, _COMMUNE_MIGRATIONS, "commune")
        self._commune_cache: tuple[str, Commune] | None = None

    def __repr__(self) -> str:
        return f"SqliteStore({str(self.path)!r})"

    @contextmanager
    def _unit_of_work(self) -> Iterator[SqliteUnitOfWork]:
        connection = _connect(self.path)
        uow = SqliteUnitOfWork(self, connection)
        try:
            yield uow
        finally:
            uow._close()

    def unit_of_work(self) -> AbstractContextManager[SqliteUnitOfWork]:
        """A unit of work on its own connection; leaving it without ``commit()`` rolls everything back."""
        return self._unit_of_work()

    def _parse_commune(self, text: str) -> Commune:
        # Parsing the configuration costs milliseconds; units of work come and go by the thousand.
        cached = self._commune_cache
        if cached is not None and cached[0] == text:
            return cached[1]
        commune = loads_commune(text)
        self._commune_cache = (text, commune)
        return commune


_FAMILY: Final = "family"
_PRESTATION: Final = "prestation"
_NUMBERING: Final = "numbering"
_CARRIED: Final = "carried"
_BILLED: Final = "billed"


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
        self._pending: list[Callable[[], None]] = []
        # What a write waiting for commit already promises: an invoice number, an outbox message id.
        self._pending_invoices: dict[str, Invoice] = {}
        self._pending_outbox: set[str] = set()
        # (scope, key) -> the version seen when first read; (scope, key) written by this unit of work.
        self._read: dict[tuple[str, str], int] = {}
        self._written: set[tuple[str, str]] = set()

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
        """Before a read: apply the writes waiting for commit, so the unit of work reads its own writes."""
        if self._pending:
            self._begin_writing()
            pending, self._pending = self._pending, []
            for apply in pending:
                apply()

    def _begin_writing(self) -> None:
        if not self._writing:
            # IMMEDIATE: take the write lock now (waiting for another writer to finish), so that what
            # this transaction reads cannot change before it commits.
            self._db.execute("BEGIN IMMEDIATE")
            self._writing = True

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
        previous = _scalar(self._db, f"SELECT family_id FROM {table} WHERE {key_column} = ?", (key,))
        if previous is not None:
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
            raise ConcurrentChange(
                "changed by another unit of work since read: "
                + ", ".join(f"{scope} {key!r}" for scope, key in changed),
                message_fr="Ces informations ont été modifiées entre-temps ; veuillez recommencer.",
                details={"changed": changed},
            )

    def commit(self) -> None:
        """Write everything at once, or raise ``ConcurrentChange`` and write nothing."""
        try:
            if self._pending or self._writing:
                self._begin_writing()
            else:
                # Nothing to write, but the caller relies on what it read being still true.
                self._db.execute("BEGIN")
            # Checked before the writes are applied: a write that fails because of someone else's
            # change (an invoice number already taken) is reported as the conflict it is.
            self._raise_if_changed()
            self._sync()
            changed = self._changed(places=True)
            if changed:
                raise ConcurrentChange(
                    "places booked by another unit of work since read: "
                    + ", ".join(f"{scope} {key!r}" for scope, key in changed),
                    message_fr="Ces places ont été réservées entre-temps ; veuillez recommencer.",
                    details={"changed": changed},
                )
            self._db.executemany(
                "INSERT INTO versions (scope, key, version) VALUES (?, ?, 1) "
                "ON CONFLICT (scope, key) DO UPDATE SET version = version + 1",
                sorted(self._written),
            )
            self._db.execute("COMMIT")
        except BaseException:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            self._reset()
            raise
        self._reset()

    def rollback(self) -> None:
        """Forget every write since the last commit."""
        if self._db.in_transaction:
            self._db.execute("ROLLBACK")
        self._reset()

    def _reset(self) -> None:
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

    # -- configuration -------------------------------------------------------------------------

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

    # -- families, children, enrolments --------------------------------------------------------

    def family(self, family_id: str) -> Family:
        self._sync()
        self._seen(_FAMILY, family_id)
        row = self._db.execute(
            "SELECT id, name, payer_id, residence, direct_debit FROM families WHERE id = ?", (family_id,)
        ).fetchone()
        if row is None:
            raise _not_found("family", family_id, "famille")
        return self._families([row])[0]

    def families(self) -> Iterator[Family]:
        """Every family ordered by id, read a batch at a time (memory does not grow with the city)."""
        return self._families_after("")

    def _families_after(self, after: str) -> Iterator[Family]:
        self._sync()
        while True:
            rows = self._db.execute(
                "SELECT f.id, f.name, f.payer_id, f.residence, f.direct_debit, v.version FROM families f "
                "LEFT JOIN versions v ON v.scope = 'family' AND v.key = f.id "
                "WHERE f.id > ? ORDER BY f.id LIMIT ?",
                (after, _BATCH),
            ).fetchall()
            if not rows:
                return
            if not self._writing:  # under the write lock they cannot change (see _seen)
                for row in rows:
                    self._read.setdefault((_FAMILY, row[0]), 0 if row[5] is None else int(row[5]))
            yield from self._families([row[:5] for row in rows])
            after = rows[-1][0]

    def family_records(
        self, period: DateRange, after: str | None = None, documents_from: dt.date | None = None
    ) -> Iterator[FamilyRecords]:
        """Every family with its month, read a batch of families at a time: one query per table for
        the batch instead of one per family (what makes month-end billing from SQLite fast)."""
        batch: list[Family] = []
        for family in self._families_after(after or ""):
            batch.append(family)
            if len(batch) == _BATCH:
                yield from self._records(batch, period, documents_from)
                batch = []
        if batch:
            yield from self._records(batch, period, documents_from)

    def _records(
        self, batch: list[Family], period: DateRange, documents_from: dt.date | None
    ) -> Iterator[FamilyRecords]:
        # The batch holds consecutive families in id order: a row of one of them is one whose family id
        # lies between the first and the last. The dated rows are read family by family (ids), so that
        # SQLite seeks to the period in each family's rows instead of reading all their months.
        self._sync()
        first, last = batch[0].id, batch[-1].id
        ids = [family.id for family in batch]
        start, end = period.start.isoformat(), period.end.isoformat()
        one_month = start[:7] == end[:7]
        db = self._db
        children: dict[str, list[Child]] = {}
        rows = db.execute(
            f"SELECT l.family_id, {', '.join('c.' + c.strip() for c in self._CHILD_COLUMNS.split(','))} "
            "FROM child_families l JOIN children c ON c.id = l.child_id "
            "WHERE l.family_id BETWEEN ? AND ? ORDER BY l.family_id, c.id",
            (first, last),
        ).fetchall()
        for child, (family_id, *_) in zip(self._children([row[1:] for row in rows]), rows, strict=True):
            children.setdefault(family_id, []).append(child)
        # The month's booking-days come grouped by SQLite into runs (child × prestation × status ×
        # surcharge): a few hundred thousand rows for a city instead of four million.
        runs: dict[str, list[BookedDays]] = {}
        day = {day.isoformat(): day for day in period}.__getitem__  # the query keeps to the period
        status = _BOOKING_STATUS
        new = _new_booked_days
        dated = [*ids, start, end]
        for family_id, child_id, prestation_id, state, surcharge, days in db.execute(
            _runs_query(len(ids), one_month), [*dated, start[:7]] if one_month else dated
        ):
            dates = tuple(map(day, sorted(days.split(","))))
            run = new(child_id, prestation_id, status[state], dates, surcharge)
            found = runs.get(family_id)
            if found is None:
                runs[family_id] = [run]
            else:
                found.append(run)
        facts = {
            family_id: self._attendance((row[1:] for row in group), day)
            for family_id, group in itertools.groupby(
                db.execute(
                    f"SELECT family_id, {self._FACT_COLUMNS} FROM attendance "
                    f"WHERE family_id IN ({_marks(len(ids))}) AND day BETWEEN ? AND ? "
                    "ORDER BY family_id, child_id, prestation_id, day",
                    dated,
                ),
                key=operator.itemgetter(0),
            )
        }
        absences = {
            family_id: self._absences(row[1:] for row in group)
            for family_id, group in itertools.groupby(
                db.execute(
                    f"SELECT family_id, {self._ABSENCE_COLUMNS} FROM absences "
                    "WHERE family_id BETWEEN ? AND ? ORDER BY family_id, child_id, start_day, end_day",
                    (first, last),
                ),
                key=operator.itemgetter(0),
            )
        }
        invoices: dict[str, list[Invoice]] = {}
        since = (documents_from or dt.date.min).isoformat()
        for invoice in self._invoices(
            "family_id BETWEEN ? AND ? AND (period_end >= ? OR kind = 'credit_note')", (first, last, since)
        ):
            invoices.setdefault(invoice.family_id, []).append(invoice)
        for family in batch:
            family_id = family.id
            yield FamilyRecords(
                family,
                children.get(family_id, ()),
                runs.get(family_id, ()),
                facts.get(family_id, ()),
                absences.get(family_id, ()),
                invoices.get(family_id, ()),
            )

    def _families(self, rows: list[Any]) -> list[Family]:
        ids = [row[0] for row in rows]
        guardians: dict[str, list[Guardian]] = {}
        quotients: dict[str, list[QuotientFamilial]] = {}
        marks = _marks(len(ids))
        for family_id, *fields in self._db.execute(
            "SELECT family_id, id, first_name, last_name, email, phone FROM guardians "
            f"WHERE family_id IN ({marks}) ORDER BY family_id, position",
            ids,
        ):
            guardians.setdefault(family_id, []).append(_new_guardian(*fields))
        for family_id, value, valid_from, valid_until, source, received_on in self._db.execute(
            "SELECT family_id, value, valid_from, valid_until, source, received_on FROM quotients "
            f"WHERE family_id IN ({marks}) ORDER BY family_id, position",
            ids,
        ):
            quotients.setdefault(family_id, []).append(
                _new_quotient(
                    Decimal(value),
                    _day(valid_from),
                    _optional_day(valid_until),
                    source,
                    _optional_day(received_on),
                )
            )
        # Rows this store wrote from validated families: rebuilt without checking them again.
        return [
            _new_family(
                family_id,
                name,
                tuple(guardians.get(family_id, ())),
                payer_id,
                Residence(residence),
                tuple(quotients.get(family_id, ())),
                bool(direct_debit),
            )
            for family_id, name, payer_id, residence, direct_debit in rows
        ]

    def save_family(self, family: Family) -> None:

        def apply() -> None:
            self._mark(_FAMILY, family.id)
            self._db.execute("DELETE FROM families WHERE id = ?", (family.id,))
            self._db.execute(
                "INSERT INTO families (id, name, payer_id, residence, direct_debit) VALUES (?, ?, ?, ?, ?)",
                (family.id, family.name, family.payer_id, family.residence.value, int(family.direct_debit)),
            )
            self._db.executemany(
                "INSERT INTO guardians (family_id, position, id, first_name, last_name, email, phone) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    (family.id, position, g.id, g.first_name, g.last_name, g.email, g.phone)
                    for position, g in enumerate(family.guardians)
                ],
            )
            self._db.executemany(
                "INSERT INTO quotients (family_id, position, value, valid_from, valid_until, source, "
                "received_on) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        family.id,
                        position,
                        str(q.value),
                        q.valid_from.isoformat(),
                        _iso(q.valid_until),
                        q.source,
                        _iso(q.received_on),
                    )
                    for position, q in enumerate(family.quotients)
                ],
            )

        self._write(apply)

    _CHILD_COLUMNS: Final = (
        "id, first_name, last_name, birth_date, school, school_class, pai, needs_support, diets"
    )

    def child(self, child_id: str) -> Child:
        self._sync()
        families = self._child_families([child_id]).get(child_id)
        for family_id in families or ():
            self._seen(_FAMILY, family_id)
        row = self._db.execute(
            f"SELECT {self._CHILD_COLUMNS} FROM children WHERE id = ?", (child_id,)
        ).fetchone()
        if row is None:
            raise _not_found("child", child_id, "enfant")
        return self._children([row])[0]

    def children_of(self, family_id: str) -> tuple[Child, ...]:
        self._sync()
        self._seen(_FAMILY, family_id)
        rows = self._db.execute(
            f"SELECT {', '.join('c.' + c.strip() for c in self._CHILD_COLUMNS.split(','))} FROM children c "
            "JOIN child_families l ON l.child_id = c.id WHERE l.family_id = ? ORDER BY c.id",
            (family_id,),
        ).fetchall()
        return tuple(self._children(rows))

    def _child_families(self, ids: Sequence[str]) -> dict[str, list[str]]:
        links: dict[str, list[str]] = {}
        for child_id, family_id in self._db.execute(
            f"SELECT child_id, family_id FROM child_families WHERE child_id IN ({_marks(len(ids))}) "
            "ORDER BY child_id, position",
            ids,
        ):
            links.setdefault(child_id, []).append(family_id)
        return links

    def _children(self, rows: list[Any]) -> list[Child]:
        links = self._child_families([row[0] for row in rows])
        return [
            _new_child(
                child_id,
                first_name,
                last_name,
                _day(birth_date),
                tuple(links.get(child_id, ())),
                school,
                None if school_class is None else SchoolClass(school_class),
                bool(pai),
                bool(needs_support),
                frozenset(Diet(diet) for diet in diets.split(",") if diet),
            )
            for (
                child_id,
                first_name,
                last_name,
                birth_date,
                school,
                school_class,
                pai,
                needs_support,
                diets,
            ) in rows
        ]

    def save_child(self, child: Child) -> None:

        def apply() -> None:
            previous = self._child_families([child.id]).get(child.id, [])
            for family_id in {*previous, *child.family_ids}:
                self._mark(_FAMILY, family_id)
            self._db.execute("DELETE FROM children WHERE id = ?", (child.id,))
            self._db.execute(
                f"INSERT INTO children ({self._CHILD_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    child.id,
                    child.first_name,
                    child.last_name,
                    child.birth_date.isoformat(),
                    child.school,
                    None if child.school_class is None else child.school_class.value,
                    int(child.pai),
                    int(child.needs_support),
                    ",".join(sorted(diet.value for diet in child.diets)),
                ),
            )
            self._db.executemany(
                "INSERT INTO child_families (child_id, position, family_id) VALUES (?, ?, ?)",
                [(child.id, position, family_id) for position, family_id in enumerate(child.family_ids)],
            )

        self._write(apply)

    def enrolments_of(self, child_id: str) -> tuple[Enrolment, ...]:
        self._sync()
        for family_id in self._child_families([child_id]).get(child_id, ()):
            self._seen(_FAMILY, family_id)
        rows = self._db.execute(
            "SELECT id, child_id, family_id, service_id, start_day, end_day, validated FROM enrolments "
            "WHERE child_id = ? ORDER BY id",
            (child_id,),
        ).fetchall()
        return tuple(
            Enrolment(id_, child, family, service, DateRange(_day(start), _day(end)), bool(validated))
            for id_, child, family, service, start, end, validated in rows
        )

    def save_enrolment(self, enrolment: Enrolment) -> None:

        def apply() -> None:
            self._mark_owners("enrolments", "id", enrolment.id, enrolment.family_id)
            self._db.execute(
                "INSERT OR REPLACE INTO enrolments (id, child_id, family_id, service_id, start_day, end_day, "
                "validated) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    enrolment.id,
                    enrolment.child_id,
                    enrolment.family_id,
                    enrolment.service_id,
                    enrolment.period.start.isoformat(),
                    enrolment.period.end.isoformat(),
                    int(enrolment.validated),
                ),
            )

        self._write(apply)

    # -- bookings, attendance, closures --------------------------------------------------------

    _BOOKING_COLUMNS: Final = (
        "child_id, prestation_id, day, family_id, status, booked_at, paid_cents, surcharge_code"
    )

    @staticmethod
    def _bookings(rows: Iterable[Any]) -> tuple[Booking, ...]:
        status = _BOOKING_STATUS
        instant = _read_instant
        day = dt.date.fromisoformat
        cents = Money.from_cents
        new = _new_booking
        return tuple(
            new(
                child_id,
                prestation_id,
                day(on),
                family_id,
                status[state],
                instant(booked_at),
                None if paid is None else cents(paid),
                surcharge,
            )
            for child_id, prestation_id, on, family_id, state, booked_at, paid, surcharge in rows
        )

    def bookings_of_family(self, family_id: str, period: DateRange) -> tuple[Booking, ...]:
        self._sync()
        self._seen(_FAMILY, family_id)
        return self._bookings(
            self._db.execute(
                f"SELECT {self._BOOKING_COLUMNS} FROM bookings WHERE family_id = ? AND day BETWEEN ? AND ? "
                "ORDER BY child_id, prestation_id, day",
                (family_id, period.start.isoformat(), period.end.isoformat()),
            )
        )

    def bookings_of_prestation(self, prestation_id: str, period: DateRange) -> tuple[Booking, ...]:
        self._sync()
        self._seen(_PRESTATION, prestation_id)
        return self._bookings(
            self._db.execute(
                f"SELECT {self._BOOKING_COLUMNS} FROM bookings WHERE prestation_id = ? "
                "AND day BETWEEN ? AND ? ORDER BY child_id, day",
                (prestation_id, period.start.isoformat(), period.end.isoformat()),
            )
        )

    def save_bookings(self, bookings: Iterable[Booking]) -> None:
        rows = []
        scopes: set[tuple[str, str]] = set()
        for booking in bookings:
            if not isinstance(booking, Booking):
                raise InvalidInput(f"expected a Booking, got {booking!r}", code="store.not_a_booking")
            rows.append(
                (
                    booking.family_id,
                    booking.day.isoformat(),
                    booking.child_id,
                    booking.prestation_id,
                    booking.status.value,
                    _instant(booking.booked_at),
                    None if booking.paid is None else booking.paid.cents,
                    booking.surcharge_code,
                )
            )
            scopes.add((_FAMILY, booking.family_id))
            scopes.add((_PRESTATION, booking.prestation_id))
        if not rows:
            return

        def apply() -> None:
            # A booking that moves from one household to the other leaves the first one changed too.
            for child_id, prestation_id, day in {(row[2], row[3], row[1]) for row in rows}:
                previous = _scalar(
                    self._db,
                    "SELECT family_id FROM bookings WHERE child_id = ? AND prestation_id = ? AND day = ?",
                    (child_id, prestation_id, day),
                )
                if previous is not None:
                    scopes.add((_FAMILY, previous))
            self._written.update(scopes)
            # OR REPLACE also removes the row of the same child, prestation and date (the unique key).
            self._db.executemany(
                "INSERT OR REPLACE INTO bookings (family_id, day, child_id, prestation_id, status, "
                "booked_at, paid_cents, surcharge_code) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )

        self._write(apply)

    def attendance_of_family(self, family_id: str, period: DateRange) -> tuple[AttendanceFact, ...]:
        self._sync()
        self._seen(_FAMILY, family_id)
        return self._attendance(
            self._db.execute(
                f"SELECT {self._FACT_COLUMNS} FROM attendance "
                "WHERE family_id = ? AND day BETWEEN ? AND ? ORDER BY child_id, prestation_id, day",
                (family_id, period.start.isoformat(), period.end.isoformat()),
            )
        )

    _FACT_COLUMNS: Final = "child_id, prestation_id, day, status, recorded_by, recorded_at, note"

    @staticmethod
    def _attendance(
        rows: Iterable[Any], day: Callable[[str], dt.date] = dt.date.fromisoformat
    ) -> tuple[AttendanceFact, ...]:
        new = _new_fact
        status = _ATTENDANCE_STATUS
        return tuple(
            new(
                child_id,
                prestation_id,
                day(on),
                status[state],
                recorded_by,
                None if recorded_at is None else _read_instant(recorded_at),
                note,
            )
            for child_id, prestation_id, on, state, recorded_by, recorded_at, note in rows
        )

    def save_attendance(self, facts: Iterable[AttendanceFact], family_id: str) -> None:
        rows = [
            (
                family_id,
                fact.day.isoformat(),
                fact.child_id,
                fact.prestation_id,
                fact.status.value,
                fact.recorded_by,
                _optional_instant(fact.recorded_at),
                fact.note,
            )
            for fact in facts
        ]
        if not rows:
            return

        def apply() -> None:
            self._mark(_FAMILY, family_id)
            self._db.executemany(
                "INSERT OR REPLACE INTO attendance (family_id, day, child_id, prestation_id, status, "
                "recorded_by, recorded_at, note) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )

        self._write(apply)

    def absences_of_family(self, family_id: str) -> tuple[AbsenceDeclaration, ...]:
        self._sync()
        self._seen(_FAMILY, family_id)
        return self._absences(
            self._db.execute(
                f"SELECT {self._ABSENCE_COLUMNS} FROM absences "
                "WHERE family_id = ? ORDER BY child_id, start_day, end_day",
                (family_id,),
            )
        )

    _ABSENCE_COLUMNS: Final = "child_id, start_day, end_day, reason, declared_at, proof_received_at"

    @staticmethod
    def _absences(rows: Iterable[Any]) -> tuple[AbsenceDeclaration, ...]:
        return tuple(
            AbsenceDeclaration(
                child_id,
                DateRange(_day(start), _day(end)),
                AbsenceReason(reason),
                _read_instant(declared_at),
                _read_optional_instant(proof),
            )
            for child_id, start, end, reason, declared_at, proof in rows
        )

    def save_absence(self, declaration: AbsenceDeclaration, family_id: str) -> None:

        def apply() -> None:
            self._mark(_FAMILY, family_id)
            self._db.execute(
                "INSERT OR REPLACE INTO absences (child_id, start_day, end_day, family_id, reason, "
                "declared_at, proof_received_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    declaration.child_id,
                    declaration.days.start.isoformat(),
                    declaration.days.end.isoformat(),
                    family_id,
                    declaration.reason.value,
                    _instant(declaration.declared_at),
                    _optional_instant(declaration.proof_received_at),
                ),
            )

        self._write(apply)

    def closures(self) -> Mapping[str, tuple[Closure, ...]]:
        self._sync()
        result: dict[str, list[Closure]] = {}
        for service_id, start, end, reason, label in self._db.execute(
            "SELECT service_id, start_day, end_day, reason, label FROM closures "
            "ORDER BY service_id, start_day, end_day, position"
        ):
            result.setdefault(service_id, []).append(
                Closure(DateRange(_day(start), _day(end)), ClosureReason(reason), label)
            )
        return {service_id: tuple(items) for service_id, items in result.items()}

    def add_closure(self, service_id: str, closure: Closure) -> None:

        def apply() -> None:
            # Declaring the same closure twice keeps one.
            self._db.execute(
                "INSERT OR IGNORE INTO closures (service_id, start_day, end_day, reason, label) "
                "VALUES (?, ?, ?, ?, ?)",
                (
                    service_id,
                    closure.period.start.isoformat(),
                    closure.period.end.isoformat(),
                    closure.reason.value,
                    closure.label,
                ),
            )

        self._write(apply)

    # -- billing -------------------------------------------------------------------------------

    def _invoices(self, where: str, parameters: Sequence[object]) -> tuple[Invoice, ...]:
        rows = self._db.execute(
            "SELECT number, regie_id, family_id, kind, period_start, period_end, issued_on, due_on, "
            f"direct_debit_on FROM invoices WHERE {where} ORDER BY number",
            parameters,
        ).fetchall()
        if not rows:
            return ()
        lines: dict[str, list[InvoiceLine]] = {}
        numbers = [row[0] for row in rows]
        for chunk in _chunks(numbers):
            for number, *fields in self._db.execute(
                "SELECT invoice_number, child_id, prestation_id, label, reason, days, quantity, unit_price, "
                "total_cents, explanation, regularises_invoice, regularises_day, minutes FROM invoice_lines "
                f"WHERE invoice_number IN ({_marks(len(chunk))}) ORDER BY invoice_number, position",
                chunk,
            ):
                lines.setdefault(number, []).append(self._line(fields))
        return tuple(
            Invoice(
                number,
                regie_id,
                family_id,
                DocumentKind(kind),
                DateRange(_day(start), _day(end)),
                _day(issued_on),
                _day(due_on),
                lines.get(number, ()),
                _optional_day(direct_debit_on),
            )
            for number, regie_id, family_id, kind, start, end, issued_on, due_on, direct_debit_on in rows
        )

    @staticmethod
    def _line_row(line: InvoiceLine) -> tuple[object, ...]:
        """A line's columns, from ``child_id`` to ``minutes`` (as ``invoice_lines`` and ``carried_lines``)."""
        return (
            line.child_id,
            line.prestation_id,
            line.label,
            line.reason,
            _LINE_DAYS_TEXT[line.days],
            str(line.quantity),
            str(line.unit_price),
            line.total.cents,
            line.explanation,
            None if line.regularises is None else line.regularises[0],
            None if line.regularises is None else line.regularises[1].isoformat(),
            line.minutes,
        )

    @staticmethod
    def _line(fields: list[Any]) -> InvoiceLine:
        (child_id, prestation_id, label, reason, days, quantity, unit_price, total, explanation) = fields[:9]
        regularises_invoice, regularises_day, minutes = fields[9:]
        return InvoiceLine(
            child_id,
            prestation_id,
            label,
            reason,
            _line_days(days),
            Decimal(quantity),
            Decimal(unit_price),
            Money.from_cents(total),
            explanation,
            None if regularises_invoice is None else (regularises_invoice, _day(regularises_day)),
            minutes,
        )

    def invoices_of_family(self, family_id: str) -> tuple[Invoice, ...]:
        self._sync()
        self._seen(_FAMILY, family_id)
        return self._invoices("family_id = ?", (family_id,))

    def _invoice_exists(self, number: str) -> bool:
        return _scalar(self._db, "SELECT 1 FROM invoices WHERE number = ?", (number,)) is not None

    def invoice(self, number: str) -> Invoice:
        self._sync()
        found = self._invoices("number = ?", (number,))
        if not found:
            raise _not_found("invoice", number, "facture")
        self._seen(_FAMILY, found[0].family_id)
        return found[0]

    def save_invoice(self, invoice: Invoice) -> None:
        # A known number (here or already committed) is refused unless it is the same invoice. Before the
        # write lock it is looked up at once and again under the lock, where no other unit of work can slip
        # an invoice in between; under the lock the insert itself finds it (one lookup less per invoice of
        # a month-end run).
        earlier = self._pending_invoices.get(invoice.number)
        if earlier is None and not self._writing and self._invoice_exists(invoice.number):
            earlier = self._invoices("number = ?", (invoice.number,))[0]
        if earlier is not None:
            self._check_known_invoice(earlier, invoice)
            return
        if not self._writing:
            # Only a write still waiting for the lock is remembered: once written, the row answers (a
            # month-end run that saves a city's invoices as it goes keeps none of them in memory).
            self._pending_invoices[invoice.number] = invoice

        def apply() -> None:
            self._mark(_FAMILY, invoice.family_id)
            try:
                self._db.execute(
                    "INSERT INTO invoices (number, regie_id, family_id, kind, period_start, period_end, "
                    "issued_on, due_on, direct_debit_on) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        invoice.number,
                        invoice.regie_id,
                        invoice.family_id,
                        invoice.kind.value,
                        invoice.period.start.isoformat(),
                        invoice.period.end.isoformat(),
                        invoice.issued_on.isoformat(),
                        invoice.due_on.isoformat(),
                        _iso(invoice.direct_debit_on),
                    ),
                )
            except sqlite3.IntegrityError:
                found = self._invoices("number = ?", (invoice.number,))
                if not found:  # pragma: no cover - every column is given; only the number can clash
                    raise
                self._check_known_invoice(found[0], invoice)
                return
            self._db.executemany(
                "INSERT INTO invoice_lines (invoice_number, position, child_id, prestation_id, label, "
                "reason, days, quantity, unit_price, total_cents, explanation, regularises_invoice, "
                "regularises_day, minutes) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (invoice.number, position, *self._line_row(line))
                    for position, line in enumerate(invoice.lines)
                ],
            )

        self._write(apply)

    def _check_known_invoice(self, earlier: Invoice, invoice: Invoice) -> None:
        if earlier != invoice:
            # The number may have been given by another unit of work since this one read the numbering:
            # that is a conflict to retry, not a change to an issued invoice.
            self._raise_if_changed()
        _check_same_invoice(earlier, invoice)

    def payments_of_family(self, family_id: str) -> tuple[Payment, ...]:
        self._sync()
        self._seen(_FAMILY, family_id)
        rows = self._db.execute(
            "SELECT number, regie_id, family_id, amount_cents, received_at, method, reference FROM payments "
            "WHERE family_id = ? ORDER BY number",
            (family_id,),
        ).fetchall()
        return tuple(
            Payment(
                number,
                regie_id,
                family,
                Money.from_cents(cents),
                _read_instant(received_at),
                PaymentMethod(method),
                reference,
            )
            for number, regie_id, family, cents, received_at, method, reference in rows
        )

    def save_payment(self, payment: Payment) -> None:

        def apply() -> None:
            self._mark_owners("payments", "number", payment.number, payment.family_id)
            self._db.execute(
                "INSERT OR REPLACE INTO payments (number, regie_id, family_id, amount_cents, received_at, "
                "method, reference) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    payment.number,
                    payment.regie_id,
                    payment.family_id,
                    payment.amount.cents,
                    _instant(payment.received_at),
                    payment.method.value,
                    payment.reference,
                ),
            )

        self._write(apply)

    def allocations_of_family(self, family_id: str) -> tuple[Allocation, ...]:
        self._sync()
        self._seen(_FAMILY, family_id)
        rows = self._db.execute(
            "SELECT source, invoice_number, amount_cents FROM allocations WHERE family_id = ? "
            "ORDER BY source, invoice_number",
            (family_id,),
        ).fetchall()
        return tuple(Allocation(source, invoice, Money.from_cents(cents)) for source, invoice, cents in rows)

    def save_allocations(self, allocations: Iterable[Allocation], family_id: str) -> None:
        rows = [(a.source, a.invoice_number, family_id, a.amount.cents) for a in allocations]
        if not rows:
            return

        def apply() -> None:
            self._mark(_FAMILY, family_id)
            self._db.executemany(
                "INSERT OR REPLACE INTO allocations (source, invoice_number, family_id, amount_cents) "
                "VALUES (?, ?, ?, ?)",
                rows,
            )

        self._write(apply)

    def numbering(self) -> Numbering:
        self._sync()
        self._seen(_NUMBERING, "")
        rows = self._db.execute("SELECT regie_id, year, series, last FROM numbering").fetchall()
        return Numbering({(regie_id, year, Series(series)): last for regie_id, year, series, last in rows})

    def save_numbering(self, numbering: Numbering) -> None:
        # Numbers are gap-free and unique: two runs numbering at once must not both commit.

        def apply() -> None:
            self._mark(_NUMBERING, "")
            self._db.execute("DELETE FROM numbering")
            self._db.executemany(
                "INSERT INTO numbering (regie_id, year, series, last) VALUES (?, ?, ?, ?)",
                [
                    (regie_id, year, series.value, last)
                    for (regie_id, year, series), last in numbering.last.items()
                ],
            )

        self._write(apply)

    def carried(self, regie_id: str, before: dt.date | None = None) -> Mapping[str, CarriedBalance]:
        self._sync()
        self._seen(_CARRIED, regie_id)
        limit = (before or dt.date.max).isoformat()
        # Each family's latest run before ``before``: the row whose period starts last.
        latest = """SELECT regie_id, family_id, max(period_start) AS period_start FROM carried_balances
            WHERE regie_id = ? AND period_start < ? GROUP BY family_id"""
        found = [
            family_id
            for family_id, carries in self._db.execute(
                f"SELECT b.family_id, b.carries FROM ({latest}) l JOIN carried_balances b "
                "USING (regie_id, family_id, period_start) ORDER BY b.family_id",
                (regie_id, limit),
            )
            if carries
        ]
        lines: dict[str, list[InvoiceLine]] = {family_id: [] for family_id in found}
        for family_id, *fields in self._db.execute(
            "SELECT c.family_id, child_id, prestation_id, label, reason, days, quantity, unit_price, "
            "total_cents, explanation, regularises_invoice, regularises_day, minutes "
            f"FROM ({latest}) l JOIN carried_lines c USING (regie_id, family_id, period_start) "
            "ORDER BY c.family_id, c.position",
            (regie_id, limit),
        ):
            lines[family_id].append(self._line(fields))
        return {family_id: CarriedBalance(family_id, regie_id, items) for family_id, items in lines.items()}

    def save_carried(
        self, regie_id: str, period: DateRange, balances: Mapping[str, CarriedBalance | None]
    ) -> None:
        """Replace what the run of ``period`` recorded for the families named (``None``: nothing carried)."""
        checked = sorted(check_carried(regie_id, balances).items())
        start = period.start.isoformat()

        def apply() -> None:
            self._mark(_CARRIED, regie_id)
            for family_id, balance in checked:
                key = (regie_id, family_id, start)
                self._db.execute(
                    "DELETE FROM carried_lines WHERE regie_id = ? AND family_id = ? AND period_start = ?", key
                )
                self._db.execute(
                    "DELETE FROM carried_balances WHERE regie_id = ? AND family_id = ? AND period_start = ?",
                    key,
                )
                self._db.execute(
                    "INSERT INTO carried_balances (regie_id, family_id, period_start, period_end, carries) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (*key, period.end.isoformat(), balance is not None),
                )
                if balance is not None:
                    self._db.executemany(
                        "INSERT INTO carried_lines (regie_id, family_id, period_start, position, child_id, "
                        "prestation_id, label, reason, days, quantity, unit_price, total_cents, explanation, "
                        "regularises_invoice, regularises_day, minutes) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        [
                            (*key, position, *self._line_row(line))
                            for position, line in enumerate(balance.lines)
                        ],
                    )

        self._write(apply)

    def billed_through(self, regie_id: str) -> dt.date | None:
        self._sync()
        self._seen(_BILLED, regie_id)
        return _optional_day(
            _scalar(self._db, "SELECT day FROM billed_through WHERE regie_id = ?", (regie_id,))
        )

    def save_billed_through(self, regie_id: str, day: dt.date) -> None:
        text = _iso_day(day, "billed through")

        def apply() -> None:
            self._mark(_BILLED, regie_id)
            self._db.execute(
                "INSERT OR REPLACE INTO billed_through (regie_id, day) VALUES (?, ?)", (regie_id, text)
            )

        self._write(apply)

    def changed_days(self, regie_id: str) -> Mapping[str, tuple[dt.date, ...]]:
        self._sync()
        found: dict[str, list[dt.date]] = {}
        for family_id, day in self._db.execute(
            "SELECT family_id, day FROM changed_days WHERE regie_id = ? ORDER BY family_id, day", (regie_id,)
        ):
            found.setdefault(family_id, []).append(_day(day))
        return {family_id: tuple(days) for family_id, days in found.items()}

    def mark_changed(self, regie_id: str, family_id: str, days: Iterable[dt.date]) -> None:
        rows = [(regie_id, family_id, _iso_day(day, "a changed day")) for day in days]

        def apply() -> None:
            self._mark(_FAMILY, family_id)
            self._db.executemany(
                "INSERT OR IGNORE INTO changed_days (regie_id, family_id, day) VALUES (?, ?, ?)", rows
            )

        self._write(apply)

    def clear_changed(self, regie_id: str, family_id: str, days: Iterable[dt.date]) -> None:
        rows = [(regie_id, family_id, _iso_day(day, "a billed day")) for day in days]

        def apply() -> None:
            self._mark(_FAMILY, family_id)
            self._db.executemany(
                "DELETE FROM changed_days WHERE regie_id = ? AND family_id = ? AND day = ?", rows
            )

        self._write(apply)

    def unpaid_exemption(self, family_id: str) -> UnpaidExemption | None:
        self._sync()
        self._seen(_FAMILY, family_id)
        row = self._db.execute(
            "SELECT granted_by, since, until, reason FROM unpaid_exemptions WHERE family_id = ?", (family_id,)
        ).fetchone()
        if row is None:
            return None
        granted_by, since, until, reason = row
        return UnpaidExemption(granted_by, _day(since), _optional_day(until), reason)

    def save_unpaid_exemption(self, family_id: str, exemption: UnpaidExemption | None) -> None:
        row = (
            None
            if exemption is None
            else (
                family_id,
                exemption.granted_by,
                exemption.since.isoformat(),
                _iso(exemption.until),
                exemption.reason,
            )
        )

        def apply() -> None:
            self._mark(_FAMILY, family_id)
            if row is None:
                self._db.execute("DELETE FROM unpaid_exemptions WHERE family_id = ?", (family_id,))
            else:
                self._db.execute(
                    "INSERT OR REPLACE INTO unpaid_exemptions (family_id, granted_by, since, until, reason) "
                    "VALUES (?, ?, ?, ?, ?)",
                    row,
                )

        self._write(apply)

    # -- online payments -----------------------------------------------------------------------

    _ATTEMPT_COLUMNS: Final = (
        "payment_id, family_id, regie_id, invoice_numbers, status, redirect_url, amount_cents, reference, "
        "email, created_at, expires_at"
    )

    @staticmethod
    def _attempt(row: Sequence[Any]) -> PaymentAttempt:
        payment_id, family_id, regie_id, numbers, status, url, cents, reference, email, created, expires = row
        created_payment = CreatedPayment(
            payment_id,
            url,
            Money.from_cents(cents),
            reference,
            email,
            _read_instant(created),
            _read_instant(expires),
        )
        return PaymentAttempt(
            created_payment, regie_id, family_id, json.loads(numbers), PaymentStatus(status)
        )

    def payment_attempt(self, payment_id: str) -> PaymentAttempt:
        self._sync()
        row = self._db.execute(
            f"SELECT {self._ATTEMPT_COLUMNS} FROM payment_attempts WHERE payment_id = ?", (payment_id,)
        ).fetchone()
        if row is None:
            raise _not_found("payment attempt", payment_id, "paiement en ligne")
        self._seen(_FAMILY, row[1])
        return self._attempt(row)

    def payment_attempts_of_family(self, family_id: str) -> tuple[PaymentAttempt, ...]:
        self._sync()
        self._seen(_FAMILY, family_id)
        rows = self._db.execute(
            f"SELECT {self._ATTEMPT_COLUMNS} FROM payment_attempts WHERE family_id = ? ORDER BY payment_id",
            (family_id,),
        ).fetchall()
        return tuple(self._attempt(row) for row in rows)

    def save_payment_attempt(self, attempt: PaymentAttempt) -> None:
        created = attempt.created

        def apply() -> None:
            previous = _scalar(
                self._db, "SELECT family_id FROM payment_attempts WHERE payment_id = ?", (attempt.payment_id,)
            )
            self._mark(_FAMILY, attempt.family_id)
            if previous is not None:
                self._mark(_FAMILY, previous)
            self._db.execute(
                f"INSERT OR REPLACE INTO payment_attempts ({self._ATTEMPT_COLUMNS}) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    attempt.payment_id,
                    attempt.family_id,
                    attempt.regie_id,
                    json.dumps(list(attempt.invoice_numbers)),
                    attempt.status.value,
                    created.redirect_url,
                    created.amount.cents,
                    created.reference,
                    created.email,
                    _instant(created.created_at),
                    _instant(created.expires_at),
                ),
            )

        self._write(apply)

    # -- requests and notifications ------------------------------------------------------------

    def requests_of_family(self, family_id: str) -> tuple[Request, ...]:
        self._sync()
        self._seen(_FAMILY, family_id)
        rows = self._db.execute(
            "SELECT id, family_id, category_id, field_values FROM requests WHERE family_id = ? ORDER BY id",
            (family_id,),
        ).fetchall()
        history: dict[str, list[RequestEvent]] = {}
        for request_id, at, role, actor_id, kind, from_status, to_status, message in self._db.execute(
            "SELECT e.request_id, e.at, e.actor_role, e.actor_id, e.kind, e.from_status, e.to_status, "
            "e.message FROM request_events e JOIN requests r ON r.id = e.request_id WHERE r.family_id = ? "
            "ORDER BY e.request_id, e.position",
            (family_id,),
        ):
            history.setdefault(request_id, []).append(
                RequestEvent(
                    _read_instant(at),
                    Actor(ActorRole(role), actor_id),
                    EventKind(kind),
                    None if from_status is None else RequestStatus(from_status),
                    None if to_status is None else RequestStatus(to_status),
                    message,
                )
            )
        return tuple(
            Request(
                request_id,
                family,
                category,
                {key: _field_value_from_json(item) for key, item in json.loads(values).items()},
                history.get(request_id, ()),
            )
            for request_id, family, category, values in rows
        )

    def save_request(self, request: Request) -> None:

        def apply() -> None:
            self._mark_owners("requests", "id", request.id, request.family_id)
            self._db.execute("DELETE FROM requests WHERE id = ?", (request.id,))
            self._db.execute(
                "INSERT INTO requests (id, family_id, category_id, field_values) VALUES (?, ?, ?, ?)",
                (
                    request.id,
                    request.family_id,
                    request.category_id,
                    json.dumps(
                        {key: _field_value_to_json(value) for key, value in request.values.items()},
                        ensure_ascii=False,
                    ),
                ),
            )
            self._db.executemany(
                "INSERT INTO request_events (request_id, position, at, actor_role, actor_id, kind, "
                "from_status, to_status, message) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        request.id,
                        position,
                        _instant(event.at),
                        event.actor.role.value,
                        event.actor.id,
                        event.kind.value,
                        None if event.from_status is None else event.from_status.value,
                        None if event.to_status is None else event.to_status.value,
                        event.message,
                    )
                    for position, event in enumerate(request.history)
                ],
            )

        self._write(apply)

    def add_outbox(self, message: OutboxMessage) -> None:
        text = json.dumps(message.to_dict(), ensure_ascii=False, sort_keys=True)

        def apply() -> None:
            # Ids are random: a message is inserted at once, and only a clash looks at what is there.
            try:
                self._db.execute("INSERT INTO outbox (id, message) VALUES (?, ?)", (message.id, text))
            except sqlite3.IntegrityError:
                existing = _scalar(self._db, "SELECT message FROM outbox WHERE id = ?", (message.id,))
                if existing == text:
                    return
                raise InvalidInput(
                    f"outbox message {message.id!r} is already queued with other content",
                    code="store.duplicate_message",
                    details={"id": message.id},
                ) from None

        if not self._writing:  # once written, the row itself answers save_outbox
            self._pending_outbox.add(message.id)
        self._write(apply)

    def outbox(self) -> tuple[OutboxMessage, ...]:
        self._sync()
        return tuple(
            OutboxMessage.from_dict(json.loads(text))
            for (text,) in self._db.execute("SELECT message FROM outbox ORDER BY position")
        )

    def save_outbox(self, message: OutboxMessage) -> None:
        text = json.dumps(message.to_dict(), ensure_ascii=False, sort_keys=True)
        if message.id not in self._pending_outbox and (
            _scalar(self._db, "SELECT 1 FROM outbox WHERE id = ?", (message.id,)) is None
        ):
            raise _not_found("outbox message", message.id, "notification")

        def apply() -> None:
            updated = self._db.execute(
                "UPDATE outbox SET message = ? WHERE id = ?", (text, message.id)
            ).rowcount
            if not updated:
                raise _not_found("outbox message", message.id, "notification")

        self._write(apply)


def _check_same_invoice(issued: Invoice, invoice: Invoice) -> None:
    if issued != invoice:
        raise InvalidInput(
            f"invoice {invoice.number} is already issued with another content; an issued invoice never "
            "changes (correct it with regularisation lines on a later one)",
            message_fr=f"La facture {invoice.number} est déjà émise : elle ne peut plus être modifiée.",
            code="store.invoice_immutable",
            details={"number": invoice.number},
        )


def _not_found(what: str, key: str, what_fr: str) -> NotFound:
    return NotFound(
        f"unknown {what} {key!r}",
        message_fr=f"{what_fr.capitalize()} inconnu(e) : « {key} ».",
        code=f"not_found.{what.replace(' ', '_')}",
        details={"id": key},
    )


# -- the accounts store ------------------------------------------------------------------------


class SqliteAccountStore:
    """Accounts and activations in one SQLite file, apart from any commune; one transaction per call."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        _open_database(self.path, _ACCOUNTS_APPLICATION_ID, _ACCOUNTS_MIGRATIONS, "accounts")

    def __repr__(self) -> str:
        return f"SqliteAccountStore({str(self.path)!r})"

    @contextmanager
    def _transaction(self, write: bool) -> Iterator[sqlite3.Connection]:
        connection = _connect(self.path)
        try:
            connection.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            try:
                yield connection
                connection.execute("COMMIT")
            except BaseException:
                connection.execute("ROLLBACK")
                raise
        finally:
            connection.close()

    def account(self, account_id: str) -> Account:
        with self._transaction(write=False) as db:
            row = db.execute("SELECT id, email FROM accounts WHERE id = ?", (account_id,)).fetchone()
            if row is None:
                raise _not_found("account", account_id, "compte")
            links = [
                AccountLink(
                    collectivite, family, guardian, activation, _read_instant(linked_at), LinkScope(scope)
                )
                for collectivite, family, guardian, activation, linked_at, scope in db.execute(
                    "SELECT collectivite_id, family_id, guardian_id, activation_id, linked_at, scope "
                    "FROM account_links WHERE account_id = ? ORDER BY position",
                    (account_id,),
                )
            ]
        return Account(row[0], row[1], links)

    def save_account(self, account: Account) -> None:
        with self._transaction(write=True) as db:
            db.execute("DELETE FROM accounts WHERE id = ?", (account.id,))
            db.execute("INSERT INTO accounts (id, email) VALUES (?, ?)", (account.id, account.email))
            db.executemany(
                "INSERT INTO account_links (account_id, position, collectivite_id, family_id, guardian_id, "
                "activation_id, linked_at, scope) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        account.id,
                        position,
                        link.collectivite_id,
                        link.family_id,
                        link.guardian_id,
                        link.activation_id,
                        _instant(link.linked_at),
                        link.scope.value,
                    )
                    for position, link in enumerate(account.links)
                ],
            )

    _ACTIVATION_COLUMNS: Final = (
        "id, collectivite_id, family_id, guardian_id, token_sha256, issued_at, expires_at, issued_by, scope, "
        "used_at, used_by"
    )

    def _activation(self, db: sqlite3.Connection, where: str, key: str) -> Activation | None:
        row = db.execute(
            f"SELECT {self._ACTIVATION_COLUMNS} FROM activations WHERE {where} = ?", (key,)
        ).fetchone()
        if row is None:
            return None
        id_, collectivite, family, guardian, digest, issued, expires, issued_by, scope, used_at, used_by = row
        return Activation(
            id_,
            collectivite,
            family,
            guardian,
            digest,
            _read_instant(issued),
            _read_instant(expires),
            issued_by,
            LinkScope(scope),
            _read_optional_instant(used_at),
            used_by,
        )

    def activation(self, token_hash: str) -> Activation:
        with self._transaction(write=False) as db:
            found = self._activation(db, "token_sha256", token_hash)
        if found is None:
            # The hash is a secret's fingerprint: it is not repeated in the message.
            raise NotFound(
                "no activation for this token",
                message_fr="Ce lien d'activation n'est pas valable.",
                code="not_found.activation",
            )
        return found

    def save_activation(self, activation: Activation) -> None:
        with self._transaction(write=True) as db:
            stored = self._activation(db, "id", activation.id)
            if stored is not None and stored.is_used and stored != activation:
                # Two activations of one token at once: the first one used it, the second must fail.
                raise ConcurrentChange(
                    f"activation {activation.id!r} was already used",
                    message_fr="Ce lien d'activation a déjà été utilisé.",
                    code="account.activation_used",
                )
            db.execute("DELETE FROM activations WHERE id = ?", (activation.id,))
            db.execute(
                f"INSERT INTO activations ({self._ACTIVATION_COLUMNS}) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    activation.id,
                    activation.collectivite_id,
                    activation.family_id,
                    activation.guardian_id,
                    activation.token_sha256,
                    _instant(activation.issued_at),
                    _instant(activation.expires_at),
                    activation.issued_by,
                    activation.scope.value,
                    _optional_instant(activation.used_at),
                    activation.used_by,
                ),
            )
