"""Benchmark: month-end billing of the synthetic city in memory, 10,000 then 100,000 children.

Target (issue "billing"): 100,000 children (about 4 million booking-days) under 10 s on the reference
machine, peak memory under 1.5 GB, and ten times the data costing at most twelve times the time. Run:

    .venv/bin/python benchmarks/billing.py [repeats]

The city is streamed family by family (``benchmarks/city.py``); the billing time counts only
``bill_family`` on each family's ``FamilyMonth`` (generating the synthetic bookings is timed apart), as
wall time and as the process's CPU time (steadier when other work shares the machine). A ``FamilyMonth``
holds bookings as runs of days (``BookedDays``), as the SQLite store reads them (grouped in SQL); making
the runs from the generator's day-by-day ``Booking`` values is timed apart and printed too. Apart from
it, the time of grouping the booking-days alone (the first phase of ``bill_family``) is measured in a
separate pass over each family;
the rest is pricing and writing the lines and documents. With ``repeats`` > 1, each size is billed that
many times, each run printed, then the medians. Peak memory is the process's maximum resident size
(``resource.getrusage``), which includes the interpreter and every document of the run. Figures are
reported in docs/invoicing.md and docs/benchmarks.md, never asserted by the tests.
"""

from __future__ import annotations

import resource
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from city import ISSUED_ON, City, synthetic_city

from espacefamille.billing.documents import Invoice, Numbering
from espacefamille.billing.invoice_lines import _collect
from espacefamille.billing.invoicing import (
    BillingContext,
    CarriedBalance,
    FamilyMonth,
    FamilyOutcome,
    bill_family,
)


def bill_city(city: City) -> dict[str, float]:
    """Bill every family of ``city``; the figures of the run."""
    ctx = BillingContext(city.commune, "enfance", city.month, ISSUED_ON)
    numbering = Numbering()
    documents: list[Invoice] = []
    carried: list[CarriedBalance] = []
    outcomes: list[FamilyOutcome] = []
    billing = cpu = grouping = 0.0
    booking_days = lines = 0
    runs = 0.0
    start = time.perf_counter()
    for family, children, bookings, facts in city.households():
        booking_days += len(bookings)
        began = time.perf_counter()
        month = FamilyMonth(family, children, bookings, facts)  # the day-by-day bookings as runs
        runs += time.perf_counter() - began
        began = time.perf_counter()
        _collect(ctx, month, None)  # the grouping phase alone, not counted in the billing time
        grouped = time.perf_counter()
        began_cpu = time.process_time()
        bill, numbering = bill_family(ctx, month, numbering)
        cpu += time.process_time() - began_cpu
        billing += time.perf_counter() - grouped
        grouping += grouped - began
        outcomes.append(bill.outcome)
        if bill.document is not None:
            documents.append(bill.document)
            lines += len(bill.document.lines)
        if bill.carried is not None:
            carried.append(bill.carried)
    wall = time.perf_counter() - start
    invoices = [doc for doc in documents if not doc.is_credit_note]
    return {
        "children": float(city.children),
        "families": float(len(outcomes)),
        "booking_days": float(booking_days),
        "invoices": float(len(invoices)),
        "credit_notes": float(len(documents) - len(invoices)),
        "carried": float(len(carried)),
        "lines": float(lines),
        "billing_s": billing,
        "cpu_s": cpu,
        "grouping_s": grouping,
        "runs_s": runs,
        "wall_s": wall,
        "total_eur": float(sum(doc.total.cents for doc in documents)) / 100,
    }


def _peak_mb() -> float:
    # ru_maxrss is in kilobytes on Linux.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _report(size: int, figures: dict[str, float], label: str = "") -> None:
    print(
        f"month-end billing{label}, {size:,} children: {figures['families']:,.0f} families, "
        f"{figures['booking_days']:,.0f} booking-days → {figures['invoices']:,.0f} invoices, "
        f"{figures['credit_notes']:,.0f} credit notes, {figures['carried']:,.0f} carried, "
        f"{figures['lines']:,.0f} lines — billing {figures['billing_s']:.2f} s "
        f"(CPU {figures['cpu_s']:.2f} s; grouping the booking-days alone {figures['grouping_s']:.2f} s; "
        f"before it, making runs of days of the day-by-day bookings {figures['runs_s']:.2f} s; "
        f"with generation {figures['wall_s']:.2f} s), peak RSS {figures['peak_mb']:,.0f} MB "
        "(target for 100,000: < 10 s, < 1.5 GB)"
    )


def main(sizes: tuple[int, ...] = (10_000, 100_000), repeats: int = 1) -> list[dict[str, float]]:
    results = []
    for size in sizes:
        runs = []
        for _ in range(repeats):
            figures = bill_city(synthetic_city(size))
            figures["peak_mb"] = _peak_mb()
            runs.append(figures)
            if repeats > 1:
                _report(size, figures, " (one run)")
        figures = {key: statistics.median(run[key] for run in runs) for key in runs[0]}
        results.append(figures)
        _report(size, figures, f" (median of {repeats})" if repeats > 1 else "")
    if len(results) >= 2:
        ratio = results[-1]["billing_s"] / results[0]["billing_s"]
        scale = results[-1]["children"] / results[0]["children"]
        print(f"{scale:.0f}× the children cost {ratio:.1f}× the billing time (target ≤ 12×)")
    return results


if __name__ == "__main__":
    main(repeats=int(sys.argv[1]) if len(sys.argv) > 1 else 1)
