"""A tariff holds no number that the month's invoices could not: a price, a floor or a ceiling, a
supplement, a threshold or a percentage beyond a million is refused when the commune's file is loaded,
with the key path and ``tariff.amount_too_large`` — not at month end, when a month of quantities priced at
it would overflow what the stores hold (docs/limits.md)."""

from __future__ import annotations

import tomllib
from decimal import Decimal
from typing import Any

import pytest

from espacefamille.billing.tariffs import FlatPrice, tariff_book_from_dict
from espacefamille.config import loads_commune
from espacefamille.errors import InvalidConfiguration, InvalidInput
from espacefamille.examples import example_path
from tests.unit.test_tariffs import SAINT_AUBIN, config_error, document

HUGE = "1000000000"  # a billion euros: Money holds it, but not 23 meals of it for 40 children
PRICES = "tariffs[0].prices"


@pytest.mark.parametrize(
    ("prices", "path"),
    [
        ({"repas": {"unit": "day", "flat": HUGE}}, "repas.flat"),
        ({"repas": {"unit": "day", "flat": "3", "non_resident": HUGE}}, "repas.non_resident"),
        ({"repas": {"unit": "day", "flat": "3", "pai": HUGE}}, "repas.pai"),
        (
            {
                "repas": {
                    "unit": "day",
                    "bands": [{"from": "0", "to": HUGE, "price": "2"}, {"from": HUGE, "price": "3"}],
                }
            },
            "repas.bands[0].to",
        ),
        ({"repas": {"unit": "day", "bands": [{"from": "0", "price": HUGE}]}}, "repas.bands[0].price"),
        (
            {"repas": {"unit": "day", "effort": {"rate_percent": "1", "floor": "1", "ceiling": HUGE}}},
            "repas.effort.ceiling",
        ),
        (
            {"repas": {"unit": "day", "effort": {"rate_percent": "1", "floor": f"-{HUGE}", "ceiling": "4"}}},
            "repas.effort.floor",
        ),
        ({"repas": {"unit": "day", "by_children": ["3", HUGE]}}, "repas.by_children[1]"),
        (
            {"repas": {"unit": "day", "flat": "3", "unbooked_presence": {"fixed": HUGE}}},
            "repas.unbooked_presence.fixed",
        ),
        (
            {"repas": {"unit": "day", "flat": "3", "attendance": {"present_unbooked": {"fixed": HUGE}}}},
            "repas.attendance.present_unbooked.fixed",
        ),
        (
            {"repas": {"unit": "day", "flat": "3", "sibling_reduction": ["0", HUGE]}},
            "repas.sibling_reduction[1]",
        ),
    ],
)
def test_a_tariff_number_beyond_a_million_is_refused_at_load_with_its_key(
    prices: dict[str, Any], path: str
) -> None:
    error = config_error(document(**prices))
    assert (error.code, error.path) == ("tariff.amount_too_large", f"{PRICES}.{path}")
    assert error.details == {"limit": "1000000"}
    assert "ne peut pas dépasser 1 000 000" in error.message_fr


def test_a_million_itself_is_a_price_a_tariff_may_hold() -> None:
    book = tariff_book_from_dict(document(repas={"unit": "day", "flat": "1000000"}))
    assert book.price_lists[0].prices[0].rule == FlatPrice(Decimal(1_000_000))


def test_the_commune_file_is_refused_whole_naming_the_price() -> None:
    text = example_path().read_text(encoding="utf-8")
    assert 'flat = "60.00"' in text
    with pytest.raises(InvalidConfiguration) as refused:
        loads_commune(text.replace('flat = "60.00"', 'flat = "100000000000000"', 1))
    assert refused.value.code == "tariff.amount_too_large"
    assert refused.value.path.endswith("prices.stage_semaine.flat")


def test_a_price_built_in_python_is_bounded_too() -> None:
    with pytest.raises(InvalidInput) as refused:
        FlatPrice(Decimal(HUGE))
    assert refused.value.code == "tariff.amount_too_large"


def test_the_example_prices_are_far_below_the_bound() -> None:
    assert tariff_book_from_dict(tomllib.loads(SAINT_AUBIN)).price_lists
