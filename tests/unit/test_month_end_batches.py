"""Month end in batches of families: a run stopped half-way is completed by running it again, and families
validating a basket during a run wait for one batch, not for the run — on both stores.

Saint-Aubin-des-Prés bills November 2026's canteen meals (2,60 € each at QF 800) on 1 December for a few
households, two or five at a time.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from espacefamille.adapters.fake_gateway import FakeGateway
from espacefamille.adapters.memory import MemoryStore
from espacefamille.adapters.sqlite import SqliteStore
from espacefamille.billing.documents import Invoice
from espacefamille.calendar.periods import DateRange
from espacefamille.errors import InvalidInput
from espacefamille.examples import example_commune
from espacefamille.families.accounts import AccountLink, Agent, AgentRole, FamilyMember
from espacefamille.model import Booking, BookingStatus
from espacefamille.ports import CommuneStore, FixedClock
from espacefamille.rules.attendance import AttendanceFact, AttendanceStatus
from espacefamille.rules.basket import Action, BasketLine
from espacefamille.services import BackOffice, FamilyPortal
from espacefamille.testing.faults import FailingStore, InjectedFault
from tests.stores import canteen_city

PARIS = ZoneInfo("Europe/Paris")
AGENT = Agent("agent-1", "saint-aubin", AgentRole.ADMINISTRATEUR)
NOVEMBER = DateRange.month(2026, 11)
RUN_AT = dt.datetime(2026, 12, 1, 10, 0, tzinfo=PARIS)


def _documents(store: CommuneStore, households: int) -> list[tuple[str, str, str]]:
    """(family, number, total) of every document in the store, by number."""
    with store.unit_of_work() as uow:
        found: list[Invoice] = [
            d for index in range(1, households + 1) for d in uow.documents.invoices_of(f"F{index:02}")
        ]
    return sorted((d.number, d.family_id, str(d.total)) for d in found)


@pytest.fixture(params=["memory", "sqlite"])
def new_store(request: pytest.FixtureRequest, tmp_path: Path):  # type: ignore[no-untyped-def]
    files = iter(range(1_000))

    def make() -> CommuneStore:
        if request.param == "memory":
            return MemoryStore()
        return SqliteStore(tmp_path / f"commune-{next(files)}.sqlite")

    return make


def test_a_run_stopped_half_way_is_completed_by_running_it_again_with_the_same_numbers(new_store) -> None:  # type: ignore[no-untyped-def]
    households = 5
    reference = canteen_city(new_store(), households)
    BackOffice(reference, clock=FixedClock(RUN_AT)).run_month_end(AGENT, "enfance", NOVEMBER, batch=2)
    expected = _documents(reference, households)
    assert [number for number, _, _ in expected] == [f"FAC-enfance-2026-{n:06}" for n in range(1, 6)]
    stopped = 0
    for fail_at in range(1, 40):
        store = canteen_city(new_store(), households)
        clock = FixedClock(RUN_AT)
        try:
            BackOffice(FailingStore(store, fail_at), clock=clock).run_month_end(
                AGENT, "enfance", NOVEMBER, batch=2
            )
        except InjectedFault:
            stopped += 1
            # What was saved is whole batches: the first families, with the first numbers.
            saved = _documents(store, households)
            assert saved == expected[: len(saved)]
            assert len(saved) % 2 == 0
            report = BackOffice(store, clock=clock).run_month_end(AGENT, "enfance", NOVEMBER, batch=2)
            assert report.invoices == households - len(saved)
            assert _documents(store, households) == expected
        else:
            break
    assert stopped > 5  # the run was stopped in each of its three batches along the way


def test_a_batch_is_a_number_of_families(new_store) -> None:  # type: ignore[no-untyped-def]
    office = BackOffice(canteen_city(new_store(), 1), clock=FixedClock(RUN_AT))
    for batch in (0, -1, True, 2.5):
        with pytest.raises(InvalidInput) as refused:
            office.run_month_end(AGENT, "enfance", NOVEMBER, batch=batch)  # type: ignore[arg-type]
        assert refused.value.code == "billing.batch"


def test_a_family_validating_a_basket_during_a_run_does_not_wait_for_the_run(tmp_path: Path) -> None:
    households = 40
    store = canteen_city(SqliteStore(tmp_path / "commune.sqlite"), households)
    clock = FixedClock(RUN_AT)
    office = BackOffice(store, clock=clock)
    portal = FamilyPortal(store, gateway=FakeGateway(), clock=clock)
    started = threading.Event()
    finished: dict[str, float] = {}

    def slow_progress(billed: int, total: int) -> None:
        started.set()
        time.sleep(0.02)  # a city's families take time to bill: 40 of them here take about a second

    def run() -> None:
        office.run_month_end(AGENT, "enfance", NOVEMBER, progress=slow_progress, batch=5)
        finished["run"] = time.monotonic()

    thread = threading.Thread(target=run)
    thread.start()
    assert started.wait(10)
    member = FamilyMember("acc-1", [AccountLink("saint-aubin", "F01", "G01", "act", RUN_AT)])
    january_meal = dt.date(2027, 1, 7)
    outcome = portal.validate_basket(member, "F01", [BasketLine(Action.BOOK, "C01", "repas", january_meal)])
    finished["basket"] = time.monotonic()
    thread.join(60)
    assert [d.code for d in outcome.decisions] == ["basket.accepted"]
    assert finished["basket"] < finished["run"]  # it waited for a batch, not for the whole run
    assert len(_documents(store, households)) == households


def test_a_run_bills_whole_months_and_never_one_before_the_latest_billed(new_store) -> None:  # type: ignore[no-untyped-def]
    store = canteen_city(new_store(), 2)
    office = BackOffice(store, clock=FixedClock(RUN_AT))
    fortnight = DateRange(dt.date(2026, 11, 1), dt.date(2026, 11, 15))
    with pytest.raises(InvalidInput) as refused:
        office.run_month_end(AGENT, "enfance", fortnight)
    assert refused.value.code == "billing.period_not_months"
    office.run_month_end(AGENT, "enfance", NOVEMBER)
    with pytest.raises(InvalidInput) as refused:
        office.run_month_end(AGENT, "enfance", DateRange.month(2026, 10))
    assert refused.value.code == "billing.period_closed"
    assert refused.value.message_fr == (
        "La régie a déjà facturé jusqu'au lundi 30 novembre 2026 : cette période est close ; ses corrections "
        "figurent sur la prochaine facture."
    )
    # Nothing was written by the refused runs; November again issues nothing new.
    assert len(_documents(store, 2)) == 2
    assert office.run_month_end(AGENT, "enfance", NOVEMBER).invoices == 0


def test_families_with_corrections_booking_during_a_run_do_not_hold_it_up() -> None:
    # Every household has a corrected November day; while December is billed one household per batch, the
    # last household validates a basket between each family of the others. Each batch reads the régie's
    # corrected days, but only its own family's records: the others' baskets never make it start again.
    households = 5
    store = canteen_city(MemoryStore(), households)
    clock = FixedClock(RUN_AT)
    office = BackOffice(store, clock=clock)
    office.run_month_end(AGENT, "enfance", NOVEMBER)
    clock.instant = dt.datetime(2026, 12, 3, 9, 0, tzinfo=PARIS)
    office.record_attendance(
        AGENT,
        [
            AttendanceFact(f"C{i:02}", "repas", dt.date(2026, 11, 16), AttendanceStatus.ABSENT_JUSTIFIED)
            for i in range(1, households + 1)
        ],
    )
    portal = FamilyPortal(store, gateway=FakeGateway(), clock=clock)
    last = FamilyMember("acc-5", [AccountLink("saint-aubin", "F05", "G05", "act", RUN_AT)])
    meals = iter(example_commune().opening_calendar("repas").open_days(DateRange.month(2027, 1)))
    attempts: list[int] = []

    def meanwhile(billed: int, total: int) -> None:
        attempts.append(billed)
        if billed < households:  # the others' turn
            portal.validate_basket(last, "F05", [BasketLine(Action.BOOK, "C05", "repas", next(meals))])

    clock.instant = dt.datetime(2027, 1, 4, 9, 0, tzinfo=PARIS)
    report = office.run_month_end(AGENT, "enfance", DateRange.month(2026, 12), progress=meanwhile, batch=1)
    assert attempts == [1, 2, 3, 4, 5]  # no batch billed twice
    assert (report.credit_notes, report.regularisations) == (households, households)
    with store.unit_of_work() as uow:
        assert dict(uow.runs.changed_days("enfance")) == {}


def test_the_yearly_count_of_a_batch_is_read_in_one_go_and_surcharges_as_one_by_one(  # type: ignore[no-untyped-def]
    new_store, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Evening care tolerates two presences without booking a school year, then charges 3,00 € each. In
    # October (billed with the month's meals) F01 and F02 came twice unbooked, F03 once; in November each of
    # them once more, and F04 for the first time. November's run needs the year's documents of these four
    # households: it reads them together, once a batch, not household by household.
    store = canteen_city(new_store(), 6)
    october = DateRange.month(2026, 10)
    with store.unit_of_work() as uow:
        meals = uow.commune().opening_calendar("repas").open_days(october)
        booked_at = dt.datetime(2026, 9, 14, 9, 0, tzinfo=PARIS)
        for index in range(1, 7):
            uow.bookings.save(
                Booking(f"C{index:02}", "repas", day, f"F{index:02}", BookingStatus.BOOKED, booked_at)
                for day in meals
            )
        uow.commit()
    office = BackOffice(store, clock=FixedClock(RUN_AT))
    evenings = {
        "C01": [dt.date(2026, 10, 5), dt.date(2026, 10, 6), dt.date(2026, 11, 3)],
        "C02": [dt.date(2026, 10, 12), dt.date(2026, 10, 13), dt.date(2026, 11, 4)],
        "C03": [dt.date(2026, 10, 14), dt.date(2026, 11, 5)],
        "C04": [dt.date(2026, 11, 6)],
    }
    office.record_attendance(
        AGENT,
        [
            AttendanceFact(child_id, "soir", day, AttendanceStatus.PRESENT_UNBOOKED)
            for child_id, days in evenings.items()
            for day in days
        ],
    )
    assert office.run_month_end(AGENT, "enfance", october, issued_on=dt.date(2026, 11, 2)).invoices == 6
    with store.unit_of_work() as uow:
        documents = type(uow.documents)
    one_by_one: list[str] = []
    at_once: list[list[str]] = []
    single, several = documents.invoices_of, documents.invoices_of_families

    def invoices_of(self, family_id):  # type: ignore[no-untyped-def]
        one_by_one.append(family_id)
        return single(self, family_id)

    def invoices_of_families(self, family_ids):  # type: ignore[no-untyped-def]
        at_once.append(list(family_ids))
        return several(self, at_once[-1])

    monkeypatch.setattr(documents, "invoices_of", invoices_of)
    monkeypatch.setattr(documents, "invoices_of_families", invoices_of_families)
    office.run_month_end(AGENT, "enfance", NOVEMBER, batch=3)
    assert at_once == [["F01", "F02", "F03"], ["F04"]]
    # One by one only as the records of a store that reads them so (the memory store): once a household.
    assert len(one_by_one) == len(set(one_by_one))
    monkeypatch.undo()
    with store.unit_of_work() as uow:
        surcharged = {
            family_id: [
                (line.days, str(line.total))
                for document in uow.documents.invoices_of(family_id)
                if document.period == NOVEMBER
                for line in document.lines
                if line.reason == "surcharge.unbooked_presence"
            ]
            for family_id in ("F01", "F02", "F03", "F04")
        }
    assert surcharged == {
        "F01": [((dt.date(2026, 11, 3),), "3.00 EUR")],
        "F02": [((dt.date(2026, 11, 4),), "3.00 EUR")],
        "F03": [],
        "F04": [],
    }
