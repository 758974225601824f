"""The bookings repository on SQLite."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from espacefamille.adapters.sqlite.codecs import (
    _BOOKING_COLUMNS,
    _BOOKING_STATUS,
    _instant,
    _new_booking,
    _read_instant,
)
from espacefamille.adapters.sqlite.schema import _FAMILY, _PRESTATION, _scalar
from espacefamille.calendar.periods import DateRange
from espacefamille.errors import InvalidInput
from espacefamille.model import (
    Booking,
)
from espacefamille.money import Money
from espacefamille.ports.store import child_ids_of
from espacefamille.rules.capacity import PlaceCount

if TYPE_CHECKING:
    from espacefamille.adapters.sqlite.store import SqliteUnitOfWork


class _SqliteBookings:
    """Bookings of a ``SqliteUnitOfWork`` (see ``espacefamille.ports.Bookings``)."""

    def __init__(self, uow: SqliteUnitOfWork) -> None:
        self._uow = uow

    @staticmethod
    def _bookings(rows: Iterable[Any]) -> tuple[Booking, ...]:
        status = _BOOKING_STATUS
        instant = _read_instant
        day = dt.date.fromisoformat
        cents = Money.from_cents
        new = _new_booking
        return tuple(
            new(
                child_id,
                prestation_id,
                day(on),
                family_id,
                status[state],
                instant(booked_at),
                None if paid is None else cents(paid),
                surcharge,
            )
            for child_id, prestation_id, on, family_id, state, booked_at, paid, surcharge in rows
        )

    def of_family(self, family_id: str, period: DateRange) -> tuple[Booking, ...]:
        self._uow._sync()
        self._uow._seen(_FAMILY, family_id)
        return self._bookings(
            self._uow._db.execute(
                f"SELECT {_BOOKING_COLUMNS} FROM bookings WHERE family_id = ? AND day BETWEEN ? AND ? "
                "ORDER BY child_id, prestation_id, day",
                (family_id, period.start.isoformat(), period.end.isoformat()),
            )
        )

    def of_child(
        self, child_id: str, period: DateRange, *, prestation_id: str | None = None
    ) -> tuple[Booking, ...]:
        self._uow._sync()
        # A read of the unit of work's snapshot (or under its write lock): the versions of the households
        # found, read after their bookings, are those of the same state. With the prestation, a range of
        # the key (bookings_by_key); without, the child's every booking is looked at.
        span = (period.start.isoformat(), period.end.isoformat())
        found = self._bookings(
            self._uow._db.execute(
                f"SELECT {_BOOKING_COLUMNS} FROM bookings WHERE child_id = ? AND day BETWEEN ? AND ? "
                "ORDER BY prestation_id, day",
                (child_id, *span),
            )
            if prestation_id is None
            else self._uow._db.execute(
                f"SELECT {_BOOKING_COLUMNS} FROM bookings WHERE child_id = ? AND prestation_id = ? "
                "AND day BETWEEN ? AND ? ORDER BY day",
                (child_id, prestation_id, *span),
            )
        )
        for family_id in sorted({b.family_id for b in found}):
            self._uow._seen(_FAMILY, family_id)
        return found

    def of_prestation(
        self, prestation_id: str, period: DateRange, *, for_booking: bool = False
    ) -> tuple[Booking, ...]:
        self._read_places(prestation_id, for_booking)
        return self._bookings(
            self._uow._db.execute(
                f"SELECT {_BOOKING_COLUMNS} FROM bookings WHERE prestation_id = ? "
                "AND day BETWEEN ? AND ? ORDER BY child_id, day",
                (prestation_id, period.start.isoformat(), period.end.isoformat()),
            )
        )

    def places_of(
        self, prestation_id: str, period: DateRange, child_ids: Iterable[str], *, for_booking: bool = False
    ) -> tuple[tuple[PlaceCount, ...], tuple[Booking, ...]]:
        children = child_ids_of(child_ids)
        self._read_places(prestation_id, for_booking)
        span = (prestation_id, period.start.isoformat(), period.end.isoformat())
        counts = tuple(
            PlaceCount(
                dt.date.fromisoformat(on), holding, waiting, None if last is None else _read_instant(last)
            )
            for on, holding, waiting, last in self._uow._db.execute(
                "SELECT day, SUM(status IN ('booked', 'held')), SUM(status = 'waiting'), "
                "MAX(CASE WHEN status = 'waiting' THEN booked_at END) FROM bookings "
                "WHERE prestation_id = ? AND day BETWEEN ? AND ? AND status != 'cancelled' "
                "GROUP BY day ORDER BY day",
                span,
            )
        )
        if not children:
            return counts, ()
        return counts, self._bookings(
            self._uow._db.execute(
                f"SELECT {_BOOKING_COLUMNS} FROM bookings WHERE prestation_id = ? AND day BETWEEN ? AND ? "
                f"AND child_id IN ({', '.join('?' * len(children))}) ORDER BY child_id, day",
                (*span, *children),
            )
        )

    def _read_places(self, prestation_id: str, for_booking: bool) -> None:
        self._uow._sync()
        if for_booking and not self._uow._writing and self._limited(prestation_id):
            # Take the database's write lock before reading the places: baskets queue for it (up to the
            # busy timeout) instead of failing at commit because another one booked meanwhile.
            self._uow._begin_writing()
        self._uow._seen(_PRESTATION, prestation_id)

    def _limited(self, prestation_id: str) -> bool:
        return (
            _scalar(self._uow._db, "SELECT 1 FROM capacity_limited WHERE prestation_id = ?", (prestation_id,))
            is not None
        )

    def save(self, bookings: Iterable[Booking]) -> None:
        rows = []
        scopes: set[tuple[str, str]] = set()
        for booking in bookings:
            if not isinstance(booking, Booking):
                raise InvalidInput(f"expected a Booking, got {booking!r}", code="store.not_a_booking")
            rows.append(
                (
                    booking.family_id,
                    booking.day.isoformat(),
                    booking.child_id,
                    booking.prestation_id,
                    booking.status.value,
                    _instant(booking.booked_at),
                    None if booking.paid is None else booking.paid.cents,
                    booking.surcharge_code,
                )
            )
            scopes.add((_FAMILY, booking.family_id))
            scopes.add((_PRESTATION, booking.prestation_id))
        if not rows:
            return

        def apply() -> None:
            self._uow._written.update(scopes)
            # A booking that moves from one household to the other leaves the first one changed too.
            self._uow._mark_previous_owners(
                "bookings", ("child_id", "prestation_id", "day"), [(r[2], r[3], r[1]) for r in rows]
            )
            # OR REPLACE also removes the row of the same child, prestation and date (the unique key).
            self._uow._db.executemany(
                "INSERT OR REPLACE INTO bookings (family_id, day, child_id, prestation_id, status, "
                "booked_at, paid_cents, surcharge_code) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )

        self._uow._write(apply)
