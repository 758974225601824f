"""Money: exact euros on whole cents, and the one rounding policy that turns prices into cents.

``Money`` is always a whole number of cents of the euro. Anything finer — a unit price computed as
0,40 % of a quotient familial, a percentage reduction — is a ``Decimal`` until a ``RoundingPolicy``
turns it into ``Money``. Floats are refused everywhere: ``Money(0.1)`` raises.
"""

from __future__ import annotations

import enum
import functools
from collections.abc import Iterable, Sequence
from decimal import ROUND_DOWN, ROUND_HALF_DOWN, ROUND_HALF_EVEN, ROUND_HALF_UP, ROUND_UP, Decimal
from decimal import InvalidOperation as _InvalidOperation
from typing import Final, SupportsIndex, final

import attrs

from espacefamille.errors import InvalidInput
from espacefamille.text import Lang, format_amount

__all__ = ["CURRENCY", "ZERO", "Money", "RoundingMode", "RoundingPoint", "RoundingPolicy", "to_decimal"]

CURRENCY: Final = "EUR"
_CENT = Decimal("0.01")


def to_decimal(value: object, *, what: str = "amount") -> Decimal:
    """An exact ``Decimal`` from a ``Decimal``, an ``int`` or a decimal string; floats are refused.

    Strings may use a comma as the decimal separator (``"12,50"``), as French users write them.
    """
    if isinstance(value, bool | float):
        raise InvalidInput(
            f"{what} must be exact (Decimal, int or str), got {type(value).__name__} {value!r}",
            message_fr=f"Le montant {value!r} n'est pas exact : utilisez un nombre décimal.",
            code="money.float_rejected" if isinstance(value, float) else "money.not_a_number",
        )
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, str):
        try:
            # French writing: comma for decimals, (narrow) no-break spaces between thousands.
            text = value.strip().replace(",", ".")
            for space in ("\u202f", "\xa0", " "):
                text = text.replace(space, "")
            result = Decimal(text)
        except _InvalidOperation:
            raise InvalidInput(
                f"{what} {value!r} is not a decimal number",
                message_fr=f"« {value} » n'est pas un nombre décimal.",
                code="money.not_a_number",
            ) from None
    else:
        raise InvalidInput(
            f"{what} must be a Decimal, int or str, got {type(value).__name__}",
            message_fr="Montant invalide.",
            code="money.not_a_number",
        )
    if not result.is_finite():
        raise InvalidInput(
            f"{what} must be finite, got {value!r}",
            message_fr="Montant invalide.",
            code="money.not_a_number",
        )
    return result


@functools.total_ordering
@final
class Money:
    """An exact amount of euros, held as whole cents.

    Build it from a ``Decimal``, an ``int`` or a string with at most two decimals
    (``Money("12.50")``, ``Money(3)``), or from cents (``Money.from_cents(1250)``). An amount with
    finer precision must be rounded explicitly with a ``RoundingPolicy``.
    """

    __slots__ = ("_cents",)
    _cents: int

    def __init__(self, amount: Decimal | int | str = 0, currency: str = CURRENCY) -> None:
        if currency != CURRENCY:
            raise InvalidInput(
                f"only euros are supported, got currency {currency!r}",
                message_fr=f"Seuls les euros sont acceptés (devise reçue : {currency}).",
                code="money.currency",
            )
        exact = to_decimal(amount)
        cents = exact * 100
        if cents != cents.to_integral_value():
            raise InvalidInput(
                f"{exact} has more than two decimals; round it with a RoundingPolicy first",
                message_fr=f"Le montant {exact} a plus de deux décimales.",
                code="money.sub_cent",
            )
        object.__setattr__(self, "_cents", int(cents))

    @classmethod
    def from_cents(cls, cents: SupportsIndex) -> Money:
        """Money from a whole number of cents (``Money.from_cents(1250)`` is 12,50 €)."""
        if isinstance(cents, bool) or not isinstance(cents, int):
            raise InvalidInput(
                f"cents must be an int, got {type(cents).__name__}",
                message_fr="Montant en centimes invalide.",
                code="money.not_a_number",
            )
        money = object.__new__(cls)
        object.__setattr__(money, "_cents", int(cents))
        return money

    @property
    def cents(self) -> int:
        return self._cents

    @property
    def amount(self) -> Decimal:
        """The amount in euros, with exactly two decimals."""
        return Decimal(self._cents).scaleb(-2)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("Money is immutable")

    def __reduce__(self) -> tuple[object, tuple[int]]:
        return (Money.from_cents, (self._cents,))

    # -- arithmetic -------------------------------------------------------------------------
    def __add__(self, other: Money) -> Money:
        if not isinstance(other, Money):
            return NotImplemented
        return Money.from_cents(self._cents + other._cents)

    def __radd__(self, other: object) -> Money:
        # sum() starts from the int 0
        if isinstance(other, int) and not isinstance(other, bool) and other == 0:
            return self
        return NotImplemented

    def __sub__(self, other: Money) -> Money:
        if not isinstance(other, Money):
            return NotImplemented
        return Money.from_cents(self._cents - other._cents)

    def __neg__(self) -> Money:
        return Money.from_cents(-self._cents)

    def __pos__(self) -> Money:
        return self

    def __abs__(self) -> Money:
        return Money.from_cents(abs(self._cents))

    def __mul__(self, quantity: int) -> Money:
        """Multiply by a whole quantity; a fractional factor needs a ``RoundingPolicy``."""
        if isinstance(quantity, bool) or not isinstance(quantity, int):
            return NotImplemented
        return Money.from_cents(self._cents * quantity)

    __rmul__ = __mul__

    def __bool__(self) -> bool:
        return self._cents != 0

    @property
    def is_negative(self) -> bool:
        return self._cents < 0

    # -- comparison -------------------------------------------------------------------------
    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Money):
            return NotImplemented
        return self._cents == other._cents

    def __lt__(self, other: Money) -> bool:
        if not isinstance(other, Money):
            return NotImplemented
        return self._cents < other._cents

    def __hash__(self) -> int:
        return hash(("EUR", self._cents))

    # -- allocation -------------------------------------------------------------------------
    def allocate(self, weights: Sequence[Decimal | int]) -> list[Money]:
        """Split into parts proportional to ``weights``, whose sum is exactly this amount.

        Largest-remainder method: each part gets the floor of its exact share, and the cents left
        go one by one to the parts with the largest remainders (the first part on ties).
        """
        if not weights:
            raise InvalidInput("allocate needs at least one weight", code="money.allocation")
        exact = [to_decimal(w, what="weight") for w in weights]
        if any(w < 0 for w in exact) or sum(exact) <= 0:
            raise InvalidInput("weights must be non-negative with a positive sum", code="money.allocation")
        total_weight = sum(exact)
        sign = -1 if self._cents < 0 else 1
        magnitude = abs(self._cents)
        shares = [Decimal(magnitude) * w / total_weight for w in exact]
        floors = [int(s.to_integral_value(rounding=ROUND_DOWN)) for s in shares]
        left = magnitude - sum(floors)
        order = sorted(range(len(shares)), key=lambda i: (-(shares[i] - floors[i]), i))
        for i in order[:left]:
            floors[i] += 1
        return [Money.from_cents(sign * c) for c in floors]

    def split(self, parts: int) -> list[Money]:
        """Split into ``parts`` near-equal amounts that add up exactly (10 € / 3 → 3,34 + 3,33 + 3,33)."""
        if isinstance(parts, bool) or not isinstance(parts, int) or parts < 1:
            raise InvalidInput("parts must be a positive int", code="money.allocation")
        return self.allocate([1] * parts)

    # -- display ----------------------------------------------------------------------------
    def format(self, lang: Lang = "fr") -> str:
        """``1 234,50 €`` in French (CLDR no-break spaces), ``€1,234.50`` in English."""
        return format_amount(self.amount, lang)

    def __repr__(self) -> str:
        return f"Money('{self.amount}')"

    def __str__(self) -> str:
        return f"{self.amount} EUR"

    @staticmethod
    def total(amounts: Iterable[Money]) -> Money:
        """The exact sum of amounts (0 € for none)."""
        return Money.from_cents(sum(m._cents for m in amounts))


ZERO: Final = Money.from_cents(0)


class RoundingMode(enum.Enum):
    """How a finer amount becomes cents. ``HALF_UP`` (0,005 → 0,01) is the default of French régies."""

    HALF_UP = "half_up"
    HALF_EVEN = "half_even"
    HALF_DOWN = "half_down"
    UP = "up"
    DOWN = "down"

    @property
    def decimal_rounding(self) -> str:
        return _DECIMAL_ROUNDING[self]


_DECIMAL_ROUNDING: Final = {
    RoundingMode.HALF_UP: ROUND_HALF_UP,
    RoundingMode.HALF_EVEN: ROUND_HALF_EVEN,
    RoundingMode.HALF_DOWN: ROUND_HALF_DOWN,
    RoundingMode.UP: ROUND_UP,
    RoundingMode.DOWN: ROUND_DOWN,
}


class RoundingPoint(enum.Enum):
    """Where rounding happens: on the unit price (then × quantity), or once on each line total."""

    UNIT_PRICE = "unit_price"
    LINE = "line"


@attrs.frozen
class RoundingPolicy:
    """A commune's one explicit rounding rule (half-up on the unit price unless it says otherwise)."""

    mode: RoundingMode = RoundingMode.HALF_UP
    point: RoundingPoint = RoundingPoint.UNIT_PRICE

    def round(self, value: Decimal | int | str) -> Money:
        """Round an exact amount of euros to the cent with this policy's mode."""
        exact = to_decimal(value)
        return Money(exact.quantize(_CENT, rounding=self.mode.decimal_rounding))

    def line_total(self, unit_price: Decimal, quantity: Decimal | int) -> Money:
        """A line's total: round the unit price then multiply, or multiply then round the line."""
        qty = to_decimal(quantity, what="quantity")
        if self.point is RoundingPoint.UNIT_PRICE:
            return self.round(self.round(unit_price).amount * qty)
        return self.round(to_decimal(unit_price) * qty)
