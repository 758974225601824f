"""Several processes booking the last places of a holiday-centre day on one SQLite file never overbook it.

Each process opens its own ``SqliteStore`` on the same file and, for one household, does what the family
portal does: read the prestation's bookings, rebuild its places (``PlaceLedger.restore``), judge the basket
(``evaluate_basket``) and save what it decided; a ``ConcurrentChange`` at commit means someone else took a
place meanwhile, and the whole basket is judged again.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
import zoneinfo
from pathlib import Path

from espacefamille.adapters.sqlite import SqliteStore
from espacefamille.calendar.periods import DateRange
from espacefamille.errors import ConcurrentChange
from espacefamille.examples import example_commune
from espacefamille.model import BookingStatus, Child, Enrolment, Family, Guardian, SchoolClass
from espacefamille.rules.basket import Action, BasketContext, BasketLine, evaluate_basket
from espacefamille.rules.capacity import PlaceLedger

PARIS = zoneinfo.ZoneInfo("Europe/Paris")
# Wednesday 23 December 2026, Christmas holidays: the holiday centre takes 24 children that day.
DAY = dt.date(2026, 12, 23)
PRESTATION = "journee"
PLACES = 24
ALREADY_BOOKED = 21
# Tuesday 10 November 2026: the registration window for the Christmas holidays is open to everyone.
NOW = dt.datetime(2026, 11, 10, 10, 0, tzinfo=PARIS)
PROCESSES = 4
CHILDREN_PER_FAMILY = 2
HOLIDAYS = DateRange(dt.date(2026, 12, 21), dt.date(2026, 12, 23))


def _household(store: SqliteStore, family_id: str, children: int) -> None:
    payer = Guardian(f"{family_id}-g", "Camille", "Martin")
    with store.unit_of_work() as uow:
        uow.families.save(Family(family_id, f"Foyer {family_id}", (payer,), payer.id))
        for n in range(children):
            child_id = f"{family_id}-c{n}"
            uow.families.save_child(
                Child(
                    child_id, "Léa", "Martin", dt.date(2017, 3, 1), (family_id,), school_class=SchoolClass.CE2
                )
            )
            uow.families.save_enrolment(
                Enrolment(
                    f"{child_id}-alsh",
                    child_id,
                    family_id,
                    "alsh",
                    DateRange(dt.date(2026, 9, 1), dt.date(2027, 8, 31)),
                )
            )
        uow.commit()


def book_last_places(path: str, family_id: str) -> tuple[int, tuple[str, ...]]:
    """Book the day for every child of ``family_id``; the retries it took and the outcomes."""
    store = SqliteStore(path)
    retries = 0
    while True:
        try:
            with store.unit_of_work() as uow:
                commune = uow.commune()
                children = uow.families.children_of(family_id)
                context = BasketContext(
                    commune,
                    uow.families.get(family_id),
                    {child.id: child for child in children},
                    [enrolment for child in children for enrolment in uow.families.enrolments_of(child.id)],
                )
                taken = uow.bookings.of_prestation(PRESTATION, HOLIDAYS)
                ledger, _ = PlaceLedger.restore(
                    commune.capacities[PRESTATION],
                    [(b.child_id, b.day, None) for b in taken if b.is_active],
                    [
                        (b.child_id, b.day, None, b.booked_at)
                        for b in taken
                        if b.status is BookingStatus.WAITING
                    ],
                )
                lines = [BasketLine(Action.BOOK, child.id, PRESTATION, DAY) for child in children]
                result = evaluate_basket(
                    context,
                    lines,
                    NOW + dt.timedelta(seconds=retries),
                    bookings=uow.bookings.of_family(family_id, HOLIDAYS),
                    ledgers={PRESTATION: ledger},
                )
                uow.bookings.save(result.added)
                uow.commit()
            return retries, tuple(decision.outcome.value for decision in result.decisions)
        except ConcurrentChange:
            retries += 1


def test_processes_booking_the_last_places_never_exceed_capacity(tmp_path: Path) -> None:
    path = tmp_path / "saint-aubin.sqlite"
    store = SqliteStore(path)
    with store.unit_of_work() as uow:
        uow.save_commune(example_commune())
        uow.commit()
    # The first 21 children book alone, through the same path (which also warms the calendars that the
    # forked processes inherit, so the test measures the race, not start-up).
    _household(store, "early", ALREADY_BOOKED)
    assert book_last_places(str(path), "early") == (0, ("accepted",) * ALREADY_BOOKED)
    families = [f"late{n}" for n in range(PROCESSES)]
    for family_id in families:
        _household(store, family_id, CHILDREN_PER_FAMILY)

    # Each process opens the file itself, as separate web workers would (fork where the system has it).
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    with multiprocessing.get_context(method).Pool(PROCESSES) as pool:
        results = pool.starmap(
            book_last_places, [(str(path), family_id) for family_id in families], chunksize=1
        )

    with store.unit_of_work() as uow:
        taken = uow.bookings.of_prestation(PRESTATION, DateRange(DAY, DAY))
    holders = [b for b in taken if b.is_active]
    waiting = [b for b in taken if b.status is BookingStatus.WAITING]
    requested = PROCESSES * CHILDREN_PER_FAMILY
    assert len(holders) == PLACES
    assert len(waiting) == ALREADY_BOOKED + requested - PLACES
    outcomes = [outcome for _, family_outcomes in results for outcome in family_outcomes]
    assert len(outcomes) == requested
    assert outcomes.count("waiting_list") == len(waiting)
    # Every late household was judged on what the others had committed: none kept a stale decision.
    assert all(retries <= PROCESSES - 1 for retries, _ in results)
