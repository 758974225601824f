"""Invariants of baskets: capacity is never exceeded, and booking then cancelling in time changes nothing."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from hypothesis import example, given
from hypothesis import strategies as st

from espacefamille.calendar.periods import DateRange
from espacefamille.examples import example_commune
from espacefamille.model import Booking, BookingStatus, Child, Enrolment, Family, Guardian
from espacefamille.rules.basket import Action, BasketContext, BasketLine, apply_promotions, evaluate_basket
from espacefamille.rules.capacity import PlaceLedger

PARIS = ZoneInfo("Europe/Paris")
COMMUNE = example_commune()
NOW = dt.datetime(2026, 11, 5, 10, 0, tzinfo=PARIS)
YEAR = DateRange(dt.date(2026, 9, 1), dt.date(2027, 8, 31))
# The holiday centre's Christmas days: 40 places, 24 on the 23rd; squeeze them to see waiting lists.
DAYS = [dt.date(2026, 12, 21), dt.date(2026, 12, 22), dt.date(2026, 12, 23)]
FAMILIES = [
    Family(f"F{n}", f"Famille {n}", [Guardian(f"G{n}", "Parent", f"Nom{n}")], f"G{n}") for n in range(6)
]
CHILDREN = {
    f"F{n}": [Child(f"C{n}{k}", "Enfant", f"Nom{n}", dt.date(2018, 1, 1), [f"F{n}"]) for k in range(2)]
    for n in range(6)
}


def context(family: Family) -> BasketContext:
    children = CHILDREN[family.id]
    enrolments = [Enrolment(f"E{c.id}", c.id, family.id, "alsh", YEAR) for c in children]
    return BasketContext(COMMUNE, family, children, enrolments)


baskets = st.lists(
    st.tuples(
        st.integers(0, 5),
        st.lists(st.tuples(st.integers(0, 1), st.sampled_from(DAYS), st.booleans()), min_size=1, max_size=6),
    ),
    min_size=1,
    max_size=12,
)


@given(baskets, st.integers(1, 4))
# One place on Tuesday 22 December 2026: the first child holds it, the second waits; then one basket cancels
# and rebooks both. The first cancellation promotes the second child, whose own cancellation must undo that
# promotion (it once left two children holding the one place).
@example(
    [
        (0, [(0, dt.date(2026, 12, 22), True), (1, dt.date(2026, 12, 22), True)]),
        (
            0,
            [
                (0, dt.date(2026, 12, 22), False),
                (0, dt.date(2026, 12, 22), True),
                (1, dt.date(2026, 12, 22), False),
                (1, dt.date(2026, 12, 22), True),
            ],
        ),
    ],
    1,
)
def test_no_sequence_of_baskets_exceeds_capacity(
    sequence: list[tuple[int, list[tuple[int, dt.date, bool]]]], places: int
) -> None:
    capacity = COMMUNE.capacities["journee"]
    squeezed = type(capacity)(places=type(capacity.places)(default=places))
    ledger = PlaceLedger(squeezed)
    bookings: dict[str, dict[tuple[str, str, dt.date], Booking]] = {f.id: {} for f in FAMILIES}
    for family_index, lines in sequence:
        family = FAMILIES[family_index]
        basket = [
            BasketLine(Action.BOOK if booking else Action.CANCEL, f"C{family_index}{k}", "journee", day)
            for k, day, booking in lines
        ]
        result = evaluate_basket(
            context(family), basket, NOW, bookings=bookings[family.id], ledgers={"journee": ledger}
        )
        ledger = result.ledgers.get("journee", ledger)
        bookings[family.id] = dict(result.bookings)
        # The service layer hands the freed places to the other households' waiting children.
        for other in FAMILIES:
            bookings[other.id] = apply_promotions(COMMUNE, bookings[other.id], result.promotions)
        for day in DAYS:
            assert len(ledger.holders(day)) <= places
            holding = sum(
                1
                for family_bookings in bookings.values()
                for booking in family_bookings.values()
                if booking.day == day and booking.status is BookingStatus.HELD
            )
            assert holding == len(ledger.holders(day)) <= places


@given(
    st.lists(
        st.tuples(st.sampled_from(["repas", "matin", "soir"]), st.integers(0, 40)), min_size=1, max_size=10
    )
)
def test_booking_then_cancelling_inside_the_deadline_restores_the_same_state(
    picks: list[tuple[str, int]],
) -> None:
    family = FAMILIES[0]
    child = CHILDREN[family.id][0]
    enrolments = [Enrolment(f"E{s}", child.id, family.id, s, YEAR) for s in ("cantine", "periscolaire")]
    ctx = BasketContext(COMMUNE, family, [child], enrolments)
    start = dt.date(2026, 11, 23)
    lines = [BasketLine(Action.BOOK, child.id, p, start + dt.timedelta(days=offset)) for p, offset in picks]
    booked = evaluate_basket(ctx, lines, NOW)
    undo = [BasketLine(Action.CANCEL, b.child_id, b.prestation_id, b.day) for b in booked.added]
    cancelled = evaluate_basket(ctx, undo, NOW, bookings=booked.bookings)
    assert all(d.outcome.value == "accepted" for d in cancelled.decisions)
    active = {k for k, b in cancelled.bookings.items() if b.status is not BookingStatus.CANCELLED}
    assert active == set()
