"""The outbox repository on PostgreSQL."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from espacefamille.adapters.postgres.schema import _not_found
from espacefamille.errors import InvalidInput
from espacefamille.families.events import OutboxMessage

if TYPE_CHECKING:
    from espacefamille.adapters.postgres.store import PostgresUnitOfWork


def _json(message: OutboxMessage) -> str:
    # JSON text (not jsonb, which refuses the \u0000 a name may hold), ASCII-escaped like every message.
    return json.dumps(message.to_dict(), sort_keys=True)


class _PostgresOutbox:
    """Outbox of a ``PostgresUnitOfWork`` (see ``espacefamille.ports.Outbox``)."""

    def __init__(self, uow: PostgresUnitOfWork) -> None:
        self._uow = uow

    def add(self, message: OutboxMessage) -> None:
        text = _json(message)
        c = self._uow._c

        def apply() -> None:
            # Ids are random: a message is inserted at once, and only a clash looks at what is there.
            inserted = self._uow._one(
                "INSERT INTO outbox (collectivite_id, id, message) VALUES (%s, %s, %s) "
                "ON CONFLICT (collectivite_id, id) DO NOTHING RETURNING id",
                (c, message.id, text),
            )
            if inserted is not None:
                return
            existing = self._uow._scalar(
                "SELECT message FROM outbox WHERE collectivite_id = %s AND id = %s", (c, message.id)
            )
            if existing != text:
                raise InvalidInput(
                    f"outbox message {message.id!r} is already queued with other content",
                    code="store.duplicate_message",
                    details={"id": message.id},
                )

        self._uow._pending_outbox.add(message.id)
        self._uow._write(apply)

    def all(self) -> tuple[OutboxMessage, ...]:
        self._uow._sync()
        return tuple(
            OutboxMessage.from_dict(json.loads(text))
            for (text,) in self._uow._rows(
                "SELECT message FROM outbox WHERE collectivite_id = %s ORDER BY position", (self._uow._c,)
            )
        )

    def save(self, message: OutboxMessage) -> None:
        text = _json(message)
        c = self._uow._c
        if message.id not in self._uow._pending_outbox and (
            self._uow._scalar("SELECT 1 FROM outbox WHERE collectivite_id = %s AND id = %s", (c, message.id))
            is None
        ):
            raise _not_found("outbox message", message.id, "notification")

        def apply() -> None:
            if not self._uow._run(
                "UPDATE outbox SET message = %s WHERE collectivite_id = %s AND id = %s", (text, c, message.id)
            ):
                raise _not_found("outbox message", message.id, "notification")

        self._uow._write(apply)
