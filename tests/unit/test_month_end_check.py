"""The pre-flight of a month-end run: every day that cannot be priced, listed before anything is billed."""

from __future__ import annotations

import datetime as dt

import attrs
import pytest

from espacefamille.billing.invoicing import (
    BillingContext,
    FamilyMonth,
    MonthEndCheck,
    PricingProblem,
    check_family,
)
from espacefamille.calendar.periods import DateRange
from espacefamille.errors import MissingData, PermissionDenied
from espacefamille.model import Booking, BookingStatus
from espacefamille.ports import UnitOfWork
from tests.unit.test_services import AGENT, DECEMBER_MEALS, DURAND, MARTIN, PARIS, World, book, make_world

DECEMBER = DateRange.month(2026, 12)


def plain(text: str) -> str:
    return text.replace("\u00a0", " ").replace("\u202f", " ")


def price_list_ends_on(world: World, last: dt.date) -> None:
    """The commune's 2026-2027 prices end on ``last``: the days after it have no price list."""

    def work(uow: UnitOfWork) -> None:
        commune = uow.commune()
        lists = tuple(
            attrs.evolve(p, validity=DateRange(p.validity.start, last))
            if p.validity.start <= last <= p.validity.end
            else p
            for p in commune.tariffs.price_lists
            if p.validity.start <= last
        )
        uow.save_commune(attrs.evolve(commune, tariffs=attrs.evolve(commune.tariffs, price_lists=lists)))
        uow.commit()

    with world.store.unit_of_work() as uow:
        work(uow)


@pytest.fixture
def booked() -> World:
    world = make_world()
    world.portal.validate_basket(MARTIN, "F1", book("C1", "repas", *DECEMBER_MEALS))
    world.portal.validate_basket(DURAND, "F2", book("C3", "repas", *DECEMBER_MEALS[:3]))
    world.clock.instant = dt.datetime(2027, 1, 4, 8, 0, tzinfo=PARIS)
    return world


def test_a_month_that_can_be_priced_is_ready(booked: World) -> None:
    check = booked.office.check_month_end(AGENT, "enfance", DECEMBER)
    assert check.ok
    assert (check.code, check.families) == ("billing.ready", 2)
    ready = "Tous les jours de décembre 2026 peuvent être facturés (2 familles vérifiées)."
    assert plain(check.message_fr) == ready


def test_the_check_lists_every_family_child_prestation_and_day_without_a_price(booked: World) -> None:
    price_list_ends_on(booked, dt.date(2026, 12, 9))
    check = booked.office.check_month_end(AGENT, "enfance", DECEMBER, batch=1)
    assert not check.ok
    assert check.code == "billing.unpriced_days"
    unpriced = [day for day in DECEMBER_MEALS if day > dt.date(2026, 12, 9)]
    assert [(p.family_id, p.child_id, p.prestation_id, p.day) for p in check.problems] == [
        ("F1", "C1", "repas", day) for day in unpriced
    ]  # Hugo's three meals are all before the 10th
    first = check.problems[0]
    assert first.code == "tariff.no_price_list"
    assert plain(first.message_fr) == "Aucune grille tarifaire n'est en vigueur le jeudi 10 décembre 2026."
    assert plain(check.message_fr).startswith(
        "Facturation de décembre 2026 impossible : 5 jours n'ont pas de prix (1 famille). "
        "famille F1, enfant C1, « repas », jeudi 10 décembre 2026 : Aucune grille tarifaire"
    )


def test_the_run_bills_nothing_while_a_day_cannot_be_priced_and_says_where(booked: World) -> None:
    price_list_ends_on(booked, dt.date(2026, 12, 9))
    with pytest.raises(MissingData) as caught:
        booked.office.run_month_end(AGENT, "enfance", DECEMBER)
    error = caught.value
    assert error.code == "billing.unpriced_days"
    assert "5 jours n'ont pas de prix (1 famille)" in plain(error.message_fr)
    assert plain(error.message_fr).endswith("Rien n'a été facturé.")
    problems = error.details["problems"]
    assert isinstance(problems, tuple)
    assert len(problems) == 5
    # Nothing billed, not even Hugo's family, whose days all have a price; and the month is not started.
    assert booked.invoices("F1", "F2") == ()
    with booked.store.unit_of_work() as uow:
        assert uow.runs.billed_through("enfance") is None


def test_only_the_regisseur_checks_a_month(booked: World) -> None:
    with pytest.raises(PermissionDenied):
        booked.office.check_month_end(MARTIN, "enfance", DECEMBER)


def test_a_check_names_the_first_few_days_then_how_many_more() -> None:
    problems = [
        PricingProblem("F1", "C1", "repas", dt.date(2026, 12, day), "tariff.no_price", "Pas de prix.")
        for day in range(1, 9)
    ]
    check = MonthEndCheck("enfance", DECEMBER, 3, problems)
    assert check.families_concerned == 1
    assert plain(check.message_fr).endswith("Pas de prix. ; et 3 autres")
    assert plain(MonthEndCheck("enfance", DECEMBER, 1, problems[:1]).message_fr).startswith(
        "Facturation de décembre 2026 impossible : 1 jour n'a pas de prix (1 famille)."
    )


def test_a_day_of_an_unknown_child_or_prestation_without_hours_is_a_problem(booked: World) -> None:
    with booked.store.unit_of_work() as uow:
        commune = uow.commune()
        family = uow.families.get("F1")
    ctx = BillingContext(commune, "enfance", DECEMBER, dt.date(2027, 1, 1))
    ghost = Booking(
        "C9", "repas", DECEMBER_MEALS[0], "F1", BookingStatus.BOOKED, dt.datetime(2026, 11, 1, tzinfo=PARIS)
    )
    problems = check_family(ctx, FamilyMonth(family, [], [ghost]))
    assert [(p.child_id, p.code) for p in problems] == [("C9", "billing.unknown_child")]
