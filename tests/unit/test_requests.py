"""Requests ("Formulez une demande") at Saint-Aubin: the categories of its portal, a family's submissions and
the agent's answers, pinned to the week after the Armistice (Wednesday 11 November 2026)."""

from __future__ import annotations

import datetime as dt
import tomllib
from collections.abc import Callable
from decimal import Decimal
from zoneinfo import ZoneInfo

import attrs
import pytest
import tomli_w

from espacefamille.errors import InvalidConfiguration, InvalidInput, NotFound, PermissionDenied
from espacefamille.families.requests import (
    MESSAGE_MAX_LENGTH,
    Actor,
    EventKind,
    FieldType,
    FormField,
    InvalidSubmission,
    Option,
    Request,
    RequestCategories,
    RequestCategory,
    RequestEvent,
    RequestStatus,
    request_categories_from_dict,
    request_categories_to_dict,
    submit_request,
    validate_submission,
)

PARIS = ZoneInfo("Europe/Paris")
MARTIN = Actor.family("F-martin")
DURAND = Actor.family("F-durand")
AGENT = Actor.agent("agent-leroy")
MARTIN_CHILDREN = ("C-lea", "C-hugo")

SAINT_AUBIN_TOML = """
[requests.categories.attestation-caf]
label = "Attestation de présence pour la CAF"
description = "Une attestation des jours de présence de votre enfant, pour votre dossier CAF."

[[requests.categories.attestation-caf.fields]]
key = "enfant"
label = "Enfant concerné"
type = "child"
required = true

[[requests.categories.attestation-caf.fields]]
key = "du"
label = "Du"
type = "date"
required = true
min = 2024-09-01

[[requests.categories.attestation-caf.fields]]
key = "au"
label = "Au"
type = "date"
required = true

[[requests.categories.attestation-caf.fields]]
key = "exemplaires"
label = "Nombre d'exemplaires"
type = "integer"
min = 1
max = 3

[requests.categories.changement-situation]
label = "Changement de situation"

[[requests.categories.changement-situation.fields]]
key = "nature"
label = "Nature du changement"
type = "choice"
required = true
options = [
    { value = "demenagement", label = "Déménagement" },
    { value = "naissance", label = "Naissance" },
    { value = "separation", label = "Séparation" },
    { value = "emploi", label = "Changement d'emploi" },
]

[[requests.categories.changement-situation.fields]]
key = "date_effet"
label = "Date d'effet"
type = "date"
required = true

[[requests.categories.changement-situation.fields]]
key = "adresse"
label = "Nouvelle adresse"
type = "long_text"
max_length = 300

[[requests.categories.changement-situation.fields]]
key = "courriel"
label = "Adresse e-mail"
type = "email"

[[requests.categories.changement-situation.fields]]
key = "telephone"
label = "Téléphone"
type = "phone"

[[requests.categories.changement-situation.fields]]
key = "revenus"
label = "Revenus mensuels du foyer"
type = "amount"
min = "0"
max = "20000.00"
help = "En euros, tels qu'ils figurent sur votre attestation CAF."

[[requests.categories.changement-situation.fields]]
key = "employeur"
label = "Nouvel employeur"
type = "text"
max_length = 40

[requests.categories.sans-porc]
label = "Régime alimentaire sans porc"

[[requests.categories.sans-porc.fields]]
key = "enfant"
label = "Enfant concerné"
type = "child"
required = true

[[requests.categories.sans-porc.fields]]
key = "a_partir_du"
label = "À partir du"
type = "date"
required = true

[[requests.categories.sans-porc.fields]]
key = "tous_les_repas"
label = "Pour tous les repas de la semaine"
type = "yes_no"
required = true

[requests.categories.pai]
label = "Projet d'accueil individualisé (PAI)"

[[requests.categories.pai.fields]]
key = "enfant"
label = "Enfant concerné"
type = "child"
required = true

[[requests.categories.pai.fields]]
key = "pai"
label = "Votre enfant a un PAI signé par le médecin scolaire"
type = "yes_no"
required = true
sensitive = true

[[requests.categories.pai.fields]]
key = "accompagnement"
label = "Votre enfant a besoin d'un accompagnement"
type = "yes_no"
sensitive = true
"""

CATEGORIES = request_categories_from_dict(
    tomllib.loads(SAINT_AUBIN_TOML)["requests"]["categories"], "requests.categories"
)
CAF = CATEGORIES.category("attestation-caf")
SITUATION = CATEGORIES.category("changement-situation")
SANS_PORC = CATEGORIES.category("sans-porc")
PAI = CATEGORIES.category("pai")


def paris(day: int, hour: int, minute: int = 0, month: int = 11) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, minute, tzinfo=PARIS)


def caf_request(at: dt.datetime | None = None) -> Request:
    return submit_request(
        "D-2026-0042",
        CAF,
        "F-martin",
        {"enfant": "C-lea", "du": "2026-09-01", "au": "2026-10-16"},
        at or paris(16, 8, 30),
        children=MARTIN_CHILDREN,
    )


def errors_of(category: RequestCategory, values: dict[str, object]) -> dict[str, str]:
    with pytest.raises(InvalidSubmission) as caught:
        validate_submission(category, values, children=MARTIN_CHILDREN)
    return {error.key: error.code for error in caught.value.errors}


# -- categories and their forms ---------------------------------------------------------------


def test_the_portal_lists_the_communes_categories_in_the_order_of_its_file() -> None:
    assert [c.label for c in CATEGORIES] == [
        "Attestation de présence pour la CAF",
        "Changement de situation",
        "Régime alimentaire sans porc",
        "Projet d'accueil individualisé (PAI)",
    ]
    assert len(CATEGORIES) == 4
    assert [f.key for f in CAF.fields] == ["enfant", "du", "au", "exemplaires"]
    assert CAF.field("du").minimum == dt.date(2024, 9, 1)
    assert SITUATION.field("revenus").maximum == Decimal("20000.00")


def test_an_unknown_category_or_field_is_not_found() -> None:
    with pytest.raises(NotFound) as caught:
        CATEGORIES.category("attestation-fiscale")
    assert caught.value.code == "requests.unknown_category"
    with pytest.raises(NotFound):
        CAF.field("montant")


def test_health_data_fields_are_flagged_sensitive_for_frontends_to_warn() -> None:
    assert [f.key for f in PAI.sensitive_fields] == ["pai", "accompagnement"]
    assert SANS_PORC.sensitive_fields == ()


def test_the_configuration_round_trips_through_toml_text() -> None:
    text = tomli_w.dumps({"requests": {"categories": request_categories_to_dict(CATEGORIES)}})
    again = request_categories_from_dict(tomllib.loads(text)["requests"]["categories"])
    assert again == CATEGORIES


def test_a_text_gets_a_length_cap_even_when_the_form_sets_none() -> None:
    field = FormField("nom", "Nom", FieldType.TEXT)
    assert field.effective_max_length == 255
    assert FormField("date", "Date", FieldType.DATE).effective_max_length is None
    assert SITUATION.field("employeur").effective_max_length == 40


@pytest.mark.parametrize(
    "label",
    ["Repas halal", "Régime casher", "Menu cachère", "Régime confessionnel", "Religion de l'enfant"],
)
def test_a_category_asking_for_a_religious_diet_label_is_refused(label: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        RequestCategory("regime", label, [FormField("enfant", "Enfant", FieldType.CHILD)])
    assert caught.value.code == "requests.religious_label"
    assert "CNIL" in caught.value.message_fr


def test_a_religious_option_hidden_in_a_diet_choice_is_refused_at_load_time_with_its_path() -> None:
    data = tomllib.loads(
        """
        [regime]
        label = "Régime alimentaire"
        [[regime.fields]]
        key = "regime"
        label = "Régime"
        type = "choice"
        options = [{ value = "sans_porc", label = "Sans porc" }, { value = "halal", label = "Halal" }]
        """
    )
    with pytest.raises(InvalidConfiguration) as caught:
        request_categories_from_dict(data)
    assert caught.value.code == "requests.religious_label"
    assert caught.value.path == "requests.categories.regime.fields[0].options[1].value"


def test_diets_the_cnil_allows_are_accepted() -> None:
    options = [Option("sans_porc", "Sans porc"), Option("sans_gluten", "Sans gluten")]
    options.append(Option("vegetarien", "Végétarien"))
    category = RequestCategory(
        "regime", "Régime alimentaire", [FormField("r", "Régime", FieldType.CHOICE, options=options)]
    )
    assert len(category.fields[0].options) == 3


@pytest.mark.parametrize(
    ("toml", "path", "code"),
    [
        (
            '[c]\nfields = [{ key = "a", label = "A", type = "text" }]',
            "requests.categories.c.label",
            "config.missing_key",
        ),
        ('[c]\nlabel = "C"', "requests.categories.c.fields", "config.missing_key"),
        ('[c]\nlabel = "C"\nfields = []', "requests.categories.c.fields", "requests.no_field"),
        (
            '[c]\nlabel = "C"\ncolour = "red"\nfields = []',
            "requests.categories.c.colour",
            "config.unknown_key",
        ),
        ("[c]\nlabel = 3\nfields = []", "requests.categories.c.label", "config.type"),
        ('[c]\nlabel = "C"\nfields = [3]', "requests.categories.c.fields[0]", "config.type"),
        (
            '[c]\nlabel = "C"\nfields = [{ key = "a", label = "A", type = "texte" }]',
            "requests.categories.c.fields[0].type",
            "config.choice",
        ),
        (
            '[c]\nlabel = "C"\nfields = [{ key = "a", label = "A", type = "amount", max = 12.5 }]',
            "requests.categories.c.fields[0].max",
            "config.float_amount",
        ),
        (
            '[c]\nlabel = "C"\nfields = [{ key = "a", label = "A", type = "text", min = 1 }]',
            "requests.categories.c.fields[0].min",
            "requests.bad_field",
        ),
        (
            '[c]\nlabel = "C"\nfields = [{ key = "a", label = "A", type = "integer", min = 5, max = 2 }]',
            "requests.categories.c.fields[0].min",
            "requests.bad_field",
        ),
        (
            '[c]\nlabel = "C"\nfields = [{ key = "a", label = "A", type = "date", min = 2026-11-12T08:00:00 }]',  # noqa: E501
            "requests.categories.c.fields[0].min",
            "config.type",
        ),
        (
            '[c]\nlabel = "C"\nfields = [{ key = "a", label = "A", type = "text", max_length = true }]',
            "requests.categories.c.fields[0].max_length",
            "config.type",
        ),
        (
            '[c]\nlabel = "C"\nfields = [{ key = "a", label = "A", type = "date", max_length = 10 }]',
            "requests.categories.c.fields[0].max_length",
            "requests.bad_field",
        ),
        (
            '[c]\nlabel = "C"\nfields = [{ key = "a", label = "A", type = "choice" }]',
            "requests.categories.c.fields[0].options",
            "requests.bad_field",
        ),
        (
            '[c]\nlabel = "C"\nfields = [{ key = "a", label = "A", type = "choice", '
            'options = [{ value = "x y", label = "X" }] }]',
            "requests.categories.c.fields[0].options[0].value",
            "model.bad_identifier",
        ),
        (
            '[c]\nlabel = "C"\nfields = [{ key = "a", label = "A", type = "text" }, '
            '{ key = "a", label = "B", type = "date" }]',
            "requests.categories.c.fields[1].key",
            "requests.duplicate_field",
        ),
        (
            '[c]\nlabel = "C"\nfields = [{ key = "a", label = "", type = "text" }]',
            "requests.categories.c.fields[0].label",
            "model.empty",
        ),
        (
            '[c]\nlabel = "C"\nfields = [{ key = "a", label = "A", type = "text", required = "oui" }]',
            "requests.categories.c.fields[0].required",
            "config.type",
        ),
        (
            '["c d"]\nlabel = "C"\nfields = [{ key = "a", label = "A", type = "text" }]',
            "requests.categories.c d",
            "model.bad_identifier",
        ),
    ],
)
def test_a_mistaken_category_is_refused_with_its_key_path_and_a_stable_code(
    toml: str, path: str, code: str
) -> None:
    with pytest.raises(InvalidConfiguration) as caught:
        request_categories_from_dict(tomllib.loads(toml))
    assert (caught.value.path, caught.value.code) == (path, code)


def test_the_categories_table_must_be_a_table() -> None:
    with pytest.raises(InvalidConfiguration) as caught:
        request_categories_from_dict(["attestation"])  # type: ignore[arg-type]
    assert (caught.value.path, caught.value.code) == ("requests.categories", "config.type")


def test_amount_bounds_are_exact_to_the_cent() -> None:
    field = FormField("m", "Montant", FieldType.AMOUNT, minimum=5, maximum="12,50")  # type: ignore[arg-type]
    assert (field.minimum, field.maximum) == (Decimal("5.00"), Decimal("12.50"))
    for bad in ("12.505", 12.5, "douze", True):
        with pytest.raises(InvalidInput):
            FormField("m", "Montant", FieldType.AMOUNT, maximum=bad)  # type: ignore[arg-type]


def test_a_date_bound_is_a_date_and_an_integer_bound_an_int() -> None:
    with pytest.raises(InvalidInput):
        FormField("d", "Date", FieldType.DATE, minimum=paris(12, 8))
    with pytest.raises(InvalidInput):
        FormField("n", "Nombre", FieldType.INTEGER, minimum=Decimal("1.5"))


@pytest.mark.parametrize(
    "make",
    [
        lambda: FormField("a", "A", FieldType.TEXT, required="oui"),  # type: ignore[arg-type]
        lambda: FormField("a", "A", FieldType.TEXT, help=None),  # type: ignore[arg-type]
        lambda: FormField("a", "A", FieldType.TEXT, max_length=0),
        lambda: FormField("a", "A", FieldType.TEXT, options=[Option("x", "X")]),
        lambda: FormField("a", "A", FieldType.CHOICE, options=[Option("x", "X"), Option("x", "Y")]),
        lambda: FormField("a", "A", FieldType.CHOICE, options=["x"]),  # type: ignore[list-item]
        lambda: RequestCategory("c", "C", ["a"]),  # type: ignore[list-item]
    ],
)
def test_a_malformed_form_cannot_be_built(make: Callable[[], object]) -> None:
    with pytest.raises(InvalidInput):
        make()


def test_two_categories_with_one_id_are_refused() -> None:
    with pytest.raises(InvalidInput) as caught:
        RequestCategories([CAF, CAF])
    assert caught.value.code == "config.duplicate_id"


# -- validating a submission ------------------------------------------------------------------


def test_a_change_of_situation_is_normalised_as_the_commune_stores_it() -> None:
    values = validate_submission(
        SITUATION,
        {
            "nature": " demenagement ",
            "date_effet": "2026-12-01",
            "adresse": "  12 rue des Lilas\r\n35000 Rennes ",
            "courriel": "Claire.Martin@Exemple.FR",
            "telephone": "06 12 34 56 78",
            "revenus": "2 345,5",
            "employeur": "",
        },
    )
    assert values == {
        "nature": "demenagement",
        "date_effet": dt.date(2026, 12, 1),
        "adresse": "12 rue des Lilas\n35000 Rennes",
        "courriel": "Claire.Martin@exemple.fr",
        "telephone": "0612345678",
        "revenus": Decimal("2345.50"),
    }
    assert isinstance(values["revenus"], Decimal)


def test_native_values_are_accepted_as_they_are() -> None:
    values = validate_submission(
        CAF,
        {"enfant": "C-hugo", "du": dt.date(2026, 9, 1), "au": dt.date(2026, 10, 16), "exemplaires": 2},
        children=MARTIN_CHILDREN,
    )
    assert values == {
        "enfant": "C-hugo",
        "du": dt.date(2026, 9, 1),
        "au": dt.date(2026, 10, 16),
        "exemplaires": 2,
    }
    assert (
        validate_submission(
            SANS_PORC,
            {"enfant": "C-lea", "a_partir_du": "2027-01-04", "tous_les_repas": "Non"},
            children=MARTIN_CHILDREN,
        )["tous_les_repas"]
        is False
    )


@pytest.mark.parametrize(
    ("number", "normalised"),
    [
        ("+262 262 12 34 56", "+262262123456"),
        ("0033 6 12 34 56 78", "+33612345678"),
        ("05.96.12.34.56", "0596123456"),
    ],
)
def test_overseas_and_international_phone_numbers_are_kept_in_full(number: str, normalised: str) -> None:
    assert (
        validate_submission(SITUATION, {"nature": "emploi", "date_effet": "2026-12-01", "telephone": number})[
            "telephone"
        ]
        == normalised
    )


def test_every_problem_of_a_submission_is_reported_at_once_next_to_its_field() -> None:
    with pytest.raises(InvalidSubmission) as caught:
        validate_submission(
            SITUATION,
            {
                "date_effet": "01/12/2026",
                "courriel": "claire.martin@",
                "telephone": "12 34",
                "revenus": 2345.5,
                "employeur": "Boulangerie\nMartin",
                "commentaire": "merci",
            },
        )
    error = caught.value
    assert error.code == "requests.invalid_submission"
    assert isinstance(error, InvalidInput)
    assert [(e.key, e.code) for e in error.errors] == [
        ("nature", "form.missing"),
        ("date_effet", "form.wrong_type"),
        ("courriel", "form.bad_email"),
        ("telephone", "form.bad_phone"),
        ("revenus", "form.wrong_type"),
        ("employeur", "form.bad_characters"),
        ("commentaire", "form.unknown_field"),
    ]
    assert error.by_field["nature"].message_fr == "Ce champ est obligatoire."
    assert error.by_field["nature"].label == "Nature du changement"
    assert "float" in error.by_field["revenus"].message
    assert error.message_fr.startswith(
        "Le formulaire contient 7 erreurs. « Nature du changement » : Ce champ"
    )
    assert error.details["errors"] == [e.as_dict() for e in error.errors]
    assert error.errors[0].as_dict() == {
        "key": "nature",
        "code": "form.missing",
        "message": "this field is required",
        "message_fr": "Ce champ est obligatoire.",
        "label": "Nature du changement",
    }


def test_a_missing_required_answer_may_be_absent_none_or_blank() -> None:
    assert errors_of(CAF, {"enfant": None, "du": "   "}) == {
        "enfant": "form.missing",
        "du": "form.missing",
        "au": "form.missing",
    }


def test_a_single_error_is_worded_in_the_singular() -> None:
    with pytest.raises(InvalidSubmission) as caught:
        validate_submission(
            SANS_PORC, {"enfant": "C-lea", "a_partir_du": "2027-01-04"}, children=MARTIN_CHILDREN
        )
    assert caught.value.message_fr == (
        "Le formulaire contient une erreur. « Pour tous les repas de la semaine » : Ce champ est obligatoire."
    )
    assert "1 error:" in caught.value.message


def test_a_child_of_another_family_is_refused_like_a_typo() -> None:
    codes = errors_of(
        SANS_PORC, {"enfant": "C-durand-emma", "a_partir_du": "2027-01-04", "tous_les_repas": True}
    )
    assert codes == {"enfant": "form.unknown_child"}


@pytest.mark.parametrize(
    ("values", "key", "code", "message_fr"),
    [
        (
            {"du": "2024-08-31"},
            "du",
            "form.too_small",
            "La valeur minimale est le dimanche 1er septembre 2024.",
        ),
        ({"du": "2026-02-30"}, "du", "form.wrong_type", "Indiquez une date valide (AAAA-MM-JJ)."),
        ({"du": "20260901"}, "du", "form.wrong_type", "Indiquez une date valide (AAAA-MM-JJ)."),
        ({"du": paris(12, 8)}, "du", "form.wrong_type", "Indiquez une date valide (AAAA-MM-JJ)."),
        ({"exemplaires": 0}, "exemplaires", "form.too_small", "La valeur minimale est 1."),
        ({"exemplaires": "4"}, "exemplaires", "form.too_large", "La valeur maximale est 3."),
        ({"exemplaires": 2.0}, "exemplaires", "form.wrong_type", "Indiquez un nombre entier."),
        ({"exemplaires": True}, "exemplaires", "form.wrong_type", "Indiquez un nombre entier."),
        ({"exemplaires": "deux"}, "exemplaires", "form.wrong_type", "Indiquez un nombre entier."),
        ({"enfant": 7}, "enfant", "form.wrong_type", "Choisissez l'un de vos enfants."),
    ],
)
def test_each_wrong_value_of_the_caf_form_gets_its_own_code_and_sentence(
    values: dict[str, object], key: str, code: str, message_fr: str
) -> None:
    base: dict[str, object] = {"enfant": "C-lea", "du": "2026-09-01", "au": "2026-10-16"}
    with pytest.raises(InvalidSubmission) as caught:
        validate_submission(CAF, base | values, children=MARTIN_CHILDREN)
    (error,) = caught.value.errors
    assert (error.key, error.code, error.message_fr) == (key, code, message_fr)


@pytest.mark.parametrize(
    ("values", "key", "code"),
    [
        ({"revenus": "-1"}, "revenus", "form.too_small"),
        ({"revenus": "20000.01"}, "revenus", "form.too_large"),
        ({"revenus": "1000000000000"}, "revenus", "form.too_large"),
        ({"revenus": "1e12"}, "revenus", "form.wrong_type"),  # plain digits only (docs/limits.md)
        ({"employeur": "Mairie \ud800"}, "employeur", "form.bad_characters"),
        ({"revenus": "12.345"}, "revenus", "form.too_precise"),
        ({"revenus": "NaN"}, "revenus", "form.wrong_type"),
        ({"revenus": [12]}, "revenus", "form.wrong_type"),
        ({"revenus": False}, "revenus", "form.wrong_type"),
        ({"nature": "mariage"}, "nature", "form.not_an_option"),
        ({"nature": 1}, "nature", "form.wrong_type"),
        ({"employeur": "x" * 41}, "employeur", "form.too_long"),
        ({"employeur": 42}, "employeur", "form.wrong_type"),
        ({"adresse": "12 rue des Lilas\x00"}, "adresse", "form.bad_characters"),
        ({"adresse": "x" * 301}, "adresse", "form.too_long"),
        ({"courriel": "claire martin@exemple.fr"}, "courriel", "form.bad_email"),
        ({"telephone": 612345678}, "telephone", "form.wrong_type"),
    ],
)
def test_each_wrong_value_of_the_change_of_situation_form_is_named(
    values: dict[str, object], key: str, code: str
) -> None:
    base: dict[str, object] = {"nature": "demenagement", "date_effet": "2026-12-01"}
    assert errors_of(SITUATION, base | values) == {key: code}


def test_yes_no_accepts_oui_and_non_and_nothing_else() -> None:
    base: dict[str, object] = {"enfant": "C-lea", "a_partir_du": "2027-01-04"}
    assert (
        validate_submission(SANS_PORC, base | {"tous_les_repas": "OUI"}, children=MARTIN_CHILDREN)[
            "tous_les_repas"
        ]
        is True
    )
    assert errors_of(SANS_PORC, base | {"tous_les_repas": "peut-être"}) == {
        "tous_les_repas": "form.wrong_type"
    }
    assert errors_of(SANS_PORC, base | {"tous_les_repas": 1}) == {"tous_les_repas": "form.wrong_type"}


def test_the_messages_give_the_bounds_as_a_parent_reads_them() -> None:
    with pytest.raises(InvalidSubmission) as caught:
        validate_submission(SITUATION, {"nature": "emploi", "date_effet": "2026-12-01", "revenus": "25000"})
    assert caught.value.errors[0].message_fr.replace("\u202f", " ").replace("\xa0", " ") == (
        "La valeur maximale est 20 000,00 €."
    )
    with pytest.raises(InvalidSubmission) as caught:
        validate_submission(
            SITUATION, {"nature": "emploi", "date_effet": "2026-12-01", "employeur": "x" * 45}
        )
    assert caught.value.errors[0].message_fr == "40 caractères au maximum (45 saisis)."


def test_a_submission_that_is_not_a_mapping_is_refused() -> None:
    with pytest.raises(InvalidInput) as caught:
        validate_submission(CAF, [("enfant", "C-lea")])  # type: ignore[arg-type]
    assert caught.value.code == "requests.not_a_mapping"
    with pytest.raises(InvalidInput):
        validate_submission("attestation-caf", {})  # type: ignore[arg-type]


def test_no_request_exists_when_the_form_has_an_error() -> None:
    with pytest.raises(InvalidSubmission):
        submit_request(
            "D-2026-0043", CAF, "F-martin", {"enfant": "C-lea"}, paris(16, 8, 30), children=MARTIN_CHILDREN
        )


# -- a request's life -------------------------------------------------------------------------


def test_a_submitted_request_keeps_its_normalised_values_and_its_first_event() -> None:
    request = caf_request()
    assert request.status is RequestStatus.SUBMITTED
    assert request.values == {"enfant": "C-lea", "du": dt.date(2026, 9, 1), "au": dt.date(2026, 10, 16)}
    (event,) = request.history
    assert (event.kind, event.actor, event.from_status, event.to_status) == (
        EventKind.SUBMITTED,
        MARTIN,
        None,
        RequestStatus.SUBMITTED,
    )
    assert request.submitted_at == request.updated_at == paris(16, 8, 30)
    assert request.category_id == "attestation-caf"


def test_an_attestation_is_taken_in_charge_accepted_then_closed_with_a_dated_history() -> None:
    submitted = caf_request()
    done = (
        submitted.take_in_charge(AGENT, paris(17, 10))
        .accept(AGENT, paris(17, 14, 5), "Votre attestation est disponible dans « Mes documents ».")
        .close(AGENT, paris(30, 9))
    )
    assert done.status is RequestStatus.CLOSED
    assert [(e.kind, e.from_status, e.to_status, e.at) for e in done.history] == [
        (EventKind.SUBMITTED, None, RequestStatus.SUBMITTED, paris(16, 8, 30)),
        (EventKind.STATUS_CHANGED, RequestStatus.SUBMITTED, RequestStatus.IN_PROGRESS, paris(17, 10)),
        (EventKind.ANSWERED, RequestStatus.IN_PROGRESS, RequestStatus.ACCEPTED, paris(17, 14, 5)),
        (EventKind.STATUS_CHANGED, RequestStatus.ACCEPTED, RequestStatus.CLOSED, paris(30, 9)),
    ]
    assert [e.is_notable for e in done.history] == [False, False, True, False]
    assert done.answers[0].message == "Votre attestation est disponible dans « Mes documents »."
    assert done.updated_at == paris(30, 9)
    assert done.is_closed
    # Requests are values: the submitted one is unchanged.
    assert submitted.status is RequestStatus.SUBMITTED
    assert len(submitted.history) == 1


def test_an_answer_to_a_new_request_takes_it_in_charge() -> None:
    answered = caf_request().answer(
        AGENT, paris(17, 10), "Merci de préciser le mois de septembre ou d'octobre."
    )
    assert answered.status is RequestStatus.IN_PROGRESS
    assert answered.history[-1].kind is EventKind.ANSWERED
    assert answered.history[-1].changes_status
    again = answered.add_message(MARTIN, paris(17, 18), "Les deux mois, s'il vous plaît.").answer(
        AGENT, paris(18, 9), "Entendu."
    )
    assert again.status is RequestStatus.IN_PROGRESS
    assert not again.history[-1].changes_status
    assert [e.actor for e in again.history] == [MARTIN, AGENT, MARTIN, AGENT]
    assert len(again.answers) == 2


def test_a_refusal_gives_its_reason_and_may_then_be_closed() -> None:
    request = caf_request()
    with pytest.raises(InvalidInput) as caught:
        request.refuse(AGENT, paris(17, 10), "   ")
    assert caught.value.code == "requests.empty_message"
    refused = request.refuse(AGENT, paris(17, 10), "Léa n'était pas inscrite à l'accueil en septembre.")
    assert refused.status is RequestStatus.REFUSED
    closed = refused.close(AGENT, paris(24, 9))
    assert closed.status is RequestStatus.CLOSED


def test_a_closed_request_never_changes_again() -> None:
    closed = caf_request().close(MARTIN, paris(16, 9), "Envoyée par erreur.")
    actions: list[Callable[[], Request]] = [
        lambda: closed.take_in_charge(AGENT, paris(17, 10)),
        lambda: closed.accept(AGENT, paris(17, 10), "Attestation envoyée."),
        lambda: closed.close(AGENT, paris(17, 10)),
        lambda: closed.add_message(MARTIN, paris(17, 10), "Finalement si !"),
    ]
    for action in actions:
        with pytest.raises(InvalidInput) as caught:
            action()
        assert caught.value.code == "requests.closed"
        assert caught.value.message_fr == "Cette demande est close : elle ne peut plus être modifiée."


def test_a_decided_request_cannot_be_decided_again() -> None:
    accepted = caf_request().accept(AGENT, paris(17, 10), "Attestation envoyée par courriel.")
    with pytest.raises(InvalidInput) as caught:
        accepted.refuse(AGENT, paris(17, 11), "Erreur.")
    assert caught.value.code == "requests.transition_refused"
    assert caught.value.message_fr == "Une demande acceptée ne peut pas devenir refusée."
    in_progress = caf_request().take_in_charge(AGENT, paris(17, 10))
    with pytest.raises(InvalidInput) as caught:
        in_progress.take_in_charge(AGENT, paris(17, 11))
    assert caught.value.code == "requests.transition_refused"


def test_a_family_may_withdraw_its_request_only_before_the_decision() -> None:
    request = caf_request()
    assert request.allowed_transitions(MARTIN) == {RequestStatus.CLOSED}
    assert request.allowed_transitions(DURAND) == frozenset()
    assert request.allowed_transitions(AGENT) == {
        RequestStatus.IN_PROGRESS,
        RequestStatus.ACCEPTED,
        RequestStatus.REFUSED,
        RequestStatus.CLOSED,
    }
    withdrawn = request.take_in_charge(AGENT, paris(17, 10)).close(MARTIN, paris(17, 12))
    assert withdrawn.status is RequestStatus.CLOSED
    accepted = request.accept(AGENT, paris(17, 10), "C'est fait.")
    assert accepted.allowed_transitions(MARTIN) == frozenset()
    with pytest.raises(PermissionDenied) as caught:
        accepted.close(MARTIN, paris(17, 12))
    assert caught.value.code == "requests.agent_only"


def test_only_an_agent_answers_and_decides() -> None:
    request = caf_request()
    actions: list[Callable[[], Request]] = [
        lambda: request.accept(MARTIN, paris(17, 10), "Accepté par moi-même."),
        lambda: request.refuse(MARTIN, paris(17, 10), "Non."),
        lambda: request.answer(MARTIN, paris(17, 10), "Réponse."),
        lambda: request.take_in_charge(MARTIN, paris(17, 10)),
    ]
    for action in actions:
        with pytest.raises(PermissionDenied) as caught:
            action()
        assert caught.value.code == "requests.agent_only"


def test_another_family_cannot_act_on_the_request() -> None:
    request = caf_request()
    with pytest.raises(PermissionDenied) as caught:
        request.add_message(DURAND, paris(17, 10), "Bonjour")
    assert caught.value.code == "requests.not_your_request"
    with pytest.raises(PermissionDenied):
        request.close(DURAND, paris(17, 10))


def test_the_history_refuses_an_event_dated_before_the_last_one() -> None:
    request = caf_request().take_in_charge(AGENT, paris(17, 10))
    with pytest.raises(InvalidInput) as caught:
        request.answer(AGENT, paris(17, 9, 59), "Trop tôt.")
    assert caught.value.code == "requests.event_before_last"
    same_instant = request.answer(AGENT, paris(17, 10), "Reçu.")
    assert same_instant.history[-1].at == same_instant.history[-2].at


def test_instants_are_compared_as_instants_across_the_october_clock_change() -> None:
    # Saturday 24 October 2026, 23:30 summer time, then Sunday 25 October 03:30 winter time: 5 h later.
    request = caf_request(paris(24, 23, 30, month=10))
    answered = request.answer(AGENT, paris(25, 3, 30, month=10), "Reçu, nous revenons vers vous lundi.")
    elapsed = answered.updated_at.astimezone(dt.UTC) - answered.submitted_at.astimezone(dt.UTC)
    assert elapsed == dt.timedelta(hours=5)
    with pytest.raises(InvalidInput):
        request.answer(AGENT, dt.datetime(2026, 10, 24, 21, 0, tzinfo=dt.UTC), "Avant l'envoi.")


def test_the_repeated_hour_of_the_october_clock_change_is_ordered_by_the_real_instant() -> None:
    summer = dt.datetime(2026, 10, 25, 2, 50, tzinfo=PARIS)  # 00:50 UTC
    winter = dt.datetime(2026, 10, 25, 2, 10, fold=1, tzinfo=PARIS)  # 01:10 UTC, 20 minutes later
    answered = caf_request(summer).answer(AGENT, winter, "Reçu.")
    assert answered.updated_at is winter
    with pytest.raises(InvalidInput):
        caf_request(winter).answer(AGENT, summer, "Reçu.")


def test_naive_instants_are_refused() -> None:
    with pytest.raises(InvalidInput) as caught:
        caf_request(dt.datetime(2026, 11, 16, 8, 30))
    assert caught.value.code == "input.naive_datetime"
    with pytest.raises(InvalidInput):
        caf_request().take_in_charge(AGENT, dt.datetime(2026, 11, 17, 10, 0))


def test_a_message_is_text_of_bounded_length() -> None:
    request = caf_request()
    with pytest.raises(InvalidInput) as caught:
        request.add_message(MARTIN, paris(17, 10), "x" * (MESSAGE_MAX_LENGTH + 1))
    assert caught.value.code == "requests.message_too_long"
    with pytest.raises(InvalidInput) as caught:
        request.add_message(MARTIN, paris(17, 10), 42)  # type: ignore[arg-type]
    assert caught.value.code == "requests.bad_message"
    assert request.add_message(MARTIN, paris(17, 10), " Merci \r\n ").history[-1].message == "Merci"


def test_a_history_read_back_from_a_store_is_checked_like_a_new_one() -> None:
    request = caf_request()
    answer = RequestEvent(paris(17, 10), AGENT, EventKind.ANSWERED, None, None, "Bonjour")
    with pytest.raises(InvalidInput) as caught:
        attrs.evolve(request, history=(answer,))
    assert caught.value.code == "requests.bad_history"
    with pytest.raises(InvalidInput):
        attrs.evolve(request, history=())
    with pytest.raises(InvalidInput):
        attrs.evolve(request, history=(*request.history, request.history[0]))
    by_agent = RequestEvent(paris(16, 8), AGENT, EventKind.SUBMITTED, None, RequestStatus.SUBMITTED)
    with pytest.raises(PermissionDenied) as denied:
        attrs.evolve(request, history=(by_agent,))
    assert denied.value.code == "requests.family_only"
    skipped = RequestEvent(
        paris(17, 10), AGENT, EventKind.STATUS_CHANGED, RequestStatus.ACCEPTED, RequestStatus.CLOSED
    )
    with pytest.raises(InvalidInput) as caught:
        attrs.evolve(request, history=(*request.history, skipped))
    assert caught.value.code == "requests.bad_history"
    with pytest.raises(InvalidInput):
        attrs.evolve(request, history=("submitted",))  # type: ignore[arg-type]
    with pytest.raises(InvalidInput):
        attrs.evolve(request, values={1: "C-lea"})  # type: ignore[dict-item]


@pytest.mark.parametrize(
    ("kind", "from_status", "to_status", "message"),
    [
        (EventKind.SUBMITTED, None, RequestStatus.IN_PROGRESS, None),
        (EventKind.STATUS_CHANGED, None, RequestStatus.CLOSED, None),
        (EventKind.MESSAGE, RequestStatus.SUBMITTED, RequestStatus.CLOSED, "Bonjour"),
        (EventKind.ANSWERED, RequestStatus.SUBMITTED, None, "Bonjour"),
        (EventKind.MESSAGE, None, None, None),
    ],
)
def test_an_event_of_the_wrong_shape_cannot_be_built(
    kind: EventKind, from_status: RequestStatus | None, to_status: RequestStatus | None, message: str | None
) -> None:
    with pytest.raises(InvalidInput):
        RequestEvent(paris(17, 10), AGENT, kind, from_status, to_status, message)
    with pytest.raises(InvalidInput):
        RequestEvent(paris(17, 10), AGENT, EventKind.STATUS_CHANGED, "submitted", RequestStatus.CLOSED)  # type: ignore[arg-type]


def test_status_labels_read_as_the_portal_writes_them() -> None:
    assert [s.label_fr for s in RequestStatus] == [
        "envoyée",
        "en cours de traitement",
        "acceptée",
        "refusée",
        "close",
    ]
