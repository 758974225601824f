"""``espacefamille bill --check``: the days of a month without a price, listed before anything is billed."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import attrs

from espacefamille.adapters.sqlite import SqliteStore
from espacefamille.calendar.periods import DateRange
from espacefamille.cli import ExitCode
from tests.unit.test_cli import db, run, run_json

__all__ = ["db"]  # the fixture, used by name


def book_a_meal(db: str, tmp_path: Path, day: str) -> None:
    basket = tmp_path / "panier.csv"
    basket.write_text(f"action;enfant;prestation;date\nbook;E1;repas;{day}\n")
    assert run("basket", str(basket), "--family", "F1", "--db", db, "--now", "2026-11-05T09:00")[0] == 0


def prices_end_on(db: str, last: dt.date) -> None:
    store = SqliteStore(db)
    with store.unit_of_work() as uow:
        commune = uow.commune()
        lists = tuple(
            attrs.evolve(p, validity=DateRange(p.validity.start, last))
            if p.validity.start <= last <= p.validity.end
            else p
            for p in commune.tariffs.price_lists
            if p.validity.start <= last
        )
        uow.save_commune(attrs.evolve(commune, tariffs=attrs.evolve(commune.tariffs, price_lists=lists)))
        uow.commit()


def test_bill_check_says_the_month_can_be_billed_and_bills_nothing(db: str, tmp_path: Path) -> None:
    book_a_meal(db, tmp_path, "2026-11-16")
    code, text = run(
        "bill", "--check", "--regie", "enfance", "--month", "2026-11", "--db", db, "--now", "2026-12-01T09:00"
    )
    assert code == ExitCode.OK
    ready = "novembre 2026 : chaque jour a un prix (2 familles vérifiées), la facturation peut être lancée."
    assert ready in text
    code, document = run_json(
        "bill", "--regie", "enfance", "--month", "2026-11", "--db", db, "--now", "2026-12-01T09:00"
    )
    assert (code, document["carried"]) == (ExitCode.OK, 1)  # the check billed nothing: the run bills it


def test_bill_check_lists_each_day_without_a_price_and_the_run_refuses(db: str, tmp_path: Path) -> None:
    book_a_meal(db, tmp_path, "2026-11-16")
    prices_end_on(db, dt.date(2026, 11, 13))
    argv = ("--regie", "enfance", "--month", "2026-11", "--db", db, "--now", "2026-12-01T09:00")
    code, text = run("bill", "--check", *argv)
    assert code == ExitCode.REFUSED
    assert "jours sans prix : 1, familles concernées : 1" in text
    assert "F1 · E1 · repas · 2026-11-16 · tariff.no_price_list" in text
    code, document = run_json("bill", "--check", *argv)
    assert document["ok"] is False
    assert document["code"] == "billing.unpriced_days"
    problems = document["problems"]
    assert isinstance(problems, list)
    assert problems[0]["date"] == "2026-11-16"
    code, refused = run_json("bill", *argv)
    assert code == ExitCode.REFUSED
    error = refused["error"]
    assert isinstance(error, dict)
    assert error["code"] == "billing.unpriced_days"
    assert "Rien n'a été facturé." in str(error["message"])
