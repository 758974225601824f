"""What the tariff modules share: value checks, the table face criteria read through, key paths."""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any, Final, TypeVar

from espacefamille._internal.tables import REQUIRED, Table, exact_number
from espacefamille.errors import EspaceFamilleError, InvalidConfiguration, InvalidInput
from espacefamille.money import Money, to_decimal

_T = TypeVar("_T")
_E = TypeVar("_E", bound=enum.Enum)
_HUNDRED: Final = Decimal(100)
_ZERO: Final = Decimal(0)
#: The largest number a tariff holds, either way — a price, a floor or a ceiling, a supplement, a QF
#: threshold, a percentage (docs/limits.md): a million, so that a month of quantities (the minutes of every
#: day of a month, for dozens of children) priced at it still fits what the stores hold (``MAX_AMOUNT``).
MAX_TARIFF_NUMBER: Final = Decimal(1_000_000)


def _invalid(message: str, path: str, code: str, message_fr: str | None = None) -> InvalidConfiguration:
    return InvalidConfiguration(message, path=path, code=code, message_fr=message_fr)


def _decimal(value: Decimal | int | str) -> Decimal:
    return _within_tariff_bound(to_decimal(value, what="tariff amount"))


def _within_tariff_bound(value: Decimal) -> Decimal:
    """``value`` if a tariff may hold it (at most ``MAX_TARIFF_NUMBER`` either way), else refused."""
    if abs(value) > MAX_TARIFF_NUMBER:
        raise InvalidInput(
            f"a tariff's number is at most {MAX_TARIFF_NUMBER:,} either way, got {value}",
            message_fr="Un montant, un seuil ou un pourcentage de tarif ne peut pas dépasser 1 000 000.",
            code="tariff.amount_too_large",
            details={"limit": str(MAX_TARIFF_NUMBER)},
        )
    return value


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


def _money(value: Money | Decimal | int | str) -> Money:
    return value if isinstance(value, Money) else Money(value)


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
    return _build(path, lambda: _within_tariff_bound(to_decimal(exact, what="amount")))


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
        raise InvalidConfiguration(
            error.message, path=path, message_fr=error.message_fr, code=error.code, details=error.details
        ) from None


def _amount_text(value: Decimal) -> str:
    return format(value, "f")
