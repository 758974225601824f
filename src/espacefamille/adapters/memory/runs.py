"""What month-end runs read and leave, in memory: families' records, carried balances, how far a régie
billed, the days changed since."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING

from espacefamille.adapters._sql import _check_day
from espacefamille.adapters.memory.tables import _family
from espacefamille.billing.invoicing import CarriedBalance
from espacefamille.calendar.periods import DateRange
from espacefamille.ports import FamilyRecords, check_carried, family_records_of

if TYPE_CHECKING:
    from espacefamille.adapters.memory.store import MemoryUnitOfWork


class _MemoryMonthEndRuns:
    """MonthEndRuns of a ``MemoryUnitOfWork`` (see ``espacefamille.ports.MonthEndRuns``)."""

    def __init__(self, uow: MemoryUnitOfWork) -> None:
        self._uow = uow

    def family_records(
        self,
        period: DateRange,
        after: str | None = None,
        documents_from: dt.date | None = None,
        *,
        batch: int | None = None,
    ) -> Iterator[FamilyRecords]:
        # Each family counts as read when its records are: a run's batch stops after its last family and
        # does not conflict with the families of the batches after it (whatever ``batch`` says).
        with self._uow.lock():
            families = self._uow.tables.families.values()
            ids = sorted(f.id for f in families if after is None or f.id > after)
        return family_records_of(
            self._uow, (self._uow.families.get(family_id) for family_id in ids), period, documents_from
        )

    def carried(self, regie_id: str, before: dt.date | None = None) -> Mapping[str, CarriedBalance]:
        latest: dict[str, tuple[dt.date, CarriedBalance | None]] = {}
        with self._uow.lock():
            view = self._uow.tables.carried
            for key in view:
                regie, family_id, start = key
                if regie != regie_id or (before is not None and start >= before):
                    continue
                if family_id not in latest or latest[family_id][0] < start:
                    latest[family_id] = (start, view.get(key))
            for family_id in latest:
                self._uow.see(_family(family_id))
        return {
            family_id: balance
            for family_id, (_start, balance) in sorted(latest.items())
            if balance is not None
        }

    def save_carried(
        self, regie_id: str, period: DateRange, balances: Mapping[str, CarriedBalance | None]
    ) -> None:
        balances = check_carried(regie_id, balances)
        with self._uow.lock():
            for family_id in balances:
                self._uow.touch(_family(family_id))
        for family_id, balance in balances.items():
            self._uow.tables.carried.put((regie_id, family_id, period.start), balance)

    def billed_through(self, regie_id: str) -> dt.date | None:
        with self._uow.lock():
            self._uow.see(("billed", regie_id))
            return self._uow.tables.billed_through.get(regie_id)

    def save_billed_through(self, regie_id: str, day: dt.date) -> None:
        _check_day(day, "billed through")
        with self._uow.lock():
            self._uow.touch(("billed", regie_id))
        self._uow.tables.billed_through.put(regie_id, day)

    def changed_days(self, regie_id: str) -> Mapping[str, tuple[dt.date, ...]]:
        found: dict[str, list[dt.date]] = {}
        with self._uow.lock():
            view = self._uow.tables.changed_days
            for key in sorted(k for k in view if k[0] == regie_id):
                if view.get(key):
                    found.setdefault(key[1], []).append(key[2])
        return {family_id: tuple(days) for family_id, days in found.items()}

    def mark_changed(self, regie_id: str, family_id: str, days: Iterable[dt.date]) -> None:
        self._mark(regie_id, family_id, days, "a changed day", waiting=True)

    def clear_changed(self, regie_id: str, family_id: str, days: Iterable[dt.date]) -> None:
        self._mark(regie_id, family_id, days, "a billed day", waiting=False)

    def _mark(
        self, regie_id: str, family_id: str, days: Iterable[dt.date], what: str, *, waiting: bool
    ) -> None:
        """The household's ``days`` awaiting the régie's next run (``waiting``), or no longer."""
        days = tuple(days)
        for day in days:
            _check_day(day, what)
        with self._uow.lock():
            self._uow.touch(_family(family_id))
        for day in days:
            self._uow.tables.changed_days.put((regie_id, family_id, day), waiting)
