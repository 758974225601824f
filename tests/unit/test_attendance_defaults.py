"""A price list's attendance table changes the statuses it names, key by key; others keep their default."""

from __future__ import annotations

import datetime as dt
import tomllib
from decimal import Decimal

import pytest

from espacefamille.billing.pricing import FamilyFacts, price_quote
from espacefamille.billing.tariffs import (
    ATTENDANCE_STATUSES,
    DEFAULT_ATTENDANCE_EFFECTS,
    AttendanceEffects,
    PercentOfPrice,
    PriceList,
    TariffBook,
    tariff_book_from_dict,
    tariff_book_to_dict,
)
from espacefamille.calendar.periods import DateRange

THURSDAY = dt.date(2026, 11, 12)
PARTIAL = """
[[tariffs]]
label = "2026-2027"
start = 2026-09-01
end = 2027-08-31

[tariffs.attendance]
absent_justified = { percent = "50" }
sortie_scolaire = "zero"

[tariffs.prices.repas]
unit = "day"
unit_label = "le repas"
flat = "4.00"
"""
# What each status costs by default, on a 4,00 € meal.
DEFAULT_TOTALS = {
    "present": Decimal("4.00"),
    "absent_justified": Decimal("0.00"),
    "absent_unjustified": Decimal("4.00"),
    "present_unbooked": Decimal("4.00"),
    "cancelled_in_time": Decimal("0.00"),
    "service_closed": Decimal("0.00"),
}


def partial() -> TariffBook:
    return tariff_book_from_dict(tomllib.loads(PARTIAL))


def test_every_status_has_a_default() -> None:
    assert set(DEFAULT_TOTALS) == set(ATTENDANCE_STATUSES) == set(DEFAULT_ATTENDANCE_EFFECTS)


@pytest.mark.parametrize("status", ATTENDANCE_STATUSES)
def test_a_status_the_table_does_not_name_keeps_its_default(status: str) -> None:
    quote = price_quote(partial(), "repas", THURSDAY, FamilyFacts(), status=status)
    expected = Decimal("2.00") if status == "absent_justified" else DEFAULT_TOTALS[status]
    assert quote.total.amount == expected


def test_the_named_statuses_and_the_communes_own_reasons_are_what_the_table_says() -> None:
    book = partial()
    effects = book.price_list_on(THURSDAY).attendance
    assert effects["absent_justified"] == PercentOfPrice(Decimal(50))
    assert price_quote(book, "repas", THURSDAY, FamilyFacts(), status="sortie_scolaire").total.amount == 0
    assert set(effects) == {*ATTENDANCE_STATUSES, "sortie_scolaire"}
    assert tariff_book_from_dict(tariff_book_to_dict(book)) == book


def test_a_price_list_built_in_python_fills_the_defaults_too() -> None:
    year = DateRange(dt.date(2026, 9, 1), dt.date(2027, 8, 31))
    built = PriceList("2026-2027", year, (), AttendanceEffects({"absent_justified": PercentOfPrice(50)}))
    assert built.attendance["service_closed"] == DEFAULT_ATTENDANCE_EFFECTS["service_closed"]
    assert built == PriceList("2026-2027", year, (), DEFAULT_ATTENDANCE_EFFECTS.updated(built.attendance))
