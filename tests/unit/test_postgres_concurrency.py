"""Several processes on one PostgreSQL database: the last places of a day, and month-end runs of one régie.

Each process opens its own ``PostgresStore`` on the database, as separate web workers (or billing jobs) on
other machines would, and the server's row locks are all that orders them.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
import zoneinfo
from collections import Counter
from collections.abc import Iterator

import pytest

from espacefamille.adapters.postgres import PostgresStore
from espacefamille.calendar.periods import DateRange
from espacefamille.demo.city import DEMO_ISSUED_ON, DEMO_MONTH, build_demo_city, demo_agent
from espacefamille.errors import ConcurrentChange
from espacefamille.examples import example_commune
from espacefamille.model import BookingStatus, Child, Enrolment, Family, Guardian, SchoolClass
from espacefamille.ports import FixedClock
from espacefamille.rules.basket import Action, BasketContext, BasketLine, evaluate_basket
from espacefamille.rules.capacity import PlaceLedger
from espacefamille.services import BackOffice
from tests import postgres_server

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
# Fork where the system has it: the processes start at once and inherit the warmed-up calendars. The
# parent's stores are closed before, so no thread of a pool is forked.
METHOD = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    with postgres_server.database("processes") as url:
        yield url


def _household(store: PostgresStore, family_id: str, children: int) -> None:
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


def book_last_places(url: str, collectivite_id: str, family_id: str) -> tuple[int, tuple[str, ...]]:
    """Book the day for every child of ``family_id`` as the portal does (tests/unit/test_sqlite_concurrency.py
    does the same on SQLite); the retries it took and the outcomes."""
    with PostgresStore(url, collectivite_id, pool_size=1) as store:
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
                        [e for child in children for e in uow.families.enrolments_of(child.id)],
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


def test_processes_booking_the_last_places_never_exceed_capacity(postgres_url: str) -> None:
    collectivite_id = postgres_server.collectivite_id("places")
    families = [f"late{n}" for n in range(PROCESSES)]
    with PostgresStore(postgres_url, collectivite_id) as store:
        with store.unit_of_work() as uow:
            uow.save_commune(example_commune())
            uow.commit()
        _household(store, "early", ALREADY_BOOKED)
        for family_id in families:
            _household(store, family_id, CHILDREN_PER_FAMILY)
    assert book_last_places(postgres_url, collectivite_id, "early") == (0, ("accepted",) * ALREADY_BOOKED)

    with multiprocessing.get_context(METHOD).Pool(PROCESSES) as pool:
        results = pool.starmap(
            book_last_places,
            [(postgres_url, collectivite_id, family_id) for family_id in families],
            chunksize=1,
        )

    with PostgresStore(postgres_url, collectivite_id) as store, store.unit_of_work() as uow:
        taken = uow.bookings.of_prestation(PRESTATION, DateRange(DAY, DAY))
    holders = [b for b in taken if b.is_active]
    waiting = [b for b in taken if b.status is BookingStatus.WAITING]
    requested = PROCESSES * CHILDREN_PER_FAMILY
    assert len(holders) == PLACES
    assert len(waiting) == ALREADY_BOOKED + requested - PLACES
    outcomes = [outcome for _, family_outcomes in results for outcome in family_outcomes]
    assert outcomes.count("waiting_list") == len(waiting)
    assert all(retries <= PROCESSES - 1 for retries, _ in results)


def bill_december(url: str, collectivite_id: str) -> int:
    """One billing job: December's month end of the régie "enfance"; the invoices it reports."""
    with PostgresStore(url, collectivite_id, pool_size=1) as store:
        office = BackOffice(store, clock=FixedClock(dt.datetime(2027, 1, 4, 9, 0, tzinfo=PARIS)))
        report = office.run_month_end(
            demo_agent(example_commune()), "enfance", DEMO_MONTH, issued_on=DEMO_ISSUED_ON
        )
    return report.invoices


def _invoice_numbers(url: str, collectivite_id: str) -> list[str]:
    with PostgresStore(url, collectivite_id) as store, store.unit_of_work() as uow:
        families = [family.id for family in uow.families.all()]
        return sorted(i.number for family_id in families for i in uow.documents.invoices_of(family_id))


def test_two_processes_billing_one_regie_at_once_issue_each_invoice_once(postgres_url: str) -> None:
    alone, together = postgres_server.collectivite_id("alone"), postgres_server.collectivite_id("together")
    for collectivite_id in (alone, together):
        with PostgresStore(postgres_url, collectivite_id) as store:
            build_demo_city(store, families=40)
    bill_december(postgres_url, alone)
    expected = _invoice_numbers(postgres_url, alone)

    with multiprocessing.get_context(METHOD).Pool(2) as pool:
        pool.starmap(bill_december, [(postgres_url, together)] * 2, chunksize=1)

    numbers = _invoice_numbers(postgres_url, together)
    assert numbers == expected  # the same invoices as one run: none twice, no number skipped
    per_series = Counter(number.rpartition("-")[0] for number in numbers)
    for series, count in per_series.items():
        assert [n for n in numbers if n.startswith(series)] == [
            f"{series}-{k:06d}" for k in range(1, count + 1)
        ]
