"""The pre-flight of a month-end run: which days of a régie's month could not be priced, before billing.

``BackOffice.check_month_end`` answers with a ``MonthEndCheck`` (``billing.ready``, or
``billing.unpriced_days`` and the ``PricingProblem`` of each day: the family, the child, the prestation, the
date, the error's code and French sentence). Two ways to know:

* ``priceable_month`` — the cheap proof, from the tariffs alone: every prestation of the run is priced on
  every day to bill, whatever the family; then no family need be read.
* ``check_family`` — one family's month priced the way ``bill_family`` prices it (the same collection of
  days, the same line builder, ``billing.invoice_lines``), once per price situation, and nothing written;
  ``check_month`` over many families.

docs/invoicing.md ("Before the run: every day must have a price") says what the proof covers, and what
it does not.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from typing import Final

import attrs

from espacefamille.billing.corrections import _DayKey, _Invoiced
from espacefamille.billing.invoice_lines import (
    _INDEX,
    BillingContext,
    FamilyMonth,
    _collect,
    _LineBuilder,
    _with_forfaits,
    sibling_ranks,
)
from espacefamille.calendar.periods import DateRange
from espacefamille.errors import EspaceFamilleError
from espacefamille.text import format_date, month_name

__all__ = ["MonthEndCheck", "PricingProblem", "check_family", "check_month", "priceable_month"]


@attrs.frozen
class PricingProblem:
    """A day a month-end run cannot price: the family, the child, the prestation, the date, and why — the
    stable ``code`` of the error and its French sentence (``tariff.no_price_list``: no price list covers
    the date; ``tariff.no_price``: the list does not price the prestation; ``billing.no_hours``,
    ``billing.unknown_child``, ``tariff.no_attendance_effect``…)."""

    family_id: str
    child_id: str
    prestation_id: str
    day: dt.date
    code: str
    message_fr: str


def _problems(items: Iterable[PricingProblem]) -> tuple[PricingProblem, ...]:
    return tuple(items)


@attrs.frozen
class MonthEndCheck:
    """The pre-flight of a régie's month: the families read and every day that cannot be priced.

    ``ok`` when the run can bill every family; else ``code`` is ``billing.unpriced_days`` and
    ``message_fr`` says how many days cannot be priced and where (the first few, then how many more).
    ``families`` counts the families checked: read and priced one by one, or all of the commune's when the
    tariffs alone prove the month priceable (``priceable_month``) and none is read.
    """

    regie_id: str
    period: DateRange
    families: int
    problems: tuple[PricingProblem, ...] = attrs.field(converter=_problems, default=())

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def code(self) -> str:
        return "billing.ready" if self.ok else "billing.unpriced_days"

    @property
    def families_concerned(self) -> int:
        return len({problem.family_id for problem in self.problems})

    @property
    def message_fr(self) -> str:
        month = f"{month_name(self.period.start.month)} {self.period.start.year}"
        if self.ok:
            read = "1 famille vérifiée" if self.families == 1 else f"{self.families} familles vérifiées"
            return f"Tous les jours de {month} peuvent être facturés ({read})."
        count, families = len(self.problems), self.families_concerned
        days = "1 jour n'a pas de prix" if count == 1 else f"{count} jours n'ont pas de prix"
        where = "1 famille" if families == 1 else f"{families} familles"
        shown = [
            f"famille {p.family_id}, enfant {p.child_id}, « {p.prestation_id} », {format_date(p.day)} : "
            f"{p.message_fr}"
            for p in self.problems[:_SHOWN_PROBLEMS]
        ]
        more = count - len(shown)
        tail = f" ; et {more} autre{'s' if more > 1 else ''}" if more else ""
        return f"Facturation de {month} impossible : {days} ({where}). " + " ; ".join(shown) + tail


#: Problems a check's sentence names before it says how many more there are.
_SHOWN_PROBLEMS: Final = 5


def _problem(family_id: str, key: _DayKey, error: EspaceFamilleError) -> PricingProblem:
    return PricingProblem(family_id, key[0], key[1], key[2], error.code, error.message_fr)


def priceable_month(
    ctx: BillingContext, earlier: Iterable[dt.date] = (), *, reasons: Iterable[str] = ()
) -> bool:
    """Whether every family's month can be priced, proven from the tariffs alone: each prestation of the run
    is priced on every day of the period and of ``earlier`` (the earlier days some family has to
    regularise) whatever the family, its children's facts and the attendance recorded
    (``TariffBook.priceable``: every status and every reason a price list defines), a prestation priced by
    the hour has its hours, and each of ``reasons`` — the commune's reasons recorded on those days
    (``Attendance.reasons_recorded``) — is one a price list still defines. Then ``check_family`` finds no
    problem in any family, and a pre-flight need not read them; ``False`` is no problem, only no proof."""
    book = ctx.commune.tariffs
    if not book.reason_codes.issuperset(reasons):
        return False  # a reason removed from every price list since it was recorded
    days = {*ctx.period, *earlier}
    for prestation_id, prestation in ctx.prestations.items():
        if not book.priceable(prestation_id, days):
            return False
        # Priceable: every day has a list pricing it. By the hour, it needs hours (``billing.no_hours``).
        by_the_hour = prestation_id not in ctx.forfaits and not prestation.minutes
        if by_the_hour and any(book.tariff_on(prestation_id, day)[1].unit.is_timed for day in days):
            return False
    return True


def check_family(ctx: BillingContext, month: FamilyMonth) -> list[PricingProblem]:
    """Every day of the family's month (and every earlier day to regularise) that billing could not price.

    The pre-flight of a run: what ``bill_family`` would price, priced the same way — once per price
    situation, day by day only where a situation fails — and nothing written. Empty when the family can be
    billed.
    """
    family = month.family
    month, _ = _with_forfaits(ctx, month)
    invoiced = _Invoiced(month.issued, ctx.regie_id, family.id, ctx.prestations) if month.issued else None
    groups, regularise = _collect(ctx, month, invoiced)
    pieces: dict[tuple[str, str, int], set[dt.date]] = {}
    for (child_id, prestation_id, index, _), days in groups.items():
        pieces.setdefault((child_id, prestation_id, index), set()).update(days)
    for (child_id, prestation_id, day), (status_now, _) in regularise.items():
        if status_now is not None:
            pieces.setdefault((child_id, prestation_id, _INDEX[status_now]), set()).add(day)
    if not pieces:
        return []
    children = {child.id: child for child in month.children}
    builder = _LineBuilder(
        ctx, family, children, sibling_ranks(month.children), len(children), month.unbooked_earlier, invoiced
    )
    builder.bookings = month.bookings
    problems: list[PricingProblem] = []
    for (child_id, prestation_id, index), day_set in pieces.items():
        ordered = sorted(day_set)
        try:
            split = builder.split(ordered)
        except EspaceFamilleError:
            split = [[day] for day in ordered]  # no price list for some day: find which, one by one
        for piece in split:
            try:
                builder.locate(child_id, prestation_id, index, piece[0])
                continue
            except EspaceFamilleError:
                pass
            for day in piece:
                try:
                    builder.locate(child_id, prestation_id, index, day)
                except EspaceFamilleError as error:
                    problems.append(_problem(family.id, (child_id, prestation_id, day), error))
    problems.sort(key=lambda problem: (problem.child_id, problem.prestation_id, problem.day))
    return problems


def check_month(ctx: BillingContext, months: Iterable[FamilyMonth]) -> Iterator[PricingProblem]:
    """The pre-flight of a run over families (``check_family`` for each), lazily: problems as they come."""
    for month in months:
        yield from check_family(ctx, month)
