"""Online payment through PayFiP and the fake gateway: result codes, the 15-minute validity window, and
notifications that settle a payment once, pinned to the Martin family paying its October 2026 canteen
invoice (42,50 €) from the portal on Thursday 12 November 2026 at 20 h 30."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from espacefamille.adapters.fake_gateway import FakeGateway
from espacefamille.adapters.payfip import (
    PAYFIP_RESULTS,
    PayfipGateway,
    PayfipMode,
    PayfipOrder,
    PayfipResult,
    payfip_cents,
    payfip_status,
)
from espacefamille.billing.documents import DocumentKind, Invoice, InvoiceLine
from espacefamille.billing.online import (
    CreatedPayment,
    NotificationOutcome,
    PaymentAttempt,
    PaymentNotification,
    PaymentStatus,
    begin_payment,
    payment_under_way,
    settle_notification,
)
from espacefamille.billing.payments import BillingLedger, record_payment
from espacefamille.calendar.periods import DateRange
from espacefamille.calendar.timezones import time_zone
from espacefamille.errors import InvalidInput
from espacefamille.money import Money

PARIS = time_zone("Europe/Paris")
EVENING = dt.datetime(2026, 11, 12, 20, 30, tzinfo=PARIS)  # Thursday 12 November 2026, 20 h 30
OCTOBER_INVOICE = "FAC-enfance-2026-000042"
AMOUNT = Money("42.50")
EMAIL = "claire.martin@example.fr"


def minutes(n: float) -> dt.timedelta:
    return dt.timedelta(minutes=n)


class RecordingPayfipClient:
    """A host's PayFiP client as a test double: it keeps the orders sent and answers what the test set."""

    def __init__(self) -> None:
        self.orders: list[PayfipOrder] = []
        self.results: dict[str, PayfipResult] = {}

    def create_idop(self, order: PayfipOrder) -> str:
        self.orders.append(order)
        return f"c7d8e9f0-{len(self.orders):04d}"

    def read_result(self, idop: str) -> PayfipResult | None:
        return self.results.get(idop)


def payfip(client: RecordingPayfipClient, **overrides: object) -> PayfipGateway:
    settings: dict[str, object] = {
        "numcli": "012345",
        "notification_url": "https://famille.saint-aubin.example/payfip/notification",
        "return_url": "https://famille.saint-aubin.example/factures",
        "mode": PayfipMode.TEST,
        **overrides,
    }
    return PayfipGateway(client, **settings)  # type: ignore[arg-type]


def start(
    gateway: FakeGateway | PayfipGateway,
    known: dict[str, PaymentAttempt],
    *,
    reference: str = "ENF2026000042",
    family_id: str = "martin",
    invoices: tuple[str, ...] = (OCTOBER_INVOICE,),
    amount: Money = AMOUNT,
    now: dt.datetime = EVENING,
) -> PaymentAttempt:
    attempt = begin_payment(
        gateway,
        known,
        regie_id="enfance",
        family_id=family_id,
        invoice_numbers=invoices,
        amount=amount,
        reference=reference,
        email=EMAIL,
        now=now,
    )
    known[attempt.payment_id] = attempt
    return attempt


def notify(gateway: FakeGateway, payment_id: str) -> PaymentNotification:
    return gateway.receive_notification(gateway.notification(payment_id))


# -- PayFiP's model -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("P", PaymentStatus.PAID),
        ("V", PaymentStatus.PAID),
        ("R", PaymentStatus.REFUSED),
        ("Z", PaymentStatus.REFUSED),
        ("A", PaymentStatus.CANCELLED),
    ],
)
def test_payfip_result_codes_map_to_statuses(code: str, status: PaymentStatus) -> None:
    assert payfip_status(code) is status
    assert PAYFIP_RESULTS[code] is status


def test_an_unknown_payfip_result_is_refused_not_guessed() -> None:
    with pytest.raises(InvalidInput) as error:
        payfip_status("X")
    assert error.value.code == "payfip.unknown_result"
    assert set(PAYFIP_RESULTS) == {"P", "V", "R", "Z", "A"}


def test_statuses_read_in_french_in_the_portal() -> None:
    assert [s.label_fr for s in PaymentStatus] == ["Payé", "Refusé", "Annulé", "Paiement en cours", "Expiré"]
    assert PaymentStatus.PENDING.label("en") == "Payment in progress"
    assert PaymentStatus.EXPIRED.label() == "Expiré"
    assert [s for s in PaymentStatus if s.is_final] == [
        PaymentStatus.PAID,
        PaymentStatus.REFUSED,
        PaymentStatus.CANCELLED,
    ]


def order(**overrides: object) -> PayfipOrder:
    fields: dict[str, object] = {
        "numcli": "012345",
        "exer": 2026,
        "refdet": "ENF2026000042",
        "montant": 4250,
        "mel": EMAIL,
        "saisie": PayfipMode.PRODUCTION,
        "urlnotif": "https://famille.example/notif",
        "urlredirect": "https://famille.example/factures",
        **overrides,
    }
    return PayfipOrder(**fields)  # type: ignore[arg-type]


def test_a_payfip_amount_is_a_whole_positive_number_of_cents() -> None:
    assert order(montant=4250).montant == 4250
    assert payfip_cents("4250") == 4250  # as a SOAP answer writes it
    assert payfip_cents(AMOUNT) == 4250
    refused = {
        4250.0: "payfip.amount_not_integral",
        Decimal("4250.5"): "payfip.amount_not_integral",
        "42.50": "payfip.amount_not_integral",
        True: "payfip.amount_not_integral",
        -4250: "payfip.amount_negative",
        0: "payment.not_positive",
    }
    for montant, code in refused.items():
        with pytest.raises(InvalidInput) as error:
            order(montant=montant)
        assert error.value.code == code, montant


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        ("numcli", "01-2345", "payfip.invalid_numcli"),
        ("refdet", "FAC-enfance-2026-000042", "payfip.invalid_reference"),  # hyphens are not allowed
        ("refdet", "F42", "payfip.invalid_reference"),  # fewer than 6 characters
        ("mel", "claire.martin", "payment.invalid_email"),
        ("urlnotif", " ", "payment.missing_field"),
    ],
)
def test_a_payfip_order_with_a_bad_field_is_refused(field: str, value: str, code: str) -> None:
    with pytest.raises(InvalidInput) as error:
        order(**{field: value})
    assert error.value.code == code


def test_the_payfip_gateway_sends_the_regie_order_and_redirects_to_payfip() -> None:
    client = RecordingPayfipClient()
    created = payfip(client, subject="Factures enfance").create_payment(
        AMOUNT, "ENF2026000042", email=EMAIL, now=EVENING
    )
    assert client.orders == [
        PayfipOrder(
            numcli="012345",
            exer=2026,
            refdet="ENF2026000042",
            montant=4250,
            mel=EMAIL,
            saisie=PayfipMode.TEST,
            urlnotif="https://famille.saint-aubin.example/payfip/notification",
            urlredirect="https://famille.saint-aubin.example/factures",
            objet="Factures enfance",
        )
    ]
    assert created.payment_id == "c7d8e9f0-0001"
    assert created.redirect_url == "https://www.payfip.gouv.fr/tpa/paiementws.web?idop=c7d8e9f0-0001"
    assert created.expires_at == dt.datetime(2026, 11, 12, 20, 45, tzinfo=PARIS)


def test_the_accounting_year_is_the_regie_s_even_when_now_is_given_in_utc() -> None:
    client = RecordingPayfipClient()
    gateway = payfip(client)
    # 23:30 UTC on 31 December 2026 is already 00:30 on 1 January 2027 in Saint-Aubin.
    gateway.create_payment(
        AMOUNT, "ENF2026000042", email=EMAIL, now=dt.datetime(2026, 12, 31, 23, 30, tzinfo=dt.UTC)
    )
    gateway.create_payment(
        AMOUNT, "ENF2026000043", email=EMAIL, now=dt.datetime(2026, 12, 31, 22, 30, tzinfo=dt.UTC)
    )
    assert [o.exer for o in client.orders] == [2027, 2026]


def test_a_payfip_payment_is_pending_for_15_minutes_then_expired_if_unanswered() -> None:
    client = RecordingPayfipClient()
    gateway = payfip(client)
    created = gateway.create_payment(AMOUNT, "ENF2026000042", email=EMAIL, now=EVENING)
    assert gateway.query_status(created, EVENING).status is PaymentStatus.PENDING
    assert gateway.query_status(created, EVENING + minutes(15) - dt.timedelta(seconds=1)).status is (
        PaymentStatus.PENDING
    )
    # Exactly 15 minutes after its creation the id has lapsed: the window is [20:30, 20:45).
    at_edge = gateway.query_status(created, dt.datetime(2026, 11, 12, 20, 45, tzinfo=PARIS))
    assert at_edge.status is PaymentStatus.EXPIRED
    assert (at_edge.amount, at_edge.reference, at_edge.gateway_code) == (None, None, "")


def test_the_validity_window_is_a_parameter() -> None:
    client = RecordingPayfipClient()
    created = payfip(client, validity=minutes(20)).create_payment(
        AMOUNT, "ENF2026000042", email=EMAIL, now=EVENING
    )
    assert created.expires_at == dt.datetime(2026, 11, 12, 20, 50, tzinfo=PARIS)
    with pytest.raises(InvalidInput) as error:
        payfip(client, validity=dt.timedelta(0))
    assert error.value.code == "payment.invalid_validity"


def test_the_window_is_elapsed_time_on_the_night_clocks_go_back() -> None:
    # Sunday 25 October 2026: at 03:00 summer time clocks go back to 02:00. A payment started at 02:50
    # summer time (00:50 UTC) expires at 01:05 UTC, which the clocks show as 02:05 winter time.
    client = RecordingPayfipClient()
    gateway = payfip(client)
    started = dt.datetime(2026, 10, 25, 2, 50, tzinfo=PARIS, fold=0)
    created = gateway.create_payment(AMOUNT, "ENF2026000042", email=EMAIL, now=started)
    assert created.expires_at.astimezone(dt.UTC) == dt.datetime(2026, 10, 25, 1, 5, tzinfo=dt.UTC)
    ten_past_two_winter_time = dt.datetime(2026, 10, 25, 2, 10, tzinfo=PARIS, fold=1)
    assert gateway.query_status(created, ten_past_two_winter_time).status is PaymentStatus.EXPIRED
    two_o_five_summer_time = dt.datetime(2026, 10, 25, 2, 55, tzinfo=PARIS, fold=0)
    assert gateway.query_status(created, two_o_five_summer_time).status is PaymentStatus.PENDING


def test_a_payfip_result_reports_its_figures_and_time() -> None:
    client = RecordingPayfipClient()
    gateway = payfip(client)
    created = gateway.create_payment(AMOUNT, "ENF2026000042", email=EMAIL, now=EVENING)
    client.results[created.payment_id] = PayfipResult(
        idop=created.payment_id,
        resultrans="P",
        montant="4250",  # SOAP answers are text; the converter reads digits
        refdet="ENF2026000042",
        numcli="012345",
        dattrans="12112026",
        heurtrans="2034",
        numauto="112233",
    )
    result = gateway.query_status(created, EVENING + minutes(5))
    assert result.status is PaymentStatus.PAID
    assert (result.amount, result.reference, result.gateway_code) == (AMOUNT, "ENF2026000042", "P")
    assert result.answered_at == dt.datetime(2026, 11, 12, 20, 34, tzinfo=PARIS)


def test_a_payfip_result_without_a_readable_time_has_none() -> None:
    result = PayfipResult(
        "c7d8e9f0-0001", "A", 4250, "ENF2026000042", "012345", dattrans="31022026", heurtrans="1200"
    )
    assert result.answered_at() is None
    assert PayfipResult("c7d8e9f0-0001", "A", 4250, "ENF2026000042", "012345").answered_at() is None


def test_a_payfip_answer_for_another_regie_decides_nothing() -> None:
    client = RecordingPayfipClient()
    gateway = payfip(client)
    created = gateway.create_payment(AMOUNT, "ENF2026000042", email=EMAIL, now=EVENING)
    client.results[created.payment_id] = PayfipResult(
        created.payment_id, "P", 4250, "ENF2026000042", "099999"
    )
    with pytest.raises(InvalidInput) as error:
        gateway.query_status(created, EVENING + minutes(5))
    assert error.value.code == "payfip.other_client"


def test_a_payfip_notification_carries_only_the_idop() -> None:
    gateway = payfip(RecordingPayfipClient())
    assert gateway.receive_notification({"idop": " c7d8e9f0-0001 "}) == PaymentNotification("c7d8e9f0-0001")
    assert gateway.receive_notification({"idOp": "c7d8e9f0-0002"}) == PaymentNotification("c7d8e9f0-0002")
    with pytest.raises(InvalidInput) as error:
        gateway.receive_notification({"resultrans": "P"})
    assert error.value.code == "payfip.notification_without_idop"


def test_a_client_that_returns_no_idop_creates_nothing() -> None:
    class Broken(RecordingPayfipClient):
        def create_idop(self, order: PayfipOrder) -> str:
            return ""

    with pytest.raises(InvalidInput) as error:
        payfip(Broken()).create_payment(AMOUNT, "ENF2026000042", email=EMAIL, now=EVENING)
    assert error.value.code == "payfip.no_idop"


def test_a_settled_payfip_payment_through_the_protocol() -> None:
    client = RecordingPayfipClient()
    gateway = payfip(client)
    known: dict[str, PaymentAttempt] = {}
    attempt = start(gateway, known)
    client.results[attempt.payment_id] = PayfipResult(
        attempt.payment_id, "V", 4250, "ENF2026000042", "012345"
    )
    notification = gateway.receive_notification({"idop": attempt.payment_id})
    decision = settle_notification(gateway, known, notification, EVENING + minutes(6))
    assert decision.outcome is NotificationOutcome.SETTLE
    assert decision.payment_order().received_at == EVENING + minutes(6)  # PayFiP gave no time


# -- the fake gateway ---------------------------------------------------------------------------


def test_the_fake_gateway_numbers_its_payments_from_a_counter() -> None:
    gateway = FakeGateway()
    first = gateway.create_payment(AMOUNT, "ENF2026000042", email=EMAIL, now=EVENING)
    second = gateway.create_payment(Money("12.00"), "ENF2026000043", email=EMAIL, now=EVENING)
    assert (first.payment_id, second.payment_id) == ("fake-000001", "fake-000002")
    assert first.redirect_url == "https://paiement.example/fake/fake-000001"
    assert gateway.notification("fake-000002") == {"idop": "fake-000002"}


def test_the_fake_gateway_refuses_a_reference_twice() -> None:
    gateway = FakeGateway()
    gateway.create_payment(AMOUNT, "ENF2026000042", email=EMAIL, now=EVENING)
    with pytest.raises(InvalidInput) as error:
        gateway.create_payment(AMOUNT, "ENF2026000042", email=EMAIL, now=EVENING + minutes(20))
    assert error.value.code == "payment.reference_reused"


def test_the_fake_gateway_answers_once_and_only_inside_the_window() -> None:
    gateway = FakeGateway()
    created = gateway.create_payment(AMOUNT, "ENF2026000042", email=EMAIL, now=EVENING)
    with pytest.raises(InvalidInput) as late:
        gateway.pay(created.payment_id, EVENING + minutes(15))
    assert late.value.code == "fake.outside_validity"
    with pytest.raises(InvalidInput) as early:
        gateway.pay(created.payment_id, EVENING - minutes(1))
    assert early.value.code == "fake.outside_validity"
    gateway.refuse(created.payment_id, EVENING + minutes(2))
    with pytest.raises(InvalidInput) as again:
        gateway.pay(created.payment_id, EVENING + minutes(3))
    assert again.value.code == "fake.already_answered"
    with pytest.raises(InvalidInput) as unknown:
        gateway.cancel("fake-000099", EVENING)
    assert unknown.value.code == "fake.unknown_id"


def test_the_fake_gateway_shows_an_answer_only_from_its_time() -> None:
    gateway = FakeGateway()
    created = gateway.create_payment(AMOUNT, "ENF2026000042", email=EMAIL, now=EVENING)
    gateway.pay(created.payment_id, EVENING + minutes(14))
    assert gateway.query_status(created, EVENING + minutes(13)).status is PaymentStatus.PENDING
    paid = gateway.query_status(created, EVENING + minutes(14))
    assert (paid.status, paid.amount, paid.reference) == (PaymentStatus.PAID, AMOUNT, "ENF2026000042")
    # An answer given inside the window still counts when the notification comes after it.
    assert gateway.query_status(created, EVENING + minutes(40)).status is PaymentStatus.PAID


def test_the_fake_gateway_refuses_bad_settings_and_payloads() -> None:
    with pytest.raises(InvalidInput):
        FakeGateway(validity=dt.timedelta(minutes=-5))
    with pytest.raises(InvalidInput) as error:
        FakeGateway().receive_notification({})
    assert error.value.code == "payment.notification_without_id"
    stranger = CreatedPayment(
        "fake-000009", "https://x.example", AMOUNT, "ENF2026000042", EMAIL, EVENING, EVENING + minutes(15)
    )
    with pytest.raises(InvalidInput) as unknown:
        FakeGateway().query_status(stranger, EVENING)
    assert unknown.value.code == "fake.unknown_id"


def test_a_created_payment_is_validated() -> None:
    with pytest.raises(InvalidInput) as negative:
        CreatedPayment(
            "p1", "https://x.example", Money("-1.00"), "ENF2026000042", EMAIL, EVENING, EVENING + minutes(15)
        )
    assert negative.value.code == "payment.not_positive"
    with pytest.raises(InvalidInput) as backwards:
        CreatedPayment("p1", "https://x.example", AMOUNT, "ENF2026000042", EMAIL, EVENING, EVENING)
    assert backwards.value.code == "input.end_before_start"
    with pytest.raises(InvalidInput) as naive:
        CreatedPayment(
            "p1",
            "https://x.example",
            AMOUNT,
            "ENF2026000042",
            EMAIL,
            dt.datetime(2026, 11, 12, 20, 30),
            EVENING,
        )
    assert naive.value.code == "input.naive_datetime"


# -- notifications ------------------------------------------------------------------------------


def test_a_paid_payment_is_settled_once_and_a_duplicate_notification_is_ignored() -> None:
    gateway = FakeGateway()
    known: dict[str, PaymentAttempt] = {}
    attempt = start(gateway, known)
    gateway.pay(attempt.payment_id, EVENING + minutes(4))

    first = settle_notification(gateway, known, notify(gateway, attempt.payment_id), EVENING + minutes(5))
    assert first.outcome is NotificationOutcome.SETTLE
    assert first.settles
    assert first.code == "payment.notification.paid"
    assert first.explain() == "Paiement ENF2026000042 de 42,50\xa0€ reçu : il est enregistré."
    assert first.status is PaymentStatus.PAID
    known = first.record(known)
    assert known[attempt.payment_id].settled

    second = settle_notification(gateway, known, notify(gateway, attempt.payment_id), EVENING + minutes(5))
    assert second.outcome is NotificationOutcome.IGNORE
    assert not second.settles
    assert second.code == "payment.notification.duplicate"
    assert second.explain("en") == "Payment ENF2026000042 is already settled: nothing changes."
    assert second.record(known) == known


def test_a_settled_payment_is_recorded_once_in_billing() -> None:
    invoice = Invoice(
        OCTOBER_INVOICE,
        "enfance",
        "martin",
        DocumentKind.INVOICE,
        DateRange(dt.date(2026, 10, 1), dt.date(2026, 10, 31)),
        dt.date(2026, 11, 5),
        dt.date(2026, 11, 30),
        [
            InvoiceLine(
                "lea",
                "repas",
                "Repas",
                "attendance.present",
                [dt.date(2026, 10, 1)],
                Decimal(17),
                Decimal("2.50"),
                AMOUNT,
            )
        ],
    )
    gateway = FakeGateway()
    known: dict[str, PaymentAttempt] = {}
    attempt = start(gateway, known)
    gateway.pay(attempt.payment_id, EVENING + minutes(4))
    decision = settle_notification(gateway, known, notify(gateway, attempt.payment_id), EVENING + minutes(5))
    order = decision.payment_order()
    assert order.received_at == EVENING + minutes(4)
    recorded = record_payment(BillingLedger([invoice]), order, EVENING.date())
    assert recorded.ledger.remaining(OCTOBER_INVOICE) == Money(0)
    replayed = record_payment(recorded.ledger, decision.payment_order(), EVENING.date())
    assert replayed.already_recorded
    assert replayed.ledger == recorded.ledger


def test_an_unknown_payment_id_is_rejected() -> None:
    gateway = FakeGateway()
    known: dict[str, PaymentAttempt] = {}
    start(gateway, known)
    decision = settle_notification(gateway, known, PaymentNotification("fake-000999"), EVENING + minutes(5))
    assert decision.outcome is NotificationOutcome.REJECT
    assert decision.code == "payment.notification.unknown_id"
    assert decision.message_fr == "Notification d'un paiement inconnu (fake-000999) : rien n'est enregistré."
    assert decision.message == "Notification for an unknown payment (fake-000999): nothing is recorded."
    assert decision.record(known) == known
    with pytest.raises(InvalidInput) as error:
        decision.payment_order()
    assert error.value.code == "payment.not_settled"


def test_a_tampered_amount_is_rejected_and_settles_nothing() -> None:
    gateway = FakeGateway()
    known: dict[str, PaymentAttempt] = {}
    attempt = start(gateway, known)
    gateway.pay(attempt.payment_id, EVENING + minutes(4))
    gateway.tamper(attempt.payment_id, amount=Money("0.42"))
    decision = settle_notification(gateway, known, notify(gateway, attempt.payment_id), EVENING + minutes(5))
    assert decision.outcome is NotificationOutcome.REJECT
    assert not decision.settles
    assert decision.code == "payment.notification.amount_mismatch"
    assert decision.message_fr == (
        "Le paiement ENF2026000042 annonce 0,42\xa0€, et non les 42,50\xa0€ demandés : rien n'est enregistré."
    )
    assert (
        decision.message == "Payment ENF2026000042 reports €0.42, not the €42.50 asked: nothing is recorded."
    )
    assert decision.record(known) == known
    assert not known[attempt.payment_id].settled


def test_a_tampered_reference_is_rejected_and_settles_nothing() -> None:
    gateway = FakeGateway()
    known: dict[str, PaymentAttempt] = {}
    attempt = start(gateway, known)
    gateway.pay(attempt.payment_id, EVENING + minutes(4))
    gateway.tamper(attempt.payment_id, reference="ENF2026000099")
    decision = settle_notification(gateway, known, notify(gateway, attempt.payment_id), EVENING + minutes(5))
    assert decision.outcome is NotificationOutcome.REJECT
    assert decision.code == "payment.notification.reference_mismatch"
    assert "ENF2026000099" in decision.message_fr
    assert "ENF2026000042" in decision.message_fr
    assert decision.record(known) == known


def test_a_refused_payment_is_retried_with_a_new_reference() -> None:
    gateway = FakeGateway()
    known: dict[str, PaymentAttempt] = {}
    first = start(gateway, known)
    gateway.refuse(first.payment_id, EVENING + minutes(3))
    refused = settle_notification(gateway, known, notify(gateway, first.payment_id), EVENING + minutes(4))
    assert (refused.outcome, refused.code) == (NotificationOutcome.CLOSE, "payment.notification.refused")
    assert refused.message_fr == "Le paiement ENF2026000042 a été refusé : les factures restent à payer."
    known = refused.record(known)
    assert known[first.payment_id].status is PaymentStatus.REFUSED
    assert payment_under_way(known.values(), "martin", [OCTOBER_INVOICE], EVENING + minutes(5)) is None

    with pytest.raises(InvalidInput) as reused:
        start(gateway, known, now=EVENING + minutes(6))
    assert reused.value.code == "payment.reference_reused"

    retry = start(gateway, known, reference="ENF2026000042B", now=EVENING + minutes(6))
    gateway.pay(retry.payment_id, EVENING + minutes(8))
    paid = settle_notification(gateway, known, notify(gateway, retry.payment_id), EVENING + minutes(9))
    assert paid.outcome is NotificationOutcome.SETTLE
    assert paid.payment_order().reference == "ENF2026000042B"
    # The refused one, notified again, still settles nothing.
    again = settle_notification(
        gateway, paid.record(known), notify(gateway, first.payment_id), EVENING + minutes(10)
    )
    assert again.outcome is NotificationOutcome.CLOSE


def test_a_cancelled_payment_closes_and_settles_nothing() -> None:
    gateway = FakeGateway()
    known: dict[str, PaymentAttempt] = {}
    attempt = start(gateway, known)
    gateway.cancel(attempt.payment_id, EVENING + minutes(1))
    decision = settle_notification(gateway, known, notify(gateway, attempt.payment_id), EVENING + minutes(2))
    assert (decision.outcome, decision.code) == (NotificationOutcome.CLOSE, "payment.notification.cancelled")
    assert decision.record(known)[attempt.payment_id].status is PaymentStatus.CANCELLED


def test_an_unanswered_payment_waits_then_expires_at_exactly_15_minutes() -> None:
    gateway = FakeGateway()
    known: dict[str, PaymentAttempt] = {}
    attempt = start(gateway, known)
    notification = notify(gateway, attempt.payment_id)
    waiting = settle_notification(
        gateway, known, notification, EVENING + minutes(15) - dt.timedelta(seconds=1)
    )
    assert (waiting.outcome, waiting.code) == (NotificationOutcome.WAIT, "payment.notification.pending")
    assert waiting.record(known) == known
    expired = settle_notification(gateway, known, notification, EVENING + minutes(15))
    assert (expired.outcome, expired.code) == (NotificationOutcome.CLOSE, "payment.notification.expired")
    assert expired.record(known)[attempt.payment_id].status is PaymentStatus.EXPIRED


# -- a payment under way ------------------------------------------------------------------------


def test_a_payment_under_way_is_pending_for_its_family_and_invoices_until_it_expires() -> None:
    gateway = FakeGateway()
    known: dict[str, PaymentAttempt] = {}
    attempt = start(gateway, known, invoices=(OCTOBER_INVOICE, "FAC-enfance-2026-000043"))
    during = EVENING + minutes(14)
    assert payment_under_way(known.values(), "martin", [OCTOBER_INVOICE], during) == attempt
    assert payment_under_way(known.values(), "martin", "FAC-enfance-2026-000043", during) == attempt
    assert attempt.status_at(during) is PaymentStatus.PENDING
    assert payment_under_way(known.values(), "martin", ["FAC-enfance-2026-000077"], during) is None
    assert payment_under_way(known.values(), "durand", [OCTOBER_INVOICE], during) is None
    at_edge = EVENING + minutes(15)
    assert payment_under_way(known.values(), "martin", [OCTOBER_INVOICE], at_edge) is None
    assert attempt.status_at(at_edge) is PaymentStatus.EXPIRED


def test_the_portal_does_not_start_a_second_payment_of_the_same_invoices() -> None:
    gateway = FakeGateway()
    known: dict[str, PaymentAttempt] = {}
    start(gateway, known)
    with pytest.raises(InvalidInput) as error:
        start(gateway, known, reference="ENF2026000042B", now=EVENING + minutes(5))
    assert error.value.code == "payment.under_way"
    assert error.value.message_fr == (
        "Un paiement de ces factures est déjà en cours (référence ENF2026000042) ; "
        "réessayez après 20 h 45 s'il n'aboutit pas."
    )
    assert len(known) == 1
    # Once the first has expired, the family may pay again.
    start(gateway, known, reference="ENF2026000042B", now=EVENING + minutes(15))
    assert len(known) == 2


def test_a_payment_must_name_what_it_pays() -> None:
    with pytest.raises(InvalidInput) as error:
        start(FakeGateway(), {}, invoices=())
    assert error.value.code == "payment.no_selection"
