"""Reading one table of a commune's TOML file: typed keys, sub-tables and arrays, errors naming the key path.

Every section of the commune file (the commune itself, booking deadlines, capacity, unpaid invoices, request
forms, tariffs…) reads its tables through ``Table``: a key is required unless the reader gives a default, a
value of the wrong type is refused, and a key nobody asked for is refused too (``done()``, or at once when
the table declares its ``keys``). Every error is an ``InvalidConfiguration`` whose ``path`` is the full key
path (``services.cantine.prestations.repas.booking.deadline.days``), with a ``config.*`` code:

* ``config.type`` — a value of the wrong type (a table that is not one included);
* ``config.missing_key`` — a required key is absent;
* ``config.unknown_key`` — a key nobody reads (the path names the first one);
* ``config.choice`` — a value that is not one of an enumeration's;
* ``config.float_amount`` — an amount written as a TOML float, which would not stay exact;
* ``config.too_large`` — an integer beyond ``MAX_INTEGER`` (a million), or beyond a reader's own maximum;
* ``input.lone_surrogate``, ``input.control_character``, ``input.text_too_long`` — a string that is not
  one line of text (``_internal.validators.text_problem``); strings are composed (NFC) when read.

What the values mean (an amount, a weekday, a date range) stays with the module that reads them: it builds
them with ``Table.build``, which locates the constructor's error at the key it came from.
"""

from __future__ import annotations

import datetime as dt
import enum
import unicodedata
from collections.abc import Callable, Collection, Iterator, Mapping
from typing import Any, Final, Literal, Self, TypeVar

from espacefamille._internal.validators import text_problem
from espacefamille.errors import EspaceFamilleError, InvalidConfiguration

__all__ = ["MAX_INTEGER", "REQUIRED", "Required", "Table", "exact_number", "kind_of"]

#: The largest integer a commune file may hold, either way: places, days, hours, lengths stay far below.
MAX_INTEGER: Final = 1_000_000

_D = TypeVar("_D")
_E = TypeVar("_E", bound=enum.Enum)
_T = TypeVar("_T")


class _Required(enum.Enum):
    REQUIRED = enum.auto()


#: The default of a key that must be present (``config.missing_key`` otherwise).
REQUIRED: Final = _Required.REQUIRED
#: The type of ``REQUIRED``, for a reader's ``default: T | Required = REQUIRED``.
Required = Literal[_Required.REQUIRED]

_KINDS: Final[Mapping[type, str]] = {
    dict: "a table",
    list: "an array",
    str: "a string",
    bool: "a boolean",
    int: "an integer",
    float: "a float",
}


def kind_of(value: object) -> str:
    """What a TOML value is, as an error message says it ("a table", "an integer", "date"…)."""
    return _KINDS.get(type(value), type(value).__name__)


def _got(value: object) -> str:
    # Tables and arrays are named, not shown: their text can be the size of the file.
    if isinstance(value, dict | list):
        return kind_of(value)
    return f"{kind_of(value)} {value!r}"


def exact_number(value: object, path: str, label: str = "an amount as a string") -> str | int:
    """``value`` if it is an exact number as TOML writes one (a string such as ``"12.50"``, or an integer),
    for the caller to build; a float is refused (``config.float_amount``), as is anything else."""
    if isinstance(value, float):
        raise InvalidConfiguration(
            f'write amounts as strings ("{value}") so they stay exact, got the float {value!r}',
            path=path,
            message_fr='Écrivez les montants entre guillemets ("3.20") pour qu\'ils restent exacts.',
            code="config.float_amount",
        )
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise InvalidConfiguration(f"expected {label}, got {_got(value)}", path=path, code="config.type")
    return value


class Table:
    """One TOML table being read: it knows its key path and refuses the keys nobody read.

    With ``keys``, a key outside them is refused at once (the message lists them); without, ``done()``
    refuses the keys that no reader asked for. Readers take the key and, for an optional key, the
    ``default`` returned when it is absent.
    """

    def __init__(self, data: object, path: str = "", *, keys: Collection[str] | None = None) -> None:
        if not isinstance(data, Mapping):
            raise InvalidConfiguration(
                f"expected a table, got {kind_of(data)}", path=path, code="config.type"
            )
        self.data: Mapping[str, Any] = data
        self.path = path
        self._seen: set[str] = set()
        if keys is not None:
            self._refuse(sorted(str(key) for key in set(data) - set(keys)), f" (expected {', '.join(keys)})")
            self._seen.update(data)

    # -- paths and raw values ------------------------------------------------------------------

    def at(self, key: str) -> str:
        """The key path of ``key`` in this table (the table's own path for ``""``)."""
        if not key:
            return self.path
        return f"{self.path}.{key}" if self.path else key

    def has(self, key: str) -> bool:
        return key in self.data

    def raw(self, key: str, required: bool = True) -> Any:
        """The value of ``key`` as the TOML parser gave it (None when it is absent and not ``required``)."""
        self._seen.add(key)
        if key not in self.data:
            if required:
                raise self._missing(key)
            return None
        return self.data[key]

    def wrong(self, key: str, expected: str, value: object) -> InvalidConfiguration:
        """The ``config.type`` error of ``key``: ``expected`` (“a string”) and what it got."""
        return InvalidConfiguration(
            f"expected {expected}, got {_got(value)}", path=self.at(key), code="config.type"
        )

    def _value(self, key: str, default: object) -> Any:
        # Absent, or None from a Python caller: the default, or the missing key when there is none.
        value = self.raw(key, required=default is REQUIRED)
        if value is None and default is REQUIRED:
            raise self._missing(key)
        return value

    def _missing(self, key: str) -> InvalidConfiguration:
        return InvalidConfiguration("missing required key", path=self.at(key), code="config.missing_key")

    # -- typed values --------------------------------------------------------------------------

    def string(self, key: str, default: _D | Required = REQUIRED) -> str | _D:
        value = self._value(key, default)
        if value is None:
            assert not isinstance(default, _Required)  # raw() raised for a required key
            return default
        if not isinstance(value, str):
            raise self.wrong(key, "a string", value)
        return self._text(key, value)

    def _text(self, key: str, value: str) -> str:
        problem = text_problem(value)
        if problem is not None:
            code, message, message_fr = problem
            raise InvalidConfiguration(message, path=self.at(key), message_fr=message_fr, code=code)
        return value if value.isascii() else unicodedata.normalize("NFC", value)

    def boolean(self, key: str, default: _D | Required = REQUIRED) -> bool | _D:
        value = self._value(key, default)
        if value is None:
            assert not isinstance(default, _Required)
            return default
        if not isinstance(value, bool):
            raise self.wrong(key, "true or false", value)
        return value

    def integer(
        self,
        key: str,
        default: _D | Required = REQUIRED,
        *,
        label: str = "an integer",
        maximum: int = MAX_INTEGER,
    ) -> int | _D:
        """An integer from ``-maximum`` to ``maximum`` (``config.too_large`` beyond)."""
        value = self._value(key, default)
        if value is None:
            assert not isinstance(default, _Required)
            return default
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.wrong(key, label, value)
        if abs(value) > maximum:
            raise InvalidConfiguration(
                f"cannot be beyond {maximum:,}, got {value:,}",
                path=self.at(key),
                message_fr=f"ne peut pas dépasser {maximum:,}".replace(",", "\u202f"),
                code="config.too_large",
            )
        return value

    def count(
        self,
        key: str,
        default: _D | Required = REQUIRED,
        *,
        code: str = "config.negative",
        maximum: int = MAX_INTEGER,
    ) -> int | _D:
        """A whole number from 0 to ``maximum`` (days, hours, places); a negative one has ``code``."""
        value = self.integer(key, default, label="a whole number", maximum=maximum)
        if isinstance(value, int) and value < 0:
            raise InvalidConfiguration(
                f"cannot be negative, got {value}",
                path=self.at(key),
                message_fr=f"ne peut pas être négatif ({value})",
                code=code,
            )
        return value

    def date(self, key: str, default: _D | Required = REQUIRED) -> dt.date | _D:
        value = self._value(key, default)
        if value is None:
            assert not isinstance(default, _Required)
            return default
        if not isinstance(value, dt.date) or isinstance(value, dt.datetime):
            raise self.wrong(key, "a date (YYYY-MM-DD)", value)
        return value

    def time(self, key: str, default: _D | Required = REQUIRED) -> dt.time | _D:
        """A local time of day (TOML ``11:00:00``)."""
        value = self._value(key, default)
        if value is None:
            assert not isinstance(default, _Required)
            return default
        if not isinstance(value, dt.time) or value.tzinfo is not None:
            raise self.wrong(key, "a local time such as 11:00:00", value)
        return value

    def instant(self, key: str, default: _D | Required = REQUIRED) -> dt.datetime | _D:
        """A date and time with its UTC offset (TOML ``2027-01-04T09:00:00+01:00``)."""
        value = self._value(key, default)
        if value is None:
            assert not isinstance(default, _Required)
            return default
        if not isinstance(value, dt.datetime):
            raise self.wrong(key, "a date and time with its offset, such as 2027-01-04T09:00:00+01:00", value)
        if value.utcoffset() is None:
            raise InvalidConfiguration(
                f"{value.isoformat()} has no UTC offset; write it as {value.isoformat()}+01:00 (or +02:00)",
                path=self.at(key),
                message_fr="Date et heure sans fuseau horaire.",
                code="input.naive_datetime",
            )
        return value

    def amount(
        self, key: str, default: _D | Required = REQUIRED, *, label: str = "an amount as a string"
    ) -> str | int | _D:
        """An exact number as written (``"12.50"`` or ``12``), for the caller to build; floats are refused."""
        value = self._value(key, default)
        if value is None:
            assert not isinstance(default, _Required)
            return default
        return exact_number(value, self.at(key), label)

    def choice(self, key: str, enum_type: type[_E], default: _D | Required = REQUIRED) -> _E | _D:
        """One of ``enum_type``'s values (``config.choice`` lists them otherwise)."""
        value = self._value(key, default)
        if value is None:
            assert not isinstance(default, _Required)
            return default
        try:
            return enum_type(value)
        except ValueError:
            expected = ", ".join(repr(member.value) for member in enum_type)
            raise InvalidConfiguration(
                f"expected one of {expected}, got {value!r}", path=self.at(key), code="config.choice"
            ) from None

    def strings(self, key: str, label: str = "a list of strings") -> list[str]:
        """An array of strings; an absent key is an empty list."""
        value = self._value(key, ())
        if value is None:
            return []
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise self.wrong(key, label, value)
        return [self._text(f"{key}[{index}]", item) for index, item in enumerate(value)]

    # -- tables and arrays ---------------------------------------------------------------------

    def table(
        self, key: str, default: _D | Required = REQUIRED, *, keys: Collection[str] | None = None
    ) -> Self | _D:
        """The sub-table under ``key`` (read by this table's class)."""
        value = self._value(key, default)
        if value is None:
            assert not isinstance(default, _Required)
            return default
        return type(self)(value, self.at(key), keys=keys)

    def subtables(self, *, keys: Collection[str] | None = None) -> Iterator[tuple[str, Self]]:
        """Every value of this table as a sub-table, by name (a table keyed by identifiers)."""
        for name in self.data:
            yield name, self.table(name, keys=keys)

    def tables(self, key: str, *, keys: Collection[str] | None = None) -> Iterator[tuple[str, Self]]:
        """The sub-tables of the table under ``key``, by name (``[services.cantine]``…); none if absent."""
        holder = self.table(key, None)
        if holder is not None:
            yield from holder.subtables(keys=keys)

    def items(
        self, key: str, label: str = "an array", *, required: bool = False
    ) -> Iterator[tuple[str, Any]]:
        """The items of the array under ``key`` with their key paths (``bands[2]``); none if absent."""
        value = self._value(key, REQUIRED if required else ())
        if value is None:
            return
        if not isinstance(value, list):
            raise self.wrong(key, label, value)
        for index, item in enumerate(value):
            yield f"{self.at(key)}[{index}]", item

    def array(
        self,
        key: str,
        label: str = "an array",
        *,
        keys: Collection[str] | None = None,
        required: bool = False,
    ) -> Iterator[Self]:
        """The tables of the array of tables under ``key`` (``[[unpaid.steps]]``); none if absent."""
        for path, item in self.items(key, label, required=required):
            yield type(self)(item, path, keys=keys)

    # -- building and finishing ----------------------------------------------------------------

    def build(self, key: str, make: Callable[..., _T], *args: Any, **kwargs: Any) -> _T:
        """Run a constructor, locating its error at ``key`` in this table (same code and messages).

        An ``InvalidConfiguration`` is already located and passes through unchanged.
        """
        try:
            return make(*args, **kwargs)
        except InvalidConfiguration:
            raise
        except EspaceFamilleError as error:
            raise InvalidConfiguration(
                error.message,
                path=self.at(key),
                message_fr=error.message_fr,
                code=error.code,
                details=error.details,
            ) from None

    def done(self) -> None:
        """Refuse the keys no reader asked for (the path names the first one)."""
        self._refuse(sorted(str(key) for key in set(self.data) - self._seen), "")

    def _refuse(self, unknown: list[str], expected: str) -> None:
        if unknown:
            raise InvalidConfiguration(
                f"unknown key(s) {', '.join(unknown)}{expected}",
                path=self.at(unknown[0]),
                code="config.unknown_key",
            )
