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

Each unit of work has its own connection. Reads before the first write share one read transaction, so they
see the database as it was at the first of them, never half of another process's commit (a payment without
its allocation); the first write ends it and starts ``BEGIN IMMEDIATE``, so writers are serialised and one
never waits on a half-done other, and what the snapshot showed is checked again under the lock. Writers get
the lock in the order they came: they first queue for the ``flock`` of a file beside the database
(``<path>-lock``, see ``writers``), which the kernel hands on in arrival order.
Every family (and régie numbering, and carried amounts) has a version number, bumped by the commit of a unit
of work that wrote it; ``commit()`` compares the versions of what the unit of work read with the current
ones and, when one changed, rolls back and raises ``ConcurrentChange``. Bookings of a prestation with a
capacity bump the prestation's version too, and a unit of work that read that prestation's bookings (to
rebuild its places) and then writes some is refused if another wrote some meanwhile, so that two families
can never both take the last place. The database runs in WAL mode (readers never block the writer) with
foreign keys on.

Faults are ``StoreUnavailable`` (``espacefamille.errors``) with a stable code: ``store.locked`` past the
``busy_timeout``, ``store.read_only`` (refused at open), ``store.disk_full``, ``store.io_error``,
``store.cannot_open``, ``store.error`` (docs/limits.md).
"""

from espacefamille.adapters.sqlite.accounts import SqliteAccountStore
from espacefamille.adapters.sqlite.schema import ACCOUNTS_SCHEMA_VERSION, SCHEMA_VERSION, IncompatibleDatabase
from espacefamille.adapters.sqlite.store import SqliteStore, SqliteUnitOfWork

__all__ = [
    "ACCOUNTS_SCHEMA_VERSION",
    "SCHEMA_VERSION",
    "IncompatibleDatabase",
    "SqliteAccountStore",
    "SqliteStore",
    "SqliteUnitOfWork",
]
