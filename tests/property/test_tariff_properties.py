"""Invariants of tariffs and pricing that hold for every commune's configuration, checked by hypothesis."""

from __future__ import annotations

import datetime as dt
import tomllib
from decimal import Decimal
from fractions import Fraction
from typing import Any, cast

import attrs
import pytest
import tomli_w
from hypothesis import assume, given
from hypothesis import strategies as st

from espacefamille.billing import tariffs as tariffs_module
from espacefamille.billing.pricing import (
    FamilyFacts,
    price_quote,
    price_surcharge,
    situation_key,
)
from espacefamille.billing.tariffs import (
    FULL_PRICE,
    NO_CHARGE,
    AttendanceEffect,
    AttendanceEffects,
    EffortRate,
    FixedAmount,
    FixedSurcharge,
    FlatPrice,
    GridBand,
    GridCell,
    MultiplierSurcharge,
    PercentOfPrice,
    PercentSurcharge,
    PrestationTariff,
    PriceByChildren,
    PriceGrid,
    PriceList,
    PriceRule,
    PriceUnit,
    QfBand,
    QfChangeRule,
    QuotientBands,
    RankReduction,
    SurchargeKind,
    SurchargeRule,
    TariffBook,
    tariff_book_from_dict,
    tariff_book_to_dict,
    tariff_criteria,
)
from espacefamille.calendar.periods import DateRange
from espacefamille.errors import InvalidConfiguration, MissingData
from espacefamille.model import Family, Residence, quotient_in_force
from espacefamille.money import Money, RoundingMode, RoundingPoint, RoundingPolicy
from espacefamille.testing.strategies import families
from tests.property.test_tariff_grid_properties import book_of as grid_book
from tests.property.test_tariff_grid_properties import grids

SCHOOL_YEAR = DateRange(dt.date(2026, 9, 1), dt.date(2027, 8, 31))
DAY = dt.date(2026, 11, 12)
HALF_CENT = Fraction(1, 200)

amounts = st.integers(0, 5_000).map(lambda cents: Decimal(cents).scaleb(-2))
fine_amounts = st.integers(0, 500_000).map(lambda tenths_of_a_cent: Decimal(tenths_of_a_cent).scaleb(-4))
quotients = st.decimals(min_value=0, max_value=20_000, places=2)
half_modes = st.sampled_from([RoundingMode.HALF_UP, RoundingMode.HALF_EVEN, RoundingMode.HALF_DOWN])


@st.composite
def band_lists(draw: st.DrawFn, *, may_decrease: bool = False) -> list[QfBand]:
    """Contiguous bands from 0; prices rise with the QF unless one pair is swapped."""
    cuts = sorted(set(draw(st.lists(st.integers(1, 1_000_000), max_size=6))))
    lowers = [Decimal(0), *(Decimal(cut).scaleb(-2) for cut in cuts)]
    prices = sorted(draw(st.lists(amounts, min_size=len(lowers), max_size=len(lowers))))
    if may_decrease and len(prices) > 1 and draw(st.booleans()):
        index = draw(st.integers(0, len(prices) - 2))
        prices[index], prices[index + 1] = prices[index + 1], prices[index]
    uppers: list[Decimal | None] = [*lowers[1:], None]
    return [QfBand(lower, upper, price) for lower, upper, price in zip(lowers, uppers, prices, strict=True)]


@st.composite
def quotient_bands(draw: st.DrawFn) -> QuotientBands:
    bands = draw(band_lists())
    return QuotientBands(bands, draw(st.none() | st.integers(0, len(bands) - 1)))


@st.composite
def effort_rates(draw: st.DrawFn) -> EffortRate:
    floor, ceiling = sorted(draw(st.lists(amounts, min_size=2, max_size=2)))
    rate = draw(st.integers(1, 500).map(lambda hundredths: Decimal(hundredths).scaleb(-2)))
    return EffortRate(rate, floor, ceiling)


def book_of(tariff: PrestationTariff) -> TariffBook:
    return TariffBook([PriceList("2026-2027", SCHOOL_YEAR, [tariff])])


# -- bands and taux d'effort --------------------------------------------------------------------


@given(quotient_bands(), quotients)
def test_bands_cover_every_quotient_exactly_once(bands: QuotientBands, quotient: Decimal) -> None:
    holding = [band for band in bands.bands if quotient in band]
    assert len(holding) == 1
    assert bands.bands[bands.index_for(quotient)] is holding[0]


BOUNDS = [Decimal(text) for text in ("0", "500", "650.5", "651", "1000", "1001")]


@st.composite
def written_bands(draw: st.DrawFn) -> list[tuple[Decimal, Decimal | None]]:
    """Bands as a commune might write them: contiguous, or with one bound mistyped."""
    cuts = sorted(draw(st.sets(st.sampled_from(BOUNDS[1:]), max_size=4)))
    written: list[tuple[Decimal, Decimal | None]] = list(zip([Decimal(0), *cuts], [*cuts, None], strict=True))
    if draw(st.booleans()):
        index = draw(st.integers(0, len(written) - 1))
        lower, upper = written[index]
        if draw(st.booleans()):
            lower = draw(st.sampled_from(BOUNDS))
        else:
            upper = draw(st.sampled_from([None, *BOUNDS]))
        written[index] = (lower, upper)
    return written


@given(written_bands())
def test_any_accepted_band_list_covers_every_quotient_exactly_once(
    written: list[tuple[Decimal, Decimal | None]],
) -> None:
    # Whatever a commune writes, gapped or overlapping bands are refused, so no QF goes unpriced.
    try:
        bands = QuotientBands([QfBand(lower, upper, "1.00") for lower, upper in written])
    except InvalidConfiguration:
        return
    probes = {bound + step for bound in BOUNDS for step in (Decimal("-0.01"), Decimal(0), Decimal("0.01"))}
    for quotient in (probe for probe in probes if probe >= 0):
        assert sum(quotient in band for band in bands.bands) == 1


@given(effort_rates(), quotients | st.none())
def test_taux_d_effort_is_always_within_floor_and_ceiling(rule: EffortRate, quotient: Decimal | None) -> None:
    quoted = price_quote(book_of(PrestationTariff("x", PriceUnit.DAY, rule)), "x", DAY, FamilyFacts(quotient))
    assert rule.floor <= quoted.unit_price <= rule.ceiling


def _never_less_for_more(rule: QuotientBands | EffortRate, low: Decimal, high: Decimal) -> None:
    low, high = sorted([low, high])
    book = book_of(PrestationTariff("x", PriceUnit.DAY, rule))
    cheaper = price_quote(book, "x", DAY, FamilyFacts(low), 5)
    dearer = price_quote(book, "x", DAY, FamilyFacts(high), 5)
    assert cheaper.unit_price <= dearer.unit_price
    assert cheaper.total <= dearer.total


@given(band_lists(may_decrease=True), quotients, quotients)
def test_a_higher_quotient_never_pays_less_under_bands(
    bands: list[QfBand], low: Decimal, high: Decimal
) -> None:
    try:
        rule = QuotientBands(bands)
    except InvalidConfiguration as error:  # a commune's typo: refused, never priced
        assert error.code == "tariff.band_price_decreasing"  # noqa: PT017
        return
    _never_less_for_more(rule, low, high)


@given(effort_rates(), quotients, quotients)
def test_a_higher_quotient_never_pays_less_under_a_taux_d_effort(
    rule: EffortRate, low: Decimal, high: Decimal
) -> None:
    _never_less_for_more(rule, low, high)


# -- rounding ----------------------------------------------------------------------------------


def _error(total: Money, exact: Fraction) -> Fraction:
    return abs(Fraction(total.cents, 100) - exact)


@given(fine_amounts, st.integers(0, 400), half_modes)
def test_unit_point_rounding_is_within_half_a_cent_per_unit(
    price: Decimal, quantity: int, mode: RoundingMode
) -> None:
    rounding = RoundingPolicy(mode, RoundingPoint.UNIT_PRICE)
    quoted = price_quote(
        book_of(PrestationTariff("x", PriceUnit.DAY, FlatPrice(price))),
        "x",
        DAY,
        FamilyFacts(),
        quantity,
        rounding=rounding,
    )
    assert _error(quoted.total, Fraction(price) * quantity) <= quantity * HALF_CENT


@given(fine_amounts, st.integers(0, 400), half_modes)
def test_line_point_rounding_is_within_half_a_cent_of_the_line(
    price: Decimal, quantity: int, mode: RoundingMode
) -> None:
    rounding = RoundingPolicy(mode, RoundingPoint.LINE)
    quoted = price_quote(
        book_of(PrestationTariff("x", PriceUnit.DAY, FlatPrice(price))),
        "x",
        DAY,
        FamilyFacts(),
        quantity,
        rounding=rounding,
    )
    assert _error(quoted.total, Fraction(price) * quantity) <= HALF_CENT


@given(fine_amounts, st.integers(0, 600), half_modes, st.sampled_from([PriceUnit.HOUR, PriceUnit.HALF_HOUR]))
def test_timed_prices_stay_within_rounding_of_the_exact_minutes(
    price: Decimal, minutes: int, mode: RoundingMode, unit: PriceUnit
) -> None:
    book = book_of(PrestationTariff("x", unit, FlatPrice(price)))
    assert unit.minutes is not None
    exact = Fraction(price) * minutes / unit.minutes
    units = Fraction(minutes, unit.minutes)
    unit_point = price_quote(book, "x", DAY, FamilyFacts(), minutes, rounding=RoundingPolicy(mode))
    line_point = price_quote(
        book, "x", DAY, FamilyFacts(), minutes, rounding=RoundingPolicy(mode, RoundingPoint.LINE)
    )
    assert _error(unit_point.total, exact) <= units * HALF_CENT + HALF_CENT
    assert _error(line_point.total, exact) <= HALF_CENT


# -- price lists over time ---------------------------------------------------------------------


@st.composite
def yearly_books(draw: st.DrawFn) -> TariffBook:
    starts = sorted(set(draw(st.lists(st.integers(0, 2_000), min_size=1, max_size=5))))
    lists = []
    for index, start in enumerate(starts):
        following = starts[index + 1] if index + 1 < len(starts) else start + 400
        end = draw(st.integers(start, following - 1))  # a gap between lists may be left
        period = DateRange(dt.date(2024, 9, 1) + dt.timedelta(start), dt.date(2024, 9, 1) + dt.timedelta(end))
        lists.append(
            PriceList(f"liste-{index}", period, [PrestationTariff("x", PriceUnit.DAY, FlatPrice(index))])
        )
    return TariffBook(draw(st.permutations(lists)))


@given(yearly_books(), st.integers(-30, 2_500))
def test_a_later_price_list_never_applies_before_its_start(book: TariffBook, offset: int) -> None:
    day = dt.date(2024, 9, 1) + dt.timedelta(offset)
    if not any(day in price_list.validity for price_list in book.price_lists):
        with pytest.raises(MissingData, match="no price list covers"):
            price_quote(book, "x", day, FamilyFacts())
        return
    quoted = price_quote(book, "x", day, FamilyFacts())
    assert day in quoted.explanation.validity
    later = [p.label for p in book.price_lists if p.validity.start > day]
    assert quoted.explanation.price_list not in later


# -- tolerance and QF changes -------------------------------------------------------------------


@given(st.integers(0, 5), st.integers(0, 12))
def test_exactly_the_days_beyond_the_tolerance_are_surcharged(tolerance: int, days: int) -> None:
    tariff = PrestationTariff(
        "x", PriceUnit.DAY, FlatPrice("3.20"), unbooked_presence=FixedSurcharge(Money("2.00"), tolerance)
    )
    book = book_of(tariff)
    meal = price_quote(book, "x", DAY, FamilyFacts())
    charged = []
    for earlier in range(days):
        surcharge = price_surcharge(book, meal, SurchargeKind.UNBOOKED_PRESENCE, earlier_occurrences=earlier)
        assert surcharge is not None
        charged.append(surcharge.total)
    assert sum(charged, Money(0)) == Money("2.00") * max(0, days - tolerance)


@given(families(), st.integers(-45, 45), st.data(), st.sampled_from(QfChangeRule))
def test_a_quotient_never_applies_before_the_day_it_was_received_nor_its_rule_s_date(
    family: Family, offset: int, data: st.DataObject, rule: QfChangeRule
) -> None:
    # Days around the quotients' dates, where changes happen.
    edges = [d for q in family.quotients for d in (q.valid_from, q.valid_until, q.received_on) if d]
    day = data.draw(st.sampled_from(edges)) + dt.timedelta(days=offset) if edges else dt.date(2026, 11, 17)
    quotient = quotient_in_force(family.quotients, day, rule)
    if quotient is not None:
        assert quotient.valid_from <= day
        if quotient.received_on is not None:
            assert quotient.received_on <= day
            assert rule.effective_from(quotient.received_on) <= day
    assert family.quotient_on(day, rule) == (None if quotient is None else quotient.value)
    # Without reception dates, a quotient applies exactly over its validity dates.
    entered = [attrs.evolve(q, received_on=None) for q in family.quotients]
    covering = [q for q in entered if q.valid_from <= day and (q.valid_until is None or day <= q.valid_until)]
    assert quotient_in_force(entered, day, rule) == (covering[0] if covering else None)


# -- configuration round trip ------------------------------------------------------------------


def base_rules() -> st.SearchStrategy[FlatPrice | QuotientBands | EffortRate]:
    return st.one_of(amounts.map(FlatPrice), quotient_bands(), effort_rates())


effects: st.SearchStrategy[AttendanceEffect] = st.one_of(
    st.just(FULL_PRICE),
    st.just(NO_CHARGE),
    st.integers(-2_000, 2_000).map(lambda cents: FixedAmount(Money.from_cents(cents))),
    st.integers(-100, 100).map(PercentOfPrice),
)
surcharges: st.SearchStrategy[SurchargeRule | None] = st.one_of(
    st.none(),
    st.builds(FixedSurcharge, st.integers(1, 1_000).map(Money.from_cents), st.integers(0, 5)),
    st.builds(PercentSurcharge, st.integers(1, 100).map(Decimal), st.integers(0, 5)),
    st.builds(
        MultiplierSurcharge, st.sampled_from([Decimal("1.5"), Decimal(2), Decimal("1.25")]), st.integers(0, 5)
    ),
)
status_codes = st.sampled_from(["present", "absent_justified", "present_unbooked", "absent_sick"])


@st.composite
def prestation_tariffs(draw: st.DrawFn, prestation_id: str) -> PrestationTariff:
    unit = draw(st.sampled_from(PriceUnit))
    by_children = draw(st.booleans())
    rule: PriceRule = (
        PriceByChildren(draw(st.lists(base_rules(), min_size=1, max_size=3)))
        if by_children
        else draw(base_rules())
    )
    reduction = None
    if not by_children and draw(st.booleans()):
        reduction = RankReduction(draw(st.lists(st.integers(0, 100).map(Decimal), min_size=1, max_size=3)))
    attendance = draw(st.none() | st.dictionaries(status_codes, effects, max_size=3).map(AttendanceEffects))
    return PrestationTariff(
        prestation_id,
        unit,
        rule,
        unit_label=draw(st.sampled_from(["", "le repas"])),
        count_started=unit.is_timed and draw(st.booleans()),
        non_resident=draw(st.none() | amounts),
        pai=draw(st.none() | amounts),
        sibling_reduction=reduction,
        unbooked_presence=draw(surcharges),
        attendance=attendance,
    )


@st.composite
def tariff_books(draw: st.DrawFn) -> TariffBook:
    years = draw(st.lists(st.integers(2024, 2030), min_size=0, max_size=3, unique=True))
    lists = []
    for year in years:
        ids = draw(st.lists(st.sampled_from(["repas", "matin", "soir", "journee"]), max_size=3, unique=True))
        lists.append(
            PriceList(
                f"{year}-{year + 1}",
                DateRange(dt.date(year, 9, 1), dt.date(year + 1, 8, 31)),
                [draw(prestation_tariffs(prestation_id)) for prestation_id in ids],
                AttendanceEffects(draw(st.dictionaries(status_codes, effects, max_size=4))),
                draw(st.sampled_from(QfChangeRule)),
            )
        )
    return TariffBook(lists)


@given(tariff_books())
def test_a_tariff_book_reads_back_equal_from_its_toml(book: TariffBook) -> None:
    assert tariff_book_from_dict(tariff_book_to_dict(book)) == book
    assert tariff_book_from_dict(tomllib.loads(tomli_w.dumps(tariff_book_to_dict(book)))) == book


@given(tariff_books(), quotients | st.none(), st.integers(1, 4), st.integers(0, 120))
def test_every_price_is_non_negative_explained_and_rounded_by_the_policy(
    book: TariffBook, quotient: Decimal | None, children: int, quantity: int
) -> None:
    assume(book.price_lists)
    price_list = book.price_lists[0]
    facts = FamilyFacts(quotient, child_rank=children, children=children)
    for tariff in price_list.prices:
        quoted = price_quote(book, tariff.prestation_id, price_list.validity.start, facts, quantity)
        assert quoted.unit_price >= 0
        assert quoted.message_fr.endswith(".")
        if quoted.billed_units.denominator == 1:
            units = quoted.billed_units.numerator
            assert quoted.total == quoted.rounding.line_total(quoted.unit_price, units)


family_facts = st.builds(
    lambda quotient, children, rank, pai, outside: FamilyFacts(
        quotient,
        Residence.NON_RESIDENT if outside else Residence.RESIDENT,
        pai,
        min(rank, children),
        children,
    ),
    quotients | st.none(),
    st.integers(1, 6),
    st.integers(1, 6),
    st.booleans(),
    st.booleans(),
)


@given(
    tariff_books(),
    st.lists(st.tuples(family_facts, st.integers(0, 130), status_codes | st.none()), max_size=8),
)
def test_a_quote_does_not_depend_on_what_was_priced_before(
    book: TariffBook, requests: list[tuple[FamilyFacts, int, str | None]]
) -> None:
    assume(book.price_lists)
    price_list = book.price_lists[0]
    day = price_list.validity.start
    for facts, quantity, status in requests:
        for tariff in price_list.prices:
            fresh = tariff_book_from_dict(tariff_book_to_dict(book))  # nothing priced yet
            try:
                expected = price_quote(fresh, tariff.prestation_id, day, facts, quantity, status=status)
            except MissingData:
                continue  # a status this list does not price
            quoted = price_quote(book, tariff.prestation_id, day, facts, quantity, status=status)
            assert (quoted.total, quoted.message_fr) == (expected.total, expected.message_fr)


# -- the pricing key and the price come from the same facts ------------------------------------------


def grid_rule(grid: dict[str, Any]) -> PriceRule:
    tariff = grid_book(grid).price_lists[0].tariff("repas")
    assert tariff is not None
    return cast(PriceRule, tariff.rule)


PRICE_RULES: dict[str, st.SearchStrategy[PriceRule]] = {
    "flat": amounts.map(FlatPrice),
    "bands": quotient_bands(),
    "effort": effort_rates(),
    "by_children": st.lists(base_rules(), min_size=1, max_size=3).map(PriceByChildren),
    "grid": grids().map(grid_rule),
}
CHECKED_CRITERIA = (*PRICE_RULES, "non_resident", "pai", "sibling_reduction")
reductions = st.lists(st.integers(0, 100).map(Decimal), min_size=1, max_size=3).map(RankReduction)


@st.composite
def tariffs_reading(draw: st.DrawFn, key: str) -> PrestationTariff:
    """A tariff that surely has the criterion ``key``, and maybe others."""
    if key in PRICE_RULES:
        rule = draw(PRICE_RULES[key])
    elif key == "sibling_reduction":
        rule = draw(base_rules())
    else:
        rule = draw(st.one_of(*PRICE_RULES.values()))
    reduction = None
    if not isinstance(rule, PriceByChildren | PriceGrid) and (
        key == "sibling_reduction" or draw(st.booleans())
    ):
        reduction = draw(reductions)
    return PrestationTariff(
        "x",
        draw(st.sampled_from(PriceUnit)),
        rule,
        non_resident=draw(amounts if key == "non_resident" else st.none() | amounts),
        pai=draw(amounts if key == "pai" else st.none() | amounts),
        sibling_reduction=reduction,
    )


# Few values, so that two families often share a band, a QF, a rank or a family size.
few_quotients = st.none() | st.sampled_from(
    [Decimal("0.00"), Decimal("400.00"), Decimal("812.00"), Decimal("1500.00")]
)


@st.composite
def two_situations(draw: st.DrawFn) -> tuple[FamilyFacts, FamilyFacts]:
    """A family and another that differs from it in one fact (or none)."""
    children = draw(st.integers(1, 4))
    first = FamilyFacts(
        draw(few_quotients),
        draw(st.sampled_from(Residence)),
        draw(st.booleans()),
        draw(st.integers(1, children)),
        children,
    )
    first = attrs.evolve(first, rank_in_service=draw(st.none() | st.integers(1, first.child_rank)))
    fact = draw(
        st.sampled_from(["quotient", "residence", "pai", "child_rank", "children", "service", "none"])
    )
    if fact == "quotient":
        second = attrs.evolve(first, quotient=draw(few_quotients))
    elif fact == "residence":
        second = attrs.evolve(first, residence=draw(st.sampled_from(Residence)))
    elif fact == "pai":
        second = attrs.evolve(first, pai=not first.pai)
    elif fact == "child_rank":
        rank = draw(st.integers(1, first.children))
        second = attrs.evolve(first, child_rank=rank, rank_in_service=min(first.service_rank, rank))
    elif fact == "service":
        second = attrs.evolve(first, rank_in_service=draw(st.integers(1, first.child_rank)))
    elif fact == "children":
        more = draw(st.integers(first.child_rank, 5))
        second = attrs.evolve(first, children=more)
    else:
        second = first
    return first, second


@pytest.mark.parametrize("key", CHECKED_CRITERIA)
@given(data=st.data())
def test_two_families_with_equal_pricing_keys_pay_the_same_for_every_criterion(
    key: str, data: st.DataObject
) -> None:
    """The memo and month-end billing share a price between families of equal ``situation_key``: a key
    that ignored a fact its price reads (the rank under a sibling reduction, the QF under a taux
    d'effort…) would give one family the other's price."""
    tariff = data.draw(tariffs_reading(key))
    first, second = data.draw(two_situations())
    if situation_key(tariff, first) != situation_key(tariff, second):
        return
    status = data.draw(st.none() | st.sampled_from(["absent_justified", "present_unbooked"]))
    quantity = data.draw(st.integers(0, 130))
    # Each family priced on a book of its own, where nothing is cached yet.
    quotes = [
        price_quote(book_of(tariff), "x", DAY, facts, quantity, status=status) for facts in (first, second)
    ]
    assert quotes[0].unit_price == quotes[1].unit_price
    assert quotes[0].total == quotes[1].total
    assert quotes[0].message_fr == quotes[1].message_fr


def test_every_criterion_the_library_ships_is_checked_for_its_key() -> None:
    shipped = {
        key
        for key, kind in tariff_criteria().items()
        if kind.__module__.startswith(tariffs_module.__name__ + ".")
    }
    assert shipped == set(CHECKED_CRITERIA)


# -- today's shapes are grids of one criterion ------------------------------------------------------


def _as_grid(bands: QuotientBands) -> PriceGrid:
    keys = [f"T{index}" for index in range(len(bands.bands))]
    return PriceGrid(
        tuple(GridCell({"qf": key}, band.price) for key, band in zip(keys, bands.bands, strict=True)),
        qf=tuple(GridBand(key, band.lower, band.upper) for key, band in zip(keys, bands.bands, strict=True)),
        unknown_qf=keys[bands.unknown_index],
    )


@given(quotient_bands(), st.lists(st.none() | quotients, min_size=1, max_size=10))
def test_qf_bands_price_every_family_as_the_same_grid_by_qf_band(
    bands: QuotientBands, family_quotients: list[Decimal | None]
) -> None:
    shorthand = book_of(PrestationTariff("x", PriceUnit.DAY, bands))
    grid = book_of(PrestationTariff("x", PriceUnit.DAY, _as_grid(bands)))
    for quotient in family_quotients:
        facts = FamilyFacts(quotient)
        assert (
            price_quote(grid, "x", DAY, facts).unit_price
            == price_quote(shorthand, "x", DAY, facts).unit_price
        )


@given(effort_rates(), st.lists(st.none() | quotients, min_size=1, max_size=10))
def test_a_taux_d_effort_prices_every_family_as_a_one_cell_grid(
    effort: EffortRate, family_quotients: list[Decimal | None]
) -> None:
    shorthand = book_of(PrestationTariff("x", PriceUnit.DAY, effort))
    cell = PriceGrid((GridCell({}, effort),), residence=True)
    grid = book_of(PrestationTariff("x", PriceUnit.DAY, cell))
    for quotient in family_quotients:
        facts = FamilyFacts(quotient)
        assert price_quote(grid, "x", DAY, facts).total == price_quote(shorthand, "x", DAY, facts).total
