"""The PostgreSQL schema and its migrations, opening a database (created, migrated, or refused when newer),
what the versions guard, and how driver errors become the library's."""

from __future__ import annotations

from typing import Final, TypeAlias

import psycopg
from psycopg import errors as pg_errors
from psycopg.rows import TupleRow
from psycopg_pool import ConnectionPool

from espacefamille.adapters import _sql
from espacefamille.adapters.sqlite.schema import IncompatibleDatabase
from espacefamille.errors import ConcurrentChange, EspaceFamilleError, StoreUnavailable

# Key and ordering columns compare as Python strings do (code points), whatever the database's collation.
_K: Final = 'text COLLATE "C" NOT NULL'
_C: Final = f"collectivite_id {_K}"
# The columns of an invoice line, shared by invoice_lines and carried_lines.
_LINE: Final = f"""child_id {_K}, prestation_id {_K}, label text NOT NULL, reason text NOT NULL,
    days date[] NOT NULL, quantity text NOT NULL, unit_price text NOT NULL, total_cents bigint NOT NULL,
    explanation text NOT NULL, regularises_invoice text, regularises_day date, minutes integer"""

# families() reads the city this many households at a time; month-end runs read their records so.
_BATCH: Final = 500

# The advisory lock that serialises migrations of one database between processes ("EFmg").
_MIGRATION_LOCK: Final = 0x45466D67

#
# Each migration brings a component's schema from version i to i + 1; a new version appends one, never
# edits one. Every table of a commune starts with its collectivité: one database holds many.

_COMMUNE_MIGRATIONS: Final[tuple[tuple[str, ...], ...]] = (
    (
        f"CREATE TABLE communes ({_C} PRIMARY KEY, toml text NOT NULL)",
        f"""CREATE TABLE capacity_limited ({_C}, prestation_id {_K},
            PRIMARY KEY (collectivite_id, prestation_id))""",
        f"""CREATE TABLE versions ({_C}, scope {_K}, key {_K}, version bigint NOT NULL,
            PRIMARY KEY (collectivite_id, scope, key))""",
        f"""CREATE TABLE families ({_C}, id {_K}, name text NOT NULL, payer_id text NOT NULL,
            residence text NOT NULL, direct_debit boolean NOT NULL, PRIMARY KEY (collectivite_id, id))""",
        f"""CREATE TABLE guardians ({_C}, family_id {_K}, position integer NOT NULL, id text NOT NULL,
            first_name text NOT NULL, last_name text NOT NULL, email text, phone text,
            PRIMARY KEY (collectivite_id, family_id, position),
            FOREIGN KEY (collectivite_id, family_id) REFERENCES families ON DELETE CASCADE)""",
        f"""CREATE TABLE quotients ({_C}, family_id {_K}, position integer NOT NULL, value text NOT NULL,
            valid_from date NOT NULL, valid_until date, source text NOT NULL, received_on date,
            PRIMARY KEY (collectivite_id, family_id, position),
            FOREIGN KEY (collectivite_id, family_id) REFERENCES families ON DELETE CASCADE)""",
        f"""CREATE TABLE children ({_C}, id {_K}, first_name text NOT NULL, last_name text NOT NULL,
            birth_date date NOT NULL, school text, school_class text, pai boolean NOT NULL,
            needs_support boolean NOT NULL, diets text[] NOT NULL, PRIMARY KEY (collectivite_id, id))""",
        f"""CREATE TABLE child_families ({_C}, child_id {_K}, position integer NOT NULL, family_id {_K},
            PRIMARY KEY (collectivite_id, child_id, position),
            FOREIGN KEY (collectivite_id, child_id) REFERENCES children ON DELETE CASCADE)""",
        "CREATE INDEX child_families_by_family ON child_families (collectivite_id, family_id, child_id)",
        f"""CREATE TABLE enrolments ({_C}, id {_K}, child_id {_K}, family_id {_K}, service_id text NOT NULL,
            start_day date NOT NULL, end_day date NOT NULL, validated boolean NOT NULL,
            PRIMARY KEY (collectivite_id, id))""",
        "CREATE INDEX enrolments_by_child ON enrolments (collectivite_id, child_id, id)",
        f"""CREATE TABLE bookings ({_C}, child_id {_K}, prestation_id {_K}, day date NOT NULL,
            family_id {_K}, status {_K}, booked_at timestamptz NOT NULL, booked_zone text NOT NULL,
            paid_cents bigint, surcharge_code text COLLATE "C",
            PRIMARY KEY (collectivite_id, child_id, prestation_id, day))""",
        "CREATE INDEX bookings_by_family ON bookings (collectivite_id, family_id, day)",
        "CREATE INDEX bookings_by_prestation ON bookings (collectivite_id, prestation_id, day)",
        f"""CREATE TABLE attendance ({_C}, child_id {_K}, prestation_id {_K}, day date NOT NULL,
            family_id {_K}, status text NOT NULL, recorded_by text, recorded_at timestamptz,
            recorded_zone text, note text NOT NULL,
            PRIMARY KEY (collectivite_id, child_id, prestation_id, day))""",
        "CREATE INDEX attendance_by_family ON attendance (collectivite_id, family_id, day)",
        f"""CREATE TABLE absences ({_C}, child_id {_K}, start_day date NOT NULL, end_day date NOT NULL,
            family_id {_K}, reason text NOT NULL, declared_at timestamptz NOT NULL,
            declared_zone text NOT NULL, proof_received_at timestamptz, proof_zone text,
            PRIMARY KEY (collectivite_id, child_id, start_day, end_day))""",
        "CREATE INDEX absences_by_family ON absences (collectivite_id, family_id)",
        f"""CREATE TABLE closures ({_C}, position bigint GENERATED ALWAYS AS IDENTITY, service_id {_K},
            start_day date NOT NULL, end_day date NOT NULL, reason text NOT NULL, label text NOT NULL,
            PRIMARY KEY (collectivite_id, position),
            UNIQUE (collectivite_id, service_id, start_day, end_day, reason, label))""",
        f"""CREATE TABLE invoices ({_C}, number {_K}, regie_id text NOT NULL, family_id {_K},
            kind text NOT NULL, period_start date NOT NULL, period_end date NOT NULL,
            issued_on date NOT NULL, due_on date NOT NULL, direct_debit_on date,
            PRIMARY KEY (collectivite_id, number))""",
        "CREATE INDEX invoices_by_family ON invoices (collectivite_id, family_id, number)",
        f"""CREATE TABLE invoice_lines ({_C}, invoice_number {_K}, position integer NOT NULL, {_LINE},
            PRIMARY KEY (collectivite_id, invoice_number, position),
            FOREIGN KEY (collectivite_id, invoice_number) REFERENCES invoices ON DELETE CASCADE)""",
        f"""CREATE TABLE payments ({_C}, number {_K}, regie_id text NOT NULL, family_id {_K},
            amount_cents bigint NOT NULL, received_at timestamptz NOT NULL, received_zone text NOT NULL,
            method text NOT NULL, reference text NOT NULL, PRIMARY KEY (collectivite_id, number))""",
        "CREATE INDEX payments_by_family ON payments (collectivite_id, family_id, number)",
        f"""CREATE TABLE allocations ({_C}, source {_K}, invoice_number {_K}, family_id {_K},
            amount_cents bigint NOT NULL CHECK (amount_cents > 0),
            PRIMARY KEY (collectivite_id, source, invoice_number))""",
        "CREATE INDEX allocations_by_family ON allocations "
        "(collectivite_id, family_id, source, invoice_number)",
        f"""CREATE TABLE numbering ({_C}, regie_id {_K}, year integer NOT NULL, series {_K},
            last bigint NOT NULL, PRIMARY KEY (collectivite_id, regie_id, year, series))""",
        f"""CREATE TABLE carried_balances ({_C}, regie_id {_K}, family_id {_K}, period_start date NOT NULL,
            period_end date NOT NULL, carries boolean NOT NULL,
            PRIMARY KEY (collectivite_id, regie_id, family_id, period_start))""",
        f"""CREATE TABLE carried_lines ({_C}, regie_id {_K}, family_id {_K}, period_start date NOT NULL,
            position integer NOT NULL, {_LINE},
            PRIMARY KEY (collectivite_id, regie_id, family_id, period_start, position),
            FOREIGN KEY (collectivite_id, regie_id, family_id, period_start)
                REFERENCES carried_balances ON DELETE CASCADE)""",
        f"""CREATE TABLE billed_through ({_C}, regie_id {_K}, day date NOT NULL,
            PRIMARY KEY (collectivite_id, regie_id))""",
        f"""CREATE TABLE changed_days ({_C}, regie_id {_K}, family_id {_K}, day date NOT NULL,
            PRIMARY KEY (collectivite_id, regie_id, family_id, day))""",
        f"""CREATE TABLE unpaid_exemptions ({_C}, family_id {_K}, granted_by text NOT NULL,
            since date NOT NULL, until date, reason text NOT NULL,
            PRIMARY KEY (collectivite_id, family_id))""",
        f"""CREATE TABLE payment_attempts ({_C}, payment_id {_K}, family_id {_K}, regie_id text NOT NULL,
            invoice_numbers text[] NOT NULL, status text NOT NULL, redirect_url text NOT NULL,
            amount_cents bigint NOT NULL, reference text NOT NULL, email text NOT NULL,
            created_at timestamptz NOT NULL, created_zone text NOT NULL, expires_at timestamptz NOT NULL,
            expires_zone text NOT NULL, PRIMARY KEY (collectivite_id, payment_id))""",
        "CREATE INDEX payment_attempts_by_family ON payment_attempts "
        "(collectivite_id, family_id, payment_id)",
        f"""CREATE TABLE requests ({_C}, id {_K}, family_id {_K}, category_id text NOT NULL,
            field_values text NOT NULL, PRIMARY KEY (collectivite_id, id))""",
        "CREATE INDEX requests_by_family ON requests (collectivite_id, family_id, id)",
        f"""CREATE TABLE request_events ({_C}, request_id {_K}, position integer NOT NULL,
            at timestamptz NOT NULL, at_zone text NOT NULL, actor_role text NOT NULL, actor_id text NOT NULL,
            kind text NOT NULL, from_status text, to_status text, message text,
            PRIMARY KEY (collectivite_id, request_id, position),
            FOREIGN KEY (collectivite_id, request_id) REFERENCES requests ON DELETE CASCADE)""",
        f"""CREATE TABLE outbox ({_C}, position bigint GENERATED ALWAYS AS IDENTITY, id {_K},
            message text NOT NULL, PRIMARY KEY (collectivite_id, position), UNIQUE (collectivite_id, id))""",
    ),
    # 2: an attendance fact may carry the commune's own attendance reason (a code of its price lists).
    ("ALTER TABLE attendance ADD COLUMN reason text",),
    # 3: SEPA direct debit. The payer's postal address (NULL: none known), the payers' mandates (by RUM: the
    # sequence of the next collection, the last one, revocation), the debit files built (the whole pain.008
    # document kept) and each invoice they collect, with its reject once the bank returned it.
    (
        "ALTER TABLE families ADD COLUMN address_lines text[], ADD COLUMN address_postcode text, "
        "ADD COLUMN address_city text, ADD COLUMN address_country text",
        f"""CREATE TABLE mandates ({_C}, rum {_K}, regie_id text NOT NULL, family_id {_K},
            debtor_name text NOT NULL, iban text NOT NULL, bic text, signed_on date NOT NULL,
            sequence text NOT NULL, pre_notification_days integer NOT NULL, registered_on date NOT NULL,
            last_collected_on date, revoked_on date, PRIMARY KEY (collectivite_id, rum))""",
        "CREATE INDEX mandates_by_family ON mandates (collectivite_id, family_id, regie_id, rum)",
        f"""CREATE TABLE debit_batches ({_C}, id {_K}, regie_id {_K}, debit_date date NOT NULL,
            built_at timestamptz NOT NULL, document text NOT NULL, PRIMARY KEY (collectivite_id, id))""",
        "CREATE INDEX debit_batches_by_regie ON debit_batches (collectivite_id, regie_id, debit_date, id)",
        f"""CREATE TABLE debit_collections ({_C}, batch_id {_K}, invoice_number {_K}, family_id {_K},
            rum text NOT NULL, amount_cents bigint NOT NULL CHECK (amount_cents > 0), sequence text NOT NULL,
            payment_number text, rejected_on date, reject_reason text, reject_document text,
            PRIMARY KEY (collectivite_id, batch_id, invoice_number),
            FOREIGN KEY (collectivite_id, batch_id) REFERENCES debit_batches ON DELETE CASCADE)""",
        "CREATE INDEX debit_collections_by_invoice ON debit_collections "
        "(collectivite_id, invoice_number, batch_id)",
        "CREATE INDEX debit_collections_by_family ON debit_collections "
        "(collectivite_id, family_id, batch_id, invoice_number)",
    ),
    # 4: what households submitted under a caller's idempotency key (a request, a basket), with the first
    # result, recorded in the unit of work of the submission: a replay returns it and writes nothing.
    (
        f"""CREATE TABLE submissions ({_C}, family_id {_K}, key text NOT NULL, operation text NOT NULL,
            fingerprint text NOT NULL, result bytea NOT NULL, at timestamptz NOT NULL, at_zone text NOT NULL,
            PRIMARY KEY (collectivite_id, family_id, key))""",
    ),
)

_ACCOUNTS_MIGRATIONS: Final[tuple[tuple[str, ...], ...]] = (
    (
        f"CREATE TABLE accounts (id {_K} PRIMARY KEY, email text NOT NULL)",
        f"""CREATE TABLE account_links (account_id {_K} REFERENCES accounts ON DELETE CASCADE,
            position integer NOT NULL, collectivite_id text NOT NULL, family_id text NOT NULL,
            guardian_id text NOT NULL, activation_id text NOT NULL, linked_at timestamptz NOT NULL,
            linked_zone text NOT NULL, scope text NOT NULL, PRIMARY KEY (account_id, position))""",
        f"""CREATE TABLE activations (id {_K} PRIMARY KEY, token_sha256 {_K} UNIQUE,
            collectivite_id text NOT NULL, family_id text NOT NULL, guardian_id text NOT NULL,
            issued_at timestamptz NOT NULL, issued_zone text NOT NULL, expires_at timestamptz NOT NULL,
            expires_zone text NOT NULL, issued_by text NOT NULL, scope text NOT NULL,
            used_at timestamptz, used_zone text, used_by text)""",
    ),
)

#: The schema versions this library writes; a database with a higher one is refused.
SCHEMA_VERSION: Final = len(_COMMUNE_MIGRATIONS)
ACCOUNTS_SCHEMA_VERSION: Final = len(_ACCOUNTS_MIGRATIONS)


class PostgresStoreError(EspaceFamilleError):
    """The database failed a statement for a reason that is not the caller's (a bug, a full disk, a
    constraint the library did not expect). Nothing of the unit of work was written."""

    default_code = "store.database_error"


def _store_error(error: psycopg.Error) -> EspaceFamilleError:
    """The library's error for a driver's: lock conflicts are ``ConcurrentChange`` (retry), a connection
    that fails ``StoreUnavailable``, anything else ``PostgresStoreError``."""
    if isinstance(
        error,
        pg_errors.SerializationFailure | pg_errors.DeadlockDetected | pg_errors.LockNotAvailable,
    ):
        return ConcurrentChange(
            f"the database refused a concurrent change: {error}",
            message_fr="Ces informations ont été modifiées entre-temps ; veuillez recommencer.",
            details={"sqlstate": error.sqlstate},
        )
    message = str(error).strip() or type(error).__name__
    if isinstance(error, psycopg.OperationalError | psycopg.InterfaceError) and not isinstance(
        error, pg_errors.QueryCanceled
    ):
        return StoreUnavailable(
            f"the PostgreSQL database cannot be used: {message}",
            message_fr="La base de données est injoignable ; veuillez réessayer plus tard.",
            code="store.unavailable",
            details={"sqlstate": error.sqlstate},
        )
    return PostgresStoreError(
        f"the PostgreSQL database failed: {message}",
        message_fr="La base de données a rencontré une erreur ; rien n'a été enregistré.",
        details={"sqlstate": error.sqlstate},
    )


def _migrate(
    connection: Connection,
    component: str,
    migrations: tuple[tuple[str, ...], ...],
    where: str,
) -> None:
    """Create or migrate ``component``'s tables on ``connection`` (in one transaction, serialised between
    processes), refusing, unchanged, a database whose schema is newer than this library's."""
    latest = len(migrations)
    try:
        with connection.transaction():
            connection.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
            connection.execute(
                f"CREATE TABLE IF NOT EXISTS espacefamille_schema (component {_K} PRIMARY KEY, "
                "version integer NOT NULL)"
            )
            row = connection.execute(
                "SELECT version FROM espacefamille_schema WHERE component = %s", (component,)
            ).fetchone()
            version = 0 if row is None else int(str(row[0]))
            if version > latest:
                raise IncompatibleDatabase(
                    f"{where} has {component} schema version {version}, newer than {latest} which this "
                    "version of espacefamille knows; upgrade espacefamille to open it",
                    message_fr=f"La base {where} a été écrite par une version plus récente d'espacefamille "
                    f"(schéma {version}, connu : {latest}) ; mettez la bibliothèque à jour.",
                    code="store.schema_too_new",
                    details={"database": where, "version": version, "supported": latest},
                )
            if version == latest:
                return
            for statements in migrations[version:]:
                for statement in statements:
                    connection.execute(statement)
            connection.execute(
                "INSERT INTO espacefamille_schema (component, version) VALUES (%s, %s) "
                "ON CONFLICT (component) DO UPDATE SET version = excluded.version",
                (component, latest),
            )
    except pg_errors.DuplicateTable as error:
        raise IncompatibleDatabase(
            f"{where} already holds tables espacefamille did not create: {error}",
            message_fr=f"La base {where} contient déjà des tables qui ne sont pas d'espacefamille.",
            code="store.foreign_database",
            details={"database": where},
        ) from None
    except psycopg.Error as error:
        raise _store_error(error) from None


Connection: TypeAlias = psycopg.Connection[TupleRow]
Pool: TypeAlias = ConnectionPool[Connection]

# How long a unit of work waits for a free connection of the pool, and a new connection for the server.
_POOL_TIMEOUT_SECONDS: Final = 30.0
_CONNECT_TIMEOUT_SECONDS: Final = 10


def _connect(conninfo: str) -> Connection:
    """One connection, opened now: a wrong URL, host or password fails here with the server's reason."""
    try:
        return psycopg.connect(conninfo, connect_timeout=_CONNECT_TIMEOUT_SECONDS)
    except psycopg.Error as error:
        raise _store_error(error) from None


def _where(connection: Connection) -> str:
    """The database, named for messages (never with the password a URL may hold)."""
    info = connection.info
    return f"PostgreSQL database {info.dbname!r} on {info.host}"


def _open_pool(conninfo: str, size: int, migrations: tuple[tuple[str, ...], ...], component: str) -> Pool:
    """Migrate ``component`` on one direct connection (so that a bad URL fails at once, clearly), then open
    a pool of up to ``size`` connections on the same database."""
    with _connect(conninfo) as connection:
        _migrate(connection, component, migrations, _where(connection))
    return ConnectionPool(
        conninfo,
        min_size=1,
        max_size=size,
        kwargs={"connect_timeout": _CONNECT_TIMEOUT_SECONDS},
        open=True,
        name=f"espacefamille-{component}",
    )


def _migrate_on(pool: Pool, migrations: tuple[tuple[str, ...], ...], component: str) -> None:
    try:
        with pool.connection(timeout=_POOL_TIMEOUT_SECONDS) as connection:
            _migrate(connection, component, migrations, _where(connection))
    except psycopg.Error as error:
        raise _store_error(error) from None


# The bookings repository reads these from here (the others import them from adapters._sql).
_FAMILY: Final = _sql._FAMILY
_PRESTATION: Final = _sql._PRESTATION
