"""The régisseur records a payment made at the counter: who may, how it is allocated, and what is saved.

Saint-Aubin-des-Prés, Thursday 26 November 2026 at 9:00. Claire Martin (F1) owes two October canteen
invoices at the régie enfance: 26,00 € due on 9 November (late) and 13,00 € due on 2 December. She brings a
cheque to the régie's desk.
"""

from __future__ import annotations

import datetime as dt

import pytest

from espacefamille.billing.documents import Allocation, Payment, PaymentMethod
from espacefamille.billing.payments import PaymentRefused
from espacefamille.errors import InvalidInput, NotFound, PermissionDenied
from espacefamille.families.accounts import Agent, AgentRole
from espacefamille.money import Money
from espacefamille.ports import UnitOfWork
from espacefamille.services import BackOffice, transact
from espacefamille.testing.faults import FailingStore, InjectedFault

from .test_services import MARTIN, World, make_world, october_meals

REGISSEUR = Agent("reg-1", "saint-aubin", AgentRole.REGISSEUR)
LATE = "FAC-enfance-2026-000001"  # 10 meals, 26,00 €, due 9 November
OPEN = "FAC-enfance-2026-000002"  # 5 meals, 13,00 €, due 2 December
CHEQUE = "chèque 0042"


def with_october_invoices(world: World) -> World:
    def owe(uow: UnitOfWork) -> None:
        uow.documents.save_invoice(october_meals(LATE, dt.date(2026, 11, 9), 10))
        uow.documents.save_invoice(october_meals(OPEN, dt.date(2026, 12, 2), 5))

    transact(world.store, owe)
    return world


@pytest.fixture
def world() -> World:
    return with_october_invoices(make_world())


def saved(world: World) -> tuple[tuple[Payment, ...], tuple[Allocation, ...], list[str]]:
    def read(uow: UnitOfWork) -> tuple[tuple[Payment, ...], tuple[Allocation, ...], list[str]]:
        events = [m.event.type_code for m in uow.outbox.all() if m.event.type_code == "payment.received"]
        return uow.documents.payments_of("F1"), uow.documents.allocations_of("F1"), events

    return world.read(read)


def test_a_cheque_over_two_invoices_settles_the_oldest_first(world: World) -> None:
    # Selected newest first: the allocation still goes to the invoice due first, never above what remains.
    record = world.office.record_payment(
        REGISSEUR, "F1", "enfance", [OPEN, LATE], Money("30.00"), PaymentMethod.CHEQUE, reference=CHEQUE
    )
    assert record.payment.number == "PAY-enfance-2026-000001"
    assert [(a.invoice_number, a.amount) for a in record.allocations] == [
        (LATE, Money("26.00")),
        (OPEN, Money("4.00")),
    ]
    assert record.ledger.remaining(LATE) == Money("0.00")
    assert record.ledger.remaining(OPEN) == Money("9.00")
    assert record.message_fr == (
        "Paiement PAY-enfance-2026-000001 de 30,00\u00a0€ enregistré : "
        f"facture {LATE} soldée ; facture {OPEN} : reste 9,00\u00a0€."
    )
    payments, allocations, events = saved(world)
    assert [(p.number, p.method, p.reference) for p in payments] == [
        ("PAY-enfance-2026-000001", PaymentMethod.CHEQUE, CHEQUE)
    ]
    assert set(allocations) == set(record.allocations)
    assert events == ["payment.received"]
    (invoice,) = world.portal.invoices_to_pay(MARTIN, "F1")
    assert (invoice.item.number, invoice.item.remaining) == (OPEN, Money("9.00"))


def test_the_same_cheque_recorded_twice_is_recorded_once(world: World) -> None:
    first = world.office.record_payment(
        REGISSEUR, "F1", "enfance", [LATE], Money("10.00"), PaymentMethod.CHEQUE, reference=CHEQUE
    )
    again = world.office.record_payment(
        REGISSEUR, "F1", "enfance", [LATE], Money("10.00"), PaymentMethod.CHEQUE, reference=CHEQUE
    )
    assert again.already_recorded
    assert again.payment == first.payment
    payments, _, events = saved(world)
    assert len(payments) == 1
    assert events == ["payment.received"]


@pytest.mark.parametrize("role", [AgentRole.ANIMATEUR, AgentRole.GESTIONNAIRE])
def test_an_agent_without_the_regie_role_is_refused(world: World, role: AgentRole) -> None:
    with pytest.raises(PermissionDenied) as refused:
        world.office.record_payment(
            Agent("ag-2", "saint-aubin", role), "F1", "enfance", [LATE], Money("26.00"), PaymentMethod.CASH
        )
    assert refused.value.code == "permission.role"
    assert saved(world) == ((), (), [])


def test_a_family_cannot_record_its_own_payment_at_the_counter(world: World) -> None:
    with pytest.raises(PermissionDenied) as refused:
        world.office.record_payment(MARTIN, "F1", "enfance", [LATE], Money("26.00"), PaymentMethod.CASH)
    assert refused.value.code == "permission.not_an_agent"
    assert saved(world) == ((), (), [])


def test_an_amount_above_what_remains_is_refused_and_nothing_is_saved(world: World) -> None:
    with pytest.raises(PaymentRefused) as refused:
        world.office.record_payment(
            REGISSEUR, "F1", "enfance", [LATE, OPEN], Money("40.00"), PaymentMethod.CHEQUE
        )
    assert refused.value.code == "payment.above_remaining"
    assert "39,00" in refused.value.message_fr
    assert saved(world) == ((), (), [])
    # The number was not used: the next payment gets the first one.
    record = world.office.record_payment(
        REGISSEUR, "F1", "enfance", [LATE, OPEN], Money("39.00"), PaymentMethod.CHEQUE
    )
    assert record.payment.number == "PAY-enfance-2026-000001"


def test_an_invoice_of_another_household_is_named_as_such(world: World) -> None:
    with pytest.raises(PaymentRefused) as refused:
        world.office.record_payment(REGISSEUR, "F2", "enfance", [LATE], Money("26.00"), PaymentMethod.CASH)
    assert refused.value.code == "payment.other_payer"
    with pytest.raises(PaymentRefused) as unknown:
        world.office.record_payment(
            REGISSEUR, "F1", "enfance", ["FAC-enfance-2026-999999"], Money("1.00"), PaymentMethod.CASH
        )
    assert unknown.value.code == "payment.unknown_invoice"
    with pytest.raises(NotFound):
        world.office.record_payment(REGISSEUR, "F9", "enfance", [LATE], Money("1.00"), PaymentMethod.CASH)
    assert saved(world) == ((), (), [])


def test_an_online_payment_is_not_recorded_at_the_counter(world: World) -> None:
    with pytest.raises(InvalidInput) as refused:
        world.office.record_payment(REGISSEUR, "F1", "enfance", [LATE], Money("26.00"), PaymentMethod.ONLINE)
    assert refused.value.code == "payment.method"


def test_a_counter_payment_is_written_whole_or_not_at_all() -> None:
    failed = []
    for fail_at in range(1, 10):
        world = with_october_invoices(make_world())
        office = BackOffice(FailingStore(world.store, fail_at), clock=world.clock)
        try:
            office.record_payment(
                REGISSEUR, "F1", "enfance", [LATE, OPEN], Money("30.00"), PaymentMethod.CASH
            )
        except InjectedFault as fault:
            failed.append(fault.operation)
            assert saved(world) == ((), (), [])
        else:
            payments, allocations, events = saved(world)
            assert (len(payments), len(allocations), events) == (1, 2, ["payment.received"])
            break
    assert failed == [
        "documents.save_payment",
        "documents.save_allocations",
        "documents.save_numbering",
        "outbox.add",
    ]
