"""Test-data builders: small, valid values of a commune's records (Saint-Aubin's families F1 and F2,
their children, invoices, payments…), for the conformance kit, the docs and any store's own tests."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from decimal import Decimal

from espacefamille.billing.documents import (
    DocumentKind,
    Invoice,
    InvoiceLine,
    Payment,
    PaymentMethod,
)
from espacefamille.billing.invoicing import CarriedBalance
from espacefamille.billing.online import CreatedPayment, PaymentAttempt
from espacefamille.calendar.periods import DateRange
from espacefamille.families.accounts import Activation, token_hash
from espacefamille.families.events import (
    InvoiceIssued,
    OutboxMessage,
)
from espacefamille.families.requests import Actor, EventKind, Request, RequestEvent, RequestStatus
from espacefamille.model import Booking, BookingStatus, Child, Family, Guardian
from espacefamille.money import ZERO, Money
from espacefamille.ports import UnitOfWork

__all__ = [
    "BOOKED_AT",
    "MONDAY",
    "NOVEMBER",
    "PARIS",
    "activation",
    "attempt",
    "booking",
    "carried",
    "child",
    "family",
    "invoice",
    "message",
    "payment",
    "submitted_request",
]

PARIS = zoneinfo.ZoneInfo("Europe/Paris")
# The week of Armistice 2026: Wednesday 11 November is a public holiday.
MONDAY = dt.date(2026, 11, 9)
NOVEMBER = DateRange.month(2026, 11)
BOOKED_AT = dt.datetime(2026, 10, 20, 18, 30, tzinfo=PARIS)


def family(family_id: str, name: str = "Martin") -> Family:
    guardian = Guardian(f"{family_id}-g1", "Camille", name, email="camille@example.fr")
    return Family(family_id, f"Foyer {name}", (guardian,), guardian.id)


def child(child_id: str, *family_ids: str) -> Child:
    return Child(child_id, "Léa", "Martin", dt.date(2018, 5, 14), family_ids)


def booking(
    child_id: str,
    family_id: str,
    day: dt.date = MONDAY,
    prestation_id: str = "repas",
    status: BookingStatus = BookingStatus.BOOKED,
) -> Booking:
    return Booking(child_id, prestation_id, day, family_id, status, BOOKED_AT)


def _save_invoice(uow: UnitOfWork, document: Invoice) -> None:
    uow.documents.save_invoice(document)


def invoice(number: str, family_id: str, cents: int = 1_234) -> Invoice:
    line = InvoiceLine(
        "C1",
        "repas",
        "Repas de novembre",
        "attendance.present",
        (MONDAY,),
        quantity=Decimal(1),
        unit_price=Money.from_cents(cents).amount,
        total=Money.from_cents(cents),
    )
    return Invoice(
        number,
        "enfance",
        family_id,
        DocumentKind.INVOICE,
        NOVEMBER,
        dt.date(2026, 12, 1),
        dt.date(2026, 12, 15),
        (line,),
    )


def payment(number: str, family_id: str, cents: int = 1_234) -> Payment:
    return Payment(
        number,
        "enfance",
        family_id,
        Money.from_cents(cents),
        dt.datetime(2026, 12, 3, 9, 15, tzinfo=PARIS),
        PaymentMethod.ONLINE,
        "PAYFIP-1",
    )


def carried(family_id: str, regie_id: str, amount: Money, *days: dt.date) -> CarriedBalance:
    """A balance below the threshold: one line of meals on ``days`` (one line a day) worth ``amount``."""
    lines = [
        InvoiceLine(
            "C1" if family_id == "F1" else "C2",
            "repas",
            "Restauration scolaire",
            "attendance.present",
            (day,),
            Decimal(1),
            Decimal("2.60"),
            amount if index == 0 else ZERO,
        )
        for index, day in enumerate(days)
    ]
    return CarriedBalance(family_id, regie_id, lines)


def attempt(payment_id: str, family_id: str) -> PaymentAttempt:
    """A PayFiP payment of 26,00 € for a December invoice, created on 4 January 2027, valid 15 minutes."""
    created_at = dt.datetime(2027, 1, 4, 9, 0, tzinfo=PARIS)
    created = CreatedPayment(
        payment_id,
        f"https://www.tipi.budget.gouv.fr/tpa/paiement.web?idop={payment_id}",
        Money("26.00"),
        f"REF-{payment_id}",
        "claire@example.fr",
        created_at,
        created_at + dt.timedelta(minutes=15),
    )
    return PaymentAttempt(created, "enfance", family_id, ["FAC-enfance-2027-000001"])


def message(message_id: str, family_id: str, number: str = "FAC-enfance-2026-000001") -> OutboxMessage:
    event = InvoiceIssued(
        "saint-aubin",
        family_id,
        dt.datetime(2026, 12, 1, 8, 0, tzinfo=PARIS),
        "enfance",
        number,
        Money("12.34"),
        dt.date(2026, 12, 15),
    )
    return OutboxMessage(message_id, event)


def submitted_request(request_id: str, family_id: str) -> Request:
    event = RequestEvent(
        dt.datetime(2026, 11, 2, 10, 0, tzinfo=PARIS),
        Actor.family(family_id),
        EventKind.SUBMITTED,
        None,
        RequestStatus.SUBMITTED,
    )
    return Request(request_id, family_id, "attestation-caf", {"du": MONDAY}, (event,))


def activation(activation_id: str, token: str) -> Activation:
    issued = dt.datetime(2026, 9, 1, 9, 0, tzinfo=PARIS)
    return Activation(
        activation_id,
        "saint-aubin",
        "F1",
        "F1-g1",
        token_hash(token),
        issued,
        issued + dt.timedelta(days=14),
        "agent-1",
    )
