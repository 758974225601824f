"""The pre-flight's proof from the tariffs alone: when it says a month can be priced, no family's check
finds a day without a price, whatever the family, its children, its bookings and its attendance."""

from __future__ import annotations

import datetime as dt

import attrs
from hypothesis import event, given, settings
from hypothesis import strategies as st

from espacefamille.billing.invoicing import BillingContext, FamilyMonth, check_family, priceable_month
from espacefamille.billing.pricing import FamilyFacts, price_quote
from espacefamille.billing.tariffs import (
    ATTENDANCE_STATUSES,
    AttendanceEffects,
    PrestationTariff,
    PriceList,
    PriceUnit,
    QfChangeRule,
    TariffBook,
)
from espacefamille.calendar.periods import DateRange
from espacefamille.examples import example_commune
from espacefamille.model import Booking, BookingStatus, Child
from espacefamille.rules.attendance import AttendanceFact, AttendanceStatus
from espacefamille.testing.strategies import children, families
from tests.property.test_tariff_grid_properties import book_of as grid_book
from tests.property.test_tariff_grid_properties import grids
from tests.property.test_tariff_properties import effects, family_facts, prestation_tariffs, status_codes

DECEMBER = DateRange.month(2026, 12)
COMMUNE = example_commune()
# The régie enfance's month-end prestations, all with hours (repas, matin, soir, mercredi_journee…).
PRESTATIONS = tuple(p.id for s in COMMUNE.services if s.regie_id == "enfance" for p in s.prestations)
BOOKED_AT = dt.datetime(2026, 11, 1, 8, 0, tzinfo=dt.UTC)
REMOVED = "sortie_retiree"  # a reason recorded, then removed from every price list


@st.composite
def tariffs_of(draw: st.DrawFn, prestation_id: str) -> PrestationTariff:
    """Any tariff of the property tests, or a grid (by QF band, rank, residence)."""
    if draw(st.booleans()):
        return draw(prestation_tariffs(prestation_id))
    tariff = grid_book(draw(grids())).price_lists[0].tariff("repas")
    assert tariff is not None
    return attrs.evolve(tariff, prestation_id=prestation_id, unit=draw(st.sampled_from(PriceUnit)))


@st.composite
def december_books(draw: st.DrawFn) -> TariffBook:
    """One or two price lists around December 2026, maybe ending in it or leaving days uncovered, maybe
    not pricing a prestation, with the commune's reasons in the list's table or a prestation's own."""
    cut = draw(
        st.just(32) | st.integers(0, 32)
    )  # the first list ends on the cut-th day of December (32: after it)
    first_end = DECEMBER.start + dt.timedelta(days=cut - 1)
    periods = [DateRange(dt.date(2026, 9, 1), max(first_end, dt.date(2026, 9, 1)))]
    if draw(st.booleans()):
        gap = draw(st.integers(1, 3))
        periods.append(DateRange(periods[0].end + dt.timedelta(days=gap), dt.date(2027, 8, 31)))
    lists = []
    for index, period in enumerate(periods):
        priced = draw(st.lists(st.sampled_from(PRESTATIONS), unique=True, max_size=len(PRESTATIONS)))
        if draw(st.integers(0, 3)):  # mostly every prestation
            priced = list(PRESTATIONS)
        lists.append(
            PriceList(
                f"liste-{index}",
                period,
                [draw(tariffs_of(prestation_id)) for prestation_id in priced],
                AttendanceEffects(draw(st.dictionaries(status_codes, effects, max_size=3))),
                draw(st.sampled_from(QfChangeRule)),
            )
        )
    return TariffBook(lists)


@st.composite
def family_months(draw: st.DrawFn, book: TariffBook) -> FamilyMonth:
    """A household of one to three children, booked on days of December in the régie's prestations, with
    attendance recorded on some (any status, maybe one of the commune's reasons or one it has removed)."""
    family = draw(families("F1"))
    kids: list[Child] = [draw(children(("F1",), f"C{index}")) for index in range(draw(st.integers(1, 3)))]
    days = st.sampled_from(list(DECEMBER))
    booked = draw(
        st.lists(
            st.tuples(
                st.sampled_from(kids), st.sampled_from(PRESTATIONS), days, st.sampled_from(BookingStatus)
            ),
            max_size=25,
        )
    )
    bookings = [
        Booking(child.id, prestation_id, day, "F1", status, BOOKED_AT)
        for child, prestation_id, day, status in booked
    ]
    # One of the commune's reasons, or one no price list defines any more (removed since it was recorded).
    reasons = st.none() | st.sampled_from(sorted(book.reason_codes | {REMOVED}))
    recorded = draw(
        st.lists(
            st.tuples(
                st.sampled_from(kids),
                st.sampled_from(PRESTATIONS),
                days,
                st.sampled_from(AttendanceStatus),
                reasons,
            ),
            max_size=10,
        )
    )
    facts = [
        AttendanceFact(child.id, prestation_id, day, status, reason=reason)
        for child, prestation_id, day, status, reason in recorded
    ]
    return FamilyMonth(family, kids, bookings, facts)


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_a_month_the_tariffs_prove_priceable_has_no_problem_in_any_family(data: st.DataObject) -> None:
    book = data.draw(december_books())
    commune = attrs.evolve(COMMUNE, tariffs=book)
    ctx = BillingContext(commune, "enfance", DECEMBER, dt.date(2027, 1, 4))
    month = data.draw(family_months(book))
    recorded = {fact.reason for fact in month.attendance if fact.reason is not None}
    proven = priceable_month(ctx, reasons=recorded)
    event("proven" if proven else "not proven")
    if proven:
        assert check_family(ctx, month) == []


@given(st.data())
def test_a_prestation_the_book_proves_priceable_has_a_price_for_every_family_status_and_reason(
    data: st.DataObject,
) -> None:
    book = data.draw(december_books())
    prestation_id = data.draw(st.sampled_from(PRESTATIONS))
    proven = book.priceable(prestation_id, DECEMBER)
    event("proven" if proven else "not proven")
    if not proven:
        return
    day = data.draw(st.sampled_from(list(DECEMBER)))
    facts: FamilyFacts = data.draw(family_facts)
    for status in (None, *ATTENDANCE_STATUSES[1:], *sorted(book.reason_codes)):
        price_quote(book, prestation_id, day, facts, status=status)  # never MissingData
