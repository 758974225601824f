"""Attestations as a family reads them: the HTML page and the PDF, its text read back with pypdf."""

from __future__ import annotations

import datetime as dt
import io

import attrs
import pypdf
import pytest

from espacefamille.billing.attestations import presence_attestation, tax_attestation
from espacefamille.billing.documents import Allocation, Payment, PaymentMethod
from espacefamille.calendar.periods import DateRange
from espacefamille.errors import InvalidInput
from espacefamille.interop.attestation_pdf import attestation_pdf
from espacefamille.interop.attestations import render_presence_attestation_html, render_tax_attestation_html
from espacefamille.model import PostalAddress
from espacefamille.rules.attendance import AttendanceFact, AttendanceStatus
from tests.unit.test_attestations import FAMILY, INVOICE, LOU, NINA, PARIS, meal_commune

ISSUED = dt.date(2027, 1, 15)
HOME = PostalAddress(("12 rue des Lilas",), "35000", "Saint-Aubin-des-Prés")
FAMILY_AT_HOME = attrs.evolve(FAMILY, address=HOME)


def pdf_text(data: bytes) -> tuple[int, str]:
    reader = pypdf.PdfReader(io.BytesIO(data))
    return len(reader.pages), " ".join(" ".join((page.extract_text() or "").split()) for page in reader.pages)


def tax_page() -> str:
    commune = meal_commune()
    payment = Payment(
        "PAY-1", "enfance", "F1", INVOICE.total, dt.datetime(2026, 12, 10, tzinfo=PARIS), PaymentMethod.CHEQUE
    )
    attestation = tax_attestation(
        commune,
        FAMILY,
        [LOU, NINA],
        [INVOICE],
        [payment],
        [Allocation("PAY-1", INVOICE.number, INVOICE.total)],
        2026,
    )
    return render_tax_attestation_html(
        attestation, commune, FAMILY_AT_HOME, issued_on=ISSUED, regie=commune.regie("enfance")
    )


def test_the_tax_attestation_page_says_the_year_the_child_the_amount_and_what_is_left_out() -> None:
    page = tax_page()
    assert "Attestation de frais de garde 2026" in page
    assert "Lou Martin" in page
    assert "9,20" in page
    assert "article 200 quater B du code général des impôts" in page
    assert "Les repas, les majorations et les pénalités ne sont pas compris" in page
    assert "12 rue des Lilas" in page
    assert "35000 Saint-Aubin-des-Prés" in page
    assert "Fait le vendredi 15 janvier 2027." in page


def test_the_tax_attestation_pdf_is_one_a4_page_whose_text_reads_back() -> None:
    pages, text = pdf_text(attestation_pdf(tax_page()))
    assert pages == 1
    assert "Attestation de frais de garde 2026" in text
    assert "Lou Martin" in text
    assert "9,20" in text
    assert "Claire Martin" in text


def test_the_presence_attestation_pdf_counts_the_days() -> None:
    commune = meal_commune()
    facts = [AttendanceFact("C1", "repas", dt.date(2026, 11, d), AttendanceStatus.PRESENT) for d in (2, 3, 5)]
    attestation = presence_attestation(commune, FAMILY, [LOU], facts, DateRange.month(2026, 11))
    page = render_presence_attestation_html(attestation, commune, FAMILY_AT_HOME, issued_on=ISSUED)
    assert "Attestation de présence" in page
    pages, text = pdf_text(attestation_pdf(page))
    assert pages == 1
    assert "Lou Martin" in text
    assert "3 jours" in text
    assert "du dimanche 1er novembre 2026 au lundi 30 novembre 2026" in text


def test_an_attestation_of_another_household_is_refused() -> None:
    commune = meal_commune()
    attestation = presence_attestation(commune, FAMILY, [LOU], [], DateRange.month(2026, 11))
    other = attrs.evolve(FAMILY, id="F9")
    with pytest.raises(InvalidInput) as error:
        render_presence_attestation_html(attestation, commune, other, issued_on=ISSUED)
    assert error.value.code == "attestation.other_family"
    page = render_presence_attestation_html(attestation, commune, FAMILY, issued_on=ISSUED)
    assert "Aucune présence du dimanche 1er novembre 2026" in page
