"""The ``espacefamille`` command: exit codes, ``--json`` documents, languages, bad files, and the demo."""

from __future__ import annotations

import io
import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from espacefamille.cli import ExitCode, main
from espacefamille.examples import example_path

FAMILIES = (
    "famille;nom;responsable1_id;responsable1_prenom;responsable1_nom;responsable1_email;qf;qf_debut\n"
    "F1;Famille Martin;G1;Claire;Martin;claire@exemple.fr;812;2026-09-01\n"
    "F2;Famille Benali;G2;Karim;Benali;karim@exemple.fr;;\n"
)
CHILDREN = "enfant;prenom;nom;naissance;famille;classe\nE1;Léa;Martin;2018-03-02;F1;CE1\n"
ENROLMENTS = (
    "inscription;enfant;famille;service;debut;fin\n"
    "I1;E1;F1;cantine;2026-09-01;2027-07-03\n"
    "I2;E1;F1;periscolaire;2026-09-01;2027-07-03\n"
)


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(list(argv), stdout=out)
    return code, out.getvalue()


def run_json(*argv: str) -> tuple[int, dict[str, object]]:
    code, text = run(*argv, "--json")
    document = json.loads(text)
    assert isinstance(document, dict)
    return code, document


@pytest.fixture
def db(tmp_path: Path) -> str:
    """Saint-Aubin's database with the Martin family, Léa (CE1) enrolled in the canteen and périscolaire."""
    path = str(tmp_path / "saint-aubin.db")
    assert run("init", str(example_path()), "--db", path)[0] == ExitCode.OK
    for kind, content in (("families", FAMILIES), ("children", CHILDREN), ("enrolments", ENROLMENTS)):
        file = tmp_path / f"{kind}.csv"
        file.write_text(content, encoding="utf-8")
        assert run("import", kind, str(file), "--db", path)[0] == ExitCode.OK
    return path


def families_in(path: str) -> list[str]:
    with sqlite3.connect(path) as connection:
        return [row[0] for row in connection.execute("SELECT id FROM families ORDER BY id")]


def test_init_says_what_it_created_in_french_then_refuses_a_second_commune(tmp_path: Path) -> None:
    path = str(tmp_path / "c.db")
    code, text = run("init", str(example_path()), "--db", path)
    assert code == ExitCode.OK
    assert "Commune Ville de Saint-Aubin-des-Prés enregistrée" in text
    assert "3 services, 2 régies" in text
    code, document = run_json("init", str(example_path()), "--db", path)
    assert code == ExitCode.REFUSED
    assert document["ok"] is False
    assert run("init", str(example_path()), "--db", path, "--replace")[0] == ExitCode.OK


def test_init_json_lists_services_and_regies(tmp_path: Path) -> None:
    code, document = run_json("init", str(example_path()), "--db", str(tmp_path / "c.db"))
    assert code == ExitCode.OK
    assert document["services"] == ["cantine", "periscolaire", "alsh"]
    assert document["regies"] == ["enfance", "loisirs"]


def test_a_missing_file_is_bad_usage_with_its_name(db: str, tmp_path: Path) -> None:
    missing = str(tmp_path / "absent.csv")
    code, document = run_json("import", "families", missing, "--db", db)
    assert code == 2
    error = document["error"]
    assert isinstance(error, dict)
    assert error["code"] == "cli.file.missing"
    assert "absent.csv" in str(error["message"])


def test_a_missing_commune_toml_is_bad_usage(tmp_path: Path) -> None:
    assert run("init", str(tmp_path / "nowhere.toml"), "--db", str(tmp_path / "c.db"))[0] == ExitCode.USAGE


def test_a_malformed_csv_line_is_named_and_nothing_is_imported(db: str, tmp_path: Path) -> None:
    bad = tmp_path / "familles.csv"
    bad.write_text(
        "famille;nom;responsable1_id;responsable1_prenom;responsable1_nom\n"
        "F3;Famille Roux;G3;Marion;Roux\n"
        "F4;;G4;Yannick;Dupont\n",
        encoding="utf-8",
    )
    code, document = run_json("import", "families", str(bad), "--db", db)
    assert code == ExitCode.USAGE
    error = document["error"]
    assert isinstance(error, dict)
    assert error["code"] == "import.rejected"
    assert [(item["line"], item["column"]) for item in error["lines"]] == [(3, "nom")]
    assert "ligne 3, colonne nom" in str(error["message"])
    assert families_in(db) == ["F1", "F2"]  # F3, on a good line, was not imported either


def test_errors_are_printed_without_traceback_in_the_chosen_language(
    db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "familles.csv"
    bad.write_text("famille;nom;responsable1_id;responsable1_prenom;responsable1_nom\nF9;;G9;A;B\n")
    assert run("import", "families", str(bad), "--db", db)[0] == ExitCode.USAGE
    french = capsys.readouterr().err
    assert french.startswith("Erreur : ")
    assert "rien n'est importé" in french
    assert "Traceback" not in french
    assert run("import", "families", str(bad), "--db", db, "--lang", "en")[0] == ExitCode.USAGE
    english = capsys.readouterr().err
    assert english.startswith("Error: ")
    assert "nothing imported" in english


def test_children_of_an_unknown_family_are_refused_as_a_whole(db: str, tmp_path: Path) -> None:
    file = tmp_path / "enfants.csv"
    file.write_text(
        "enfant;prenom;nom;naissance;famille\nE2;Tom;Martin;2019-05-01;F1\nE3;Zoé;Roux;2020-01-01;F9\n"
    )
    code, document = run_json("import", "children", str(file), "--db", db, "--lang", "en")
    assert code == ExitCode.USAGE
    assert "unknown family F9" in str(document["error"])
    assert run_json("calendar", "E2", "--month", "2026-11", "--db", db)[0] == ExitCode.REFUSED


def test_no_database_is_bad_usage(tmp_path: Path) -> None:
    code, document = run_json(
        "bill", "--regie", "enfance", "--month", "2026-11", "--db", str(tmp_path / "x.db")
    )
    assert code == ExitCode.USAGE
    assert not (tmp_path / "x.db").exists()
    assert document["error"]["code"] == "cli.db.missing"  # type: ignore[index]


def test_bad_usage_is_exit_code_2_in_json_too(db: str) -> None:
    code, document = run_json("bill", "--regie", "enfance", "--db", db)
    assert code == ExitCode.USAGE
    assert document["error"]["code"] == "cli.usage"  # type: ignore[index]
    assert run("bill", "--regie", "enfance", "--month", "2026-13", "--db", db)[0] == ExitCode.USAGE
    assert run()[0] == ExitCode.USAGE


def test_a_basket_with_a_public_holiday_line_is_a_refusal(db: str, tmp_path: Path) -> None:
    basket = tmp_path / "panier.json"
    basket.write_text(
        json.dumps(
            {
                "family": "F1",
                "lines": [
                    {"action": "book", "child": "E1", "prestation": "repas", "date": "2026-11-16"},
                    {"action": "book", "child": "E1", "prestation": "repas", "date": "2026-11-11"},
                ],
            }
        )
    )
    code, document = run_json("basket", str(basket), "--db", db, "--now", "2026-11-05T09:00")
    assert code == ExitCode.REFUSED
    decisions = document["decisions"]
    assert isinstance(decisions, list)
    assert [d["outcome"] for d in decisions] == ["accepted", "refused"]
    assert "Armistice" in decisions[1]["message"]


def test_a_csv_basket_books_and_the_calendar_shows_it(db: str, tmp_path: Path) -> None:
    basket = tmp_path / "panier.csv"
    basket.write_text("famille;action;enfant;prestation;date\nF1;réserver;E1;repas;2026-11-16\n")
    code, text = run("basket", str(basket), "--db", db, "--now", "2026-11-05T09:00")
    assert code == ExitCode.OK
    assert "✓ Réservation enregistrée : Repas pour Léa le lundi 16 novembre 2026." in text
    code, document = run_json("calendar", "E1", "--month", "2026-11", "--db", db, "--now", "2026-11-05T09:00")
    assert code == ExitCode.OK
    cells = {(c["prestation"], c["date"]): c["code"] for c in document["cells"]}  # type: ignore[attr-defined]
    assert cells[("repas", "2026-11-16")] == "view.booked"
    assert cells[("repas", "2026-11-11")] == "view.closed"
    code, grid = run("calendar", "E1", "--month", "2026-11", "--db", db, "--now", "2026-11-05T09:00")
    assert "lundi 16 novembre 2026" in grid
    assert "Réservé" in grid


def test_billing_a_small_month_carries_it_below_the_threshold(db: str, tmp_path: Path) -> None:
    basket = tmp_path / "panier.csv"
    basket.write_text("action;enfant;prestation;date\nbook;E1;repas;2026-11-16\n")
    assert run("basket", str(basket), "--family", "F1", "--db", db, "--now", "2026-11-05T09:00")[0] == 0
    code, document = run_json(
        "bill", "--regie", "enfance", "--month", "2026-11", "--db", db, "--now", "2026-12-01T09:00"
    )
    assert code == ExitCode.OK
    assert document["invoices"] == 0
    assert document["invoice_numbers"] is None
    assert (document["carried"], document["carried_total"]) == (1, "2.60")  # one meal: below 15 €
    code, prepaid = run_json("bill", "--regie", "loisirs", "--month", "2026-11", "--db", db)
    assert code == ExitCode.OK
    assert prepaid["prepaid_only"] is True


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, object]]:
    out = tmp_path_factory.mktemp("demo")
    code, document = run_json("demo", "--out", str(out), "--families", "60")
    assert code == ExitCode.OK
    return out, document


def test_the_demo_bills_its_month_and_writes_invoices(demo: tuple[Path, dict[str, object]]) -> None:
    out, document = demo
    billing = document["billing"]
    assert isinstance(billing, list)
    enfance = billing[0]
    assert enfance["regie"] == "enfance"
    assert enfance["month"] == "2026-12"
    assert isinstance(enfance["invoices"], int)
    assert enfance["invoices"] > 40
    assert enfance["invoice_numbers"] == [
        "FAC-enfance-2027-000001",
        f"FAC-enfance-2027-{enfance['invoices']:06d}",
    ]
    html = sorted((out / "factures").glob("*.html"))
    assert len(html) == document["html_files"]
    page = (out / "factures" / "FAC-enfance-2027-000001.html").read_text(encoding="utf-8")
    assert "Régie enfance-jeunesse" in page
    assert "tribunal" in page  # the appeal routes
    table = (out / "factures.csv").read_text(encoding="utf-8").splitlines()
    assert table[0].startswith("number;kind;regie_id;family_id")
    assert len(table) == 1 + len(html)


def test_the_demo_is_the_same_every_time(tmp_path: Path, demo: tuple[Path, dict[str, object]]) -> None:
    code, again = run_json("demo", "--out", str(tmp_path), "--families", "60")
    assert code == ExitCode.OK
    assert again["billing"] == demo[1]["billing"]


def test_invoices_of_the_demo_list_export_and_pay(
    demo: tuple[Path, dict[str, object]], tmp_path: Path
) -> None:
    out, _ = demo
    db = str(out / "saint-aubin-demo.db")
    code, listing = run_json("invoices", "list", "--regie", "enfance", "--db", db)
    assert code == ExitCode.OK
    first = listing["invoices"][0]  # type: ignore[index]
    assert first["number"] == "FAC-enfance-2027-000001"
    code, _ = run_json("invoices", "export", "--format", "json", "--out", str(tmp_path), "--db", db)
    assert code == ExitCode.OK
    items = json.loads((tmp_path / "factures.json").read_text(encoding="utf-8"))
    assert items[0]["lines"]
    code, text = run(
        "pay", "--invoice", first["number"], "--amount", first["total"].replace(".", ","), "--db", db,
        "--now", "2027-01-10T10:00", "--reference", "chèque 0012",
    )  # fmt: skip
    assert code == ExitCode.OK
    assert f"facture {first['number']} soldée" in text
    code, refused = run_json("pay", "--invoice", first["number"], "--amount", "1", "--db", db, "--lang", "en")
    assert code == ExitCode.REFUSED
    assert refused["error"]["code"] == "payment.already_paid"  # type: ignore[index]
    code, listed = run("invoices", "list", "--family", first["family_id"], "--db", db)
    assert code == ExitCode.OK
    assert first["number"] in listed


def test_a_childs_bookings_as_an_ical_file(demo: tuple[Path, dict[str, object]], tmp_path: Path) -> None:
    out, _ = demo
    target = tmp_path / "lea.ics"
    code, document = run_json(
        "ical", "F0001-E1", "--out", str(target), "--from", "2026-12-01", "--to", "2026-12-31",
        "--db", str(out / "saint-aubin-demo.db"),
    )  # fmt: skip
    assert code == ExitCode.OK
    data = target.read_bytes()
    assert data.startswith(b"BEGIN:VCALENDAR")
    assert data.count(b"BEGIN:VEVENT") == document["events"]


def test_python_dash_m_runs_the_command() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "espacefamille", "bill", "--lang", "en"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == ExitCode.USAGE
    assert "Bad usage" in done.stderr
    assert "Traceback" not in done.stderr


def test_the_core_does_not_import_the_command_line_libraries() -> None:
    script = "import sys, espacefamille; print(sorted({'rich', 'jinja2', 'icalendar'} & set(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_attendance_is_recorded_and_an_unknown_child_refuses_the_whole_file(db: str, tmp_path: Path) -> None:
    good = tmp_path / "presences.csv"
    good.write_text(
        "enfant;prestation;date;statut\nE1;repas;2026-11-16;absence justifiée\n", encoding="utf-8"
    )
    code, document = run_json("import", "attendance", str(good), "--db", db, "--now", "2026-11-16T18:00")
    assert code == ExitCode.OK
    assert document["imported"] == 1
    bad = tmp_path / "presences2.csv"
    bad.write_text(
        "enfant;prestation;date;statut\nE1;repas;2026-11-17;present\nE9;repas;2026-11-17;present\n"
    )
    code, document = run_json("import", "attendance", str(bad), "--db", db, "--lang", "en")
    assert code == ExitCode.USAGE
    assert "unknown child E9" in str(document["error"])


def test_an_enrolment_of_another_familys_child_is_refused(db: str, tmp_path: Path) -> None:
    file = tmp_path / "inscriptions.csv"
    file.write_text("inscription;enfant;famille;service;debut;fin\nI9;E1;F2;cantine;2026-09-01;2027-07-03\n")
    code, document = run_json("import", "enrolments", str(file), "--db", db)
    assert code == ExitCode.USAGE
    assert "n'appartient pas au foyer F2" in str(document["error"])


class _Terminal(io.StringIO):
    """Standard error as a terminal, where progress is drawn."""

    def isatty(self) -> bool:
        return True


def test_billing_draws_its_progress_on_a_terminal_and_prints_only_the_result(
    db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    code, text = run(
        "bill", "--regie", "enfance", "--month", "2026-11", "--db", db, "--now", "2026-12-01T09:00",
        "--lang", "en",
    )  # fmt: skip
    assert code == ExitCode.OK
    assert text.startswith("Régie enfance, November 2026: 0 invoices")
    assert len(text.splitlines()) == 1
    assert "Billing November 2026" in terminal.getvalue()
    quiet = _Terminal()
    monkeypatch.setattr(sys, "stderr", quiet)
    code, document = run_json(
        "bill", "--regie", "enfance", "--month", "2026-11", "--db", db, "--now", "2026-12-01T09:00"
    )
    assert code == ExitCode.OK
    assert document["invoices"] == 0
    assert quiet.getvalue() == ""


def test_help_is_french_by_default_and_english_with_lang_en(capsys: pytest.CaptureFixture[str]) -> None:
    def words(text: str) -> str:  # argparse wraps to the terminal's width
        return " ".join(text.split())

    code, french = run("--help")
    assert code == ExitCode.OK
    assert "bill facturation de fin de mois" in words(french)
    assert french.startswith("utilisation : espacefamille")
    assert run("--lang", "en", "--help")[0] == ExitCode.OK
    english = capsys.readouterr().out
    assert "bill month-end billing" in words(english)
    assert english.startswith("usage: espacefamille")
    assert "facturation" not in english
    assert run("--lang", "en", "bill", "--help")[0] == ExitCode.OK
    bill = words(capsys.readouterr().out)
    assert "--issued-on ISSUED_ON issue date (default: today)" in bill
    assert "date d'émission" not in bill
    assert run("bill", "--help")[0] == ExitCode.OK
    assert "date d'émission (par défaut : aujourd'hui)" in words(capsys.readouterr().out)


def test_a_usage_error_speaks_the_language_asked(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert run("bill", "--regie", "enfance", "--db", db, "--lang", "en")[0] == ExitCode.USAGE
    english = capsys.readouterr().err
    assert english.startswith("usage: espacefamille")
    assert "Bad usage: the following arguments are required: --month" in english
    assert run("bill", "--regie", "enfance", "--db", db)[0] == ExitCode.USAGE
    french = capsys.readouterr().err
    assert french.startswith("utilisation : espacefamille")
    assert "Utilisation incorrecte : arguments obligatoires manquants : --month" in french
    code, document = run_json("pay", "--invoice", "X", "--amount", "1", "--method", "carte", "--lang", "en")
    assert code == ExitCode.USAGE
    assert document["error"]["message"].startswith("argument --method: invalid choice: 'carte'")  # type: ignore[index]
