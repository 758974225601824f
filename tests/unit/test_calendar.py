"""Calendar building blocks as a commune uses them: weeks and months, time zones, "J-3 ouvrés",
opening calendars that say why a day is closed, and period booking recurrence."""

from __future__ import annotations

import datetime as dt

import pytest

from espacefamille.calendar import (
    ClosedBecause,
    Closure,
    ClosureReason,
    CommuneCalendar,
    DateRange,
    DayCounting,
    HolidaySubdivision,
    Opening,
    OpeningCalendar,
    OpeningDay,
    SchoolZone,
    Weekday,
    counts,
    iso_week_label,
    iter_days,
    local_instant,
    require_aware,
    school_calendar,
    shift,
    time_zone,
    weekly_dates,
)
from espacefamille.commune import Commune
from espacefamille.errors import InvalidConfiguration, InvalidInput

D = dt.date
PARIS = time_zone("Europe/Paris")
REUNION = time_zone("Indian/Reunion")
HOUR = dt.timedelta(hours=1)

MON, TUE, WED, THU, FRI, SAT, SUN = (
    Weekday.MONDAY,
    Weekday.TUESDAY,
    Weekday.WEDNESDAY,
    Weekday.THURSDAY,
    Weekday.FRIDAY,
    Weekday.SATURDAY,
    Weekday.SUNDAY,
)


@pytest.fixture
def zone_b() -> CommuneCalendar:
    """A metropolitan commune of zone B, built directly."""
    return CommuneCalendar("Europe/Paris", HolidaySubdivision.METROPOLE, school_calendar(SchoolZone.B))


def _canteen(calendar: CommuneCalendar, *closures: Closure) -> OpeningCalendar:
    """A canteen open Monday, Tuesday, Thursday and Friday in school periods."""
    return OpeningCalendar(Opening(school_weekdays={MON, TUE, THU, FRI}), calendar, closures)


# --- DateRange ---------------------------------------------------------------------------------


def test_a_range_includes_both_its_days() -> None:
    toussaint_week = DateRange(D(2026, 10, 19), D(2026, 10, 23))
    assert len(toussaint_week) == 5
    assert D(2026, 10, 19) in toussaint_week
    assert D(2026, 10, 23) in toussaint_week
    assert D(2026, 10, 24) not in toussaint_week
    assert "2026-10-20" not in toussaint_week


def test_a_single_day_range_is_allowed() -> None:
    armistice = DateRange(D(2026, 11, 11), D(2026, 11, 11))
    assert list(armistice) == [D(2026, 11, 11)]


def test_a_range_ending_before_it_starts_is_refused_in_french_too() -> None:
    with pytest.raises(InvalidInput) as raised:
        DateRange(D(2026, 11, 2), D(2026, 11, 1))
    assert raised.value.code == "input.end_before_start"
    assert raised.value.message_fr == (
        "La date de fin (dimanche 1er novembre 2026) précède la date de début (lundi 2 novembre 2026)."
    )


def test_a_range_of_datetimes_is_refused() -> None:
    with pytest.raises(InvalidInput) as raised:
        DateRange(dt.datetime(2026, 11, 2, 8, 30), D(2026, 11, 6))
    assert raised.value.code == "input.not_a_date"


def test_iterating_a_range_crosses_month_ends() -> None:
    assert list(DateRange(D(2026, 10, 30), D(2026, 11, 2))) == [
        D(2026, 10, 30),
        D(2026, 10, 31),
        D(2026, 11, 1),
        D(2026, 11, 2),
    ]
    assert list(iter_days(D(2026, 11, 2), D(2026, 11, 1))) == []


@pytest.mark.parametrize(
    ("year", "month", "first", "last"),
    [
        (2026, 11, D(2026, 11, 1), D(2026, 11, 30)),
        (2026, 12, D(2026, 12, 1), D(2026, 12, 31)),
        (2027, 2, D(2027, 2, 1), D(2027, 2, 28)),
        (2028, 2, D(2028, 2, 1), D(2028, 2, 29)),
    ],
)
def test_a_month_runs_from_its_first_to_its_last_day(
    year: int, month: int, first: dt.date, last: dt.date
) -> None:
    assert DateRange.month(year, month) == DateRange(first, last)


def test_iso_week_47_of_2026_is_monday_16_to_sunday_22_november() -> None:
    assert DateRange.iso_week(2026, 47) == DateRange(D(2026, 11, 16), D(2026, 11, 22))


def test_iso_week_53_of_2026_runs_into_january_2027() -> None:
    assert DateRange.iso_week(2026, 53) == DateRange(D(2026, 12, 28), D(2027, 1, 3))


def test_ranges_sharing_a_day_overlap_and_consecutive_ranges_do_not() -> None:
    november = DateRange.month(2026, 11)
    december = DateRange.month(2026, 12)
    week_48 = DateRange.iso_week(2026, 48)  # Monday 23 to Sunday 29 November
    week_49 = DateRange.iso_week(2026, 49)  # Monday 30 November to Sunday 6 December
    assert not november.overlaps(december)
    assert november.overlaps(week_48)
    assert week_49.overlaps(november)
    assert week_49.overlaps(december)
    assert not week_48.overlaps(december)
    assert november.overlaps(november)


# --- Weekday -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("monday", MON),
        ("Wednesday", WED),
        (" SUNDAY ", SUN),
        ("lundi", MON),
        ("Mercredi", WED),
        ("samedi", SAT),
        ("dimanche ", SUN),
    ],
)
def test_weekdays_parse_from_english_and_french_names(text: str, expected: Weekday) -> None:
    assert Weekday.parse(text) is expected


@pytest.mark.parametrize("text", ["", "mon", "lun.", "funday", "jeudi soir"])
def test_an_unknown_weekday_is_refused(text: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        Weekday.parse(text)
    assert raised.value.code == "calendar.unknown_weekday"
    assert "Jour de la semaine inconnu" in raised.value.message_fr


def test_weekdays_have_a_configuration_key_and_labels() -> None:
    assert Weekday.of(D(2026, 11, 11)) is WED
    assert WED.key == "wednesday"
    assert WED.label() == "mercredi"
    assert WED.label("en") == "Wednesday"


# --- Week labels -------------------------------------------------------------------------------


def test_the_week_label_reads_like_the_portal_calendar() -> None:
    assert (
        iso_week_label(D(2026, 11, 18)) == "Semaine 47 du lundi 16 novembre 2026 au dimanche 22 novembre 2026"
    )
    assert iso_week_label(D(2026, 11, 18), "en") == (
        "Week 47 from Monday 16 November 2026 to Sunday 22 November 2026"
    )


def test_new_years_day_2027_is_in_week_53_of_2026() -> None:
    assert iso_week_label(D(2027, 1, 1)) == (
        "Semaine 53 du lundi 28 décembre 2026 au dimanche 3 janvier 2027"
    )


def test_the_week_label_writes_the_first_of_the_month_as_an_ordinal() -> None:
    assert iso_week_label(D(2027, 3, 3)) == "Semaine 9 du lundi 1er mars 2027 au dimanche 7 mars 2027"


# --- Time zones ---------------------------------------------------------------------------------


def test_a_wall_time_skipped_by_the_spring_change_moves_forward_by_the_gap() -> None:
    # Sunday 29 March 2026: clocks go from 02:00 to 03:00 in Paris; 02:30 does not exist.
    moment = local_instant(D(2026, 3, 29), dt.time(2, 30), PARIS)
    assert moment.replace(tzinfo=None) == dt.datetime(2026, 3, 29, 3, 30)
    assert moment.utcoffset() == 2 * HOUR
    assert moment == dt.datetime(2026, 3, 29, 1, 30, tzinfo=dt.UTC)


def test_a_wall_time_repeated_in_autumn_is_its_first_occurrence() -> None:
    # Sunday 25 October 2026: 02:30 happens twice in Paris, first in summer time (+02:00).
    moment = local_instant(D(2026, 10, 25), dt.time(2, 30), PARIS)
    assert moment.replace(tzinfo=None) == dt.datetime(2026, 10, 25, 2, 30)
    assert moment.utcoffset() == 2 * HOUR
    # Compared through UTC: Python never finds an ambiguous wall time equal to an instant of another zone.
    assert moment.astimezone(dt.UTC) == dt.datetime(2026, 10, 25, 0, 30, tzinfo=dt.UTC)
    assert moment.fold == 0


def test_the_repeated_hour_is_first_even_when_the_caller_asks_for_the_second() -> None:
    moment = local_instant(D(2026, 10, 25), dt.time(2, 30, fold=1), PARIS)
    assert moment.utcoffset() == 2 * HOUR


def test_times_either_side_of_the_changes_keep_their_offsets() -> None:
    assert local_instant(D(2026, 3, 28), dt.time(10, 0), PARIS).utcoffset() == HOUR
    assert local_instant(D(2026, 3, 29), dt.time(3, 0), PARIS).utcoffset() == 2 * HOUR
    assert local_instant(D(2026, 10, 25), dt.time(3, 0), PARIS).utcoffset() == HOUR
    assert local_instant(D(2026, 11, 12), dt.time(11, 0), PARIS).utcoffset() == HOUR


@pytest.mark.parametrize("day", [D(2026, 3, 29), D(2026, 7, 14), D(2026, 10, 25), D(2026, 12, 20)])
def test_reunion_has_no_daylight_saving_time(day: dt.date) -> None:
    moment = local_instant(day, dt.time(2, 30), REUNION)
    assert moment.utcoffset() == 4 * HOUR
    assert moment.replace(tzinfo=None) == dt.datetime.combine(day, dt.time(2, 30))


def test_a_time_given_with_its_own_zone_is_read_as_the_communes_wall_time() -> None:
    moment = local_instant(D(2026, 11, 12), dt.time(11, 0, tzinfo=dt.UTC), PARIS)
    assert moment == dt.datetime(2026, 11, 12, 11, 0, tzinfo=PARIS)


@pytest.mark.parametrize("name", ["Europe/Nowhere", "Paris", "europe/paris", ""])
def test_an_unknown_time_zone_is_refused(name: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        time_zone(name)
    assert raised.value.code == "calendar.unknown_timezone"


def test_a_commune_calendar_refuses_an_unknown_time_zone() -> None:
    with pytest.raises(InvalidInput) as raised:
        CommuneCalendar("Europe/Saint-Aubin", HolidaySubdivision.METROPOLE, school_calendar(SchoolZone.B))
    assert raised.value.message_fr == "Fuseau horaire inconnu : « Europe/Saint-Aubin »."


def test_require_aware_accepts_an_aware_datetime_as_it_is() -> None:
    now = dt.datetime(2026, 11, 12, 10, 0, tzinfo=PARIS)
    assert require_aware(now) is now


def test_require_aware_rejects_a_naive_datetime() -> None:
    with pytest.raises(InvalidInput) as raised:
        require_aware(dt.datetime(2026, 11, 12, 10, 0))
    assert raised.value.code == "input.naive_datetime"
    assert raised.value.message_fr == "Date et heure sans fuseau horaire."


def test_require_aware_rejects_a_date() -> None:
    with pytest.raises(InvalidInput) as raised:
        require_aware(D(2026, 11, 12), "now")  # type: ignore[arg-type]
    assert raised.value.code == "input.not_a_datetime"


def test_the_commune_calendar_places_instants_on_its_own_clocks(zone_b: CommuneCalendar) -> None:
    deadline = zone_b.instant(D(2026, 11, 12), dt.time(11, 0))
    assert deadline == dt.datetime(2026, 11, 12, 10, 0, tzinfo=dt.UTC)
    # 23:30 UTC on Monday 16 November is already Tuesday 17 November in Paris.
    late = dt.datetime(2026, 11, 16, 23, 30, tzinfo=dt.UTC)
    assert zone_b.local(late).replace(tzinfo=None) == dt.datetime(2026, 11, 17, 0, 30)
    assert zone_b.today(late) == D(2026, 11, 17)
    with pytest.raises(InvalidInput):
        zone_b.today(dt.datetime(2026, 11, 16, 23, 30))


def test_a_reunion_commune_sees_the_same_instant_four_hours_ahead() -> None:
    saint_denis = CommuneCalendar(
        "Indian/Reunion", HolidaySubdivision.REUNION, school_calendar(SchoolZone.REUNION)
    )
    evening = dt.datetime(2026, 11, 16, 21, 0, tzinfo=dt.UTC)
    assert saint_denis.today(evening) == D(2026, 11, 17)
    assert saint_denis.zone.key == "Indian/Reunion"


# --- Counting days -----------------------------------------------------------------------------


def test_j_minus_3_jours_ouvres_before_a_tuesday_is_the_previous_thursday(zone_b: CommuneCalendar) -> None:
    assert shift(D(2026, 11, 17), -3, DayCounting.JOURS_OUVRES, zone_b) == D(2026, 11, 12)


def test_armistice_is_skipped_when_counting_jours_ouvres(zone_b: CommuneCalendar) -> None:
    # Friday 13 November 2026, J-3 ouvrés: Thursday 12, (Wednesday 11 is Armistice), Tuesday 10, Monday 9.
    assert shift(D(2026, 11, 13), -3, DayCounting.JOURS_OUVRES, zone_b) == D(2026, 11, 9)
    # J+1 ouvré after Tuesday 10 November is Thursday 12.
    assert shift(D(2026, 11, 10), 1, DayCounting.JOURS_OUVRES, zone_b) == D(2026, 11, 12)


def test_a_reglement_may_count_public_holidays_as_jours_ouvres(zone_b: CommuneCalendar) -> None:
    assert shift(D(2026, 11, 12), -1, DayCounting.JOURS_OUVRES, zone_b, skip_public_holidays=False) == D(
        2026, 11, 11
    )


def test_jours_ouvrables_count_saturdays(zone_b: CommuneCalendar) -> None:
    # Tuesday 17 November 2026, J-3 ouvrables: Monday 16, Saturday 14, Friday 13.
    assert shift(D(2026, 11, 17), -3, DayCounting.JOURS_OUVRABLES, zone_b) == D(2026, 11, 13)
    # Friday 13, J-3 ouvrables: Thursday 12, Tuesday 10, Monday 9 (Armistice skipped).
    assert shift(D(2026, 11, 13), -3, DayCounting.JOURS_OUVRABLES, zone_b) == D(2026, 11, 9)


def test_calendar_days_count_every_day_unless_told_to_skip_public_holidays(zone_b: CommuneCalendar) -> None:
    assert shift(D(2026, 11, 12), -3, DayCounting.CALENDAR_DAYS, zone_b) == D(2026, 11, 9)
    assert shift(D(2026, 11, 12), -3, DayCounting.CALENDAR_DAYS, zone_b, skip_public_holidays=True) == D(
        2026, 11, 8
    )
    assert shift(D(2026, 12, 31), 2, DayCounting.CALENDAR_DAYS, zone_b) == D(2027, 1, 2)


def test_shifting_by_zero_days_stays_on_the_day(zone_b: CommuneCalendar) -> None:
    assert shift(D(2026, 11, 11), 0, DayCounting.JOURS_OUVRES, zone_b) == D(2026, 11, 11)


def test_opening_days_follow_the_canteen(zone_b: CommuneCalendar) -> None:
    outing = Closure(DateRange(D(2026, 12, 18), D(2026, 12, 18)), ClosureReason.OUTING)
    canteen = _canteen(zone_b, outing)
    # The canteen does not open on Wednesdays: J-2 before Thursday 12 November is Monday 9.
    assert shift(D(2026, 11, 12), -2, DayCounting.OPENING_DAYS, zone_b, opening=canteen) == D(2026, 11, 9)
    # After Thursday 17 December: Friday 18 is the outing, then the Christmas holidays.
    assert shift(D(2026, 12, 17), 1, DayCounting.OPENING_DAYS, zone_b, opening=canteen) == D(2027, 1, 4)


def test_counting_opening_days_needs_an_opening_calendar(zone_b: CommuneCalendar) -> None:
    with pytest.raises(InvalidInput) as raised:
        shift(D(2026, 11, 17), -3, DayCounting.OPENING_DAYS, zone_b)
    assert raised.value.code == "calendar.opening_required"


def test_a_prestation_that_never_opens_has_no_counted_day(zone_b: CommuneCalendar) -> None:
    never = OpeningCalendar(Opening(season=DateRange(D(2026, 9, 1), D(2026, 9, 30))), zone_b)
    with pytest.raises(InvalidInput) as raised:
        shift(D(2026, 11, 17), -1, DayCounting.OPENING_DAYS, zone_b, opening=never)
    assert raised.value.code == "calendar.no_counted_day"


@pytest.mark.parametrize("n", [1.0, True, "3"])
def test_a_number_of_days_must_be_an_int(zone_b: CommuneCalendar, n: object) -> None:
    with pytest.raises(InvalidInput) as raised:
        shift(D(2026, 11, 17), n, DayCounting.JOURS_OUVRES, zone_b)  # type: ignore[arg-type]
    assert raised.value.code == "input.not_an_int"


@pytest.mark.parametrize(
    ("day", "counting", "expected"),
    [
        (D(2026, 11, 11), DayCounting.JOURS_OUVRES, False),  # Armistice
        (D(2026, 11, 11), DayCounting.CALENDAR_DAYS, True),
        (D(2026, 11, 14), DayCounting.JOURS_OUVRES, False),  # Saturday
        (D(2026, 11, 14), DayCounting.JOURS_OUVRABLES, True),
        (D(2026, 11, 15), DayCounting.JOURS_OUVRABLES, False),  # Sunday
        (D(2026, 11, 15), DayCounting.CALENDAR_DAYS, True),
    ],
)
def test_which_days_count(
    zone_b: CommuneCalendar, day: dt.date, counting: DayCounting, expected: bool
) -> None:
    assert counts(day, counting, zone_b) is expected


def test_only_ouvres_and_ouvrables_skip_public_holidays_by_default() -> None:
    assert DayCounting.JOURS_OUVRES.skips_public_holidays_by_default
    assert DayCounting.JOURS_OUVRABLES.skips_public_holidays_by_default
    assert not DayCounting.CALENDAR_DAYS.skips_public_holidays_by_default
    assert not DayCounting.OPENING_DAYS.skips_public_holidays_by_default


# --- Opening calendars -------------------------------------------------------------------------


def test_the_canteen_is_open_on_a_school_tuesday(commune: Commune) -> None:
    answer = commune.opening_calendar("repas").day(D(2026, 11, 17))
    assert answer == OpeningDay(D(2026, 11, 17), True)
    assert answer.code == "calendar.open"
    assert answer.explain() == "Ouvert."
    assert answer.explain("en") == "Open."


def test_the_canteen_opens_four_days_in_week_47(commune: Commune) -> None:
    canteen = commune.opening_calendar("repas")
    assert canteen.open_days(DateRange.iso_week(2026, 47)) == [
        D(2026, 11, 16),
        D(2026, 11, 17),
        D(2026, 11, 19),
        D(2026, 11, 20),
    ]
    assert canteen.is_open(D(2026, 11, 19))
    assert not canteen.is_open(D(2026, 11, 18))


def test_a_public_holiday_is_closed_with_its_name(commune: Commune) -> None:
    # Monday 29 March 2027 is Easter Monday, in zone B school time.
    answer = commune.opening_calendar("repas").day(D(2027, 3, 29))
    assert not answer.is_open
    assert answer.reason is ClosedBecause.PUBLIC_HOLIDAY
    assert answer.code == "calendar.closed.public_holiday"
    assert answer.explain() == "Fermé : jour férié (Lundi de Pâques)."
    assert answer.explain("en") == "Closed: public holiday (Lundi de Pâques)."


def test_wednesday_armistice_closes_the_mercredi_loisirs(commune: Commune) -> None:
    answer = commune.opening_calendar("mercredi_journee").day(D(2026, 11, 11))
    assert answer.code == "calendar.closed.public_holiday"
    assert answer.explain() == "Fermé : jour férié (Armistice)."


def test_the_communes_outing_closes_the_canteen(commune: Commune) -> None:
    answer = commune.opening_calendar("repas").day(D(2026, 12, 18))
    assert answer.code == "calendar.closed.closure"
    assert answer.explain() == "Fermé : sortie de fin de trimestre (pique-nique fourni par l'école)."


def test_a_strike_declared_after_configuration_closes_the_canteen(commune: Commune) -> None:
    strike = Closure(DateRange(D(2026, 11, 26), D(2026, 11, 26)), ClosureReason.STRIKE)
    canteen = commune.opening_calendar("repas", [strike])
    answer = canteen.day(D(2026, 11, 26))
    assert answer.reason is ClosedBecause.CLOSURE
    assert answer.detail == "grève"
    assert answer.explain() == "Fermé : grève."
    assert canteen.is_open(D(2026, 11, 27))


def test_closure_labels_in_french_and_english() -> None:
    training = Closure(DateRange(D(2026, 11, 27), D(2026, 11, 27)), ClosureReason.TRAINING)
    assert training.describe() == "journée de formation"
    assert training.describe("en") == "training day"
    assert ClosureReason.WEATHER.label() == "intempéries"
    labelled = Closure(training.period, ClosureReason.TRAINING, "journée de formation des animateurs")
    assert labelled.describe() == "journée de formation des animateurs"


def test_school_holidays_close_the_canteen_with_their_name(commune: Commune) -> None:
    answer = commune.opening_calendar("repas").day(D(2026, 10, 19))
    assert answer.code == "calendar.closed.school_holidays"
    assert answer.explain() == "Fermé pendant les vacances scolaires (Vacances de la Toussaint)."


def test_the_friday_of_the_ascension_bridge_closes_the_canteen(commune: Commune) -> None:
    answer = commune.opening_calendar("repas").day(D(2027, 5, 7))
    assert answer.code == "calendar.closed.school_holidays"
    assert answer.detail == "Pont de l'Ascension"


def test_a_weekday_without_service_says_so(commune: Commune) -> None:
    answer = commune.opening_calendar("repas").day(D(2026, 11, 18))
    assert answer.code == "calendar.closed.weekday"
    assert answer.explain() == "Pas de service le mercredi."
    assert answer.explain("en") == "No service on Wednesdays."


def test_the_holiday_centre_is_closed_in_school_periods(commune: Commune) -> None:
    answer = commune.opening_calendar("journee").day(D(2026, 11, 16))
    assert answer.code == "calendar.closed.school_period"
    assert answer.explain() == "Ouvert seulement pendant les vacances scolaires."


def test_the_holiday_centre_opens_on_weekdays_of_the_holidays(commune: Commune) -> None:
    centre = commune.opening_calendar("journee")
    assert centre.open_days(DateRange.iso_week(2026, 43)) == [
        D(2026, 10, 19),
        D(2026, 10, 20),
        D(2026, 10, 21),
        D(2026, 10, 22),
        D(2026, 10, 23),
    ]
    assert centre.day(D(2026, 10, 24)).explain() == "Pas de service le samedi."
    # The Friday of the Ascension bridge is a holiday day; the Thursday is a public holiday.
    assert centre.is_open(D(2027, 5, 7))
    assert centre.day(D(2027, 5, 6)).detail == "Ascension"


def test_a_public_holiday_inside_a_closure_is_reported_as_the_public_holiday(commune: Commune) -> None:
    centre = commune.opening_calendar("journee")
    assert centre.day(D(2026, 12, 25)).explain() == "Fermé : jour férié (Noël)."
    assert centre.day(D(2026, 12, 28)).explain() == "Fermé : fermeture annuelle des fêtes."


def test_outside_its_season_the_canteen_gives_its_dates(commune: Commune) -> None:
    answer = commune.opening_calendar("repas").day(D(2026, 8, 31))
    assert answer.code == "calendar.closed.outside_season"
    assert answer.explain() == (
        "Fermé : en dehors de la période d'ouverture (du mardi 1er septembre 2026 au samedi 3 juillet 2027)."
    )


def test_outside_its_season_nothing_else_is_asked(zone_b: CommuneCalendar) -> None:
    # Before the season no school year is needed: 2028-2029 is not shipped yet no error is raised.
    canteen = OpeningCalendar(
        Opening(school_weekdays={MON}, season=DateRange(D(2026, 9, 1), D(2027, 7, 3))), zone_b
    )
    assert canteen.day(D(2028, 9, 4)).reason is ClosedBecause.OUTSIDE_SEASON


def test_a_centre_open_on_public_holidays_opens_on_14_july(zone_b: CommuneCalendar) -> None:
    weekdays = {MON, TUE, WED, THU, FRI}
    usual = OpeningCalendar(Opening(holiday_weekdays=weekdays), zone_b)
    always = OpeningCalendar(Opening(holiday_weekdays=weekdays, open_on_public_holidays=True), zone_b)
    assert usual.day(D(2026, 7, 14)).explain() == "Fermé : jour férié (Fête nationale)."
    assert always.day(D(2026, 7, 14)) == OpeningDay(D(2026, 7, 14), True)


def test_a_service_open_in_school_time_and_holidays_names_the_weekday(zone_b: CommuneCalendar) -> None:
    accueil = OpeningCalendar(
        Opening(school_weekdays={WED}, holiday_weekdays={MON, TUE, WED, THU, FRI}), zone_b
    )
    assert accueil.is_open(D(2026, 11, 18))  # a school Wednesday
    assert accueil.is_open(D(2026, 10, 20))  # a Toussaint Tuesday
    assert accueil.day(D(2026, 11, 17)).reason is ClosedBecause.WEEKDAY  # a school Tuesday
    assert accueil.day(D(2026, 10, 24)).reason is ClosedBecause.WEEKDAY  # a Toussaint Saturday


def test_every_day_of_a_period_gets_an_answer(commune: Commune) -> None:
    answers = list(commune.opening_calendar("repas").days(DateRange.iso_week(2026, 46)))
    assert [a.code for a in answers] == [
        "calendar.open",
        "calendar.open",
        "calendar.closed.public_holiday",
        "calendar.open",
        "calendar.open",
        "calendar.closed.weekday",
        "calendar.closed.weekday",
    ]


def test_closed_reasons_have_stable_codes() -> None:
    assert {reason.code for reason in ClosedBecause} == {
        "calendar.closed.outside_season",
        "calendar.closed.public_holiday",
        "calendar.closed.closure",
        "calendar.closed.school_holidays",
        "calendar.closed.school_period",
        "calendar.closed.weekday",
    }


def test_opening_weekdays_are_normalised_to_weekdays() -> None:
    opening = Opening(school_weekdays=[MON, MON, TUE])
    assert opening.school_weekdays == frozenset({MON, TUE})


# --- Recurrence --------------------------------------------------------------------------------


def test_every_monday_and_thursday_of_november_2026() -> None:
    assert weekly_dates(DateRange.month(2026, 11), [MON, THU]) == [
        D(2026, 11, 2),
        D(2026, 11, 5),
        D(2026, 11, 9),
        D(2026, 11, 12),
        D(2026, 11, 16),
        D(2026, 11, 19),
        D(2026, 11, 23),
        D(2026, 11, 26),
        D(2026, 11, 30),
    ]


def test_every_two_weeks_counts_from_the_first_week_of_the_period() -> None:
    # From Wednesday 4 November: the week of 2 November is the first (its Monday is before the start),
    # the week of 9 November is skipped, then the weeks of 16 and 30 November are taken.
    period = DateRange(D(2026, 11, 4), D(2026, 12, 6))
    assert weekly_dates(period, [MON, WED], every=2) == [
        D(2026, 11, 4),
        D(2026, 11, 16),
        D(2026, 11, 18),
        D(2026, 11, 30),
        D(2026, 12, 2),
    ]


def test_a_period_without_the_chosen_weekday_has_no_date() -> None:
    assert weekly_dates(DateRange(D(2026, 11, 5), D(2026, 11, 7)), [WED]) == []
    assert weekly_dates(DateRange(D(2026, 11, 4), D(2026, 11, 4)), [WED]) == [D(2026, 11, 4)]


def test_weekdays_given_twice_give_each_date_once() -> None:
    assert weekly_dates(DateRange.iso_week(2026, 47), [FRI, FRI, MON]) == [D(2026, 11, 16), D(2026, 11, 20)]


def test_a_recurrence_needs_a_weekday() -> None:
    with pytest.raises(InvalidInput) as raised:
        weekly_dates(DateRange.month(2026, 11), [])
    assert raised.value.code == "calendar.no_weekday"


@pytest.mark.parametrize("every", [0, -1, True])
def test_a_recurrence_needs_a_positive_interval(every: int) -> None:
    with pytest.raises(InvalidInput) as raised:
        weekly_dates(DateRange.month(2026, 11), [MON], every=every)
    assert raised.value.code == "calendar.bad_interval"


def test_an_invalid_configuration_is_not_an_invalid_input() -> None:
    # The two kinds of refusal stay distinct so callers can tell a bad argument from a bad file.
    assert not issubclass(InvalidInput, InvalidConfiguration)
    assert not issubclass(InvalidConfiguration, InvalidInput)
