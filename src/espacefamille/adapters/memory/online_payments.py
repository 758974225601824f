"""The online payments repository in memory: the attempts of a payment at the régie's provider."""

from __future__ import annotations

from typing import TYPE_CHECKING

from espacefamille.adapters.memory.tables import _family, _not_found
from espacefamille.billing.online import PaymentAttempt

if TYPE_CHECKING:
    from espacefamille.adapters.memory.store import MemoryUnitOfWork


class _MemoryOnlinePayments:
    """OnlinePayments of a ``MemoryUnitOfWork`` (see ``espacefamille.ports.OnlinePayments``)."""

    def __init__(self, uow: MemoryUnitOfWork) -> None:
        self._uow = uow

    def get(self, payment_id: str) -> PaymentAttempt:
        with self._uow.lock():
            found = self._uow.tables.payment_attempts.get(payment_id)
            if found is not None:
                self._uow.see(_family(found.family_id))
        if found is None:
            raise _not_found("payment attempt", payment_id)
        return found

    def of_family(self, family_id: str) -> tuple[PaymentAttempt, ...]:
        with self._uow.lock():
            self._uow.see(_family(family_id))
            found = self._uow.tables.payment_attempts.values()
        return tuple(sorted((a for a in found if a.family_id == family_id), key=lambda a: a.payment_id))

    def save(self, attempt: PaymentAttempt) -> None:
        with self._uow.lock():
            before = self._uow.tables.payment_attempts.get(attempt.payment_id)
            self._uow.touch(_family(attempt.family_id))
            if before is not None:
                self._uow.touch(_family(before.family_id))
        self._uow.tables.payment_attempts.put(attempt.payment_id, attempt)
