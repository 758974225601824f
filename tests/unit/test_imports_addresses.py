"""The families file carries the payer's postal address, which the invoices and the Treasury's file print."""

from __future__ import annotations

import io
from pathlib import Path

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from espacefamille.adapters.sqlite import SqliteStore
from espacefamille.cli import ExitCode, main
from espacefamille.examples import example_path
from espacefamille.interop.imports import (
    CsvKind,
    ImportRejected,
    csv_header,
    csv_template,
    families_csv,
    families_from_csv,
)
from espacefamille.interop.tables import EXCEL_FR, STANDARD
from espacefamille.model import Family, PostalAddress
from espacefamille.services import transact
from espacefamille.testing import strategies as s

HEADER = "famille;nom;responsable1_id;responsable1_prenom;responsable1_nom"


def test_the_payers_address_from_a_french_excel_file_with_its_own_headers() -> None:
    # French Excel's "CSV (séparateur : point-virgule)": Windows-1252, headers as the agent typed them.
    text = (
        "Famille;Nom;Responsable1_id;Responsable1_prénom;Responsable1_nom;"
        "Adresse;ADRESSE2;Code postal;Ville;Pays\r\n"
        "F1;Famille Martin;G1;Claire;Martin;12 rue des Lilas;Résidence du Parc, bât. B;35240;"
        "Saint-Aubin-des-Prés;\r\n"
        "F2;Famille Janssens;G2;Lieven;Janssens;Rue de la Loi 16;;1000;Bruxelles;Belgique\r\n"
        "F3;Famille Durand;G3;Karim;Durand;;;;;\r\n"
    )
    martin, janssens, durand = families_from_csv(text.encode("cp1252"))
    # the complement above the street, as the postal standard and the PES file have it
    assert martin.address == PostalAddress(
        ["Résidence du Parc, bât. B", "12 rue des Lilas"], "35240", "Saint-Aubin-des-Prés"
    )
    assert martin.address.envelope() == (
        "Résidence du Parc, bât. B",
        "12 rue des Lilas",
        "35240 Saint-Aubin-des-Prés",
    )
    assert janssens.address == PostalAddress(["Rue de la Loi 16"], "1000", "Bruxelles", "Belgique")
    assert durand.address is None  # no address columns filled: unknown, as before


@pytest.mark.parametrize(
    ("cells", "column", "code"),
    [
        ("12 rue des Lilas;;3524;Saint-Aubin", "code_postal", "model.bad_postcode"),
        ("12 rue des Lilas;;35 240;Saint-Aubin", "code_postal", "model.bad_postcode"),
        (";;35240;Saint-Aubin", "adresse", "import.incomplete_address"),
        ("12 rue des Lilas;;;Saint-Aubin", "code_postal", "import.incomplete_address"),
        ("12 rue des Lilas;;35240;", "ville", "import.incomplete_address"),
        ("12 rue des Lilas et de la Grande Fontaine Sud;;35240;Rennes", "adresse",
         "model.address_line_too_long"),
        ("12 rue des Lilas;Résidence des Grands Chênes, bâtiment B, esc. 4;35240;Rennes", "adresse2",
         "model.address_line_too_long"),
        ("1 rue Haute;;35240;Saint-Aubin-des-Prés-sur-la-Vilaine-Est", "ville",
         "model.address_line_too_long"),
    ],
)  # fmt: skip
def test_a_bad_address_is_the_lines_error_naming_its_column(cells: str, column: str, code: str) -> None:
    text = (
        f"{HEADER};adresse;adresse2;code_postal;ville\nF1;Martin;G1;Claire;Martin;1 rue Basse;;35240;Rennes\n"
    )
    text += f"F2;Durand;G2;Karim;Durand;{cells}\n"
    with pytest.raises(ImportRejected) as rejected:
        families_from_csv(text, source="familles.csv")
    errors = rejected.value.errors
    assert {(e.line, e.column, e.code) for e in errors} >= {(3, column, code)}
    assert {e.line for e in errors} == {3}
    assert rejected.value.message_fr.startswith("familles.csv : 1 ligne en erreur, rien n'est importé.")
    assert f"ligne 3, colonne {column} : " in rejected.value.message_fr


def test_a_family_on_two_lines_keeps_one_address() -> None:
    text = (
        f"{HEADER};adresse;code_postal;ville;qf;qf_debut;qf_fin\n"
        "F1;Martin;G1;Claire;Martin;12 rue des Lilas;35240;Saint-Aubin;812;2026-09-01;2026-12-31\n"
        "F1;Martin;G1;Claire;Martin;14 rue des Lilas;35240;Saint-Aubin;900;2027-01-01;\n"
    )
    with pytest.raises(ImportRejected) as rejected:
        families_from_csv(text)
    assert [(e.line, e.code) for e in rejected.value.errors] == [(3, "import.family_details_differ")]


def test_the_template_and_the_header_have_the_address_columns() -> None:
    columns = csv_header(CsvKind.FAMILIES).split(";")
    at = columns.index("adresse")
    assert columns[at : at + 5] == ["adresse", "adresse2", "code_postal", "ville", "pays"]
    assert not any(c.required for c in CsvKind.FAMILIES.columns if c.name in columns[at : at + 5])
    assert "code_postal" in csv_template(CsvKind.FAMILIES)


def _two_lines(family: Family) -> Family:
    """The file has a street and a complement: an address of more lines keeps its last two."""
    if family.address is None or len(family.address.lines) <= 2:
        return family
    return attrs.evolve(family, address=attrs.evolve(family.address, lines=family.address.lines[-2:]))


@settings(max_examples=60, deadline=None)
@given(
    households=st.lists(s.families(), max_size=4, unique_by=lambda f: f.id).map(
        lambda found: [_two_lines(f) for f in found]
    ),
    excel=st.booleans(),
)
def test_the_families_written_as_a_file_import_back_the_same(households: list[Family], excel: bool) -> None:
    dialect = EXCEL_FR if excel else STANDARD

    def again(found: list[Family] | tuple[Family, ...]) -> tuple[Family, ...]:
        text = families_csv(found, dialect)
        return families_from_csv(text.encode("utf-8") if excel else text)

    back = again(households)
    # The same households, quotients and addresses (the import strips the spaces around a cell's text).
    assert [(f.id, f.quotients, f.address is None) for f in back] == [
        (f.id, f.quotients, f.address is None) for f in households
    ]
    assert again(back) == back


def test_the_command_line_imports_the_addresses_and_the_pes_file_prints_them(tmp_path: Path) -> None:
    db = str(tmp_path / "saint-aubin.db")
    out = io.StringIO()
    assert main(["init", str(example_path()), "--db", db], stdout=out) == ExitCode.OK
    file = tmp_path / "familles.csv"
    file.write_text(
        f"{HEADER};adresse;code_postal;ville\n"
        "F1;Famille Martin;G1;Claire;Martin;12 rue des Lilas;35240;Rennes\n",
        encoding="utf-8",
    )
    assert main(["import", "families", str(file), "--db", db], stdout=out) == ExitCode.OK
    (martin,) = transact(SqliteStore(db), lambda uow: list(uow.families.all()))
    assert martin.address == PostalAddress(["12 rue des Lilas"], "35240", "Rennes")
    template = tmp_path / "modele.csv"
    assert main(["import", "--template", "families", "--out", str(template)], stdout=out) == ExitCode.OK
    assert ";adresse;adresse2;code_postal;ville;pays;" in template.read_text(encoding="utf-8-sig")


def test_the_command_line_writes_the_households_back_as_a_file_that_imports_again(tmp_path: Path) -> None:
    first, second = str(tmp_path / "premiere.db"), str(tmp_path / "seconde.db")
    out = io.StringIO()
    for db in (first, second):
        assert main(["init", str(example_path()), "--db", db], stdout=out) == ExitCode.OK
    file = tmp_path / "familles.csv"
    file.write_text(
        f"{HEADER};adresse;adresse2;code_postal;ville;qf;qf_debut\n"
        "F1;Famille Martin;G1;Claire;Martin;12 rue des Lilas;Résidence du Parc;35240;Rennes;"
        "812,5;01/09/2026\n"
        "F2;Famille Durand;G2;Karim;Durand;;;;;;\n",
        encoding="cp1252",
    )
    assert main(["import", "families", str(file), "--db", first], stdout=out) == ExitCode.OK
    written = tmp_path / "export" / "familles.csv"
    said = io.StringIO()
    assert main(["families", "--out", str(written), "--excel", "--db", first], stdout=said) == ExitCode.OK
    assert said.getvalue().startswith(f"2 foyers écrits dans {written}")
    data = written.read_bytes()
    assert data.startswith(b"\xef\xbb\xbffamille;nom;")
    assert b";812,5;2026-09-01;" in data  # a decimal comma for a French Excel
    assert main(["import", "families", str(written), "--db", second], stdout=out) == ExitCode.OK

    def households(db: str) -> list[Family]:
        return transact(SqliteStore(db), lambda uow: sorted(uow.families.all(), key=lambda f: f.id))

    assert households(second) == households(first)
    assert households(second)[0].address == PostalAddress(
        ["Résidence du Parc", "12 rue des Lilas"], "35240", "Rennes"
    )


def test_a_country_too_long_for_an_envelope_line_is_the_pays_columns_error() -> None:
    text = f"{HEADER};adresse;code_postal;ville;pays\n"
    text += "F1;Martin;G1;Claire;Martin;Rue de la Loi 16;1000;Bruxelles;"
    text += "Royaume de Belgique et de ses provinces unies\n"
    with pytest.raises(ImportRejected) as rejected:
        families_from_csv(text)
    assert [(e.line, e.column, e.code) for e in rejected.value.errors] == [
        (2, "pays", "model.address_line_too_long")
    ]
