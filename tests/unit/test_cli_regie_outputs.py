"""The command line's régie outputs: Excel files both ways, French dates, errors as one French line."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from espacefamille.cli import ExitCode
from espacefamille.examples import example_path
from tests.unit.test_cli import run, run_json

FAMILIES = (
    "famille;nom;responsable1_id;responsable1_prenom;responsable1_nom;qf;qf_debut\n"
    "F1;Famille Martin;G1;Claire;Martin;812;2026-09-01\n"
)
CHILDREN = "enfant;prenom;nom;naissance;famille;classe\nE1;Léa;Martin;2018-03-02;F1;CE1\n"
ENROLMENTS = (
    "inscription;enfant;famille;service;debut;fin\n"
    "I1;E1;F1;cantine;2026-09-01;2027-07-03\n"
    "I2;E1;F1;periscolaire;2026-09-01;2027-07-03\n"
)


@pytest.fixture
def db(tmp_path: Path) -> str:
    path = str(tmp_path / "saint-aubin.db")
    assert run("init", str(example_path()), "--db", path)[0] == ExitCode.OK
    for kind, content in (("families", FAMILIES), ("children", CHILDREN), ("enrolments", ENROLMENTS)):
        file = tmp_path / f"{kind}.csv"
        file.write_text(content, encoding="utf-8")
        assert run("import", kind, str(file), "--db", path)[0] == ExitCode.OK
    return path


# -- Excel both ways ---------------------------------------------------------------------------


def test_import_template_writes_an_empty_excel_file_for_each_kind(tmp_path: Path) -> None:
    for kind, first in (
        ("families", "famille;nom;"),
        ("children", "enfant;prenom;"),
        ("enrolments", "inscription;"),
        ("attendance", "enfant;prestation;date;statut"),
    ):
        target = tmp_path / f"{kind}.csv"
        code, text = run("import", "--template", kind, "--out", str(target))
        assert code == ExitCode.OK
        assert str(target) in text
        data = target.read_bytes()
        assert data.startswith(b"\xef\xbb\xbf" + first.encode())
        assert data.endswith(b"\r\n")
        assert data.count(b"\r\n") == 1


def test_import_template_without_a_file_prints_the_header(tmp_path: Path) -> None:
    code, text = run("import", "--template", "attendance")
    assert (code, text) == (ExitCode.OK, "enfant;prestation;date;statut;agent;note\n")
    code, document = run_json("import", "--template", "children")
    assert code == ExitCode.OK
    assert document["columns"][:2] == ["enfant", "prenom"]  # type: ignore[index]


def test_a_template_filled_in_french_excel_imports_back(db: str, tmp_path: Path) -> None:
    target = tmp_path / "modele.csv"
    assert run("import", "--template", "children", "--out", str(target), "--db", db)[0] == ExitCode.OK
    data = target.read_bytes().decode("utf-8-sig")
    row = "E2;Noé;Martin;12/06/2019;F1;;;CP;non;non;\r\n"
    target.write_bytes((data + row).encode("cp1252"))
    code, text = run("import", "children", str(target), "--db", db)
    assert (code, text.strip()) == (ExitCode.OK, f"Import depuis {target} : 1 enfant.")


def test_import_without_a_kind_or_a_file_is_a_french_usage_error(db: str) -> None:
    code, document = run_json("import", "families", "--db", db)
    assert code == ExitCode.USAGE
    error = document["error"]
    assert isinstance(error, dict)
    assert error["code"] == "cli.import.no_file"
    assert "fichier" in str(error["message"])
    code, document = run_json("import", "--template", "families", "enfants.csv")
    assert code == ExitCode.USAGE


def test_invoices_export_for_french_excel(db: str, tmp_path: Path) -> None:
    out = tmp_path / "export"
    code, document = run_json(
        "invoices", "export", "--format", "csv", "--excel", "--out", str(out), "--db", db
    )
    assert code == ExitCode.OK
    assert document["dialect"] == "excel-fr"
    assert (out / "factures.csv").read_bytes().startswith(b"\xef\xbb\xbfnumber;kind;")
    assert (out / "lignes-factures.csv").read_bytes().startswith(b"\xef\xbb\xbfinvoice_number;")
    run_json("invoices", "export", "--format", "csv", "--out", str(out), "--db", db)
    assert (out / "factures.csv").read_bytes().startswith(b"number;kind;")


# -- dates as a French agent types them --------------------------------------------------------


def test_a_basket_takes_french_dates_and_the_month_and_instant_too(db: str, tmp_path: Path) -> None:
    basket = tmp_path / "panier.csv"
    basket.write_text("famille;action;enfant;prestation;date\nF1;réserver;E1;repas;16/11/2026\n", "utf-8")
    code, text = run("basket", str(basket), "--db", db, "--now", "05/11/2026 09:00")
    assert code == ExitCode.OK, text
    assert "lundi 16 novembre 2026" in text
    code, text = run("calendar", "E1", "--month", "11/2026", "--db", db, "--now", "05/11/2026T09:00")
    assert code == ExitCode.OK
    assert "novembre 2026" in text


def test_a_json_basket_takes_a_french_date(db: str, tmp_path: Path) -> None:
    basket = tmp_path / "panier.json"
    lines = [{"action": "annuler", "child": "E1", "prestation": "repas", "date": "16/11/2026"}]
    basket.write_text(json.dumps({"family": "F1", "lines": lines}), "utf-8")
    _, document = run_json("basket", str(basket), "--db", db, "--now", "2026-11-05T09:00")
    decisions = document["decisions"]
    assert isinstance(decisions, list)
    assert decisions[0]["date"] == "2026-11-16"


@pytest.mark.parametrize(
    ("argv", "key"),
    [
        (("--month", "13/2026"), "cli.month.bad"),
        (("--month", "novembre"), "cli.month.bad"),
        (("--now", "31/11/2026 09:00"), "cli.now.bad"),
    ],
)
def test_a_bad_month_or_instant_is_one_french_line(db: str, argv: tuple[str, str], key: str) -> None:
    code, document = run_json("calendar", "E1", "--db", db, "--month", "11/2026", *argv)
    assert code == ExitCode.USAGE
    error = document["error"]
    assert isinstance(error, dict)
    assert error["code"] == key
    assert "JJ/MM/AAAA" in str(error["message"]) or "MM/AAAA" in str(error["message"])


def test_ical_and_bill_take_french_dates(db: str, tmp_path: Path) -> None:
    target = tmp_path / "lea.ics"
    code, document = run_json(
        "ical", "E1", "--out", str(target), "--from", "01/11/2026", "--to", "30/11/2026", "--db", db
    )
    assert code == ExitCode.OK
    code, document = run_json(
        "bill", "--regie", "enfance", "--month", "11/2026", "--issued-on", "01/12/2026", "--db", db,
        "--now", "01/12/2026 09:00",
    )  # fmt: skip
    assert (code, document["month"]) == (ExitCode.OK, "2026-11")
    code, document = run_json("ical", "E1", "--out", str(target), "--from", "31/11/2026", "--db", db)
    assert code == ExitCode.USAGE
    assert "« 31/11/2026 »" in str(document["error"])


@pytest.mark.parametrize(
    ("content", "words"),
    [
        ("famille;action;enfant;prestation;date\nF1;réserver;E1;repas;31/11/2026\n", "ligne 2"),
        ("famille;action;enfant;prestation;date\nF1;partir;E1;repas;16/11/2026\n", "« partir »"),
        ("famille;action;enfant;date\nF1;réserver;E1;16/11/2026\n", "prestation"),
        ("action;enfant;prestation;date\nréserver;E1;repas;16/11/2026\n", "--family"),
    ],
)
def test_a_malformed_basket_says_what_and_where_in_one_french_line(
    db: str, tmp_path: Path, content: str, words: str
) -> None:
    basket = tmp_path / "panier.csv"
    basket.write_text(content, "utf-8")
    code, document = run_json("basket", str(basket), "--db", db)
    assert code == ExitCode.USAGE
    error = document["error"]
    assert isinstance(error, dict)
    message = str(error["message"])
    assert words in message
    assert "\n" not in message
    for python in ("Error", "KeyError", "ValueError", "month must be", "day is out of range"):
        assert python not in message


@pytest.mark.parametrize(
    "content", ["{not json", "[1, 2]", '{"family": "F1", "lines": [{"child": "E1"}]}', '"lines"']
)
def test_a_malformed_json_basket_is_one_french_line(db: str, tmp_path: Path, content: str) -> None:
    basket = tmp_path / "panier.json"
    basket.write_text(content, "utf-8")
    code, document = run_json("basket", str(basket), "--db", db)
    assert code == ExitCode.USAGE
    message = str(document["error"]["message"])  # type: ignore[index]
    assert message.startswith("Panier illisible")
    assert "Expecting" not in message


def test_version_says_the_package_and_its_version() -> None:
    from espacefamille import __version__  # noqa: PLC0415

    assert run("--version") == (ExitCode.OK, f"espacefamille {__version__}\n")
    code, document = run_json("--version")
    assert (code, document["version"]) == (ExitCode.OK, __version__)


def test_the_demo_without_jinja2_says_so_before_building_or_billing_anything(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "jinja2", None)
    code, document = run_json("demo", "--out", str(tmp_path / "demo"), "--families", "5")
    assert code == ExitCode.MISSING_EXTRA
    error = document["error"]
    assert isinstance(error, dict)
    assert (error["code"], error["module"]) == ("cli.missing_extra", "jinja2")
    assert "espacefamille[cli]" in str(error["message"])
    assert not (tmp_path / "demo").exists()


def test_an_html_export_or_an_ical_without_their_library_write_nothing(
    db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "icalendar", None)
    code, _ = run_json("ical", "E1", "--out", str(tmp_path / "lea.ics"), "--db", db)
    assert code == ExitCode.MISSING_EXTRA
    assert not (tmp_path / "lea.ics").exists()
    monkeypatch.setitem(sys.modules, "jinja2", None)
    code, _ = run_json("invoices", "export", "--format", "html", "--out", str(tmp_path / "x"), "--db", db)
    assert code == ExitCode.MISSING_EXTRA
    assert not (tmp_path / "x").exists()


def test_a_folder_that_cannot_be_written_is_one_french_line(db: str, tmp_path: Path) -> None:
    blocker = tmp_path / "fichier"
    blocker.write_text("", "utf-8")
    code, document = run_json(
        "invoices", "export", "--format", "csv", "--out", str(blocker / "x"), "--db", db
    )
    assert code == ExitCode.USAGE
    error = document["error"]
    assert isinstance(error, dict)
    assert error["code"] == "cli.file.unwritable"
    assert "Errno" not in str(error["message"])


def test_an_instant_past_midnight_a_template_with_a_file_and_a_non_utf8_json_basket_are_refused(
    db: str, tmp_path: Path
) -> None:
    code, document = run_json("calendar", "E1", "--month", "11/2026", "--now", "05/11/2026 25:00", "--db", db)
    assert (code, document["error"]["code"]) == (ExitCode.USAGE, "cli.now.bad")  # type: ignore[index]
    code, document = run_json("import", "families", "--template", "families")
    assert (code, document["error"]["code"]) == (ExitCode.USAGE, "cli.import.template_alone")  # type: ignore[index]
    basket = tmp_path / "panier.json"
    basket.write_bytes('{"family": "Fé"}'.encode("cp1252"))
    code, document = run_json("basket", str(basket), "--db", db)
    assert (code, document["error"]["code"]) == (ExitCode.USAGE, "cli.basket.encoding")  # type: ignore[index]


def test_a_basket_saved_by_french_excel_in_windows_1252_is_read(db: str, tmp_path: Path) -> None:
    basket = tmp_path / "panier.csv"
    basket.write_bytes(
        "famille;action;enfant;prestation;date\r\nF1;réserver;E1;repas;16/11/2026\r\n".encode("cp1252")
    )
    code, text = run("basket", str(basket), "--db", db, "--now", "05/11/2026 9h30")
    assert code == ExitCode.OK, text


# -- PDF invoices ------------------------------------------------------------------------------


def test_invoices_export_as_pdf_writes_one_a4_file_per_document(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pypdf  # noqa: PLC0415

    code, _ = run_json("demo", "--out", str(tmp_path / "demo"), "--families", "6")
    assert code == ExitCode.OK
    db = str(tmp_path / "demo" / "saint-aubin-demo.db")
    code, listing = run_json("invoices", "list", "--db", db)
    first = listing["invoices"][0]  # type: ignore[index]
    out = tmp_path / "pdf"
    code, document = run_json(
        "invoices", "export", "--format", "pdf", "--family", first["family_id"], "--out", str(out), "--db", db
    )
    assert code == ExitCode.OK
    files = document["files"]
    assert isinstance(files, list)
    assert files
    assert all(name.endswith(".pdf") for name in files)
    reader = pypdf.PdfReader(out / f"{first['number']}.pdf")
    assert len(reader.pages) == 1
    assert first["number"] in reader.pages[0].extract_text()
    monkeypatch.setitem(sys.modules, "weasyprint", None)
    code, document = run_json(
        "invoices", "export", "--format", "pdf", "--out", str(tmp_path / "no"), "--db", db
    )
    assert code == ExitCode.MISSING_EXTRA
    assert "espacefamille[pdf]" in str(document["error"]["message"])  # type: ignore[index]
    assert not (tmp_path / "no").exists()
