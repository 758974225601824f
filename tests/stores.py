"""A new, empty commune store of each kind for the tests that run a service on every store."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Final
from zoneinfo import ZoneInfo

from espacefamille.adapters.memory import MemoryStore
from espacefamille.adapters.sqlite import SqliteStore
from espacefamille.calendar.periods import DateRange
from espacefamille.examples import example_commune
from espacefamille.model import (
    Booking,
    BookingStatus,
    Child,
    Enrolment,
    Family,
    Guardian,
    QuotientFamilial,
    SchoolClass,
)
from espacefamille.ports import CommuneStore

#: The stores the library ships, as a fixture's ``params``.
KINDS: Final = ("memory", "sqlite", "postgres")


@contextlib.contextmanager
def empty_store(kind: str, folder: Path, name: str) -> Iterator[CommuneStore]:
    """An empty store of ``kind``: in memory, an SQLite file in ``folder``, or a collectivité of its own
    (named after ``name``) on the tests' PostgreSQL server, its pool closed on leaving."""
    if kind == "memory":
        yield MemoryStore()
    elif kind == "sqlite":
        yield SqliteStore(folder / f"{name}.sqlite")
    else:
        from espacefamille.adapters.postgres import PostgresStore  # noqa: PLC0415 - the extra, only here
        from tests import postgres_server  # noqa: PLC0415 - starts a server only when asked

        with postgres_server.pool(name) as pool:
            yield PostgresStore(pool, postgres_server.collectivite_id(name))


_SCHOOL_YEAR: Final = DateRange(dt.date(2026, 9, 1), dt.date(2027, 7, 3))


def canteen_city(
    store: CommuneStore, households: int, *, meals_missed: Callable[[int], int] = lambda index: index % 3
) -> CommuneStore:
    """The example commune (Saint-Aubin-des-Prés) with ``households`` families F01, F02…, each with one child
    C01, C02… (CE2, QF 800) enrolled at the canteen for the school year and booked on 12 October on every
    November 2026 meal but the last ``meals_missed(index)``."""
    commune = example_commune()
    meals = commune.opening_calendar("repas").open_days(DateRange.month(2026, 11))
    booked_at = dt.datetime(2026, 10, 12, 9, 0, tzinfo=ZoneInfo("Europe/Paris"))
    with store.unit_of_work() as uow:
        uow.save_commune(commune)
        for index in range(1, households + 1):
            family_id, child_id = f"F{index:02}", f"C{index:02}"
            guardian = Guardian(f"G{index:02}", "Claire", f"Famille {index}", email=f"f{index}@example.fr")
            uow.families.save(
                Family(
                    family_id,
                    guardian.last_name,
                    [guardian],
                    guardian.id,
                    quotients=[QuotientFamilial(800, _SCHOOL_YEAR.start)],
                )
            )
            uow.families.save_child(
                Child(
                    child_id,
                    "Enfant",
                    guardian.last_name,
                    dt.date(2018, 1, 1),
                    [family_id],
                    school_class=SchoolClass.CE2,
                )
            )
            uow.families.save_enrolment(
                Enrolment(f"E{index:02}", child_id, family_id, "cantine", _SCHOOL_YEAR)
            )
            uow.bookings.save(
                Booking(child_id, "repas", day, family_id, BookingStatus.BOOKED, booked_at)
                for day in meals[: len(meals) - meals_missed(index)]
            )
        uow.commit()
    return store
