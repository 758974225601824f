"""Booking and cancellation deadlines, after-deadline policies and their configuration as data,
pinned to real dates of the 2025-2026 and 2026-2027 school years (zone B, metropole)."""

from __future__ import annotations

import datetime as dt
import tomllib
from decimal import Decimal
from zoneinfo import ZoneInfo

import attrs
import pytest
import tomli_w

from espacefamille.calendar.commune import CommuneCalendar
from espacefamille.calendar.opening import Closure, ClosureReason, Opening, OpeningCalendar
from espacefamille.calendar.periods import DateRange, Weekday
from espacefamille.calendar.public_holidays import HolidaySubdivision
from espacefamille.calendar.school import SchoolZone, school_calendar
from espacefamille.calendar.workdays import DayCounting
from espacefamille.commune import Commune
from espacefamille.errors import InvalidConfiguration, InvalidInput
from espacefamille.model import PaymentMode, Prestation, PrestationKind
from espacefamille.money import Money
from espacefamille.rules.deadlines import (
    DayOfPreviousMonth,
    DaysBefore,
    Deadline,
    DeadlineContext,
    DueOn,
    Horizon,
    HoursBefore,
    OnClosedDay,
    PreviousWeekday,
    RegistrationWindow,
    WeekdayOfPreviousWeek,
    WeekdayTable,
    deadline_from_dict,
    deadline_pattern,
    deadline_to_dict,
    window_from_dict,
    window_to_dict,
)
from espacefamille.rules.policies import (
    AfterDeadlinePolicy,
    BookingRules,
    DeadlineOutcome,
    ExceptionalTariff,
    Refuse,
    Request,
    Surcharge,
    WaitingList,
    after_deadline_policy,
    booking_rules_from_dict,
    booking_rules_to_dict,
    check_booking_rules,
    judge_booking,
    judge_cancellation,
    policy_from_dict,
    policy_to_dict,
)

PARIS = ZoneInfo("Europe/Paris")
UTC = dt.UTC
MON, TUE, WED, THU, FRI, SAT, SUN = Weekday
CANTEEN_DAYS = (MON, TUE, THU, FRI)
BOOKING = "services.cantine.prestations.repas.booking"


def paris(year: int, month: int, day: int, hour: int = 0, minute: int = 0, *, second: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, second, tzinfo=PARIS)


def zone_b() -> CommuneCalendar:
    return CommuneCalendar("Europe/Paris", HolidaySubdivision.METROPOLE, school_calendar(SchoolZone.B))


def context(
    start: dt.time | None = dt.time(11, 45),
    school_weekdays: tuple[Weekday, ...] = CANTEEN_DAYS,
    holiday_weekdays: tuple[Weekday, ...] = (),
    *,
    closures: tuple[Closure, ...] = (),
    resident: bool = True,
) -> DeadlineContext:
    """A prestation of a zone B commune with no season, so any school year with data can be used."""
    calendar = zone_b()
    opening = Opening(school_weekdays, holiday_weekdays, closures)
    kind = PrestationKind.SLOT if start is not None else PrestationKind.DAY
    end = None if start is None else dt.time(min(start.hour + 2, 23), start.minute)
    prestation = Prestation("p", "Repas", "cantine", kind, PaymentMode.MONTH_END, opening, start, end)
    return DeadlineContext(calendar, prestation, OpeningCalendar(opening, calendar), resident)


@pytest.fixture
def repas(commune: Commune) -> DeadlineContext:
    """The example commune's canteen meal (Mon, Tue, Thu, Fri, from 11:45; outing closure 18 Dec 2026)."""
    return commune.deadline_context("repas")


# -- N days before ----------------------------------------------------------------------------


def test_j3_ouvres_before_11h_makes_a_tuesday_meal_due_the_previous_thursday(repas: DeadlineContext) -> None:
    rule = DaysBefore(3, dt.time(11), DayCounting.JOURS_OUVRES)
    assert rule.instant(dt.date(2026, 11, 17), repas) == paris(2026, 11, 12, 11)


def test_j3_ouvres_skips_the_armistice_unless_told_to_count_it(repas: DeadlineContext) -> None:
    friday = dt.date(2026, 11, 13)  # Thursday 12 counts, Wednesday 11 is the Armistice
    assert DaysBefore(3, dt.time(11), DayCounting.JOURS_OUVRES).instant(friday, repas) == paris(
        2026, 11, 9, 11
    )
    counting_it = DaysBefore(3, dt.time(11), DayCounting.JOURS_OUVRES, skip_public_holidays=False)
    assert counting_it.instant(friday, repas) == paris(2026, 11, 10, 11)


def test_j0_at_10h_is_the_same_morning(repas: DeadlineContext) -> None:
    assert DaysBefore(0, dt.time(10)).instant(dt.date(2026, 11, 17), repas) == paris(2026, 11, 17, 10)


def test_a_same_day_deadline_after_the_start_is_the_start() -> None:
    morning = context(start=dt.time(7, 30))
    assert DaysBefore(0, dt.time(10)).instant(dt.date(2026, 11, 17), morning) == paris(2026, 11, 17, 7, 30)


def test_jours_ouvrables_count_saturday_but_not_toussaint_on_sunday(repas: DeadlineContext) -> None:
    monday = dt.date(2026, 11, 2)  # classes resume after Toussaint, which falls on Sunday 1 November
    assert DaysBefore(1, dt.time(12), DayCounting.JOURS_OUVRABLES).instant(monday, repas) == paris(
        2026, 10, 31, 12
    )
    assert DaysBefore(2, dt.time(12), DayCounting.JOURS_OUVRABLES).instant(monday, repas) == paris(
        2026, 10, 30, 12
    )


def test_calendar_days_count_sundays_and_holidays_unless_told_to_skip_them(repas: DeadlineContext) -> None:
    monday = dt.date(2026, 11, 2)
    assert DaysBefore(1, dt.time(9)).instant(monday, repas) == paris(2026, 11, 1, 9)
    skipping = DaysBefore(1, dt.time(9), skip_public_holidays=True)
    assert skipping.instant(monday, repas) == paris(2026, 10, 31, 9)


def test_jours_ouvres_around_ascension_thursday() -> None:
    friday = dt.date(2026, 5, 15)  # Thursday 14 May 2026 is Ascension
    rule = DaysBefore(1, dt.time(11), DayCounting.JOURS_OUVRES)
    assert rule.instant(friday, context()) == paris(2026, 5, 13, 11)


def test_opening_days_skip_wednesdays_holidays_and_school_holidays(repas: DeadlineContext) -> None:
    rule = DaysBefore(2, dt.time(11), DayCounting.OPENING_DAYS)
    # Monday 16 Nov: Friday 13, Thursday 12.
    assert rule.instant(dt.date(2026, 11, 16), repas) == paris(2026, 11, 12, 11)
    # Thursday 12 Nov: Wednesday 11 is no canteen day (and the Armistice): Tuesday 10, Monday 9.
    assert rule.instant(dt.date(2026, 11, 12), repas) == paris(2026, 11, 9, 11)
    # Monday 4 Jan 2027, classes resume: the holidays and the outing of Friday 18 Dec do not count.
    assert rule.instant(dt.date(2027, 1, 4), repas) == paris(2026, 12, 15, 11)


def test_the_first_day_after_the_holidays_is_due_on_the_last_open_day_before_them(
    repas: DeadlineContext,
) -> None:
    kept = DaysBefore(1, dt.time(10))
    moved = DaysBefore(1, dt.time(10), on_closed_day=OnClosedDay.PREVIOUS_OPEN_DAY)
    monday = dt.date(2027, 1, 4)
    assert kept.instant(monday, repas) == paris(2027, 1, 3, 10)
    # Friday 18 December is the outing, so the last canteen day is Thursday 17.
    assert moved.instant(monday, repas) == paris(2026, 12, 17, 10)


def test_a_strike_declared_after_configuration_moves_the_deadline_too(commune: Commune) -> None:
    strike = Closure(DateRange(dt.date(2026, 11, 16), dt.date(2026, 11, 16)), ClosureReason.STRIKE)
    striking = commune.deadline_context("repas", closures=(strike,))
    moved = DaysBefore(1, dt.time(10), on_closed_day=OnClosedDay.PREVIOUS_OPEN_DAY)
    assert moved.instant(dt.date(2026, 11, 17), striking) == paris(2026, 11, 13, 10)


def test_a_deadline_at_0230_on_the_spring_forward_sunday_is_0330_summer_time() -> None:
    rule = DaysBefore(1, dt.time(2, 30))
    due = rule.instant(dt.date(2026, 3, 30), context())
    assert due == dt.datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    assert (due.hour, due.minute, due.utcoffset()) == (3, 30, dt.timedelta(hours=2))


def test_a_deadline_at_0230_on_the_autumn_sunday_is_the_first_0230() -> None:
    due = DaysBefore(1, dt.time(2, 30)).instant(dt.date(2026, 10, 26), context())
    # Compared in UTC: Python never finds an ambiguous wall time equal to an instant of another zone.
    assert due.astimezone(UTC) == dt.datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
    assert due.utcoffset() == dt.timedelta(hours=2)


# -- N hours before ---------------------------------------------------------------------------


def test_48_hours_before_an_0830_slot_across_the_spring_change_is_0730() -> None:
    slot = context(start=dt.time(8, 30), school_weekdays=(MON, TUE, WED, THU, FRI))
    due = HoursBefore(48).instant(dt.date(2026, 3, 30), slot)
    assert due == dt.datetime(2026, 3, 28, 6, 30, tzinfo=UTC)  # Saturday 07:30 winter time
    # 48 real hours, though the clocks show 49 h between Saturday 07:30 and Monday 08:30.
    assert slot.start_of(dt.date(2026, 3, 30)).astimezone(UTC) - due.astimezone(UTC) == dt.timedelta(hours=48)


def test_48_hours_before_an_0830_slot_across_the_autumn_change_is_0930() -> None:
    slot = context(start=dt.time(8, 30), school_weekdays=(MON, TUE, WED, THU, FRI))
    due = HoursBefore(48).instant(dt.date(2026, 10, 26), slot)
    assert due == dt.datetime(2026, 10, 24, 7, 30, tzinfo=UTC)  # Saturday 09:30 summer time
    assert (due.hour, due.minute) == (9, 30)


def test_hours_before_can_move_to_the_previous_open_day(repas: DeadlineContext) -> None:
    # 24 h before Thursday 12 Nov 11:45 is Wednesday 11, the Armistice: back to Tuesday 10 at 11:45.
    moved = HoursBefore(24, OnClosedDay.PREVIOUS_OPEN_DAY)
    assert moved.instant(dt.date(2026, 11, 12), repas) == paris(2026, 11, 10, 11, 45)
    assert HoursBefore(24).instant(dt.date(2026, 11, 12), repas) == paris(2026, 11, 11, 11, 45)


def test_hours_before_a_prestation_without_start_time_is_a_configuration_error() -> None:
    with pytest.raises(InvalidConfiguration) as caught:
        HoursBefore(48).instant(dt.date(2026, 11, 17), context(start=None))
    assert caught.value.code == "deadline.needs_start"
    assert caught.value.path == "services.cantine.prestations.p.start"


# -- weekday patterns -------------------------------------------------------------------------


def test_every_meal_of_week_47_is_due_wednesday_18h_of_week_46(repas: DeadlineContext) -> None:
    rule = WeekdayOfPreviousWeek(WED, dt.time(18))
    for day in DateRange(dt.date(2026, 11, 16), dt.date(2026, 11, 22)):
        assert rule.instant(day, repas) == paris(2026, 11, 11, 18)


def test_a_weekly_deadline_on_the_armistice_moves_to_tuesday(repas: DeadlineContext) -> None:
    rule = WeekdayOfPreviousWeek(WED, dt.time(18), OnClosedDay.PREVIOUS_OPEN_DAY)
    assert rule.instant(dt.date(2026, 11, 20), repas) == paris(2026, 11, 10, 18)


def test_the_previous_tuesday_is_strictly_before_the_target(repas: DeadlineContext) -> None:
    rule = PreviousWeekday(TUE, dt.time(10))
    assert rule.instant(dt.date(2026, 11, 17), repas) == paris(2026, 11, 10, 10)
    assert rule.instant(dt.date(2026, 11, 19), repas) == paris(2026, 11, 17, 10)
    assert rule.instant(dt.date(2026, 11, 16), repas) == paris(2026, 11, 10, 10)


TABLE = WeekdayTable(
    {
        MON: DueOn(THU, dt.time(17)),
        TUE: DueOn(FRI, dt.time(17)),
        THU: DueOn(MON, dt.time(17)),
        FRI: DueOn(TUE, dt.time(17)),
    }
)


def test_the_weekday_table_gives_each_canteen_day_its_own_deadline(repas: DeadlineContext) -> None:
    assert TABLE.instant(dt.date(2026, 11, 16), repas) == paris(2026, 11, 12, 17)
    assert TABLE.instant(dt.date(2026, 11, 17), repas) == paris(2026, 11, 13, 17)
    assert TABLE.instant(dt.date(2026, 11, 19), repas) == paris(2026, 11, 16, 17)
    assert TABLE.instant(dt.date(2026, 11, 20), repas) == paris(2026, 11, 17, 17)


def test_a_table_deadline_on_ascension_moves_back_over_the_pont() -> None:
    moved = WeekdayTable(TABLE.entries, OnClosedDay.PREVIOUS_OPEN_DAY)
    monday = dt.date(2026, 5, 18)  # due Thursday 14 May, Ascension; Wednesday 13 is no canteen day
    assert TABLE.instant(monday, context()) == paris(2026, 5, 14, 17)
    assert moved.instant(monday, context()) == paris(2026, 5, 12, 17)


def test_a_weekday_missing_from_the_table_is_a_configuration_error(repas: DeadlineContext) -> None:
    with pytest.raises(InvalidConfiguration) as caught:
        TABLE.instant(dt.date(2026, 11, 18), repas)
    assert caught.value.code == "deadline.table_incomplete"


def test_a_weekday_given_twice_in_a_table_is_refused() -> None:
    with pytest.raises(InvalidInput) as caught:
        WeekdayTable([(MON, DueOn(THU, dt.time(17))), (MON, DueOn(FRI, dt.time(17)))])
    assert caught.value.code == "deadline.table_duplicate"


# -- day of the previous month ----------------------------------------------------------------


def test_everything_of_march_is_due_on_15_february_at_2359(repas: DeadlineContext) -> None:
    rule = DayOfPreviousMonth(15, dt.time(23, 59))
    assert rule.instant(dt.date(2027, 3, 1), repas) == paris(2027, 2, 15, 23, 59)
    assert rule.instant(dt.date(2027, 3, 31), repas) == paris(2027, 2, 15, 23, 59)


def test_a_day_beyond_the_month_means_its_last_day(repas: DeadlineContext) -> None:
    rule = DayOfPreviousMonth(31, dt.time(12))
    assert rule.instant(dt.date(2027, 3, 8), repas) == paris(2027, 2, 28, 12)
    assert rule.instant(dt.date(2026, 12, 3), repas) == paris(2026, 11, 30, 12)
    assert rule.instant(dt.date(2028, 3, 6), context()) == paris(2028, 2, 29, 12)


def test_january_is_due_in_december_of_the_year_before(repas: DeadlineContext) -> None:
    rule = DayOfPreviousMonth(15, dt.time(23, 59), OnClosedDay.PREVIOUS_OPEN_DAY)
    # Tuesday 15 December 2026 is a canteen day: nothing moves.
    assert rule.instant(dt.date(2027, 1, 4), repas) == paris(2026, 12, 15, 23, 59)
    # Sunday 15 November 2026 moves back to Friday 13.
    assert rule.instant(dt.date(2026, 12, 1), repas) == paris(2026, 11, 13, 23, 59)


@pytest.mark.parametrize("day", [0, 32, True])
def test_a_day_of_the_month_outside_1_to_31_is_refused(day: int) -> None:
    with pytest.raises(InvalidInput) as caught:
        DayOfPreviousMonth(day, dt.time(12))
    assert caught.value.code == "deadline.day_of_month"


def test_negative_days_and_hours_are_refused() -> None:
    for build in (lambda: DaysBefore(-1, dt.time(10)), lambda: HoursBefore(-2), lambda: Horizon(-1)):
        with pytest.raises(InvalidInput) as caught:
            build()
        assert caught.value.code == "deadline.negative"


def test_a_number_of_days_must_be_a_whole_number() -> None:
    with pytest.raises(InvalidInput) as caught:
        DaysBefore("3", dt.time(10))  # type: ignore[arg-type]
    assert caught.value.code == "input.not_an_int"


def test_a_deadline_with_no_open_day_to_move_to_is_refused() -> None:
    september = Opening([MON], season=DateRange(dt.date(2026, 9, 1), dt.date(2026, 9, 30)))
    calendar = zone_b()
    short = context()
    short = DeadlineContext(
        calendar, attrs.evolve(short.prestation, opening=september), OpeningCalendar(september, calendar)
    )
    moved = DaysBefore(1, dt.time(10), on_closed_day=OnClosedDay.PREVIOUS_OPEN_DAY)
    assert moved.instant(dt.date(2026, 10, 6), short) == paris(2026, 9, 28, 10)
    with pytest.raises(InvalidInput) as caught:
        moved.instant(dt.date(2027, 12, 6), short)
    assert caught.value.code == "calendar.no_open_day"


def test_an_aware_time_of_day_is_refused() -> None:
    with pytest.raises(InvalidInput) as caught:
        DaysBefore(1, dt.time(10, tzinfo=UTC))
    assert caught.value.code == "input.not_a_time"


# -- judging a booking or a cancellation ------------------------------------------------------

J3 = DaysBefore(3, dt.time(12), DayCounting.JOURS_OUVRES)
TUESDAY = dt.date(2026, 11, 17)


def test_a_late_cancellation_is_refused_with_the_sentence_a_parent_reads(repas: DeadlineContext) -> None:
    decision = judge_cancellation(BookingRules(J3, J3), TUESDAY, paris(2026, 11, 12, 12, second=1), repas)
    assert decision.outcome is DeadlineOutcome.REFUSED
    assert decision.request is Request.CANCELLATION
    assert decision.code == "deadline.cancellation_expired"
    assert decision.deadline == paris(2026, 11, 12, 12)
    assert (
        decision.message_fr
        == "Annulation impossible : le délai a expiré le jeudi 12 novembre 2026 à 12 h 00."
    )
    assert (
        decision.message
        == "Cancellation not possible: the deadline passed on Thursday 12 November 2026 at 12:00."
    )
    assert decision.is_refused
    assert decision.is_late


def test_a_request_exactly_at_the_deadline_is_in_time(repas: DeadlineContext) -> None:
    rules = BookingRules(J3, J3)
    for judge in (judge_booking, judge_cancellation):
        decision = judge(rules, TUESDAY, paris(2026, 11, 12, 12), repas)
        assert decision.outcome is DeadlineOutcome.ACCEPTED
        assert decision.code == "deadline.in_time"
        assert not decision.is_late
    booking = judge_booking(rules, TUESDAY, paris(2026, 11, 12, 12), repas)
    assert booking.explain() == "Réservation possible jusqu'au jeudi 12 novembre 2026 à 12 h 00."
    assert booking.explain("en") == "Booking possible until Thursday 12 November 2026 at 12:00."


def test_now_in_another_time_zone_is_the_same_instant(repas: DeadlineContext) -> None:
    rules = BookingRules(J3, J3)
    just_after = dt.datetime(2026, 11, 12, 11, 0, 1, tzinfo=UTC)  # 12:00:01 in Paris
    assert judge_booking(rules, TUESDAY, just_after, repas).code == "deadline.booking_expired"


def test_a_naive_now_is_refused(repas: DeadlineContext) -> None:
    with pytest.raises(InvalidInput) as caught:
        judge_booking(BookingRules(J3, J3), TUESDAY, dt.datetime(2026, 11, 12, 10), repas)
    assert caught.value.code == "input.naive_datetime"


def test_a_datetime_is_not_a_day(repas: DeadlineContext) -> None:
    with pytest.raises(InvalidInput) as caught:
        judge_cancellation(BookingRules(J3, J3), paris(2026, 11, 17), paris(2026, 11, 1), repas)
    assert caught.value.code == "input.not_a_date"


LATE = paris(2026, 11, 16, 9)  # after Thursday's deadline, before Tuesday's meal


def test_a_late_booking_with_a_percent_surcharge(repas: DeadlineContext) -> None:
    rules = BookingRules(J3, J3, after_booking_deadline=Surcharge(percent=Decimal("20")))
    decision = judge_booking(rules, TUESDAY, LATE, repas)
    assert decision.outcome is DeadlineOutcome.ACCEPTED_WITH_SURCHARGE
    assert decision.code == "deadline.late_booking_surcharge"
    assert decision.policy == Surcharge(percent=Decimal("20"))
    assert decision.message_fr == (
        "Réservation acceptée hors délai (délai expiré le jeudi 12 novembre 2026 à 12 h 00) : "
        "majoration de 20\xa0%."
    )
    assert decision.message.endswith("with a surcharge of 20%.")


def test_a_late_booking_with_a_fixed_surcharge(repas: DeadlineContext) -> None:
    rules = BookingRules(J3, J3, after_booking_deadline=Surcharge(amount=Money("1.50")))
    decision = judge_booking(rules, TUESDAY, LATE, repas)
    assert decision.outcome is DeadlineOutcome.ACCEPTED_WITH_SURCHARGE
    assert decision.message_fr.endswith("majoration de 1,50\xa0€.")


def test_a_late_booking_at_an_exceptional_tariff(repas: DeadlineContext) -> None:
    rules = BookingRules(J3, J3, after_booking_deadline=ExceptionalTariff(Money("6.80")))
    decision = judge_booking(rules, TUESDAY, LATE, repas)
    assert decision.outcome is DeadlineOutcome.EXCEPTIONAL_TARIFF
    assert decision.code == "deadline.late_booking_exceptional_tariff"
    assert decision.message_fr.endswith("au tarif exceptionnel de 6,80\xa0€.")


def test_a_late_booking_goes_on_the_waiting_list(repas: DeadlineContext) -> None:
    rules = BookingRules(J3, J3, after_booking_deadline=WaitingList())
    decision = judge_booking(rules, TUESDAY, LATE, repas)
    assert decision.outcome is DeadlineOutcome.WAITING_LIST
    assert decision.code == "deadline.late_booking_waiting_list"
    assert decision.message_fr == (
        "Délai de réservation expiré le jeudi 12 novembre 2026 à 12 h 00 : "
        "la demande est inscrite sur liste d'attente."
    )


def test_no_policy_lets_a_booking_in_once_the_meal_has_begun(repas: DeadlineContext) -> None:
    rules = BookingRules(J3, J3, after_booking_deadline=WaitingList())
    decision = judge_booking(rules, TUESDAY, paris(2026, 11, 17, 11, 45), repas)
    assert decision.outcome is DeadlineOutcome.REFUSED
    assert decision.code == "deadline.started"
    assert (
        decision.message_fr
        == "Réservation impossible : « Repas » a commencé le mardi 17 novembre 2026 à 11 h 45."
    )


def test_a_late_cancellation_with_a_fee_or_at_an_exceptional_tariff(repas: DeadlineContext) -> None:
    with_fee = BookingRules(J3, J3, after_cancellation_deadline=Surcharge(percent=Decimal("50")))
    decision = judge_cancellation(with_fee, TUESDAY, LATE, repas)
    assert decision.code == "deadline.late_cancellation_surcharge"
    assert decision.message_fr.endswith("des frais de 50\xa0% seront facturés.")
    at_tariff = BookingRules(J3, J3, after_cancellation_deadline=ExceptionalTariff(Money("2")))
    decision = judge_cancellation(at_tariff, TUESDAY, LATE, repas)
    assert decision.outcome is DeadlineOutcome.EXCEPTIONAL_TARIFF
    assert decision.message_fr.endswith("elle sera facturée 2,00\xa0€.")
    after_start = judge_cancellation(at_tariff, TUESDAY, paris(2026, 11, 17, 12), repas)
    assert after_start.code == "deadline.started"
    assert after_start.message_fr.endswith("signalez plutôt une absence.")


def test_a_late_cancellation_cannot_go_on_a_waiting_list() -> None:
    with pytest.raises(InvalidInput) as caught:
        BookingRules(J3, J3, after_cancellation_deadline=WaitingList())
    assert caught.value.code == "deadline.cancellation_waiting_list"


@pytest.mark.parametrize(
    ("percent", "amount"),
    [(None, None), (Decimal("10"), Money("1")), (Decimal("0"), None), (None, Money("-1"))],
)
def test_a_surcharge_is_exactly_one_positive_percent_or_amount(
    percent: Decimal | None, amount: Money | None
) -> None:
    with pytest.raises(InvalidInput) as caught:
        Surcharge(percent=percent, amount=amount)
    assert caught.value.code == "deadline.surcharge"


def test_a_float_percent_and_a_negative_tariff_are_refused() -> None:
    with pytest.raises(InvalidInput) as caught:
        Surcharge(percent=0.2)
    assert caught.value.code == "money.float_rejected"
    with pytest.raises(InvalidInput) as caught:
        ExceptionalTariff(Money("-2"))
    assert caught.value.code == "deadline.exceptional_tariff"


# -- horizon and registration windows ---------------------------------------------------------


def test_a_four_week_horizon(repas: DeadlineContext) -> None:
    rules = BookingRules(J3, J3, horizon=Horizon(4))
    now = paris(2026, 10, 19, 10)
    assert judge_booking(rules, dt.date(2026, 11, 16), now, repas).outcome is DeadlineOutcome.ACCEPTED
    decision = judge_booking(rules, dt.date(2026, 11, 17), now, repas)
    assert decision.code == "deadline.beyond_horizon"
    assert decision.opens == paris(2026, 10, 20)
    assert decision.message_fr == (
        "Réservation pas encore ouverte : cette date se réserve au plus 4 semaines à l'avance, "
        "à partir du mardi 20 octobre 2026 à 0 h 00."
    )
    assert decision.message == (
        "Booking not open yet: this date can be booked at most 4 weeks ahead, "
        "from Tuesday 20 October 2026 at 00:00."
    )
    assert judge_booking(rules, dt.date(2026, 11, 17), paris(2026, 10, 20), repas).is_late is False


def test_a_one_week_horizon_reads_in_the_singular(repas: DeadlineContext) -> None:
    decision = judge_booking(BookingRules(J3, J3, horizon=Horizon(1)), TUESDAY, paris(2026, 11, 2), repas)
    assert "au plus 1 semaine à l'avance" in decision.message_fr
    assert "at most 1 week ahead" in decision.message


WINTER = DateRange(dt.date(2027, 2, 22), dt.date(2027, 3, 5))  # zone B winter holidays 2027
WINTER_WINDOW = RegistrationWindow(
    opens=paris(2027, 1, 11, 9),
    closes=paris(2027, 1, 31, 23, 59),
    resident_opens=paris(2027, 1, 4, 9),
    period=WINTER,
)
ALSH_RULES = BookingRules(DaysBefore(7, dt.time(12)), DaysBefore(7, dt.time(12)), windows=[WINTER_WINDOW])


def test_residents_register_a_week_before_everyone_else(commune: Commune) -> None:
    day, now = dt.date(2027, 2, 23), paris(2027, 1, 5, 10)
    resident = commune.deadline_context("journee", resident=True)
    outsider = commune.deadline_context("journee", resident=False)
    assert judge_booking(ALSH_RULES, day, now, resident).outcome is DeadlineOutcome.ACCEPTED
    refused = judge_booking(ALSH_RULES, day, now, outsider)
    assert refused.code == "deadline.window_not_open"
    assert refused.opens == paris(2027, 1, 11, 9)
    assert (
        refused.message_fr
        == "Inscriptions pas encore ouvertes : elles ouvriront le lundi 11 janvier 2027 à 9 h 00."
    )


def test_registration_closes_before_the_booking_deadline(commune: Commune) -> None:
    journee = commune.deadline_context("journee")
    decision = judge_booking(ALSH_RULES, dt.date(2027, 2, 23), paris(2027, 2, 1, 8), journee)
    assert decision.code == "deadline.window_closed"
    assert decision.deadline == paris(2027, 1, 31, 23, 59)
    assert (
        decision.message_fr
        == "Inscription impossible : les inscriptions ont fermé le dimanche 31 janvier 2027 à 23 h 59."
    )
    in_time = judge_booking(ALSH_RULES, dt.date(2027, 2, 23), paris(2027, 1, 31, 23, 59), journee)
    assert in_time.deadline == paris(2027, 1, 31, 23, 59)


def test_a_window_closing_late_leaves_the_booking_deadline_in_charge(commune: Commune) -> None:
    late_window = RegistrationWindow(paris(2027, 1, 11, 9), paris(2027, 3, 5, 18), period=WINTER)
    rules = BookingRules(DaysBefore(7, dt.time(12)), DaysBefore(7, dt.time(12)), windows=[late_window])
    decision = judge_booking(
        rules, dt.date(2027, 2, 23), paris(2027, 2, 17, 9), commune.deadline_context("journee")
    )
    assert decision.code == "deadline.booking_expired"
    assert decision.deadline == paris(2027, 2, 16, 12)


def test_a_date_no_window_covers_cannot_be_booked(commune: Commune) -> None:
    decision = judge_booking(
        ALSH_RULES, dt.date(2027, 4, 20), paris(2027, 1, 20), commune.deadline_context("journee")
    )
    assert decision.code == "deadline.no_window"
    assert decision.message_fr == (
        "Inscription impossible : aucune période d'inscription n'est ouverte pour le mardi 20 avril 2027."
    )


def test_window_instants_are_shown_on_the_communes_clock(commune: Commune) -> None:
    utc_window = RegistrationWindow(
        dt.datetime(2027, 1, 11, 8, tzinfo=UTC), dt.datetime(2027, 1, 31, 22, tzinfo=UTC)
    )
    rules = BookingRules(DaysBefore(7, dt.time(12)), DaysBefore(7, dt.time(12)), windows=[utc_window])
    decision = judge_booking(
        rules, dt.date(2027, 2, 23), paris(2027, 1, 5), commune.deadline_context("journee")
    )
    assert decision.message_fr.endswith("le lundi 11 janvier 2027 à 9 h 00.")


def test_a_window_that_closes_before_it_opens_is_refused() -> None:
    with pytest.raises(InvalidInput) as caught:
        RegistrationWindow(paris(2027, 1, 31), paris(2027, 1, 11))
    assert caught.value.code == "deadline.window_order"


def test_residents_cannot_open_after_everyone_else() -> None:
    with pytest.raises(InvalidInput) as caught:
        RegistrationWindow(paris(2027, 1, 11), paris(2027, 1, 31), resident_opens=paris(2027, 1, 12))
    assert caught.value.code == "deadline.resident_opening_late"


def test_naive_window_instants_are_refused() -> None:
    with pytest.raises(InvalidInput) as caught:
        RegistrationWindow(dt.datetime(2027, 1, 11), paris(2027, 1, 31))
    assert caught.value.code == "input.naive_datetime"
    with pytest.raises(InvalidInput) as caught:
        RegistrationWindow(dt.date(2027, 1, 11), paris(2027, 1, 31))  # type: ignore[arg-type]
    assert caught.value.code == "input.not_a_datetime"


def test_overlapping_windows_are_refused() -> None:
    other = RegistrationWindow(
        paris(2027, 1, 4), paris(2027, 1, 20), period=DateRange(dt.date(2027, 3, 1), dt.date(2027, 3, 12))
    )
    with pytest.raises(InvalidInput) as caught:
        BookingRules(J3, J3, windows=[WINTER_WINDOW, other])
    assert caught.value.code == "deadline.windows_overlap"


# -- load-time checks against the prestation --------------------------------------------------


def test_rules_are_checked_against_their_prestation(commune: Commune) -> None:
    journee = commune.prestation("journee")
    check_booking_rules(BookingRules(J3, HoursBefore(48)), journee)
    no_start = context(start=None).prestation
    with pytest.raises(InvalidConfiguration) as caught:
        check_booking_rules(BookingRules(J3, HoursBefore(48)), no_start)
    assert (caught.value.code, caught.value.path) == (
        "deadline.needs_start",
        "services.cantine.prestations.p.booking.cancellation_deadline",
    )
    with pytest.raises(InvalidConfiguration) as caught:
        check_booking_rules(BookingRules(DaysBefore(0, dt.time(10)), J3), commune.prestation("matin"))
    assert (caught.value.code, caught.value.path) == (
        "deadline.after_start",
        "services.periscolaire.prestations.matin.booking.deadline.at",
    )
    check_booking_rules(BookingRules(DaysBefore(0, dt.time(10)), J3), commune.prestation("repas"))
    with pytest.raises(InvalidConfiguration) as caught:
        check_booking_rules(BookingRules(TABLE, J3), journee, path="x")
    assert (caught.value.code, caught.value.path) == ("deadline.table_incomplete", "x.deadline.table")
    check_booking_rules(BookingRules(TABLE, J3), commune.prestation("repas"))


# -- configuration as data --------------------------------------------------------------------

CANTINE_TOML = """
[booking]
deadline = { pattern = "days_before", days = 3, counting = "jours_ouvres", at = 11:00:00 }
after_deadline = { policy = "surcharge", percent = "20" }
after_cancellation_deadline = { policy = "exceptional_tariff", unit_price = "2.10" }
horizon_weeks = 8

[booking.cancellation_deadline]
pattern = "previous_weekday"
weekday = "thursday"
at = 12:00:00
on_closed_day = "previous_open_day"

[[booking.windows]]
opens = 2027-01-11T09:00:00+01:00
closes = 2027-01-31T23:59:00+01:00
resident_opens = 2027-01-04T09:00:00+01:00
period = { start = 2027-02-22, end = 2027-03-05 }
"""


def test_booking_rules_read_from_toml() -> None:
    rules = booking_rules_from_dict(tomllib.loads(CANTINE_TOML)["booking"], BOOKING)
    assert rules == BookingRules(
        DaysBefore(3, dt.time(11), DayCounting.JOURS_OUVRES),
        PreviousWeekday(THU, dt.time(12), OnClosedDay.PREVIOUS_OPEN_DAY),
        Surcharge(percent=Decimal("20")),
        ExceptionalTariff(Money("2.10")),
        Horizon(8),
        [WINTER_WINDOW],
    )


def test_booking_rules_written_then_read_back_are_equal() -> None:
    rules = booking_rules_from_dict(tomllib.loads(CANTINE_TOML)["booking"], BOOKING)
    text = tomli_w.dumps({"booking": booking_rules_to_dict(rules)})
    assert booking_rules_from_dict(tomllib.loads(text)["booking"], BOOKING) == rules
    minimal = BookingRules(J3, J3)
    assert booking_rules_to_dict(minimal) == {
        "deadline": deadline_to_dict(J3),
        "cancellation_deadline": deadline_to_dict(J3),
    }


@pytest.mark.parametrize(
    "deadline",
    [
        DaysBefore(3, dt.time(11), DayCounting.OPENING_DAYS, skip_public_holidays=False),
        HoursBefore(48, OnClosedDay.PREVIOUS_OPEN_DAY),
        WeekdayOfPreviousWeek(WED, dt.time(18)),
        PreviousWeekday(TUE, dt.time(10)),
        TABLE,
        DayOfPreviousMonth(15, dt.time(23, 59), OnClosedDay.PREVIOUS_OPEN_DAY),
    ],
)
def test_every_pattern_round_trips_through_toml(deadline: Deadline) -> None:
    text = tomli_w.dumps({"d": deadline_to_dict(deadline)})
    assert deadline_from_dict(tomllib.loads(text)["d"], "d") == deadline


def test_weekday_table_in_toml_accepts_french_day_names() -> None:
    data = tomllib.loads(
        'd = { pattern = "weekday_table", table = { lundi = { weekday = "jeudi", at = 17:00:00 } } }'
    )["d"]
    assert deadline_from_dict(data, "d") == WeekdayTable({MON: DueOn(THU, dt.time(17))})


def test_every_policy_reads_from_toml() -> None:
    assert policy_from_dict({"policy": "refuse"}, "p") == Refuse()
    assert policy_from_dict({"policy": "waiting_list"}, "p") == WaitingList()
    assert policy_from_dict({"policy": "surcharge", "amount": "1.50"}, "p") == Surcharge(amount=Money("1.50"))
    assert policy_from_dict({"policy": "surcharge", "percent": 15}, "p") == Surcharge(percent=Decimal(15))


@pytest.mark.parametrize(
    "policy",
    [
        Refuse(),
        WaitingList(),
        Surcharge(percent=Decimal("12.5")),
        Surcharge(amount=Money("1.50")),
        ExceptionalTariff(Money("6.80")),
    ],
)
def test_every_policy_round_trips_through_toml(policy: AfterDeadlinePolicy) -> None:
    text = tomli_w.dumps({"p": policy_to_dict(policy)})
    assert policy_from_dict(tomllib.loads(text)["p"], "p") == policy


def bad(toml: str, path: str = BOOKING) -> InvalidConfiguration:
    base = (
        'deadline = { pattern = "days_before", days = 3, at = 11:00:00 }\n'
        'cancellation_deadline = { pattern = "days_before", days = 3, at = 11:00:00 }\n'
    )
    data = tomllib.loads(toml if toml.startswith("deadline =") else base + toml)
    with pytest.raises(InvalidConfiguration) as caught:
        booking_rules_from_dict(data, path)
    return caught.value


@pytest.mark.parametrize(
    ("toml", "code", "key"),
    [
        (
            'deadline = { pattern = "fortnightly", at = 11:00:00 }',
            "config.unknown_pattern",
            "deadline.pattern",
        ),
        (
            'deadline = { pattern = "days_before", at = 11:00:00 }',
            "config.missing_key",
            "deadline.days",
        ),
        (
            'deadline = { pattern = "days_before", days = -1, at = 11:00:00 }',
            "deadline.negative",
            "deadline.days",
        ),
        (
            'deadline = { pattern = "days_before", days = 3, at = 11:00:00, hour = 11 }',
            "config.unknown_key",
            "deadline.hour",
        ),
        (
            'deadline = { pattern = "days_before", days = 3, at = "11:00" }',
            "config.type",
            "deadline.at",
        ),
        (
            'deadline = { pattern = "days_before", days = 3, at = 11:00:00, counting = "ouvres" }',
            "config.choice",
            "deadline.counting",
        ),
        (
            'deadline = { pattern = "days_before", days = 3, at = 11:00:00, skip_public_holidays = 1 }',
            "config.type",
            "deadline.skip_public_holidays",
        ),
        (
            'deadline = { pattern = "previous_weekday", weekday = "someday", at = 10:00:00 }',
            "calendar.unknown_weekday",
            "deadline.weekday",
        ),
        (
            'deadline = { pattern = "previous_weekday", weekday = 2, at = 10:00:00 }',
            "config.type",
            "deadline.weekday",
        ),
        (
            'deadline = { pattern = "day_of_previous_month", day = 32, at = 10:00:00 }',
            "deadline.day_of_month",
            "deadline.day",
        ),
        (
            'deadline = { pattern = "weekday_table", '
            'table = { noday = { weekday = "monday", at = 10:00:00 } } }',
            "calendar.unknown_weekday",
            "deadline.table.noday",
        ),
        (
            'deadline = { pattern = "weekday_table", table = {} }',
            "input.invalid",
            "deadline.table",
        ),
        (
            'deadline = { pattern = "hours_before", hours = 48 }\ncancellation_deadline = 1',
            "config.type",
            "cancellation_deadline",
        ),
        (
            'deadline = { pattern = "hours_before", hours = 48 }',
            "config.missing_key",
            "cancellation_deadline",
        ),
        ("horizon_weeks = -2", "deadline.negative", "horizon_weeks"),
        ("horizon_weeks = 2.5", "config.type", "horizon_weeks"),
        ("reminder = true", "config.unknown_key", "reminder"),
        ('after_deadline = { policy = "fine" }', "config.unknown_policy", "after_deadline.policy"),
        (
            'after_deadline = { policy = "surcharge", percent = 0.2 }',
            "config.float_amount",
            "after_deadline.percent",
        ),
        (
            'after_deadline = { policy = "surcharge", percent = true }',
            "config.type",
            "after_deadline.percent",
        ),
        (
            'after_deadline = { policy = "surcharge", amount = "1,505" }',
            "money.sub_cent",
            "after_deadline.amount",
        ),
        (
            'after_deadline = { policy = "surcharge", amount = "lots" }',
            "money.not_a_number",
            "after_deadline.amount",
        ),
        ('after_deadline = { policy = "surcharge" }', "deadline.surcharge", "after_deadline"),
        (
            'after_deadline = { policy = "exceptional_tariff" }',
            "config.missing_key",
            "after_deadline.unit_price",
        ),
        (
            'after_deadline = { policy = "exceptional_tariff", unit_price = "-1" }',
            "deadline.exceptional_tariff",
            "after_deadline.unit_price",
        ),
        (
            'after_cancellation_deadline = { policy = "waiting_list" }',
            "deadline.cancellation_waiting_list",
            "after_cancellation_deadline.policy",
        ),
        ("windows = { opens = 2027-01-11T09:00:00+01:00 }", "config.type", "windows"),
        ("windows = [1]", "config.type", "windows[0]"),
        (
            "windows = [{ opens = 2027-01-11T09:00:00+01:00, closes = 2027-01-31T09:00:00+01:00, "
            'period = { start = "2027-02-22", end = 2027-03-05 } }]',
            "config.type",
            "windows[0].period.start",
        ),
        (
            "windows = [{ opens = 2027-01-31T09:00:00+01:00, closes = 2027-01-11T09:00:00+01:00 }]",
            "deadline.window_order",
            "windows[0]",
        ),
        (
            "windows = [{ opens = 2027-01-11T09:00:00+01:00, closes = 2027-01-31T09:00:00+01:00, "
            "resident_opens = 2027-01-12T09:00:00+01:00 }]",
            "deadline.resident_opening_late",
            "windows[0]",
        ),
        (
            "windows = [{ opens = 2027-01-11T09:00:00, closes = 2027-01-31T09:00:00+01:00 }]",
            "input.naive_datetime",
            "windows[0].opens",
        ),
        (
            "windows = [{ opens = 2027-01-11, closes = 2027-01-31T09:00:00+01:00 }]",
            "config.type",
            "windows[0].opens",
        ),
        (
            "windows = [{ opens = 2027-01-11T09:00:00+01:00, closes = 2027-01-31T09:00:00+01:00, "
            "period = { start = 2027-03-05, end = 2027-02-22 } }]",
            "input.end_before_start",
            "windows[0].period.end",
        ),
        (
            "windows = [{ opens = 2027-01-11T09:00:00+01:00, closes = 2027-01-31T09:00:00+01:00, "
            "period = { start = 2027-02-22, end = 2027-03-05 } },"
            " { opens = 2027-01-11T09:00:00+01:00, closes = 2027-01-31T09:00:00+01:00 }]",
            "deadline.windows_overlap",
            "windows",
        ),
    ],
)
def test_configuration_errors_name_the_key_and_a_stable_code(toml: str, code: str, key: str) -> None:
    error = bad(toml)
    assert (error.code, error.path) == (code, f"{BOOKING}.{key}")
    assert error.path in str(error)


def test_a_booking_table_that_is_not_a_table_is_refused() -> None:
    with pytest.raises(InvalidConfiguration) as caught:
        booking_rules_from_dict([], BOOKING)  # type: ignore[arg-type]
    assert (caught.value.code, caught.value.path) == ("config.type", BOOKING)


def test_a_window_read_on_its_own() -> None:
    data = tomllib.loads(
        "w = { opens = 2027-01-11T09:00:00+01:00, closes = 2027-01-31T23:59:00+01:00, "
        "resident_opens = 2027-01-04T09:00:00+01:00, period = { start = 2027-02-22, end = 2027-03-05 } }"
    )["w"]
    assert window_from_dict(data, "w") == WINTER_WINDOW


def test_a_window_for_every_date_round_trips_through_toml() -> None:
    window = RegistrationWindow(paris(2027, 1, 11, 9), paris(2027, 1, 31, 23, 59))
    text = tomli_w.dumps({"w": window_to_dict(window)})
    assert window_from_dict(tomllib.loads(text)["w"], "w") == window


def test_a_pattern_or_a_policy_is_registered_once_and_rules_take_only_registered_ones() -> None:
    with pytest.raises(InvalidInput) as twice:
        deadline_pattern(DaysBefore)
    assert twice.value.code == "deadline.pattern_twice"
    with pytest.raises(InvalidInput) as again:
        after_deadline_policy(Refuse)
    assert again.value.code == "deadline.policy_twice"
    meal = DaysBefore(3, dt.time(11))
    with pytest.raises(InvalidInput) as not_a_deadline:
        BookingRules(booking_deadline="J-3", cancellation_deadline=meal)  # type: ignore[arg-type]
    assert not_a_deadline.value.code == "deadline.not_a_deadline"
    with pytest.raises(InvalidInput) as not_a_policy:
        BookingRules(meal, meal, after_booking_deadline="refuse")  # type: ignore[arg-type]
    assert not_a_policy.value.code == "deadline.not_a_policy"
