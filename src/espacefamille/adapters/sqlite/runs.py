"""The month-end runs repository on SQLite: families' records read in bulk, carried balances, corrections."""

from __future__ import annotations

import datetime as dt
import itertools
import operator
from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING

from espacefamille.adapters._sql import (
    _BILLED,
    _BOOKING_STATUS,
    _CARRIED,
    _CHILD_COLUMNS_OF_C,
    _FAMILY,
    _LINE_COLUMNS,
    _invoice_lines,
    _line_rows,
    _new_booked_days,
    _of,
)
from espacefamille.adapters.sqlite.codecs import (
    _ABSENCE_COLUMNS,
    _ENCODING,
    _FACT_COLUMNS,
    _LINE_DAYS_TEXT,
    _day,
    _iso_day,
    _line_days,
    _optional_day,
    _runs_query,
)
from espacefamille.adapters.sqlite.schema import _BATCH, _marks, _scalar
from espacefamille.billing.documents import (
    Invoice,
)
from espacefamille.billing.invoicing import CarriedBalance
from espacefamille.calendar.periods import DateRange
from espacefamille.model import (
    BookedDays,
    Child,
    Family,
)
from espacefamille.ports import FamilyRecords, check_carried, with_children_named

if TYPE_CHECKING:
    from espacefamille.adapters.sqlite.store import SqliteUnitOfWork


class _SqliteMonthEndRuns:
    """MonthEndRuns of a ``SqliteUnitOfWork`` (see ``espacefamille.ports.MonthEndRuns``)."""

    def __init__(self, uow: SqliteUnitOfWork) -> None:
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
        500): one query per table for the batch instead of one per family (what makes month-end billing
        from SQLite fast)."""
        size = min(batch or _BATCH, _BATCH)
        families: list[Family] = []
        for family in self._uow.families._families_after(after or ""):
            families.append(family)
            if len(families) == size:
                yield from self._records(families, period, documents_from)
                families = []
        if families:
            yield from self._records(families, period, documents_from)

    def _records(
        self, batch: list[Family], period: DateRange, documents_from: dt.date | None
    ) -> Iterator[FamilyRecords]:
        # The batch holds consecutive families in id order: a row of one of them is one whose family id
        # lies between the first and the last. The dated rows are read family by family (ids), so that
        # SQLite seeks to the period in each family's rows instead of reading all their months.
        self._uow._sync()
        first, last = batch[0].id, batch[-1].id
        ids = [family.id for family in batch]
        start, end = period.start.isoformat(), period.end.isoformat()
        one_month = start[:7] == end[:7]
        db = self._uow._db
        children: dict[str, list[Child]] = {}
        rows = db.execute(
            f"SELECT l.family_id, {_CHILD_COLUMNS_OF_C} "
            "FROM child_families l JOIN children c ON c.id = l.child_id "
            "WHERE l.family_id BETWEEN ? AND ? ORDER BY l.family_id, c.id",
            (first, last),
        ).fetchall()
        for child, (family_id, *_) in zip(
            self._uow.families._children([row[1:] for row in rows]), rows, strict=True
        ):
            children.setdefault(family_id, []).append(child)
        # The month's booking-days come grouped by SQLite into runs (child × prestation × status ×
        # surcharge): a few hundred thousand rows for a city instead of four million.
        runs: dict[str, list[BookedDays]] = {}
        day = {day.isoformat(): day for day in period}.__getitem__  # the query keeps to the period
        status = _BOOKING_STATUS
        new = _new_booked_days
        dated = [*ids, start, end]
        for family_id, child_id, prestation_id, state, surcharge, days in db.execute(
            _runs_query(len(ids), one_month), [*dated, start[:7]] if one_month else dated
        ):
            dates = tuple(map(day, sorted(days.split(","))))
            run = new(child_id, prestation_id, status[state], dates, surcharge)
            found = runs.get(family_id)
            if found is None:
                runs[family_id] = [run]
            else:
                found.append(run)
        facts = {
            family_id: self._uow.attendance._attendance((row[1:] for row in group), day)
            for family_id, group in itertools.groupby(
                db.execute(
                    f"SELECT family_id, {_FACT_COLUMNS} FROM attendance "
                    f"WHERE family_id IN ({_marks(len(ids))}) AND day BETWEEN ? AND ? "
                    "ORDER BY family_id, child_id, prestation_id, day",
                    dated,
                ),
                key=operator.itemgetter(0),
            )
        }
        absences = {
            family_id: self._uow.attendance._absences(row[1:] for row in group)
            for family_id, group in itertools.groupby(
                db.execute(
                    f"SELECT family_id, {_ABSENCE_COLUMNS} FROM absences "
                    "WHERE family_id BETWEEN ? AND ? ORDER BY family_id, child_id, start_day, end_day",
                    (first, last),
                ),
                key=operator.itemgetter(0),
            )
        }
        invoices: dict[str, list[Invoice]] = {}
        since = (documents_from or dt.date.min).isoformat()
        for invoice in self._uow.documents._invoices(
            "family_id BETWEEN ? AND ? AND (period_end >= ? OR kind = 'credit_note')", (first, last, since)
        ):
            invoices.setdefault(invoice.family_id, []).append(invoice)
        for family in batch:
            family_id = family.id
            bookings, attendance = runs.get(family_id, ()), facts.get(family_id, ())
            yield FamilyRecords(
                family,
                with_children_named(self._uow, children.get(family_id, ()), bookings, attendance),
                bookings,
                attendance,
                absences.get(family_id, ()),
                invoices.get(family_id, ()),
            )

    def carried(self, regie_id: str, before: dt.date | None = None) -> Mapping[str, CarriedBalance]:
        self._uow._sync()
        self._uow._seen(_CARRIED, regie_id)
        limit = (before or dt.date.max).isoformat()
        # Each family's latest run before ``before``: the row whose period starts last.
        latest = """SELECT regie_id, family_id, max(period_start) AS period_start FROM carried_balances
            WHERE regie_id = ? AND period_start < ? GROUP BY family_id"""
        found = [
            family_id
            for family_id, carries in self._uow._db.execute(
                f"SELECT b.family_id, b.carries FROM ({latest}) l JOIN carried_balances b "
                "USING (regie_id, family_id, period_start) ORDER BY b.family_id",
                (regie_id, limit),
            )
            if carries
        ]
        lines = _invoice_lines(
            self._uow._db.execute(
                f"SELECT c.family_id, {_of('c', _LINE_COLUMNS)} "
                f"FROM ({latest}) l JOIN carried_lines c USING (regie_id, family_id, period_start) "
                "ORDER BY c.family_id, c.position",
                (regie_id, limit),
            ),
            _ENCODING,
            _line_days,
        )
        return {
            family_id: CarriedBalance(family_id, regie_id, lines.get(family_id, ())) for family_id in found
        }

    def save_carried(
        self, regie_id: str, period: DateRange, balances: Mapping[str, CarriedBalance | None]
    ) -> None:
        """Replace what the run of ``period`` recorded for the families named (``None``: nothing carried)."""
        checked = sorted(check_carried(regie_id, balances).items())
        start = period.start.isoformat()

        def apply() -> None:
            self._uow._mark(_CARRIED, regie_id)
            for family_id, balance in checked:
                key = (regie_id, family_id, start)
                self._uow._db.execute(
                    "DELETE FROM carried_lines WHERE regie_id = ? AND family_id = ? AND period_start = ?", key
                )
                self._uow._db.execute(
                    "DELETE FROM carried_balances WHERE regie_id = ? AND family_id = ? AND period_start = ?",
                    key,
                )
                self._uow._db.execute(
                    "INSERT INTO carried_balances (regie_id, family_id, period_start, period_end, carries) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (*key, period.end.isoformat(), balance is not None),
                )
                if balance is not None:
                    self._uow._db.executemany(
                        "INSERT INTO carried_lines (regie_id, family_id, period_start, position, "
                        f"{_LINE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        _line_rows(((key, balance.lines),), _ENCODING, _LINE_DAYS_TEXT.__getitem__),
                    )

        self._uow._write(apply)

    def billed_through(self, regie_id: str) -> dt.date | None:
        self._uow._sync()
        self._uow._seen(_BILLED, regie_id)
        return _optional_day(
            _scalar(self._uow._db, "SELECT day FROM billed_through WHERE regie_id = ?", (regie_id,))
        )

    def save_billed_through(self, regie_id: str, day: dt.date) -> None:
        text = _iso_day(day, "billed through")

        def apply() -> None:
            self._uow._mark(_BILLED, regie_id)
            self._uow._db.execute(
                "INSERT OR REPLACE INTO billed_through (regie_id, day) VALUES (?, ?)", (regie_id, text)
            )

        self._uow._write(apply)

    def changed_days(self, regie_id: str) -> Mapping[str, tuple[dt.date, ...]]:
        self._uow._sync()
        found: dict[str, list[dt.date]] = {}
        for family_id, day in self._uow._db.execute(
            "SELECT family_id, day FROM changed_days WHERE regie_id = ? ORDER BY family_id, day", (regie_id,)
        ):
            found.setdefault(family_id, []).append(_day(day))
        return {family_id: tuple(days) for family_id, days in found.items()}

    def mark_changed(self, regie_id: str, family_id: str, days: Iterable[dt.date]) -> None:
        rows = [(regie_id, family_id, _iso_day(day, "a changed day")) for day in days]

        def apply() -> None:
            self._uow._mark(_FAMILY, family_id)
            self._uow._db.executemany(
                "INSERT OR IGNORE INTO changed_days (regie_id, family_id, day) VALUES (?, ?, ?)", rows
            )

        self._uow._write(apply)

    def clear_changed(self, regie_id: str, family_id: str, days: Iterable[dt.date]) -> None:
        rows = [(regie_id, family_id, _iso_day(day, "a billed day")) for day in days]

        def apply() -> None:
            self._uow._mark(_FAMILY, family_id)
            self._uow._db.executemany(
                "DELETE FROM changed_days WHERE regie_id = ? AND family_id = ? AND day = ?", rows
            )

        self._uow._write(apply)
