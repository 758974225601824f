"""The outbox repository on SQLite."""

from __future__ import annotations

import json
import sqlite3
from typing import TYPE_CHECKING

from espacefamille.adapters._sql import _duplicate_message, _not_found
from espacefamille.adapters.sqlite.schema import _scalar
from espacefamille.families.events import OutboxMessage

if TYPE_CHECKING:
    from espacefamille.adapters.sqlite.store import SqliteUnitOfWork


class _SqliteOutbox:
    """Outbox of a ``SqliteUnitOfWork`` (see ``espacefamille.ports.Outbox``)."""

    def __init__(self, uow: SqliteUnitOfWork) -> None:
        self._uow = uow

    def add(self, message: OutboxMessage) -> None:
        text = json.dumps(message.to_dict(), ensure_ascii=False, sort_keys=True)

        def apply() -> None:
            # Ids are random: a message is inserted at once, and only a clash looks at what is there.
            try:
                self._uow._db.execute("INSERT INTO outbox (id, message) VALUES (?, ?)", (message.id, text))
            except sqlite3.IntegrityError:
                existing = _scalar(self._uow._db, "SELECT message FROM outbox WHERE id = ?", (message.id,))
                if existing == text:
                    return
                raise _duplicate_message(message.id) from None

        if not self._uow._writing:  # once written, the row itself answers save_outbox
            self._uow._pending_outbox.add(message.id)
        self._uow._write(apply)

    def all(self) -> tuple[OutboxMessage, ...]:
        self._uow._sync()
        return tuple(
            OutboxMessage.from_dict(json.loads(text))
            for (text,) in self._uow._db.execute("SELECT message FROM outbox ORDER BY position")
        )

    def save(self, message: OutboxMessage) -> None:
        text = json.dumps(message.to_dict(), ensure_ascii=False, sort_keys=True)
        if message.id not in self._uow._pending_outbox and (
            _scalar(self._uow._db, "SELECT 1 FROM outbox WHERE id = ?", (message.id,)) is None
        ):
            raise _not_found("outbox message", message.id, "notification")

        def apply() -> None:
            updated = self._uow._db.execute(
                "UPDATE outbox SET message = ? WHERE id = ?", (text, message.id)
            ).rowcount
            if not updated:
                raise _not_found("outbox message", message.id, "notification")

        self._uow._write(apply)
