"""Invariants of absence resolution and of closures, whatever the policy, the absence and the open days."""

from __future__ import annotations

import datetime as dt
import tomllib

import attrs
import tomli_w
from hypothesis import given
from hypothesis import strategies as st

from espacefamille.calendar import Closure, ClosureReason, DateRange, time_zone
from espacefamille.commune import Commune
from espacefamille.rules.attendance import (
    AbsenceDeclaration,
    AbsencePolicy,
    AbsenceReason,
    AttendanceStatus,
    BookedDay,
    DelayUnit,
    ProofDelay,
    absence_policy_from_dict,
    absence_policy_to_dict,
    resolve_absence,
    service_closed_facts,
)

PARIS = time_zone("Europe/Paris")
FIRST = dt.date(2026, 9, 1)
LAST = dt.date(2027, 7, 3)


@st.composite
def absences(draw: st.DrawFn, reasons: st.SearchStrategy[AbsenceReason] | None = None) -> AbsenceDeclaration:
    start = draw(st.dates(FIRST, LAST))
    end = start + dt.timedelta(days=draw(st.integers(0, 40)))
    declared = dt.datetime.combine(start, dt.time(7, 0), PARIS) - dt.timedelta(
        hours=draw(st.integers(-72, 240))
    )
    proof = draw(
        st.none()
        | st.builds(
            lambda hours: dt.datetime.combine(start, dt.time(0, 0), PARIS) + dt.timedelta(hours=hours),
            st.integers(-48, 24 * 20),
        )
    )
    reason = draw(reasons if reasons is not None else st.sampled_from(AbsenceReason))
    return AbsenceDeclaration("lea", DateRange(start, end), reason, declared, proof)


proof_delays = st.builds(ProofDelay, st.integers(0, 400), st.sampled_from(DelayUnit))


@st.composite
def policies(draw: st.DrawFn) -> AbsencePolicy:
    proof_required = draw(st.booleans())
    return AbsencePolicy(
        justified_reasons=draw(st.frozensets(st.sampled_from(AbsenceReason))),
        proof_required=proof_required,
        proof_delay=draw(st.none() | proof_delays) if proof_required else None,
        carence_days=draw(st.integers(0, 5)),
        days_due=draw(st.integers(0, 5)),
        minimum_days=draw(st.integers(0, 8)),
    )


@st.composite
def open_day_lists(draw: st.DrawFn) -> list[dt.date]:
    """Open days around (and inside) any absence drawn above: a weekday pattern (a Monday, Tuesday,
    Thursday, Friday canteen…) with some days removed, listed forwards or backwards, some twice."""
    weekdays = draw(st.frozensets(st.integers(0, 6), min_size=1))
    removed = draw(st.frozensets(st.dates(FIRST, LAST), max_size=20))
    days = [
        day
        for day in DateRange(FIRST - dt.timedelta(days=7), LAST + dt.timedelta(days=50))
        if day.weekday() in weekdays and day not in removed
    ]
    twice = draw(st.lists(st.sampled_from(days), max_size=5))
    return (days[::-1] if draw(st.booleans()) else days) + twice


@given(absences(), policies(), open_day_lists())
def test_outcomes_are_the_open_absent_days_in_date_order_without_duplicates(
    declaration: AbsenceDeclaration, policy: AbsencePolicy, open_days: list[dt.date]
) -> None:
    outcomes = resolve_absence(declaration, policy, open_days)
    days = [o.day for o in outcomes]
    assert days == sorted(set(days))
    assert set(days) == {day for day in open_days if day in declaration.days}
    assert [o.rank for o in outcomes] == list(range(1, len(outcomes) + 1))


@given(absences(), policies(), open_day_lists())
def test_billed_days_never_exceed_the_open_absent_days(
    declaration: AbsenceDeclaration, policy: AbsencePolicy, open_days: list[dt.date]
) -> None:
    outcomes = resolve_absence(declaration, policy, open_days)
    open_absent = {day for day in open_days if day in declaration.days}
    assert sum(o.billed for o in outcomes) <= len(open_absent)
    assert all(
        o.status in {AttendanceStatus.ABSENT_JUSTIFIED, AttendanceStatus.ABSENT_UNJUSTIFIED} for o in outcomes
    )
    # An unjustified day is always billed; a day not billed is always justified.
    assert all(o.billed for o in outcomes if o.status is AttendanceStatus.ABSENT_UNJUSTIFIED)


@given(
    absences(st.sampled_from([AbsenceReason.ILLNESS, AbsenceReason.FAMILY_EVENT])),
    proof_delays,
    open_day_lists(),
)
def test_with_no_carence_a_proof_on_time_and_no_minimum_no_justified_day_is_billed(
    declaration: AbsenceDeclaration, delay: ProofDelay, open_days: list[dt.date]
) -> None:
    policy = AbsencePolicy(proof_required=True, proof_delay=delay)
    # The last instant still on time: the proof arrives exactly at the deadline.
    on_time = attrs.evolve(declaration, proof_received_at=delay.deadline(declaration.days.start))
    outcomes = resolve_absence(on_time, policy, open_days)
    assert all(o.status is AttendanceStatus.ABSENT_JUSTIFIED and not o.billed for o in outcomes)


@given(
    absences(st.just(AbsenceReason.ILLNESS)),
    st.integers(0, 5),
    st.integers(0, 5),
    st.integers(0, 8),
    open_day_lists(),
)
def test_an_illness_with_its_proof_is_billed_on_its_first_open_days_only(
    declaration: AbsenceDeclaration, carence: int, due: int, minimum: int, open_days: list[dt.date]
) -> None:
    policy = AbsencePolicy(carence_days=carence, days_due=due, minimum_days=minimum)
    outcomes = resolve_absence(declaration, policy, open_days)
    billed = [o.billed for o in outcomes]
    expected = len(outcomes) if len(outcomes) < minimum else min(len(outcomes), max(carence, due))
    assert billed == [True] * expected + [False] * (len(outcomes) - expected)


@given(absences(), policies(), open_day_lists(), st.integers(1, 3))
def test_more_carence_or_days_due_never_bills_fewer_days(
    declaration: AbsenceDeclaration, policy: AbsencePolicy, open_days: list[dt.date], more: int
) -> None:
    before = sum(o.billed for o in resolve_absence(declaration, policy, open_days))
    stricter = attrs.evolve(policy, carence_days=policy.carence_days + more, days_due=policy.days_due + more)
    assert sum(o.billed for o in resolve_absence(declaration, stricter, open_days)) >= before


@given(proof_delays, st.dates(FIRST, LAST))
def test_a_proof_deadline_is_never_before_the_end_of_the_first_day_of_absence(
    delay: ProofDelay, first_day: dt.date
) -> None:
    deadline = delay.deadline(first_day)
    end_of_first_day = dt.datetime.combine(first_day + dt.timedelta(days=1), dt.time(0, 0), PARIS)
    assert deadline >= end_of_first_day
    assert deadline.tzinfo is PARIS


@given(policies())
def test_a_policy_written_to_toml_reads_back_equal(policy: AbsencePolicy) -> None:
    text = tomli_w.dumps({"absences": absence_policy_to_dict(policy)})
    assert absence_policy_from_dict(tomllib.loads(text)["absences"]) == policy


@given(absences(), policies())
def test_the_canteen_calendar_and_its_open_dates_give_the_same_outcomes(
    commune: Commune, declaration: AbsenceDeclaration, policy: AbsencePolicy
) -> None:
    canteen = commune.opening_calendar("repas")
    open_dates = canteen.open_days(declaration.days)
    assert resolve_absence(declaration, policy, canteen) == resolve_absence(declaration, policy, open_dates)


bookings = st.builds(
    BookedDay,
    st.sampled_from(["lea", "tom", "hugo"]),
    st.sampled_from(["repas", "soir"]),
    st.dates(FIRST, LAST),
)
closure_lists = st.lists(
    st.builds(
        lambda start, length, reason: Closure(DateRange(start, start + dt.timedelta(days=length)), reason),
        st.dates(FIRST, LAST),
        st.integers(0, 10),
        st.sampled_from(ClosureReason),
    ),
    max_size=4,
)


@given(st.lists(bookings, max_size=40), closure_lists)
def test_closed_facts_are_one_per_covered_booking(booked: list[BookedDay], closures: list[Closure]) -> None:
    facts = service_closed_facts(booked, closures)
    covered = {
        (b.day, b.child_id, b.prestation_id) for b in booked if any(b.day in c.period for c in closures)
    }
    assert [(f.day, f.child_id, f.prestation_id) for f in facts] == sorted(covered)
    assert all(f.status is AttendanceStatus.SERVICE_CLOSED and f.note for f in facts)
