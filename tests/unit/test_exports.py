"""Exports: invoice tables for scripts, the HTML invoice a commune sends, a child's bookings for a phone."""

from __future__ import annotations

import csv
import datetime as dt
import html
import io
import json
from decimal import Decimal
from html.parser import HTMLParser
from zoneinfo import ZoneInfo

import attrs
import icalendar
import pytest

from espacefamille.billing.documents import Allocation, DocumentKind, Invoice, InvoiceLine
from espacefamille.billing.invoicing import run_month_end
from espacefamille.billing.payments import import_invoice
from espacefamille.calendar.periods import DateRange
from espacefamille.commune import Commune
from espacefamille.errors import InvalidInput
from espacefamille.interop.ical import bookings_ical, event_uid
from espacefamille.interop.invoice_html import APPEAL_ROUTES_FR, render_invoice_html
from espacefamille.interop.tables import (
    INVOICE_COLUMNS,
    LINE_COLUMNS,
    invoice_json,
    invoice_record,
    invoices_csv,
    line_record,
    lines_csv,
)
from espacefamille.model import Booking, BookingStatus, Child, Family, Guardian, QuotientFamilial
from espacefamille.money import Money
from espacefamille.rules.attendance import AttendanceFact, AttendanceStatus

PARIS = ZoneInfo("Europe/Paris")
BOOKED_AT = dt.datetime(2026, 10, 1, 9, 0, tzinfo=PARIS)
NOVEMBER = DateRange.month(2026, 11)
SCHOOL_DAYS = [day for day in NOVEMBER if day.weekday() in (0, 1, 3, 4)]
MARTIN = Family(
    "F1",
    "Martin",
    [Guardian("G1", "Claire", "Martin", email="claire.martin@example.org")],
    "G1",
    quotients=[QuotientFamilial(Decimal("800"), dt.date(2026, 9, 1))],
)
DURAND = Family("F2", "Durand", [Guardian("G2", "Inès", "Durand")], "G2", direct_debit=True)
LEA = Child("C1", "Léa", "Martin", dt.date(2016, 3, 1), ["F1"])
NOE = Child("C2", "Noé", "Durand", dt.date(2017, 6, 1), ["F2"])


def booked(child: Child, prestation: str, days: list[dt.date], status: BookingStatus) -> list[Booking]:
    return [Booking(child.id, prestation, day, child.family_ids[0], status, BOOKED_AT) for day in days]


@pytest.fixture(scope="module")
def november(commune: Commune) -> tuple[Invoice, Invoice]:
    """The Martins' (PayFiP) and the Durands' (direct debit) November 2026 canteen invoices."""
    bookings = booked(LEA, "repas", SCHOOL_DAYS, BookingStatus.BOOKED)
    bookings += booked(LEA, "matin", SCHOOL_DAYS[:4], BookingStatus.BOOKED)
    bookings += booked(NOE, "repas", SCHOOL_DAYS[:10], BookingStatus.BOOKED)
    facts = [AttendanceFact("C1", "repas", dt.date(2026, 11, 12), AttendanceStatus.ABSENT_JUSTIFIED)]
    run = run_month_end(
        commune,
        "enfance",
        NOVEMBER,
        dt.date(2026, 12, 1),
        families=[MARTIN, DURAND],
        children=[LEA, NOE],
        bookings=bookings,
        attendance=facts,
    )
    martin, durand = run.invoices
    return martin, durand


def credit_note() -> Invoice:
    line = InvoiceLine(
        "C1", "repas", "Repas — Léa", "regularisation", [dt.date(2026, 11, 5)], Decimal(-1), Decimal("2.60"),
        Money("-2.60"), regularises=("FAC-enfance-2026-000001", dt.date(2026, 11, 5)),
    )  # fmt: skip
    return Invoice(
        "AV-enfance-2027-000001", "enfance", "F1", DocumentKind.CREDIT_NOTE, DateRange.month(2026, 12),
        dt.date(2027, 1, 4), dt.date(2027, 1, 4), [line],
    )  # fmt: skip


# -- tables -----------------------------------------------------------------------------------


def test_an_invoice_record_has_exact_amounts_iso_dates_and_a_stable_key_order(
    november: tuple[Invoice, Invoice],
) -> None:
    martin, _ = november
    record = invoice_record(martin, [Allocation("PAY-enfance-2026-000001", martin.number, Money("20.00"))])
    assert tuple(record) == INVOICE_COLUMNS
    assert record == {
        "number": "FAC-enfance-2026-000001",
        "kind": "invoice",
        "regie_id": "enfance",
        "family_id": "F1",
        "period_start": "2026-11-01",
        "period_end": "2026-11-30",
        "issued_on": "2026-12-01",
        "due_on": "2026-12-31",
        "direct_debit_on": None,
        "total": "45.76",
        "remaining": "25.76",
        "line_count": 3,
    }


def test_a_direct_debit_invoice_carries_its_debit_date(november: tuple[Invoice, Invoice]) -> None:
    _, durand = november
    assert invoice_record(durand)["direct_debit_on"] == "2026-12-10"


def test_a_credit_note_shows_a_negative_total_and_the_credit_left() -> None:
    note = credit_note()
    record = invoice_record(note, [Allocation(note.number, "FAC-enfance-2027-000003", Money("1.00"))])
    assert (record["kind"], record["total"], record["remaining"]) == ("credit_note", "-2.60", "1.60")
    (line,) = [line_record(note, only) for only in note.lines]
    assert line["regularises_invoice"] == "FAC-enfance-2026-000001"
    assert line["regularises_day"] == "2026-11-05"
    assert line["quantity"] == "-1"


def test_invoice_json_survives_json_and_its_lines_add_up_to_the_total(
    november: tuple[Invoice, Invoice],
) -> None:
    martin, _ = november
    data = json.loads(json.dumps(invoice_json(martin)))
    assert [tuple(line) for line in data["lines"]] == [LINE_COLUMNS] * 3
    assert sum(Decimal(line["total"]) for line in data["lines"]) == Decimal(data["total"])
    morning = data["lines"][0]
    assert morning["label"] == "Accueil du matin — Léa"
    assert morning["days"] == ["2026-11-02", "2026-11-03", "2026-11-05", "2026-11-06"]
    assert (morning["minutes"], morning["unit_price"], morning["total"]) == (260, "0.9600", "4.16")
    assert morning["regularises_invoice"] is None


def test_invoices_csv_reads_back_with_the_header_and_semicolons(november: tuple[Invoice, Invoice]) -> None:
    martin, durand = november
    payment = Allocation("PAY-enfance-2026-000001", durand.number, durand.total)
    rows = list(csv.DictReader(io.StringIO(invoices_csv(november, [payment])), delimiter=";"))
    assert [row["number"] for row in rows] == [martin.number, durand.number]
    assert rows[0]["direct_debit_on"] == ""
    assert rows[1]["remaining"] == "0.00"
    assert invoices_csv([martin], delimiter=",").splitlines()[0] == ",".join(INVOICE_COLUMNS)


def test_lines_csv_gives_each_line_its_days_and_the_totals_add_up(november: tuple[Invoice, Invoice]) -> None:
    martin, durand = november
    rows = list(csv.DictReader(io.StringIO(lines_csv(november)), delimiter=";"))
    assert len(rows) == len(martin.lines) + len(durand.lines)
    mine = [row for row in rows if row["invoice_number"] == martin.number]
    assert sum(Decimal(row["total"]) for row in mine) == martin.total.amount
    absent = mine[2]
    assert (absent["reason"], absent["days"], absent["total"]) == (
        "attendance.absent_justified",
        "2026-11-12",
        "0.00",
    )
    assert mine[1]["days"].split(" ")[:3] == ["2026-11-02", "2026-11-03", "2026-11-05"]


def test_an_imported_invoice_line_has_no_child_nor_prestation() -> None:
    erp = import_invoice(
        "ERP-2026-118", "enfance", "F1", dt.date(2026, 12, 1), dt.date(2026, 12, 31), "31.20"
    )
    record = line_record(erp, erp.lines[0])
    assert (record["child_id"], record["prestation_id"], record["days"]) == (None, None, [])
    assert invoice_record(erp)["kind"] == "imported"


# -- the HTML invoice -------------------------------------------------------------------------


class _Page(HTMLParser):
    """Checks tags are balanced and collects the visible text."""

    VOID = frozenset({"meta", "br", "img", "link", "hr", "input"})

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.text: list[str] = []
        self.doctype = ""
        self.tags: list[str] = []

    def handle_decl(self, decl: str) -> None:
        self.doctype = decl

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.stack, f"</{tag}> closes nothing"
        assert self.stack[-1] == tag, f"</{tag}> closes <{self.stack[-1]}>"
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def page(document: str) -> str:
    """The page's text (no-break spaces made plain), after checking it is well formed."""
    parser = _Page()
    parser.feed(document)
    parser.close()
    assert parser.doctype == "DOCTYPE html"
    assert parser.stack == []
    assert {"html", "head", "title", "body", "table", "thead", "tbody", "tfoot"} <= set(parser.tags)
    text = " ".join(" ".join(parser.text).split())
    return text.replace("\u00a0", " ").replace("\u202f", " ")


def test_the_invoice_page_carries_every_fact_a_payer_needs(
    commune: Commune, november: tuple[Invoice, Invoice]
) -> None:
    martin, _ = november
    text = page(render_invoice_html(martin, commune, MARTIN))
    for fact in (
        "Ville de Saint-Aubin-des-Prés",
        "Régie enfance-jeunesse",
        "Facture n° FAC-enfance-2026-000001",
        "Claire Martin",
        "claire.martin@example.org",
        "du 1er au 30 novembre 2026",
        "Émise le mardi 1er décembre 2026",
        "À payer avant le jeudi 31 décembre 2026",
        "Accueil du matin — Léa 2, 3, 5 et 6 novembre 2026 — 4 h 20 × 0,96 € Présent : 4 accueils de 1 h 05",
        "4,16 €",
        "Repas — Léa",
        "Sans frais : Repas — Léa (12 novembre 2026).",
        "Total 45,76 €",
        "Reste à payer 45,76 €",
        "www.payfip.gouv.fr",
        "identifiant de la collectivité 012345",
        "Auprès de la régie (Régie enfance-jeunesse)",
        "article L1617-5 du code général des collectivités territoriales",
    ):
        assert fact in text, fact
    assert APPEAL_ROUTES_FR.split(",")[0] in text
    assert "Prélevée le" not in text


def test_a_direct_debit_invoice_says_when_it_is_debited_and_offers_no_online_payment(
    commune: Commune, november: tuple[Invoice, Invoice]
) -> None:
    _, durand = november
    text = page(render_invoice_html(durand, commune, DURAND))
    assert "Prélevée le jeudi 10 décembre 2026" in text
    assert "seront prélevés sur votre compte le jeudi 10 décembre 2026" in text
    assert "payfip" not in text


def test_a_partly_paid_invoice_shows_what_was_paid_and_what_is_left(
    commune: Commune, november: tuple[Invoice, Invoice]
) -> None:
    martin, _ = november
    paid = [Allocation("PAY-enfance-2026-000001", martin.number, Money("20.00"))]
    text = page(render_invoice_html(martin, commune, MARTIN, allocations=paid))
    assert "Déjà réglé 20,00 €" in text
    assert "Reste à payer 25,76 €" in text
    assert "montant 25,76 €" in text
    settled = [Allocation("PAY-enfance-2026-000001", martin.number, martin.total)]
    text = page(render_invoice_html(martin, commune, MARTIN, allocations=settled))
    assert "Cette facture est acquittée" in text
    assert "payfip" not in text


def test_a_regie_without_payfip_is_paid_at_the_regie(
    commune: Commune, november: tuple[Invoice, Invoice]
) -> None:
    martin, _ = november
    offline = attrs.evolve(commune, regies=[attrs.evolve(r, payfip_client=None) for r in commune.regies])
    text = page(render_invoice_html(martin, offline, MARTIN))
    assert "payfip" not in text
    assert "Auprès de la régie (Régie enfance-jeunesse)" in text


def test_a_credit_note_page_tells_the_family_the_credit_is_theirs(commune: Commune) -> None:
    note = credit_note()
    text = page(render_invoice_html(note, commune, MARTIN))
    assert "Avoir n° AV-enfance-2027-000001" in text
    assert "Crédit restant 2,60 €" in text
    assert "Régularisation de la facture FAC-enfance-2026-000001 pour le jeudi 5 novembre 2026." in text
    assert "du 1er au 31 décembre 2026" in text
    assert "Voies de recours" not in text
    used = [Allocation(note.number, "FAC-enfance-2027-000003", Money("2.60"))]
    text = page(render_invoice_html(note, commune, MARTIN, allocations=used))
    assert "Déjà utilisé 2,60 €" in text
    assert "entièrement utilisé" in text


def test_an_imported_invoice_over_two_months_reads_both_months(commune: Commune) -> None:
    erp = import_invoice(
        "ERP-2026-118", "enfance", "F1", dt.date(2026, 12, 1), dt.date(2026, 12, 31), "31.20",
        period=DateRange(dt.date(2026, 10, 15), dt.date(2026, 11, 14)),
    )  # fmt: skip
    text = page(render_invoice_html(erp, commune, MARTIN))
    assert "du 15 octobre 2026 au 14 novembre 2026" in text
    assert "Facture importée" in text
    one_day = attrs.evolve(erp, period=DateRange(dt.date(2026, 12, 1), dt.date(2026, 12, 1)))
    assert "le 1er décembre 2026" in page(render_invoice_html(one_day, commune, MARTIN))


def test_names_are_escaped_so_a_family_cannot_inject_markup(
    commune: Commune, november: tuple[Invoice, Invoice]
) -> None:
    martin, _ = november
    family = attrs.evolve(MARTIN, name="<script>alert(1)</script>")
    document = render_invoice_html(martin, commune, family)
    assert "<script>" not in document
    assert html.escape("<script>alert(1)</script>", quote=False) in document


def test_an_invoice_is_only_rendered_for_its_own_family(
    commune: Commune, november: tuple[Invoice, Invoice]
) -> None:
    martin, _ = november
    with pytest.raises(InvalidInput) as caught:
        render_invoice_html(martin, commune, DURAND)
    assert caught.value.code == "export.other_family"


def test_a_line_with_days_in_two_months_groups_them_by_month(commune: Commune) -> None:
    days = [dt.date(2026, 11, 30), dt.date(2026, 12, 1), dt.date(2026, 12, 3)]
    line = InvoiceLine(
        "C1", "repas", "Repas — Léa", "attendance.present", days, Decimal(3), Decimal("2.6"), Money("7.80")
    )
    invoice = Invoice(
        "FAC-enfance-2027-000009", "enfance", "F1", DocumentKind.INVOICE,
        DateRange(dt.date(2026, 11, 30), dt.date(2026, 12, 3)), dt.date(2027, 1, 4), dt.date(2027, 2, 3),
        [line],
    )  # fmt: skip
    assert "30 novembre 2026 ; 1er et 3 décembre 2026 — 3 × 2,60 € 7,80 €" in page(
        render_invoice_html(invoice, commune, MARTIN)
    )


def test_a_unit_price_finer_than_the_cent_is_shown_whole(commune: Commune) -> None:
    line = InvoiceLine(
        "C1", "matin", "Accueil du matin — Léa", "attendance.present", [dt.date(2026, 11, 2)], Decimal(1),
        Decimal("0.4567"), Money("0.46"), minutes=45,
    )  # fmt: skip
    invoice = Invoice(
        "FAC-enfance-2026-000010", "enfance", "F1", DocumentKind.INVOICE, NOVEMBER, dt.date(2026, 12, 1),
        dt.date(2026, 12, 31), [line],
    )  # fmt: skip
    assert "45 min × 0,4567 € 0,46 €" in page(render_invoice_html(invoice, commune, MARTIN))


# -- iCalendar --------------------------------------------------------------------------------


def events(data: bytes) -> list[icalendar.Event]:
    calendar = icalendar.Calendar.from_ical(data)
    return [component for component in calendar.walk("VEVENT") if isinstance(component, icalendar.Event)]


def test_leas_bookings_become_timed_events_in_paris_time(commune: Commune) -> None:
    bookings = booked(LEA, "repas", [dt.date(2026, 11, 12), dt.date(2027, 3, 29)], BookingStatus.BOOKED)
    bookings += booked(LEA, "matin", [dt.date(2026, 11, 12)], BookingStatus.BOOKED)
    data = bookings_ical(commune, LEA, bookings)
    calendar = icalendar.Calendar.from_ical(data)
    assert [tz.tz_name for tz in calendar.timezones] == ["Europe/Paris"]
    meal, morning, spring = (events(data)[i] for i in (1, 0, 2))
    assert str(meal["SUMMARY"]) == "Cantine — Repas (Léa)"
    assert str(morning["SUMMARY"]) == "Périscolaire — Accueil du matin (Léa)"
    start = meal.decoded("DTSTART")
    assert start == dt.datetime(2026, 11, 12, 11, 45, tzinfo=PARIS)
    assert start.astimezone(dt.UTC).hour == 10  # winter time: UTC+1
    assert spring.decoded("DTSTART").astimezone(dt.UTC).hour == 9  # after 28 March 2027: UTC+2
    assert meal.decoded("DTEND") == dt.datetime(2026, 11, 12, 13, 30, tzinfo=PARIS)
    assert str(meal["STATUS"]) == "CONFIRMED"
    assert str(meal["UID"]) == "C1-repas-20261112@saint-aubin.espacefamille"
    assert "De 11 h 45 à 13 h 30." in str(meal["DESCRIPTION"])
    assert meal.decoded("DTSTAMP") == BOOKED_AT.astimezone(dt.UTC)


def test_exporting_twice_gives_the_same_file_so_phones_update_instead_of_doubling(commune: Commune) -> None:
    bookings = booked(LEA, "repas", SCHOOL_DAYS, BookingStatus.BOOKED)
    first = bookings_ical(commune, LEA, bookings)
    assert first == bookings_ical(commune, LEA, list(reversed(bookings)))
    uids = [str(event["UID"]) for event in events(first)]
    assert len(set(uids)) == len(SCHOOL_DAYS) == 17
    assert uids[0] == event_uid(commune, bookings[0])


def test_cancelled_days_are_left_out_unless_asked_and_waiting_list_days_never_show(commune: Commune) -> None:
    bookings = [
        *booked(LEA, "repas", [dt.date(2026, 11, 12)], BookingStatus.BOOKED),
        *booked(LEA, "repas", [dt.date(2026, 11, 13)], BookingStatus.CANCELLED),
        *booked(LEA, "mercredi_journee", [dt.date(2026, 11, 18)], BookingStatus.WAITING),
        *booked(LEA, "journee", [dt.date(2026, 12, 21)], BookingStatus.HELD),
    ]
    shown = events(bookings_ical(commune, LEA, bookings))
    assert [(e.decoded("DTSTART").date(), str(e["STATUS"])) for e in shown] == [
        (dt.date(2026, 11, 12), "CONFIRMED"),
        (dt.date(2026, 12, 21), "TENTATIVE"),
    ]
    assert "Place retenue en attente du paiement en ligne." in str(shown[1]["DESCRIPTION"])
    assert str(shown[1]["SUMMARY"]) == "Centre de loisirs — Journée centre de loisirs (Léa)"
    with_cancelled = events(bookings_ical(commune, LEA, bookings, include_cancelled=True))
    cancelled = with_cancelled[1]
    assert (cancelled.decoded("DTSTART").date(), str(cancelled["STATUS"])) == (
        dt.date(2026, 11, 13),
        "CANCELLED",
    )
    assert str(cancelled["UID"]) == "C1-repas-20261113@saint-aubin.espacefamille"


def test_a_prestation_without_hours_is_an_all_day_event(commune: Commune) -> None:
    canteen = commune.service("cantine")
    meal = attrs.evolve(canteen.prestations[0], start=None, end=None)
    no_hours = attrs.evolve(
        commune, services=[attrs.evolve(canteen, prestations=[meal]), *commune.services[1:]]
    )
    (event,) = events(
        bookings_ical(no_hours, LEA, booked(LEA, "repas", [dt.date(2026, 11, 12)], BookingStatus.BOOKED))
    )
    assert event.decoded("DTSTART") == dt.date(2026, 11, 12)
    assert event.decoded("DTEND") == dt.date(2026, 11, 13)
    assert "De " not in str(event["DESCRIPTION"])


def test_no_booking_gives_an_empty_calendar_with_its_name(commune: Commune) -> None:
    calendar = icalendar.Calendar.from_ical(bookings_ical(commune, LEA, []))
    assert str(calendar["X-WR-CALNAME"]) == "Réservations de Léa"
    assert events(bookings_ical(commune, LEA, [])) == []


def test_another_childs_booking_is_refused(commune: Commune) -> None:
    with pytest.raises(InvalidInput) as caught:
        bookings_ical(commune, LEA, booked(NOE, "repas", [dt.date(2026, 11, 12)], BookingStatus.BOOKED))
    assert caught.value.code == "export.other_child"
