"""Small attrs validators shared by the entities, accounts and requests: written once, one error code each."""

from __future__ import annotations

import re
from typing import Any, Final

import attrs

from espacefamille.errors import InvalidInput

__all__ = ["IDENTIFIER", "identifier"]

#: What an identifier is (a family, a child, a prestation, an account…): a letter or digit, then letters,
#: digits, ``_``, ``-`` or ``.``.
IDENTIFIER: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def identifier(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    """An attrs validator: the field is an identifier (``model.bad_identifier`` otherwise)."""
    if not isinstance(value, str) or not IDENTIFIER.fullmatch(value):
        raise InvalidInput(
            f"{type(instance).__name__}.{attribute.name} must be an identifier "
            f"(letters, digits, '_', '-', '.'), got {value!r}",
            message_fr=f"Identifiant invalide : « {value} ».",
            code="model.bad_identifier",
            details={"at": attribute.name},
        )
