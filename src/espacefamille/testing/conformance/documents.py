"""The ``documents`` repository: invoices, payments, allocations, numbering."""

from __future__ import annotations

import datetime as dt

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from espacefamille.billing.documents import (
    Allocation,
    Invoice,
    Numbering,
    Payment,
)
from espacefamille.errors import ConcurrentChange, InvalidInput
from espacefamille.money import Money
from espacefamille.testing import strategies as s
from espacefamille.testing.builders import (
    invoice,
    payment,
)
from espacefamille.testing.conformance._base import _ROUND_TRIPS, ConformanceBase, _each


class DocumentsConformance(ConformanceBase):
    """The ``documents`` repository: invoices, payments, allocations, numbering."""

    @_ROUND_TRIPS
    @given(s.invoices(family_id="F1"))
    def test_invoice_reads_back_equal_to_the_cent(self, value: Invoice) -> None:
        own, later = self.round_trip(
            lambda uow: uow.documents.save_invoice(value), lambda uow: uow.documents.invoice(value.number)
        )
        assert own == value
        assert later == value
        assert later.total == value.total
        assert self.read(self.make_store(), lambda uow: uow.documents.invoices_of("F1")) == ()

    def test_invoices_of_a_household_are_listed_by_number(self) -> None:
        store = self.seeded_store()
        numbers = ("FAC-enfance-2026-000002", "FAC-enfance-2026-000001", "AV-enfance-2026-000001")
        self.write(
            store, _each(lambda uow, v: uow.documents.save_invoice(v), [invoice(n, "F1") for n in numbers])
        )
        self.write(store, lambda uow: uow.documents.save_invoice(invoice("FAC-enfance-2026-000003", "F2")))
        listed = self.read(store, lambda uow: [i.number for i in uow.documents.invoices_of("F1")])
        assert listed == sorted(numbers)

    def test_invoices_of_several_households_are_read_at_once_as_one_by_one(self) -> None:
        # A month-end batch reads the whole history of the households it needs it of in one go.
        store = self.seeded_store()
        first = [invoice(n, "F1") for n in ("FAC-enfance-2026-000002", "AV-enfance-2026-000001")]
        self.write(store, _each(lambda uow, v: uow.documents.save_invoice(v), first))
        self.write(store, lambda uow: uow.documents.save_invoice(invoice("FAC-enfance-2026-000001", "F2")))
        with store.unit_of_work() as uow:
            own = invoice("FAC-enfance-2026-000003", "F1")
            uow.documents.save_invoice(own)  # read back with the household's others, in number order
            at_once = uow.documents.invoices_of_families(["F2", "F1", "F3", "F1"])
            assert dict(at_once) == {
                family_id: uow.documents.invoices_of(family_id) for family_id in ("F1", "F2", "F3")
            }
            assert [i.number for i in at_once["F1"]] == sorted([*(i.number for i in first), own.number])
            assert at_once["F3"] == ()
            assert uow.documents.invoices_of_families([]) == {}

    def test_households_read_at_once_then_changed_by_someone_else_conflict(self) -> None:
        store = self.seeded_store()
        with store.unit_of_work() as reader:
            assert reader.documents.invoices_of_families(["F1", "F2"]) == {"F1": (), "F2": ()}
            self.write(
                store, lambda uow: uow.documents.save_invoice(invoice("FAC-enfance-2026-000001", "F2"))
            )
            reader.documents.save_payment(payment("PAY-enfance-2026-000001", "F1"))
            with pytest.raises(ConcurrentChange):
                reader.commit()
        assert self.read(store, lambda uow: uow.documents.payments_of("F1")) == ()

    def test_an_issued_invoice_never_changes(self) -> None:
        store = self.seeded_store()
        issued = invoice("FAC-enfance-2026-000001", "F1", cents=1_234)
        self.write(store, lambda uow: uow.documents.save_invoice(issued))
        self.write(store, lambda uow: uow.documents.save_invoice(issued))  # the same content again: harmless
        with store.unit_of_work() as uow, pytest.raises(InvalidInput) as refused:
            uow.documents.save_invoice(invoice("FAC-enfance-2026-000001", "F1", cents=1_235))
        assert refused.value.code == "store.invoice_immutable"
        with store.unit_of_work() as uow:
            uow.documents.save_invoice(issued)
            with pytest.raises(InvalidInput):
                uow.documents.save_invoice(attrs.evolve(issued, due_on=dt.date(2026, 12, 31)))
        assert self.read(store, lambda uow: uow.documents.invoice(issued.number)) == issued

    def test_an_issued_invoice_never_changes_while_the_unit_of_work_writes(self) -> None:
        # A month-end run saves invoices after it has read its own writes (the SQLite store then holds the
        # write lock): an issued number is still refused with other content and harmless with the same.
        store = self.seeded_store()
        issued = invoice("FAC-enfance-2026-000001", "F1", cents=1_234)
        later = invoice("FAC-enfance-2026-000002", "F1")
        self.write(store, lambda uow: uow.documents.save_invoice(issued))
        with store.unit_of_work() as uow:
            uow.documents.save_invoice(later)
            assert uow.documents.invoices_of("F1") == (issued, later)
            uow.documents.save_invoice(issued)
            with pytest.raises(InvalidInput) as refused:
                uow.documents.save_invoice(invoice("FAC-enfance-2026-000001", "F1", cents=1_235))
            assert refused.value.code == "store.invoice_immutable"
            uow.commit()
        assert self.read(store, lambda uow: uow.documents.invoices_of("F1")) == (issued, later)

    @_ROUND_TRIPS
    @given(st.lists(s.payments(family_id="F1"), max_size=4, unique_by=lambda p: p.number))
    def test_payments_read_back_equal_by_number(self, values: list[Payment]) -> None:
        own, later = self.round_trip(
            _each(lambda uow, v: uow.documents.save_payment(v), values),
            lambda uow: uow.documents.payments_of("F1"),
        )
        expected = tuple(sorted(values, key=lambda p: p.number))
        assert s.same_instants(own, expected)
        assert s.same_instants(later, expected)

    def test_saving_a_payment_again_replaces_it(self) -> None:
        store = self.seeded_store()
        self.write(
            store, lambda uow: uow.documents.save_payment(payment("PAY-enfance-2026-000001", "F1", 1_000))
        )
        corrected = payment("PAY-enfance-2026-000001", "F1", 1_001)
        self.write(store, lambda uow: uow.documents.save_payment(corrected))
        assert self.read(store, lambda uow: uow.documents.payments_of("F1")) == (corrected,)
        assert self.read(store, lambda uow: uow.documents.payments_of("F2")) == ()

    @_ROUND_TRIPS
    @given(st.lists(s.allocations(), max_size=5, unique_by=lambda a: (a.source, a.invoice_number)))
    def test_allocations_read_back_by_household(self, values: list[Allocation]) -> None:
        own, later = self.round_trip(
            lambda uow: uow.documents.save_allocations(values, "F1"),
            lambda uow: uow.documents.allocations_of("F1"),
        )
        expected = tuple(sorted(values, key=lambda a: (a.source, a.invoice_number)))
        assert own == expected
        assert later == expected

    def test_an_allocation_saved_again_replaces_its_amount(self) -> None:
        store = self.seeded_store()
        first = Allocation("PAY-enfance-2026-000001", "FAC-enfance-2026-000001", Money("10"))
        self.write(store, lambda uow: uow.documents.save_allocations([first], "F1"))
        again = attrs.evolve(first, amount=Money("12.34"))
        self.write(store, lambda uow: uow.documents.save_allocations([again], "F1"))
        assert self.read(store, lambda uow: uow.documents.allocations_of("F1")) == (again,)
        assert self.read(store, lambda uow: uow.documents.allocations_of("F2")) == ()

    def test_an_allocation_saved_under_another_household_changes_the_household_it_had(self) -> None:
        store = self.seeded_store()
        first = Allocation("PAY-enfance-2026-000001", "FAC-enfance-2026-000001", Money("10"))
        self.write(store, lambda uow: uow.documents.save_allocations([first], "F1"))
        with store.unit_of_work() as reader:
            assert reader.documents.allocations_of("F1") == (first,)
            self.write(store, lambda uow: uow.documents.save_allocations([first], "F2"))
            reader.documents.save_payment(payment("PAY-enfance-2026-000002", "F1"))
            with pytest.raises(ConcurrentChange):
                reader.commit()
        assert self.read(store, lambda uow: uow.documents.allocations_of("F1")) == ()
        assert self.read(store, lambda uow: uow.documents.allocations_of("F2")) == (first,)
        assert self.read(store, lambda uow: uow.documents.payments_of("F1")) == ()

    @_ROUND_TRIPS
    @given(s.numberings())
    def test_numbering_reads_back_equal(self, value: Numbering) -> None:
        assert self.read(self.make_store(), lambda uow: uow.documents.numbering()) == Numbering()
        own, later = self.round_trip(
            lambda uow: uow.documents.save_numbering(value), lambda uow: uow.documents.numbering()
        )
        assert own == value
        assert later == value
