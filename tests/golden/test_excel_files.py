"""Files as French Excel writes and reads them: the bytes a spreadsheet saves, and the ones it opens."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest

from espacefamille.billing.documents import DocumentKind, Invoice, InvoiceLine
from espacefamille.calendar.periods import DateRange
from espacefamille.interop.imports import (
    CsvKind,
    ImportRejected,
    attendance_from_csv,
    children_from_csv,
    csv_template,
    enrolments_from_csv,
    families_from_csv,
)
from espacefamille.interop.tables import EXCEL_FR, STANDARD, CsvDialect, invoices_csv, lines_csv
from espacefamille.model import SchoolClass
from espacefamille.money import Money
from espacefamille.rules.attendance import AttendanceStatus

# "Enregistrer sous > CSV (séparateur : point-virgule)" in a French Excel: Windows-1252, CRLF, no BOM, the
# headers as the agent typed them (accents, capitals), dates as the cells show them, decimal commas.
EXCEL_CP1252_CHILDREN = (
    b"Enfant;Pr\xe9nom;NOM;Naissance;Famille;\xc9cole;Classe;PAI;R\xe9gimes\r\n"
    b"C1;L\xe9a;Martin;01/03/2016;F1;\xc9cole des Pr\xe9s;CM1;oui;sans_porc\r\n"
    b"C2;No\xe9;B\x9cuf;12/06/2018;F1;\xc9cole des Pr\xe9s;coll\xe8ge;non;\r\n"
    b";;;;;;;;\r\n"
)

EXCEL_CP1252_FAMILIES = (
    b"Famille;Nom;Responsable1_Id;Responsable1_Pr\xe9nom;Responsable1_Nom;R\xe9sidence;Pr\xe9l\xe8vement;"
    b"QF;QF_D\xe9but\r\n"
    b"F1;Famille Fran\xe7ois;G1;H\xe9l\xe8ne;Fran\xe7ois;Non r\xe9sident;Oui;812,5;01/09/2026\r\n"
)


def test_a_children_file_saved_by_french_excel_in_windows_1252_is_read_with_its_accents() -> None:
    lea, noe = children_from_csv(EXCEL_CP1252_CHILDREN, source="enfants.csv")
    assert (lea.first_name, lea.school, lea.pai) == ("Léa", "École des Prés", True)
    assert (noe.first_name, noe.last_name, noe.birth_date) == ("Noé", "Bœuf", dt.date(2018, 6, 12))
    assert noe.school_class is SchoolClass.COLLEGE


def test_a_families_file_in_windows_1252_keeps_its_exact_quotient_and_accented_headers() -> None:
    (family,) = families_from_csv(EXCEL_CP1252_FAMILIES)
    assert family.name == "Famille François"
    assert family.payer.first_name == "Hélène"
    assert family.direct_debit
    assert family.quotient_on(dt.date(2026, 11, 1)) == Decimal("812.5")


@pytest.mark.parametrize("name", ["Prénom", "prenom", "PRENOM", "PRÉNOM", " Prénom "])
def test_a_header_is_read_with_or_without_accents_in_any_case(name: str) -> None:
    text = f"enfant;{name};nom;naissance;famille\nC1;Léa;Martin;2016-03-01;F1\n"
    for data in (text, text.encode("utf-8"), b"\xef\xbb\xbf" + text.encode("utf-8"), text.encode("cp1252")):
        (child,) = children_from_csv(data)
        assert child.first_name == "Léa"


def test_a_comma_separated_utf8_file_with_a_bom_and_accented_headers() -> None:
    data = "\ufeffEnfant,Prestation,Date,Statut\r\nC1,repas,12/11/2026,Absence justifiée\r\n".encode()
    (fact,) = attendance_from_csv(data)
    assert (fact.day, fact.status) == (dt.date(2026, 11, 12), AttendanceStatus.ABSENT_JUSTIFIED)


def test_an_unknown_accented_header_is_still_named_as_written() -> None:
    text = "enfant;prénon;nom;naissance;famille\nC1;Léa;Martin;2016-03-01;F1\n"
    with pytest.raises(ImportRejected) as caught:
        children_from_csv(text.encode("cp1252"))
    assert [(e.column, e.code) for e in caught.value.errors] == [
        ("prénon", "import.unknown_column"),
        ("prenom", "import.missing_column"),
    ]


def test_a_file_in_neither_utf8_nor_windows_1252_is_refused_at_its_first_bad_byte() -> None:
    # 0x81 has no character in Windows-1252, and is no UTF-8 either.
    data = b"enfant;prenom;nom;naissance;famille\nC1;L\x81a;Martin;2016-03-01;F1\n"
    with pytest.raises(ImportRejected) as caught:
        children_from_csv(data)
    (error,) = caught.value.errors
    assert (error.line, error.code) == (2, "import.bad_encoding")
    assert "CSV UTF-8" in error.message_fr


def test_a_utf16_file_excel_calls_unicode_text_is_refused_not_read_as_garbage() -> None:
    data = "enfant;prenom;nom;naissance;famille\nC1;Léa;Martin;2016-03-01;F1\n".encode("utf-16")
    with pytest.raises(ImportRejected) as caught:
        children_from_csv(data)
    assert [(e.line, e.code) for e in caught.value.errors] == [(1, "import.bad_encoding")]


def test_a_file_mixing_utf8_and_windows_1252_is_refused_rather_than_half_garbled() -> None:
    data = "enfant;prenom;nom;naissance;famille\nC1;Léa;Martin;2016-03-01;F1\n".encode() + (
        "C2;Noé;Martin;2018-03-01;F1\n".encode("cp1252")
    )
    with pytest.raises(ImportRejected) as caught:
        children_from_csv(data)
    assert [(e.line, e.code) for e in caught.value.errors] == [(3, "import.bad_encoding")]


# -- templates ---------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", list(CsvKind))
def test_each_import_has_an_empty_template_excel_opens_and_the_import_reads_back(kind: CsvKind) -> None:
    template = csv_template(kind)
    assert template.startswith("\ufeff")
    assert template.endswith("\r\n")
    assert template.count("\r\n") == 1
    header = template.removeprefix("\ufeff").rstrip("\r\n").split(";")
    assert header == [column.name for column in kind.columns]
    reader = {
        CsvKind.FAMILIES: families_from_csv,
        CsvKind.CHILDREN: children_from_csv,
        CsvKind.ENROLMENTS: enrolments_from_csv,
        CsvKind.ATTENDANCE: attendance_from_csv,
    }[kind]
    assert reader(template.encode("utf-8")) == ()


def test_a_plain_template_has_no_bom_and_the_separator_asked() -> None:
    assert csv_template(CsvKind.ATTENDANCE, CsvDialect(",")) == "enfant,prestation,date,statut,agent,note\n"


# -- exports for Excel -------------------------------------------------------------------------


def invoice() -> Invoice:
    line = InvoiceLine(
        "C1", "repas", "Repas — Léa", "attendance.present", [dt.date(2026, 11, 2), dt.date(2026, 11, 3)],
        Decimal(2), Decimal("2.6125"), Money("5.23"),
    )  # fmt: skip
    return Invoice(
        "FAC-enfance-2026-000001", "enfance", "F1", DocumentKind.INVOICE, DateRange.month(2026, 11),
        dt.date(2026, 12, 1), dt.date(2026, 12, 31), [line],
    )  # fmt: skip


def test_invoices_for_french_excel_have_a_bom_semicolons_crlf_and_decimal_commas() -> None:
    data = invoices_csv([invoice()], dialect=EXCEL_FR).encode("utf-8")
    assert data == (
        b"\xef\xbb\xbfnumber;kind;regie_id;family_id;period_start;period_end;issued_on;due_on;direct_debit_on;"
        b"total;remaining;line_count\r\n"
        b"FAC-enfance-2026-000001;invoice;enfance;F1;2026-11-01;2026-11-30;2026-12-01;2026-12-31;;5,23;5,23;1"
        b"\r\n"
    )


def test_invoice_lines_for_french_excel_keep_accents_and_write_every_number_with_a_comma() -> None:
    text = lines_csv([invoice()], dialect=EXCEL_FR)
    (row,) = csv.DictReader(io.StringIO(text.removeprefix("\ufeff")), delimiter=";")
    assert (row["label"], row["quantity"], row["unit_price"], row["total"]) == (
        "Repas — Léa",
        "2",
        "2,6125",
        "5,23",
    )
    assert row["days"] == "2026-11-02 2026-11-03"


def test_the_standard_dialect_is_todays_output() -> None:
    assert invoices_csv([invoice()], dialect=STANDARD) == invoices_csv([invoice()])
    assert "5.23" in lines_csv([invoice()])
