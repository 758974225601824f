"""The month-end runs repository on PostgreSQL: families' records read in bulk, carried balances,
corrections."""

from __future__ import annotations

import datetime as dt
import functools
import itertools
import operator
from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Final

import attrs

from espacefamille.adapters._sql import (
    _BILLED,
    _BOOKING_STATUS,
    _CARRIED,
    _CHILD_COLUMNS,
    _FAMILY,
    _LINE_COLUMNS,
    _check_day,
    _invoice_lines,
    _line_rows,
    _new_booked_days,
    _of,
)
from espacefamille.adapters.postgres.codecs import _ABSENCE_COLUMNS, _ENCODING, _FACT_COLUMNS
from espacefamille.adapters.postgres.schema import _BATCH
from espacefamille.billing.documents import Invoice
from espacefamille.billing.invoicing import CarriedBalance
from espacefamille.calendar.periods import DateRange
from espacefamille.model import BookedDays, Child, Family
from espacefamille.ports import FamilyRecords, check_carried, with_children_named
from espacefamille.rules.attendance import AbsenceDeclaration, AttendanceFact

if TYPE_CHECKING:
    from espacefamille.adapters.postgres.store import PostgresUnitOfWork

# The booking-days of a batch of families in a period, grouped by the server into runs of child ×
# prestation × status × surcharge code (no code first, as ``model.booked_days`` orders them). The days of a
# run are sorted by the caller: ordering them in the aggregate made the server sort the batch's rows by one
# more key (about 25 ms of 65 ms a batch of 500 households).
_RUNS: Final = (
    "SELECT family_id, child_id, prestation_id, status, surcharge_code, array_agg(day) "
    "FROM bookings WHERE collectivite_id = %s AND family_id = ANY(%b) AND day BETWEEN %s AND %s "
    "GROUP BY family_id, child_id, prestation_id, status, surcharge_code "
    "ORDER BY family_id, child_id, prestation_id, status, coalesce(surcharge_code, '')"
)
# What marking days changed or billed writes (see PostgresUnitOfWork._sync): a run clears a household's
# days as it bills it, and its next household's reads need not write them first.
_CHANGED_TABLES: Final = frozenset({"changed_days"})
# Each family's latest run of the régie before a day: the balance a run starts from.
_LATEST: Final = (
    "SELECT DISTINCT ON (family_id) family_id, period_start, carries FROM carried_balances "
    "WHERE collectivite_id = %s AND regie_id = %s AND period_start < %s ORDER BY family_id, period_start DESC"
)


@attrs.frozen
class _Batch:
    """A batch of households and what month-end billing reads of them, as read by one unit of work (the
    versions of the households it read with them)."""

    families: list[Family]
    versions: dict[tuple[str, str], int]
    children: dict[str, list[Child]]
    runs: dict[str, list[BookedDays]]
    facts: dict[str, tuple[AttendanceFact, ...]]
    absences: dict[str, tuple[AbsenceDeclaration, ...]]
    invoices: dict[str, list[Invoice]]

    def records(self, uow: PostgresUnitOfWork) -> Iterator[FamilyRecords]:
        """The households' records, for the unit of work that bills them."""
        uow._batch_families = frozenset(family.id for family in self.families)  # mandates.of_family
        uow._mandates_of.clear()
        for family in self.families:
            family_id = family.id
            bookings, attendance = self.runs.get(family_id, ()), self.facts.get(family_id, ())
            yield FamilyRecords(
                family,
                with_children_named(uow, self.children.get(family_id, ()), bookings, attendance),
                bookings,
                attendance,
                self.absences.get(family_id, ()),
                self.invoices.get(family_id, ()),
            )


def _read_batch(
    uow: PostgresUnitOfWork, period: DateRange, after: str, documents_from: dt.date | None, size: int
) -> _Batch:
    """The ``size`` households after ``after`` with their records of ``period`` (see ``family_records``)."""
    uow._sync()
    families = list(itertools.islice(uow.families._families_after(after, size), size))
    c = uow._c
    ids = [family.id for family in families]
    versions = {(_FAMILY, family_id): uow._read[(_FAMILY, family_id)] for family_id in ids}
    children: dict[str, list[Child]] = {}
    columns = ", ".join("c." + column.strip() for column in _CHILD_COLUMNS.split(","))
    rows = uow._rows(
        f"SELECT l.family_id, {columns} FROM child_families l JOIN children c "
        "ON c.collectivite_id = l.collectivite_id AND c.id = l.child_id "
        "WHERE l.collectivite_id = %s AND l.family_id = ANY(%b) ORDER BY l.family_id, c.id",
        (c, ids),
    )
    for child, (family_id, *_) in zip(uow.families._children([row[1:] for row in rows]), rows, strict=True):
        children.setdefault(family_id, []).append(child)
    runs: dict[str, list[BookedDays]] = {}
    status, new = _BOOKING_STATUS, _new_booked_days
    for family_id, child_id, prestation_id, state, surcharge, days in uow._rows(
        _RUNS, (c, ids, period.start, period.end)
    ):
        runs.setdefault(family_id, []).append(
            new(child_id, prestation_id, status[state], tuple(sorted(days)), surcharge)
        )
    facts = {
        family_id: uow.attendance._attendance(row[1:] for row in group)
        for family_id, group in itertools.groupby(
            uow._rows(
                f"SELECT family_id, {_FACT_COLUMNS} FROM attendance WHERE collectivite_id = %s "
                "AND family_id = ANY(%b) AND day BETWEEN %s AND %s "
                "ORDER BY family_id, child_id, prestation_id, day",
                (c, ids, period.start, period.end),
            ),
            key=operator.itemgetter(0),
        )
    }
    absences = {
        family_id: uow.attendance._absences(row[1:] for row in group)
        for family_id, group in itertools.groupby(
            uow._rows(
                f"SELECT family_id, {_ABSENCE_COLUMNS} FROM absences WHERE collectivite_id = %s "
                "AND family_id = ANY(%b) ORDER BY family_id, child_id, start_day, end_day",
                (c, ids),
            ),
            key=operator.itemgetter(0),
        )
    }
    invoices: dict[str, list[Invoice]] = {}
    for invoice in uow.documents._invoices(
        "family_id = ANY(%b) AND (period_end >= %s OR kind = 'credit_note')",
        (ids, documents_from or dt.date.min),
    ):
        invoices.setdefault(invoice.family_id, []).append(invoice)
    return _Batch(families, versions, children, runs, facts, absences, invoices)


class _PostgresMonthEndRuns:
    """MonthEndRuns of a ``PostgresUnitOfWork`` (see ``espacefamille.ports.MonthEndRuns``)."""

    def __init__(self, uow: PostgresUnitOfWork) -> None:
        self._uow = uow

    def family_records(
        self,
        period: DateRange,
        after: str | None = None,
        documents_from: dt.date | None = None,
        *,
        batch: int | None = None,
    ) -> Iterator[FamilyRecords]:
        """Every family with its month, read a batch of families at a time (the caller's ``batch``, at most
        500): one query per table for the batch instead of one per family, the booking-days grouped into
        runs by the server. Once a whole batch is read, the next one is read ahead on another connection of
        the pool for the caller's next unit of work (``read_ahead``)."""
        uow = self._uow
        size = min(batch or _BATCH, _BATCH)
        after = after or ""
        while True:
            key = (period, after, documents_from, size)
            chunk = uow._store._read_ahead_for(key) if not (uow._pending or uow._applied) else None
            if chunk is None:
                chunk = _read_batch(uow, period, after, documents_from, size)
            else:
                for family_key, version in chunk.versions.items():
                    uow._read.setdefault(family_key, version)
            if len(chunk.families) == size:
                last = chunk.families[-1].id
                read = functools.partial(
                    _read_batch, period=period, after=last, documents_from=documents_from, size=size
                )
                uow._store._read_ahead((period, last, documents_from, size), read)
            yield from chunk.records(uow)
            if len(chunk.families) < size:
                return
            after = chunk.families[-1].id

    def carried(self, regie_id: str, before: dt.date | None = None) -> Mapping[str, CarriedBalance]:
        self._uow._sync()
        self._uow._seen(_CARRIED, regie_id)
        parameters = (self._uow._c, regie_id, before or dt.date.max)
        found = [family_id for family_id, _, carries in self._uow._rows(f"{_LATEST}", parameters) if carries]
        lines = _invoice_lines(
            self._uow._rows(
                f"SELECT l.family_id, {_of('l', _LINE_COLUMNS)} "
                f"FROM ({_LATEST}) b JOIN carried_lines l ON l.collectivite_id = %s AND l.regie_id = %s "
                "AND l.family_id = b.family_id AND l.period_start = b.period_start "
                "WHERE b.carries ORDER BY l.family_id, l.position",
                (*parameters, self._uow._c, regie_id),
            ),
            _ENCODING,
            tuple,
        )
        return {
            family_id: CarriedBalance(family_id, regie_id, lines.get(family_id, ())) for family_id in found
        }

    def save_carried(
        self, regie_id: str, period: DateRange, balances: Mapping[str, CarriedBalance | None]
    ) -> None:
        """Replace what the run of ``period`` recorded for the families named (``None``: nothing carried)."""
        checked = sorted(check_carried(regie_id, balances).items())
        c = self._uow._c
        self._uow._mark(_CARRIED, regie_id)

        def apply() -> None:
            keys = [family_id for family_id, _ in checked]
            self._uow._run(
                "DELETE FROM carried_balances WHERE collectivite_id = %s AND regie_id = %s "
                "AND family_id = ANY(%b) AND period_start = %s",
                (c, regie_id, keys, period.start),
            )
            self._uow._many(
                "INSERT INTO carried_balances (collectivite_id, regie_id, family_id, period_start, "
                "period_end, "
                "carries) VALUES (%s, %s, %s, %s, %s, %s)",
                [
                    (c, regie_id, family_id, period.start, period.end, balance is not None)
                    for family_id, balance in checked
                ],
            )
            self._uow._many(
                "INSERT INTO carried_lines (collectivite_id, regie_id, family_id, period_start, position, "
                f"{_LINE_COLUMNS}) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                _line_rows(
                    (
                        ((c, regie_id, family_id, period.start), balance.lines)
                        for family_id, balance in checked
                        if balance is not None
                    ),
                    _ENCODING,
                    list,
                ),
            )

        self._uow._write(apply)

    def billed_through(self, regie_id: str) -> dt.date | None:
        self._uow._sync()
        self._uow._seen(_BILLED, regie_id)
        day: dt.date | None = self._uow._scalar(
            "SELECT day FROM billed_through WHERE collectivite_id = %s AND regie_id = %s",
            (self._uow._c, regie_id),
        )
        return day

    def save_billed_through(self, regie_id: str, day: dt.date) -> None:
        row = (self._uow._c, regie_id, _check_day(day, "billed through"))
        self._uow._mark(_BILLED, regie_id)

        def apply() -> None:
            self._uow._run(
                "INSERT INTO billed_through (collectivite_id, regie_id, day) VALUES (%s, %s, %s) "
                "ON CONFLICT (collectivite_id, regie_id) DO UPDATE SET day = excluded.day",
                row,
            )

        self._uow._write(apply)

    def changed_days(self, regie_id: str) -> Mapping[str, tuple[dt.date, ...]]:
        self._uow._sync()
        found: dict[str, list[dt.date]] = {}
        for family_id, day in self._uow._rows(
            "SELECT family_id, day FROM changed_days WHERE collectivite_id = %s AND regie_id = %s "
            "ORDER BY family_id, day",
            (self._uow._c, regie_id),
        ):
            found.setdefault(family_id, []).append(day)
        return {family_id: tuple(days) for family_id, days in found.items()}

    def _days(
        self, regie_id: str, family_id: str, days: Iterable[dt.date], what: str
    ) -> list[tuple[object, ...]]:
        return [(self._uow._c, regie_id, family_id, _check_day(day, what)) for day in days]

    def mark_changed(self, regie_id: str, family_id: str, days: Iterable[dt.date]) -> None:
        rows = self._days(regie_id, family_id, days, "a changed day")
        self._uow._mark(_FAMILY, family_id)

        def apply() -> None:
            self._uow._many(
                "INSERT INTO changed_days (collectivite_id, regie_id, family_id, day) "
                "VALUES (%s, %s, %s, %s) "
                "ON CONFLICT DO NOTHING",
                rows,
            )

        self._uow._write(apply, _CHANGED_TABLES)

    def clear_changed(self, regie_id: str, family_id: str, days: Iterable[dt.date]) -> None:
        rows = self._days(regie_id, family_id, days, "a billed day")
        self._uow._mark(_FAMILY, family_id)

        def apply() -> None:
            self._uow._many(
                "DELETE FROM changed_days WHERE collectivite_id = %s AND regie_id = %s AND family_id = %s "
                "AND day = %s",
                rows,
            )

        self._uow._write(apply, _CHANGED_TABLES)
