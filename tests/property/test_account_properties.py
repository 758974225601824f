"""Properties of activation tokens and of the notification outbox."""

from __future__ import annotations

import datetime as dt
import random
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from espacefamille.families.accounts import (
    Account,
    ActivationRefused,
    Agent,
    AgentRole,
    activate,
    issue_activation,
)
from espacefamille.families.events import InvoiceIssued, OutboxMessage, RetryPolicy, drain, pending
from espacefamille.money import Money

PARIS = ZoneInfo("Europe/Paris")
ISSUED = dt.datetime(2026, 11, 3, 9, 30, tzinfo=PARIS)
AGENT = Agent("agent-dupont", "saint-aubin", AgentRole.GESTIONNAIRE)
DELAY = dt.timedelta(days=14)


class SeededSource:
    def __init__(self, seed: int) -> None:
        self._random = random.Random(seed)

    def token_bytes(self, nbytes: int, /) -> bytes:
        return self._random.randbytes(nbytes)


# An attempt: which account presents it, whether it is the e-mailed token (else another string), and when.
attempts = st.lists(
    st.tuples(
        st.integers(0, 2),
        st.booleans(),
        st.text(max_size=50),
        st.integers(0, 20 * 24 * 60),
    ),
    max_size=12,
)


@given(seed=st.integers(0, 2**32), tries=attempts)
def test_an_activation_token_only_ever_works_once(seed: int, tries: list[tuple[int, bool, str, int]]) -> None:
    issued = issue_activation(
        AGENT,
        "saint-aubin",
        "martin",
        "claire-martin",
        ISSUED,
        link_base="https://e.fr/a",
        source=SeededSource(seed),
    )
    stored = issued.activation
    accounts = [Account(f"acc-{i}", f"parent{i}@example.fr") for i in range(3)]
    successes: list[int] = []
    refusals: list[tuple[str, str]] = []
    for index, (who, right_token, other, minutes) in enumerate(tries):
        now = ISSUED + dt.timedelta(minutes=minutes)
        presented = issued.token if right_token else other
        try:
            result = activate(accounts[who], stored, presented, now)
        except ActivationRefused as refusal:
            refusals.append((presented, refusal.code))
            continue
        successes.append(index)
        stored = result.activation
        accounts[who] = result.account
    assert len(successes) <= 1
    first_valid = next(
        (
            i
            for i, (_, right, _, minutes) in enumerate(tries)
            if right and dt.timedelta(minutes=minutes) < DELAY
        ),
        None,
    )
    # The first in-time presentation of the right token is the one that works; nothing works after it.
    assert successes == ([] if first_valid is None else [first_valid])
    assert sum(len(account.links) for account in accounts) == len(successes)
    # A wrong token always reads as unknown; the right one is refused for what happened to it.
    for presented, code in refusals:
        assert (code == "activation.unknown_token") == (presented != issued.token)


# -- the outbox -------------------------------------------------------------------------------


class Notifier:
    """Delivers unless the message is in ``failing``; counts every delivery."""

    def __init__(self) -> None:
        self.failing: frozenset[int] = frozenset()
        self.delivered: list[str] = []

    def send(self, message: OutboxMessage, /) -> None:
        if int(message.id.removeprefix("msg-")) in self.failing:
            raise TimeoutError("the SMTP server did not answer")
        self.delivered.append(message.id)


def invoice_message(i: int) -> OutboxMessage:
    event = InvoiceIssued(
        "saint-aubin",
        f"famille-{i}",
        ISSUED,
        "regie",
        f"FAC-2026-{i:06d}",
        Money.from_cents(1500 + i),
        dt.date(2026, 12, 15),
    )
    return OutboxMessage(f"msg-{i}", event)


# One drain: the messages the notifier fails for, and the minutes since the previous drain
# (often less than the back-off, so some drains find nothing due).
drains = st.lists(
    st.tuples(st.frozensets(st.integers(0, 9)), st.integers(0, 120)),
    max_size=15,
)


@given(count=st.integers(0, 10), schedule=drains)
def test_any_interleaving_of_failures_and_drains_delivers_each_message_exactly_once_after_recovery(
    count: int, schedule: list[tuple[frozenset[int], int]]
) -> None:
    messages = [invoice_message(i) for i in range(count)]
    notifier = Notifier()
    now = ISSUED
    for failing, minutes in schedule:
        now += dt.timedelta(minutes=minutes)
        notifier.failing = failing
        messages = drain(messages, notifier, now)
        # Never twice, even while failing; and every message is still there.
        assert len(notifier.delivered) == len(set(notifier.delivered))
        assert sorted(m.id for m in messages) == sorted(f"msg-{i}" for i in range(count))
        assert {m.id for m in messages if m.is_sent} == set(notifier.delivered)
    notifier.failing = frozenset()
    now += RetryPolicy().longest
    messages = drain(messages, notifier, now)
    assert pending(messages) == []
    assert sorted(notifier.delivered) == sorted(f"msg-{i}" for i in range(count))
    assert len(notifier.delivered) == count
    assert all(m.attempts >= 1 for m in messages)
