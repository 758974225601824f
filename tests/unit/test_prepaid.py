"""Pay at booking at Saint-Aubin's holiday centre: amount to pay, holds, receipt, credits, preview."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import attrs
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
from espacefamille.billing.payments import BillingLedger
from espacefamille.billing.prepaid import (
    LATE_PAYMENT_REASONS,
    PrepaidCredit,
    amount_to_pay,
    cancellation_credits,
    confirm_payment,
    credit_allocations,
    credit_wallet,
    expired_holds,
    family_facts,
    late_payment_credit_note,
    prepaid_credit_notes,
    prepaid_credits,
    price_preview,
    refund_prepaid_credit,
    release_expired_holds,
)
from espacefamille.billing.tariffs import QfChangeRule
from espacefamille.calendar.periods import DateRange
from espacefamille.commune import Commune
from espacefamille.errors import InvalidInput, MissingData
from espacefamille.model import BookingStatus, Child, Enrolment, Family, Guardian, QuotientFamilial, Residence
from espacefamille.money import Money
from espacefamille.rules.basket import (
    Action,
    BasketContext,
    BasketLine,
    BasketResult,
    Outcome,
    evaluate_basket,
)
from espacefamille.rules.capacity import PlaceLedger

PARIS = ZoneInfo("Europe/Paris")
YEAR = DateRange(dt.date(2026, 9, 1), dt.date(2027, 8, 31))
NOW = dt.datetime(2026, 11, 5, 10, 0, tzinfo=PARIS)  # Thursday 5 November 2026, 10:00
HOLD = dt.timedelta(minutes=60)
CHRISTMAS_MONDAY = dt.date(2026, 12, 21)

FAMILY = Family(
    "F1",
    "Martin",
    [Guardian("G1", "Claire", "Martin")],
    "G1",
    quotients=[QuotientFamilial(808, dt.date(2026, 1, 1))],
)
LEA = Child("C1", "Léa", "Martin", dt.date(2018, 3, 14), ["F1"])
TOM = Child("C2", "Tom", "Martin", dt.date(2020, 6, 2), ["F1"])
CHILDREN = (LEA, TOM)
ENROLMENTS = [
    Enrolment(f"E-{c.id}-{s}", c.id, "F1", s, YEAR)
    for c in CHILDREN
    for s in ("alsh", "cantine", "periscolaire")
]


def spaces(text: str) -> str:
    return text.replace("\u202f", " ").replace("\xa0", " ")


def context(commune: Commune, family: Family = FAMILY) -> BasketContext:
    return BasketContext(commune, family, CHILDREN, ENROLMENTS)


def book(child: str, prestation: str, day: dt.date) -> BasketLine:
    return BasketLine(Action.BOOK, child, prestation, day)


def cancel(child: str, prestation: str, day: dt.date) -> BasketLine:
    return BasketLine(Action.CANCEL, child, prestation, day)


def holiday_basket(commune: Commune) -> BasketResult:
    """Léa a day at the centre on Monday 21 December, Tom the multisport week, Léa a canteen meal."""
    lines = [
        book("C1", "journee", CHRISTMAS_MONDAY),
        book("C2", "stage_semaine", CHRISTMAS_MONDAY),
        book("C1", "repas", dt.date(2026, 11, 17)),
    ]
    return evaluate_basket(context(commune), lines, NOW)


def test_the_prepaid_lines_of_a_basket_become_an_amount_to_pay(commune: Commune) -> None:
    result = holiday_basket(commune)
    to_pay = amount_to_pay(commune, FAMILY, CHILDREN, result, hold=HOLD)
    # 1,50 % × QF 808 = 12,12 € the day; the week is one 60 € block over its three open days; the meal is
    # invoiced at month end, so it is not part of it.
    assert [(i.prestation_id, i.days, i.amount) for i in to_pay.items] == [
        ("journee", (CHRISTMAS_MONDAY,), Money("12.12")),
        ("stage_semaine", (CHRISTMAS_MONDAY, dt.date(2026, 12, 22), dt.date(2026, 12, 23)), Money("60.00")),
    ]
    assert to_pay.total == Money("72.12")
    assert to_pay.held_until == dt.datetime(2026, 11, 5, 11, 0, tzinfo=PARIS)
    assert to_pay.code == "prepaid.amount_to_pay"
    assert spaces(to_pay.message_fr) == (
        "Montant à payer : 72,12 €. Vos places sont retenues jusqu'au jeudi 5 novembre 2026 à 11 h 00 ; "
        "sans paiement, elles seront libérées."
    )
    assert spaces(to_pay.items[0].message_fr) == (
        "Journée centre de loisirs du lundi 21 décembre 2026 : 12,12 € "
        "(Taux d'effort 1,50 % × QF 808 € : 12,12 € la journée)."
    )


def test_a_hold_is_released_when_its_hour_has_passed(commune: Commune) -> None:
    result = holiday_basket(commune)
    bookings = list(result.bookings.values())
    assert expired_holds(bookings, dt.datetime(2026, 11, 5, 10, 59, tzinfo=PARIS), HOLD) == ()
    expired = expired_holds(bookings, dt.datetime(2026, 11, 5, 11, 0, tzinfo=PARIS), HOLD)
    assert {b.prestation_id for b in expired} == {"journee", "stage_semaine"}
    released = release_expired_holds(
        bookings, dt.datetime(2026, 11, 5, 11, 0, tzinfo=PARIS), HOLD, ledgers=result.ledgers
    )
    assert len(released.released) == 4
    assert {b.status for b in released.released} == {BookingStatus.CANCELLED}
    meal = next(b for b in released.bookings if b.prestation_id == "repas")
    assert meal.status is BookingStatus.BOOKED
    assert released.ledgers["journee"].free(CHRISTMAS_MONDAY) == 40
    assert "Place non payée à temps libérée" in released.messages_fr[0]


def test_a_released_place_goes_to_the_first_waiting_child(commune: Commune) -> None:
    ledger = PlaceLedger(commune.capacities["journee"])
    day = dt.date(2026, 12, 23)  # 24 places that day
    for index in range(23):
        ledger, _ = ledger.request(f"X{index}", day, None, NOW)
    held = evaluate_basket(context(commune), [book("C1", "journee", day)], NOW, ledgers={"journee": ledger})
    ledger, waiting = held.ledgers["journee"].request("X99", day, None, NOW)
    assert not waiting.granted
    released = release_expired_holds(held.added, NOW + HOLD, HOLD, ledgers={"journee": ledger})
    assert [(prestation, p.child_id) for prestation, p in released.promotions] == [("journee", "X99")]


def test_a_payment_in_time_books_the_places_and_records_what_was_paid(commune: Commune) -> None:
    result = holiday_basket(commune)
    to_pay = amount_to_pay(commune, FAMILY, CHILDREN, result, hold=HOLD)
    paid_at = dt.datetime(2026, 11, 5, 10, 20, tzinfo=PARIS)
    confirmation = confirm_payment(
        to_pay, result.bookings.values(), Money("72.12"), paid_at, reference="PF-1"
    )
    assert confirmation.confirmed
    assert confirmation.code == "prepaid.confirmed"
    paid = {b.key: b.paid for b in confirmation.bookings if b.paid is not None}
    assert paid == {
        ("C1", "journee", CHRISTMAS_MONDAY): Money("12.12"),
        ("C2", "stage_semaine", dt.date(2026, 12, 21)): Money("20.00"),
        ("C2", "stage_semaine", dt.date(2026, 12, 22)): Money("20.00"),
        ("C2", "stage_semaine", dt.date(2026, 12, 23)): Money("20.00"),
    }
    assert {b.status for b in confirmation.bookings} == {BookingStatus.BOOKED}
    assert confirmation.receipt is not None
    assert confirmation.receipt.total == Money("72.12")
    assert confirmation.receipt.reference == "PF-1"
    assert {line.regie_id for line in confirmation.receipt.lines} == {"loisirs"}
    assert spaces(confirmation.message_fr) == (
        "Paiement de 72,12 € reçu le jeudi 5 novembre 2026 à 10 h 20 : 4 réservations confirmées."
    )


def test_a_payment_after_the_hold_confirms_nothing_and_becomes_a_credit(commune: Commune) -> None:
    result = holiday_basket(commune)
    to_pay = amount_to_pay(commune, FAMILY, CHILDREN, result, hold=HOLD)
    late = dt.datetime(2026, 11, 5, 11, 3, tzinfo=PARIS)
    confirmation = confirm_payment(to_pay, result.bookings.values(), Money("72.12"), late)
    assert not confirmation.confirmed
    assert confirmation.code == "prepaid.paid_after_hold"
    assert confirmation.credit_due == confirmation.refund_due == Money("72.12")
    assert confirmation.receipt is None
    assert all(b.paid is None for b in confirmation.bookings)
    assert spaces(confirmation.message_fr) == (
        "Paiement reçu trop tard : la place « Journée centre de loisirs » du lundi 21 décembre 2026 "
        "n'était plus retenue. Rien n'est réservé ; les 72,12 € payés vous sont rendus sous forme d'avoir."
    )


def test_a_payment_of_another_amount_is_refused(commune: Commune) -> None:
    result = holiday_basket(commune)
    to_pay = amount_to_pay(commune, FAMILY, CHILDREN, result, hold=HOLD)
    with pytest.raises(InvalidInput) as caught:
        confirm_payment(to_pay, result.bookings.values(), Money("12.12"), NOW)
    assert caught.value.code == "prepaid.amount_mismatch"
    with pytest.raises(InvalidInput) as missing:
        confirm_payment(to_pay, [], to_pay.total, NOW)
    assert missing.value.code == "prepaid.unknown_booking"


def paid_day(commune: Commune) -> BasketResult:
    """Léa's day of 21 December, held then paid 12,12 €."""
    result = evaluate_basket(context(commune), [book("C1", "journee", CHRISTMAS_MONDAY)], NOW)
    to_pay = amount_to_pay(commune, FAMILY, CHILDREN, result, hold=HOLD)
    confirmation = confirm_payment(to_pay, result.bookings.values(), to_pay.total, NOW)
    return attrs.evolve(result, bookings={b.key: b for b in confirmation.bookings})


def test_a_cancellation_in_time_gives_back_what_was_paid_not_todays_price(commune: Commune) -> None:
    bookings = paid_day(commune).bookings
    # Since then the family's QF went up to 1 200: the day would now cost 18,00 €.
    richer = attrs.evolve(FAMILY, quotients=[QuotientFamilial(1200, dt.date(2026, 1, 1))])
    later = dt.datetime(2026, 11, 20, 9, 0, tzinfo=PARIS)
    cancelled = evaluate_basket(
        context(commune, richer), [cancel("C1", "journee", CHRISTMAS_MONDAY)], later, bookings=bookings
    )
    entries = cancellation_credits(commune, cancelled)
    assert [(e.amount, e.code, e.regie_id) for e in entries] == [
        (Money("12.12"), "prepaid.credit", "loisirs")
    ]
    assert spaces(entries[0].message_fr) == (
        "Journée centre de loisirs du lundi 21 décembre 2026 : annulation dans les délais, "
        "avoir de 12,12 € (le montant payé)."
    )
    wallet = credit_wallet("F1", [], entries)
    assert wallet == (PrepaidCredit("F1", "loisirs", Money("12.12")),)
    # The credit pays part of the next basket: Tom's multisport week.
    result = evaluate_basket(
        context(commune, richer),
        [book("C2", "stage_semaine", dt.date(2027, 2, 22))],
        later,  # winter holidays
    )
    to_pay = amount_to_pay(commune, richer, CHILDREN, result, hold=HOLD, credits=wallet)
    assert to_pay.gross == Money("60.00")
    assert to_pay.credit_used == {"loisirs": Money("12.12")}
    assert to_pay.total == Money("47.88")
    assert "avoir de 12,12 € déduit" in spaces(to_pay.message_fr)
    confirmation = confirm_payment(to_pay, result.bookings.values(), Money("47.88"), later, credits=wallet)
    assert confirmation.credits == (PrepaidCredit("F1", "loisirs", Money(0)),)
    assert confirmation.receipt is not None
    assert confirmation.receipt.credit_used == Money("12.12")
    assert Money.total(b.paid or Money(0) for b in confirmation.bookings) == Money("60.00")
    assert "et 12,12 € d'avoir" in spaces(confirmation.message_fr)


def test_cancelling_an_unpaid_hold_gives_no_credit(commune: Commune) -> None:
    held = evaluate_basket(context(commune), [book("C1", "journee", CHRISTMAS_MONDAY)], NOW)
    cancelled = evaluate_basket(
        context(commune), [cancel("C1", "journee", CHRISTMAS_MONDAY)], NOW, bookings=held.bookings
    )
    assert [(e.amount, e.code) for e in cancellation_credits(commune, cancelled)] == [
        (Money(0), "prepaid.nothing_paid")
    ]


def test_a_credit_is_refunded_in_the_refund_series_and_never_beyond_it() -> None:
    credit = PrepaidCredit("F1", "loisirs", Money("12.12"))
    at = dt.datetime(2026, 12, 2, 14, 0, tzinfo=PARIS)
    after, numbering, refund = refund_prepaid_credit(
        credit, Numbering(), at, today=at.date(), amount=Money("10.00")
    )
    assert after.balance == Money("2.12")
    assert refund.number == "REM-loisirs-2026-000001"
    assert refund.amount == Money("-10.00")
    assert refund.method is PaymentMethod.TRANSFER
    with pytest.raises(InvalidInput) as caught:
        refund_prepaid_credit(after, numbering, at, today=at.date(), amount=Money("2.13"))
    assert caught.value.code == "prepaid.above_credit"
    with pytest.raises(InvalidInput) as empty:
        refund_prepaid_credit(PrepaidCredit("F1", "loisirs", Money(0)), numbering, at, today=at.date())
    assert empty.value.code == "refund.nothing"
    with pytest.raises(InvalidInput):
        PrepaidCredit("F1", "loisirs", Money("-0.01"))


def test_the_price_preview_shows_each_line_before_validating(commune: Commune) -> None:
    late = dt.datetime(2026, 11, 13, 9, 0, tzinfo=PARIS)  # after the 17 November meal's deadline
    bookings = paid_day(commune).bookings
    lines = [
        book("C2", "journee", CHRISTMAS_MONDAY),
        book("C1", "repas", dt.date(2026, 11, 17)),
        book("C1", "repas", dt.date(2026, 11, 11)),  # Armistice: closed
        cancel("C1", "journee", CHRISTMAS_MONDAY),
    ]
    preview = price_preview(context(commune), lines, late, bookings=bookings)
    amounts = [(line.code, line.amount, line.payable_now) for line in preview.lines]
    assert amounts[0] == ("basket.accepted", Money("12.12"), True)
    # A late meal: 2,60 € and a 20 % surcharge of 0,52 € as its own part, invoiced at month end.
    assert amounts[1][1:] == (Money("3.12"), False)
    assert preview.lines[1].items[0].surcharge is not None
    assert amounts[2][1] is None
    assert preview.lines[2].decision.outcome is Outcome.REFUSED
    assert amounts[3] == ("basket.cancelled", Money("-12.12"), True)
    assert "Avoir de 12,12 € (le montant payé)." in spaces(preview.lines[3].message_fr)
    # Léa's cancelled day gives back 12,12 €, which pays Tom's day of the same basket: nothing to pay online.
    assert preview.prepaid_price == Money("12.12")
    assert preview.credit_used == {"loisirs": Money("12.12")}
    assert preview.to_pay_now == Money(0)
    assert preview.invoiced_later == Money("3.12")
    assert preview.credit == Money("12.12")
    assert "12,12 € à payer à la réservation." in spaces(preview.explain())
    assert spaces(preview.explain()).endswith("Avoir de 12,12 € déduit : rien à payer en ligne.")
    # The preview and the amount to pay go through the same pricing path.
    to_pay = amount_to_pay(commune, FAMILY, CHILDREN, preview.result, hold=HOLD)
    assert to_pay.gross == preview.prepaid_price


def test_a_holiday_week_is_priced_with_the_qf_of_the_price_list_s_date_not_a_backdated_one() -> None:
    # A new QF of 500, valid from 1 December, reached the commune on Tuesday 15 December 2026.
    old = QuotientFamilial(808, dt.date(2026, 1, 1), dt.date(2026, 11, 30))
    new = QuotientFamilial(500, dt.date(2026, 12, 1), received_on=dt.date(2026, 12, 15))
    family = attrs.evolve(FAMILY, quotients=(old, new))
    next_month = family_facts(family, TOM, CHILDREN, CHRISTMAS_MONDAY, QfChangeRule.NEXT_MONTH)
    at_once = family_facts(family, TOM, CHILDREN, CHRISTMAS_MONDAY, QfChangeRule.IMMEDIATELY)
    assert (next_month.quotient, at_once.quotient) == (Decimal(808), Decimal(500))


def test_family_facts_come_from_the_household_and_the_child() -> None:
    facts = family_facts(FAMILY, TOM, CHILDREN, CHRISTMAS_MONDAY)
    assert (facts.quotient, facts.child_rank, facts.children, facts.pai) == (Decimal(808), 2, 2, False)
    outsider = attrs.evolve(FAMILY, residence=Residence.NON_RESIDENT, quotients=())
    facts = family_facts(outsider, attrs.evolve(LEA, pai=True), [TOM], CHRISTMAS_MONDAY)
    assert (facts.quotient, facts.residence, facts.pai, facts.child_rank) == (
        None,
        Residence.NON_RESIDENT,
        True,
        1,
    )


def test_bad_arguments_are_refused(commune: Commune) -> None:
    result = holiday_basket(commune)
    with pytest.raises(InvalidInput) as hold:
        amount_to_pay(commune, FAMILY, CHILDREN, result, hold=dt.timedelta(0))
    assert hold.value.code == "prepaid.hold"
    with pytest.raises(MissingData) as child:
        amount_to_pay(commune, FAMILY, [LEA], result)
    assert child.value.code == "prepaid.unknown_child"
    other = attrs.evolve(FAMILY, id="F2")
    with pytest.raises(InvalidInput) as family:
        amount_to_pay(commune, other, CHILDREN, result)
    assert family.value.code == "prepaid.other_family"
    with pytest.raises(InvalidInput):
        expired_holds(result.added, dt.datetime(2026, 11, 5, 11, 0), HOLD)


# -- credits as billing documents ------------------------------------------------------------------------


def cancelled_day(commune: Commune) -> BasketResult:
    """Léa's paid day of 21 December, cancelled in time on Friday 20 November."""
    later = dt.datetime(2026, 11, 20, 9, 0, tzinfo=PARIS)
    return evaluate_basket(
        context(commune),
        [cancel("C1", "journee", CHRISTMAS_MONDAY)],
        later,
        bookings=paid_day(commune).bookings,
    )


def test_billing_numbers_the_credit_notes_of_cancelled_prepaid_days(commune: Commune) -> None:
    entries = cancellation_credits(commune, cancelled_day(commune))
    start = Numbering({("loisirs", 2026, Series.CREDIT_NOTE): 4})
    (note,), numbering = prepaid_credit_notes(commune, FAMILY, entries, start, dt.date(2026, 11, 20))
    assert note.number == "AV-loisirs-2026-000005"
    assert (note.kind, note.total, note.family_id) == (DocumentKind.CREDIT_NOTE, Money("-12.12"), "F1")
    assert (note.issued_on, note.due_on, note.period) == (
        dt.date(2026, 11, 20),
        dt.date(2026, 11, 20),
        DateRange(CHRISTMAS_MONDAY, CHRISTMAS_MONDAY),
    )
    (line,) = note.lines
    assert (line.reason, line.days, line.label) == (
        "prepaid.credit",
        (CHRISTMAS_MONDAY,),
        "Journée centre de loisirs",
    )
    assert numbering.next("loisirs", 2026, Series.CREDIT_NOTE)[1] == "AV-loisirs-2026-000006"
    # Nothing to credit (an unpaid hold): no credit note, the numbering unchanged.
    held = evaluate_basket(context(commune), [book("C1", "journee", CHRISTMAS_MONDAY)], NOW)
    unpaid = evaluate_basket(
        context(commune), [cancel("C1", "journee", CHRISTMAS_MONDAY)], NOW, bookings=held.bookings
    )
    nothing = cancellation_credits(commune, unpaid)
    assert prepaid_credit_notes(commune, FAMILY, nothing, start, dt.date(2026, 11, 20)) == ((), start)
    with pytest.raises(InvalidInput) as other:
        prepaid_credit_notes(commune, attrs.evolve(FAMILY, id="F2"), entries, start, dt.date(2026, 11, 20))
    assert other.value.code == "prepaid.other_family"
    bad = [attrs.evolve(entries[0], amount=Money("-1.00"))]
    with pytest.raises(InvalidInput) as negative:
        prepaid_credit_notes(commune, FAMILY, bad, start, dt.date(2026, 11, 20))
    assert negative.value.code == "prepaid.negative_credit"
    with pytest.raises(InvalidInput) as when:
        prepaid_credit_notes(commune, FAMILY, entries, start, NOW)
    assert when.value.code == "input.not_a_date"


def late_payment(amount: str = "12.00", family_id: str = "F1") -> Payment:
    at = dt.datetime(2026, 11, 5, 11, 3, tzinfo=PARIS)
    return Payment(
        "PAY-loisirs-2026-000001", "loisirs", family_id, Money(amount), at, PaymentMethod.ONLINE, "EF01"
    )


def test_a_payment_that_confirmed_nothing_becomes_a_numbered_credit_note(commune: Commune) -> None:
    note, numbering = late_payment_credit_note(
        commune, FAMILY, late_payment(), Numbering(), dt.date(2026, 11, 5), days=[CHRISTMAS_MONDAY]
    )
    assert note.number == "AV-loisirs-2026-000001"
    assert note.total == Money("-12.00")
    (line,) = note.lines
    assert (line.reason, line.days) == ("prepaid.paid_after_hold", (CHRISTMAS_MONDAY,))
    assert spaces(line.explanation) == (
        "Votre paiement de 12,00 € (référence EF01) est arrivé après la fin de la réservation de vos "
        "places : rien n'est réservé, les places ont pu être attribuées à d'autres familles. "
        "Cette somme devient l'avoir AV-loisirs-2026-000001."
    )
    assert "(e)" not in line.explanation
    assert numbering.next("loisirs", 2026, Series.CREDIT_NOTE)[1] == "AV-loisirs-2026-000002"
    other, _ = late_payment_credit_note(
        commune, FAMILY, late_payment(), numbering, dt.date(2026, 11, 5), code="prepaid.credit_unavailable"
    )
    assert (other.number, other.period, other.lines[0].days) == (
        "AV-loisirs-2026-000002",
        DateRange(dt.date(2026, 11, 5), dt.date(2026, 11, 5)),
        (),
    )
    assert set(LATE_PAYMENT_REASONS) == {
        "prepaid.paid_after_hold",
        "prepaid.credit_unavailable",
        "prepaid.basket_changed",
    }
    for code, payment in (
        ("prepaid.unknown_reason", late_payment()),
        ("prepaid.other_family", late_payment(family_id="F2")),
        ("prepaid.negative_credit", late_payment("-12.00")),
    ):
        reason = "prepaid.nope" if code == "prepaid.unknown_reason" else "prepaid.paid_after_hold"
        with pytest.raises(InvalidInput) as caught:
            late_payment_credit_note(commune, FAMILY, payment, Numbering(), dt.date(2026, 11, 5), code=reason)
        assert caught.value.code == code


HOLD_REF = "hold:loisirs:20261126T080000000000Z:2027-02-22:2027-02-26"


def credit_note(number: str, amount: str, issued: dt.date, regie: str = "loisirs") -> Invoice:
    line = InvoiceLine(
        "C1", "journee", "Journée", "prepaid.credit", (), Decimal(1), -Decimal(amount), -Money(amount)
    )
    return Invoice(
        number, regie, "F1", DocumentKind.CREDIT_NOTE, DateRange(issued, issued), issued, issued, [line]
    )


def test_credit_notes_pay_a_basket_oldest_first_and_never_twice() -> None:
    old = credit_note("AV-loisirs-2026-000001", "12.00", dt.date(2026, 11, 2))
    new = credit_note("AV-loisirs-2026-000002", "20.00", dt.date(2026, 11, 20))
    elsewhere = credit_note("AV-enfance-2026-000001", "30.00", dt.date(2026, 11, 1), regie="enfance")
    ledger = BillingLedger([old, new, elsewhere])
    assert prepaid_credits(ledger, "F1") == (
        PrepaidCredit("F1", "enfance", Money("30.00")),
        PrepaidCredit("F1", "loisirs", Money("32.00")),
    )
    # A basket still being paid counts on 30 € of it: 2 € are left for another one.
    assert prepaid_credits(ledger, "F1", reserved={"loisirs": Money("30.00"), "enfance": Money("30.00")}) == (
        PrepaidCredit("F1", "loisirs", Money("2.00")),
    )
    used = credit_allocations(ledger, "F1", "loisirs", HOLD_REF, Money("15.00"))
    assert used == (
        Allocation(old.number, HOLD_REF, Money("12.00")),
        Allocation(new.number, HOLD_REF, Money("3.00")),
    )
    # The ledger accepts a credit note's allocation to a hold, and what is left is derived from it.
    after = attrs.evolve(ledger, allocations=used)
    assert (after.remaining(old.number), after.remaining(new.number)) == (Money(0), Money("17.00"))
    assert prepaid_credits(after, "F1")[1] == PrepaidCredit("F1", "loisirs", Money("17.00"))
    # More of the same note for the same hold is one allocation with the sum (stores keep one per pair).
    assert credit_allocations(after, "F1", "loisirs", HOLD_REF, Money("5.00")) == (
        Allocation(new.number, HOLD_REF, Money("8.00")),
    )
    assert credit_allocations(after, "F1", "loisirs", HOLD_REF, Money(0)) == ()
    with pytest.raises(InvalidInput) as above:
        credit_allocations(after, "F1", "loisirs", HOLD_REF, Money("17.01"))
    assert above.value.code == "prepaid.above_credit"
    assert "il ne reste que 17,00" in spaces(above.value.message_fr or "")
    with pytest.raises(InvalidInput) as not_a_hold:
        credit_allocations(after, "F1", "loisirs", "FAC-loisirs-2026-000001", Money("1.00"))
    assert not_a_hold.value.code == "prepaid.not_a_hold"
    with pytest.raises(InvalidInput) as negative:
        credit_allocations(after, "F1", "loisirs", HOLD_REF, Money("-1.00"))
    assert negative.value.code == "prepaid.negative_credit"
    with pytest.raises(InvalidInput) as reserved:
        prepaid_credits(ledger, "F1", reserved={"loisirs": Money("-1.00")})
    assert reserved.value.code == "prepaid.negative_credit"
    # Only a credit note pays a hold: a payment allocated to one is refused.
    payment = late_payment()
    with pytest.raises(InvalidInput) as unknown:
        BillingLedger([old], [payment], [Allocation(payment.number, HOLD_REF, Money("1.00"))])
    assert unknown.value.code == "billing.unknown_allocation_target"
    with pytest.raises(InvalidInput) as beyond:
        BillingLedger([old], allocations=[Allocation(old.number, HOLD_REF, Money("12.01"))])
    assert beyond.value.code == "billing.over_allocated"


def test_a_basket_its_credit_pays_in_full_has_nothing_to_pay_online(commune: Commune) -> None:
    result = evaluate_basket(context(commune), [book("C1", "journee", CHRISTMAS_MONDAY)], NOW)
    wallet = [PrepaidCredit("F1", "loisirs", Money("20.00")), PrepaidCredit("F1", "enfance", Money("50.00"))]
    to_pay = amount_to_pay(commune, FAMILY, CHILDREN, result, hold=HOLD, credits=wallet)
    # Only the holiday centre's régie credit pays the day, and never more than its price.
    assert to_pay.credit_used == {"loisirs": Money("12.12")}
    assert (to_pay.total, to_pay.code) == (Money(0), "prepaid.paid_by_credit")
    assert spaces(to_pay.message_fr) == (
        "Réglé par votre avoir : 12,12 € déduits, rien à payer en ligne. Vos réservations sont confirmées."
    )
    confirmation = confirm_payment(to_pay, result.bookings.values(), Money(0), NOW, credits=wallet)
    assert confirmation.confirmed
    assert [b.paid for b in confirmation.bookings] == [Money("12.12")]
    assert confirmation.credits[0] == PrepaidCredit("F1", "loisirs", Money("7.88"))
