"""Paying invoices at the régie enfance: a selection paid at once, credit notes, refunds, imports."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from espacefamille.billing.documents import (
    Allocation,
    DocumentKind,
    Invoice,
    InvoiceLine,
    Numbering,
    Payment,
    PaymentMethod,
    Series,
)
from espacefamille.billing.payments import (
    BillingLedger,
    Hold,
    PaymentOrder,
    PaymentRefused,
    apply_credit_notes,
    available_credits,
    check_payment,
    import_invoice,
    invoices_to_pay,
    issue_credit_note,
    number_payment,
    payment_order,
    receive_payment,
    record_payment,
    refund_credit,
)
from espacefamille.calendar.periods import DateRange
from espacefamille.errors import InvalidInput, NotFound
from espacefamille.money import Money

PARIS = ZoneInfo("Europe/Paris")
OCTOBER = DateRange(dt.date(2026, 10, 1), dt.date(2026, 10, 31))
NOVEMBER = DateRange(dt.date(2026, 11, 1), dt.date(2026, 11, 30))


def invoice(
    number: str,
    total: str,
    due_on: dt.date,
    *,
    family: str = "F1",
    regie: str = "enfance",
    kind: DocumentKind = DocumentKind.INVOICE,
    direct_debit_on: dt.date | None = None,
) -> Invoice:
    amount = Money(total)
    line = InvoiceLine("C1", "repas", "Repas", "attendance.present", [], Decimal(1), amount.amount, amount)
    return Invoice(
        number,
        regie,
        family,
        kind,
        OCTOBER,
        dt.date(2026, 11, 2),
        due_on,
        [line],
        direct_debit_on=direct_debit_on,
    )


OCT = invoice("FAC-enfance-2026-000041", "42.50", dt.date(2026, 11, 30))  # due Monday 30 November
NOV = invoice("FAC-enfance-2026-000057", "30.00", dt.date(2026, 12, 31))
LEDGER = BillingLedger([NOV, OCT])
TODAY = dt.date(2026, 11, 20)
AT = dt.datetime(2026, 11, 20, 21, 15, tzinfo=PARIS)


def order(numbers: list[str], amount: str, **changes: object) -> PaymentOrder:
    fields: dict[str, object] = {
        "regie_id": "enfance",
        "family_id": "F1",
        "invoice_numbers": numbers,
        "amount": Money(amount),
        "received_at": AT,
    }
    fields.update(changes)
    return PaymentOrder(**fields)  # type: ignore[arg-type]


def test_a_payment_of_two_selected_invoices_settles_both_and_is_numbered() -> None:
    record = record_payment(LEDGER, order([NOV.number, OCT.number], "72.50", reference="PAYFIP-1"), TODAY)
    assert record.payment.number == "PAY-enfance-2026-000001"
    assert [(a.invoice_number, a.amount) for a in record.allocations] == [
        (OCT.number, Money("42.50")),
        (NOV.number, Money("30.00")),
    ]
    assert record.ledger.remaining(OCT.number) == Money(0)
    assert record.ledger.remaining(NOV.number) == Money(0)
    assert record.message_fr.replace("\u202f", " ").replace("\xa0", " ") == (
        "Paiement PAY-enfance-2026-000001 de 72,50 € enregistré : facture FAC-enfance-2026-000041 soldée ; "
        "facture FAC-enfance-2026-000057 soldée."
    )


def test_a_partial_payment_goes_to_the_oldest_due_invoice_first() -> None:
    record = record_payment(LEDGER, order([NOV.number, OCT.number], "50.00"), TODAY)
    assert record.ledger.remaining(OCT.number) == Money(0)
    assert record.ledger.remaining(NOV.number) == Money("22.50")
    listed = invoices_to_pay(record.ledger, "F1", TODAY)
    assert [(i.number, i.remaining) for i in listed] == [(NOV.number, Money("22.50"))]


def test_same_due_date_is_ordered_by_number() -> None:
    first = invoice("FAC-enfance-2026-000003", "10.00", dt.date(2026, 11, 30))
    second = invoice("FAC-enfance-2026-000002", "10.00", dt.date(2026, 11, 30))
    record = record_payment(
        BillingLedger([first, second]), order([first.number, second.number], "5.00"), TODAY
    )
    assert [a.invoice_number for a in record.allocations] == ["FAC-enfance-2026-000002"]


def test_an_invoice_past_its_due_date_cannot_be_paid_online() -> None:
    with pytest.raises(PaymentRefused) as caught:
        record_payment(LEDGER, order([OCT.number], "42.50"), dt.date(2026, 12, 1))
    assert caught.value.code == "payment.past_due"
    assert caught.value.message_fr == (
        "Paiement impossible : la facture FAC-enfance-2026-000041 "
        "était à régler avant le lundi 30 novembre 2026."
    )
    # On its due date it still can; at the régie's counter, by cheque, even later.
    assert check_payment(LEDGER, order([OCT.number], "42.50"), dt.date(2026, 11, 30)) == ()
    late_cheque = order([OCT.number], "42.50", method=PaymentMethod.CHEQUE)
    assert record_payment(LEDGER, late_cheque, dt.date(2026, 12, 1)).ledger.remaining(OCT.number) == Money(0)


def test_a_direct_debit_invoice_is_not_payable_online_and_the_list_says_why() -> None:
    debited = invoice(
        "FAC-enfance-2026-000060", "18.40", dt.date(2026, 12, 31), direct_debit_on=dt.date(2026, 12, 15)
    )
    ledger = BillingLedger([OCT, debited])
    with pytest.raises(PaymentRefused) as caught:
        record_payment(ledger, order([debited.number], "18.40"), TODAY)
    assert caught.value.code == "payment.direct_debit"
    listed = invoices_to_pay(ledger, "F1", TODAY)
    assert [(i.number, i.payable_online, i.code) for i in listed] == [
        (OCT.number, True, "payment.payable_online"),
        (debited.number, False, "payment.direct_debit"),
    ]
    assert listed[1].message_fr == (
        "Paiement en ligne impossible : la facture FAC-enfance-2026-000060 "
        "sera prélevée le mardi 15 décembre 2026."
    )
    assert "reste 42,50" in listed[0].message_fr.replace("\xa0", " ")


def test_every_reason_to_refuse_is_given_and_nothing_is_allocated() -> None:
    other_family = invoice("FAC-enfance-2026-000070", "12.00", dt.date(2026, 12, 31), family="F2")
    other_regie = invoice("FAC-loisirs-2026-000003", "60.00", dt.date(2026, 12, 31), regie="loisirs")
    ledger = BillingLedger([OCT, other_family, other_regie])
    with pytest.raises(PaymentRefused) as caught:
        record_payment(ledger, order([other_family.number, other_regie.number, "FAC-X"], "10.00"), TODAY)
    assert [r.code for r in caught.value.refusals] == [
        "payment.other_payer",
        "payment.other_regie",
        "payment.unknown_invoice",
    ]
    assert isinstance(caught.value, InvalidInput)


@pytest.mark.parametrize(
    ("numbers", "amount", "code"),
    [
        ([OCT.number], "42.51", "payment.above_remaining"),
        ([OCT.number], "0.00", "payment.not_positive"),
        ([], "1.00", "payment.no_selection"),
        ([OCT.number, OCT.number], "1.00", "payment.selected_twice"),
    ],
)
def test_an_amount_or_selection_that_makes_no_sense_is_refused(
    numbers: list[str], amount: str, code: str
) -> None:
    with pytest.raises(PaymentRefused) as caught:
        record_payment(LEDGER, order(numbers, amount), TODAY)
    assert caught.value.code == code


def test_a_currency_other_than_the_euro_is_refused() -> None:
    notification = payment_order("enfance", "F1", [OCT.number], 4250, AT, currency="USD", reference="R-9")
    with pytest.raises(PaymentRefused) as caught:
        record_payment(LEDGER, notification, TODAY)
    assert caught.value.code == "payment.currency"
    assert "devise reçue : USD" in caught.value.message_fr


def test_a_notification_seen_twice_is_recorded_once_and_says_so() -> None:
    notification = payment_order("enfance", "F1", [OCT.number], 4250, AT, reference="PAYFIP-77")
    first = record_payment(LEDGER, notification, TODAY)
    again = record_payment(first.ledger, notification, TODAY)
    assert again.already_recorded
    assert again.ledger == first.ledger
    assert again.payment == first.payment
    assert again.code == "payment.already_recorded"
    assert again.message_fr == "Le paiement PAY-enfance-2026-000001 est déjà enregistré : rien n'est changé."


def test_the_same_reference_with_another_amount_is_a_conflict() -> None:
    first = record_payment(LEDGER, order([OCT.number], "20.00", reference="PAYFIP-8"), TODAY)
    with pytest.raises(InvalidInput) as caught:
        record_payment(first.ledger, order([OCT.number], "22.50", reference="PAYFIP-8"), TODAY)
    assert caught.value.code == "payment.conflicting_duplicate"


def test_a_payment_number_given_by_the_store_is_kept_and_is_idempotent() -> None:
    given = order([OCT.number], "10.00", number="PAY-enfance-2026-000120")
    first = record_payment(LEDGER, given, TODAY)
    assert first.payment.number == "PAY-enfance-2026-000120"
    assert record_payment(first.ledger, given, TODAY).already_recorded


def test_credit_notes_are_applied_to_the_same_payer_and_regie_then_refunded() -> None:
    credit = invoice("AV-enfance-2026-000004", "-50.00", dt.date(2026, 11, 2), kind=DocumentKind.CREDIT_NOTE)
    other = invoice("FAC-loisirs-2026-000009", "20.00", dt.date(2026, 12, 31), regie="loisirs")
    ledger = BillingLedger([OCT, credit, other])
    applied = apply_credit_notes(ledger)
    assert [(a.source, a.invoice_number, a.amount) for a in applied.allocations] == [
        (credit.number, OCT.number, Money("42.50"))
    ]
    assert applied.ledger.remaining(other.number) == Money("20.00")
    assert available_credits(applied.ledger, "F1") == ((credit, Money("7.50")),)
    assert apply_credit_notes(applied.ledger).allocations == ()  # a second run adds nothing
    refunded = refund_credit(
        applied.ledger,
        credit.number,
        dt.datetime(2026, 12, 3, 9, 0, tzinfo=PARIS),
        today=dt.date(2026, 12, 3),
    )
    assert refunded.refund.number == "REM-enfance-2026-000001"
    assert refunded.refund.amount == Money("-7.50")
    assert refunded.ledger.remaining(credit.number) == Money(0)
    assert refunded.message_fr.replace("\xa0", " ") == (
        "Avoir AV-enfance-2026-000004 : 7,50 € remboursé (REM-enfance-2026-000001)."
    )
    with pytest.raises(InvalidInput) as caught:
        refund_credit(
            refunded.ledger,
            credit.number,
            dt.datetime(2026, 12, 4, 9, 0, tzinfo=PARIS),
            today=dt.date(2026, 12, 4),
        )
    assert caught.value.code == "refund.nothing"
    with pytest.raises(InvalidInput) as above:
        refund_credit(applied.ledger, credit.number, AT, today=TODAY, amount=Money("7.51"))
    assert above.value.code == "refund.above_credit"


def test_a_credit_note_cannot_be_paid_nor_an_invoice_refunded() -> None:
    credit = invoice("AV-enfance-2026-000004", "-5.00", dt.date(2026, 11, 2), kind=DocumentKind.CREDIT_NOTE)
    ledger = BillingLedger([OCT, credit])
    with pytest.raises(PaymentRefused) as caught:
        record_payment(ledger, order([credit.number], "5.00"), TODAY)
    assert caught.value.code == "payment.credit_note"
    with pytest.raises(InvalidInput) as refused:
        refund_credit(ledger, OCT.number, AT, today=TODAY)
    assert refused.value.code == "refund.not_a_credit_note"
    assert invoices_to_pay(ledger, "F1", TODAY)[0].number == OCT.number  # credit notes are not listed


def test_an_invoice_already_paid_is_refused() -> None:
    paid = record_payment(LEDGER, order([OCT.number], "42.50"), TODAY).ledger
    with pytest.raises(PaymentRefused) as caught:
        record_payment(paid, order([OCT.number], "1.00"), TODAY)
    assert caught.value.code == "payment.already_paid"


def test_imported_invoices_are_listed_and_paid_like_computed_ones() -> None:
    erp = import_invoice(
        "MFO-2026-11-0815",
        "enfance",
        "F1",
        dt.date(2026, 11, 5),
        dt.date(2026, 11, 25),
        "35.90",
        label="Garderie",
    )
    assert erp.kind is DocumentKind.IMPORTED
    assert erp.total == Money("35.90")
    ledger = BillingLedger([OCT]).add_invoices([erp])
    listed = invoices_to_pay(ledger, "F1", TODAY)
    assert [(i.number, i.imported) for i in listed] == [("MFO-2026-11-0815", True), (OCT.number, False)]
    record = record_payment(ledger, order([OCT.number, erp.number], "40.00"), TODAY)
    assert [(a.invoice_number, a.amount) for a in record.allocations] == [
        (erp.number, Money("35.90")),
        (OCT.number, Money("4.10")),
    ]


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"total": "0"}, "import.not_positive"),
        ({"total": "-3.00"}, "import.not_positive"),
        ({"total": 12.5}, "money.float_rejected"),
        ({"number": " "}, "import.missing_field"),
        ({"due_on": dt.date(2026, 11, 1)}, "input.end_before_start"),
        ({"issued_on": dt.datetime(2026, 11, 5, tzinfo=PARIS)}, "input.not_a_date"),
        ({"currency": "CHF"}, "money.currency"),
    ],
)
def test_a_bad_imported_invoice_is_refused(changes: dict[str, object], code: str) -> None:
    fields: dict[str, object] = {
        "number": "MFO-1",
        "regie_id": "enfance",
        "family_id": "F1",
        "issued_on": dt.date(2026, 11, 5),
        "due_on": dt.date(2026, 11, 25),
        "total": "35.90",
    }
    fields.update(changes)
    with pytest.raises(InvalidInput) as caught:
        import_invoice(**fields)  # type: ignore[arg-type]
    assert caught.value.code == code


def test_a_ledger_refuses_inconsistent_documents() -> None:
    with pytest.raises(InvalidInput, match="twice"):
        BillingLedger([OCT, OCT])
    with pytest.raises(InvalidInput) as caught:
        BillingLedger([OCT], allocations=[Allocation("PAY-x", OCT.number, Money("1.00"))])
    assert caught.value.code == "billing.unknown_allocation_source"
    payment = Payment("PAY-1", "enfance", "F1", Money("50.00"), AT, PaymentMethod.CASH)
    with pytest.raises(InvalidInput) as over:
        BillingLedger([OCT], [payment], [Allocation("PAY-1", OCT.number, Money("50.00"))])
    assert over.value.code == "billing.over_allocated"
    with pytest.raises(InvalidInput) as target:
        BillingLedger([OCT], [payment], [Allocation("PAY-1", "FAC-none", Money("5.00"))])
    assert target.value.code == "billing.unknown_allocation_target"
    with pytest.raises(NotFound):
        LEDGER.invoice("FAC-none")


def test_a_naive_instant_and_a_credit_method_are_refused() -> None:
    with pytest.raises(InvalidInput) as naive:
        order([OCT.number], "1.00", received_at=dt.datetime(2026, 11, 20, 21, 15))
    assert naive.value.code == "input.naive_datetime"
    with pytest.raises(InvalidInput) as credit:
        order([OCT.number], "1.00", method=PaymentMethod.CREDIT)
    assert credit.value.code == "payment.method"


def test_numbering_continues_from_the_ledger() -> None:
    numbered = BillingLedger([OCT], numbering=Numbering({("enfance", 2026, Series.PAYMENT): 41}))
    assert (
        record_payment(numbered, order([OCT.number], "1.00"), TODAY).payment.number
        == "PAY-enfance-2026-000042"
    )


# -- money already received, credit notes the régie decides ------------------------------------------


def test_money_received_for_an_invoice_paid_meanwhile_is_recorded_and_the_rest_left_to_refund() -> None:
    counter = record_payment(LEDGER, order([OCT.number], "30.00", method=PaymentMethod.CASH), TODAY)
    online = order([OCT.number], "42.50", reference="PAYFIP-9")
    with pytest.raises(PaymentRefused):
        record_payment(counter.ledger, online, TODAY)
    received = receive_payment(counter.ledger, online, TODAY)
    assert received.code == "payment.partly_unallocated"
    assert received.payment.number == "PAY-enfance-2026-000002"
    assert [(a.invoice_number, a.amount) for a in received.allocations] == [(OCT.number, Money("12.50"))]
    assert received.ledger.remaining(OCT.number) == Money(0)
    assert received.message_fr.replace("\xa0", " ") == (
        "Paiement PAY-enfance-2026-000002 de 42,50 € enregistré ; 30,00 € n'ont pu être affectés à une "
        "facture et vous seront remboursés."
    )
    again = receive_payment(received.ledger, online, TODAY)
    assert again.already_recorded
    assert again.ledger == received.ledger


def test_a_payment_is_numbered_in_the_series_of_the_year_it_is_received() -> None:
    payment, numbering = number_payment(
        Numbering(), "enfance", "F1", Money("12.00"), AT, PaymentMethod.ONLINE, "PAYFIP-3", received_on=TODAY
    )
    assert (payment.number, payment.amount, payment.reference) == (
        "PAY-enfance-2026-000001",
        Money(12),
        "PAYFIP-3",
    )
    assert numbering.last == {("enfance", 2026, Series.PAYMENT): 1}
    naive = dt.datetime(2026, 11, 20)  # a time without its zone is refused
    with pytest.raises(InvalidInput):
        number_payment(Numbering(), "enfance", "F1", Money(1), naive, PaymentMethod.CASH, received_on=TODAY)


def test_a_credit_note_decided_by_the_regie_is_numbered_in_its_own_series() -> None:
    note, numbering = issue_credit_note(
        Numbering(), "enfance", "F1", Money("15.00"), "Geste commercial", TODAY
    )
    assert (note.number, note.kind, note.total, note.issued_on) == (
        "AV-enfance-2026-000001",
        DocumentKind.CREDIT_NOTE,
        Money("-15.00"),
        TODAY,
    )
    assert [(line.reason, line.label) for line in note.lines] == [("credit.manual", "Geste commercial")]
    assert numbering.last == {("enfance", 2026, Series.CREDIT_NOTE): 1}
    for amount in (Money(0), Money("-1.00"), 15):
        with pytest.raises(InvalidInput) as refused:
            issue_credit_note(Numbering(), "enfance", "F1", amount, "x", TODAY)  # type: ignore[arg-type]
        assert refused.value.code == "credit.not_positive"


def test_a_payment_received_on_new_years_night_is_numbered_in_the_communes_new_year() -> None:
    # 00:30 on 1 January 2027 in Paris is still 31 December 2026 in UTC, the zone a gateway may answer in.
    received = dt.datetime(2026, 12, 31, 23, 30, tzinfo=dt.UTC)
    payment, _ = number_payment(
        Numbering(),
        "enfance",
        "F1",
        Money(5),
        received,
        PaymentMethod.ONLINE,
        received_on=dt.date(2027, 1, 1),
    )
    assert payment.number == "PAY-enfance-2027-000001"
    note = invoice("AV-enfance-2026-000003", "-10.00", dt.date(2026, 12, 31), kind=DocumentKind.CREDIT_NOTE)
    refund = refund_credit(BillingLedger([note]), note.number, received, today=dt.date(2027, 1, 1))
    assert refund.refund.number == "REM-enfance-2027-000001"


def test_a_hold_is_written_where_invoice_numbers_go_and_read_back() -> None:
    # A basket held at 02:30 summer time the night the clocks go back, at the régie loisirs, 21–23 December.
    held_at = dt.datetime(2026, 10, 25, 2, 30, tzinfo=PARIS)
    hold = Hold("loisirs", held_at, DateRange(dt.date(2026, 12, 21), dt.date(2026, 12, 23)))
    assert hold.reference == "hold:loisirs:20261025T003000000000Z:2026-12-21:2026-12-23"
    assert Hold.parse(hold.reference) == hold
    assert hold.held_at == held_at.astimezone(dt.UTC)  # the same instant, kept in UTC
    for text in (OCT.number, "hold:loisirs:yesterday:2026-12-21:2026-12-23", "hold:loisirs:x"):
        assert Hold.parse(text) is None
