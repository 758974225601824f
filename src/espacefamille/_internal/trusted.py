"""Constructors that skip validation, for values the library built itself from validated ones.

Rows a store wrote from validated values, or lines billing priced from validated tariffs, need not be
checked again when a city's month is read or billed (millions of them): ``trusted_builder(cls)`` sets the
fields as given, without validators or converters, so the caller passes exactly the field types (a tuple
where a converter would make one). It does not use the process-wide ``attrs.validators.set_disabled``,
which would also switch validation off in other threads. Never for values that come from outside.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import attrs

__all__ = ["trusted_builder"]

_T = TypeVar("_T")


def trusted_builder(cls: type[_T]) -> Callable[..., _T]:
    """A constructor of the attrs slots class ``cls`` taking every field in order, positionally."""
    fields = attrs.fields(cls)  # type: ignore[arg-type]
    namespace: dict[str, Any] = {
        "new": object.__new__,
        "cls": cls,
        **{f"set{i}": cls.__dict__[field.name].__set__ for i, field in enumerate(fields)},
    }
    arguments = ", ".join(f"v{i}" for i in range(len(fields)))
    body = "".join(f"    set{i}(instance, v{i})\n" for i in range(len(fields)))
    # Generated, like attrs' own __init__: one call per slot, no loop (a third of the time of a loop).
    exec(f"def build({arguments}):\n    instance = new(cls)\n{body}    return instance\n", namespace)
    build: Callable[..., _T] = namespace["build"]
    return build
