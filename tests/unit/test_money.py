"""Money in whole cents and the rounding policy, on amounts a régie really handles."""

from __future__ import annotations

import pickle
from decimal import Decimal

import pytest

from espacefamille.errors import InvalidInput
from espacefamille.money import ZERO, Money, RoundingMode, RoundingPoint, RoundingPolicy, to_decimal

NNBSP = "\u202f"  # narrow no-break space: the French thousands separator in CLDR
NBSP = "\u00a0"  # no-break space: between the amount and the € sign


# -- construction -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "cents"),
    [
        (Decimal("3.25"), 325),
        (Decimal("3.250"), 325),
        (4, 400),
        ("12.50", 1250),
        ("12,50", 1250),
        (" 0,40 ", 40),
        (f"1{NNBSP}234,50", 123450),
        ("1 234,50", 123450),
        ("-7,05", -705),
        ("0", 0),
    ],
)
def test_money_is_built_from_exact_values_and_french_strings(given: Decimal | int | str, cents: int) -> None:
    assert Money(given).cents == cents


def test_money_defaults_to_zero_euro() -> None:
    assert Money() == ZERO
    assert Money().cents == 0
    assert not ZERO
    assert Money("0.01")


def test_money_from_cents() -> None:
    assert Money.from_cents(1250) == Money("12.50")
    assert Money.from_cents(-5).amount == Decimal("-0.05")


@pytest.mark.parametrize("bad", [1.5, 2.0, True, 3.5 + 0j])
def test_money_from_cents_refuses_anything_but_an_int(bad: object) -> None:
    with pytest.raises(InvalidInput) as caught:
        Money.from_cents(bad)  # type: ignore[arg-type]
    assert caught.value.code == "money.not_a_number"


def test_a_float_amount_is_refused_even_when_it_looks_exact() -> None:
    for amount in (0.1, 2.5, 3.0):
        with pytest.raises(InvalidInput) as caught:
            Money(amount)  # type: ignore[arg-type]
        assert caught.value.code == "money.float_rejected"
        assert isinstance(caught.value, ValueError)
        assert "exact" in caught.value.message_fr


def test_a_float_weight_or_quantity_is_refused_too() -> None:
    with pytest.raises(InvalidInput) as caught:
        to_decimal(0.4, what="rate")
    assert caught.value.code == "money.float_rejected"
    assert "rate" in caught.value.message
    with pytest.raises(InvalidInput):
        Money("10").allocate([0.5, 0.5])  # type: ignore[list-item]
    with pytest.raises(InvalidInput):
        RoundingPolicy().line_total(Decimal("2.10"), 1.5)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "bad", ["douze euros", "", "12,50 €", "1.234,50", None, [12], Decimal("NaN"), "Infinity"]
)
def test_what_is_not_a_number_is_refused(bad: object) -> None:
    with pytest.raises(InvalidInput) as caught:
        Money(bad)  # type: ignore[arg-type]
    assert caught.value.code == "money.not_a_number"


def test_a_boolean_is_not_an_amount() -> None:
    with pytest.raises(InvalidInput) as caught:
        Money(True)
    assert caught.value.code == "money.not_a_number"


@pytest.mark.parametrize("finer", ["3.248", "0.001", Decimal("12.505"), "-0,005"])
def test_sub_cent_amounts_must_be_rounded_by_a_policy_first(finer: str | Decimal) -> None:
    with pytest.raises(InvalidInput) as caught:
        Money(finer)
    assert caught.value.code == "money.sub_cent"
    assert "RoundingPolicy" in caught.value.message
    assert "deux décimales" in caught.value.message_fr


def test_only_euros_are_accepted() -> None:
    assert Money("5", "EUR") == Money("5")
    with pytest.raises(InvalidInput) as caught:
        Money("5", "CHF")
    assert caught.value.code == "money.currency"
    assert "CHF" in caught.value.message_fr


def test_money_is_immutable_and_survives_pickling() -> None:
    price = Money("3.25")
    with pytest.raises(AttributeError):
        price._cents = 1
    assert pickle.loads(pickle.dumps(price)) == price


# -- arithmetic and comparison ----------------------------------------------------------------


def test_arithmetic_is_exact_where_floats_drift() -> None:
    # 0.1 + 0.2 != 0.3 in float; a canteen line of three 0,10 € supplements must be 0,30 €.
    assert Money("0.10") + Money("0.20") == Money("0.30")
    assert Money("0.10") * 3 == Money("0.30")
    assert 3 * Money("0.10") == Money("0.30")
    assert Money("3.25") - Money("5.00") == Money("-1.75")
    assert -Money("3.25") == Money("-3.25")
    assert +Money("3.25") == Money("3.25")
    assert abs(Money("-3.25")) == Money("3.25")


def test_money_cannot_be_mixed_with_plain_numbers() -> None:
    price = Money("3.25")
    with pytest.raises(TypeError):
        _ = price + 1  # type: ignore[operator]
    with pytest.raises(TypeError):
        _ = price - Decimal("1")  # type: ignore[operator]
    with pytest.raises(TypeError):
        _ = price * Decimal("1.5")  # type: ignore[operator]
    with pytest.raises(TypeError):
        _ = price * True
    with pytest.raises(TypeError):
        _ = price < 4  # type: ignore[operator]
    with pytest.raises(TypeError):
        _ = 1 + price
    assert price != Decimal("3.25")
    assert price != 325


def test_comparisons_order_amounts() -> None:
    assert Money("3.24") < Money("3.25") <= Money("3.25") < Money("15")
    assert Money("15") > Money("-15")
    assert Money("15") >= Money("15.00")
    assert max(Money("3.25"), Money("15"), Money("0")) == Money("15")
    assert Money("-0.01").is_negative
    assert not ZERO.is_negative


def test_sum_and_total_add_invoice_lines() -> None:
    lines = [Money("3.25"), Money("3.25"), Money("-1.10")]
    assert sum(lines) == Money("5.40")
    assert Money.total(lines) == Money("5.40")
    assert Money.total([]) == ZERO
    assert Money.total(iter(lines)) == Money("5.40")


def test_money_reads_as_euros() -> None:
    assert Money("1234.5").amount == Decimal("1234.50")
    assert str(Money("1234.5")) == "1234.50 EUR"
    assert repr(Money("-3")) == "Money('-3.00')"


# -- French formatting ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "french"),
    [
        ("1234.50", f"1{NNBSP}234,50{NBSP}€"),
        ("0", f"0,00{NBSP}€"),
        ("3.25", f"3,25{NBSP}€"),
        ("1234567.89", f"1{NNBSP}234{NNBSP}567,89{NBSP}€"),
        ("-1234.50", f"-1{NNBSP}234,50{NBSP}€"),
        ("-0.05", f"-0,05{NBSP}€"),
    ],
)
def test_french_format_uses_cldr_no_break_spaces(amount: str, french: str) -> None:
    assert Money(amount).format() == french
    assert Money(amount).format("fr") == french


def test_french_format_reads_as_one_thousand_two_hundred_and_thirty_four_euros_fifty() -> None:
    text = Money("1234.50").format()
    assert text == "1\u202f234,50\u00a0€"
    assert [hex(ord(c)) for c in text if not c.isdigit()] == ["0x202f", "0x2c", "0xa0", "0x20ac"]


def test_english_format() -> None:
    assert Money("1234.50").format("en") == "€1,234.50"
    assert Money("-3.25").format("en") == "-€3.25"


# -- rounding ---------------------------------------------------------------------------------

HALF_UP = RoundingPolicy(RoundingMode.HALF_UP)
HALF_EVEN = RoundingPolicy(RoundingMode.HALF_EVEN)
HALF_DOWN = RoundingPolicy(RoundingMode.HALF_DOWN)
UP = RoundingPolicy(RoundingMode.UP)
DOWN = RoundingPolicy(RoundingMode.DOWN)


def test_default_policy_is_half_up_on_the_unit_price() -> None:
    assert RoundingPolicy() == RoundingPolicy(RoundingMode.HALF_UP, RoundingPoint.UNIT_PRICE)


def test_taux_d_effort_of_0_40_percent_on_qf_812_is_3_25() -> None:
    # A meal priced at 0,40 % of the quotient familial: 812 × 0,0040 = 3,248 €.
    exact = Decimal("0.0040") * 812
    assert exact == Decimal("3.248")
    assert HALF_UP.round(exact) == Money("3.25")
    assert HALF_EVEN.round(exact) == Money("3.25")
    assert HALF_DOWN.round(exact) == Money("3.25")
    assert UP.round(exact) == Money("3.25")
    assert DOWN.round(exact) == Money("3.24")


def test_a_price_exactly_half_a_cent_over_depends_on_the_mode() -> None:
    # 0,50 % × QF 649 = 3,245 €: the communes' half-up gives 3,25, banker's rounding 3,24.
    exact = Decimal("0.0050") * 649
    assert exact == Decimal("3.245")
    assert HALF_UP.round(exact) == Money("3.25")
    assert HALF_EVEN.round(exact) == Money("3.24")
    assert HALF_DOWN.round(exact) == Money("3.24")
    assert UP.round(exact) == Money("3.25")
    assert DOWN.round(exact) == Money("3.24")
    # Half-even goes to the even cent: 3,255 → 3,26.
    assert HALF_EVEN.round("3.255") == Money("3.26")


def test_negative_amounts_round_symmetrically() -> None:
    # A credit (avoir) of -3,245 € rounds away from zero in half-up, like its positive twin.
    assert HALF_UP.round("-3.245") == Money("-3.25")
    assert HALF_EVEN.round("-3.245") == Money("-3.24")
    assert DOWN.round("-3.249") == Money("-3.24")
    assert UP.round("-3.241") == Money("-3.25")


def test_a_sibling_reduction_of_10_percent_is_rounded_to_the_cent() -> None:
    # 3,25 € − 10 % = 2,925 €.
    assert HALF_UP.round(Decimal("3.25") * Decimal("0.90")) == Money("2.93")
    assert DOWN.round(Decimal("3.25") * Decimal("0.90")) == Money("2.92")


def test_round_accepts_french_strings_and_ints_but_not_floats() -> None:
    assert HALF_UP.round("3,248") == Money("3.25")
    assert HALF_UP.round(3) == Money("3")
    with pytest.raises(InvalidInput) as caught:
        HALF_UP.round(3.248)  # type: ignore[arg-type]
    assert caught.value.code == "money.float_rejected"


def test_unit_price_and_line_rounding_give_different_line_totals() -> None:
    # Three half-hour slots at 2,345 €: rounding the unit price first gives 3 × 2,35 = 7,05 €,
    # rounding the line gives 7,035 → 7,04 €. The commune chooses; the library never guesses.
    per_unit = RoundingPolicy(RoundingMode.HALF_UP, RoundingPoint.UNIT_PRICE)
    per_line = RoundingPolicy(RoundingMode.HALF_UP, RoundingPoint.LINE)
    assert per_unit.line_total(Decimal("2.345"), 3) == Money("7.05")
    assert per_line.line_total(Decimal("2.345"), 3) == Money("7.04")


def test_line_total_with_a_fractional_quantity_of_hours() -> None:
    # 1 h 30 of care at 1,15 €/h: quantity 1,5 as an exact decimal, 1,725 → 1,73 €.
    assert HALF_UP.line_total(Decimal("1.15"), Decimal("1.5")) == Money("1.73")
    assert RoundingPolicy(point=RoundingPoint.LINE).line_total(Decimal("1.15"), Decimal("1.5")) == Money(
        "1.73"
    )


def test_line_total_of_a_whole_cent_price_is_just_a_product() -> None:
    for policy in (HALF_UP, DOWN, RoundingPolicy(point=RoundingPoint.LINE)):
        assert policy.line_total(Decimal("3.25"), 20) == Money("65.00")


def test_rounding_mode_maps_to_decimal_rounding() -> None:
    assert RoundingMode.HALF_UP.decimal_rounding == "ROUND_HALF_UP"
    assert RoundingMode("half_even") is RoundingMode.HALF_EVEN
    assert RoundingPoint("line") is RoundingPoint.LINE


# -- allocation -------------------------------------------------------------------------------


def test_ten_euros_split_in_three_gives_the_extra_cent_to_the_first_part() -> None:
    assert Money("10").split(3) == [Money("3.34"), Money("3.33"), Money("3.33")]


def test_a_negative_amount_splits_like_its_positive_twin() -> None:
    assert Money("-10").split(3) == [Money("-3.34"), Money("-3.33"), Money("-3.33")]


def test_split_of_fewer_cents_than_parts() -> None:
    assert Money("0.02").split(3) == [Money("0.01"), Money("0.01"), ZERO]
    assert ZERO.split(2) == [ZERO, ZERO]
    assert Money("7.05").split(1) == [Money("7.05")]


def test_allocate_follows_the_weights() -> None:
    # A group payment of 100 € shared over invoices of 50, 25 and 25.
    assert Money("100").allocate([2, 1, 1]) == [Money("50"), Money("25"), Money("25")]
    assert Money("100").allocate([Decimal("0.5"), Decimal("0.25"), Decimal("0.25")]) == [
        Money("50"),
        Money("25"),
        Money("25"),
    ]
    # 1 € over 1/3 and 2/3: 0,333… and 0,666…; the larger remainder (0,666…) gets the cent.
    assert Money("1").allocate([1, 2]) == [Money("0.33"), Money("0.67")]
    # A zero weight gets nothing.
    assert Money("10").allocate([0, 1]) == [ZERO, Money("10")]


def test_allocation_remainders_go_to_the_largest_then_the_first() -> None:
    # 0,05 € over weights 1, 1, 1, 1, 1, 1 → five parts of one cent, the first five.
    assert Money("0.05").allocate([1] * 6) == [Money("0.01")] * 5 + [ZERO]


@pytest.mark.parametrize("bad", [[], [0], [0, 0], [1, -1], [-1, -2]])
def test_allocation_needs_non_negative_weights_with_a_positive_sum(bad: list[int]) -> None:
    with pytest.raises(InvalidInput) as caught:
        Money("10").allocate(bad)
    assert caught.value.code == "money.allocation"


@pytest.mark.parametrize("bad", [0, -1, True])
def test_split_needs_a_positive_number_of_parts(bad: int) -> None:
    with pytest.raises(InvalidInput) as caught:
        Money("10").split(bad)
    assert caught.value.code == "money.allocation"
