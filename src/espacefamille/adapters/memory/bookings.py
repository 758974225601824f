"""The bookings repository in memory: by household, by child and by prestation, with its places."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from espacefamille.adapters.memory.tables import _family
from espacefamille.calendar.periods import DateRange
from espacefamille.model import Booking
from espacefamille.ports.store import child_ids_of, place_counts
from espacefamille.rules.capacity import PlaceCount

if TYPE_CHECKING:
    from espacefamille.adapters.memory.store import MemoryUnitOfWork


class _MemoryBookings:
    """Bookings of a ``MemoryUnitOfWork`` (see ``espacefamille.ports.Bookings``)."""

    def __init__(self, uow: MemoryUnitOfWork) -> None:
        self._uow = uow

    def of_family(self, family_id: str, period: DateRange) -> tuple[Booking, ...]:
        with self._uow.lock():
            self._uow.see(_family(family_id))
            found = self._uow.tables.bookings.of_owner(family_id, lambda key: key[2] in period)
        return tuple(sorted(found, key=lambda b: b.key))

    def of_child(
        self, child_id: str, period: DateRange, *, prestation_id: str | None = None
    ) -> tuple[Booking, ...]:
        with self._uow.lock():
            found = self._uow.tables.bookings.values(
                lambda key: (
                    key[0] == child_id
                    and (prestation_id is None or key[1] == prestation_id)
                    and key[2] in period
                )
            )
            for family_id in {b.family_id for b in found}:
                self._uow.see(_family(family_id))
        return tuple(sorted(found, key=lambda b: b.key))

    def of_prestation(
        self, prestation_id: str, period: DateRange, *, for_booking: bool = False
    ) -> tuple[Booking, ...]:
        # for_booking changes nothing here: a conflict on the places is found at commit (the memory
        # store serves one process, where units of work seldom overlap).
        with self._uow.lock():
            self._uow.see(("prestation", prestation_id))
            found = self._uow.tables.bookings.values(lambda key: key[1] == prestation_id and key[2] in period)
        return tuple(sorted(found, key=lambda b: b.key))

    def places_of(
        self, prestation_id: str, period: DateRange, child_ids: Iterable[str], *, for_booking: bool = False
    ) -> tuple[tuple[PlaceCount, ...], tuple[Booking, ...]]:
        children = set(child_ids_of(child_ids))
        found = self.of_prestation(prestation_id, period, for_booking=for_booking)
        return place_counts(found), tuple(b for b in found if b.child_id in children)

    def save(self, bookings: Iterable[Booking]) -> None:
        bookings = list(bookings)
        with self._uow.lock():
            view = self._uow.tables.bookings
            for booking in bookings:
                before = view.get(booking.key)
                self._uow.touch(_family(booking.family_id))
                if before is not None:
                    self._uow.touch(_family(before.family_id))
                self._uow.touch(("prestation", booking.prestation_id))
        for booking in bookings:
            view.put(booking.key, booking)
