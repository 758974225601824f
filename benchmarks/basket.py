"""Benchmark: a basket booking a whole school year for 3 children × 3 prestations (~1,600 lines).

Target (issue "booking rules"): under 50 ms on the reference machine (2 cores). Run:

    .venv/bin/python benchmarks/basket.py

It prints the number of lines and the median, best and worst of repeated evaluations.
"""

from __future__ import annotations

import datetime as dt
import statistics
import time
from zoneinfo import ZoneInfo

from espacefamille.calendar.periods import DateRange, Weekday
from espacefamille.examples import example_commune
from espacefamille.model import Child, Enrolment, Family, Guardian, SchoolClass
from espacefamille.rules.basket import BasketContext, BasketLine, evaluate_basket, typical_week_lines

PARIS = ZoneInfo("Europe/Paris")
NOW = dt.datetime(2026, 8, 20, 10, 0, tzinfo=PARIS)
YEAR = DateRange(dt.date(2026, 9, 1), dt.date(2027, 7, 3))
SCHOOL_DAYS = (Weekday.MONDAY, Weekday.TUESDAY, Weekday.THURSDAY, Weekday.FRIDAY)


def whole_year_basket() -> tuple[BasketContext, list[BasketLine]]:
    commune = example_commune()
    family = Family("F1", "Martin", [Guardian("G1", "Claire", "Martin")], "G1")
    children = [
        Child(f"C{n}", name, "Martin", dt.date(2016 + n, 3, 1), ["F1"], school_class=SchoolClass.CE1)
        for n, name in enumerate(("Léa", "Tom", "Zoé"))
    ]
    enrolments = [
        Enrolment(f"E{c.id}{s}", c.id, "F1", s, YEAR) for c in children for s in ("cantine", "periscolaire")
    ]
    week = dict.fromkeys(SCHOOL_DAYS, ("repas", "matin", "soir"))
    lines: list[BasketLine] = []
    for child in children:
        lines.extend(typical_week_lines(commune, child.id, week, YEAR).lines)
    return BasketContext(commune, family, children, enrolments), lines


def main(repeat: int = 30) -> dict[str, float]:
    context, lines = whole_year_basket()
    evaluate_basket(context, lines, NOW)  # warm the caches (holidays, school calendar)
    timings = []
    for _ in range(repeat):
        start = time.perf_counter()
        result = evaluate_basket(context, lines, NOW)
        timings.append((time.perf_counter() - start) * 1000)
    accepted = sum(1 for d in result.decisions if not d.is_refused)
    figures = {
        "lines": float(len(lines)),
        "accepted": float(accepted),
        "median_ms": statistics.median(timings),
        "best_ms": min(timings),
        "worst_ms": max(timings),
    }
    print(
        f"basket, whole school year, 3 children × 3 prestations: {len(lines)} lines ({accepted} accepted) — "
        f"median {figures['median_ms']:.1f} ms, best {figures['best_ms']:.1f} ms, "
        f"worst {figures['worst_ms']:.1f} ms (target < 50 ms)"
    )
    return figures


if __name__ == "__main__":
    main()
