"""The outbox repository in memory: the messages a commit publishes, for the host to send."""

from __future__ import annotations

from typing import TYPE_CHECKING

from espacefamille.adapters.memory.tables import _not_found
from espacefamille.errors import InvalidInput
from espacefamille.families.events import OutboxMessage

if TYPE_CHECKING:
    from espacefamille.adapters.memory.store import MemoryUnitOfWork


class _MemoryOutbox:
    """Outbox of a ``MemoryUnitOfWork`` (see ``espacefamille.ports.Outbox``)."""

    def __init__(self, uow: MemoryUnitOfWork) -> None:
        self._uow = uow

    def add(self, message: OutboxMessage) -> None:
        with self._uow.lock():
            queued = self._uow.tables.outbox.get(message.id)
            if queued == message:
                return
            if queued is not None:
                raise InvalidInput(
                    f"outbox message {message.id!r} is already queued with other content",
                    code="store.duplicate_message",
                )
            self._uow.touch(("outbox", message.id))
        self._uow.added_messages.add(message.id)
        self._uow.tables.outbox.put(message.id, message)

    def all(self) -> tuple[OutboxMessage, ...]:
        with self._uow.lock():
            return tuple(self._uow.tables.outbox.values())

    def save(self, message: OutboxMessage) -> None:
        with self._uow.lock():
            if self._uow.tables.outbox.get(message.id) is None:
                raise _not_found("outbox message", message.id)
            self._uow.touch(("outbox", message.id))
        self._uow.tables.outbox.put(message.id, message)
