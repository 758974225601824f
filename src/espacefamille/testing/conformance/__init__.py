"""The conformance kit: a pytest base class whose tests check every behaviour the storage ports promise.

A store implementation subclasses ``StoreConformance`` in its own test suite and says how to build a fresh,
empty store::

    from espacefamille.testing.conformance import StoreConformance

    class TestMyStore(StoreConformance):
        def make_store(self) -> CommuneStore:
            return MyStore(...)

        def make_account_store(self) -> AccountStore:
            return MyAccountStore(...)

pytest then runs every ``test_…`` method of its parts on it (one part per repository, one for units of
work, one for the accounts store): round trips of every value the store keeps, upserts, ordering,
``NotFound``, commit visibility, rollback, concurrent-change detection, immutable invoices, the outbox and
online payments kept in the same transaction, and account lookups. The kit needs pytest and hypothesis.

What the kit fixes where ``ports.store`` leaves a choice (so that every store behaves alike):

* listings are ordered by identifier, then date: bookings and attendance facts by (child, prestation, day),
  absences by (child, first day, last day), invoices and payments by number, allocations by (source,
  invoice), requests by id, closures by their first then last day; the outbox is oldest first;
* a booking and an attendance fact are identified by (child, prestation, day), an absence declaration by
  (child, days), an allocation by (source, invoice), an outbox message and a request by their id;
* ``documents.numbering()`` is an empty ``Numbering`` before one is saved; ``runs.carried()`` is empty before
  balances are saved; ``runs.save_carried`` replaces, for the families it names, what was recorded for the
  same régie and first day of period (``None`` records that nothing is carried) and keeps the others; a
  balance saved under another family or régie than its own is ``InvalidInput`` (``store.carried_mismatch``);
* payment attempts are identified by their payment id and listed per family by payment id;
* mandates are identified by their RUM and listed per family by RUM, per régie by family then RUM; debit
  files by their id, listed per régie by collection date then id, their collections by invoice number;
  ``mandates.save_batch`` of an id already recorded raises ``InvalidInput`` (``store.batch_exists``), and
  two units of work that both save a debit file of the same régie conflict;
* a household has at most one unpaid exemption: ``families.save_unpaid_exemption`` replaces it, ``None``
  removes it, and ``families.unpaid_exemption`` is ``None`` for a household without one (known or not);
* ``documents.save_invoice`` of a number already recorded with other content raises ``InvalidInput`` with the
  code ``store.invoice_immutable``; the same content again is a no-op;
* ``attendance.add_closure`` of a closure already declared for the service is a no-op; ``outbox.add`` of a
  message already queued with the same content is a no-op; ``outbox.save`` of an unknown id is ``NotFound``;
* two units of work that both write the invoice numbering conflict (invoice numbers stay unique);
* a row saved under another household than the one it had (a booking, an attendance fact, an absence
  declaration, an enrolment, a mandate, a payment, a payment attempt, a request, a debit collection) is a
  write of both: a unit of work that read either household and writes meanwhile conflicts;
* an activation recorded as used never changes: saving other content raises ``ConcurrentChange``
  (someone else used it first).
"""

from __future__ import annotations

from espacefamille.testing.conformance._base import ConformanceBase
from espacefamille.testing.conformance.accounts import AccountsConformance
from espacefamille.testing.conformance.attendance import AttendanceConformance
from espacefamille.testing.conformance.bookings import BookingsConformance
from espacefamille.testing.conformance.documents import DocumentsConformance
from espacefamille.testing.conformance.families import FamiliesConformance
from espacefamille.testing.conformance.idempotency import IdempotencyConformance
from espacefamille.testing.conformance.mandates import MandatesConformance
from espacefamille.testing.conformance.online_payments import OnlinePaymentsConformance
from espacefamille.testing.conformance.outbox import OutboxConformance
from espacefamille.testing.conformance.requests import RequestsConformance
from espacefamille.testing.conformance.runs import MonthEndRunsConformance
from espacefamille.testing.conformance.transactions import TransactionsConformance

__all__ = [
    "AccountsConformance",
    "AttendanceConformance",
    "BookingsConformance",
    "ConformanceBase",
    "DocumentsConformance",
    "FamiliesConformance",
    "IdempotencyConformance",
    "MandatesConformance",
    "MonthEndRunsConformance",
    "OnlinePaymentsConformance",
    "OutboxConformance",
    "RequestsConformance",
    "StoreConformance",
    "TransactionsConformance",
]


class StoreConformance(
    FamiliesConformance,
    BookingsConformance,
    AttendanceConformance,
    DocumentsConformance,
    MonthEndRunsConformance,
    MandatesConformance,
    OnlinePaymentsConformance,
    RequestsConformance,
    IdempotencyConformance,
    OutboxConformance,
    TransactionsConformance,
    AccountsConformance,
):
    """Every behaviour of ``CommuneStore``/``UnitOfWork`` and ``AccountStore``, as pytest tests.

    Subclass it in a class named ``Test…`` and override ``make_store`` (and ``make_account_store`` if
    the implementation has an account store); each test builds its own fresh store. Each repository's
    part can also be run alone (``FamiliesConformance``, ``DocumentsConformance``…).
    """
