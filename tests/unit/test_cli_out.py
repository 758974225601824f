"""Every ``--out`` of the command line that cannot be written (a folder the system refuses, a file where a
folder is expected, a folder where a file is expected, a disk that fills up) is one French line and an exit
code — checked before any work where it can be, and never a partial file left behind."""

from __future__ import annotations

import errno
import io
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import pytest

from espacefamille.cli import ExitCode, main
from tests.unit import test_cli_regie_outputs

db = test_cli_regie_outputs.db  # the fixture: a commune with a family, a child and its enrolments


REFUSED = Path("/sys/espacefamille")  # even root may not create anything there


def run(*argv: str) -> tuple[int, dict[str, object], str]:
    out, err = io.StringIO(), io.StringIO()
    saved, sys.stderr = sys.stderr, err
    try:
        code = main([*argv, "--json"], stdout=out)
    finally:
        sys.stderr = saved
    document = json.loads(out.getvalue())
    assert isinstance(document, dict)
    return code, document, err.getvalue()


def refusal(document: dict[str, object]) -> dict[str, object]:
    error = document["error"]
    assert isinstance(error, dict)
    assert "Errno" not in str(error["message"])
    assert "Traceback" not in str(error["message"])
    return error


def outs(db: str, tmp_path: Path, out: Path) -> Iterator[tuple[str, ...]]:
    """Every subcommand with an ``--out``, writing to ``out``."""
    yield ("import", "--template", "families", "--out", str(out))
    for fmt in ("csv", "json", "html"):
        yield ("invoices", "export", "--format", fmt, "--out", str(out), "--db", db)
    yield ("ical", "E1", "--out", str(out), "--db", db)
    yield ("demo", "--out", str(out), "--families", "3")


def test_every_out_the_system_refuses_is_one_french_line_and_a_usage_exit(db: str, tmp_path: Path) -> None:
    for argv in outs(db, tmp_path, REFUSED / "sortie"):
        code, document, _ = run(*argv)
        error = refusal(document)
        assert (code, error["code"]) == (ExitCode.USAGE, "cli.file.unwritable"), argv
        assert str(REFUSED) in str(error["message"]), argv
        assert "accès refusé" in str(error["message"]), argv


def test_a_refused_out_is_said_before_any_work_even_before_an_unknown_child(db: str) -> None:
    code, document, _ = run("ical", "INCONNU", "--out", str(REFUSED / "x.ics"), "--db", db)
    assert (code, refusal(document)["code"]) == (ExitCode.USAGE, "cli.file.unwritable")


def test_a_file_where_a_folder_is_expected(db: str, tmp_path: Path) -> None:
    blocker = tmp_path / "factures"
    blocker.write_text("déjà là", encoding="utf-8")
    for argv in (
        ("invoices", "export", "--format", "csv", "--out", str(blocker), "--db", db),
        ("demo", "--out", str(blocker), "--families", "3"),
    ):
        code, document, _ = run(*argv)
        error = refusal(document)
        assert (code, error["code"]) == (ExitCode.USAGE, "cli.file.unwritable"), argv
        assert "un fichier se trouve là où un dossier est attendu" in str(error["message"])
    assert blocker.read_text(encoding="utf-8") == "déjà là"


def test_a_folder_where_a_file_is_expected(db: str, tmp_path: Path) -> None:
    for argv in (
        ("import", "--template", "families", "--out", str(tmp_path)),
        ("ical", "E1", "--out", str(tmp_path), "--db", db),
    ):
        code, document, _ = run(*argv)
        error = refusal(document)
        assert (code, error["code"]) == (ExitCode.USAGE, "cli.file.unwritable"), argv
        assert "c'est un dossier" in str(error["message"])


def test_the_line_is_french_on_the_error_stream_without_json(tmp_path: Path) -> None:
    err = io.StringIO()
    saved, sys.stderr = sys.stderr, err
    try:
        code = main(
            ["import", "--template", "families", "--out", str(REFUSED / "modele.csv")], stdout=io.StringIO()
        )
    finally:
        sys.stderr = saved
    lines = [line for line in err.getvalue().splitlines() if line.strip()]
    assert code == ExitCode.USAGE
    assert len(lines) == 1, lines
    assert "accès refusé" in lines[0]


class _FillsUp:
    """A file being written on a disk that fills up: half of what is written lands, then ``ENOSPC``."""

    def __init__(self, file: IO[bytes]) -> None:
        self._file = file

    def __enter__(self) -> _FillsUp:
        return self

    def __exit__(self, *exc: object) -> None:
        self._file.close()

    def write(self, data: bytes) -> int:
        self._file.write(data[: len(data) // 2])
        self._file.flush()
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    def close(self) -> None:
        self._file.close()


def test_a_write_that_fails_half_way_leaves_no_partial_file(
    db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_open = io.open

    def filling_up(file: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        opened = real_open(file, mode, *args, **kwargs)
        return _FillsUp(opened) if "w" in mode and "b" in mode else opened

    out = tmp_path / "lea.ics"
    monkeypatch.setattr(io, "open", filling_up)
    code, document, _ = run("ical", "E1", "--out", str(out), "--db", db)
    monkeypatch.undo()
    error = refusal(document)
    assert (code, error["code"]) == (ExitCode.USAGE, "cli.file.unwritable")
    assert "le disque est plein" in str(error["message"])
    assert str(out) in str(error["message"])
    assert not out.exists()
    assert not [name for name in os.listdir(tmp_path) if name.startswith(".lea.ics")]  # no temporary left


def test_a_written_file_is_an_ordinary_readable_file(tmp_path: Path) -> None:
    out = tmp_path / "modele.csv"
    code, _, _ = run("import", "--template", "families", "--out", str(out))
    assert code == ExitCode.OK
    assert out.stat().st_mode & 0o777 == 0o666 & ~_umask()
    assert out.read_text(encoding="utf-8").startswith("\ufefffamille;")  # the BOM Excel reads UTF-8 by


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask
