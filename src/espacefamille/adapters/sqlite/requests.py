"""The requests repository on SQLite: forms and their history."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from espacefamille.adapters._sql import _FAMILY, _field_value_from_json, _field_value_to_json
from espacefamille.adapters.sqlite.codecs import _instant, _read_instant
from espacefamille.families.requests import (
    Actor,
    ActorRole,
    EventKind,
    Request,
    RequestEvent,
    RequestStatus,
)

if TYPE_CHECKING:
    from espacefamille.adapters.sqlite.store import SqliteUnitOfWork


class _SqliteRequests:
    """Requests of a ``SqliteUnitOfWork`` (see ``espacefamille.ports.Requests``)."""

    def __init__(self, uow: SqliteUnitOfWork) -> None:
        self._uow = uow

    def of_family(self, family_id: str) -> tuple[Request, ...]:
        self._uow._sync()
        self._uow._seen(_FAMILY, family_id)
        rows = self._uow._db.execute(
            "SELECT id, family_id, category_id, field_values FROM requests WHERE family_id = ? ORDER BY id",
            (family_id,),
        ).fetchall()
        history: dict[str, list[RequestEvent]] = {}
        for request_id, at, role, actor_id, kind, from_status, to_status, message in self._uow._db.execute(
            "SELECT e.request_id, e.at, e.actor_role, e.actor_id, e.kind, e.from_status, e.to_status, "
            "e.message FROM request_events e JOIN requests r ON r.id = e.request_id WHERE r.family_id = ? "
            "ORDER BY e.request_id, e.position",
            (family_id,),
        ):
            history.setdefault(request_id, []).append(
                RequestEvent(
                    _read_instant(at),
                    Actor(ActorRole(role), actor_id),
                    EventKind(kind),
                    None if from_status is None else RequestStatus(from_status),
                    None if to_status is None else RequestStatus(to_status),
                    message,
                )
            )
        return tuple(
            Request(
                request_id,
                family,
                category,
                {key: _field_value_from_json(item) for key, item in json.loads(values).items()},
                history.get(request_id, ()),
            )
            for request_id, family, category, values in rows
        )

    def save(self, request: Request) -> None:

        def apply() -> None:
            self._uow._mark_owners("requests", "id", request.id, request.family_id)
            self._uow._db.execute("DELETE FROM requests WHERE id = ?", (request.id,))
            self._uow._db.execute(
                "INSERT INTO requests (id, family_id, category_id, field_values) VALUES (?, ?, ?, ?)",
                (
                    request.id,
                    request.family_id,
                    request.category_id,
                    json.dumps(
                        {key: _field_value_to_json(value) for key, value in request.values.items()},
                        ensure_ascii=False,
                    ),
                ),
            )
            self._uow._db.executemany(
                "INSERT INTO request_events (request_id, position, at, actor_role, actor_id, kind, "
                "from_status, to_status, message) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        request.id,
                        position,
                        _instant(event.at),
                        event.actor.role.value,
                        event.actor.id,
                        event.kind.value,
                        None if event.from_status is None else event.from_status.value,
                        None if event.to_status is None else event.to_status.value,
                        event.message,
                    )
                    for position, event in enumerate(request.history)
                ],
            )

        self._uow._write(apply)
