"""Tax and presence attestations as a family and the régie read them."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import attrs
import pytest

from espacefamille.billing.attestations import care_part, presence_attestation, tax_attestation
from espacefamille.billing.documents import (
    Allocation,
    DocumentKind,
    Invoice,
    InvoiceLine,
    Payment,
    PaymentMethod,
)
from espacefamille.calendar.periods import DateRange
from espacefamille.commune import Commune
from espacefamille.config import dumps_commune, loads_commune
from espacefamille.errors import InvalidConfiguration, InvalidInput
from espacefamille.model import Booking, BookingStatus, Child, Family, Guardian
from espacefamille.money import Money
from espacefamille.rules.attendance import AttendanceFact, AttendanceStatus
from tests.example_text import bare_example_text

D = dt.date
PARIS = ZoneInfo("Europe/Paris")
FAMILY = Family("F1", "Martin", [Guardian("G1", "Claire", "Martin")], "G1")
LOU = Child("C1", "Lou", "Martin", D(2021, 3, 14), ["F1"])  # 4 on 1 January 2026
MAX = Child("C2", "Max", "Martin", D(2020, 1, 1), ["F1"])  # 6 on 1 January 2026: too old
NINA = Child("C3", "Nina", "Martin", D(2022, 5, 2), ["F1", "F2"])  # in two households


def meal_commune(meal: str = "2.10") -> Commune:
    """The example commune whose meal price says its meal part."""
    text = bare_example_text()
    return loads_commune(
        text.replace('unit_label = "le repas"\n', f'unit_label = "le repas"\nmeal = "{meal}"\n', 1)
    )


def line(
    child: str, prestation: str, days: list[D], unit: str, reason: str = "attendance.present"
) -> InvoiceLine:
    price = Decimal(unit)
    return InvoiceLine(
        child, prestation, prestation, reason, days, Decimal(len(days)), price, Money(price * len(days))
    )


NOVEMBER = [D(2026, 11, day) for day in (2, 3, 5, 6)]
INVOICE = Invoice(
    "FAC-enfance-2026-000041",
    "enfance",
    "F1",
    DocumentKind.INVOICE,
    DateRange(D(2026, 11, 1), D(2026, 11, 30)),
    D(2026, 12, 1),
    D(2026, 12, 31),
    [
        line("C1", "repas", NOVEMBER, "3.40"),  # 13,60 €, of which 8,40 € of meals
        line("C1", "matin", NOVEMBER, "1.00"),  # 4,00 € of care
        line("C1", "soir", NOVEMBER[:1], "3.00", "surcharge.unbooked_presence"),  # a penalty
        line("C2", "repas", NOVEMBER, "3.40"),  # a child of six
    ],
)


def paid(cents: int, on: dt.datetime, number: str = "PAY-enfance-2026-000001") -> tuple[Payment, Allocation]:
    payment = Payment(number, "enfance", "F1", Money.from_cents(cents), on, PaymentMethod.CHEQUE)
    return payment, Allocation(number, INVOICE.number, Money.from_cents(cents))


def test_a_fully_paid_invoice_counts_care_without_meals_penalties_or_older_children() -> None:
    payment, allocation = paid(INVOICE.total.cents, dt.datetime(2026, 12, 10, 9, tzinfo=PARIS))
    attestation = tax_attestation(
        meal_commune(), FAMILY, [LOU, MAX], [INVOICE], [payment], [allocation], 2026
    )
    assert [(c.first_name, c.amount) for c in attestation.children] == [("Lou", Money("9.20"))]  # 5,20 + 4,00
    assert attestation.total == Money("9.20")
    assert attestation.code == "attestation.tax_credit"
    assert "Lou Martin (date de naissance : dimanche 14 mars 2021) : 9,20" in attestation.message_fr
    assert "repas, majorations et pénalités exclus" in attestation.message_fr


def test_a_payment_received_on_new_years_eve_in_paris_counts_in_that_year_not_the_next() -> None:
    eve = dt.datetime(2026, 12, 31, 23, 30, tzinfo=PARIS)  # 22:30 UTC
    payment, allocation = paid(INVOICE.total.cents, eve.astimezone(dt.UTC))
    commune = meal_commune()
    assert tax_attestation(commune, FAMILY, [LOU], [INVOICE], [payment], [allocation], 2026).total == Money(
        "9.20"
    )
    assert tax_attestation(commune, FAMILY, [LOU], [INVOICE], [payment], [allocation], 2027).children == ()
    new_year = dt.datetime(2027, 1, 1, 0, 30, tzinfo=PARIS)  # 23:30 UTC on 31 December
    payment, allocation = paid(INVOICE.total.cents, new_year.astimezone(dt.UTC))
    assert tax_attestation(commune, FAMILY, [LOU], [INVOICE], [payment], [allocation], 2026).children == ()


def test_a_partial_payment_pays_the_care_part_in_proportion_rounded_down() -> None:
    payment, allocation = paid(1_000, dt.datetime(2026, 12, 10, 9, tzinfo=PARIS))  # 10 € of 34,20 €
    attestation = tax_attestation(meal_commune(), FAMILY, [LOU], [INVOICE], [payment], [allocation], 2026)
    assert attestation.total == Money("2.69")  # 10 × 9,20 / 34,20 = 2,690…


def test_a_credit_note_set_against_the_invoice_is_not_a_payment() -> None:
    credit = Allocation("AV-enfance-2026-000001", INVOICE.number, INVOICE.total)
    attestation = tax_attestation(meal_commune(), FAMILY, [LOU], [INVOICE], [], [credit], 2026)
    assert attestation.children == ()
    assert attestation.message_fr.endswith("aucun montant.")


def test_without_a_meal_part_the_whole_meal_price_counts_and_a_meal_above_its_price_counts_nothing() -> None:
    example = loads_commune(bare_example_text())
    assert care_part(example, INVOICE.lines[0]) == Money("13.60")
    assert care_part(meal_commune("5.00"), INVOICE.lines[0]) == Money("0")
    assert care_part(meal_commune(), INVOICE.lines[2]) == Money("0")  # the surcharge


def test_a_child_in_two_households_is_marked_in_alternating_residence() -> None:
    invoice = Invoice(
        "FAC-enfance-2026-000042",
        "enfance",
        "F1",
        DocumentKind.INVOICE,
        DateRange(D(2026, 11, 1), D(2026, 11, 30)),
        D(2026, 12, 1),
        D(2026, 12, 31),
        [line("C3", "matin", NOVEMBER, "1.00")],
    )
    payment = Payment(
        "PAY-1", "enfance", "F1", Money("4"), dt.datetime(2026, 12, 2, tzinfo=PARIS), PaymentMethod.CASH
    )
    attestation = tax_attestation(
        meal_commune(),
        FAMILY,
        [NINA],
        [invoice],
        [payment],
        [Allocation("PAY-1", invoice.number, Money("4"))],
        2026,
    )
    assert attestation.children[0].alternating_residence
    assert "résidence alternée : montant payé par ce foyer" in attestation.message_fr


def test_the_meal_part_is_read_written_back_and_refused_negative() -> None:
    commune = meal_commune()
    assert commune.tariffs.tariff_on("repas", D(2026, 11, 2))[1].meal == Decimal("2.10")
    assert loads_commune(dumps_commune(commune)) == commune
    with pytest.raises(InvalidConfiguration):
        meal_commune("-1.00")


def test_a_year_that_is_not_one_is_refused() -> None:
    with pytest.raises(InvalidInput) as error:
        tax_attestation(meal_commune(), FAMILY, [LOU], [], [], [], 12_026)
    assert error.value.code == "input.invalid_year"


def test_presence_counts_days_present_per_child_and_prestation_in_the_period() -> None:
    facts = [
        AttendanceFact("C1", "repas", D(2026, 11, 2), AttendanceStatus.PRESENT),
        AttendanceFact("C1", "repas", D(2026, 11, 3), AttendanceStatus.PRESENT_UNBOOKED),
        AttendanceFact("C1", "repas", D(2026, 11, 5), AttendanceStatus.ABSENT_JUSTIFIED),
        AttendanceFact("C1", "repas", D(2026, 12, 1), AttendanceStatus.PRESENT),  # outside
        AttendanceFact("C1", "matin", D(2026, 11, 2), AttendanceStatus.PRESENT),
    ]
    november = DateRange(D(2026, 11, 1), D(2026, 11, 30))
    attestation = presence_attestation(meal_commune(), FAMILY, [LOU, MAX], facts, november)
    assert [(p.prestation_id, p.count) for p in attestation.presences] == [("matin", 1), ("repas", 2)]
    assert attestation.code == "attestation.presence"
    assert "Lou Martin : 2 jours de présence" in attestation.message_fr
    assert "1 jour de présence" in attestation.message_fr
    empty = presence_attestation(meal_commune(), FAMILY, [LOU, MAX], facts, november, child_ids=["C2"])
    assert empty.presences == ()
    assert empty.message_fr.startswith("Aucune présence")
    with pytest.raises(InvalidInput) as error:
        presence_attestation(meal_commune(), FAMILY, [LOU], facts, november, child_ids=["C9"])
    assert error.value.code == "attestation.unknown_child"


def test_a_household_that_is_not_one_is_refused() -> None:
    with pytest.raises(InvalidInput) as error:
        tax_attestation(meal_commune(), "F1", [LOU], [], [], [], 2026)  # type: ignore[arg-type]
    assert error.value.code == "input.invalid"
    with pytest.raises(InvalidInput):
        presence_attestation(meal_commune(), FAMILY, [LOU], [], "novembre")  # type: ignore[arg-type]


def test_days_paid_at_booking_count_in_the_year_booked_less_meals_cancellations_and_late_surcharges() -> None:
    booked = dt.datetime(2026, 12, 31, 23, 50, tzinfo=PARIS)
    day = D(2027, 2, 17)

    def booking(child: str, status: BookingStatus = BookingStatus.BOOKED, **changes: Any) -> Booking:
        made = Booking(child, "repas", day, "F1", status, booked, paid=Money("3.40"))
        return attrs.evolve(made, **changes)

    bookings = [
        booking("C1"),  # 3,40 € paid, 2,10 € of it the meal
        booking("C1", BookingStatus.CANCELLED, day=D(2027, 2, 18)),  # became a credit
        booking("C1", surcharge_code="late_booking", day=D(2027, 2, 19)),  # price and surcharge together
        booking("C1", paid=None, day=D(2027, 2, 22)),  # billed at month end, not at booking
        booking("C2", day=D(2027, 2, 23)),  # six on 1 January 2026
    ]
    commune = meal_commune()
    attestation = tax_attestation(commune, FAMILY, [LOU, MAX], [], [], [], 2026, bookings)
    assert [(c.child_id, c.amount) for c in attestation.children] == [("C1", Money("1.30"))]
    assert tax_attestation(commune, FAMILY, [LOU], [], [], [], 2027, bookings).children == ()


def _reversal(
    cents: int, on: dt.datetime, number: str = "PAY-enfance-2027-000001"
) -> tuple[Payment, Allocation]:
    """The bank took a direct debit back: a negative payment, and the invoice's allocation to it."""
    payment = Payment(number, "enfance", "F1", Money.from_cents(-cents), on, PaymentMethod.DIRECT_DEBIT)
    return payment, Allocation(INVOICE.number, number, Money.from_cents(cents))


def test_a_direct_debit_the_bank_returned_is_not_paid_even_when_returned_the_next_year() -> None:
    collected = Payment(
        "PAY-enfance-2026-000001",
        "enfance",
        "F1",
        INVOICE.total,
        dt.datetime(2026, 12, 15, tzinfo=PARIS),
        PaymentMethod.DIRECT_DEBIT,
    )
    allocation = Allocation(collected.number, INVOICE.number, INVOICE.total)
    returned, reopened = _reversal(INVOICE.total.cents, dt.datetime(2027, 1, 4, 10, tzinfo=PARIS))
    commune = meal_commune()
    payments, allocations = [collected, returned], [allocation, reopened]
    for year in (2026, 2027):
        assert tax_attestation(commune, FAMILY, [LOU], [INVOICE], payments, allocations, year).children == ()
    # Paid again at the counter in January: that payment is the one kept, in 2027.
    counter, settled = paid(
        INVOICE.total.cents, dt.datetime(2027, 1, 8, 9, tzinfo=PARIS), "PAY-enfance-2027-000002"
    )
    payments, allocations = [*payments, counter], [*allocations, settled]
    assert tax_attestation(commune, FAMILY, [LOU], [INVOICE], payments, allocations, 2026).children == ()
    assert tax_attestation(commune, FAMILY, [LOU], [INVOICE], payments, allocations, 2027).total == Money(
        "9.20"
    )


def test_a_returned_debit_takes_back_only_what_it_collected_the_counter_payment_before_it_stays() -> None:
    counter, first = paid(1_000, dt.datetime(2026, 12, 3, 9, tzinfo=PARIS))  # 10 € at the counter
    rest = INVOICE.total.cents - 1_000
    collected = Payment(
        "PAY-enfance-2026-000002",
        "enfance",
        "F1",
        Money.from_cents(rest),
        dt.datetime(2026, 12, 15, tzinfo=PARIS),
        PaymentMethod.DIRECT_DEBIT,
    )
    debit = Allocation(collected.number, INVOICE.number, collected.amount)
    returned, reopened = _reversal(
        rest, dt.datetime(2026, 12, 18, 10, tzinfo=PARIS), "PAY-enfance-2026-000003"
    )
    attestation = tax_attestation(
        meal_commune(),
        FAMILY,
        [LOU],
        [INVOICE],
        [counter, collected, returned],
        [first, debit, reopened],
        2026,
    )
    assert attestation.total == Money("2.69")  # what the counter payment paid, as if the debit never was
