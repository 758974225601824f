"""Forfaits: a flat fee per enrolment — per month, per period, per school year — and mensualisation.

A prestation priced by forfait (``per`` in its price table, with ``unit = "block"``) is billed by month-end
runs per **enrolment** (``model.Enrolment``) of the child in the prestation's service, whatever the days
booked. Each fee is due on one **key day** — the first day of the month, period or school year inside the
enrolment — and billed as a line on that day, so a day already invoiced is never billed twice and a
changed enrolment is regularised like any other day:

* ``per = "month"``: the price once per month the child is enrolled in — a month started counts whole, unless
  the commune asks for ``prorata = true``: then a month the enrolment starts or ends in owes the price × the
  days of the month enrolled / the days of the month;
* ``per = "period"``: once per period of ``periods`` the enrolment overlaps (a holiday period, a trimester,
  as the commune writes them);
* ``per = "school_year"``: once per price list (an *adhésion*); with ``instalments = N``, the price is a
  yearly amount paid in N equal monthly instalments on the first N months of the price list, the rounding
  difference on the last one (``instalment_amounts``): instalment k is due when the child is enrolled in
  the k-th month, so a family that leaves early pays the instalments of the months it was enrolled.

The fee itself is the prestation's price rule (flat, QF bands, a grid…) for one block.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable
from typing import Final

import attrs

from espacefamille.billing.tariffs._common import _invalid
from espacefamille.calendar.periods import DateRange
from espacefamille.errors import InvalidInput
from espacefamille.money import Money
from espacefamille.text import month_name

__all__ = [
    "MAX_INSTALMENTS",
    "Forfait",
    "ForfaitDay",
    "ForfaitPer",
    "ForfaitPeriod",
    "instalment_amounts",
]

#: The most monthly instalments a yearly amount is spread over (one a month of a school year).
MAX_INSTALMENTS: Final = 12


class ForfaitPer(enum.Enum):
    """What one forfait pays for: a month of enrolment, a period of the commune's, a school year."""

    MONTH = "month"
    PERIOD = "period"
    SCHOOL_YEAR = "school_year"


@attrs.frozen
class ForfaitPeriod:
    """A period a ``per = "period"`` forfait is due for, as the commune names it (``Vacances d'automne``)."""

    label: str
    period: DateRange = attrs.field(validator=attrs.validators.instance_of(DateRange))

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.label, str) or not self.label.strip():
            raise _invalid("a forfait period needs a label", "label", "config.missing_key")


@attrs.frozen
class ForfaitDay:
    """A forfait due on ``day`` (its key day) for an enrolment: the French words of its line, and for an
    instalment its rank ``index`` out of ``count`` (None otherwise)."""

    day: dt.date
    label: str
    index: int | None = None
    count: int | None = None
    share: tuple[int, int] | None = None
    """With a prorata: (days of the month enrolled, days of the month); None for the whole price."""

    @property
    def code(self) -> str:
        """The reason of its invoice line: ``tariff.instalment`` or ``tariff.forfait``."""
        return "tariff.instalment" if self.index is not None else "tariff.forfait"


def _periods(items: Iterable[ForfaitPeriod]) -> tuple[ForfaitPeriod, ...]:
    return tuple(sorted(items, key=lambda item: item.period.start))


def _of_month(day: dt.date) -> str:
    """``de novembre 2026``, ``d'octobre 2026``."""
    name = month_name(day.month)
    prefix = "d'" if name[0] in "aeiou" else "de "
    return f"{prefix}{name} {day.year}"


def _first_of_month(day: dt.date) -> dt.date:
    return day.replace(day=1)


def _months(start: dt.date, count: int) -> list[DateRange]:
    months = []
    year, month = start.year, start.month
    for _ in range(count):
        months.append(DateRange.month(year, month))
        year, month = year + month // 12, month % 12 + 1
    return months


def _months_between(validity: DateRange) -> int:
    """How many calendar months ``validity`` touches (September to August: 12)."""
    return (validity.end.year - validity.start.year) * 12 + validity.end.month - validity.start.month + 1


@attrs.frozen
class Forfait:
    """How a prestation's forfait falls due: ``per`` month, period or school year; ``instalments`` (school
    year only) spreads the yearly amount over that many months; ``periods`` (per period only) are the
    periods it is due for, without overlap."""

    per: ForfaitPer
    instalments: int | None = None
    periods: tuple[ForfaitPeriod, ...] = attrs.field(default=(), converter=_periods)
    prorata: bool = False

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.per, ForfaitPer):
            raise _invalid(f"expected a ForfaitPer, got {self.per!r}", "per", "config.choice")
        count = self.instalments
        if count is not None:
            if self.per is not ForfaitPer.SCHOOL_YEAR:
                raise _invalid(
                    'instalments spread a yearly amount: they need per = "school_year", '
                    f"not {self.per.value!r}",
                    "instalments",
                    "tariff.instalments_per",
                    "Le paiement en plusieurs échéances ne s'applique qu'à un forfait annuel.",
                )
            if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_INSTALMENTS:
                raise _invalid(
                    f"an instalment count is from 1 to {MAX_INSTALMENTS} months, got {count!r}",
                    "instalments",
                    "tariff.instalment_count",
                    f"Le nombre d'échéances va de 1 à {MAX_INSTALMENTS} (une par mois).",
                )
        if self.prorata is not False and (self.prorata is not True or self.per is not ForfaitPer.MONTH):
            raise _invalid(
                'a prorata applies to a monthly forfait: prorata = true with per = "month"',
                "prorata",
                "tariff.prorata_per",
                "Le prorata ne s'applique qu'à un forfait mensuel.",
            )
        if (self.per is ForfaitPer.PERIOD) != bool(self.periods):
            raise _invalid(
                "a forfait per period lists its periods, and only it: periods = [{ label, start, end }, …]",
                "periods",
                "tariff.forfait_periods",
            )
        for index, (earlier, later) in enumerate(zip(self.periods, self.periods[1:], strict=False)):
            if later.period.start <= earlier.period.end:
                raise _invalid(
                    f"forfait periods {earlier.label!r} and {later.label!r} overlap",
                    f"periods[{index + 1}].start",
                    "tariff.forfait_period_overlap",
                    f"Les périodes « {earlier.label} » et « {later.label} » du forfait se chevauchent.",
                )

    def check_within(self, validity: DateRange) -> None:
        """Refuse instalments beyond the price list's months, or a period outside it (paths relative to the
        prestation's table)."""
        months = _months_between(validity)
        if self.instalments is not None and self.instalments > months:
            raise _invalid(
                f"{self.instalments} monthly instalments do not fit in a price list of {months} months",
                "instalments",
                "tariff.instalment_count",
                f"{self.instalments} échéances mensuelles ne tiennent pas dans une grille de {months} mois.",
            )
        for index, item in enumerate(self.periods):
            if not (validity.start <= item.period.start and item.period.end <= validity.end):
                raise _invalid(
                    f"forfait period {item.label!r} lies outside the price list",
                    f"periods[{index}]",
                    "tariff.forfait_period_outside",
                    f"La période « {item.label} » du forfait déborde de la grille tarifaire.",
                )

    def due_days(
        self, validity: DateRange, list_label: str, enrolment: DateRange, span: DateRange
    ) -> list[ForfaitDay]:
        """The forfaits of an enrolment under a price list (``validity``) whose key day lies in ``span``."""
        start, end = max(validity.start, enrolment.start), min(validity.end, enrolment.end)
        if start > end or span.end < start or end < span.start:
            return []
        found: list[ForfaitDay] = []
        per = self.per
        if per is ForfaitPer.MONTH:
            month_start = _first_of_month(max(start, span.start))
            while month_start <= min(end, span.end):
                month = DateRange.month(month_start.year, month_start.month)
                day = max(month.start, start)
                if day <= end and day in span:
                    label = f"Forfait mensuel {_of_month(month.start)}"
                    enrolled = (min(month.end, end) - day).days + 1
                    if self.prorata and enrolled < len(month):
                        share = (enrolled, len(month))
                        label = f"{label}, au prorata de {enrolled} jours sur {len(month)}"
                        found.append(ForfaitDay(day, label, share=share))
                    else:
                        found.append(ForfaitDay(day, label))
                month_start = month.end + dt.timedelta(days=1)
        elif per is ForfaitPer.PERIOD:
            for item in self.periods:
                day = max(item.period.start, start)
                if day <= min(item.period.end, end) and day in span:
                    found.append(ForfaitDay(day, f"Forfait « {item.label} »"))
        elif self.instalments is None:
            if start in span:
                found.append(ForfaitDay(start, f"Forfait annuel {list_label}"))
        else:
            count = self.instalments
            for index, month in enumerate(_months(validity.start, count), start=1):
                day = max(month.start, start)
                if day <= min(month.end, end) and day in span:
                    words = f"{month_name(month.start.month)} {month.start.year}"
                    label = f"Échéance {index}/{count} — forfait annuel {list_label}, {words}"
                    found.append(ForfaitDay(day, label, index, count))
        return found


def instalment_amounts(total: Money, count: int) -> list[Money]:
    """``total`` in ``count`` equal instalments of whole cents, the rounding difference on the last one:
    450 € in 10 are 45 € each; 100 € in 3 are 33,33 €, 33,33 € and 33,34 €. They add up to ``total``
    exactly, and only the last differs (by less than ``count`` cents)."""
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise InvalidInput(
            f"an instalment count is a positive int, got {count!r}", code="tariff.instalment_count"
        )
    if not isinstance(total, Money):
        raise InvalidInput(f"expected Money, got {type(total).__name__}", code="money.type")
    cents = total.cents
    share = abs(cents) // count * (-1 if cents < 0 else 1)
    return [Money.from_cents(share)] * (count - 1) + [Money.from_cents(cents - share * (count - 1))]
