"""Benchmark: month-end billing of the synthetic city end to end from SQLite, like for like.

Targets (issue "One month-end path", performance): billing the city through ``BackOffice.run_month_end`` on
the SQLite store — read every family's month, price it, write the invoices, their lines, numbers, events —
in at most twice a *floor* measured in the same run: a raw ``sqlite3`` read of the same booking rows
(``sqlite_read.read_raw``) plus a raw ``executemany`` insert of as many invoice-line rows as the run wrote,
the very rows it wrote (same columns, same bytes), into a scratch table of a scratch copy of the city, in one
transaction then committed. Besides, in the same run:

* memory: the growth of the peak resident size during the run (flat with the city: compare 10,000 and
  100,000 children);
* baskets: how long a family validating a basket waits while the city is billed (target ≤ 1 s), from a
  second process (the portal and the back office are different processes in production; a thread would
  share the billing's GIL) and, for comparison, from a thread of the billing process;
* corrections: after the November run, 1 % of November's booked days become justified absences (a few
  through ``BackOffice.record_attendance``, the rest through the same unit-of-work calls it makes, see
  ``correct_days``), then the December run — which bills only their regularisations, the city having
  November bookings only — is timed against the November run and the floor.

Run:

    .venv/bin/python benchmarks/sqlite_billing.py [--children 100000] [--path /tmp/city.sqlite] [--no-check]

Each run starts with its pre-flight (``BackOffice.check_month_end``); ``--no-check`` runs without it, to
measure what the check costs.

Writing the city (``benchmarks/city.py``: families, children, bookings, attendance) into a fresh store is
set-up, timed apart; with ``--path`` an existing file is reused (every run happens on a copy). Figures are
reported in docs/benchmarks.md, never asserted by the tests.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import random
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from _basket_worker import basket_seconds
from city import ISSUED_ON, City, synthetic_city
from sqlite_read import read_raw  # the yardstick's read: the same raw read of every booking row

from espacefamille.adapters.fake_gateway import FakeGateway
from espacefamille.adapters.sqlite import SqliteStore
from espacefamille.calendar.periods import DateRange
from espacefamille.families.accounts import Agent, AgentRole
from espacefamille.model import Enrolment
from espacefamille.ports import CommuneStore, FixedClock
from espacefamille.rules.attendance import AttendanceFact, AttendanceStatus
from espacefamille.services import BackOffice, FamilyPortal

__all__ = [
    "baskets",
    "bill_from_store",
    "correct_days",
    "floor_insert",
    "like_for_like",
    "main",
    "write_city",
]

_FAMILIES_PER_COMMIT = 2_000
_NOW = dt.datetime(2026, 12, 1, 7, 0, tzinfo=dt.UTC)
_CORRECTED_AT = dt.datetime(2026, 12, 3, 9, 0, tzinfo=dt.UTC)
_DECEMBER_RUN_AT = dt.datetime(2027, 1, 4, 7, 0, tzinfo=dt.UTC)
_DECEMBER_ISSUED_ON = dt.date(2027, 1, 4)
_SCHOOL_YEAR = DateRange(dt.date(2026, 9, 1), dt.date(2027, 7, 3))
_CORRECTED_SHARE = 0.01
_JUSTIFIED = AttendanceStatus.ABSENT_JUSTIFIED
_FACTS_PER_CALL = 200  # corrections per BackOffice.record_attendance call (see correct_days)
_BASKET_INTERVAL_S = 0.5
_BATCH = 500  # BackOffice.run_month_end's default (MONTH_END_BATCH)
_LINE_COLUMNS = (
    "invoice_number, position, child_id, prestation_id, label, reason, days, quantity, unit_price, "
    "total_cents, explanation, regularises_invoice, regularises_day, minutes"
)


def write_city(
    store: CommuneStore,
    city: City,
    *,
    families_per_commit: int = _FAMILIES_PER_COMMIT,
    after_commit: Callable[[], None] | None = None,
) -> tuple[int, int]:
    """Write the commune and every family of ``city`` (children, bookings, attendance), ``after_commit``
    called after each commit.

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
            for _ in range(families_per_commit):
                household = next(households, None)
                if household is None:
                    done = True
                    break
                family, children, booked, facts = household
                uow.families.save(family)
                for child in children:
                    uow.families.save_child(child)
                uow.bookings.save(booked)
                uow.attendance.save(facts, family.id)
                families += 1
                bookings += len(booked)
            uow.commit()
        if after_commit is not None:
            after_commit()
    return families, bookings


# -- memory -------------------------------------------------------------------------------------------


def _reset_peak() -> None:
    """Make the peak resident size the current one (Linux: ``clear_refs`` 5), so a run's peak is its own."""
    # Not Linux: ru_maxrss only ever grows, and the figures are upper bounds.
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def _peak_mb() -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:  # pragma: no cover
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return _peak_mb()  # pragma: no cover


# -- the runs -----------------------------------------------------------------------------------------


def bill_from_store(
    store: CommuneStore,
    commune_id: str,
    month: DateRange,
    *,
    now: dt.datetime = _NOW,
    issued_on: dt.date = ISSUED_ON,
    batch: int = _BATCH,
    check: bool = True,
) -> dict[str, float]:
    """Month-end billing of ``month`` through the back office (its pre-flight first unless ``check`` is
    False); the figures of the run."""
    agent = Agent("regisseur", commune_id, AgentRole.REGISSEUR)
    back_office = BackOffice(store, clock=FixedClock(now))
    _reset_peak()
    rss_before = _rss_mb()
    started = time.perf_counter()
    report = back_office.run_month_end(
        agent, "enfance", month, issued_on=issued_on, batch=batch, pause_collector=True, check=check
    )
    seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "invoices": float(report.invoices),
        "credit_notes": float(report.credit_notes),
        "carried": float(report.carried),
        "memory_growth_mb": _peak_mb() - rss_before,
        "memory_peak_mb": _peak_mb(),
        "memory_start_mb": rss_before,
    }


def _copy(source: Path, target: Path) -> Path:
    shutil.copyfile(source, target)
    os.sync()  # the copy reaches the disk before a clock starts, not during what it times
    return target


def _lines(path: Path, month: DateRange) -> list[tuple[object, ...]]:
    """Every invoice-line row of the documents of ``month``, as stored, in the order they were written."""
    columns = ", ".join(f"l.{name.strip()}" for name in _LINE_COLUMNS.split(","))
    connection = sqlite3.connect(path)
    try:
        return connection.execute(
            f"SELECT {columns} FROM invoice_lines AS l JOIN invoices AS i ON i.number = l.invoice_number "
            "WHERE i.period_start = ? ORDER BY l.invoice_number, l.position",
            (month.start.isoformat(),),
        ).fetchall()
    finally:
        connection.close()


def _count(path: Path, sql: str) -> int:
    connection = sqlite3.connect(path)
    try:
        return int(connection.execute(sql).fetchone()[0])
    finally:
        connection.close()


def floor_insert(scratch: Path, rows: list[tuple[object, ...]]) -> float:
    """Seconds to insert ``rows`` with one ``executemany`` into a scratch table shaped as ``invoice_lines``
    (same columns and primary key, clustered the same way) of ``scratch``, in one transaction, committed.

    Same settings as the store's connections (WAL, ``synchronous = NORMAL``); no foreign key checked.
    """
    connection = sqlite3.connect(scratch, isolation_level=None)
    try:
        connection.execute("PRAGMA synchronous = NORMAL")
        connection.execute(
            """CREATE TABLE floor_lines (
            invoice_number TEXT NOT NULL, position INTEGER NOT NULL, child_id TEXT NOT NULL,
            prestation_id TEXT NOT NULL, label TEXT NOT NULL, reason TEXT NOT NULL, days TEXT NOT NULL,
            quantity TEXT NOT NULL, unit_price TEXT NOT NULL, total_cents INTEGER NOT NULL,
            explanation TEXT NOT NULL, regularises_invoice TEXT, regularises_day TEXT, minutes INTEGER,
            PRIMARY KEY (invoice_number, position)) WITHOUT ROWID"""
        )
        started = time.perf_counter()
        connection.execute("BEGIN")
        connection.executemany(
            f"INSERT INTO floor_lines ({_LINE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
        connection.execute("COMMIT")
        return time.perf_counter() - started
    finally:
        connection.close()


def _row_bytes(row: tuple[object, ...]) -> int:
    return sum(
        len(str(value).encode()) if isinstance(value, str) else 8 for value in row if value is not None
    )


# -- corrections --------------------------------------------------------------------------------------


def _days_to_correct(path: Path, share: float, seed: int = 2026) -> list[tuple[str, AttendanceFact]]:
    """(family, justified absence) for about ``share`` of the month's booked days, drawn one by one among
    those with no fact yet (the city's bookings are streamed, not held)."""
    draw = random.Random(seed).random
    query = (
        "FROM bookings AS b LEFT JOIN attendance AS a USING (child_id, prestation_id, day) "
        "WHERE b.status = 'booked' AND a.child_id IS NULL"
    )
    booked = _count(path, "SELECT count(*) FROM bookings WHERE status = 'booked'")
    share *= booked / max(1, _count(path, f"SELECT count(*) {query}"))
    connection = sqlite3.connect(path)
    try:
        rows = connection.execute(
            f"SELECT b.family_id, b.child_id, b.prestation_id, b.day {query} ORDER BY b.family_id, b.day"
        )
        return [
            (family_id, AttendanceFact(child_id, prestation_id, dt.date.fromisoformat(day), _JUSTIFIED))
            for family_id, child_id, prestation_id, day in rows
            if draw() < share
        ]
    finally:
        connection.close()


def correct_days(
    store: SqliteStore, commune_id: str, corrections: list[tuple[str, AttendanceFact]]
) -> dict[str, float]:
    """Record ``corrections`` through ``BackOffice.record_attendance`` with the clock after the November run,
    ``_FACTS_PER_CALL`` facts per call (an agent's screen of a day); the seconds it took."""
    agent = Agent("agent-1", commune_id, AgentRole.ADMINISTRATEUR)
    office = BackOffice(store, clock=FixedClock(_CORRECTED_AT))
    facts = [fact for _, fact in corrections]
    started = time.perf_counter()
    for start in range(0, len(facts), _FACTS_PER_CALL):
        office.record_attendance(agent, facts[start : start + _FACTS_PER_CALL])
    return {
        "through_service": float(len(facts)),
        "through_service_s": time.perf_counter() - started,
        "families": float(len({family_id for family_id, _ in corrections})),
    }


# -- baskets during a run -----------------------------------------------------------------------------


def _basket_families(path: Path, count: int) -> list[tuple[str, str, str]]:
    """``count`` families spread over the city: (family, its payer, its first child)."""
    connection = sqlite3.connect(path)
    try:
        rows = connection.execute(
            "SELECT f.id, f.payer_id, min(c.child_id) FROM families AS f "
            "JOIN child_families AS c ON c.family_id = f.id GROUP BY f.id ORDER BY f.id"
        ).fetchall()
    finally:
        connection.close()
    step = max(1, len(rows) // count)
    return [(str(f), str(g), str(c)) for f, g, c in rows[::step]][:count]


def _enrol(path: Path, families: list[tuple[str, str, str]]) -> Path:
    """Set-up of a basket run: the basket families' first children enrolled at the canteen for the year
    (the synthetic city enrols nobody; billing does not look at enrolments)."""
    store = SqliteStore(path)
    with store.unit_of_work() as uow:
        service_id = uow.commune().prestation("repas").service_id
        for family_id, _, child_id in families:
            uow.families.save_enrolment(
                Enrolment(f"E-{child_id}", child_id, family_id, service_id, _SCHOOL_YEAR)
            )
        uow.commit()
    os.sync()
    return path


def _run_in_thread(run: Callable[[], dict[str, float]]) -> tuple[threading.Thread, dict[str, float]]:
    figures: dict[str, float] = {}
    thread = threading.Thread(target=lambda: figures.update(run()))
    thread.start()
    return thread, figures


def baskets_from_process(
    path: Path, commune_id: str, month: DateRange, families: list[tuple[str, str, str]], stop: Path
) -> dict[str, object]:
    """Baskets validated by a second process while this one bills the city."""
    worker = subprocess.Popen(
        [
            sys.executable,
            str(Path(__file__).parent / "_basket_worker.py"),
            str(path),
            commune_id,
            _NOW.isoformat(),
            str(_BASKET_INTERVAL_S),
            str(stop),
            *(":".join(family) for family in families),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert worker.stdin is not None
    assert worker.stdout is not None
    if worker.stdout.readline().strip() != "ready":
        raise RuntimeError("the basket worker did not start")
    worker.stdin.write("go\n")
    worker.stdin.flush()
    figures = bill_from_store(SqliteStore(path), commune_id, month)
    stop.touch()
    out, _ = worker.communicate(timeout=120)
    waits: dict[str, list[float]] = json.loads(out)
    return {"run": figures, **waits}


def baskets_from_thread(
    path: Path, commune_id: str, month: DateRange, families: list[tuple[str, str, str]]
) -> dict[str, object]:
    """Baskets validated by this process's main thread while a thread of it bills the city."""
    store = SqliteStore(path)
    portal = FamilyPortal(store, gateway=FakeGateway(), clock=FixedClock(_NOW))
    queue = iter(families)
    idle = [basket_seconds(portal, commune_id, _NOW, next(queue)) for _ in range(3)]
    thread, figures = _run_in_thread(lambda: bill_from_store(SqliteStore(path), commune_id, month))
    during: list[float] = []
    for family in queue:
        if not thread.is_alive():
            break
        during.append(basket_seconds(portal, commune_id, _NOW, family))
        time.sleep(_BASKET_INTERVAL_S)
    thread.join()
    return {"run": figures, "idle": idle, "during": during}


def _describe_waits(what: str, result: dict[str, object]) -> str:
    idle = result["idle"]
    during = result["during"]
    run = result["run"]
    assert isinstance(idle, list)
    assert isinstance(during, list)
    assert isinstance(run, dict)
    if not during:
        return f"baskets from {what}: none validated during the run ({run['seconds']:.2f} s)"
    return (
        f"baskets from {what} during the run ({run['seconds']:.2f} s, batches of {_BATCH} families): "
        f"{len(during)} baskets, median {statistics.median(during) * 1000:.0f} ms, "
        f"max {max(during) * 1000:.0f} ms (idle: median {statistics.median(idle) * 1000:.0f} ms) "
        "(target ≤ 1 s)"
    )


# -- main -----------------------------------------------------------------------------------------------


def like_for_like(
    source: Path, folder: Path, commune_id: str, children: int, *, check: bool = True
) -> dict[str, float]:
    """November end to end against the floor, then 1 % of corrections and December (each run with its
    pre-flight unless ``check`` is False); printed, returned."""
    november, december = DateRange.month(2026, 11), DateRange.month(2026, 12)
    path = _copy(source, folder / "run.sqlite")
    started = time.perf_counter()
    rows = read_raw(path)
    raw_read = time.perf_counter() - started
    store = SqliteStore(path)
    run = bill_from_store(store, commune_id, november, check=check)
    lines = _count(path, "SELECT count(*) FROM invoice_lines")
    print(
        f"November, {children:,} children: {run['invoices']:,.0f} invoices, {run['credit_notes']:,.0f} "
        f"credit notes, {run['carried']:,.0f} carried, {lines:,} lines — {run['seconds']:.2f} s; peak "
        f"resident size during the run {run['memory_peak_mb']:,.0f} MB (at its start "
        f"{run['memory_start_mb']:,.0f} MB: growth {run['memory_growth_mb']:,.0f} MB)"
    )
    corrections = _days_to_correct(path, _CORRECTED_SHARE)
    corrected = correct_days(store, commune_id, corrections)
    print(
        f"corrections: {len(corrections):,} booked days of November ({_CORRECTED_SHARE:.0%}) become "
        f"justified absences in {corrected['families']:,.0f} families; "
        f"through record_attendance ({_FACTS_PER_CALL} facts a call) in "
        f"{corrected['through_service_s']:.2f} s "
        f"({corrected['through_service_s'] / max(1.0, corrected['through_service']) * 1000:.2f} ms a fact)"
    )
    later = bill_from_store(
        store, commune_id, december, now=_DECEMBER_RUN_AT, issued_on=_DECEMBER_ISSUED_ON, check=check
    )
    december_lines = _count(path, "SELECT count(*) FROM invoice_lines") - lines
    regularisations = _count(path, "SELECT count(*) FROM invoice_lines WHERE regularises_invoice IS NOT NULL")
    del store
    # The floor's write: the very rows the November run wrote, raw, into a scratch copy of the city.
    november_rows = _lines(path, november)
    assert len(november_rows) == lines
    mean_bytes = sum(_row_bytes(row) for row in november_rows) / max(1, lines)
    scratch = _copy(source, folder / "scratch.sqlite")
    raw_write = floor_insert(scratch, november_rows)
    del november_rows
    floor = raw_read + raw_write
    ratio = run["seconds"] / floor
    print(
        f"floor: raw sqlite3 read of {rows:,} booking rows {raw_read:.2f} s + raw executemany insert of "
        f"{lines:,} line rows (about {mean_bytes:.0f} bytes each) {raw_write:.2f} s = {floor:.2f} s"
    )
    print(
        f"end to end: November {run['seconds']:.2f} s = {ratio:.2f}× the floor "
        f"({run['seconds'] / raw_read:.2f}× the raw read alone) (target ≤ 2×)"
    )
    print(
        f"December after the corrections: {later['invoices']:,.0f} invoices, "
        f"{later['credit_notes']:,.0f} credit notes, {december_lines:,} lines "
        f"({regularisations:,} regularisations) — {later['seconds']:.2f} s = "
        f"{later['seconds'] / run['seconds']:.2f}× the November run, {later['seconds'] / floor:.2f}× the "
        f"floor; peak resident size {later['memory_peak_mb']:,.0f} MB (growth "
        f"{later['memory_growth_mb']:,.0f} MB)"
    )
    for file in (path, scratch):
        file.unlink()
    return {
        "seconds": run["seconds"],
        "invoices": run["invoices"],
        "lines": float(lines),
        "memory_growth_mb": run["memory_growth_mb"],
        "memory_peak_mb": run["memory_peak_mb"],
        "raw_read_s": raw_read,
        "raw_write_s": raw_write,
        "floor_s": floor,
        "ratio": ratio,
        "corrections": float(len(corrections)),
        "december_s": later["seconds"],
        "december_lines": float(december_lines),
    }


def baskets(source: Path, folder: Path, commune_id: str, run_seconds: float) -> dict[str, float]:
    """Baskets while the city is billed, from a second process then from a thread; printed, returned."""
    november = DateRange.month(2026, 11)
    count = max(8, int(run_seconds / _BASKET_INTERVAL_S) + 8)
    chosen = _basket_families(source, 2 * count)
    for_process, for_thread = chosen[:count], chosen[count:]
    path = _enrol(_copy(source, folder / "baskets-process.sqlite"), for_process)
    by_process = baskets_from_process(path, commune_id, november, for_process, folder / "stop")
    print(_describe_waits("a second process", by_process))
    path.unlink()
    path = _enrol(_copy(source, folder / "baskets-thread.sqlite"), for_thread)
    by_thread = baskets_from_thread(path, commune_id, november, for_thread)
    print(_describe_waits("a thread of the billing process", by_thread))
    path.unlink()
    figures: dict[str, float] = {}
    for name, found in (("process", by_process), ("thread", by_thread)):
        during = found["during"]
        assert isinstance(during, list)
        if during:
            figures[f"basket_{name}_max_s"] = max(during)
            figures[f"basket_{name}_median_s"] = statistics.median(during)
    return figures


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--children", type=int, default=100_000)
    parser.add_argument("--path", type=Path, help="city database to write once and reuse (under /tmp)")
    parser.add_argument("--no-baskets", action="store_true", help="skip the two runs with baskets")
    parser.add_argument(
        "--no-check", action="store_true", help="runs without their pre-flight (run_month_end check=False)"
    )
    args = parser.parse_args(argv)
    city = synthetic_city(args.children)
    commune_id = city.commune.collectivite.id
    with tempfile.TemporaryDirectory(dir=None if args.path is None else args.path.parent) as directory:
        folder = Path(directory)
        source = args.path if args.path is not None else folder / "city.sqlite"
        if source.exists():
            SqliteStore(source)  # brought to the current schema once, not in every copy
        else:
            started = time.perf_counter()
            families, bookings = write_city(SqliteStore(source), city)
            print(
                f"wrote {families:,} families, {bookings:,} bookings of {args.children:,} children "
                f"in {time.perf_counter() - started:.1f} s"
            )
        figures = like_for_like(source, folder, commune_id, args.children, check=not args.no_check)
        if not args.no_baskets:
            figures.update(baskets(source, folder, commune_id, figures["seconds"]))
        return figures


if __name__ == "__main__":
    main()
