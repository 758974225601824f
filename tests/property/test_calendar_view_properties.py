"""Properties of the family calendar view over the example commune's 2026-2027 school year."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import attrs
from hypothesis import given, note
from hypothesis import strategies as st

from espacefamille.calendar.periods import DateRange
from espacefamille.commune import Commune
from espacefamille.examples import example_commune
from espacefamille.model import Booking, BookingStatus, Child, Enrolment, SchoolClass
from espacefamille.money import Money
from espacefamille.rules.calendar_view import CalendarView, CellState, family_calendar
from espacefamille.rules.policies import ExceptionalTariff, Surcharge, judge_booking, judge_cancellation

PARIS = ZoneInfo("Europe/Paris")
BASE = example_commune()
# The example's rules, and a variant whose late cancellations are accepted with a fee and whose late
# meals are sold at an exceptional tariff, so that every after-deadline branch is met.
VARIANT = attrs.evolve(
    BASE,
    booking_rules={
        **BASE.booking_rules,
        "repas": attrs.evolve(
            BASE.booking_rules["repas"],
            after_booking_deadline=ExceptionalTariff(Money("6.50")),
            after_cancellation_deadline=Surcharge(percent="50"),
        ),
        "soir": attrs.evolve(
            BASE.booking_rules["soir"], after_cancellation_deadline=Surcharge(amount=Money("1"))
        ),
    },
)
PRESTATIONS = ("matin", "repas", "soir", "mercredi_journee", "journee")
FIRST, LAST = dt.date(2026, 10, 19), dt.date(2027, 6, 30)
CHILD = Child("lea", "Léa", "Martin", dt.date(2018, 5, 3), ("martin",), school_class=SchoolClass.CE2)
ENROLMENTS = tuple(
    Enrolment(f"e-{service}", "lea", "martin", service, DateRange(FIRST, LAST))
    for service in ("cantine", "periscolaire", "alsh")
)
LIVE = (BookingStatus.BOOKED, BookingStatus.HELD, BookingStatus.WAITING)

Case = tuple[Commune, CalendarView, dict[tuple[str, dt.date], Booking], bool]

days = st.dates(min_value=FIRST + dt.timedelta(days=100), max_value=LAST - dt.timedelta(days=40))


@st.composite
def views(draw: st.DrawFn) -> Case:
    commune = draw(st.sampled_from((BASE, VARIANT)))
    start = draw(days)
    period = DateRange(start, start + dt.timedelta(days=draw(st.integers(min_value=0, max_value=35))))
    # Now falls from 100 days before the period (the horizon's edge) to 20 days into it.
    offset = draw(st.integers(min_value=-100 * 24 * 60, max_value=20 * 24 * 60))
    now = dt.datetime.combine(start, dt.time(0), tzinfo=PARIS) + dt.timedelta(minutes=offset)
    prestations = tuple(draw(st.lists(st.sampled_from(PRESTATIONS), min_size=1, max_size=5, unique=True)))
    keys = [(pid, day) for pid in prestations for day in period]
    chosen = draw(st.lists(st.sampled_from(keys), unique=True, max_size=20)) if keys else []
    bookings = {
        key: Booking("lea", key[0], key[1], "martin", draw(st.sampled_from(list(BookingStatus))), now)
        for key in chosen
    }
    resident = draw(st.booleans())
    view = family_calendar(
        commune,
        CHILD,
        period,
        now=now,
        enrolments=ENROLMENTS,
        bookings=bookings.values(),
        prestation_ids=prestations,
        resident=resident,
    )
    note(f"now={now.isoformat()} period={period} prestations={prestations} resident={resident}")
    return commune, view, bookings, resident


@given(views())
def test_exactly_one_cell_per_date_and_prestation(
    case: Case,
) -> None:
    _, view, _, _ = case
    shown = [(cell.prestation_id, cell.day) for cell in view.cells]
    assert len(shown) == len(set(shown)) == len(view.period) * len(view.prestation_ids)
    assert [row.day for row in view.days] == list(view.period)
    for row in view.days:
        assert tuple(cell.prestation_id for cell in row.cells) == view.prestation_ids
    for week in view.weeks:
        assert {row.day.isocalendar()[:2] for row in week.days} == {(week.year, week.week)}


@given(views())
def test_a_cell_is_never_both_bookable_and_booked(
    case: Case,
) -> None:
    _, view, bookings, _ = case
    for cell in view.cells:
        assert not (cell.is_bookable and cell.is_booked)
        live = bookings.get((cell.prestation_id, cell.day))
        if live is not None and live.status in LIVE:
            # Whatever else the day shows (closed, attendance), a family is never offered it twice.
            assert not cell.is_bookable
            if cell.opening.is_open:
                assert cell.state in (
                    CellState.BOOKED,
                    CellState.BOOKED_CANCELLABLE_LATE,
                    CellState.BOOKED_NOT_CANCELLABLE,
                    CellState.HELD,
                    CellState.WAITING_LIST,
                )
        if cell.is_booked:
            assert live is not None
            assert live.status in LIVE


@given(views())
def test_a_date_before_today_is_never_bookable(
    case: Case,
) -> None:
    _, view, _, _ = case
    today = view.now.astimezone(PARIS).date()
    for cell in view.cells:
        if cell.day < today:
            assert not cell.is_bookable
        if cell.state is CellState.BOOKABLE:
            assert cell.booking_deadline is not None
            assert cell.booking_deadline >= view.now


@given(views())
def test_the_view_agrees_with_judge_booking_and_judge_cancellation(
    case: Case,
) -> None:
    commune, view, _, resident = case
    for cell in view.cells:
        context = commune.deadline_context(cell.prestation_id, resident=resident)
        rules = commune.booking_rules[cell.prestation_id]
        if cell.is_bookable or cell.state in (CellState.TOO_LATE, CellState.NOT_YET_OPEN, CellState.NOT_OPEN):
            if cell.reason_code == "capacity.waiting_list":
                continue
            decision = judge_booking(rules, cell.day, view.now, context)
            assert (decision.code, decision.deadline, decision.opens) == (
                cell.reason_code,
                cell.booking_deadline,
                cell.opens,
            )
            if cell.state in (CellState.TOO_LATE, CellState.NOT_YET_OPEN, CellState.NOT_OPEN):
                assert cell.sentence == decision.message_fr
        if (
            cell.is_booked
            and cell.state is not CellState.HELD
            and cell.day >= view.now.astimezone(PARIS).date()
        ):
            decision = judge_cancellation(rules, cell.day, view.now, context)
            assert (decision.code, decision.deadline) == (cell.reason_code, cell.cancellation_deadline)
