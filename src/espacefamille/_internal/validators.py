"""Small attrs validators shared by the entities, documents, rules, accounts and requests: written once.

A validator that several modules use with their own error code is a factory taking the code
(``non_empty(code="input.empty")``), as attrs' own ``in_`` or ``ge`` take their bound.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Any, Final

import attrs

from espacefamille.errors import InvalidInput

__all__ = ["EMAIL", "IDENTIFIER", "email_address", "identifier", "non_empty", "optional_date", "plain_date"]

#: An attrs validator: ``(instance, attribute, value) -> None``, raising when the value is refused.
Validator = Callable[[Any, "attrs.Attribute[Any]", Any], None]

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


#: What an e-mail address is, as far as the library checks it: something, ``@``, a domain with a dot.
#: Only what a receipt or an activation link needs; whether it is deliverable is the host's concern.
EMAIL: Final = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _field(instance: object, attribute: attrs.Attribute[Any]) -> str:
    return f"{type(instance).__name__}.{attribute.name}"


def plain_date(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    """An attrs validator: the field is a ``datetime.date`` and not a datetime (``input.not_a_date``)."""
    if not isinstance(value, dt.date) or isinstance(value, dt.datetime):
        raise InvalidInput(
            f"{_field(instance, attribute)} must be a date, got {value!r}",
            code="input.not_a_date",
            details={"at": attribute.name},
        )


def optional_date(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    """An attrs validator: the field is None or a ``datetime.date`` (``input.not_a_date`` otherwise)."""
    if value is not None:
        plain_date(instance, attribute, value)


def non_empty(*, code: str, message_fr: str = "Champ obligatoire vide.") -> Validator:
    """An attrs validator: the field is a string that is not blank, else an ``InvalidInput`` with ``code``.

    ``message_fr`` may name the field with ``{name}`` (``"Valeur manquante : {name}."``).
    """

    def validate(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
        if not isinstance(value, str) or not value.strip():
            raise InvalidInput(
                f"{_field(instance, attribute)} must be a non-empty string, got {value!r}",
                message_fr=message_fr.format(name=attribute.name),
                code=code,
                details={"at": attribute.name},
            )

    return validate


def email_address(*, code: str) -> Validator:
    """An attrs validator: the field is an e-mail address (``EMAIL``), else an ``InvalidInput``, ``code``."""

    def validate(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
        if not isinstance(value, str) or not EMAIL.fullmatch(value):
            raise InvalidInput(
                f"{_field(instance, attribute)} must be an e-mail address, got {value!r}",
                message_fr=f"Adresse électronique invalide : « {value} ».",
                code=code,
                details={"at": attribute.name},
            )

    return validate
