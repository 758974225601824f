"""The error hierarchy (codes, two messages, builtin kinds) and how dates and times read in French."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from espacefamille import errors
from espacefamille.errors import (
    ConcurrentChange,
    EspaceFamilleError,
    InvalidConfiguration,
    InvalidInput,
    MissingData,
    NotFound,
    PermissionDenied,
)
from espacefamille.text import (
    count_of,
    format_amount,
    format_date,
    format_datetime,
    format_duration,
    format_time,
    locale_for,
)

PARIS = ZoneInfo("Europe/Paris")

# -- errors -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "builtin", "default_code"),
    [
        (InvalidInput, ValueError, "input.invalid"),
        (InvalidConfiguration, ValueError, "config.invalid"),
        (MissingData, LookupError, "data.missing"),
        (NotFound, LookupError, "not_found"),
        (PermissionDenied, PermissionError, "permission.denied"),
        (ConcurrentChange, Exception, "store.concurrent_change"),
    ],
)
def test_each_error_is_an_espacefamille_error_and_its_builtin_kind(
    kind: type[EspaceFamilleError], builtin: type[Exception], default_code: str
) -> None:
    error = kind("something went wrong")
    assert isinstance(error, EspaceFamilleError)
    assert isinstance(error, builtin)
    assert error.code == default_code
    # A caller that only knows the builtin still catches it.
    with pytest.raises(builtin):
        raise error


def test_every_public_error_is_listed_and_rooted() -> None:
    for name in errors.__all__:
        assert issubclass(getattr(errors, name), EspaceFamilleError)


def test_missing_data_is_not_a_value_error_and_invalid_input_is_not_a_lookup_error() -> None:
    # Callers catch "bad argument" and "not there" separately; the kinds must not blur.
    assert not issubclass(MissingData, ValueError)
    assert not issubclass(NotFound, ValueError)
    assert not issubclass(InvalidInput, LookupError)
    assert not issubclass(PermissionDenied, ValueError)


def test_an_error_carries_a_code_an_english_message_and_a_french_one() -> None:
    error = InvalidInput(
        "end 2026-11-02 is before start 2026-11-12",
        message_fr="La date de fin précède la date de début.",
        code="input.end_before_start",
        details={"start": dt.date(2026, 11, 12)},
    )
    assert error.code == "input.end_before_start"
    assert error.message == "end 2026-11-02 is before start 2026-11-12"
    assert error.message_fr == "La date de fin précède la date de début."
    assert error.details == {"start": dt.date(2026, 11, 12)}
    assert str(error) == "[input.end_before_start] end 2026-11-02 is before start 2026-11-12"
    assert error.args == ("end 2026-11-02 is before start 2026-11-12",)


def test_without_a_french_message_the_english_one_is_used_and_details_are_empty() -> None:
    error = NotFound("unknown prestation 'gouter'")
    assert error.message_fr == "unknown prestation 'gouter'"
    assert error.details == {}
    assert "not_found" in str(error)


def test_details_are_copied_so_the_caller_cannot_change_them_afterwards() -> None:
    details: dict[str, object] = {"zone": "B"}
    error = MissingData("no school calendar", details=details)
    details["zone"] = "A"
    assert error.details == {"zone": "B"}


def test_invalid_configuration_prefixes_its_messages_with_the_key_path() -> None:
    error = InvalidConfiguration(
        "expected a string, got an integer 3",
        path="collectivite.name",
        message_fr="une chaîne de caractères est attendue",
        code="config.type",
    )
    assert error.path == "collectivite.name"
    assert error.message == "collectivite.name: expected a string, got an integer 3"
    assert error.message_fr == "collectivite.name : une chaîne de caractères est attendue"
    assert error.reason == "expected a string, got an integer 3"
    assert error.reason_fr == "une chaîne de caractères est attendue"
    assert str(error) == "[config.type] collectivite.name: expected a string, got an integer 3"


def test_invalid_configuration_without_a_path_or_french_message() -> None:
    error = InvalidConfiguration("not valid TOML")
    assert error.path == ""
    assert error.message == "not valid TOML"
    assert error.message_fr == "not valid TOML"
    assert error.reason_fr is None
    located = InvalidConfiguration("missing required key", path="collectivite.id")
    assert located.message_fr == "collectivite.id: missing required key"


# -- dates and times --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "french"),
    [
        (dt.date(2026, 11, 12), "jeudi 12 novembre 2026"),
        (dt.date(2026, 11, 11), "mercredi 11 novembre 2026"),
        (dt.date(2026, 12, 1), "mardi 1er décembre 2026"),
        (dt.date(2027, 1, 1), "vendredi 1er janvier 2027"),
        (dt.date(2027, 1, 4), "lundi 4 janvier 2027"),
        (dt.date(2026, 12, 19), "samedi 19 décembre 2026"),
        (dt.date(2027, 2, 21), "dimanche 21 février 2027"),
        (dt.date(2027, 8, 31), "mardi 31 août 2027"),
    ],
)
def test_french_dates_read_as_a_parent_writes_them(day: dt.date, french: str) -> None:
    assert format_date(day) == french
    assert format_date(day, "fr") == french


@pytest.mark.parametrize(
    ("day", "english"),
    [
        (dt.date(2026, 11, 12), "Thursday 12 November 2026"),
        (dt.date(2026, 12, 1), "Tuesday 1 December 2026"),
        (dt.date(2027, 1, 1), "Friday 1 January 2027"),
    ],
)
def test_english_dates_have_no_ordinal(day: dt.date, english: str) -> None:
    assert format_date(day, "en") == english


@pytest.mark.parametrize(
    ("moment", "french", "english"),
    [
        (dt.time(12, 0), "12 h 00", "12:00"),
        (dt.time(8, 5), "8 h 05", "08:05"),
        (dt.time(0, 0), "0 h 00", "00:00"),
        (dt.time(23, 59, 59), "23 h 59", "23:59"),
        (dt.datetime(2026, 11, 12, 18, 30, tzinfo=PARIS), "18 h 30", "18:30"),
    ],
)
def test_times_read_in_french_typography_and_english_clock(
    moment: dt.time | dt.datetime, french: str, english: str
) -> None:
    assert format_time(moment) == french
    assert format_time(moment, "en") == english


def test_a_deadline_reads_as_a_date_and_a_time() -> None:
    # "J-3 ouvrés avant 12 h": the Tuesday 17 November meal was due Thursday 12 November, 12:00.
    deadline = dt.datetime(2026, 11, 12, 12, 0, tzinfo=PARIS)
    assert format_datetime(deadline) == "jeudi 12 novembre 2026 à 12 h 00"
    assert format_datetime(deadline, "en") == "Thursday 12 November 2026 at 12:00"
    first = dt.datetime(2026, 12, 1, 9, 5, tzinfo=PARIS)
    assert format_datetime(first) == "mardi 1er décembre 2026 à 9 h 05"


def test_amounts_and_locales() -> None:
    assert locale_for("fr") == "fr_FR"
    assert locale_for("en") == "en_GB"
    assert format_amount(Decimal("15.00")) == "15,00\u00a0€"
    assert format_amount(Decimal("1234.5"), "en") == "€1,234.50"


def test_a_duration_reads_in_hours_and_minutes_never_as_a_decimal() -> None:
    from_care = [format_duration(m) for m in (65, 45, 120, 0)]
    assert from_care == ["1 h 05", "45 min", "2 h 00", "0 min"]


def test_a_count_agrees_its_noun_as_french_and_english_do() -> None:

    assert [count_of(n, "facture", "factures") for n in (0, 1, 2, 12)] == [
        "0 facture",
        "1 facture",
        "2 factures",
        "12 factures",
    ]
    assert [count_of(n, "invoice", "invoices", "en") for n in (0, 1, 2)] == [
        "0 invoices",
        "1 invoice",
        "2 invoices",
    ]
