"""The bookings repository on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from espacefamille.adapters.postgres.codecs import (
    _BOOKING_COLUMNS,
    _BOOKING_STATUS,
    _new_booking,
    _read_instant,
    _zone,
)
from espacefamille.adapters.postgres.schema import _FAMILY, _PRESTATION
from espacefamille.calendar.periods import DateRange
from espacefamille.errors import InvalidInput
from espacefamille.model import Booking
from espacefamille.money import Money
from espacefamille.ports.store import child_ids_of
from espacefamille.rules.capacity import PlaceCount

if TYPE_CHECKING:
    from espacefamille.adapters.postgres.store import PostgresUnitOfWork


#: A booking's unique key (names and types): the row a save replaces, whichever household.
_BOOKING_KEY = (("child_id", "text"), ("prestation_id", "text"), ("day", "date"))


class _PostgresBookings:
    """Bookings of a ``PostgresUnitOfWork`` (see ``espacefamille.ports.Bookings``)."""

    def __init__(self, uow: PostgresUnitOfWork) -> None:
        self._uow = uow

    @staticmethod
    def _bookings(rows: Iterable[Any]) -> tuple[Booking, ...]:
        status = _BOOKING_STATUS
        instant = _read_instant
        cents = Money.from_cents
        new = _new_booking
        return tuple(
            new(
                child_id,
                prestation_id,
                day,
                family_id,
                status[state],
                instant(booked_at, zone),
                None if paid is None else cents(paid),
                surcharge,
            )
            for child_id, prestation_id, day, family_id, state, booked_at, zone, paid, surcharge in rows
        )

    def of_family(self, family_id: str, period: DateRange) -> tuple[Booking, ...]:
        # Read for a household with days changed since billed: the writes of other tables wait.
        self._uow._sync(frozenset({"bookings"}))
        self._uow._seen(_FAMILY, family_id)
        return self._bookings(
            self._uow._rows(
                f"SELECT {_BOOKING_COLUMNS} FROM bookings WHERE collectivite_id = %s AND family_id = %s "
                "AND day BETWEEN %s AND %s ORDER BY child_id, prestation_id, day",
                (self._uow._c, family_id, period.start, period.end),
            )
        )

    def of_child(
        self, child_id: str, period: DateRange, *, prestation_id: str | None = None
    ) -> tuple[Booking, ...]:
        self._uow._sync(frozenset({"bookings"}))
        # The households' versions come with their bookings, in one statement: one state of the database
        # (the versions read before the data they guard, as ``_seen`` does, would need the households first).
        # With the prestation, a range of the primary key (a statement of its own: a prepared plan of
        # "prestation or any" would not seek it).
        of = "" if prestation_id is None else "AND b.prestation_id = %s "
        rows = self._uow._rows(
            f"SELECT {_BOOKING_COLUMNS}, v.version FROM bookings b LEFT JOIN versions v "
            "ON v.collectivite_id = b.collectivite_id AND v.scope = %s AND v.key = b.family_id "
            f"WHERE b.collectivite_id = %s AND b.child_id = %s {of}AND b.day BETWEEN %s AND %s "
            "ORDER BY b.prestation_id, b.day",
            (
                _FAMILY,
                self._uow._c,
                child_id,
                *(() if prestation_id is None else (prestation_id,)),
                period.start,
                period.end,
            ),
        )
        found = self._bookings(row[:-1] for row in rows)
        for booking, row in zip(found, rows, strict=True):
            self._uow._read.setdefault((_FAMILY, booking.family_id), 0 if row[-1] is None else int(row[-1]))
        return found

    def of_prestation(
        self, prestation_id: str, period: DateRange, *, for_booking: bool = False
    ) -> tuple[Booking, ...]:
        self._read_places(prestation_id, period, for_booking)
        return self._bookings(
            self._uow._rows(
                f"SELECT {_BOOKING_COLUMNS} FROM bookings WHERE collectivite_id = %s AND prestation_id = %s "
                "AND day BETWEEN %s AND %s ORDER BY child_id, day",
                (self._uow._c, prestation_id, period.start, period.end),
            )
        )

    def places_of(
        self, prestation_id: str, period: DateRange, child_ids: Iterable[str], *, for_booking: bool = False
    ) -> tuple[tuple[PlaceCount, ...], tuple[Booking, ...]]:
        children = list(child_ids_of(child_ids))
        self._read_places(prestation_id, period, for_booking)
        span = (self._uow._c, prestation_id, period.start, period.end)
        counts = tuple(
            PlaceCount(day, holding, waiting, last)
            for day, holding, waiting, last in self._uow._rows(
                "SELECT day, count(*) FILTER (WHERE status IN ('booked', 'held')), "
                "count(*) FILTER (WHERE status = 'waiting'), "
                "max(booked_at) FILTER (WHERE status = 'waiting') "
                "FROM bookings WHERE collectivite_id = %s AND prestation_id = %s AND day BETWEEN %s AND %s "
                "AND status <> 'cancelled' GROUP BY day ORDER BY day",
                span,
            )
        )
        if not children:
            return counts, ()
        return counts, self._bookings(
            self._uow._rows(
                f"SELECT {_BOOKING_COLUMNS} FROM bookings WHERE collectivite_id = %s AND prestation_id = %s "
                "AND day BETWEEN %s AND %s AND child_id = ANY(%s) ORDER BY child_id, day",
                (*span, children),
            )
        )

    def _read_places(self, prestation_id: str, period: DateRange, for_booking: bool) -> None:
        self._uow._sync()
        if for_booking:
            self._uow._take_places(prestation_id, period)
        self._uow._seen(_PRESTATION, prestation_id)

    def save(self, bookings: Iterable[Booking]) -> None:
        c = self._uow._c
        rows = []
        for booking in bookings:
            if not isinstance(booking, Booking):
                raise InvalidInput(f"expected a Booking, got {booking!r}", code="store.not_a_booking")
            rows.append(
                (
                    c,
                    booking.child_id,
                    booking.prestation_id,
                    booking.day,
                    booking.family_id,
                    booking.status.value,
                    booking.booked_at,
                    _zone(booking.booked_at),
                    None if booking.paid is None else booking.paid.cents,
                    booking.surcharge_code,
                )
            )
            self._uow._mark(_FAMILY, booking.family_id)
            self._uow._mark(_PRESTATION, booking.prestation_id)
            self._uow._booked_days.add((booking.prestation_id, booking.day))
        if not rows:
            return

        def apply() -> None:
            # A booking that moves from one household to the other leaves the first one changed too.
            self._uow._mark_previous_owners("bookings", _BOOKING_KEY, [row[1:4] for row in rows])
            self._uow._many(
                f"INSERT INTO bookings (collectivite_id, {_BOOKING_COLUMNS}) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
                "ON CONFLICT (collectivite_id, child_id, prestation_id, day) DO UPDATE SET "
                "family_id = excluded.family_id, status = excluded.status, booked_at = excluded.booked_at, "
                "booked_zone = excluded.booked_zone, paid_cents = excluded.paid_cents, "
                "surcharge_code = excluded.surcharge_code",
                rows,
            )

        self._uow._write(apply)
