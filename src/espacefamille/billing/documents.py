"""Billing documents: invoices (factures), credit notes (avoirs), payments, allocations and numbering.

Invoices are public-money documents: once issued they never change. Their total is the sum of their
lines, and what remains to pay is derived from the allocations of payments and credit notes, so no
stored total can drift from the lines. Corrections are new lines on a later invoice that name the
original date and invoice (``InvoiceLine.regularises``).

A direct debit the bank returned (a reject) is reversed, never erased: a ``Payment`` of the opposite amount
(the money going back) and an ``Allocation`` from the invoice to that reversal, which takes back what the
collection had settled — so the invoice itself is open again, and what remains on it is still derived from
allocations.

Numbers are unique, ordered and gap-free per régie, year and series: invoices (``FAC``), credit notes
(``AV``), payments (``PAY``) and refunds (``REM``) each have their own series.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable, Mapping
from decimal import Decimal

import attrs

from espacefamille._internal.validators import optional_date, plain_date
from espacefamille.calendar.periods import DateRange
from espacefamille.errors import InvalidInput
from espacefamille.money import ZERO, Money

__all__ = [
    "Allocation",
    "DocumentKind",
    "Invoice",
    "InvoiceLine",
    "Numbering",
    "Payment",
    "PaymentMethod",
    "Series",
    "remaining",
]


class Series(enum.Enum):
    """A numbering series; each régie numbers each series per year without gaps."""

    INVOICE = "FAC"
    CREDIT_NOTE = "AV"
    PAYMENT = "PAY"
    REFUND = "REM"


class DocumentKind(enum.Enum):
    """An invoice computed here, a credit note (negative total), or an invoice imported from an ERP."""

    INVOICE = "invoice"
    CREDIT_NOTE = "credit_note"
    IMPORTED = "imported"


def _days(items: Iterable[dt.date]) -> tuple[dt.date, ...]:
    return tuple(sorted(items))


@attrs.frozen
class InvoiceLine:
    """One line: a child × prestation × unit price × reason, with its dates, quantity and total.

    ``reason`` is a stable code (``"attendance.present"``, ``"surcharge.late_booking"``,
    ``"regularisation"``…); ``quantity`` is exact (days, or hours as a fraction: 1 h 05 is 65/60);
    ``regularises`` names the invoice and date a correction line corrects. ``minutes`` is the exact
    time billed for hourly and half-hourly prestations (``quantity`` is then the price units, which a
    ``Decimal`` can only show rounded when they are thirds or twelfths: 65 minutes are 13/12 of an hour).
    """

    child_id: str
    prestation_id: str
    label: str
    reason: str
    days: tuple[dt.date, ...] = attrs.field(converter=_days)
    quantity: Decimal
    unit_price: Decimal
    total: Money
    explanation: str = ""
    regularises: tuple[str, dt.date] | None = None
    minutes: int | None = None


def _lines(items: Iterable[InvoiceLine]) -> tuple[InvoiceLine, ...]:
    return tuple(items)


@attrs.frozen
class Invoice:
    """An issued document of a régie to a payer; immutable once issued.

    ``carried_in`` is the amount below the recovery threshold carried from earlier periods (already part
    of the lines, as a line of its own); ``direct_debit_on`` is set for families on SEPA direct debit.
    """

    number: str
    regie_id: str
    family_id: str
    kind: DocumentKind
    period: DateRange
    issued_on: dt.date = attrs.field(validator=plain_date)
    due_on: dt.date = attrs.field(validator=plain_date)
    lines: tuple[InvoiceLine, ...] = attrs.field(converter=_lines)
    direct_debit_on: dt.date | None = attrs.field(default=None, validator=optional_date)

    def __attrs_post_init__(self) -> None:
        if self.due_on < self.issued_on:
            raise InvalidInput(
                f"invoice {self.number} is due on {self.due_on}, before it is issued on {self.issued_on}",
                code="input.end_before_start",
            )
        if self.kind is DocumentKind.CREDIT_NOTE and not self.total.is_negative:
            raise InvalidInput(f"credit note {self.number} must be negative", code="billing.credit_note_sign")
        if self.kind is DocumentKind.INVOICE and self.total.is_negative:
            raise InvalidInput(f"invoice {self.number} cannot be negative", code="billing.invoice_sign")

    @property
    def total(self) -> Money:
        """The sum of the lines — never stored, so it cannot drift."""
        return Money.total(line.total for line in self.lines)

    @property
    def is_credit_note(self) -> bool:
        return self.kind is DocumentKind.CREDIT_NOTE


class PaymentMethod(enum.Enum):
    ONLINE = "online"  # PayFiP card or SEPA
    DIRECT_DEBIT = "direct_debit"
    CASH = "cash"
    CHEQUE = "cheque"
    TRANSFER = "transfer"
    CREDIT = "credit"  # a credit note applied to an invoice


@attrs.frozen
class Payment:
    """Money received by a régie from a payer (or a refund paid back, with a negative amount)."""

    number: str
    regie_id: str
    family_id: str
    amount: Money
    received_at: dt.datetime
    method: PaymentMethod
    reference: str = ""


@attrs.frozen
class Allocation:
    """Part of a payment (or of a credit note) settling part of an invoice.

    Two allocations name a negative payment as their target: a credit note's credit paid back (``source``
    the credit note, the payment a refund), and a reversal (``source`` the invoice, the payment the money a
    direct debit's bank took back), which takes back that much of what the invoice had settled.
    """

    source: str  # a payment number, or a credit note number (or, for a reversal, the invoice)
    invoice_number: str
    amount: Money

    def __attrs_post_init__(self) -> None:
        if self.amount <= ZERO:
            raise InvalidInput("an allocation must be positive", code="billing.allocation_sign")


def remaining(invoice: Invoice, allocations: Iterable[Allocation]) -> Money:
    """What is left to pay on ``invoice`` (or, for a credit note, left to use), from its allocations.

    An invoice's reversals (allocations from it: a direct debit the bank returned) take back what was paid.
    """
    if invoice.is_credit_note:
        used = Money.total(a.amount for a in allocations if a.source == invoice.number)
        return -invoice.total - used
    cents = invoice.total.cents
    for allocation in allocations:
        if allocation.invoice_number == invoice.number:
            cents -= allocation.amount.cents
        elif allocation.source == invoice.number:
            cents += allocation.amount.cents
    return Money.from_cents(cents)


def _counters(table: Mapping[tuple[str, int, Series], int]) -> dict[tuple[str, int, Series], int]:
    return dict(table)


@attrs.frozen
class Numbering:
    """The last number used per régie, year and series; ``next`` gives a new numbering and a number.

    Numbers read ``FAC-enfance-2026-000042``: series, régie, year, then a gap-free counter.
    """

    last: Mapping[tuple[str, int, Series], int] = attrs.field(factory=dict, converter=_counters)

    def next(self, regie_id: str, year: int, series: Series) -> tuple[Numbering, str]:
        key = (regie_id, year, series)
        counter = self.last.get(key, 0) + 1
        number = f"{series.value}-{regie_id}-{year}-{counter:06d}"
        return Numbering({**self.last, key: counter}), number
