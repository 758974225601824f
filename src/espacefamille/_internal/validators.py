"""Small attrs validators shared by the entities, documents, rules, accounts and requests: written once.

A validator that several modules use with their own error code is a factory taking the code
(``non_empty(code="input.empty")``), as attrs' own ``in_`` or ``ge`` take their bound.

Text is checked once, here (docs/limits.md): ``text_problem`` refuses a lone surrogate (what ``json.loads``
returns for the escape ``"\\ud800"`` of a web form, which no store can encode: ``input.lone_surrogate``),
a control character in a one-line text (a line break in a name or an e-mail header:
``input.control_character``) and a text longer than ``MAX_TEXT`` characters (``input.text_too_long``);
``normal_text`` is the converter that composes a text (NFC: "é" typed as e + combining accent is "é").
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Callable
from typing import Any, Final

import attrs

from espacefamille.errors import InvalidInput

__all__ = [
    "EMAIL",
    "IDENTIFIER",
    "MAX_MULTILINE_TEXT",
    "MAX_TEXT",
    "email_address",
    "identifier",
    "non_empty",
    "normal_text",
    "optional_date",
    "optional_text",
    "plain_date",
    "text_problem",
]

#: An attrs validator: ``(instance, attribute, value) -> None``, raising when the value is refused.
Validator = Callable[[Any, "attrs.Attribute[Any]", Any], None]

#: What an identifier is (a family, a child, a prestation, an account…): a letter or digit, then letters,
#: digits, ``_``, ``-`` or ``.``.
IDENTIFIER: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


#: The longest one-line text (a name, a label, a phone number) and the longest multi-line one (a message).
MAX_TEXT: Final = 1000
MAX_MULTILINE_TEXT: Final = 20_000
_SURROGATE: Final = re.compile("[\ud800-\udfff]")
_CONTROL: Final = re.compile("[\x00-\x1f\x7f-\x9f]")
_CONTROL_MULTILINE: Final = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def text_problem(value: str, *, multiline: bool = False) -> tuple[str, str, str] | None:
    """What is wrong with a text, as ``(code, English, French)``, or None when it is acceptable.

    A multi-line text may hold line breaks and tabs; no text holds a lone surrogate or another control
    character.
    """
    if _SURROGATE.search(value):
        return (
            "input.lone_surrogate",
            "contains a lone surrogate (an invalid character)",
            "Le texte contient un caractère invalide.",
        )
    if (_CONTROL_MULTILINE if multiline else _CONTROL).search(value):
        return (
            "input.control_character",
            "contains a control character" + ("" if multiline else " (one line expected)"),
            "Le texte contient un caractère non autorisé"
            + ("." if multiline else " (un retour à la ligne dans un champ d'une seule ligne)."),
        )
    limit = MAX_MULTILINE_TEXT if multiline else MAX_TEXT
    if len(value) > limit:
        return (
            "input.text_too_long",
            f"is longer than {limit} characters",
            f"Le texte dépasse {limit} caractères.",
        )
    return None


def normal_text(value: object) -> object:
    """An attrs converter: a string composed (NFC); anything else as given, for the validator to refuse.

    A string holding a lone surrogate is left as it is: the validator refuses it with its field's name.
    """
    if isinstance(value, str) and not value.isascii() and not _SURROGATE.search(value):
        return unicodedata.normalize("NFC", value)
    return value


def _check_text(instance: object, attribute: attrs.Attribute[Any], value: str) -> None:
    problem = text_problem(value)
    if problem is not None:
        code, message, message_fr = problem
        raise InvalidInput(
            f"{_field(instance, attribute)} {message}: {value!r}",
            message_fr=message_fr,
            code=code,
            details={"at": attribute.name},
        )


def optional_text(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    """An attrs validator: the field is None or a one-line text (``text_problem``), possibly empty."""
    if value is None:
        return
    if not isinstance(value, str):
        raise InvalidInput(
            f"{_field(instance, attribute)} must be a string or None, got {type(value).__name__}",
            message_fr="Texte attendu.",
            code="input.not_text",
            details={"at": attribute.name},
        )
    _check_text(instance, attribute, value)


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
    """An attrs validator: the field is a string that is not blank, else an ``InvalidInput`` with ``code``;
    and a one-line text (``text_problem``: no lone surrogate, no control character, not too long).

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
        _check_text(instance, attribute, value)

    return validate


def email_address(*, code: str, optional: bool = False) -> Validator:
    """An attrs validator: the field is an e-mail address (``EMAIL``, at most ``MAX_TEXT`` characters; or
    None when ``optional``), else an ``InvalidInput`` with ``code``."""

    def validate(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
        if value is None and optional:
            return
        if (
            not isinstance(value, str)
            or len(value) > MAX_TEXT
            or not EMAIL.fullmatch(value)
            or _SURROGATE.search(value)
        ):
            raise InvalidInput(
                f"{_field(instance, attribute)} must be an e-mail address, got {value!r}",
                message_fr=f"Adresse électronique invalide : « {value} ».",
                code=code,
                details={"at": attribute.name},
            )

    return validate
