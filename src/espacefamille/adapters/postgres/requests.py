"""The requests repository on PostgreSQL: forms and their history."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from espacefamille.adapters._sql import _FAMILY, _field_value_from_json, _field_value_to_json
from espacefamille.adapters.postgres.codecs import (
    _instant,
    _optional_text,
    _read_instant,
    _read_optional_text,
)
from espacefamille.families.requests import Actor, ActorRole, EventKind, Request, RequestEvent, RequestStatus

if TYPE_CHECKING:
    from espacefamille.adapters.postgres.store import PostgresUnitOfWork


class _PostgresRequests:
    """Requests of a ``PostgresUnitOfWork`` (see ``espacefamille.ports.Requests``)."""

    def __init__(self, uow: PostgresUnitOfWork) -> None:
        self._uow = uow

    def of_family(self, family_id: str) -> tuple[Request, ...]:
        self._uow._sync()
        self._uow._seen(_FAMILY, family_id)
        c = self._uow._c
        rows = self._uow._rows(
            "SELECT id, family_id, category_id, field_values FROM requests "
            "WHERE collectivite_id = %s AND family_id = %s ORDER BY id",
            (c, family_id),
        )
        history: dict[str, list[RequestEvent]] = {}
        for request_id, at, zone, role, actor_id, kind, from_status, to_status, message in self._uow._rows(
            "SELECT e.request_id, e.at, e.at_zone, e.actor_role, e.actor_id, e.kind, e.from_status, "
            "e.to_status, e.message FROM request_events e JOIN requests r "
            "ON r.collectivite_id = e.collectivite_id AND r.id = e.request_id "
            "WHERE r.collectivite_id = %s AND r.family_id = %s ORDER BY e.request_id, e.position",
            (c, family_id),
        ):
            history.setdefault(request_id, []).append(
                RequestEvent(
                    _read_instant(at, zone),
                    Actor(ActorRole(role), actor_id),
                    EventKind(kind),
                    None if from_status is None else RequestStatus(from_status),
                    None if to_status is None else RequestStatus(to_status),
                    _read_optional_text(message),
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
        c = self._uow._c
        self._uow._mark(_FAMILY, request.family_id)
        # JSON text (not jsonb, which refuses the \u0000 a typed value may hold).
        values = json.dumps({key: _field_value_to_json(value) for key, value in request.values.items()})
        events = [
            (
                c,
                request.id,
                position,
                *_instant(event.at),
                event.actor.role.value,
                event.actor.id,
                event.kind.value,
                None if event.from_status is None else event.from_status.value,
                None if event.to_status is None else event.to_status.value,
                _optional_text(event.message),
            )
            for position, event in enumerate(request.history)
        ]

        def apply() -> None:
            self._uow._mark_owners("requests", "id", request.id, request.family_id)
            self._uow._run("DELETE FROM requests WHERE collectivite_id = %s AND id = %s", (c, request.id))
            self._uow._run(
                "INSERT INTO requests (collectivite_id, id, family_id, category_id, field_values) "
                "VALUES (%s, %s, %s, %s, %s)",
                (c, request.id, request.family_id, request.category_id, values),
            )
            self._uow._many(
                "INSERT INTO request_events (collectivite_id, request_id, position, at, at_zone, actor_role, "
                "actor_id, kind, from_status, to_status, message) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                events,
            )

        self._uow._write(apply)
