"""The billing documents repository on PostgreSQL: invoices and their lines, payments, allocations,
numbering."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Final

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
from espacefamille.adapters.postgres.codecs import _ENCODING, _instant, _read_instant, _read_text, _text
from espacefamille.billing.documents import (
    Allocation,
    Invoice,
    Numbering,
    Payment,
    PaymentMethod,
    Series,
)
from espacefamille.money import Money

if TYPE_CHECKING:
    from espacefamille.adapters.postgres.store import PostgresUnitOfWork

# The tables a batch of invoices writes (see PostgresUnitOfWork._sync).
_INVOICE_TABLES: Final = frozenset({"invoices", "invoice_lines"})
_NO_TABLES: Final[frozenset[str]] = frozenset()


class _PostgresDocuments:
    """Documents of a ``PostgresUnitOfWork`` (see ``espacefamille.ports.Documents``)."""

    def __init__(self, uow: PostgresUnitOfWork) -> None:
        self._uow = uow

    def _invoices(self, where: str, parameters: Sequence[object]) -> tuple[Invoice, ...]:
        rows = self._uow._rows(
            f"SELECT {_INVOICE_COLUMNS} FROM invoices WHERE collectivite_id = %s AND {where} ORDER BY number",
            (self._uow._c, *parameters),
        )
        if not rows:
            return ()
        lines = _invoice_lines(
            self._uow._rows(
                f"SELECT invoice_number, {_LINE_COLUMNS} FROM invoice_lines "
                "WHERE collectivite_id = %s AND invoice_number = ANY(%s) ORDER BY invoice_number, position",
                (self._uow._c, [row[0] for row in rows]),
            ),
            _ENCODING,
            tuple,
        )
        return _invoices(rows, lines, _ENCODING)

    def invoices_of(self, family_id: str) -> tuple[Invoice, ...]:
        # Read for some households a month-end run bills (their whole history): the invoices waiting to be
        # written are written first only if one is the household's, the others (and the messages) wait.
        uow = self._uow
        own = any(invoice.family_id == family_id for invoice in uow._invoice_batch)
        uow._sync(_INVOICE_TABLES if own else _NO_TABLES)
        self._uow._seen(_FAMILY, family_id)
        return self._invoices("family_id = %s", (family_id,))

    def invoices_of_families(self, family_ids: Iterable[str]) -> Mapping[str, tuple[Invoice, ...]]:
        uow = self._uow
        wanted = list(dict.fromkeys(family_ids))
        waiting = {invoice.family_id for invoice in uow._invoice_batch}
        uow._sync(_INVOICE_TABLES if waiting.intersection(wanted) else _NO_TABLES)
        found: dict[str, list[Invoice]] = {family_id: [] for family_id in wanted}
        uow._seen_all(_FAMILY, wanted)
        if wanted:
            for invoice in self._invoices("family_id = ANY(%b)", (wanted,)):
                found[invoice.family_id].append(invoice)
        return {family_id: tuple(invoices) for family_id, invoices in found.items()}

    def invoice(self, number: str) -> Invoice:
        self._uow._sync()
        found = self._invoices("number = %s", (number,))
        if not found:
            raise _not_found("invoice", number, "facture")
        self._uow._seen(_FAMILY, found[0].family_id)
        return found[0]

    def save_invoice(self, invoice: Invoice) -> None:
        # A known number (waiting here, or in the database) is refused unless it is the same invoice; the
        # insert of the commit checks again, under the locks, for one another unit of work slipped in.
        earlier = self._uow._pending_invoices.get(invoice.number)
        if earlier is None and self._may_be_stored(invoice.number):
            found = self._invoices("number = %s", (invoice.number,))
            earlier = found[0] if found else None
        if earlier is not None:
            _check_known_invoice(earlier, invoice, self._uow._raise_if_changed)
            return
        self._uow._pending_invoices[invoice.number] = invoice
        self._uow._mark(_FAMILY, invoice.family_id)
        # Invoices waiting together are written together: one statement for a batch's invoices, one COPY
        # for their lines (a month-end batch writes hundreds of invoices and thousands of lines).
        if not self._uow._invoice_batch:
            self._uow._write(self._insert_invoices, _INVOICE_TABLES)
        self._uow._invoice_batch.append(invoice)

    def _may_be_stored(self, number: str) -> bool:
        """Whether the database may hold an invoice numbered ``number``. A unit of work that read the
        numbering (a month-end batch) looks once per prefix (the number without its trailing digits) for
        the highest number stored with it, instead of once per invoice: a higher one is new. Another unit
        of work numbering since has changed the numbering, which this one's commit then reports as the
        conflict it is (and the insert of the commit checks every number again)."""
        uow = self._uow
        if (_NUMBERING, "") not in uow._read:
            return True
        prefix = number.rstrip("0123456789")
        if prefix and not prefix[-1].isascii():
            return True
        if prefix not in uow._highest_numbers:
            # The numbers from the prefix up to the next character after its last: those it begins.
            following = prefix[:-1] + chr(ord(prefix[-1]) + 1) if prefix else "\U0010ffff"
            uow._highest_numbers[prefix] = uow._scalar(
                "SELECT max(number) FROM invoices WHERE collectivite_id = %s AND number >= %s "
                "AND number < %s",
                (uow._c, prefix, following),
            )
        highest = uow._highest_numbers[prefix]
        return highest is not None and number <= highest

    def _insert_invoices(self) -> None:
        batch, self._uow._invoice_batch = self._uow._invoice_batch, []
        c = self._uow._c
        columns = [
            list(column)
            for column in zip(
                *(
                    (
                        i.number,
                        i.regie_id,
                        i.family_id,
                        i.kind.value,
                        i.period.start,
                        i.period.end,
                        i.issued_on,
                        i.due_on,
                        i.direct_debit_on,
                    )
                    for i in batch
                ),
                strict=True,
            )
        ]
        inserted = {
            row[0]
            for row in self._uow._rows(
                f"INSERT INTO invoices (collectivite_id, {_INVOICE_COLUMNS}) SELECT %s, * FROM unnest("
                "%b::text[], %b::text[], %b::text[], %b::text[], %b::date[], %b::date[], %b::date[], "
                "%b::date[], %b::date[]) ON CONFLICT DO NOTHING RETURNING number",
                (c, *columns),
            )
        }
        for invoice in batch:
            if invoice.number not in inserted:  # someone else's, committed since this one looked
                earlier = self._invoices("number = %s", (invoice.number,))[0]
                _check_known_invoice(earlier, invoice, self._uow._raise_if_changed)
        self._uow._copy(
            f"COPY invoice_lines (collectivite_id, invoice_number, position, {_LINE_COLUMNS}) FROM STDIN",
            _line_rows(
                (((c, invoice.number), invoice.lines) for invoice in batch if invoice.number in inserted),
                _ENCODING,
                _date_array,
            ),
        )

    def payments_of(self, family_id: str) -> tuple[Payment, ...]:
        self._uow._sync()
        self._uow._seen(_FAMILY, family_id)
        rows = self._uow._rows(
            "SELECT number, regie_id, family_id, amount_cents, received_at, received_zone, method, reference "
            "FROM payments WHERE collectivite_id = %s AND family_id = %s ORDER BY number",
            (self._uow._c, family_id),
        )
        return tuple(
            Payment(
                number,
                regie_id,
                family,
                Money.from_cents(cents),
                _read_instant(received_at, zone),
                PaymentMethod(method),
                _read_text(reference),
            )
            for number, regie_id, family, cents, received_at, zone, method, reference in rows
        )

    def save_payment(self, payment: Payment) -> None:
        c = self._uow._c
        self._uow._mark(_FAMILY, payment.family_id)

        def apply() -> None:
            self._uow._mark_owners("payments", "number", payment.number, payment.family_id)
            self._uow._run(
                "INSERT INTO payments (collectivite_id, number, regie_id, family_id, amount_cents, "
                "received_at, "
                "received_zone, method, reference) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) "
                "ON CONFLICT (collectivite_id, number) DO UPDATE SET regie_id = excluded.regie_id, "
                "family_id = excluded.family_id, amount_cents = excluded.amount_cents, "
                "received_at = excluded.received_at, received_zone = excluded.received_zone, "
                "method = excluded.method, reference = excluded.reference",
                (
                    c,
                    payment.number,
                    payment.regie_id,
                    payment.family_id,
                    payment.amount.cents,
                    *_instant(payment.received_at),
                    payment.method.value,
                    _text(payment.reference),
                ),
            )

        self._uow._write(apply)

    def allocations_of(self, family_id: str) -> tuple[Allocation, ...]:
        self._uow._sync()
        self._uow._seen(_FAMILY, family_id)
        rows = self._uow._rows(
            "SELECT source, invoice_number, amount_cents FROM allocations "
            "WHERE collectivite_id = %s AND family_id = %s ORDER BY source, invoice_number",
            (self._uow._c, family_id),
        )
        return tuple(Allocation(source, invoice, Money.from_cents(cents)) for source, invoice, cents in rows)

    def save_allocations(self, allocations: Iterable[Allocation], family_id: str) -> None:
        c = self._uow._c
        rows = [(c, a.source, a.invoice_number, family_id, a.amount.cents) for a in allocations]
        if not rows:
            return
        self._uow._mark(_FAMILY, family_id)

        def apply() -> None:
            # An allocation saved under another household leaves the one it had changed too.
            self._uow._mark_previous_owners(
                "allocations", (("source", "text"), ("invoice_number", "text")), [row[1:3] for row in rows]
            )
            self._uow._many(
                "INSERT INTO allocations (collectivite_id, source, invoice_number, family_id, amount_cents) "
                "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (collectivite_id, source, invoice_number) "
                "DO UPDATE SET family_id = excluded.family_id, amount_cents = excluded.amount_cents",
                rows,
            )

        self._uow._write(apply)

    def numbering(self) -> Numbering:
        self._uow._sync()
        self._uow._seen(_NUMBERING, "")
        rows = self._uow._rows(
            "SELECT regie_id, year, series, last FROM numbering WHERE collectivite_id = %s", (self._uow._c,)
        )
        return Numbering({(regie_id, year, Series(series)): last for regie_id, year, series, last in rows})

    def save_numbering(self, numbering: Numbering) -> None:
        # Numbers are gap-free and unique: two runs numbering at once must not both commit.
        c = self._uow._c
        self._uow._mark(_NUMBERING, "")
        rows = [
            (c, regie_id, year, series.value, last)
            for (regie_id, year, series), last in numbering.last.items()
        ]

        def apply() -> None:
            self._uow._run("DELETE FROM numbering WHERE collectivite_id = %s", (c,))
            self._uow._many(
                "INSERT INTO numbering (collectivite_id, regie_id, year, series, last) "
                "VALUES (%s, %s, %s, %s, %s)",
                rows,
            )

        self._uow._write(apply)


@functools.lru_cache(maxsize=4096)
def _date_array(days: tuple[dt.date, ...]) -> str:
    """The text of a ``date[]`` (ISO dates, read as such whatever the server's DateStyle): a month's lines
    share few sets of days, and psycopg's array dumper costs some 20 µs a line."""
    return "{" + ",".join(day.isoformat() for day in days) + "}"
