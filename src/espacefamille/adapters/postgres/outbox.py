"""The outbox repository on PostgreSQL."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Final

from espacefamille.adapters._sql import _duplicate_message, _not_found
from espacefamille.families.events import OutboxMessage

if TYPE_CHECKING:
    from espacefamille.adapters.postgres.store import PostgresUnitOfWork


def _json(message: OutboxMessage) -> str:
    # JSON text (not jsonb, which refuses the \u0000 a name may hold), ASCII-escaped like every message.
    return json.dumps(message.to_dict(), sort_keys=True)


# The table a batch of messages writes (see PostgresUnitOfWork._sync).
_OUTBOX_TABLES: Final = frozenset({"outbox"})


class _PostgresOutbox:
    """Outbox of a ``PostgresUnitOfWork`` (see ``espacefamille.ports.Outbox``)."""

    def __init__(self, uow: PostgresUnitOfWork) -> None:
        self._uow = uow

    def add(self, message: OutboxMessage) -> None:
        text, uow = _json(message), self._uow
        uow._pending_outbox.add(message.id)
        # Messages added one after the other wait together and go in one statement (a month-end batch
        # adds one per invoice); an update of a message (save) closes the batch, so that rows still go
        # in the order they were given.
        if uow._outbox_batch is None:
            batch: list[tuple[str, str]] = []
            uow._outbox_batch = batch
            uow._write(lambda: self._insert_messages(batch), _OUTBOX_TABLES)
        uow._outbox_batch.append((message.id, text))

    def _insert_messages(self, batch: list[tuple[str, str]]) -> None:
        uow, c = self._uow, self._uow._c
        if uow._outbox_batch is batch:
            uow._outbox_batch = None
        ids, texts = [id_ for id_, _ in batch], [text for _, text in batch]
        # Ids are random: messages are inserted at once, in order, and only a clash looks at what is there.
        inserted = {
            row[0]
            for row in uow._rows(
                "INSERT INTO outbox (collectivite_id, id, message) SELECT %s, i, m "
                "FROM unnest(%b::text[], %b::text[]) WITH ORDINALITY AS t (i, m, n) ORDER BY n "
                "ON CONFLICT (collectivite_id, id) DO NOTHING RETURNING id",
                (c, ids, texts),
            )
        }
        first: dict[str, str] = {}
        for id_, text in batch:
            if id_ in inserted:
                existing = first.setdefault(id_, text)  # the same id twice in the batch: its first text
            else:
                existing = uow._scalar(
                    "SELECT message FROM outbox WHERE collectivite_id = %s AND id = %s", (c, id_)
                )
            if existing != text:
                raise _duplicate_message(id_)

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

        self._uow._outbox_batch = None

        def apply() -> None:
            if not self._uow._run(
                "UPDATE outbox SET message = %s WHERE collectivite_id = %s AND id = %s", (text, c, message.id)
            ):
                raise _not_found("outbox message", message.id, "notification")

        self._uow._write(apply)
