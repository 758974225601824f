"""The one reader of the commune file's tables: every mistake is refused where it is, by its full key path."""

from __future__ import annotations

import datetime as dt
import enum
import tomllib
from collections.abc import Callable

import pytest

from espacefamille._internal.tables import Table
from espacefamille.errors import InvalidConfiguration, InvalidInput

SERVICES = tomllib.loads(
    """
    [cantine]
    name = "Restauration scolaire"
    [[cantine.closures]]
    start = 2026-12-18
    end = 2026-12-18
    reason = "strike"
    """
)


class Reason(enum.Enum):
    STRIKE = "strike"
    OUTING = "outing"


def _refused(read: Callable[[], object]) -> InvalidConfiguration:
    with pytest.raises(InvalidConfiguration) as caught:
        read()
    return caught.value


def test_a_key_nobody_reads_is_refused_by_its_path_when_the_table_is_done() -> None:
    table = Table({"name": "Cantine", "nom": "Cantine"}, "services.cantine")
    assert table.string("name") == "Cantine"
    error = _refused(table.done)
    assert (error.code, error.path) == ("config.unknown_key", "services.cantine.nom")
    assert error.message == "services.cantine.nom: unknown key(s) nom"


def test_a_table_that_declares_its_keys_refuses_another_at_once_and_lists_them() -> None:
    error = _refused(lambda: Table({"places": 40, "place": 4}, "capacity", keys=("places", "overrides")))
    assert (error.code, error.path) == ("config.unknown_key", "capacity.place")
    assert error.reason == "unknown key(s) place (expected places, overrides)"


def test_a_value_of_the_wrong_type_says_what_was_expected_and_what_came() -> None:
    table = Table({"name": 3}, "collectivite")
    error = _refused(lambda: table.string("name"))
    assert (error.code, error.path) == ("config.type", "collectivite.name")
    assert error.reason == "expected a string, got an integer 3"


def test_a_boolean_is_not_a_whole_number() -> None:
    error = _refused(lambda: Table({"places": True}, "capacity").count("places"))
    assert (error.code, error.reason) == ("config.type", "expected a whole number, got a boolean True")


def test_a_missing_required_key_is_named_and_an_optional_one_gives_its_default() -> None:
    table = Table({}, "regies.enfance")
    error = _refused(lambda: table.string("name"))
    assert (error.code, error.path, error.reason) == (
        "config.missing_key",
        "regies.enfance.name",
        "missing required key",
    )
    assert table.integer("payment_delay_days", 30) == 30
    assert table.string("payfip_client", None) is None
    assert table.strings("classes") == []
    assert list(table.array("closures")) == []


def test_a_mistake_deep_in_an_array_of_tables_is_named_by_its_full_path() -> None:
    services = Table(SERVICES, "services")
    ((name, cantine),) = services.subtables()
    assert name == "cantine"
    (closure,) = cantine.array("closures")
    assert closure.path == "services.cantine.closures[0]"
    assert closure.date("start") == dt.date(2026, 12, 18)
    error = _refused(lambda: closure.choice("end", Reason))
    assert (error.code, error.path) == ("config.choice", "services.cantine.closures[0].end")
    assert "'strike', 'outing'" in error.message
    error = _refused(closure.done)
    assert error.path == "services.cantine.closures[0].reason"


def test_what_is_not_a_table_is_refused_where_a_table_was_expected() -> None:
    table = Table({"season": [1, 2]}, "services.alsh.opening")
    error = _refused(lambda: table.table("season"))
    assert (error.code, error.path) == ("config.type", "services.alsh.opening.season")
    assert error.reason == "expected a table, got an array"
    error = _refused(lambda: Table("cantine", "services"))
    assert (error.path, error.reason) == ("services", "expected a table, got a string")


def test_an_amount_written_as_a_float_is_refused_with_a_french_explanation() -> None:
    table = Table({"above": 50.0, "threshold": "15.00"}, "unpaid.steps[0]")
    error = _refused(lambda: table.amount("above"))
    assert (error.code, error.path) == ("config.float_amount", "unpaid.steps[0].above")
    assert "guillemets" in error.message_fr
    assert table.amount("threshold") == "15.00"


def test_a_negative_count_carries_the_readers_code_and_a_french_message() -> None:
    error = _refused(lambda: Table({"days": -1}, "deadline").count("days", code="deadline.negative"))
    assert (error.code, error.path) == ("deadline.negative", "deadline.days")
    assert error.message_fr == "deadline.days : ne peut pas être négatif (-1)"


def test_a_time_and_an_instant_are_told_apart() -> None:
    table = Table({"at": dt.time(11), "opens": dt.datetime(2027, 1, 4, 9)}, "window")
    assert table.time("at") == dt.time(11)
    error = _refused(lambda: table.instant("opens"))
    assert (error.code, error.path) == ("input.naive_datetime", "window.opens")


def test_a_constructors_error_is_located_at_its_key_with_its_code_and_french_message() -> None:
    def regie(delay: int) -> None:
        raise InvalidInput("too long", message_fr="Délai trop long.", code="model.out_of_range")

    table = Table({"payment_delay_days": 400}, "regies.enfance")
    error = _refused(lambda: table.build("payment_delay_days", regie, table.integer("payment_delay_days")))
    assert (error.code, error.path) == ("model.out_of_range", "regies.enfance.payment_delay_days")
    assert error.message_fr == "regies.enfance.payment_delay_days : Délai trop long."


def test_an_error_already_located_passes_through_unchanged() -> None:
    located = InvalidConfiguration("bad", path="services.cantine.prestations.repas.booking.deadline")

    def rules() -> None:
        raise located

    assert _refused(lambda: Table({}, "services.cantine").build("", rules)) is located
