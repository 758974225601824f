"""A new, empty commune store of each kind for the tests that run a service on every store."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Final

from espacefamille.adapters.memory import MemoryStore
from espacefamille.adapters.sqlite import SqliteStore
from espacefamille.ports import CommuneStore

#: The stores the library ships, as a fixture's ``params``.
KINDS: Final = ("memory", "sqlite", "postgres")


@contextlib.contextmanager
def empty_store(kind: str, folder: Path, name: str) -> Iterator[CommuneStore]:
    """An empty store of ``kind``: in memory, an SQLite file in ``folder``, or a collectivité of its own
    (named after ``name``) on the tests' PostgreSQL server, its pool closed on leaving."""
    if kind == "memory":
        yield MemoryStore()
    elif kind == "sqlite":
        yield SqliteStore(folder / f"{name}.sqlite")
    else:
        from espacefamille.adapters.postgres import PostgresStore  # noqa: PLC0415 - the extra, only here
        from tests import postgres_server  # noqa: PLC0415 - starts a server only when asked

        with postgres_server.pool(name) as pool:
            yield PostgresStore(pool, postgres_server.collectivite_id(name))
