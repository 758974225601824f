"""Fault injection: a commune store failing at its k-th write, to prove a failure leaves nothing half-written.

``FailingStore(store, fail_at=k)`` wraps any ``CommuneStore``. Writes (every ``save_*``/``add_*`` call) are
counted across all its units of work; the k-th raises ``InjectedFault`` before reaching the wrapped store.
A service that lets the error escape its unit of work never commits, so nothing it wrote is visible: run
it for every k from 1 to the number of writes it makes and check that the store holds either everything
or nothing (no basket without its bookings, no invoice without its numbering, no payment without its
allocations).
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager

from espacefamille.billing.documents import Allocation, Invoice, Numbering, Payment
from espacefamille.billing.invoicing import CarriedBalance
from espacefamille.billing.online import PaymentAttempt
from espacefamille.calendar.opening import Closure
from espacefamille.calendar.periods import DateRange
from espacefamille.commune import Commune
from espacefamille.families.events import OutboxMessage
from espacefamille.families.requests import Request
from espacefamille.model import Booking, Child, Enrolment, Family
from espacefamille.ports import CommuneStore, FamilyRecords, UnitOfWork
from espacefamille.rules.attendance import AbsenceDeclaration, AttendanceFact
from espacefamille.rules.unpaid import UnpaidExemption

__all__ = ["FailingStore", "InjectedFault"]


class InjectedFault(RuntimeError):
    """The failure ``FailingStore`` injects (a disk full, a lost connection…); ``write`` is its rank."""

    def __init__(self, write: int, operation: str) -> None:
        super().__init__(f"injected failure at write {write} ({operation})")
        self.write = write
        self.operation = operation


class FailingStore:
    """A ``CommuneStore`` that fails at its ``fail_at``-th write (1 is the first); ``writes`` counts them."""

    def __init__(self, store: CommuneStore, fail_at: int) -> None:
        self.store = store
        self.fail_at = fail_at
        self.writes = 0
        self._lock = threading.Lock()

    def count(self, operation: str) -> None:
        """Count one write, failing if it is the ``fail_at``-th."""
        with self._lock:
            self.writes += 1
            rank = self.writes
        if rank == self.fail_at:
            raise InjectedFault(rank, operation)

    def unit_of_work(self) -> AbstractContextManager[UnitOfWork]:
        return self._unit_of_work()

    @contextmanager
    def _unit_of_work(self) -> Iterator[UnitOfWork]:
        with self.store.unit_of_work() as inner:
            yield _FailingUnitOfWork(self, inner)


class _FailingUnitOfWork:
    """Reads go straight through; writes are counted first."""

    def __init__(self, store: FailingStore, inner: UnitOfWork) -> None:
        self._store = store
        self._inner = inner

    def commit(self) -> None:
        self._inner.commit()

    def rollback(self) -> None:
        self._inner.rollback()

    def commune(self) -> Commune:
        return self._inner.commune()

    def save_commune(self, commune: Commune) -> None:
        self._store.count("save_commune")
        self._inner.save_commune(commune)

    def family(self, family_id: str) -> Family:
        return self._inner.family(family_id)

    def families(self) -> Iterator[Family]:
        return self._inner.families()

    def family_records(
        self, period: DateRange, after: str | None = None, documents_from: dt.date | None = None
    ) -> Iterator[FamilyRecords]:
        return self._inner.family_records(period, after, documents_from)

    def save_family(self, family: Family) -> None:
        self._store.count("save_family")
        self._inner.save_family(family)

    def child(self, child_id: str) -> Child:
        return self._inner.child(child_id)

    def children_of(self, family_id: str) -> tuple[Child, ...]:
        return self._inner.children_of(family_id)

    def save_child(self, child: Child) -> None:
        self._store.count("save_child")
        self._inner.save_child(child)

    def enrolments_of(self, child_id: str) -> tuple[Enrolment, ...]:
        return self._inner.enrolments_of(child_id)

    def save_enrolment(self, enrolment: Enrolment) -> None:
        self._store.count("save_enrolment")
        self._inner.save_enrolment(enrolment)

    def bookings_of_family(self, family_id: str, period: DateRange) -> tuple[Booking, ...]:
        return self._inner.bookings_of_family(family_id, period)

    def bookings_of_prestation(self, prestation_id: str, period: DateRange) -> tuple[Booking, ...]:
        return self._inner.bookings_of_prestation(prestation_id, period)

    def save_bookings(self, bookings: Iterable[Booking]) -> None:
        self._store.count("save_bookings")
        self._inner.save_bookings(bookings)

    def attendance_of_family(self, family_id: str, period: DateRange) -> tuple[AttendanceFact, ...]:
        return self._inner.attendance_of_family(family_id, period)

    def save_attendance(self, facts: Iterable[AttendanceFact], family_id: str) -> None:
        self._store.count("save_attendance")
        self._inner.save_attendance(facts, family_id)

    def absences_of_family(self, family_id: str) -> tuple[AbsenceDeclaration, ...]:
        return self._inner.absences_of_family(family_id)

    def save_absence(self, declaration: AbsenceDeclaration, family_id: str) -> None:
        self._store.count("save_absence")
        self._inner.save_absence(declaration, family_id)

    def closures(self) -> Mapping[str, tuple[Closure, ...]]:
        return self._inner.closures()

    def add_closure(self, service_id: str, closure: Closure) -> None:
        self._store.count("add_closure")
        self._inner.add_closure(service_id, closure)

    def invoices_of_family(self, family_id: str) -> tuple[Invoice, ...]:
        return self._inner.invoices_of_family(family_id)

    def invoice(self, number: str) -> Invoice:
        return self._inner.invoice(number)

    def save_invoice(self, invoice: Invoice) -> None:
        self._store.count("save_invoice")
        self._inner.save_invoice(invoice)

    def payments_of_family(self, family_id: str) -> tuple[Payment, ...]:
        return self._inner.payments_of_family(family_id)

    def save_payment(self, payment: Payment) -> None:
        self._store.count("save_payment")
        self._inner.save_payment(payment)

    def allocations_of_family(self, family_id: str) -> tuple[Allocation, ...]:
        return self._inner.allocations_of_family(family_id)

    def save_allocations(self, allocations: Iterable[Allocation], family_id: str) -> None:
        self._store.count("save_allocations")
        self._inner.save_allocations(allocations, family_id)

    def numbering(self) -> Numbering:
        return self._inner.numbering()

    def save_numbering(self, numbering: Numbering) -> None:
        self._store.count("save_numbering")
        self._inner.save_numbering(numbering)

    def carried(self, regie_id: str, before: dt.date | None = None) -> Mapping[str, CarriedBalance]:
        return self._inner.carried(regie_id, before)

    def save_carried(
        self, regie_id: str, period: DateRange, balances: Mapping[str, CarriedBalance | None]
    ) -> None:
        self._store.count("save_carried")
        self._inner.save_carried(regie_id, period, balances)

    def billed_through(self, regie_id: str) -> dt.date | None:
        return self._inner.billed_through(regie_id)

    def save_billed_through(self, regie_id: str, day: dt.date) -> None:
        self._store.count("save_billed_through")
        self._inner.save_billed_through(regie_id, day)

    def changed_days(self, regie_id: str) -> Mapping[str, tuple[dt.date, ...]]:
        return self._inner.changed_days(regie_id)

    def mark_changed(self, regie_id: str, family_id: str, days: Iterable[dt.date]) -> None:
        self._store.count("mark_changed")
        self._inner.mark_changed(regie_id, family_id, days)

    def clear_changed(self, regie_id: str, family_id: str, days: Iterable[dt.date]) -> None:
        self._store.count("clear_changed")
        self._inner.clear_changed(regie_id, family_id, days)

    def unpaid_exemption(self, family_id: str) -> UnpaidExemption | None:
        return self._inner.unpaid_exemption(family_id)

    def save_unpaid_exemption(self, family_id: str, exemption: UnpaidExemption | None) -> None:
        self._store.count("save_unpaid_exemption")
        self._inner.save_unpaid_exemption(family_id, exemption)

    def payment_attempt(self, payment_id: str) -> PaymentAttempt:
        return self._inner.payment_attempt(payment_id)

    def payment_attempts_of_family(self, family_id: str) -> tuple[PaymentAttempt, ...]:
        return self._inner.payment_attempts_of_family(family_id)

    def save_payment_attempt(self, attempt: PaymentAttempt) -> None:
        self._store.count("save_payment_attempt")
        self._inner.save_payment_attempt(attempt)

    def requests_of_family(self, family_id: str) -> tuple[Request, ...]:
        return self._inner.requests_of_family(family_id)

    def save_request(self, request: Request) -> None:
        self._store.count("save_request")
        self._inner.save_request(request)

    def add_outbox(self, message: OutboxMessage) -> None:
        self._store.count("add_outbox")
        self._inner.add_outbox(message)

    def outbox(self) -> tuple[OutboxMessage, ...]:
        return self._inner.outbox()

    def save_outbox(self, message: OutboxMessage) -> None:
        self._store.count("save_outbox")
        self._inner.save_outbox(message)
