"""Tariffs of a commune priced as a family and the régie would check them, one worked case per kind."""

from __future__ import annotations

import datetime as dt
import tomllib
from collections.abc import Callable, Iterator, Mapping
from decimal import Decimal
from fractions import Fraction
from typing import Any, ClassVar

import attrs
import pytest
import tomli_w

from espacefamille.billing import pricing, tariffs
from espacefamille.billing.pricing import (
    FamilyFacts,
    PriceQuote,
    price_quote,
    price_surcharge,
)
from espacefamille.billing.tariffs import (
    DEFAULT_ATTENDANCE_EFFECTS,
    FULL_PRICE,
    NO_CHARGE,
    AttendanceEffects,
    CriterionPrice,
    CriterionRole,
    FixedAmount,
    FixedSurcharge,
    FlatPrice,
    FullPrice,
    NoCharge,
    PercentOfPrice,
    PercentSurcharge,
    PrestationTariff,
    PriceList,
    PriceUnit,
    QfBand,
    QfChangeRule,
    QuotientBands,
    RankReduction,
    Situation,
    SurchargeKind,
    TariffBook,
    attendance_effect,
    attendance_effects,
    tariff_book_from_dict,
    tariff_book_to_dict,
    tariff_criteria,
    tariff_criterion,
)
from espacefamille.calendar.periods import DateRange
from espacefamille.commune import Commune
from espacefamille.errors import InvalidConfiguration, InvalidInput, MissingData
from espacefamille.model import QuotientFamilial, Residence, quotient_in_force
from espacefamille.money import Money, RoundingMode, RoundingPoint, RoundingPolicy

# Saint-Aubin-des-Prés' price lists for two school years, as its TOML file writes them.
SAINT_AUBIN = """
[[tariffs]]
label = "2025-2026"
start = 2025-09-01
end = 2026-08-31

[tariffs.prices.repas]
unit = "day"
unit_label = "le repas"
flat = "3.10"

[[tariffs]]
label = "2026-2027"
start = 2026-09-01
end = 2027-08-31
qf_change = "next_month"

[tariffs.attendance]
present = "full"
absent_justified = "zero"
absent_unjustified = "full"
present_unbooked = "full"
cancelled_in_time = "zero"
service_closed = "zero"
absent_justified_late = { percent = "50" }

[tariffs.prices.repas]
unit = "day"
unit_label = "le repas"
bands = [
  { from = "0", to = "651", price = "1.10", label = "0 à 650 €" },
  { from = "651", to = "1001", price = "3.20", label = "651 à 1 000 €" },
  { from = "1001", price = "4.30" },
]
non_resident = "5.80"
pai = "1.20"
sibling_reduction = ["0", "10", "50"]
unbooked_presence = { fixed = "5.00", tolerance = 2 }

[tariffs.prices.matin]
unit = "half_hour"
count_started = true
flat = "0.90"

[tariffs.prices.soir]
unit = "hour"
flat = "2.40"
unbooked_presence = { multiplier = "1.5" }
attendance = { present_unbooked = { fixed = "5.00" } }

[tariffs.prices.mercredi_journee]
unit = "day"
effort = { rate_percent = "0.40", floor = "1.00", ceiling = "4.00" }

[tariffs.prices.journee]
unit = "day"
by_children = ["12.00", "11.00", { effort = { rate_percent = "1.2", floor = "4.00", ceiling = "10.00" } }]
attendance = { absent_justified = { percent = "-100" } }

[tariffs.prices.stage_semaine]
unit = "block"
unit_label = "la semaine"
flat = "65.00"
non_resident = "90.00"
"""

THURSDAY = dt.date(2026, 11, 12)  # a canteen day, the week after the Armistice
MONDAY = dt.date(2026, 11, 16)


def plain(text: str) -> str:
    """French text with its CLDR no-break spaces read as plain spaces."""
    return text.replace("\u00a0", " ").replace("\u202f", " ")


@pytest.fixture(scope="module")
def book() -> TariffBook:
    return tariff_book_from_dict(tomllib.loads(SAINT_AUBIN))


def quote(book: TariffBook, prestation: str, quantity: int = 1, **facts: Any) -> PriceQuote:
    return price_quote(book, prestation, THURSDAY, FamilyFacts(**facts), quantity)


def document(**prices: Any) -> dict[str, Any]:
    """A one-list document pricing the given prestations, to build bad configurations from."""
    return {
        "tariffs": [
            {
                "label": "2026-2027",
                "start": dt.date(2026, 9, 1),
                "end": dt.date(2027, 8, 31),
                "prices": prices,
            }
        ]
    }


def config_error(data: dict[str, Any]) -> InvalidConfiguration:
    with pytest.raises(InvalidConfiguration) as caught:
        tariff_book_from_dict(data)
    return caught.value


# -- price lists versioned by dates -----------------------------------------------------------


def test_the_new_price_list_applies_from_1_september(book: TariffBook) -> None:
    last_day = price_quote(book, "repas", dt.date(2026, 8, 31), FamilyFacts(800))
    rentree = price_quote(book, "repas", dt.date(2026, 9, 1), FamilyFacts(800))
    assert (last_day.unit_price, last_day.explanation.price_list) == (Decimal("3.10"), "2025-2026")
    assert (rentree.unit_price, rentree.explanation.price_list) == (Decimal("3.20"), "2026-2027")


def test_a_date_without_price_list_is_an_error_never_a_free_meal(book: TariffBook) -> None:
    with pytest.raises(MissingData) as caught:
        price_quote(book, "repas", dt.date(2027, 9, 2), FamilyFacts(800))
    assert caught.value.code == "tariff.no_price_list"
    assert caught.value.message_fr == "Aucune grille tarifaire n'est en vigueur le jeudi 2 septembre 2027."


def test_a_prestation_the_price_list_does_not_price_is_an_error(book: TariffBook) -> None:
    with pytest.raises(MissingData) as caught:
        price_quote(book, "soir", dt.date(2026, 6, 30), FamilyFacts(800))  # 2025-26 prices meals only
    assert caught.value.code == "tariff.no_price"


def test_overlapping_price_lists_are_refused_with_the_later_one_named() -> None:
    data = tomllib.loads(SAINT_AUBIN)
    data["tariffs"][1]["start"] = dt.date(2026, 8, 24)
    error = config_error(data)
    assert (error.code, error.path) == ("tariff.price_list_overlap", "tariffs[1].start")


def test_price_lists_are_kept_in_date_order_whatever_the_file_order(book: TariffBook) -> None:
    reversed_book = TariffBook(tuple(reversed(book.price_lists)))
    assert reversed_book == book
    assert reversed_book.price_list_on(dt.date(2025, 10, 1)).label == "2025-2026"


# -- flat price --------------------------------------------------------------------------------


def test_flat_price_for_a_week_of_meals() -> None:
    book = tariff_book_from_dict(tomllib.loads(SAINT_AUBIN))
    week = price_quote(book, "repas", dt.date(2026, 6, 29), FamilyFacts(None), 4)
    assert week.total == Money("12.40")
    assert plain(week.message_fr) == "Tarif unique : 3,10 € le repas."
    assert week.code == "tariff.flat"


# -- quotient-familial bands -------------------------------------------------------------------


def test_the_band_sentence_a_parent_reads(book: TariffBook) -> None:
    second_child = quote(book, "repas", 4, quotient=800, child_rank=2, children=2)
    # The band's label is the commune's own words; amounts and percents take CLDR no-break spaces.
    assert (
        second_child.message_fr
        == "Tranche QF 651 à 1 000 € : 3,20\u00a0€ le repas ; 2e enfant \u221210\u202f%."
    )
    assert second_child.explanation.codes == ("tariff.qf_band", "tariff.sibling_rank")
    assert (second_child.unit_price, second_child.total) == (Decimal("2.88"), Money("11.52"))


def test_a_qf_of_zero_is_the_first_band_not_an_unknown_qf(book: TariffBook) -> None:
    zero = quote(book, "repas", quotient=0)
    unknown = quote(book, "repas", quotient=None)
    assert (zero.unit_price, zero.code) == (Decimal("1.10"), "tariff.qf_band")
    assert (unknown.unit_price, unknown.code) == (Decimal("4.30"), "tariff.qf_unknown_band")
    assert plain(unknown.message_fr) == (
        "Quotient familial non communiqué, tranche QF 1 001 € et plus : 4,30 € le repas."
    )


@pytest.mark.parametrize(
    ("quotient", "price"),
    [("650.99", "1.10"), ("651", "3.20"), ("1000.50", "3.20"), ("1001", "4.30"), ("25000", "4.30")],
)
def test_bands_are_half_open_so_decimal_quotients_have_a_band(
    book: TariffBook, quotient: str, price: str
) -> None:
    assert quote(book, "repas", quotient=Decimal(quotient)).unit_price == Decimal(price)


def test_the_band_for_an_unknown_qf_can_be_chosen() -> None:
    data = document(
        repas={
            "unit": "day",
            "bands": [{"from": "0", "to": "651", "price": "1.10"}, {"from": "651", "price": "3.20"}],
            "unknown_qf_band": 0,
        }
    )
    unknown = price_quote(tariff_book_from_dict(data), "repas", THURSDAY, FamilyFacts())
    assert unknown.unit_price == Decimal("1.10")
    assert plain(unknown.message_fr) == (
        "Quotient familial non communiqué, tranche QF moins de 651 € : 1,10 € la journée."
    )


def _bands(*bands: dict[str, str]) -> dict[str, Any]:
    return document(repas={"unit": "day", "bands": list(bands)})


@pytest.mark.parametrize(
    ("bands", "code", "path"),
    [
        (
            _bands(
                {"from": "0", "to": "651", "price": "1"},
                {"from": "651", "to": "1001", "price": "2"},
                {"from": "1100", "price": "3"},
            ),
            "tariff.band_gap",
            "tariffs[0].prices.repas.bands[2].from",
        ),
        (
            _bands({"from": "0", "to": "651", "price": "1"}, {"from": "600", "price": "2"}),
            "tariff.band_overlap",
            "tariffs[0].prices.repas.bands[1].from",
        ),
        (
            _bands({"from": "1", "to": "651", "price": "1"}, {"from": "651", "price": "2"}),
            "tariff.band_not_from_zero",
            "tariffs[0].prices.repas.bands[0].from",
        ),
        (
            _bands({"from": "0", "to": "651", "price": "1"}, {"from": "651", "to": "1001", "price": "2"}),
            "tariff.band_last_closed",
            "tariffs[0].prices.repas.bands[1].to",
        ),
        (
            _bands({"from": "0", "price": "1"}, {"from": "651", "price": "2"}),
            "tariff.band_open_before_last",
            "tariffs[0].prices.repas.bands[0].to",
        ),
        (
            _bands({"from": "0", "to": "651", "price": "3"}, {"from": "651", "price": "2"}),
            "tariff.band_price_decreasing",
            "tariffs[0].prices.repas.bands[1].price",
        ),
        (
            _bands({"from": "0", "to": "0", "price": "1"}, {"from": "0", "price": "2"}),
            "tariff.band_empty",
            "tariffs[0].prices.repas.bands[0].to",
        ),
        (_bands(), "tariff.no_band", "tariffs[0].prices.repas.bands"),
    ],
)
def test_bands_must_cover_every_qf_once(bands: dict[str, Any], code: str, path: str) -> None:
    error = config_error(bands)
    assert (error.code, error.path) == (code, path)


def test_the_unknown_qf_band_must_exist() -> None:
    data = _bands({"from": "0", "to": "651", "price": "1"}, {"from": "651", "price": "2"})
    data["tariffs"][0]["prices"]["repas"]["unknown_qf_band"] = 2
    error = config_error(data)
    assert (error.code, error.path) == ("tariff.unknown_band", "tariffs[0].prices.repas.unknown_qf_band")


def test_a_band_without_label_is_spelt_out() -> None:
    bands = QuotientBands([QfBand(0, 651, "1.10"), QfBand(651, 1001, "3.20"), QfBand(1001, None, "4.30")])
    assert [plain(b.display_label) for b in bands.bands] == [
        "moins de 651 €",
        "651 € à moins de 1 001 €",
        "1 001 € et plus",
    ]


# -- taux d'effort ---------------------------------------------------------------------------


def test_taux_d_effort_is_the_rate_times_the_qf_rounded_half_up(book: TariffBook) -> None:
    wednesday = quote(book, "mercredi_journee", quotient=812)
    assert (wednesday.unit_price, wednesday.total) == (Decimal("3.248"), Money("3.25"))
    assert plain(wednesday.message_fr) == "Taux d'effort 0,40 % × QF 812 € : 3,25 € la journée."


@pytest.mark.parametrize(
    ("quotient", "price", "code"),
    [
        (150, "1.00", "tariff.effort_floor"),
        (1500, "4.00", "tariff.effort_ceiling"),
        (None, "4.00", "tariff.effort_unknown"),
        (0, "1.00", "tariff.effort_floor"),
    ],
)
def test_taux_d_effort_stays_between_floor_and_ceiling(
    book: TariffBook, quotient: int | None, price: str, code: str
) -> None:
    result = quote(book, "mercredi_journee", quotient=quotient)
    assert (result.total, result.code) == (Money(price), code)


def test_floor_and_ceiling_are_said_to_the_family(book: TariffBook) -> None:
    assert plain(quote(book, "mercredi_journee", quotient=150).message_fr) == (
        "Taux d'effort 0,40 % × QF 150 €, porté au prix plancher : 1,00 € la journée."
    )
    assert plain(quote(book, "mercredi_journee", quotient=None).message_fr) == (
        "Quotient familial non communiqué, prix plafond : 4,00 € la journée."
    )


def test_a_ceiling_below_the_floor_is_refused() -> None:
    data = document(soir={"unit": "hour", "effort": {"rate_percent": "0.4", "floor": "2", "ceiling": "1"}})
    error = config_error(data)
    assert (error.code, error.path) == ("tariff.ceiling_below_floor", "tariffs[0].prices.soir.effort.ceiling")


# -- rounding point -----------------------------------------------------------------------------


def test_rounding_on_the_unit_price_or_on_the_line_is_the_commune_s_choice(book: TariffBook) -> None:
    facts = FamilyFacts(812)
    unit_point = price_quote(book, "mercredi_journee", THURSDAY, facts, 10)
    line_point = price_quote(
        book, "mercredi_journee", THURSDAY, facts, 10, rounding=RoundingPolicy(point=RoundingPoint.LINE)
    )
    assert unit_point.total == Money("32.50")  # 3,25 € × 10
    assert line_point.total == Money("32.48")  # 32,48 €
    assert unit_point.rounded_unit_price == line_point.rounded_unit_price == Money("3.25")


def test_rounding_mode_is_the_commune_s_choice(book: TariffBook) -> None:
    down = price_quote(
        book, "mercredi_journee", THURSDAY, FamilyFacts(812), rounding=RoundingPolicy(RoundingMode.DOWN)
    )
    assert down.total == Money("3.24")


# -- units: hours, half hours, blocks ------------------------------------------------------------


def test_one_hour_five_is_sixty_five_minutes_never_1_05_hours(book: TariffBook) -> None:
    evening = quote(book, "soir", 65, quotient=800)  # 16:30 to 17:35
    assert evening.billed_units == Fraction(65, 60)
    assert evening.total == Money("2.60")  # 2,40 € × 65/60, where 1,05 h would give 2,52 €


def test_exact_minutes_are_prorated_without_rounding_the_hours() -> None:
    data = document(soir={"unit": "hour", "flat": "2.50"})
    evening = price_quote(tariff_book_from_dict(data), "soir", THURSDAY, FamilyFacts(), 65)
    assert evening.total == Money("2.71")  # 2,708333… €


def test_started_half_hours_when_the_commune_counts_them(commune: Commune, book: TariffBook) -> None:
    minutes = commune.prestation("matin").minutes  # 7:30 to 8:35 in the example commune
    assert minutes == 65
    morning = quote(book, "matin", minutes)
    assert (morning.billed_units, morning.total) == (Fraction(3), Money("2.70"))
    assert (
        plain(morning.message_fr) == "Tarif unique : 0,90 € la demi-heure ; 1 h 05 : 3 demi-heures entamées."
    )


def test_half_hours_are_prorated_unless_started_ones_count() -> None:
    data = document(matin={"unit": "half_hour", "flat": "0.90"})
    morning = price_quote(tariff_book_from_dict(data), "matin", THURSDAY, FamilyFacts(), 65)
    assert morning.total == Money("1.95")  # 0,90 € × 65/30


def test_counting_started_units_is_only_for_timed_units() -> None:
    error = config_error(document(repas={"unit": "day", "flat": "3", "count_started": True}))
    assert (error.code, error.path) == (
        "tariff.count_started_untimed",
        "tariffs[0].prices.repas.count_started",
    )


def test_a_block_is_priced_whole(book: TariffBook) -> None:
    week = price_quote(book, "stage_semaine", dt.date(2027, 2, 22), FamilyFacts(300), 1)
    assert (week.unit, week.total) == (PriceUnit.BLOCK, Money("65.00"))
    assert plain(week.message_fr) == "Tarif unique : 65,00 € la semaine."


# -- non-residents, PAI, siblings ----------------------------------------------------------------


def test_non_residents_pay_a_flat_price_without_qf_or_sibling_reduction(book: TariffBook) -> None:
    third = quote(book, "repas", quotient=300, residence=Residence.NON_RESIDENT, child_rank=3, children=3)
    assert (third.unit_price, third.code) == (Decimal("5.80"), "tariff.non_resident")
    assert plain(third.message_fr) == "Tarif hors commune : 5,80 € le repas."


def test_non_residents_pay_the_usual_price_where_no_outside_price_is_set(book: TariffBook) -> None:
    outside = quote(book, "mercredi_journee", quotient=812, residence=Residence.NON_RESIDENT)
    assert outside.total == Money("3.25")


def test_a_pai_child_pays_the_pai_price_as_the_family_brings_the_meal(book: TariffBook) -> None:
    pai = quote(book, "repas", quotient=1500, pai=True, residence=Residence.NON_RESIDENT)
    assert (pai.unit_price, pai.code) == (Decimal("1.20"), "tariff.pai")
    assert plain(pai.message_fr) == "Tarif PAI (repas fourni par la famille) : 1,20 € le repas."


@pytest.mark.parametrize(("rank", "price"), [(1, "3.20"), (2, "2.88"), (3, "1.60"), (5, "1.60")])
def test_sibling_reduction_by_rank(book: TariffBook, rank: int, price: str) -> None:
    assert quote(book, "repas", quotient=800, child_rank=rank, children=5).total == Money(price)


def test_a_sibling_reduction_is_rounded_on_the_unit_price() -> None:
    data = document(repas={"unit": "day", "flat": "3.25", "sibling_reduction": ["0", "10"]})
    second = price_quote(
        tariff_book_from_dict(data), "repas", THURSDAY, FamilyFacts(child_rank=2, children=2), 4
    )
    assert second.unit_price == Decimal("2.925")
    assert (second.rounded_unit_price, second.total) == (Money("2.93"), Money("11.72"))


@pytest.mark.parametrize(("children", "total"), [(1, "12.00"), (2, "11.00"), (3, "9.70"), (4, "9.70")])
def test_a_price_by_the_family_s_number_of_children(book: TariffBook, children: int, total: str) -> None:
    day = price_quote(book, "journee", dt.date(2027, 2, 22), FamilyFacts(808, children=children))
    assert day.total == Money(total)
    assert day.code == "tariff.children_count"


def test_three_children_read_their_scale() -> None:
    book = tariff_book_from_dict(tomllib.loads(SAINT_AUBIN))
    day = price_quote(book, "journee", dt.date(2027, 2, 22), FamilyFacts(808, children=3))
    assert (
        plain(day.message_fr) == "Famille de 3 enfants ; taux d'effort 1,2 % × QF 808 € : 9,70 € la journée."
    )


def test_rank_reductions_and_prices_by_family_size_do_not_stack() -> None:
    data = document(journee={"unit": "day", "by_children": ["12", "11"], "sibling_reduction": ["0", "10"]})
    error = config_error(data)
    assert (error.code, error.path) == (
        "tariff.siblings_twice",
        "tariffs[0].prices.journee.sibling_reduction",
    )


# -- surcharges ---------------------------------------------------------------------------------


def test_a_late_booking_surcharge_is_a_line_of_its_own(book: TariffBook) -> None:
    # The booking rule that accepted the late booking says what it costs (after_deadline, +20 %).
    meal = quote(book, "repas", quotient=800)
    surcharge = price_surcharge(book, meal, SurchargeKind.LATE_BOOKING, rule=PercentSurcharge(Decimal(20)))
    assert surcharge is not None
    assert meal.total == Money("3.20")  # the meal keeps its price
    assert (surcharge.total, surcharge.code) == (Money("0.64"), "tariff.surcharge_percent")
    assert plain(surcharge.message_fr) == "Majoration pour réservation tardive : +20 % du prix."


def test_the_first_unbooked_presences_of_the_year_are_tolerated(book: TariffBook) -> None:
    meal = quote(book, "repas", quotient=800)
    first = price_surcharge(book, meal, SurchargeKind.UNBOOKED_PRESENCE, earlier_occurrences=0)
    third = price_surcharge(book, meal, SurchargeKind.UNBOOKED_PRESENCE, earlier_occurrences=2)
    assert first is not None
    assert third is not None
    assert (first.total, first.tolerated, first.code) == (Money(0), 1, "tariff.surcharge_tolerated")
    assert (
        plain(first.message_fr)
        == "Présence sans réservation tolérée, sans majoration (2 par année scolaire)."
    )
    assert (third.total, third.tolerated) == (Money("5.00"), 0)


def test_tolerance_forgives_only_the_days_left_in_it(book: TariffBook) -> None:
    three_meals = quote(book, "repas", 3, quotient=800)
    surcharge = price_surcharge(book, three_meals, SurchargeKind.UNBOOKED_PRESENCE, earlier_occurrences=1)
    assert surcharge is not None
    assert (surcharge.tolerated, surcharge.billed_units, surcharge.total) == (1, Fraction(2), Money("10.00"))
    assert plain(surcharge.message_fr) == (
        "Majoration pour présence sans réservation : 5,00 € le repas ; "
        "1 jour toléré sans majoration (2 par année scolaire)."
    )


def test_a_multiplier_surcharge_bills_the_part_above_the_price(book: TariffBook) -> None:
    evening = quote(book, "soir", 65)
    surcharge = price_surcharge(book, evening, SurchargeKind.UNBOOKED_PRESENCE)
    assert surcharge is not None
    assert evening.total + surcharge.total == Money("3.90")  # ×1,5 in all: 2,60 € + 1,30 €
    assert surcharge.unit_price == Decimal("1.20")


def test_no_surcharge_where_the_tariff_has_none(book: TariffBook) -> None:
    assert price_surcharge(book, quote(book, "matin", 65), SurchargeKind.UNBOOKED_PRESENCE) is None


def test_a_tariff_never_sets_a_late_booking_surcharge(book: TariffBook) -> None:
    # repas has an unbooked-presence surcharge; a late booking's comes only from its booking rule.
    assert price_surcharge(book, quote(book, "repas", quotient=800), SurchargeKind.LATE_BOOKING) is None


def test_a_price_list_that_still_sets_late_booking_is_told_where_it_moved() -> None:
    error = config_error(document(repas={"unit": "day", "flat": "3", "late_booking": {"percent": "20"}}))
    assert (error.code, error.path) == ("tariff.late_booking_moved", "tariffs[0].prices.repas.late_booking")
    assert "booking rule" in error.message
    assert "after_deadline" in error.message


@pytest.mark.parametrize(
    ("surcharge", "code"),
    [
        ({"multiplier": "1"}, "tariff.surcharge"),
        ({"fixed": "0"}, "tariff.surcharge"),
        ({"percent": "10", "fixed": "1"}, "tariff.surcharge_kind"),
        ({"percent": "10", "tolerance": -1}, "tariff.tolerance"),
    ],
)
def test_a_surcharge_must_add_something(surcharge: dict[str, Any], code: str) -> None:
    error = config_error(document(repas={"unit": "day", "flat": "3", "unbooked_presence": surcharge}))
    assert error.code == code
    assert error.path.startswith("tariffs[0].prices.repas.unbooked_presence")


# -- attendance -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "total"),
    [
        ("present", "12.80"),
        ("absent_unjustified", "12.80"),
        ("present_unbooked", "12.80"),
        ("absent_justified", "0.00"),
        ("cancelled_in_time", "0.00"),
        ("service_closed", "0.00"),
        ("absent_justified_late", "6.40"),
    ],
)
def test_each_attendance_status_is_priced_by_its_effect(book: TariffBook, status: str, total: str) -> None:
    four = price_quote(book, "repas", THURSDAY, FamilyFacts(800), 4, status=status)
    assert four.total == Money(total)


def test_a_justified_absence_says_nothing_is_due(book: TariffBook) -> None:
    absent = price_quote(book, "repas", THURSDAY, FamilyFacts(800), status="absent_justified")
    assert plain(absent.message_fr) == (
        "Tranche QF 651 à 1 000 € : 3,20 € le repas ; absence justifiée : rien à payer."
    )


def test_a_negative_percentage_gives_a_credit(book: TariffBook) -> None:
    refunded = price_quote(book, "journee", dt.date(2027, 2, 22), FamilyFacts(808), status="absent_justified")
    assert refunded.total == Money("-12.00")
    assert plain(refunded.message_fr).endswith("absence justifiée : avoir de 100 % du prix.")


def test_a_fixed_amount_is_per_attendance_whatever_its_minutes(book: TariffBook) -> None:
    unbooked = price_quote(book, "soir", THURSDAY, FamilyFacts(), 95, status="present_unbooked")
    assert (unbooked.billed_units, unbooked.total) == (Fraction(1), Money("5.00"))


def test_a_status_without_effect_is_an_error(book: TariffBook) -> None:
    with pytest.raises(MissingData) as caught:
        price_quote(book, "repas", THURSDAY, FamilyFacts(800), status="absent_sick")
    assert caught.value.code == "tariff.no_attendance_effect"


def test_a_prestation_overrides_some_effects_and_keeps_the_others(book: TariffBook) -> None:
    effects = book.priced_on("journee", THURSDAY)[2]
    assert effects["absent_justified"] == PercentOfPrice("-100")
    assert effects["cancelled_in_time"] == NO_CHARGE
    assert dict(book.price_list_on(THURSDAY).attendance)["present"] == FULL_PRICE


def test_default_effects_bill_booked_days_unless_justified_cancelled_or_closed() -> None:
    assert {code for code, effect in DEFAULT_ATTENDANCE_EFFECTS.items() if effect == NO_CHARGE} == {
        "absent_justified",
        "cancelled_in_time",
        "service_closed",
    }
    assert len(DEFAULT_ATTENDANCE_EFFECTS) == 6


def test_attendance_effects_are_a_mapping_keyed_by_status_codes() -> None:
    effects = AttendanceEffects({"present": FULL_PRICE, "present_unbooked": FixedAmount(Money("5"))})
    assert list(effects) == ["present", "present_unbooked"]
    assert effects.updated({"present": NO_CHARGE})["present"] == NO_CHARGE
    with pytest.raises(InvalidConfiguration):
        AttendanceEffects({"pré sent": FULL_PRICE})


def test_a_bad_attendance_effect_is_named_by_its_key() -> None:
    data = tomllib.loads(SAINT_AUBIN)
    data["tariffs"][1]["attendance"]["absent_unjustified"] = "half"
    error = config_error(data)
    assert (error.code, error.path) == ("tariff.effect_type", "tariffs[1].attendance.absent_unjustified")


# -- QF changes -------------------------------------------------------------------------------


# CAF attestations valid from 1 September and 1 November, received on 3 September and 10 November.
HISTORY = (
    QuotientFamilial(
        Decimal(800), dt.date(2026, 9, 1), dt.date(2026, 10, 31), received_on=dt.date(2026, 9, 3)
    ),
    QuotientFamilial(Decimal(540), dt.date(2026, 11, 1), received_on=dt.date(2026, 11, 10)),
)


def quotient_on(
    history: tuple[QuotientFamilial, ...] | list[QuotientFamilial], day: dt.date, rule: QfChangeRule
) -> Decimal | None:
    quotient = quotient_in_force(history, day, rule)
    return None if quotient is None else quotient.value


def test_a_new_qf_applies_from_the_next_month_never_backdated() -> None:
    rule = QfChangeRule.NEXT_MONTH
    assert quotient_on(HISTORY, dt.date(2026, 9, 30), rule) is None  # nothing applied before October
    assert quotient_on(HISTORY, dt.date(2026, 10, 1), rule) == 800
    assert quotient_on(HISTORY, dt.date(2026, 11, 30), rule) == 800  # kept until the new one applies
    assert quotient_on(HISTORY, dt.date(2026, 12, 1), rule) == 540


def test_a_qf_received_in_december_applies_in_january() -> None:
    assert QfChangeRule.NEXT_MONTH.effective_from(dt.date(2026, 12, 15)) == dt.date(2027, 1, 1)


def test_a_qf_can_apply_from_the_day_it_is_received() -> None:
    assert quotient_on(HISTORY, dt.date(2026, 11, 10), QfChangeRule.IMMEDIATELY) == 540
    assert quotient_on(HISTORY, dt.date(2026, 11, 9), QfChangeRule.IMMEDIATELY) == 800


def test_an_expired_qf_is_unknown_and_zero_stays_a_real_qf() -> None:
    history = [
        QuotientFamilial(0, dt.date(2026, 9, 1), dt.date(2026, 12, 31), received_on=dt.date(2026, 9, 1))
    ]
    assert quotient_on(history, dt.date(2026, 12, 31), QfChangeRule.IMMEDIATELY) == 0
    assert quotient_on(history, dt.date(2027, 1, 4), QfChangeRule.IMMEDIATELY) is None


def test_the_price_list_says_how_qf_changes_apply(book: TariffBook) -> None:
    assert book.price_list_on(THURSDAY).qf_change is QfChangeRule.NEXT_MONTH


# -- facts and quantities ---------------------------------------------------------------------


def test_bad_family_facts_are_refused() -> None:
    with pytest.raises(InvalidInput) as negative:
        FamilyFacts(-1)
    assert negative.value.code == "tariff.negative_quotient"
    with pytest.raises(InvalidInput) as floating:
        FamilyFacts(812.5)  # type: ignore[arg-type]
    assert floating.value.code == "money.float_rejected"
    with pytest.raises(InvalidInput) as rank:
        FamilyFacts(child_rank=3, children=2)
    assert rank.value.code == "tariff.rank_above_children"


def test_bad_quote_arguments_are_refused(book: TariffBook) -> None:
    with pytest.raises(InvalidInput):
        price_quote(book, "repas", dt.datetime(2026, 11, 12, 12), FamilyFacts())
    with pytest.raises(InvalidInput):
        price_quote(book, "repas", THURSDAY, FamilyFacts(), -1)


def test_pricing_twice_gives_the_same_quote_and_leaves_the_book_equal(book: TariffBook) -> None:
    fresh = tariff_book_from_dict(tomllib.loads(SAINT_AUBIN))
    first = quote(book, "repas", 2, quotient=800, child_rank=2, children=3)
    again = quote(book, "repas", 2, quotient=800, child_rank=2, children=3)
    assert first == again
    assert book == fresh
    assert quote(book, "repas", 2, quotient=800, child_rank=2, children=3, pai=True).total == Money("2.40")


# -- configuration as data ----------------------------------------------------------------------


def test_the_book_round_trips_through_its_toml(book: TariffBook) -> None:
    assert tariff_book_from_dict(tariff_book_to_dict(book)) == book
    assert tariff_book_from_dict(tomllib.loads(tomli_w.dumps(tariff_book_to_dict(book)))) == book


def test_a_book_built_in_code_equals_the_one_read_from_toml() -> None:
    built = TariffBook(
        [
            PriceList(
                "2025-2026",
                DateRange(dt.date(2025, 9, 1), dt.date(2026, 8, 31)),
                [PrestationTariff("repas", PriceUnit.DAY, FlatPrice("3.10"), unit_label="le repas")],
            )
        ]
    )
    read = tariff_book_from_dict({"tariffs": tomllib.loads(SAINT_AUBIN)["tariffs"][:1]})
    assert built == read


def test_a_file_without_tariffs_has_an_empty_book_that_prices_nothing() -> None:
    empty = tariff_book_from_dict({})
    with pytest.raises(MissingData):
        price_quote(empty, "repas", THURSDAY, FamilyFacts())


def test_float_amounts_are_refused_with_their_key_path() -> None:
    error = config_error(tomllib.loads(SAINT_AUBIN.replace('flat = "0.90"', "flat = 0.90")))
    assert (error.code, error.path) == ("config.float_amount", "tariffs[1].prices.matin.flat")


@pytest.mark.parametrize(
    ("prices", "code", "path"),
    [
        ({"repas": {"unit": "day"}}, "tariff.no_price_rule", "tariffs[0].prices.repas"),
        (
            {"repas": {"unit": "day", "flat": "3", "effort": {}}},
            "tariff.rule_conflict",
            "tariffs[0].prices.repas.effort",
        ),
        ({"repas": {"unit": "meal", "flat": "3"}}, "config.choice", "tariffs[0].prices.repas.unit"),
        (
            {"repas": {"unit": "day", "flat": "3", "tarif": "4"}},
            "config.unknown_key",
            "tariffs[0].prices.repas",
        ),
        ({"repas": {"unit": "day", "flat": "-3"}}, "tariff.negative_price", "tariffs[0].prices.repas.flat"),
        ({"repas": {"unit": "day", "flat": "trois"}}, "money.not_a_number", "tariffs[0].prices.repas.flat"),
        ({"repas": {"unit": "day", "flat": True}}, "config.type", "tariffs[0].prices.repas.flat"),
        (
            {"repas": {"unit": "day", "flat": "3", "sibling_reduction": ["0", "120"]}},
            "tariff.reduction_range",
            "tariffs[0].prices.repas.sibling_reduction[1]",
        ),
        (
            {"repas": {"unit": "day", "by_children": ["3", {"by_children": ["2"]}]}},
            "tariff.no_price_rule",
            "tariffs[0].prices.repas.by_children[1]",
        ),
        (
            {"repas": {"unit": "day", "flat": "3", "unknown_qf_band": 0}},
            "config.unknown_key",
            "tariffs[0].prices.repas",
        ),
        ({"repas": "3.20"}, "config.type", "tariffs[0].prices.repas"),
    ],
)
def test_configuration_errors_name_the_key_and_a_stable_code(
    prices: dict[str, Any], code: str, path: str
) -> None:
    error = config_error(document(**prices))
    assert (error.code, error.path) == (code, path)


def test_a_price_list_ending_before_it_starts_is_refused() -> None:
    data = document(repas={"unit": "day", "flat": "3"})
    data["tariffs"][0]["end"] = dt.date(2026, 8, 31)
    error = config_error(data)
    assert (error.code, error.path) == ("input.end_before_start", "tariffs[0].end")


def test_errors_are_located_under_a_parent_path() -> None:
    with pytest.raises(InvalidConfiguration) as caught:
        tariff_book_from_dict(document(repas={"unit": "day"}), "commune")
    error = caught.value
    assert error.path == "commune.tariffs[0].prices.repas"


def test_a_missing_label_or_date_is_named() -> None:
    data = document(repas={"unit": "day", "flat": "3"})
    del data["tariffs"][0]["label"]
    assert config_error(data).path == "tariffs[0].label"
    data = document(repas={"unit": "day", "flat": "3"})
    data["tariffs"][0]["start"] = "2026-09-01"
    assert (config_error(data).code, config_error(data).path) == ("config.type", "tariffs[0].start")


def test_a_price_finer_than_the_cent_is_shown_as_configured_and_rounded_by_each_policy() -> None:
    book = tariff_book_from_dict(document(soir={"unit": "hour", "flat": "1.125"}))
    half_up = price_quote(book, "soir", THURSDAY, FamilyFacts(), 60)
    down = price_quote(book, "soir", THURSDAY, FamilyFacts(), 60, rounding=RoundingPolicy(RoundingMode.DOWN))
    assert (half_up.total, down.total) == (Money("1.13"), Money("1.12"))
    assert plain(half_up.message_fr) == "Tarif unique : 1,125 € l'heure."


def test_a_booking_decision_s_own_surcharge_can_be_priced(book: TariffBook) -> None:
    meal = quote(book, "repas", quotient=800)
    fee = price_surcharge(book, meal, SurchargeKind.LATE_BOOKING, rule=FixedSurcharge(Money("1.50")))
    assert fee is not None
    assert (fee.total, fee.per_occurrence) == (Money("1.50"), True)


def test_pricing_memory_stays_bounded_for_many_quotients(
    book: TariffBook, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pricing, "_MEMO_SIZE", 3)
    price_list = book.price_list_on(THURSDAY)
    totals = [quote(book, "mercredi_journee", quotient=q).total for q in range(400, 1000, 50)]
    assert len(price_list.memo) <= 3
    assert totals == [Money(Decimal(q) * Decimal("0.004")) for q in range(400, 1000, 50)]


def test_the_tariff_of_a_prestation_on_a_date(book: TariffBook) -> None:
    price_list, tariff = book.tariff_on("soir", THURSDAY)
    assert (price_list.label, tariff.unit, tariff.label) == ("2026-2027", PriceUnit.HOUR, "l'heure")
    assert price_list.tariff("piscine") is None


def test_each_child_reads_its_own_rank_and_family_size(book: TariffBook) -> None:
    fourth = quote(book, "repas", quotient=800, child_rank=4, children=5)
    fifth = quote(book, "repas", quotient=800, child_rank=5, children=5)
    assert fourth.total == fifth.total == Money("1.60")
    assert plain(fifth.message_fr) == "Tranche QF 651 à 1 000 € : 3,20 € le repas ; 5e enfant −50 %."
    holiday = dt.date(2027, 2, 22)
    four = price_quote(book, "journee", holiday, FamilyFacts(808, children=4))
    five = price_quote(book, "journee", holiday, FamilyFacts(808, children=5))
    assert plain(four.message_fr).startswith("Famille de 4 enfants")
    assert plain(five.message_fr).startswith("Famille de 5 enfants")


# -- one registry per extension point: tariff criteria and attendance effects ----------------


@pytest.fixture
def own_registries() -> Iterator[None]:
    """Registries of this test's own, so that what it registers does not outlive it."""
    registries: tuple[dict[str, Any], ...] = (
        tariffs.criteria._CRITERIA,
        tariffs.attendance._EFFECTS,
        tariffs.wording._CLAUSES,
    )
    saved = [dict(registry) for registry in registries]
    yield
    for registry, entries in zip(registries, saved, strict=True):
        registry.clear()
        registry.update(entries)


def test_a_criterion_or_an_effect_is_registered_once() -> None:
    with pytest.raises(InvalidInput) as caught:
        tariff_criterion(QuotientBands)
    assert caught.value.code == "tariff.criterion_twice"
    with pytest.raises(InvalidInput) as caught:
        attendance_effect(PercentOfPrice)
    assert caught.value.code == "tariff.effect_twice"


def test_the_shipped_criteria_and_effects_are_registered_under_their_toml_names() -> None:
    assert list(tariff_criteria())[:7] == [
        "flat",
        "bands",
        "effort",
        "by_children",
        "non_resident",
        "pai",
        "sibling_reduction",
    ]
    assert list(attendance_effects())[:4] == ["full", "zero", "fixed", "percent"]
    tariff = book_of_saint_aubin().price_list_on(THURSDAY).tariff("repas")
    assert tariff is not None
    assert [type(criterion).key for criterion in tariff.criteria] == [
        "pai",
        "non_resident",
        "bands",
        "sibling_reduction",
    ]


def book_of_saint_aubin() -> TariffBook:
    return tariff_book_from_dict(tomllib.loads(SAINT_AUBIN))


@pytest.mark.usefixtures("own_registries")
def test_a_commune_s_own_criterion_is_read_written_and_priced_from_what_it_reads() -> None:
    @tariff_criterion
    @attrs.frozen
    class FreeFromRank:
        """From the N-th child of a family on, the meal is free ("gratuit à partir du 4e enfant")."""

        rank: int
        key: ClassVar[str] = "free_from_rank"
        role: ClassVar[CriterionRole] = CriterionRole.OVERRIDE
        clauses: ClassVar[Mapping[str, Callable[..., str]]] = {
            "test.free_from_rank": lambda rank: f"gratuit à partir du {rank}e enfant",
        }

        @classmethod
        def read(cls, node: Any) -> FreeFromRank:
            rank = node.integer("free_from_rank")
            return cls(rank)

        def settings(self) -> dict[str, Any]:
            return {"free_from_rank": self.rank}

        def reads(self, situation: Situation) -> bool:
            return situation.child_rank >= self.rank

        def apply(
            self, seen: bool, base: Decimal | None, label: str, rounding: RoundingPolicy
        ) -> CriterionPrice | None:
            if not seen:
                return None
            return CriterionPrice(Decimal(0), (("test.free_from_rank", (self.rank,)),), final=True)

    book = tariff_book_from_dict(document(repas={"unit": "day", "flat": "3.20", "free_from_rank": 4}))
    assert tariff_book_from_dict(tariff_book_to_dict(book)) == book
    third = quote(book, "repas", 5, child_rank=3, children=4)
    fourth = quote(book, "repas", 5, child_rank=4, children=4)
    assert (third.total, fourth.total) == (Money("16.00"), Money("0.00"))
    assert plain(fourth.message_fr) == "Gratuit à partir du 4e enfant."
    tariff = book.price_list_on(THURSDAY).tariff("repas")
    assert tariff is not None
    # Free from the 4th child on: nothing else is read, so the 4th and the 5th share one key.
    assert pricing.situation_key(tariff, FamilyFacts(child_rank=4, children=5)) == (True,)
    assert pricing.situation_key(tariff, FamilyFacts(child_rank=2, children=5)) == (False, None)


@pytest.mark.usefixtures("own_registries")
def test_a_price_rule_of_its_own_is_one_of_the_rules_a_prestation_may_give() -> None:
    @tariff_criterion
    @attrs.frozen
    class Monthly:
        price: Decimal
        key: ClassVar[str] = "monthly"
        role: ClassVar[CriterionRole] = CriterionRole.PRICE
        clauses: ClassVar[Mapping[str, Callable[..., str]]] = {}

        @classmethod
        def read(cls, node: Any) -> Monthly:
            return cls(node.amount("monthly", required=True))

        def settings(self) -> dict[str, Any]:
            return {"monthly": str(self.price)}

        def reads(self, situation: Situation) -> None:
            return None

        def apply(
            self, seen: None, base: Decimal | None, label: str, rounding: RoundingPolicy
        ) -> CriterionPrice:
            return CriterionPrice(self.price, (("tariff.flat", (self.price, label)),))

    error = config_error(document(repas={"unit": "day", "flat": "3", "monthly": "40"}))
    assert (error.code, error.path) == ("tariff.rule_conflict", "tariffs[0].prices.repas.monthly")
    needs = config_error(document(repas={"unit": "day"})).reason
    assert needs.startswith("a price needs one of flat, bands, effort, by_children, ")
    assert needs.endswith(", monthly")  # the registry's order (the docs' example may have registered one too)
    book = tariff_book_from_dict(document(repas={"unit": "block", "monthly": "40"}))
    assert quote(book, "repas").total == Money("40.00")


def test_an_override_or_reduction_that_is_not_a_registered_criterion_is_refused() -> None:
    with pytest.raises(InvalidConfiguration) as caught:
        PrestationTariff("repas", PriceUnit.DAY, FlatPrice("3"), extra_criteria=[FlatPrice("1")])
    assert caught.value.code == "tariff.criterion_type"
    with pytest.raises(InvalidConfiguration) as caught:
        PrestationTariff("repas", PriceUnit.DAY, FlatPrice("3"), extra_criteria=[RankReduction(["0", "10"])])
    assert caught.value.code == "tariff.criterion_type"  # it has its own field, sibling_reduction


@pytest.mark.usefixtures("own_registries")
def test_a_commune_s_own_attendance_effect_is_read_written_and_priced() -> None:
    @attendance_effect
    @attrs.frozen
    class Capped:
        """At most this amount, whatever the price ("absence non justifiée : 2 € au plus")."""

        cap: Money
        name: ClassVar[str] = "capped"
        by_name: ClassVar[bool] = False
        per_occurrence: ClassVar[bool] = False
        follows_price: ClassVar[bool] = True
        clauses: ClassVar[Mapping[str, Callable[..., str]]] = {
            "test.attendance_capped": lambda status, cap: f"{status} : {cap.format()} au plus",
        }

        @classmethod
        def read(cls, value: Decimal | None, path: str) -> Capped:
            assert value is not None
            return cls(Money(value))

        def setting(self) -> str | None:
            return str(self.cap.amount)

        def billed(self, unit_price: Decimal) -> Decimal:
            return min(unit_price, self.cap.amount)

        def clause(self, status: str) -> tuple[str, tuple[object, ...]] | None:
            return ("test.attendance_capped", (status, self.cap))

        def share(self) -> Decimal | None:
            return None

    data = document(repas={"unit": "day", "flat": "3.20"})
    data["tariffs"][0]["attendance"] = {"absent_unjustified": {"capped": "2.00"}}
    book = tariff_book_from_dict(data)
    assert tariff_book_from_dict(tariff_book_to_dict(book)) == book
    absent = price_quote(book, "repas", THURSDAY, FamilyFacts(), 2, status="absent_unjustified")
    assert absent.total == Money("4.00")
    explained = "Tarif unique : 3,20 € la journée ; absent_unjustified : 2,00 € au plus."
    assert plain(absent.message_fr) == explained
    data["tariffs"][0]["attendance"] = {"absent_unjustified": "capped"}
    error = config_error(data)
    assert error.code == "tariff.effect_type"
    assert '{ capped = "…" }' in error.reason


def test_what_each_shipped_effect_does_to_an_exceptional_tariff_follows_the_price_or_not() -> None:
    assert [kind.follows_price for kind in (FullPrice, NoCharge, FixedAmount, PercentOfPrice)] == [
        True,
        False,
        False,
        True,
    ]
    assert PercentOfPrice("50").billed(Decimal("3.20")) == Decimal("1.60")
    assert FixedAmount(Money("5")).billed(Decimal("3.20")) == Decimal("5.00")
    assert NO_CHARGE.billed(Decimal("3.20")) == 0
