"""The family calendar view, pinned to November 2026 at Saint-Aubin-des-Prés (zone B, metropole):
the Armistice on Wednesday 11 November, the périscolaire training day on Friday 27 November,
week 47 from Monday 16 to Sunday 22 November."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import attrs
import pytest

from espacefamille.calendar.opening import Closure, ClosureReason
from espacefamille.calendar.periods import DateRange
from espacefamille.commune import Commune
from espacefamille.errors import InvalidInput, NotFound
from espacefamille.model import Booking, BookingStatus, Child, Enrolment, SchoolClass
from espacefamille.money import Money
from espacefamille.rules.attendance import AttendanceFact, AttendanceStatus
from espacefamille.rules.calendar_view import CalendarView, CellState, family_calendar
from espacefamille.rules.capacity import PlaceLedger
from espacefamille.rules.policies import ExceptionalTariff, Surcharge, judge_booking

PARIS = ZoneInfo("Europe/Paris")
SCHOOL_YEAR = DateRange(dt.date(2026, 9, 1), dt.date(2027, 7, 3))
NOVEMBER = DateRange.month(2026, 11)
LEA = Child("lea", "Léa", "Martin", dt.date(2018, 5, 3), ("martin",), school_class=SchoolClass.CE2)
ENROLMENTS = (
    Enrolment("e-cantine", "lea", "martin", "cantine", SCHOOL_YEAR),
    Enrolment("e-peri", "lea", "martin", "periscolaire", SCHOOL_YEAR),
    Enrolment("e-alsh", "lea", "martin", "alsh", DateRange(dt.date(2026, 10, 19), dt.date(2027, 8, 27))),
)
BOOKED_AT = dt.datetime(2026, 10, 1, 20, 0, tzinfo=PARIS)


def paris(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=PARIS)


def booking(prestation: str, day: dt.date, status: BookingStatus = BookingStatus.BOOKED) -> Booking:
    return Booking("lea", prestation, day, "martin", status, BOOKED_AT)


def view(
    commune: Commune,
    now: dt.datetime,
    period: DateRange = NOVEMBER,
    prestations: tuple[str, ...] = ("matin", "repas", "soir", "mercredi_journee"),
    **kwargs: object,
) -> CalendarView:
    return family_calendar(
        commune,
        LEA,
        period,
        now=now,
        enrolments=kwargs.pop("enrolments", ENROLMENTS),  # type: ignore[arg-type]
        prestation_ids=prestations,
        **kwargs,  # type: ignore[arg-type]
    )


# -- weeks, rows, closed days ------------------------------------------------------------------


def test_week_47_has_the_portal_label_and_one_row_per_day(commune: Commune) -> None:
    week = family_calendar(
        commune,
        LEA,
        DateRange.iso_week(2026, 47),
        now=paris(2026, 11, 9, 10),
        enrolments=ENROLMENTS,
        service_id="periscolaire",
    )
    assert [(w.year, w.week) for w in week.weeks] == [(2026, 47)]
    assert week.weeks[0].label == "Semaine 47 du lundi 16 novembre 2026 au dimanche 22 novembre 2026"
    assert [row.day for row in week.days] == list(DateRange.iso_week(2026, 47))
    assert week.days[0].label == "lundi 16 novembre 2026"
    assert week.prestation_ids == ("matin", "soir", "mercredi_journee", "mercredi_matin")
    assert all(len(row.cells) == 4 for row in week.days)


def test_a_month_is_split_into_iso_weeks_labelled_whole(commune: Commune) -> None:
    month = view(commune, paris(2026, 11, 9, 10))
    assert [w.week for w in month.weeks] == [44, 45, 46, 47, 48, 49]
    # November starts on a Sunday: week 44 shows that one day but is labelled from Monday 26 October.
    assert [row.day for row in month.weeks[0].days] == [dt.date(2026, 11, 1)]
    assert month.weeks[0].label == "Semaine 44 du lundi 26 octobre 2026 au dimanche 1er novembre 2026"
    assert len(month.cells) == 30 * 4


def test_the_armistice_is_closed_with_its_name(commune: Commune) -> None:
    cell = view(commune, paris(2026, 11, 2, 10)).cell("repas", dt.date(2026, 11, 11))
    assert cell.code == "view.closed"
    assert cell.reason_code == "calendar.closed.public_holiday"
    assert cell.label == "Fermé"
    assert cell.sentence == "Fermé : jour férié (Armistice)."
    assert cell.is_closed
    assert not cell.is_bookable


def test_the_training_day_closes_the_periscolaire_but_not_the_canteen(commune: Commune) -> None:
    month = view(commune, paris(2026, 11, 9, 10))
    evening = month.cell("soir", dt.date(2026, 11, 27))
    assert evening.state is CellState.CLOSED
    assert evening.reason_code == "calendar.closed.closure"
    assert evening.sentence == "Fermé : journée de formation des animateurs."
    assert month.cell("repas", dt.date(2026, 11, 27)).state is CellState.BOOKABLE


def test_a_strike_declared_since_closes_only_its_service(commune: Commune) -> None:
    strike = Closure(DateRange(dt.date(2026, 11, 19), dt.date(2026, 11, 19)), ClosureReason.STRIKE)
    month = view(commune, paris(2026, 11, 9, 10), closures={"cantine": [strike]})
    assert month.cell("repas", dt.date(2026, 11, 19)).sentence == "Fermé : grève."
    assert month.cell("soir", dt.date(2026, 11, 19)).state is CellState.BOOKABLE


def test_weekdays_without_service_say_so(commune: Commune) -> None:
    cell = view(commune, paris(2026, 11, 9, 10)).cell("repas", dt.date(2026, 11, 18))
    assert cell.sentence == "Pas de service le mercredi."


# -- booking --------------------------------------------------------------------------------


def test_a_meal_is_bookable_until_three_working_days_before_at_eleven(commune: Commune) -> None:
    cell = view(commune, paris(2026, 11, 9, 10)).cell("repas", dt.date(2026, 11, 17))
    assert cell.code == "view.bookable"
    assert cell.reason_code == "deadline.in_time"
    assert cell.booking_deadline == paris(2026, 11, 12, 11)
    assert cell.sentence == "Réservable jusqu'au jeudi 12 novembre 2026 à 11 h 00."
    assert cell.is_bookable
    assert not cell.is_booked


def test_evenings_of_a_week_share_the_wednesday_deadline_of_the_week_before(commune: Commune) -> None:
    month = view(commune, paris(2026, 11, 9, 10))
    deadlines = {
        month.cell("soir", day).booking_deadline
        for day in DateRange.iso_week(2026, 47)
        if day.weekday() != 2 and day.weekday() < 5
    }
    assert deadlines == {paris(2026, 11, 11, 18)}


def test_a_late_meal_is_bookable_with_the_surcharge(commune: Commune) -> None:
    cell = view(commune, paris(2026, 11, 13, 9)).cell("repas", dt.date(2026, 11, 17))
    assert cell.state is CellState.BOOKABLE_LATE
    assert cell.reason_code == "deadline.late_booking_surcharge"
    assert cell.sentence == (
        "Réservable hors délai (délai expiré le jeudi 12 novembre 2026 à 11 h 00), "
        "avec une majoration de 20\xa0%."
    )


def test_a_late_meal_at_an_exceptional_tariff(commune: Commune) -> None:
    rules = attrs.evolve(
        commune.booking_rules["repas"], after_booking_deadline=ExceptionalTariff(Money("6.50"))
    )
    changed = attrs.evolve(commune, booking_rules={**commune.booking_rules, "repas": rules})
    cell = view(changed, paris(2026, 11, 13, 9)).cell("repas", dt.date(2026, 11, 17))
    assert cell.state is CellState.BOOKABLE_LATE
    assert cell.reason_code == "deadline.late_booking_exceptional_tariff"
    assert "au tarif exceptionnel de 6,50\xa0€" in cell.sentence


def test_once_the_meal_has_started_even_a_surcharge_cannot_book_it(commune: Commune) -> None:
    cell = view(commune, paris(2026, 11, 17, 12)).cell("repas", dt.date(2026, 11, 17))
    assert cell.state is CellState.TOO_LATE
    assert cell.reason_code == "deadline.started"
    assert (
        cell.sentence == "Réservation impossible : « Repas » a commencé le mardi 17 novembre 2026 à 11 h 45."
    )


def test_a_morning_slot_is_too_late_48_hours_before(commune: Commune) -> None:
    now = paris(2026, 11, 14, 8)
    cell = view(commune, now).cell("matin", dt.date(2026, 11, 16))
    assert cell.state is CellState.TOO_LATE
    assert cell.booking_deadline == paris(2026, 11, 14, 7, 30)
    context = commune.deadline_context("matin")
    decision = judge_booking(commune.booking_rules["matin"], dt.date(2026, 11, 16), now, context)
    assert (
        cell.sentence
        == decision.message_fr
        == ("Réservation impossible : le délai a expiré le samedi 14 novembre 2026 à 7 h 30.")
    )


def test_a_late_wednesday_goes_on_the_waiting_list(commune: Commune) -> None:
    cell = view(commune, paris(2026, 11, 14, 9)).cell("mercredi_journee", dt.date(2026, 11, 18))
    assert cell.state is CellState.BOOKABLE_WAITING_LIST
    assert cell.reason_code == "deadline.late_booking_waiting_list"
    assert cell.sentence == (
        "Délai expiré le vendredi 13 novembre 2026 à 12 h 00 : "
        "une réservation serait inscrite sur liste d'attente."
    )


def test_a_full_wednesday_offers_the_next_waiting_position(commune: Commune) -> None:
    day = dt.date(2026, 11, 18)
    capacity = commune.capacities["mercredi_journee"]
    holders = [(f"enfant{i}", day, "elementaire") for i in range(36)]
    ledger, _ = PlaceLedger.restore(capacity, holders, [("tom", day, "elementaire", BOOKED_AT)])
    cell = view(commune, paris(2026, 11, 9, 10), ledgers={"mercredi_journee": ledger}).cell(
        "mercredi_journee", day
    )
    assert cell.state is CellState.BOOKABLE_WAITING_LIST
    assert cell.reason_code == "capacity.waiting_list"
    assert cell.waiting_position == 2
    assert cell.sentence == "Complet : une réservation serait inscrite sur liste d'attente (position 2)."
    # The maternelle group still has places, but Léa is in CE2.
    assert (
        view(commune, paris(2026, 11, 9, 10), ledgers={"mercredi_journee": PlaceLedger(capacity)})
        .cell("mercredi_journee", day)
        .state
        is CellState.BOOKABLE
    )


def test_beyond_the_twelve_week_horizon_booking_is_not_open_yet(commune: Commune) -> None:
    march = view(commune, paris(2026, 11, 9, 10), period=DateRange.month(2027, 3), prestations=("repas",))
    # The winter holidays of zone B end on Monday 8 March; Tuesday 9 March opens 12 weeks before.
    assert march.cell("repas", dt.date(2027, 3, 1)).reason_code == "calendar.closed.school_holidays"
    cell = march.cell("repas", dt.date(2027, 3, 9))
    assert cell.state is CellState.NOT_YET_OPEN
    assert cell.reason_code == "deadline.beyond_horizon"
    assert cell.opens == paris(2026, 12, 15)
    assert cell.sentence.endswith("à partir du mardi 15 décembre 2026 à 0 h 00.")


def test_a_date_opens_at_midnight_twelve_weeks_before(commune: Commune) -> None:
    period, day = DateRange.month(2027, 3), dt.date(2027, 3, 9)
    before = view(commune, paris(2026, 12, 14, 23, 59), period=period, prestations=("repas",))
    assert before.cell("repas", day).state is CellState.NOT_YET_OPEN
    at = view(commune, paris(2026, 12, 15), period=period, prestations=("repas",))
    assert at.cell("repas", day).state is CellState.BOOKABLE


def test_holiday_registration_opens_a_week_earlier_for_residents(commune: Commune) -> None:
    period = DateRange(dt.date(2026, 12, 21), dt.date(2026, 12, 23))
    now = paris(2026, 10, 28, 10)
    resident = view(commune, now, period=period, prestations=("journee",)).cell(
        "journee", dt.date(2026, 12, 21)
    )
    assert resident.state is CellState.BOOKABLE
    # The window closes before the deadline of seven days: the earlier instant is shown.
    assert resident.sentence == "Réservable jusqu'au dimanche 6 décembre 2026 à 23 h 59."
    outsider = view(commune, now, period=period, prestations=("journee",), resident=False)
    cell = outsider.cell("journee", dt.date(2026, 12, 21))
    assert cell.state is CellState.NOT_YET_OPEN
    assert cell.opens == paris(2026, 11, 2, 9)


def test_a_holiday_no_registration_window_covers_is_not_open(commune: Commune) -> None:
    # The spring holidays of zone B (April 2027) have no registration window at the centre.
    april = view(commune, paris(2026, 11, 9, 10), period=DateRange.month(2027, 4), prestations=("journee",))
    states = {cell.state for cell in april.cells if not cell.is_closed}
    assert states == {CellState.NOT_OPEN}
    assert april.cells[0].reason_code in ("calendar.closed.school_period", "deadline.no_window")


def test_a_prestation_without_rules_is_bookable_until_it_starts(commune: Commune) -> None:
    rules = {key: value for key, value in commune.booking_rules.items() if key != "repas"}
    free = attrs.evolve(commune, booking_rules=rules)
    month = view(free, paris(2026, 11, 17, 9))
    today = month.cell("repas", dt.date(2026, 11, 17))
    assert today.state is CellState.BOOKABLE
    assert today.booking_deadline == paris(2026, 11, 17, 11, 45)
    booked = view(free, paris(2026, 11, 17, 12), bookings=[booking("repas", dt.date(2026, 11, 17))])
    cell = booked.cell("repas", dt.date(2026, 11, 17))
    assert cell.state is CellState.BOOKED_NOT_CANCELLABLE
    assert cell.reason_code == "deadline.started"
    assert cell.sentence.endswith(
        "a commencé le mardi 17 novembre 2026 à 11 h 45 ; signalez plutôt une absence."
    )
    later = view(free, paris(2026, 11, 17, 9), bookings=[booking("repas", dt.date(2026, 11, 19))])
    assert later.cell("repas", dt.date(2026, 11, 19)).cancellation_deadline == paris(2026, 11, 19, 11, 45)
    assert (
        view(free, paris(2026, 11, 17, 12)).cell("repas", dt.date(2026, 11, 17)).state is CellState.TOO_LATE
    )


# -- booked days -------------------------------------------------------------------------------


def test_a_booked_meal_is_cancellable_until_its_deadline(commune: Commune) -> None:
    day = dt.date(2026, 11, 19)
    cell = view(commune, paris(2026, 11, 9, 10), bookings=[booking("repas", day)]).cell("repas", day)
    assert cell.code == "view.booked"
    assert cell.cancellation_deadline == paris(2026, 11, 16, 11)
    assert cell.sentence == "Réservé ; annulable jusqu'au lundi 16 novembre 2026 à 11 h 00."
    assert cell.is_booked
    assert not cell.is_bookable


def test_after_the_cancellation_deadline_the_meal_stays_booked(commune: Commune) -> None:
    day = dt.date(2026, 11, 19)
    cell = view(commune, paris(2026, 11, 17, 12), bookings=[booking("repas", day)]).cell("repas", day)
    assert cell.state is CellState.BOOKED_NOT_CANCELLABLE
    assert cell.reason_code == "deadline.cancellation_expired"
    assert (
        cell.sentence
        == "Réservé. Annulation impossible : le délai a expiré le lundi 16 novembre 2026 à 11 h 00."
    )


@pytest.mark.parametrize(
    ("policy", "code", "ending"),
    [
        (
            Surcharge(amount=Money("2")),
            "deadline.late_cancellation_surcharge",
            "avec des frais de 2,00\xa0€.",
        ),
        (
            ExceptionalTariff(Money("4")),
            "deadline.late_cancellation_exceptional_tariff",
            "facturée 4,00\xa0€.",
        ),
    ],
)
def test_a_late_cancellation_a_commune_accepts_with_a_fee(
    commune: Commune, policy: Surcharge | ExceptionalTariff, code: str, ending: str
) -> None:
    rules = attrs.evolve(commune.booking_rules["repas"], after_cancellation_deadline=policy)
    changed = attrs.evolve(commune, booking_rules={**commune.booking_rules, "repas": rules})
    day = dt.date(2026, 11, 19)
    cell = view(changed, paris(2026, 11, 17, 12), bookings=[booking("repas", day)]).cell("repas", day)
    assert cell.state is CellState.BOOKED_CANCELLABLE_LATE
    assert cell.reason_code == code
    assert cell.sentence.startswith(
        "Réservé ; annulation encore possible hors délai (délai expiré le lundi 16 novembre 2026 à 11 h 00), "
    )
    assert cell.sentence.endswith(ending)


def test_a_held_booking_awaits_its_payment(commune: Commune) -> None:
    day = dt.date(2026, 12, 21)
    held = view(
        commune,
        paris(2026, 11, 9, 10),
        period=DateRange(day, day),
        prestations=("journee",),
        bookings=[booking("journee", day, BookingStatus.HELD)],
    ).cell("journee", day)
    assert held.state is CellState.HELD
    assert held.sentence == "Réservation retenue en attente du paiement en ligne."
    assert held.is_booked


def test_the_waiting_position_comes_from_the_ledger(commune: Commune) -> None:
    day = dt.date(2026, 11, 25)
    capacity = commune.capacities["mercredi_journee"]
    holders = [(f"enfant{i}", day, "elementaire") for i in range(36)]
    waiting = [("tom", day, "elementaire", BOOKED_AT), ("lea", day, "elementaire", paris(2026, 10, 2))]
    ledger, _ = PlaceLedger.restore(capacity, holders, waiting)
    request = booking("mercredi_journee", day, BookingStatus.WAITING)
    with_ledger = view(
        commune, paris(2026, 11, 9, 10), bookings=[request], ledgers={"mercredi_journee": ledger}
    )
    cell = with_ledger.cell("mercredi_journee", day)
    assert cell.code == "view.waiting_list"
    assert cell.waiting_position == 2
    assert cell.sentence == "Sur liste d'attente (position 2)."
    without = view(commune, paris(2026, 11, 9, 10), bookings=[request]).cell("mercredi_journee", day)
    assert without.state is CellState.WAITING_LIST
    assert without.waiting_position is None
    assert without.sentence == "Sur liste d'attente."


def test_a_promotion_in_the_ledger_shows_before_the_booking_is_updated(commune: Commune) -> None:
    day = dt.date(2026, 11, 25)
    ledger, _ = PlaceLedger.restore(commune.capacities["mercredi_journee"], [("lea", day, "elementaire")], [])
    request = booking("mercredi_journee", day, BookingStatus.WAITING)
    cell = view(
        commune, paris(2026, 11, 9, 10), bookings=[request], ledgers={"mercredi_journee": ledger}
    ).cell("mercredi_journee", day)
    assert cell.state is CellState.BOOKED


def test_a_cancelled_booking_leaves_the_day_bookable_again(commune: Commune) -> None:
    day = dt.date(2026, 11, 19)
    cancelled = booking("repas", day, BookingStatus.CANCELLED)
    cell = view(commune, paris(2026, 11, 9, 10), bookings=[cancelled]).cell("repas", day)
    assert cell.state is CellState.BOOKABLE
    assert cell.booking == cancelled


def test_a_rebooking_stands_over_the_cancelled_history(commune: Commune) -> None:
    day = dt.date(2026, 11, 19)
    history = [booking("repas", day, BookingStatus.CANCELLED), booking("repas", day)]
    for order in (history, history[::-1]):
        cell = view(commune, paris(2026, 11, 9, 10), bookings=order).cell("repas", day)
        assert cell.state is CellState.BOOKED


# -- past days: attendance and invoices ------------------------------------------------------------


def test_attendance_facts_override_the_booking_of_past_days(commune: Commune) -> None:
    days = [dt.date(2026, 11, d) for d in (2, 3, 5, 6, 9, 10)]
    statuses = list(AttendanceStatus)
    facts = [AttendanceFact("lea", "repas", day, status) for day, status in zip(days, statuses, strict=True)]
    month = view(
        commune, paris(2026, 11, 16, 10), bookings=[booking("repas", d) for d in days], attendance=facts
    )
    cells = [month.cell("repas", day) for day in days]
    assert [cell.code for cell in cells] == [
        "view.present",
        "view.absent_justified",
        "view.absent_unjustified",
        "view.present_unbooked",
        "view.cancelled_in_time",
        "view.service_closed",
    ]
    assert [cell.sentence for cell in cells[:2]] == ["Présent.", "Absence justifiée."]
    assert all(cell.state.is_attendance and cell.attendance is not None for cell in cells)


def test_a_service_closed_fact_carries_its_note(commune: Commune) -> None:
    day = dt.date(2026, 11, 5)
    fact = AttendanceFact("lea", "soir", day, AttendanceStatus.SERVICE_CLOSED, note="Grève du personnel.")
    cell = view(commune, paris(2026, 11, 16, 10), attendance=[fact]).cell("soir", day)
    assert cell.sentence == "Service fermé. Grève du personnel."


def test_invoiced_days_name_their_invoice(commune: Commune) -> None:
    present, unrecorded = dt.date(2026, 11, 2), dt.date(2026, 11, 3)
    month = view(
        commune,
        paris(2026, 11, 16, 10),
        bookings=[booking("repas", present), booking("repas", unrecorded)],
        attendance=[AttendanceFact("lea", "repas", present, AttendanceStatus.PRESENT)],
        invoiced={("repas", present): "F-2026-0042", ("repas", unrecorded): "F-2026-0042"},
    )
    cell = month.cell("repas", present)
    assert cell.state is CellState.PRESENT
    assert cell.invoice == "F-2026-0042"
    assert cell.sentence == "Présent. Facturé (facture F-2026-0042)."
    # A booked day billed without a recorded fact still says it was invoiced.
    assert month.cell("repas", unrecorded).sentence == "Réservé. Facturé (facture F-2026-0042)."


def test_past_days_without_booking_are_never_bookable(commune: Commune) -> None:
    month = view(commune, paris(2026, 11, 16, 10), invoiced={("soir", dt.date(2026, 11, 3)): "F-1"})
    cell = month.cell("repas", dt.date(2026, 11, 2))
    assert cell.state is CellState.NOT_BOOKED
    assert cell.sentence == "Pas de réservation."
    invoiced = month.cell("soir", dt.date(2026, 11, 3))
    assert invoiced.state is CellState.INVOICED
    assert invoiced.sentence == "Facturé (facture F-1)."


# -- enrolment ---------------------------------------------------------------------------------


def test_days_outside_the_enrolment_cannot_be_booked(commune: Commune) -> None:
    canteen_only = [ENROLMENTS[0], attrs.evolve(ENROLMENTS[1], validated=False)]
    month = view(commune, paris(2026, 11, 9, 10), enrolments=canteen_only)
    assert month.cell("repas", dt.date(2026, 11, 17)).state is CellState.BOOKABLE
    pending = month.cell("soir", dt.date(2026, 11, 17))
    assert pending.state is CellState.ENROLMENT_PENDING
    assert pending.sentence == "L'inscription à « Accueil périscolaire » attend la validation de la mairie."
    nothing = view(commune, paris(2026, 11, 9, 10), enrolments=[]).cell("soir", dt.date(2026, 11, 17))
    assert nothing.state is CellState.NOT_ENROLLED
    assert nothing.sentence == "Pas d'inscription à « Accueil périscolaire » pour cette date."


def test_other_childrens_records_are_ignored(commune: Commune) -> None:
    day = dt.date(2026, 11, 19)
    other = Booking("tom", "repas", day, "durand", BookingStatus.BOOKED, BOOKED_AT)
    fact = AttendanceFact("tom", "repas", day, AttendanceStatus.PRESENT)
    enrolment = Enrolment("e-tom", "tom", "durand", "periscolaire", SCHOOL_YEAR)
    month = view(
        commune,
        paris(2026, 11, 9, 10),
        bookings=[other],
        attendance=[fact],
        enrolments=[ENROLMENTS[0], enrolment],
    )
    assert month.cell("repas", day).state is CellState.BOOKABLE
    assert month.cell("soir", day).state is CellState.NOT_ENROLLED


# -- bad input ---------------------------------------------------------------------------------


def test_a_naive_now_is_refused(commune: Commune) -> None:
    with pytest.raises(InvalidInput) as caught:
        view(commune, dt.datetime(2026, 11, 9, 10))
    assert caught.value.code == "input.naive_datetime"


def test_the_view_needs_a_service_or_prestations_but_not_both(commune: Commune) -> None:
    for kwargs in ({}, {"service_id": "cantine", "prestation_ids": ["repas"]}):
        with pytest.raises(InvalidInput) as caught:
            family_calendar(commune, LEA, NOVEMBER, now=paris(2026, 11, 9), enrolments=ENROLMENTS, **kwargs)  # type: ignore[arg-type]
        assert caught.value.code == "view.what_to_show"
    with pytest.raises(InvalidInput) as caught:
        view(commune, paris(2026, 11, 9), prestations=("repas", "repas"))
    assert caught.value.code == "view.prestation_ids"


def test_unknown_prestations_and_services_are_named(commune: Commune) -> None:
    with pytest.raises(NotFound):
        view(commune, paris(2026, 11, 9), prestations=("gouter",))
    with pytest.raises(NotFound):
        family_calendar(commune, LEA, NOVEMBER, now=paris(2026, 11, 9), enrolments=(), service_id="piscine")


def test_the_same_day_booked_twice_is_refused_not_hidden(commune: Commune) -> None:
    day = dt.date(2026, 11, 19)
    with pytest.raises(InvalidInput) as caught:
        view(
            commune,
            paris(2026, 11, 9),
            bookings=[booking("repas", day), booking("repas", day, BookingStatus.HELD)],
        )
    assert caught.value.code == "view.duplicate_booking"


def test_two_different_facts_for_one_day_are_refused(commune: Commune) -> None:
    day = dt.date(2026, 11, 2)
    facts = [
        AttendanceFact("lea", "repas", day, AttendanceStatus.PRESENT),
        AttendanceFact("lea", "repas", day, AttendanceStatus.ABSENT_JUSTIFIED),
    ]
    with pytest.raises(InvalidInput) as caught:
        view(commune, paris(2026, 11, 9), attendance=facts)
    assert caught.value.code == "view.duplicate_attendance"


def test_a_cell_outside_the_view_is_refused(commune: Commune) -> None:
    month = view(commune, paris(2026, 11, 9))
    with pytest.raises(InvalidInput) as caught:
        month.cell("repas", dt.date(2026, 12, 1))
    assert caught.value.code == "view.no_such_cell"
    with pytest.raises(InvalidInput):
        month.cell("journee", dt.date(2026, 11, 2))


@pytest.mark.parametrize(
    "kwargs",
    [
        {"period": (dt.date(2026, 11, 1), dt.date(2026, 11, 30))},
        {"bookings": ["repas"]},
        {"attendance": ["present"]},
        {"enrolments": ["cantine"]},
        {"ledgers": {"repas": "full"}},
        {"prestations": "repas"},
    ],
)
def test_inputs_of_the_wrong_kind_are_refused(commune: Commune, kwargs: dict[str, object]) -> None:
    with pytest.raises(InvalidInput):
        view(commune, paris(2026, 11, 9), **kwargs)  # type: ignore[arg-type]


def test_a_child_of_the_wrong_kind_is_refused(commune: Commune) -> None:
    with pytest.raises(InvalidInput):
        family_calendar(commune, "lea", NOVEMBER, now=paris(2026, 11, 9), enrolments=(), service_id="cantine")  # type: ignore[arg-type]
