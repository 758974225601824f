"""The places of a basket read as counts (``Bookings.places_of``, ``PlaceLedger.counted``): a read that does
not grow with the waiting list, answering a booking family exactly as the full list would.

The store counts, per day, the children holding a place, those waiting and the last one's instant; it names
only the household's children. A family asking at ``joining_instant`` then gets the same place or position as
from the full ledger (property). What needs the children counted (who is promoted when a place frees) is
refused, and the services read the full list then.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from espacefamille.adapters.fake_gateway import FakeGateway
from espacefamille.adapters.memory import MemoryStore
from espacefamille.adapters.postgres import PostgresStore
from espacefamille.adapters.sqlite import SqliteStore
from espacefamille.calendar.periods import DateRange
from espacefamille.errors import InvalidInput
from espacefamille.families.accounts import AccountLink, FamilyMember
from espacefamille.model import Booking, BookingStatus
from espacefamille.ports import CommuneStore, FixedClock
from espacefamille.ports.store import place_counts
from espacefamille.rules.basket import Action, BasketLine
from espacefamille.rules.capacity import Capacity, CapacityGroup, PlaceCount, PlaceLedger, Places
from espacefamille.services import BasketOutcome, FamilyPortal
from tests import postgres_server, rush

DAYS = rush.DAYS[:3]
AT = rush.OPENING


def _counts(ledger: PlaceLedger) -> list[PlaceCount]:
    held, waiting = ledger.entries()
    counts = []
    for day in DAYS:
        instants = [at for _, on, _, at in waiting if on == day]
        holding = sum(1 for _, on, _ in held if on == day)
        if holding or instants:
            counts.append(PlaceCount(day, holding, len(instants), max(instants, default=None)))
    return counts


@settings(max_examples=150, deadline=None)
@given(
    places=st.integers(0, 4),
    others=st.lists(st.tuples(st.integers(0, 9), st.sampled_from(DAYS), st.integers(0, 5)), max_size=30),
    household=st.lists(
        st.tuples(st.sampled_from(["h1", "h2"]), st.sampled_from(DAYS)), min_size=1, max_size=6
    ),
    seconds=st.integers(-3, 6),
)
def test_a_family_booking_from_the_counts_is_told_what_the_full_list_tells_it(
    places: int,
    others: list[tuple[int, dt.date, int]],
    household: list[tuple[str, dt.date]],
    seconds: int,
) -> None:
    full = PlaceLedger(Capacity(Places(places)))
    for n, day, second in others:
        full, _ = full.request(f"c{n}", day, None, AT + dt.timedelta(seconds=second))
    # The household already holds what it got before the rush (named); it does not wait yet.
    named = [(child_id, day, None) for child_id, day in household[:1] if full.free(day) != 0]
    for child_id, day, _ in named:
        full, _ = full.request(child_id, day, None, AT)
    counted = PlaceLedger.counted(full.capacity, _counts(full), named)
    now = AT + dt.timedelta(seconds=seconds)
    for child_id, day in household:
        assert counted.free(day) == full.free(day)
        joined = counted.joining_instant(day, None, now)
        assert joined == full.joining_instant(day, None, now)
        full, expected = full.request(child_id, day, None, joined)
        counted, decision = counted.request(child_id, day, None, joined)
        assert decision == expected
        assert counted.status(child_id, day) == full.status(child_id, day)


def _full_day() -> PlaceLedger:
    ledger = PlaceLedger(Capacity(Places(1)))
    ledger, _ = ledger.request("ines", DAYS[0], None, AT)
    ledger, _ = ledger.request("zoe", DAYS[0], None, AT + dt.timedelta(seconds=1))
    return ledger


def test_what_needs_the_children_counted_is_refused() -> None:
    counted = PlaceLedger.counted(
        Capacity(Places(1)),
        [PlaceCount(DAYS[0], 1, 1, AT + dt.timedelta(seconds=1))],
        [("ines", DAYS[0], None)],
    )
    # Ines leaves: the child counted waiting would get her place, but who is it?
    with pytest.raises(InvalidInput) as freed:
        counted.release("ines", DAYS[0])
    assert freed.value.code == "capacity.counted_ledger"
    with pytest.raises(InvalidInput) as ahead:
        counted.request("lucas", DAYS[0], None, AT)  # not at joining_instant: ahead of the one counted
    assert ahead.value.code == "capacity.counted_ledger"
    for needs_the_list in (
        counted.entries,
        lambda: list(counted.occupancy()),
        lambda: counted.with_capacity(Capacity(Places(2))),
    ):
        with pytest.raises(InvalidInput) as refused:
            needs_the_list()
        assert refused.value.code == "capacity.counted_ledger"


def test_a_child_who_joined_from_the_counts_may_leave_again() -> None:
    counted = PlaceLedger.counted(Capacity(Places(1)), [PlaceCount(DAYS[0], 1, 2, AT)])
    counted, decision = counted.request("lucas", DAYS[0], None, counted.joining_instant(DAYS[0], None, AT))
    assert decision.position == 3
    counted, promoted = counted.release("lucas", DAYS[0])
    assert promoted == ()
    assert counted.status("lucas", DAYS[0]) is None
    assert counted.free(DAYS[0]) == 0


@pytest.mark.parametrize(
    ("make", "code"),
    [
        (lambda: PlaceCount(DAYS[0], 1, 1, None), "capacity.bad_count"),
        (lambda: PlaceCount(DAYS[0], 1, 0, AT), "capacity.bad_count"),
        (lambda: PlaceCount(DAYS[0], 1, 1, dt.datetime(2027, 1, 11, 9)), "input.naive_datetime"),
        (
            lambda: PlaceLedger.counted(
                Capacity(Places(1)), [PlaceCount(DAYS[0], 0, 0)], [("ines", DAYS[0], None)]
            ),
            "capacity.bad_count",
        ),
        (
            lambda: PlaceLedger.counted(Capacity(Places(1)), [PlaceCount(DAYS[0], 1, 0)] * 2),
            "capacity.bad_count",
        ),
        (lambda: PlaceLedger.counted(Capacity(Places(1)), [(DAYS[0], 1, 0)]), "capacity.bad_count"),  # type: ignore[list-item]
        (lambda: PlaceLedger.counted(Places(1), []), "capacity.bad_capacity"),  # type: ignore[arg-type]
    ],
)
def test_a_wrong_count_is_refused(make: object, code: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        make()  # type: ignore[operator]
    assert refused.value.code == code


# -- the stores count what they hold -----------------------------------------------------------


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[CommuneStore]:
    if request.param == "memory":
        yield MemoryStore()
    elif request.param == "sqlite":
        yield SqliteStore(tmp_path / "places.sqlite")
    else:
        with postgres_server.database("counted") as url, PostgresStore(url, rush.COLLECTIVITE) as opened:
            yield opened


def test_every_store_counts_the_places_as_its_bookings_say(store: CommuneStore) -> None:
    rush.prepare(store, families=6, places=2)
    statuses = [
        BookingStatus.BOOKED,
        BookingStatus.HELD,
        BookingStatus.WAITING,
        BookingStatus.WAITING,
        BookingStatus.CANCELLED,
        BookingStatus.WAITING,
    ]
    with store.unit_of_work() as uow:
        uow.bookings.save(
            Booking(
                f"{rush.family_id(n)}-c",
                rush.PRESTATION,
                DAYS[n % 2],
                rush.family_id(n),
                status,
                AT + dt.timedelta(minutes=n),
            )
            for n, status in enumerate(statuses)
        )
        uow.commit()
    span = DateRange(DAYS[0], DAYS[-1])
    with store.unit_of_work() as uow:
        everything = uow.bookings.of_prestation(rush.PRESTATION, span)
        counts, own = uow.bookings.places_of(rush.PRESTATION, span, ["f00002-c", "f00004-c", "nobody"])
        assert uow.bookings.places_of(rush.PRESTATION, span, []) == (counts, ())
    assert counts == place_counts(everything)
    assert counts == (
        PlaceCount(DAYS[0], 1, 1, AT + dt.timedelta(minutes=2)),
        PlaceCount(DAYS[1], 1, 2, AT + dt.timedelta(minutes=5)),
    )
    assert own == tuple(b for b in everything if b.child_id in ("f00002-c", "f00004-c"))
    assert [b.status for b in own] == [BookingStatus.WAITING, BookingStatus.CANCELLED]


@pytest.mark.parametrize("child_ids", ["f00001-c", [1], [None]])
def test_child_ids_that_are_not_strings_are_refused(store: CommuneStore, child_ids: object) -> None:
    with store.unit_of_work() as uow, pytest.raises(InvalidInput) as refused:
        uow.bookings.places_of(rush.PRESTATION, DateRange(DAYS[0], DAYS[0]), child_ids)  # type: ignore[arg-type]
    assert refused.value.code == "input.invalid"


# -- through the portal: the full list when the counts cannot answer ---------------------------


def _portal(store: CommuneStore) -> FamilyPortal:
    return FamilyPortal(store, gateway=FakeGateway(), clock=FixedClock(AT))


def _book(portal: FamilyPortal, n: int, action: Action = Action.BOOK) -> BasketOutcome:
    fid = rush.family_id(n)
    member = FamilyMember(f"acc-{fid}", [AccountLink(rush.COLLECTIVITE, fid, f"{fid}-g", "act", AT)])
    return portal.validate_basket(member, fid, [BasketLine(action, f"{fid}-c", rush.PRESTATION, DAYS[0])])


def test_a_family_asking_again_keeps_its_position(store: CommuneStore) -> None:
    rush.prepare(store, families=4, places=1)
    portal = _portal(store)
    told = [_book(portal, n).decisions[0].position for n in range(4)]
    assert told == [None, 1, 2, 3]
    again = _book(portal, 2).decisions[0]
    assert (again.code, again.changed) == ("basket.already_waiting", False)


def test_places_added_since_go_to_those_waiting_before_a_newcomer(store: CommuneStore) -> None:
    rush.prepare(store, families=4, places=1)
    portal = _portal(store)
    for n in range(3):
        _book(portal, n)
    with store.unit_of_work() as uow:
        commune = uow.commune()
        capacities = {**commune.capacities, rush.PRESTATION: Capacity(Places(2))}
        uow.save_commune(attrs.evolve(commune, capacities=capacities))
        uow.commit()
    outcome = _book(portal, 3)
    assert [b.child_id for b in outcome.promoted] == ["f00001-c"]
    assert outcome.decisions[0].position == 2


def test_a_cancelled_place_goes_to_the_first_family_waiting(store: CommuneStore) -> None:
    rush.prepare(store, families=3, places=1)
    portal = _portal(store)
    for n in range(3):
        _book(portal, n)
    outcome = _book(portal, 0, Action.CANCEL)
    assert [(b.child_id, b.status) for b in outcome.promoted] == [("f00001-c", BookingStatus.HELD)]


def test_places_split_into_groups_are_read_in_full(store: CommuneStore) -> None:
    rush.prepare(store, families=3, places=1)
    with store.unit_of_work() as uow:
        commune = uow.commune()
        groups = Capacity(groups=[CapacityGroup("elementaire", Places(1), classes=["CE2"])])
        uow.save_commune(attrs.evolve(commune, capacities={**commune.capacities, rush.PRESTATION: groups}))
        uow.commit()
    portal = _portal(store)
    assert [_book(portal, n).decisions[0].position for n in range(3)] == [None, 1, 2]
