"""Benchmark: the booking rush — 2,500 families each validating a basket of 5 holiday days (200 places a
day) through 8 worker processes at once, on PostgreSQL and on SQLite side by side.

Target (issue 15): on PostgreSQL ≥ 100 baskets/s and p99 ≤ 1 s on the reference machine (2 cores); on both
stores no family gets an error, never more children than places, and each family told the waiting-list
position it really has. Run:

    .venv/bin/python benchmarks/rush.py [--families 2500] [--workers 8] [--places 200] [--store both]

PostgreSQL is a throwaway embedded server (tests/postgres_server.py), or ``ESPACEFAMILLE_POSTGRES_URL``.
Before the rush the parent previews a basket (``FamilyPortal.preview_basket``, as each family does before
« Valider »), so that the workers forked from it start warm: a process's first basket loads the holiday
tables and babel's locale data (about 150 ms instead of 7), under the places' lock.
It prints, per store, the baskets per second, the median and 99th-percentile latency of a family's call
(its retries included), the errors and what the check found.
"""

from __future__ import annotations

import argparse
import functools
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests import postgres_server, rush  # noqa: E402

from espacefamille.adapters.fake_gateway import FakeGateway  # noqa: E402
from espacefamille.adapters.postgres import PostgresStore  # noqa: E402
from espacefamille.adapters.sqlite import SqliteStore  # noqa: E402
from espacefamille.ports import CommuneStore, FixedClock  # noqa: E402
from espacefamille.services import FamilyPortal  # noqa: E402


def _warm(store: CommuneStore) -> None:
    """Preview the first family's basket: the process loads what judging and pricing a basket needs."""
    portal = FamilyPortal(store, gateway=FakeGateway(), clock=FixedClock(rush.OPENING))
    portal.preview_basket(rush.member(0), rush.family_id(0), rush.basket(0))


def _postgres(families: int, workers: int, places: int) -> tuple[rush.RushResult, list[str]]:
    with postgres_server.database("rush") as url:
        with PostgresStore(url, rush.COLLECTIVITE) as store:
            rush.prepare(store, families, places)
            _warm(store)
        result = rush.rush(
            functools.partial(PostgresStore, url, rush.COLLECTIVITE, pool_size=1), families, workers
        )
        with PostgresStore(url, rush.COLLECTIVITE) as store:
            return result, rush.check(store, result, places)


def _sqlite(families: int, workers: int, places: int) -> tuple[rush.RushResult, list[str]]:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "rush.sqlite"
        rush.prepare(SqliteStore(path), families, places)
        _warm(SqliteStore(path))
        result = rush.rush(functools.partial(SqliteStore, path), families, workers)
        return result, rush.check(SqliteStore(path), result, places)


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--families", type=int, default=2500)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--places", type=int, default=200)
    parser.add_argument("--store", choices=("both", "postgres", "sqlite"), default="both")
    args = parser.parse_args([] if argv is None else argv)
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    figures: dict[str, float] = {}
    stores = ("postgres", "sqlite") if args.store == "both" else (args.store,)
    for name in stores:
        run = _postgres if name == "postgres" else _sqlite
        result, problems = run(args.families, args.workers, args.places)
        print(rush.report(name, result))
        for problem in problems[:10]:
            print(f"  {problem}")
        if len(problems) > 10:
            print(f"  … and {len(problems) - 10} more")
        figures[f"{name}_per_second"] = result.per_second
        figures[f"{name}_p99_s"] = result.latency(0.99)
        figures[f"{name}_errors"] = float(len(result.errors))
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return figures


if __name__ == "__main__":
    main(sys.argv[1:])
