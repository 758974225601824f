"""Benchmark: month-end billing of the synthetic city in memory, 10,000 then 100,000 children.

Target (issue "billing"): 100,000 children (about 4 million booking-days) under 10 s on the reference
machine, peak memory under 1.5 GB, and ten times the data costing at most twelve times the time. Run:

    .venv/bin/python benchmarks/billing.py

The city is streamed family by family (``benchmarks/city.py``); the billing time counts only
``bill_family`` (generating the synthetic bookings is timed apart). Peak memory is the process's
maximum resident size (``resource.getrusage``), which includes the interpreter and every document of the
run. Figures are reported in docs/invoicing.md, never asserted by the tests.
"""

from __future__ import annotations

import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from city import ISSUED_ON, City, synthetic_city

from espacefamille.billing.documents import Invoice, Numbering
from espacefamille.billing.invoicing import (
    BillingContext,
    CarriedBalance,
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
    billing = 0.0
    booking_days = lines = 0
    start = time.perf_counter()
    for month in city.families():
        booking_days += len(month.bookings)
        began = time.perf_counter()
        bill, numbering = bill_family(ctx, month, numbering)
        billing += time.perf_counter() - began
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
        "wall_s": wall,
        "total_eur": float(sum(doc.total.cents for doc in documents)) / 100,
    }


def _peak_mb() -> float:
    # ru_maxrss is in kilobytes on Linux.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(sizes: tuple[int, ...] = (10_000, 100_000)) -> list[dict[str, float]]:
    results = []
    for size in sizes:
        figures = bill_city(synthetic_city(size))
        figures["peak_mb"] = _peak_mb()
        results.append(figures)
        print(
            f"month-end billing, {size:,} children: {figures['families']:,.0f} families, "
            f"{figures['booking_days']:,.0f} booking-days → {figures['invoices']:,.0f} invoices, "
            f"{figures['credit_notes']:,.0f} credit notes, {figures['carried']:,.0f} carried, "
            f"{figures['lines']:,.0f} lines — billing {figures['billing_s']:.2f} s "
            f"(with generation {figures['wall_s']:.2f} s), peak RSS {figures['peak_mb']:,.0f} MB "
            "(target for 100,000: < 10 s, < 1.5 GB)"
        )
    if len(results) >= 2:
        ratio = results[-1]["billing_s"] / results[0]["billing_s"]
        scale = results[-1]["children"] / results[0]["children"]
        print(f"{scale:.0f}× the children cost {ratio:.1f}× the billing time (target ≤ 12×)")
    return results


if __name__ == "__main__":
    main()
