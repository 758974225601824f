"""Benchmark: month-end billing of the synthetic city end to end from SQLite, against a raw read.

Target (issue "ports, stores and services"): billing the 100,000-child city through the back office on the
SQLite store — read every family's month, price it, write the invoices, numbers and carried balances —
under 30 s on the reference machine, and at most 3 times the time of merely reading the same booking rows
with the standard library's ``sqlite3`` (ordered by family), measured in the same run; memory must not
grow with the city. Run:

    .venv/bin/python benchmarks/sqlite_billing.py [--children 100000] [--path city.sqlite]

Writing the city (``benchmarks/city.py``: families, children, bookings, attendance) into a fresh store is
set-up, timed apart; with ``--path`` an existing file of the same size is reused, so repeated runs skip it
(the billing run then happens on a copy). Peak memory is the growth of the process's maximum resident
size during the billing run. Figures are reported in docs/benchmarks.md and docs/stores.md, never
asserted by the tests.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from city import ISSUED_ON, City, synthetic_city
from sqlite_read import read_raw  # the yardstick: the same raw read of every booking row

from espacefamille.accounts import Agent, AgentRole
from espacefamille.adapters.sqlite import SqliteStore
from espacefamille.ports import FixedClock
from espacefamille.services import BackOffice

__all__ = ["bill_from_store", "main", "write_city"]

_FAMILIES_PER_COMMIT = 2_000
_NOW = dt.datetime(2026, 12, 1, 7, 0, tzinfo=dt.UTC)


def write_city(store: SqliteStore, city: City) -> tuple[int, int]:
    """Write the commune and every family of ``city`` (children, bookings, attendance).

    Returns (families, bookings) written.
    """
    with store.unit_of_work() as uow:
        uow.save_commune(city.commune)
        uow.commit()
    families = bookings = 0
    households = city.households()
    done = False
    while not done:
        with store.unit_of_work() as uow:
            for _ in range(_FAMILIES_PER_COMMIT):
                household = next(households, None)
                if household is None:
                    done = True
                    break
                family, children, booked, facts = household
                uow.save_family(family)
                for child in children:
                    uow.save_child(child)
                uow.save_bookings(booked)
                uow.save_attendance(facts, family.id)
                families += 1
                bookings += len(booked)
            uow.commit()
    return families, bookings


def bill_from_store(store: SqliteStore, commune_id: str) -> dict[str, float]:
    """Month-end billing of November 2026 through the back office; the figures of the run."""
    agent = Agent("regisseur", commune_id, AgentRole.REGISSEUR)
    back_office = BackOffice(store, clock=FixedClock(_NOW))
    rss_before = _peak_mb()
    started = time.perf_counter()
    report = back_office.run_month_end(agent, "enfance", synthetic_city(1).month, issued_on=ISSUED_ON)
    seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "invoices": float(report.invoices),
        "credit_notes": float(report.credit_notes),
        "carried": float(report.carried),
        "memory_growth_mb": _peak_mb() - rss_before,
    }


def _peak_mb() -> float:
    # ru_maxrss is in kilobytes on Linux.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--children", type=int, default=100_000)
    parser.add_argument("--path", type=Path, help="city database to write once and reuse")
    args = parser.parse_args(argv)
    city = synthetic_city(args.children)
    with tempfile.TemporaryDirectory() as directory:
        source = args.path if args.path is not None else Path(directory) / "city.sqlite"
        if source.exists():
            SqliteStore(source)  # brought to the current schema once, not in every copy
        else:
            started = time.perf_counter()
            families, bookings = write_city(SqliteStore(source), city)
            print(
                f"wrote {families:,} families, {bookings:,} bookings of {args.children:,} children "
                f"in {time.perf_counter() - started:.1f} s"
            )
        path = Path(directory) / "run.sqlite"
        shutil.copyfile(source, path)
        os.sync()  # the copy reaches the disk before the clock starts, not during the run
        started = time.perf_counter()
        rows = read_raw(path)
        raw = time.perf_counter() - started
        figures = bill_from_store(SqliteStore(path), city.commune.collectivite.id)
        ratio = figures["seconds"] / raw
        print(f"raw sqlite3 read of {rows:,} booking rows, ordered by family: {raw:.2f} s")
        print(
            f"month-end billing from SQLite, {args.children:,} children: "
            f"{figures['invoices']:,.0f} invoices, "
            f"{figures['credit_notes']:,.0f} credit notes, {figures['carried']:,.0f} carried — "
            f"{figures['seconds']:.2f} s, {ratio:.1f}× the raw read, memory growth "
            f"{figures['memory_growth_mb']:,.0f} MB (target for 100,000: < 30 s and ≤ 3×)"
        )
        figures.update(raw_s=raw, rows=float(rows), ratio=ratio)
        return figures


if __name__ == "__main__":
    main()
