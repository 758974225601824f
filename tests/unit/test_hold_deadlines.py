"""Held places never outlast a deadline, and a hold's length is elapsed time (memory and SQLite stores).

Golden dates at Saint-Aubin-des-Prés (Europe/Paris), a 60-minute hold:
- Sunday 6 December 2026 at 23:30, a holiday-centre day of 21 December: registration for the Christmas
  holidays closes at 23:59 that evening, so the place is held until 23:59, not until 00:30;
- Friday 15 January 2027 at 23:45, the multisport week of 22 February: its booking deadline is the 15th of
  the previous month at 23:59, so the week is held until 23:59;
- Sunday 25 October 2026 at 02:30 (summer time, the first 02:30 of the night the clocks go back), the
  multisport week of 21 December: held for 60 real minutes, until the second 02:30 (winter time), not until
  03:30 winter time (what wall-clock arithmetic on an aware datetime gives: two real hours).
A payment that arrives after the hold confirms nothing: the money becomes the family's credit at the régie.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import attrs
import pytest

from espacefamille.billing.prepaid import expired_holds, held_until, hold_limit
from espacefamille.errors import InvalidInput
from espacefamille.examples import example_commune
from espacefamille.model import Booking, BookingStatus
from espacefamille.money import Money
from espacefamille.ports import CommuneStore

from .test_prepaid_credit_reuse import AGENT, PARIS, World, book, make_world, new_store

__all__ = ["new_store"]  # the store fixture, memory and SQLite

UTC = dt.UTC
CHRISTMAS_MONDAY = dt.date(2026, 12, 21)
WINTER_WEEK = dt.date(2027, 2, 22)
WINDOW_EVENING = dt.datetime(2026, 12, 6, 23, 30, tzinfo=PARIS)
DEADLINE_EVENING = dt.datetime(2027, 1, 15, 23, 45, tzinfo=PARIS)
DST_NIGHT = dt.datetime(2026, 10, 25, 2, 30, tzinfo=PARIS)  # fold=0: 00:30 UTC, summer time


def spaces(text: str) -> str:
    return text.replace("\u202f", " ").replace("\xa0", " ")


def world_at(new_store: Callable[[], CommuneStore], now: dt.datetime) -> World:
    # A gateway whose payments stay valid long enough to be answered after the hold.
    return make_world(new_store(), now=now, validity=dt.timedelta(hours=2))


def test_a_hold_ends_when_registration_closes(new_store: Callable[[], CommuneStore]) -> None:
    world = world_at(new_store, WINDOW_EVENING)
    outcome = world.basket(book(CHRISTMAS_MONDAY))
    (to_pay,) = outcome.to_pay
    assert to_pay.held_until == dt.datetime(2026, 12, 6, 23, 59, tzinfo=PARIS)
    assert spaces(to_pay.message_fr) == (
        "Montant à payer : 12,00 €. Vos places sont retenues jusqu'au dimanche 6 décembre 2026 à 23 h 59 ; "
        "sans paiement, elles seront libérées."
    )
    (attempt,) = outcome.payments
    world.pay(attempt, after=dt.timedelta(minutes=28))  # paid at 23:58
    result = world.notify(attempt)
    assert [(b.status, b.paid) for b in result.confirmed] == [(BookingStatus.BOOKED, Money("12.00"))]


def test_a_payment_after_registration_closed_books_nothing_and_becomes_a_credit(
    new_store: Callable[[], CommuneStore],
) -> None:
    world = world_at(new_store, WINDOW_EVENING)
    (attempt,) = world.basket(book(CHRISTMAS_MONDAY)).payments
    world.pay(attempt, after=dt.timedelta(minutes=31))  # paid at 00:01, inside the 60 minutes
    result = world.notify(attempt)
    assert result.code == "prepaid.paid_after_hold"
    assert result.confirmed == ()
    assert result.refund is None
    assert result.payment is not None
    assert result.payment.amount == Money("12.00")
    note = result.credit_note
    assert note is not None
    assert (note.number, note.total, note.regie_id) == ("AV-loisirs-2026-000001", Money("-12.00"), "loisirs")
    assert (note.lines[0].reason, note.lines[0].days) == ("prepaid.paid_after_hold", (CHRISTMAS_MONDAY,))
    assert spaces(result.message_fr) == (
        f"Votre paiement de 12,00 € (référence {attempt.reference}) est arrivé après la fin de la "
        "réservation de vos places : rien n'est réservé, les places ont pu être attribuées à d'autres "
        "familles. Cette somme devient l'avoir AV-loisirs-2026-000001. Il sera déduit de votre prochain "
        "paiement à la "
        "réservation, ou remboursé sur demande à la régie."
    )
    booking = world.bookings()[("C1", "journee", CHRISTMAS_MONDAY)]
    assert (booking.status, booking.paid) == (BookingStatus.HELD, None)
    assert world.credit_left() == {"loisirs": Money("12.00")}
    # The notification replayed records nothing twice.
    assert world.notify(attempt).code == "payment.notification.duplicate"
    assert world.credit_left() == {"loisirs": Money("12.00")}


def test_a_hold_ends_at_the_booking_deadline(new_store: Callable[[], CommuneStore]) -> None:
    world = world_at(new_store, DEADLINE_EVENING)
    (to_pay,) = world.basket(book(WINTER_WEEK, "stage_semaine")).to_pay
    assert to_pay.held_until == dt.datetime(2027, 1, 15, 23, 59, tzinfo=PARIS)
    held = [b for b in world.bookings().values() if b.status is BookingStatus.HELD]
    commune = example_commune()
    midnight = dt.datetime(2027, 1, 16, 0, 0, tzinfo=PARIS)
    # Every day of the week is released together once the deadline has passed, well before the hour.
    assert (
        expired_holds(
            held, dt.datetime(2027, 1, 15, 23, 58, tzinfo=PARIS), world.portal.hold, commune=commune
        )
        == ()
    )
    assert len(expired_holds(held, midnight, world.portal.hold, commune=commune)) == len(held) == 5
    assert expired_holds(held, midnight, world.portal.hold) == ()  # without the commune: the hour only


def test_a_hold_taken_on_the_autumn_dst_night_lasts_sixty_real_minutes(
    new_store: Callable[[], CommuneStore],
) -> None:
    world = world_at(new_store, DST_NIGHT)
    outcome = world.basket(book(CHRISTMAS_MONDAY, "stage_semaine"))
    (to_pay,) = outcome.to_pay
    assert to_pay.held_until is not None
    assert to_pay.held_until.astimezone(UTC) == dt.datetime(2026, 10, 25, 1, 30, tzinfo=UTC)
    assert to_pay.held_until.utcoffset() == dt.timedelta(hours=1)  # the second 02:30, winter time
    assert "jusqu'au dimanche 25 octobre 2026 à 2 h 30 (heure d'hiver)" in spaces(to_pay.message_fr)
    # 02:29 winter time is 59 minutes later: still held. 02:31 winter time is 61 minutes later: released.
    world.clock.instant = dt.datetime(2026, 10, 25, 2, 29, fold=1, tzinfo=PARIS)
    assert world.office.release_expired_holds(AGENT).released == ()
    world.clock.instant = dt.datetime(2026, 10, 25, 2, 31, fold=1, tzinfo=PARIS)
    released = world.office.release_expired_holds(AGENT)
    assert {b.prestation_id for b in released.released} == {"stage_semaine"}


def test_a_payment_on_the_dst_night_after_sixty_real_minutes_is_late(
    new_store: Callable[[], CommuneStore],
) -> None:
    world = world_at(new_store, DST_NIGHT)
    (attempt,) = world.basket(book(CHRISTMAS_MONDAY, "stage_semaine")).payments
    # 02:45 winter time: 75 real minutes after the basket, although the wall clock shows 15 minutes.
    world.gateway.pay(attempt.payment_id, dt.datetime(2026, 10, 25, 2, 45, fold=1, tzinfo=PARIS))
    world.clock.instant = dt.datetime(2026, 10, 25, 2, 46, fold=1, tzinfo=PARIS)
    result = world.notify(attempt)
    assert result.code == "prepaid.paid_after_hold"
    assert result.credit_note is not None
    assert result.credit_note.total == Money("-60.00")


def test_the_pure_hold_limits() -> None:
    commune = example_commune()
    evening = dt.datetime(2026, 12, 6, 23, 30, tzinfo=PARIS)
    held = Booking("C1", "journee", CHRISTMAS_MONDAY, "F1", BookingStatus.HELD, evening)
    assert hold_limit(commune, held) == dt.datetime(2026, 12, 6, 23, 59, tzinfo=PARIS)
    # A place held after its deadline (a waiting-list place given later) is held until the day starts.
    later = Booking(
        "C1", "journee", CHRISTMAS_MONDAY, "F1", BookingStatus.HELD, evening + dt.timedelta(days=3)
    )
    assert hold_limit(commune, later) == dt.datetime(2026, 12, 21, 8, 0, tzinfo=PARIS)
    # The earliest of the hour and every held line's limit; nothing held, no limit.
    hour = dt.timedelta(hours=1)
    assert held_until(commune, [held, later], hour) == dt.datetime(2026, 12, 6, 23, 59, tzinfo=PARIS)
    assert held_until(commune, [later], hour) == evening + dt.timedelta(days=3, hours=1)
    booked = Booking("C1", "journee", CHRISTMAS_MONDAY, "F1", BookingStatus.BOOKED, evening)
    assert held_until(commune, [booked], hour) is None
    # A prestation without booking rules is held no later than its start.
    bare = attrs.evolve(
        commune, booking_rules={k: v for k, v in commune.booking_rules.items() if k != "journee"}
    )
    assert hold_limit(bare, later) == dt.datetime(2026, 12, 21, 8, 0, tzinfo=PARIS)
    with pytest.raises(InvalidInput) as hold:
        held_until(commune, [held], dt.timedelta(0))
    assert hold.value.code == "prepaid.hold"


def test_a_basket_past_its_deadline_no_longer_holds_back_the_credit(
    new_store: Callable[[], CommuneStore],
) -> None:
    world = world_at(new_store, WINDOW_EVENING)
    world.paid_and_cancelled(CHRISTMAS_MONDAY)  # a 12,00 € credit, at 23:37
    (days,) = world.basket(book(dt.date(2026, 12, 22)), book(dt.date(2026, 12, 23))).payments
    assert days.amount == Money("12.00")  # 24,00 € less the credit, held until 23:59
    # At 00:05 registration has closed: that basket can no longer be paid, its credit is free again.
    world.clock.instant = dt.datetime(2026, 12, 7, 0, 5, tzinfo=PARIS)
    (week,) = world.basket(book(WINTER_WEEK, "stage_semaine")).payments
    assert week.amount == Money("48.00")


def test_the_back_office_releases_a_hold_at_its_booking_deadline_and_says_until_when(
    new_store: Callable[[], CommuneStore],
) -> None:
    world = world_at(new_store, DEADLINE_EVENING)
    world.basket(book(WINTER_WEEK, "stage_semaine"))
    world.clock.instant = dt.datetime(2027, 1, 15, 23, 58, tzinfo=PARIS)
    assert world.office.release_expired_holds(AGENT).released == ()
    # Midnight: 15 minutes after the basket, but past the week's deadline of 23:59.
    world.clock.instant = dt.datetime(2027, 1, 16, 0, 0, tzinfo=PARIS)
    released = world.office.release_expired_holds(AGENT)
    assert len(released.released) == 5
    with world.store.unit_of_work() as uow:
        expired = [m.event for m in uow.outbox.all() if m.event.type_code == "booking.hold_expired"]
    assert [event.held_until for event in expired] == [  # type: ignore[attr-defined]
        dt.datetime(2027, 1, 15, 23, 59, tzinfo=PARIS)
    ]
