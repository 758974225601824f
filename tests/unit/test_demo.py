"""The demo prints a month of the example commune as a parent would read it, in French."""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

import pytest

from espacefamille.commune import Commune
from espacefamille.demo.tour import main, month_calendar_text
from espacefamille.examples import example_path


def test_december_2026_shows_the_christmas_holidays_noel_and_the_canteen_outing(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["2026-12"]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    assert out.startswith("Ville de Saint-Aubin-des-Prés — décembre 2026 (zone B, Europe/Paris)")
    # Zone B: holidays begin after class on Saturday 19 December; Christmas Day is a public holiday.
    assert (
        "  du dimanche 20 décembre 2026 au jeudi 24 décembre 2026 : "
        "Fermé pendant les vacances scolaires (Vacances de Noël)." in out
    )
    assert "  vendredi 25 décembre 2026 : Fermé : jour férié (Noël)." in out
    # The canteen's end-of-term outing closes the canteen only, on Friday 18 December.
    assert (
        "  vendredi 18 décembre 2026 : Fermé : sortie de fin de trimestre (pique-nique fourni par l'école)."
        in out
    )
    assert out.count("vendredi 18 décembre 2026 :") == 1
    # The holiday centre opens on the first three holiday weekdays, then closes for the festive season.
    assert "Journée centre de loisirs (Centre de loisirs des Prés) — 3 jours d'ouverture" in out
    assert "  jeudi 24 décembre 2026 : Fermé : fermeture annuelle des fêtes." in out
    assert "Repas (Restauration scolaire) — 10 jours d'ouverture" in out
    assert "mardi 1er décembre 2026" in out


def test_the_month_defaults_to_december_2026(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 0
    assert "décembre 2026" in capsys.readouterr().out


def test_november_2026_shows_armistice_and_the_training_day(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["2026-11", str(example_path())]) == 0
    out = capsys.readouterr().out
    assert "novembre 2026" in out
    assert "mercredi 11 novembre 2026 : Fermé : jour férié (Armistice)." in out
    assert "vendredi 27 novembre 2026 : Fermé : journée de formation des animateurs." in out


def test_the_demo_runs_as_a_module_with_the_command_line_arguments(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # python -m espacefamille.demo.tour 2026-11
    monkeypatch.setattr(sys, "argv", ["espacefamille.demo.tour", "2026-11"])
    monkeypatch.delitem(sys.modules, "espacefamille.demo.tour")  # run it fresh, as ``-m`` would
    with pytest.raises(SystemExit) as exited:
        runpy.run_module("espacefamille.demo.tour", run_name="__main__")
    assert exited.value.code == 0
    assert "novembre 2026" in capsys.readouterr().out


def test_the_calendar_grid_marks_open_and_closed_days(commune: Commune) -> None:
    text = month_calendar_text(commune, 2026, 12)
    (repas_row,) = [line for line in text.splitlines() if line.startswith("repas ")]
    marks = repas_row.split()[1:]
    assert len(marks) == 31
    # Open Thursday 17, closed for the outing on Friday 18.
    assert (marks[16], marks[17]) == ("●", "·")


@pytest.mark.parametrize("month", ["2026-13", "décembre", "2026", "2026-12-01", "12/2026"])
def test_a_bad_month_is_refused_with_the_usage(month: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([month]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert "Usage : python -m espacefamille.demo.tour [AAAA-MM] [commune.toml]" in err


def test_a_missing_configuration_file_is_explained_in_french(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "absente.toml"
    assert main(["2026-12", str(missing)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.strip() == f"Impossible de lire le fichier {missing}."


def test_a_month_without_school_calendar_is_explained_in_french(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A canteen with no season bound: in 2030-2031 no school data is shipped, so the demo
    # refuses rather than guesses which days are school days.
    path = tmp_path / "commune.toml"
    path.write_text(
        """\
schema_version = 1
[collectivite]
id = "saint-aubin"
name = "Ville de Saint-Aubin-des-Prés"
school_zone = "B"
[regies.enfance]
name = "Régie enfance-jeunesse"
[services.cantine]
name = "Restauration scolaire"
kind = "cantine"
regie = "enfance"
opening = { school_weekdays = ["monday", "tuesday", "thursday", "friday"] }
prestations.repas = { name = "Repas", kind = "day", payment_mode = "month_end" }
""",
        encoding="utf-8",
    )
    assert main(["2026-12", str(path)]) == 0
    capsys.readouterr()
    assert main(["2030-12", str(path)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert "Le calendrier scolaire 2030-2031 de la zone B n'est pas connu" in err
