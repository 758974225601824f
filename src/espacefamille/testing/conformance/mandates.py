"""The ``mandates`` repository: SEPA mandates, the debit files built and the invoices they collect."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import attrs
import pytest

from espacefamille.billing.direct_debit import DebitBatch, DebitCollection, DebitReject
from espacefamille.billing.mandates import FamilyMandate, Mandate, SequenceType
from espacefamille.errors import ConcurrentChange, InvalidInput, NotFound
from espacefamille.money import Money
from espacefamille.testing.conformance._base import ConformanceBase

D = dt.date
_BUILT = dt.datetime(2026, 12, 1, 9, 30, tzinfo=ZoneInfo("Europe/Paris"))


def mandate(rum: str = "SAP-F1-0001", family_id: str = "F1", regie_id: str = "enfance") -> FamilyMandate:
    """A mandate signed by the payer of ``family_id`` (an IBAN and BIC that schwifty accepts)."""
    return FamilyMandate(
        Mandate(
            rum, D(2026, 9, 3), "Claire Martin-Œuvray \\ fille", "FR7630006000011234567890189", "AGRIFRPP"
        ),
        family_id,
        regie_id,
        D(2026, 9, 4),
    )


def batch(batch_id: str = "enfance-20261215-01", *numbers: str) -> DebitBatch:
    """A debit file of the régie enfance collecting ``numbers`` (F1's) on 15 December 2026."""
    return DebitBatch(
        batch_id,
        "enfance",
        D(2026, 12, 15),
        _BUILT,
        '<?xml version="1.0" encoding="UTF-8"?>\n<Document>é</Document>\n',
        [
            DebitCollection(
                batch_id, number, "F1", "SAP-F1-0001", Money("42.50"), SequenceType.FRST, f"PAY-{n}"
            )
            for n, number in enumerate(numbers or ("FAC-enfance-2026-000041",), start=1)
        ],
    )


class MandatesConformance(ConformanceBase):
    """The ``mandates`` repository: SEPA mandates, the debit files built and the invoices they collect."""

    def test_a_mandate_reads_back_equal_by_rum_family_and_regie(self) -> None:
        store = self.seeded_store()
        with pytest.raises(NotFound):
            self.read(store, lambda uow: uow.mandates.get("SAP-F1-0001"))
        first, second, other = mandate(), mandate("SAP-F1-0000"), mandate("SAP-F2-0001", "F2", "culture")
        self.write(store, lambda uow: uow.mandates.save(first), lambda uow: uow.mandates.save(other))
        self.write(store, lambda uow: uow.mandates.save(second))
        assert self.read(store, lambda uow: uow.mandates.get("SAP-F1-0001")) == first
        assert self.read(store, lambda uow: uow.mandates.of_family("F1")) == (second, first)
        assert self.read(store, lambda uow: uow.mandates.of_regie("enfance")) == (second, first)
        assert self.read(store, lambda uow: uow.mandates.of_regie("culture")) == (other,)
        assert self.read(store, lambda uow: uow.mandates.of_family("F9")) == ()

    def test_saving_a_mandate_again_replaces_it_by_rum(self) -> None:
        store = self.seeded_store()
        self.write(store, lambda uow: uow.mandates.save(mandate()))
        used = attrs.evolve(
            mandate(),
            mandate=mandate().mandate.after_collection(),
            last_collected_on=D(2026, 12, 15),
            revoked_on=D(2027, 1, 31),
        )
        self.write(store, lambda uow: uow.mandates.save(used))
        assert self.read(store, lambda uow: uow.mandates.of_family("F1")) == (used,)
        assert self.read(store, lambda uow: uow.mandates.get(used.rum)).mandate.sequence is SequenceType.RCUR

    def test_a_debit_file_reads_back_with_its_collections(self) -> None:
        store = self.seeded_store()
        built = batch("enfance-20261215-01", "FAC-enfance-2026-000042", "FAC-enfance-2026-000041")
        later = attrs.evolve(batch("enfance-20270115-01"), debit_date=D(2027, 1, 15))
        self.write(
            store, lambda uow: uow.mandates.save_batch(later), lambda uow: uow.mandates.save_batch(built)
        )
        read = self.read(store, lambda uow: uow.mandates.batch(built.id))
        assert read == built
        assert read.built_at == _BUILT
        assert [c.invoice_number for c in read.collections] == [
            "FAC-enfance-2026-000041",
            "FAC-enfance-2026-000042",
        ]
        assert self.read(store, lambda uow: uow.mandates.batches_of("enfance")) == (built, later)
        assert self.read(store, lambda uow: uow.mandates.batches_of("culture")) == ()
        collected = self.read(store, lambda uow: uow.mandates.collections_of("F1"))
        assert [(c.batch_id, c.invoice_number) for c in collected] == [
            ("enfance-20261215-01", "FAC-enfance-2026-000041"),
            ("enfance-20261215-01", "FAC-enfance-2026-000042"),
            ("enfance-20270115-01", "FAC-enfance-2026-000041"),
        ]
        with pytest.raises(NotFound):
            self.read(store, lambda uow: uow.mandates.batch("enfance-20991231-01"))

    def test_a_debit_file_is_recorded_once(self) -> None:
        store = self.seeded_store()
        self.write(store, lambda uow: uow.mandates.save_batch(batch()))
        with pytest.raises(InvalidInput) as refused:
            self.write(store, lambda uow: uow.mandates.save_batch(batch()))
        assert refused.value.code == "store.batch_exists"
        assert len(self.read(store, lambda uow: uow.mandates.batches_of("enfance"))) == 1

    def test_a_reject_is_recorded_on_its_collection(self) -> None:
        store = self.seeded_store()
        built = batch("enfance-20261215-01", "FAC-enfance-2026-000041", "FAC-enfance-2026-000042")
        self.write(store, lambda uow: uow.mandates.save_batch(built))
        returned = attrs.evolve(
            built.collections[0], reject=DebitReject(D(2026, 12, 18), "AM04", "FAC-enfance-2026-000050")
        )
        self.write(store, lambda uow: uow.mandates.save_collection(returned))
        read = self.read(store, lambda uow: uow.mandates.batch(built.id))
        assert read.collections == (returned, built.collections[1])
        assert self.read(store, lambda uow: uow.mandates.collections_of("F1"))[0].reject == returned.reject
        unknown = attrs.evolve(returned, invoice_number="FAC-enfance-2026-000099")
        with pytest.raises(NotFound):
            self.write(store, lambda uow: uow.mandates.save_collection(unknown))

    def test_a_mandate_and_a_debit_file_are_written_with_the_unit_of_work_or_not_at_all(self) -> None:
        store = self.seeded_store()
        with store.unit_of_work() as uow:
            uow.mandates.save(mandate())
            uow.mandates.save_batch(batch())
            assert uow.mandates.of_family("F1") == (mandate(),)
            assert len(uow.mandates.batches_of("enfance")) == 1
        assert self.read(store, lambda uow: uow.mandates.of_family("F1")) == ()
        assert self.read(store, lambda uow: uow.mandates.batches_of("enfance")) == ()

    def test_two_units_of_work_building_a_regies_debit_files_conflict(self) -> None:
        store = self.seeded_store()
        with store.unit_of_work() as first, store.unit_of_work() as second:
            assert first.mandates.batches_of("enfance") == ()
            assert second.mandates.batches_of("enfance") == ()
            first.mandates.save_batch(batch("enfance-20261215-01"))
            second.mandates.save_batch(batch("enfance-20261215-02"))
            first.commit()
            with pytest.raises(ConcurrentChange):
                second.commit()
        assert [b.id for b in self.read(store, lambda uow: uow.mandates.batches_of("enfance"))] == [
            "enfance-20261215-01"
        ]

    def test_saving_a_mandate_is_a_write_of_its_family(self) -> None:
        store = self.seeded_store()
        with store.unit_of_work() as first, store.unit_of_work() as second:
            first.families.get("F1")
            second.mandates.save(mandate())
            second.commit()
            first.families.save(first.families.get("F1"))
            with pytest.raises(ConcurrentChange):
                first.commit()

    def test_a_collection_recorded_for_another_household_changes_the_household_it_had(self) -> None:
        store = self.seeded_store()
        built = batch()
        self.write(store, lambda uow: uow.mandates.save_batch(built))
        with store.unit_of_work() as reader:
            assert len(reader.mandates.collections_of("F1")) == 1
            moved = attrs.evolve(built.collections[0], family_id="F2")
            self.write(store, lambda uow: uow.mandates.save_collection(moved))
            reader.mandates.save(mandate())
            with pytest.raises(ConcurrentChange):
                reader.commit()
        assert self.read(store, lambda uow: uow.mandates.collections_of("F1")) == ()
