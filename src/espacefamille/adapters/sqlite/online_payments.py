"""The online payments repository on SQLite."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from espacefamille.adapters._sql import _FAMILY, _not_found
from espacefamille.adapters.sqlite.codecs import _ATTEMPT_COLUMNS, _instant, _read_instant
from espacefamille.adapters.sqlite.schema import _scalar
from espacefamille.billing.online import CreatedPayment, PaymentAttempt, PaymentStatus
from espacefamille.money import Money

if TYPE_CHECKING:
    from espacefamille.adapters.sqlite.store import SqliteUnitOfWork


class _SqliteOnlinePayments:
    """OnlinePayments of a ``SqliteUnitOfWork`` (see ``espacefamille.ports.OnlinePayments``)."""

    def __init__(self, uow: SqliteUnitOfWork) -> None:
        self._uow = uow

    @staticmethod
    def _attempt(row: Sequence[Any]) -> PaymentAttempt:
        payment_id, family_id, regie_id, numbers, status, url, cents, reference, email, created, expires = row
        created_payment = CreatedPayment(
            payment_id,
            url,
            Money.from_cents(cents),
            reference,
            email,
            _read_instant(created),
            _read_instant(expires),
        )
        return PaymentAttempt(
            created_payment, regie_id, family_id, json.loads(numbers), PaymentStatus(status)
        )

    def get(self, payment_id: str) -> PaymentAttempt:
        self._uow._sync()
        row = self._uow._db.execute(
            f"SELECT {_ATTEMPT_COLUMNS} FROM payment_attempts WHERE payment_id = ?", (payment_id,)
        ).fetchone()
        if row is None:
            raise _not_found("payment attempt", payment_id, "paiement en ligne")
        self._uow._seen(_FAMILY, row[1])
        return self._attempt(row)

    def of_family(self, family_id: str) -> tuple[PaymentAttempt, ...]:
        self._uow._sync()
        self._uow._seen(_FAMILY, family_id)
        rows = self._uow._db.execute(
            f"SELECT {_ATTEMPT_COLUMNS} FROM payment_attempts WHERE family_id = ? ORDER BY payment_id",
            (family_id,),
        ).fetchall()
        return tuple(self._attempt(row) for row in rows)

    def save(self, attempt: PaymentAttempt) -> None:
        created = attempt.created

        def apply() -> None:
            previous = _scalar(
                self._uow._db,
                "SELECT family_id FROM payment_attempts WHERE payment_id = ?",
                (attempt.payment_id,),
            )
            self._uow._mark(_FAMILY, attempt.family_id)
            if previous is not None:
                self._uow._mark(_FAMILY, previous)
            self._uow._db.execute(
                f"INSERT OR REPLACE INTO payment_attempts ({_ATTEMPT_COLUMNS}) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    attempt.payment_id,
                    attempt.family_id,
                    attempt.regie_id,
                    json.dumps(list(attempt.invoice_numbers)),
                    attempt.status.value,
                    created.redirect_url,
                    created.amount.cents,
                    created.reference,
                    created.email,
                    _instant(created.created_at),
                    _instant(created.expires_at),
                ),
            )

        self._uow._write(apply)
