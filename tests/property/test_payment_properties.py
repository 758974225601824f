"""Conservation of money in payments, credits and prepaid holds, for any amounts and instants."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from espacefamille.billing.documents import DocumentKind, Invoice, InvoiceLine
from espacefamille.billing.payments import (
    BillingLedger,
    PaymentOrder,
    apply_credit_notes,
    record_payment,
    refund_credit,
)
from espacefamille.billing.prepaid import (
    amount_to_pay,
    cancellation_credits,
    confirm_payment,
    expired_holds,
)
from espacefamille.calendar.periods import DateRange
from espacefamille.errors import InvalidInput
from espacefamille.examples import example_commune
from espacefamille.model import BookingStatus, Child, Enrolment, Family, Guardian, QuotientFamilial
from espacefamille.money import ZERO, Money
from espacefamille.rules.basket import Action, BasketContext, BasketLine, evaluate_basket

PARIS = ZoneInfo("Europe/Paris")
TODAY = dt.date(2026, 11, 20)
AT = dt.datetime(2026, 11, 20, 21, 15, tzinfo=PARIS)
COMMUNE = example_commune()

totals = st.integers(min_value=1, max_value=500_000)


def invoice(index: int, cents: int, due: dt.date, kind: DocumentKind = DocumentKind.INVOICE) -> Invoice:
    amount = Money.from_cents(cents)
    line = InvoiceLine("C1", "repas", "Repas", "attendance.present", [], Decimal(1), amount.amount, amount)
    prefix = "AV" if kind is DocumentKind.CREDIT_NOTE else "FAC"
    return Invoice(
        f"{prefix}-enfance-2026-{index:06d}",
        "enfance",
        "F1",
        kind,
        DateRange(dt.date(2026, 10, 1), dt.date(2026, 10, 31)),
        dt.date(2026, 11, 2),
        due,
        [line],
    )


@st.composite
def ledgers(draw: st.DrawFn) -> BillingLedger:
    cents = draw(st.lists(totals, min_size=1, max_size=6))
    dues = draw(st.lists(st.integers(0, 40), min_size=len(cents), max_size=len(cents)))
    return BillingLedger(
        invoice(i + 1, c, TODAY + dt.timedelta(days=d))
        for i, (c, d) in enumerate(zip(cents, dues, strict=True))
    )


def order(ledger: BillingLedger, cents: int, reference: str = "") -> PaymentOrder:
    numbers = [i.number for i in ledger.invoices if ledger.remaining(i.number)]
    return PaymentOrder("enfance", "F1", numbers, Money.from_cents(cents), AT, reference=reference)


def open_total(ledger: BillingLedger) -> int:
    return sum(ledger.remaining(i.number).cents for i in ledger.invoices if not i.is_credit_note)


@given(ledgers(), st.lists(st.integers(1, 1_000_000), min_size=1, max_size=5))
def test_allocations_sum_to_each_payment_and_no_invoice_is_paid_beyond_its_total(
    ledger: BillingLedger, wishes: list[int]
) -> None:
    for index, wish in enumerate(wishes):
        left = open_total(ledger)
        if not left:
            break
        amount = min(wish, left)
        record = record_payment(ledger, order(ledger, amount, f"REF-{index}"), TODAY)
        assert Money.total(a.amount for a in record.allocations) == Money.from_cents(amount)
        ledger = record.ledger
        for invoice_ in ledger.invoices:
            assert ZERO <= ledger.paid(invoice_.number) <= invoice_.total
            assert not ledger.remaining(invoice_.number).is_negative
        assert open_total(ledger) == left - amount


@given(ledgers(), st.integers(1, 1_000_000))
def test_a_payment_above_what_remains_is_refused_and_allocates_nothing(
    ledger: BillingLedger, extra: int
) -> None:
    with pytest.raises(InvalidInput):
        record_payment(ledger, order(ledger, open_total(ledger) + extra), TODAY)


@given(ledgers(), st.integers(1, 1_000_000))
def test_recording_a_payment_twice_is_the_same_as_once(ledger: BillingLedger, wish: int) -> None:
    notification = order(ledger, min(wish, open_total(ledger)), "PAYFIP-42")
    once = record_payment(ledger, notification, TODAY)
    twice = record_payment(once.ledger, notification, TODAY)
    assert twice.already_recorded
    assert twice.ledger == once.ledger
    assert twice.allocations == once.allocations


@given(ledgers(), totals, st.integers(0, 1_000_000))
def test_a_credit_never_goes_negative_when_applied_then_refunded(
    ledger: BillingLedger, credit_cents: int, refund_wish: int
) -> None:
    note = invoice(900, -credit_cents, TODAY, DocumentKind.CREDIT_NOTE)
    applied = apply_credit_notes(ledger.add_invoices([note])).ledger
    left = applied.remaining(note.number)
    assert not left.is_negative
    assert left == Money.from_cents(max(0, credit_cents - open_total(ledger)))
    for invoice_ in applied.invoices:
        assert not applied.remaining(invoice_.number).is_negative
    amount = Money.from_cents(refund_wish)
    if ZERO < amount <= left:
        after = refund_credit(applied, note.number, AT, today=AT.date(), amount=amount).ledger
        assert after.remaining(note.number) == left - amount
    else:
        with pytest.raises(InvalidInput):
            refund_credit(applied, note.number, AT, today=AT.date(), amount=amount)


# -- prepaid ---------------------------------------------------------------------------------

YEAR = DateRange(dt.date(2026, 9, 1), dt.date(2027, 8, 31))
BASKET_AT = dt.datetime(2026, 11, 5, 10, 0, tzinfo=PARIS)
LEA = Child("C1", "Léa", "Martin", dt.date(2018, 3, 14), ["F1"])
TOM = Child("C2", "Tom", "Martin", dt.date(2020, 6, 2), ["F1"])
CHILDREN = (LEA, TOM)
ENROLMENTS = [Enrolment(f"E-{c.id}", c.id, "F1", "alsh", YEAR) for c in CHILDREN]
HOLIDAY_DAYS = [dt.date(2026, 12, 21), dt.date(2026, 12, 22), dt.date(2026, 12, 23)]
quotients = st.integers(min_value=0, max_value=3000)


def family(quotient: int) -> Family:
    return Family(
        "F1",
        "Martin",
        [Guardian("G1", "Claire", "Martin")],
        "G1",
        quotients=[QuotientFamilial(quotient, YEAR.start)],
    )


@given(st.integers(0, 24 * 60), st.integers(1, 120), st.sets(st.sampled_from(HOLIDAY_DAYS), min_size=1))
def test_a_hold_paid_in_time_is_confirmed_and_a_hold_past_its_time_is_released(
    minutes: int, hold_minutes: int, days: set[dt.date]
) -> None:
    hold = dt.timedelta(minutes=hold_minutes)
    lines = [BasketLine(Action.BOOK, "C1", "journee", day) for day in sorted(days)]
    result = evaluate_basket(BasketContext(COMMUNE, family(808), CHILDREN, ENROLMENTS), lines, BASKET_AT)
    to_pay = amount_to_pay(COMMUNE, family(808), CHILDREN, result, hold=hold)
    paid_at = BASKET_AT + dt.timedelta(minutes=minutes)
    confirmation = confirm_payment(to_pay, result.bookings.values(), to_pay.total, paid_at, hold=hold)
    in_time = minutes < hold_minutes
    assert confirmation.confirmed is in_time
    assert (expired_holds(result.bookings.values(), paid_at, hold) == ()) is in_time
    if in_time:
        assert {b.status for b in confirmation.bookings} == {BookingStatus.BOOKED}
        assert Money.total(b.paid or ZERO for b in confirmation.bookings) == to_pay.total
    else:
        assert confirmation.refund_due == to_pay.total
        assert {b.status for b in confirmation.bookings} == {BookingStatus.HELD}


@given(quotients, quotients, st.sets(st.sampled_from(HOLIDAY_DAYS), min_size=1), st.booleans())
def test_the_credit_of_a_cancelled_prepaid_booking_is_what_was_paid_even_after_prices_change(
    before: int, after: int, days: set[dt.date], with_block: bool
) -> None:
    lines = [BasketLine(Action.BOOK, "C1", "journee", day) for day in sorted(days)]
    if with_block:
        lines.append(BasketLine(Action.BOOK, "C2", "stage_semaine", HOLIDAY_DAYS[0]))
    held = evaluate_basket(BasketContext(COMMUNE, family(before), CHILDREN, ENROLMENTS), lines, BASKET_AT)
    to_pay = amount_to_pay(COMMUNE, family(before), CHILDREN, held)
    confirmation = confirm_payment(to_pay, held.bookings.values(), to_pay.total, BASKET_AT)
    paid = {b.key: b.paid for b in confirmation.bookings}
    # The family's QF changes (so would today's price); then it cancels everything in time.
    cancels = [attrs.evolve(line, action=Action.CANCEL) for line in lines]
    later = BASKET_AT + dt.timedelta(days=1)
    cancelled = evaluate_basket(
        BasketContext(COMMUNE, family(after), CHILDREN, ENROLMENTS),
        cancels,
        later,
        bookings=confirmation.bookings,
    )
    entries = cancellation_credits(COMMUNE, cancelled)
    assert {e.booking.key: e.amount for e in entries} == paid
    assert Money.total(e.amount for e in entries) == to_pay.total
    assert all(not e.amount.is_negative for e in entries)
