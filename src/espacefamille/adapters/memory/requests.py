"""The requests repository in memory: what households asked the commune, and its history."""

from __future__ import annotations

from typing import TYPE_CHECKING

from espacefamille.adapters.memory.tables import _family
from espacefamille.families.requests import Request

if TYPE_CHECKING:
    from espacefamille.adapters.memory.store import MemoryUnitOfWork


class _MemoryRequests:
    """Requests of a ``MemoryUnitOfWork`` (see ``espacefamille.ports.Requests``)."""

    def __init__(self, uow: MemoryUnitOfWork) -> None:
        self._uow = uow

    def of_family(self, family_id: str) -> tuple[Request, ...]:
        with self._uow.lock():
            self._uow.see(_family(family_id))
            found = self._uow.tables.requests.values()
        return tuple(sorted((r for r in found if r.family_id == family_id), key=lambda r: r.id))

    def save(self, request: Request) -> None:
        with self._uow.lock():
            before = self._uow.tables.requests.get(request.id)
            self._uow.touch(_family(request.family_id))
            if before is not None:
                self._uow.touch(_family(before.family_id))
        self._uow.tables.requests.put(request.id, request)
