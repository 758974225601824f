"""Laws of Money and rounding that must hold for every amount, not only the ones we thought of."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from espacefamille.money import ZERO, Money, RoundingMode, RoundingPolicy
from espacefamille.testing.strategies import cents, exact_amounts, money_amounts, rounding_policies, weights

HALF_MODES = (RoundingMode.HALF_UP, RoundingMode.HALF_EVEN, RoundingMode.HALF_DOWN)


@given(money_amounts(), weights())
def test_allocation_preserves_the_sum_for_any_amount_and_weights(
    amount: Money, shares: list[Decimal | int]
) -> None:
    parts = amount.allocate(shares)
    assert len(parts) == len(shares)
    assert Money.total(parts) == amount


@given(money_amounts(), weights())
def test_allocation_parts_have_the_sign_of_the_amount_and_zero_weights_get_nothing(
    amount: Money, shares: list[Decimal | int]
) -> None:
    parts = amount.allocate(shares)
    for part, share in zip(parts, shares, strict=True):
        assert abs(part) <= abs(amount)
        assert not (part.is_negative and not amount.is_negative)
        assert not (amount.is_negative and part.cents > 0)
        if share == 0:
            assert part == ZERO


@given(money_amounts(), weights())
def test_each_allocated_part_is_within_one_cent_of_its_exact_share(
    amount: Money, shares: list[Decimal | int]
) -> None:
    total_weight = sum(Decimal(s) for s in shares)
    for part, share in zip(amount.allocate(shares), shares, strict=True):
        exact = Decimal(amount.cents) * Decimal(share) / total_weight
        assert abs(Decimal(part.cents) - exact) < 1


@given(money_amounts(), st.integers(min_value=1, max_value=50))
def test_split_parts_add_up_and_differ_by_at_most_one_cent(amount: Money, count: int) -> None:
    parts = amount.split(count)
    assert len(parts) == count
    assert Money.total(parts) == amount
    assert max(parts).cents - min(parts).cents <= 1
    # The larger parts come first: the extra cents go to the first parts.
    assert [abs(p) for p in parts] == sorted((abs(p) for p in parts), reverse=True)


@given(exact_amounts(), st.sampled_from(HALF_MODES))
def test_half_modes_round_to_within_half_a_cent(exact: Decimal, mode: RoundingMode) -> None:
    rounded = RoundingPolicy(mode).round(exact)
    assert abs(rounded.amount - exact) <= Decimal("0.005")


@given(exact_amounts(), rounding_policies())
def test_every_mode_rounds_to_within_one_cent_in_its_direction(
    exact: Decimal, policy: RoundingPolicy
) -> None:
    rounded = policy.round(exact).amount
    assert abs(rounded - exact) < Decimal("0.01")
    if policy.mode is RoundingMode.DOWN:
        assert abs(rounded) <= abs(exact)
    if policy.mode is RoundingMode.UP:
        assert abs(rounded) >= abs(exact)


@given(exact_amounts(), rounding_policies())
def test_rounding_is_symmetric_for_credits(exact: Decimal, policy: RoundingPolicy) -> None:
    assert policy.round(-exact) == -policy.round(exact)


@given(money_amounts(), rounding_policies())
def test_rounding_a_whole_cent_amount_changes_nothing(amount: Money, policy: RoundingPolicy) -> None:
    assert policy.round(amount.amount) == amount


@given(money_amounts(), money_amounts(), money_amounts())
def test_addition_is_commutative_and_associative(a: Money, b: Money, c: Money) -> None:
    assert a + b == b + a
    assert (a + b) + c == a + (b + c)
    assert a + ZERO == a
    assert sum([a, b, c]) == Money.total([a, b, c]) == a + b + c


@given(money_amounts(), money_amounts())
def test_negation_and_subtraction_are_inverse_of_addition(a: Money, b: Money) -> None:
    assert a + (-a) == ZERO
    negated = -a
    assert -negated == a
    assert a - b == a + (-b)
    assert (a - b) + b == a
    assert abs(a) == abs(-a)


@given(money_amounts(-100_000, 100_000), st.integers(min_value=-100, max_value=100))
def test_multiplying_by_a_quantity_is_repeated_addition(a: Money, quantity: int) -> None:
    repeated = Money.total([a] * abs(quantity))
    assert a * quantity == (repeated if quantity >= 0 else -repeated)


@given(cents(), cents())
def test_money_is_ordered_like_its_cents(a: int, b: int) -> None:
    assert (Money.from_cents(a) < Money.from_cents(b)) == (a < b)
    assert (Money.from_cents(a) == Money.from_cents(b)) == (a == b)


@given(cents())
def test_money_is_hashable_and_equal_by_value(amount: int) -> None:
    built = [Money.from_cents(amount), Money(Decimal(amount).scaleb(-2)), Money(str(Decimal(amount) / 100))]
    assert len(set(built)) == 1
    assert all(m == built[0] and hash(m) == hash(built[0]) for m in built)
    assert {built[0]: "ligne"}[built[1]] == "ligne"


@given(cents())
def test_an_amount_survives_its_decimal_and_its_string(amount: int) -> None:
    money = Money.from_cents(amount)
    assert Money(money.amount) == money
    assert Money(str(money.amount)) == money
    assert Money(str(money.amount).replace(".", ",")) == money
