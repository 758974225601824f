"""The portal and back-office services on the in-memory store: each use case, and who may do what.

Saint-Aubin-des-Prés (the example commune), Thursday 26 November 2026 at 9:00. Léa Martin (CE2) eats at the
canteen (J-3 ouvrés before 11:00, billed at month end) and goes to the holiday centre (prepaid, taux d'effort
1,5 % × QF 800 = 12,00 € a day); Hugo Durand is in another household.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import TypeVar
from zoneinfo import ZoneInfo

import attrs
import pytest

from espacefamille.adapters.fake_gateway import FakeGateway
from espacefamille.adapters.memory import MemoryAccountStore, MemoryStore
from espacefamille.billing.documents import (
    Allocation,
    DocumentKind,
    Invoice,
    InvoiceLine,
    Payment,
    PaymentMethod,
)
from espacefamille.billing.online import NotificationOutcome
from espacefamille.billing.payments import PaymentRefused
from espacefamille.calendar.opening import Closure, ClosureReason
from espacefamille.calendar.periods import DateRange
from espacefamille.commune import Commune
from espacefamille.errors import ConcurrentChange, InvalidInput, NotFound, PermissionDenied
from espacefamille.examples import example_commune
from espacefamille.families.accounts import (
    Account,
    AccountLink,
    ActivationRefused,
    Agent,
    AgentRole,
    FamilyMember,
)
from espacefamille.families.events import UnpaidExemptionGranted, UnpaidExemptionRevoked
from espacefamille.families.requests import InvalidSubmission, RequestStatus
from espacefamille.model import (
    BookingStatus,
    Child,
    Enrolment,
    Family,
    Guardian,
    QuotientFamilial,
    SchoolClass,
    ServiceKind,
)
from espacefamille.money import Money
from espacefamille.ports import AccountStore, CommuneStore, FixedClock, UnitOfWork
from espacefamille.rules.attendance import AbsenceReason, AttendanceFact, AttendanceStatus
from espacefamille.rules.basket import Action, BasketLine
from espacefamille.rules.capacity import Capacity, Places
from espacefamille.rules.unpaid import UnpaidAction, UnpaidExemption, UnpaidPolicy, UnpaidStep
from espacefamille.services import BackOffice, FamilyPortal, transact
from espacefamille.testing.faults import FailingStore, InjectedFault

_T = TypeVar("_T")
PARIS = ZoneInfo("Europe/Paris")
NOW = dt.datetime(2026, 11, 26, 9, 0, tzinfo=PARIS)
YEAR = DateRange(dt.date(2026, 9, 1), dt.date(2027, 8, 27))
DECEMBER_MEALS = [dt.date(2026, 12, d) for d in (1, 3, 4, 7, 8, 10, 11, 14, 15, 17)]
HOLIDAY_MONDAY = dt.date(2026, 12, 21)

AGENT = Agent("agent-1", "saint-aubin", AgentRole.ADMINISTRATEUR)
STRANGER_AGENT = Agent("agent-9", "autre-ville", AgentRole.ADMINISTRATEUR)
MARTIN = FamilyMember("acc-martin", [AccountLink("saint-aubin", "F1", "G1", "act-1", NOW)])
DURAND = FamilyMember("acc-durand", [AccountLink("saint-aubin", "F2", "G2", "act-2", NOW)])
ELSEWHERE = FamilyMember("acc-x", [AccountLink("autre-ville", "F1", "G1", "act-3", NOW)])


@attrs.define
class World:
    store: MemoryStore
    clock: FixedClock
    gateway: FakeGateway
    accounts: MemoryAccountStore
    portal: FamilyPortal
    office: BackOffice

    def outbox_types(self) -> list[str]:
        with self.store.unit_of_work() as uow:
            return [m.event.type_code for m in uow.outbox.all()]

    def read(self, read: Callable[[UnitOfWork], _T]) -> _T:
        with self.store.unit_of_work() as uow:
            return read(uow)

    def invoices(self, *family_ids: str) -> tuple[Invoice, ...]:
        """The documents saved for these families, in number order: what a run left in the store."""
        with self.store.unit_of_work() as uow:
            return tuple(sorted((d for f in family_ids for d in uow.documents.invoices_of(f)), key=_number))

    def bill_december(self) -> tuple[Invoice, ...]:
        """Bill December as the régisseur and return the documents this run saved."""
        report = self.office.run_month_end(AGENT, "enfance", DateRange.month(2026, 12))
        if report.invoice_numbers is None:
            return ()
        first, last = report.invoice_numbers
        return tuple(d for d in self.invoices("F1", "F2", "F3") if first <= d.number <= last)


def _number(document: Invoice) -> str:
    return document.number


def _source() -> Callable[[int], bytes]:
    counter = iter(range(1, 10_000))
    return lambda n: next(counter).to_bytes(n, "big")


def make_world(places: int | None = None) -> World:
    commune = example_commune()
    if places is not None:
        commune = attrs.evolve(
            commune, capacities={**commune.capacities, "journee": Capacity(Places(places))}
        )
    store, accounts = MemoryStore(), MemoryAccountStore()
    clock, gateway, portal, office = open_world(store, accounts, commune)
    return World(store, clock, gateway, accounts, portal, office)


def open_world(
    store: CommuneStore, accounts: AccountStore, commune: Commune
) -> tuple[FixedClock, FakeGateway, FamilyPortal, BackOffice]:
    """``commune`` saved in ``store``, Martin (F1, Léa C1) and Durand (F2, Hugo C3) registered and enrolled
    in the canteen and the holiday centre: the clock, the gateway and both services on it."""
    with store.unit_of_work() as uow:
        uow.save_commune(commune)
        uow.commit()
    clock = FixedClock(NOW)
    gateway = FakeGateway()
    portal = FamilyPortal(store, gateway=gateway, clock=clock, accounts=accounts, source=_source())
    office = BackOffice(store, clock=clock, accounts=accounts, source=_source())
    qf = [QuotientFamilial(800, dt.date(2026, 9, 1))]
    martin = Family(
        "F1", "Martin", [Guardian("G1", "Claire", "Martin", email="claire@example.fr")], "G1", quotients=qf
    )
    durand = Family(
        "F2", "Durand", [Guardian("G2", "Marc", "Durand", email="marc@example.fr")], "G2", quotients=qf
    )
    lea = Child("C1", "Léa", "Martin", dt.date(2018, 3, 14), ["F1"], school_class=SchoolClass.CE2)
    hugo = Child("C3", "Hugo", "Durand", dt.date(2018, 5, 2), ["F2"], school_class=SchoolClass.CE2)
    office.register_family(AGENT, martin, [lea])
    office.register_family(AGENT, durand, [hugo])
    for child, family in (("C1", "F1"), ("C3", "F2")):
        for service in ("cantine", "alsh"):
            office.enrol_child(AGENT, Enrolment(f"E-{child}-{service}", child, family, service, YEAR))
    return clock, gateway, portal, office


def book(child: str, prestation: str, *days: dt.date) -> list[BasketLine]:
    return [BasketLine(Action.BOOK, child, prestation, day) for day in days]


@pytest.fixture
def world() -> World:
    return make_world()


# -- reading -------------------------------------------------------------------------------------------


def test_a_family_lists_its_children_services_and_calendar(world: World) -> None:
    assert [c.first_name for c in world.portal.children(MARTIN, "F1")] == ["Léa"]
    services = {s.id: kids for s, kids in world.portal.services(MARTIN, "F1")}
    assert services == {"cantine": ("C1",), "periscolaire": (), "alsh": ("C1",)}
    world.portal.validate_basket(MARTIN, "F1", book("C1", "repas", dt.date(2026, 12, 1)))
    week = DateRange(dt.date(2026, 11, 30), dt.date(2026, 12, 6))
    view = world.portal.calendar(MARTIN, "C1", "cantine", week)
    assert view.cell("repas", dt.date(2026, 12, 1)).is_booked
    assert view.cell("repas", dt.date(2026, 12, 2)).is_closed  # no canteen on Wednesdays


@pytest.mark.parametrize(
    ("actor", "code"),
    [
        (DURAND, "permission.other_family"),
        (ELSEWHERE, "permission.other_commune"),
        (STRANGER_AGENT, "permission.other_commune"),
    ],
)
def test_nobody_reads_another_familys_records(world: World, actor: Agent | FamilyMember, code: str) -> None:
    with pytest.raises(PermissionDenied) as error:
        world.portal.children(actor, "F1")
    assert error.value.code == code
    with pytest.raises(PermissionDenied):
        world.portal.calendar(actor, "C1", "cantine", DateRange(dt.date(2026, 12, 1), dt.date(2026, 12, 7)))


# -- baskets ---------------------------------------------------------------------------------------------


def test_month_end_meals_are_booked_at_once_and_confirmed(world: World) -> None:
    outcome = world.portal.validate_basket(MARTIN, "F1", book("C1", "repas", *DECEMBER_MEALS[:2]))
    assert [d.code for d in outcome.decisions] == ["basket.accepted", "basket.accepted"]
    assert outcome.payments == ()
    assert outcome.preview.invoiced_later == Money("5.20")
    bookings = world.read(lambda uow: uow.bookings.of_family("F1", YEAR))
    assert {b.status for b in bookings} == {BookingStatus.BOOKED}
    assert world.outbox_types() == ["booking.confirmed"]


def test_a_late_meal_is_accepted_with_its_surcharge_code(world: World) -> None:
    # Monday 30 November was due Wednesday 25 November at 11:00 (J-3 ouvrés).
    outcome = world.portal.validate_basket(MARTIN, "F1", book("C1", "repas", dt.date(2026, 11, 30)))
    assert outcome.decisions[0].outcome.value == "accepted_with_surcharge"


def test_a_basket_naming_another_familys_child_changes_nothing(world: World) -> None:
    lines = book("C1", "repas", dt.date(2026, 12, 1)) + book("C3", "repas", dt.date(2026, 12, 1))
    with pytest.raises(PermissionDenied) as error:
        world.portal.validate_basket(MARTIN, "F1", lines)
    assert error.value.code == "permission.other_family"
    assert world.read(lambda uow: uow.bookings.of_family("F1", YEAR)) == ()
    with pytest.raises(PermissionDenied):
        world.portal.validate_basket(MARTIN, "F2", book("C3", "repas", dt.date(2026, 12, 1)))
    assert world.outbox_types() == []


def test_an_empty_basket_is_refused(world: World) -> None:
    with pytest.raises(InvalidInput):
        world.portal.validate_basket(MARTIN, "F1", [])


# -- unpaid invoices -----------------------------------------------------------------------------------


def october_meals(number: str, due_on: dt.date, meals: int) -> Invoice:
    line = InvoiceLine(
        "C1",
        "repas",
        "Restauration scolaire",
        "attendance.present",
        [dt.date(2026, 10, 1)],
        Decimal(meals),
        Decimal("2.60"),
        Money.from_cents(260 * meals),
    )
    return Invoice(
        number,
        "enfance",
        "F1",
        DocumentKind.INVOICE,
        DateRange.month(2026, 10),
        dt.date(2026, 11, 2),
        due_on,
        [line],
    )


def test_an_unpaid_invoice_blocks_the_holiday_centre_but_never_the_canteen(world: World) -> None:
    # The règlement: more than 15 days late on an invoice blocks holiday-centre bookings.
    policy = UnpaidPolicy([UnpaidStep(UnpaidAction.BLOCK, after_days=15, service_kinds=[ServiceKind.ALSH])])
    late = october_meals("FAC-enfance-2026-000001", dt.date(2026, 11, 9), 10)  # 17 days late on 26 November
    not_yet_due = october_meals("FAC-enfance-2026-000002", dt.date(2026, 12, 2), 5)

    def owe(uow: UnitOfWork) -> None:
        uow.save_commune(attrs.evolve(uow.commune(), unpaid=policy))
        uow.documents.save_invoice(late)
        uow.documents.save_invoice(not_yet_due)

    transact(world.store, owe)
    blocked = world.portal.validate_basket(MARTIN, "F1", book("C1", "journee", HOLIDAY_MONDAY))
    (decision,) = blocked.decisions
    assert decision.code == "unpaid.blocked"
    assert "26,00" in decision.message_fr  # the late invoice only, not the one due on 2 December
    assert blocked.payments == ()
    canteen = world.portal.validate_basket(MARTIN, "F1", book("C1", "repas", *DECEMBER_MEALS[:2]))
    assert [d.code for d in canteen.decisions] == ["basket.accepted", "basket.accepted"]

    # Once the late invoice is paid, the holiday centre can be booked again.
    def pay(uow: UnitOfWork) -> None:
        uow.documents.save_payment(
            Payment("PAY-1", "enfance", "F1", Money("26.00"), NOW, PaymentMethod.CHEQUE, "chèque 0042")
        )
        uow.documents.save_allocations([Allocation("PAY-1", late.number, Money("26.00"))], "F1")

    transact(world.store, pay)
    allowed = world.portal.validate_basket(MARTIN, "F1", book("C1", "journee", HOLIDAY_MONDAY))
    assert [d.code for d in allowed.decisions] == ["basket.accepted"]


REGISSEUR = Agent("reg-1", "saint-aubin", AgentRole.REGISSEUR)
# A payment plan agreed at the régie on Thursday 26 November 2026, until the end of the year.
PLAN = UnpaidExemption("reg-1", dt.date(2026, 11, 26), dt.date(2026, 12, 31), "échéancier en 3 fois")


def owe_a_late_invoice(world: World) -> None:
    """More than 15 days late on an invoice blocks holiday-centre bookings; Martin is 17 days late."""
    policy = UnpaidPolicy([UnpaidStep(UnpaidAction.BLOCK, after_days=15, service_kinds=[ServiceKind.ALSH])])

    def owe(uow: UnitOfWork) -> None:
        uow.save_commune(attrs.evolve(uow.commune(), unpaid=policy))
        uow.documents.save_invoice(october_meals("FAC-enfance-2026-000001", dt.date(2026, 11, 9), 10))

    transact(world.store, owe)


def test_an_agents_exemption_lifts_the_unpaid_block_until_it_is_revoked(world: World) -> None:
    owe_a_late_invoice(world)
    blocked = world.portal.validate_basket(MARTIN, "F1", book("C1", "journee", HOLIDAY_MONDAY))
    assert [d.code for d in blocked.decisions] == ["unpaid.blocked"]

    assert world.office.grant_unpaid_exemption(REGISSEUR, "F1", PLAN) == PLAN
    assert world.read(lambda uow: uow.families.unpaid_exemption("F1")) == PLAN
    exempt = world.portal.validate_basket(MARTIN, "F1", book("C1", "journee", HOLIDAY_MONDAY))
    assert [d.code for d in exempt.decisions] == ["basket.accepted"]
    assert [p.amount for p in exempt.payments] == [Money("12.00")]
    held = world.read(lambda uow: uow.bookings.of_family("F1", YEAR))
    assert [(b.day, b.status) for b in held] == [(HOLIDAY_MONDAY, BookingStatus.HELD)]

    assert world.office.revoke_unpaid_exemption(AGENT, "F1") == PLAN
    assert world.read(lambda uow: uow.families.unpaid_exemption("F1")) is None
    again = world.portal.validate_basket(MARTIN, "F1", book("C1", "journee", dt.date(2026, 12, 22)))
    assert [d.code for d in again.decisions] == ["unpaid.blocked"]
    assert world.office.revoke_unpaid_exemption(AGENT, "F1") is None  # nothing left to revoke


def test_a_booking_that_goes_through_only_thanks_to_the_exemption_tells_the_family_until_when(
    world: World,
) -> None:
    owe_a_late_invoice(world)
    world.office.grant_unpaid_exemption(REGISSEUR, "F1", PLAN)
    (decision,) = world.portal.validate_basket(MARTIN, "F1", book("C1", "journee", HOLIDAY_MONDAY)).decisions
    assert decision.code == "basket.accepted"
    assert decision.message_fr.endswith(
        "Réservation possible grâce à l'exemption accordée par la régie jusqu'au jeudi 31 décembre 2026, "
        "mais vos factures sont toujours dues : 26,00\xa0€ restent impayés depuis le lundi 9 novembre 2026 "
        "(plus de 15 jours). Réglez vos factures ou contactez la régie."
    )
    assert "until Thursday 31 December 2026" in decision.explain("en")
    assert decision.unpaid is not None
    assert (decision.unpaid.code, decision.unpaid.amount) == ("unpaid.exempt", Money("26.00"))
    # The canteen is never blocked, so a meal owes nothing to the exemption and says nothing of it.
    (meal,) = world.portal.validate_basket(MARTIN, "F1", book("C1", "repas", DECEMBER_MEALS[0])).decisions
    assert meal.code == "basket.accepted"
    assert meal.unpaid is None
    assert "exemption" not in meal.message_fr


def test_a_booking_refused_for_another_reason_does_not_mention_the_exemption(world: World) -> None:
    owe_a_late_invoice(world)
    world.office.grant_unpaid_exemption(REGISSEUR, "F1", PLAN)
    # The winter holidays (Monday 22 February 2027) open for booking on 11 January, not before.
    (early,) = world.portal.validate_basket(
        MARTIN, "F1", book("C1", "journee", dt.date(2027, 2, 22))
    ).decisions
    assert early.is_refused
    assert early.code == "deadline.window_not_open"
    assert early.unpaid is None
    assert "exemption" not in early.message_fr


def test_granting_and_revoking_an_exemption_tells_the_household(world: World) -> None:
    owe_a_late_invoice(world)
    world.office.grant_unpaid_exemption(REGISSEUR, "F1", PLAN)
    world.office.revoke_unpaid_exemption(AGENT, "F1")
    world.office.revoke_unpaid_exemption(AGENT, "F1")  # nothing left to revoke: nothing to tell
    with world.store.unit_of_work() as uow:
        events = [m.event for m in uow.outbox.all()]
    assert events == [
        UnpaidExemptionGranted("saint-aubin", "F1", NOW, dt.date(2026, 11, 26), dt.date(2026, 12, 31)),
        UnpaidExemptionRevoked("saint-aubin", "F1", NOW),
    ]
    assert "du jeudi 26 novembre 2026 au jeudi 31 décembre 2026 inclus" in events[0].body_fr


def test_an_exemption_names_the_agent_who_grants_it(world: World) -> None:
    owe_a_late_invoice(world)
    # The administrateur cannot record a plan in the régisseur's name, nor the régisseur in anyone else's.
    for actor, plan in ((AGENT, PLAN), (REGISSEUR, attrs.evolve(PLAN, granted_by="agent-1"))):
        with pytest.raises(InvalidInput) as refused:
            world.office.grant_unpaid_exemption(actor, "F1", plan)
        assert refused.value.code == "unpaid.exemption_granted_by"
        assert refused.value.message_fr == "Une exemption est enregistrée au nom de l'agent qui l'accorde."
    assert world.read(lambda uow: uow.families.unpaid_exemption("F1")) is None
    assert world.outbox_types() == []
    own = attrs.evolve(PLAN, granted_by="agent-1")
    assert world.office.grant_unpaid_exemption(AGENT, "F1", own) == own
    assert world.read(lambda uow: uow.families.unpaid_exemption("F1")) == own


def test_an_exemption_that_has_ended_no_longer_lifts_the_block(world: World) -> None:
    owe_a_late_invoice(world)
    # A plan that ended on Sunday 22 November, before Thursday's basket.
    ended = UnpaidExemption("reg-1", dt.date(2026, 11, 2), dt.date(2026, 11, 22), "échéancier")
    world.office.grant_unpaid_exemption(REGISSEUR, "F1", ended)
    outcome = world.portal.validate_basket(MARTIN, "F1", book("C1", "journee", HOLIDAY_MONDAY))
    assert [d.code for d in outcome.decisions] == ["unpaid.blocked"]


@pytest.mark.parametrize(
    ("actor", "code"),
    [
        (MARTIN, "permission.not_an_agent"),
        (Agent("anim-1", "saint-aubin", AgentRole.ANIMATEUR), "permission.role"),
        (Agent("gest-1", "saint-aubin", AgentRole.GESTIONNAIRE), "permission.role"),
        (STRANGER_AGENT, "permission.other_commune"),
    ],
)
def test_only_the_regie_grants_or_revokes_an_exemption_and_a_refusal_writes_nothing(
    world: World, actor: Agent | FamilyMember, code: str
) -> None:
    owe_a_late_invoice(world)
    with pytest.raises(PermissionDenied) as refused:
        world.office.grant_unpaid_exemption(actor, "F1", PLAN)
    assert refused.value.code == code
    assert world.read(lambda uow: uow.families.unpaid_exemption("F1")) is None
    assert world.outbox_types() == []
    world.office.grant_unpaid_exemption(REGISSEUR, "F1", PLAN)
    with pytest.raises(PermissionDenied) as refused:
        world.office.revoke_unpaid_exemption(actor, "F1")
    assert refused.value.code == code
    assert world.read(lambda uow: uow.families.unpaid_exemption("F1")) == PLAN
    assert world.outbox_types() == ["unpaid.exemption_granted"]
    blocked = world.portal.validate_basket(MARTIN, "F1", book("C1", "journee", HOLIDAY_MONDAY))
    assert [d.code for d in blocked.decisions] == ["basket.accepted"]


def test_an_exemption_for_an_unknown_family_or_of_another_kind_is_refused(world: World) -> None:
    with pytest.raises(NotFound):
        world.office.grant_unpaid_exemption(REGISSEUR, "F9", PLAN)
    with pytest.raises(InvalidInput):
        world.office.grant_unpaid_exemption(REGISSEUR, "F1", "jusqu'au 31 décembre")  # type: ignore[arg-type]
    assert world.read(lambda uow: uow.families.unpaid_exemption("F9")) is None


def test_an_exemption_whose_write_fails_is_not_recorded(world: World) -> None:
    office = BackOffice(FailingStore(world.store, 1), clock=world.clock)
    with pytest.raises(InjectedFault) as fault:
        office.grant_unpaid_exemption(REGISSEUR, "F1", PLAN)
    assert fault.value.operation == "families.save_unpaid_exemption"
    assert world.read(lambda uow: uow.families.unpaid_exemption("F1")) is None
    assert world.outbox_types() == []  # no notice of a decision that was not recorded


# -- paying at booking -------------------------------------------------------------------------------------


def test_a_hold_and_its_online_payment_are_written_together_or_not_at_all() -> None:
    failed = []
    for fail_at in range(1, 20):
        world = make_world()
        store = FailingStore(world.store, fail_at)
        portal = FamilyPortal(store, gateway=world.gateway, clock=world.clock, source=_source())

        def held(uow: UnitOfWork) -> tuple[list[BookingStatus], int]:
            bookings = uow.bookings.of_family("F1", YEAR)
            return [b.status for b in bookings], len(uow.online_payments.of_family("F1"))

        try:
            portal.validate_basket(MARTIN, "F1", book("C1", "journee", HOLIDAY_MONDAY))
        except InjectedFault as fault:
            failed.append(fault.operation)
            assert world.read(held) == ([], 0)
        else:
            assert world.read(held) == ([BookingStatus.HELD], 1)
            break
    assert failed[-1] == "online_payments.save"


def test_a_prepaid_day_is_held_then_confirmed_once_paid(world: World) -> None:
    outcome = world.portal.validate_basket(MARTIN, "F1", book("C1", "journee", HOLIDAY_MONDAY))
    assert outcome.to_pay[0].total == Money("12.00")
    (payment,) = outcome.payments
    assert payment.amount == Money("12.00")
    assert payment.regie_id == "loisirs"
    held = world.read(lambda uow: uow.bookings.of_family("F1", YEAR))
    assert [b.status for b in held] == [BookingStatus.HELD]

    world.gateway.pay(payment.payment_id, NOW + dt.timedelta(minutes=5))
    world.clock.advance(dt.timedelta(minutes=6))
    result = world.portal.payment_notification(world.gateway.notification(payment.payment_id))
    assert result.decision.outcome is NotificationOutcome.SETTLE
    assert [(b.status, b.paid) for b in result.confirmed] == [(BookingStatus.BOOKED, Money("12.00"))]
    assert world.outbox_types() == ["booking.confirmed", "payment.received"]

    again = world.portal.payment_notification(world.gateway.notification(payment.payment_id))
    assert again.code == "payment.notification.duplicate"
    payments = world.read(lambda uow: uow.documents.payments_of("F1"))
    assert [p.amount for p in payments] == [Money("12.00")]
    assert world.outbox_types() == ["booking.confirmed", "payment.received"]


def test_a_tampered_amount_or_an_unknown_payment_settles_nothing(world: World) -> None:
    (payment,) = world.portal.validate_basket(MARTIN, "F1", book("C1", "journee", HOLIDAY_MONDAY)).payments
    world.gateway.pay(payment.payment_id, NOW + dt.timedelta(minutes=1))
    world.gateway.tamper(payment.payment_id, amount=Money("1.00"))
    world.clock.advance(dt.timedelta(minutes=2))
    result = world.portal.payment_notification(world.gateway.notification(payment.payment_id))
    assert result.code == "payment.notification.amount_mismatch"
    unknown = world.portal.payment_notification({"idop": "fake-999999"})
    assert unknown.code == "payment.notification.unknown_id"
    assert world.read(lambda uow: uow.documents.payments_of("F1")) == ()
    held = world.read(lambda uow: uow.bookings.of_family("F1", YEAR))
    assert [b.status for b in held] == [BookingStatus.HELD]


def test_unpaid_holds_are_released_and_a_late_payment_is_kept_as_a_credit(world: World) -> None:
    (payment,) = world.portal.validate_basket(MARTIN, "F1", book("C1", "journee", HOLIDAY_MONDAY)).payments
    world.gateway.pay(payment.payment_id, NOW + dt.timedelta(minutes=14))
    world.clock.advance(dt.timedelta(minutes=61))
    released = world.office.release_expired_holds(AGENT)
    assert [b.status for b in released.released] == [BookingStatus.CANCELLED]
    assert "booking.hold_expired" in world.outbox_types()
    late = world.portal.payment_notification(world.gateway.notification(payment.payment_id))
    # The money received becomes the family's credit at the régie (refunded on request, or used next time).
    assert late.code == "prepaid.paid_after_hold"
    assert late.refund is None
    assert late.credit_note is not None
    assert late.credit_note.total == Money("-12.00")
    assert late.confirmed == ()
    assert world.office.refund(AGENT, late.credit_note.number).refund.amount == Money("-12.00")
    with pytest.raises(PermissionDenied):
        world.office.release_expired_holds(MARTIN)


def test_a_freed_place_goes_to_the_waiting_family_who_is_told() -> None:
    world = make_world(places=1)
    world.portal.validate_basket(MARTIN, "F1", book("C1", "journee", HOLIDAY_MONDAY))
    waiting = world.portal.validate_basket(DURAND, "F2", book("C3", "journee", HOLIDAY_MONDAY))
    assert waiting.decisions[0].position == 1
    assert waiting.payments == ()
    world.clock.advance(dt.timedelta(minutes=10))
    cancel = [BasketLine(Action.CANCEL, "C1", "journee", HOLIDAY_MONDAY)]
    outcome = world.portal.validate_basket(MARTIN, "F1", cancel)
    assert [(b.family_id, b.status) for b in outcome.promoted] == [("F2", BookingStatus.HELD)]
    assert "waiting_list.place_granted" in world.outbox_types()
    # Hugo's family pays for the place it got, from now on.
    assert [a.family_id for a in world.read(lambda uow: uow.online_payments.of_family("F2"))] == ["F2"]


def test_a_paid_prepaid_day_cancelled_in_time_gives_a_credit_note(world: World) -> None:
    (payment,) = world.portal.validate_basket(MARTIN, "F1", book("C1", "journee", HOLIDAY_MONDAY)).payments
    world.gateway.pay(payment.payment_id, NOW + dt.timedelta(minutes=1))
    world.clock.advance(dt.timedelta(minutes=2))
    world.portal.payment_notification(world.gateway.notification(payment.payment_id))
    cancel = [BasketLine(Action.CANCEL, "C1", "journee", HOLIDAY_MONDAY)]
    outcome = world.portal.validate_basket(MARTIN, "F1", cancel)
    (note,) = outcome.credit_notes
    assert note.total == Money("-12.00")
    assert note.number == "AV-loisirs-2026-000001"
    record = world.office.refund(AGENT, note.number)
    assert record.refund.amount == Money("-12.00")


# -- attendance, absences, closures, billing --------------------------------------------------------------


def test_month_end_billing_issues_once_and_the_family_pays_online(world: World) -> None:
    world.portal.validate_basket(MARTIN, "F1", book("C1", "repas", *DECEMBER_MEALS))
    world.clock.instant = dt.datetime(2027, 1, 4, 8, 0, tzinfo=PARIS)
    first = world.office.run_month_end(AGENT, "enfance", DateRange.month(2026, 12))
    assert (first.invoices, first.total_invoiced) == (1, Money("26.00"))
    assert first.invoice_numbers == ("FAC-enfance-2027-000001", "FAC-enfance-2027-000001")
    (invoice,) = world.invoices("F1")
    assert invoice.total == Money("26.00")
    again = world.office.run_month_end(AGENT, "enfance", DateRange.month(2026, 12))
    assert (again.invoices, again.credit_notes, again.invoice_numbers) == (0, 0, None)
    assert again.code == "billing.nothing_issued"
    assert world.invoices("F1") == (invoice,)
    assert world.outbox_types().count("invoice.issued") == 1

    (view,) = world.portal.invoices_to_pay(MARTIN, "F1")
    attempt = world.portal.pay_invoices(MARTIN, "F1", [view.item.number])
    (pending,) = world.portal.invoices_to_pay(MARTIN, "F1")
    assert pending.code == "payment.under_way"
    with pytest.raises(InvalidInput) as twice:
        world.portal.pay_invoices(MARTIN, "F1", [view.item.number])
    assert twice.value.code == "payment.under_way"
    world.gateway.pay(attempt.payment_id, world.clock.now() + dt.timedelta(minutes=2))
    world.clock.advance(dt.timedelta(minutes=3))
    paid = world.portal.payment_notification(world.gateway.notification(attempt.payment_id))
    assert paid.payment is not None
    assert paid.payment.amount == Money("26.00")
    assert world.portal.invoices_to_pay(MARTIN, "F1") == ()
    world.portal.payment_notification(world.gateway.notification(attempt.payment_id))
    assert len(world.read(lambda uow: uow.documents.payments_of("F1"))) == 1


def test_another_familys_invoice_cannot_be_paid(world: World) -> None:
    world.portal.validate_basket(DURAND, "F2", book("C3", "repas", *DECEMBER_MEALS))
    world.clock.instant = dt.datetime(2027, 1, 4, 8, 0, tzinfo=PARIS)
    (invoice,) = world.bill_december()
    with pytest.raises(PaymentRefused):
        world.portal.pay_invoices(MARTIN, "F1", [invoice.number])
    with pytest.raises(PermissionDenied):
        world.portal.pay_invoices(MARTIN, "F2", [invoice.number])
    with pytest.raises(PermissionDenied):
        world.office.run_month_end(MARTIN, "enfance", DateRange.month(2026, 12))


def carried_amounts(world: World, before: dt.date | None = None) -> dict[str, Money]:
    return world.read(lambda uow: {f: b.amount for f, b in uow.runs.carried("enfance", before).items()})


def test_a_small_month_is_carried_with_its_meals_and_issued_once_with_the_next(world: World) -> None:
    world.portal.validate_basket(MARTIN, "F1", book("C1", "repas", *DECEMBER_MEALS[:3]))
    world.portal.validate_basket(DURAND, "F2", book("C3", "repas", *DECEMBER_MEALS))
    world.clock.instant = dt.datetime(2027, 1, 4, 8, 0, tzinfo=PARIS)
    december = world.office.run_month_end(AGENT, "enfance", DateRange.month(2026, 12))
    assert (december.invoices, december.carried, december.total_carried) == (1, 1, Money("7.80"))
    assert december.message_fr == (
        "Décembre 2026, régie enfance : 1 facture (26,00\u00a0€), 0 avoir (0,00\u00a0€), 1 solde reporté "
        "(7,80\u00a0€) pour 2 foyers, émis le lundi 4 janvier 2027."
    )
    assert december.nothing_to_bill == 0
    (durand,) = world.invoices("F2")
    # The store keeps the balance as billing made it: the three meals of 1, 3 and 4 December, 7,80 €.
    carried = world.read(lambda uow: dict(uow.runs.carried("enfance")))
    (line,) = carried["F1"].lines
    assert (line.days, line.total) == (tuple(DECEMBER_MEALS[:3]), Money("7.80"))

    # Running December again changes nothing: no new invoice, and Léa's meals are still 7,80 €, not 15,60 €.
    again = world.office.run_month_end(AGENT, "enfance", DateRange.month(2026, 12))
    assert (again.invoices, again.carried, again.total_carried) == (0, 1, Money("7.80"))
    assert world.invoices("F2") == (durand,)
    assert world.invoices("F1") == ()
    assert world.read(lambda uow: dict(uow.runs.carried("enfance"))) == carried
    assert world.outbox_types().count("invoice.issued") == 1

    january = [dt.date(2027, 1, d) for d in (11, 12, 14, 15)]
    world.portal.validate_basket(MARTIN, "F1", book("C1", "repas", *january))
    world.clock.instant = dt.datetime(2027, 2, 1, 8, 0, tzinfo=PARIS)
    january_run = world.office.run_month_end(AGENT, "enfance", DateRange.month(2027, 1))
    assert (january_run.invoices, january_run.carried) == (1, 0)
    (invoice,) = world.invoices("F1")
    assert january_run.invoice_numbers == (invoice.number, invoice.number)
    assert invoice.total == Money("18.20")
    assert line in invoice.lines  # December's 7,80 € with January's four meals
    assert carried_amounts(world) == {}
    # December's balance stays what January started from; January again issues nothing more, and December,
    # closed once January is billed, is refused (its corrections go on the next invoice), writing nothing.
    assert carried_amounts(world, before=dt.date(2027, 1, 1)) == {"F1": Money("7.80")}
    assert world.office.run_month_end(AGENT, "enfance", DateRange.month(2027, 1)).invoices == 0
    with pytest.raises(InvalidInput) as closed:
        world.office.run_month_end(AGENT, "enfance", DateRange.month(2026, 12))
    assert closed.value.code == "billing.period_closed"
    assert carried_amounts(world) == {}
    assert world.invoices("F1") == (invoice,)


def test_attendance_absences_and_closures_are_what_billing_prices(world: World) -> None:
    world.portal.validate_basket(MARTIN, "F1", book("C1", "repas", *DECEMBER_MEALS))
    # Ill from Monday 7 to Tuesday 8, certificate brought at once: the first day stays billed (carence).
    absence = world.portal.declare_absence(
        MARTIN,
        "C1",
        DateRange(dt.date(2026, 12, 7), dt.date(2026, 12, 8)),
        AbsenceReason.ILLNESS,
        proof_received=True,
    )
    assert [o.code for _, o in absence.outcomes] == ["absence.carence", "absence.justified"]
    facts = world.office.record_attendance(
        AGENT, [AttendanceFact("C1", "repas", dt.date(2026, 12, 1), AttendanceStatus.PRESENT)]
    )
    assert facts[0].recorded_by == "agent-1"
    strike = Closure(DateRange(dt.date(2026, 12, 10), dt.date(2026, 12, 10)), ClosureReason.STRIKE)
    closed = world.office.declare_closure(AGENT, "cantine", strike)
    assert [f.status for f in closed] == [AttendanceStatus.SERVICE_CLOSED]
    world.clock.instant = dt.datetime(2027, 1, 4, 8, 0, tzinfo=PARIS)
    (invoice,) = world.bill_december()
    # Ten meals booked, 8 December justified and 10 December closed: eight at 2,60 €.
    assert invoice.total == Money("20.80")
    with pytest.raises(PermissionDenied):
        world.office.record_attendance(
            STRANGER_AGENT, [AttendanceFact("C1", "repas", dt.date(2026, 12, 3), AttendanceStatus.PRESENT)]
        )
    with pytest.raises(PermissionDenied):
        world.portal.declare_absence(
            DURAND, "C1", DateRange(dt.date(2026, 12, 3), dt.date(2026, 12, 3)), AbsenceReason.ILLNESS
        )


def test_an_agent_issues_a_credit_that_settles_an_open_invoice(world: World) -> None:
    world.portal.validate_basket(MARTIN, "F1", book("C1", "repas", *DECEMBER_MEALS))
    world.clock.instant = dt.datetime(2027, 1, 4, 8, 0, tzinfo=PARIS)
    world.office.run_month_end(AGENT, "enfance", DateRange.month(2026, 12))
    note, applied = world.office.issue_credit(AGENT, "F1", "enfance", Money("30.00"), "Geste commercial")
    assert note.total == Money("-30.00")
    assert len(applied) == 1
    assert world.portal.invoices_to_pay(MARTIN, "F1") == ()
    record = world.office.refund(AGENT, note.number)
    assert record.refund.amount == Money("-4.00")
    with pytest.raises(InvalidInput):
        world.office.issue_credit(AGENT, "F1", "enfance", Money("0"), "rien")


# -- accounts -----------------------------------------------------------------------------------------


def test_an_activation_links_an_account_once_and_expires(world: World) -> None:
    world.accounts.save_account(Account("acc-new", "claire@example.fr"))
    issued = world.office.activate_family_account(
        AGENT, "F1", "G1", link_base="https://famille.example/activer"
    )
    assert "account.activated" in world.outbox_types()
    activated = world.portal.link_account("acc-new", issued.token)
    assert activated.link.family_key == ("saint-aubin", "F1")
    member = FamilyMember.from_account(activated.account)
    assert [c.id for c in world.portal.children(member, "F1")] == ["C1"]
    with pytest.raises(ActivationRefused) as reused:
        world.portal.link_account("acc-new", issued.token)
    assert reused.value.code == "activation.already_used"
    late = world.office.activate_family_account(
        AGENT, "F1", "G1", link_base="https://famille.example/activer"
    )
    world.clock.advance(dt.timedelta(days=15))
    world.accounts.save_account(Account("acc-late", "claire@example.fr"))
    with pytest.raises(ActivationRefused) as expired:
        world.portal.link_account("acc-late", late.token)
    assert expired.value.code == "activation.expired"
    with pytest.raises(ActivationRefused):
        world.portal.link_account("acc-late", "not-a-token")
    with pytest.raises(PermissionDenied):
        world.office.activate_family_account(STRANGER_AGENT, "F1", "G1", link_base="https://x.example/a")
    with pytest.raises(NotFound):
        world.office.activate_family_account(AGENT, "F1", "G9", link_base="https://x.example/a")


def test_an_enrolment_of_a_child_in_another_household_is_refused(world: World) -> None:
    with pytest.raises(InvalidInput):
        world.office.enrol_child(AGENT, Enrolment("E-x", "C3", "F1", "cantine", YEAR))
    with pytest.raises(PermissionDenied):
        world.office.enrol_child(MARTIN, Enrolment("E-y", "C1", "F1", "cantine", YEAR))


# -- requests -----------------------------------------------------------------------------------------------


def test_a_request_is_validated_submitted_answered_and_followed(world: World) -> None:
    with pytest.raises(InvalidSubmission) as missing:
        world.portal.submit_request(MARTIN, "F1", "attestation-caf", {"enfant": "C1"})
    assert set(missing.value.by_field) == {"du", "au"}
    assert world.portal.requests(MARTIN, "F1") == ()
    request = world.portal.submit_request(
        MARTIN, "F1", "attestation-caf", {"enfant": "C1", "du": "2026-09-01", "au": "2026-11-30"}
    )
    answered = world.office.answer_request(
        AGENT, "F1", request.id, "Votre attestation est jointe.", decision="accept"
    )
    assert answered.status is RequestStatus.ACCEPTED
    (followed,) = world.portal.requests(MARTIN, "F1")
    assert followed.status is RequestStatus.ACCEPTED
    assert len(followed.history) == 2
    assert world.outbox_types() == ["request.answered"]
    with pytest.raises(PermissionDenied):
        world.portal.submit_request(DURAND, "F1", "attestation-caf", {})
    with pytest.raises(InvalidInput):
        world.office.answer_request(AGENT, "F1", request.id, "?", decision="ignore")


# -- concurrency ------------------------------------------------------------------------------------------


class _Contended:
    """A store whose first ``failures`` commits meet a concurrent change (another agent was quicker)."""

    def __init__(self, store: MemoryStore, failures: int) -> None:
        self.store = store
        self.failures = failures

    def unit_of_work(self) -> _Contended:
        self._inner = self.store.unit_of_work()
        return self

    def __enter__(self) -> UnitOfWork:
        uow = self._inner.__enter__()
        outer = self

        class _Failing:
            def __getattr__(self, name: str) -> object:
                return getattr(uow, name)

            def commit(self) -> None:
                if outer.failures > 0:
                    outer.failures -= 1
                    raise ConcurrentChange("someone else wrote first")
                uow.commit()

        return _Failing()  # type: ignore[return-value]

    def __exit__(self, *exc: object) -> None:
        self._inner.__exit__(None, None, None)


def test_a_concurrent_change_is_retried_then_reported(world: World) -> None:
    def touch(uow: UnitOfWork) -> str:
        return uow.commune().collectivite.id

    contended: CommuneStore = _Contended(world.store, failures=2)
    assert transact(contended, touch, retries=3) == "saint-aubin"
    stuck: CommuneStore = _Contended(world.store, failures=5)
    with pytest.raises(ConcurrentChange):
        transact(stuck, touch, retries=2)


# -- edges ------------------------------------------------------------------------------------------------


def test_an_unknown_child_reads_as_someone_elses(world: World) -> None:
    with pytest.raises(PermissionDenied):
        world.portal.calendar(MARTIN, "C99", "cantine", DateRange(dt.date(2026, 12, 1), dt.date(2026, 12, 7)))
    with pytest.raises(PermissionDenied):
        world.portal.calendar(
            MARTIN, "C1", "cantine", DateRange(dt.date(2026, 12, 1), dt.date(2026, 12, 7)), family_id="F2"
        )


def test_an_unknown_prestation_is_a_refused_line(world: World) -> None:
    outcome = world.portal.validate_basket(MARTIN, "F1", book("C1", "piscine", dt.date(2026, 12, 1)))
    assert outcome.decisions[0].code == "basket.unknown_prestation"
    assert world.read(lambda uow: uow.bookings.of_family("F1", YEAR)) == ()


def test_a_prepaid_basket_without_an_email_address_is_not_held(world: World) -> None:
    no_mail = Family("F3", "Petit", [Guardian("G3", "Paul", "Petit")], "G3")
    world.office.register_family(AGENT, no_mail, [Child("C5", "Zoé", "Petit", dt.date(2019, 1, 5), ["F3"])])
    world.office.enrol_child(AGENT, Enrolment("E-C5", "C5", "F3", "alsh", YEAR))
    petit = FamilyMember("acc-petit", [AccountLink("saint-aubin", "F3", "G3", "act-5", NOW)])
    with pytest.raises(InvalidInput) as error:
        world.portal.validate_basket(petit, "F3", book("C5", "journee", HOLIDAY_MONDAY))
    assert error.value.code == "payment.no_email"
    assert world.read(lambda uow: uow.bookings.of_family("F3", YEAR)) == ()


def test_a_refused_payment_leaves_the_invoice_to_pay_again(world: World) -> None:
    world.portal.validate_basket(MARTIN, "F1", book("C1", "repas", *DECEMBER_MEALS))
    world.clock.instant = dt.datetime(2027, 1, 4, 8, 0, tzinfo=PARIS)
    (invoice,) = world.bill_december()
    attempt = world.portal.pay_invoices(MARTIN, "F1", [invoice.number])
    assert world.portal.payments_under_way(MARTIN, "F1") == (attempt,)
    world.gateway.refuse(attempt.payment_id, world.clock.now() + dt.timedelta(minutes=1))
    world.clock.advance(dt.timedelta(minutes=2))
    result = world.portal.payment_notification(world.gateway.notification(attempt.payment_id))
    assert result.code == "payment.notification.refused"
    assert world.portal.payments_under_way(MARTIN, "F1") == ()
    (view,) = world.portal.invoices_to_pay(MARTIN, "F1")
    assert view.code == "payment.payable_online"


def test_money_received_for_an_invoice_settled_meanwhile_is_kept_for_a_refund(world: World) -> None:
    world.portal.validate_basket(MARTIN, "F1", book("C1", "repas", *DECEMBER_MEALS))
    world.clock.instant = dt.datetime(2027, 1, 4, 8, 0, tzinfo=PARIS)
    (invoice,) = world.bill_december()
    attempt = world.portal.pay_invoices(MARTIN, "F1", [invoice.number])
    world.office.issue_credit(AGENT, "F1", "enfance", Money("20.00"), "Erreur de pointage")
    world.gateway.pay(attempt.payment_id, world.clock.now() + dt.timedelta(minutes=1))
    world.clock.advance(dt.timedelta(minutes=2))
    result = world.portal.payment_notification(world.gateway.notification(attempt.payment_id))
    assert result.payment is not None
    assert result.payment.amount == Money("26.00")
    allocations = world.read(lambda uow: uow.documents.allocations_of("F1"))
    from_payment = [a.amount for a in allocations if a.source == result.payment.number]
    assert from_payment == [Money("6.00")]
    assert world.portal.invoices_to_pay(MARTIN, "F1") == ()


def test_an_unknown_invoice_cannot_be_paid(world: World) -> None:
    with pytest.raises(PaymentRefused):
        world.portal.pay_invoices(MARTIN, "F1", ["FAC-enfance-2027-000099"])


def test_month_end_billing_follows_the_regies_payment_delay_and_direct_debit_day(world: World) -> None:
    # The régie enfance gives 45 days to pay and debits on the 5th; the Durands pay by direct debit.
    with world.store.unit_of_work() as uow:
        commune = uow.commune()
        regies = tuple(
            attrs.evolve(r, payment_delay_days=45, direct_debit_day=5) if r.id == "enfance" else r
            for r in commune.regies
        )
        uow.save_commune(attrs.evolve(commune, regies=regies))
        uow.families.save(attrs.evolve(uow.families.get("F2"), direct_debit=True))
        uow.commit()
    world.portal.validate_basket(MARTIN, "F1", book("C1", "repas", *DECEMBER_MEALS))
    world.portal.validate_basket(DURAND, "F2", book("C3", "repas", *DECEMBER_MEALS))
    world.clock.instant = dt.datetime(2027, 1, 4, 8, 0, tzinfo=PARIS)
    martin, durand = world.bill_december()
    # Issued on Monday 4 January 2027: due 45 days later, on Thursday 18 February; December's direct
    # debit is taken on the 5th of the month after it, Tuesday 5 January.
    assert (martin.due_on, martin.direct_debit_on) == (dt.date(2027, 2, 18), None)
    assert (durand.due_on, durand.direct_debit_on) == (dt.date(2027, 2, 18), dt.date(2027, 1, 5))
