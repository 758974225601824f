"""Baskets at Saint-Aubin-des-Prés: one decision per line, each with its code and its French sentence."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import attrs
import pytest

from espacefamille.calendar.opening import Closure, ClosureReason
from espacefamille.calendar.periods import DateRange, Weekday
from espacefamille.commune import Commune
from espacefamille.errors import InvalidConfiguration, InvalidInput
from espacefamille.model import (
    Booking,
    BookingStatus,
    Child,
    Enrolment,
    Family,
    Guardian,
    Residence,
    SchoolClass,
)
from espacefamille.money import Money
from espacefamille.rules.basket import (
    Action,
    BasketContext,
    BasketLine,
    BookingConditions,
    Outcome,
    conditions_from_dict,
    conditions_to_dict,
    evaluate_basket,
    period_lines,
    typical_week_lines,
)
from espacefamille.rules.capacity import PlaceLedger
from espacefamille.rules.unpaid import Debt, UnpaidAction, UnpaidPolicy, UnpaidStep

PARIS = ZoneInfo("Europe/Paris")
YEAR = DateRange(dt.date(2026, 9, 1), dt.date(2027, 8, 31))
NOW = dt.datetime(2026, 11, 5, 10, 0, tzinfo=PARIS)  # a Thursday morning

FAMILY = Family(
    "F1",
    "Martin",
    [Guardian("G1", "Claire", "Martin", email="claire@example.org")],
    "G1",
)
LEA = Child("C1", "Léa", "Martin", dt.date(2018, 3, 14), ["F1"], school_class=SchoolClass.CE2)
TOM = Child("C2", "Tom", "Martin", dt.date(2022, 6, 2), ["F1"], school_class=SchoolClass.PS)
ENROLMENTS = [
    Enrolment(f"E-{child.id}-{service}", child.id, "F1", service, YEAR)
    for child in (LEA, TOM)
    for service in ("cantine", "periscolaire", "alsh")
]


def context(commune: Commune, **changes: Any) -> BasketContext:
    base = BasketContext(commune, FAMILY, [LEA, TOM], ENROLMENTS)
    return attrs.evolve(base, **changes)


def book(child: str, prestation: str, day: dt.date) -> BasketLine:
    return BasketLine(Action.BOOK, child, prestation, day)


def cancel(child: str, prestation: str, day: dt.date) -> BasketLine:
    return BasketLine(Action.CANCEL, child, prestation, day)


def test_a_meal_booked_in_time_is_accepted_with_its_deadline(commune: Commune) -> None:
    result = evaluate_basket(context(commune), [book("C1", "repas", dt.date(2026, 11, 17))], NOW)
    decision = result.decisions[0]
    assert decision.outcome is Outcome.ACCEPTED
    assert decision.code == "basket.accepted"
    assert decision.message_fr == "Réservation enregistrée : Repas pour Léa le mardi 17 novembre 2026."
    assert decision.deadline == dt.datetime(2026, 11, 12, 11, 0, tzinfo=PARIS)
    assert [b.key for b in result.added] == [("C1", "repas", dt.date(2026, 11, 17))]
    assert result.added[0].status is BookingStatus.BOOKED  # invoiced at month end


def test_a_public_holiday_is_refused_with_its_reason(commune: Commune) -> None:
    decision = evaluate_basket(context(commune), [book("C1", "repas", dt.date(2026, 11, 11))], NOW).decisions[
        0
    ]
    assert decision.is_refused
    assert decision.code == "calendar.closed.public_holiday"
    assert decision.message_fr == (
        "Réservation impossible le mercredi 11 novembre 2026. Fermé : jour férié (Armistice)."
    )


def test_booking_what_is_booked_changes_nothing(commune: Commune) -> None:
    first = evaluate_basket(context(commune), [book("C1", "repas", dt.date(2026, 11, 17))], NOW)
    again = evaluate_basket(
        context(commune), [book("C1", "repas", dt.date(2026, 11, 17))], NOW, bookings=first.bookings
    )
    assert again.decisions[0].code == "basket.already_booked"
    assert not again.decisions[0].changed
    assert again.added == ()
    assert again.bookings == first.bookings


def test_a_late_meal_is_accepted_with_the_communes_surcharge(commune: Commune) -> None:
    # J-3 jours ouvrés before Monday 16 November skips the Armistice: Tuesday 10 November at 11:00.
    now = dt.datetime(2026, 11, 13, 9, 0, tzinfo=PARIS)
    result = evaluate_basket(context(commune), [book("C1", "repas", dt.date(2026, 11, 16))], now)
    decision = result.decisions[0]
    assert decision.outcome is Outcome.ACCEPTED_WITH_SURCHARGE
    assert decision.deadline == dt.datetime(2026, 11, 10, 11, 0, tzinfo=PARIS)
    assert decision.policy is not None
    assert result.added[0].surcharge_code == decision.code


def test_a_late_cancellation_is_refused_and_the_meal_stays_booked(commune: Commune) -> None:
    booked = evaluate_basket(context(commune), [book("C1", "repas", dt.date(2026, 11, 16))], NOW)
    late = dt.datetime(2026, 11, 12, 8, 0, tzinfo=PARIS)
    result = evaluate_basket(
        context(commune), [cancel("C1", "repas", dt.date(2026, 11, 16))], late, bookings=booked.bookings
    )
    decision = result.decisions[0]
    assert decision.code == "deadline.cancellation_expired"
    assert (
        decision.message_fr
        == "Annulation impossible : le délai a expiré le mardi 10 novembre 2026 à 11 h 00."
    )
    assert result.bookings == booked.bookings
    assert result.cancelled == ()


def test_cancelling_in_time_then_again_is_idempotent(commune: Commune) -> None:
    booked = evaluate_basket(context(commune), [book("C1", "repas", dt.date(2026, 11, 17))], NOW)
    cancelled = evaluate_basket(
        context(commune), [cancel("C1", "repas", dt.date(2026, 11, 17))], NOW, bookings=booked.bookings
    )
    assert cancelled.decisions[0].code == "basket.cancelled"
    assert [b.status for b in cancelled.cancelled] == [BookingStatus.CANCELLED]
    again = evaluate_basket(
        context(commune), [cancel("C1", "repas", dt.date(2026, 11, 17))], NOW, bookings=cancelled.bookings
    )
    assert again.decisions[0].code == "basket.already_cancelled"
    assert again.cancelled == ()


def test_a_child_outside_the_household_or_not_enrolled_is_refused(commune: Commune) -> None:
    stranger = Child("C9", "Hugo", "Durand", dt.date(2018, 1, 1), ["F9"])
    ctx = context(commune, children={**{c.id: c for c in (LEA, TOM)}, "C9": stranger})
    not_enrolled = context(commune, enrolments=[e for e in ENROLMENTS if e.service_id != "cantine"])
    assert evaluate_basket(ctx, [book("C9", "repas", dt.date(2026, 11, 17))], NOW).decisions[0].code == (
        "basket.unknown_child"
    )
    decision = evaluate_basket(not_enrolled, [book("C1", "repas", dt.date(2026, 11, 17))], NOW).decisions[0]
    assert decision.code == "basket.not_enrolled"
    assert "n'a pas d'inscription au service « Restauration scolaire »" in decision.message_fr
    unknown = evaluate_basket(context(commune), [book("C1", "gouter", dt.date(2026, 11, 17))], NOW)
    assert unknown.decisions[0].code == "basket.unknown_prestation"


def test_the_last_places_go_to_the_waiting_list_with_a_position(commune: Commune) -> None:
    day = dt.date(2026, 12, 23)  # the holiday centre has 24 places that day
    ledger = PlaceLedger(commune.capacities["journee"])
    for index in range(24):
        ledger, _ = ledger.request(f"X{index}", day, None, NOW - dt.timedelta(hours=1))
    result = evaluate_basket(
        context(commune),
        [book("C1", "journee", day), book("C2", "journee", day)],
        NOW,
        ledgers={"journee": ledger},
    )
    assert [d.outcome for d in result.decisions] == [Outcome.WAITING_LIST, Outcome.WAITING_LIST]
    assert [d.position for d in result.decisions] == [1, 2]
    assert result.decisions[0].message_fr == (
        "Plus de place le mercredi 23 décembre 2026 : votre demande est en liste d'attente (position 1)."
    )
    assert {b.status for b in result.added} == {BookingStatus.WAITING}
    # A place frees: cancelling one holder promotes Léa, the first waiting.
    freed, promotions = result.ledgers["journee"].release("X0", day)
    assert [p.child_id for p in promotions] == ["C1"]
    assert freed.free(day) == 0


def test_a_prepaid_day_is_held_until_payment(commune: Commune) -> None:
    result = evaluate_basket(context(commune), [book("C1", "journee", dt.date(2026, 12, 21))], NOW)
    assert result.decisions[0].outcome is Outcome.ACCEPTED
    assert result.added[0].status is BookingStatus.HELD


def test_a_holiday_week_block_is_booked_whole(commune: Commune) -> None:
    # The multisport week of 21 December: the centre closes from the 24th, so three open days.
    result = evaluate_basket(context(commune), [book("C1", "stage_semaine", dt.date(2026, 12, 22))], NOW)
    decision = result.decisions[0]
    assert decision.outcome is Outcome.ACCEPTED
    assert decision.days == (dt.date(2026, 12, 21), dt.date(2026, 12, 22), dt.date(2026, 12, 23))
    assert sorted(b.day for b in result.added) == list(decision.days)
    cancelled = evaluate_basket(
        context(commune),
        [cancel("C1", "stage_semaine", dt.date(2026, 12, 21))],
        NOW,
        bookings=result.bookings,
    )
    assert len(cancelled.cancelled) == 3


def test_a_full_block_is_refused_whole(commune: Commune) -> None:
    ledger = PlaceLedger(commune.capacities["stage_semaine"])
    for index in range(16):
        ledger, _ = ledger.request(f"X{index}", dt.date(2026, 12, 22), None, NOW)
    result = evaluate_basket(
        context(commune),
        [book("C1", "stage_semaine", dt.date(2026, 12, 21))],
        NOW,
        ledgers={"stage_semaine": ledger},
    )
    assert result.decisions[0].code == "basket.block_full"
    assert "mardi 22 décembre 2026" in result.decisions[0].message_fr
    assert result.added == ()


def test_registration_not_yet_open_for_non_residents(commune: Commune) -> None:
    early = dt.datetime(
        2026, 10, 28, 9, 0, tzinfo=PARIS
    )  # residents opened on 26 October, others on 2 November
    outsider = attrs.evolve(FAMILY, residence=Residence.NON_RESIDENT)
    resident = evaluate_basket(context(commune), [book("C1", "journee", dt.date(2026, 12, 21))], early)
    non_resident = evaluate_basket(
        context(commune, family=outsider), [book("C1", "journee", dt.date(2026, 12, 21))], early
    )
    assert resident.decisions[0].outcome is Outcome.ACCEPTED
    assert non_resident.decisions[0].code == "deadline.window_not_open"


def test_conditions_prerequisite_exclusion_and_class(commune: Commune) -> None:
    rules = {
        "repas": BookingConditions(requires={"matin"}),
        "mercredi_matin": BookingConditions(excludes={"mercredi_journee"}),
        "stage_semaine": BookingConditions(classes={SchoolClass.CE1, SchoolClass.CE2}, min_age=6),
    }
    ctx = context(attrs.evolve(commune, conditions=rules))
    wednesday = dt.date(2026, 11, 18)
    result = evaluate_basket(
        ctx,
        [
            book("C1", "repas", dt.date(2026, 11, 19)),
            book("C1", "mercredi_journee", wednesday),
            book("C1", "mercredi_matin", wednesday),
            book("C2", "stage_semaine", dt.date(2026, 12, 21)),
        ],
        NOW,
    )
    codes = [d.code for d in result.decisions]
    assert codes == ["basket.requires", "basket.accepted", "basket.excluded", "basket.condition_class"]
    assert result.decisions[0].message_fr == (
        "Réservation impossible : Repas le jeudi 19 novembre 2026 demande aussi Accueil du matin."
    )
    # With the morning care in the same basket, the meal goes through; cancelling the care alone is refused.
    both = evaluate_basket(
        ctx, [book("C1", "matin", dt.date(2026, 11, 19)), book("C1", "repas", dt.date(2026, 11, 19))], NOW
    )
    assert [d.outcome for d in both.decisions] == [Outcome.ACCEPTED, Outcome.ACCEPTED]
    refused = evaluate_basket(
        ctx, [cancel("C1", "matin", dt.date(2026, 11, 19))], NOW, bookings=both.bookings
    )
    assert refused.decisions[0].code == "basket.required_by"


def test_swapping_a_half_day_for_a_full_day_in_one_basket(commune: Commune) -> None:
    ctx = context(
        attrs.evolve(commune, conditions={"mercredi_matin": BookingConditions(excludes={"mercredi_journee"})})
    )
    wednesday = dt.date(2026, 11, 25)
    half = evaluate_basket(ctx, [book("C1", "mercredi_matin", wednesday)], NOW)
    swap = evaluate_basket(
        ctx,
        [book("C1", "mercredi_journee", wednesday), cancel("C1", "mercredi_matin", wednesday)],
        NOW,
        bookings=half.bookings,
    )
    assert [d.outcome for d in swap.decisions] == [Outcome.ACCEPTED, Outcome.ACCEPTED]


def test_an_all_or_nothing_commune_refuses_the_whole_basket(commune: Commune) -> None:
    ctx = context(attrs.evolve(commune, all_or_nothing_baskets=True))
    result = evaluate_basket(
        ctx, [book("C1", "repas", dt.date(2026, 11, 17)), book("C1", "repas", dt.date(2026, 11, 11))], NOW
    )
    assert [d.code for d in result.decisions] == ["basket.all_or_nothing", "calendar.closed.public_holiday"]
    assert result.added == ()
    assert result.bookings == {}


def test_unpaid_bills_block_the_holiday_centre_but_never_the_canteen(commune: Commune) -> None:
    policy = UnpaidPolicy(steps=[UnpaidStep(UnpaidAction.BLOCK, after_days=30, service_ids={"alsh"})])
    debts = [Debt("F-2026-0012", "loisirs", dt.date(2026, 9, 30), Money("86.40"))]
    ctx = context(attrs.evolve(commune, unpaid=policy), debts=debts)
    result = evaluate_basket(
        ctx, [book("C1", "journee", dt.date(2026, 12, 21)), book("C1", "repas", dt.date(2026, 11, 17))], NOW
    )
    assert [d.outcome for d in result.decisions] == [Outcome.REFUSED, Outcome.ACCEPTED]
    assert result.decisions[0].code == "unpaid.blocked"


def test_a_policy_blocking_the_canteen_is_refused_at_load_time(commune: Commune) -> None:
    policy = UnpaidPolicy(steps=[UnpaidStep(UnpaidAction.BLOCK, after_days=30, service_ids={"cantine"})])
    with pytest.raises(InvalidConfiguration) as caught:
        attrs.evolve(commune, unpaid=policy)
    assert caught.value.code == "unpaid.canteen_not_blockable"


def test_a_closure_declared_by_an_agent_refuses_bookings(commune: Commune) -> None:
    strike = Closure(DateRange(dt.date(2026, 11, 19), dt.date(2026, 11, 19)), ClosureReason.STRIKE, "grève")
    decision = evaluate_basket(
        context(commune, closures={"cantine": [strike]}), [book("C1", "repas", dt.date(2026, 11, 19))], NOW
    ).decisions[0]
    assert decision.code == "calendar.closed.closure"
    assert decision.message_fr.endswith("Fermé : grève.")


def test_closures_are_kept_by_service_as_a_copy(commune: Commune) -> None:
    strike = Closure(DateRange(dt.date(2026, 11, 19), dt.date(2026, 11, 19)), ClosureReason.STRIKE)
    declared = {"cantine": [strike]}
    basket_context = context(commune, closures=declared)
    declared["periscolaire"] = [strike]
    declared["cantine"].append(strike)
    assert basket_context.closures == {"cantine": (strike,)}
    assert context(commune).closures == {}


@pytest.mark.parametrize(
    ("closures", "code"),
    [
        ("flat", "basket.closures_not_by_service"),
        ({1: []}, "basket.closures_not_by_service"),
        ({"cantine": "2026-11-19"}, "input.not_a_closure"),
        ({"cantine": 19}, "input.not_a_closure"),
        ({"cantine": [None]}, "input.not_a_closure"),
    ],
)
def test_closures_not_keyed_by_service_are_refused(commune: Commune, closures: object, code: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        context(commune, closures=closures)
    assert caught.value.code == code


def test_a_flat_list_of_closures_is_refused_rather_than_closing_every_service(commune: Commune) -> None:
    strike = Closure(DateRange(dt.date(2026, 11, 19), dt.date(2026, 11, 19)), ClosureReason.STRIKE)
    with pytest.raises(InvalidInput) as caught:
        context(commune, closures=[strike])
    assert caught.value.code == "basket.closures_not_by_service"
    with pytest.raises(InvalidInput):
        context(commune, closures={"cantine": strike})


def test_period_booking_skips_closed_days_with_their_reason(commune: Commune) -> None:
    november = DateRange(dt.date(2026, 11, 1), dt.date(2026, 11, 30))
    expansion = period_lines(commune, "C1", "matin", november, [Weekday.WEDNESDAY, Weekday.FRIDAY])
    assert [line.day.day for line in expansion.lines] == [6, 13, 20]
    skipped = {day.day: reason for _, day, reason in expansion.skipped}
    assert skipped[11] == "Fermé : jour férié (Armistice)."
    assert skipped[27] == "Fermé : journée de formation des animateurs."
    assert skipped[4] == "Pas de service le mercredi."
    result = evaluate_basket(context(commune), expansion.lines, dt.datetime(2026, 11, 2, 8, tzinfo=PARIS))
    again = evaluate_basket(
        context(commune), expansion.lines, dt.datetime(2026, 11, 2, 8, tzinfo=PARIS), bookings=result.bookings
    )
    assert again.added == ()
    assert {d.code for d in again.decisions} == {"basket.already_booked"}


def test_every_other_week_and_a_typical_week(commune: Commune) -> None:
    december = DateRange(dt.date(2026, 11, 30), dt.date(2026, 12, 18))
    fortnight = period_lines(commune, "C1", "repas", december, [Weekday.MONDAY], every=2)
    assert [line.day for line in fortnight.lines] == [dt.date(2026, 11, 30), dt.date(2026, 12, 14)]
    week = typical_week_lines(
        commune, "C1", {Weekday.MONDAY: ["repas", "soir"], Weekday.THURSDAY: ["repas"]}, december
    )
    assert len([line for line in week.lines if line.prestation_id == "soir"]) == 3
    assert [line.day for line in week.lines if line.prestation_id == "repas"][-2:] == [
        dt.date(2026, 12, 14),
        dt.date(2026, 12, 17),
    ]


def test_conditions_are_configuration(commune: Commune) -> None:
    conditions = conditions_from_dict(
        {"requires": ["matin"], "classes": ["CP", "CE1"], "min_age": 6, "max_age": 11}, "c"
    )
    assert conditions_from_dict(conditions_to_dict(conditions), "c") == conditions
    for bad, code in (
        ({"needs": []}, "config.unknown_key"),
        ({"classes": ["6e"]}, "config.choice"),
        ({"min_age": "six"}, "config.type"),
        ({"requires": "matin"}, "config.type"),
        ({"min_age": 9, "max_age": 6}, "conditions.age"),
        ({"requires": ["matin"], "excludes": ["matin"]}, "conditions.conflict"),
    ):
        with pytest.raises(InvalidConfiguration) as caught:
            conditions_from_dict(bad, "c")
        assert caught.value.code == code
    with pytest.raises(InvalidConfiguration) as unknown:
        attrs.evolve(commune, conditions={"repas": BookingConditions(requires={"gouter"})})
    assert unknown.value.path == "conditions.repas.requires"


def test_naive_now_and_duplicate_bookings_are_refused(commune: Commune) -> None:
    with pytest.raises(InvalidInput):
        evaluate_basket(context(commune), [], dt.datetime(2026, 11, 5, 10))
    booking = Booking("C1", "repas", dt.date(2026, 11, 17), "F1", BookingStatus.BOOKED, NOW)
    with pytest.raises(InvalidInput):
        evaluate_basket(context(commune), [], NOW, bookings=[booking, booking])
