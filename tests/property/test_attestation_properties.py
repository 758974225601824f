"""The tax attestation: never more than the care part paid, never a surcharge, never a child of six."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from espacefamille.billing.attestations import care_part, tax_attestation
from espacefamille.billing.documents import (
    Allocation,
    DocumentKind,
    Invoice,
    InvoiceLine,
    Payment,
    PaymentMethod,
)
from espacefamille.calendar.periods import DateRange
from espacefamille.model import Child, Family, Guardian
from espacefamille.money import ZERO, Money
from tests.unit.test_attestations import meal_commune

D = dt.date
PARIS = ZoneInfo("Europe/Paris")
COMMUNE = meal_commune()
FAMILY = Family("F1", "Martin", [Guardian("G1", "Claire", "Martin")], "G1")
DAYS = [D(2026, 11, day) for day in (2, 3, 5, 6, 9, 10)]
REASONS = ("attendance.present", "attendance.absent_unjustified", "surcharge.unbooked_presence")

children = st.lists(
    st.builds(
        lambda index, born: Child(f"C{index}", "Enfant", "Martin", born, ["F1"]),
        st.integers(1, 3),
        st.dates(D(2018, 1, 1), D(2025, 12, 31)),
    ),
    min_size=1,
    max_size=3,
    unique_by=lambda child: child.id,
)


@st.composite
def invoices(draw: st.DrawFn, number: int) -> Invoice:
    lines = []
    for _ in range(draw(st.integers(1, 5))):
        days = draw(st.lists(st.sampled_from(DAYS), min_size=1, max_size=4, unique=True))
        price = Decimal(draw(st.integers(0, 900))) / 100
        lines.append(
            InvoiceLine(
                f"C{draw(st.integers(1, 3))}",
                draw(st.sampled_from(("repas", "matin", "soir"))),
                "ligne",
                draw(st.sampled_from(REASONS)),
                days,
                Decimal(len(days)),
                price,
                Money(price * len(days)),
            )
        )
    return Invoice(
        f"FAC-enfance-2026-{number:06d}",
        "enfance",
        "F1",
        DocumentKind.INVOICE,
        DateRange(D(2026, 11, 1), D(2026, 11, 30)),
        D(2026, 12, 1),
        D(2026, 12, 31),
        lines,
    )


@st.composite
def history(draw: st.DrawFn) -> tuple[list[Invoice], list[Payment], list[Allocation]]:
    documents = [draw(invoices(number)) for number in range(1, draw(st.integers(1, 3)) + 1)]
    payments, allocations = [], []
    for index, document in enumerate(documents):
        if not document.total or not draw(st.booleans()):
            continue
        cents = draw(st.integers(1, document.total.cents))
        received = draw(
            st.datetimes(dt.datetime(2025, 12, 25), dt.datetime(2027, 1, 5), timezones=st.just(PARIS))
        )
        number = f"PAY-{index}"
        payments.append(
            Payment(number, "enfance", "F1", Money.from_cents(cents), received, PaymentMethod.CASH)
        )
        allocations.append(Allocation(number, document.number, Money.from_cents(cents)))
    return documents, payments, allocations


def young(kids: list[Child]) -> set[str]:
    return {child.id for child in kids if child.age_on(D(2026, 1, 1)) < 6}


@settings(max_examples=150, deadline=None)
@given(children, history())
def test_the_attestation_never_exceeds_the_care_part_of_the_invoices_paid_in_the_year(
    kids: list[Child], data: tuple[list[Invoice], list[Payment], list[Allocation]]
) -> None:
    documents, payments, allocations = data
    attestation = tax_attestation(COMMUNE, FAMILY, kids, documents, payments, allocations, 2026)
    in_year = {p.number for p in payments if p.received_at.astimezone(PARIS).year == 2026}
    paid = {a.invoice_number for a in allocations if a.source in in_year}
    for child in attestation.children:
        bound = Money.total(
            care_part(COMMUNE, line)
            for document in documents
            if document.number in paid
            for line in document.lines
            if line.child_id == child.child_id
        )
        assert ZERO < child.amount <= bound
    assert {child.child_id for child in attestation.children} <= young(kids)


@settings(max_examples=150, deadline=None)
@given(children, st.lists(invoices(1), min_size=1, max_size=1))
def test_a_fully_paid_invoice_attests_exactly_its_care_lines_and_never_a_surcharge(
    kids: list[Child], documents: list[Invoice]
) -> None:
    document = documents[0]
    if not document.total:
        return
    payment = Payment(
        "PAY-1", "enfance", "F1", document.total, dt.datetime(2026, 12, 3, tzinfo=PARIS), PaymentMethod.CHEQUE
    )
    allocation = Allocation("PAY-1", document.number, document.total)
    attestation = tax_attestation(COMMUNE, FAMILY, kids, [document], [payment], [allocation], 2026)
    for child in attestation.children:
        care = [
            line
            for line in document.lines
            if line.child_id == child.child_id and not line.reason.startswith("surcharge")
        ]
        assert child.amount == Money.total(care_part(COMMUNE, line) for line in care)
    for line in document.lines:
        if line.reason.startswith("surcharge"):
            assert care_part(COMMUNE, line) == ZERO


@settings(max_examples=150, deadline=None)
@given(
    children,
    history(),
    st.data(),
)
def test_a_direct_debit_the_bank_returned_counts_as_if_it_had_never_been_collected(
    kids: list[Child], data: tuple[list[Invoice], list[Payment], list[Allocation]], draw: st.DataObject
) -> None:
    """Paid − returned = kept: whatever was paid before, a debit of the rest that the bank returns (that
    year or the next) leaves each year's attestation what it was without the debit."""
    documents, payments, allocations = data
    document = draw.draw(st.sampled_from(documents))
    settled = Money.total(a.amount for a in allocations if a.invoice_number == document.number)
    rest = document.total - settled
    if rest <= ZERO:
        return
    # Collected after what was paid before (an invoice settled by its debit takes no other payment).
    before = [p.received_at.astimezone(PARIS).replace(tzinfo=None) for p in payments]
    start = max([dt.datetime(2025, 12, 25), *before]) + dt.timedelta(minutes=1)
    collected = draw.draw(st.datetimes(start, start + dt.timedelta(days=30), timezones=st.just(PARIS)))
    returned = collected + draw.draw(st.timedeltas(dt.timedelta(hours=1), dt.timedelta(days=60)))
    debit = Payment("PAY-debit", "enfance", "F1", rest, collected, PaymentMethod.DIRECT_DEBIT)
    reversal = Payment("PAY-reversal", "enfance", "F1", -rest, returned, PaymentMethod.DIRECT_DEBIT)
    with_debit = (
        [*payments, debit, reversal],
        [
            *allocations,
            Allocation(debit.number, document.number, rest),
            Allocation(document.number, reversal.number, rest),
        ],
    )
    for year in (2025, 2026, 2027):
        without = tax_attestation(COMMUNE, FAMILY, kids, documents, payments, allocations, year)
        assert tax_attestation(COMMUNE, FAMILY, kids, documents, *with_debit, year) == without
