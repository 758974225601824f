"""The attendance repository on PostgreSQL: facts, absence declarations, closures."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from espacefamille.adapters import _sql
from espacefamille.adapters._sql import _ATTENDANCE_STATUS, _FAMILY, _new_fact
from espacefamille.adapters.postgres.codecs import (
    _ABSENCE_COLUMNS,
    _ENCODING,
    _FACT_COLUMNS,
    _instant,
    _optional_instant,
    _optional_text,
    _read_instant,
    _read_optional_instant,
    _read_optional_text,
    _read_text,
    _text,
)
from espacefamille.calendar.opening import Closure
from espacefamille.calendar.periods import DateRange
from espacefamille.rules.attendance import AbsenceDeclaration, AbsenceReason, AttendanceFact

if TYPE_CHECKING:
    from espacefamille.adapters.postgres.store import PostgresUnitOfWork

#: The unique key of a fact and of an absence declaration (names and types): the row a save replaces,
#: whichever household.
_FACT_KEY = (("child_id", "text"), ("prestation_id", "text"), ("day", "date"))
_ABSENCE_KEY = (("child_id", "text"), ("start_day", "date"), ("end_day", "date"))


class _PostgresAttendance:
    """Attendance of a ``PostgresUnitOfWork`` (see ``espacefamille.ports.Attendance``)."""

    def __init__(self, uow: PostgresUnitOfWork) -> None:
        self._uow = uow

    def of_family(self, family_id: str, period: DateRange) -> tuple[AttendanceFact, ...]:
        # Read for a household with days changed since billed: the writes of other tables wait.
        self._uow._sync(frozenset({"attendance"}))
        self._uow._seen(_FAMILY, family_id)
        return self._attendance(
            self._uow._rows(
                f"SELECT {_FACT_COLUMNS} FROM attendance WHERE collectivite_id = %s AND family_id = %s "
                "AND day BETWEEN %s AND %s ORDER BY child_id, prestation_id, day",
                (self._uow._c, family_id, period.start, period.end),
            )
        )

    @staticmethod
    def _attendance(rows: Iterable[Any]) -> tuple[AttendanceFact, ...]:
        new = _new_fact
        status = _ATTENDANCE_STATUS
        return tuple(
            new(
                child_id,
                prestation_id,
                day,
                status[state],
                _read_optional_text(recorded_by),
                _read_optional_instant(recorded_at, zone),
                _read_text(note),
                reason,
            )
            for child_id, prestation_id, day, state, recorded_by, recorded_at, zone, note, reason in rows
        )

    def save(self, facts: Iterable[AttendanceFact], family_id: str) -> None:
        c = self._uow._c
        rows = [
            (
                c,
                fact.child_id,
                fact.prestation_id,
                fact.day,
                family_id,
                fact.status.value,
                _optional_text(fact.recorded_by),
                *_optional_instant(fact.recorded_at),
                _text(fact.note),
                fact.reason,
            )
            for fact in facts
        ]
        if not rows:
            return
        self._uow._mark(_FAMILY, family_id)

        def apply() -> None:
            # A fact filed under another household leaves the one it had changed too.
            self._uow._mark_previous_owners("attendance", _FACT_KEY, [row[1:4] for row in rows])
            self._uow._many(
                "INSERT INTO attendance (collectivite_id, child_id, prestation_id, day, family_id, status, "
                "recorded_by, recorded_at, recorded_zone, note, reason) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
                "ON CONFLICT (collectivite_id, child_id, prestation_id, day) DO UPDATE SET "
                "family_id = excluded.family_id, status = excluded.status, "
                "recorded_by = excluded.recorded_by, "
                "recorded_at = excluded.recorded_at, recorded_zone = excluded.recorded_zone, "
                "note = excluded.note, reason = excluded.reason",
                rows,
            )

        self._uow._write(apply)

    def reasons_recorded(self, prestation_ids: Iterable[str], periods: Iterable[DateRange]) -> frozenset[str]:
        prestations, spans = sorted(set(prestation_ids)), list(periods)
        if not prestations or not spans:
            return frozenset()
        self._uow._sync(frozenset({"attendance"}))
        # The periods as two arrays of bounds: one statement, whatever their number.
        rows = self._uow._rows(
            "SELECT DISTINCT reason FROM attendance WHERE collectivite_id = %s AND reason IS NOT NULL "
            "AND prestation_id = ANY(%s) AND EXISTS (SELECT 1 FROM unnest(%s::date[], %s::date[]) "
            "AS span (first_day, last_day) WHERE day BETWEEN span.first_day AND span.last_day)",
            (self._uow._c, prestations, [span.start for span in spans], [span.end for span in spans]),
        )
        return frozenset(reason for (reason,) in rows)

    def absences_of(self, family_id: str) -> tuple[AbsenceDeclaration, ...]:
        self._uow._sync()
        self._uow._seen(_FAMILY, family_id)
        return self._absences(
            self._uow._rows(
                f"SELECT {_ABSENCE_COLUMNS} FROM absences WHERE collectivite_id = %s AND family_id = %s "
                "ORDER BY child_id, start_day, end_day",
                (self._uow._c, family_id),
            )
        )

    @staticmethod
    def _absences(rows: Iterable[Any]) -> tuple[AbsenceDeclaration, ...]:
        return tuple(
            AbsenceDeclaration(
                child_id,
                DateRange(start, end),
                AbsenceReason(reason),
                _read_instant(declared_at, declared_zone),
                _read_optional_instant(proof, proof_zone),
            )
            for child_id, start, end, reason, declared_at, declared_zone, proof, proof_zone in rows
        )

    def save_absence(self, declaration: AbsenceDeclaration, family_id: str) -> None:
        c = self._uow._c
        self._uow._mark(_FAMILY, family_id)
        row = (
            c,
            declaration.child_id,
            declaration.days.start,
            declaration.days.end,
            family_id,
            declaration.reason.value,
            *_instant(declaration.declared_at),
            *_optional_instant(declaration.proof_received_at),
        )

        def apply() -> None:
            self._uow._mark_previous_owners("absences", _ABSENCE_KEY, [row[1:4]])
            self._uow._run(
                "INSERT INTO absences (collectivite_id, child_id, start_day, end_day, family_id, reason, "
                "declared_at, declared_zone, proof_received_at, proof_zone) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
                "ON CONFLICT (collectivite_id, child_id, start_day, end_day) DO UPDATE SET "
                "family_id = excluded.family_id, reason = excluded.reason, "
                "declared_at = excluded.declared_at, "
                "declared_zone = excluded.declared_zone, proof_received_at = excluded.proof_received_at, "
                "proof_zone = excluded.proof_zone",
                row,
            )

        self._uow._write(apply)

    def closures(self) -> Mapping[str, tuple[Closure, ...]]:
        self._uow._sync()
        result: dict[str, list[Closure]] = {}
        for row in self._uow._rows(
            f"SELECT {_sql._CLOSURE_COLUMNS} FROM closures WHERE collectivite_id = %s "
            "ORDER BY service_id, start_day, end_day, position",
            (self._uow._c,),
        ):
            service_id, closure = _sql._closure(row, _ENCODING)
            result.setdefault(service_id, []).append(closure)
        return {service_id: tuple(items) for service_id, items in result.items()}

    def add_closure(self, service_id: str, closure: Closure) -> None:
        row = (self._uow._c, *_sql._closure_row(service_id, closure, _ENCODING))

        def apply() -> None:
            # Declaring the same closure twice keeps one.
            self._uow._run(
                f"INSERT INTO closures (collectivite_id, {_sql._CLOSURE_COLUMNS}) "
                "VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
                row,
            )

        self._uow._write(apply)
