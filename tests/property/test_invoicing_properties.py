"""Month-end invoicing properties: money conserved, reruns idempotent, gap-free numbers, no day twice."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from decimal import Decimal
from zoneinfo import ZoneInfo

import attrs
from hypothesis import given
from hypothesis import strategies as st

from espacefamille.billing.documents import Series
from espacefamille.billing.invoicing import BillingRun, run_month_end
from espacefamille.billing.pricing import FamilyFacts, price_exceptional_tariff, price_quote, price_surcharge
from espacefamille.billing.tariffs import FixedSurcharge, PercentSurcharge, SurchargeKind
from espacefamille.calendar.periods import DateRange
from espacefamille.commune import Commune
from espacefamille.examples import example_commune
from espacefamille.model import Booking, BookingStatus, Child, Family, Guardian, QuotientFamilial
from espacefamille.money import Money
from espacefamille.rules.attendance import AttendanceFact, AttendanceStatus
from espacefamille.rules.policies import ExceptionalTariff, Surcharge

COMMUNE = example_commune()
PARIS = ZoneInfo("Europe/Paris")
AT = dt.datetime(2026, 10, 1, 9, 0, tzinfo=PARIS)
NOVEMBER = DateRange.month(2026, 11)
ISSUED = dt.date(2026, 12, 1)
SCHOOL_DAYS = tuple(day for day in NOVEMBER if day.weekday() in (0, 1, 3, 4))
STATUSES = (
    None,  # no fact: counts as present
    AttendanceStatus.PRESENT,
    AttendanceStatus.ABSENT_JUSTIFIED,
    AttendanceStatus.ABSENT_UNJUSTIFIED,
    AttendanceStatus.SERVICE_CLOSED,
)


@st.composite
def families(draw: st.DrawFn) -> tuple[Family, list[Child], list[Booking], list[AttendanceFact]]:
    index = draw(st.integers(0, 999))
    family_id = f"F{index:03d}"
    quotient = draw(st.none() | st.integers(0, 2500))
    quotients = [] if quotient is None else [QuotientFamilial(Decimal(quotient), dt.date(2026, 9, 1))]
    family = Family(family_id, "Nom", [Guardian(f"G{index}", "A", "B")], f"G{index}", quotients=quotients)
    children = [
        Child(f"{family_id}-{n}", "Enfant", "Nom", dt.date(2015 + n, 1 + n, 1), [family_id])
        for n in range(draw(st.integers(1, 3)))
    ]
    bookings: list[Booking] = []
    facts: list[AttendanceFact] = []
    for child in children:
        days = draw(st.sets(st.sampled_from(SCHOOL_DAYS), max_size=len(SCHOOL_DAYS)))
        for day in sorted(days):
            bookings.append(Booking(child.id, "repas", day, family_id, BookingStatus.BOOKED, AT))
            status = draw(st.sampled_from(STATUSES))
            if status is not None:
                facts.append(AttendanceFact(child.id, "repas", day, status))
    return family, children, bookings, facts


cities = st.lists(families(), min_size=1, max_size=5, unique_by=lambda item: item[0].id)


def bill(
    city: list[tuple[Family, list[Child], list[Booking], list[AttendanceFact]]], **options: object
) -> BillingRun:
    return bill_in(COMMUNE, city, **options)


def worth(family: Family, children: list[Child], child: Child, status: AttendanceStatus | None) -> Money:
    """What one booked meal is worth, priced on its own through the one pricing path."""
    ranks = {c.id: rank for rank, c in enumerate(sorted(children, key=lambda c: (c.birth_date, c.id)), 1)}
    facts = FamilyFacts(
        family.quotient_on(dt.date(2026, 11, 2)), family.residence, child.pai, ranks[child.id], len(children)
    )
    argument = None if status in (None, AttendanceStatus.PRESENT) else status.value
    return price_quote(
        COMMUNE.tariffs, "repas", dt.date(2026, 11, 2), facts, 1, rounding=COMMUNE.rounding, status=argument
    ).total


@given(cities)
def test_total_invoiced_plus_carried_equals_what_each_day_is_worth(
    city: list[tuple[Family, list[Child], list[Booking], list[AttendanceFact]]],
) -> None:
    run = bill(city)
    expected = Money(0)
    for family, children, bookings, facts in city:
        statuses = {(fact.child_id, fact.day): fact.status for fact in facts}
        by_id = {child.id: child for child in children}
        for booking in bookings:
            expected += worth(
                family, children, by_id[booking.child_id], statuses.get((booking.child_id, booking.day))
            )
    assert run.total_invoiced - run.total_credited + run.total_carried == expected


@given(cities)
def test_every_line_is_its_rounded_unit_price_times_its_days_and_lines_sum_to_totals(
    city: list[tuple[Family, list[Child], list[Booking], list[AttendanceFact]]],
) -> None:
    run = bill(city)
    for invoice in run.documents:
        assert invoice.total == Money.total(line.total for line in invoice.lines)
        for line in invoice.lines:
            assert line.quantity == len(line.days)
            assert line.total == COMMUNE.rounding.round(line.unit_price) * len(line.days)


@given(cities)
def test_a_rerun_with_the_issued_invoices_is_idempotent(
    city: list[tuple[Family, list[Child], list[Booking], list[AttendanceFact]]],
) -> None:
    first = bill(city)
    again = bill(city, issued=first.documents, numbering=first.numbering)
    assert again.documents == ()
    assert again.numbering == first.numbering
    assert again.carried == first.carried


@given(cities)
def test_numbers_are_gap_free_and_follow_family_order(
    city: list[tuple[Family, list[Child], list[Booking], list[AttendanceFact]]],
) -> None:
    run = bill(city)
    numbers = [invoice.number for invoice in run.invoices]
    assert numbers == [f"FAC-enfance-2026-{n:06d}" for n in range(1, len(numbers) + 1)]
    assert [invoice.family_id for invoice in run.invoices] == sorted(
        invoice.family_id for invoice in run.invoices
    )
    assert run.numbering.last.get(("enfance", 2026, Series.INVOICE), 0) == len(numbers)


@given(cities)
def test_no_day_is_invoiced_twice(
    city: list[tuple[Family, list[Child], list[Booking], list[AttendanceFact]]],
) -> None:
    run = bill(city)
    first = Counter(
        (line.child_id, line.prestation_id, day)
        for invoice in run.documents
        for line in invoice.lines
        for day in line.days
    )
    carried = Counter(
        (line.child_id, line.prestation_id, day)
        for balance in run.carried.values()
        for line in balance.lines
        for day in line.days
    )
    assert all(count == 1 for count in (first + carried).values())
    booked = {(b.child_id, b.prestation_id, b.day) for item in city for b in item[2]}
    assert set(first + carried) == booked


# -- late bookings: a surcharge or an exceptional tariff, each a line of its own ---------------------------

LATE_CODES = {
    Surcharge: "deadline.late_booking_surcharge",
    ExceptionalTariff: "deadline.late_booking_exceptional_tariff",
}
late_policies = st.one_of(
    st.integers(0, 2000).map(lambda cents: ExceptionalTariff(Money.from_cents(cents))),
    st.decimals(Decimal("0.01"), Decimal("150"), places=2).map(lambda percent: Surcharge(percent=percent)),
    st.integers(1, 500).map(lambda cents: Surcharge(amount=Money.from_cents(cents))),
)
LateCity = tuple[Commune, list[tuple[Family, list[Child], list[Booking], list[AttendanceFact]]]]


@st.composite
def late_cities(draw: st.DrawFn) -> LateCity:
    """Families of a commune whose canteen accepts late meals under a drawn policy, some meals booked late;
    every total is issued (no threshold), so that corrections can be followed invoice by invoice."""
    policy = draw(late_policies)
    rules = dict(COMMUNE.booking_rules)
    rules["repas"] = attrs.evolve(rules["repas"], after_booking_deadline=policy)
    commune = attrs.evolve(COMMUNE, booking_rules=rules, recovery_threshold=Money(0))
    city = draw(st.lists(families(), min_size=1, max_size=3, unique_by=lambda item: item[0].id))
    code = LATE_CODES[type(policy)]
    late = [
        (
            family,
            children,
            [attrs.evolve(b, surcharge_code=code) if draw(st.booleans()) else b for b in bookings],
            facts,
        )
        for family, children, bookings, facts in city
    ]
    return commune, late


def worth_late(
    commune: Commune, family: Family, children: list[Child], booking: Booking, status: AttendanceStatus | None
) -> Money:
    """What one booked meal is worth, its late-booking part as the price preview announces it."""
    ranks = {c.id: rank for rank, c in enumerate(sorted(children, key=lambda c: (c.birth_date, c.id)), 1)}
    child = next(c for c in children if c.id == booking.child_id)
    facts = FamilyFacts(
        family.quotient_on(booking.day), family.residence, child.pai, ranks[child.id], len(children)
    )
    argument = None if status in (None, AttendanceStatus.PRESENT) else status.value
    book = commune.tariffs
    quote = price_quote(book, "repas", booking.day, facts, 1, rounding=commune.rounding, status=argument)
    if booking.surcharge_code is None or (argument is not None and not quote.unit_price):
        return quote.total  # booked in time, or a day billed nothing: no late part
    policy = commune.booking_rules["repas"].after_booking_deadline
    if isinstance(policy, ExceptionalTariff):
        supplement = price_exceptional_tariff(book, quote, policy.unit_price)
        return quote.total + (supplement.total if supplement is not None else Money(0))
    assert isinstance(policy, Surcharge)
    rule: PercentSurcharge | FixedSurcharge
    if policy.percent is not None:
        rule = PercentSurcharge(policy.percent)
    else:
        assert policy.amount is not None
        rule = FixedSurcharge(policy.amount)
    surcharge = price_surcharge(book, quote, SurchargeKind.LATE_BOOKING, rule=rule)
    assert surcharge is not None
    return quote.total + surcharge.total


def worth_city(
    commune: Commune, city: list[tuple[Family, list[Child], list[Booking], list[AttendanceFact]]]
) -> Money:
    total = Money(0)
    for family, children, bookings, facts in city:
        statuses = {(fact.child_id, fact.day): fact.status for fact in facts}
        for booking in bookings:
            total += worth_late(
                commune, family, children, booking, statuses.get((booking.child_id, booking.day))
            )
    return total


def bill_in(
    commune: Commune,
    city: list[tuple[Family, list[Child], list[Booking], list[AttendanceFact]]],
    **options: object,
) -> BillingRun:
    return run_month_end(
        commune,
        "enfance",
        NOVEMBER,
        ISSUED,
        families=[item[0] for item in city],
        children=[child for item in city for child in item[1]],
        bookings=[booking for item in city for booking in item[2]],
        attendance=[fact for item in city for fact in item[3]],
        **options,  # type: ignore[arg-type]
    )


def billed(run: BillingRun) -> Money:
    return run.total_invoiced - run.total_credited + run.total_carried


@given(late_cities())
def test_late_meals_cost_what_the_preview_announces_and_a_rerun_adds_nothing(late: LateCity) -> None:
    commune, city = late
    first = bill_in(commune, city)
    assert billed(first) == worth_city(commune, city)
    for document in first.documents:
        for line in document.lines:
            if line.reason.startswith("surcharge.late_booking"):
                main = {
                    day
                    for other in document.lines
                    if other.reason.startswith("attendance.") and other.child_id == line.child_id
                    for day in other.days
                }
                assert set(line.days) <= main  # a supplement line beside each day's own price line
    again = bill_in(commune, city, issued=first.documents, numbering=first.numbering)
    assert again.documents == ()


@given(late_cities(), st.data())
def test_corrections_of_late_meals_bill_each_day_what_it_is_worth_now(
    late: LateCity, data: st.DataObject
) -> None:
    commune, city = late
    first = bill_in(commune, city)
    corrected = [
        (
            family,
            children,
            bookings,
            [
                AttendanceFact(b.child_id, "repas", b.day, status)
                for b in bookings
                if (status := data.draw(st.sampled_from(STATUSES))) is not None
            ],
        )
        for family, children, bookings, _ in city
    ]
    second = bill_in(commune, corrected, issued=first.documents, numbering=first.numbering)
    assert billed(first) + billed(second) == worth_city(commune, corrected)
    third = bill_in(commune, corrected, issued=first.documents + second.documents, numbering=second.numbering)
    assert third.documents == ()
