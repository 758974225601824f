"""The commune model: what a valid commune, family and child look like, and what is refused."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import attrs
import pytest

from espacefamille.billing.tariffs import QfChangeRule
from espacefamille.calendar.opening import ClosedBecause, Closure, ClosureReason, Opening
from espacefamille.calendar.periods import DateRange, Weekday
from espacefamille.calendar.public_holidays import HolidaySubdivision
from espacefamille.calendar.school import SchoolHoliday, SchoolYear, SchoolZone
from espacefamille.commune import Commune
from espacefamille.errors import InvalidConfiguration, InvalidInput, NotFound
from espacefamille.model import (
    BookedDays,
    Booking,
    BookingStatus,
    Child,
    Collectivite,
    Diet,
    Enrolment,
    Family,
    Guardian,
    PaymentMode,
    Prestation,
    PrestationKind,
    QuotientFamilial,
    Regie,
    Residence,
    SchoolClass,
    Service,
    ServiceKind,
    booked_days,
)
from espacefamille.money import Money, RoundingMode, RoundingPolicy

MON_TUE_THU_FRI = frozenset({Weekday.MONDAY, Weekday.TUESDAY, Weekday.THURSDAY, Weekday.FRIDAY})
SCHOOL_YEAR_2026 = DateRange(dt.date(2026, 9, 1), dt.date(2027, 7, 3))
CANTEEN_OPENING = Opening(school_weekdays=MON_TUE_THU_FRI, season=SCHOOL_YEAR_2026)


def collectivite(**changes: Any) -> Collectivite:
    base = Collectivite("saint-aubin", "Ville de Saint-Aubin-des-Prés", SchoolZone.B)
    return attrs.evolve(base, **changes)


def repas(**changes: Any) -> Prestation:
    base = Prestation(
        id="repas",
        name="Repas",
        service_id="cantine",
        kind=PrestationKind.DAY,
        payment_mode=PaymentMode.MONTH_END,
        opening=CANTEEN_OPENING,
        start=dt.time(11, 45),
        end=dt.time(13, 30),
    )
    return attrs.evolve(base, **changes)


def cantine(*prestations: Prestation, **changes: Any) -> Service:
    base = Service(
        id="cantine",
        name="Restauration scolaire",
        kind=ServiceKind.CANTINE,
        regie_id="enfance",
        prestations=prestations or (repas(),),
    )
    return attrs.evolve(base, **changes)


def periscolaire() -> Service:
    matin = Prestation(
        "matin",
        "Accueil du matin",
        "periscolaire",
        PrestationKind.SLOT,
        PaymentMode.MONTH_END,
        CANTEEN_OPENING,
        start=dt.time(7, 30),
        end=dt.time(8, 35),
    )
    return Service("periscolaire", "Accueil périscolaire", ServiceKind.PERISCOLAIRE, "enfance", [matin])


ENFANCE = Regie("enfance", "Régie enfance-jeunesse", "012345")
MARTIN_PARENTS = (Guardian("claire", "Claire", "Martin"), Guardian("paul", "Paul", "Martin"))


def martin(*quotients: QuotientFamilial, payer_id: str = "claire") -> Family:
    return Family("martin", "Famille Martin", MARTIN_PARENTS, payer_id, quotients=quotients)


# -- collectivité and régie -------------------------------------------------------------------


def test_a_collectivite_defaults_to_metropolitan_holidays_in_paris_time() -> None:
    town = collectivite()
    assert town.subdivision is HolidaySubdivision.METROPOLE
    assert town.timezone == "Europe/Paris"


def test_an_overseas_collectivite_keeps_its_own_zone() -> None:
    town = collectivite(subdivision=HolidaySubdivision.REUNION, timezone="Indian/Reunion")
    assert town.timezone == "Indian/Reunion"


@pytest.mark.parametrize("zone", ["Europe/Saint-Aubin", "Paris", "CET+1", ""])
def test_an_unknown_time_zone_is_refused(zone: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        collectivite(timezone=zone)
    assert caught.value.code == "calendar.unknown_timezone"


@pytest.mark.parametrize("bad_id", ["", "saint aubin", "-cantine", "é", "saint-aubin\n", "a/b"])
def test_identifiers_are_letters_digits_and_dashes(bad_id: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        collectivite(id=bad_id)
    assert caught.value.code == "model.bad_identifier"


@pytest.mark.parametrize("good_id", ["saint-aubin", "cantine_2026", "a", "regie.enfance", "0"])
def test_identifier_examples_that_are_accepted(good_id: str) -> None:
    assert collectivite(id=good_id).id == good_id


def test_a_blank_name_is_refused() -> None:
    with pytest.raises(InvalidInput) as caught:
        collectivite(name="   ")
    assert caught.value.code == "model.empty"
    with pytest.raises(InvalidInput):
        Regie("enfance", "")


def test_a_regie_may_have_a_payfip_client_number() -> None:
    assert ENFANCE.payfip_client == "012345"
    assert Regie("loisirs", "Régie centre de loisirs").payfip_client is None


# -- prestations and services -----------------------------------------------------------------


def test_a_meal_prestation_with_its_hours() -> None:
    meal = repas()
    assert meal.kind is PrestationKind.DAY
    assert meal.minutes == 105
    assert repas(start=None, end=None).minutes is None


def test_a_slot_length_counts_minutes_not_decimal_hours() -> None:
    # 7:30 to 8:35 is 1 h 05, that is 65 minutes (not "1.05 h").
    slot = repas(kind=PrestationKind.SLOT, start=dt.time(7, 30), end=dt.time(8, 35))
    assert slot.minutes == 65


@pytest.mark.parametrize(("start", "end"), [(None, None), (dt.time(7, 30), None), (None, dt.time(8, 35))])
def test_a_slot_needs_its_hours(start: dt.time | None, end: dt.time | None) -> None:
    with pytest.raises(InvalidInput) as caught:
        repas(kind=PrestationKind.SLOT, start=start, end=end)
    assert caught.value.code == "model.slot_without_hours"


@pytest.mark.parametrize(("start", "end"), [(dt.time(13, 30), dt.time(11, 45)), (dt.time(12), dt.time(12))])
def test_a_prestation_cannot_end_before_it_starts(start: dt.time, end: dt.time) -> None:
    with pytest.raises(InvalidInput) as caught:
        repas(start=start, end=end)
    assert caught.value.code == "input.end_before_start"
    assert caught.value.message_fr == "L'heure de fin précède l'heure de début."


def test_prestation_hours_are_wall_clock_times() -> None:
    with pytest.raises(InvalidInput) as caught:
        repas(start=dt.time(11, 45, tzinfo=dt.UTC))
    assert caught.value.code == "model.bad_time"
    with pytest.raises(InvalidInput):
        repas(end=dt.datetime(2026, 11, 12, 13, 30))


def test_only_a_block_prestation_has_blocks() -> None:
    toussaint_week = DateRange(dt.date(2026, 10, 19), dt.date(2026, 10, 23))
    stage = repas(id="stage", kind=PrestationKind.BLOCK, blocks=[toussaint_week])
    assert stage.blocks == (toussaint_week,)
    with pytest.raises(InvalidInput) as caught:
        repas(kind=PrestationKind.DAY, blocks=[toussaint_week])
    assert caught.value.code == "model.blocks"


def test_a_block_prestation_may_leave_its_blocks_to_its_opening_weeks() -> None:
    assert repas(kind=PrestationKind.BLOCK).blocks == ()


def test_a_service_holds_its_own_prestations_only() -> None:
    service = cantine()
    assert service.prestations == (repas(),)
    with pytest.raises(InvalidInput) as caught:
        cantine(repas(service_id="periscolaire"))
    assert caught.value.code == "model.prestation_service"


def test_service_collections_are_tuples_whatever_was_given() -> None:
    strike = Closure(DateRange(dt.date(2026, 11, 19), dt.date(2026, 11, 19)), ClosureReason.STRIKE)
    service = cantine(closures=[strike])
    assert service.closures == (strike,)
    assert isinstance(service.prestations, tuple)
    assert hash(service) == hash(cantine(closures=(strike,)))


# -- families ---------------------------------------------------------------------------------


def test_the_payer_is_one_of_the_guardians() -> None:
    family = martin(payer_id="paul")
    assert family.payer == MARTIN_PARENTS[1]
    assert family.residence is Residence.RESIDENT
    assert not family.direct_debit
    with pytest.raises(InvalidInput) as caught:
        martin(payer_id="mamie")
    assert caught.value.code == "model.payer_not_guardian"
    assert caught.value.message_fr == "Le payeur doit être l'un des responsables du foyer."


def test_a_family_needs_a_guardian() -> None:
    with pytest.raises(InvalidInput) as caught:
        Family("martin", "Famille Martin", [], "claire")
    assert caught.value.code == "model.no_guardian"


def test_quotient_on_follows_the_validity_dates() -> None:
    # QF 812 for 2026, then 640 from January 2027 (open-ended).
    family = martin(
        QuotientFamilial(Decimal(640), dt.date(2027, 1, 1)),
        QuotientFamilial(Decimal(812), dt.date(2026, 1, 1), dt.date(2026, 12, 31)),
    )
    assert [q.value for q in family.quotients] == [Decimal(812), Decimal(640)]  # sorted by start
    assert family.quotient_on(dt.date(2025, 12, 31)) is None
    assert family.quotient_on(dt.date(2026, 1, 1)) == Decimal(812)
    assert family.quotient_on(dt.date(2026, 12, 31)) == Decimal(812)
    assert family.quotient_on(dt.date(2027, 1, 1)) == Decimal(640)
    assert family.quotient_on(dt.date(2030, 6, 1)) == Decimal(640)


def test_a_quotient_of_zero_is_a_real_quotient_not_an_unknown_one() -> None:
    family = martin(QuotientFamilial(0, dt.date(2026, 9, 1), dt.date(2027, 8, 31)))
    on_a_school_day = family.quotient_on(dt.date(2026, 11, 12))
    assert on_a_school_day is not None
    assert on_a_school_day == Decimal(0)
    # Outside its validity the QF is unknown (the commune's "QF non communiqué" band), not zero.
    assert family.quotient_on(dt.date(2027, 9, 1)) is None


def test_a_gap_between_quotients_is_unknown() -> None:
    family = martin(
        QuotientFamilial(812, dt.date(2026, 1, 1), dt.date(2026, 6, 30)),
        QuotientFamilial(700, dt.date(2026, 9, 1)),
    )
    assert family.quotient_on(dt.date(2026, 7, 14)) is None


def test_a_late_received_quotient_leaves_the_old_one_until_it_applies_but_fills_no_gap() -> None:
    # 640 valid from Sunday 1 November 2026, received on Tuesday 17 November: from 1 December ("next month").
    late = QuotientFamilial(640, dt.date(2026, 11, 1), received_on=dt.date(2026, 11, 17))
    replaced = martin(QuotientFamilial(812, dt.date(2026, 1, 1), dt.date(2026, 10, 31)), late)
    assert replaced.quotient_on(dt.date(2026, 11, 30), QfChangeRule.NEXT_MONTH) == Decimal(812)
    assert replaced.quotient_on(dt.date(2026, 12, 1), QfChangeRule.NEXT_MONTH) == Decimal(640)
    assert replaced.quotient_on(dt.date(2026, 11, 16)) == Decimal(812)  # by default: from the day received
    assert replaced.quotient_on(dt.date(2026, 11, 17)) == Decimal(640)
    # The first one had expired in June: the summer stays unknown, and so does November until 1 December.
    expired = martin(QuotientFamilial(812, dt.date(2026, 1, 1), dt.date(2026, 6, 30)), late)
    assert expired.quotient_on(dt.date(2026, 11, 30), QfChangeRule.NEXT_MONTH) is None
    assert expired.quotient_on(dt.date(2026, 12, 1), QfChangeRule.NEXT_MONTH) == Decimal(640)


def test_a_quotient_received_after_its_validity_never_applies() -> None:
    # Valid for October only, but received on 17 November: under "next month" it would start on 1 December.
    october = QuotientFamilial(
        500, dt.date(2026, 10, 1), dt.date(2026, 10, 31), received_on=dt.date(2026, 11, 17)
    )
    family = martin(october, QuotientFamilial(700, dt.date(2026, 11, 1)))
    assert family.quotient_on(dt.date(2026, 10, 15), QfChangeRule.NEXT_MONTH) is None
    assert family.quotient_on(dt.date(2026, 12, 1), QfChangeRule.NEXT_MONTH) == Decimal(700)
    assert october.in_force_from(QfChangeRule.NEXT_MONTH) == dt.date(2026, 12, 1)


def test_a_reception_date_must_be_a_date() -> None:
    with pytest.raises(InvalidInput) as caught:
        QuotientFamilial(700, dt.date(2026, 11, 1), received_on="2026-11-17")  # type: ignore[arg-type]
    assert caught.value.code == "input.not_a_date"


@pytest.mark.parametrize(
    "second",
    [
        QuotientFamilial(700, dt.date(2026, 6, 30)),  # starts on the last day of the first
        QuotientFamilial(700, dt.date(2026, 3, 1), dt.date(2026, 4, 1)),  # inside the first
    ],
)
def test_overlapping_quotients_are_refused(second: QuotientFamilial) -> None:
    first = QuotientFamilial(812, dt.date(2026, 1, 1), dt.date(2026, 6, 30))
    with pytest.raises(InvalidInput) as caught:
        martin(first, second)
    assert caught.value.code == "model.overlapping_quotients"


def test_an_open_ended_quotient_followed_by_another_overlaps() -> None:
    with pytest.raises(InvalidInput) as caught:
        martin(QuotientFamilial(812, dt.date(2026, 1, 1)), QuotientFamilial(640, dt.date(2027, 1, 1)))
    assert caught.value.code == "model.overlapping_quotients"


def test_a_quotient_is_exact_and_never_negative() -> None:
    assert QuotientFamilial("812,5", dt.date(2026, 1, 1)).value == Decimal("812.5")
    assert QuotientFamilial(812, dt.date(2026, 1, 1)).source == "CAF"
    with pytest.raises(InvalidInput) as caught:
        QuotientFamilial(-1, dt.date(2026, 1, 1))
    assert caught.value.code == "model.negative_quotient"
    with pytest.raises(InvalidInput) as caught:
        QuotientFamilial(812.0, dt.date(2026, 1, 1))
    assert caught.value.code == "money.float_rejected"


def test_a_quotient_validity_is_in_order_and_in_plain_dates() -> None:
    with pytest.raises(InvalidInput) as caught:
        QuotientFamilial(812, dt.date(2026, 9, 1), dt.date(2026, 8, 31))
    assert caught.value.code == "input.end_before_start"
    with pytest.raises(InvalidInput) as caught:
        QuotientFamilial(812, dt.datetime(2026, 9, 1, 0, 0))
    assert caught.value.code == "input.not_a_date"


# -- children and enrolments ------------------------------------------------------------------


def lea(*family_ids: str, **changes: Any) -> Child:
    base = Child("lea", "Léa", "Martin", dt.date(2019, 3, 15), family_ids or ("martin",))
    return attrs.evolve(base, **changes)


def test_a_child_of_separated_parents_belongs_to_two_households() -> None:
    assert lea("martin").family_ids == ("martin",)
    assert lea("martin", "durand").family_ids == ("martin", "durand")


@pytest.mark.parametrize("households", [(), ("martin", "martin"), ("a", "b", "c")])
def test_a_child_has_one_or_two_distinct_households(households: tuple[str, ...]) -> None:
    with pytest.raises(InvalidInput) as caught:
        Child("lea", "Léa", "Martin", dt.date(2019, 3, 15), households)
    assert caught.value.code == "model.child_households"


def test_age_on_counts_whole_years_turning_on_the_birthday() -> None:
    child = lea()
    assert child.age_on(dt.date(2026, 3, 14)) == 6
    assert child.age_on(dt.date(2026, 3, 15)) == 7
    assert child.age_on(dt.date(2019, 3, 15)) == 0


def test_a_child_born_on_29_february_is_a_year_older_from_1_march() -> None:
    child = lea(birth_date=dt.date(2020, 2, 29))
    assert child.age_on(dt.date(2027, 2, 28)) == 6
    assert child.age_on(dt.date(2027, 3, 1)) == 7


def test_a_child_record_keeps_only_allowed_facts() -> None:
    child = lea(school_class=SchoolClass.GS, pai=True, diets=[Diet.NO_PORK, Diet.NO_PORK])
    assert child.diets == frozenset({Diet.NO_PORK})
    assert child.school_class is not None
    assert child.school_class.is_maternelle
    assert not SchoolClass.CP.is_maternelle
    with pytest.raises(InvalidInput) as caught:
        lea(birth_date=dt.datetime(2019, 3, 15, 8, 0))
    assert caught.value.code == "input.not_a_date"


def test_an_enrolment_names_the_household_that_books_and_pays() -> None:
    enrolment = Enrolment("ins-1", "lea", "durand", "cantine", SCHOOL_YEAR_2026)
    assert enrolment.validated
    assert enrolment.family_id == "durand"
    assert dt.date(2026, 11, 12) in enrolment.period
    assert not Enrolment("ins-2", "lea", "martin", "alsh", SCHOOL_YEAR_2026, validated=False).validated
    with pytest.raises(InvalidInput):
        Enrolment("ins 3", "lea", "martin", "alsh", SCHOOL_YEAR_2026)


# -- the whole commune ------------------------------------------------------------------------


def saint_aubin(**changes: Any) -> Commune:
    base = Commune(collectivite(), [ENFANCE], [cantine(), periscolaire()])
    return attrs.evolve(base, **changes)


def test_commune_lookups() -> None:
    commune = saint_aubin()
    assert commune.regie("enfance") == ENFANCE
    assert commune.service("cantine").name == "Restauration scolaire"
    assert commune.prestation("matin").service_id == "periscolaire"
    assert [p.id for p in commune.prestations] == ["repas", "matin"]
    assert commune.rounding == RoundingPolicy(RoundingMode.HALF_UP)
    assert commune.recovery_threshold == Money("15")


@pytest.mark.parametrize(
    ("lookup", "code"),
    [("prestation", "not_found.prestation"), ("service", "not_found.service"), ("regie", "not_found.regie")],
)
def test_an_unknown_id_is_not_found(lookup: str, code: str) -> None:
    with pytest.raises(NotFound) as caught:
        getattr(saint_aubin(), lookup)("gouter")
    assert caught.value.code == code
    assert "« gouter »" in caught.value.message_fr
    assert isinstance(caught.value, LookupError)


def test_a_service_invoiced_by_an_unknown_regie_is_a_configuration_error() -> None:
    with pytest.raises(InvalidConfiguration) as caught:
        saint_aubin(services=[cantine(regie_id="loisirs")])
    assert caught.value.path == "services.cantine.regie"
    assert caught.value.code == "config.unknown_reference"
    assert "enfance" in caught.value.message  # the known régies are listed


def test_ids_are_unique_in_a_commune() -> None:
    with pytest.raises(InvalidConfiguration) as caught:
        saint_aubin(regies=[ENFANCE, Regie("enfance", "Autre régie")])
    assert (caught.value.code, caught.value.path) == ("config.duplicate_id", "regies")
    with pytest.raises(InvalidConfiguration) as caught:
        saint_aubin(services=[cantine(), cantine()])
    assert (caught.value.code, caught.value.path) == ("config.duplicate_id", "services")
    # Two services cannot both have a prestation "repas": bookings name the prestation alone.
    other = Service("alsh", "Centre de loisirs", ServiceKind.ALSH, "enfance", [repas(service_id="alsh")])
    with pytest.raises(InvalidConfiguration) as caught:
        saint_aubin(services=[cantine(), other])
    assert (caught.value.code, caught.value.path) == ("config.duplicate_id", "services.*.prestations")


def test_the_recovery_threshold_cannot_be_negative() -> None:
    assert saint_aubin(recovery_threshold=Money("0")).recovery_threshold == Money("0")
    with pytest.raises(InvalidConfiguration) as caught:
        saint_aubin(recovery_threshold=Money("-15"))
    assert caught.value.path == "billing.recovery_threshold"


def test_the_commune_calendar_knows_its_holidays() -> None:
    calendar = saint_aubin().calendar
    assert calendar.public_holiday(dt.date(2026, 11, 11)) == "Armistice"
    christmas = calendar.school_holiday(dt.date(2026, 12, 21))
    assert christmas is not None
    assert christmas.name == "Vacances de Noël"
    assert calendar.school_holiday(dt.date(2027, 1, 4)) is None  # classes resume that morning


def test_a_commune_school_year_overrides_the_shipped_one() -> None:
    # A commune whose Christmas holidays were moved a week later by a local arrêté.
    own = SchoolYear(
        "2026-2027",
        dt.date(2026, 9, 1),
        dt.date(2027, 7, 3),
        (SchoolHoliday("Vacances de Noël", dt.date(2026, 12, 26), dt.date(2027, 1, 11)),),
    )
    calendar = saint_aubin(school_years=[own]).calendar
    assert calendar.school_holiday(dt.date(2026, 12, 21)) is None
    assert calendar.school_holiday(dt.date(2027, 1, 8)) is not None
    with pytest.raises(InvalidConfiguration) as caught:
        saint_aubin(school_years=[own, own])
    assert caught.value.path == "calendar.school_years"


def test_commune_equality_ignores_its_lookup_tables() -> None:
    assert saint_aubin() == saint_aubin()
    assert saint_aubin() != saint_aubin(rounding=RoundingPolicy(RoundingMode.DOWN))


def test_opening_calendar_adds_the_service_closures_to_the_prestation_opening() -> None:
    outing = Closure(DateRange(dt.date(2026, 12, 18), dt.date(2026, 12, 18)), ClosureReason.OUTING)
    commune = saint_aubin(services=[cantine(closures=[outing]), periscolaire()])
    friday_18 = dt.date(2026, 12, 18)
    meal = commune.opening_calendar("repas").day(friday_18)
    assert not meal.is_open
    assert meal.reason is ClosedBecause.CLOSURE
    assert meal.explain() == "Fermé : sortie."
    # The périscolaire is another service: its morning care is open that Friday.
    assert commune.opening_calendar("matin").is_open(friday_18)


def test_opening_calendar_adds_closures_declared_since_configuration() -> None:
    strike = Closure(DateRange(dt.date(2026, 11, 19), dt.date(2026, 11, 20)), ClosureReason.STRIKE)
    calendar = saint_aubin().opening_calendar("repas", [strike])
    november = DateRange(dt.date(2026, 11, 16), dt.date(2026, 11, 20))
    # Monday 16 and Tuesday 17 open; Wednesday no canteen; Thursday 19 and Friday 20 on strike.
    assert calendar.open_days(november) == [dt.date(2026, 11, 16), dt.date(2026, 11, 17)]
    assert calendar.day(dt.date(2026, 11, 19)).explain() == "Fermé : grève."
    with pytest.raises(NotFound):
        saint_aubin().opening_calendar("gouter")


def test_the_example_commune_closes_the_canteen_for_the_end_of_term_outing(commune: Commune) -> None:
    friday_18 = dt.date(2026, 12, 18)
    assert commune.opening_calendar("repas").day(friday_18).explain() == (
        "Fermé : sortie de fin de trimestre (pique-nique fourni par l'école)."
    )
    assert commune.opening_calendar("soir").is_open(friday_18)
    assert commune.opening_calendar("matin").day(dt.date(2026, 11, 27)).explain() == (
        "Fermé : journée de formation des animateurs."
    )


# -- bookings as runs of days ---------------------------------------------------------------------

_BOOKED_AT = dt.datetime(2026, 10, 20, 18, 30, tzinfo=dt.UTC)


def _meal(day: dt.date, status: BookingStatus = BookingStatus.BOOKED, code: str | None = None) -> Booking:
    return Booking("C1", "repas", day, "F1", status, _BOOKED_AT, None, code)


def test_a_month_of_meals_becomes_one_run_per_status_and_surcharge() -> None:
    # Armistice week 2026: meals on Monday 9, Tuesday 10 (booked late) and Friday 13, Thursday 12 cancelled.
    runs = booked_days(
        [
            _meal(dt.date(2026, 11, 13)),
            _meal(dt.date(2026, 11, 9)),
            _meal(dt.date(2026, 11, 10), code="after_deadline.surcharge"),
            _meal(dt.date(2026, 11, 12), BookingStatus.CANCELLED),
        ]
    )
    assert runs == (
        BookedDays("C1", "repas", BookingStatus.BOOKED, (dt.date(2026, 11, 9), dt.date(2026, 11, 13))),
        BookedDays("C1", "repas", BookingStatus.BOOKED, (dt.date(2026, 11, 10),), "after_deadline.surcharge"),
        BookedDays("C1", "repas", BookingStatus.CANCELLED, (dt.date(2026, 11, 12),)),
    )
    assert [run.is_active for run in runs] == [True, True, False]
    assert booked_days(runs) == runs  # runs given are kept


@pytest.mark.parametrize(
    "days",
    [(), (dt.date(2026, 11, 10), dt.date(2026, 11, 9)), (dt.date(2026, 11, 9), dt.date(2026, 11, 9))],
)
def test_a_run_needs_increasing_days_each_once(days: tuple[dt.date, ...]) -> None:
    with pytest.raises(InvalidInput):
        BookedDays("C1", "repas", BookingStatus.BOOKED, days)


def test_only_bookings_make_runs() -> None:
    with pytest.raises(InvalidInput) as raised:
        booked_days([dt.date(2026, 11, 9)])  # type: ignore[list-item]
    assert raised.value.code == "input.not_a_booking"
