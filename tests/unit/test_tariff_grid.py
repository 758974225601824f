"""Price grids as councils vote them: QF band × rank, QF band × residence, age or school level × QF."""

from __future__ import annotations

import datetime as dt
import tomllib
from decimal import Decimal

import attrs
import pytest

from espacefamille.billing.pricing import FamilyFacts, price_quote, situation_key
from espacefamille.billing.tariffs import (
    GridBand,
    GridCell,
    PriceGrid,
    PriceList,
    RankAmong,
    TariffBook,
    tariff_book_from_dict,
    tariff_book_to_dict,
)
from espacefamille.calendar.periods import DateRange
from espacefamille.commune import Commune
from espacefamille.config import dumps_commune, loads_commune
from espacefamille.errors import InvalidConfiguration, InvalidInput, MissingData
from espacefamille.model import Child, Residence, SchoolClass
from tests.unit.test_invoicing import LEA, NOVEMBER, SCHOOL_DAYS, TOM, bill, only_invoice
from tests.unit.test_invoicing import book as booking

THURSDAY = dt.date(2026, 11, 12)
HEAD = """
[[tariffs]]
label = "2026-2027"
start = 2026-09-01
end = 2027-08-31

[tariffs.prices.repas]
unit = "day"
unit_label = "le repas"
"""

# The council of Saint-Aubin, 30 June 2026: a meal by QF band and child's rank, each cell its own amount.
COUNCIL = (
    HEAD
    + """
[tariffs.prices.repas.grid]
qf = [
  { band = "A", to = "651", label = "0 à 650 €" },
  { band = "B", from = "651", to = "1001", label = "651 à 1 000 €" },
  { band = "C", from = "1001", label = "plus de 1 000 €" },
]
unknown_qf = "C"
ranks = 3
cells = [
  { qf = "A", rank = 1, price = "1.50" },
  { qf = "A", rank = 2, price = "1.30" },
  { qf = "A", rank = 3, price = "1.00" },
  { qf = "B", rank = 1, price = "3.20" },
  { qf = "B", rank = 2, reduction = { of = { rank = 1 }, percent = "10" } },
  { qf = "B", rank = 3, price = "2.00" },
  { qf = "C", price = "4.10" },
]
"""
)


def book(text: str) -> TariffBook:
    return tariff_book_from_dict(tomllib.loads(text))


def plain(text: str) -> str:
    return text.replace("\u00a0", " ").replace("\u202f", " ")


def quote(tariffs: TariffBook, facts: FamilyFacts, quantity: int = 1) -> tuple[str, str]:
    priced = price_quote(tariffs, "repas", THURSDAY, facts, quantity)
    return str(priced.total.amount), plain(priced.message_fr)


def refused(text: str) -> InvalidConfiguration:
    with pytest.raises(InvalidConfiguration) as caught:
        book(text)
    return caught.value


def test_a_council_grid_by_qf_band_and_rank_prices_each_cell_as_voted() -> None:
    council = book(COUNCIL)
    assert quote(council, FamilyFacts(500), 4) == (
        "6.00",
        "Tranche QF 0 à 650 €, 1er enfant : 1,50 € le repas.",
    )
    assert quote(council, FamilyFacts(650, child_rank=2, children=2)) == (
        "1.30",
        "Tranche QF 0 à 650 €, 2e enfant : 1,30 € le repas.",
    )
    assert quote(council, FamilyFacts(800, child_rank=4, children=4)) == (
        "2.00",
        "Tranche QF 651 à 1 000 €, 3e enfant et suivants : 2,00 € le repas.",
    )


def test_a_cell_may_be_a_reduction_of_another_cell() -> None:
    second = price_quote(book(COUNCIL), "repas", THURSDAY, FamilyFacts(800, child_rank=2, children=2), 4)
    assert second.unit_price == Decimal("2.88")
    assert second.total.amount == Decimal("11.52")
    assert plain(second.message_fr) == (
        "Tranche QF 651 à 1 000 €, 2e enfant : tarif du 1er enfant (3,20 € le repas) −10 %."
    )
    assert second.explanation.codes == ("tariff.grid_reduction",)


def test_band_edges_are_exclusive_upper_bounds_and_an_unknown_qf_pays_the_named_band() -> None:
    council = book(COUNCIL)
    assert quote(council, FamilyFacts(Decimal("650.99")))[0] == "1.50"
    assert quote(council, FamilyFacts(651))[0] == "3.20"
    assert quote(council, FamilyFacts(Decimal("1000.50")))[0] == "3.20"
    assert quote(council, FamilyFacts(1001))[0] == "4.10"
    assert quote(council, FamilyFacts(0))[0] == "1.50"  # a QF of 0 is a real QF
    assert quote(council, FamilyFacts(None)) == (
        "4.10",
        "Quotient familial non communiqué, tranche QF plus de 1 000 € : 4,10 € le repas.",
    )


def test_the_rank_counted_among_the_service_or_the_household() -> None:
    council = book(COUNCIL)
    # The eldest does not eat at the canteen: the second child of the household is the first one there.
    facts = FamilyFacts(800, child_rank=2, children=2, rank_in_service=1)
    assert quote(council, facts)[0] == "3.20"
    household = book(COUNCIL.replace("ranks = 3", 'ranks = 3\nrank_among = "household"'))
    assert quote(household, facts)[0] == "2.88"
    grid = household.price_list_on(THURSDAY).tariff("repas")
    assert grid is not None
    assert isinstance(grid.rule, PriceGrid)
    assert grid.rule.rank_among is RankAmong.HOUSEHOLD


NON_RESIDENT = (
    HEAD
    + """
[tariffs.prices.repas.grid]
qf = [
  { band = "T1", to = "800" },
  { band = "T2", from = "800" },
]
unknown_qf = "T2"
residence = true
cells = [
  { residence = "resident", qf = "T1", price = "2.50" },
  { residence = "resident", qf = "T2", effort = { rate_percent = "0.4", floor = "3.00", ceiling = "4.50" } },
  { residence = "non_resident", qf = "T1", price = "4.00" },
  { residence = "non_resident", qf = "T2", price = "6.00" },
]
"""
)


def test_a_grid_by_residence_and_qf_where_non_residents_also_pay_by_their_qf() -> None:
    grid = book(NON_RESIDENT)
    outside = Residence.NON_RESIDENT
    assert quote(grid, FamilyFacts(500, residence=outside)) == (
        "4.00",
        "Tranche QF moins de 800 €, famille hors commune : 4,00 € le repas.",
    )
    assert quote(grid, FamilyFacts(900, residence=outside))[0] == "6.00"
    assert quote(grid, FamilyFacts(500)) == (
        "2.50",
        "Tranche QF moins de 800 €, famille de la commune : 2,50 € le repas.",
    )
    # A taux d'effort cell: 0,4 % × 1 000 = 4,00 €, between the floor and the ceiling.
    assert quote(grid, FamilyFacts(1000)) == (
        "4.00",
        "Tranche QF 800 € et plus, famille de la commune ; "
        "taux d'effort 0,4 % × QF 1 000 € : 4,00 € le repas.",
    )
    assert quote(grid, FamilyFacts(2000))[0] == "4.50"
    assert quote(grid, FamilyFacts(None))[0] == "4.50"  # unknown QF: the ceiling of its band's cell
    _, tariff = grid.tariff_on("repas", THURSDAY)
    # The taux d'effort cell reads the QF itself; an amount cell only its band.
    assert situation_key(tariff, FamilyFacts(1000)) != situation_key(tariff, FamilyFacts(1100))
    assert situation_key(tariff, FamilyFacts(100)) == situation_key(tariff, FamilyFacts(700))


AGES = (
    HEAD
    + """
[tariffs.prices.repas.grid]
ages = [
  { group = "petits", to = 6, label = "moins de 6 ans" },
  { group = "grands", from = 6, label = "6 ans et plus" },
]
qf = [
  { band = "1", to = "700" },
  { band = "2", from = "700" },
]
unknown_qf = "2"
cells = [
  { age = "petits", qf = "1", price = "8.00" },
  { age = "petits", qf = "2", price = "11.00" },
  { age = "grands", qf = "1", price = "7.00" },
]
default = { price = "10.00" }
"""
)


def test_a_grid_by_age_and_qf_with_a_default_cell() -> None:
    grid = book(AGES)
    assert quote(grid, FamilyFacts(500, age=4)) == (
        "8.00",
        "Tranche QF moins de 700 €, moins de 6 ans : 8,00 € le repas.",
    )
    assert quote(grid, FamilyFacts(500, age=6))[0] == "7.00"
    assert quote(grid, FamilyFacts(900, age=9)) == ("10.00", "Tarif de base de la grille : 10,00 € le repas.")
    with pytest.raises(MissingData) as caught:
        quote(grid, FamilyFacts(500))
    assert caught.value.code == "tariff.grid_no_age"


LEVELS = (
    HEAD
    + """
[tariffs.prices.repas.grid]
levels = [
  { group = "maternelle", classes = ["TPS", "PS", "MS", "GS"] },
  { group = "élémentaire", classes = ["CP", "CE1", "CE2", "CM1", "CM2"] },
]
cells = [
  { level = "maternelle", price = "2.90" },
  { level = "élémentaire", price = "3.30" },
]
"""
)


def test_a_grid_by_school_level() -> None:
    grid = book(LEVELS)
    assert quote(grid, FamilyFacts(school_level="MS")) == ("2.90", "Maternelle : 2,90 € le repas.")
    assert quote(grid, FamilyFacts(school_level="CM2"))[0] == "3.30"
    with pytest.raises(MissingData) as caught:
        quote(grid, FamilyFacts(school_level=None))
    assert caught.value.code == "tariff.grid_no_level"
    lenient = book(LEVELS.replace("cells = [", 'unknown_level = "élémentaire"\ncells = ['))
    assert quote(lenient, FamilyFacts())[0] == "3.30"


@pytest.mark.parametrize("text", [COUNCIL, NON_RESIDENT, AGES, LEVELS])
def test_a_grid_is_written_back_and_read_equal(text: str) -> None:
    grid = book(text)
    assert tariff_book_from_dict(tariff_book_to_dict(grid)) == grid


def test_reordering_the_cells_and_bands_changes_nothing() -> None:
    lines = COUNCIL.splitlines()
    start = lines.index("cells = [") + 1
    end = lines.index("]", start)
    cells = lines[start:end]
    reordered = [*lines[:start], *reversed(cells), *lines[end:]]
    bands_at = lines.index("qf = [") + 1
    reordered[bands_at : bands_at + 3] = reversed(reordered[bands_at : bands_at + 3])
    assert book("\n".join(reordered)) == book(COUNCIL)


@pytest.mark.parametrize(
    ("change", "code", "path"),
    [
        (('to = "1001"', 'to = "1100"'), "tariff.band_overlap", "tariffs[0].prices.repas.grid.qf"),
        (('from = "1001"', 'from = "1100"'), "tariff.band_gap", "tariffs[0].prices.repas.grid.qf"),
        (
            ('{ band = "A", to = "651"', '{ band = "A", from = "10", to = "651"'),
            "tariff.band_not_from_zero",
            None,
        ),
        (
            ('{ qf = "C", price = "4.10" },', ""),
            "tariff.grid_cell_missing",
            "tariffs[0].prices.repas.grid.cells",
        ),
        (
            (
                '{ qf = "C", price = "4.10" },',
                '{ qf = "C", price = "4.10" }, { qf = "C", rank = 2, price = "4" },',
            ),
            "tariff.grid_cell_twice",
            "tariffs[0].prices.repas.grid.cells[7]",
        ),
        (('unknown_qf = "C"', ""), "tariff.grid_unknown_qf", "tariffs[0].prices.repas.grid.unknown_qf"),
        (('unknown_qf = "C"', 'unknown_qf = "Z"'), "tariff.grid_unknown_category", None),
        (('{ qf = "A", rank = 1,', '{ qf = "Z", rank = 1,'), "tariff.grid_unknown_category", None),
        (('{ qf = "A", rank = 1,', '{ qf = "A", rank = 4,'), "tariff.grid_unknown_category", None),
        (
            ('{ qf = "A", rank = 1,', '{ qf = "A", age = "petits", rank = 1,'),
            "tariff.grid_unknown_criterion",
            None,
        ),
        (
            ('{ qf = "A", rank = 1, price = "1.50" }', '{ qf = "A", rank = 1 }'),
            "tariff.grid_cell_value",
            None,
        ),
        (('percent = "10"', 'percent = "110"'), "tariff.reduction_range", None),
        (("ranks = 3", "ranks = 1"), "tariff.grid_ranks", None),
        (
            (
                '{ qf = "B", rank = 1, price = "3.20" }',
                '{ qf = "B", rank = 1, reduction = { of = { rank = 2 }, percent = "5" } }',
            ),
            "tariff.grid_cycle",
            None,
        ),
        (('price = "1.50"', "price = 1.50"), "config.float_amount", None),
        (('price = "1.50"', 'price = "-1.50"'), "tariff.negative_price", None),
    ],
)
def test_a_grid_that_cannot_price_every_family_once_is_refused_at_load(
    change: tuple[str, str], code: str, path: str | None
) -> None:
    assert change[0] in COUNCIL
    error = refused(COUNCIL.replace(*change))
    assert error.code == code
    assert error.path.startswith("tariffs[0].prices.repas")
    if path is not None:
        assert error.path == path


def test_a_grid_needs_a_criterion_and_goes_without_sibling_reduction() -> None:
    assert refused(HEAD + 'grid = { cells = [{ price = "1" }] }').code == "tariff.grid_no_criterion"
    twice = COUNCIL.replace(
        'unit_label = "le repas"', 'unit_label = "le repas"\nsibling_reduction = ["0", "10"]'
    )
    assert refused(twice).code == "tariff.siblings_twice"


def test_a_grid_built_in_python_equals_the_one_read() -> None:
    built = PriceGrid(
        (GridCell({"qf": "A"}, "1.00"), GridCell({"qf": "B"}, "2.00")),
        qf=(GridBand("B", 500), GridBand("A", 0, 500)),
        unknown_qf="B",
    )
    read = book(
        HEAD
        + 'grid = { qf = [{ band = "A", to = "500" }, { band = "B", from = "500" }], unknown_qf = "B", '
        + 'cells = [{ qf = "A", price = "1.00" }, { qf = "B", price = "2.00" }] }'
    )
    _, tariff = read.tariff_on("repas", THURSDAY)
    assert tariff.rule == built


# -- at month end: the rank among the household's children enrolled in the service -----------------


def test_month_end_ranks_a_child_among_the_household_children_booked_in_the_service(commune: Commune) -> None:
    eldest = Child("C0", "Max", "Martin", dt.date(2014, 1, 10), ["F1"])  # at middle school: no canteen
    by_service = attrs.evolve(commune, tariffs=book(COUNCIL))
    bookings = booking(LEA, "repas", SCHOOL_DAYS) + booking(TOM, "repas", SCHOOL_DAYS)
    lea, tom = only_invoice(bill(by_service, bookings, children=[TOM, eldest, LEA])).lines
    assert (lea.child_id, lea.unit_price, tom.unit_price) == ("C1", Decimal("3.20"), Decimal("2.88"))
    assert "1er enfant" in lea.explanation
    # The same family billed with its children given in another order, or without the eldest: the same.
    again = only_invoice(bill(by_service, bookings, children=[LEA, TOM])).lines
    assert [line.unit_price for line in again] == [Decimal("3.20"), Decimal("2.88")]
    by_household = attrs.evolve(
        commune, tariffs=book(COUNCIL.replace("ranks = 3", 'ranks = 3\nrank_among = "household"'))
    )
    lea, tom = only_invoice(bill(by_household, bookings, children=[TOM, eldest, LEA])).lines
    assert (lea.unit_price, tom.unit_price) == (Decimal("2.88"), Decimal("2.00"))
    assert NOVEMBER.start == dt.date(2026, 11, 1)


@pytest.mark.parametrize(
    ("grid", "code"),
    [
        ('{ levels = [{ group = "m", classes = [] }], cells = [{ price = "1" }] }', "tariff.grid_category"),
        (
            '{ levels = [{ group = "m", classes = ["PS"] }, { group = "m", classes = ["CP"] }], '
            'cells = [{ price = "1" }] }',
            "tariff.grid_category_twice",
        ),
        (
            '{ levels = [{ group = "m", classes = ["PS"] }, { group = "e", classes = ["PS"] }], '
            'cells = [{ price = "1" }] }',
            "tariff.grid_category_twice",
        ),
        (
            '{ levels = [{ group = "m", classes = ["PS"] }], unknown_level = "x", '
            'cells = [{ price = "1" }] }',
            "tariff.grid_unknown_category",
        ),
        ('{ residence = true, unknown_qf = "A", cells = [{ price = "1" }] }', "tariff.grid_unknown_qf"),
        ('{ ranks = 21, cells = [{ price = "1" }] }', "tariff.grid_ranks"),
        (
            '{ qf = [{ band = "A", to = "5" }, { band = "A", from = "5" }], unknown_qf = "A", '
            'cells = [{ price = "1" }] }',
            "tariff.grid_category_twice",
        ),
        (
            '{ qf = [{ band = "A", to = "5" }, { band = "B", from = "5", to = "9" }], unknown_qf = "A", '
            'cells = [{ price = "1" }] }',
            "tariff.band_last_closed",
        ),
        (
            '{ qf = [{ band = "A", to = "5" }, { band = "B", from = "9", to = "5" }], unknown_qf = "A", '
            'cells = [{ price = "1" }] }',
            "tariff.band_empty",
        ),
        ('{ ages = [{ group = "a", from = "-1" }], cells = [{ price = "1" }] }', "tariff.band_negative"),
        ('{ ages = [{ group = " " }], cells = [{ price = "1" }] }', "tariff.grid_category"),
        (
            '{ residence = true, cells = [{ residence = "resident", reduction = { percent = "5" } }], '
            'default = { price = "1" } }',
            "tariff.grid_reference",
        ),
        (
            '{ residence = true, cells = [{ residence = "resident", reduction = { of = { qf = "A" }, '
            'percent = "5" } }], default = { price = "1" } }',
            "tariff.grid_unknown_criterion",
        ),
        (
            '{ residence = true, cells = [{ residence = "resident", price = "1", flat = "2" }] }',
            "config.unknown_key",
        ),
    ],
)
def test_more_grids_refused_at_load(grid: str, code: str) -> None:
    assert refused(HEAD + f"grid = {grid}\n").code == code


def test_a_reduction_of_a_reduction_and_a_grid_without_named_facts() -> None:
    chain = book(
        HEAD
        + 'grid = { ranks = 3, cells = [{ rank = 1, price = "4.00" }, '
        + '{ rank = 2, reduction = { of = { rank = 1 }, percent = "50" } }, '
        + '{ rank = 3, reduction = { of = { rank = 2 }, percent = "50" } }] }\n'
    )
    third = price_quote(chain, "repas", THURSDAY, FamilyFacts(child_rank=3, children=3))
    assert third.unit_price == Decimal("1.00")
    assert plain(third.message_fr) == "3e enfant et suivants : tarif du 2e enfant (2,00 € le repas) −50 %."
    anyone = book(HEAD + 'grid = { residence = true, cells = [{ price = "2.00" }] }\n')
    assert quote(anyone, FamilyFacts()) == ("2.00", "Tarif de la grille : 2,00 € le repas.")
    effort_default = book(
        HEAD
        + 'grid = { residence = true, cells = [{ residence = "resident", price = "2.00" }], '
        + 'default = { effort = { rate_percent = "1", floor = "1", ceiling = "9" } } }\n'
    )
    outside = FamilyFacts(500, residence=Residence.NON_RESIDENT)
    assert quote(effort_default, outside)[0] == "5.00"
    assert tariff_book_from_dict(tariff_book_to_dict(effort_default)) == effort_default


def test_a_grid_built_in_python_checks_its_cells() -> None:
    with pytest.raises(InvalidConfiguration) as caught:
        PriceGrid(("not a cell",), residence=True)  # type: ignore[arg-type]
    assert caught.value.code == "tariff.grid_cell"


def test_month_end_gives_a_grid_the_age_on_the_first_day_of_the_price_list_and_the_class(
    commune: Commune,
) -> None:
    grid = (
        HEAD
        + """
[tariffs.prices.repas.grid]
ages = [{ group = "petits", to = 9, label = "moins de 9 ans" }, { group = "grands", from = 9 }]
levels = [{ group = "maternelle", classes = ["PS", "MS", "GS"] }, { group = "autre", classes = ["CM2"] }]
unknown_level = "autre"
cells = [
  { age = "petits", level = "autre", price = "2.00" },
  { age = "grands", level = "autre", price = "3.00" },
]
default = { price = "1.00" }
"""
    )
    by_age = attrs.evolve(commune, tariffs=book(grid))
    bookings = booking(LEA, "repas", SCHOOL_DAYS) + booking(TOM, "repas", SCHOOL_DAYS)
    lines = {line.child_id: line for line in only_invoice(bill(by_age, bookings)).lines}
    # Léa is 10 on 1 September 2026, Tom 8; neither has a class recorded.
    assert (lines["C1"].unit_price, lines["C2"].unit_price) == (Decimal("3.00"), Decimal("2.00"))
    little = attrs.evolve(TOM, id="C2", school_class=SchoolClass.MS)
    lines = {
        line.child_id: line for line in only_invoice(bill(by_age, bookings, children=[LEA, little])).lines
    }
    assert lines["C2"].unit_price == Decimal("1.00")


def test_a_child_born_after_the_price_list_began_is_priced_in_the_first_age_band(commune: Commune) -> None:
    # A baby born in October 2026 booked at a crèche-like service: 0 years old for a list from 1 September
    # 2026 (not -1, which no band holds).
    grid = (
        HEAD
        + """
[tariffs.prices.repas.grid]
ages = [{ group = "bebes", to = 1 }, { group = "grands", from = 1 }]
cells = [{ age = "bebes", price = "1.50" }, { age = "grands", price = "3.00" }]
"""
    )
    by_age = attrs.evolve(commune, tariffs=book(grid))
    baby = attrs.evolve(TOM, birth_date=dt.date(2026, 10, 5))
    lines = only_invoice(bill(by_age, booking(baby, "repas", SCHOOL_DAYS), children=[LEA, baby])).lines
    assert {line.unit_price for line in lines} == {Decimal("1.50")}


@pytest.mark.parametrize(
    ("options", "code"),
    [
        ({"child_rank": 1, "rank_in_service": 2, "children": 2}, "tariff.rank_above_children"),
        ({"rank_in_service": 0}, "tariff.bad_count"),
        ({"age": -1}, "tariff.bad_count"),
        ({"school_level": 3}, "tariff.level"),
    ],
)
def test_the_facts_a_grid_reads_are_checked(options: dict[str, object], code: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        FamilyFacts(**options)  # type: ignore[arg-type]
    assert caught.value.code == code


def test_a_price_list_needs_attendance_effects() -> None:
    year = DateRange(dt.date(2026, 9, 1), dt.date(2027, 8, 31))
    with pytest.raises(InvalidConfiguration) as caught:
        PriceList("2026-2027", year, (), {"present": "full"})  # type: ignore[arg-type]
    assert caught.value.code == "tariff.effect_type"


@pytest.mark.parametrize("text", [COUNCIL, NON_RESIDENT, AGES, LEVELS])
def test_a_commune_file_with_a_grid_is_written_and_read_back_equal(commune: Commune, text: str) -> None:
    with_grid = attrs.evolve(commune, tariffs=book(text))
    assert loads_commune(dumps_commune(with_grid)) == with_grid
