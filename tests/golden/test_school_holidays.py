"""Golden school holidays from the shipped ministry data, as a family reads them on the school calendar.

Holidays begin after class on the first listed day and classes resume in the morning of the second:
zone B's Toussaint 2025 is listed "samedi 18 octobre – lundi 3 novembre 2025", so the days off run
from Sunday 19 October to Sunday 2 November.
"""

from __future__ import annotations

import datetime as dt

import pytest

from espacefamille.calendar import SchoolHoliday, SchoolYear, SchoolZone, school_calendar
from espacefamille.calendar.school import SUMMER, parse_school_year
from espacefamille.errors import InvalidConfiguration, MissingData

D = dt.date

ZONE_B_2025_2026 = (
    ("Vacances de la Toussaint", D(2025, 10, 18), D(2025, 11, 3)),
    ("Vacances de Noël", D(2025, 12, 20), D(2026, 1, 5)),
    ("Vacances d'hiver", D(2026, 2, 14), D(2026, 3, 2)),
    ("Vacances de printemps", D(2026, 4, 11), D(2026, 4, 27)),
    ("Pont de l'Ascension", D(2026, 5, 13), D(2026, 5, 18)),
)

ZONE_A_2026_2027 = (
    ("Vacances de la Toussaint", D(2026, 10, 17), D(2026, 11, 2)),
    ("Vacances de Noël", D(2026, 12, 19), D(2027, 1, 4)),
    ("Vacances d'hiver", D(2027, 2, 13), D(2027, 3, 1)),
    ("Vacances de printemps", D(2027, 4, 10), D(2027, 4, 26)),
    ("Pont de l'Ascension", D(2027, 5, 5), D(2027, 5, 10)),
)


def _periods(year: SchoolYear) -> tuple[tuple[str, dt.date | None, dt.date | None], ...]:
    return tuple((h.name, h.start, h.end) for h in year.holidays)


def _name_on(zone: SchoolZone, day: dt.date) -> str | None:
    holiday = school_calendar(zone).holiday_on(day)
    return None if holiday is None else holiday.name


# --- Zone B, 2025-2026 -------------------------------------------------------------------------


def test_zone_b_2025_2026_matches_the_ministry_calendar() -> None:
    year = school_calendar(SchoolZone.B).years["2025-2026"]
    assert year.rentree == D(2025, 9, 1)
    assert year.summer_start == D(2026, 7, 4)
    assert _periods(year) == ZONE_B_2025_2026


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (D(2025, 10, 17), None),  # Friday: class as usual
        (D(2025, 10, 18), None),  # Saturday: holidays begin after class
        (D(2025, 10, 19), "Vacances de la Toussaint"),  # first day off
        (D(2025, 10, 27), "Vacances de la Toussaint"),
        (D(2025, 11, 2), "Vacances de la Toussaint"),  # last day off
        (D(2025, 11, 3), None),  # Monday: classes resume in the morning
    ],
)
def test_zone_b_toussaint_2025_runs_from_sunday_19_october_to_sunday_2_november(
    day: dt.date, expected: str | None
) -> None:
    assert _name_on(SchoolZone.B, day) == expected


def test_zone_b_toussaint_2025_reads_as_on_the_school_calendar() -> None:
    holiday = school_calendar(SchoolZone.B).holiday_on(D(2025, 10, 27))
    assert holiday is not None
    assert holiday.describe() == (
        "Vacances de la Toussaint (du samedi 18 octobre 2025 après la classe au lundi 3 novembre 2025)"
    )


def test_zone_b_winter_2026_differs_from_zone_a() -> None:
    # Wednesday 25 February 2026: zone A is back at school, zone B is on holiday.
    assert _name_on(SchoolZone.A, D(2026, 2, 25)) is None
    assert _name_on(SchoolZone.B, D(2026, 2, 25)) == "Vacances d'hiver"
    assert _name_on(SchoolZone.B, D(2026, 3, 2)) is None


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (D(2026, 5, 13), None),  # Wednesday: the bridge begins after class
        (D(2026, 5, 14), "Pont de l'Ascension"),  # Ascension Thursday
        (D(2026, 5, 15), "Pont de l'Ascension"),  # the Friday off nationally
        (D(2026, 5, 17), "Pont de l'Ascension"),
        (D(2026, 5, 18), None),  # Monday: back to school
    ],
)
def test_zone_b_ascension_bridge_2026_gives_thursday_and_friday_off(
    day: dt.date, expected: str | None
) -> None:
    assert _name_on(SchoolZone.B, day) == expected


def test_the_ascension_bridge_is_the_same_in_every_zone() -> None:
    friday = D(2026, 5, 15)
    assert {_name_on(zone, friday) for zone in (SchoolZone.A, SchoolZone.B, SchoolZone.C)} == {
        "Pont de l'Ascension"
    }


def test_zone_b_summer_2026_runs_from_the_last_class_day_to_the_rentree() -> None:
    calendar = school_calendar(SchoolZone.B)
    summer = SchoolHoliday(SUMMER, D(2026, 7, 4), D(2026, 9, 1))
    assert calendar.holiday_on(D(2026, 7, 4)) is None  # Saturday 4 July: last class day
    assert calendar.holiday_on(D(2026, 7, 6)) == summer
    # The summer days before the rentrée belong to the school year that starts with it.
    assert calendar.holiday_on(D(2026, 8, 20)) == summer
    assert calendar.holiday_on(D(2026, 8, 31)) == summer
    assert calendar.holiday_on(D(2026, 9, 1)) is None  # rentrée, Tuesday 1 September 2026
    assert summer.describe() == (
        "Vacances d'été (du samedi 4 juillet 2026 après la classe au mardi 1er septembre 2026)"
    )


# --- Zone A, 2026-2027 -------------------------------------------------------------------------


def test_zone_a_2026_2027_matches_the_ministry_calendar() -> None:
    year = school_calendar(SchoolZone.A).years["2026-2027"]
    assert year.rentree == D(2026, 9, 1)
    assert year.summer_start == D(2027, 7, 3)
    assert _periods(year) == ZONE_A_2026_2027


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (D(2026, 8, 20), SUMMER),
        (D(2026, 9, 1), None),  # rentrée
        (D(2026, 10, 17), None),  # Saturday: holidays begin after class
        (D(2026, 10, 19), "Vacances de la Toussaint"),
        (D(2026, 11, 2), None),
        (D(2026, 12, 19), None),
        (D(2026, 12, 21), "Vacances de Noël"),
        (D(2027, 1, 3), "Vacances de Noël"),
        (D(2027, 1, 4), None),  # Monday 4 January 2027: classes resume
        (D(2027, 2, 15), "Vacances d'hiver"),
        (D(2027, 3, 1), None),
        (D(2027, 4, 12), "Vacances de printemps"),
        (D(2027, 4, 26), None),
        (D(2027, 5, 5), None),  # Wednesday before Ascension
        (D(2027, 5, 7), "Pont de l'Ascension"),  # Friday after Ascension (Thursday 6 May 2027)
        (D(2027, 5, 10), None),
        (D(2027, 7, 3), None),  # Saturday 3 July 2027: last class day
        (D(2027, 7, 5), SUMMER),
    ],
)
def test_zone_a_2026_2027_days_off_and_school_days(day: dt.date, expected: str | None) -> None:
    assert _name_on(SchoolZone.A, day) == expected


def test_zone_a_winter_2027_begins_a_week_before_zone_b() -> None:
    assert _name_on(SchoolZone.A, D(2027, 2, 15)) == "Vacances d'hiver"
    assert _name_on(SchoolZone.B, D(2027, 2, 15)) is None


def test_zone_a_summer_2027_ends_at_the_shipped_2027_rentree() -> None:
    summer = school_calendar(SchoolZone.A).holiday_on(D(2027, 7, 14))
    assert summer == SchoolHoliday(SUMMER, D(2027, 7, 3), D(2027, 9, 1))


# --- Years and zones that are not shipped -------------------------------------------------------


def test_a_date_in_2028_2029_is_refused_rather_than_guessed() -> None:
    with pytest.raises(MissingData) as raised:
        school_calendar(SchoolZone.B).holiday_on(D(2028, 9, 4))
    error = raised.value
    assert error.code == "calendar.school_year_missing"
    assert error.details == {"zone": "B", "school_year": "2028-2029"}
    assert error.message_fr == (
        "Le calendrier scolaire 2028-2029 de la zone B n'est pas connu : "
        "impossible de savoir si le lundi 4 septembre 2028 est un jour de classe."
    )


def test_summer_2028_after_the_last_shipped_year_has_an_unknown_end() -> None:
    calendar = school_calendar(SchoolZone.B)
    summer = calendar.holiday_on(D(2028, 7, 20))
    assert summer == SchoolHoliday(SUMMER, D(2028, 7, 4), None)
    assert summer.describe() == SUMMER
    # In August the day belongs to 2028-2029, which is not known.
    with pytest.raises(MissingData):
        calendar.holiday_on(D(2028, 8, 20))


def test_corsica_is_not_shipped_and_needs_the_communes_own_table() -> None:
    with pytest.raises(MissingData) as raised:
        school_calendar(SchoolZone.CORSE).holiday_on(D(2026, 11, 16))
    assert raised.value.code == "calendar.school_year_missing"
    assert raised.value.details == {"zone": "corse", "school_year": "2026-2027"}


# --- A commune's own table ---------------------------------------------------------------------


def _zone_b_2026_2027_with_rentree_on_thursday_3_september() -> SchoolYear:
    shipped = school_calendar(SchoolZone.B).years["2026-2027"]
    return SchoolYear("2026-2027", D(2026, 9, 3), shipped.summer_start, shipped.holidays)


def test_a_communes_own_year_overrides_the_shipped_one() -> None:
    calendar = school_calendar(SchoolZone.B, [_zone_b_2026_2027_with_rentree_on_thursday_3_september()])
    assert calendar.years["2026-2027"].rentree == D(2026, 9, 3)
    assert calendar.holiday_on(D(2026, 9, 1)) == SchoolHoliday(SUMMER, D(2026, 7, 4), D(2026, 9, 3))
    assert calendar.holiday_on(D(2026, 9, 3)) is None
    # The years the commune did not supply still come from the shipped data.
    assert calendar.holiday_on(D(2025, 10, 27)) is not None
    assert calendar.years["2025-2026"] == school_calendar(SchoolZone.B).years["2025-2026"]
    # ...and the shipped calendar itself is untouched.
    assert school_calendar(SchoolZone.B).holiday_on(D(2026, 9, 1)) is None


def test_a_corsican_commune_brings_its_own_year() -> None:
    own = SchoolYear(
        "2026-2027",
        D(2026, 9, 1),
        D(2027, 7, 3),
        (
            SchoolHoliday("Vacances de la Toussaint", D(2026, 10, 17), D(2026, 11, 2)),
            SchoolHoliday("Vacances de Noël", D(2026, 12, 19), D(2027, 1, 4)),
        ),
    )
    calendar = school_calendar(SchoolZone.CORSE, [own])
    assert calendar.holiday_on(D(2026, 11, 16)) is None
    holiday = calendar.holiday_on(D(2026, 12, 24))
    assert holiday is not None
    assert holiday.name == "Vacances de Noël"
    # The summer before its first known rentrée starts on an unknown day.
    assert calendar.holiday_on(D(2026, 8, 20)) == SchoolHoliday(SUMMER, None, D(2026, 9, 1))
    with pytest.raises(MissingData):
        calendar.holiday_on(D(2027, 11, 15))


# --- Validation of a school year ---------------------------------------------------------------


def test_a_rentree_in_spring_is_refused() -> None:
    with pytest.raises(InvalidConfiguration) as raised:
        SchoolYear("2026-2027", D(2027, 3, 1), D(2027, 7, 3), ())
    assert raised.value.code == "calendar.school_year_dates"
    assert raised.value.path == "rentree"


def test_a_rentree_before_august_is_refused() -> None:
    with pytest.raises(InvalidConfiguration) as raised:
        SchoolYear("2026-2027", D(2026, 7, 31), D(2027, 7, 3), ())
    assert raised.value.path == "rentree"


def test_summer_before_the_rentree_is_refused() -> None:
    with pytest.raises(InvalidConfiguration) as raised:
        SchoolYear("2026-2027", D(2026, 9, 1), D(2026, 8, 31), ())
    assert raised.value.code == "calendar.school_year_dates"
    assert raised.value.path == "summer_start"


def test_overlapping_holidays_are_refused() -> None:
    with pytest.raises(InvalidConfiguration) as raised:
        SchoolYear(
            "2026-2027",
            D(2026, 9, 1),
            D(2027, 7, 3),
            (
                SchoolHoliday("Vacances de la Toussaint", D(2026, 10, 17), D(2026, 11, 2)),
                SchoolHoliday("Pont de la Toussaint", D(2026, 10, 30), D(2026, 11, 4)),
            ),
        )
    assert raised.value.code == "calendar.school_year_dates"
    assert raised.value.path == "holidays[1]"


def test_a_holiday_running_into_the_summer_is_refused() -> None:
    with pytest.raises(InvalidConfiguration) as raised:
        SchoolYear(
            "2026-2027",
            D(2026, 9, 1),
            D(2027, 7, 3),
            (SchoolHoliday("Pont", D(2027, 7, 1), D(2027, 7, 5)),),
        )
    assert raised.value.path == "holidays[0]"


def test_holidays_resuming_on_the_day_the_next_ones_begin_are_accepted() -> None:
    year = SchoolYear(
        "2026-2027",
        D(2026, 9, 1),
        D(2027, 7, 3),
        (
            SchoolHoliday("Vacances de la Toussaint", D(2026, 10, 17), D(2026, 11, 2)),
            SchoolHoliday("Pont", D(2026, 11, 2), D(2026, 11, 4)),
        ),
    )
    assert len(year.holidays) == 2


@pytest.mark.parametrize("label", ["2026/2027", "2026-2028", "rentrée 2026"])
def test_a_school_year_label_must_name_two_consecutive_years(label: str) -> None:
    with pytest.raises(InvalidConfiguration) as raised:
        SchoolYear(label, D(2026, 9, 1), D(2027, 7, 3), ())
    assert raised.value.code == "calendar.school_year_label"


def test_a_holiday_resuming_before_it_starts_is_refused() -> None:
    with pytest.raises(InvalidConfiguration) as raised:
        SchoolHoliday("Vacances de Noël", D(2027, 1, 4), D(2026, 12, 19))
    assert raised.value.code == "calendar.holiday_order"


def test_a_communes_table_error_names_the_key_to_fix() -> None:
    table: dict[str, object] = {
        "label": "2026-2027",
        "rentree": D(2027, 3, 1),
        "summer_start": D(2027, 7, 3),
        "holidays": [],
    }
    with pytest.raises(InvalidConfiguration) as raised:
        parse_school_year(table, "calendar.school_years[0]")
    assert raised.value.path == "calendar.school_years[0].rentree"
    assert raised.value.code == "calendar.school_year_dates"


def test_a_communes_table_with_a_holiday_missing_its_end_names_the_key() -> None:
    table: dict[str, object] = {
        "label": "2026-2027",
        "rentree": D(2026, 9, 1),
        "summer_start": D(2027, 7, 3),
        "holidays": [{"name": "Vacances de Noël", "start": D(2026, 12, 19)}],
    }
    with pytest.raises(InvalidConfiguration) as raised:
        parse_school_year(table, "calendar.school_years[0]")
    assert raised.value.path == "calendar.school_years[0].holidays[0].end"
    assert raised.value.code == "config.type"


def test_a_communes_table_sorts_its_holidays() -> None:
    table: dict[str, object] = {
        "label": "2026-2027",
        "rentree": D(2026, 9, 1),
        "summer_start": D(2027, 7, 3),
        "holidays": [
            {"name": "Vacances de Noël", "start": D(2026, 12, 19), "end": D(2027, 1, 4)},
            {"name": "Vacances de la Toussaint", "start": D(2026, 10, 17), "end": D(2026, 11, 2)},
        ],
    }
    year = parse_school_year(table, "calendar.school_years[0]")
    assert [h.name for h in year.holidays] == ["Vacances de la Toussaint", "Vacances de Noël"]


def test_a_listed_holiday_needs_both_its_days() -> None:
    with pytest.raises(InvalidConfiguration) as raised:
        SchoolYear(
            "2026-2027",
            D(2026, 9, 1),
            D(2027, 7, 3),
            [SchoolHoliday("Vacances de Noël", None, D(2027, 1, 4))],
        )
    assert raised.value.code == "calendar.school_year_dates"
    assert raised.value.path == "holidays[0]"


def test_a_school_year_given_a_list_keeps_its_holidays_frozen() -> None:
    noel = SchoolHoliday("Vacances de Noël", D(2026, 12, 19), D(2027, 1, 4))
    year = SchoolYear("2026-2027", D(2026, 9, 1), D(2027, 7, 3), [noel])
    assert year.holidays == (noel,)
    assert hash(year) == hash(SchoolYear("2026-2027", D(2026, 9, 1), D(2027, 7, 3), (noel,)))


def test_a_school_year_runs_from_1_august_to_31_july() -> None:
    year = school_calendar(SchoolZone.B).years["2026-2027"]
    assert (year.first_day, year.last_day) == (D(2026, 8, 1), D(2027, 7, 31))


def test_only_dates_can_fall_in_a_holiday() -> None:
    noel = SchoolHoliday("Vacances de Noël", D(2026, 12, 19), D(2027, 1, 4))
    assert D(2026, 12, 24) in noel
    assert "2026-12-24" not in noel


@pytest.mark.parametrize(
    ("table", "path", "code"),
    [
        (
            {"label": 2026, "rentree": D(2026, 9, 1), "summer_start": D(2027, 7, 3)},
            "calendar.school_years[0].label",
            "config.type",
        ),
        (
            {"label": "2026-2027", "rentree": "2026-09-01", "summer_start": D(2027, 7, 3)},
            "calendar.school_years[0].rentree",
            "config.type",
        ),
        (
            {
                "label": "2026-2027",
                "rentree": D(2026, 9, 1),
                "summer_start": D(2027, 7, 3),
                "holidays": [{"name": "Noël", "start": D(2027, 1, 4), "end": D(2026, 12, 19)}],
            },
            "calendar.school_years[0].holidays[0]",
            "calendar.holiday_order",
        ),
        (
            {"label": "2026-2027", "rentree": D(2026, 9, 1), "summer_start": D(2027, 7, 3), "zone_b": True},
            "calendar.school_years[0]",
            "config.unknown_key",
        ),
        (
            {
                "label": "2026-2027",
                "rentree": D(2026, 9, 1),
                "summer_start": D(2027, 7, 3),
                "holidays": "Noël",
            },
            "calendar.school_years[0].holidays",
            "config.type",
        ),
        (
            {
                "label": "2026-2027",
                "rentree": D(2026, 9, 1),
                "summer_start": D(2027, 7, 3),
                "holidays": ["Noël"],
            },
            "calendar.school_years[0].holidays[0]",
            "config.type",
        ),
        (
            {
                "label": "2026-2027",
                "rentree": D(2026, 9, 1),
                "summer_start": D(2027, 7, 3),
                "holidays": [{"name": "Noël", "debut": D(2026, 12, 19), "end": D(2027, 1, 4)}],
            },
            "calendar.school_years[0].holidays[0]",
            "config.unknown_key",
        ),
    ],
)
def test_a_mistake_in_a_communes_table_names_the_key_to_fix(
    table: dict[str, object], path: str, code: str
) -> None:
    with pytest.raises(InvalidConfiguration) as raised:
        parse_school_year(table, "calendar.school_years[0]")
    assert (raised.value.path, raised.value.code) == (path, code)
