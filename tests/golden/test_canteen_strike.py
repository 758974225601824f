"""A canteen strike at Saint-Aubin-des-Prés closes the canteen only, not the morning care of the same day.

The canteen staff strike on Thursday 10 December 2026; an agent declares the closure on the service
« cantine ». On Thursday 26 November 2026 at 9:00 Claire Martin books, in one basket, Léa's meal and her
morning care (« matin », service « periscolaire ») for that Thursday: the meal is refused with the strike as
its reason, the morning care is booked.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from espacefamille.adapters.fake_gateway import FakeGateway
from espacefamille.adapters.memory import MemoryAccountStore, MemoryStore
from espacefamille.calendar.opening import Closure, ClosureReason
from espacefamille.calendar.periods import DateRange, Weekday
from espacefamille.commune import Commune
from espacefamille.families.accounts import AccountLink, Agent, AgentRole, FamilyMember
from espacefamille.model import Child, Enrolment, Family, Guardian, SchoolClass
from espacefamille.ports import FixedClock
from espacefamille.rules.basket import (
    Action,
    BasketContext,
    BasketLine,
    Outcome,
    evaluate_basket,
    typical_week_lines,
)
from espacefamille.services import BackOffice, FamilyPortal

PARIS = ZoneInfo("Europe/Paris")
NOW = dt.datetime(2026, 11, 26, 9, 0, tzinfo=PARIS)  # a Thursday, two weeks before the strike
STRIKE_DAY = dt.date(2026, 12, 10)  # a Thursday: canteen and morning care both open
YEAR = DateRange(dt.date(2026, 9, 1), dt.date(2027, 8, 31))
STRIKE = Closure(DateRange(STRIKE_DAY, STRIKE_DAY), ClosureReason.STRIKE, "grève du personnel de cantine")

MARTIN = Family("F1", "Martin", [Guardian("G1", "Claire", "Martin", email="claire@example.fr")], "G1")
LEA = Child("C1", "Léa", "Martin", dt.date(2018, 3, 14), ["F1"], school_class=SchoolClass.CE2)
ENROLMENTS = [
    Enrolment(f"E-C1-{service}", "C1", "F1", service, YEAR) for service in ("cantine", "periscolaire")
]
BASKET = [
    BasketLine(Action.BOOK, "C1", "repas", STRIKE_DAY),
    BasketLine(Action.BOOK, "C1", "matin", STRIKE_DAY),
]


def test_a_canteen_strike_refuses_the_meal_but_books_the_morning_care_of_the_same_basket(
    commune: Commune,
) -> None:
    context = BasketContext(commune, MARTIN, [LEA], ENROLMENTS, {"cantine": [STRIKE]})
    result = evaluate_basket(context, BASKET, NOW)
    meal, morning = result.decisions
    assert meal.outcome is Outcome.REFUSED
    assert meal.code == "calendar.closed.closure"
    assert meal.message_fr == (
        "Réservation impossible le jeudi 10 décembre 2026. Fermé : grève du personnel de cantine."
    )
    assert morning.outcome is Outcome.ACCEPTED
    assert (
        morning.message_fr == "Réservation enregistrée : Accueil du matin pour Léa le jeudi 10 décembre 2026."
    )
    assert [booking.key for booking in result.added] == [("C1", "matin", STRIKE_DAY)]


def test_a_strike_declared_on_the_periscolaire_closes_the_morning_care_not_the_meal(commune: Commune) -> None:
    context = BasketContext(commune, MARTIN, [LEA], ENROLMENTS, {"periscolaire": [STRIKE]})
    meal, morning = evaluate_basket(context, BASKET, NOW).decisions
    assert (meal.outcome, morning.outcome) == (Outcome.ACCEPTED, Outcome.REFUSED)
    assert morning.code == "calendar.closed.closure"


def test_a_typical_week_skips_the_strike_day_for_the_canteen_only(commune: Commune) -> None:
    week = DateRange(dt.date(2026, 12, 7), dt.date(2026, 12, 11))
    expansion = typical_week_lines(
        commune, "C1", {Weekday.THURSDAY: ["repas", "matin"]}, week, closures={"cantine": [STRIKE]}
    )
    assert [(line.prestation_id, line.day) for line in expansion.lines] == [("matin", STRIKE_DAY)]
    assert expansion.skipped == (("repas", STRIKE_DAY, "Fermé : grève du personnel de cantine."),)


@pytest.fixture
def portal_after_the_strike(commune: Commune) -> FamilyPortal:
    """The in-memory commune where an agent has declared the canteen strike."""
    store = MemoryStore()
    with store.unit_of_work() as uow:
        uow.save_commune(commune)
        uow.commit()
    clock = FixedClock(NOW)
    accounts = MemoryAccountStore()
    counter = iter(range(1, 10_000))

    def source(size: int) -> bytes:
        return next(counter).to_bytes(size, "big")

    agent = Agent("agent-1", "saint-aubin", AgentRole.ADMINISTRATEUR)
    office = BackOffice(store, clock=clock, accounts=accounts, source=source)
    office.register_family(agent, MARTIN, [LEA])
    for enrolment in ENROLMENTS:
        office.enrol_child(agent, enrolment)
    office.declare_closure(agent, "cantine", STRIKE)
    return FamilyPortal(store, gateway=FakeGateway(), clock=clock, accounts=accounts, source=source)


def test_the_portal_applies_a_declared_canteen_strike_to_the_canteen_only(
    portal_after_the_strike: FamilyPortal,
) -> None:
    claire = FamilyMember("acc-martin", [AccountLink("saint-aubin", "F1", "G1", "act-1", NOW)])
    outcome = portal_after_the_strike.validate_basket(claire, "F1", BASKET)
    assert [d.code for d in outcome.decisions] == ["calendar.closed.closure", "basket.accepted"]
