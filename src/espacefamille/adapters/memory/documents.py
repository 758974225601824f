"""The billing documents repository in memory: invoices, payments, allocations, numbering."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from espacefamille.adapters.memory.tables import _NUMBERING, _SINGLE, _family, _not_found
from espacefamille.billing.documents import Allocation, Invoice, Numbering, Payment
from espacefamille.errors import InvalidInput

if TYPE_CHECKING:
    from espacefamille.adapters.memory.store import MemoryUnitOfWork


class _MemoryDocuments:
    """Documents of a ``MemoryUnitOfWork`` (see ``espacefamille.ports.Documents``)."""

    def __init__(self, uow: MemoryUnitOfWork) -> None:
        self._uow = uow

    def invoices_of(self, family_id: str) -> tuple[Invoice, ...]:
        with self._uow.lock():
            self._uow.see(_family(family_id))
            found = self._uow.tables.invoices.of_owner(family_id)
        return tuple(sorted(found, key=lambda i: i.number))

    def invoices_of_families(self, family_ids: Iterable[str]) -> Mapping[str, tuple[Invoice, ...]]:
        wanted = dict.fromkeys(family_ids)
        with self._uow.lock():
            for family_id in wanted:
                self._uow.see(_family(family_id))
            found = {family_id: self._uow.tables.invoices.of_owner(family_id) for family_id in wanted}
        return {
            family_id: tuple(sorted(invoices, key=lambda i: i.number))
            for family_id, invoices in found.items()
        }

    def invoice(self, number: str) -> Invoice:
        with self._uow.lock():
            found = self._uow.tables.invoices.get(number)
            if found is not None:
                self._uow.see(_family(found.family_id))
        if found is None:
            raise _not_found("invoice", number)
        return found

    def save_invoice(self, invoice: Invoice) -> None:
        with self._uow.lock():
            issued = self._uow.tables.invoices.get(invoice.number)
            if issued == invoice:
                return
            if issued is not None:
                raise InvalidInput(
                    f"invoice {invoice.number} is already issued with other content; issued invoices "
                    "never change (correct them on a later invoice or a credit note)",
                    message_fr=f"La facture n° {invoice.number} est déjà émise : elle ne peut plus être "
                    "modifiée.",
                    code="store.invoice_immutable",
                )
            self._uow.touch(_family(invoice.family_id))
        self._uow.tables.invoices.put(invoice.number, invoice)

    def payments_of(self, family_id: str) -> tuple[Payment, ...]:
        with self._uow.lock():
            self._uow.see(_family(family_id))
            found = self._uow.tables.payments.of_owner(family_id)
        return tuple(sorted(found, key=lambda p: p.number))

    def save_payment(self, payment: Payment) -> None:
        with self._uow.lock():
            before = self._uow.tables.payments.get(payment.number)
            self._uow.touch(_family(payment.family_id))
            if before is not None:
                self._uow.touch(_family(before.family_id))
        self._uow.tables.payments.put(payment.number, payment)

    def allocations_of(self, family_id: str) -> tuple[Allocation, ...]:
        with self._uow.lock():
            self._uow.see(_family(family_id))
            found = self._uow.tables.allocations.of_owner(family_id)
        chosen = (a for _, a in found)
        return tuple(sorted(chosen, key=lambda a: (a.source, a.invoice_number)))

    def save_allocations(self, allocations: Iterable[Allocation], family_id: str) -> None:
        allocations = list(allocations)
        with self._uow.lock():
            view = self._uow.tables.allocations
            self._uow.touch(_family(family_id))
            for allocation in allocations:
                before = view.get((allocation.source, allocation.invoice_number))
                if before is not None:
                    self._uow.touch(_family(before[0]))
        for allocation in allocations:
            view.put((allocation.source, allocation.invoice_number), (family_id, allocation))

    def numbering(self) -> Numbering:
        with self._uow.lock():
            self._uow.see(_NUMBERING)
            found = self._uow.tables.numbering.get(_SINGLE)
        return found if found is not None else Numbering()

    def save_numbering(self, numbering: Numbering) -> None:
        with self._uow.lock():
            self._uow.touch(_NUMBERING)
        self._uow.tables.numbering.put(_SINGLE, numbering)
