"""Surcharges (presence without booking, late booking), always a line of their own."""

from __future__ import annotations

import enum
from collections.abc import Callable
from decimal import Decimal
from typing import Any, Final, TypeAlias

import attrs

from espacefamille.billing.tariffs._common import (
    _HUNDRED,
    _amount_text,
    _build,
    _decimal,
    _invalid,
    _money,
    _Node,
)
from espacefamille.money import Money

__all__ = [
    "FixedSurcharge",
    "MultiplierSurcharge",
    "PercentSurcharge",
    "SurchargeKind",
    "SurchargeRule",
]

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
