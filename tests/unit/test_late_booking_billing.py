"""Late bookings at month end: what the price preview announces is what the invoice bills, line by line.

Saint-Aubin-des-Prés, November 2026. The canteen's meal (2,60 € at QF 800) is due J-3 ouvrés before 11:00:
Monday 30 November was due Wednesday 25 November at 11:00. Here the canteen accepts a late meal either with
its shipped 20 % surcharge or at an exceptional tariff of 5,00 €.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from espacefamille.adapters.fake_gateway import FakeGateway
from espacefamille.adapters.memory import MemoryStore
from espacefamille.adapters.sqlite import SqliteStore
from espacefamille.billing.invoicing import BillingRun, run_month_end
from espacefamille.billing.prepaid import price_preview
from espacefamille.billing.pricing import FamilyFacts, price_exceptional_tariff, price_quote
from espacefamille.billing.tariffs import PercentOfPrice
from espacefamille.calendar.periods import DateRange
from espacefamille.commune import Commune
from espacefamille.errors import InvalidInput
from espacefamille.examples import example_commune
from espacefamille.families.accounts import AccountLink, Agent, AgentRole, FamilyMember
from espacefamille.model import (
    Booking,
    BookingStatus,
    Child,
    Enrolment,
    Family,
    Guardian,
    QuotientFamilial,
    Residence,
)
from espacefamille.money import Money, RoundingMode, RoundingPoint, RoundingPolicy
from espacefamille.ports import CommuneStore, FixedClock
from espacefamille.rules.attendance import AttendanceFact, AttendanceStatus
from espacefamille.rules.basket import Action, BasketContext, BasketLine, Outcome
from espacefamille.rules.policies import (
    LATE_BOOKING_CODES,
    AfterDeadlinePolicy,
    ExceptionalTariff,
    Surcharge,
    WaitingList,
    late_booking_policy_kind,
)
from espacefamille.services import BackOffice, FamilyPortal

PARIS = ZoneInfo("Europe/Paris")
NOVEMBER = DateRange.month(2026, 11)
ISSUED = dt.date(2026, 12, 1)
BOOKED_AT = dt.datetime(2026, 10, 1, 9, 0, tzinfo=PARIS)
LATE_AT = dt.datetime(2026, 11, 28, 10, 0, tzinfo=PARIS)  # after the deadlines of Monday 30 November
MONDAY_30 = dt.date(2026, 11, 30)
SCHOOL_DAYS = tuple(day for day in NOVEMBER if day.weekday() in (0, 1, 3, 4))
YEAR = DateRange(dt.date(2026, 9, 1), dt.date(2027, 8, 31))

EXCEPTIONAL = "deadline.late_booking_exceptional_tariff"
SURCHARGED = "deadline.late_booking_surcharge"
WAITING = "deadline.late_booking_waiting_list"

COMMUNE = example_commune()
MARTIN = Family(
    "F1",
    "Martin",
    [Guardian("G1", "Claire", "Martin", email="claire@example.fr")],
    "G1",
    quotients=[QuotientFamilial(800, dt.date(2026, 9, 1))],
)
LEA = Child("C1", "Léa", "Martin", dt.date(2016, 3, 1), ["F1"])


def with_policy(policy: AfterDeadlinePolicy, *prestations: str, commune: Commune = COMMUNE) -> Commune:
    rules = dict(commune.booking_rules)
    for prestation in prestations or ("repas",):
        rules[prestation] = attrs.evolve(rules[prestation], after_booking_deadline=policy)
    return attrs.evolve(commune, booking_rules=rules)


AT_FIVE = with_policy(ExceptionalTariff(Money("5.00")))


def meals(days: tuple[dt.date, ...], code: str | None = None, child: Child = LEA) -> list[Booking]:
    family_id = child.family_ids[0]
    return [
        Booking(child.id, "repas", day, family_id, BookingStatus.BOOKED, BOOKED_AT, None, code)
        for day in days
    ]


def bill(
    commune: Commune,
    bookings: list[Booking],
    attendance: list[AttendanceFact] | None = None,
    *,
    family: Family = MARTIN,
    children: list[Child] | None = None,
    **options: object,
) -> BillingRun:
    return run_month_end(
        commune,
        "enfance",
        NOVEMBER,
        ISSUED,
        families=[family],
        children=children or [LEA],
        bookings=bookings,
        attendance=attendance or [],
        **options,  # type: ignore[arg-type]
    )


def billed(run: BillingRun) -> Money:
    """What a run bills, issued or carried below the threshold."""
    return run.total_invoiced - run.total_credited + run.total_carried


def lines_of(run: BillingRun) -> list[tuple[str, tuple[dt.date, ...], Decimal, Money]]:
    (invoice,) = run.invoices
    return [(line.reason, line.days, line.unit_price, line.total) for line in invoice.lines]


def spaces(text: str) -> str:
    return text.replace("\u202f", " ").replace("\xa0", " ")


# -- the exceptional tariff at month end ---------------------------------------------------------------


def test_a_meal_booked_late_at_an_exceptional_tariff_shows_the_usual_price_and_a_supplement_line() -> None:
    late = SCHOOL_DAYS[-2:]
    run = bill(AT_FIVE, meals(SCHOOL_DAYS[:-2]) + meals(late, EXCEPTIONAL))
    assert lines_of(run) == [
        ("attendance.present", SCHOOL_DAYS, Decimal("2.60"), Money("44.20")),  # never folded into the price
        ("surcharge.late_booking.exceptional_tariff", late, Decimal("2.40"), Money("4.80")),
    ]
    supplement = run.invoices[0].lines[1]
    assert supplement.quantity == 2
    assert spaces(supplement.explanation) == (
        "Réservation après le délai : 2 jours, les 27 et 30 novembre 2026. Tarif exceptionnel pour une "
        "réservation après le délai : 5,00 € le repas au lieu de 2,60 €, soit 2,40 € de plus."
    )
    # Each late meal costs the family exactly the exceptional tariff.
    assert run.invoices[0].total == Money("2.60") * 15 + Money("5.00") * 2


def test_an_exceptional_tariff_below_the_usual_price_is_a_negative_supplement() -> None:
    # Outside the commune a meal is 5,20 €: the late meal costs the announced 5,00 €, not more.
    outside = attrs.evolve(MARTIN, residence=Residence.NON_RESIDENT)
    run = bill(AT_FIVE, meals(SCHOOL_DAYS[:-1]) + meals(SCHOOL_DAYS[-1:], EXCEPTIONAL), family=outside)
    supplement = run.invoices[0].lines[1]
    assert (supplement.reason, supplement.unit_price, supplement.total) == (
        "surcharge.late_booking.exceptional_tariff",
        Decimal("-0.20"),
        Money("-0.20"),
    )
    assert spaces(supplement.explanation).endswith("5,00 € le repas au lieu de 5,20 €, soit 0,20 € de moins.")


def test_a_late_day_billed_nothing_gets_no_supplement_and_one_billed_in_full_gets_it() -> None:
    # Friday 27: justified absence (nothing to pay); Monday 30: unjustified absence (billed in full).
    late = SCHOOL_DAYS[-2:]
    facts = [
        AttendanceFact("C1", "repas", late[0], AttendanceStatus.ABSENT_JUSTIFIED),
        AttendanceFact("C1", "repas", late[1], AttendanceStatus.ABSENT_UNJUSTIFIED),
    ]
    for commune, code, reason, total in (
        (AT_FIVE, EXCEPTIONAL, "surcharge.late_booking.exceptional_tariff", Money("2.40")),
        (COMMUNE, SURCHARGED, "surcharge.late_booking", Money("0.52")),  # surcharges behave the same way
    ):
        rows = lines_of(bill(commune, meals(SCHOOL_DAYS[:-2]) + meals(late, code), facts))
        late_rows = [row for row in rows if row[0].startswith("surcharge.")]
        assert late_rows == [(reason, (late[1],), late_rows[0][2], total)]
        assert ("attendance.absent_justified", (late[0],), Decimal(0), Money(0)) in rows


def test_a_percentage_attendance_effect_applies_to_the_exceptional_price_as_to_the_usual_one() -> None:
    # A price list billing an unjustified absence 50 %: 2,50 € instead of 1,30 €.
    book = AT_FIVE.tariffs
    (price_list,) = [p for p in book.price_lists if p.validity.start <= MONDAY_30 <= p.validity.end]
    effects = price_list.attendance.updated({"absent_unjustified": PercentOfPrice(Decimal(50))})
    book = attrs.evolve(
        book,
        price_lists=[attrs.evolve(p, attendance=effects) if p is price_list else p for p in book.price_lists],
    )
    facts = FamilyFacts(Decimal(800))
    absent = price_quote(book, "repas", MONDAY_30, facts, status="absent_unjustified")
    supplement = price_exceptional_tariff(book, absent, Money("5.00"))
    assert supplement is not None
    assert (absent.total, supplement.total) == (Money("1.30"), Money("1.20"))
    assert "absence non justifiée : 50 % du prix" in spaces(supplement.message_fr)
    # Nothing to add for a day billed nothing, nor at the usual price itself.
    justified = price_quote(book, "repas", MONDAY_30, facts, status="absent_justified")
    assert price_exceptional_tariff(book, justified, Money("5.00")) is None
    present = price_quote(book, "repas", MONDAY_30, facts)
    assert price_exceptional_tariff(book, present, Money("2.60")) is None
    with pytest.raises(InvalidInput) as caught:
        price_exceptional_tariff(book, present, Money("-1.00"))
    assert caught.value.code == "deadline.exceptional_tariff"


def test_an_hourly_slot_booked_late_at_an_exceptional_tariff_keeps_its_exact_minutes() -> None:
    # The morning care, 65 minutes at 0,96 € the hour (taux d'effort); 3,00 € the hour after the deadline.
    commune = with_policy(ExceptionalTariff(Money("3.00")), "matin")
    booking = Booking("C1", "matin", MONDAY_30, "F1", BookingStatus.BOOKED, BOOKED_AT, None, EXCEPTIONAL)
    run = bill(commune, [*meals(SCHOOL_DAYS), booking])
    supplement = next(line for line in run.invoices[0].lines if line.reason.startswith("surcharge."))
    assert (supplement.minutes, supplement.total) == (65, Money("2.21"))  # 3,25 € − 1,04 €
    assert supplement.unit_price == Decimal("2.04")


# -- a policy the commune no longer configures ----------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "now", "named"),
    [
        (EXCEPTIONAL, Surcharge(percent=Decimal(20)), "(tarif exceptionnel)"),
        (SURCHARGED, ExceptionalTariff(Money("5.00")), "(majoration)"),
    ],
)
def test_a_booking_accepted_under_a_kind_of_policy_now_gone_is_billed_its_usual_price(
    code: str, now: AfterDeadlinePolicy, named: str
) -> None:
    run = bill(with_policy(now), meals(SCHOOL_DAYS[:-1]) + meals(SCHOOL_DAYS[-1:], code))
    rows = lines_of(run)
    assert rows[1] == ("surcharge.late_booking.not_billed", (MONDAY_30,), Decimal(0), Money(0))
    assert run.invoices[0].total == Money("2.60") * 17
    assert spaces(run.invoices[0].lines[1].explanation) == (
        "Réservation après le délai : 1 jour, le 30 novembre 2026. Aucun supplément facturé : la règle qui a "
        f"accepté cette réservation {named} ne s'applique plus à cette prestation."
    )


def test_other_families_are_billed_as_usual_when_one_has_a_booking_of_a_gone_policy() -> None:
    dupont = Family("F2", "Dupont", [Guardian("G2", "Luc", "Dupont")], "G2")
    hugo = Child("C2", "Hugo", "Dupont", dt.date(2017, 1, 1), ["F2"])
    commune = with_policy(WaitingList())
    run = run_month_end(
        commune,
        "enfance",
        NOVEMBER,
        ISSUED,
        families=[MARTIN, dupont],
        children=[LEA, hugo],
        bookings=meals(SCHOOL_DAYS, EXCEPTIONAL) + meals(SCHOOL_DAYS, child=hugo),
    )
    assert {outcome.code for outcome in run.outcomes.values()} == {"billing.invoice_issued"}
    assert [invoice.total for invoice in run.invoices] == [Money("44.20"), Money("69.70")]  # 17 × 4,10 €


def test_a_code_that_does_not_say_its_policy_follows_the_current_one() -> None:
    # Imported bookings carry codes of their own: the prestation's current policy prices them.
    run = bill(AT_FIVE, meals(SCHOOL_DAYS[:-1]) + meals(SCHOOL_DAYS[-1:], "after_deadline.surcharge"))
    assert lines_of(run)[1][0] == "surcharge.late_booking.exceptional_tariff"
    assert late_booking_policy_kind("after_deadline.surcharge") is None


def test_a_booking_confirmed_from_the_waiting_list_costs_the_usual_price() -> None:
    # The Wednesday day care puts late bookings on its waiting list; a place freed, the day was booked.
    wednesday = dt.date(2026, 11, 25)
    booking = Booking(
        "C1", "mercredi_journee", wednesday, "F1", BookingStatus.BOOKED, BOOKED_AT, None, WAITING
    )
    run = bill(COMMUNE, [*meals(SCHOOL_DAYS), booking])
    reasons = [line.reason for line in run.invoices[0].lines]
    assert reasons == ["attendance.present", "attendance.present"]


def test_every_late_booking_code_a_basket_stamps_names_its_policy() -> None:
    assert {kind.__name__ for kind in LATE_BOOKING_CODES.values()} == {
        "Surcharge",
        "ExceptionalTariff",
        "WaitingList",
    }
    assert late_booking_policy_kind(EXCEPTIONAL) is ExceptionalTariff


# -- reruns and corrections -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("commune", "code", "day_total"),
    [(AT_FIVE, EXCEPTIONAL, Money("5.00")), (COMMUNE, SURCHARGED, Money("3.12"))],
)
def test_a_rerun_bills_nothing_twice_and_a_late_justified_absence_regularises_the_supplement(
    commune: Commune, code: str, day_total: Money
) -> None:
    bookings = meals(SCHOOL_DAYS[:-1]) + meals(SCHOOL_DAYS[-1:], code)
    first = bill(commune, bookings)
    again = bill(commune, bookings, issued=first.invoices, numbering=first.numbering)
    assert (again.documents, again.outcomes["F1"].code) == ((), "billing.nothing_to_bill")
    # The certificate arrives: Monday 30 November becomes a justified absence. The whole day comes back,
    # the supplement with it, on one regularisation line naming the original invoice.
    justified = [AttendanceFact("C1", "repas", MONDAY_30, AttendanceStatus.ABSENT_JUSTIFIED)]
    corrected = bill(commune, bookings, justified, issued=first.invoices, numbering=first.numbering)
    (note,) = corrected.credit_notes
    (line,) = note.lines
    assert (line.reason, line.total, line.regularises) == (
        "regularisation",
        -day_total,
        (first.invoices[0].number, MONDAY_30),
    )
    assert "désormais dû 0,00 €" in spaces(line.explanation)
    # And once corrected, a further rerun adds nothing.
    issued = first.invoices + corrected.credit_notes
    last = bill(commune, bookings, justified, issued=issued, numbering=corrected.numbering)
    assert last.documents == ()


def test_a_wrong_quotient_corrected_regularises_the_supplement_with_the_price() -> None:
    # Invoiced at QF 800 (2,60 €, supplement 2,40 €); the QF was 500 (1,10 €, supplement 3,90 €): the
    # late day is still worth 5,00 €, so only the ordinary days are regularised.
    bookings = meals(SCHOOL_DAYS[:-1]) + meals(SCHOOL_DAYS[-1:], EXCEPTIONAL)
    first = bill(AT_FIVE, bookings)
    fixed = attrs.evolve(MARTIN, quotients=[QuotientFamilial(500, dt.date(2026, 9, 1))])
    corrected = bill(AT_FIVE, bookings, family=fixed, issued=first.invoices, numbering=first.numbering)
    (note,) = corrected.credit_notes
    assert MONDAY_30 not in {line.regularises[1] for line in note.lines if line.regularises}
    assert note.total == -(Money("1.50") * 16)


# -- what the preview announces is what month end bills -------------------------------------------------

ENROLMENTS = [Enrolment(f"E-{s}", "C1", "F1", s, YEAR) for s in ("cantine", "periscolaire", "alsh")]


def preview_then_bill(
    commune: Commune, family: Family, children: list[Child], prestation: str
) -> tuple[Money, Money, Outcome]:
    """A late booking of ``prestation`` on Monday 30 November: what the preview announces for it, and what
    the month-end run bills for that day."""
    context = BasketContext(commune, family, children, ENROLMENTS)
    preview = price_preview(context, [BasketLine(Action.BOOK, "C1", prestation, MONDAY_30)], LATE_AT)
    (line,) = preview.lines
    assert line.amount is not None, line.message_fr
    run = run_month_end(
        commune,
        "enfance",
        NOVEMBER,
        ISSUED,
        families=[family],
        children=children,
        bookings=preview.result.added,
    )
    return line.amount, billed(run), line.decision.outcome


def test_the_preview_and_the_invoice_agree_on_a_late_meal() -> None:
    assert preview_then_bill(AT_FIVE, MARTIN, [LEA], "repas") == (
        Money("5.00"),
        Money("5.00"),
        Outcome.EXCEPTIONAL_TARIFF,
    )
    assert preview_then_bill(COMMUNE, MARTIN, [LEA], "repas") == (
        Money("3.12"),
        Money("3.12"),
        Outcome.ACCEPTED_WITH_SURCHARGE,
    )


_cents = st.integers(0, 3000).map(Money.from_cents)
policies = st.one_of(
    _cents.map(ExceptionalTariff),
    st.decimals(Decimal("0.01"), Decimal("200"), places=2).map(lambda p: Surcharge(percent=p)),
    st.integers(1, 1000).map(lambda c: Surcharge(amount=Money.from_cents(c))),
)


@given(
    policy=policies,
    prestation=st.sampled_from(("repas", "matin", "soir")),
    quotient=st.none() | st.integers(0, 2500),
    residence=st.sampled_from(tuple(Residence)),
    pai=st.booleans(),
    elder=st.booleans(),
    rounding=st.builds(
        RoundingPolicy, st.sampled_from(tuple(RoundingMode)), st.sampled_from(tuple(RoundingPoint))
    ),
)
def test_what_the_preview_announces_for_a_late_booking_is_what_month_end_bills(
    policy: Surcharge | ExceptionalTariff,
    prestation: str,
    quotient: int | None,
    residence: Residence,
    pai: bool,
    elder: bool,
    rounding: RoundingPolicy,
) -> None:
    commune = attrs.evolve(with_policy(policy, prestation), rounding=rounding)
    quotients = [] if quotient is None else [QuotientFamilial(quotient, dt.date(2026, 9, 1))]
    family = attrs.evolve(MARTIN, residence=residence, quotients=quotients)
    child = attrs.evolve(LEA, pai=pai)
    children = [child]
    if elder:  # Léa is then the second child, with the sibling reduction
        children.append(Child("C0", "Noé", "Martin", dt.date(2014, 1, 1), ["F1"]))
    announced, invoiced, outcome = preview_then_bill(commune, family, children, prestation)
    late = (
        Outcome.EXCEPTIONAL_TARIFF
        if isinstance(policy, ExceptionalTariff)
        else Outcome.ACCEPTED_WITH_SURCHARGE
    )
    assert outcome is late
    assert invoiced == announced


# -- end to end, through the services ------------------------------------------------------------------


def _source() -> Callable[[int], bytes]:
    counter = iter(range(1, 10_000))
    return lambda n: next(counter).to_bytes(n, "big")


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> CommuneStore:
    store: CommuneStore = MemoryStore() if request.param == "memory" else SqliteStore(tmp_path / "c.sqlite")
    with store.unit_of_work() as uow:
        uow.save_commune(AT_FIVE)
        uow.commit()
    return store


def test_a_late_meal_at_an_exceptional_tariff_from_the_portal_to_the_month_end_invoice(
    store: CommuneStore,
) -> None:
    agent = Agent("agent-1", "saint-aubin", AgentRole.ADMINISTRATEUR)
    now = dt.datetime(2026, 11, 26, 9, 0, tzinfo=PARIS)  # Monday 30 was due Wednesday 25 at 11:00
    parent = FamilyMember("acc-martin", [AccountLink("saint-aubin", "F1", "G1", "act-1", now)])
    clock = FixedClock(now)
    portal = FamilyPortal(store, gateway=FakeGateway(), clock=clock, source=_source())
    office = BackOffice(store, clock=clock, source=_source())
    office.register_family(agent, MARTIN, [LEA])
    office.enrol_child(agent, Enrolment("E-cantine", "C1", "F1", "cantine", YEAR))

    late_days = (dt.date(2026, 11, 27), MONDAY_30)
    december = (dt.date(2026, 12, 7), dt.date(2026, 12, 8), dt.date(2026, 12, 10), dt.date(2026, 12, 11))
    lines = [BasketLine(Action.BOOK, "C1", "repas", day) for day in late_days + december]
    outcome = portal.validate_basket(parent, "F1", lines)
    assert [d.outcome for d in outcome.decisions] == [Outcome.EXCEPTIONAL_TARIFF] * 2 + [Outcome.ACCEPTED] * 4
    assert [line.amount for line in outcome.preview.lines[:2]] == [Money("5.00")] * 2
    assert "tarif exceptionnel de 5,00" in spaces(outcome.preview.lines[0].message_fr)

    clock.instant = dt.datetime(2026, 12, 1, 8, 0, tzinfo=PARIS)
    report = office.run_month_end(agent, "enfance", NOVEMBER)
    # The two late meals, 10,00 € as announced, are below the 15 € threshold: carried to December.
    assert (report.invoices, report.total_carried) == (0, Money("10.00"))
    clock.instant = dt.datetime(2027, 1, 4, 8, 0, tzinfo=PARIS)
    office.run_month_end(agent, "enfance", DateRange.month(2026, 12))
    with store.unit_of_work() as uow:
        (invoice,) = uow.documents.invoices_of("F1")
    rows = [(line.reason, line.days, line.unit_price, line.total) for line in invoice.lines]
    assert rows == [
        ("attendance.present", late_days, Decimal("2.60"), Money("5.20")),
        ("surcharge.late_booking.exceptional_tariff", late_days, Decimal("2.40"), Money("4.80")),
        ("attendance.present", december, Decimal("2.60"), Money("10.40")),
    ]
    again = office.run_month_end(agent, "enfance", DateRange.month(2026, 12))
    assert again.invoices == 0
