"""The ``espacefamille`` command on a PostgreSQL URL: the same subcommands, the commune as a collectivité, and
the demo built and billed there."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from espacefamille.cli import ExitCode, main
from espacefamille.examples import example_path
from tests import postgres_server

FAMILIES = (
    "famille;nom;responsable1_id;responsable1_prenom;responsable1_nom;responsable1_email;qf;qf_debut\n"
    "F1;Famille Martin;G1;Claire;Martin;claire@exemple.fr;812;2026-09-01\n"
)


def run(*argv: str) -> tuple[int, dict[str, object]]:
    out = io.StringIO()
    code = main([*argv, "--json"], stdout=out)
    document = json.loads(out.getvalue())
    assert isinstance(document, dict)
    return code, document


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    with postgres_server.database("cli") as conninfo:
        # The command line takes URLs: the test server's conninfo as one.
        yield "postgresql:///?" + "&".join(conninfo.split())


def test_init_then_import_on_a_postgresql_url(
    url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, document = run("init", str(example_path()), "--db", url)
    assert code == ExitCode.OK
    assert document["collectivite"] == "saint-aubin"
    code, document = run("init", str(example_path()), "--db", url)
    assert code == ExitCode.REFUSED  # the commune is there already
    families = tmp_path / "families.csv"
    families.write_text(FAMILIES, encoding="utf-8")
    code, _ = run("import", "families", str(families), "--db", url)
    assert code == ExitCode.USAGE  # which collectivité of the database?
    monkeypatch.setenv("ESPACEFAMILLE_COLLECTIVITE", "saint-aubin")
    code, _ = run("import", "families", str(families), "--db", url)
    assert code == ExitCode.OK


def test_a_password_never_shows_in_what_the_command_says() -> None:
    code, document = run(
        "init",
        str(example_path()),
        "--db",
        "postgresql://agent:secret@127.0.0.1:1/espacefamille?connect_timeout=2",
    )
    assert code == ExitCode.USAGE
    assert "secret" not in json.dumps(document)


def test_the_demo_on_postgresql_bills_the_same_month_as_on_sqlite(
    url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, on_sqlite = run("demo", "--out", str(tmp_path / "sqlite"), "--families", "30")
    assert code == ExitCode.OK
    monkeypatch.setenv("ESPACEFAMILLE_COLLECTIVITE", "demo-1")  # the test above may have taken saint-aubin
    code, on_postgres = run("demo", "--out", str(tmp_path / "postgres"), "--families", "30", "--db", url)
    assert code == ExitCode.OK
    assert on_postgres["billing"] == on_sqlite["billing"]
    assert on_postgres["db"] == url
    assert on_postgres["html_files"] == on_sqlite["html_files"]
    assert not (tmp_path / "postgres" / "saint-aubin-demo.db").exists()
    # The commune is there: a second demo in the same collectivité is refused, another one is built.
    code, refused = run("demo", "--out", str(tmp_path / "again"), "--families", "30", "--db", url)
    assert code == ExitCode.REFUSED
    error = refused["error"]
    assert isinstance(error, dict)
    assert error["code"] == "demo.store_not_empty"
    monkeypatch.setenv("ESPACEFAMILLE_COLLECTIVITE", "demo-2")
    code, other = run("demo", "--out", str(tmp_path / "other"), "--families", "30", "--db", url)
    assert code == ExitCode.OK
    assert other["billing"] == on_sqlite["billing"]
    code, _ = run("invoices", "list", "--db", url)
    assert code == ExitCode.OK
