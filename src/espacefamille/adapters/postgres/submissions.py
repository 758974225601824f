"""The submissions repository on PostgreSQL: what households submitted under an idempotency key."""

from __future__ import annotations

from typing import TYPE_CHECKING

from espacefamille.adapters._sql import _FAMILY
from espacefamille.adapters.postgres.codecs import _instant, _read_instant
from espacefamille.families.requests import Submission

if TYPE_CHECKING:
    from espacefamille.adapters.postgres.store import PostgresUnitOfWork


class _PostgresSubmissions:
    """Submissions of a ``PostgresUnitOfWork`` (see ``espacefamille.ports.Submissions``)."""

    def __init__(self, uow: PostgresUnitOfWork) -> None:
        self._uow = uow

    def find(self, family_id: str, key: str) -> Submission | None:
        self._uow._sync()
        self._uow._seen(_FAMILY, family_id)
        row = self._uow._one(
            "SELECT operation, fingerprint, result, at, at_zone FROM submissions "
            "WHERE collectivite_id = %s AND family_id = %s AND key = %s",
            (self._uow._c, family_id, key),
        )
        if row is None:
            return None
        operation, fingerprint, result, at, zone = row
        return Submission(family_id, key, operation, fingerprint, bytes(result), _read_instant(at, zone))

    def save(self, submission: Submission) -> None:
        self._uow._mark(_FAMILY, submission.family_id)
        row = (
            self._uow._c,
            submission.family_id,
            submission.key,
            submission.operation,
            submission.fingerprint,
            submission.result,
            *_instant(submission.at),
        )

        def apply() -> None:
            self._uow._run(
                "INSERT INTO submissions (collectivite_id, family_id, key, operation, fingerprint, result, "
                "at, at_zone) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
                row,
            )

        self._uow._write(apply)
