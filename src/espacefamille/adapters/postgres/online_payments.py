"""The online payments repository on PostgreSQL."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from espacefamille.adapters._sql import _FAMILY, _not_found
from espacefamille.adapters.postgres.codecs import (
    _ATTEMPT_COLUMNS,
    _instant,
    _read_instant,
    _read_text,
    _text,
)
from espacefamille.billing.online import CreatedPayment, PaymentAttempt, PaymentStatus
from espacefamille.money import Money

if TYPE_CHECKING:
    from espacefamille.adapters.postgres.store import PostgresUnitOfWork


class _PostgresOnlinePayments:
    """OnlinePayments of a ``PostgresUnitOfWork`` (see ``espacefamille.ports.OnlinePayments``)."""

    def __init__(self, uow: PostgresUnitOfWork) -> None:
        self._uow = uow

    @staticmethod
    def _attempt(row: Sequence[Any]) -> PaymentAttempt:
        (
            payment_id,
            family_id,
            regie_id,
            numbers,
            status,
            url,
            cents,
            reference,
            email,
            created,
            created_zone,
            expires,
            expires_zone,
        ) = row
        created_payment = CreatedPayment(
            payment_id,
            _read_text(url),
            Money.from_cents(cents),
            _read_text(reference),
            email,
            _read_instant(created, created_zone),
            _read_instant(expires, expires_zone),
        )
        return PaymentAttempt(created_payment, regie_id, family_id, tuple(numbers), PaymentStatus(status))

    def get(self, payment_id: str) -> PaymentAttempt:
        self._uow._sync()
        row = self._uow._one(
            f"SELECT {_ATTEMPT_COLUMNS} FROM payment_attempts WHERE collectivite_id = %s AND payment_id = %s",
            (self._uow._c, payment_id),
        )
        if row is None:
            raise _not_found("payment attempt", payment_id, "paiement en ligne")
        self._uow._seen(_FAMILY, row[1])
        return self._attempt(row)

    def of_family(self, family_id: str) -> tuple[PaymentAttempt, ...]:
        self._uow._sync()
        self._uow._seen(_FAMILY, family_id)
        rows = self._uow._rows(
            f"SELECT {_ATTEMPT_COLUMNS} FROM payment_attempts WHERE collectivite_id = %s AND family_id = %s "
            "ORDER BY payment_id",
            (self._uow._c, family_id),
        )
        return tuple(self._attempt(row) for row in rows)

    def save(self, attempt: PaymentAttempt) -> None:
        created = attempt.created
        self._uow._mark(_FAMILY, attempt.family_id)
        row = (
            self._uow._c,
            attempt.payment_id,
            attempt.family_id,
            attempt.regie_id,
            list(attempt.invoice_numbers),
            attempt.status.value,
            _text(created.redirect_url),
            created.amount.cents,
            _text(created.reference),
            created.email,
            *_instant(created.created_at),
            *_instant(created.expires_at),
        )

        def apply() -> None:
            self._uow._mark_owners("payment_attempts", "payment_id", attempt.payment_id, attempt.family_id)
            self._uow._run(
                f"INSERT INTO payment_attempts (collectivite_id, {_ATTEMPT_COLUMNS}) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
                "ON CONFLICT (collectivite_id, payment_id) DO UPDATE SET family_id = excluded.family_id, "
                "regie_id = excluded.regie_id, invoice_numbers = excluded.invoice_numbers, "
                "status = excluded.status, redirect_url = excluded.redirect_url, "
                "amount_cents = excluded.amount_cents, reference = excluded.reference, "
                "email = excluded.email, "
                "created_at = excluded.created_at, created_zone = excluded.created_zone, "
                "expires_at = excluded.expires_at, expires_zone = excluded.expires_zone",
                row,
            )

        self._uow._write(apply)
