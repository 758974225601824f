"""The command line's PES V2 file and attestations, as a régisseur runs them at the end of the month."""

from __future__ import annotations

import io
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from espacefamille.adapters.sqlite import SqliteStore
from espacefamille.cli import ExitCode, main
from espacefamille.services import transact
from tests.golden.test_pes_v2 import household
from tests.unit.test_pes_v2_services import NOW, seed_outputs


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main([*argv, "--now", NOW.strftime("%Y-%m-%dT%H:%M")], stdout=out)
    return code, out.getvalue()


@pytest.fixture
def db(tmp_path: Path) -> str:
    path = tmp_path / "saint-aubin.db"
    seed_outputs(SqliteStore(path))
    return str(path)


def test_pes_writes_novembers_file_and_says_what_it_carries(db: str, tmp_path: Path) -> None:
    target = tmp_path / "hélios" / "PES_enfance_202611.xml"
    code, said = run("pes", "--regie", "enfance", "--month", "11/2026", "--out", str(target), "--db", db)
    assert code == ExitCode.OK
    assert "bordereau 11, 2 titres pour 57,70" in said.replace("\u202f", " ").replace("\xa0", " ")
    root = ET.fromstring(target.read_bytes())
    assert root.find("PES_RecetteAller/Bordereau/BlocBordereau/NbrPce").get("V") == "2"  # type: ignore[union-attr]


def test_pes_as_json_names_the_invoices_and_those_left_out(db: str, tmp_path: Path) -> None:
    target = tmp_path / "pes.xml"
    code, said = run(
        "pes",
        "--regie",
        "enfance",
        "--month",
        "2026-11",
        "--bordereau",
        "118",
        "--out",
        str(target),
        "--db",
        db,
        "--json",
    )
    document = json.loads(said)
    assert code == ExitCode.OK
    assert document["bordereau"] == 118
    assert document["left_out"] == [
        {"number": "FAC-enfance-2026-000043", "code": "pes.zero_invoice_left_out"}
    ]


def test_a_payer_without_address_writes_nothing_and_says_which_family(
    db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    transact(SqliteStore(db), lambda uow: uow.families.save(household("F1", "Martin", "Claire")))
    target = tmp_path / "pes.xml"
    code, _ = run("pes", "--regie", "enfance", "--month", "2026-11", "--out", str(target), "--db", db)
    assert code == ExitCode.REFUSED
    assert "Martin (F1) n'a pas d'adresse postale" in capsys.readouterr().err
    assert not target.exists()


def test_tax_attestations_one_pdf_per_household_with_an_amount(db: str, tmp_path: Path) -> None:
    folder = tmp_path / "attestations"
    code, said = run("attestations", "--year", "2026", "--out", str(folder), "--db", db)
    assert code == ExitCode.OK
    assert sorted(p.name for p in folder.iterdir()) == ["attestation-fiscale-2026-F1.pdf"]
    assert "1 attestation écrite" in said


def test_presence_attestations_in_html_for_a_period_in_french_dates(db: str, tmp_path: Path) -> None:
    folder = tmp_path / "presences"
    code, _ = run(
        "attestations",
        "--presence",
        "--from",
        "01/11/2026",
        "--to",
        "30/11/2026",
        "--format",
        "html",
        "--out",
        str(folder),
        "--db",
        db,
    )
    assert code == ExitCode.OK
    (page,) = folder.iterdir()
    assert "3 jours" in page.read_text(encoding="utf-8")


def test_attestations_need_a_year_or_a_period(db: str, tmp_path: Path) -> None:
    code, _ = run("attestations", "--presence", "--out", str(tmp_path), "--db", db)
    assert code == ExitCode.USAGE
    code, _ = run("attestations", "--out", str(tmp_path), "--db", db)
    assert code == ExitCode.USAGE
