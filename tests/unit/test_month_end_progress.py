"""Month-end billing tells how far it has got: once per family billed, with the number of families.

Saint-Aubin-des-Prés bills November 2026 for the régie enfance on Tuesday 1 December: the Martins (Léa eats
every school day), the Benalis (no meal) and the Roux (one meal on Thursday 12 November).
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from espacefamille.billing.invoicing import (
    BillingContext,
    FamilyMonth,
    run_month_end,
    run_month_end_streamed,
)
from espacefamille.calendar.periods import DateRange
from espacefamille.commune import Commune
from espacefamille.model import Booking, BookingStatus, Child, Family, Guardian
from espacefamille.money import Money
from espacefamille.rules.basket import Action, BasketLine

from .test_services import AGENT, DECEMBER_MEALS, MARTIN, PARIS, make_world

NOVEMBER = DateRange.month(2026, 11)
ISSUED = dt.date(2026, 12, 1)
BOOKED_AT = dt.datetime(2026, 10, 1, 9, 0, tzinfo=ZoneInfo("Europe/Paris"))
SCHOOL_DAYS = tuple(day for day in NOVEMBER if day.weekday() in (0, 1, 3, 4) and day.day != 11)

FAMILIES = [
    Family(family_id, name, [Guardian(f"G-{family_id}", "Claire", name)], f"G-{family_id}")
    for family_id, name in (("F3", "Roux"), ("F1", "Martin"), ("F2", "Benali"))
]
LEA = Child("C1", "Léa", "Martin", dt.date(2016, 3, 1), ["F1"])
ZOE = Child("C3", "Zoé", "Roux", dt.date(2017, 6, 1), ["F3"])


def meals(child: Child, days: tuple[dt.date, ...]) -> list[Booking]:
    return [
        Booking(child.id, "repas", day, child.family_ids[0], BookingStatus.BOOKED, BOOKED_AT) for day in days
    ]


BOOKINGS = [*meals(LEA, SCHOOL_DAYS), *meals(ZOE, (dt.date(2026, 11, 12),))]


def test_progress_is_told_once_per_family_with_the_number_of_families(commune: Commune) -> None:
    told: list[tuple[int, int]] = []
    run = run_month_end(
        commune,
        "enfance",
        NOVEMBER,
        ISSUED,
        families=FAMILIES,
        children=[LEA, ZOE],
        bookings=BOOKINGS,
        progress=lambda done, total: told.append((done, total)),
    )
    assert told == [(1, 3), (2, 3), (3, 3)]
    assert sorted(run.outcomes) == ["F1", "F2", "F3"]


def test_a_streamed_run_passes_the_expected_total_or_zero_when_unknown(commune: Commune) -> None:
    ctx = BillingContext(commune, "enfance", NOVEMBER, ISSUED)
    months = [
        FamilyMonth(FAMILIES[1], [LEA], meals(LEA, SCHOOL_DAYS)),
        FamilyMonth(FAMILIES[2], [], []),
    ]
    expected: list[tuple[int, int]] = []
    run_month_end_streamed(ctx, months, progress=lambda done, total: expected.append((done, total)), total=2)
    assert expected == [(1, 2), (2, 2)]
    unknown: list[tuple[int, int]] = []
    run_month_end_streamed(ctx, iter(months), progress=lambda done, total: unknown.append((done, total)))
    assert unknown == [(1, 0), (2, 0)]


def test_the_back_office_run_tells_its_progress_family_by_family() -> None:
    world = make_world()  # the Martins and the Durands
    world.portal.validate_basket(
        MARTIN, "F1", [BasketLine(Action.BOOK, "C1", "repas", day) for day in DECEMBER_MEALS]
    )
    world.clock.instant = dt.datetime(2027, 1, 4, 8, 0, tzinfo=PARIS)
    told: list[tuple[int, int]] = []
    outcome = world.office.run_month_end(
        AGENT, "enfance", DateRange.month(2026, 12), progress=lambda done, total: told.append((done, total))
    )
    assert told == [(1, 2), (2, 2)]
    assert (outcome.families, outcome.invoices, outcome.total_invoiced) == (2, 1, Money("26.00"))
