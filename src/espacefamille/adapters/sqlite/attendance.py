"""The attendance repository on SQLite: facts, absence declarations, closures."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from espacefamille.adapters import _sql
from espacefamille.adapters._sql import _ATTENDANCE_STATUS, _FAMILY, _new_fact
from espacefamille.adapters.sqlite.codecs import (
    _ABSENCE_COLUMNS,
    _ENCODING,
    _FACT_COLUMNS,
    _day,
    _instant,
    _optional_instant,
    _read_instant,
    _read_optional_instant,
)
from espacefamille.calendar.opening import Closure
from espacefamille.calendar.periods import DateRange
from espacefamille.rules.attendance import AbsenceDeclaration, AbsenceReason, AttendanceFact

if TYPE_CHECKING:
    from espacefamille.adapters.sqlite.store import SqliteUnitOfWork

#: The unique key of a fact and of an absence declaration: the row a save replaces, whichever household.
_FACT_KEY = ("child_id", "prestation_id", "day")
_ABSENCE_KEY = ("child_id", "start_day", "end_day")
#: Periods one read of the reasons recorded takes (each two parameters): far below SQLite's limit.
_SPANS_PER_READ = 200


class _SqliteAttendance:
    """Attendance of a ``SqliteUnitOfWork`` (see ``espacefamille.ports.Attendance``)."""

    def __init__(self, uow: SqliteUnitOfWork) -> None:
        self._uow = uow

    def of_family(self, family_id: str, period: DateRange) -> tuple[AttendanceFact, ...]:
        self._uow._sync()
        self._uow._seen(_FAMILY, family_id)
        return self._attendance(
            self._uow._db.execute(
                f"SELECT {_FACT_COLUMNS} FROM attendance "
                "WHERE family_id = ? AND day BETWEEN ? AND ? ORDER BY child_id, prestation_id, day",
                (family_id, period.start.isoformat(), period.end.isoformat()),
            )
        )

    @staticmethod
    def _attendance(
        rows: Iterable[Any], day: Callable[[str], dt.date] = dt.date.fromisoformat
    ) -> tuple[AttendanceFact, ...]:
        new = _new_fact
        status = _ATTENDANCE_STATUS
        return tuple(
            new(
                child_id,
                prestation_id,
                day(on),
                status[state],
                recorded_by,
                None if recorded_at is None else _read_instant(recorded_at),
                note,
                reason,
            )
            for child_id, prestation_id, on, state, recorded_by, recorded_at, note, reason in rows
        )

    def save(self, facts: Iterable[AttendanceFact], family_id: str) -> None:
        rows = [
            (
                family_id,
                fact.day.isoformat(),
                fact.child_id,
                fact.prestation_id,
                fact.status.value,
                fact.recorded_by,
                _optional_instant(fact.recorded_at),
                fact.note,
                fact.reason,
            )
            for fact in facts
        ]
        if not rows:
            return

        def apply() -> None:
            # A fact filed under another household leaves the one it had changed too.
            self._uow._mark(_FAMILY, family_id)
            self._uow._mark_previous_owners("attendance", _FACT_KEY, [(r[2], r[3], r[1]) for r in rows])
            self._uow._db.executemany(
                "INSERT OR REPLACE INTO attendance (family_id, day, child_id, prestation_id, status, "
                "recorded_by, recorded_at, note, reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )

        self._uow._write(apply)

    def reasons_recorded(self, prestation_ids: Iterable[str], periods: Iterable[DateRange]) -> frozenset[str]:
        prestations, spans = sorted(set(prestation_ids)), list(periods)
        if not prestations or not spans:
            return frozenset()
        self._uow._sync()
        found: set[str] = set()
        marks = ", ".join("?" * len(prestations))
        for start in range(0, len(spans), _SPANS_PER_READ):  # a month, and the few earlier days changed
            chunk = spans[start : start + _SPANS_PER_READ]
            days = " OR ".join(["day BETWEEN ? AND ?"] * len(chunk))
            bounds = [bound.isoformat() for span in chunk for bound in (span.start, span.end)]
            rows = self._uow._db.execute(
                "SELECT DISTINCT reason FROM attendance WHERE reason IS NOT NULL "
                f"AND prestation_id IN ({marks}) AND ({days})",
                (*prestations, *bounds),
            )
            found.update(reason for (reason,) in rows)
        return frozenset(found)

    def absences_of(self, family_id: str) -> tuple[AbsenceDeclaration, ...]:
        self._uow._sync()
        self._uow._seen(_FAMILY, family_id)
        return self._absences(
            self._uow._db.execute(
                f"SELECT {_ABSENCE_COLUMNS} FROM absences "
                "WHERE family_id = ? ORDER BY child_id, start_day, end_day",
                (family_id,),
            )
        )

    @staticmethod
    def _absences(rows: Iterable[Any]) -> tuple[AbsenceDeclaration, ...]:
        return tuple(
            AbsenceDeclaration(
                child_id,
                DateRange(_day(start), _day(end)),
                AbsenceReason(reason),
                _read_instant(declared_at),
                _read_optional_instant(proof),
            )
            for child_id, start, end, reason, declared_at, proof in rows
        )

    def save_absence(self, declaration: AbsenceDeclaration, family_id: str) -> None:
        key = (declaration.child_id, declaration.days.start.isoformat(), declaration.days.end.isoformat())

        def apply() -> None:
            self._uow._mark(_FAMILY, family_id)
            self._uow._mark_previous_owners("absences", _ABSENCE_KEY, [key])
            self._uow._db.execute(
                "INSERT OR REPLACE INTO absences (child_id, start_day, end_day, family_id, reason, "
                "declared_at, proof_received_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    *key,
                    family_id,
                    declaration.reason.value,
                    _instant(declaration.declared_at),
                    _optional_instant(declaration.proof_received_at),
                ),
            )

        self._uow._write(apply)

    def closures(self) -> Mapping[str, tuple[Closure, ...]]:
        self._uow._sync()
        result: dict[str, list[Closure]] = {}
        for row in self._uow._db.execute(
            f"SELECT {_sql._CLOSURE_COLUMNS} FROM closures ORDER BY service_id, start_day, end_day, position"
        ):
            service_id, closure = _sql._closure(row, _ENCODING)
            result.setdefault(service_id, []).append(closure)
        return {service_id: tuple(items) for service_id, items in result.items()}

    def add_closure(self, service_id: str, closure: Closure) -> None:

        def apply() -> None:
            # Declaring the same closure twice keeps one.
            self._uow._db.execute(
                f"INSERT OR IGNORE INTO closures ({_sql._CLOSURE_COLUMNS}) VALUES (?, ?, ?, ?, ?)",
                _sql._closure_row(service_id, closure, _ENCODING),
            )

        self._uow._write(apply)
