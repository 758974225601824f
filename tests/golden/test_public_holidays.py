"""Golden lists of jours fériés, pinned to the real 2026 dates a commune prints on its calendar."""

from __future__ import annotations

import datetime as dt
from collections.abc import MutableMapping
from typing import cast

import pytest

from espacefamille.calendar import (
    CommuneCalendar,
    HolidaySubdivision,
    SchoolZone,
    public_holidays,
    school_calendar,
)
from espacefamille.errors import InvalidInput

D = dt.date

METROPOLE_2026 = {
    D(2026, 1, 1): "Jour de l'an",
    D(2026, 4, 6): "Lundi de Pâques",
    D(2026, 5, 1): "Fête du Travail",
    D(2026, 5, 8): "Fête de la Victoire",
    D(2026, 5, 14): "Ascension",
    D(2026, 5, 25): "Lundi de Pentecôte",
    D(2026, 7, 14): "Fête nationale",
    D(2026, 8, 15): "Assomption",
    D(2026, 11, 1): "Toussaint",
    D(2026, 11, 11): "Armistice",
    D(2026, 12, 25): "Noël",
}


def test_metropole_has_the_eleven_public_holidays_of_2026() -> None:
    assert dict(public_holidays(HolidaySubdivision.METROPOLE, 2026)) == METROPOLE_2026


def test_metropole_2026_holidays_fall_on_the_weekdays_families_know() -> None:
    # Armistice on a Wednesday (no mercredi loisirs), Ascension on a Thursday (the school bridge),
    # Assomption on a Saturday and Toussaint on a Sunday (no day off gained).
    weekdays = {
        name: day.strftime("%A") for day, name in public_holidays(HolidaySubdivision.METROPOLE, 2026).items()
    }
    assert weekdays["Armistice"] == "Wednesday"
    assert weekdays["Ascension"] == "Thursday"
    assert weekdays["Lundi de Pentecôte"] == "Monday"
    assert weekdays["Assomption"] == "Saturday"
    assert weekdays["Toussaint"] == "Sunday"


def test_metropole_moveable_feasts_follow_easter_in_2027() -> None:
    holidays_2027 = public_holidays(HolidaySubdivision.METROPOLE, 2027)
    assert holidays_2027[D(2027, 3, 29)] == "Lundi de Pâques"
    assert holidays_2027[D(2027, 5, 6)] == "Ascension"
    assert holidays_2027[D(2027, 5, 17)] == "Lundi de Pentecôte"
    assert len(holidays_2027) == 11


def test_alsace_moselle_adds_good_friday_and_saint_etienne_to_the_thirteen_of_2026() -> None:
    holidays = dict(public_holidays(HolidaySubdivision.ALSACE_MOSELLE, 2026))
    assert len(holidays) == 13
    assert holidays == {
        **METROPOLE_2026,
        D(2026, 4, 3): "Vendredi saint",
        D(2026, 12, 26): "Saint-Étienne",
    }


def test_reunion_adds_the_abolition_of_slavery_on_20_december_2026() -> None:
    holidays = dict(public_holidays(HolidaySubdivision.REUNION, 2026))
    assert holidays == {**METROPOLE_2026, D(2026, 12, 20): "Abolition de l'esclavage"}


@pytest.mark.parametrize(
    ("subdivision", "abolition_day"),
    [
        (HolidaySubdivision.MAYOTTE, D(2026, 4, 27)),
        (HolidaySubdivision.MARTINIQUE, D(2026, 5, 22)),
        (HolidaySubdivision.GUADELOUPE, D(2026, 5, 27)),
        (HolidaySubdivision.GUYANE, D(2026, 6, 10)),
        (HolidaySubdivision.REUNION, D(2026, 12, 20)),
    ],
)
def test_each_overseas_department_keeps_its_own_abolition_day(
    subdivision: HolidaySubdivision, abolition_day: dt.date
) -> None:
    holidays = public_holidays(subdivision, 2026)
    assert holidays[abolition_day] == "Abolition de l'esclavage"
    assert set(METROPOLE_2026) <= set(holidays)
    assert abolition_day not in public_holidays(HolidaySubdivision.METROPOLE, 2026)


def test_the_holiday_mapping_is_read_only_so_no_caller_can_corrupt_the_shared_table() -> None:
    holidays = public_holidays(HolidaySubdivision.METROPOLE, 2026)
    writable = cast("MutableMapping[dt.date, str]", holidays)
    with pytest.raises(TypeError):
        writable[D(2026, 11, 12)] = "Pont de l'Armistice"
    with pytest.raises(TypeError):
        del writable[D(2026, 11, 11)]
    assert dict(public_holidays(HolidaySubdivision.METROPOLE, 2026)) == METROPOLE_2026


@pytest.mark.parametrize("year", [1989, 2101])
def test_a_year_outside_the_supported_range_is_refused(year: int) -> None:
    with pytest.raises(InvalidInput) as raised:
        public_holidays(HolidaySubdivision.METROPOLE, year)
    assert raised.value.code == "calendar.year_out_of_range"
    assert str(year) in raised.value.message_fr


def test_a_commune_calendar_names_its_own_public_holidays() -> None:
    strasbourg = CommuneCalendar(
        "Europe/Paris", HolidaySubdivision.ALSACE_MOSELLE, school_calendar(SchoolZone.B)
    )
    saint_denis = CommuneCalendar(
        "Indian/Reunion", HolidaySubdivision.REUNION, school_calendar(SchoolZone.REUNION)
    )
    assert strasbourg.public_holiday(D(2026, 12, 26)) == "Saint-Étienne"
    assert strasbourg.is_public_holiday(D(2026, 4, 3))
    assert saint_denis.public_holiday(D(2026, 12, 26)) is None
    assert saint_denis.public_holiday(D(2026, 12, 20)) == "Abolition de l'esclavage"
    assert not saint_denis.is_public_holiday(D(2026, 11, 12))
