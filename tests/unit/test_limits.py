"""The limits a host can rely on: what the library refuses at construction or load, with which code.

docs/limits.md lists them; each refusal is an ``EspaceFamilleError`` with a stable code, never a value
that is accepted and breaks later (at commit, at month end).
"""

from __future__ import annotations

import datetime as dt
import tomllib
from decimal import Decimal

import pytest

from espacefamille.calendar.school import SchoolZone
from espacefamille.config import commune_from_dict, loads_commune
from espacefamille.errors import EspaceFamilleError, InvalidConfiguration, InvalidInput
from espacefamille.model import Child, Collectivite, Family, Guardian, QuotientFamilial
from espacefamille.money import MAX_AMOUNT, MAX_CENTS, Money, to_decimal
from espacefamille.rules.capacity import Places
from tests.unit.test_config import MINIMAL, edited


def _code(make: object) -> str:
    assert callable(make)
    with pytest.raises(EspaceFamilleError) as caught:
        make()
    return caught.value.code


def _config(text: str) -> InvalidConfiguration:
    with pytest.raises(InvalidConfiguration) as caught:
        loads_commune(text)
    return caught.value


# -- money --------------------------------------------------------------------------------------


def test_money_refuses_an_amount_beyond_a_thousand_billion_euros() -> None:
    assert Money("1000000000000") == MAX_AMOUNT
    assert MAX_CENTS == 10**14
    assert Money("-1000000000000").cents == -MAX_CENTS
    for amount in ("1000000000000.01", "100000000000000000", Decimal("1E+5000"), 10**15):
        assert _code(lambda amount=amount: Money(amount)) == "money.too_large"
    assert _code(lambda: Money.from_cents(2**70)) == "money.too_large"
    # Arithmetic cannot leave the range either: the stores hold every amount Money can be.
    assert _code(lambda: MAX_AMOUNT + Money("0.01")) == "money.too_large"
    assert _code(lambda: MAX_AMOUNT * 2) == "money.too_large"


def test_money_never_changes_the_cents_of_a_long_amount() -> None:
    # 30 significant digits: more than the decimal context's 28, which used to round them away.
    assert _code(lambda: Money("1.00000000000000000000000000001")) == "money.sub_cent"
    assert _code(lambda: Money("123456789012345678901234567.89")) == "money.too_large"
    assert Money("999999999999.99").cents == 99_999_999_999_999


@pytest.mark.parametrize("written", ["8_12", "１２", "1E+5000", "1e3", "٣", "12.5.1", "+", ".", "--1"])
def test_a_number_is_written_with_ascii_digits_only(written: str) -> None:
    assert _code(lambda: to_decimal(written)) == "money.not_a_number"
    assert _code(lambda: Money(written)) == "money.not_a_number"


def test_a_number_as_french_users_write_it_is_still_read() -> None:
    assert [to_decimal(text) for text in ("12,50", "1\u202f234,50", " -3 ", ".5", "7.")] == [
        Decimal("12.50"),
        Decimal("1234.50"),
        Decimal(-3),
        Decimal("0.5"),
        Decimal(7),
    ]


def test_no_number_read_is_beyond_a_million_billion() -> None:
    assert _code(lambda: to_decimal(Decimal("1E+16"))) == "input.number_too_large"
    assert _code(lambda: to_decimal(10**16)) == "input.number_too_large"
    assert to_decimal(10**14) == Decimal(10**14)  # allocation weights are cents up to the money limit


@pytest.mark.parametrize("written", ["8_12", "１２", "1E+5000"])
def test_a_quotient_familial_is_written_in_plain_digits(written: str) -> None:
    assert _code(lambda: QuotientFamilial(written, dt.date(2026, 9, 1))) == "money.not_a_number"


def test_a_recovery_threshold_in_exponent_notation_is_refused_at_its_key() -> None:
    error = _config(MINIMAL + '\n[billing]\nrecovery_threshold = "1E+5000"\n')
    assert (error.path, error.code) == ("billing.recovery_threshold", "money.not_a_number")
    error = _config(MINIMAL + '\n[billing]\nrecovery_threshold = "10000000000000"\n')
    assert (error.path, error.code) == ("billing.recovery_threshold", "money.too_large")


# -- text ---------------------------------------------------------------------------------------


def _guardian(first_name: str = "Ana", **kwargs: object) -> Guardian:
    return Guardian("g1", first_name, "Martin", **kwargs)  # type: ignore[arg-type]


def test_a_lone_surrogate_is_refused_in_a_name() -> None:
    # What json.loads returns for the escape "\ud800" sent by a web form.
    with pytest.raises(InvalidInput) as caught:
        _guardian("An\ud800a")
    error = caught.value
    assert (error.code, error.details["at"]) == ("input.lone_surrogate", "first_name")
    assert "caractère" in error.message_fr
    assert _code(lambda: Family("f1", "Famille \udfff", [_guardian()], "g1")) == "input.lone_surrogate"


def test_a_name_is_one_line_without_control_characters() -> None:
    assert _code(lambda: _guardian("Ana\nMarie")) == "input.control_character"
    assert _code(lambda: _guardian("Ana\x00")) == "input.control_character"
    assert _code(lambda: _guardian("A" * 1001)) == "input.text_too_long"


def test_names_are_kept_in_composed_form() -> None:
    # "é" typed as e + combining acute (macOS file names, some keyboards) is the same name as "é".
    assert _guardian("Rene\u0301").first_name == "René"
    assert Family("f1", "Famille Le\u0301a", [_guardian()], "g1").name == "Famille Léa"


def test_a_guardian_e_mail_is_one_address_on_one_line() -> None:
    assert _guardian(email="ana@example.fr").email == "ana@example.fr"
    assert _code(lambda: _guardian(email="ana@example.fr\nBcc: x@evil.example")) == "model.bad_email"
    assert _code(lambda: _guardian(email="ana@example.fr\n")) == "model.bad_email"
    assert _code(lambda: _guardian(phone="06 12\n34")) == "input.control_character"


def test_a_surrogate_in_a_configuration_string_is_refused_at_its_key() -> None:
    raw = tomllib.loads(MINIMAL)
    raw["collectivite"]["name"] = "Ville \ud800"
    with pytest.raises(InvalidConfiguration) as caught:
        commune_from_dict(raw)
    assert (caught.value.path, caught.value.code) == ("collectivite.name", "input.lone_surrogate")


def test_configuration_strings_are_composed() -> None:
    commune = loads_commune(edited("Saint-Aubin-des-Prés", "Saint-Aubin-des-Pre\u0301s"))
    assert commune.collectivite.name == "Ville de Saint-Aubin-des-Prés"


# -- configuration values -----------------------------------------------------------------------


def test_an_empty_time_zone_is_refused_not_read_as_paris() -> None:
    error = _config(edited('school_zone = "B"', 'school_zone = "B"\ntimezone = ""'))
    assert (error.path, error.code) == ("collectivite", "calendar.unknown_timezone")
    too_long = _config(edited('school_zone = "B"', f'school_zone = "B"\ntimezone = "{"a" * 300}"'))
    assert too_long.code == "calendar.unknown_timezone"
    assert _code(lambda: Collectivite("c", "C", SchoolZone.B, timezone=None)) == "calendar.unknown_timezone"  # type: ignore[arg-type]


def test_a_capacity_beyond_a_million_places_is_refused() -> None:
    text = edited(
        'payment_mode = "month_end"', f'payment_mode = "month_end"\ncapacity = {{ places = {2**70} }}'
    )
    error = _config(text)
    assert (error.path, error.code) == (
        "services.cantine.prestations.repas.capacity.places",
        "config.too_large",
    )
    assert _code(lambda: Places(2**70)) == "capacity.bad_places"


def test_a_deadline_of_a_thousand_billion_days_is_refused() -> None:
    booking = (
        'payment_mode = "month_end"\n[services.cantine.prestations.repas.booking]\n'
        'deadline = { pattern = "days_before", days = 1000000000000, counting = "calendar_days", '
        "at = 11:00:00 }\n"
    )
    error = _config(edited('payment_mode = "month_end"', booking))
    assert error.code == "config.too_large"
    assert error.path == "services.cantine.prestations.repas.booking.deadline.days"


def test_a_deadline_pattern_that_is_not_a_name_is_refused() -> None:
    booking = (
        'payment_mode = "month_end"\n[services.cantine.prestations.repas.booking]\n'
        "deadline = { pattern = [] }\n"
    )
    error = _config(edited('payment_mode = "month_end"', booking))
    assert (error.path, error.code) == (
        "services.cantine.prestations.repas.booking.deadline.pattern",
        "config.type",
    )


def test_deeply_nested_toml_is_a_configuration_error() -> None:
    for text in ("a = " + "[" * 5000 + "]" * 5000, "a = " + "{b=" * 3000 + "1" + "}" * 3000):
        assert _config(text).code == "config.too_deep"


def test_only_text_is_read_as_a_configuration() -> None:
    for value in (None, b"schema_version = 1", 12):
        assert _code(lambda value=value: loads_commune(value)) == "config.type"
    assert _code(lambda: commune_from_dict(None)) == "config.type"  # type: ignore[arg-type]


# -- dates --------------------------------------------------------------------------------------


def test_a_child_born_before_1900_or_after_2200_is_refused() -> None:
    for born in (dt.date(1899, 12, 31), dt.date(2201, 1, 1)):
        assert _code(lambda born=born: Child("c1", "Léa", "Martin", born, ["f1"])) == "model.birth_date"
    assert Child("c1", "Léa", "Martin", dt.date(2019, 5, 4), ["f1"]).age_on(dt.date(2026, 5, 4)) == 7
