"""The portal's and the back office's calls given hostile arguments: a library error or success, never a raw
Python error, and a refused call writes nothing (the store and the accounts store are as they were)."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from espacefamille.billing.documents import PaymentMethod
from espacefamille.calendar.opening import Closure, ClosureReason
from espacefamille.calendar.periods import DateRange
from espacefamille.errors import EspaceFamilleError, InvalidInput
from espacefamille.model import Child, Enrolment, Family, Guardian
from espacefamille.money import Money
from espacefamille.rules.attendance import AbsenceReason, AttendanceFact, AttendanceStatus
from espacefamille.rules.basket import Action, BasketLine
from espacefamille.rules.unpaid import UnpaidExemption
from espacefamille.testing.strategies import hostile_values
from tests.unit.test_services import AGENT, MARTIN, NOW, YEAR, World, make_world

WEEK = DateRange(dt.date(2026, 11, 30), dt.date(2026, 12, 6))
DAY = dt.date(2026, 12, 10)

# Each public call with arguments that work (positional after self, then keywords); the fuzzer replaces some.
_FAMILY = Family("F1", "Martin", [Guardian("G1", "Claire", "Martin", email="claire@example.fr")], "G1")
_FORM = {"enfant": "C1", "du": "2026-09-01", "au": "2026-11-30"}
Call = tuple[tuple[Any, ...], dict[str, Any]]
PORTAL_CALLS: dict[str, Call] = {
    "link_account": (("acc-martin", "not-a-token"), {}),
    "children": ((MARTIN, "F1"), {}),
    "services": ((MARTIN, "F1"), {}),
    "calendar": ((MARTIN, "C1", "cantine", WEEK), {"family_id": "F1"}),
    "validate_basket": (
        (MARTIN, "F1", [BasketLine(Action.BOOK, "C1", "repas", DAY)]),
        {"idempotency_key": "panier-1"},
    ),
    "payment_notification": (({"payment_id": "fake-1"},), {}),
    "payments_under_way": ((MARTIN, "F1"), {}),
    "invoices_to_pay": ((MARTIN, "F1"), {}),
    "pay_invoices": ((MARTIN, "F1", ["FAC-enfance-2026-000001"]), {}),
    "declare_absence": (
        (MARTIN, "C1", DateRange(DAY, DAY), AbsenceReason.ILLNESS),
        {"family_id": "F1", "proof_received": False},
    ),
    "submit_request": (
        (MARTIN, "F1", "attestation-caf", _FORM),
        {"message": "Merci", "idempotency_key": "demande-1"},
    ),
    "requests": ((MARTIN, "F1"), {}),
}
OFFICE_CALLS: dict[str, Call] = {
    "activate_family_account": (
        (AGENT, "F1", "G1"),
        {"link_base": "https://famille.example.fr/activer", "delay": dt.timedelta(days=14)},
    ),
    "register_family": ((AGENT, _FAMILY, [Child("C1", "Léa", "Martin", dt.date(2018, 3, 14), ["F1"])]), {}),
    "enrol_child": ((AGENT, Enrolment("E-x", "C1", "F1", "periscolaire", YEAR)), {}),
    "record_attendance": ((AGENT, [AttendanceFact("C1", "repas", DAY, AttendanceStatus.PRESENT)]), {}),
    "declare_closure": ((AGENT, "cantine", Closure(DateRange(DAY, DAY), ClosureReason.STRIKE, "grève")), {}),
    "record_absence_proof": ((AGENT, "F1", "C1", DateRange(DAY, DAY)), {"received_at": NOW}),
    "release_expired_holds": ((AGENT,), {}),
    "run_month_end": ((AGENT, "enfance", DateRange.month(2026, 11)), {"issued_on": None, "batch": 100}),
    "record_payment": (
        (AGENT, "F1", "enfance", [], Money("5"), PaymentMethod.CASH),
        {"reference": "chèque 12"},
    ),
    "issue_credit": ((AGENT, "F1", "enfance", Money("1"), "geste commercial"), {}),
    "refund": ((AGENT, "AV-enfance-2026-000001"), {"amount": None}),
    "grant_unpaid_exemption": ((AGENT, "F1", UnpaidExemption("agent-1", dt.date(2026, 11, 1))), {}),
    "revoke_unpaid_exemption": ((AGENT, "F1"), {}),
    "answer_request": ((AGENT, "F1", "REQ-1", "Réponse"), {"decision": "accept"}),
}

_EDGES = (dt.date.min, dt.date(1, 1, 31), dt.date(1899, 12, 31), dt.date(9999, 12, 1), dt.date.max)
_RANGES = [DateRange(a, b) for a in _EDGES for b in _EDGES if a <= b]
_SHORT_RANGES = [DateRange(a, b) for a, b in zip(_EDGES, (*_EDGES[1:], dt.date.max), strict=True) if a <= b]


# Values the model accepts whose text no store can encode: refused by the call, before the store sees them.
SURROGATES_INSIDE: dict[str, list[object]] = {
    "declare_closure": [Closure(DateRange(DAY, DAY), ClosureReason.STRIKE, "gr\ud800ve")],
    "grant_unpaid_exemption": [UnpaidExemption("agent-1", DAY, reason="accord \udfff")],
    "record_attendance": [
        [AttendanceFact("C1", "repas", DAY, AttendanceStatus.PRESENT, recorded_by="a\ud800")]
    ],
}


def _edges(valid: object) -> list[object]:
    """Values of the valid argument's type at the edges of what makes sense: the ends of the calendar,
    the largest amounts, identifiers nobody knows."""
    if isinstance(valid, DateRange):
        return list(_RANGES)
    if isinstance(valid, Closure):
        closures: list[object] = [Closure(r, ClosureReason.STRIKE, "grève") for r in _SHORT_RANGES]
        return [*closures, *SURROGATES_INSIDE["declare_closure"]]
    if isinstance(valid, Enrolment):
        return [Enrolment("E-y", "C1", "F1", "cantine", r) for r in _SHORT_RANGES]
    if isinstance(valid, UnpaidExemption):
        exemptions: list[object] = [UnpaidExemption("agent-1", day) for day in _EDGES]
        return [*exemptions, *SURROGATES_INSIDE["grant_unpaid_exemption"]]
    if isinstance(valid, Money):
        return [Money("1000000000000"), Money("-1000000000000"), Money(0)]
    if isinstance(valid, dt.datetime):
        return [dt.datetime.max.replace(tzinfo=dt.UTC), dt.datetime.min.replace(tzinfo=dt.UTC)]
    if isinstance(valid, dt.timedelta):
        return [dt.timedelta.max, dt.timedelta(0), -dt.timedelta(days=1)]
    if isinstance(valid, bool | int):
        return [0, -1, 2**63 - 1]
    if isinstance(valid, str):
        return ["", " ", "x" * 10_000, "F2", "../F1", "C1'; --"]
    if isinstance(valid, list) and valid and isinstance(valid[0], BasketLine):
        return [[BasketLine(action, "C1", "repas", day)] for action in Action for day in _EDGES]
    if isinstance(valid, list) and valid and isinstance(valid[0], AttendanceFact):
        facts: list[object] = [
            [AttendanceFact("C1", "repas", day, AttendanceStatus.ABSENT_UNJUSTIFIED)] for day in _EDGES
        ]
        return [*facts, *SURROGATES_INSIDE["record_attendance"]]
    return []


def _replaced(call: Call, slot: int | str, value: object) -> Call:
    arguments, keywords = list(call[0]), dict(call[1])
    if isinstance(slot, int):
        arguments[slot] = value
    else:
        keywords[slot] = value
    return tuple(arguments), keywords


def _matrix(calls: dict[str, Call]) -> list[tuple[str, int | str, object]]:
    cases: list[tuple[str, int | str, object]] = []
    for name, (arguments, keywords) in sorted(calls.items()):
        slots: list[tuple[int | str, object]] = [*enumerate(arguments), *keywords.items()]
        cases.extend((name, slot, value) for slot, valid in slots for value in _edges(valid))
    return cases


def snapshot(world: World) -> object:
    """Everything both stores hold, to compare before and after a refused call."""
    tables = {name: dict(table) for name, table in vars(world.store._tables).items()}
    accounts = (dict(world.accounts._accounts), dict(world.accounts._activations))
    return tables, accounts


def call_refusing_whole(
    held: Callable[[], object], owner: object, name: str, arguments: list[Any], keywords: dict[str, Any]
) -> None:
    """Call ``owner.name``: a library error or success; after a refusal ``held()`` (what the stores hold) is
    as it was. Any other exception goes up."""
    before = held()
    method: Callable[..., object] = getattr(owner, name)
    try:
        method(*arguments, **keywords)
    except EspaceFamilleError:
        assert held() == before, f"{name} refused but wrote"


def fuzz_call(held: Callable[[], object], owner: object, name: str, call: Call, data: st.DataObject) -> None:
    """``call`` with some of its arguments replaced by hostile values or the edges of their type."""
    slots = [*range(len(call[0])), *call[1]]
    for slot in data.draw(st.sets(st.sampled_from(slots), min_size=1), label="replaced"):
        current = call[0][slot] if isinstance(slot, int) else call[1][slot]
        edges = _edges(current)
        values = st.one_of(hostile_values(), st.sampled_from(edges)) if edges else hostile_values()
        call = _replaced(call, slot, data.draw(values, label=f"argument {slot}"))
    call_refusing_whole(held, owner, name, list(call[0]), call[1])


def test_every_call_at_the_edges_of_each_argument_answers_with_the_library_s_errors() -> None:
    # Deterministic: every call, every argument, every edge value of its type (a few hundred calls).
    for calls, side in ((PORTAL_CALLS, "portal"), (OFFICE_CALLS, "office")):
        for name, slot, value in _matrix(calls):
            world = make_world()
            arguments, keywords = _replaced(calls[name], slot, value)
            try:
                held = functools.partial(snapshot, world)
                call_refusing_whole(held, getattr(world, side), name, list(arguments), keywords)
            except Exception as error:
                raise AssertionError(f"{side}.{name} with {slot}={value!r:.80}: {error!r:.200}") from error


@pytest.mark.parametrize("name", sorted(PORTAL_CALLS))
@settings(max_examples=15, deadline=None)
@given(data=st.data())
def test_the_portal_answers_hostile_arguments_with_its_own_errors_and_writes_nothing(
    name: str, data: st.DataObject
) -> None:
    world = make_world()
    fuzz_call(lambda: snapshot(world), world.portal, name, PORTAL_CALLS[name], data)


@pytest.mark.parametrize("name", sorted(OFFICE_CALLS))
@settings(max_examples=15, deadline=None)
@given(data=st.data())
def test_the_back_office_answers_hostile_arguments_with_its_own_errors_and_writes_nothing(
    name: str, data: st.DataObject
) -> None:
    world = make_world()
    fuzz_call(lambda: snapshot(world), world.office, name, OFFICE_CALLS[name], data)


@pytest.mark.parametrize("name", sorted(PORTAL_CALLS))
def test_every_portal_call_names_the_argument_of_the_wrong_type(name: str) -> None:
    world = make_world()
    arguments = [None] * len(PORTAL_CALLS[name][0])
    with pytest.raises(InvalidInput) as caught:
        getattr(world.portal, name)(*arguments)
    assert caught.value.code == "input.wrong_type"
    assert caught.value.message_fr.startswith("La demande contient une valeur invalide (")


def test_a_lone_surrogate_in_an_identifier_is_refused_before_the_store_sees_it() -> None:
    world = make_world()
    with pytest.raises(InvalidInput) as caught:
        world.portal.children(MARTIN, "F\ud800")
    assert (caught.value.code, caught.value.details) == ("input.lone_surrogate", {"argument": "family_id"})


def test_a_call_with_missing_or_unknown_arguments_is_refused() -> None:
    world = make_world()
    with pytest.raises(InvalidInput) as caught:
        world.portal.children(MARTIN)  # type: ignore[call-arg]
    assert caught.value.code == "input.bad_arguments"
    with pytest.raises(InvalidInput):
        world.office.revoke_unpaid_exemption(AGENT, "F1", colour="blue")  # type: ignore[call-arg]


def test_children_given_as_a_generator_are_checked_and_registered() -> None:
    world = make_world()
    lea = Child("C1", "Léa", "Martin", dt.date(2018, 3, 14), ["F1"])
    world.office.register_family(AGENT, _FAMILY, (child for child in [lea]))
    assert [c.id for c in world.portal.children(MARTIN, "F1")] == ["C1"]
    with pytest.raises(InvalidInput):
        world.office.register_family(AGENT, _FAMILY, (item for item in [lea, "C2"]))  # type: ignore[misc]


def test_a_child_born_after_the_commune_s_today_is_refused() -> None:
    world = make_world()
    unborn = Child("C9", "Bébé", "Martin", dt.date(2026, 11, 27), ["F1"])  # NOW is 26 November 2026
    with pytest.raises(InvalidInput) as caught:
        world.office.register_family(AGENT, _FAMILY, [unborn])
    assert caught.value.code == "model.born_in_future"
    assert "naissance" in caught.value.message_fr


@pytest.mark.parametrize("name", sorted(SURROGATES_INSIDE))
def test_a_lone_surrogate_inside_a_value_is_refused_before_the_store_sees_it(name: str) -> None:
    # The memory store would keep it; SQLite and PostgreSQL could not encode it at commit.
    world = make_world()
    arguments, keywords = OFFICE_CALLS[name]
    (value,) = SURROGATES_INSIDE[name]
    with pytest.raises(InvalidInput) as caught:
        getattr(world.office, name)(*arguments[:-1], value, **keywords)
    assert caught.value.code == "input.lone_surrogate"
