"""The morning registrations open: families validating baskets of holiday days at once, from several
processes.

Shared by the multi-process tests (tests/unit/test_rush_waiting_list.py) and ``benchmarks/rush.py``. Every
family has one child enrolled at the holiday centre and books the five days of the February holidays'
first week (``journee``, prepaid: its places are held while it pays) through ``FamilyPortal.validate_basket``,
each worker process on a store of its own. ``rush`` starts the processes together, and ``check`` reads the
outcome back: never more children than places, and each family told the waiting-list position it really
has (unique, in the order the baskets took the places).
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
import statistics
import time
import traceback
import zoneinfo
from collections.abc import Callable
from typing import Any

import attrs

from espacefamille.adapters.fake_gateway import FakeGateway
from espacefamille.calendar.periods import DateRange
from espacefamille.examples import example_commune
from espacefamille.families.accounts import AccountLink, FamilyMember
from espacefamille.model import BookingStatus, Child, Enrolment, Family, Guardian, SchoolClass
from espacefamille.ports import CommuneStore
from espacefamille.rules.basket import Action, BasketLine
from espacefamille.rules.capacity import Capacity, Places
from espacefamille.services import FamilyPortal

PARIS = zoneinfo.ZoneInfo("Europe/Paris")
#: The example commune's collectivité, which the families' accounts are linked to.
COLLECTIVITE = "saint-aubin"
PRESTATION = "journee"
#: Monday 22 to Friday 26 February 2027, the first week of the February holidays.
DAYS = tuple(dt.date(2027, 2, 22) + dt.timedelta(days=n) for n in range(5))
#: Monday 11 January 2027, 9:00: the registration window of the February holidays opens to everyone.
OPENING = dt.datetime(2027, 1, 11, 9, 0, tzinfo=PARIS)
# The start method: fork where the system has it (the workers inherit the warmed-up calendars; the parent's
# stores are closed before, so no thread of a pool is forked).
METHOD = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"

#: Opens a worker's store on the shared database; called in the worker process.
StoreOpener = Callable[[], CommuneStore]


def family_id(n: int) -> str:
    return f"f{n:05d}"


def member(n: int) -> FamilyMember:
    """The parent of family ``n``, signed in on the portal."""
    fid = family_id(n)
    return FamilyMember(f"acc-{fid}", [AccountLink(COLLECTIVITE, fid, f"{fid}-g", "act", OPENING)])


def basket(n: int) -> list[BasketLine]:
    """Family ``n``'s basket: its child at the holiday centre every day of the week."""
    return [BasketLine(Action.BOOK, f"{family_id(n)}-c", PRESTATION, day) for day in DAYS]


def prepare(store: CommuneStore, families: int, places: int) -> None:
    """Save the commune (``places`` places a day at the holiday centre) and ``families`` households of one
    child each, enrolled there."""
    commune = example_commune()
    commune = attrs.evolve(commune, capacities={**commune.capacities, PRESTATION: Capacity(Places(places))})
    season = DateRange(dt.date(2026, 9, 1), dt.date(2027, 8, 31))
    with store.unit_of_work() as uow:
        uow.save_commune(commune)
        for n in range(families):
            fid = family_id(n)
            payer = Guardian(f"{fid}-g", "Camille", "Martin", email=f"{fid}@example.fr")
            uow.families.save(Family(fid, f"Foyer {fid}", (payer,), payer.id))
            child = Child(
                f"{fid}-c", "Léa", "Martin", dt.date(2017, 3, 1), (fid,), school_class=SchoolClass.CE2
            )
            uow.families.save_child(child)
            uow.families.save_enrolment(Enrolment(f"{fid}-alsh", child.id, fid, "alsh", season))
        uow.commit()


@attrs.frozen
class _RushClock:
    """The opening morning's clock: 9:00 when the rush starts, then the machine's seconds since."""

    started: float

    def now(self) -> dt.datetime:
        return OPENING + dt.timedelta(seconds=time.time() - self.started)


@attrs.frozen
class Basket:
    """What one family was told: per day, the outcome code and the waiting-list position; the seconds its
    call took (retries included); the error's code if the call failed."""

    family_id: str
    seconds: float
    told: tuple[tuple[dt.date, str, int | None], ...] = ()
    error: str | None = None


def _worker(
    open_store: StoreOpener,
    worker: int,
    workers: int,
    families: int,
    start: Any,
    started: Any,
    results: Any,
) -> None:
    baskets: list[Basket] = []
    try:
        store = open_store()
        start.wait()
        clock = _RushClock(started.value)
        portal = FamilyPortal(store, gateway=FakeGateway(prefix=f"w{worker}"), clock=clock)
        for n in range(worker, families, workers):
            fid, parent, lines = family_id(n), member(n), basket(n)
            began = time.perf_counter()
            try:
                outcome = portal.validate_basket(parent, fid, lines)
            except Exception as error:  # what a family would see: counted, not raised
                code = getattr(error, "code", type(error).__name__)
                baskets.append(Basket(fid, time.perf_counter() - began, error=str(code)))
                continue
            told = tuple((d.line.day, d.code, d.position) for d in outcome.decisions)
            baskets.append(Basket(fid, time.perf_counter() - began, told))
        close = getattr(store, "close", None)
        if close is not None:
            close()
    except BaseException:  # reported to the parent, which fails
        results.put(("crash", traceback.format_exc()))
        return
    results.put(("done", baskets))


@attrs.frozen
class RushResult:
    baskets: tuple[Basket, ...]
    seconds: float

    @property
    def errors(self) -> tuple[Basket, ...]:
        return tuple(b for b in self.baskets if b.error is not None)

    @property
    def per_second(self) -> float:
        return len(self.baskets) / self.seconds

    def latency(self, quantile: float) -> float:
        ordered = sorted(b.seconds for b in self.baskets)
        return ordered[min(len(ordered) - 1, int(quantile * len(ordered)))]

    @property
    def median(self) -> float:
        return statistics.median(b.seconds for b in self.baskets)


def rush(open_store: StoreOpener, families: int, workers: int) -> RushResult:
    """Every family validates its basket, ``workers`` processes at once, each as fast as it can."""
    context: Any = multiprocessing.get_context(METHOD)
    start = context.Event()
    started = context.Value("d", 0.0)
    results = context.Queue()
    processes = [
        context.Process(
            target=_worker,
            args=(open_store, n, workers, families, start, started, results),
        )
        for n in range(workers)
    ]
    for process in processes:
        process.start()
    time.sleep(0.5)  # let them open their stores
    began = time.perf_counter()
    started.value = time.time()
    start.set()
    baskets: list[Basket] = []
    for _ in processes:
        kind, payload = results.get(timeout=600)
        if kind == "crash":
            raise RuntimeError(f"a rush worker crashed:\n{payload}")
        baskets.extend(payload)
    seconds = time.perf_counter() - began
    for process in processes:
        process.join()
    return RushResult(tuple(baskets), seconds)


def check(store: CommuneStore, result: RushResult, places: int) -> list[str]:
    """What went wrong, in words (nothing: the rush kept every promise).

    Per day: at most ``places`` children hold a place; every family was told a place or a position; the
    positions told are 1, 2, 3… without a gap or a repeat; and each is the family's position in the waiting
    list as stored (nobody left it, so nobody moved).
    """
    problems: list[str] = []
    for basket in result.errors:
        problems.append(f"{basket.family_id}: error {basket.error}")
    with store.unit_of_work() as uow:
        stored = uow.bookings.of_prestation(PRESTATION, DateRange(DAYS[0], DAYS[-1]))
    for day in DAYS:
        of_day = [b for b in stored if b.day == day and b.status is not BookingStatus.CANCELLED]
        holders = {b.family_id for b in of_day if b.is_active}
        waiting = sorted(
            (b for b in of_day if b.status is BookingStatus.WAITING), key=lambda b: (b.booked_at, b.child_id)
        )
        if len(holders) > places:
            problems.append(f"{day}: {len(holders)} children for {places} places")
        stored_position = {b.family_id: n for n, b in enumerate(waiting, start=1)}
        told: dict[str, int | None] = {}
        for basket in result.baskets:
            for on, _code, position in basket.told:
                if on == day:
                    told[basket.family_id] = position
        positions = sorted(p for p in told.values() if p is not None)
        if positions != list(range(1, len(positions) + 1)):
            repeated = len(positions) - len(set(positions))
            problems.append(f"{day}: positions told are not 1..{len(positions)} ({repeated} repeated)")
        moved = [
            fid
            for fid, position in told.items()
            if position is not None and stored_position.get(fid) != position
        ]
        if moved:
            problems.append(f"{day}: {len(moved)} families told a position they do not have")
        missing = [fid for fid, position in told.items() if position is None and fid not in holders]
        if missing:
            problems.append(f"{day}: {len(missing)} families told a place they do not hold")
    return problems


def report(name: str, result: RushResult) -> str:
    return (
        f"{name}: {len(result.baskets)} baskets in {result.seconds:.1f} s — "
        f"{result.per_second:.0f} baskets/s, "
        f"p50 {result.median * 1000:.0f} ms, p99 {result.latency(0.99) * 1000:.0f} ms, "
        f"max {max(b.seconds for b in result.baskets) * 1000:.0f} ms, {len(result.errors)} errors"
    )
