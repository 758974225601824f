"""Invoices as tables for ERP scripts and spreadsheets: CSV rows and JSON-safe dicts, in a stable order.

Amounts are written as exact decimal strings with a point (``"12.50"``, ``"-3.20"`` for a credit note), never
as floats, so a script reads them back with ``Decimal`` without a cent of drift; dates are ISO
(``"2026-12-01"``); an absent value is ``None`` in JSON and an empty cell in CSV. Keys are the library's own
attribute names (``number``, ``due_on``…), the same in CSV headers and JSON, and their order never changes:
new columns are only ever added at the end.

``remaining`` is what is left to pay on an invoice (for a credit note: the credit left to use), derived from
the allocations given (payments and credit notes), as ``billing.documents.remaining`` does.

A ``CsvDialect`` says how the CSV is written: ``STANDARD`` (``;``, decimal point, no byte-order mark: for
scripts) or ``EXCEL_FR``, what a French Excel opens as it is (a UTF-8 byte-order mark so accents survive,
``;``, decimal commas so amounts are numbers, CRLF line ends).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Final

import attrs

from espacefamille.billing.documents import Allocation, Invoice, InvoiceLine, remaining
from espacefamille.money import Money

__all__ = [
    "EXCEL_FR",
    "INVOICE_COLUMNS",
    "LINE_COLUMNS",
    "STANDARD",
    "CsvDialect",
    "InvoiceRecord",
    "LineRecord",
    "invoice_json",
    "invoice_record",
    "invoices_csv",
    "line_record",
    "lines_csv",
]

InvoiceRecord = dict[str, str | int | None]
"""One invoice as a flat, JSON-safe dict (keys: ``INVOICE_COLUMNS``)."""

LineRecord = dict[str, str | int | list[str] | None]
"""One invoice line as a JSON-safe dict (keys: ``LINE_COLUMNS``); ``days`` is a list of ISO dates."""

INVOICE_COLUMNS: Final = (
    "number",
    "kind",
    "regie_id",
    "family_id",
    "period_start",
    "period_end",
    "issued_on",
    "due_on",
    "direct_debit_on",
    "total",
    "remaining",
    "line_count",
)

LINE_COLUMNS: Final = (
    "invoice_number",
    "child_id",
    "prestation_id",
    "label",
    "reason",
    "days",
    "quantity",
    "minutes",
    "unit_price",
    "total",
    "regularises_invoice",
    "regularises_day",
    "explanation",
)


# The columns holding a decimal number, written with a comma for a French spreadsheet.
_DECIMAL_COLUMNS: Final = frozenset({"total", "remaining", "quantity", "unit_price"})


@attrs.frozen
class CsvDialect:
    """How a CSV file is written: its separator, its decimal mark, a byte-order mark, its line ends."""

    delimiter: str = attrs.field(default=";", validator=attrs.validators.in_((";", ",", "\t")))
    decimal_comma: bool = False
    bom: bool = False
    line_end: str = attrs.field(default="\n", validator=attrs.validators.in_(("\n", "\r\n")))

    def write(self, columns: Sequence[str], records: Iterable[Mapping[str, object]]) -> str:
        """The header ``columns`` then one row per record (a record's keys are the columns)."""
        out = io.StringIO()
        if self.bom:
            out.write("\ufeff")
        writer = csv.writer(out, delimiter=self.delimiter, lineterminator=self.line_end)
        writer.writerow(columns)
        comma = self.decimal_comma
        for record in records:
            writer.writerow(
                [
                    _cell(record[column]).replace(".", ",")
                    if comma and column in _DECIMAL_COLUMNS
                    else _cell(record[column])
                    for column in columns
                ]
            )
        return out.getvalue()


STANDARD: Final = CsvDialect()
"""For scripts: ``;``, a decimal point, no byte-order mark, ``\\n`` line ends (today's output)."""

EXCEL_FR: Final = CsvDialect(";", decimal_comma=True, bom=True, line_end="\r\n")
"""For a French Excel or LibreOffice: a UTF-8 byte-order mark, ``;``, decimal commas, CRLF."""


def _amount(money: Money) -> str:
    return str(money.amount)


def _decimal(value: Decimal) -> str:
    # Plain notation, never an exponent: Decimal("1E+1") is written "10".
    return format(value, "f")


def _day(day: dt.date | None) -> str | None:
    return None if day is None else day.isoformat()


class _Remaining:
    """What is left on each invoice, from allocations indexed once (a régie's year has thousands)."""

    def __init__(self, allocations: Iterable[Allocation]) -> None:
        self._touching: dict[str, list[Allocation]] = {}
        for allocation in allocations:
            self._touching.setdefault(allocation.invoice_number, []).append(allocation)
            if allocation.source != allocation.invoice_number:
                self._touching.setdefault(allocation.source, []).append(allocation)

    def of(self, invoice: Invoice) -> Money:
        return remaining(invoice, self._touching.get(invoice.number, ()))


def _record(invoice: Invoice, left: Money) -> InvoiceRecord:
    return {
        "number": invoice.number,
        "kind": invoice.kind.value,
        "regie_id": invoice.regie_id,
        "family_id": invoice.family_id,
        "period_start": invoice.period.start.isoformat(),
        "period_end": invoice.period.end.isoformat(),
        "issued_on": invoice.issued_on.isoformat(),
        "due_on": invoice.due_on.isoformat(),
        "direct_debit_on": _day(invoice.direct_debit_on),
        "total": _amount(invoice.total),
        "remaining": _amount(left),
        "line_count": len(invoice.lines),
    }


def invoice_record(invoice: Invoice, allocations: Iterable[Allocation] = ()) -> InvoiceRecord:
    """``invoice`` as a flat JSON-safe dict, keys in ``INVOICE_COLUMNS`` order."""
    return _record(invoice, _Remaining(allocations).of(invoice))


def line_record(invoice: Invoice, line: InvoiceLine) -> LineRecord:
    """One line of ``invoice`` as a JSON-safe dict, keys in ``LINE_COLUMNS`` order."""
    regularised = line.regularises
    return {
        "invoice_number": invoice.number,
        "child_id": line.child_id or None,
        "prestation_id": line.prestation_id or None,
        "label": line.label,
        "reason": line.reason,
        "days": [day.isoformat() for day in line.days],
        "quantity": _decimal(line.quantity),
        "minutes": line.minutes,
        "unit_price": _decimal(line.unit_price),
        "total": _amount(line.total),
        "regularises_invoice": None if regularised is None else regularised[0],
        "regularises_day": None if regularised is None else regularised[1].isoformat(),
        "explanation": line.explanation or None,
    }


def invoice_json(invoice: Invoice, allocations: Iterable[Allocation] = ()) -> dict[str, object]:
    """``invoice_record`` with its lines under ``"lines"``: ready for ``json.dumps``."""
    return {
        **invoice_record(invoice, allocations),
        "lines": [line_record(invoice, ln) for ln in invoice.lines],
    }


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return " ".join(str(item) for item in value)
    return str(value)


def _dialect(delimiter: str, dialect: CsvDialect | None) -> CsvDialect:
    return CsvDialect(delimiter) if dialect is None else dialect


def invoices_csv(
    invoices: Iterable[Invoice],
    allocations: Iterable[Allocation] = (),
    *,
    delimiter: str = ";",
    dialect: CsvDialect | None = None,
) -> str:
    """One CSV row per invoice (header ``INVOICE_COLUMNS``), ``;``-separated unless told otherwise.

    ``dialect`` (``EXCEL_FR`` for a French spreadsheet) replaces ``delimiter`` when given.
    """
    left = _Remaining(allocations)
    records = (_record(invoice, left.of(invoice)) for invoice in invoices)
    return _dialect(delimiter, dialect).write(INVOICE_COLUMNS, records)


def lines_csv(invoices: Iterable[Invoice], *, delimiter: str = ";", dialect: CsvDialect | None = None) -> str:
    """One CSV row per invoice line (header ``LINE_COLUMNS``); a line's ISO days are space-separated.

    ``dialect`` (``EXCEL_FR`` for a French spreadsheet) replaces ``delimiter`` when given.
    """
    records = (line_record(invoice, line) for invoice in invoices for line in invoice.lines)
    return _dialect(delimiter, dialect).write(LINE_COLUMNS, records)
