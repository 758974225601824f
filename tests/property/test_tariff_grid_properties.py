"""Invariants of price grids and of the child's rank, for any grid a council may vote."""

from __future__ import annotations

import datetime as dt
import itertools
import random
from decimal import Decimal
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from espacefamille.billing.invoicing import service_ranks
from espacefamille.billing.pricing import FamilyFacts, price_quote
from espacefamille.billing.tariffs import TariffBook, tariff_book_from_dict
from espacefamille.model import BookedDays, BookingStatus, Child, Residence

DAY = dt.date(2026, 11, 12)


@st.composite
def grids(draw: st.DrawFn) -> dict[str, Any]:
    """A grid by QF band (maybe by rank and residence too): a price per cell, some left to the default."""
    edges = sorted(draw(st.sets(st.integers(1, 3_000), min_size=0, max_size=4)))
    bounds = [0, *edges, None]
    bands = []
    for index, (lower, upper) in enumerate(itertools.pairwise(bounds)):
        band: dict[str, Any] = {"band": f"T{index}"}
        if lower:
            band["from"] = str(lower)
        if upper is not None:
            band["to"] = str(upper)
        bands.append(band)
    ranks = draw(st.one_of(st.none(), st.integers(2, 4)))
    residence = draw(st.booleans())
    grid: dict[str, Any] = {"qf": bands, "unknown_qf": draw(st.sampled_from([b["band"] for b in bands]))}
    if ranks is not None:
        grid["ranks"] = ranks
    if residence:
        grid["residence"] = True
    cells = []
    for band in bands:
        for rank in [None] if ranks is None else range(1, ranks + 1):
            for where in [None] if not residence else ["resident", "non_resident"]:
                cell: dict[str, Any] = {"qf": band["band"]}
                if rank is not None:
                    cell["rank"] = rank
                if where is not None:
                    cell["residence"] = where
                cell["price"] = str(draw(st.integers(0, 2_000))) + ".00"
                cells.append(cell)
    dropped = draw(st.sets(st.integers(0, len(cells) - 1), max_size=len(cells)))
    if dropped:
        grid["default"] = {"price": "99.00"}
    grid["cells"] = [cell for index, cell in enumerate(cells) if index not in dropped]
    return grid


def book_of(grid: dict[str, Any]) -> TariffBook:
    prices = {"repas": {"unit": "day", "grid": grid}}
    return tariff_book_from_dict(
        {
            "tariffs": [
                {"label": "2026", "start": dt.date(2026, 9, 1), "end": dt.date(2027, 8, 31), "prices": prices}
            ]
        }
    )


def expected(grid: dict[str, Any], facts: FamilyFacts) -> Decimal:
    """The one cell a council reads for the family, found by hand (or the default)."""
    if facts.quotient is None:
        band = grid["unknown_qf"]
    else:
        band = next(
            b["band"]
            for b in grid["qf"]
            if Decimal(b.get("from", 0)) <= facts.quotient
            and ("to" not in b or facts.quotient < Decimal(b["to"]))
        )
    matches = [
        cell
        for cell in grid["cells"]
        if cell["qf"] == band
        and ("rank" not in cell or cell["rank"] == min(facts.service_rank, grid["ranks"]))
        and (
            "residence" not in cell or cell["residence"] == ("resident" if facts.resident else "non_resident")
        )
    ]
    assert len(matches) <= 1
    return Decimal(matches[0]["price"]) if matches else Decimal("99.00")


facts_strategy = st.builds(
    lambda quotient, rank, extra, outside: FamilyFacts(
        quotient,
        Residence.NON_RESIDENT if outside else Residence.RESIDENT,
        child_rank=rank,
        children=rank + extra,
    ),
    st.one_of(st.none(), st.integers(0, 4_000).map(Decimal), st.decimals(0, 4_000, places=2)),
    st.integers(1, 6),
    st.integers(0, 2),
    st.booleans(),
)


@given(grids(), st.lists(facts_strategy, min_size=1, max_size=8))
def test_a_grid_lookup_picks_exactly_one_cell_for_any_facts_or_the_default(
    grid: dict[str, Any], families: list[FamilyFacts]
) -> None:
    book = book_of(grid)
    for facts in families:
        assert price_quote(book, "repas", DAY, facts).unit_price == expected(grid, facts)


@given(grids())
def test_band_edges_are_exclusive_upper_bounds(grid: dict[str, Any]) -> None:
    book = book_of(grid)

    def said(quotient: Decimal) -> str:
        return price_quote(book, "repas", DAY, FamilyFacts(quotient)).message_fr

    for band in grid["qf"]:
        if "to" in band:
            edge = Decimal(band["to"])
            # The edge belongs to the band above (what is said just above it), never to its own band.
            assert said(edge) == said(edge + Decimal("0.5"))
            assert said(edge - Decimal("0.01")) == said(Decimal(band.get("from", 0)))


@given(grids(), st.randoms(use_true_random=False))
def test_reordering_the_toml_changes_nothing(grid: dict[str, Any], shuffler: random.Random) -> None:
    shuffled = dict(reversed(list(grid.items())))
    shuffled["cells"] = [dict(reversed(list(cell.items()))) for cell in grid["cells"]]
    shuffler.shuffle(shuffled["cells"])
    shuffled["qf"] = list(grid["qf"])
    shuffler.shuffle(shuffled["qf"])
    assert book_of(shuffled) == book_of(grid)


def _child(index: int, birth: dt.date) -> Child:
    return Child(f"E{index}", "Léa", "Martin", birth, ("F1",))


@given(
    st.lists(st.dates(dt.date(2012, 1, 1), dt.date(2024, 12, 31)), min_size=1, max_size=6),
    st.data(),
)
def test_the_rank_is_invariant_to_the_order_and_subset_of_children_passed(
    births: list[dt.date], data: st.DataObject
) -> None:
    children = [_child(index, birth) for index, birth in enumerate(births)]
    booked = data.draw(st.sets(st.sampled_from([c.id for c in children]), min_size=1))
    bookings = [BookedDays(child_id, "repas", BookingStatus.BOOKED, (DAY,)) for child_id in sorted(booked)]
    service_of = {"repas": "cantine"}
    reference = service_ranks(children, bookings, service_of)
    # Any order, and any subset that still holds the booked children (others are not ranked in the service).
    passed = [c for c in children if c.id in booked or data.draw(st.booleans())]
    passed = data.draw(st.permutations(passed))
    assert service_ranks(passed, bookings, service_of) == reference
    assert sorted(reference.values()) == list(range(1, len(booked) + 1))
    eldest = min((c for c in children if c.id in booked), key=lambda c: (c.birth_date, c.id))
    assert reference[("cantine", eldest.id)] == 1
