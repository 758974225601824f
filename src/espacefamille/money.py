"""Money: exact euros on whole cents, and the one rounding policy that turns prices into cents.

``Money`` is always a whole number of cents of the euro. Anything finer — a unit price computed as
0,40 % of a quotient familial, a percentage reduction — is a ``Decimal`` until a ``RoundingPolicy``
turns it into ``Money``. Floats are refused everywhere: ``Money(0.1)`` raises.

Limits (docs/limits.md): an amount is at most ``MAX_AMOUNT`` (10^12 €) either way, well inside the signed
64-bit integers the stores keep cents in, and arithmetic cannot leave that range (``money.too_large``); a
number the library reads (``to_decimal``: prices, quotients, percentages) is at most ``MAX_NUMBER`` (10^15)
and, written as text, plain ASCII digits with an optional sign and decimal point or comma — no exponent,
no ``_`` separator, no digits of other scripts (``money.not_a_number``).
"""

from __future__ import annotations

import enum
import functools
import re
from collections.abc import Iterable, Sequence
from decimal import ROUND_DOWN, ROUND_HALF_DOWN, ROUND_HALF_EVEN, ROUND_HALF_UP, ROUND_UP, Decimal
from decimal import InvalidOperation as _InvalidOperation
from typing import Final, SupportsIndex, final

import attrs

from espacefamille.errors import InvalidInput
from espacefamille.text import Lang, format_amount

__all__ = [
    "CURRENCY",
    "MAX_AMOUNT",
    "MAX_CENTS",
    "MAX_NUMBER",
    "ZERO",
    "Money",
    "RoundingMode",
    "RoundingPoint",
    "RoundingPolicy",
    "to_decimal",
]

CURRENCY: Final = "EUR"
_CENT = Decimal("0.01")
#: The largest amount, in cents, either way: 10^12 € (the stores keep cents in signed 64-bit integers).
MAX_CENTS: Final = 10**14
_MAX_EUROS: Final = Decimal(MAX_CENTS).scaleb(-2)
#: The largest number ``to_decimal`` reads, either way (a price, a quotient, a weight in cents).
MAX_NUMBER: Final = Decimal(10**15)
# What a number written as text may be, once spaces are gone and a comma is a point: ASCII digits only.
_NUMBER: Final = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)", re.ASCII)


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
            # Decimal() also reads "1_000", "1E+5000" and digits of other scripts ("١٢", "１２").
            if not _NUMBER.fullmatch(text):
                raise _InvalidOperation
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
    if abs(result) > MAX_NUMBER:
        raise InvalidInput(
            f"{what} {result} is beyond the largest number read, {MAX_NUMBER:,}",
            message_fr="Ce nombre est beaucoup trop grand.",
            code="input.number_too_large",
        )
    return result


def _too_large(amount: object) -> InvalidInput:
    return InvalidInput(
        f"{amount} is beyond the largest amount, {_MAX_EUROS:,} EUR either way",
        message_fr="Ce montant dépasse le plus grand montant accepté (1 000 milliards d'euros).",
        code="money.too_large",
        details={"limit": str(_MAX_EUROS)},
    )


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
        try:
            exact = to_decimal(amount)
        except InvalidInput as error:
            if error.code == "input.number_too_large":
                raise _too_large(amount) from None
            raise
        if abs(exact) > _MAX_EUROS:
            raise _too_large(exact)
        # Compared exactly: ``exact * 100`` would round an amount of more than 28 digits to the context.
        cents = exact.quantize(_CENT)
        if cents != exact:
            raise InvalidInput(
                f"{exact} has more than two decimals; round it with a RoundingPolicy first",
                message_fr=f"Le montant {exact} a plus de deux décimales.",
                code="money.sub_cent",
            )
        object.__setattr__(self, "_cents", int(cents.scaleb(2)))

    @classmethod
    def from_cents(cls, cents: SupportsIndex) -> Money:
        """Money from a whole number of cents (``Money.from_cents(1250)`` is 12,50 €)."""
        if isinstance(cents, bool) or not isinstance(cents, int):
            raise InvalidInput(
                f"cents must be an int, got {type(cents).__name__}",
                message_fr="Montant en centimes invalide.",
                code="money.not_a_number",
            )
        if not -MAX_CENTS <= cents <= MAX_CENTS:
            raise _too_large(Decimal(int(cents)).scaleb(-2))
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
#: The largest amount ``Money`` holds (and the most negative is its opposite): 1 000 000 000 000 €.
MAX_AMOUNT: Final = Money.from_cents(MAX_CENTS)


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
