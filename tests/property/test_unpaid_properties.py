"""Invariants of the unpaid-invoices policy, whatever the commune's steps and the family's debts."""

from __future__ import annotations

import datetime as dt

import attrs
from hypothesis import given
from hypothesis import strategies as st

from espacefamille.model import Service, ServiceKind
from espacefamille.money import Money
from espacefamille.rules.unpaid import (
    Debt,
    UnpaidAction,
    UnpaidExemption,
    UnpaidOutcome,
    UnpaidPolicy,
    UnpaidStep,
    judge_unpaid,
    unpaid_policy_from_dict,
    unpaid_policy_to_dict,
)

SERVICE_IDS = ("cantine", "periscolaire", "alsh", "etude", "mercredi")
REGIES = ("enfance", "loisirs")
TODAY = st.dates(min_value=dt.date(2026, 9, 1), max_value=dt.date(2027, 8, 31))
amounts = st.integers(min_value=0, max_value=50_000).map(Money.from_cents)


@st.composite
def steps(draw: st.DrawFn) -> UnpaidStep:
    action = draw(st.sampled_from(UnpaidAction))
    after_days = draw(st.none() | st.integers(min_value=0, max_value=120))
    above = draw(amounts) if after_days is None else draw(st.none() | amounts)
    blockable = [
        kind for kind in ServiceKind if kind is not ServiceKind.CANTINE or action is UnpaidAction.REMINDER
    ]
    kinds = draw(st.frozensets(st.sampled_from(blockable)))
    # A service id may name the canteen: only check_unpaid_policy, with the commune, can see that.
    ids = draw(st.frozensets(st.sampled_from(SERVICE_IDS)))
    if action is UnpaidAction.BLOCK and not kinds and not ids:
        ids = frozenset({"alsh"})
    return UnpaidStep(action, after_days, above, kinds, ids)


policies = st.builds(UnpaidPolicy, st.lists(steps(), max_size=4), st.booleans())
services = st.builds(
    Service,
    id=st.sampled_from(SERVICE_IDS),
    name=st.just("Service"),
    kind=st.sampled_from(ServiceKind),
    regie_id=st.sampled_from(REGIES),
)
debts = st.builds(
    Debt,
    invoice=st.from_regex(r"F-2026-[0-9]{4}", fullmatch=True),
    regie_id=st.sampled_from(REGIES),
    due=st.dates(min_value=dt.date(2026, 6, 1), max_value=dt.date(2027, 8, 31)),
    remaining=amounts,
)
debt_lists = st.lists(debts, max_size=6)


@given(policies, debt_lists, services, TODAY)
def test_the_canteen_is_never_blocked_whatever_the_debts(
    policy: UnpaidPolicy, owed: list[Debt], service: Service, today: dt.date
) -> None:
    canteen = attrs.evolve(service, kind=ServiceKind.CANTINE)
    assert not judge_unpaid(policy, owed, canteen, today).is_blocked


@given(policies, debt_lists, debts, services, TODAY)
def test_more_debt_never_gives_a_milder_decision(
    policy: UnpaidPolicy, owed: list[Debt], more: Debt, service: Service, today: dt.date
) -> None:
    before = judge_unpaid(policy, owed, service, today)
    after = judge_unpaid(policy, [*owed, more], service, today)
    assert after.outcome.rank >= before.outcome.rank


@given(policies, debt_lists, st.data(), services, TODAY)
def test_an_older_or_larger_debt_never_gives_a_milder_decision(
    policy: UnpaidPolicy, owed: list[Debt], data: st.DataObject, service: Service, today: dt.date
) -> None:
    if not owed:
        return
    days = data.draw(st.integers(min_value=0, max_value=365))
    index = data.draw(st.integers(min_value=0, max_value=len(owed) - 1))
    extra = data.draw(amounts)
    worse = list(owed)
    worse[index] = attrs.evolve(
        owed[index], due=owed[index].due - dt.timedelta(days=days), remaining=owed[index].remaining + extra
    )
    before = judge_unpaid(policy, owed, service, today)
    assert judge_unpaid(policy, worse, service, today).outcome.rank >= before.outcome.rank


@given(policies, debt_lists, services, TODAY, st.integers(min_value=0, max_value=60))
def test_time_passing_never_gives_a_milder_decision(
    policy: UnpaidPolicy, owed: list[Debt], service: Service, today: dt.date, days: int
) -> None:
    later = today + dt.timedelta(days=days)
    assert (
        judge_unpaid(policy, owed, service, later).outcome.rank
        >= judge_unpaid(policy, owed, service, today).outcome.rank
    )


@given(policies, debt_lists, services, TODAY, st.data())
def test_an_exempt_family_is_never_blocked(
    policy: UnpaidPolicy, owed: list[Debt], service: Service, today: dt.date, data: st.DataObject
) -> None:
    days, open_ended = data.draw(st.integers(min_value=0, max_value=400)), data.draw(st.booleans())
    since = today - dt.timedelta(days=days)
    exemption = UnpaidExemption(
        "agent.martin", since, None if open_ended else today + dt.timedelta(days=days)
    )
    assert not judge_unpaid(policy, owed, service, today, exemption).is_blocked


@given(policies, debt_lists, services, TODAY)
def test_no_debt_past_due_means_the_booking_is_allowed(
    policy: UnpaidPolicy, owed: list[Debt], service: Service, today: dt.date
) -> None:
    not_late = [attrs.evolve(debt, due=max(debt.due, today)) for debt in owed]
    decision = judge_unpaid(policy, not_late, service, today)
    assert decision.outcome is UnpaidOutcome.ALLOWED
    assert decision.code == "unpaid.clear"


@given(policies, debt_lists, services, TODAY)
def test_a_decision_counts_only_past_due_debts(
    policy: UnpaidPolicy, owed: list[Debt], service: Service, today: dt.date
) -> None:
    decision = judge_unpaid(policy, owed, service, today)
    if decision.since is not None:
        late = [debt for debt in owed if debt.due < today and debt.remaining]
        assert decision.since in {debt.due for debt in late}
        assert Money.from_cents(0) < decision.amount <= Money.total(debt.remaining for debt in late)
        assert decision.step in policy.steps


@given(policies)
def test_the_configuration_round_trips_to_an_equal_policy(policy: UnpaidPolicy) -> None:
    assert unpaid_policy_from_dict(unpaid_policy_to_dict(policy), "unpaid") == policy
