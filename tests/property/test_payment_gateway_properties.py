"""Properties of online payment notifications: whatever order, repetition or timing the gateway's call backs
arrive in, each paid payment is settled exactly once and nothing else is ever settled."""

from __future__ import annotations

import collections
import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from espacefamille.adapters.fake_gateway import FakeGateway
from espacefamille.adapters.payfip import payfip_cents
from espacefamille.billing.online import (
    NotificationOutcome,
    PaymentAttempt,
    PaymentNotification,
    PaymentStatus,
    begin_payment,
    payment_under_way,
    settle_notification,
)
from espacefamille.calendar.timezones import time_zone
from espacefamille.errors import InvalidInput
from espacefamille.money import Money

PARIS = time_zone("Europe/Paris")
EVENING = dt.datetime(2026, 11, 12, 20, 30, tzinfo=PARIS)  # Thursday 12 November 2026

# What happens to each payment at the gateway.
FATES = ("pay", "refuse", "cancel", "leave", "tamper_amount", "tamper_reference")
RECORDED_AFTER_SWEEP = {
    "pay": PaymentStatus.PAID,
    "refuse": PaymentStatus.REFUSED,
    "cancel": PaymentStatus.CANCELLED,
    "leave": PaymentStatus.EXPIRED,
    "tamper_amount": PaymentStatus.PENDING,  # rejected notifications record nothing
    "tamper_reference": PaymentStatus.PENDING,
}


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[list[str], list[int], list[tuple[int, int]], list[int]]:
    """Payments with their fate and answer time, notifications (payment index or -1 for an unknown id, minutes
    after 20 h 30) in any order, with duplicates, and the order of a final sweep."""
    fates = draw(st.lists(st.sampled_from(FATES), min_size=1, max_size=6))
    answered_after = draw(st.lists(st.integers(0, 14), min_size=len(fates), max_size=len(fates)))
    notifications = draw(
        st.lists(st.tuples(st.integers(-1, len(fates) - 1), st.integers(0, 45)), max_size=25)
    )
    sweep = draw(st.permutations(range(len(fates))))
    return fates, answered_after, notifications, list(sweep)


def _set_up(
    fates: list[str], answered_after: list[int]
) -> tuple[FakeGateway, dict[str, PaymentAttempt], list[str]]:
    gateway = FakeGateway()
    known: dict[str, PaymentAttempt] = {}
    ids: list[str] = []
    for i, (fate, after) in enumerate(zip(fates, answered_after, strict=True)):
        created_at = EVENING + dt.timedelta(minutes=i)
        attempt = begin_payment(
            gateway,
            known,
            regie_id="enfance",
            family_id="martin",
            invoice_numbers=[f"FAC-enfance-2026-{i:06d}"],
            amount=Money.from_cents(1000 + i),
            reference=f"ENF2026{i:06d}",
            email="claire.martin@example.fr",
            now=created_at,
        )
        known[attempt.payment_id] = attempt
        ids.append(attempt.payment_id)
        at = created_at + dt.timedelta(minutes=after)
        if fate in ("pay", "tamper_amount", "tamper_reference"):
            gateway.pay(attempt.payment_id, at)
        elif fate == "refuse":
            gateway.refuse(attempt.payment_id, at)
        elif fate == "cancel":
            gateway.cancel(attempt.payment_id, at)
        if fate == "tamper_amount":
            gateway.tamper(attempt.payment_id, amount=Money.from_cents(1))
        elif fate == "tamper_reference":
            gateway.tamper(attempt.payment_id, reference="FORGED000001")
    return gateway, known, ids


def _deliver(
    gateway: FakeGateway,
    known: dict[str, PaymentAttempt],
    deliveries: list[tuple[str, dt.datetime]],
    settled: collections.Counter[str],
) -> dict[str, PaymentAttempt]:
    for payment_id, now in deliveries:
        decision = settle_notification(gateway, known, PaymentNotification(payment_id), now)
        if decision.settles:
            settled[payment_id] += 1
            assert decision.payment_order().amount == known[payment_id].amount
        known = decision.record(known)
    return known


@given(scenarios())
def test_any_sequence_of_notifications_settles_each_paid_payment_exactly_once_and_nothing_else(
    scenario: tuple[list[str], list[int], list[tuple[int, int]], list[int]],
) -> None:
    fates, answered_after, notifications, sweep = scenario
    gateway, known, ids = _set_up(fates, answered_after)
    deliveries = [
        (ids[i] if i >= 0 else "fake-999999", EVENING + dt.timedelta(minutes=m)) for i, m in notifications
    ]
    # Then the host's reconciliation sweep notifies every payment once more, an hour later, twice over.
    late = EVENING + dt.timedelta(hours=1)
    deliveries += [(ids[i], late) for i in sweep] * 2
    settled: collections.Counter[str] = collections.Counter()
    known = _deliver(gateway, known, deliveries, settled)

    for payment_id, fate in zip(ids, fates, strict=True):
        assert settled[payment_id] == (1 if fate == "pay" else 0), fate
        assert known[payment_id].status is RECORDED_AFTER_SWEEP[fate], fate
    assert "fake-999999" not in settled


@given(scenarios())
def test_replaying_every_notification_settles_nothing_more(
    scenario: tuple[list[str], list[int], list[tuple[int, int]], list[int]],
) -> None:
    fates, answered_after, notifications, sweep = scenario
    gateway, known, ids = _set_up(fates, answered_after)
    deliveries = [(ids[i], EVENING + dt.timedelta(minutes=m)) for i, m in notifications if i >= 0]
    deliveries += [(ids[i], EVENING + dt.timedelta(hours=1)) for i in sweep]
    first: collections.Counter[str] = collections.Counter()
    after_first = _deliver(gateway, known, deliveries, first)
    replay: collections.Counter[str] = collections.Counter()
    after_replay = _deliver(gateway, after_first, deliveries, replay)
    assert not replay
    assert after_replay == after_first


@given(minutes_later=st.integers(0, 40), answer=st.sampled_from(("pay", "refuse", "leave")))
def test_a_payment_is_under_way_only_while_unanswered_inside_its_15_minutes(
    minutes_later: int, answer: str
) -> None:
    gateway, known, ids = _set_up(["leave"], [0])
    (payment_id,) = ids
    if answer != "leave":
        if answer == "pay":
            gateway.pay(payment_id, EVENING)
        else:
            gateway.refuse(payment_id, EVENING)
        decision = settle_notification(gateway, known, PaymentNotification(payment_id), EVENING)
        known = decision.record(known)
    now = EVENING + dt.timedelta(minutes=minutes_later)
    under_way = payment_under_way(known.values(), "martin", ["FAC-enfance-2026-000000"], now)
    expected = answer == "leave" and minutes_later < 15
    assert (under_way is not None) == expected
    assert (known[payment_id].status_at(now) is PaymentStatus.PENDING) == expected


@given(st.integers(min_value=0, max_value=10**9))
def test_whole_cents_are_read_back_unchanged_as_int_or_text(cents: int) -> None:
    assert payfip_cents(cents) == cents
    assert payfip_cents(str(cents)) == cents
    assert payfip_cents(Money.from_cents(cents)) == cents


@given(
    st.decimals(allow_nan=False, allow_infinity=False, places=3).filter(lambda d: d != d.to_integral_value())
)
def test_a_fraction_of_a_cent_is_never_a_payfip_amount(value: Decimal) -> None:
    with pytest.raises(InvalidInput) as error:
        payfip_cents(value)
    assert error.value.code == "payfip.amount_not_integral"
    with pytest.raises(InvalidInput):
        payfip_cents(str(value))


def test_the_scenario_fates_lead_to_settle_close_reject_and_ignore() -> None:
    # Guards the properties above against a set-up where no notification could ever settle or reject.
    gateway, known, ids = _set_up(["pay", "refuse", "tamper_amount"], [0, 0, 0])
    later = EVENING + dt.timedelta(minutes=20)
    outcomes = []
    for payment_id in [*ids, ids[0], "fake-999999"]:
        decision = settle_notification(gateway, known, PaymentNotification(payment_id), later)
        outcomes.append(decision.outcome)
        known = decision.record(known)
    assert outcomes == [
        NotificationOutcome.SETTLE,
        NotificationOutcome.CLOSE,
        NotificationOutcome.REJECT,
        NotificationOutcome.IGNORE,
        NotificationOutcome.REJECT,
    ]
