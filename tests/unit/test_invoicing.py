"""Month-end invoicing of Saint-Aubin-des-Prés for November 2026 (Armistice on Wednesday 11 November, the
périscolaire training day on Friday 27 November), as a régie and a family would check it."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import attrs
import pytest

from espacefamille.billing.documents import DocumentKind, Invoice, InvoiceLine, Numbering, Series
from espacefamille.billing.invoicing import (
    BillingContext,
    BillingRun,
    CarriedBalance,
    OutcomeKind,
    days_to_read,
    run_month_end,
    sibling_ranks,
)
from espacefamille.calendar.periods import DateRange
from espacefamille.commune import Commune
from espacefamille.errors import InvalidInput, NotFound
from espacefamille.model import Booking, BookingStatus, Child, Family, Guardian, QuotientFamilial, Residence
from espacefamille.money import Money
from espacefamille.rules.attendance import AttendanceFact, AttendanceStatus
from espacefamille.rules.policies import WaitingList

PARIS = ZoneInfo("Europe/Paris")
BOOKED_AT = dt.datetime(2026, 10, 1, 9, 0, tzinfo=PARIS)
NOVEMBER = DateRange.month(2026, 11)
DECEMBER = DateRange.month(2026, 12)
ISSUED = dt.date(2026, 12, 1)
THURSDAY_12 = dt.date(2026, 11, 12)
TRAINING_DAY = dt.date(2026, 11, 27)

# Cantine and périscolaire open Monday, Tuesday, Thursday, Friday; Wednesday 11 November is the Armistice.
SCHOOL_DAYS = tuple(day for day in NOVEMBER if day.weekday() in (0, 1, 3, 4))


def family(
    family_id: str = "F1",
    quotient: str | None = "800",
    residence: Residence = Residence.RESIDENT,
    direct_debit: bool = False,
) -> Family:
    quotients = [] if quotient is None else [QuotientFamilial(Decimal(quotient), dt.date(2026, 9, 1))]
    return Family(
        family_id,
        "Martin",
        [Guardian(f"G{family_id}", "Claire", "Martin")],
        f"G{family_id}",
        residence,
        quotients,
        direct_debit,
    )


LEA = Child("C1", "Léa", "Martin", dt.date(2016, 3, 1), ["F1"])
TOM = Child("C2", "Tom", "Martin", dt.date(2018, 5, 1), ["F1"])


def book(child: Child, prestation: str, days: tuple[dt.date, ...], late: bool = False) -> list[Booking]:
    code = "after_deadline.surcharge" if late else None
    return [
        Booking(child.id, prestation, day, child.family_ids[0], BookingStatus.BOOKED, BOOKED_AT, None, code)
        for day in days
    ]


def fact(child: Child, prestation: str, day: dt.date, status: AttendanceStatus) -> AttendanceFact:
    return AttendanceFact(child.id, prestation, day, status)


def bill(
    commune: Commune,
    bookings: list[Booking],
    attendance: list[AttendanceFact] | None = None,
    *,
    families: list[Family] | None = None,
    children: list[Child] | None = None,
    **options: object,
) -> BillingRun:
    return run_month_end(
        commune,
        "enfance",
        NOVEMBER,
        ISSUED,
        families=families or [family()],
        children=children or [LEA, TOM],
        bookings=bookings,
        attendance=attendance or [],
        **options,  # type: ignore[arg-type]
    )


def only_invoice(run: BillingRun) -> Invoice:
    assert len(run.invoices) == 1
    return run.invoices[0]


def test_a_month_of_meals_is_one_line_per_child_with_its_dates_and_the_sibling_reduction(
    commune: Commune,
) -> None:
    run = bill(commune, book(LEA, "repas", SCHOOL_DAYS) + book(TOM, "repas", SCHOOL_DAYS))
    invoice = only_invoice(run)
    lea, tom = invoice.lines
    assert (lea.child_id, lea.quantity, lea.unit_price, lea.total) == (
        "C1",
        Decimal(17),
        Decimal("2.60"),
        Money("44.20"),
    )
    # Tom is the second child by birth: 2,60 € − 10 % = 2,34 €.
    assert (tom.child_id, tom.unit_price, tom.total) == ("C2", Decimal("2.34"), Money("39.78"))
    assert lea.days == SCHOOL_DAYS
    assert "les 2, 3, 5, 6, 9, 10, 12, 13" in lea.explanation
    assert "2e enfant" in tom.explanation
    assert invoice.total == Money("83.98")
    assert invoice.number == "FAC-enfance-2026-000001"
    assert invoice.period == NOVEMBER
    assert invoice.due_on == dt.date(2026, 12, 31)
    assert invoice.direct_debit_on is None
    outcome = run.outcomes["F1"]
    assert outcome.code == "billing.invoice_issued"
    assert "83,98" in outcome.message_fr
    assert "jeudi 31 décembre 2026" in outcome.message_fr


def test_morning_care_is_billed_on_exact_minutes(commune: Commune) -> None:
    # 07:30–08:35 is 1 h 05 = 65 minutes; QF 800 × 0,12 % = 0,96 € the hour; 4 mornings = 260 minutes.
    days = SCHOOL_DAYS[:4]
    line = only_invoice(bill(commune, book(LEA, "matin", days) + book(LEA, "repas", SCHOOL_DAYS))).lines[0]
    assert line.prestation_id == "matin"
    assert line.minutes == 260
    assert line.total == Money("4.16")  # 0,96 × 260 / 60, never 0,96 × 4 × 1,05
    assert "4 accueils de 1 h 05, soit 4 h 20" in line.explanation


def test_absences_and_the_training_day_are_priced_by_the_price_list_and_shown_at_zero(
    commune: Commune,
) -> None:
    friday_27 = TRAINING_DAY
    bookings = book(LEA, "repas", SCHOOL_DAYS) + book(LEA, "soir", SCHOOL_DAYS)
    attendance = [
        fact(LEA, "repas", THURSDAY_12, AttendanceStatus.ABSENT_JUSTIFIED),
        fact(LEA, "repas", dt.date(2026, 11, 13), AttendanceStatus.ABSENT_UNJUSTIFIED),
        fact(LEA, "soir", friday_27, AttendanceStatus.SERVICE_CLOSED),
    ]
    lines = only_invoice(bill(commune, bookings, attendance, children=[LEA])).lines
    by_reason = {(line.prestation_id, line.reason): line for line in lines}
    justified = by_reason["repas", "attendance.absent_justified"]
    assert (justified.days, justified.total) == ((THURSDAY_12,), Money(0))
    assert "rien à payer" in justified.explanation
    unjustified = by_reason["repas", "attendance.absent_unjustified"]
    assert unjustified.total == Money("2.60")  # billed: the price list says "full"
    closed = by_reason["soir", "attendance.service_closed"]
    assert (closed.days, closed.total) == ((friday_27,), Money(0))
    present = by_reason["soir", "attendance.present"]
    assert friday_27 not in present.days
    assert present.quantity == 16 * 4  # 16 evenings of 4 started half hours


def test_a_booked_day_without_attendance_fact_counts_as_present(commune: Commune) -> None:
    line = only_invoice(bill(commune, book(LEA, "repas", SCHOOL_DAYS[:8]), children=[LEA])).lines[0]
    assert line.reason == "attendance.present"
    assert line.quantity == 8


def test_presence_without_booking_adds_a_surcharge_line_after_the_yearly_tolerance(commune: Commune) -> None:
    # The evening care charges 3,00 € per unbooked presence after 2 tolerated in the school year.
    unbooked = [dt.date(2026, 11, 16), dt.date(2026, 11, 19), dt.date(2026, 11, 23)]
    attendance = [fact(LEA, "soir", day, AttendanceStatus.PRESENT_UNBOOKED) for day in unbooked]
    run = bill(
        commune,
        book(LEA, "repas", SCHOOL_DAYS),
        attendance,
        children=[LEA],
        unbooked_earlier={("C1", "soir"): 1},
    )
    lines = {line.reason: line for line in only_invoice(run).lines if line.prestation_id == "soir"}
    assert lines["attendance.present_unbooked"].total == Money("9.60")  # 3 evenings × 4 half hours × 0,80 €
    tolerated = lines["surcharge.unbooked_presence.tolerated"]
    assert (tolerated.days, tolerated.total) == ((unbooked[0],), Money(0))
    charged = lines["surcharge.unbooked_presence"]
    assert (charged.days, charged.total) == (tuple(unbooked[1:]), Money("6.00"))
    assert "présence sans réservation" in charged.explanation


def test_a_late_booking_accepted_with_a_surcharge_has_its_own_line(commune: Commune) -> None:
    # The canteen accepts late bookings with +20 %: 2,60 € × 20 % = 0,52 € a meal.
    late = SCHOOL_DAYS[-2:]
    bookings = book(LEA, "repas", SCHOOL_DAYS[:-2]) + book(LEA, "repas", late, late=True)
    lines = only_invoice(bill(commune, bookings, children=[LEA])).lines
    assert [line.reason for line in lines] == ["attendance.present", "surcharge.late_booking"]
    assert lines[0].unit_price == Decimal("2.60")  # never folded into the meal's price
    assert (lines[1].days, lines[1].total) == (late, Money("1.04"))


def test_a_late_booking_whose_policy_is_gone_is_billed_its_usual_price_and_says_why(commune: Commune) -> None:
    # The canteen's rule now puts late bookings on a waiting list: the surcharge that accepted this meal is
    # no longer set anywhere, so the meal is billed its usual price and a 0 € line says why (no crash).
    rules = dict(commune.booking_rules)
    rules["repas"] = attrs.evolve(rules["repas"], after_booking_deadline=WaitingList())
    without = attrs.evolve(commune, booking_rules=rules)
    bookings = book(LEA, "repas", SCHOOL_DAYS[:-1]) + book(LEA, "repas", SCHOOL_DAYS[-1:], late=True)
    lines = only_invoice(bill(without, bookings, children=[LEA])).lines
    assert [(line.reason, line.total) for line in lines] == [
        ("attendance.present", Money("44.20")),
        ("surcharge.late_booking.not_billed", Money(0)),
    ]
    assert lines[1].explanation == (
        "Réservation après le délai : 1 jour, le 30 novembre 2026. Aucun supplément facturé : la règle qui a "
        "accepté cette réservation ne s'applique plus à cette prestation."
    )


def test_non_resident_pai_and_unknown_quotient_prices(commune: Commune) -> None:
    outside = family("F2", quotient=None, residence=Residence.NON_RESIDENT)
    zoe = Child("C3", "Zoé", "Durand", dt.date(2017, 1, 1), ["F2"], pai=True)
    sam = Child("C4", "Sam", "Durand", dt.date(2016, 1, 1), ["F2"])
    bookings = [
        Booking(c.id, "repas", day, "F2", BookingStatus.BOOKED, BOOKED_AT)
        for c in (zoe, sam)
        for day in SCHOOL_DAYS
    ]
    lines = only_invoice(bill(commune, bookings, families=[outside], children=[zoe, sam])).lines
    prices = {line.child_id: line.unit_price for line in lines}
    assert prices == {"C4": Decimal("5.20"), "C3": Decimal("1.20")}  # non-resident meal; PAI meal


def test_a_quotient_of_zero_is_the_lowest_band_not_an_unknown_one(commune: Commune) -> None:
    zero = bill(commune, book(LEA, "repas", SCHOOL_DAYS), families=[family(quotient="0")], children=[LEA])
    unknown = bill(commune, book(LEA, "repas", SCHOOL_DAYS), families=[family(quotient=None)], children=[LEA])
    assert only_invoice(zero).lines[0].unit_price == Decimal("1.10")
    assert only_invoice(unknown).lines[0].unit_price == Decimal("4.10")


def test_a_total_below_the_threshold_is_carried_then_issued_with_the_next_month(commune: Commune) -> None:
    few = book(LEA, "repas", SCHOOL_DAYS[:3])  # 3 × 2,60 € = 7,80 € < 15 €
    november = bill(commune, few, children=[LEA])
    assert november.invoices == ()
    assert november.numbering == Numbering()
    balance = november.carried["F1"]
    assert balance.amount == Money("7.80")
    outcome = november.outcomes["F1"]
    assert outcome.kind is OutcomeKind.CARRIED
    assert "seuil de mise en recouvrement" in outcome.message_fr

    december_days = tuple(
        day for day in DECEMBER if day.weekday() in (0, 1, 3, 4) and day <= dt.date(2026, 12, 17)
    )
    december = run_month_end(
        commune,
        "enfance",
        DECEMBER,
        dt.date(2027, 1, 4),
        families=[family()],
        children=[LEA],
        bookings=book(LEA, "repas", december_days),
        carried=[balance],
    )
    invoice = only_invoice(december)
    assert invoice.lines[0] == balance.lines[0]  # issued unchanged, with its November dates
    assert invoice.total == Money("7.80") + Money("2.60") * len(december_days)
    assert december.outcomes["F1"].carried_in == Money("7.80")
    assert "reportés" in december.outcomes["F1"].message_fr
    assert december.carried == {}


def test_running_the_same_month_again_issues_nothing_and_keeps_the_numbering(commune: Commune) -> None:
    bookings = book(LEA, "repas", SCHOOL_DAYS) + book(TOM, "soir", SCHOOL_DAYS)
    first = bill(commune, bookings)
    again = bill(commune, bookings, issued=first.invoices, numbering=first.numbering)
    assert again.invoices == ()
    assert again.credit_notes == ()
    assert again.numbering == first.numbering
    assert again.outcomes["F1"].kind is OutcomeKind.NOTHING
    assert again.outcomes["F1"].message_fr == "Rien de nouveau à facturer pour cette période."


def test_an_absence_justified_after_the_invoice_is_regularised_on_the_next_one(commune: Commune) -> None:
    bookings = book(LEA, "repas", SCHOOL_DAYS) + book(TOM, "repas", SCHOOL_DAYS)
    first = bill(commune, bookings, [fact(LEA, "repas", THURSDAY_12, AttendanceStatus.ABSENT_UNJUSTIFIED)])
    original = only_invoice(first)
    # The certificate arrives late: Thursday 12 November becomes a justified absence.
    justified = [fact(LEA, "repas", THURSDAY_12, AttendanceStatus.ABSENT_JUSTIFIED)]
    december_days = tuple(
        day for day in DECEMBER if day.weekday() in (0, 1, 3, 4) and day <= dt.date(2026, 12, 17)
    )
    december = run_month_end(
        commune,
        "enfance",
        DECEMBER,
        dt.date(2027, 1, 4),
        families=[family()],
        children=[LEA, TOM],
        bookings=bookings + book(LEA, "repas", december_days) + book(TOM, "repas", december_days),
        attendance=justified,
        issued=first.invoices,
        numbering=first.numbering,
    )
    assert original.total == Money("83.98")  # the issued invoice never changes
    regularisations = [line for line in december.documents[0].lines if line.reason == "regularisation"]
    assert len(regularisations) == 1
    line = regularisations[0]
    assert line.regularises == (original.number, THURSDAY_12)
    assert line.total == Money("-2.60")
    assert original.number in line.explanation
    assert "mardi 1er décembre 2026" in line.explanation  # the original invoice's date
    assert "jeudi 12 novembre 2026" in line.explanation


def test_a_correction_alone_that_gives_money_back_is_a_credit_note(commune: Commune) -> None:
    bookings = book(LEA, "repas", SCHOOL_DAYS)
    first = bill(commune, bookings, children=[LEA])
    justified = [fact(LEA, "repas", day, AttendanceStatus.ABSENT_JUSTIFIED) for day in SCHOOL_DAYS[:2]]
    again = bill(
        commune, bookings, justified, children=[LEA], issued=first.invoices, numbering=first.numbering
    )
    assert again.invoices == ()
    (note,) = again.credit_notes
    assert note.is_credit_note
    assert note.number == "AV-enfance-2026-000001"
    assert note.total == Money("-5.20")  # a credit is issued whatever the threshold
    assert [line.regularises for line in note.lines] == [
        (first.invoices[0].number, SCHOOL_DAYS[0]),
        (first.invoices[0].number, SCHOOL_DAYS[1]),
    ]
    assert again.outcomes["F1"].code == "billing.credit_note_issued"
    assert "5,20" in again.outcomes["F1"].message_fr
    # And once the credit note is issued, nothing more moves.
    third = bill(
        commune,
        bookings,
        justified,
        children=[LEA],
        issued=first.invoices + again.credit_notes,
        numbering=again.numbering,
    )
    assert third.documents == ()


def test_a_wrong_quotient_corrected_regularises_every_day_it_priced(commune: Commune) -> None:
    bookings = book(LEA, "repas", SCHOOL_DAYS[:10])
    first = bill(commune, bookings, families=[family(quotient="1200")], children=[LEA])  # 3,40 € a meal
    corrected = bill(
        commune,
        bookings,
        families=[family(quotient="600")],  # 1,10 € a meal
        children=[LEA],
        issued=first.invoices,
        numbering=first.numbering,
    )
    (note,) = corrected.credit_notes
    assert len(note.lines) == 10
    assert note.total == Money("-23.00")


def test_direct_debit_families_get_a_debit_date_and_numbers_follow_family_ids(commune: Commune) -> None:
    second = family("F2", direct_debit=True)
    ines = Child("C9", "Inès", "Petit", dt.date(2017, 2, 2), ["F2"])
    bookings = book(LEA, "repas", SCHOOL_DAYS) + [
        Booking("C9", "repas", day, "F2", BookingStatus.BOOKED, BOOKED_AT) for day in SCHOOL_DAYS
    ]
    run = bill(
        commune,
        bookings,
        families=[second, family()],
        children=[LEA, ines],
        numbering=Numbering({("enfance", 2026, Series.INVOICE): 41}),
    )
    assert [(doc.family_id, doc.number) for doc in run.invoices] == [
        ("F1", "FAC-enfance-2026-000042"),
        ("F2", "FAC-enfance-2026-000043"),
    ]
    assert run.invoices[1].direct_debit_on == dt.date(2026, 12, 10)
    assert run.invoices[0].direct_debit_on is None
    assert "prélevée le jeudi 10 décembre 2026" in run.outcomes["F2"].message_fr
    assert run.total_invoiced == Money("44.20") * 2


def test_payment_delay_and_direct_debit_day_are_parameters(commune: Commune) -> None:
    late_issue = BillingContext(commune, "enfance", NOVEMBER, dt.date(2026, 12, 15), 15, 5)
    assert late_issue.due_on == dt.date(2026, 12, 30)
    assert late_issue.direct_debit_on == dt.date(2027, 1, 5)  # the 5 December has passed


def test_prepaid_prestations_and_other_regies_are_not_invoiced(commune: Commune) -> None:
    holiday = [Booking("C1", "journee", dt.date(2026, 12, 21), "F1", BookingStatus.BOOKED, BOOKED_AT)]
    run = bill(commune, holiday, children=[LEA])
    assert run.documents == ()
    with pytest.raises(NotFound):
        run_month_end(commune, "piscine", NOVEMBER, ISSUED, families=[], children=[], bookings=[])


def test_cancelled_bookings_are_not_billed_and_a_day_booked_twice_is_billed_once(commune: Commune) -> None:
    cancelled = [
        attrs.evolve(booking, status=BookingStatus.CANCELLED)
        for booking in book(LEA, "repas", SCHOOL_DAYS[:3])
    ]
    twice = book(LEA, "repas", SCHOOL_DAYS[3:]) * 2
    line = only_invoice(bill(commune, cancelled + twice, children=[LEA])).lines[0]
    assert line.days == SCHOOL_DAYS[3:]


def test_sibling_rank_is_the_order_of_birth_eldest_first() -> None:
    twin_a = Child("B", "Jules", "M", dt.date(2019, 4, 4), ["F1"])
    twin_b = Child("A", "Jade", "M", dt.date(2019, 4, 4), ["F1"])
    assert sibling_ranks([TOM, twin_a, LEA, twin_b]) == {"C1": 1, "C2": 2, "A": 3, "B": 4}


def test_bad_input_is_refused(commune: Commune) -> None:
    with pytest.raises(InvalidInput) as before_end:
        BillingContext(commune, "enfance", NOVEMBER, dt.date(2026, 11, 20))
    assert before_end.value.code == "billing.issued_before_period_end"
    with pytest.raises(InvalidInput):
        BillingContext(commune, "enfance", NOVEMBER, ISSUED, direct_debit_day=31)
    with pytest.raises(NotFound):
        bill(commune, book(LEA, "repas", SCHOOL_DAYS), children=[TOM])
    with pytest.raises(InvalidInput):
        bill(commune, [], families=[family(), family()])


def test_credit_notes_of_cancelled_prepaid_days_are_not_regularised_by_month_end(commune: Commune) -> None:
    # A holiday-centre day paid at booking and cancelled in time gave a credit note (AV) of the régie; the
    # month-end run of that régie must leave it alone — it is not a month-end day to regularise.
    credit = Invoice(
        "AV-loisirs-2026-000001",
        "loisirs",
        "F1",
        DocumentKind.CREDIT_NOTE,
        DECEMBER,
        dt.date(2026, 12, 10),
        dt.date(2026, 12, 10),
        [
            InvoiceLine(
                "C1",
                "journee",
                "Journée",
                "prepaid.cancellation_credit",
                [dt.date(2026, 12, 21)],
                Decimal(1),
                Decimal("-9.60"),
                Money("-9.60"),
            )
        ],
    )
    run = run_month_end(
        commune,
        "loisirs",
        DECEMBER,
        dt.date(2027, 1, 4),
        families=[family()],
        children=[LEA],
        bookings=[],
        issued=[credit],
    )
    assert run.documents == ()


def _carried_line(reason: str, *days: dt.date) -> InvoiceLine:
    return InvoiceLine(
        "C1",
        "repas",
        "Repas — Léa",
        reason,
        days,
        Decimal(len(days)),
        Decimal("2.60"),
        Money("2.60") * len(days),
    )


def test_a_carried_line_read_again_brings_every_line_that_shares_one_of_its_days() -> None:
    # November carried below the threshold: presences on the 9th and 27th, the 12th's unjustified absence,
    # a late-booking surcharge on the 9th and 12th. The 12th is corrected: the surcharge line holds it, so
    # it is read again, and with its 9th the presences' line, whose 27th must be read too.
    ninth, twelfth, twenty_seventh = dt.date(2026, 11, 9), dt.date(2026, 11, 12), dt.date(2026, 11, 27)
    carried = CarriedBalance(
        "F1",
        "enfance",
        (
            _carried_line("attendance.present", ninth, twenty_seventh),
            _carried_line("attendance.absent_unjustified", twelfth),
            _carried_line("surcharge.late_booking", ninth, twelfth),
        ),
    )
    assert days_to_read([twelfth], carried) == (ninth, twelfth, twenty_seventh)
    assert days_to_read([dt.date(2026, 11, 30)], carried) == (dt.date(2026, 11, 30),)
    assert days_to_read([], carried) == ()
