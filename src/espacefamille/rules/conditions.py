"""A prestation's booking conditions, as the commune configures them: who may book it, and with what.

Configuration values only (the ``Commune`` aggregate holds them, by prestation id); ``rules.basket`` judges
baskets with them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from espacefamille._internal.tables import Table
from espacefamille.errors import InvalidConfiguration, InvalidInput
from espacefamille.model import SchoolClass

__all__ = ["BookingConditions", "conditions_from_dict", "conditions_to_dict"]


# -- conditions of a prestation -------------------------------------------------------------


def _ids(items: Iterable[str]) -> frozenset[str]:
    return frozenset(items)


def _classes(items: Iterable[SchoolClass]) -> frozenset[SchoolClass]:
    return frozenset(items)


@attrs.frozen
class BookingConditions:
    """Who may book a prestation, and with what: ``requires`` (booked the same day, e.g. the meal needs the
    midday care), ``excludes`` (never on the same day, e.g. a full day and a half day), ages in whole years
    on the date (inclusive), and school classes."""

    requires: frozenset[str] = attrs.field(converter=_ids, factory=frozenset)
    excludes: frozenset[str] = attrs.field(converter=_ids, factory=frozenset)
    min_age: int | None = None
    max_age: int | None = None
    classes: frozenset[SchoolClass] = attrs.field(converter=_classes, factory=frozenset)

    def __attrs_post_init__(self) -> None:
        for name in ("min_age", "max_age"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
                raise InvalidInput(f"{name} must be a non-negative int, got {value!r}", code="conditions.age")
        if self.min_age is not None and self.max_age is not None and self.max_age < self.min_age:
            raise InvalidInput("max_age is below min_age", code="conditions.age")
        if self.requires & self.excludes:
            raise InvalidInput(
                f"{sorted(self.requires & self.excludes)} both required and excluded",
                code="conditions.conflict",
            )


_CONDITION_KEYS = ("requires", "excludes", "min_age", "max_age", "classes")


def conditions_from_dict(data: Mapping[str, Any], path: str) -> BookingConditions:
    """``BookingConditions`` from its ``[services.<s>.prestations.<p>.conditions]`` table."""
    table = Table(data, path, keys=_CONDITION_KEYS)
    classes: list[SchoolClass] = []
    for index, text in enumerate(table.strings("classes")):
        try:
            classes.append(SchoolClass(text))
        except ValueError:
            allowed = ", ".join(repr(c.value) for c in SchoolClass)
            raise InvalidConfiguration(
                f"expected one of {allowed}, got {text!r}",
                path=f"{table.at('classes')}[{index}]",
                code="config.choice",
            ) from None
    requires, excludes = table.strings("requires"), table.strings("excludes")
    min_age, max_age = table.integer("min_age", None), table.integer("max_age", None)
    return table.build("", BookingConditions, requires, excludes, min_age, max_age, classes)


def conditions_to_dict(conditions: BookingConditions) -> dict[str, Any]:
    """The TOML table of ``conditions``; ``conditions_from_dict`` reads it back equal."""
    data: dict[str, Any] = {}
    if conditions.requires:
        data["requires"] = sorted(conditions.requires)
    if conditions.excludes:
        data["excludes"] = sorted(conditions.excludes)
    if conditions.min_age is not None:
        data["min_age"] = conditions.min_age
    if conditions.max_age is not None:
        data["max_age"] = conditions.max_age
    if conditions.classes:
        data["classes"] = sorted(c.value for c in conditions.classes)
    return data
