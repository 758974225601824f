"""Attendance effects (``@attendance_effect``): what a status or a commune's reason does to a day's price."""

from __future__ import annotations

import types
from collections.abc import Callable, Iterable, Iterator, Mapping
from decimal import Decimal
from typing import Any, ClassVar, Final, Protocol, Self, TypeAlias, TypeVar

import attrs

from espacefamille._internal.validators import IDENTIFIER
from espacefamille.billing.tariffs._common import (
    _HUNDRED,
    _ZERO,
    _amount_text,
    _build,
    _decimal,
    _invalid,
    _money,
    _Node,
)
from espacefamille.billing.tariffs.wording import Clause, _register_clauses, fr_euros, fr_percent, status_text
from espacefamille.errors import InvalidInput
from espacefamille.money import Money

__all__ = [
    "ATTENDANCE_STATUSES",
    "DEFAULT_ATTENDANCE_EFFECTS",
    "FULL_PRICE",
    "NO_CHARGE",
    "AttendanceEffect",
    "AttendanceEffects",
    "FixedAmount",
    "FullPrice",
    "NoCharge",
    "PercentOfPrice",
    "attendance_effect",
    "attendance_effects",
    "is_attendance_effect",
]

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


def _effects_dict(effects: AttendanceEffects) -> dict[str, Any]:
    return {
        code: effect.name if effect.by_name else {effect.name: effect.setting()}
        for code, effect in effects.items()
    }
