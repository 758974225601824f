"""The ``online_payments`` repository."""

from __future__ import annotations

import attrs
import pytest
from hypothesis import given

from espacefamille.billing.online import PaymentAttempt, PaymentStatus
from espacefamille.errors import ConcurrentChange, NotFound
from espacefamille.model import BookingStatus
from espacefamille.testing import strategies as s
from espacefamille.testing.builders import MONDAY, attempt, booking
from espacefamille.testing.conformance._base import _ROUND_TRIPS, ConformanceBase


class OnlinePaymentsConformance(ConformanceBase):
    """The ``online_payments`` repository."""

    @_ROUND_TRIPS
    @given(s.payment_attempts(family_id="F1"))
    def test_payment_attempt_reads_back_equal(self, value: PaymentAttempt) -> None:
        own, later = self.round_trip(
            lambda uow: uow.online_payments.save(value), lambda uow: uow.online_payments.get(value.payment_id)
        )
        assert own == value
        assert later == value
        assert s.same_instants(later.created.created_at, value.created.created_at)

    def test_payment_attempts_are_listed_per_family_by_id_and_replaced_by_id(self) -> None:
        store = self.seeded_store()
        with pytest.raises(NotFound):
            self.read(store, lambda uow: uow.online_payments.get("pay-1"))
        second, first = attempt("pay-2", "F1"), attempt("pay-1", "F1")
        self.write(store, lambda uow: uow.online_payments.save(second))
        self.write(
            store,
            lambda uow: uow.online_payments.save(first),
            lambda uow: uow.online_payments.save(attempt("pay-3", "F2")),
        )
        paid = attrs.evolve(first, status=PaymentStatus.PAID)
        self.write(store, lambda uow: uow.online_payments.save(paid))
        assert self.read(store, lambda uow: uow.online_payments.of_family("F1")) == (paid, second)
        assert [a.payment_id for a in self.read(store, lambda uow: uow.online_payments.of_family("F2"))] == [
            "pay-3"
        ]
        assert self.read(store, lambda uow: uow.online_payments.of_family("F9")) == ()

    def test_a_payment_attempt_is_written_with_the_hold_it_pays_or_not_at_all(self) -> None:
        store = self.seeded_store()
        with store.unit_of_work() as uow:
            uow.bookings.save([booking("C1", "F1", MONDAY, "journee", BookingStatus.HELD)])
            uow.online_payments.save(attempt("pay-1", "F1"))
            assert [a.payment_id for a in uow.online_payments.of_family("F1")] == ["pay-1"]
        assert self.read(store, lambda uow: uow.online_payments.of_family("F1")) == ()

    def test_two_units_of_work_recording_a_familys_payments_conflict(self) -> None:
        store = self.seeded_store()
        with store.unit_of_work() as first, store.unit_of_work() as second:
            assert first.online_payments.of_family("F1") == ()
            assert second.online_payments.of_family("F1") == ()
            first.online_payments.save(attempt("pay-1", "F1"))
            second.online_payments.save(attempt("pay-2", "F1"))
            first.commit()
            with pytest.raises(ConcurrentChange):
                second.commit()
        assert [a.payment_id for a in self.read(store, lambda uow: uow.online_payments.of_family("F1"))] == [
            "pay-1"
        ]
