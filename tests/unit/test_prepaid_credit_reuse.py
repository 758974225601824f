"""A family's prepaid credit pays its next basket at the same régie, on the memory and the SQLite store.

Saint-Aubin-des-Prés, Thursday 26 November 2026 at 9:00. Léa Martin goes to the holiday centre (régie
« loisirs », prepaid: 1,5 % × QF 800 = 12,00 € a day, the multisport week of 22 February 60,00 €). A day
paid then cancelled in time gives an *avoir* of 12,00 €; the family's next prepaid basket at that régie
deducts it, the online payment asks only for the rest (none at all when the credit covers the basket), and
the use is recorded in billing so that the same credit is never used twice and a refund pays back only what
is left. A credit at the canteen's régie « enfance » never pays the holiday centre.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar
from zoneinfo import ZoneInfo

import attrs
import pytest

from espacefamille.adapters.fake_gateway import FakeGateway
from espacefamille.adapters.memory import MemoryAccountStore, MemoryStore
from espacefamille.adapters.sqlite import SqliteStore
from espacefamille.billing.documents import Allocation, Invoice
from espacefamille.billing.online import PaymentAttempt
from espacefamille.billing.prepaid import PrepaidCredit, amount_to_pay
from espacefamille.calendar.periods import DateRange
from espacefamille.errors import InvalidInput
from espacefamille.examples import example_commune
from espacefamille.families.accounts import AccountLink, Agent, AgentRole, FamilyMember
from espacefamille.model import Booking, BookingStatus, Child, Enrolment, Family, Guardian, QuotientFamilial
from espacefamille.money import Money
from espacefamille.ports import CommuneStore, FixedClock, UnitOfWork
from espacefamille.rules.basket import Action, BasketLine
from espacefamille.services import BackOffice, FamilyPortal
from espacefamille.services.portal import BasketOutcome, NotificationResult, billing_ledger

_T = TypeVar("_T")
PARIS = ZoneInfo("Europe/Paris")
NOW = dt.datetime(2026, 11, 26, 9, 0, tzinfo=PARIS)
YEAR = DateRange(dt.date(2026, 9, 1), dt.date(2027, 8, 27))
DAY_21, DAY_22, DAY_23 = (dt.date(2026, 12, d) for d in (21, 22, 23))
WINTER_WEEK = dt.date(2027, 2, 22)
AGENT = Agent("agent-1", "saint-aubin", AgentRole.ADMINISTRATEUR)
MARTIN = FamilyMember("acc-martin", [AccountLink("saint-aubin", "F1", "G1", "act-1", NOW)])


def _source() -> Callable[[int], bytes]:
    counter = iter(range(1, 10_000))
    return lambda n: next(counter).to_bytes(n, "big")


@attrs.define
class World:
    """The example commune on one store, the Martin household enrolled, the clock and the fake gateway."""

    store: CommuneStore
    clock: FixedClock
    gateway: FakeGateway
    portal: FamilyPortal
    office: BackOffice

    def read(self, read: Callable[[UnitOfWork], _T]) -> _T:
        with self.store.unit_of_work() as uow:
            return read(uow)

    def bookings(self) -> dict[tuple[str, str, dt.date], Booking]:
        return {b.key: b for b in self.read(lambda uow: uow.bookings.of_family("F1", YEAR))}

    def outbox_types(self) -> list[str]:
        return self.read(lambda uow: [m.event.type_code for m in uow.outbox.all()])

    def basket(self, *lines: BasketLine) -> BasketOutcome:
        return self.portal.validate_basket(MARTIN, "F1", lines)

    def pay(self, attempt: PaymentAttempt, after: dt.timedelta = dt.timedelta(minutes=1)) -> None:
        """The family pays ``after`` the clock's instant, and the notification arrives a minute later."""
        self.gateway.pay(attempt.payment_id, self.clock.now() + after)
        self.clock.advance(after + dt.timedelta(minutes=1))

    def notify(self, attempt: PaymentAttempt) -> NotificationResult:
        return self.portal.payment_notification(self.gateway.notification(attempt.payment_id))

    def credit_left(self) -> dict[str, Money]:
        """What is left of the household's credit notes, by régie (as the régie's ledger says)."""
        ledger = self.read(lambda uow: billing_ledger(uow, "F1"))
        left: dict[str, Money] = {}
        for note in ledger.invoices:
            if note.is_credit_note:
                left[note.regie_id] = left.get(note.regie_id, Money(0)) + ledger.remaining(note.number)
        return left

    def paid_and_cancelled(self, *days: dt.date) -> tuple[Invoice, ...]:
        """Léa's days booked and paid, then cancelled in time: their credit notes."""
        (attempt,) = self.basket(*(book(day) for day in days)).payments
        self.pay(attempt)
        assert self.notify(attempt).confirmed
        self.clock.advance(dt.timedelta(minutes=5))
        return self.basket(*(cancel(day) for day in days)).credit_notes


def book(day: dt.date, prestation: str = "journee") -> BasketLine:
    return BasketLine(Action.BOOK, "C1", prestation, day)


def cancel(day: dt.date, prestation: str = "journee") -> BasketLine:
    return BasketLine(Action.CANCEL, "C1", prestation, day)


def make_world(store: CommuneStore, *, now: dt.datetime = NOW, validity: dt.timedelta | None = None) -> World:
    with store.unit_of_work() as uow:
        uow.save_commune(example_commune())
        uow.commit()
    clock = FixedClock(now)
    gateway = FakeGateway() if validity is None else FakeGateway(validity=validity)
    accounts = MemoryAccountStore()
    portal = FamilyPortal(store, gateway=gateway, clock=clock, accounts=accounts, source=_source())
    office = BackOffice(store, clock=clock, accounts=accounts, source=_source())
    martin = Family(
        "F1",
        "Martin",
        [Guardian("G1", "Claire", "Martin", email="claire@example.fr")],
        "G1",
        quotients=[QuotientFamilial(800, dt.date(2026, 9, 1))],
    )
    lea = Child("C1", "Léa", "Martin", dt.date(2018, 3, 14), ["F1"])
    office.register_family(AGENT, martin, [lea])
    for service in ("cantine", "alsh"):
        office.enrol_child(AGENT, Enrolment(f"E-C1-{service}", "C1", "F1", service, YEAR))
    return World(store, clock, gateway, portal, office)


@pytest.fixture(params=["memory", "sqlite"])
def new_store(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[[], CommuneStore]:
    """Makes the store under test: in memory, or a SQLite file."""
    files = iter(range(1, 100))

    def make() -> CommuneStore:
        if request.param == "memory":
            return MemoryStore()
        return SqliteStore(tmp_path / f"commune-{next(files)}.sqlite")

    return make


@pytest.fixture
def world(new_store: Callable[[], CommuneStore]) -> World:
    return make_world(new_store())


def test_a_cancelled_days_credit_is_deducted_from_the_next_basket_and_used_once(world: World) -> None:
    (note,) = world.paid_and_cancelled(DAY_21)
    assert note.total == Money("-12.00")
    assert world.credit_left() == {"loisirs": Money("12.00")}

    outcome = world.basket(book(DAY_22), book(DAY_23))
    (to_pay,) = outcome.to_pay
    assert (to_pay.gross, to_pay.credit_used, to_pay.total) == (
        Money("24.00"),
        {"loisirs": Money("12.00")},
        Money("12.00"),
    )
    assert "(avoir de 12,00 € déduit)" in to_pay.message_fr.replace("\u202f", " ").replace("\xa0", " ")
    # The preview the family saw deducted the same credit.
    assert (outcome.preview.prepaid_price, outcome.preview.credit_deducted, outcome.preview.to_pay_now) == (
        Money("24.00"),
        Money("12.00"),
        Money("12.00"),
    )
    (attempt,) = outcome.payments
    assert attempt.amount == Money("12.00")
    # The pure function, given the same basket and the credit by hand, says the same.
    held = [b for b in world.bookings().values() if b.status is BookingStatus.HELD]
    family = world.read(lambda uow: uow.families.get("F1"))
    children = world.read(lambda uow: uow.families.children_of("F1"))
    by_hand = amount_to_pay(
        example_commune(), family, children, held, credits=[PrepaidCredit("F1", "loisirs", Money("12.00"))]
    )
    assert by_hand == to_pay

    world.pay(attempt)
    result = world.notify(attempt)
    # Each day cost 12,00 €: what the family actually paid for it, credit included.
    assert [(b.day, b.status, b.paid) for b in result.confirmed] == [
        (DAY_22, BookingStatus.BOOKED, Money("12.00")),
        (DAY_23, BookingStatus.BOOKED, Money("12.00")),
    ]
    assert "et 12,00 € d'avoir" in result.message_fr.replace("\u202f", " ").replace("\xa0", " ")
    # The credit note's use is recorded against the basket's hold: nothing is left of it.
    allocations = world.read(lambda uow: uow.documents.allocations_of("F1"))
    assert allocations == (Allocation(note.number, attempt.invoice_numbers[0], Money("12.00")),)
    assert world.credit_left() == {"loisirs": Money(0)}
    with pytest.raises(InvalidInput) as refund:
        world.office.refund(AGENT, note.number)
    assert refund.value.code == "refund.nothing"
    # The next basket pays in full.
    world.clock.advance(dt.timedelta(minutes=5))
    (next_time,) = world.basket(book(WINTER_WEEK, "stage_semaine")).to_pay
    assert (next_time.credit_used, next_time.total) == ({}, Money("60.00"))


def test_a_credit_that_covers_the_basket_books_it_at_once_without_online_payment(world: World) -> None:
    world.paid_and_cancelled(DAY_21, DAY_22)
    assert world.credit_left() == {"loisirs": Money("24.00")}
    world.clock.advance(dt.timedelta(minutes=5))
    outcome = world.basket(book(DAY_23))
    assert outcome.payments == ()
    (to_pay,) = outcome.to_pay
    assert (to_pay.code, to_pay.total, to_pay.credit_used) == (
        "prepaid.paid_by_credit",
        Money(0),
        {"loisirs": Money("12.00")},
    )
    (receipt,) = outcome.receipts
    assert (receipt.amount, receipt.credit_used) == (Money(0), Money("12.00"))
    booking = world.bookings()[("C1", "journee", DAY_23)]
    assert (booking.status, booking.paid) == (BookingStatus.BOOKED, Money("12.00"))
    assert world.outbox_types()[-1] == "booking.confirmed"
    assert world.read(lambda uow: uow.online_payments.of_family("F1"))[-1].amount == Money("24.00")
    # A refund pays back only what is left: 12,00 € of the 24,00 €.
    assert world.credit_left() == {"loisirs": Money("12.00")}
    (note,) = (n for n in world.read(lambda uow: uow.documents.invoices_of("F1")) if n.is_credit_note)
    assert note.total == Money("-24.00")  # one credit note for the basket's two cancelled days
    record = world.office.refund(AGENT, note.number)
    assert record.refund.amount == Money("-12.00")


def test_a_day_cancelled_and_another_booked_in_one_basket_swap_without_payment(world: World) -> None:
    world.paid_and_cancelled(DAY_21)
    world.basket(book(DAY_21))  # booked again: the credit pays it at once
    world.clock.advance(dt.timedelta(minutes=5))
    outcome = world.basket(cancel(DAY_21), book(DAY_22))
    (note,) = outcome.credit_notes
    assert note.total == Money("-12.00")
    assert outcome.payments == ()
    assert outcome.preview.to_pay_now == Money(0)
    assert world.bookings()[("C1", "journee", DAY_22)].paid == Money("12.00")
    assert world.credit_left() == {"loisirs": Money(0)}


def test_a_credit_of_another_regie_never_pays_the_holiday_centre(world: World) -> None:
    world.office.issue_credit(AGENT, "F1", "enfance", Money("30.00"), "Erreur de pointage")
    outcome = world.basket(book(DAY_21))
    (to_pay,) = outcome.to_pay
    assert (to_pay.credit_used, to_pay.total) == ({}, Money("12.00"))
    assert outcome.preview.credit_deducted == Money(0)
    (attempt,) = outcome.payments
    assert attempt.amount == Money("12.00")
    assert world.credit_left() == {"enfance": Money("30.00")}


def test_the_credit_a_pending_basket_counts_on_is_not_used_twice_and_comes_back_on_expiry(
    world: World,
) -> None:
    world.paid_and_cancelled(DAY_21)
    start = world.clock.now()
    # The multisport week: 60,00 € less the 12,00 € credit; the family has not paid yet.
    (week,) = world.basket(book(WINTER_WEEK, "stage_semaine")).payments
    assert week.amount == Money("48.00")
    # Meanwhile another basket: the credit is counted on by the week, so this day is paid in full.
    world.clock.advance(dt.timedelta(minutes=5))
    (day,) = world.basket(book(DAY_22)).payments
    assert day.amount == Money("12.00")
    world.pay(day)
    assert world.notify(day).confirmed
    # The week's hold expires unpaid: nothing was recorded against the credit, which comes back whole.
    world.clock.instant = start + dt.timedelta(minutes=61)
    released = world.office.release_expired_holds(AGENT)
    assert {b.prestation_id for b in released.released} == {"stage_semaine"}
    assert world.credit_left() == {"loisirs": Money("12.00")}
    assert world.read(lambda uow: uow.documents.allocations_of("F1")) == ()
    outcome = world.basket(book(DAY_23))
    assert outcome.payments == ()
    assert world.bookings()[("C1", "journee", DAY_23)].paid == Money("12.00")


def test_a_late_payment_of_a_basket_with_credit_keeps_both_as_credit(world: World) -> None:
    world.paid_and_cancelled(DAY_21)
    (week,) = world.basket(book(WINTER_WEEK, "stage_semaine")).payments
    world.gateway.pay(week.payment_id, world.clock.now() + dt.timedelta(minutes=14))
    world.clock.advance(dt.timedelta(minutes=61))
    world.office.release_expired_holds(AGENT)
    result = world.notify(week)
    assert result.code == "prepaid.paid_after_hold"
    assert result.confirmed == ()
    assert result.credit_note is not None
    assert result.credit_note.total == Money("-48.00")
    # The 12,00 € credit was never used, and the 48,00 € paid too late are a credit as well.
    assert world.credit_left() == {"loisirs": Money("60.00")}
    assert world.outbox_types()[-2:] == ["payment.received", "invoice.issued"]


def test_a_payment_whose_credit_was_refunded_meanwhile_books_nothing_and_is_kept(world: World) -> None:
    (note,) = world.paid_and_cancelled(DAY_21)
    (week,) = world.basket(book(WINTER_WEEK, "stage_semaine")).payments
    assert week.amount == Money("48.00")
    world.office.refund(AGENT, note.number)  # the régie pays the credit back before the family pays
    world.pay(week)
    result = world.notify(week)
    assert result.code == "prepaid.credit_unavailable"
    assert result.confirmed == ()
    assert result.credit_note is not None
    assert result.credit_note.total == Money("-48.00")
    assert "n'est plus disponible" in result.message_fr
    assert world.bookings()[("C1", "stage_semaine", WINTER_WEEK)].status is BookingStatus.HELD


def test_a_basket_cancelled_before_its_payment_no_longer_holds_back_the_credit(world: World) -> None:
    world.paid_and_cancelled(DAY_21)
    (week,) = world.basket(book(WINTER_WEEK, "stage_semaine")).payments
    assert week.amount == Money("48.00")
    world.clock.advance(dt.timedelta(minutes=5))
    world.basket(cancel(WINTER_WEEK, "stage_semaine"))  # unpaid: gives nothing back, counts on nothing
    world.clock.advance(dt.timedelta(minutes=5))
    outcome = world.basket(book(DAY_22))
    assert outcome.payments == ()
    assert world.bookings()[("C1", "journee", DAY_22)].paid == Money("12.00")
