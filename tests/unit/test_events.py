"""Notifications as domain events: their e-mails, their JSON form, and the outbox that sends each once."""

from __future__ import annotations

import datetime as dt
import json
import random
from collections.abc import Callable
from zoneinfo import ZoneInfo

import pytest

from espacefamille.errors import InvalidInput
from espacefamille.families.events import (
    EVENT_TYPES,
    AccountActivated,
    BookingConfirmed,
    DomainEvent,
    HoldExpired,
    InvoiceIssued,
    OutboxMessage,
    PaymentReceived,
    RequestAnswered,
    RetryPolicy,
    UnpaidExemptionGranted,
    UnpaidExemptionRevoked,
    WaitingListPlaceGranted,
    drain,
    event_from_dict,
    mark_failed,
    mark_sent,
    new_message,
    pending,
)
from espacefamille.money import Money

PARIS = ZoneInfo("Europe/Paris")
REUNION = ZoneInfo("Indian/Reunion")
# Monday 30 November 2026, 6:00: the month-end billing run has just issued November's invoices.
NOW = dt.datetime(2026, 11, 30, 6, 0, tzinfo=PARIS)
LINK = "https://espace-famille.example.fr/activer?jeton=Zm9vYmFy"


class SeededSource:
    def __init__(self, seed: int) -> None:
        self._random = random.Random(seed)

    def token_bytes(self, nbytes: int, /) -> bytes:
        return self._random.randbytes(nbytes)


def one_of_each() -> list[DomainEvent]:
    return [
        AccountActivated(
            "saint-aubin",
            "martin",
            NOW,
            guardian_id="claire-martin",
            email="claire.martin@example.fr",
            collectivite_name="Saint-Aubin-des-Prés",
            activation_link=LINK,
            expires_at=NOW + dt.timedelta(days=14),
        ),
        BookingConfirmed(
            "saint-aubin",
            "martin",
            NOW,
            child_id="lea",
            child_name="Léa",
            prestation_id="repas",
            prestation_name="Repas",
            days=[dt.date(2026, 12, 8), dt.date(2026, 12, 7)],
        ),
        WaitingListPlaceGranted(
            "saint-aubin", "martin", NOW, "lea", "Léa", "alsh-journee", "Journée ALSH", dt.date(2026, 12, 21)
        ),
        HoldExpired(
            "saint-aubin",
            "martin",
            NOW,
            "lea",
            "Léa",
            "alsh-semaine",
            "Semaine de Noël",
            [dt.date(2026, 12, 21)],
            held_until=NOW - dt.timedelta(minutes=1),
        ),
        InvoiceIssued(
            "saint-aubin",
            "martin",
            NOW,
            "regie-enfance",
            "FAC-2026-000142",
            Money("87.40"),
            dt.date(2026, 12, 15),
        ),
        PaymentReceived(
            "saint-aubin",
            "martin",
            NOW,
            "PAY-2026-000031",
            Money("87.40"),
            ("FAC-2026-000142", "FAC-2026-000143"),
        ),
        RequestAnswered(
            "saint-aubin",
            "martin",
            NOW,
            "dem-17",
            "Attestation de paiement",
            "accepted",
            "Votre attestation est jointe.",
        ),
        # A payment plan agreed at the régie, until New Year's Eve; then ended early.
        UnpaidExemptionGranted("saint-aubin", "martin", NOW, dt.date(2026, 11, 30), dt.date(2026, 12, 31)),
        UnpaidExemptionRevoked("saint-aubin", "martin", NOW),
    ]


# -- the events -------------------------------------------------------------------------------


def test_every_kind_of_notification_has_its_own_stable_type_code() -> None:
    assert sorted(EVENT_TYPES) == [
        "account.activated",
        "booking.confirmed",
        "booking.hold_expired",
        "invoice.issued",
        "payment.received",
        "request.answered",
        "unpaid.exemption_granted",
        "unpaid.exemption_revoked",
        "waiting_list.place_granted",
    ]
    assert {type(event) for event in one_of_each()} == set(EVENT_TYPES.values())


@pytest.mark.parametrize("event", one_of_each(), ids=lambda event: event.type_code)
def test_an_event_survives_a_round_trip_through_json(event: DomainEvent) -> None:
    data = json.loads(json.dumps(event.to_dict()))
    assert data["type"] == event.type_code
    assert data["collectivite_id"] == "saint-aubin"
    assert data["family_id"] == "martin"
    back = event_from_dict(data)
    assert back == event
    assert type(back).from_dict(data) == event
    assert DomainEvent.from_dict(data) == event
    assert back.subject_fr == event.subject_fr
    assert back.body_fr == event.body_fr


def test_an_instant_keeps_its_commune_time_zone_through_json() -> None:
    at_saint_denis = dt.datetime(2026, 12, 1, 7, 15, tzinfo=REUNION)
    event = InvoiceIssued(
        "saint-denis", "payet", at_saint_denis, "regie", "FAC-1", Money("20"), dt.date(2026, 12, 31)
    )
    data = event.to_dict()
    assert data["occurred_at"] == "2026-12-01T07:15:00+04:00[Indian/Reunion]"
    back = event_from_dict(json.loads(json.dumps(data)))
    assert back.occurred_at.tzinfo == REUNION
    assert back.occurred_at.hour == 7


def test_amounts_are_written_as_exact_decimal_text() -> None:
    data = one_of_each()[4].to_dict()
    assert data["total"] == "87.40"
    assert data["due_date"] == "2026-12-15"


def test_the_booking_e_mail_lists_the_dates_in_french() -> None:
    event = one_of_each()[1]
    assert event.subject_fr == "Réservation confirmée : Repas pour Léa"
    assert "confirmée pour : lundi 7 décembre 2026 et mardi 8 décembre 2026." in event.body_fr


def test_a_prepaid_booking_e_mail_says_what_was_paid() -> None:
    event = BookingConfirmed(
        "saint-aubin",
        "martin",
        NOW,
        "lea",
        "Léa",
        "alsh-semaine",
        "Semaine de Noël",
        [dt.date(2026, 12, 21)],
        Money("62.50"),
    )
    assert "Montant payé : 62,50\u00a0€." in event.body_fr


def test_the_invoice_e_mail_gives_number_amount_and_due_date() -> None:
    event = one_of_each()[4]
    assert event.subject_fr == "Nouvelle facture n° FAC-2026-000142"
    assert "87,40\u00a0€" in event.body_fr
    assert "jusqu'au mardi 15 décembre 2026" in event.body_fr


def test_a_direct_debit_invoice_is_not_offered_for_online_payment() -> None:
    event = InvoiceIssued(
        "saint-aubin", "martin", NOW, "regie", "FAC-9", Money("1234.50"), dt.date(2026, 12, 10), True
    )
    assert "prélevée à partir du jeudi 10 décembre 2026" in event.body_fr
    assert "en ligne" not in event.body_fr
    assert "1\u202f234,50\u00a0€" in event.body_fr


def test_a_credit_note_reads_as_an_avoir_for_the_family() -> None:
    event = InvoiceIssued(
        "saint-aubin", "martin", NOW, "regie", "AV-2026-000003", Money("-12.30"), dt.date(2026, 12, 15)
    )
    assert event.subject_fr == "Avoir n° AV-2026-000003"
    assert "avoir n° AV-2026-000003 de 12,30\u00a0€" in event.body_fr


def test_the_payment_e_mail_names_the_invoices_it_settles() -> None:
    assert "règle les factures n° FAC-2026-000142 et FAC-2026-000143" in one_of_each()[5].body_fr
    single = PaymentReceived("saint-aubin", "martin", NOW, "PAY-1", Money("5"), ["FAC-1"])
    assert "règle la facture n° FAC-1." in single.body_fr
    bare = PaymentReceived("saint-aubin", "martin", NOW, "PAY-2", Money("5"))
    assert "règle" not in bare.body_fr


def test_the_request_answer_gives_the_status_in_french() -> None:
    event = one_of_each()[6]
    assert "« Attestation de paiement » est acceptée" in event.body_fr
    assert "Votre attestation est jointe." in event.body_fr


def test_the_expired_hold_e_mail_says_when_payment_was_due() -> None:
    assert "avant le lundi 30 novembre 2026 à 5 h 59" in one_of_each()[3].body_fr
    assert one_of_each()[2].subject_fr == "Une place s'est libérée pour Léa"


def test_the_exemption_e_mails_say_until_when_bookings_are_no_longer_blocked_and_when_they_may_be_again() -> (
    None
):
    granted, revoked = one_of_each()[7:]
    assert granted.subject_fr == "Vos réservations ne sont plus bloquées pour factures impayées"
    assert (
        "du lundi 30 novembre 2026 au jeudi 31 décembre 2026 inclus : vos réservations ne sont plus bloquées"
        in granted.body_fr
    )
    assert "Vos factures impayées restent à régler." in granted.body_fr
    # A social-services follow-up with no end date: the régie decides when it ends.
    open_ended = UnpaidExemptionGranted("saint-aubin", "martin", NOW, dt.date(2026, 11, 30))
    assert "à partir du lundi 30 novembre 2026 et jusqu'à nouvel ordre" in open_ended.body_fr
    assert event_from_dict(json.loads(json.dumps(open_ended.to_dict()))) == open_ended
    assert open_ended.to_dict()["until"] is None
    assert "vos réservations peuvent de nouveau être bloquées" in revoked.body_fr


def test_an_exemption_notice_cannot_end_before_it_starts() -> None:
    with pytest.raises(InvalidInput) as backwards:
        UnpaidExemptionGranted("saint-aubin", "martin", NOW, dt.date(2026, 12, 31), dt.date(2026, 11, 30))
    assert backwards.value.code == "input.end_before_start"


def test_the_activation_e_mail_carries_the_link_until_it_is_sent() -> None:
    event = one_of_each()[0]
    assert isinstance(event, AccountActivated)
    assert LINK in event.body_fr
    assert "expire le lundi 14 décembre 2026 à 6 h 00" in event.body_fr
    assert LINK not in repr(event)
    sent = mark_sent(OutboxMessage("msg-1", event), NOW)
    assert isinstance(sent.event, AccountActivated)
    assert sent.event.activation_link is None
    assert LINK not in json.dumps(sent.to_dict())
    assert "(lien déjà envoyé)" in sent.event.body_fr


def test_an_unknown_event_type_is_refused() -> None:
    with pytest.raises(InvalidInput) as error:
        event_from_dict({"type": "booking.teleported", "collectivite_id": "x", "family_id": "y"})
    assert error.value.code == "event.unknown_type"


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda d: d.pop("due_date"), "missing key 'due_date'"),
        (lambda d: d.update(due_date="15/12/2026"), "due_date"),
        (lambda d: d.update(total=87.4), "total"),
        (lambda d: d.update(total="87.405"), "total"),
        (lambda d: d.update(direct_debit="no"), "direct_debit"),
        (lambda d: d.update(occurred_at="2026-11-30T06:00:00"), "occurred_at"),
        (lambda d: d.update(occurred_at="2026-11-30T06:00:00+01:00[Mars/Olympus]"), "occurred_at"),
        (lambda d: d.update(occurred_at=3), "occurred_at"),
        (lambda d: d.update(regie_id=None), "regie_id"),
        (lambda d: d.update(colour="blue"), "unknown keys ['colour']"),
    ],
    ids=[
        "missing",
        "bad-date",
        "float-amount",
        "sub-cent",
        "bad-bool",
        "naive",
        "bad-zone",
        "not-text",
        "none",
        "extra",
    ],
)
def test_a_malformed_event_is_refused_with_the_field_named(
    change: Callable[[dict[str, object]], object], expected: str
) -> None:
    data = one_of_each()[4].to_dict()
    change(data)
    with pytest.raises(InvalidInput) as error:
        event_from_dict(data)
    assert error.value.code == "event.malformed"
    assert expected in str(error.value)
    assert error.value.message_fr == "Notification illisible."


def test_a_list_field_must_be_a_list() -> None:
    data = one_of_each()[1].to_dict()
    data["days"] = "2026-12-07"
    with pytest.raises(InvalidInput) as error:
        event_from_dict(data)
    assert error.value.code == "event.malformed"


def test_an_event_read_as_the_wrong_class_is_refused() -> None:
    data = one_of_each()[4].to_dict()
    with pytest.raises(InvalidInput) as error:
        PaymentReceived.from_dict(data)
    assert error.value.code == "event.malformed"
    with pytest.raises(InvalidInput):
        event_from_dict(["invoice.issued"])  # type: ignore[arg-type]


def test_an_event_needs_an_aware_instant_and_dates() -> None:
    with pytest.raises(InvalidInput) as naive:
        InvoiceIssued(
            "saint-aubin",
            "martin",
            dt.datetime(2026, 11, 30, 6),
            "regie",
            "FAC-1",
            Money("1"),
            dt.date(2026, 12, 15),
        )
    assert naive.value.code == "input.naive_datetime"
    with pytest.raises(InvalidInput) as no_dates:
        BookingConfirmed("saint-aubin", "martin", NOW, "lea", "Léa", "repas", "Repas", [])
    assert no_dates.value.code == "event.no_dates"
    with pytest.raises(InvalidInput) as no_hold_dates:
        HoldExpired("saint-aubin", "martin", NOW, "lea", "Léa", "repas", "Repas", [], NOW)
    assert no_hold_dates.value.code == "event.no_dates"
    with pytest.raises(InvalidInput) as no_number:
        InvoiceIssued("saint-aubin", "martin", NOW, "regie", "", Money("1"), dt.date(2026, 12, 15))
    assert no_number.value.code == "event.no_number"


# -- the outbox -------------------------------------------------------------------------------


class FlakyNotifier:
    """Records what it delivered; fails for the messages it is told to."""

    def __init__(self, failing: set[str] | None = None) -> None:
        self.failing = failing if failing is not None else set()
        self.delivered: list[str] = []

    def send(self, message: OutboxMessage, /) -> None:
        if message.id in self.failing:
            raise ConnectionError(f"SMTP refused {message.id}")
        self.delivered.append(message.id)


def outbox(n: int) -> list[OutboxMessage]:
    events = one_of_each()
    return [OutboxMessage(f"msg-{i}", events[i % len(events)]) for i in range(n)]


@pytest.mark.parametrize("k", range(7))
def test_a_notifier_failing_at_the_kth_message_loses_nothing_and_sends_nothing_twice(k: int) -> None:
    messages = outbox(7)
    notifier = FlakyNotifier({f"msg-{k}"})
    after_first = drain(messages, notifier, NOW)
    assert [m.id for m in after_first] == [m.id for m in messages]
    assert [m.id for m in pending(after_first)] == [f"msg-{k}"]
    failed = after_first[k]
    assert failed.attempts == 1
    assert failed.last_error == f"ConnectionError: SMTP refused msg-{k}"
    assert failed.next_attempt_at == NOW + dt.timedelta(minutes=1)
    assert notifier.delivered == [f"msg-{i}" for i in range(7) if i != k]

    notifier.failing.clear()
    # Within the back-off nothing is tried again; then the failed one goes, and only it.
    assert drain(after_first, notifier, NOW + dt.timedelta(seconds=30)) == after_first
    after_second = drain(after_first, notifier, NOW + dt.timedelta(minutes=1))
    assert pending(after_second) == []
    assert sorted(notifier.delivered) == sorted(m.id for m in messages)
    assert len(notifier.delivered) == len(set(notifier.delivered))
    assert drain(after_second, notifier, NOW + dt.timedelta(days=1)) == after_second
    assert len(notifier.delivered) == 7


def test_a_notifier_down_for_everything_keeps_every_message_pending() -> None:
    messages = outbox(3)
    notifier = FlakyNotifier({m.id for m in messages})
    after = drain(messages, notifier, NOW)
    assert len(pending(after)) == 3
    assert all(m.attempts == 1 and m.sent_at is None for m in after)


def test_the_wait_between_tries_doubles_up_to_six_hours() -> None:
    policy = RetryPolicy()
    assert [policy.delay(n) for n in (1, 2, 3, 4)] == [dt.timedelta(minutes=m) for m in (1, 2, 4, 8)]
    assert policy.delay(9) == dt.timedelta(minutes=256)
    assert policy.delay(10) == dt.timedelta(hours=6)
    assert policy.delay(10_000) == dt.timedelta(hours=6)
    message = OutboxMessage("msg-1", one_of_each()[4])
    for attempt in range(1, 4):
        message = mark_failed(message, NOW, "timeout", retry=policy)
        assert message.attempts == attempt
    assert message.next_attempt_at == NOW + dt.timedelta(minutes=4)


def test_a_retry_policy_must_make_sense() -> None:
    with pytest.raises(InvalidInput) as error:
        RetryPolicy(first=dt.timedelta(hours=2), longest=dt.timedelta(hours=1))
    assert error.value.code == "outbox.bad_retry_policy"


def test_a_long_error_is_cut_for_the_agent_who_reads_it() -> None:
    failed = mark_failed(OutboxMessage("msg-1", one_of_each()[4]), NOW, "x" * 5000)
    assert failed.last_error is not None
    assert len(failed.last_error) == 500


def test_a_sent_message_is_never_marked_again() -> None:
    sent = mark_sent(OutboxMessage("msg-1", one_of_each()[4]), NOW)
    assert sent.is_sent
    assert sent.attempts == 1
    assert sent.sent_at == NOW
    with pytest.raises(InvalidInput) as twice:
        mark_sent(sent, NOW)
    assert twice.value.code == "outbox.already_sent"
    with pytest.raises(InvalidInput) as late_failure:
        mark_failed(sent, NOW, "late")
    assert late_failure.value.code == "outbox.already_sent"


def test_an_outbox_with_a_duplicated_id_is_refused() -> None:
    message = OutboxMessage("msg-1", one_of_each()[4])
    with pytest.raises(InvalidInput) as error:
        drain([message, message], FlakyNotifier(), NOW)
    assert error.value.code == "outbox.duplicate_id"


def test_draining_needs_an_aware_instant() -> None:
    with pytest.raises(InvalidInput) as error:
        drain(outbox(1), FlakyNotifier(), dt.datetime(2026, 11, 30, 6))
    assert error.value.code == "input.naive_datetime"


def test_a_new_message_gets_a_random_128_bit_id_from_the_source() -> None:
    first = new_message(one_of_each()[4], source=SeededSource(3))
    again = new_message(one_of_each()[4], source=SeededSource(3))
    assert first.id == again.id
    assert first.id.startswith("msg-")
    assert len(first.id) == len("msg-") + 32
    assert new_message(one_of_each()[4]).id != new_message(one_of_each()[4]).id
    assert first.attempts == 0
    assert not first.is_sent


@pytest.mark.parametrize("state", ["new", "failed", "sent"])
def test_an_outbox_message_survives_a_round_trip_through_json(state: str) -> None:
    message = OutboxMessage("msg-1", one_of_each()[1])
    if state == "failed":
        message = mark_failed(message, NOW, "timeout")
    elif state == "sent":
        message = mark_sent(message, NOW)
    assert OutboxMessage.from_dict(json.loads(json.dumps(message.to_dict()))) == message


@pytest.mark.parametrize(
    "data",
    [
        [],
        {"id": "msg-1"},
        {"id": "msg-1", "event": {"type": "request.answered"}, "attempts": "one"},
        {"id": 1, "event": {}, "attempts": 0},
        {"id": "msg-1", "event": {}, "sent_at": "yesterday"},
    ],
    ids=["not-a-mapping", "no-event", "bad-attempts", "bad-id", "bad-instant"],
)
def test_a_malformed_outbox_message_is_refused(data: object) -> None:
    with pytest.raises(InvalidInput) as error:
        OutboxMessage.from_dict(data)  # type: ignore[arg-type]
    assert error.value.code == "event.malformed"


def test_an_instant_with_a_plain_utc_offset_round_trips_without_a_zone_name() -> None:
    at_utc = dt.datetime(2026, 11, 30, 5, 0, tzinfo=dt.UTC)
    event = PaymentReceived("saint-aubin", "martin", at_utc, "PAY-7", Money("10"))
    data = event.to_dict()
    assert data["occurred_at"] == "2026-11-30T05:00:00+00:00"
    assert event_from_dict(data) == event


def test_an_optional_field_left_out_takes_its_default() -> None:
    data = one_of_each()[1].to_dict()
    del data["amount_paid"]
    back = event_from_dict(data)
    assert isinstance(back, BookingConfirmed)
    assert back.amount_paid is None


def test_a_date_written_as_a_number_is_refused() -> None:
    data = one_of_each()[2].to_dict()
    data["day"] = 20261221
    with pytest.raises(InvalidInput) as error:
        event_from_dict(data)
    assert error.value.code == "event.malformed"
    with pytest.raises(InvalidInput) as not_mapping:
        WaitingListPlaceGranted.from_dict(["waiting_list.place_granted"])  # type: ignore[arg-type]
    assert not_mapping.value.code == "event.malformed"


def test_an_event_names_its_family_with_an_identifier() -> None:
    with pytest.raises(InvalidInput) as error:
        PaymentReceived("saint-aubin", "famille martin", NOW, "PAY-1", Money("5"))
    assert error.value.code == "model.bad_identifier"
