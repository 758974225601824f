"""CSV imports: what an agent's spreadsheet becomes, and every bad line named with nothing imported."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from decimal import Decimal

import pytest

from espacefamille.billing.tariffs import QfChangeRule
from espacefamille.commune import Commune
from espacefamille.errors import InvalidInput
from espacefamille.interop.imports import (
    CsvKind,
    ImportRejected,
    attendance_from_csv,
    children_from_csv,
    csv_header,
    enrolments_from_csv,
    families_from_csv,
)
from espacefamille.model import Diet, Residence, SchoolClass
from espacefamille.rules.attendance import AttendanceStatus

FAMILIES_HEADER = (
    "famille;nom;responsable1_id;responsable1_prenom;responsable1_nom;responsable1_email;"
    "responsable2_id;responsable2_prenom;responsable2_nom;payeur;residence;prelevement;qf;qf_debut;qf_fin"
)


def rejected(call: object) -> ImportRejected:
    """The ImportRejected a call raises (the callable is run inside pytest.raises)."""
    assert callable(call)
    with pytest.raises(ImportRejected) as caught:
        call()
    return caught.value


# -- families ---------------------------------------------------------------------------------


def test_a_family_file_saved_by_excel_keeps_its_quotients_exact_and_dated() -> None:
    text = "\n".join(
        [
            FAMILIES_HEADER,
            "F1;Martin;G1;Claire;Martin;claire@example.org;G2;Paul;Martin;G2;resident;oui;812,5;01/09/2026;"
            "31/12/2026",
            "F1;Martin;G1;Claire;Martin;claire@example.org;G2;Paul;Martin;G2;resident;oui;905;2027-01-01;",
            "F2;Durand;G3;Inès;Durand;;;;;;non résident;non;;;",
        ]
    )
    martin, durand = families_from_csv(("\ufeff" + text).encode("utf-8"))
    assert martin.payer.first_name == "Paul"
    assert martin.direct_debit
    assert martin.quotient_on(dt.date(2026, 12, 31)) == Decimal("812.5")
    assert isinstance(martin.quotient_on(dt.date(2026, 12, 31)), Decimal)
    assert martin.quotient_on(dt.date(2027, 1, 4)) == Decimal("905")
    assert durand.residence is Residence.NON_RESIDENT
    assert durand.quotient_on(dt.date(2026, 11, 12)) is None  # unknown, not 0
    assert durand.payer_id == "G3"  # no payer given: the first guardian pays
    assert not durand.direct_debit


def test_a_comma_separated_file_with_a_quoted_french_quotient_is_read_the_same() -> None:
    text = (
        "famille,nom,responsable1_id,responsable1_prenom,responsable1_nom,qf,qf_debut\n"
        'F1,Martin,G1,Claire,Martin,"812,5",2026-09-01\n'
    )
    (family,) = families_from_csv(text)
    assert family.quotient_on(dt.date(2026, 9, 1)) == Decimal("812.5")


def test_a_quotient_of_zero_is_a_real_quotient() -> None:
    text = FAMILIES_HEADER + "\nF1;Martin;G1;Claire;Martin;;;;;;;;0;2026-09-01;\n"
    (family,) = families_from_csv(text)
    assert family.quotient_on(dt.date(2026, 11, 12)) == Decimal(0)


def test_a_quotient_s_reception_date_is_read_and_the_change_is_not_backdated() -> None:
    # The new QF is valid from 1 November, but the commune received it on Tuesday 17 November 2026.
    text = (
        "famille;nom;responsable1_id;responsable1_prenom;responsable1_nom;qf;qf_debut;qf_fin;qf_recu_le\n"
        "F1;Martin;G1;Claire;Martin;812,5;2026-09-01;2026-10-31;\n"
        "F1;Martin;G1;Claire;Martin;540;2026-11-01;;17/11/2026\n"
    )
    (family,) = families_from_csv(text)
    assert [q.received_on for q in family.quotients] == [None, dt.date(2026, 11, 17)]
    assert family.quotient_on(dt.date(2026, 11, 16), QfChangeRule.IMMEDIATELY) == Decimal("812.5")
    assert family.quotient_on(dt.date(2026, 11, 17), QfChangeRule.IMMEDIATELY) == Decimal(540)
    assert family.quotient_on(dt.date(2026, 11, 30), QfChangeRule.NEXT_MONTH) == Decimal("812.5")


def test_a_reception_date_without_a_quotient_is_refused() -> None:
    text = FAMILIES_HEADER + ";qf_recu_le\nF1;Martin;G1;Claire;Martin;;;;;;;;;;;17/11/2026\n"
    error = rejected(lambda: families_from_csv(text))
    assert [(e.line, e.column, e.code) for e in error.errors] == [(2, "qf", "import.empty")]


def test_a_malformed_line_is_reported_by_its_number_and_nothing_is_imported() -> None:
    # Line 3 has an unquoted "812,5" in a comma-separated file: one field too many.
    text = (
        "famille,nom,responsable1_id,responsable1_prenom,responsable1_nom,qf,qf_debut\n"
        "F1,Martin,G1,Claire,Martin,900,2026-09-01\n"
        "F2,Durand,G2,Inès,Durand,812,5,2026-09-01\n"
        "F3,Petit,G3,Jules,Petit,,\n"
    )
    error = rejected(lambda: families_from_csv(text, source="familles.csv"))
    assert [(e.line, e.code) for e in error.errors] == [(3, "import.field_count")]
    assert error.code == "import.rejected"
    assert error.details == {"lines": [3]}
    assert "ligne 3" in error.message_fr
    assert error.message_fr.startswith("familles.csv : 1 ligne en erreur, rien n'est importé.")
    assert isinstance(error, InvalidInput)


def test_every_bad_line_is_listed_at_once_with_its_column_and_both_languages() -> None:
    text = "\n".join(
        [
            FAMILIES_HEADER,
            "F1;Martin;G1;Claire;Martin;;;;;;resident;peut-être;800;2026-09-01;",
            "F2;Durand;G2;Inès;Durand;;;;;;ailleurs;non;8x2;31/02/2027;",
            "F3;Petit;;Jules;Petit;;;;;;;;800;;",
        ]
    )
    error = rejected(lambda: families_from_csv(text))
    found = [(e.line, e.column, e.code) for e in error.errors]
    assert found == [
        (2, "prelevement", "import.bad_boolean"),
        (3, "residence", "import.unknown_value"),
        (3, "qf", "money.not_a_number"),
        (3, "qf_debut", "import.bad_date"),
        (4, "responsable1_id", "import.empty"),
        (4, "qf_debut", "import.empty"),
    ]
    bad_date = error.errors[3]
    assert bad_date.message_fr == "« 31/02/2027 » n'est pas une date (attendu : AAAA-MM-JJ ou JJ/MM/AAAA)."
    assert "31/02/2027" in bad_date.message
    assert str(bad_date).startswith("line 3, column qf_debut: ")
    assert bad_date.text_fr.startswith("ligne 3, colonne qf_debut : ")


def test_a_family_on_two_lines_must_keep_its_details() -> None:
    text = "\n".join(
        [
            FAMILIES_HEADER,
            "F1;Martin;G1;Claire;Martin;;;;;;;;800;2026-09-01;2026-12-31",
            "F1;Martin-Roy;G1;Claire;Martin;;;;;;;;900;2027-01-01;",
        ]
    )
    (error,) = rejected(lambda: families_from_csv(text)).errors
    assert (error.line, error.code) == (3, "import.family_details_differ")
    assert "ligne 2" in error.message_fr


def test_overlapping_quotients_and_a_payer_outside_the_household_are_refused_by_the_model() -> None:
    text = "\n".join(
        [
            FAMILIES_HEADER,
            "F1;Martin;G1;Claire;Martin;;;;;;;;800;2026-09-01;",
            "F1;Martin;G1;Claire;Martin;;;;;;;;900;2027-01-01;",
            "F2;Durand;G2;Inès;Durand;;;;;G9;;;;;",
        ]
    )
    errors = rejected(lambda: families_from_csv(text)).errors
    assert [(e.line, e.column, e.code) for e in errors] == [
        (3, None, "model.overlapping_quotients"),
        (4, None, "model.payer_not_guardian"),
    ]
    assert errors[1].message_fr == "Le payeur doit être l'un des responsables du foyer."


def test_quotient_dates_without_a_quotient_are_refused() -> None:
    text = FAMILIES_HEADER + "\nF1;Martin;G1;Claire;Martin;;;;;;;;;2026-09-01;\n"
    (error,) = rejected(lambda: families_from_csv(text)).errors
    assert (error.line, error.column) == (2, "qf")


def test_a_second_guardian_half_given_is_refused() -> None:
    text = FAMILIES_HEADER + "\nF1;Martin;G1;Claire;Martin;;G2;;Martin;;;;;;\n"
    (error,) = rejected(lambda: families_from_csv(text)).errors
    assert (error.line, error.column, error.code) == (2, "responsable2_prenom", "import.empty")


def test_a_bad_identifier_names_its_column() -> None:
    text = FAMILIES_HEADER + "\nF 1;Martin;G1;Claire;Martin;;;;;;;;;;\n"
    (error,) = rejected(lambda: families_from_csv(text)).errors
    assert (error.column, error.code) == ("famille", "import.bad_identifier")


# -- the header and the file ------------------------------------------------------------------


def test_a_missing_required_column_is_reported_on_the_header_line() -> None:
    text = "enfant;prenom;nom;famille\nC1;Léa;Martin;F1\n"
    (error,) = rejected(lambda: children_from_csv(text)).errors
    assert (error.line, error.column, error.code) == (1, "naissance", "import.missing_column")
    assert error.message_fr == "Colonne obligatoire « naissance » absente de l'en-tête."


def test_an_unknown_or_repeated_column_is_refused_so_a_typo_loses_nothing() -> None:
    text = "enfant;prenon;nom;naissance;famille;nom\nC1;Léa;Martin;2016-03-01;F1;Martin\n"
    errors = rejected(lambda: children_from_csv(text)).errors
    assert [(e.line, e.column, e.code) for e in errors] == [
        (1, "prenon", "import.unknown_column"),
        (1, "nom", "import.duplicate_column"),
        (1, "prenom", "import.missing_column"),
    ]


def test_an_empty_file_asks_for_the_header() -> None:
    (error,) = rejected(lambda: enrolments_from_csv(b"")).errors
    assert (error.line, error.code) == (1, "import.no_header")
    assert csv_header(CsvKind.ENROLMENTS) in error.message_fr


def test_a_file_in_windows_1252_is_read_and_a_byte_neither_encoding_knows_names_its_line() -> None:
    text = "enfant;prenom;nom;naissance;famille\nC1;Léa;Martin;2016-03-01;F1\n"
    (child,) = children_from_csv(text.encode("cp1252"))
    assert child.first_name == "Léa"
    (error,) = rejected(
        lambda: children_from_csv(text.encode("cp1252") + b"C2;\x9d;X;2016-03-01;F1\n")
    ).errors
    assert (error.line, error.code) == (3, "import.bad_encoding")
    assert "CSV UTF-8" in error.message_fr


def test_an_unclosed_quote_is_a_malformed_line() -> None:
    text = 'enfant;prenom;nom;naissance;famille\nC1;Léa;Martin;2016-03-01;F1\nC2;"Tom;Martin;2018-05-01;F1\n'
    (error,) = rejected(lambda: children_from_csv(text)).errors
    assert (error.line, error.code) == (3, "import.malformed")


def test_a_header_with_a_stray_quote_is_malformed() -> None:
    (error,) = rejected(lambda: children_from_csv('enfant;"prenom\n')).errors
    assert error.code == "import.malformed"


def test_blank_lines_are_skipped_and_headers_are_read_case_insensitively() -> None:
    text = "Enfant;Prenom;NOM;Naissance;Famille\n\n;;;;\nC1;Léa;Martin;2016-03-01;F1\n"
    (child,) = children_from_csv(text)
    assert child.first_name == "Léa"


def test_csv_header_lists_every_column_in_documented_order() -> None:
    assert csv_header(CsvKind.ATTENDANCE) == "enfant;prestation;date;statut;agent;note"
    assert csv_header(CsvKind.FAMILIES, ",").startswith("famille,nom,responsable1_id,responsable1_prenom,")
    assert [c.name for c in CsvKind.CHILDREN.columns if c.required] == [
        "enfant",
        "prenom",
        "nom",
        "naissance",
        "famille",
    ]


# -- children ---------------------------------------------------------------------------------


def test_a_child_of_separated_parents_belongs_to_both_households() -> None:
    text = (
        "enfant;prenom;nom;naissance;famille;famille2;ecole;classe;pai;accompagnement;regimes\n"
        "C1;Léa;Martin;01/03/2016;F1;F2;École des Prés;cm1;oui;non;sans_porc|sans gluten\n"
        "C2;Tom;Martin;2021-05-01;F1;;;collège;;;\n"
    )
    lea, tom = children_from_csv(text)
    assert lea.family_ids == ("F1", "F2")
    assert lea.school_class is SchoolClass.CM1
    assert lea.pai
    assert not lea.needs_support
    assert lea.diets == {Diet.NO_PORK, Diet.NO_GLUTEN}
    assert lea.birth_date == dt.date(2016, 3, 1)
    assert tom.school_class is SchoolClass.COLLEGE
    assert tom.school is None


def test_an_unknown_class_and_a_child_given_twice_are_refused() -> None:
    text = (
        "enfant;prenom;nom;naissance;famille;classe;famille2\n"
        "C1;Léa;Martin;2016-03-01;F1;CM3;\n"
        "C2;Tom;Martin;2018-05-01;F1;CP;F1\n"
        "C3;Zoé;Petit;2017-02-01;F3;CE1;\n"
        "C3;Zoé;Petit;2017-02-01;F3;CE1;\n"
    )
    errors = rejected(lambda: children_from_csv(text)).errors
    assert [(e.line, e.column, e.code) for e in errors] == [
        (2, "classe", "import.unknown_value"),
        (3, None, "model.child_households"),
        (5, "enfant", "import.duplicate"),
    ]
    assert errors[0].message_fr.startswith("Valeur inconnue « CM3 » (valeurs possibles : TPS, PS, MS, GS, CP")
    assert "ligne 4" in errors[2].message_fr


# -- enrolments -------------------------------------------------------------------------------


def test_enrolments_for_the_school_year_with_the_communes_services(commune: Commune) -> None:
    text = (
        "inscription;enfant;famille;service;debut;fin;validee\n"
        "I1;C1;F1;cantine;2026-09-01;2027-07-03;\n"
        "I2;C1;F2;periscolaire;01/09/2026;03/07/2027;non\n"
    )
    canteen, care = enrolments_from_csv(text, commune=commune)
    assert canteen.validated
    assert not care.validated
    assert dt.date(2026, 11, 12) in care.period
    assert canteen.period.end == dt.date(2027, 7, 3)


def test_an_enrolment_ending_before_it_starts_or_in_an_unknown_service_is_refused(commune: Commune) -> None:
    text = (
        "inscription;enfant;famille;service;debut;fin\n"
        "I1;C1;F1;piscine;2026-09-01;2027-07-03\n"
        "I2;C1;F1;cantine;2027-07-03;2026-09-01\n"
        "I2;C1;F1;cantine;2026-09-01;2027-07-03\n"
    )
    errors = rejected(lambda: enrolments_from_csv(text, commune=commune)).errors
    assert [(e.line, e.column, e.code) for e in errors] == [
        (2, "service", "import.unknown_reference"),
        (3, None, "input.end_before_start"),
    ]
    assert errors[0].message_fr.startswith("Service inconnu : « piscine »")
    # Without the commune the service is not checked; the refused I2 does not make the next one a duplicate.
    only_dates = rejected(lambda: enrolments_from_csv(text)).errors
    assert [e.line for e in only_dates] == [3]


# -- attendance -------------------------------------------------------------------------------


def test_the_armistice_week_attendance_sheet_with_french_labels(commune: Commune) -> None:
    text = (
        "enfant;prestation;date;statut;agent;note\n"
        "C1;repas;2026-11-12;Absence justifiée;;\n"
        "C1;repas;13/11/2026;present;Mme Roux;\n"
        "C2;soir;2026-11-27;service_closed;;journée de formation des animateurs\n"
    )
    absent, present, closed = attendance_from_csv(text, commune=commune, recorded_by="import")
    assert (absent.day, absent.status, absent.recorded_by) == (
        dt.date(2026, 11, 12),
        AttendanceStatus.ABSENT_JUSTIFIED,
        "import",
    )
    assert present.recorded_by == "Mme Roux"
    assert closed.note == "journée de formation des animateurs"
    assert closed.status is AttendanceStatus.SERVICE_CLOSED


def test_an_attendance_sheet_with_an_unknown_status_a_duplicate_or_an_unknown_prestation(
    commune: Commune,
) -> None:
    text = (
        "enfant;prestation;date;statut\n"
        "C1;repas;2026-11-12;malade\n"
        "C1;repas;2026-11-13;present\n"
        "C1;repas;13/11/2026;absent_unjustified\n"
        "C1;gouter;2026-11-13;present\n"
        "C1;repas;2026-11-16;\n"
    )
    errors = rejected(lambda: attendance_from_csv(text, commune=commune)).errors
    assert [(e.line, e.column, e.code) for e in errors] == [
        (2, "statut", "import.unknown_value"),
        (4, None, "import.duplicate"),
        (5, "prestation", "import.unknown_reference"),
        (6, "statut", "import.empty"),
    ]
    assert errors[1].message_fr == "Le pointage C1 / repas du 13/11/2026 figure déjà ligne 3."


# -- the core stays light ---------------------------------------------------------------------


def test_importing_the_core_and_the_imports_loads_neither_jinja2_nor_icalendar() -> None:
    code = (
        "import sys, espacefamille, espacefamille.interop.imports, espacefamille.interop.tables\n"
        "print(sorted(m for m in ('jinja2', 'icalendar') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
