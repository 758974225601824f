"""A QF change at Saint-Aubin-des-Prés, billed at month end: never backdated, from the price list's date.

The Martin family's QF was 1 200 € (meals at 3,40 €) until the CAF's new attestation, 540 € (meals at
1,10 €) valid from Sunday 1 November 2026, reached the commune on Tuesday 17 November 2026.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import attrs
import pytest

from espacefamille.billing.documents import InvoiceLine
from espacefamille.billing.invoicing import run_month_end
from espacefamille.billing.tariffs import QfChangeRule, TariffBook
from espacefamille.calendar.periods import DateRange
from espacefamille.commune import Commune
from espacefamille.model import Booking, BookingStatus, Child, Family, Guardian, QuotientFamilial

PARIS = ZoneInfo("Europe/Paris")
BOOKED_AT = dt.datetime(2026, 10, 1, 9, 0, tzinfo=PARIS)
NOVEMBER = DateRange.month(2026, 11)
# Until the Christmas holidays: classes end on Saturday 19 December 2026.
DECEMBER = DateRange(dt.date(2026, 12, 1), dt.date(2026, 12, 18))
RECEIVED = dt.date(2026, 11, 17)
LEA = Child("C1", "Léa", "Martin", dt.date(2016, 3, 1), ["F1"])


def canteen_days(period: DateRange) -> tuple[dt.date, ...]:
    # Mondays, Tuesdays, Thursdays and Fridays; Wednesday 11 November (Armistice) is not one anyway.
    return tuple(day for day in period if day.weekday() in (0, 1, 3, 4))


def martin(received_on: dt.date | None) -> Family:
    quotients = (
        QuotientFamilial(Decimal(1200), dt.date(2026, 9, 1), dt.date(2026, 10, 31)),
        QuotientFamilial(Decimal(540), dt.date(2026, 11, 1), received_on=received_on),
    )
    return Family("F1", "Martin", [Guardian("G1", "Claire", "Martin")], "G1", quotients=quotients)


def with_rule(commune: Commune, rule: QfChangeRule) -> Commune:
    lists = [attrs.evolve(price_list, qf_change=rule) for price_list in commune.tariffs.price_lists]
    return attrs.evolve(commune, tariffs=TariffBook(lists))


def meals(commune: Commune, family: Family, month: DateRange) -> list[tuple[Decimal, tuple[dt.date, ...]]]:
    """The meal lines of the month (invoiced or carried below the threshold): unit price and days."""
    bookings = [
        Booking(LEA.id, "repas", day, "F1", BookingStatus.BOOKED, BOOKED_AT) for day in canteen_days(month)
    ]
    run = run_month_end(
        commune,
        "enfance",
        month,
        month.end + dt.timedelta(days=1),
        families=[family],
        children=[LEA],
        bookings=bookings,
    )
    lines: list[InvoiceLine] = [line for invoice in run.invoices for line in invoice.lines]
    lines += [line for balance in run.carried.values() for line in balance.lines]
    return [(line.unit_price, line.days) for line in lines if line.prestation_id == "repas"]


@pytest.fixture
def next_month(commune: Commune) -> Commune:
    assert commune.tariffs.price_list_on(RECEIVED).qf_change is QfChangeRule.NEXT_MONTH
    return commune


def test_under_next_month_november_keeps_the_old_qf_and_december_has_the_new_one(next_month: Commune) -> None:
    family = martin(received_on=RECEIVED)
    assert meals(next_month, family, NOVEMBER) == [(Decimal("3.40"), canteen_days(NOVEMBER))]
    assert meals(next_month, family, DECEMBER) == [(Decimal("1.10"), canteen_days(DECEMBER))]


def test_from_the_day_received_the_new_qf_prices_from_tuesday_17_november(commune: Commune) -> None:
    family = martin(received_on=RECEIVED)
    before = tuple(day for day in canteen_days(NOVEMBER) if day < RECEIVED)
    after = tuple(day for day in canteen_days(NOVEMBER) if day >= RECEIVED)
    assert before[-1] == dt.date(2026, 11, 16)
    assert after[0] == RECEIVED
    lines = meals(with_rule(commune, QfChangeRule.IMMEDIATELY), family, NOVEMBER)
    assert sorted(lines) == [(Decimal("1.10"), after), (Decimal("3.40"), before)]


def test_without_a_reception_date_the_qf_applies_from_its_valid_from(next_month: Commune) -> None:
    family = martin(received_on=None)
    assert meals(next_month, family, NOVEMBER) == [(Decimal("1.10"), canteen_days(NOVEMBER))]
