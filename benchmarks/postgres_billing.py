"""Benchmark: month-end billing of the synthetic city end to end from PostgreSQL, like for like, and two
communes billed at once.

Targets (issue 15, performance):

* billing the city through ``BackOffice.run_month_end`` on the PostgreSQL store in at most twice a *floor*
  measured in the same run: a raw ``COPY … TO STDOUT`` of the same booking rows (the month's, every column,
  ordered by family, read as rows) plus a raw ``COPY … FROM STDIN`` of the very invoice-line rows the run
  wrote into a scratch table shaped as ``invoice_lines`` (same columns and key), in one transaction,
  committed; memory flat (peak resident size during the run);
* two processes billing two communes of one database at once take at most 1.25× the time of one alone.

Run:

    .venv/bin/python benchmarks/postgres_billing.py [--children 10000] [--no-pair] [--compare]

``--compare`` also bills the city without reading the next batch ahead (``PostgresStore(read_ahead=False)``),
alternated twice with the default, each run on a fresh copy of the city with its own floor. ``--keep`` keeps
the city written on the server of ``ESPACEFAMILLE_POSTGRES_URL`` for the next run with ``--keep`` (writing
100,000 children takes minutes); every run bills a copy of it.

The server is a throwaway embedded one (tests/postgres_server.py), or ``ESPACEFAMILLE_POSTGRES_URL``.
Writing the city into the store is set-up, timed apart. Figures go to docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import collections
import functools
import multiprocessing
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

import psycopg  # noqa: E402
from city import synthetic_city  # noqa: E402
from sqlite_billing import bill_from_store, write_city  # noqa: E402
from tests import postgres_server  # noqa: E402

from espacefamille.adapters.postgres import PostgresStore  # noqa: E402
from espacefamille.calendar.periods import DateRange  # noqa: E402

__all__ = ["main"]

_NOVEMBER = DateRange.month(2026, 11)
_BOOKING_COLUMNS = (
    "family_id, child_id, prestation_id, day, status, booked_at, booked_zone, paid_cents, surcharge_code"
)
_LINE_COLUMNS = (
    "collectivite_id, invoice_number, position, child_id, prestation_id, label, reason, days, quantity, "
    "unit_price, total_cents, explanation, regularises_invoice, regularises_day, minutes"
)


def floor_read(url: str, collectivite_id: str, month: DateRange) -> tuple[int, float]:
    """Rows and seconds of a raw COPY out of the month's booking rows of the collectivité, read as rows."""
    with psycopg.connect(url) as connection:
        started = time.perf_counter()
        rows = 0
        with (
            connection.cursor() as cursor,
            cursor.copy(
                f"COPY (SELECT {_BOOKING_COLUMNS} FROM bookings WHERE collectivite_id = %s "
                "AND day BETWEEN %s AND %s ORDER BY family_id, child_id, prestation_id, day) TO STDOUT",
                (collectivite_id, month.start, month.end),
            ) as copy,
        ):
            copy.set_types(["text", "text", "text", "date", "text", "timestamptz", "text", "int8", "text"])
            for _ in copy.rows():
                rows += 1
        return rows, time.perf_counter() - started


def floor_write(url: str, collectivite_id: str) -> tuple[int, float]:
    """Rows and seconds of a raw COPY in of the collectivité's invoice-line rows (read beforehand, untimed)
    into a scratch table shaped as ``invoice_lines``, in one transaction, committed."""
    types = [
        "text",
        "text",
        "int4",
        "text",
        "text",
        "text",
        "text",
        "date[]",
        "text",
        "text",
        "int8",
        "text",
        "text",
        "date",
        "int4",
    ]
    with psycopg.connect(url) as connection:
        with (
            connection.cursor() as cursor,
            cursor.copy(
                f"COPY (SELECT {_LINE_COLUMNS} FROM invoice_lines WHERE collectivite_id = %s "
                "ORDER BY invoice_number, position) TO STDOUT",
                (collectivite_id,),
            ) as copy,
        ):
            copy.set_types(types)
            lines = list(copy.rows())
        connection.execute("CREATE TABLE floor_lines (LIKE invoice_lines INCLUDING ALL)")
        connection.commit()
        started = time.perf_counter()
        with (
            connection.cursor() as cursor,
            cursor.copy(f"COPY floor_lines ({_LINE_COLUMNS}) FROM STDIN") as copy,
        ):
            copy.set_types(types)
            for line in lines:
                copy.write_row(line)
        connection.commit()
        seconds = time.perf_counter() - started
        connection.execute("DROP TABLE floor_lines")
        connection.commit()
        return len(lines), seconds


# The tables the set-up fills (the city's households and their month).
_CITY_TABLES = (
    "communes, capacity_limited, versions, families, guardians, quotients, children, child_families, "
    "enrolments, bookings, attendance, absences, closures, mandates"
)


def _analyze(url: str) -> None:
    """Refresh the planner's statistics of the tables the set-up fills: a store's statements planned while
    they were nearly empty (a fresh database filling up) would otherwise scan what has become a large table.
    Not the documents' tables, still empty: analysed empty, they made PostgreSQL 18 check each invoice
    line's foreign key by a skip scan of ``invoices_by_family`` (one descent per household) instead of the
    primary key — 8.9 s of an 18 s run at 10,000 children; a commune's tables are analysed by autovacuum
    as they fill (docs/postgres.md)."""
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(f"ANALYZE {_CITY_TABLES}")


def _billed(store: PostgresStore, commune_id: str) -> dict[str, float]:
    """``bill_from_store`` of November, with the CPU time of this process during the run."""
    started = time.process_time()
    figures = bill_from_store(store, commune_id, _NOVEMBER)
    figures["cpu_s"] = time.process_time() - started
    return figures


class _Waits:
    """Samples, every 10 ms from a thread, what the other backends of the database are doing
    (``pg_stat_activity``: running, or waiting and on what), so that a wait of one run on the other (a
    heavyweight lock: a row, a table, an advisory lock) shows."""

    def __init__(self, url: str) -> None:
        self._url = url
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self.seen: collections.Counter[str] = collections.Counter()
        self.locks = 0

    def __enter__(self) -> _Waits:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join()

    def _sample(self) -> None:
        with psycopg.connect(self._url, autocommit=True) as connection:
            while not self._stop.wait(0.01):
                for state, kind, event in connection.execute(
                    "SELECT state, wait_event_type, wait_event FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid() "
                    "AND backend_type = 'client backend' AND state <> 'idle'"
                ):
                    if state == "idle in transaction":
                        self.seen["waiting for its Python process"] += 1
                        continue
                    self.seen[f"{kind}:{event}" if kind else "running"] += 1
                    self.locks += kind == "Lock"

    def summary(self) -> str:
        total = sum(self.seen.values()) or 1
        shares = ", ".join(f"{name} {count / total:.0%}" for name, count in self.seen.most_common(6))
        return f"{shares}; waiting for a lock (Lock:*) in {self.locks} of {total} samples"


def _bill(url: str, collectivite_id: str, commune_id: str, results: Any) -> None:
    with PostgresStore(url, collectivite_id, pool_size=2) as store:
        results.put(_billed(store, commune_id))


def _pair(url: str, names: list[str], commune_id: str) -> tuple[list[dict[str, float]], float, _Waits]:
    """Two processes billing the collectivités ``names`` of ``url`` at once: their figures, the seconds
    from their start to their end, and what their server backends did meanwhile."""
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    processes = [context.Process(target=_bill, args=(url, name, commune_id, results)) for name in names]
    started = time.perf_counter()
    with _Waits(url) as waits:
        for process in processes:
            process.start()
        pair = [results.get(timeout=3600) for _ in processes]
    together = time.perf_counter() - started
    for process in processes:
        process.join()
    return pair, together, waits


def _alone(url: str, commune_id: str, children: int, *, read_ahead: bool) -> tuple[dict[str, float], float]:
    """The run of the collectivité ``alone`` and its floor, measured on ``url`` (which it bills)."""
    rows, raw_read = floor_read(url, "alone", _NOVEMBER)
    with PostgresStore(url, "alone", pool_size=2, read_ahead=read_ahead) as store:
        run = _billed(store, commune_id)
    lines, raw_write = floor_write(url, "alone")
    floor = raw_read + raw_write
    how = "reading the next batch ahead" if read_ahead else "each batch read by its unit of work"
    print(
        f"November, {children:,} children ({how}): {run['invoices']:,.0f} invoices, {lines:,} lines — "
        f"{run['seconds']:.2f} s (CPU of the process {run['cpu_s']:.2f} s); peak resident size "
        f"{run['memory_peak_mb']:,.0f} MB (growth {run['memory_growth_mb']:,.0f} MB)"
    )
    print(
        f"floor: COPY out of {rows:,} booking rows {raw_read:.2f} s + COPY in of {lines:,} line rows "
        f"{raw_write:.2f} s = {floor:.2f} s; end to end {run['seconds'] / floor:.2f}× the floor "
        "(target ≤ 2×)"
    )
    return run, floor


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--children", type=int, default=10_000)
    parser.add_argument("--no-pair", action="store_true", help="skip the two communes billed at once")
    parser.add_argument(
        "--compare", action="store_true", help="also bill without reading ahead, alternated twice"
    )
    parser.add_argument("--keep", action="store_true", help="keep the city written for the next run")
    args = parser.parse_args([] if argv is None else argv)
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    city = synthetic_city(args.children)
    commune_id = city.commune.collectivite.id
    names = ["alone"] if args.no_pair else ["alone", "first", "second"]
    figures: dict[str, float] = {}
    place = (
        postgres_server.kept_database(f"billing_{args.children}_{len(names)}")
        if args.keep
        else postgres_server.database("billing")
    )
    with place as url:
        if postgres_server.is_marked(url):
            print(f"set-up: the city written by an earlier run with --keep ({', '.join(names)})")
        else:
            for name in names:
                started = time.perf_counter()
                with PostgresStore(url, name) as store:
                    families, bookings = write_city(
                        store, city, families_per_commit=500, after_commit=functools.partial(_analyze, url)
                    )
                print(
                    f"set-up: {families:,} families, {bookings:,} bookings written as {name!r} in "
                    f"{time.perf_counter() - started:.1f} s"
                )
            postgres_server.mark(url)
        ratios: dict[bool, list[float]] = {True: [], False: []}
        for index, read_ahead in enumerate([True, False, True, False] if args.compare else [True]):
            with postgres_server.database(f"billing_copy_{index}", copy_of=url) as copy:
                run, floor = _alone(copy, commune_id, args.children, read_ahead=read_ahead)
            ratios[read_ahead].append(run["seconds"] / floor)
            if index == 0:
                figures.update(seconds=run["seconds"], floor_s=floor, ratio=run["seconds"] / floor)
                figures.update(memory_peak_mb=run["memory_peak_mb"], memory_growth_mb=run["memory_growth_mb"])
        if args.compare:
            print(
                "reading ahead: "
                + ", ".join(f"{ratio:.2f}×" for ratio in ratios[True])
                + "; each batch read by its unit of work: "
                + ", ".join(f"{ratio:.2f}×" for ratio in ratios[False])
            )
        if not args.no_pair:
            with postgres_server.database("billing_pair", copy_of=url) as copy:
                pair, together, waits = _pair(copy, names[1:], commune_id)
            slowest = max(p["seconds"] for p in pair)
            each = ", ".join(f"{p['seconds']:.2f} s (CPU {p['cpu_s']:.2f} s)" for p in pair)
            alone = figures["seconds"]
            print(
                f"two communes at once: {together:.2f} s wall (process start included), the runs "
                f"{each} — {slowest / alone:.2f}× one alone (the first above; target ≤ 1.25×)"
            )
            print(f"what the two runs' server backends were doing, sampled every 10 ms: {waits.summary()}")
            figures.update(pair_s=slowest, pair_ratio=slowest / alone, lock_waits=waits.locks)
    print(f"load average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return figures


if __name__ == "__main__":
    main(sys.argv[1:])
