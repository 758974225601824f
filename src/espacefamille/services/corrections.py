"""Corrections of days already billed: what the services remember so that the next month-end run regularises.

Month-end billing reads its month and, besides it, every earlier day whose facts changed after a run of the
régie billed it (``UnitOfWork.runs.changed_days``): an absence justified late, a status fixed by an agent, a
quotient corrected. The services that write such facts call ``note_corrections`` in the same unit of work
as the write, so a correction is remembered exactly when it is saved. A day older than the régie's
correction window (``Regie.correction_window_days``) is final: the write is refused
(``billing.correction_too_old``) and nothing is saved.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from espacefamille.calendar.periods import DateRange
from espacefamille.commune import Commune
from espacefamille.errors import InvalidInput
from espacefamille.model import Family
from espacefamille.ports import UnitOfWork
from espacefamille.text import format_date

__all__ = ["note_corrections", "note_quotient_change"]


def _regie_of(commune: Commune, prestation_id: str) -> str:
    return commune.service(commune.prestation(prestation_id).service_id).regie_id


def note_corrections(
    uow: UnitOfWork,
    commune: Commune,
    family_id: str,
    days: Iterable[tuple[str, dt.date]],
    now: dt.datetime,
) -> None:
    """Remember the (prestation id, day) pairs of a household that a write changes and a run of their
    régie already billed; refuse the write when one is older than the régie's correction window."""
    by_regie: dict[str, set[dt.date]] = {}
    for prestation_id, day in days:
        by_regie.setdefault(_regie_of(commune, prestation_id), set()).add(day)
    today = commune.calendar.today(now)
    for regie_id, changed in sorted(by_regie.items()):
        through = uow.runs.billed_through(regie_id)
        if through is None:
            continue
        billed = sorted(day for day in changed if day <= through)
        if not billed:
            continue
        window = commune.regie(regie_id).correction_window_days
        oldest = today - dt.timedelta(days=window)
        if billed[0] < oldest:
            raise InvalidInput(
                f"{billed[0]} was invoiced more than {window} days ago: its facts are final "
                f"(régie {regie_id!r} corrects days from {oldest})",
                message_fr=(
                    f"Le {format_date(billed[0])} a été facturé il y a plus de {window} jours : il ne peut "
                    f"plus être corrigé (les corrections sont possibles à partir du {format_date(oldest)})."
                ),
                code="billing.correction_too_old",
                details={"day": billed[0].isoformat(), "window_days": window, "regie_id": regie_id},
            )
        uow.runs.mark_changed(regie_id, family_id, billed)


def note_quotient_change(
    uow: UnitOfWork, commune: Commune, before: Family | None, after: Family, now: dt.datetime
) -> None:
    """A household saved again with other quotients: its days already billed (booked, or with attendance)
    on which the quotient in force may differ are corrections — from the first day the two lists of
    quotients differ on, within each régie's correction window (older days keep their price)."""
    if before is None or before.quotients == after.quotients:
        return
    old, new = set(before.quotients), set(after.quotients)
    first = min(q.valid_from for q in old ^ new)
    today = commune.calendar.today(now)
    for regie in commune.regies:
        through = uow.runs.billed_through(regie.id)
        if through is None or through < first:
            continue
        start = max(first, today - dt.timedelta(days=regie.correction_window_days))
        if start > through:
            continue
        prestations = {
            prestation.id
            for service in commune.services
            if service.regie_id == regie.id
            for prestation in service.prestations
        }
        span = DateRange(start, through)
        days = sorted(
            {b.day for b in uow.bookings.of_family(after.id, span) if b.prestation_id in prestations}
            | {f.day for f in uow.attendance.of_family(after.id, span) if f.prestation_id in prestations}
        )
        if days:
            uow.runs.mark_changed(regie.id, after.id, days)
