"""The ``bookings`` repository."""

from __future__ import annotations

import datetime as dt

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from espacefamille.calendar.periods import DateRange
from espacefamille.errors import ConcurrentChange
from espacefamille.model import Booking, BookingStatus
from espacefamille.testing import strategies as s
from espacefamille.testing.builders import MONDAY, NOVEMBER, PARIS, booking, family, payment
from espacefamille.testing.conformance._base import _ROUND_TRIPS, ConformanceBase


class BookingsConformance(ConformanceBase):
    """The ``bookings`` repository."""

    @_ROUND_TRIPS
    @given(st.lists(s.bookings(child_id="C1", family_id="F1"), max_size=6, unique_by=lambda b: b.key))
    def test_bookings_read_back_with_their_instants_and_amounts(self, values: list[Booking]) -> None:
        everything = DateRange(dt.date(2020, 1, 1), dt.date(2035, 12, 31))
        own, later = self.round_trip(
            lambda uow: uow.bookings.save(values), lambda uow: uow.bookings.of_family("F1", everything)
        )
        expected = tuple(sorted(values, key=lambda b: b.key))
        assert s.same_instants(own, expected)
        assert s.same_instants(later, expected)

    def test_bookings_are_filtered_by_household_and_period_and_ordered(self) -> None:
        store = self.seeded_store()
        tuesday, friday = MONDAY + dt.timedelta(days=1), MONDAY + dt.timedelta(days=4)
        self.write(
            store,
            lambda uow: uow.bookings.save(
                [
                    booking("C1", "F1", friday),
                    booking("C1", "F1", MONDAY, "matin"),
                    booking("C1", "F1", MONDAY),
                    booking("C1", "F1", dt.date(2026, 12, 1)),
                    booking("C2", "F2", tuesday),
                ]
            ),
        )
        found = self.read(store, lambda uow: uow.bookings.of_family("F1", NOVEMBER))
        assert [(b.prestation_id, b.day) for b in found] == [
            ("matin", MONDAY),
            ("repas", MONDAY),
            ("repas", friday),
        ]
        week = DateRange(MONDAY, friday)
        of_meal = self.read(store, lambda uow: uow.bookings.of_prestation("repas", week))
        assert [(b.child_id, b.day) for b in of_meal] == [("C1", MONDAY), ("C1", friday), ("C2", tuesday)]

    def test_a_childs_bookings_are_read_whichever_household_made_them(self) -> None:
        # C1 belongs to F1 only: F2's days are those of a household it has left, or of its other parent.
        store = self.seeded_store()
        tuesday, friday = MONDAY + dt.timedelta(days=1), MONDAY + dt.timedelta(days=4)
        days = [
            booking("C1", "F2", friday, status=BookingStatus.CANCELLED),
            booking("C1", "F2", tuesday),
            booking("C1", "F1", MONDAY),
            booking("C1", "F1", MONDAY, "matin"),
            booking("C1", "F1", dt.date(2026, 12, 1)),
            booking("C2", "F2", tuesday),
        ]
        self.write(store, lambda uow: uow.bookings.save(days))
        found = self.read(store, lambda uow: uow.bookings.of_child("C1", NOVEMBER))
        assert found == (days[3], days[2], days[1], days[0])  # by prestation then day, cancelled included
        assert self.read(store, lambda uow: uow.bookings.of_child("C1", DateRange(tuesday, tuesday))) == (
            days[1],
        )
        meals = self.read(store, lambda uow: uow.bookings.of_child("C1", NOVEMBER, prestation_id="repas"))
        assert meals == (days[2], days[1], days[0])
        assert self.read(store, lambda uow: uow.bookings.of_child("C1", NOVEMBER, prestation_id="soir")) == ()
        assert self.read(store, lambda uow: uow.bookings.of_child("C9", NOVEMBER)) == ()

    def test_the_households_of_a_childs_bookings_count_as_read(self) -> None:
        store = self.seeded_store()
        self.write(store, lambda uow: uow.bookings.save([booking("C1", "F2")]))
        with store.unit_of_work() as reader:
            (found,) = reader.bookings.of_child("C1", NOVEMBER)
            assert found.family_id == "F2"
            self.write(store, lambda uow: uow.families.save(attrs.evolve(family("F2"), direct_debit=True)))
            reader.documents.save_payment(payment("PAY-enfance-2026-000001", "F1"))
            with pytest.raises(ConcurrentChange):
                reader.commit()

    def test_a_booking_saved_under_another_household_changes_the_household_it_left(self) -> None:
        store = self.seeded_store()
        self.write(store, lambda uow: uow.bookings.save([booking("C1", "F1")]))
        others = [booking("C2", "F2", MONDAY - dt.timedelta(days=n)) for n in range(1, 400)]
        with store.unit_of_work() as reader:
            assert reader.bookings.of_family("F1", NOVEMBER) == (booking("C1", "F1"),)
            self.write(store, lambda uow: uow.bookings.save([*others, booking("C1", "F2")]))
            reader.bookings.save([booking("C1", "F1", MONDAY + dt.timedelta(days=1))])
            with pytest.raises(ConcurrentChange):
                reader.commit()
        assert self.read(store, lambda uow: uow.bookings.of_family("F1", NOVEMBER)) == ()

    def test_saving_a_booking_again_replaces_it_and_keeps_it_cancelled(self) -> None:
        store = self.seeded_store()
        self.write(store, lambda uow: uow.bookings.save([booking("C1", "F1")]))
        cancelled = booking("C1", "F1", status=BookingStatus.CANCELLED)
        self.write(store, lambda uow: uow.bookings.save([cancelled]))
        self.write(store, lambda uow: uow.bookings.save([cancelled]))
        assert self.read(store, lambda uow: uow.bookings.of_family("F1", NOVEMBER)) == (cancelled,)

    def test_an_instant_on_the_clock_change_night_keeps_its_instant(self) -> None:
        # 02:30 happens twice in Paris on Sunday 25 October 2026; this is the second one (winter time).
        second = dt.datetime(2026, 10, 25, 1, 30, tzinfo=dt.UTC).astimezone(PARIS)
        assert second.fold == 1
        store = self.seeded_store()
        self.write(
            store, lambda uow: uow.bookings.save([attrs.evolve(booking("C1", "F1"), booked_at=second)])
        )
        (read,) = self.read(store, lambda uow: uow.bookings.of_family("F1", NOVEMBER))
        assert read.booked_at.utcoffset() is not None
        assert read.booked_at.astimezone(dt.UTC) == dt.datetime(2026, 10, 25, 1, 30, tzinfo=dt.UTC)
