"""The commune's configuration and the ``families`` repository: households, children, enrolments,
waivers of the unpaid block."""

from __future__ import annotations

import datetime as dt

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from espacefamille.calendar.periods import DateRange
from espacefamille.errors import NotFound
from espacefamille.examples import example_commune
from espacefamille.model import Child, Enrolment, Family, PostalAddress
from espacefamille.money import Money
from espacefamille.testing import strategies as s
from espacefamille.testing.builders import (
    child,
    family,
)
from espacefamille.testing.conformance._base import _ROUND_TRIPS, ConformanceBase, _each, _saving_family


class FamiliesConformance(ConformanceBase):
    """The commune's configuration and the ``families`` repository: households, children, enrolments,
    waivers of the unpaid block."""

    def test_commune_is_not_found_before_it_is_saved(self) -> None:
        with pytest.raises(NotFound):
            self.read(self.make_store(), lambda uow: uow.commune())

    def test_example_commune_reads_back_equal(self) -> None:
        commune = example_commune()
        own, later = self.round_trip(lambda uow: uow.save_commune(commune), lambda uow: uow.commune())
        assert own == commune
        assert later == commune
        assert later.capacities["journee"] == commune.capacities["journee"]
        assert later.recovery_threshold == Money("15")

    def test_saving_the_commune_again_replaces_it(self) -> None:
        store = self.seeded_store()
        changed = attrs.evolve(example_commune(), all_or_nothing_baskets=True)
        self.write(store, lambda uow: uow.save_commune(changed))
        assert self.read(store, lambda uow: uow.commune()).all_or_nothing_baskets is True

    @_ROUND_TRIPS
    @given(s.families())
    def test_family_reads_back_equal(self, value: Family) -> None:
        own, later = self.round_trip(
            lambda uow: uow.families.save(value), lambda uow: uow.families.get(value.id)
        )
        assert own == value
        assert later == value
        assert later.quotients == value.quotients

    def test_a_payer_address_reads_back_equal_and_can_be_removed(self) -> None:
        store = self.seeded_store()
        address = PostalAddress(
            ("Résidence « Les Tilleuls », bât. B", "12 bis rue de l'Église", "BP 7 \\ lieu-dit"),
            "35000",
            "Rennes Cedex 2",
        )
        housed = attrs.evolve(family("F1", "Martin"), address=address)
        self.write(store, lambda uow: uow.families.save(housed))
        assert self.read(store, lambda uow: uow.families.get("F1")).address == address
        listed = self.read(store, lambda uow: {f.id: f.address for f in uow.families.all()})
        assert listed == {"F1": address, "F2": None}
        self.write(store, lambda uow: uow.families.save(attrs.evolve(housed, address=None)))
        assert self.read(store, lambda uow: uow.families.get("F1")).address is None

    def test_unknown_identifiers_are_not_found(self) -> None:
        store = self.seeded_store()
        for query in (
            lambda uow: uow.families.get("F9"),
            lambda uow: uow.families.child("C9"),
            lambda uow: uow.documents.invoice("FAC-enfance-2026-999999"),
        ):
            with pytest.raises(NotFound):
                self.read(store, query)

    def test_saving_a_family_again_replaces_it(self) -> None:
        store = self.seeded_store()
        moved = attrs.evolve(family("F1", "Martin"), direct_debit=True, name="Foyer Martin-Durand")
        self.write(store, lambda uow: uow.families.save(moved))
        self.write(store, lambda uow: uow.families.save(moved))
        assert self.read(store, lambda uow: uow.families.get("F1")) == moved
        assert [f.id for f in self.read(store, lambda uow: list(uow.families.all()))] == ["F1", "F2"]

    def test_families_are_listed_by_id(self) -> None:
        store = self.make_store()
        self.write(store, *(_saving_family(fid) for fid in ("F3", "F10", "F1", "F2")))
        listed = self.read(store, lambda uow: [f.id for f in uow.families.all()])
        assert listed == sorted(["F3", "F10", "F1", "F2"])

    @_ROUND_TRIPS
    @given(s.children(family_ids=("F1", "F2"), child_id="C1"))
    def test_child_of_separated_parents_is_listed_by_both_households(self, value: Child) -> None:
        store = self.make_store()
        self.write(
            store,
            lambda uow: uow.families.save(family("F1")),
            lambda uow: uow.families.save(family("F2")),
            lambda uow: uow.families.save_child(value),
        )
        assert self.read(store, lambda uow: uow.families.child("C1")) == value
        assert self.read(store, lambda uow: uow.families.children_of("F1")) == (value,)
        assert self.read(store, lambda uow: uow.families.children_of("F2")) == (value,)

    def test_children_are_listed_by_id_and_follow_a_move(self) -> None:
        store = self.seeded_store()
        self.write(store, lambda uow: uow.families.save_child(child("A1", "F1")))
        assert [c.id for c in self.read(store, lambda uow: uow.families.children_of("F1"))] == ["A1", "C1"]
        self.write(store, lambda uow: uow.families.save_child(child("A1", "F2")))
        assert [c.id for c in self.read(store, lambda uow: uow.families.children_of("F1"))] == ["C1"]
        assert [c.id for c in self.read(store, lambda uow: uow.families.children_of("F2"))] == ["A1", "C2"]
        assert self.read(store, lambda uow: uow.families.children_of("F9")) == ()

    @_ROUND_TRIPS
    @given(st.lists(s.enrolments(child_id="C1", family_id="F1"), max_size=4, unique_by=lambda e: e.id))
    def test_enrolments_read_back_equal_by_id(self, values: list[Enrolment]) -> None:
        own, later = self.round_trip(
            _each(lambda uow, v: uow.families.save_enrolment(v), values),
            lambda uow: uow.families.enrolments_of("C1"),
        )
        expected = tuple(sorted(values, key=lambda e: e.id))
        assert own == expected
        assert later == expected

    def test_saving_an_enrolment_again_replaces_it(self) -> None:
        store = self.seeded_store()
        enrolment = Enrolment(
            "E1", "C1", "F1", "cantine", DateRange(dt.date(2026, 9, 1), dt.date(2027, 7, 3))
        )
        self.write(store, lambda uow: uow.families.save_enrolment(enrolment))
        ended = attrs.evolve(enrolment, period=DateRange(dt.date(2026, 9, 1), dt.date(2026, 12, 18)))
        self.write(store, lambda uow: uow.families.save_enrolment(ended))
        assert self.read(store, lambda uow: uow.families.enrolments_of("C1")) == (ended,)
        assert self.read(store, lambda uow: uow.families.enrolments_of("C2")) == ()
