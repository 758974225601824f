"""Requests (*demandes*): a commune's categories and forms, a family's submission, and its dated history.

Brochure: "Formulez une demande : sélectionnez une catégorie et envoyez votre demande via le formulaire
associé." A commune declares its categories (an attestation for the CAF, a change of situation, a special
diet…), each with a form: ordered fields with a key, a French label, a type, whether it is required, and
optional constraints. A family's submission is validated against that form all at once — every problem is
reported, field by field, and nothing is created while one remains — and its values are normalised (dates
parsed, amounts exact, texts trimmed). The request then lives through its statuses (submitted, in progress,
accepted, refused, closed) with a dated history of who did what; the agent's answer is part of that history.

Two privacy rules (CNIL) shape the forms:

* a category may not ask for a religious diet label ("halal", "casher"…): such a category is refused when it
  is built or loaded. "Sans porc", "sans gluten" or "végétarien" are allowed;
* health data (the PAI, the "needs support" flag — never the nature of a handicap) may be asked, but the field
  is declared ``sensitive`` so that a frontend can warn the family and a store can restrict who reads it.

Everything here is pure: instants are arguments (aware datetimes), and each action on a ``Request`` returns a
new ``Request``. ``docs/requests.md`` has worked examples and the TOML shape.

Why one module of some 1,150 lines: a request's categories, form fields and their value checks, statuses
and history are one state machine, read from the commune's TOML and checked by the same property tests.
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import io
import json
import pickle
import re
import unicodedata
import zoneinfo
from collections.abc import Collection, Iterable, Iterator, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any, Final, TypeVar

import attrs

from espacefamille._internal.tables import Table
from espacefamille._internal.validators import identifier, non_empty, text_problem
from espacefamille.calendar.timezones import aware_instant
from espacefamille.errors import InvalidConfiguration, InvalidInput, NotFound, PermissionDenied
from espacefamille.money import to_decimal
from espacefamille.text import format_amount, format_date

__all__ = [
    "IDEMPOTENCY_KEY_MAX_LENGTH",
    "MESSAGE_MAX_LENGTH",
    "TRANSITIONS",
    "Actor",
    "ActorRole",
    "EventKind",
    "FieldError",
    "FieldType",
    "FieldValue",
    "FormField",
    "InvalidSubmission",
    "Option",
    "Request",
    "RequestCategories",
    "RequestCategory",
    "RequestEvent",
    "RequestStatus",
    "Submission",
    "check_idempotency_key",
    "decode_result",
    "encode_result",
    "replayed",
    "request_categories_from_dict",
    "request_categories_to_dict",
    "submission_fingerprint",
    "submit_request",
    "validate_submission",
]

#: What a normalised form value can be: text, a whole number, yes/no, an exact amount or a date.
FieldValue = str | int | bool | Decimal | dt.date

#: The longest message or answer kept in a request's history.
MESSAGE_MAX_LENGTH: Final = 5000

_CENT = Decimal("0.01")
# Above this many euros an "amount" is a typing slip, not a request (and it keeps quantize() safe).
_AMOUNT_LIMIT = Decimal(1_000_000_000)


_non_empty = non_empty(code="model.empty")


def _boolean(instance: object, attribute: attrs.Attribute[bool], value: object) -> None:
    if not isinstance(value, bool):
        raise InvalidInput(
            f"{type(instance).__name__}.{attribute.name} must be True or False, got {value!r}",
            code="input.not_a_boolean",
            details={"at": attribute.name},
        )


def _string(instance: object, attribute: attrs.Attribute[str], value: object) -> None:
    if not isinstance(value, str):
        raise InvalidInput(
            f"{type(instance).__name__}.{attribute.name} must be a string, got {value!r}",
            code="input.not_a_string",
            details={"at": attribute.name},
        )


# -- forms ------------------------------------------------------------------------------------


class FieldType(enum.Enum):
    """What a form field holds, and so how a submitted value is read and normalised."""

    TEXT = "text"  # one line, trimmed
    LONG_TEXT = "long_text"  # several lines (line breaks kept, "\r\n" read as "\n")
    DATE = "date"  # a date, from a ``date`` or an ISO string "2026-11-12"
    INTEGER = "integer"  # a whole number, from an int or a string of digits
    AMOUNT = "amount"  # euros, exact to the cent: a Decimal with two places ("12,50" → 12.50)
    YES_NO = "yes_no"  # True or False, from a bool or "oui"/"non"
    CHOICE = "choice"  # the value of one of the field's options
    EMAIL = "email"  # an e-mail address (domain lower-cased)
    PHONE = "phone"  # a French number "0612345678" or an international one "+262262123456"
    CHILD = "child"  # the id of one of the family's children

    @property
    def default_max_length(self) -> int | None:
        """The length cap applied when the form does not set ``max_length`` (texts are never unbounded)."""
        return _DEFAULT_MAX_LENGTHS.get(self)


_DEFAULT_MAX_LENGTHS = {FieldType.TEXT: 255, FieldType.LONG_TEXT: MESSAGE_MAX_LENGTH, FieldType.EMAIL: 254}
_BOUNDED = {FieldType.INTEGER, FieldType.AMOUNT, FieldType.DATE}


@attrs.frozen
class Option:
    """One answer of a ``choice`` field: the ``value`` submitted and the French ``label`` shown."""

    value: str = attrs.field(validator=identifier)
    label: str = attrs.field(validator=_non_empty)


def _options(items: Iterable[Option]) -> tuple[Option, ...]:
    return tuple(items)


def _bad_field(message: str, at: str, code: str = "requests.bad_field") -> InvalidInput:
    return InvalidInput(message, code=code, details={"at": at})


@attrs.frozen
class FormField:
    """One field of a category's form.

    ``max_length`` (characters) applies to texts and e-mails; without it, a text has at most 255 characters, a
    long text and an e-mail their own caps. ``minimum``/``maximum`` (inclusive) apply to integers (``int``),
    amounts (``Decimal``, at most two places; an ``int`` or a string is converted) and dates (``date``).
    ``sensitive`` marks health data (the PAI, the "needs support" flag): frontends warn the family, stores
    restrict its readers. ``help`` is a French hint shown under the field.
    """

    key: str = attrs.field(validator=identifier)
    label: str = attrs.field(validator=_non_empty)
    type: FieldType = attrs.field(validator=attrs.validators.instance_of(FieldType))
    required: bool = attrs.field(default=False, validator=_boolean)
    sensitive: bool = attrs.field(default=False, validator=_boolean)
    help: str = attrs.field(default="", validator=_string)
    max_length: int | None = None
    minimum: int | Decimal | dt.date | None = None
    maximum: int | Decimal | dt.date | None = None
    options: tuple[Option, ...] = attrs.field(converter=_options, default=())

    def __attrs_post_init__(self) -> None:
        if self.max_length is not None:
            if self.type.default_max_length is None:
                raise _bad_field(
                    f"field {self.key!r}: a {self.type.value} field has no max_length", "max_length"
                )
            if (
                isinstance(self.max_length, bool)
                or not isinstance(self.max_length, int)
                or self.max_length < 1
            ):
                raise _bad_field(
                    f"field {self.key!r}: max_length must be a whole number >= 1, got {self.max_length!r}",
                    "max_length",
                )
        for name in ("minimum", "maximum"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, self._bound(name, value))
        low, high = self.minimum, self.maximum
        if low is not None and high is not None and low > high:  # type: ignore[operator]
            raise _bad_field(f"field {self.key!r}: minimum {low} is above maximum {high}", "minimum")
        if self.type is FieldType.CHOICE:
            if not self.options:
                raise _bad_field(f"choice field {self.key!r} needs options", "options")
            if not all(isinstance(option, Option) for option in self.options):
                raise _bad_field(f"field {self.key!r}: options must be Option values", "options")
            values = [option.value for option in self.options]
            if len(set(values)) != len(values):
                raise _bad_field(f"choice field {self.key!r} repeats an option value", "options")
        elif self.options:
            raise _bad_field(
                f"only choice fields have options ({self.key!r} is {self.type.value})", "options"
            )

    def _bound(self, name: str, value: object) -> int | Decimal | dt.date:
        if self.type not in _BOUNDED:
            raise _bad_field(f"field {self.key!r}: a {self.type.value} field has no {name}", name)
        if self.type is FieldType.INTEGER and type(value) is int:
            return value
        if self.type is FieldType.DATE and isinstance(value, dt.date) and not isinstance(value, dt.datetime):
            return value
        if self.type is FieldType.AMOUNT and not isinstance(value, bool | float):
            try:
                amount = to_decimal(value, what=f"{self.key}.{name}")
            except InvalidInput as error:
                raise _bad_field(error.message, name, error.code) from None
            if abs(amount) < _AMOUNT_LIMIT and amount == amount.quantize(_CENT):
                return amount.quantize(_CENT)
        expected = {
            FieldType.INTEGER: "an int",
            FieldType.AMOUNT: "an exact amount",
            FieldType.DATE: "a date",
        }
        raise _bad_field(f"field {self.key!r}: {name} must be {expected[self.type]}, got {value!r}", name)

    @property
    def effective_max_length(self) -> int | None:
        """The length cap that applies: the form's own, or the type's default."""
        return self.max_length if self.max_length is not None else self.type.default_max_length

    def option(self, value: str) -> Option | None:
        return next((option for option in self.options if option.value == value), None)


def _fields(items: Iterable[FormField]) -> tuple[FormField, ...]:
    return tuple(items)


# Words that name a religious diet or ask for a religion (CNIL; RGPD art. 9), compared without accents.
_RELIGIOUS_WORDS = frozenset(
    {
        "halal",
        "hallal",
        "casher",
        "cacher",
        "cachere",
        "kasher",
        "kosher",
        "cashrout",
        "religion",
        "religions",
        "religieux",
        "religieuse",
        "religieuses",
        "confession",
        "confessionnel",
        "confessionnelle",
        "culte",
        "cultuel",
        "cultuelle",
        "ramadan",
    }
)


def _words(text: str) -> set[str]:
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return set(re.split(r"[^a-z0-9]+", plain))


@attrs.frozen
class RequestCategory:
    """A kind of request a commune offers (``attestation-caf``, ``changement-situation``…) and its form.

    ``fields`` are in the order the form shows them; keys are unique. A category naming a religious diet or a
    religion anywhere (label, description, a field's key, label or help, an option) is refused (CNIL).
    """

    id: str = attrs.field(validator=identifier)
    label: str = attrs.field(validator=_non_empty)
    fields: tuple[FormField, ...] = attrs.field(converter=_fields)
    description: str = attrs.field(default="", validator=_string)

    def __attrs_post_init__(self) -> None:
        if not self.fields:
            raise InvalidInput(
                f"category {self.id!r} needs at least one field",
                code="requests.no_field",
                details={"at": "fields"},
            )
        seen: set[str] = set()
        for index, field in enumerate(self.fields):
            if not isinstance(field, FormField):
                raise _bad_field(f"category {self.id!r}: fields must be FormField values", f"fields[{index}]")
            if field.key in seen:
                raise InvalidInput(
                    f"category {self.id!r} has two fields {field.key!r}",
                    code="requests.duplicate_field",
                    details={"at": f"fields[{index}].key"},
                )
            seen.add(field.key)
        for at, text in self._texts():
            found = sorted(_words(text) & _RELIGIOUS_WORDS)
            if found:
                raise InvalidInput(
                    f"category {self.id!r} asks for a religious label ({found[0]!r} in {at}), which the CNIL "
                    "forbids; diets such as 'sans porc' or 'sans gluten' are allowed",
                    message_fr=(
                        "La CNIL interdit de demander un régime alimentaire confessionnel ou une religion "
                        f"(« {found[0]} ») ; « sans porc », « sans gluten » ou « végétarien » sont permis."
                    ),
                    code="requests.religious_label",
                    details={"at": at},
                )

    def _texts(self) -> Iterator[tuple[str, str]]:
        yield "label", self.label
        yield "description", self.description
        for index, field in enumerate(self.fields):
            at = f"fields[{index}]"
            yield f"{at}.key", field.key
            yield f"{at}.label", field.label
            yield f"{at}.help", field.help
            for number, option in enumerate(field.options):
                yield f"{at}.options[{number}].value", option.value
                yield f"{at}.options[{number}].label", option.label

    def field(self, key: str) -> FormField:
        for field in self.fields:
            if field.key == key:
                return field
        raise NotFound(f"category {self.id!r} has no field {key!r}", code="requests.unknown_field")

    @property
    def sensitive_fields(self) -> tuple[FormField, ...]:
        """The fields holding health data, which a frontend flags before the family sends them."""
        return tuple(field for field in self.fields if field.sensitive)


def _categories(items: Iterable[RequestCategory]) -> tuple[RequestCategory, ...]:
    return tuple(items)


@attrs.frozen
class RequestCategories:
    """A commune's request categories, in the order its portal lists them; ids are unique."""

    categories: tuple[RequestCategory, ...] = attrs.field(converter=_categories, default=())

    def __attrs_post_init__(self) -> None:
        ids = [category.id for category in self.categories]
        for index, category_id in enumerate(ids):
            if category_id in ids[:index]:
                raise InvalidInput(
                    f"two request categories are named {category_id!r}",
                    code="config.duplicate_id",
                    details={"at": category_id},
                )

    def __iter__(self) -> Iterator[RequestCategory]:
        return iter(self.categories)

    def __len__(self) -> int:
        return len(self.categories)

    def category(self, category_id: str) -> RequestCategory:
        for category in self.categories:
            if category.id == category_id:
                return category
        raise NotFound(
            f"no request category {category_id!r} (known: {[c.id for c in self.categories]})",
            message_fr="Cette catégorie de demande n'existe pas.",
            code="requests.unknown_category",
        )


# -- validating a submission ------------------------------------------------------------------


@attrs.frozen
class FieldError:
    """What is wrong with one field of a submission, for a frontend to show next to that field.

    ``code`` is stable: ``form.missing``, ``form.unknown_field``, ``form.wrong_type``,
    ``form.bad_characters``, ``form.too_long``, ``form.too_small``, ``form.too_large``, ``form.too_precise``,
    ``form.not_an_option``, ``form.bad_email``, ``form.bad_phone``, ``form.unknown_child``. ``label`` is the
    field's label (its key for a field the form does not have), so a summary can name it.
    """

    key: str
    code: str
    message: str
    message_fr: str
    label: str

    def as_dict(self) -> dict[str, str]:
        return {
            "key": self.key,
            "code": self.code,
            "message": self.message,
            "message_fr": self.message_fr,
            "label": self.label,
        }


class InvalidSubmission(InvalidInput):
    """A submission does not fit its form; ``errors`` lists every faulty field, at most one error each.

    ``details["errors"]`` holds the same errors as plain dicts (for JSON); ``by_field`` maps each faulty
    key to its error.
    """

    default_code = "requests.invalid_submission"

    def __init__(self, category_id: str, errors: Iterable[FieldError]) -> None:
        self.errors: tuple[FieldError, ...] = tuple(errors)
        count = len(self.errors)
        message = f"the form {category_id!r} has {count} error{'s' if count > 1 else ''}: " + "; ".join(
            f"{error.key}: {error.message}" for error in self.errors
        )
        lead = (
            "Le formulaire contient une erreur." if count == 1 else f"Le formulaire contient {count} erreurs."
        )
        message_fr = f"{lead} " + " ".join(f"« {error.label} » : {error.message_fr}" for error in self.errors)
        super().__init__(
            message,
            message_fr=message_fr,
            details={"category_id": category_id, "errors": [error.as_dict() for error in self.errors]},
        )
        self.category_id = category_id

    @property
    def by_field(self) -> dict[str, FieldError]:
        return {error.key: error for error in self.errors}


_TYPE_MESSAGES = {
    FieldType.TEXT: ("expected text", "Indiquez un texte."),
    FieldType.LONG_TEXT: ("expected text", "Indiquez un texte."),
    FieldType.DATE: ("expected a date (YYYY-MM-DD)", "Indiquez une date valide (AAAA-MM-JJ)."),
    FieldType.INTEGER: ("expected a whole number", "Indiquez un nombre entier."),
    FieldType.AMOUNT: ("expected an exact amount such as 12.50", "Indiquez un montant, par exemple 12,50."),
    FieldType.YES_NO: ("expected yes or no", "Répondez par oui ou par non."),
    FieldType.CHOICE: ("expected one of the options", "Choisissez l'une des options proposées."),
    FieldType.EMAIL: ("expected an e-mail address", "Indiquez une adresse e-mail valide (nom@exemple.fr)."),
    FieldType.PHONE: ("expected a phone number", "Indiquez un numéro de téléphone valide."),
    FieldType.CHILD: ("expected one of the family's children", "Choisissez l'un de vos enfants."),
}
_YES_NO = {"oui": True, "non": False, "true": True, "false": False, "yes": True, "no": False}
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_INTEGER = re.compile(r"^[+-]?\d{1,15}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s.]+(\.[^@\s.]+)+$")
_PHONE_SEPARATORS = re.compile(r"[\s.\-()/]")
_FRENCH_PHONE = re.compile(r"^0[1-9]\d{8}$")
_INTERNATIONAL_PHONE = re.compile(r"^\+[1-9]\d{7,14}$")


class _Refusal(Exception):
    """One field's problem, raised inside the normalisation of that field only."""

    def __init__(self, code: str, message: str, message_fr: str) -> None:
        super().__init__(message)
        self.code, self.message, self.message_fr = code, message, message_fr


def _wrong_type(field: FormField, value: object, extra: str = "") -> _Refusal:
    message, message_fr = _TYPE_MESSAGES[field.type]
    return _Refusal("form.wrong_type", f"{message}{extra}, got {type(value).__name__} {value!r}", message_fr)


def _text(field: FormField, value: object) -> str:
    if not isinstance(value, str):
        raise _wrong_type(field, value)
    problem = text_problem(value, multiline=True)
    if problem is not None and problem[0] == "input.lone_surrogate":
        # What json.loads returns for "\ud800" from a web form: no store could encode it.
        raise _Refusal("form.bad_characters", "the text contains a lone surrogate", problem[2])
    text = unicodedata.normalize("NFC", value).strip()
    if field.type is FieldType.LONG_TEXT:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    allowed = "\n\t" if field.type is FieldType.LONG_TEXT else ""
    if any(unicodedata.category(char) == "Cc" and char not in allowed for char in text):
        line = " (a line break in a one-line field)" if "\n" in text else ""
        raise _Refusal(
            "form.bad_characters",
            f"the text contains control characters{line}",
            "Le texte contient des caractères non autorisés"
            + (" (un retour à la ligne dans un champ d'une seule ligne)." if line else "."),
        )
    return text


def _date(field: FormField, value: object) -> dt.date:
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if isinstance(value, str) and _ISO_DATE.fullmatch(value.strip()):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise _wrong_type(field, value)


def _integer(field: FormField, value: object) -> int:
    if type(value) is int:
        return value
    if isinstance(value, str) and _INTEGER.fullmatch(value.strip()):
        return int(value.strip())
    raise _wrong_type(field, value, " (never a float)" if isinstance(value, float) else "")


def _amount(field: FormField, value: object) -> Decimal:
    if isinstance(value, bool | float):
        raise _wrong_type(
            field, value, " (never a float, which is not exact)" if isinstance(value, float) else ""
        )
    try:
        amount = to_decimal(value, what=field.key)
    except InvalidInput:
        raise _wrong_type(field, value) from None
    if abs(amount) >= _AMOUNT_LIMIT:
        raise _Refusal("form.too_large", f"{amount} is not a plausible amount", "Ce montant est trop élevé.")
    try:
        exact = amount.quantize(_CENT)
    except InvalidOperation:  # pragma: no cover - the limit above keeps quantize() within precision
        raise _wrong_type(field, value) from None
    if exact != amount:
        raise _Refusal(
            "form.too_precise",
            f"an amount has at most two decimals, got {amount}",
            "Un montant a au plus deux décimales (les centimes).",
        )
    return exact


def _yes_no(field: FormField, value: object) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _YES_NO:
        return _YES_NO[value.strip().lower()]
    raise _wrong_type(field, value)


def _choice(field: FormField, value: object) -> str:
    if not isinstance(value, str):
        raise _wrong_type(field, value)
    if field.option(value.strip()) is None:
        offered = ", ".join(option.value for option in field.options)
        raise _Refusal(
            "form.not_an_option",
            f"{value!r} is not one of {offered}",
            "Choisissez l'une des options proposées : "
            + ", ".join(f"« {option.label} »" for option in field.options)
            + ".",
        )
    return value.strip()


def _email(field: FormField, value: object) -> str:
    text = _text(field, value)
    if not _EMAIL.fullmatch(text):
        raise _Refusal("form.bad_email", f"{text!r} is not an e-mail address", _TYPE_MESSAGES[field.type][1])
    local, domain = text.rsplit("@", 1)
    return f"{local}@{domain.lower()}"


def _phone(field: FormField, value: object) -> str:
    if not isinstance(value, str):
        raise _wrong_type(field, value)
    compact = _PHONE_SEPARATORS.sub("", value)
    if compact.startswith("00"):
        compact = "+" + compact[2:]
    if _FRENCH_PHONE.fullmatch(compact) or _INTERNATIONAL_PHONE.fullmatch(compact):
        return compact
    raise _Refusal(
        "form.bad_phone",
        f"{value!r} is not a phone number (10 digits from 0, or + and the country code)",
        "Indiquez un numéro de téléphone valide : 10 chiffres commençant par 0, ou +33…",
    )


def _child(field: FormField, value: object, children: Collection[str]) -> str:
    if not isinstance(value, str):
        raise _wrong_type(field, value)
    if value.strip() not in children:
        # Say the same for a child of another family as for a typo: nothing leaks about other households.
        raise _Refusal(
            "form.unknown_child", f"{value!r} is not a child of this family", _TYPE_MESSAGES[field.type][1]
        )
    return value.strip()


def _format_bound(bound: int | Decimal | dt.date) -> str:
    if isinstance(bound, dt.date):
        return format_date(bound)
    if isinstance(bound, Decimal):
        return format_amount(bound)
    return str(bound)


def _normalise(field: FormField, raw: object, children: Collection[str]) -> FieldValue:
    value: FieldValue
    if field.type in (FieldType.TEXT, FieldType.LONG_TEXT):
        value = _text(field, raw)
    elif field.type is FieldType.DATE:
        value = _date(field, raw)
    elif field.type is FieldType.INTEGER:
        value = _integer(field, raw)
    elif field.type is FieldType.AMOUNT:
        value = _amount(field, raw)
    elif field.type is FieldType.YES_NO:
        value = _yes_no(field, raw)
    elif field.type is FieldType.CHOICE:
        value = _choice(field, raw)
    elif field.type is FieldType.EMAIL:
        value = _email(field, raw)
    elif field.type is FieldType.PHONE:
        value = _phone(field, raw)
    else:
        value = _child(field, raw, children)
    limit = field.effective_max_length
    if limit is not None and isinstance(value, str) and len(value) > limit:
        raise _Refusal(
            "form.too_long",
            f"at most {limit} characters, got {len(value)}",
            f"{limit} caractères au maximum ({len(value)} saisis).",
        )
    if field.minimum is not None and value < field.minimum:  # type: ignore[operator]
        bound = _format_bound(field.minimum)
        after = "le " if isinstance(field.minimum, dt.date) else ""
        raise _Refusal(
            "form.too_small",
            f"at least {field.minimum}, got {value}",
            f"La valeur minimale est {after}{bound}.",
        )
    if field.maximum is not None and value > field.maximum:  # type: ignore[operator]
        bound = _format_bound(field.maximum)
        after = "le " if isinstance(field.maximum, dt.date) else ""
        raise _Refusal(
            "form.too_large",
            f"at most {field.maximum}, got {value}",
            f"La valeur maximale est {after}{bound}.",
        )
    return value


def _absent(raw: object) -> bool:
    """An empty answer: nothing, or only blanks (what an untouched web form field sends)."""
    return raw is None or (isinstance(raw, str) and not raw.strip())


def validate_submission(
    category: RequestCategory, values: Mapping[str, object], *, children: Iterable[str] = ()
) -> dict[str, FieldValue]:
    """The normalised values of a submission to ``category``'s form, in the form's order.

    ``children`` are the ids of the submitting family's children (for ``child`` fields). An empty answer
    (``None`` or blanks) is no answer: an optional field left empty is simply absent from the result. Every
    missing required field, unknown key and wrong value is reported at once in one ``InvalidSubmission``
    (in the form's order, then unknown keys as submitted). Validating the result again gives it back
    unchanged.
    """
    if not isinstance(category, RequestCategory):
        raise InvalidInput(f"expected a RequestCategory, got {category!r}", code="input.invalid")
    if not isinstance(values, Mapping):
        raise InvalidInput(
            f"a submission is a mapping of field keys to values, got {type(values).__name__}",
            code="requests.not_a_mapping",
        )
    kids = frozenset(children)
    result: dict[str, FieldValue] = {}
    errors: list[FieldError] = []
    for field in category.fields:
        raw = values.get(field.key)
        if _absent(raw):
            if field.required:
                errors.append(
                    FieldError(
                        field.key,
                        "form.missing",
                        "this field is required",
                        "Ce champ est obligatoire.",
                        field.label,
                    )
                )
            continue
        try:
            result[field.key] = _normalise(field, raw, kids)
        except _Refusal as refusal:
            errors.append(
                FieldError(field.key, refusal.code, refusal.message, refusal.message_fr, field.label)
            )
    known = {field.key for field in category.fields}
    for key in values:
        if key not in known:
            name = str(key)
            errors.append(
                FieldError(
                    name,
                    "form.unknown_field",
                    f"the form {category.id!r} has no field {name!r}",
                    "Ce champ ne fait pas partie du formulaire.",
                    name,
                )
            )
    if errors:
        raise InvalidSubmission(category.id, errors)
    return result


# -- requests and their history ---------------------------------------------------------------


class RequestStatus(enum.Enum):
    """Where a request stands; ``label_fr`` is what the family reads."""

    SUBMITTED = "submitted"
    IN_PROGRESS = "in_progress"
    ACCEPTED = "accepted"
    REFUSED = "refused"
    CLOSED = "closed"

    @property
    def label_fr(self) -> str:
        return _STATUS_LABELS[self]


_STATUS_LABELS = {
    RequestStatus.SUBMITTED: "envoyée",
    RequestStatus.IN_PROGRESS: "en cours de traitement",
    RequestStatus.ACCEPTED: "acceptée",
    RequestStatus.REFUSED: "refusée",
    RequestStatus.CLOSED: "close",
}

#: The status changes a request allows. A closed request never changes again.
TRANSITIONS: Final[Mapping[RequestStatus, frozenset[RequestStatus]]] = {
    RequestStatus.SUBMITTED: frozenset(
        {RequestStatus.IN_PROGRESS, RequestStatus.ACCEPTED, RequestStatus.REFUSED, RequestStatus.CLOSED}
    ),
    RequestStatus.IN_PROGRESS: frozenset(
        {RequestStatus.ACCEPTED, RequestStatus.REFUSED, RequestStatus.CLOSED}
    ),
    RequestStatus.ACCEPTED: frozenset({RequestStatus.CLOSED}),
    RequestStatus.REFUSED: frozenset({RequestStatus.CLOSED}),
    RequestStatus.CLOSED: frozenset(),
}
# A family may withdraw its request while the commune has not decided; every other change is an agent's.
_FAMILY_MAY_CLOSE = frozenset({RequestStatus.SUBMITTED, RequestStatus.IN_PROGRESS})


class ActorRole(enum.Enum):
    FAMILY = "family"
    AGENT = "agent"


@attrs.frozen
class Actor:
    """Who acts on a request: a family (its id) or a commune agent (the agent's id)."""

    role: ActorRole = attrs.field(validator=attrs.validators.instance_of(ActorRole))
    id: str = attrs.field(validator=identifier)

    @classmethod
    def family(cls, family_id: str) -> Actor:
        return cls(ActorRole.FAMILY, family_id)

    @classmethod
    def agent(cls, agent_id: str) -> Actor:
        return cls(ActorRole.AGENT, agent_id)

    @property
    def is_agent(self) -> bool:
        return self.role is ActorRole.AGENT


class EventKind(enum.Enum):
    """What happened: the submission, a status change, the agent's answer, or a message from either side.

    ``ANSWERED`` is the commune's answer to the family (it may change the status too: an acceptance or a
    refusal is always an answer); it is the *notable* event a host application notifies ("request answered").
    """

    SUBMITTED = "submitted"
    STATUS_CHANGED = "status_changed"
    ANSWERED = "answered"
    MESSAGE = "message"


def _message(value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidInput(f"a message must be text, got {value!r}", code="requests.bad_message")
    text = unicodedata.normalize("NFC", value).strip().replace("\r\n", "\n")
    if len(text) > MESSAGE_MAX_LENGTH:
        raise InvalidInput(
            f"a message has at most {MESSAGE_MAX_LENGTH} characters, got {len(text)}",
            message_fr=f"Un message compte au plus {MESSAGE_MAX_LENGTH} caractères.",
            code="requests.message_too_long",
        )
    return text or None


def _optional_status(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None and not isinstance(value, RequestStatus):
        raise InvalidInput(f"RequestEvent.{attribute.name} must be a RequestStatus", code="input.invalid")


@attrs.frozen
class RequestEvent:
    """One dated line of a request's history: who, when, what, the status change if any, and the message.

    ``from_status``/``to_status`` are both set for a status change (the submission goes from nothing to
    ``submitted``) and both ``None`` otherwise. A message and an answer always have a text.
    """

    at: dt.datetime = attrs.field(validator=aware_instant)
    actor: Actor = attrs.field(validator=attrs.validators.instance_of(Actor))
    kind: EventKind = attrs.field(validator=attrs.validators.instance_of(EventKind))
    from_status: RequestStatus | None = attrs.field(default=None, validator=_optional_status)
    to_status: RequestStatus | None = attrs.field(default=None, validator=_optional_status)
    message: str | None = attrs.field(default=None, converter=_message)

    def __attrs_post_init__(self) -> None:
        if self.kind is EventKind.SUBMITTED:
            shape_ok = self.from_status is None and self.to_status is RequestStatus.SUBMITTED
        elif self.kind is EventKind.STATUS_CHANGED:
            shape_ok = self.from_status is not None and self.to_status is not None
        elif self.kind is EventKind.MESSAGE:
            shape_ok = self.from_status is None and self.to_status is None
        else:
            shape_ok = (self.from_status is None) == (self.to_status is None)
        if not shape_ok:
            raise InvalidInput(
                f"a {self.kind.value} event cannot go from {self.from_status} to {self.to_status}",
                code="requests.bad_event",
            )
        if self.kind in (EventKind.ANSWERED, EventKind.MESSAGE) and self.message is None:
            raise InvalidInput(
                f"a {self.kind.value} event needs a text",
                message_fr="Le message est vide.",
                code="requests.empty_message",
            )

    @property
    def changes_status(self) -> bool:
        return self.to_status is not None

    @property
    def is_notable(self) -> bool:
        """The commune answered: the event a host application turns into a notification to the family."""
        return self.kind is EventKind.ANSWERED


def _values(items: Mapping[str, FieldValue]) -> dict[str, FieldValue]:
    if not isinstance(items, Mapping) or not all(isinstance(key, str) for key in items):
        raise InvalidInput("a request's values map field keys to values", code="input.invalid")
    return dict(items)


def _history(items: Iterable[RequestEvent]) -> tuple[RequestEvent, ...]:
    return tuple(items)


def _check_history(request: Request) -> RequestStatus:
    """The status at the end of ``request``'s history, refusing any step the rules do not allow."""
    status: RequestStatus | None = None
    last: RequestEvent | None = None
    for index, event in enumerate(request.history):
        if not isinstance(event, RequestEvent):
            raise InvalidInput(f"history[{index}] is not a RequestEvent", code="input.invalid")
        if (index == 0) != (event.kind is EventKind.SUBMITTED):
            raise InvalidInput(
                "a request's history starts with its submission, and only there", code="requests.bad_history"
            )
        if event.actor.role is ActorRole.FAMILY and event.actor.id != request.family_id:
            raise PermissionDenied(
                f"family {event.actor.id!r} cannot act on request {request.id!r} of another family",
                message_fr="Cette demande n'est pas la vôtre.",
                code="requests.not_your_request",
            )
        if event.kind is EventKind.SUBMITTED and event.actor.is_agent:
            raise PermissionDenied("a request is submitted by its family", code="requests.family_only")
        # Compared in UTC: Python compares two datetimes of one zone by wall clock, ignoring ``fold``, which
        # would put 02:10 (winter time) before 02:50 (summer time) on the night of the October clock change.
        if last is not None and event.at.astimezone(dt.UTC) < last.at.astimezone(dt.UTC):
            raise InvalidInput(
                f"an event at {event.at.isoformat()} cannot follow one at {last.at.isoformat()}",
                message_fr="Un événement ne peut pas précéder le dernier événement de la demande.",
                code="requests.event_before_last",
            )
        if status is RequestStatus.CLOSED:
            raise InvalidInput(
                f"request {request.id!r} is closed: it cannot change any more",
                message_fr="Cette demande est close : elle ne peut plus être modifiée.",
                code="requests.closed",
            )
        if status is not None and event.to_status is not None:
            _check_step(status, event)
        if event.to_status is not None:
            status = event.to_status
        last = event
    if status is None:
        raise InvalidInput("a request's history starts with its submission", code="requests.bad_history")
    return status


def _check_step(status: RequestStatus, event: RequestEvent) -> None:
    target = event.to_status
    assert target is not None
    if event.from_status is not status:
        raise InvalidInput(
            f"the event goes from {event.from_status} but the request is {status.value}",
            code="requests.bad_history",
        )
    if target not in TRANSITIONS[status]:
        raise InvalidInput(
            f"a request cannot go from {status.value} to {target.value}",
            message_fr=f"Une demande {status.label_fr} ne peut pas devenir {target.label_fr}.",
            code="requests.transition_refused",
        )
    if not event.actor.is_agent and not (target is RequestStatus.CLOSED and status in _FAMILY_MAY_CLOSE):
        raise PermissionDenied(
            f"only an agent can make a {status.value} request {target.value}",
            message_fr="Seule la commune peut traiter cette demande ; vous pouvez la retirer tant qu'elle "
            "n'a pas reçu de réponse.",
            code="requests.agent_only",
        )


@attrs.frozen
class Request:
    """A family's request (*demande*): its category, the normalised values of its form, and its history.

    The status is the last status change of the history, so the two cannot disagree. The history is
    ordered by instant (equal instants keep their order) and only grows: each action returns a new
    ``Request`` with one more event. An invalid history (a step the rules refuse, an event out of order,
    another family acting) cannot be built, even from a store.
    """

    id: str = attrs.field(validator=identifier)
    family_id: str = attrs.field(validator=identifier)
    category_id: str = attrs.field(validator=identifier)
    values: Mapping[str, FieldValue] = attrs.field(converter=_values)
    history: tuple[RequestEvent, ...] = attrs.field(converter=_history)
    _status: RequestStatus = attrs.field(init=False, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "_status", _check_history(self))

    @property
    def status(self) -> RequestStatus:
        return self._status

    @property
    def submitted_at(self) -> dt.datetime:
        return self.history[0].at

    @property
    def updated_at(self) -> dt.datetime:
        return self.history[-1].at

    @property
    def answers(self) -> tuple[RequestEvent, ...]:
        """The commune's answers, oldest first."""
        return tuple(event for event in self.history if event.kind is EventKind.ANSWERED)

    @property
    def is_closed(self) -> bool:
        return self._status is RequestStatus.CLOSED

    def allowed_transitions(self, actor: Actor) -> frozenset[RequestStatus]:
        """The statuses ``actor`` may move this request to now (what a frontend offers as buttons)."""
        allowed = TRANSITIONS[self._status]
        if actor.is_agent:
            return allowed
        if actor.id == self.family_id and self._status in _FAMILY_MAY_CLOSE:
            return allowed & {RequestStatus.CLOSED}
        return frozenset()

    def _record(
        self, actor: Actor, at: dt.datetime, kind: EventKind, to: RequestStatus | None, message: str | None
    ) -> Request:
        event = RequestEvent(at, actor, kind, None if to is None else self._status, to, message)
        return attrs.evolve(self, history=(*self.history, event))

    def _agent(self, actor: Actor, what: str) -> None:
        if not isinstance(actor, Actor) or not actor.is_agent:
            raise PermissionDenied(
                f"only an agent can {what} a request",
                message_fr="Seule la commune peut traiter cette demande.",
                code="requests.agent_only",
            )

    def take_in_charge(self, agent: Actor, at: dt.datetime, message: str | None = None) -> Request:
        """An agent starts handling the request (``in_progress``)."""
        self._agent(agent, "take in charge")
        return self._record(agent, at, EventKind.STATUS_CHANGED, RequestStatus.IN_PROGRESS, message)

    def answer(self, agent: Actor, at: dt.datetime, text: str) -> Request:
        """The agent's answer without a decision (a question, a document to bring…).

        Answering a request still ``submitted`` takes it in charge in the same event.
        """
        self._agent(agent, "answer")
        to = RequestStatus.IN_PROGRESS if self._status is RequestStatus.SUBMITTED else None
        return self._record(agent, at, EventKind.ANSWERED, to, text)

    def accept(self, agent: Actor, at: dt.datetime, answer: str) -> Request:
        """The commune grants the request; the answer tells the family what follows."""
        self._agent(agent, "accept")
        return self._record(agent, at, EventKind.ANSWERED, RequestStatus.ACCEPTED, answer)

    def refuse(self, agent: Actor, at: dt.datetime, answer: str) -> Request:
        """The commune refuses the request; the answer, which gives the reason, is required."""
        self._agent(agent, "refuse")
        return self._record(agent, at, EventKind.ANSWERED, RequestStatus.REFUSED, answer)

    def close(self, actor: Actor, at: dt.datetime, message: str | None = None) -> Request:
        """Close the request: an agent files it; its family withdraws it while it is not yet decided."""
        return self._record(actor, at, EventKind.STATUS_CHANGED, RequestStatus.CLOSED, message)

    def add_message(self, actor: Actor, at: dt.datetime, text: str) -> Request:
        """A message in the request's thread (the family adds a detail, an agent leaves a note)."""
        return self._record(actor, at, EventKind.MESSAGE, None, text)


def submit_request(
    request_id: str,
    category: RequestCategory,
    family_id: str,
    values: Mapping[str, object],
    at: dt.datetime,
    *,
    children: Iterable[str] = (),
    message: str | None = None,
) -> Request:
    """A new request of ``family_id`` in ``category``, submitted at ``at`` (aware).

    The values are validated against the form first (``InvalidSubmission`` lists every faulty field, and no
    request exists); ``children`` are the family's children ids, ``message`` an optional free comment.
    """
    normalised = validate_submission(category, values, children=children)
    event = RequestEvent(
        at, Actor.family(family_id), EventKind.SUBMITTED, None, RequestStatus.SUBMITTED, message
    )
    return Request(request_id, family_id, category.id, normalised, (event,))


# -- configuration as data --------------------------------------------------------------------

_CATEGORY_KEYS = ("label", "description", "fields")
_FIELD_KEYS = ("key", "label", "type", "required", "sensitive", "help", "max_length", "min", "max", "options")
_OPTION_KEYS = ("value", "label")
# Where an error raised by a constructor lands in the TOML table (attribute → key).
_TOML_KEYS = {"minimum": "min", "maximum": "max"}


def _located(error: InvalidInput, table: Table) -> InvalidConfiguration:
    # A constructor's error names its attribute (details["at"]): it lands on that attribute's TOML key.
    at = str(error.details.get("at", ""))
    key = ".".join(_TOML_KEYS.get(part, part) for part in at.split(".")) if at else ""
    return InvalidConfiguration(
        error.message, path=table.at(key), message_fr=error.message_fr, code=error.code
    )


def _bound_from_toml(table: Table, key: str) -> object:
    value = table.raw(key, required=False)
    if isinstance(value, float):
        raise InvalidConfiguration(
            f'write amounts as strings ("{value}") so they stay exact, got the float {value!r}',
            path=table.at(key),
            code="config.float_amount",
        )
    if isinstance(value, dt.datetime | dt.time | bool | list | dict):
        raise InvalidConfiguration(
            f"expected a whole number, an amount as a string or a date, got {value!r}",
            path=table.at(key),
            code="config.type",
        )
    return value


def _field_from_dict(table: Table) -> FormField:
    key = table.string("key")
    label = table.string("label")
    type_name = table.string("type")
    try:
        field_type = FieldType(type_name)
    except ValueError:
        expected = ", ".join(repr(member.value) for member in FieldType)
        raise InvalidConfiguration(
            f"expected one of {expected}, got {type_name!r}", path=table.at("type"), code="config.choice"
        ) from None
    options: list[Option] = []
    for option in table.array("options", "an array of {value, label} tables", keys=_OPTION_KEYS):
        value, option_label = option.string("value"), option.string("label")
        try:
            options.append(Option(value, option_label))
        except InvalidInput as error:
            raise _located(error, option) from None
    max_length = table.integer("max_length", None, label="a whole number")
    minimum, maximum = _bound_from_toml(table, "min"), _bound_from_toml(table, "max")
    try:
        return FormField(
            key=key,
            label=label,
            type=field_type,
            required=table.boolean("required", False),
            sensitive=table.boolean("sensitive", False),
            help=table.string("help", ""),
            max_length=max_length,
            minimum=minimum,  # type: ignore[arg-type]
            maximum=maximum,  # type: ignore[arg-type]
            options=options,
        )
    except InvalidInput as error:
        raise _located(error, table) from None


def _category_from_dict(category_id: str, table: Table) -> RequestCategory:
    label = table.string("label")
    description = table.string("description", "")
    items = table.array("fields", "an array of tables ([[…fields]])", keys=_FIELD_KEYS, required=True)
    fields = [_field_from_dict(item) for item in items]
    try:
        return RequestCategory(category_id, label, fields, description)
    except InvalidInput as error:
        if error.details.get("at") == "id":  # the id is the table's own name
            raise InvalidConfiguration(error.message, path=table.path, code=error.code) from None
        raise _located(error, table) from None


def request_categories_from_dict(
    data: Mapping[str, Any], path: str = "requests.categories"
) -> RequestCategories:
    """A commune's ``RequestCategories`` from its ``[requests.categories]`` TOML table (one sub-table per
    category id, each with ``[[requests.categories.<id>.fields]]``; see ``docs/requests.md``).

    Errors are ``InvalidConfiguration`` naming the key path under ``path`` and a stable code; nothing is
    half-built.
    """
    holder = Table(data, path)
    categories = [
        _category_from_dict(category_id, table)
        for category_id, table in holder.subtables(keys=_CATEGORY_KEYS)
    ]
    return RequestCategories(categories)


def _field_to_dict(field: FormField) -> dict[str, Any]:
    item: dict[str, Any] = {"key": field.key, "label": field.label, "type": field.type.value}
    if field.required:
        item["required"] = True
    if field.sensitive:
        item["sensitive"] = True
    if field.help:
        item["help"] = field.help
    if field.max_length is not None:
        item["max_length"] = field.max_length
    for name, bound in (("min", field.minimum), ("max", field.maximum)):
        if bound is not None:
            item[name] = str(bound) if isinstance(bound, Decimal) else bound
    if field.options:
        item["options"] = [{"value": option.value, "label": option.label} for option in field.options]
    return item


def request_categories_to_dict(categories: RequestCategories) -> dict[str, Any]:
    """The ``[requests.categories]`` table of ``categories``; ``request_categories_from_dict`` reads it back
    equal."""
    result: dict[str, Any] = {}
    for category in categories:
        table: dict[str, Any] = {"label": category.label}
        if category.description:
            table["description"] = category.description
        table["fields"] = [_field_to_dict(field) for field in category.fields]
        result[category.id] = table
    return result


# -- submissions under an idempotency key ------------------------------------------------------------

#: The longest idempotency key a caller may give (a UUID is 36 characters).
IDEMPOTENCY_KEY_MAX_LENGTH: Final = 200
_R = TypeVar("_R")
_IDEMPOTENCY_KEY: Final = re.compile(r"[\x21-\x7e]+")  # printable ASCII, no space


def check_idempotency_key(key: object) -> str:
    """``key`` if it can be an idempotency key — 1 to ``IDEMPOTENCY_KEY_MAX_LENGTH`` printable ASCII
    characters, no space (a UUID, a hash, a form's token) — else ``input.bad_idempotency_key``."""
    if isinstance(key, str) and len(key) <= IDEMPOTENCY_KEY_MAX_LENGTH and _IDEMPOTENCY_KEY.fullmatch(key):
        return key
    shown = key[:40] if isinstance(key, str) else type(key).__name__
    raise InvalidInput(
        f"an idempotency key is 1 to {IDEMPOTENCY_KEY_MAX_LENGTH} printable ASCII characters, got {shown!r}",
        message_fr="La clé d'idempotence de la demande est invalide.",
        code="input.bad_idempotency_key",
    )


def _key(instance: object, attribute: attrs.Attribute[str], value: object) -> None:
    check_idempotency_key(value)


@attrs.frozen
class Submission:
    """What a household submitted under a caller's idempotency key, recorded in the same unit of work as
    what it produced: ``operation`` (``"request"``, ``"basket"``), a ``fingerprint`` of its content and the
    first ``result`` (``encode_result``). A replay of the key returns that result and writes nothing; the
    same key with another content is refused (``replayed``)."""

    family_id: str = attrs.field(validator=identifier)
    key: str = attrs.field(validator=_key)
    operation: str = attrs.field(validator=identifier)
    fingerprint: str = attrs.field(validator=identifier)
    result: bytes = attrs.field(validator=attrs.validators.instance_of(bytes), repr=False)
    at: dt.datetime = attrs.field(validator=aware_instant)


def submission_fingerprint(operation: str, content: object) -> str:
    """A digest of what a call submits (its arguments but the actor and the key): the same content gives
    the same fingerprint, in any process."""
    text = json.dumps([operation, content], sort_keys=True, ensure_ascii=True, default=repr)
    return hashlib.sha256(text.encode("ascii")).hexdigest()


def replayed(earlier: Submission, operation: str, fingerprint: str, kind: type[_R]) -> _R:
    """The first result of ``earlier`` (a ``kind``) for a replay of its key with ``fingerprint``; the key
    given to other content (or another call) is refused: ``input.idempotency_key_reused``."""
    if (earlier.operation, earlier.fingerprint) != (operation, fingerprint):
        raise InvalidInput(
            f"the idempotency key {earlier.key!r} was given to another {earlier.operation} of the household "
            f"on {earlier.at.isoformat()}; use a new key for new content",
            message_fr="Cette clé a déjà servi à un autre envoi du foyer : rien n'a été enregistré.",
            code="input.idempotency_key_reused",
            details={"key": earlier.key, "operation": earlier.operation},
        )
    result = decode_result(earlier.result)
    if not isinstance(result, kind):
        raise _unreadable(f"a {type(result).__name__}, not a {kind.__name__}")
    return result


def encode_result(result: object) -> bytes:
    """``result`` (the library's own frozen values) as the bytes a ``Submission`` keeps."""
    return pickle.dumps(result, protocol=5)


# What a result may be made of when it is read back: the library's classes and the standard values they
# hold. Anything else in the bytes (which only the library writes) is refused, never run.
_RESULT_MODULES: Final = frozenset({"datetime", "decimal", "fractions", "zoneinfo", "enum"})
_RESULT_BUILTINS: Final = frozenset({"set", "frozenset", "bytearray", "object", "complex", "slice"})
_RESULT_COPYREG: Final = frozenset({"__newobj__", "__newobj_ex__", "_reconstructor"})


def _class_getattr(owner: object, name: str) -> Any:
    """The ``getattr`` a result needs to rebuild a value through its class: ``Money.from_cents``,
    ``ZoneInfo._unpickle`` — a public class method of a library class or one of its members, nothing else
    (no function of the library can be called by the bytes)."""
    library = isinstance(owner, type) and owner.__module__.split(".")[0] == "espacefamille"
    if owner is zoneinfo.ZoneInfo and name == "_unpickle":
        return zoneinfo.ZoneInfo._unpickle  # type: ignore[attr-defined]
    if library and not name.startswith("_"):
        value = getattr(owner, name, None)
        if getattr(value, "__self__", None) is owner or isinstance(value, owner):  # type: ignore[arg-type]
            return value
    raise pickle.UnpicklingError(f"{name!r} is not part of a result")


class _ResultUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) == ("builtins", "getattr"):
            return _class_getattr
        allowed = (
            module == "espacefamille"
            or module.startswith("espacefamille.")
            or module in _RESULT_MODULES
            or (module == "builtins" and name in _RESULT_BUILTINS)
            or (module == "copyreg" and name in _RESULT_COPYREG)
        )
        if not allowed:
            raise pickle.UnpicklingError(f"{module}.{name} is not part of a result")
        found = super().find_class(module, name)
        if module.split(".", maxsplit=1)[0] == "espacefamille" and not isinstance(found, type):
            # A class is rebuilt from its state; a function of the library is never called.
            raise pickle.UnpicklingError(f"{module}.{name} is not part of a result")
        return found


def decode_result(data: bytes) -> object:
    """The result ``encode_result`` wrote (``input.unreadable_submission`` if this version cannot read it)."""
    try:
        return _ResultUnpickler(io.BytesIO(data)).load()
    except Exception as error:  # a result written by another version: any failure is the same answer
        raise _unreadable(type(error).__name__) from None


def _unreadable(why: str) -> InvalidInput:
    return InvalidInput(
        f"the result recorded for this idempotency key cannot be read back ({why})",
        message_fr="La réponse enregistrée pour cet envoi ne peut pas être relue : renvoyez-le avec une "
        "autre clé.",
        code="input.unreadable_submission",
    )
