"""Benchmark: month-end billing of the synthetic city end to end from the in-memory store, against a floor.

``BackOffice.run_month_end`` on a ``MemoryStore`` filled with the city (``sqlite_billing.write_city``,
set-up timed apart), pre-flight included, against a *floor* measured in the same run on the same city:
``billing.bill_city``, which bills every family in memory without any store (``bill_family`` alone). The
store's month end reads each family's records through its repositories, writes the documents and the
carried balances, and commits them: the ratio says what the store adds, and whether it grows with the
city (a read that scans a table for each family makes it grow with the number of families). Run:

    .venv/bin/python benchmarks/memory_billing.py [--children 2000 10000] [--repeats 1]

Each size is run ``repeats`` times (a fresh city and store each time), every run printed, then the median
ratio. Each time is given as wall time and as the process's CPU time, steadier when other work shares the
machine (the CPU ratio is the one to compare between runs). Figures are reported in docs/benchmarks.md,
never asserted by the tests.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from billing import bill_city
from city import synthetic_city
from sqlite_billing import bill_from_store, write_city

from espacefamille.adapters.memory import MemoryStore

__all__ = ["main", "month_end_in_memory"]


def month_end_in_memory(children: int) -> dict[str, float]:
    """One run: the city written into a fresh ``MemoryStore``, billed through the back office, and the
    floor (``bill_city``) on the same city; the figures, printed."""
    city = synthetic_city(children)
    floor = bill_city(city)
    store = MemoryStore()
    started = time.perf_counter()
    families, bookings = write_city(store, city)
    written = time.perf_counter() - started
    began_cpu = time.process_time()
    run = bill_from_store(store, city.commune.collectivite.id, city.month)
    cpu = time.process_time() - began_cpu
    ratio, cpu_ratio = run["seconds"] / floor["billing_s"], cpu / floor["cpu_s"]
    print(
        f"{children:,} children ({families:,} families, {bookings:,} bookings, written in {written:.1f} s): "
        f"month end on MemoryStore {run['seconds']:.2f} s (CPU {cpu:.2f} s), {run['invoices']:,.0f} invoices "
        f"— floor (bill_family alone, no store) {floor['billing_s']:.2f} s (CPU {floor['cpu_s']:.2f} s): "
        f"{ratio:.1f}× the floor (CPU {cpu_ratio:.1f}×)"
    )
    return {
        "children": float(children),
        "seconds": run["seconds"],
        "floor_s": floor["billing_s"],
        "ratio": ratio,
        "cpu_ratio": cpu_ratio,
    }


def main(argv: list[str] | None = None) -> list[dict[str, float]]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--children", type=int, nargs="+", default=[2_000, 10_000])
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args(argv)
    results = []
    for children in args.children:
        runs = [month_end_in_memory(children) for _ in range(args.repeats)]
        median = {key: statistics.median(run[key] for run in runs) for key in runs[0]}
        if args.repeats > 1:
            print(
                f"{children:,} children, median of {args.repeats}: {median['ratio']:.1f}× the floor "
                f"(CPU {median['cpu_ratio']:.1f}×)"
            )
        results.append(median)
    if len(results) >= 2:
        first, last = results[0], results[-1]
        scale, growth = last["children"] / first["children"], last["cpu_ratio"] / first["cpu_ratio"]
        print(
            f"{scale:.0f}× the children: {growth:.1f}× the CPU ratio to the floor "
            "(1× when the store's month end grows as the billing does)"
        )
    return results


if __name__ == "__main__":
    main()
