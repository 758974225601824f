"""Price lists: one prestation's tariff (its unit and criteria), a period's price list, the commune's book."""

from __future__ import annotations

import bisect
import datetime as dt
import enum
import itertools
from collections.abc import Callable, Hashable, Iterable, Mapping
from decimal import Decimal
from typing import Final

import attrs

from espacefamille._internal.validators import IDENTIFIER
from espacefamille.billing.tariffs._common import _invalid, _not_negative, _optional_decimal
from espacefamille.billing.tariffs.attendance import (
    ATTENDANCE_STATUSES,
    DEFAULT_ATTENDANCE_EFFECTS,
    AttendanceEffects,
)
from espacefamille.billing.tariffs.criteria import (
    CriterionRole,
    NonResidentPrice,
    PaiPrice,
    PriceByChildren,
    RankReduction,
    Situation,
    TariffCriterion,
    _base_rules,
    is_tariff_criterion,
)
from espacefamille.billing.tariffs.forfaits import Forfait, ForfaitDay
from espacefamille.billing.tariffs.grid import PriceGrid
from espacefamille.billing.tariffs.surcharges import SurchargeKind, SurchargeRule
from espacefamille.billing.tariffs.wording import Clause, status_text
from espacefamille.calendar.periods import DateRange
from espacefamille.errors import InvalidConfiguration, MissingData
from espacefamille.money import RoundingPolicy
from espacefamille.text import format_date

__all__ = [
    "PrestationTariff",
    "PriceList",
    "PriceUnit",
    "QfChangeRule",
    "TariffBook",
]

# -- units ------------------------------------------------------------------------------------


class PriceUnit(enum.Enum):
    """What one unit price pays for: a day (or a meal), a half day, an hour, a half hour, a block.

    Hourly and half-hourly prices are prorated on exact minutes (1 h 05 is 65 minutes, never 1,05 h)
    unless the tariff counts started units.
    """

    DAY = "day"
    HALF_DAY = "half_day"
    HOUR = "hour"
    HALF_HOUR = "half_hour"
    BLOCK = "block"

    @property
    def minutes(self) -> int | None:
        """Minutes in one unit for timed units (60 or 30), None for counted units."""
        return _UNIT_MINUTES.get(self)

    @property
    def is_timed(self) -> bool:
        """Whether quantities are given in minutes (hour and half-hour units)."""
        return self in _UNIT_MINUTES

    @property
    def default_label(self) -> str:
        """How a price is said per unit in French: ``3,20 € la journée``."""
        return _UNIT_LABELS[self]


_UNIT_MINUTES: Final = {PriceUnit.HOUR: 60, PriceUnit.HALF_HOUR: 30}
_UNIT_LABELS: Final = {
    PriceUnit.DAY: "la journée",
    PriceUnit.HALF_DAY: "la demi-journée",
    PriceUnit.HOUR: "l'heure",
    PriceUnit.HALF_HOUR: "la demi-heure",
    PriceUnit.BLOCK: "le forfait",
}


# -- quotient changes -------------------------------------------------------------------------


class QfChangeRule(enum.Enum):
    """From when a new QF applies: the first day of the month after the CAF attestation was received
    (the usual rule), or the day it was received. Never before: a QF is never backdated."""

    NEXT_MONTH = "next_month"
    IMMEDIATELY = "immediately"

    def effective_from(self, received_on: dt.date) -> dt.date:
        if self is QfChangeRule.IMMEDIATELY:
            return received_on
        return dt.date(received_on.year + received_on.month // 12, received_on.month % 12 + 1, 1)


# -- one prestation's tariff, price lists and the book ----------------------------------------


def _identifier(instance: object, attribute: attrs.Attribute[str], value: str) -> None:
    if not isinstance(value, str) or not IDENTIFIER.match(value):
        raise _invalid(f"a prestation id must be an identifier, got {value!r}", "", "model.bad_identifier")


@attrs.frozen
class PrestationTariff:
    """How one prestation is priced in one price list.

    Which price applies, in order: a child with a PAI (the family brings the meal) pays ``pai`` when set;
    a non-resident family pays ``non_resident`` when set — both flat, without QF or sibling reduction;
    everyone else pays ``rule`` with the ``sibling_reduction`` of the child's rank. ``count_started``
    (hour and half-hour units only) bills every started unit instead of prorating exact minutes.
    ``attendance`` overrides some of the price list's attendance effects for this prestation.
    ``forfait`` (with the ``block`` unit only) bills the price per enrolment — per month, period or school
    year, possibly in monthly instalments — instead of per day booked (``tariffs.forfaits``).
    ``meal`` is the part of each unit that pays for the meal (the childcare tax credit excludes it:
    ``billing.attestations``); it does not change the price.
    ``extra_criteria`` are registered overrides and reductions other than the shipped ones (a price rule
    of a new kind is the ``rule``). Each is a criterion (``@tariff_criterion``); ``criteria`` lists them
    all in pricing order.
    """

    prestation_id: str = attrs.field(validator=_identifier)
    unit: PriceUnit
    rule: TariffCriterion
    unit_label: str = ""
    count_started: bool = False
    non_resident: Decimal | None = attrs.field(default=None, converter=_optional_decimal)
    pai: Decimal | None = attrs.field(default=None, converter=_optional_decimal)
    sibling_reduction: RankReduction | None = None
    unbooked_presence: SurchargeRule | None = None
    attendance: AttendanceEffects | None = None
    extra_criteria: tuple[TariffCriterion, ...] = attrs.field(default=(), converter=_base_rules)
    forfait: Forfait | None = None
    meal: Decimal | None = attrs.field(default=None, converter=_optional_decimal)
    _criteria: tuple[TariffCriterion, ...] = attrs.field(init=False, eq=False, repr=False, hash=False)
    _reads: Callable[[Situation], tuple[Hashable, ...]] = attrs.field(
        init=False, eq=False, repr=False, hash=False
    )

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.unit, PriceUnit):
            raise _invalid(f"expected a PriceUnit, got {self.unit!r}", "unit", "tariff.unit")
        if not is_tariff_criterion(self.rule, CriterionRole.PRICE):
            raise _invalid(f"expected a price rule, got {type(self.rule).__name__}", "", "tariff.rule_type")
        if self.count_started and not self.unit.is_timed:
            raise _invalid(
                f"count_started only applies to hour and half-hour units, not {self.unit.value!r}",
                "count_started",
                "tariff.count_started_untimed",
            )
        if self.forfait is not None:
            if not isinstance(self.forfait, Forfait):
                raise _invalid(f"expected a Forfait, got {self.forfait!r}", "per", "tariff.forfait_type")
            if self.unit is not PriceUnit.BLOCK:
                raise _invalid(
                    f'a forfait is priced by the block (unit = "block"), not by the {self.unit.value!r}',
                    "per",
                    "tariff.forfait_unit",
                    "Un forfait se facture à l'unité (« block »), pas à la journée ou à l'heure.",
                )
        _not_negative(self.non_resident, "non_resident")
        _not_negative(self.pai, "pai")
        _not_negative(self.meal, "meal")
        if self.sibling_reduction is not None and (
            isinstance(self.rule, PriceByChildren) or (isinstance(self.rule, PriceGrid) and self.rule.ranks)
        ):
            raise _invalid(
                "a price by number of children already accounts for siblings; drop sibling_reduction",
                "sibling_reduction",
                "tariff.siblings_twice",
            )
        if self.sibling_reduction is not None and not isinstance(self.sibling_reduction, RankReduction):
            raise _invalid(
                f"expected a RankReduction, got {type(self.sibling_reduction).__name__}",
                "sibling_reduction",
                "tariff.criterion_type",
            )
        seen: set[str] = set()
        for criterion in self.extra_criteria:
            kind = type(criterion)
            if (
                not is_tariff_criterion(criterion)
                or kind.role is CriterionRole.PRICE
                or kind.key in _SLOTTED
                or kind.key in seen
            ):
                raise _invalid(
                    f"expected registered overrides or reductions other than {', '.join(_SLOTTED)}, each "
                    f"once, got {kind.__name__}",
                    getattr(kind, "key", ""),
                    "tariff.criterion_type",
                )
            seen.add(kind.key)
        overrides: list[TariffCriterion] = []
        if self.pai is not None:
            overrides.append(PaiPrice(self.pai))  # whatever the residence
        if self.non_resident is not None:
            overrides.append(NonResidentPrice(self.non_resident))
        reductions: list[TariffCriterion] = [] if self.sibling_reduction is None else [self.sibling_reduction]
        for criterion in self.extra_criteria:
            (overrides if type(criterion).role is CriterionRole.OVERRIDE else reductions).append(criterion)
        criteria = (*overrides, self.rule, *reductions)
        object.__setattr__(self, "_criteria", criteria)
        object.__setattr__(self, "_reads", _reader(criteria))

    @property
    def criteria(self) -> tuple[TariffCriterion, ...]:
        """Every criterion of this price, in pricing order: overrides (PAI first, then non-resident), the
        price rule, reductions."""
        return self._criteria

    def situation(self, situation: Situation) -> tuple[Hashable, ...]:
        """What each criterion reads of ``situation``, in pricing order: everything the price depends on
        besides the attendance status and the quantity (``price_of`` prices from it alone)."""
        return self._reads(situation)

    def price_of(
        self, seen: tuple[Hashable, ...], rounding: RoundingPolicy
    ) -> tuple[Decimal, tuple[Clause, ...]]:
        """The exact unit price and its reasons, from what ``situation`` returned and nothing else."""
        price: Decimal | None = None
        clauses: list[Clause] = []
        label = self.label
        final = False
        for criterion, value in zip(self._criteria, seen, strict=False):  # an override may end ``seen``
            step = criterion.apply(value, price, label, rounding)
            if step is None:
                continue
            price, final = step.price, step.final
            clauses.extend(step.clauses)
            if final:
                break
        # The price rule always gives a price; an override that ended the reading gives the last one.
        assert price is not None
        assert final or len(seen) == len(self._criteria)
        return price, tuple(clauses)

    @property
    def label(self) -> str:
        """How the unit is said after a price: ``le repas``, ``l'heure``."""
        return self.unit_label or self.unit.default_label

    def surcharge(self, kind: SurchargeKind) -> SurchargeRule | None:
        """The tariff's own surcharge of ``kind``: only presence without booking has one (a late booking's
        surcharge is the booking rule's, so the parent sees when booking what the invoice will say)."""
        return self.unbooked_presence if kind is SurchargeKind.UNBOOKED_PRESENCE else None


def _reader(criteria: tuple[TariffCriterion, ...]) -> Callable[[Situation], tuple[Hashable, ...]]:
    """What the criteria read, as one call (pricing asks it for every booking-day of a month-end run).

    An override that applies ends the reading: nothing after it is priced, so nothing after it is read
    and families it covers share one key (every PAI child of a price list, say).
    """
    cut = sum(1 for criterion in criteria if type(criterion).role is CriterionRole.OVERRIDE)
    overrides = tuple(criterion.reads for criterion in criteria[:cut])
    rest = tuple(criterion.reads for criterion in criteria[cut:])
    if not overrides and len(rest) == 1:
        (only,) = rest
        return lambda situation: (only(situation),)
    if not overrides and len(rest) == 2:  # the usual tariff: a price rule and a reduction
        first, second = rest
        return lambda situation: (first(situation), second(situation))

    def reads(situation: Situation) -> tuple[Hashable, ...]:
        seen: list[Hashable] = []
        for read in overrides:
            value = read(situation)
            seen.append(value)
            if value:
                return tuple(seen)
        seen.extend([read(situation) for read in rest])
        return tuple(seen)

    return reads


_SLOTTED: Final = (PaiPrice.key, NonResidentPrice.key, RankReduction.key)
"""The shipped overrides and reduction, which have fields of their own."""


def _tariffs(items: Iterable[PrestationTariff]) -> tuple[PrestationTariff, ...]:
    return tuple(items)


def _reason_labels(table: Mapping[str, str]) -> dict[str, str]:
    labels = dict(table)
    for code, label in labels.items():
        if not isinstance(code, str) or not IDENTIFIER.match(code) or code in ATTENDANCE_STATUSES:
            raise _invalid(
                f"a reason is a code of the commune's own (not a status), got {code!r}",
                "reasons",
                "tariff.status_code",
            )
        if not isinstance(label, str) or not label.strip():
            raise _invalid(f"reason {code!r} needs a French label", f"reasons.{code}", "config.type")
    return labels


@attrs.frozen
class PriceList:
    """The prices of one period (a school year, from 1 September), for every priced prestation.

    ``attendance`` says what each attendance status or commune reason costs, key by key: a status it does
    not name keeps its default (``DEFAULT_ATTENDANCE_EFFECTS``). ``reasons`` gives the French label of some
    of the commune's own reasons (``sortie_scolaire = "sortie scolaire"``), shown on invoices instead of
    the code; ``reason_codes`` are every reason the list defines.
    """

    label: str
    validity: DateRange = attrs.field(validator=attrs.validators.instance_of(DateRange))
    prices: tuple[PrestationTariff, ...] = attrs.field(converter=_tariffs)
    attendance: AttendanceEffects = DEFAULT_ATTENDANCE_EFFECTS
    qf_change: QfChangeRule = QfChangeRule.NEXT_MONTH
    reasons: Mapping[str, str] = attrs.field(factory=dict, converter=_reason_labels, hash=False)
    _reason_codes: frozenset[str] = attrs.field(init=False, eq=False, repr=False, hash=False)
    _by_id: dict[str, tuple[PrestationTariff, AttendanceEffects]] = attrs.field(
        init=False, eq=False, repr=False, hash=False
    )
    _memo: dict[Hashable, object] = attrs.field(init=False, factory=dict, eq=False, repr=False, hash=False)

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.label, str) or not self.label.strip():
            raise _invalid("a price list needs a label (e.g. '2026-2027')", "label", "config.missing_key")
        if not isinstance(self.qf_change, QfChangeRule):
            raise _invalid(
                f"expected a QfChangeRule, got {self.qf_change!r}", "qf_change", "tariff.qf_change"
            )
        if not isinstance(self.attendance, AttendanceEffects):
            raise _invalid(
                f"expected AttendanceEffects, got {type(self.attendance).__name__}",
                "attendance",
                "tariff.effect_type",
            )
        if self.attendance is not DEFAULT_ATTENDANCE_EFFECTS:
            # Key by key: a status the list does not name keeps its default effect.
            object.__setattr__(self, "attendance", DEFAULT_ATTENDANCE_EFFECTS.updated(self.attendance))
        by_id: dict[str, tuple[PrestationTariff, AttendanceEffects]] = {}
        for tariff in self.prices:
            if tariff.prestation_id in by_id:
                raise _invalid(
                    f"prestation {tariff.prestation_id!r} is priced twice",
                    f"prices.{tariff.prestation_id}",
                    "config.duplicate_id",
                )
            # Precomputed once, so pricing a day never merges tables.
            effects = (
                self.attendance if tariff.attendance is None else self.attendance.updated(tariff.attendance)
            )
            by_id[tariff.prestation_id] = (tariff, effects)
            if tariff.forfait is not None:
                try:
                    tariff.forfait.check_within(self.validity)
                except InvalidConfiguration as error:
                    raise _invalid(
                        error.reason,
                        f"prices.{tariff.prestation_id}.{error.path}",
                        error.code,
                        error.reason_fr,
                    ) from None
        object.__setattr__(self, "_by_id", by_id)
        codes = {code for _, effects in by_id.values() for code in effects}
        codes.update(self.attendance)
        codes.difference_update(ATTENDANCE_STATUSES)
        for code in self.reasons:
            if code not in codes:
                raise _invalid(
                    f"reason {code!r} has a label but no attendance effect in the list",
                    f"reasons.{code}",
                    "tariff.reason_without_effect",
                    f"Le motif « {code} » a un libellé mais aucun effet dans la grille tarifaire.",
                )
        object.__setattr__(self, "_reason_codes", frozenset(codes))

    @property
    def reason_codes(self) -> frozenset[str]:
        """The commune's own attendance reasons the list prices (its ``attendance`` keys and its
        prestations', beyond the statuses)."""
        return self._reason_codes

    def reason_label(self, code: str) -> str:
        """How a reason (or a status) is said on an invoice: the list's label, else the usual words."""
        label = self.reasons.get(code)
        return status_text(code) if label is None else label

    @property
    def memo(self) -> dict[Hashable, object]:
        """Prices already worked out in this list, kept by ``espacefamille.billing.pricing``.

        Not part of the value (equality, hash, repr ignore it): a cache, so that pricing a month of
        booking-days decides each band and reduction once.
        """
        return self._memo

    def tariff(self, prestation_id: str) -> PrestationTariff | None:
        entry = self._by_id.get(prestation_id)
        return None if entry is None else entry[0]

    def priced(self, prestation_id: str) -> tuple[PrestationTariff, AttendanceEffects] | None:
        """The prestation's tariff and its attendance effects (the list's, with its overrides)."""
        return self._by_id.get(prestation_id)


def _price_lists(items: Iterable[PriceList]) -> tuple[PriceList, ...]:
    return tuple(items)


#: The facts a criterion may read that come from a child alone and may be missing or outside its bands:
#: ``TariffBook.priceable`` leaves such a tariff to the families' checks.
_CHILD_FACTS: Final = frozenset({"age", "school_level"})


def _reads_a_child(tariff: PrestationTariff) -> bool:
    return any(_CHILD_FACTS.intersection(getattr(c, "extra_facts", ())) for c in tariff.criteria)


@attrs.frozen
class TariffBook:
    """Every price list of a commune, in date order; their validity ranges never overlap."""

    price_lists: tuple[PriceList, ...] = attrs.field(converter=_price_lists, default=())
    _starts: tuple[dt.date, ...] = attrs.field(init=False, eq=False, repr=False, hash=False)
    _forfaits: frozenset[str] = attrs.field(init=False, eq=False, repr=False, hash=False)

    def __attrs_post_init__(self) -> None:
        order = sorted(range(len(self.price_lists)), key=lambda i: self.price_lists[i].validity.start)
        for earlier, later in itertools.pairwise(order):
            first, second = self.price_lists[earlier], self.price_lists[later]
            if second.validity.start <= first.validity.end:
                raise _invalid(
                    f"price list {second.label!r} starts on {second.validity.start}, before "
                    f"{first.label!r} ends on {first.validity.end}",
                    f"tariffs[{later}].start",
                    "tariff.price_list_overlap",
                    f"Les grilles tarifaires « {first.label} » et « {second.label} » se chevauchent.",
                )
        ordered = tuple(self.price_lists[i] for i in order)
        forfaits: dict[str, bool] = {}
        for index in order:
            for tariff in self.price_lists[index].prices:
                is_forfait = tariff.forfait is not None
                if forfaits.setdefault(tariff.prestation_id, is_forfait) is not is_forfait:
                    raise _invalid(
                        f"prestation {tariff.prestation_id!r} is a forfait in some price lists and priced "
                        "per unit in others: give it the same kind of price in every list",
                        f"tariffs[{index}].prices.{tariff.prestation_id}.per",
                        "tariff.forfait_mixed",
                    )
        object.__setattr__(self, "_forfaits", frozenset(key for key, value in forfaits.items() if value))
        object.__setattr__(self, "price_lists", ordered)
        object.__setattr__(self, "_starts", tuple(p.validity.start for p in ordered))

    @property
    def forfaits(self) -> frozenset[str]:
        """The prestations priced by forfait (per enrolment, not per day): the same in every list."""
        return self._forfaits

    def forfaits_due(
        self, prestation_id: str, enrolment: DateRange, span: DateRange
    ) -> list[tuple[PriceList, ForfaitDay]]:
        """The forfaits of prestation ``prestation_id`` an enrolment over ``enrolment`` owes whose key day
        lies in ``span``, with the price list of each (none for a prestation not priced by forfait)."""
        if prestation_id not in self._forfaits:
            return []
        due: list[tuple[PriceList, ForfaitDay]] = []
        for price_list in self.price_lists:
            if not price_list.validity.overlaps(span):
                continue
            tariff = price_list.tariff(prestation_id)
            if tariff is None or tariff.forfait is None:
                continue
            for day in tariff.forfait.due_days(price_list.validity, price_list.label, enrolment, span):
                due.append((price_list, day))
        return due

    def priceable(self, prestation_id: str, days: Iterable[dt.date]) -> bool:
        """Whether the prestation is priced on every one of ``days`` whatever the family: its facts (QF or
        none, residence, PAI, rank), the attendance status of the day and any reason of the commune
        (``reason_codes``) — proven from the book alone, without a family. ``False`` says only that the
        book cannot prove it: a day no price list covers, a list without a price for the prestation or
        without an effect for some reason, or a criterion reading what only a child tells (its age, its
        school class), which a family's check must then find out.

        A forfait is priced in the lists that price it and owed in no other: it is priceable unless a list
        that prices it reads a child's age or class. Whether the prestation has the hours a price by the
        hour needs is the prestation's, not the book's.
        """
        if prestation_id in self._forfaits:
            wanted = sorted(set(days))
            return not any(
                _reads_a_child(tariff)
                for price_list in self.price_lists
                if any(day in price_list.validity for day in wanted)
                for tariff in (price_list.tariff(prestation_id),)
                if tariff is not None
            )
        reasons = self.reason_codes
        proven: set[int] = set()  # the lists already proven, by identity
        for day in set(days):
            index = bisect.bisect_right(self._starts, day) - 1
            if index < 0 or day > self.price_lists[index].validity.end:
                return False  # no price list that day
            if index in proven:
                continue
            entry = self.price_lists[index].priced(prestation_id)
            if entry is None or _reads_a_child(entry[0]):
                return False
            effects = entry[1]
            if any(effects.get(code) is None for code in (*ATTENDANCE_STATUSES[1:], *reasons)):
                return False
            proven.add(index)
        return True

    @property
    def reason_codes(self) -> frozenset[str]:
        """The commune's own attendance reasons any price list defines."""
        return frozenset(code for price_list in self.price_lists for code in price_list.reason_codes)

    def price_list_on(self, day: dt.date) -> PriceList:
        """The price list in force on ``day``; ``MissingData`` ("tariff.no_price_list") when none is."""
        index = bisect.bisect_right(self._starts, day) - 1
        if index >= 0 and day <= self.price_lists[index].validity.end:
            return self.price_lists[index]
        raise MissingData(
            f"no price list covers {day}",
            message_fr=f"Aucune grille tarifaire n'est en vigueur le {format_date(day)}.",
            code="tariff.no_price_list",
            details={"date": day},
        )

    def tariff_on(self, prestation_id: str, day: dt.date) -> tuple[PriceList, PrestationTariff]:
        """The price list of ``day`` and its tariff for the prestation; ``MissingData`` when unpriced."""
        price_list, tariff, _ = self.priced_on(prestation_id, day)
        return price_list, tariff

    def priced_on(
        self, prestation_id: str, day: dt.date
    ) -> tuple[PriceList, PrestationTariff, AttendanceEffects]:
        """The price list of ``day``, the prestation's tariff in it and its attendance effects."""
        price_list = self.price_list_on(day)
        entry = price_list.priced(prestation_id)
        if entry is None:
            raise MissingData(
                f"price list {price_list.label!r} has no price for prestation {prestation_id!r}",
                message_fr=(
                    f"La grille tarifaire {price_list.label} ne fixe aucun prix pour « {prestation_id} »."
                ),
                code="tariff.no_price",
                details={"date": day, "prestation": prestation_id},
            )
        return price_list, entry[0], entry[1]
