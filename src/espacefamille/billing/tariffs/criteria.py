"""Tariff criteria (``@tariff_criterion``): the price rules (flat, QF bands, taux d'effort, by family size),
the PAI and non-resident prices and the sibling reduction, each reading its facts and pricing from them alone.

Why one module of some 700 lines: the registry, the protocol and the shipped criteria are read together
(``_read_rule`` asks the registry for the one price rule of a table, ``PriceByChildren`` nests the others).
"""

from __future__ import annotations

import bisect
import enum
import itertools
import types
from collections.abc import Callable, Hashable, Iterable, Mapping
from decimal import Decimal
from typing import Any, ClassVar, Final, Protocol, TypeAlias, TypeVar

import attrs

from espacefamille.billing.tariffs._common import (
    _HUNDRED,
    _amount_text,
    _amount_value,
    _build,
    _decimal,
    _invalid,
    _Node,
    _not_negative,
    _optional_decimal,
)
from espacefamille.billing.tariffs.wording import (
    Clause,
    _register_clauses,
    format_quotient,
    fr_euros,
    fr_ordinal,
    fr_percent,
    fr_quotient,
)
from espacefamille.errors import InvalidInput
from espacefamille.money import RoundingPolicy

__all__ = [
    "CriterionPrice",
    "CriterionRole",
    "EffortRate",
    "FlatPrice",
    "NonResidentPrice",
    "PaiPrice",
    "PriceByChildren",
    "PriceRule",
    "QfBand",
    "QuotientBands",
    "RankReduction",
    "Situation",
    "TariffCriterion",
    "is_tariff_criterion",
    "tariff_criteria",
    "tariff_criterion",
]

# -- tariff criteria --------------------------------------------------------------------------


class Situation(Protocol):
    """The facts of a family, a child and a day that prices may read (``pricing.FamilyFacts`` is one).

    ``service_rank``, ``age`` and ``school_level`` are worked out by month-end billing only for a criterion
    that names them in an ``extra_facts`` attribute (``PriceGrid`` does); otherwise they are the defaults.

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

    @property
    def service_rank(self) -> int:
        """The child's rank among the household's children enrolled in the service (eldest first)."""
        ...

    @property
    def age(self) -> int | None:
        """The child's age in whole years on the first day of the price list (None: not known)."""
        ...

    @property
    def school_level(self) -> str | None:
        """The child's class (``"CP"``; ``model.SchoolClass`` values), None when not known."""
        ...


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
