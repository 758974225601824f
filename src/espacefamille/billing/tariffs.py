"""Tariffs as data: price lists versioned by validity dates, and one price rule per prestation.

A commune publishes a new price list (*grille tarifaire*) each school year, usually from 1 September.
A ``TariffBook`` holds them; their validity ranges never overlap, and a date that no list covers is a
``MissingData`` error ("tariff.no_price_list"), never a silent zero. In each ``PriceList``, every
priced prestation has a ``PrestationTariff``: its unit (day, half day, hour, half hour, block), its
price rule (a flat price, quotient-familial bands, a *taux d'effort*, or a price by the family's number
of children), and the optional non-resident price, PAI price, sibling reduction by rank, surcharges
(late booking, presence without booking) and attendance effects.

Two extension points have one registry each, every entry one frozen class carrying its TOML name, its
reader, its writer and its behaviour: the **tariff criteria** (``@tariff_criterion``: the price rules,
the PAI and non-resident prices, the sibling reduction), each saying which facts of the family it reads
(``reads``) and pricing from those alone (``apply``), so that the pricing cache, keyed by what they read,
cannot disagree with the price; and the **attendance effects** (``@attendance_effect``: ``"full"``,
``"zero"``, ``{ fixed = … }``, ``{ percent = … }``), what a status does to a day's price.

Everything here is data, validated at construction and read from (and written back to) the plain
dicts of the commune's TOML file by ``tariff_book_from_dict`` / ``tariff_book_to_dict``. Pricing itself
— one function for invoices, prepaid baskets and previews — lives in ``espacefamille.billing.pricing``.
``docs/tariffs.md`` has one worked example per kind, and "Adding a tariff criterion".

Amounts here are ``Decimal`` euros, possibly finer than the cent (a taux d'effort, an hourly price of
1,125 €): only the commune's ``RoundingPolicy`` turns them into ``Money``.
"""

from __future__ import annotations

import bisect
import datetime as dt
import enum
import functools
import itertools
import types
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping
from decimal import Decimal
from typing import Any, ClassVar, Final, Protocol, Self, TypeAlias, TypeVar

import attrs
from babel.numbers import format_currency, format_decimal

from espacefamille._internal.tables import REQUIRED, Table, exact_number
from espacefamille._internal.validators import IDENTIFIER
from espacefamille.calendar.periods import DateRange
from espacefamille.errors import EspaceFamilleError, InvalidConfiguration, InvalidInput, MissingData
from espacefamille.money import Money, RoundingPolicy, to_decimal
from espacefamille.text import format_amount, format_date

__all__ = [
    "ATTENDANCE_STATUSES",
    "DEFAULT_ATTENDANCE_EFFECTS",
    "FULL_PRICE",
    "NO_CHARGE",
    "AttendanceEffect",
    "AttendanceEffects",
    "Clause",
    "CriterionPrice",
    "CriterionRole",
    "EffortRate",
    "FixedAmount",
    "FixedSurcharge",
    "FlatPrice",
    "FullPrice",
    "MultiplierSurcharge",
    "NoCharge",
    "NonResidentPrice",
    "PaiPrice",
    "PercentOfPrice",
    "PercentSurcharge",
    "PrestationTariff",
    "PriceByChildren",
    "PriceList",
    "PriceRule",
    "PriceUnit",
    "QfBand",
    "QfChangeRule",
    "QuotientBands",
    "RankReduction",
    "Situation",
    "SurchargeKind",
    "SurchargeRule",
    "TariffBook",
    "TariffCriterion",
    "attendance_effect",
    "attendance_effects",
    "clause_text",
    "format_number",
    "format_quotient",
    "fr_euros",
    "fr_number",
    "fr_ordinal",
    "fr_percent",
    "fr_quotient",
    "is_attendance_effect",
    "is_tariff_criterion",
    "status_text",
    "tariff_book_from_dict",
    "tariff_book_to_dict",
    "tariff_criteria",
    "tariff_criterion",
]

_T = TypeVar("_T")
_E = TypeVar("_E", bound=enum.Enum)
_HUNDRED: Final = Decimal(100)
_ZERO: Final = Decimal(0)


def _invalid(message: str, path: str, code: str, message_fr: str | None = None) -> InvalidConfiguration:
    return InvalidConfiguration(message, path=path, code=code, message_fr=message_fr)


def _decimal(value: Decimal | int | str) -> Decimal:
    return to_decimal(value, what="tariff amount")


def _optional_decimal(value: Decimal | int | str | None) -> Decimal | None:
    return None if value is None else _decimal(value)


def _not_negative(value: Decimal | None, path: str) -> None:
    if value is not None and value < 0:
        raise _invalid(
            f"a price cannot be negative, got {value}",
            path,
            "tariff.negative_price",
            f"Un prix ne peut pas être négatif ({value}).",
        )


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


# -- French wording -----------------------------------------------------------------------------


def format_number(value: Decimal) -> str:
    """A decimal written the French way with the digits it was given: ``1 000``, ``0,40``, ``650,50``."""
    sign = "-" if value < 0 else ""
    whole, _, fraction = format(abs(value), "f").partition(".")
    grouped = str(format_decimal(int(whole), locale="fr_FR"))  # CLDR narrow no-break space
    return sign + grouped + ("," + fraction if fraction else "")


def format_quotient(value: Decimal) -> str:
    """A quotient familial as families read it: ``1 000 €``, ``650,50 €``."""
    return format_number(value) + "\u00a0€"


# Babel is slow for the thousands of sentences of a city's run (a taux d'effort writes one per QF), and
# the same few numbers come back: each is written once, keyed by its exact digits (``str`` of a Decimal
# keeps them, so ``0.4`` and ``0.40`` stay apart).


@functools.lru_cache(maxsize=16_384)
def _money_text(cents: int) -> str:
    return Money.from_cents(cents).format()


@functools.lru_cache(maxsize=16_384)
def _decimal_euros(digits: str) -> str:
    value = Decimal(digits)
    if value == value.quantize(Decimal("0.01")):
        return format_amount(value)
    # A price finer than the cent (1,125 € the hour) is shown as configured, not silently rounded.
    return str(format_currency(value, "EUR", locale="fr_FR", decimal_quantization=False))


@functools.lru_cache(maxsize=16_384)
def _number(digits: str) -> str:
    return format_number(Decimal(digits))


def fr_euros(value: Decimal | Money) -> str:
    """An amount in a French clause (``3,20 €``; ``1,125 €`` when finer than the cent), written once."""
    if isinstance(value, Money):
        return _money_text(value.cents)
    return _decimal_euros(str(value))


def fr_number(value: Decimal) -> str:
    """``format_number``, written once per value."""
    return _number(str(value))


def fr_percent(value: Decimal) -> str:
    """A percentage in a French clause: ``10 %`` (narrow no-break space)."""
    return _number(str(value)) + "\u202f%"


def fr_quotient(value: Decimal) -> str:
    """``format_quotient``, written once per value."""
    return _number(str(value)) + "\u00a0€"


def fr_ordinal(rank: int) -> str:
    """``1er``, ``2e``…"""
    return "1er" if rank == 1 else f"{rank}e"


Clause: TypeAlias = tuple[str, tuple[object, ...]]
"""One reason behind a price: a stable code and the values its French clause is written from."""

_CLAUSES: Final[dict[str, Callable[..., str]]] = {}


def _register_clauses(owner: str, clauses: Mapping[str, Callable[..., str]]) -> None:
    taken = sorted(set(clauses) & set(_CLAUSES))
    if taken:
        raise InvalidInput(
            f"{owner}: clause code(s) {', '.join(taken)} already taken", code="tariff.clause_twice"
        )
    _CLAUSES.update(clauses)


def clause_text(code: str, values: tuple[object, ...]) -> str:
    """The French clause of a criterion's or an effect's step (``tranche QF 651 à 1 000 € : …``)."""
    return _CLAUSES[code](*values)


# -- tariff criteria --------------------------------------------------------------------------


class Situation(Protocol):
    """The facts of a family, a child and a day that prices may read (``pricing.FamilyFacts`` is one).

    ``quotient`` is None when unknown (0 is a real QF); ``child_rank`` is the child's rank among the
    family's ``children``.
    """

    @property
    def quotient(self) -> Decimal | None: ...

    @property
    def resident(self) -> bool: ...

    @property
    def pai(self) -> bool: ...

    @property
    def child_rank(self) -> int: ...

    @property
    def children(self) -> int: ...


class CriterionRole(enum.Enum):
    """Where a criterion acts in a prestation's price, in this order.

    ``OVERRIDE``: a price of its own that replaces everything else when the situation calls for it (PAI,
    non-resident): its ``reads`` returns something true exactly when it applies, and its ``apply`` then
    gives a ``final`` price (what later criteria read is left out of the pricing key). ``PRICE``: the
    price rule, exactly one per tariff (flat, bands, taux d'effort, by family size…). ``REDUCTION``: a
    change of the price found (the sibling reduction by rank).
    """

    OVERRIDE = "override"
    PRICE = "price"
    REDUCTION = "reduction"


_ROLE_ORDER: Final = {CriterionRole.OVERRIDE: 0, CriterionRole.PRICE: 1, CriterionRole.REDUCTION: 2}


@attrs.frozen
class CriterionPrice:
    """What a criterion makes of the price: the new unit price and the clauses saying why; ``final`` when
    no later criterion applies (an override)."""

    price: Decimal
    clauses: tuple[Clause, ...]
    final: bool = False


class TariffCriterion(Protocol):
    """One thing a prestation's price depends on: its TOML key, how it is read and written, which facts of
    the situation it reads, and what it makes of the price.

    Each criterion is one frozen class decorated with ``@tariff_criterion``, the registry a prestation's
    price table is read with. **The price comes from what ``reads`` returns, never from the situation
    itself**: pricing caches a price by those values (``pricing.situation_key``), so a cached price
    cannot ignore a fact it depends on. A price rule that cannot be one of the sizes of a price by
    family size says so with ``nestable: ClassVar[bool] = False``.
    """

    key: ClassVar[str]
    role: ClassVar[CriterionRole]
    clauses: ClassVar[Mapping[str, Callable[..., str]]]

    @classmethod
    def read(cls, node: _Node) -> TariffCriterion:
        """The criterion from the prestation's table (``node`` names the key of any mistake)."""
        ...

    def settings(self) -> dict[str, Any]:
        """Its keys in the prestation's table: ``read`` reads them back equal."""
        ...

    def reads(self, situation: Situation) -> Hashable:
        """The facts of ``situation`` this criterion's price depends on — all of them, and only them."""
        ...

    def apply(
        self, seen: Any, base: Decimal | None, label: str, rounding: RoundingPolicy
    ) -> CriterionPrice | None:
        """The price from ``seen`` (what ``reads`` returned) and the price found so far (``base``, None
        before the price rule); None when the criterion changes nothing. ``label`` says the unit
        (``le repas``); ``rounding`` is the commune's, for clauses that show a rounded price."""
        ...


_CRITERIA: Final[dict[str, type[TariffCriterion]]] = {}
_C = TypeVar("_C", bound=type[TariffCriterion])


def tariff_criterion(kind: _C) -> _C:
    """Register a tariff criterion under its TOML ``key`` (a class decorator; a key is used once)."""
    if kind.key in _CRITERIA:
        raise InvalidInput(f"tariff criterion {kind.key!r} registered twice", code="tariff.criterion_twice")
    if not isinstance(kind.role, CriterionRole):
        raise InvalidInput(
            f"tariff criterion {kind.key!r} needs a CriterionRole, got {kind.role!r}",
            code="tariff.criterion_role",
        )
    _register_clauses(f"tariff criterion {kind.key!r}", kind.clauses)
    _CRITERIA[kind.key] = kind
    return kind


def tariff_criteria() -> Mapping[str, type[TariffCriterion]]:
    """The registered criteria by TOML key, in registration order (a read-only view)."""
    return types.MappingProxyType(_CRITERIA)


def is_tariff_criterion(value: object, role: CriterionRole | None = None) -> bool:
    """Whether ``value`` is a criterion of a registered kind (of ``role``, when given)."""
    kind = _CRITERIA.get(getattr(type(value), "key", None) or "")
    return kind is type(value) and (role is None or kind.role is role)


def _price_criteria(*, nested: bool = False) -> list[type[TariffCriterion]]:
    kinds = [kind for kind in _CRITERIA.values() if kind.role is CriterionRole.PRICE]
    return [kind for kind in kinds if getattr(kind, "nestable", True)] if nested else kinds


def _band_label(lower: Decimal, upper: Decimal | None) -> str:
    if upper is None:
        return f"{format_quotient(lower)} et plus"
    if lower == 0:
        return f"moins de {format_quotient(upper)}"
    return f"{format_quotient(lower)} à moins de {format_quotient(upper)}"


@tariff_criterion
@attrs.frozen
class FlatPrice:
    """One price for every family (``flat = "3.20"``)."""

    price: Decimal = attrs.field(converter=_decimal)
    key: ClassVar[str] = "flat"
    role: ClassVar[CriterionRole] = CriterionRole.PRICE
    clauses: ClassVar[Mapping[str, Callable[..., str]]] = {
        "tariff.flat": lambda price, label: f"tarif unique : {fr_euros(price)} {label}",
    }

    def __attrs_post_init__(self) -> None:
        _not_negative(self.price, "flat")

    @classmethod
    def read(cls, node: _Node) -> FlatPrice:
        price = node.amount("flat", required=True)
        assert price is not None
        return _build(node.path, lambda: cls(price))

    def settings(self) -> dict[str, Any]:
        return {"flat": _amount_text(self.price)}

    def reads(self, situation: Situation) -> None:
        return None  # the same for everyone

    def apply(self, seen: None, base: Decimal | None, label: str, rounding: RoundingPolicy) -> CriterionPrice:
        return CriterionPrice(self.price, (("tariff.flat", (self.price, label)),))


@attrs.frozen
class QfBand:
    """A quotient-familial band: QF in the half-open interval [lower, upper), open-ended when upper is None.

    A commune writes "651–1 000"; with decimal quotients that is [651, 1001) so that 1 000,50 has a
    band. ``label`` is the commune's own wording, shown to families ("651 à 1 000 €"); without it the
    interval is spelt out ("651 € à moins de 1 001 €").
    """

    lower: Decimal = attrs.field(converter=_decimal)
    upper: Decimal | None = attrs.field(converter=_optional_decimal)
    price: Decimal = attrs.field(converter=_decimal)
    label: str = ""

    def __attrs_post_init__(self) -> None:
        if self.lower < 0:
            raise _invalid(f"a band cannot start below 0, got {self.lower}", "from", "tariff.band_negative")
        if self.upper is not None and self.upper <= self.lower:
            raise _invalid(
                f"band [{self.lower}, {self.upper}) is empty: 'to' must be above 'from'",
                "to",
                "tariff.band_empty",
            )
        _not_negative(self.price, "price")

    def __contains__(self, quotient: object) -> bool:
        if not isinstance(quotient, Decimal | int):
            return False
        return self.lower <= quotient and (self.upper is None or quotient < self.upper)

    @property
    def display_label(self) -> str:
        """The commune's label, or the interval in words."""
        return self.label or _band_label(self.lower, self.upper)


def _bands(items: Iterable[QfBand]) -> tuple[QfBand, ...]:
    return tuple(items)


def _qf_band(band: QfBand, label: str) -> str:
    return f"tranche QF {band.display_label} : {fr_euros(band.price)} {label}"


@tariff_criterion
@attrs.frozen
class QuotientBands:
    """Prices by quotient-familial band, contiguous from 0 with no gap or overlap, the last open-ended.

    A QF of 0 is a real quotient and falls in the first band. A family whose QF is unknown pays the
    band ``unknown_band`` (an index into ``bands``), by default the highest. A higher band never
    costs less than a lower one.
    """

    bands: tuple[QfBand, ...] = attrs.field(converter=_bands)
    unknown_band: int | None = None
    _lowers: tuple[Decimal, ...] = attrs.field(init=False, eq=False, repr=False, hash=False)
    key: ClassVar[str] = "bands"
    role: ClassVar[CriterionRole] = CriterionRole.PRICE
    clauses: ClassVar[Mapping[str, Callable[..., str]]] = {
        "tariff.qf_band": _qf_band,
        "tariff.qf_unknown_band": lambda band, label: (
            "quotient familial non communiqué, " + _qf_band(band, label)
        ),
    }

    def __attrs_post_init__(self) -> None:
        bands = self.bands
        if not bands:
            raise _invalid("at least one band is needed", "bands", "tariff.no_band")
        if bands[0].lower != 0:
            raise _invalid(
                f"the first band must start at 0 (a QF of 0 is real), got {bands[0].lower}",
                "bands[0].from",
                "tariff.band_not_from_zero",
                "La première tranche de quotient doit commencer à 0.",
            )
        for index, (band, following) in enumerate(itertools.pairwise(bands)):
            if band.upper is None:
                raise _invalid(
                    "only the last band may be open-ended (no 'to')",
                    f"bands[{index}].to",
                    "tariff.band_open_before_last",
                )
            if following.lower > band.upper:
                raise _invalid(
                    f"gap between {band.upper} and {following.lower}: a QF there would have no price",
                    f"bands[{index + 1}].from",
                    "tariff.band_gap",
                    "Des quotients familiaux n'ont aucune tranche (trou entre deux tranches).",
                )
            if following.lower < band.upper:
                raise _invalid(
                    f"overlap: this band starts at {following.lower}, before the previous one ends at "
                    f"{band.upper}",
                    f"bands[{index + 1}].from",
                    "tariff.band_overlap",
                    "Deux tranches de quotient familial se chevauchent.",
                )
            if following.price < band.price:
                raise _invalid(
                    f"a higher band cannot cost less ({following.price} after {band.price})",
                    f"bands[{index + 1}].price",
                    "tariff.band_price_decreasing",
                )
        if bands[-1].upper is not None:
            raise _invalid(
                f"the last band must be open-ended: a QF of {bands[-1].upper} or more would have no price",
                f"bands[{len(bands) - 1}].to",
                "tariff.band_last_closed",
            )
        if self.unknown_band is not None and (
            isinstance(self.unknown_band, bool)
            or not isinstance(self.unknown_band, int)
            or not 0 <= self.unknown_band < len(bands)
        ):
            raise _invalid(
                f"unknown_qf_band must be a band index from 0 to {len(bands) - 1}, got {self.unknown_band!r}",
                "unknown_qf_band",
                "tariff.unknown_band",
            )
        object.__setattr__(self, "_lowers", tuple(band.lower for band in bands))

    @property
    def unknown_index(self) -> int:
        """The band used when the QF is unknown."""
        return len(self.bands) - 1 if self.unknown_band is None else self.unknown_band

    def index_for(self, quotient: Decimal) -> int:
        """The index of the band holding ``quotient`` (which is >= 0)."""
        return bisect.bisect_right(self._lowers, quotient) - 1

    @classmethod
    def read(cls, node: _Node) -> QuotientBands:
        bands = tuple(_read_band(path, item) for path, item in node.array("bands"))
        unknown = node.integer("unknown_qf_band")
        return _build(node.path, lambda: cls(bands, unknown))

    def settings(self) -> dict[str, Any]:
        bands: list[dict[str, Any]] = []
        for band in self.bands:
            item = {"from": _amount_text(band.lower)}
            if band.upper is not None:
                item["to"] = _amount_text(band.upper)
            item["price"] = _amount_text(band.price)
            if band.label:
                item["label"] = band.label
            bands.append(item)
        result: dict[str, Any] = {"bands": bands}
        if self.unknown_band is not None:
            result["unknown_qf_band"] = self.unknown_band
        return result

    def reads(self, situation: Situation) -> int | None:
        """The family's band, None when its QF is unknown (the unknown band says so to the family)."""
        quotient = situation.quotient
        return None if quotient is None else self.index_for(quotient)

    def apply(
        self, seen: int | None, base: Decimal | None, label: str, rounding: RoundingPolicy
    ) -> CriterionPrice:
        if seen is None:
            band = self.bands[self.unknown_index]
            return CriterionPrice(band.price, (("tariff.qf_unknown_band", (band, label)),))
        band = self.bands[seen]
        return CriterionPrice(band.price, (("tariff.qf_band", (band, label)),))


def _effort(rate: Decimal, quotient: Decimal, raw: Decimal, label: str, rounding: RoundingPolicy) -> str:
    price = fr_euros(rounding.round(raw))
    return f"taux d'effort {fr_percent(rate)} × QF {fr_quotient(quotient)} : {price} {label}"


@tariff_criterion
@attrs.frozen
class EffortRate:
    """*Taux d'effort*: the price is ``rate_percent`` % of the QF, kept within [floor, ceiling].

    An unknown QF pays the ceiling. A higher QF never pays less.
    """

    rate_percent: Decimal = attrs.field(converter=_decimal)
    floor: Decimal = attrs.field(converter=_decimal)
    ceiling: Decimal = attrs.field(converter=_decimal)
    _rate: Decimal = attrs.field(init=False, eq=False, repr=False, hash=False)
    key: ClassVar[str] = "effort"
    role: ClassVar[CriterionRole] = CriterionRole.PRICE
    clauses: ClassVar[Mapping[str, Callable[..., str]]] = {
        "tariff.effort_rate": _effort,
        "tariff.effort_floor": lambda rate, quotient, floor, label: (
            f"taux d'effort {fr_percent(rate)} × QF {fr_quotient(quotient)}, porté au prix plancher : "
            f"{fr_euros(floor)} {label}"
        ),
        "tariff.effort_ceiling": lambda rate, quotient, ceiling, label: (
            f"taux d'effort {fr_percent(rate)} × QF {fr_quotient(quotient)}, limité au prix plafond : "
            f"{fr_euros(ceiling)} {label}"
        ),
        "tariff.effort_unknown": lambda ceiling, label: (
            f"quotient familial non communiqué, prix plafond : {fr_euros(ceiling)} {label}"
        ),
    }

    def __attrs_post_init__(self) -> None:
        if self.rate_percent <= 0:
            raise _invalid(
                f"the rate must be positive, got {self.rate_percent}", "rate_percent", "tariff.rate"
            )
        _not_negative(self.floor, "floor")
        if self.ceiling < self.floor:
            raise _invalid(
                f"the ceiling {self.ceiling} is below the floor {self.floor}",
                "ceiling",
                "tariff.ceiling_below_floor",
            )
        object.__setattr__(self, "_rate", self.rate_percent / _HUNDRED)

    def raw_price(self, quotient: Decimal) -> Decimal:
        """Rate × QF, before floor and ceiling."""
        return self._rate * quotient

    def price_for(self, quotient: Decimal | None) -> Decimal:
        """The price for a QF (the ceiling when unknown), within [floor, ceiling]."""
        if quotient is None:
            return self.ceiling
        return min(max(self._rate * quotient, self.floor), self.ceiling)

    @classmethod
    def read(cls, node: _Node) -> EffortRate:
        effort = node.table("effort")
        assert effort is not None
        return _read_effort(effort)

    def settings(self) -> dict[str, Any]:
        return {
            "effort": {
                "rate_percent": _amount_text(self.rate_percent),
                "floor": _amount_text(self.floor),
                "ceiling": _amount_text(self.ceiling),
            }
        }

    def reads(self, situation: Situation) -> Decimal | None:
        """The QF itself: the price follows it."""
        return situation.quotient

    def apply(
        self, seen: Decimal | None, base: Decimal | None, label: str, rounding: RoundingPolicy
    ) -> CriterionPrice:
        if seen is None:
            return CriterionPrice(self.ceiling, (("tariff.effort_unknown", (self.ceiling, label)),))
        raw = self.raw_price(seen)
        if raw < self.floor:
            return CriterionPrice(
                self.floor, (("tariff.effort_floor", (self.rate_percent, seen, self.floor, label)),)
            )
        if raw > self.ceiling:
            return CriterionPrice(
                self.ceiling, (("tariff.effort_ceiling", (self.rate_percent, seen, self.ceiling, label)),)
            )
        return CriterionPrice(raw, (("tariff.effort_rate", (self.rate_percent, seen, raw, label, rounding)),))


def _base_rules(items: Iterable[TariffCriterion]) -> tuple[TariffCriterion, ...]:
    return tuple(items)


@tariff_criterion
@attrs.frozen
class PriceByChildren:
    """A price by the family's number of children: ``rules[0]`` for one child, ``rules[1]`` for two…

    The last rule applies to larger families too. Each rule is another price rule — a flat price, bands
    or a taux d'effort (the CAF's scales lower the rate as the family grows) — but not a price by
    children again.
    """

    rules: tuple[TariffCriterion, ...] = attrs.field(converter=_base_rules)
    key: ClassVar[str] = "by_children"
    role: ClassVar[CriterionRole] = CriterionRole.PRICE
    nestable: ClassVar[bool] = False
    clauses: ClassVar[Mapping[str, Callable[..., str]]] = {
        "tariff.children_count": lambda n: "famille d'un enfant" if n == 1 else f"famille de {n} enfants",
    }

    def __attrs_post_init__(self) -> None:
        if not self.rules:
            raise _invalid("at least one price is needed", "by_children", "tariff.no_children_price")
        for index, rule in enumerate(self.rules):
            if not is_tariff_criterion(rule, CriterionRole.PRICE) or not getattr(rule, "nestable", True):
                raise _invalid(
                    f"expected a flat price, bands or a taux d'effort, got {type(rule).__name__}",
                    f"by_children[{index}]",
                    "tariff.rule_type",
                )

    def rule_for(self, children: int) -> TariffCriterion:
        return self.rules[min(children, len(self.rules)) - 1]

    @classmethod
    def read(cls, node: _Node) -> PriceByChildren:
        rules: list[TariffCriterion] = []
        for path, item in node.array("by_children"):
            if isinstance(item, str | int | float) and not isinstance(item, bool):
                rules.append(_build(path, _flat_maker(_amount_value(item, path))))
                continue
            sub = _Node(item, path)
            rule = _read_rule(sub, nested=True)
            sub.done()
            rules.append(rule)
        return _build(node.path, lambda: cls(tuple(rules)))

    def settings(self) -> dict[str, Any]:
        return {
            "by_children": [
                _amount_text(rule.price) if isinstance(rule, FlatPrice) else rule.settings()
                for rule in self.rules
            ]
        }

    def reads(self, situation: Situation) -> tuple[int, Hashable]:
        """The family's size (the explanation names it) and what the rule for that size reads."""
        children = situation.children
        return children, self.rule_for(children).reads(situation)

    def apply(
        self, seen: tuple[int, Hashable], base: Decimal | None, label: str, rounding: RoundingPolicy
    ) -> CriterionPrice:
        children, inner_seen = seen
        inner = self.rule_for(children).apply(inner_seen, base, label, rounding)
        assert inner is not None  # a price rule always gives a price
        return CriterionPrice(inner.price, (("tariff.children_count", (children,)), *inner.clauses))


PriceRule: TypeAlias = FlatPrice | QuotientBands | EffortRate | PriceByChildren
"""The price rules shipped with the library (any ``CriterionRole.PRICE`` criterion is a price rule)."""


@tariff_criterion
@attrs.frozen
class NonResidentPrice:
    """A flat price for families living outside the commune (``non_resident = "5.80"``), without QF or
    sibling reduction."""

    price: Decimal = attrs.field(converter=_decimal)
    key: ClassVar[str] = "non_resident"
    role: ClassVar[CriterionRole] = CriterionRole.OVERRIDE
    clauses: ClassVar[Mapping[str, Callable[..., str]]] = {
        "tariff.non_resident": lambda price, label: f"tarif hors commune : {fr_euros(price)} {label}",
    }

    def __attrs_post_init__(self) -> None:
        _not_negative(self.price, "")

    @classmethod
    def read(cls, node: _Node) -> NonResidentPrice:
        price = node.amount("non_resident", required=True)
        assert price is not None
        return _build(node.at("non_resident"), lambda: cls(price))

    def settings(self) -> dict[str, Any]:
        return {"non_resident": _amount_text(self.price)}

    def reads(self, situation: Situation) -> bool:
        """Whether the family lives outside the commune."""
        return not situation.resident

    def apply(
        self, seen: bool, base: Decimal | None, label: str, rounding: RoundingPolicy
    ) -> CriterionPrice | None:
        if not seen:
            return None
        return CriterionPrice(self.price, (("tariff.non_resident", (self.price, label)),), final=True)


@tariff_criterion
@attrs.frozen
class PaiPrice:
    """A flat price for a child with a PAI, whose family brings the meal (``pai = "1.20"``), whatever the
    residence."""

    price: Decimal = attrs.field(converter=_decimal)
    key: ClassVar[str] = "pai"
    role: ClassVar[CriterionRole] = CriterionRole.OVERRIDE
    clauses: ClassVar[Mapping[str, Callable[..., str]]] = {
        "tariff.pai": lambda price, label: (
            f"tarif PAI (repas fourni par la famille) : {fr_euros(price)} {label}"
        ),
    }

    def __attrs_post_init__(self) -> None:
        _not_negative(self.price, "")

    @classmethod
    def read(cls, node: _Node) -> PaiPrice:
        price = node.amount("pai", required=True)
        assert price is not None
        return _build(node.at("pai"), lambda: cls(price))

    def settings(self) -> dict[str, Any]:
        return {"pai": _amount_text(self.price)}

    def reads(self, situation: Situation) -> bool:
        """Whether the child has a PAI."""
        return situation.pai

    def apply(
        self, seen: bool, base: Decimal | None, label: str, rounding: RoundingPolicy
    ) -> CriterionPrice | None:
        if not seen:
            return None
        return CriterionPrice(self.price, (("tariff.pai", (self.price, label)),), final=True)


def _percents(items: Iterable[Decimal | int | str]) -> tuple[Decimal, ...]:
    return tuple(_decimal(item) for item in items)


@tariff_criterion
@attrs.frozen
class RankReduction:
    """A sibling reduction by the child's rank: ``percent_off[0]`` for the 1st child, ``[1]`` for the 2nd…

    The last percentage applies to every later child: ``("0", "10", "50")`` is "2nd child −10 %, 3rd and
    next −50 %". The reduction applies to the unit price.
    """

    percent_off: tuple[Decimal, ...] = attrs.field(converter=_percents)
    key: ClassVar[str] = "sibling_reduction"
    role: ClassVar[CriterionRole] = CriterionRole.REDUCTION
    clauses: ClassVar[Mapping[str, Callable[..., str]]] = {
        "tariff.sibling_rank": lambda rank, percent: f"{fr_ordinal(rank)} enfant \u2212{fr_percent(percent)}",
    }

    def __attrs_post_init__(self) -> None:
        if not self.percent_off:
            raise _invalid("at least one percentage is needed", "", "tariff.no_reduction")
        for index, percent in enumerate(self.percent_off):
            if not 0 <= percent <= 100:
                raise _invalid(
                    f"a reduction is a percentage from 0 to 100, got {percent}",
                    f"[{index}]",
                    "tariff.reduction_range",
                )

    def percent_for(self, rank: int) -> Decimal:
        return self.percent_off[min(rank, len(self.percent_off)) - 1]

    @classmethod
    def read(cls, node: _Node) -> RankReduction:
        percents = tuple(_amount_value(item, path) for path, item in node.array("sibling_reduction"))
        return _build(node.at("sibling_reduction"), lambda: cls(percents))

    def settings(self) -> dict[str, Any]:
        return {"sibling_reduction": [_amount_text(percent) for percent in self.percent_off]}

    def reads(self, situation: Situation) -> int:
        """The child's rank (the explanation names it)."""
        return situation.child_rank

    def apply(
        self, seen: int, base: Decimal | None, label: str, rounding: RoundingPolicy
    ) -> CriterionPrice | None:
        percent = self.percent_for(seen)
        if not percent or base is None:
            return None
        return CriterionPrice(
            base * (_HUNDRED - percent) / _HUNDRED, (("tariff.sibling_rank", (seen, percent)),)
        )


# -- surcharges -------------------------------------------------------------------------------


class SurchargeKind(enum.Enum):
    """The two surcharges communes apply, always as a line of their own.

    A tariff sets only the surcharge for presence without booking (``unbooked_presence``); the one for a
    late booking is set by the prestation's booking rule (``after_deadline``), which accepts the booking.
    """

    LATE_BOOKING = "late_booking"
    UNBOOKED_PRESENCE = "unbooked_presence"

    @property
    def label(self) -> str:
        return _SURCHARGE_LABELS[self]


_SURCHARGE_LABELS: Final = {
    SurchargeKind.LATE_BOOKING: "réservation tardive",
    SurchargeKind.UNBOOKED_PRESENCE: "présence sans réservation",
}


def _tolerance(instance: object, attribute: attrs.Attribute[int], value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise _invalid(
            f"the tolerance is a number of days (0 or more), got {value!r}", "tolerance", "tariff.tolerance"
        )


def _money(value: Money | Decimal | int | str) -> Money:
    return value if isinstance(value, Money) else Money(value)


@attrs.frozen
class FixedSurcharge:
    """A fixed amount per occurrence (a day, or one timed attendance), after ``tolerance`` free ones."""

    amount: Money = attrs.field(converter=_money)
    tolerance: int = attrs.field(default=0, validator=_tolerance)

    def __attrs_post_init__(self) -> None:
        if self.amount.cents <= 0:
            raise _invalid(f"a surcharge must be positive, got {self.amount}", "fixed", "tariff.surcharge")


@attrs.frozen
class PercentSurcharge:
    """A percentage of the unit price (20 → +20 %), after ``tolerance`` free occurrences."""

    percent: Decimal = attrs.field(converter=_decimal)
    tolerance: int = attrs.field(default=0, validator=_tolerance)

    def __attrs_post_init__(self) -> None:
        if self.percent <= 0:
            raise _invalid(
                f"a surcharge must be positive, got {self.percent} %", "percent", "tariff.surcharge"
            )

    @property
    def factor(self) -> Decimal:
        """The surcharge line's share of the unit price."""
        return self.percent / _HUNDRED


@attrs.frozen
class MultiplierSurcharge:
    """The price times ``multiplier`` in all: the surcharge line carries the part above 1 (×1,5 → +50 %)."""

    multiplier: Decimal = attrs.field(converter=_decimal)
    tolerance: int = attrs.field(default=0, validator=_tolerance)

    def __attrs_post_init__(self) -> None:
        if self.multiplier <= 1:
            raise _invalid(
                f"a multiplier must be above 1, got {self.multiplier}", "multiplier", "tariff.surcharge"
            )

    @property
    def factor(self) -> Decimal:
        return self.multiplier - 1


SurchargeRule: TypeAlias = FixedSurcharge | PercentSurcharge | MultiplierSurcharge


# -- attendance effects -----------------------------------------------------------------------

ATTENDANCE_STATUSES: Final = (
    "present",
    "absent_justified",
    "absent_unjustified",
    "present_unbooked",
    "cancelled_in_time",
    "service_closed",
)
"""The attendance statuses an agent records (owned by ``espacefamille.rules``; plain strings here)."""

_STATUS_LABELS: Final = {
    "present": "présence",
    "absent_justified": "absence justifiée",
    "absent_unjustified": "absence non justifiée",
    "present_unbooked": "présence sans réservation",
    "cancelled_in_time": "annulation dans les délais",
    "service_closed": "service fermé par la commune",
}


def status_text(code: object) -> str:
    """How an attendance status or a commune's absence reason is said in a clause (``absence justifiée``)."""
    return _STATUS_LABELS.get(str(code), str(code).replace("_", " "))


class AttendanceEffect(Protocol):
    """What an attendance status or absence reason does to a day's price: its TOML name, how it is read
    and written, and the price it bills.

    Each effect is one frozen class decorated with ``@attendance_effect``, the registry a price list's
    ``attendance`` table is read with. An effect without settings is written by its name alone
    (``"full"``); one with settings as a table keyed by its name (``{ fixed = "5.00" }``).
    """

    name: ClassVar[str]
    clauses: ClassVar[Mapping[str, Callable[..., str]]]
    by_name: ClassVar[bool]
    """Whether it is written by its name alone (``"full"``), else as ``{ <name> = "<amount>" }``."""
    per_occurrence: ClassVar[bool]
    """Whether it bills an amount per attendance whatever the unit price and minutes (a fixed amount)."""
    follows_price: ClassVar[bool]
    """Whether what it bills follows the unit price, so an exceptional tariff changes it too."""

    @classmethod
    def read(cls, value: Decimal | None, path: str) -> AttendanceEffect:
        """The effect from the amount written under its name (None when written by its name alone)."""
        ...

    def setting(self) -> str | None:
        """The amount written under its name (None when it is written by its name alone)."""
        ...

    def billed(self, unit_price: Decimal) -> Decimal:
        """The unit price of a day of this status, from the tariff's unit price."""
        ...

    def clause(self, status: str) -> Clause | None:
        """The reason it adds to the explanation of a day of ``status``, if any."""
        ...

    def share(self) -> Decimal | None:
        """The percentage of the price it bills, when it is neither all nor nothing nor a fixed amount."""
        ...


_EFFECTS: Final[dict[str, type[AttendanceEffect]]] = {}
_A = TypeVar("_A", bound=type[AttendanceEffect])


def attendance_effect(kind: _A) -> _A:
    """Register an attendance effect under its ``name`` (a class decorator; a name is used once)."""
    if kind.name in _EFFECTS:
        raise InvalidInput(f"attendance effect {kind.name!r} registered twice", code="tariff.effect_twice")
    _register_clauses(f"attendance effect {kind.name!r}", kind.clauses)
    _EFFECTS[kind.name] = kind
    return kind


def attendance_effects() -> Mapping[str, type[AttendanceEffect]]:
    """The registered attendance effects by TOML name, in registration order (a read-only view)."""
    return types.MappingProxyType(_EFFECTS)


def is_attendance_effect(value: object) -> bool:
    """Whether ``value`` is an effect of a registered kind."""
    return type(value) in _EFFECTS.values()


class _ByName:
    """An effect written by its name alone."""

    by_name: ClassVar[bool] = True
    per_occurrence: ClassVar[bool] = False

    @classmethod
    def read(cls, value: Decimal | None, path: str) -> Self:
        return cls()

    def setting(self) -> str | None:
        return None

    def share(self) -> Decimal | None:
        return None


@attendance_effect
@attrs.frozen
class FullPrice(_ByName):
    """The status is billed at the tariff's price (``"full"``)."""

    name: ClassVar[str] = "full"
    follows_price: ClassVar[bool] = True
    clauses: ClassVar[Mapping[str, Callable[..., str]]] = {
        "tariff.attendance_full": lambda status: f"{status_text(status)} : prix dû",
    }

    def billed(self, unit_price: Decimal) -> Decimal:
        return unit_price

    def clause(self, status: str) -> Clause | None:
        return None if status == "present" else ("tariff.attendance_full", (status,))


@attendance_effect
@attrs.frozen
class NoCharge(_ByName):
    """The status is not billed (``"zero"``)."""

    name: ClassVar[str] = "zero"
    follows_price: ClassVar[bool] = False
    clauses: ClassVar[Mapping[str, Callable[..., str]]] = {
        "tariff.attendance_zero": lambda status: f"{status_text(status)} : rien à payer",
    }

    def billed(self, unit_price: Decimal) -> Decimal:
        return _ZERO

    def clause(self, status: str) -> Clause | None:
        return ("tariff.attendance_zero", (status,))


@attendance_effect
@attrs.frozen
class FixedAmount:
    """The status is billed a fixed amount per occurrence, whatever the tariff (negative: a credit);
    ``{ fixed = "5.00" }``."""

    amount: Money = attrs.field(converter=_money)
    name: ClassVar[str] = "fixed"
    by_name: ClassVar[bool] = False
    per_occurrence: ClassVar[bool] = True
    follows_price: ClassVar[bool] = False
    clauses: ClassVar[Mapping[str, Callable[..., str]]] = {
        "tariff.attendance_fixed": lambda status, amount: (
            f"{status_text(status)} : forfait de {fr_euros(amount)}"
        ),
    }

    @classmethod
    def read(cls, value: Decimal | None, path: str) -> FixedAmount:
        assert value is not None
        return _build(path, lambda: cls(Money(value)))

    def setting(self) -> str | None:
        return _amount_text(self.amount.amount)

    def billed(self, unit_price: Decimal) -> Decimal:
        return self.amount.amount

    def clause(self, status: str) -> Clause | None:
        return ("tariff.attendance_fixed", (status, self.amount))

    def share(self) -> Decimal | None:
        return None


def _attendance_percent(status: object, percent: Decimal) -> str:
    if percent < 0:
        return f"{status_text(status)} : avoir de {fr_percent(-percent)} du prix"
    return f"{status_text(status)} : {fr_percent(percent)} du prix"


@attendance_effect
@attrs.frozen
class PercentOfPrice:
    """The status is billed a percentage of the unit price; negative gives a credit (−100: refunded);
    ``{ percent = "50" }``."""

    percent: Decimal = attrs.field(converter=_decimal)
    name: ClassVar[str] = "percent"
    by_name: ClassVar[bool] = False
    per_occurrence: ClassVar[bool] = False
    follows_price: ClassVar[bool] = True
    clauses: ClassVar[Mapping[str, Callable[..., str]]] = {"tariff.attendance_percent": _attendance_percent}

    @classmethod
    def read(cls, value: Decimal | None, path: str) -> PercentOfPrice:
        assert value is not None
        return cls(value)

    def setting(self) -> str | None:
        return _amount_text(self.percent)

    def billed(self, unit_price: Decimal) -> Decimal:
        return unit_price * self.percent / _HUNDRED

    def clause(self, status: str) -> Clause | None:
        return ("tariff.attendance_percent", (status, self.percent))

    def share(self) -> Decimal | None:
        return self.percent


FULL_PRICE: Final = FullPrice()
NO_CHARGE: Final = NoCharge()

_Entries: TypeAlias = tuple[tuple[str, AttendanceEffect], ...]


def _effect_entries(value: Mapping[str, AttendanceEffect]) -> _Entries:
    # Typed as a mapping so that a dict literal reads well; the stored pairs are accepted back too.
    pairs: Iterable[tuple[str, AttendanceEffect]] = value.items() if isinstance(value, Mapping) else value
    return tuple(sorted(pairs, key=lambda pair: pair[0]))


@attrs.frozen
class AttendanceEffects(Mapping[str, AttendanceEffect]):
    """What each attendance status or absence reason costs, keyed by its code (``"absent_justified"``).

    The status codes belong to the booking rules; a commune may add its own absence reasons.
    """

    entries: _Entries = attrs.field(converter=_effect_entries)
    _table: dict[str, AttendanceEffect] = attrs.field(init=False, eq=False, repr=False, hash=False)

    def __attrs_post_init__(self) -> None:
        table: dict[str, AttendanceEffect] = {}
        for code, effect in self.entries:
            if not isinstance(code, str) or not IDENTIFIER.match(code):
                raise _invalid(f"a status code must be an identifier, got {code!r}", "", "tariff.status_code")
            if code in table:
                raise _invalid(f"status {code!r} is given twice", code, "config.duplicate_id")
            if not is_attendance_effect(effect):
                raise _invalid(
                    f"expected an attendance effect, got {type(effect).__name__}", code, "tariff.effect_type"
                )
            table[code] = effect
        object.__setattr__(self, "_table", table)

    def __getitem__(self, code: str) -> AttendanceEffect:
        return self._table[code]

    def __iter__(self) -> Iterator[str]:
        return iter(self._table)

    def __len__(self) -> int:
        return len(self._table)

    def updated(self, overrides: Mapping[str, AttendanceEffect]) -> AttendanceEffects:
        """These effects with some statuses priced differently (a prestation's own rules)."""
        return AttendanceEffects({**self._table, **overrides})


_DEFAULT_EFFECTS: dict[str, AttendanceEffect] = {
    "present": FULL_PRICE,
    "absent_justified": NO_CHARGE,
    "absent_unjustified": FULL_PRICE,
    "present_unbooked": FULL_PRICE,
    "cancelled_in_time": NO_CHARGE,
    "service_closed": NO_CHARGE,
}
DEFAULT_ATTENDANCE_EFFECTS: Final = AttendanceEffects(_DEFAULT_EFFECTS)
"""What a price list applies unless it says otherwise: booked days are due unless justified,
cancelled in time or closed by the commune."""


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
        _not_negative(self.non_resident, "non_resident")
        _not_negative(self.pai, "pai")
        if self.sibling_reduction is not None and isinstance(self.rule, PriceByChildren):
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


@attrs.frozen
class PriceList:
    """The prices of one period (a school year, from 1 September), for every priced prestation."""

    label: str
    validity: DateRange = attrs.field(validator=attrs.validators.instance_of(DateRange))
    prices: tuple[PrestationTariff, ...] = attrs.field(converter=_tariffs)
    attendance: AttendanceEffects = DEFAULT_ATTENDANCE_EFFECTS
    qf_change: QfChangeRule = QfChangeRule.NEXT_MONTH
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
        object.__setattr__(self, "_by_id", by_id)

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


@attrs.frozen
class TariffBook:
    """Every price list of a commune, in date order; their validity ranges never overlap."""

    price_lists: tuple[PriceList, ...] = attrs.field(converter=_price_lists, default=())
    _starts: tuple[dt.date, ...] = attrs.field(init=False, eq=False, repr=False, hash=False)

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
        object.__setattr__(self, "price_lists", ordered)
        object.__setattr__(self, "_starts", tuple(p.validity.start for p in ordered))

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


# -- configuration as data --------------------------------------------------------------------


def _join(prefix: str, path: str) -> str:
    if not path:
        return prefix
    if not prefix or path.startswith("["):
        return prefix + path
    return f"{prefix}.{path}"


class _Node:
    """A tariff table being read, as a criterion's ``read(node)`` gets it: the shared ``Table`` underneath
    (types, missing and unknown keys, key paths), amounts as ``Decimal``, an unknown key named by its table.
    """

    def __init__(self, data: object, path: str) -> None:
        self._table = Table(data, path)
        self.data: Mapping[str, Any] = self._table.data
        self.path = path

    def at(self, key: str) -> str:
        return _join(self.path, key)

    def has(self, key: str) -> bool:
        return key in self.data

    def get(self, key: str, required: bool = False) -> Any:
        return self._table.raw(key, required)

    def string(self, key: str, required: bool = False) -> str | None:
        return self._table.string(key, REQUIRED if required else None)

    def boolean(self, key: str) -> bool:
        return self._table.boolean(key, False)

    def integer(self, key: str) -> int | None:
        return self._table.integer(key, None)

    def date(self, key: str) -> dt.date:
        return self._table.date(key)

    def amount(self, key: str, required: bool = False) -> Decimal | None:
        value = self.get(key, required)
        return None if value is None else _amount_value(value, self.at(key))

    def choice(self, key: str, enum_type: type[_E], default: _E | None = None) -> _E:
        return self._table.choice(key, enum_type, REQUIRED if default is None else default)

    def table(self, key: str) -> _Node | None:
        value = self.get(key)
        return None if value is None else _Node(value, self.at(key))

    def array(self, key: str) -> list[tuple[str, Any]]:
        """The items of an array with their key paths (``bands[2]``)."""
        return list(self._table.items(key))

    def done(self) -> None:
        try:
            self._table.done()
        except InvalidConfiguration as error:
            # A tariff table is named itself when it has a key too many (the paths docs/tariffs.md shows).
            raise _invalid(error.reason, self.path, error.code) from None


def _amount_value(value: object, path: str) -> Decimal:
    exact = exact_number(value, path)
    return _build(path, lambda: to_decimal(exact, what="amount"))


def _build(path: str, make: Callable[[], _T]) -> _T:
    """Build a value, locating any error of the library under ``path``."""
    try:
        return make()
    except InvalidConfiguration as error:
        raise InvalidConfiguration(
            error.reason,
            path=_join(path, error.path),
            message_fr=error.reason_fr,
            code=error.code,
            details=error.details,
        ) from None
    except EspaceFamilleError as error:
        raise InvalidConfiguration(error.message, path=path, code=error.code) from None


def _read_band(path: str, data: object) -> QfBand:
    node = _Node(data, path)
    lower = node.amount("from", required=True)
    upper = node.amount("to")
    price = node.amount("price", required=True)
    label = node.string("label") or ""
    node.done()
    assert lower is not None
    assert price is not None
    return _build(path, lambda: QfBand(lower, upper, price, label))


def _read_effort(node: _Node) -> EffortRate:
    rate = node.amount("rate_percent", required=True)
    floor = node.amount("floor", required=True)
    ceiling = node.amount("ceiling", required=True)
    node.done()
    assert rate is not None
    assert floor is not None
    assert ceiling is not None
    return _build(node.path, lambda: EffortRate(rate, floor, ceiling))


def _read_rule(node: _Node, *, nested: bool = False) -> TariffCriterion:
    """The one price rule of a table, by the registered price criteria: ``flat``, ``bands``, ``effort``…"""
    allowed = [kind.key for kind in _price_criteria(nested=nested)]
    present = [key for key in allowed if node.has(key)]
    if not present:
        raise _invalid(f"a price needs one of {', '.join(allowed)}", node.path, "tariff.no_price_rule")
    if len(present) > 1:
        raise _invalid(
            f"give only one price rule, got {' and '.join(present)}",
            node.at(present[1]),
            "tariff.rule_conflict",
        )
    return _CRITERIA[present[0]].read(node)


def _flat_maker(price: Decimal) -> Callable[[], FlatPrice]:
    return lambda: FlatPrice(price)


def _read_surcharge(node: _Node) -> SurchargeRule:
    tolerance = node.integer("tolerance") or 0
    present = [key for key in ("fixed", "percent", "multiplier") if node.has(key)]
    if len(present) != 1:
        raise _invalid(
            "a surcharge needs exactly one of fixed, percent, multiplier", node.path, "tariff.surcharge_kind"
        )
    value = node.amount(present[0])
    node.done()
    assert value is not None
    makers: dict[str, Callable[[], SurchargeRule]] = {
        "fixed": lambda: FixedSurcharge(Money(value), tolerance),
        "percent": lambda: PercentSurcharge(value, tolerance),
        "multiplier": lambda: MultiplierSurcharge(value, tolerance),
    }
    return _build(node.path, makers[present[0]])


def _read_effect(path: str, value: object) -> AttendanceEffect:
    """An effect by the registered effects: a name alone (``"full"``) or a table keyed by a name."""
    if isinstance(value, str):
        kind = _EFFECTS.get(value)
        if kind is not None and kind.by_name:
            return kind.read(None, path)
    elif isinstance(value, dict):
        node = _Node(value, path)
        present = [name for name, kind in _EFFECTS.items() if not kind.by_name and node.has(name)]
        if len(present) == 1:
            amount = node.amount(present[0])
            node.done()
            return _EFFECTS[present[0]].read(amount, path)
    forms = [f'"{name}"' if kind.by_name else f'{{ {name} = "…" }}' for name, kind in _EFFECTS.items()]
    raise _invalid(
        f"expected {', '.join(forms[:-1])} or {forms[-1]}, got {value!r}",
        path,
        "tariff.effect_type",
    )


def _read_effects(node: _Node) -> AttendanceEffects:
    entries = {code: _read_effect(node.at(code), node.get(code)) for code in list(node.data)}
    return _build(node.path, lambda: AttendanceEffects(entries))


def _read_prestation(node: _Node, prestation_id: str) -> PrestationTariff:
    unit = node.choice("unit", PriceUnit)
    unit_label = node.string("unit_label") or ""
    count_started = node.boolean("count_started")
    rule = _read_rule(node)
    # The shipped overrides and reduction have fields of their own; other registered ones go together.
    found: dict[str, TariffCriterion] = {}
    for key in (*_SLOTTED, *_CRITERIA):
        kind = _CRITERIA[key]
        if kind.role is not CriterionRole.PRICE and key not in found and node.has(key):
            found[key] = kind.read(node)
    non_resident, pai = found.pop(NonResidentPrice.key, None), found.pop(PaiPrice.key, None)
    reduction = found.pop(RankReduction.key, None)
    assert non_resident is None or isinstance(non_resident, NonResidentPrice)
    assert pai is None or isinstance(pai, PaiPrice)
    assert reduction is None or isinstance(reduction, RankReduction)
    if node.has("late_booking"):
        raise _invalid(
            "late_booking is no longer a tariff setting: the late-booking surcharge is now set by the "
            f"prestation's booking rule, in the booking table of prestation {prestation_id!r}: "
            'after_deadline = { policy = "surcharge", percent = "…" } (or amount = "…" euros); '
            "move it there and remove late_booking from the price list",
            node.at("late_booking"),
            "tariff.late_booking_moved",
            "La majoration pour réservation tardive se règle désormais dans les règles de réservation de la "
            "prestation (after_deadline), plus dans la grille tarifaire.",
        )
    unbooked_node = node.table("unbooked_presence")
    unbooked = None if unbooked_node is None else _read_surcharge(unbooked_node)
    attendance_node = node.table("attendance")
    attendance = None if attendance_node is None else _read_effects(attendance_node)
    node.done()
    return _build(
        node.path,
        lambda: PrestationTariff(
            prestation_id,
            unit,
            rule,
            unit_label=unit_label,
            count_started=count_started,
            non_resident=None if non_resident is None else non_resident.price,
            pai=None if pai is None else pai.price,
            sibling_reduction=reduction,
            unbooked_presence=unbooked,
            attendance=attendance,
            extra_criteria=tuple(found.values()),
        ),
    )


def _read_price_list(node: _Node) -> PriceList:
    label = node.string("label", required=True)
    start, end = node.date("start"), node.date("end")
    validity = _build(node.at("end"), lambda: DateRange(start, end))
    qf_change = node.choice("qf_change", QfChangeRule, QfChangeRule.NEXT_MONTH)
    attendance_node = node.table("attendance")
    attendance = DEFAULT_ATTENDANCE_EFFECTS if attendance_node is None else _read_effects(attendance_node)
    prices_node = node.table("prices")
    tariffs: list[PrestationTariff] = []
    if prices_node is not None:
        for prestation_id in list(prices_node.data):
            sub = prices_node.table(prestation_id)
            assert sub is not None
            tariffs.append(_read_prestation(sub, prestation_id))
    node.done()
    assert label is not None
    return _build(node.path, lambda: PriceList(label, validity, tuple(tariffs), attendance, qf_change))


def tariff_book_from_dict(data: Mapping[str, Any], path: str = "") -> TariffBook:
    """The ``TariffBook`` of a parsed commune document: its top-level ``[[tariffs]]`` array.

    Only the ``tariffs`` key of ``data`` is read (a missing key is an empty book); ``path`` prefixes
    the key paths of errors when the document sits under another key. Errors are
    ``InvalidConfiguration`` with the key path (``tariffs[0].prices.repas.bands[2].from``) and a stable
    code; amounts are strings (``"3.20"``), and TOML floats are refused ("config.float_amount").
    """
    holder = _Node(dict(data), path)
    lists = [_read_price_list(_Node(item, item_path)) for item_path, item in holder.array("tariffs")]
    return _build(path, lambda: TariffBook(tuple(lists)))


def _amount_text(value: Decimal) -> str:
    return format(value, "f")


def _surcharge_dict(rule: SurchargeRule) -> dict[str, Any]:
    if isinstance(rule, FixedSurcharge):
        result: dict[str, Any] = {"fixed": _amount_text(rule.amount.amount)}
    elif isinstance(rule, PercentSurcharge):
        result = {"percent": _amount_text(rule.percent)}
    else:
        result = {"multiplier": _amount_text(rule.multiplier)}
    if rule.tolerance:
        result["tolerance"] = rule.tolerance
    return result


def _effects_dict(effects: AttendanceEffects) -> dict[str, Any]:
    return {
        code: effect.name if effect.by_name else {effect.name: effect.setting()}
        for code, effect in effects.items()
    }


def _tariff_dict(tariff: PrestationTariff) -> dict[str, Any]:
    result: dict[str, Any] = {"unit": tariff.unit.value}
    if tariff.unit_label:
        result["unit_label"] = tariff.unit_label
    if tariff.count_started:
        result["count_started"] = True
    result.update(tariff.rule.settings())
    if tariff.non_resident is not None:
        result.update(NonResidentPrice(tariff.non_resident).settings())
    if tariff.pai is not None:
        result.update(PaiPrice(tariff.pai).settings())
    if tariff.sibling_reduction is not None:
        result.update(tariff.sibling_reduction.settings())
    for criterion in tariff.extra_criteria:
        result.update(criterion.settings())
    if tariff.unbooked_presence is not None:
        result["unbooked_presence"] = _surcharge_dict(tariff.unbooked_presence)
    if tariff.attendance is not None:
        result["attendance"] = _effects_dict(tariff.attendance)
    return result


def tariff_book_to_dict(book: TariffBook) -> dict[str, Any]:
    """``{"tariffs": [...]}`` for the commune's TOML file; ``tariff_book_from_dict`` reads it back equal."""
    return {
        "tariffs": [
            {
                "label": price_list.label,
                "start": price_list.validity.start,
                "end": price_list.validity.end,
                "qf_change": price_list.qf_change.value,
                "attendance": _effects_dict(price_list.attendance),
                "prices": {t.prestation_id: _tariff_dict(t) for t in price_list.prices},
            }
            for price_list in book.price_lists
        ]
    }
