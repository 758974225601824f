"""Loading a commune's TOML configuration: the example loads, and each mistake is named by its key."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from espacefamille.calendar.opening import ClosureReason
from espacefamille.calendar.periods import Weekday
from espacefamille.calendar.public_holidays import HolidaySubdivision
from espacefamille.calendar.school import SchoolZone
from espacefamille.commune import Commune
from espacefamille.config import (
    SCHEMA_VERSION,
    commune_from_dict,
    commune_to_dict,
    dumps_commune,
    load_commune,
    loads_commune,
)
from espacefamille.errors import InvalidConfiguration
from espacefamille.examples import example_commune, example_path
from espacefamille.model import PaymentMode, PrestationKind, ServiceKind
from espacefamille.money import Money, RoundingMode, RoundingPoint

# The smallest useful commune: one canteen serving meals on the four school days.
MINIMAL = """\
schema_version = 1

[collectivite]
id = "saint-aubin"
name = "Ville de Saint-Aubin-des-Prés"
school_zone = "B"

[regies.enfance]
name = "Régie enfance-jeunesse"

[services.cantine]
name = "Restauration scolaire"
kind = "cantine"
regie = "enfance"

[services.cantine.opening]
school_weekdays = ["monday", "tuesday", "thursday", "friday"]

[services.cantine.prestations.repas]
name = "Repas"
kind = "day"
payment_mode = "month_end"
"""


def edited(old: str, new: str, text: str = MINIMAL) -> str:
    """``text`` with one passage changed; fails loudly if the passage is not there."""
    assert old in text, old
    return text.replace(old, new, 1)


def config_error(text: str) -> InvalidConfiguration:
    with pytest.raises(InvalidConfiguration) as caught:
        loads_commune(text)
    return caught.value


# -- what loads -------------------------------------------------------------------------------


def test_the_example_commune_loads(commune: Commune) -> None:
    assert commune.collectivite.id == "saint-aubin"
    assert commune.collectivite.name == "Ville de Saint-Aubin-des-Prés"
    assert commune.collectivite.school_zone is SchoolZone.B
    assert commune.collectivite.subdivision is HolidaySubdivision.METROPOLE
    assert commune.collectivite.timezone == "Europe/Paris"
    assert [r.id for r in commune.regies] == ["enfance", "loisirs"]
    assert commune.regie("enfance").payfip_client == "012345"
    assert [s.id for s in commune.services] == ["cantine", "periscolaire", "alsh"]
    assert [p.id for p in commune.prestations] == [
        "repas",
        "matin",
        "soir",
        "mercredi_journee",
        "mercredi_matin",
        "journee",
        "stage_semaine",
    ]
    assert commune.rounding.mode is RoundingMode.HALF_UP
    assert commune.rounding.point is RoundingPoint.UNIT_PRICE
    assert commune.recovery_threshold == Money("15.00")


def test_the_example_commune_prestations_are_read_in_full(commune: Commune) -> None:
    matin = commune.prestation("matin")
    assert matin.kind is PrestationKind.SLOT
    assert (matin.start, matin.end, matin.minutes) == (dt.time(7, 30), dt.time(8, 35), 65)
    # A prestation without its own opening takes its service's.
    assert matin.opening.school_weekdays == {
        Weekday.MONDAY,
        Weekday.TUESDAY,
        Weekday.THURSDAY,
        Weekday.FRIDAY,
    }
    # One with its own opening keeps it.
    assert commune.prestation("mercredi_matin").opening.school_weekdays == {Weekday.WEDNESDAY}
    stage = commune.prestation("stage_semaine")
    assert stage.kind is PrestationKind.BLOCK
    assert stage.payment_mode is PaymentMode.PREPAID
    assert commune.service("alsh").kind is ServiceKind.ALSH
    (outing,) = commune.service("cantine").closures
    assert outing.reason is ClosureReason.OUTING
    assert outing.period.start == dt.date(2026, 12, 18)


def test_example_commune_is_the_shipped_file(tmp_path: Path) -> None:
    assert example_path().name == "saint-aubin.toml"
    copy = tmp_path / "commune.toml"
    copy.write_text(example_path().read_text(encoding="utf-8"), encoding="utf-8")
    assert load_commune(copy) == example_commune()
    assert load_commune(str(copy)) == example_commune()


def test_a_minimal_commune_takes_the_defaults(tmp_path: Path) -> None:
    path = tmp_path / "saint-aubin.toml"
    path.write_text(MINIMAL, encoding="utf-8")
    commune = load_commune(path)
    assert commune.collectivite.subdivision is HolidaySubdivision.METROPOLE
    assert commune.collectivite.timezone == "Europe/Paris"
    assert commune.regie("enfance").payfip_client is None
    assert commune.rounding.mode is RoundingMode.HALF_UP
    assert commune.recovery_threshold == Money("15")
    assert commune.service("cantine").closures == ()
    assert commune.school_years == ()


def test_billing_settings_are_read() -> None:
    text = MINIMAL + (
        '\n[billing]\nrounding_mode = "half_even"\nrounding_point = "line"\nrecovery_threshold = "0"\n'
    )
    commune = loads_commune(text)
    assert commune.rounding.mode is RoundingMode.HALF_EVEN
    assert commune.rounding.point is RoundingPoint.LINE
    assert commune.recovery_threshold == Money("0")
    # A billing table that leaves the threshold out keeps the legal 15 € (CGCT D1611-1).
    assert loads_commune(MINIMAL + '\n[billing]\nrounding_point = "line"\n').recovery_threshold == Money("15")


@pytest.mark.parametrize(("written", "amount"), [('"15,00"', "15.00"), ("20", "20"), ('"12.5"', "12.50")])
def test_amounts_may_be_strings_with_a_comma_or_whole_integers(written: str, amount: str) -> None:
    commune = loads_commune(MINIMAL + f"\n[billing]\nrecovery_threshold = {written}\n")
    assert commune.recovery_threshold == Money(amount)


def test_weekdays_may_be_written_in_french() -> None:
    commune = loads_commune(edited('["monday", "tuesday", "thursday", "friday"]', '["lundi", "Mardi"]'))
    assert commune.prestation("repas").opening.school_weekdays == {Weekday.MONDAY, Weekday.TUESDAY}


def test_an_overseas_commune() -> None:
    text = edited(
        'school_zone = "B"\n',
        'school_zone = "C"\nsubdivision = "reunion"\ntimezone = "Indian/Reunion"\n',
    )
    commune = loads_commune(text)
    assert commune.collectivite.subdivision is HolidaySubdivision.REUNION
    assert commune.calendar.zone.key == "Indian/Reunion"


# -- commune-supplied school years ------------------------------------------------------------

OWN_SCHOOL_YEAR = """
[[calendar.school_years]]
label = "2026-2027"
rentree = 2026-09-01
summer_start = 2027-07-03
holidays = [
  { name = "Vacances de la Toussaint", start = 2026-10-17, end = 2026-11-02 },
  { name = "Vacances de Noël", start = 2026-12-26, end = 2027-01-11 },
]
"""


def test_a_commune_school_year_overrides_the_shipped_table() -> None:
    shipped = loads_commune(MINIMAL).calendar
    own = loads_commune(MINIMAL + OWN_SCHOOL_YEAR).calendar
    monday_21_december = dt.date(2026, 12, 21)
    shipped_christmas = shipped.school_holiday(monday_21_december)
    assert shipped_christmas is not None
    assert shipped_christmas.name == "Vacances de Noël"
    # The commune's own table moves Christmas a week later: the 21st is a school day there,
    # and classes resume on Monday 11 January instead of Monday 4 January.
    assert own.school_holiday(monday_21_december) is None
    assert own.school_holiday(dt.date(2027, 1, 5)) is not None
    assert shipped.school_holiday(dt.date(2027, 1, 5)) is None
    # Its table has no winter holidays: the whole year is replaced, not merged.
    assert own.school_holiday(dt.date(2027, 2, 24)) is None
    # Other years still come from the shipped data.
    assert own.school_holiday(dt.date(2025, 12, 24)) is not None


def test_a_commune_school_year_is_written_back() -> None:
    commune = loads_commune(MINIMAL + OWN_SCHOOL_YEAR)
    assert [y.label for y in commune.school_years] == ["2026-2027"]
    assert loads_commune(dumps_commune(commune)) == commune


def test_a_school_year_given_twice_is_refused() -> None:
    error = config_error(MINIMAL + OWN_SCHOOL_YEAR + OWN_SCHOOL_YEAR)
    assert (error.code, error.path) == ("config.duplicate_id", "calendar.school_years")


def test_a_bad_commune_school_year_names_its_key() -> None:
    error = config_error(MINIMAL + edited('label = "2026-2027"', 'label = "2026-2028"', OWN_SCHOOL_YEAR))
    assert (error.code, error.path) == ("calendar.school_year_label", "calendar.school_years[0].label")
    error = config_error(MINIMAL + edited("end = 2027-01-11", 'end = "11 janvier"', OWN_SCHOOL_YEAR))
    assert (error.code, error.path) == ("config.type", "calendar.school_years[0].holidays[1].end")


# -- what is refused, and where ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "path"),
    [
        ('name = "Ville de Saint-Aubin-des-Prés"\n', "", "collectivite.name"),
        ('id = "saint-aubin"\n', "", "collectivite.id"),
        ('kind = "cantine"\n', "", "services.cantine.kind"),
        ('regie = "enfance"\n', "", "services.cantine.regie"),
        ('payment_mode = "month_end"\n', "", "services.cantine.prestations.repas.payment_mode"),
        ('name = "Régie enfance-jeunesse"\n', "", "regies.enfance.name"),
    ],
)
def test_a_missing_key_is_named(old: str, new: str, path: str) -> None:
    error = config_error(edited(old, new))
    assert error.code == "config.missing_key"
    assert error.path == path
    assert error.message == f"{path}: missing required key"


def test_a_missing_collectivite_table_is_named() -> None:
    text = edited(
        '[collectivite]\nid = "saint-aubin"\nname = "Ville de Saint-Aubin-des-Prés"\nschool_zone = "B"\n', ""
    )
    error = config_error(text)
    assert (error.code, error.path) == ("config.missing_key", "collectivite")


@pytest.mark.parametrize(
    ("old", "new", "path"),
    [
        ('school_zone = "B"\n', 'school_zone = "B"\ncouleur = "bleu"\n', "collectivite.couleur"),
        ("schema_version = 1\n", "schema_version = 1\ncommune = true\n", "commune"),
        ('kind = "day"\n', 'kind = "day"\nprice = "3.25"\n', "services.cantine.prestations.repas.price"),
        ('regie = "enfance"\n', 'regie = "enfance"\nregie_id = "x"\n', "services.cantine.regie_id"),
    ],
)
def test_an_unknown_key_is_named(old: str, new: str, path: str) -> None:
    # A misspelt key must not be silently ignored: "prix" would leave a price unset.
    error = config_error(edited(old, new))
    assert error.code == "config.unknown_key"
    assert error.path == path
    assert path.rsplit(".", 1)[-1] in error.message


def test_an_unknown_key_in_a_closure_is_named() -> None:
    text = edited(
        'regie = "enfance"\n',
        'regie = "enfance"\n'
        'closures = [{ start = 2026-12-18, end = 2026-12-18, reason = "outing", motif = "x" }]\n',
    )
    error = config_error(text)
    assert (error.code, error.path) == ("config.unknown_key", "services.cantine.closures[0].motif")


@pytest.mark.parametrize(
    ("old", "new", "path"),
    [
        ('name = "Ville de Saint-Aubin-des-Prés"', "name = 3", "collectivite.name"),
        ('school_zone = "B"', 'school_zone = "B"\ntimezone = true', "collectivite.timezone"),
        (
            '["monday", "tuesday", "thursday", "friday"]',
            '"monday"',
            "services.cantine.opening.school_weekdays",
        ),
        ('["monday", "tuesday", "thursday", "friday"]', "[1, 2]", "services.cantine.opening.school_weekdays"),
        ('kind = "day"', 'kind = "day"\nstart = "11:45"', "services.cantine.prestations.repas.start"),
        ('regie = "enfance"', 'regie = "enfance"\nclosures = "2026-12-18"', "services.cantine.closures"),
        (
            'kind = "day"',
            'kind = "day"\nstart = 2026-09-01T11:45:00',
            "services.cantine.prestations.repas.start",
        ),
        (
            '[collectivite]\nid = "saint-aubin"',
            'collectivite = "saint-aubin"\n[autre]\nid = "x"',
            "collectivite",
        ),
    ],
)
def test_a_value_of_the_wrong_type_is_named(old: str, new: str, path: str) -> None:
    error = config_error(edited(old, new))
    assert error.code == "config.type"
    assert error.path == path


def test_a_table_written_as_an_array_is_named() -> None:
    text = edited('[regies.enfance]\nname = "Régie enfance-jeunesse"\n', "")
    error = config_error(edited("schema_version = 1\n", 'schema_version = 1\nregies = ["enfance"]\n', text))
    assert (error.code, error.path) == ("config.type", "regies")
    assert "expected a table, got an array" in error.message


def test_a_season_needs_real_dates() -> None:
    text = edited(
        '"thursday", "friday"]\n',
        '"thursday", "friday"]\nseason = { start = "2026-09-01", end = 2027-07-03 }\n',
    )
    error = config_error(text)
    assert (error.code, error.path) == ("config.type", "services.cantine.opening.season.start")
    assert "YYYY-MM-DD" in error.message


def test_a_bad_choice_lists_the_allowed_values() -> None:
    error = config_error(edited('kind = "cantine"', 'kind = "garderie"'))
    assert error.code == "config.choice"
    assert error.path == "services.cantine.kind"
    for allowed in ("'cantine'", "'periscolaire'", "'mercredi'", "'alsh'", "'etude'", "'other'"):
        assert allowed in error.message
    assert "'garderie'" in error.message


@pytest.mark.parametrize(
    ("old", "new", "path"),
    [
        ('school_zone = "B"', 'school_zone = "b"', "collectivite.school_zone"),
        ('school_zone = "B"', 'school_zone = "B"\nsubdivision = "alsace"', "collectivite.subdivision"),
        (
            'payment_mode = "month_end"',
            'payment_mode = "monthly"',
            "services.cantine.prestations.repas.payment_mode",
        ),
        ('kind = "day"', 'kind = "demi-journee"', "services.cantine.prestations.repas.kind"),
    ],
)
def test_bad_choices_are_named(old: str, new: str, path: str) -> None:
    error = config_error(edited(old, new))
    assert (error.code, error.path) == ("config.choice", path)


def test_a_bad_rounding_mode_lists_the_modes() -> None:
    error = config_error(MINIMAL + '\n[billing]\nrounding_mode = "commercial"\n')
    assert (error.code, error.path) == ("config.choice", "billing.rounding_mode")
    assert "'half_up', 'half_even', 'half_down', 'up', 'down'" in error.message


def test_a_float_amount_is_refused_so_amounts_stay_exact() -> None:
    error = config_error(MINIMAL + "\n[billing]\nrecovery_threshold = 15.0\n")
    assert error.code == "config.float_amount"
    assert error.path == "billing.recovery_threshold"
    assert '"15.0"' in error.message  # it says how to write it instead


@pytest.mark.parametrize(
    ("written", "code"),
    [
        ('"15.001"', "money.sub_cent"),
        ('"quinze"', "money.not_a_number"),
        ("true", "config.type"),
        ('"-1"', "config.value"),
    ],
)
def test_a_bad_amount_is_located(written: str, code: str) -> None:
    error = config_error(MINIMAL + f"\n[billing]\nrecovery_threshold = {written}\n")
    assert (error.code, error.path) == (code, "billing.recovery_threshold")


def test_bad_toml_syntax() -> None:
    error = config_error(edited('school_zone = "B"', "school_zone = B"))
    assert error.code == "config.toml_syntax"
    assert "not valid TOML" in error.message
    # A key given twice is a TOML error too (so two régies can never share an id).
    error = config_error(MINIMAL + '\n[regies.enfance]\nname = "Doublon"\n')
    assert error.code == "config.toml_syntax"


def test_an_unreadable_file(tmp_path: Path) -> None:
    missing = tmp_path / "absente.toml"
    with pytest.raises(InvalidConfiguration) as caught:
        load_commune(missing)
    assert caught.value.code == "config.unreadable"
    assert str(missing) in caught.value.message
    assert caught.value.message_fr == f"Impossible de lire le fichier {missing}."
    with pytest.raises(InvalidConfiguration) as caught:
        load_commune(tmp_path)  # a folder, not a file
    assert caught.value.code == "config.unreadable"


def test_a_file_saved_in_latin_1_is_unreadable(tmp_path: Path) -> None:
    # "Saint-Aubin-des-Prés" saved by an old editor in Latin-1: TOML files are UTF-8.
    latin1 = tmp_path / "latin1.toml"
    latin1.write_bytes(MINIMAL.encode("latin-1"))
    with pytest.raises(InvalidConfiguration) as caught:
        load_commune(latin1)
    assert caught.value.code == "config.unreadable"
    assert "UTF-8" in caught.value.message_fr


@pytest.mark.parametrize(
    "version",
    ["schema_version = 2", 'schema_version = "1"', "", "schema_version = 1.0", "schema_version = true"],
)
def test_only_schema_version_1_is_read(version: str) -> None:
    assert SCHEMA_VERSION == 1
    error = config_error(edited("schema_version = 1", version))
    assert (error.code, error.path) == ("config.schema_version", "schema_version")


def test_two_services_cannot_share_a_prestation_id() -> None:
    other = """
[services.alsh]
name = "Centre de loisirs"
kind = "alsh"
regie = "enfance"
opening = { holiday_weekdays = ["monday"] }
prestations.repas = { name = "Repas", kind = "day", payment_mode = "prepaid" }
"""
    error = config_error(MINIMAL + other)
    assert (error.code, error.path) == ("config.duplicate_id", "services.*.prestations")


def test_a_service_invoiced_by_an_unknown_regie() -> None:
    error = config_error(edited('regie = "enfance"', 'regie = "loisirs"'))
    assert (error.code, error.path) == ("config.unknown_reference", "services.cantine.regie")


def test_a_prestation_without_opening() -> None:
    text = edited(
        '[services.cantine.opening]\nschool_weekdays = ["monday", "tuesday", "thursday", "friday"]\n', ""
    )
    error = config_error(text)
    assert (error.code, error.path) == ("config.missing_key", "services.cantine.prestations.repas.opening")
    assert "no opening here nor on its service" in error.message


def test_an_opening_that_never_opens() -> None:
    text = edited(
        'school_weekdays = ["monday", "tuesday", "thursday", "friday"]\n', "open_on_public_holidays = true\n"
    )
    error = config_error(text)
    assert (error.code, error.path) == ("config.never_open", "services.cantine.opening")


def test_a_service_without_prestations() -> None:
    text = edited(
        '[services.cantine.prestations.repas]\nname = "Repas"\nkind = "day"\npayment_mode = "month_end"\n', ""
    )
    error = config_error(text)
    assert (error.code, error.path) == ("config.missing_key", "services.cantine.prestations")


def test_model_errors_are_located_under_their_key() -> None:
    error = config_error(edited('kind = "day"', 'kind = "slot"'))
    assert (error.code, error.path) == ("model.slot_without_hours", "services.cantine.prestations.repas")
    error = config_error(edited('kind = "day"', 'kind = "day"\nstart = 13:30:00\nend = 11:45:00'))
    assert (error.code, error.path) == ("input.end_before_start", "services.cantine.prestations.repas")
    error = config_error(edited('school_zone = "B"', 'school_zone = "B"\ntimezone = "Europe/Saint-Aubin"'))
    assert (error.code, error.path) == ("calendar.unknown_timezone", "collectivite")
    error = config_error(edited('id = "saint-aubin"', 'id = "saint aubin"'))
    assert (error.code, error.path) == ("model.bad_identifier", "collectivite")
    error = config_error(edited('"tuesday"', '"mardy"'))
    assert (error.code, error.path) == (
        "calendar.unknown_weekday",
        "services.cantine.opening.school_weekdays[1]",
    )


def test_a_closure_ending_before_it_starts() -> None:
    text = edited(
        'regie = "enfance"\n',
        'regie = "enfance"\nclosures = [{ start = 2026-12-18, end = 2026-12-17, reason = "strike" }]\n',
    )
    error = config_error(text)
    assert (error.code, error.path) == ("input.end_before_start", "services.cantine.closures[0].end")


def test_blocks_on_a_day_prestation_are_refused() -> None:
    text = edited(
        'payment_mode = "month_end"\n',
        'payment_mode = "month_end"\nblocks = [{ start = 2026-10-19, end = 2026-10-23 }]\n',
    )
    error = config_error(text)
    assert (error.code, error.path) == ("model.blocks", "services.cantine.prestations.repas")


# -- writing back -----------------------------------------------------------------------------


def test_the_example_round_trips_through_toml(commune: Commune) -> None:
    text = dumps_commune(commune)
    assert loads_commune(text) == commune
    assert commune_from_dict(commune_to_dict(commune)) == commune
    # Amounts are written as exact strings, never floats.
    assert 'recovery_threshold = "15.00"' in text


def test_a_minimal_commune_round_trips_and_is_written_idempotently() -> None:
    commune = loads_commune(MINIMAL + OWN_SCHOOL_YEAR)
    text = dumps_commune(commune)
    assert loads_commune(text) == commune
    assert dumps_commune(loads_commune(text)) == text
