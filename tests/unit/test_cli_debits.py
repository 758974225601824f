"""The command line's SEPA direct debit: mandates, the debit file of a date, the bank's rejects."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from espacefamille.adapters.sqlite import SqliteStore
from espacefamille.cli import ExitCode, main
from tests.unit.test_direct_debit_services import CLAIRE_IBAN, seed

NOW = ("--now", "01/12/2026 09:30")


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(list(argv), stdout=out)
    return code, out.getvalue()


@pytest.fixture
def db(tmp_path: Path) -> str:
    path = tmp_path / "saint-aubin.db"
    seed(SqliteStore(path))
    return str(path)


def test_a_mandate_added_listed_and_revoked(db: str) -> None:
    code, said = run(
        "mandates", "add", "--family", "F1", "--regie", "enfance", "--iban", CLAIRE_IBAN,
        "--signed-on", "03/09/2026", "--db", db, *NOW,
    )  # fmt: skip
    assert code == ExitCode.OK
    assert said == (
        "Mandat enfance-F1-001 enregistré pour le foyer F1 (compte FR76 **** 0189) : ses factures seront "
        "prélevées.\n"
    )
    code, said = run("mandates", "list", "--regie", "enfance", "--db", db, *NOW)
    assert (code, said) == (
        ExitCode.OK,
        "enfance-F1-001  F1  FR76 **** 0189  Camille Martin  FRST\n1 mandat de la régie enfance.\n",
    )
    code, said = run("mandates", "revoke", "enfance-F1-001", "--db", db, *NOW)
    assert code == ExitCode.OK
    assert "révoqué" in said


def test_a_mandate_without_signature_date_or_with_a_bad_iban_is_one_french_line(db: str) -> None:
    code, said = run(
        "mandates", "add", "--family", "F1", "--regie", "enfance", "--iban", CLAIRE_IBAN, "--db", db
    )
    assert code == ExitCode.REFUSED
    assert said == ""
    code, said = run(
        "mandates", "add", "--family", "F1", "--regie", "enfance", "--iban", "FR76 1234",
        "--signed-on", "03/09/2026", "--db", db, "--json",
    )  # fmt: skip
    document = json.loads(said)
    assert (code, document["error"]["code"]) == (ExitCode.REFUSED, "sepa.invalid_iban")
    assert document["error"]["message"].startswith("Foyer Foyer Martin (F1) : IBAN invalide")


def test_the_debit_file_is_built_then_rejects_are_recorded(db: str, tmp_path: Path) -> None:
    assert run(
        "mandates", "add", "--family", "F1", "--regie", "enfance", "--iban", CLAIRE_IBAN,
        "--signed-on", "03/09/2026", "--db", db, *NOW,
    )[0] == ExitCode.OK  # fmt: skip
    assert run("bill", "--regie", "enfance", "--month", "11/2026", "--db", db, *NOW)[0] == ExitCode.OK
    pages = tmp_path / "pages"
    assert (
        run("invoices", "export", "--format", "html", "--out", str(pages), "--db", db, *NOW)[0] == ExitCode.OK
    )
    page = (pages / "FAC-enfance-2026-000001.html").read_text(encoding="utf-8")
    assert (
        "prélevés sur votre compte FR76 **** 0189 (mandat enfance-F1-001) le mardi 15 décembre 2026" in page
    )
    target = tmp_path / "out" / "prelevements.xml"
    code, said = run(
        "debits",
        "build",
        "--regie",
        "enfance",
        "--date",
        "15/12/2026",
        "--out",
        str(target),
        "--db",
        db,
        *NOW,
    )
    assert code == ExitCode.OK
    assert said.startswith(f"Écrit dans {target} : fichier enfance-20261215-01, 1 prélèvement pour ")
    assert target.read_bytes().startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    # Built again: nothing left to collect, and the file already written stays as it was.
    again = tmp_path / "again.xml"
    code, _ = run(
        "debits", "build", "--regie", "enfance", "--date", "15/12/2026", "--out", str(again), "--db", db, *NOW
    )
    assert code == ExitCode.REFUSED
    assert not again.exists()
    report = tmp_path / "rejets.csv"
    report.write_text("reference;motif\nFAC-enfance-2026-000001;AM04\n", encoding="cp1252")
    code, said = run(
        "debits", "rejects", str(report), "--regie", "enfance", "--db", db, "--now", "18/12/2026 10:00"
    )
    assert code == ExitCode.OK
    assert "provision insuffisante" in said
    assert said.endswith("1 prélèvement rejeté enregistré ; 0 rejet déjà connu.\n")
    # The régie presents the rejected invoice again on Monday 28 December, and only when it says so.
    later = ("--db", db, "--now", "18/12/2026 11:00")
    new = tmp_path / "represented.xml"
    build = ("debits", "build", "--regie", "enfance", "--date", "28/12/2026", "--out", str(new))
    assert run(*build, *later)[0] == ExitCode.REFUSED
    code, said = run(*build, "--represent", "FAC-enfance-2026-000001", *later)
    assert code == ExitCode.OK
    assert "fichier enfance-20261228-01, 1 prélèvement pour " in said
    assert b"<EndToEndId>FAC-enfance-2026-000001</EndToEndId>" in new.read_bytes()


def test_a_debit_date_in_the_past_or_malformed_is_refused(db: str, tmp_path: Path) -> None:
    target = tmp_path / "x.xml"
    code, _ = run(
        "debits",
        "build",
        "--regie",
        "enfance",
        "--date",
        "30/11/2026",
        "--out",
        str(target),
        "--db",
        db,
        *NOW,
    )
    assert code == ExitCode.REFUSED
    code, _ = run(
        "debits",
        "build",
        "--regie",
        "enfance",
        "--date",
        "31/02/2026",
        "--out",
        str(target),
        "--db",
        db,
        *NOW,
    )
    assert code == ExitCode.USAGE
    assert not target.exists()
