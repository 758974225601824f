"""``espacefamille demo --db postgresql://…``: the demo commune built and billed in a PostgreSQL database, the
same invoices as on SQLite, its other collectivités left alone."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from espacefamille.cli import ExitCode, main
from tests import postgres_server


def run(*argv: str) -> tuple[int, dict[str, object]]:
    out = io.StringIO()
    code = main([*argv, "--json"], stdout=out)
    document = json.loads(out.getvalue())
    assert isinstance(document, dict)
    return code, document


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    with postgres_server.database("demo") as conninfo:
        yield "postgresql:///?" + "&".join(conninfo.split())


def test_the_demo_on_postgresql_bills_the_same_month_as_on_sqlite(
    url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, on_sqlite = run("demo", "--out", str(tmp_path / "sqlite"), "--families", "30")
    assert code == ExitCode.OK
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
