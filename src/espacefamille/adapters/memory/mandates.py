"""The mandates repository in memory: SEPA mandates, the debit files built and the invoices they collect."""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs

from espacefamille.adapters.memory.tables import _family, _not_found
from espacefamille.billing.direct_debit import DebitBatch, DebitCollection
from espacefamille.billing.mandates import FamilyMandate
from espacefamille.errors import InvalidInput
from espacefamille.ports.store import batch_exists

if TYPE_CHECKING:
    from espacefamille.adapters.memory.store import MemoryUnitOfWork


class _MemoryMandates:
    """Mandates of a ``MemoryUnitOfWork`` (see ``espacefamille.ports.Mandates``)."""

    def __init__(self, uow: MemoryUnitOfWork) -> None:
        self._uow = uow

    def get(self, rum: str) -> FamilyMandate:
        with self._uow.lock():
            found = self._uow.tables.mandates.get(rum)
            if found is not None:
                self._uow.see(_family(found.family_id))
        if found is None:
            raise _not_found("mandate", rum)
        return found

    def of_family(self, family_id: str) -> tuple[FamilyMandate, ...]:
        with self._uow.lock():
            self._uow.see(_family(family_id))
            found = self._uow.tables.mandates.of_owner(family_id)
        return tuple(sorted(found, key=lambda m: m.rum))

    def of_regie(self, regie_id: str) -> tuple[FamilyMandate, ...]:
        with self._uow.lock():
            found = self._uow.tables.mandates.values()
        return tuple(sorted((m for m in found if m.regie_id == regie_id), key=lambda m: (m.family_id, m.rum)))

    def save(self, mandate: FamilyMandate) -> None:
        if not isinstance(mandate, FamilyMandate):
            raise InvalidInput(f"expected a FamilyMandate, got {mandate!r}", code="input.invalid")
        with self._uow.lock():
            before = self._uow.tables.mandates.get(mandate.rum)
            self._uow.touch(_family(mandate.family_id))
            if before is not None:
                self._uow.touch(_family(before.family_id))
        self._uow.tables.mandates.put(mandate.rum, mandate)

    def batch(self, batch_id: str) -> DebitBatch:
        with self._uow.lock():
            found = self._uow.tables.debit_batches.get(batch_id)
        if found is None:
            raise _not_found("debit batch", batch_id)
        return found

    def batches_of(self, regie_id: str) -> tuple[DebitBatch, ...]:
        with self._uow.lock():
            self._uow.see(("debits", regie_id))
            found = self._uow.tables.debit_batches.values()
        return tuple(sorted((b for b in found if b.regie_id == regie_id), key=lambda b: (b.debit_date, b.id)))

    def collections_of(self, family_id: str) -> tuple[DebitCollection, ...]:
        with self._uow.lock():
            self._uow.see(_family(family_id))
            found = self._uow.tables.debit_batches.values()
        return tuple(
            sorted(
                (c for batch in found for c in batch.collections if c.family_id == family_id),
                key=lambda c: (c.batch_id, c.invoice_number),
            )
        )

    def save_batch(self, batch: DebitBatch) -> None:
        if not isinstance(batch, DebitBatch):
            raise InvalidInput(f"expected a DebitBatch, got {batch!r}", code="input.invalid")
        with self._uow.lock():
            if self._uow.tables.debit_batches.get(batch.id) is not None:
                raise batch_exists(batch.id)
            self._uow.touch(("debits", batch.regie_id))
            for collection in batch.collections:
                self._uow.touch(_family(collection.family_id))
        self._uow.tables.debit_batches.put(batch.id, batch)

    def save_collection(self, collection: DebitCollection) -> None:
        with self._uow.lock():
            batch = self._uow.tables.debit_batches.get(collection.batch_id)
            before = (
                None
                if batch is None
                else {c.invoice_number: c for c in batch.collections}.get(collection.invoice_number)
            )
            if batch is None or before is None:
                raise _not_found("debit collection", f"{collection.batch_id}/{collection.invoice_number}")
            # A collection recorded for another household changes the one it had too.
            self._uow.touch(_family(collection.family_id))
            self._uow.touch(_family(before.family_id))
        kept = [c for c in batch.collections if c.invoice_number != collection.invoice_number]
        self._uow.tables.debit_batches.put(batch.id, attrs.evolve(batch, collections=[*kept, collection]))
