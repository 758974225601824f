"""The in-memory reference store: a commune store and an account store in plain dictionaries, thread-safe.

For tests, demos and small tools. It is also the reference the conformance kit was written against, and the
model of a store to read first (docs/stores.md, "Adding a store"): each unit of work keeps its writes apart
(the committed tables are never touched before ``commit``), records the version of every family it reads
or writes, and publishes everything at once under one lock — or nothing, raising ``ConcurrentChange``, when
someone else changed what it depends on.

Values are frozen, so sharing them between the committed tables and a unit of work is safe: a unit of
work's "private copy" is its own table of changes, read before the committed tables.

Its modules: ``store`` (``MemoryStore`` and ``MemoryUnitOfWork``: the lock, the versions, commit and
rollback), ``tables`` (the committed tables, and what a unit of work sees of each), one module per
repository (``families``, ``bookings``, ``attendance``, ``documents``, ``runs``, ``mandates``,
``online_payments``, ``requests``, ``submissions``, ``outbox``), which use only the unit of work's
``lock()``, ``tables``, ``see`` and ``touch``, and ``accounts`` (``MemoryAccountStore``).
"""

from espacefamille.adapters.memory.accounts import MemoryAccountStore
from espacefamille.adapters.memory.store import MemoryStore, MemoryUnitOfWork

__all__ = ["MemoryAccountStore", "MemoryStore", "MemoryUnitOfWork"]
