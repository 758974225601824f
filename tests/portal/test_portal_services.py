"""The service calls the reference portal needed, on every store (memory, SQLite, PostgreSQL).

The example commune on Thursday 26 November 2026 at 9:00 (``tests/unit/test_services.py``'s world): Léa
Martin (F1) eats at the canteen, billed at month end; Hugo Durand is in another household (F2).
"""

from __future__ import annotations

import datetime as dt
import importlib
from collections.abc import Callable, Iterator
from pathlib import Path

import attrs
import pytest

from espacefamille.adapters.fake_gateway import FakeGateway
from espacefamille.adapters.memory import MemoryAccountStore, MemoryStore
from espacefamille.adapters.postgres import PostgresStore
from espacefamille.adapters.sqlite import SqliteStore
from espacefamille.billing.online import PaymentStatus
from espacefamille.calendar.opening import Closure, ClosureReason
from espacefamille.calendar.periods import DateRange, Weekday
from espacefamille.errors import InvalidInput, NotFound, PermissionDenied
from espacefamille.examples import example_commune
from espacefamille.families.accounts import Agent, AgentRole
from espacefamille.families.events import AccountActivated
from espacefamille.model import BookingStatus, Child, Enrolment, Family, Guardian, QuotientFamilial
from espacefamille.money import Money
from espacefamille.ports import CommuneStore, FixedClock
from espacefamille.rules.attendance import AttendanceFact, AttendanceStatus
from espacefamille.rules.basket import Action, BasketLine, Outcome
from espacefamille.services import BackOffice, FamilyPortal
from tests import postgres_server
from tests.unit.test_services import AGENT, DECEMBER_MEALS, DURAND, MARTIN, NOW, PARIS, YEAR, book

DECEMBER = DateRange(dt.date(2026, 12, 1), dt.date(2026, 12, 18))
SCHOOL_DAYS = (Weekday.MONDAY, Weekday.TUESDAY, Weekday.THURSDAY, Weekday.FRIDAY)
ANIMATEUR = Agent("agent-2", "saint-aubin", AgentRole.ANIMATEUR)


@attrs.frozen
class World:
    store: CommuneStore
    clock: FixedClock
    gateway: FakeGateway
    portal: FamilyPortal
    office: BackOffice


def _memory(_: Path) -> Iterator[CommuneStore]:
    yield MemoryStore()


def _sqlite(tmp_path: Path) -> Iterator[CommuneStore]:
    yield SqliteStore(tmp_path / "commune.sqlite")


def _postgres(_: Path) -> Iterator[CommuneStore]:
    with postgres_server.pool("portal_services", size=2) as pool:
        yield PostgresStore(pool, postgres_server.collectivite_id("portal"))


STORES: dict[str, Callable[[Path], Iterator[CommuneStore]]] = {
    "memory": _memory,
    "sqlite": _sqlite,
    "postgres": _postgres,
}


@pytest.fixture(params=sorted(STORES))
def world(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[World]:
    for store in STORES[request.param](tmp_path):
        yield _seeded(store)


def _seeded(store: CommuneStore) -> World:
    with store.unit_of_work() as uow:
        uow.save_commune(example_commune())
        uow.commit()
    clock, gateway, accounts = FixedClock(NOW), FakeGateway(), MemoryAccountStore()
    portal = FamilyPortal(store, gateway=gateway, clock=clock, accounts=accounts)
    office = BackOffice(store, clock=clock, accounts=accounts)
    qf = [QuotientFamilial(800, dt.date(2026, 9, 1))]
    for family_id, child_id, first, last in (("F1", "C1", "Léa", "Martin"), ("F2", "C3", "Hugo", "Durand")):
        guardian = Guardian(f"G{family_id[1]}", "Claire", last, email=f"{last.lower()}@example.fr")
        office.register_family(
            AGENT,
            Family(family_id, last, [guardian], guardian.id, quotients=qf),
            [Child(child_id, first, last, dt.date(2018, 3, 14), [family_id])],
        )
        office.enrol_child(AGENT, Enrolment(f"E-{child_id}", child_id, family_id, "cantine", YEAR))
    return World(store, clock, gateway, portal, office)


def test_the_portal_opens_on_the_communes_today_and_names_the_household(world: World) -> None:
    world.clock.instant = dt.datetime(2026, 11, 29, 23, 30, tzinfo=dt.UTC)  # Monday 0:30 in Paris
    assert world.portal.today() == dt.date(2026, 11, 30)
    martin = world.portal.household(MARTIN, "F1")
    assert (martin.name, [g.first_name for g in martin.guardians]) == ("Martin", ["Claire"])
    with pytest.raises(PermissionDenied):
        world.portal.household(MARTIN, "F2")


def test_a_period_becomes_basket_lines_for_the_households_own_child_only(world: World) -> None:
    expansion = world.portal.period_lines(MARTIN, "F1", "C1", "repas", DECEMBER, SCHOOL_DAYS)
    assert [line.day.day for line in expansion.lines] == [1, 3, 4, 7, 8, 10, 11, 14, 15, 17]
    assert [day for _, day, _ in expansion.skipped] == [dt.date(2026, 12, 18)]  # the canteen's last day
    assert {line.action for line in expansion.lines} == {Action.BOOK}
    cancel = world.portal.period_lines(
        MARTIN, "F1", "C1", "repas", DECEMBER, [Weekday.MONDAY], action=Action.CANCEL
    )
    assert [(line.action, line.day.day) for line in cancel.lines] == [(Action.CANCEL, d) for d in (7, 14)]
    for actor, family_id, child_id in ((MARTIN, "F1", "C3"), (MARTIN, "F2", "C3"), (DURAND, "F2", "C1")):
        with pytest.raises(PermissionDenied) as refused:
            world.portal.period_lines(actor, family_id, child_id, "repas", DECEMBER, SCHOOL_DAYS)
        assert refused.value.code in ("permission.other_family", "permission.other_commune")
    with pytest.raises(NotFound):
        world.portal.period_lines(MARTIN, "F1", "C1", "piscine", DECEMBER, SCHOOL_DAYS)


def test_a_basket_preview_prices_and_judges_its_lines_and_writes_nothing(world: World) -> None:
    lines = [*book("C1", "repas", dt.date(2026, 12, 1), dt.date(2026, 11, 27))]
    preview = world.portal.preview_basket(MARTIN, "F1", lines)
    first, late = preview.lines
    assert (first.amount, first.payable_now) == (Money("2.60"), False)
    assert first.decision.deadline is not None
    assert (late.decision.outcome, late.amount) == (Outcome.ACCEPTED_WITH_SURCHARGE, Money("3.12"))
    assert "délai expiré le mardi 24 novembre 2026 à 11 h 00" in late.decision.message_fr
    assert preview.invoiced_later == Money("5.72")
    with world.store.unit_of_work() as uow:
        assert uow.bookings.of_family("F1", DECEMBER) == ()
    outcome = world.portal.validate_basket(MARTIN, "F1", lines)
    assert outcome.preview.lines == preview.lines
    with pytest.raises(PermissionDenied):
        world.portal.preview_basket(MARTIN, "F1", book("C3", "repas", dt.date(2026, 12, 1)))
    with pytest.raises(InvalidInput):
        world.portal.preview_basket(MARTIN, "F1", [])


def test_a_payments_result_and_the_paid_invoices_are_read_back_from_the_store(world: World) -> None:
    world.portal.validate_basket(MARTIN, "F1", book("C1", "repas", *DECEMBER_MEALS))
    world.clock.instant = dt.datetime(2027, 1, 4, 8, 0, tzinfo=PARIS)
    world.office.run_month_end(AGENT, "enfance", DateRange.month(2026, 12))
    assert world.portal.paid_invoices(MARTIN, "F1") == ()
    (view,) = world.portal.invoices_to_pay(MARTIN, "F1")
    attempt = world.portal.pay_invoices(MARTIN, "F1", [view.item.number])
    pending = world.portal.payment(MARTIN, "F1", attempt.payment_id)
    assert (pending.status, pending.recorded) == (PaymentStatus.PENDING, None)
    assert "en cours" in pending.message_fr
    world.gateway.pay(attempt.payment_id, world.clock.now() + dt.timedelta(minutes=2))
    world.clock.advance(dt.timedelta(minutes=3))
    world.portal.payment_notification(world.gateway.notification(attempt.payment_id))
    paid = world.portal.payment(MARTIN, "F1", attempt.payment_id)
    assert paid.code == "payment.paid"
    assert paid.message_fr == (
        f"Paiement de 26,00\u00a0€ reçu (référence {attempt.reference}) : Facture {view.item.number} soldée."
    )
    assert [i.number for i in world.portal.paid_invoices(MARTIN, "F1")] == [view.item.number]
    for actor, family_id, payment_id in ((DURAND, "F2", attempt.payment_id), (MARTIN, "F1", "inconnu")):
        with pytest.raises(NotFound) as unknown:
            world.portal.payment(actor, family_id, payment_id)
        assert unknown.value.message_fr == "Ce paiement est inconnu."
    with pytest.raises(PermissionDenied):
        world.portal.payment(DURAND, "F1", attempt.payment_id)


def test_an_agent_reads_the_families_the_days_sheet_and_the_outbox(world: World) -> None:
    assert [f.name for f in world.office.families(AGENT)] == ["Durand", "Martin"]
    day = dt.date(2026, 12, 1)
    world.portal.validate_basket(MARTIN, "F1", book("C1", "repas", day))
    world.portal.validate_basket(DURAND, "F2", book("C3", "repas", day))
    sheet = world.office.attendance_sheet(ANIMATEUR, "cantine", day)
    assert [(line.child.first_name, line.status) for line in sheet] == [("Hugo", None), ("Léa", None)]
    world.office.record_attendance(ANIMATEUR, [AttendanceFact("C1", "repas", day, AttendanceStatus.PRESENT)])
    sheet = world.office.attendance_sheet(ANIMATEUR, "cantine", day)
    assert [line.status for line in sheet] == [None, AttendanceStatus.PRESENT]
    assert all(line.booking.status is BookingStatus.BOOKED for line in sheet)
    assert world.office.attendance_sheet(ANIMATEUR, "cantine", dt.date(2026, 12, 2)) == ()

    world.office.activate_family_account(AGENT, "F1", "G1", link_base="https://portail.example/activer")
    (newest,) = world.office.outbox(AGENT, limit=1)
    assert isinstance(newest.event, AccountActivated)
    assert len(world.office.outbox(AGENT)) > 1
    for call in (
        lambda: world.office.outbox(ANIMATEUR),
        lambda: world.office.outbox(MARTIN),
        lambda: world.office.families(MARTIN),
        lambda: world.office.attendance_sheet(MARTIN, "cantine", day),
    ):
        with pytest.raises(PermissionDenied):
            call()
    with pytest.raises(InvalidInput):
        world.office.outbox(AGENT, limit=-1)
    with pytest.raises(InvalidInput):
        world.office.attendance_sheet(ANIMATEUR, "cantine", "2026-12-01")  # type: ignore[arg-type]
    with pytest.raises(NotFound):
        world.office.attendance_sheet(ANIMATEUR, "piscine", day)


def test_the_basket_lines_of_a_period_skip_the_commune_closures(world: World) -> None:
    strike = Closure(DateRange(dt.date(2026, 12, 3), dt.date(2026, 12, 3)), ClosureReason.STRIKE)
    world.office.declare_closure(AGENT, "cantine", strike)
    expansion = world.portal.period_lines(MARTIN, "F1", "C1", "repas", DECEMBER, SCHOOL_DAYS)
    assert dt.date(2026, 12, 3) not in [line.day for line in expansion.lines]
    assert [day for _, day, _ in expansion.skipped if day.month == 12 and day.day == 3] == [
        dt.date(2026, 12, 3)
    ]


def test_every_new_call_refuses_a_line_of_another_commune(world: World) -> None:
    stranger = Agent("agent-9", "autre-ville", AgentRole.ADMINISTRATEUR)
    line = BasketLine(Action.BOOK, "C1", "repas", dt.date(2026, 12, 1))
    for call in (
        lambda: world.portal.household(stranger, "F1"),
        lambda: world.portal.preview_basket(stranger, "F1", [line]),
        lambda: world.portal.paid_invoices(stranger, "F1"),
        lambda: world.office.families(stranger),
    ):
        with pytest.raises(PermissionDenied) as refused:
            call()
        assert refused.value.code == "permission.other_commune"


def test_the_request_forms_an_invoices_pdf_and_a_childs_ics_are_the_households_own(world: World) -> None:
    assert [c.id for c in world.portal.request_categories(MARTIN, "F1")]
    world.portal.validate_basket(MARTIN, "F1", book("C1", "repas", *DECEMBER_MEALS))
    ics = world.portal.bookings_ical(MARTIN, "C1", DateRange.month(2026, 12))
    assert ics.count(b"BEGIN:VEVENT") == len(DECEMBER_MEALS)
    with pytest.raises(PermissionDenied):
        world.portal.bookings_ical(MARTIN, "C3", DateRange.month(2026, 12))
    world.clock.instant = dt.datetime(2027, 1, 4, 8, 0, tzinfo=PARIS)
    world.office.run_month_end(AGENT, "enfance", DateRange.month(2026, 12))
    (view,) = world.portal.invoices_to_pay(MARTIN, "F1")
    assert world.portal.invoice_pdf(MARTIN, "F1", view.item.number).startswith(b"%PDF")
    with pytest.raises(NotFound):
        world.portal.invoice_pdf(DURAND, "F2", view.item.number)
    with pytest.raises(PermissionDenied):
        world.portal.request_categories(DURAND, "F1")


def test_a_document_whose_extra_is_not_installed_is_refused_in_french(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    def missing(name: str) -> object:
        raise ImportError(name)

    monkeypatch.setattr(importlib, "import_module", missing)
    with pytest.raises(InvalidInput) as refused:
        world.portal.bookings_ical(MARTIN, "C1", DateRange.month(2026, 12))
    assert (refused.value.code, refused.value.message_fr) == (
        "ical.unavailable",
        "Ce document n'est pas disponible ici.",
    )


def test_a_paid_basket_says_what_it_confirmed_and_a_refused_payment_that_nothing_was_taken(
    world: World,
) -> None:
    world.office.enrol_child(AGENT, Enrolment("E-C1-alsh", "C1", "F1", "alsh", YEAR))
    outcome = world.portal.validate_basket(MARTIN, "F1", book("C1", "journee", dt.date(2026, 12, 21)))
    (attempt,) = outcome.payments
    world.gateway.pay(attempt.payment_id, world.clock.now() + dt.timedelta(minutes=2))
    world.clock.advance(dt.timedelta(minutes=3))
    world.portal.payment_notification(world.gateway.notification(attempt.payment_id))
    view = world.portal.payment(MARTIN, "F1", attempt.payment_id)
    assert view.message_fr == (
        f"Paiement de 12,00\u00a0€ reçu (référence {attempt.reference}) : 1 réservation confirmée."
    )

    world.portal.validate_basket(MARTIN, "F1", book("C1", "repas", *DECEMBER_MEALS))
    world.clock.instant = dt.datetime(2027, 1, 4, 8, 0, tzinfo=PARIS)
    world.office.run_month_end(AGENT, "enfance", DateRange.month(2026, 12))
    (to_pay,) = world.portal.invoices_to_pay(MARTIN, "F1")
    refused = world.portal.pay_invoices(MARTIN, "F1", [to_pay.item.number])
    world.gateway.refuse(refused.payment_id, world.clock.now() + dt.timedelta(minutes=1))
    world.clock.advance(dt.timedelta(minutes=2))
    world.portal.payment_notification(world.gateway.notification(refused.payment_id))
    view = world.portal.payment(MARTIN, "F1", refused.payment_id)
    assert (view.status, view.code) == (PaymentStatus.REFUSED, "payment.refused")
    assert view.message_fr == f"Paiement {refused.reference} : refusé, rien n'a été débité."
