"""Invariants of request forms and histories, whatever the commune's categories and the family's answers."""

from __future__ import annotations

import datetime as dt
import enum
import tomllib
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import tomli_w
from hypothesis import assume, given
from hypothesis import strategies as st

from espacefamille.errors import EspaceFamilleError
from espacefamille.families.requests import (
    TRANSITIONS,
    Actor,
    FieldType,
    FormField,
    InvalidSubmission,
    Option,
    Request,
    RequestCategories,
    RequestCategory,
    RequestStatus,
    request_categories_from_dict,
    request_categories_to_dict,
    submit_request,
    validate_submission,
)

CHILDREN = ("C-lea", "C-hugo", "C-emma")
PARIS = ZoneInfo("Europe/Paris")
KEYS = (
    "enfant",
    "du",
    "au",
    "motif",
    "adresse",
    "courriel",
    "telephone",
    "montant",
    "nombre",
    "accord",
    "regime",
)
OPTION_VALUES = ("sans_porc", "sans_gluten", "vegetarien", "demenagement", "naissance")
WORDS = st.text(alphabet="abcdeéèçàôABCÉ0123456789-' ", min_size=1, max_size=30).filter(str.strip)
DAYS = st.dates(min_value=dt.date(2024, 9, 1), max_value=dt.date(2028, 8, 31))
CENTS = st.integers(min_value=-100_000, max_value=10_000_000)


def _ordered(low: Any, high: Any) -> tuple[Any, Any]:
    return (low, high) if low is None or high is None or low <= high else (high, low)


@st.composite
def form_fields(draw: st.DrawFn, key: str) -> FormField:
    kind = draw(st.sampled_from(FieldType))
    label = draw(WORDS)
    extra: dict[str, Any] = {}
    if kind in (FieldType.TEXT, FieldType.LONG_TEXT, FieldType.EMAIL):
        extra["max_length"] = draw(st.none() | st.integers(min_value=30, max_value=400))
    elif kind is FieldType.DATE:
        extra["minimum"], extra["maximum"] = _ordered(draw(st.none() | DAYS), draw(st.none() | DAYS))
    elif kind is FieldType.INTEGER:
        bound = st.none() | st.integers(min_value=-50, max_value=500)
        extra["minimum"], extra["maximum"] = _ordered(draw(bound), draw(bound))
    elif kind is FieldType.AMOUNT:
        amounts = st.none() | CENTS.map(lambda c: Decimal(c) / 100)
        extra["minimum"], extra["maximum"] = _ordered(draw(amounts), draw(amounts))
    elif kind is FieldType.CHOICE:
        values = draw(st.lists(st.sampled_from(OPTION_VALUES), min_size=1, max_size=4, unique=True))
        extra["options"] = [Option(value, value.replace("_", " ").capitalize()) for value in values]
    return FormField(
        key,
        label,
        kind,
        required=draw(st.booleans()),
        sensitive=draw(st.booleans()),
        help=draw(st.just("") | WORDS),
        **extra,
    )


@st.composite
def categories(draw: st.DrawFn, category_id: str = "demande") -> RequestCategory:
    keys = draw(st.lists(st.sampled_from(KEYS), min_size=1, max_size=6, unique=True))
    fields = [draw(form_fields(key)) for key in keys]
    return RequestCategory(category_id, draw(WORDS), fields, draw(st.just("") | WORDS))


def _between(low: Any, high: Any, default_low: Any, default_high: Any) -> tuple[Any, Any]:
    return (default_low if low is None else low, default_high if high is None else high)


@st.composite
def raw_value(draw: st.DrawFn, field: FormField) -> object:
    """A valid answer to ``field``, written as a family or a web form might send it (spaces, strings…)."""
    pad = draw(st.sampled_from(["", " ", "  "]))
    limit = field.effective_max_length
    if field.type in (FieldType.TEXT, FieldType.LONG_TEXT):
        words = draw(st.lists(WORDS, min_size=1, max_size=4))
        joiner = draw(st.sampled_from([" ", "\n", "\r\n"])) if field.type is FieldType.LONG_TEXT else " "
        text = joiner.join(words).strip()
        assert limit is not None
        return pad + text[:limit].strip() + pad if text[:limit].strip() else "texte"
    if field.type is FieldType.DATE:
        low, high = _between(field.minimum, field.maximum, dt.date(2024, 1, 1), dt.date(2029, 12, 31))
        day = draw(st.dates(min_value=low, max_value=high))
        return draw(st.sampled_from([day, day.isoformat(), pad + day.isoformat()]))
    if field.type is FieldType.INTEGER:
        low, high = _between(field.minimum, field.maximum, -1000, 1000)
        number = draw(st.integers(min_value=low, max_value=high))
        return draw(st.sampled_from([number, str(number), f"{pad}{number}{pad}"]))
    if field.type is FieldType.AMOUNT:
        low, high = _between(field.minimum, field.maximum, Decimal(-1000), Decimal(100_000))
        cents = draw(st.integers(min_value=int(low * 100), max_value=int(high * 100)))
        amount = Decimal(cents) / 100
        return draw(st.sampled_from([amount, str(amount), str(amount).replace(".", ","), pad + str(amount)]))
    if field.type is FieldType.YES_NO:
        return draw(st.sampled_from([True, False, "oui", "non", "Oui", " NON "]))
    if field.type is FieldType.CHOICE:
        return pad + draw(st.sampled_from([option.value for option in field.options])) + pad
    if field.type is FieldType.EMAIL:
        local = draw(st.text(alphabet="abcxyz.0123", min_size=1, max_size=10).filter(lambda s: s.strip(".")))
        return f"{pad}{local}@{draw(st.sampled_from(['Exemple', 'mairie', 'CAF']))}.fr{pad}"
    if field.type is FieldType.PHONE:
        digits = "0" + str(draw(st.integers(1, 9))) + "".join(str(draw(st.integers(0, 9))) for _ in range(8))
        return draw(st.sampled_from([digits, " ".join(digits[i : i + 2] for i in range(0, 10, 2))]))
    return pad + draw(st.sampled_from(CHILDREN)) + pad


@st.composite
def submissions(draw: st.DrawFn) -> tuple[RequestCategory, dict[str, object]]:
    """A category and a valid submission to it: every required field answered, optional ones maybe."""
    category = draw(categories())
    values: dict[str, object] = {}
    for field in category.fields:
        if field.required or draw(st.booleans()):
            values[field.key] = draw(raw_value(field))
        elif draw(st.booleans()):
            values[field.key] = draw(st.sampled_from([None, "", "   "]))
    return category, values


@given(submissions())
def test_a_valid_submission_always_validates_to_the_same_normalised_values(
    case: tuple[RequestCategory, dict[str, object]],
) -> None:
    category, values = case
    normalised = validate_submission(category, values, children=CHILDREN)
    assert validate_submission(category, values, children=CHILDREN) == normalised
    assert validate_submission(category, normalised, children=CHILDREN) == normalised
    assert list(normalised) == [f.key for f in category.fields if f.key in normalised]
    assert {f.key for f in category.fields if f.required} <= set(normalised)
    assert not any(isinstance(value, float) for value in normalised.values())
    for field in category.fields:
        if field.type is FieldType.AMOUNT and field.key in normalised:
            assert normalised[field.key] == Decimal(str(normalised[field.key])).quantize(Decimal("0.01"))


@given(submissions(), st.data())
def test_any_missing_required_field_is_reported_and_nothing_else(
    case: tuple[RequestCategory, dict[str, object]], data: st.DataObject
) -> None:
    category, values = case
    required = [f.key for f in category.fields if f.required]
    assume(required)
    dropped = data.draw(st.lists(st.sampled_from(required), min_size=1, unique=True))
    for key in dropped:
        if data.draw(st.booleans()):
            del values[key]
        else:
            values[key] = data.draw(st.sampled_from([None, "", " \t "]))
    with pytest.raises(InvalidSubmission) as caught:
        validate_submission(category, values, children=CHILDREN)
    assert [(e.key, e.code) for e in caught.value.errors] == [
        (f.key, "form.missing") for f in category.fields if f.key in dropped
    ]


@given(submissions(), st.data())
def test_every_wrong_answer_is_named_once_in_the_order_of_the_form(
    case: tuple[RequestCategory, dict[str, object]], data: st.DataObject
) -> None:
    category, values = case
    keys = [f.key for f in category.fields]
    spoiled = data.draw(st.lists(st.sampled_from(keys), min_size=1, unique=True))
    for key in spoiled:
        values[key] = data.draw(st.sampled_from([[1], {"a": 1}, 1.5, object()]))
    values["inconnu"] = "x"
    with pytest.raises(InvalidSubmission) as caught:
        validate_submission(category, values, children=CHILDREN)
    assert [e.key for e in caught.value.errors] == [k for k in keys if k in spoiled] + ["inconnu"]
    assert caught.value.errors[-1].code == "form.unknown_field"


@given(st.lists(categories(), min_size=0, max_size=4, unique_by=lambda c: c.label), st.data())
def test_categories_read_back_from_their_toml_text_are_equal(
    drawn: list[RequestCategory], data: st.DataObject
) -> None:
    ids = data.draw(
        st.lists(
            st.sampled_from(["attestation-caf", "situation", "regime", "pai", "autre"]),
            min_size=len(drawn),
            max_size=len(drawn),
            unique=True,
        )
    )
    catalogue = RequestCategories(
        RequestCategory(category_id, c.label, c.fields, c.description)
        for category_id, c in zip(ids, drawn, strict=True)
    )
    text = tomli_w.dumps({"requests": {"categories": request_categories_to_dict(catalogue)}})
    assert request_categories_from_dict(tomllib.loads(text)["requests"]["categories"]) == catalogue


class Step(enum.Enum):
    TAKE = "take_in_charge"
    ANSWER = "answer"
    ACCEPT = "accept"
    REFUSE = "refuse"
    CLOSE = "close"
    MESSAGE = "message"


ACTORS = (Actor.family("F-martin"), Actor.family("F-durand"), Actor.agent("agent-leroy"))


def _expected_to_succeed(request: Request, step: Step, actor: Actor, minutes: int) -> bool:
    status = request.status
    if minutes < 0 or status is RequestStatus.CLOSED:
        return False
    if not actor.is_agent and actor.id != request.family_id:
        return False
    targets = {
        Step.TAKE: RequestStatus.IN_PROGRESS,
        Step.ACCEPT: RequestStatus.ACCEPTED,
        Step.REFUSE: RequestStatus.REFUSED,
        Step.CLOSE: RequestStatus.CLOSED,
    }
    if step is Step.MESSAGE:
        return True
    if step is Step.ANSWER:
        return actor.is_agent
    return targets[step] in request.allowed_transitions(actor) and targets[step] in TRANSITIONS[status]


def _apply(request: Request, step: Step, actor: Actor, at: dt.datetime) -> Request:
    if step is Step.TAKE:
        return request.take_in_charge(actor, at)
    if step is Step.ANSWER:
        return request.answer(actor, at, "Réponse de la mairie.")
    if step is Step.ACCEPT:
        return request.accept(actor, at, "Demande acceptée.")
    if step is Step.REFUSE:
        return request.refuse(actor, at, "Pièce justificative manquante.")
    if step is Step.CLOSE:
        return request.close(actor, at)
    return request.add_message(actor, at, "Un message.")


@given(
    st.lists(
        st.tuples(
            st.sampled_from(Step), st.sampled_from(ACTORS), st.integers(min_value=-90, max_value=3 * 24 * 60)
        ),
        max_size=12,
    )
)
def test_a_history_is_ordered_and_never_loses_an_event(steps: list[tuple[Step, Actor, int]]) -> None:
    start = dt.datetime(2026, 10, 23, 18, 0, tzinfo=PARIS)  # over the October clock change
    category = RequestCategory(
        "attestation-caf",
        "Attestation de présence pour la CAF",
        [FormField("enfant", "Enfant concerné", FieldType.CHILD, required=True)],
    )
    request = submit_request("D-1", category, "F-martin", {"enfant": "C-lea"}, start, children=CHILDREN)
    for step, actor, minutes in steps:
        at = (request.updated_at.astimezone(dt.UTC) + dt.timedelta(minutes=minutes)).astimezone(PARIS)
        expected = _expected_to_succeed(request, step, actor, minutes)
        try:
            after = _apply(request, step, actor, at)
        except EspaceFamilleError:
            assert not expected
            continue
        assert expected
        assert after.history[:-1] == request.history
        assert after.history[-1].at == at
        instants = [event.at.astimezone(dt.UTC) for event in after.history]
        assert instants == sorted(instants)
        changes = [event.to_status for event in after.history if event.to_status is not None]
        assert after.status is changes[-1]
        request = after
