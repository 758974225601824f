"""PDF invoices and credit notes: what a régie prints or mails, read back as a family reads it."""

from __future__ import annotations

import datetime as dt
import io
import subprocess
import sys
from decimal import Decimal

import pypdf
import pytest
import weasyprint

from espacefamille.billing.documents import DocumentKind, Invoice, InvoiceLine
from espacefamille.billing.invoicing import run_month_end
from espacefamille.calendar.periods import DateRange
from espacefamille.commune import Commune
from espacefamille.errors import InvalidInput
from espacefamille.interop.invoice_html import render_invoice_html
from espacefamille.interop.invoice_pdf import render_invoice_pdf
from espacefamille.model import Booking, BookingStatus, Child, Family, Guardian, QuotientFamilial
from espacefamille.money import Money
from espacefamille.rules.attendance import AttendanceFact, AttendanceStatus

BOOKED_AT = dt.datetime(2026, 10, 1, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=2)))
NOVEMBER = DateRange.month(2026, 11)
SCHOOL_DAYS = [day for day in NOVEMBER if day.weekday() in (0, 1, 3, 4)]
MARTIN = Family(
    "F1",
    "Martin",
    [Guardian("G1", "Claire", "Martin", email="claire.martin@example.org")],
    "G1",
    quotients=[QuotientFamilial(Decimal("800"), dt.date(2026, 9, 1))],
)
LEA = Child("C1", "Léa", "Martin", dt.date(2016, 3, 1), ["F1"])
TOM = Child("C2", "Tom", "Martin", dt.date(2018, 9, 4), ["F1"])


def pdf_text(data: bytes) -> tuple[int, str]:
    """The number of pages and the text of every page, spaces as a reader sees them."""
    reader = pypdf.PdfReader(io.BytesIO(data))
    text = " ".join(page.extract_text() for page in reader.pages)
    return len(reader.pages), " ".join(text.replace("\u202f", " ").replace("\u00a0", " ").split())


def month_invoice(commune: Commune, children: list[Child], prestations: list[str]) -> Invoice:
    bookings = [
        Booking(child.id, prestation, day, "F1", BookingStatus.BOOKED, BOOKED_AT)
        for child in children
        for prestation in prestations
        for day in SCHOOL_DAYS
    ]
    facts = [AttendanceFact("C1", "repas", dt.date(2026, 11, 12), AttendanceStatus.ABSENT_JUSTIFIED)]
    run = run_month_end(
        commune,
        "enfance",
        NOVEMBER,
        dt.date(2026, 12, 1),
        families=[MARTIN],
        children=children,
        bookings=bookings,
        attendance=facts,
    )
    (invoice,) = run.invoices
    return invoice


@pytest.fixture(scope="module")
def typical(commune: Commune) -> Invoice:
    """Léa's November: every meal but a justified absence, every morning care slot."""
    return month_invoice(commune, [LEA], ["repas", "matin"])


def test_a_typical_invoice_is_one_a4_page_with_every_amount_and_mention(
    commune: Commune, typical: Invoice
) -> None:
    data = render_invoice_pdf(typical, commune, MARTIN)
    assert data.startswith(b"%PDF-")
    pages, text = pdf_text(data)
    assert pages == 1
    box = pypdf.PdfReader(io.BytesIO(data)).pages[0].mediabox
    assert (round(float(box.width) / 72 * 25.4), round(float(box.height) / 72 * 25.4)) == (210, 297)
    for fact in (
        "Ville de Saint-Aubin-des-Prés",
        "Régie enfance-jeunesse",
        f"Facture n° {typical.number}",
        "Émise le mardi 1er décembre 2026",
        "À payer avant le jeudi 31 décembre 2026",
        f"Total {typical.total.format('fr').replace(chr(0x202F), ' ').replace(chr(0xA0), ' ')}",
        "Reste à payer",
        "www.payfip.gouv.fr",
        "L1617-5",
        "Sans frais : Repas — Léa (12 novembre 2026).",
        "page 1 / 1",
    ):
        assert fact in text, fact
    for line in typical.lines:
        if line.total:
            assert line.total.format("fr").replace("\u202f", " ").replace("\u00a0", " ") in text


def test_a_busy_month_of_two_children_and_three_services_still_fits_one_page(commune: Commune) -> None:
    invoice = month_invoice(commune, [LEA, TOM], ["repas", "matin", "soir"])
    assert len([line for line in invoice.lines if line.total]) >= 6
    pages, text = pdf_text(render_invoice_pdf(invoice, commune, MARTIN))
    assert pages == 1
    assert "Tom" in text
    assert "Léa" in text


def test_zero_euro_lines_are_left_out_unless_asked(commune: Commune, typical: Invoice) -> None:
    _, text = pdf_text(render_invoice_pdf(typical, commune, MARTIN))
    assert "0,00 €" not in text
    _, text = pdf_text(render_invoice_pdf(typical, commune, MARTIN, zero_lines=True))
    assert "1 × 0,00 €" in text
    assert "Sans frais" not in text


def credit_note() -> Invoice:
    line = InvoiceLine(
        "C1", "repas", "Repas — Léa", "regularisation", [dt.date(2026, 11, 5)], Decimal(-1), Decimal("2.60"),
        Money("-2.60"), regularises=("FAC-enfance-2026-000001", dt.date(2026, 11, 5)),
    )  # fmt: skip
    return Invoice(
        "AV-enfance-2027-000001", "enfance", "F1", DocumentKind.CREDIT_NOTE, DateRange.month(2026, 12),
        dt.date(2027, 1, 4), dt.date(2027, 1, 4), [line],
    )  # fmt: skip


def test_a_credit_note_is_un_avoir_in_proper_french(commune: Commune) -> None:
    pages, text = pdf_text(render_invoice_pdf(credit_note(), commune, MARTIN))
    assert pages == 1
    assert "Avoir n° AV-enfance-2027-000001" in text
    assert "Émis le lundi 4 janvier 2027" in text
    assert "Émise" not in text
    assert "(e)" not in text
    assert "Crédit restant 2,60 €" in text
    assert "Voies de recours" not in text


def test_a_pdf_is_only_made_for_the_invoices_own_family(commune: Commune, typical: Invoice) -> None:
    other = Family("F9", "Roux", [Guardian("G9", "Marion", "Roux")], "G9")
    with pytest.raises(InvalidInput) as caught:
        render_invoice_pdf(typical, commune, other)
    assert caught.value.code == "export.other_family"


def test_on_a_390_px_phone_the_lines_become_blocks_and_nothing_passes_the_right_edge(
    commune: Commune, typical: Invoice
) -> None:
    page = render_invoice_html(typical, commune, MARTIN)
    phone = weasyprint.CSS(string="@page { size: 390px 4000px !important; margin: 0 !important }")
    document = weasyprint.HTML(string=page, media_type="screen").render(stylesheets=[phone])
    boxes = []

    def walk(box: object) -> None:
        boxes.append(box)
        for child in getattr(box, "children", ()):
            walk(child)

    for rendered in document.pages:
        walk(rendered._page_box)  # WeasyPrint's laid-out boxes: the only way to measure them
    rows = [box for box in boxes if getattr(box, "element_tag", None) == "tr"]
    assert rows
    assert all(len(row.children) == 2 for row in rows)  # type: ignore[attr-defined]
    right = max(box.position_x + box.margin_width() for box in boxes)  # type: ignore[attr-defined]
    assert right <= 390.5


def test_the_core_and_the_html_invoice_do_not_load_weasyprint() -> None:
    script = (
        "import sys, espacefamille, espacefamille.interop.invoice_html, espacefamille.cli; "
        "print('weasyprint' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
