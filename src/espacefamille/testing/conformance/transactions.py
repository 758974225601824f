"""Units of work: commit, rollback, and the detection of concurrent changes."""

from __future__ import annotations

import datetime as dt
import threading

import attrs
import pytest

from espacefamille.billing.documents import (
    Series,
)
from espacefamille.calendar.periods import DateRange
from espacefamille.errors import ConcurrentChange, NotFound
from espacefamille.model import BookingStatus
from espacefamille.money import Money
from espacefamille.testing.builders import (
    MONDAY,
    NOVEMBER,
    booking,
    carried,
    child,
    family,
    invoice,
    message,
    payment,
)
from espacefamille.testing.conformance._base import ConformanceBase, _each


class TransactionsConformance(ConformanceBase):
    """Units of work: commit, rollback, and the detection of concurrent changes."""

    def test_a_unit_of_work_reads_its_own_writes(self) -> None:
        store = self.seeded_store()
        with store.unit_of_work() as uow:
            uow.bookings.save([booking("C1", "F1")])
            uow.families.save(attrs.evolve(family("F1"), direct_debit=True))
            assert uow.bookings.of_family("F1", NOVEMBER) == (booking("C1", "F1"),)
            assert uow.bookings.of_prestation("repas", NOVEMBER) == (booking("C1", "F1"),)
            assert uow.families.get("F1").direct_debit is True

    def test_uncommitted_writes_are_invisible_to_another_unit_of_work(self) -> None:
        store = self.seeded_store()
        with store.unit_of_work() as writer:
            writer.bookings.save([booking("C1", "F1")])
            writer.families.save(family("F3"))
            assert self.read(store, lambda uow: uow.bookings.of_family("F1", NOVEMBER)) == ()
            with pytest.raises(NotFound):
                self.read(store, lambda uow: uow.families.get("F3"))
            writer.commit()
        assert self.read(store, lambda uow: uow.bookings.of_family("F1", NOVEMBER)) == (booking("C1", "F1"),)
        assert self.read(store, lambda uow: uow.families.get("F3")) == family("F3")

    def test_an_exception_rolls_everything_back(self) -> None:
        store = self.seeded_store()

        def fail_midway() -> None:
            with store.unit_of_work() as uow:
                uow.bookings.save([booking("C1", "F1")])
                uow.documents.save_invoice(invoice("FAC-enfance-2026-000001", "F1"))
                uow.documents.save_payment(payment("PAY-enfance-2026-000001", "F1"))
                raise RuntimeError("the payment gateway went away")

        with pytest.raises(RuntimeError, match="gateway"):
            fail_midway()
        assert self.read(store, lambda uow: uow.bookings.of_family("F1", NOVEMBER)) == ()
        assert self.read(store, lambda uow: uow.documents.invoices_of("F1")) == ()
        assert self.read(store, lambda uow: uow.documents.payments_of("F1")) == ()

    def test_leaving_without_commit_or_after_rollback_writes_nothing(self) -> None:
        store = self.seeded_store()
        with store.unit_of_work() as uow:
            uow.documents.save_payment(payment("PAY-enfance-2026-000001", "F1"))
        with store.unit_of_work() as uow:
            uow.runs.save_carried("enfance", NOVEMBER, {"F1": carried("F1", "enfance", Money("3"), MONDAY)})
            uow.rollback()
            assert dict(uow.runs.carried("enfance")) == {}
            uow.commit()
        assert self.read(store, lambda uow: uow.documents.payments_of("F1")) == ()
        assert self.read(store, lambda uow: dict(uow.runs.carried("enfance"))) == {}

    def test_two_units_of_work_writing_one_family_conflict(self) -> None:
        store = self.seeded_store()
        with store.unit_of_work() as first, store.unit_of_work() as second:
            first.bookings.of_family("F1", NOVEMBER)
            second.bookings.of_family("F1", NOVEMBER)
            first.bookings.save([booking("C1", "F1")])
            second.bookings.save([booking("C1", "F1", MONDAY + dt.timedelta(days=1))])
            second.outbox.add(message("m-2", "F1"))
            first.commit()
            with pytest.raises(ConcurrentChange):
                second.commit()
        assert self.read(store, lambda uow: uow.bookings.of_family("F1", NOVEMBER)) == (booking("C1", "F1"),)
        assert self.read(store, lambda uow: uow.outbox.all()) == ()

    def test_a_family_read_then_changed_by_someone_else_conflicts(self) -> None:
        store = self.seeded_store()
        with store.unit_of_work() as reader:
            assert reader.families.get("F1").direct_debit is False
            self.write(store, lambda uow: uow.families.save(attrs.evolve(family("F1"), direct_debit=True)))
            reader.documents.save_payment(payment("PAY-enfance-2026-000001", "F1"))
            with pytest.raises(ConcurrentChange):
                reader.commit()
        assert self.read(store, lambda uow: uow.documents.payments_of("F1")) == ()

    def test_different_families_do_not_conflict_and_a_retry_succeeds(self) -> None:
        store = self.seeded_store()
        with store.unit_of_work() as first, store.unit_of_work() as second:
            first.families.get("F1")
            second.families.get("F2")
            first.bookings.save([booking("C1", "F1")])
            second.bookings.save([booking("C2", "F2")])
            second.commit()
            first.commit()
        with store.unit_of_work() as stale:
            stale.families.get("F1")
            self.write(
                store, lambda uow: uow.bookings.save([booking("C1", "F1", status=BookingStatus.CANCELLED)])
            )
            stale.bookings.save([booking("C1", "F1")])
            with pytest.raises(ConcurrentChange):
                stale.commit()
        self.write(
            store, lambda uow: uow.families.get("F1"), lambda uow: uow.bookings.save([booking("C1", "F1")])
        )
        assert self.read(store, lambda uow: uow.bookings.of_prestation("repas", NOVEMBER)) == (
            booking("C1", "F1"),
            booking("C2", "F2"),
        )

    def test_bookings_of_a_prestation_with_places_conflict_across_families(self) -> None:
        store = self.seeded_store()  # the example commune limits "journee" (ALSH day) to 40 places
        day = dt.date(2026, 12, 23)
        with store.unit_of_work() as first, store.unit_of_work() as second:
            first.bookings.of_prestation("journee", DateRange(day, day))
            second.bookings.of_prestation("journee", DateRange(day, day))
            first.bookings.save([booking("C1", "F1", day, "journee")])
            second.bookings.save([booking("C2", "F2", day, "journee")])
            first.commit()
            with pytest.raises(ConcurrentChange):
                second.commit()
        # Meals have no limit of places: two households booking them do not conflict.
        with store.unit_of_work() as first, store.unit_of_work() as second:
            first.bookings.of_prestation("repas", NOVEMBER)
            second.bookings.of_prestation("repas", NOVEMBER)
            first.bookings.save([booking("C1", "F1")])
            second.bookings.save([booking("C2", "F2")])
            first.commit()
            second.commit()
        assert (
            len(self.read(store, lambda uow: uow.bookings.of_prestation("journee", DateRange(day, day)))) == 1
        )
        assert len(self.read(store, lambda uow: uow.bookings.of_prestation("repas", NOVEMBER))) == 2

    def test_two_units_of_work_numbering_invoices_conflict(self) -> None:
        store = self.seeded_store()
        with store.unit_of_work() as first, store.unit_of_work() as second:
            for uow, family_id in ((first, "F1"), (second, "F2")):
                numbering, number = uow.documents.numbering().next("enfance", 2026, Series.INVOICE)
                uow.documents.save_numbering(numbering)
                uow.documents.save_invoice(invoice(number, family_id))
            first.commit()
            with pytest.raises(ConcurrentChange):
                second.commit()
        assert self.read(store, lambda uow: uow.documents.invoices_of("F2")) == ()
        assert self.read(store, lambda uow: uow.documents.numbering()).last == {
            ("enfance", 2026, Series.INVOICE): 1
        }

    def test_threads_committing_at_once_lose_no_write(self) -> None:
        store = self.seeded_store()
        errors: list[BaseException] = []

        def book(index: int) -> None:
            family_id, child_id = f"T{index}", f"K{index}"
            try:
                self.write(
                    store,
                    lambda uow: uow.families.save(family(family_id)),
                    lambda uow: uow.families.save_child(child(child_id, family_id)),
                )
                for day in range(5):
                    meal = booking(child_id, family_id, MONDAY + dt.timedelta(days=day))
                    self.write(store, _each(lambda uow, v: uow.bookings.save(v), [[meal]]))
                # Every thread also numbers an invoice: conflicts are retried, no number is given twice.
                while True:
                    try:
                        with store.unit_of_work() as uow:
                            numbering, number = uow.documents.numbering().next(
                                "enfance", 2026, Series.INVOICE
                            )
                            uow.documents.save_numbering(numbering)
                            uow.documents.save_invoice(invoice(number, family_id))
                            uow.commit()
                        break
                    except ConcurrentChange:
                        continue
            except BaseException as error:  # reported to the main thread, which fails the test
                errors.append(error)

        threads = [threading.Thread(target=book, args=(index,)) for index in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        assert len(self.read(store, lambda uow: uow.bookings.of_prestation("repas", NOVEMBER))) == 30
        with store.unit_of_work() as uow:
            numbers = [i.number for index in range(6) for i in uow.documents.invoices_of(f"T{index}")]
        assert sorted(numbers) == [f"FAC-enfance-2026-{n:06d}" for n in range(1, 7)]
