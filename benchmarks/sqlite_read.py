"""How fast the SQLite store reads a city's bookings, against plain ``sqlite3`` reading the same rows.

Writes a synthetic city (families of 1 to 4 children, each child booking ``--days`` prestation-days of
November 2026) into a fresh ``SqliteStore``, then reads every booking row ordered by family twice: with a
raw ``sqlite3`` query, and through the store (``families()`` then ``bookings_of_family`` for each), and
prints both times and their ratio. ``python benchmarks/sqlite_read.py [--children 100000]``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import sqlite3
import tempfile
import time
import zoneinfo
from collections.abc import Iterator
from pathlib import Path

from espacefamille.adapters.sqlite import SqliteStore
from espacefamille.calendar.periods import DateRange
from espacefamille.model import Booking, BookingStatus, Family, Guardian

__all__ = ["main", "read_raw", "read_through_store", "write_city"]

MONTH = DateRange.month(2026, 11)
_BOOKED_AT = dt.datetime(2026, 10, 15, 9, 0, tzinfo=zoneinfo.ZoneInfo("Europe/Paris"))
_PRESTATIONS = ("repas", "matin", "soir")
_FAMILIES_PER_COMMIT = 1_000


def _households(children: int, seed: int) -> Iterator[tuple[str, int]]:
    draw = random.Random(seed)
    number = 0
    while children > 0:
        size = min(children, draw.randint(1, 4))
        yield f"F{number:07d}", size
        children -= size
        number += 1


def write_city(store: SqliteStore, children: int, days: int, seed: int = 2026) -> int:
    """Write the city's families and bookings; the number of booking rows written."""
    weekdays = [day for day in MONTH if day.weekday() < 5]
    slots = [(prestation, day) for day in weekdays for prestation in _PRESTATIONS][:days]
    rows = 0
    households = list(_households(children, seed))
    for start in range(0, len(households), _FAMILIES_PER_COMMIT):
        with store.unit_of_work() as uow:
            for family_id, size in households[start : start + _FAMILIES_PER_COMMIT]:
                payer = Guardian(f"{family_id}-g", "Camille", "Martin")
                uow.families.save(Family(family_id, "Foyer Martin", (payer,), payer.id))
                bookings = [
                    Booking(f"{family_id}-c{n}", prestation, day, family_id, BookingStatus.BOOKED, _BOOKED_AT)
                    for n in range(size)
                    for prestation, day in slots
                ]
                uow.bookings.save(bookings)
                rows += len(bookings)
            uow.commit()
    return rows


def read_raw(path: Path) -> int:
    """Every booking row, ordered by family, with the standard library alone."""
    connection = sqlite3.connect(path)
    try:
        count = 0
        for _row in connection.execute(
            "SELECT child_id, prestation_id, day, family_id, status, booked_at, paid_cents, surcharge_code "
            "FROM bookings ORDER BY family_id, day, child_id, prestation_id"
        ):
            count += 1
        return count
    finally:
        connection.close()


def read_through_store(store: SqliteStore) -> int:
    """Every booking, family by family, as ``Booking`` values: what month-end billing reads."""
    count = 0
    with store.unit_of_work() as uow:
        for family in uow.families.all():
            count += len(uow.bookings.of_family(family.id, MONTH))
    return count


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    # 100,000 children take over two minutes to write on a two-core machine: 10,000 by default.
    parser.add_argument("--children", type=int, default=10_000)
    parser.add_argument("--days", type=int, default=40, help="booking-days per child (at most 63)")
    parser.add_argument("--path", type=Path, help="database file to write (default: a temporary one)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as directory:
        path = args.path if args.path is not None else Path(directory) / "city.sqlite"
        store = SqliteStore(path)
        started = time.perf_counter()
        rows = write_city(store, args.children, args.days)
        written = time.perf_counter() - started
        print(f"wrote {rows:,} bookings of {args.children:,} children in {written:.1f} s")
        started = time.perf_counter()
        raw_rows = read_raw(path)
        raw = time.perf_counter() - started
        started = time.perf_counter()
        store_rows = read_through_store(store)
        through = time.perf_counter() - started
        assert raw_rows == store_rows == rows
        print(f"raw sqlite3, ordered by family: {raw:.2f} s ({rows / raw:,.0f} rows/s)")
        print(f"through the store, family by family: {through:.2f} s ({rows / through:,.0f} rows/s)")
        print(f"ratio store / raw: {through / raw:.2f}")


if __name__ == "__main__":
    main()
