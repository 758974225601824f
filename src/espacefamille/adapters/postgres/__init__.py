"""The PostgreSQL store: many collectivités in one database, on psycopg 3 and its pool (extra ``postgres``).

``PostgresStore(database, collectivite_id)`` is a ``CommuneStore``; ``PostgresAccountStore(database)`` an
``AccountStore``. ``database`` is a connection URL (``postgresql://user:secret@host/espacefamille``; the store
then opens its own pool and ``close()`` closes it) or a ``psycopg_pool.ConnectionPool`` the host owns and
shares between the stores of its collectivités and the accounts store. Opening a store creates the schema
or migrates an older one, under an advisory lock so that several workers starting at once migrate once;
the version of each component (``commune``, ``accounts``) is recorded in the table ``espacefamille_schema``. A
database written by a newer version of the library is refused before anything in it is touched
(``IncompatibleDatabase``, code ``store.schema_too_new``, the SQLite store's error). A wrong URL, host or
password fails at once with ``StoreUnavailable`` (code ``store.unavailable``) carrying the server's reason;
every other error of the driver becomes the library's too (``ConcurrentChange`` for a deadlock or a
serialisation failure, ``StoreUnavailable`` for a connection lost mid-work, ``PostgresStoreError``
otherwise), never a psycopg exception.

**One database, a key column per collectivité.** Every table of a commune starts with ``collectivite_id``,
first in each primary key and index, so that a commune's rows sit together in every index and each query
names its commune. A schema per collectivité was the other way: it would isolate communes in the catalogue,
but a host with hundreds of them would keep hundreds of copies of every table and index to migrate one by
one, and the connections of one pool would switch ``search_path`` per unit of work. With a key column a new
commune is rows, not DDL; one migration serves every commune; one pool serves them all; a host's reporting
can read across communes; and the conformance kit runs each of its stores as another collectivité of one
database, so that it proves isolation too. The accounts span collectivités anyway and have tables of their
own.

How values are kept, so that what is read back is *equal* to what was saved:

* money as whole cents (``bigint``), ``Decimal`` quantities and quotients as their exact text;
* days as ``date`` (a line's days as ``date[]``); instants as ``timestamptz`` beside the zone they were given
  in (``booked_at``, ``booked_zone``), so that they read back in their own zone;
* key columns in the ``"C"`` collation, so that listings are ordered as Python orders strings;
* free text with U+0000 (which PostgreSQL text cannot hold) as ``\\0``, backslashes doubled; form values and
  outbox messages as JSON text (``jsonb`` refuses ``\\u0000``); the commune's configuration as its TOML.

**Concurrency: versions, checked and bumped under row locks.** Each unit of work takes a connection of the
pool and reads at READ COMMITTED, recording the version (table ``versions``) of every family, régie
numbering, carried amounts and billed-through day it reads — read before the data they guard. Its writes
wait in the unit of work (applied early only when it reads after writing, to read its own writes), so two
units of work never block each other while they prepare. ``commit()`` runs one transaction: it locks the
version rows of everything read or written (``SELECT … FOR UPDATE``, in one order; rows created at version 0
first, so that a family nobody wrote yet is locked too), compares them with what was read — any difference
is ``ConcurrentChange``, nothing written —, applies the writes, bumps the versions written and commits.
From the lock to the commit nobody else can change what the unit of work depends on: a conflict found is
real, and none is missed. A prestation with a limit of places has a version too, locked and bumped by
every unit of work writing its bookings, and a unit of work that read its bookings (to count the places)
conflicts if someone booked it meanwhile: never above capacity. Prestations without a limit have none, so
meals booked by different families never wait for each other. The numbering is one version per
collectivité: two units of work that both number documents conflict, so numbers stay unique and gap-free.
The rare deadlock between commits (a unit of work that wrote before reading, then locks) is detected by
the server and raised as ``ConcurrentChange``, which the services retry.
"""

from espacefamille.adapters.postgres.accounts import PostgresAccountStore
from espacefamille.adapters.postgres.schema import (
    ACCOUNTS_SCHEMA_VERSION,
    SCHEMA_VERSION,
    PostgresStoreError,
)
from espacefamille.adapters.postgres.store import PostgresStore, PostgresUnitOfWork
from espacefamille.adapters.sqlite.schema import IncompatibleDatabase
from espacefamille.errors import StoreUnavailable

__all__ = [
    "ACCOUNTS_SCHEMA_VERSION",
    "SCHEMA_VERSION",
    "IncompatibleDatabase",
    "PostgresAccountStore",
    "PostgresStore",
    "PostgresStoreError",
    "PostgresUnitOfWork",
    "StoreUnavailable",
]
