"""What a memory store's households submitted under an idempotency key."""

from __future__ import annotations

from typing import TYPE_CHECKING

from espacefamille.adapters.memory.tables import _family
from espacefamille.families.requests import Submission

if TYPE_CHECKING:
    from espacefamille.adapters.memory.store import MemoryUnitOfWork


class _MemorySubmissions:
    """What a memory store's households submitted under a key (``espacefamille.ports.Submissions``)."""

    def __init__(self, uow: MemoryUnitOfWork) -> None:
        self._uow = uow

    def find(self, family_id: str, key: str) -> Submission | None:
        with self._uow.lock():
            self._uow.see(_family(family_id))
            return self._uow.tables.submissions.get((family_id, key))

    def save(self, submission: Submission) -> None:
        key = (submission.family_id, submission.key)
        with self._uow.lock():
            self._uow.touch(_family(submission.family_id))
            if self._uow.tables.submissions.get(key) is None:
                self._uow.tables.submissions.put(key, submission)
