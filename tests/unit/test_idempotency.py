"""Idempotent submissions through ``FamilyPortal``, on every store: a request form or a basket sent again
under the caller's idempotency key returns the first result and writes nothing; the key given to other
content is refused; the key is recorded in the unit of work of what it submitted, so a failure records
neither."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from psycopg_pool import ConnectionPool

from espacefamille.adapters.fake_gateway import FakeGateway
from espacefamille.adapters.memory import MemoryAccountStore, MemoryStore
from espacefamille.adapters.postgres import PostgresAccountStore, PostgresStore
from espacefamille.adapters.sqlite import SqliteAccountStore, SqliteStore
from espacefamille.calendar.periods import DateRange
from espacefamille.cli._commands import write_bytes
from espacefamille.errors import InvalidInput
from espacefamille.examples import example_commune
from espacefamille.families.requests import Request, Submission, encode_result, replayed
from espacefamille.model import BookingStatus
from espacefamille.money import Money
from espacefamille.ports import CommuneStore, FixedClock
from espacefamille.services import FamilyPortal
from espacefamille.testing.faults import FailingStore, InjectedFault
from tests import postgres_server
from tests.unit.test_services import DURAND, HOLIDAY_MONDAY, MARTIN, NOW, book, open_world

FORM = {"enfant": "C1", "du": "2026-09-01", "au": "2026-11-30"}
KEY = "5f0c1d3e-8a2b-4c6d-9e7f-0a1b2c3d4e5f"
DECEMBER = DateRange.month(2026, 12)


@pytest.fixture(scope="module")
def pool() -> Iterator[ConnectionPool]:
    with postgres_server.pool("idempotency") as shared:
        yield shared


class Portal:
    """The example commune's portal on one store, with Martin (F1, Léa C1) and Durand (F2)."""

    def __init__(self, store: CommuneStore, accounts: object) -> None:
        self.store = store
        self.clock, self.gateway, self.portal, self.office = open_world(store, accounts, example_commune())  # type: ignore[arg-type]

    def requests(self, family_id: str = "F1") -> list[str]:
        with self.store.unit_of_work() as uow:
            return [r.id for r in uow.requests.of_family(family_id)]

    def outbox(self) -> int:
        with self.store.unit_of_work() as uow:
            return len(uow.outbox.all())

    def held(self) -> list[tuple[dt.date, BookingStatus]]:
        with self.store.unit_of_work() as uow:
            return [(b.day, b.status) for b in uow.bookings.of_family("F1", DECEMBER)]


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def world(request: pytest.FixtureRequest, tmp_path: Path) -> Portal:
    if request.param == "memory":
        return Portal(MemoryStore(), MemoryAccountStore())
    if request.param == "sqlite":
        return Portal(SqliteStore(tmp_path / "commune.db"), SqliteAccountStore(tmp_path / "accounts.db"))
    pool: ConnectionPool = request.getfixturevalue("pool")
    return Portal(PostgresStore(pool, postgres_server.collectivite_id("idem")), PostgresAccountStore(pool))


# -- request forms ---------------------------------------------------------------------------------


def test_a_form_sent_twice_under_one_key_is_one_request(world: Portal) -> None:
    first = world.portal.submit_request(MARTIN, "F1", "attestation-caf", FORM, idempotency_key=KEY)
    world.clock.advance(dt.timedelta(minutes=1))  # the family clicked again a minute later
    again = world.portal.submit_request(MARTIN, "F1", "attestation-caf", dict(FORM), idempotency_key=KEY)
    assert again == first
    assert again.submitted_at == first.submitted_at
    assert world.requests() == [first.id]


def test_the_key_given_to_another_form_is_refused_and_nothing_is_written(world: Portal) -> None:
    first = world.portal.submit_request(MARTIN, "F1", "attestation-caf", FORM, idempotency_key=KEY)
    with pytest.raises(InvalidInput) as refused:
        world.portal.submit_request(
            MARTIN, "F1", "attestation-caf", {**FORM, "au": "2026-10-31"}, idempotency_key=KEY
        )
    assert refused.value.code == "input.idempotency_key_reused"
    assert "clé a déjà servi" in refused.value.message_fr
    assert world.requests() == [first.id]


def test_a_key_is_the_household_s_own(world: Portal) -> None:
    martin = world.portal.submit_request(MARTIN, "F1", "attestation-caf", FORM, idempotency_key=KEY)
    hugo = {"enfant": "C3", "du": "2026-09-01", "au": "2026-11-30"}
    durand = world.portal.submit_request(DURAND, "F2", "attestation-caf", hugo, idempotency_key=KEY)
    assert durand.id != martin.id
    assert world.requests("F2") == [durand.id]


def test_a_replay_is_still_checked_for_access(world: Portal) -> None:
    world.portal.submit_request(MARTIN, "F1", "attestation-caf", FORM, idempotency_key=KEY)
    with pytest.raises(Exception) as refused:  # noqa: PT011 (the service's own refusal, whatever its class)
        world.portal.submit_request(DURAND, "F1", "attestation-caf", FORM, idempotency_key=KEY)
    assert getattr(refused.value, "code", "").startswith("permission.")


def test_without_a_key_each_form_sent_is_a_request(world: Portal) -> None:
    world.portal.submit_request(MARTIN, "F1", "attestation-caf", FORM)
    world.portal.submit_request(MARTIN, "F1", "attestation-caf", FORM)
    assert len(world.requests()) == 2


@pytest.mark.parametrize("key", ["", " ", "clé", "a b", "x" * 201, "a\nb", "\ud800"])
def test_a_key_that_cannot_be_one_is_refused(world: Portal, key: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        world.portal.submit_request(MARTIN, "F1", "attestation-caf", FORM, idempotency_key=key)
    assert refused.value.code in {"input.bad_idempotency_key", "input.wrong_type"}  # a surrogate: the latter
    assert world.requests() == []


# -- baskets ---------------------------------------------------------------------------------------


def test_a_basket_validated_twice_under_one_key_is_booked_and_paid_once(world: Portal) -> None:
    lines = book("C1", "journee", HOLIDAY_MONDAY)  # prepaid: held, and a payment created at the gateway
    first = world.portal.validate_basket(MARTIN, "F1", lines, idempotency_key=KEY)
    assert first.payments
    held, messages = world.held(), world.outbox()
    again = world.portal.validate_basket(MARTIN, "F1", list(lines), idempotency_key=KEY)
    assert again == first  # the same payment to redirect to: no second one created
    assert [p.payment_id for p in again.payments] == [p.payment_id for p in first.payments]
    assert (world.held(), world.outbox()) == (held, messages)


def test_the_basket_key_given_to_other_lines_is_refused(world: Portal) -> None:
    world.portal.validate_basket(MARTIN, "F1", book("C1", "journee", HOLIDAY_MONDAY), idempotency_key=KEY)
    held = world.held()
    with pytest.raises(InvalidInput) as refused:
        world.portal.validate_basket(
            MARTIN, "F1", book("C1", "journee", dt.date(2026, 12, 22)), idempotency_key=KEY
        )
    assert refused.value.code == "input.idempotency_key_reused"
    assert world.held() == held


def test_a_request_s_key_cannot_replay_a_basket(world: Portal) -> None:
    world.portal.submit_request(MARTIN, "F1", "attestation-caf", FORM, idempotency_key=KEY)
    with pytest.raises(InvalidInput) as refused:
        world.portal.validate_basket(MARTIN, "F1", book("C1", "journee", HOLIDAY_MONDAY), idempotency_key=KEY)
    assert refused.value.details == {"key": KEY, "operation": "request"}


# -- failures: the key and what it submitted, both or neither ---------------------------------------


@pytest.mark.parametrize("fail_at", [1, 2, 3])  # the request's write, the key's, the commit
def test_a_failure_records_neither_the_key_nor_the_request(world: Portal, fail_at: int) -> None:
    failing = FailingStore(world.store, fail_at, commits=True)
    portal = FamilyPortal(
        failing, gateway=FakeGateway(), clock=FixedClock(NOW), accounts=MemoryAccountStore()
    )
    with pytest.raises((InjectedFault, Exception)):
        portal.submit_request(MARTIN, "F1", "attestation-caf", FORM, idempotency_key=KEY)
    assert world.requests() == []
    retried = world.portal.submit_request(MARTIN, "F1", "attestation-caf", FORM, idempotency_key=KEY)
    assert world.requests() == [retried.id]


# -- what a submission keeps ---------------------------------------------------------------------------


def test_a_result_is_read_back_only_as_the_library_s_own_values() -> None:
    class Intruder:
        def __reduce__(self) -> tuple[Callable[..., object], tuple[str]]:
            return (print, ("run",))

    forged = Submission("F1", KEY, "request", "0" * 64, encode_result(Intruder()), NOW)
    with pytest.raises(InvalidInput) as refused:
        replayed(forged, "request", "0" * 64, object)
    assert refused.value.code == "input.unreadable_submission"
    garbled = Submission("F1", KEY, "request", "0" * 64, b"not a result", NOW)
    with pytest.raises(InvalidInput):
        replayed(garbled, "request", "0" * 64, object)


# -- at once ---------------------------------------------------------------------------------------


def test_the_same_form_sent_at_once_from_several_tabs_is_one_request(world: Portal) -> None:
    start = threading.Barrier(6)

    def send() -> str:
        start.wait()
        return world.portal.submit_request(MARTIN, "F1", "attestation-caf", FORM, idempotency_key=KEY).id

    with ThreadPoolExecutor(6) as pool:
        answers = list(pool.map(lambda _: send(), range(6)))
    assert len(set(answers)) == 1
    assert world.requests() == answers[:1]


def test_a_result_of_another_kind_or_reaching_a_private_attribute_is_unreadable() -> None:
    basket_result = Submission("F1", KEY, "request", "0" * 64, encode_result(Money("1")), NOW)
    with pytest.raises(InvalidInput) as refused:
        replayed(basket_result, "request", "0" * 64, Request)
    assert refused.value.code == "input.unreadable_submission"

    class Reaching:  # a pickle asking for Money's private parts, which no result needs
        def __reduce__(self) -> tuple[Callable[..., object], tuple[object, str]]:
            return (getattr, (Money, "_private"))

    forged = Submission("F1", KEY, "request", "0" * 64, encode_result(Reaching()), NOW)
    with pytest.raises(InvalidInput):
        replayed(forged, "request", "0" * 64, object)


def test_bytes_cannot_call_a_function_of_the_library(tmp_path: Path) -> None:
    # A result is rebuilt from classes and their state: a stored pickle naming a function of the library
    # (here one that writes a file) or a class's public function attribute is refused, nothing is run.
    target = tmp_path / "written.txt"

    class Calling:
        def __reduce__(self) -> tuple[Callable[..., object], tuple[object, ...]]:
            return (write_bytes, (target, b"run"))

    class Reaching:
        def __reduce__(self) -> tuple[Callable[..., object], tuple[object, str]]:
            return (getattr, (Money, "format"))

    for intruder in (Calling(), Reaching()):
        forged = Submission("F1", KEY, "request", "0" * 64, encode_result(intruder), NOW)
        with pytest.raises(InvalidInput) as refused:
            replayed(forged, "request", "0" * 64, object)
        assert refused.value.code == "input.unreadable_submission"
    assert not target.exists()
    kept = Submission("F1", KEY, "request", "0" * 64, encode_result(Money("12.30")), NOW)
    assert replayed(kept, "request", "0" * 64, Money) == Money("12.30")
