"""Properties of places and waiting lists: never above capacity, fair order, nothing lost or doubled."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from hypothesis import given, note
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from espacefamille.rules.capacity import (
    Capacity,
    CapacityGroup,
    GroupKey,
    PlaceLedger,
    PlaceRequest,
    Places,
    capacity_from_dict,
    capacity_to_dict,
)

PARIS = ZoneInfo("Europe/Paris")
# An outing Thursday, the Friday after, and the next Monday.
DAYS = (dt.date(2026, 11, 12), dt.date(2026, 11, 13), dt.date(2026, 11, 16))
CHILDREN = ("adam", "ines", "jade", "leo", "lou", "noe", "tom", "zoe")
GROUPS = ("maternelle", "elementaire", "ados")
# Few distinct instants, so that ties (broken by the child id) happen often.
INSTANTS = tuple(dt.datetime(2026, 11, day, hour, tzinfo=PARIS) for day in (2, 3) for hour in (9, 18))

days = st.sampled_from(DAYS)
children = st.sampled_from(CHILDREN)
instants = st.sampled_from(INSTANTS)
place_counts = st.integers(min_value=0, max_value=3)


def places() -> st.SearchStrategy[Places]:
    return st.builds(
        Places,
        st.none() | place_counts,
        st.dictionaries(days, place_counts, max_size=2),
    )


@st.composite
def capacities(draw: st.DrawFn) -> Capacity:
    """No limit, places for everyone, or one to three groups with their own places."""
    count = draw(st.integers(min_value=0, max_value=len(GROUPS)))
    if count == 0:
        return Capacity(draw(places()))
    return Capacity(groups=[CapacityGroup(key, draw(places())) for key in GROUPS[:count]])


def group_of(capacity: Capacity, child_id: str) -> GroupKey:
    """A child's group, a function of the child as a class or an age would be."""
    keys = capacity.group_keys
    return keys[CHILDREN.index(child_id) % len(keys)]


@st.composite
def ledgers(draw: st.DrawFn) -> PlaceLedger:
    """A ledger after a random history of requests and releases."""
    ledger = PlaceLedger(draw(capacities()))
    steps = draw(st.lists(st.tuples(st.booleans(), children, days, instants), max_size=25))
    for is_request, child_id, day, at in steps:
        if is_request:
            ledger, _ = ledger.request(child_id, day, group_of(ledger.capacity, child_id), at)
        else:
            ledger, _ = ledger.release(child_id, day)
    return ledger


@given(ledgers(), children, days, instants)
def test_requesting_then_releasing_a_new_child_restores_the_ledger(
    ledger: PlaceLedger, child_id: str, day: dt.date, at: dt.datetime
) -> None:
    # Whether granted (then nobody was waiting) or put on the waiting list, leaving undoes it.
    if ledger.status(child_id, day) is not None:
        ledger, _ = ledger.release(child_id, day)
    after, _ = ledger.request(child_id, day, group_of(ledger.capacity, child_id), at)
    restored, promotions = after.release(child_id, day)
    assert restored == ledger
    assert promotions == ()


@given(ledgers(), children, days, instants, instants)
def test_requesting_twice_equals_requesting_once(
    ledger: PlaceLedger, child_id: str, day: dt.date, first: dt.datetime, second: dt.datetime
) -> None:
    group = group_of(ledger.capacity, child_id)
    once, decision = ledger.request(child_id, day, group, first)
    twice, again = once.request(child_id, day, group, second)
    assert (twice, again) == (once, decision)


@given(ledgers(), st.lists(st.tuples(children, days, instants), max_size=30))
def test_a_basket_evaluated_at_once_equals_its_lines_one_by_one(
    ledger: PlaceLedger, lines: list[tuple[str, dt.date, dt.datetime]]
) -> None:
    basket = [PlaceRequest(c, d, group_of(ledger.capacity, c), at) for c, d, at in lines]
    at_once, decisions = ledger.request_many(basket)
    one_by_one = ledger
    for line, decision in zip(basket, decisions, strict=True):
        one_by_one, expected = one_by_one.request(line.child_id, line.day, line.group, line.at)
        assert decision == expected
    assert at_once == one_by_one


@given(ledgers())
def test_a_stored_ledger_reads_back_equal(ledger: PlaceLedger) -> None:
    assert PlaceLedger.restore(ledger.capacity, *ledger.entries()) == (ledger, ())


@given(capacities())
def test_a_written_capacity_reads_back_equal(capacity: Capacity) -> None:
    assert capacity_from_dict(capacity_to_dict(capacity), "capacity") == capacity


class PlaceLedgerMachine(RuleBasedStateMachine):
    """Families ask and give back places while the commune changes the places of some dates."""

    def __init__(self) -> None:
        super().__init__()
        self.ledger = PlaceLedger(Capacity())
        # Holders above the places of a date are only allowed after the commune lowered them,
        # and only as many as there were then (nobody is evicted, nobody new comes in).
        self.allowance: dict[tuple[dt.date, GroupKey], int] = {}
        # When each child waiting first asked: first come, first served.
        self.asked: dict[tuple[str, dt.date], dt.datetime] = {}

    @initialize(capacity=capacities())
    def open_bookings(self, capacity: Capacity) -> None:
        note(f"capacity: {capacity!r}")
        self.ledger = PlaceLedger(capacity)

    @rule(child_id=children, day=days, at=instants)
    def request(self, child_id: str, day: dt.date, at: dt.datetime) -> None:
        group = group_of(self.ledger.capacity, child_id)
        before = self.ledger
        prior = before.status(child_id, day)
        holders = before.holders(day, group)
        self.ledger, decision = before.request(child_id, day, group, at)
        if prior is not None:
            assert (self.ledger, decision) == (before, prior)
            return
        places = before.capacity.places_on(day, group)
        if decision.granted:
            assert places is None or len(holders) < places
            assert self.ledger.holders(day, group) == holders | {child_id}
        else:
            assert places is not None
            assert len(holders) >= places
            assert self.ledger.holders(day, group) == holders
            assert decision.position is not None
            assert self.ledger.waiting_list(day, group)[decision.position - 1] == child_id
            self.asked[(child_id, day)] = at

    @rule(child_id=children, day=days)
    def release(self, child_id: str, day: dt.date) -> None:
        before = self.ledger
        prior = before.status(child_id, day)
        self.ledger, promotions = before.release(child_id, day)
        if prior is None:
            assert (self.ledger, promotions) == (before, ())
            return
        group = prior.group
        waiting = before.waiting_list(day, group)
        if not prior.granted:
            assert promotions == ()
            assert self.ledger.waiting_list(day, group) == tuple(c for c in waiting if c != child_id)
            return
        places = before.capacity.places_on(day, group)
        left = len(before.holders(day, group)) - 1
        free = len(waiting) if places is None else max(0, places - left)
        # The freed place goes to the first child waiting, and only to them.
        assert [p.child_id for p in promotions] == list(waiting[:free])
        assert all((p.day, p.group) == (day, group) for p in promotions)

    @rule(day=days, group_index=st.integers(0, len(GROUPS) - 1), count=st.none() | place_counts)
    def change_places(self, day: dt.date, group_index: int, count: int | None) -> None:
        capacity = self.ledger.capacity
        if capacity.grouped:
            groups = list(capacity.groups)
            index = group_index % len(groups)
            target = groups[index].places
            groups[index] = CapacityGroup(groups[index].key, self._set(target, day, count))
            new = Capacity(groups=groups)
        else:
            new = Capacity(self._set(capacity.places, day, count))
        before = self.ledger
        self.ledger, promotions = before.with_capacity(new)
        for key in new.group_keys:
            held = before.holders(day, key)
            assert held <= self.ledger.holders(day, key)  # nobody evicted
            limit = new.places_on(day, key)
            if limit is not None and len(held) > limit:
                self.allowance[(day, key)] = len(held)
            waiting = before.waiting_list(day, key)
            promoted = [p.child_id for p in promotions if (p.day, p.group) == (day, key)]
            assert promoted == list(waiting[: len(promoted)])

    @staticmethod
    def _set(places: Places, day: dt.date, count: int | None) -> Places:
        overrides = dict(places.overrides)
        if count is None:
            overrides.pop(day, None)
        else:
            overrides[day] = count
        return Places(places.default, overrides)

    @invariant()
    def never_above_capacity(self) -> None:
        counts = {(slot.day, slot.group): len(slot.holders) for slot in self.ledger.occupancy()}
        for (day, group), count in counts.items():
            places = self.ledger.capacity.places_on(day, group)
            if places is not None:
                assert count <= max(places, self.allowance.get((day, group), 0))
        for key, allowed in self.allowance.items():
            # Once children have left, the allowance never comes back.
            self.allowance[key] = min(allowed, counts.get(key, 0))

    @invariant()
    def the_waiting_list_is_in_request_order(self) -> None:
        for slot in self.ledger.occupancy():
            order = [(self.asked[(child_id, slot.day)], child_id) for child_id in slot.waiting]
            assert order == sorted(order)

    @invariant()
    def nobody_waits_while_a_place_is_free(self) -> None:
        for slot in self.ledger.occupancy():
            if slot.waiting:
                assert slot.places is not None
                assert len(slot.holders) >= slot.places

    @invariant()
    def waiting_positions_run_from_one_without_gaps(self) -> None:
        for slot in self.ledger.occupancy():
            positions = []
            for child_id in slot.waiting:
                status = self.ledger.status(child_id, slot.day)
                assert status is not None
                positions.append(status.position)
            assert positions == list(range(1, len(slot.waiting) + 1))

    @invariant()
    def a_child_is_counted_once_per_date(self) -> None:
        seen: set[tuple[str, dt.date]] = set()
        for slot in self.ledger.occupancy():
            for child_id in (*slot.holders, *slot.waiting):
                assert (child_id, slot.day) not in seen
                seen.add((child_id, slot.day))


TestPlaceLedgerNeverExceedsCapacity = PlaceLedgerMachine.TestCase
