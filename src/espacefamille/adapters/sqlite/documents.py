"""The billing documents repository on SQLite: invoices and their lines, payments, allocations, numbering."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

from espacefamille.adapters._sql import (
    _FAMILY,
    _INVOICE_COLUMNS,
    _LINE_COLUMNS,
    _NUMBERING,
    _check_known_invoice,
    _invoice_lines,
    _invoices,
    _line_rows,
    _not_found,
)
from espacefamille.adapters.sqlite.codecs import (
    _ENCODING,
    _LINE_DAYS_TEXT,
    _instant,
    _iso,
    _line_days,
    _read_instant,
)
from espacefamille.adapters.sqlite.schema import _chunks, _marks, _scalar
from espacefamille.billing.documents import (
    Allocation,
    Invoice,
    InvoiceLine,
    Numbering,
    Payment,
    PaymentMethod,
    Series,
)
from espacefamille.money import Money

if TYPE_CHECKING:
    from espacefamille.adapters.sqlite.store import SqliteUnitOfWork


class _SqliteDocuments:
    """Documents of a ``SqliteUnitOfWork`` (see ``espacefamille.ports.Documents``)."""

    def __init__(self, uow: SqliteUnitOfWork) -> None:
        self._uow = uow

    def _invoices(self, where: str, parameters: Sequence[object]) -> tuple[Invoice, ...]:
        rows = self._uow._db.execute(
            f"SELECT {_INVOICE_COLUMNS} FROM invoices WHERE {where} ORDER BY number", parameters
        ).fetchall()
        if not rows:
            return ()
        lines: dict[str, list[InvoiceLine]] = {}
        numbers = [row[0] for row in rows]
        for chunk in _chunks(numbers):
            lines.update(
                _invoice_lines(
                    self._uow._db.execute(
                        f"SELECT invoice_number, {_LINE_COLUMNS} FROM invoice_lines "
                        f"WHERE invoice_number IN ({_marks(len(chunk))}) ORDER BY invoice_number, position",
                        chunk,
                    ),
                    _ENCODING,
                    _line_days,
                )
            )
        return _invoices(rows, lines, _ENCODING)

    def invoices_of(self, family_id: str) -> tuple[Invoice, ...]:
        self._uow._sync()
        self._uow._seen(_FAMILY, family_id)
        return self._invoices("family_id = ?", (family_id,))

    def invoices_of_families(self, family_ids: Iterable[str]) -> Mapping[str, tuple[Invoice, ...]]:
        self._uow._sync()
        wanted = list(dict.fromkeys(family_ids))
        found: dict[str, list[Invoice]] = {family_id: [] for family_id in wanted}
        for family_id in wanted:
            self._uow._seen(_FAMILY, family_id)
        for chunk in _chunks(wanted):
            for invoice in self._invoices(f"family_id IN ({_marks(len(chunk))})", chunk):
                found[invoice.family_id].append(invoice)
        return {family_id: tuple(invoices) for family_id, invoices in found.items()}

    def _invoice_exists(self, number: str) -> bool:
        return _scalar(self._uow._db, "SELECT 1 FROM invoices WHERE number = ?", (number,)) is not None

    def invoice(self, number: str) -> Invoice:
        self._uow._sync()
        found = self._invoices("number = ?", (number,))
        if not found:
            raise _not_found("invoice", number, "facture")
        self._uow._seen(_FAMILY, found[0].family_id)
        return found[0]

    def save_invoice(self, invoice: Invoice) -> None:
        # A known number (here or already committed) is refused unless it is the same invoice. Before the
        # write lock it is looked up at once and again under the lock, where no other unit of work can slip
        # an invoice in between; under the lock the insert itself finds it (one lookup less per invoice of
        # a month-end run).
        earlier = self._uow._pending_invoices.get(invoice.number)
        if earlier is None and not self._uow._writing and self._invoice_exists(invoice.number):
            earlier = self._invoices("number = ?", (invoice.number,))[0]
        if earlier is not None:
            _check_known_invoice(earlier, invoice, self._uow._raise_if_changed)
            return
        if not self._uow._writing:
            # Only a write still waiting for the lock is remembered: once written, the row answers (a
            # month-end run that saves a city's invoices as it goes keeps none of them in memory).
            self._uow._pending_invoices[invoice.number] = invoice

        def apply() -> None:
            self._uow._mark(_FAMILY, invoice.family_id)
            try:
                self._uow._db.execute(
                    "INSERT INTO invoices (number, regie_id, family_id, kind, period_start, period_end, "
                    "issued_on, due_on, direct_debit_on) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        invoice.number,
                        invoice.regie_id,
                        invoice.family_id,
                        invoice.kind.value,
                        invoice.period.start.isoformat(),
                        invoice.period.end.isoformat(),
                        invoice.issued_on.isoformat(),
                        invoice.due_on.isoformat(),
                        _iso(invoice.direct_debit_on),
                    ),
                )
            except sqlite3.IntegrityError:
                found = self._invoices("number = ?", (invoice.number,))
                if not found:  # pragma: no cover - every column is given; only the number can clash
                    raise
                _check_known_invoice(found[0], invoice, self._uow._raise_if_changed)
                return
            self._uow._db.executemany(
                f"INSERT INTO invoice_lines (invoice_number, position, {_LINE_COLUMNS}) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                _line_rows((((invoice.number,), invoice.lines),), _ENCODING, _LINE_DAYS_TEXT.__getitem__),
            )

        self._uow._write(apply)

    def payments_of(self, family_id: str) -> tuple[Payment, ...]:
        self._uow._sync()
        self._uow._seen(_FAMILY, family_id)
        rows = self._uow._db.execute(
            "SELECT number, regie_id, family_id, amount_cents, received_at, method, reference FROM payments "
            "WHERE family_id = ? ORDER BY number",
            (family_id,),
        ).fetchall()
        return tuple(
            Payment(
                number,
                regie_id,
                family,
                Money.from_cents(cents),
                _read_instant(received_at),
                PaymentMethod(method),
                reference,
            )
            for number, regie_id, family, cents, received_at, method, reference in rows
        )

    def save_payment(self, payment: Payment) -> None:

        def apply() -> None:
            self._uow._mark_owners("payments", "number", payment.number, payment.family_id)
            self._uow._db.execute(
                "INSERT OR REPLACE INTO payments (number, regie_id, family_id, amount_cents, received_at, "
                "method, reference) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    payment.number,
                    payment.regie_id,
                    payment.family_id,
                    payment.amount.cents,
                    _instant(payment.received_at),
                    payment.method.value,
                    payment.reference,
                ),
            )

        self._uow._write(apply)

    def allocations_of(self, family_id: str) -> tuple[Allocation, ...]:
        self._uow._sync()
        self._uow._seen(_FAMILY, family_id)
        rows = self._uow._db.execute(
            "SELECT source, invoice_number, amount_cents FROM allocations WHERE family_id = ? "
            "ORDER BY source, invoice_number",
            (family_id,),
        ).fetchall()
        return tuple(Allocation(source, invoice, Money.from_cents(cents)) for source, invoice, cents in rows)

    def save_allocations(self, allocations: Iterable[Allocation], family_id: str) -> None:
        rows = [(a.source, a.invoice_number, family_id, a.amount.cents) for a in allocations]
        if not rows:
            return

        def apply() -> None:
            self._uow._mark(_FAMILY, family_id)
            # An allocation saved under another household leaves the one it had changed too.
            keys = [row[:2] for row in rows]
            self._uow._mark_previous_owners("allocations", ("source", "invoice_number"), keys)
            self._uow._db.executemany(
                "INSERT OR REPLACE INTO allocations (source, invoice_number, family_id, amount_cents) "
                "VALUES (?, ?, ?, ?)",
                rows,
            )

        self._uow._write(apply)

    def numbering(self) -> Numbering:
        self._uow._sync()
        self._uow._seen(_NUMBERING, "")
        rows = self._uow._db.execute("SELECT regie_id, year, series, last FROM numbering").fetchall()
        return Numbering({(regie_id, year, Series(series)): last for regie_id, year, series, last in rows})

    def save_numbering(self, numbering: Numbering) -> None:
        # Numbers are gap-free and unique: two runs numbering at once must not both commit.

        def apply() -> None:
            self._uow._mark(_NUMBERING, "")
            self._uow._db.execute("DELETE FROM numbering")
            self._uow._db.executemany(
                "INSERT INTO numbering (regie_id, year, series, last) VALUES (?, ?, ?, ?)",
                [
                    (regie_id, year, series.value, last)
                    for (regie_id, year, series), last in numbering.last.items()
                ],
            )

        self._uow._write(apply)
