"""The bank's report of returned direct debits: a CSV table from online banking, or a pain.002 report."""

from __future__ import annotations

import pytest

from espacefamille.billing.rejects import (
    REJECT_REASONS,
    RejectNotice,
    ends_mandate,
    read_rejects,
    reject_label_fr,
)
from espacefamille.errors import InvalidInput
from tests.unit.test_direct_debit_services import PAIN_002


def test_a_csv_with_a_header_gives_each_reference_and_reason() -> None:
    report = b"reference;motif\nFAC-enfance-2026-000041;AM04\n\nFAC-enfance-2026-000042 ; ms02 \n"
    assert read_rejects(report) == (
        RejectNotice("FAC-enfance-2026-000041", "AM04"),
        RejectNotice("FAC-enfance-2026-000042", "MS02"),
    )


def test_excel_french_csv_in_windows_1252_with_commas_or_a_bom_is_read() -> None:
    assert read_rejects("Référence,Motif\r\nFAC-1,AC04\r\n".encode("cp1252")) == (
        RejectNotice("FAC-1", "AC04"),
    )
    assert read_rejects("\ufeffFAC-1;MD01\n".encode()) == (RejectNotice("FAC-1", "MD01"),)


def test_a_pain_002_status_report_gives_its_rejected_transactions_only() -> None:
    report = PAIN_002.format(number="FAC-enfance-2026-000041").encode()
    assert read_rejects(report) == (RejectNotice("FAC-enfance-2026-000041", "AC04", "enfance-20261215-01"),)


def test_a_bad_original_message_id_is_refused() -> None:
    report = PAIN_002.format(number="FAC-enfance-2026-000041").replace("enfance-20261215-01", "é" * 3)
    with pytest.raises(InvalidInput) as refused:
        read_rejects(report.encode())
    assert refused.value.code == "sepa.unreadable_rejects"


@pytest.mark.parametrize(
    "report",
    [
        b"",
        b"reference;motif\n",
        b"FAC-1\n",
        b"FAC-1;AM4\n",
        "FAC-é;AM04\n".encode(),
        b"<Document><oops",
        b"<Document xmlns='urn:x'><Other/></Document>",
    ],
)
def test_an_unreadable_report_is_refused_in_french(report: bytes) -> None:
    with pytest.raises(InvalidInput) as refused:
        read_rejects(report)
    assert refused.value.code == "sepa.unreadable_rejects"
    assert refused.value.message_fr.startswith("Le relevé des prélèvements rejetés est illisible : ")


def test_common_reasons_have_a_french_label_and_some_end_the_mandate() -> None:
    assert reject_label_fr("AM04") == "provision insuffisante"
    assert reject_label_fr("AC04") == "compte clos"
    assert reject_label_fr("MD01") == "pas de mandat"
    assert reject_label_fr("MS02") == "refus du débiteur"
    assert reject_label_fr("ZZ99") == "motif ZZ99"
    assert [code for code in REJECT_REASONS if ends_mandate(code)] == ["AC01", "AC04", "MD01", "MD07"]
    assert not ends_mandate("ZZ99")
    assert RejectNotice("FAC-1", "AM04").label_fr == "provision insuffisante"
