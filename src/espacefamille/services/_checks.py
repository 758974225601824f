"""The services' one argument check: a public call given a value of the wrong type is refused before any work.

Frontends pass what a web form or a JSON body gave them: ``None`` for a missing field, a number where an
identifier was expected, a string holding a lone surrogate (what ``json.loads`` returns for ``"\\ud800"``,
which no store can encode). ``@checked_calls`` on a service class checks every argument of its public
methods against the method's own annotations, once per call, and raises an ``InvalidInput`` naming the
argument (``input.wrong_type``, ``input.lone_surrogate``, ``input.bad_arguments``)
instead of the ``TypeError`` or ``AttributeError`` the rules or the stores would raise deep inside. What a
value means (an unknown family, a day the service is closed) stays with the call and the rules.

Dates and texts are checked too, wherever an argument holds them (a ``DateRange``, a basket line's day, an
enrolment's period, a closure and its label, an exemption's reason): dates from ``EARLIEST_DATE`` to
``LATEST_DATE`` (1900 to 2200, ``input.date_out_of_range``), so no rule steps off the end of the calendar;
texts without a lone surrogate, which no store could encode (``input.lone_surrogate``). A period given as an
argument (a calendar's weeks, a month to bill, the days of an absence) is at most ``LONGEST_PERIOD`` days
(``input.period_too_long``), so no call walks through centuries of days.

Understood annotations: classes (``str``, ``bool``, enumerations, value classes; not ``int``, whose range
each call checks with its own code), ``X | None`` and other unions, ``Sequence[X]``, ``Iterable[X]``,
``Mapping[K, V]``, ``Callable[...]``; anything else (``object``, ``Any``) is not checked. An ``Iterable``
argument that is not a collection (a generator) is read once into a tuple so that its items are checked too.
"""

from __future__ import annotations

import collections.abc
import datetime as dt
import enum
import functools
import inspect
import re
import types
import typing
from collections.abc import Callable
from typing import Any, Final, TypeVar

import attrs

from espacefamille.calendar.periods import DateRange
from espacefamille.errors import InvalidInput

__all__ = ["EARLIEST_DATE", "LATEST_DATE", "LONGEST_PERIOD", "checked_calls"]

#: The dates a service call accepts, anywhere in its arguments.
EARLIEST_DATE: Final = dt.date(1900, 1, 1)
LATEST_DATE: Final = dt.date(2200, 12, 31)
#: The longest period a service call takes as an argument, in days: a school year and some.
LONGEST_PERIOD: Final = 400

_C = TypeVar("_C", bound=type)

_SURROGATE: Final = re.compile("[\\ud800-\\udfff]")


class _Refused(Exception):
    def __init__(self, code: str, expected: str) -> None:
        super().__init__(expected)
        self.code, self.expected = code, expected


# A check returns the value to pass on (a generator read into a tuple), or raises _Refused.
_Check = Callable[[object], object]


def _text(value: object) -> object:
    if not isinstance(value, str):
        raise _Refused("input.wrong_type", "a string")
    if _SURROGATE.search(value):
        raise _Refused("input.lone_surrogate", "a text without lone surrogates")
    return value


def _boolean(value: object) -> object:
    if not isinstance(value, bool):
        raise _Refused("input.wrong_type", "True or False")
    return value


def _instance(kind: type) -> _Check:
    def check(value: object) -> object:
        if not isinstance(value, kind):
            raise _Refused("input.wrong_type", f"a {kind.__name__}")
        return value

    return check


def _union(parts: list[_Check]) -> _Check:
    def check(value: object) -> object:
        refusals: list[_Refused] = []
        for part in parts:
            try:
                return part(value)
            except _Refused as refused:
                refusals.append(refused)
        codes = {r.code for r in refusals}
        code = "input.wrong_type" if len(codes) != 1 else codes.pop()
        raise _Refused(code, " or ".join(r.expected for r in refusals))

    return check


def _items(item: _Check | None, *, read_once: bool) -> _Check:
    def check(value: object) -> object:
        if isinstance(value, str | bytes | collections.abc.Mapping) or not isinstance(
            value, collections.abc.Iterable
        ):
            raise _Refused("input.wrong_type", "a list")
        if read_once and not isinstance(value, collections.abc.Collection):
            value = tuple(value)
        if item is not None:
            assert isinstance(value, collections.abc.Iterable)
            for element in value:
                item(element)
        return value

    return check


def _mapping(key: _Check | None, item: _Check | None) -> _Check:
    def check(value: object) -> object:
        if not isinstance(value, collections.abc.Mapping):
            raise _Refused("input.wrong_type", "a mapping")
        for k, v in value.items():
            if key is not None:
                key(k)
            if item is not None:
                item(v)
        return value

    return check


def _callable(value: object) -> object:
    if not callable(value):
        raise _Refused("input.wrong_type", "a function")
    return value


def _check_of(hint: object) -> _Check | None:
    """The check of an annotation, or None when it is not one this module understands (not checked)."""
    origin, arguments = typing.get_origin(hint), typing.get_args(hint)
    if origin is typing.Union or origin is types.UnionType:
        parts = [_check_of(argument) for argument in arguments]
        if any(part is None for part in parts):
            return None
        return _union([part for part in parts if part is not None])
    if hint is type(None):
        return _instance(type(None))
    if hint is str:
        return _text
    if hint is bool:
        return _boolean
    if hint is int:
        # A count (a batch size) is the call's own to check, with its own code (billing.batch).
        return None
    if origin in (collections.abc.Sequence, collections.abc.Iterable):
        item = _check_of(arguments[0]) if arguments else None
        return _items(item, read_once=origin is collections.abc.Iterable)
    if origin is collections.abc.Mapping:
        key, item = (_check_of(argument) for argument in arguments) if arguments else (None, None)
        return _mapping(key, item)
    if origin is collections.abc.Callable:
        return _callable
    if isinstance(hint, type) and hint is not object:
        return _instance(hint)
    return None


# Values that hold no date nor text, told apart at once (a city's attendance is a hundred thousand facts).
_NOTHING_TO_CHECK: Final = (bytes, int, float, bool, enum.Enum, type(None))


_FIELDS: dict[type, tuple[str, ...]] = {}


def _fields_of(kind: type) -> tuple[str, ...]:
    names = _FIELDS.get(kind)
    if names is None:
        names = _FIELDS[kind] = tuple(field.name for field in attrs.fields(kind))
    return names


def _check_contents(value: object, depth: int = 0) -> None:
    """Refuse a date out of range or a text with a lone surrogate anywhere in ``value``: itself, its attrs
    fields, the items it holds (a closure's label, an exemption's reason, an attendance fact's note)."""
    if isinstance(value, _NOTHING_TO_CHECK):
        return
    if isinstance(value, str):
        if _SURROGATE.search(value):
            raise _Refused("input.lone_surrogate", "a text without lone surrogates")
    elif isinstance(value, dt.date):
        day = value.date() if isinstance(value, dt.datetime) else value
        if not EARLIEST_DATE <= day <= LATEST_DATE:
            raise _Refused("input.date_out_of_range", f"a date from {EARLIEST_DATE} to {LATEST_DATE}")
    elif depth > 3:
        return
    elif attrs.has(type(value)):
        for name in _fields_of(type(value)):
            _check_contents(getattr(value, name, None), depth + 1)
    elif isinstance(value, collections.abc.Mapping):
        for key, item in value.items():
            _check_contents(key, depth + 1)
            _check_contents(item, depth + 1)
    elif isinstance(value, list | tuple | frozenset | set):
        for item in value:
            _check_contents(item, depth + 1)


def _check_period(value: object) -> None:
    if isinstance(value, DateRange) and (value.end - value.start).days + 1 > LONGEST_PERIOD:
        raise _Refused("input.period_too_long", f"a period of at most {LONGEST_PERIOD} days")


def _refusal(owner: str, name: str, value: object, refused: _Refused) -> InvalidInput:
    shown = type(value).__name__ if refused.code == "input.wrong_type" else "another value"
    return InvalidInput(
        f"{owner}: {name} must be {refused.expected}, got {shown}",
        message_fr=f"La demande contient une valeur invalide ({name}).",
        code=refused.code,
        details={"argument": name},
    )


def _checked(owner: str, function: Callable[..., Any]) -> Callable[..., Any]:
    signature = inspect.signature(function)
    checks: dict[str, _Check] | None = None

    @functools.wraps(function)
    def call(*args: Any, **kwargs: Any) -> Any:
        nonlocal checks
        if checks is None:
            # Resolved at the first call: the annotations name classes defined after the service class.
            hints = typing.get_type_hints(function)
            checks = {
                name: check
                for name, hint in hints.items()
                if name != "return" and (check := _check_of(hint)) is not None
            }
        try:
            bound = signature.bind(*args, **kwargs)
        except TypeError as error:
            raise InvalidInput(
                f"{owner}: {error}",
                message_fr="La demande ne contient pas les valeurs attendues.",
                code="input.bad_arguments",
            ) from None
        for name, value in bound.arguments.items():
            check = checks.get(name)
            if check is None:
                continue
            try:
                checked = bound.arguments[name] = check(value)
                _check_contents(checked)
                _check_period(checked)
            except _Refused as refused:
                raise _refusal(owner, name, value, refused) from None
        return function(*bound.args, **bound.kwargs)

    return call


def checked_calls(cls: _C) -> _C:
    """A class decorator: every public method of ``cls`` checks its arguments (see the module docstring)."""
    for name, member in list(vars(cls).items()):
        if not name.startswith("_") and inspect.isfunction(member):
            setattr(cls, name, _checked(f"{cls.__name__}.{name}", member))
    return cls
