"""The submissions repository on SQLite: what households submitted under an idempotency key."""

from __future__ import annotations

from typing import TYPE_CHECKING

from espacefamille.adapters._sql import _FAMILY
from espacefamille.adapters.sqlite.codecs import _instant, _read_instant
from espacefamille.families.requests import Submission

if TYPE_CHECKING:
    from espacefamille.adapters.sqlite.store import SqliteUnitOfWork


class _SqliteSubmissions:
    """Submissions of a ``SqliteUnitOfWork`` (see ``espacefamille.ports.Submissions``)."""

    def __init__(self, uow: SqliteUnitOfWork) -> None:
        self._uow = uow

    def find(self, family_id: str, key: str) -> Submission | None:
        self._uow._sync()
        self._uow._seen(_FAMILY, family_id)
        row = self._uow._db.execute(
            "SELECT operation, fingerprint, result, at FROM submissions WHERE family_id = ? AND key = ?",
            (family_id, key),
        ).fetchone()
        if row is None:
            return None
        operation, fingerprint, result, at = row
        return Submission(family_id, key, operation, fingerprint, bytes(result), _read_instant(at))

    def save(self, submission: Submission) -> None:
        def apply() -> None:
            self._uow._mark(_FAMILY, submission.family_id)
            self._uow._db.execute(
                "INSERT OR IGNORE INTO submissions (family_id, key, operation, fingerprint, result, at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (
                    submission.family_id,
                    submission.key,
                    submission.operation,
                    submission.fingerprint,
                    submission.result,
                    _instant(submission.at),
                ),
            )

        self._uow._write(apply)
