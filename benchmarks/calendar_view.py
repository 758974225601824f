"""Benchmark of the family calendar view: a month for one child over the example commune's
cantine and périscolaire prestations (issue 3 target: under 5 ms).

Run ``python benchmarks/calendar_view.py``; it prints the first (cold) run and the median of many
runs, in milliseconds. The figures are reported in ``docs/calendar_view.md``.
"""

from __future__ import annotations

import datetime as dt
import statistics
import time
from zoneinfo import ZoneInfo

from espacefamille.calendar.periods import DateRange
from espacefamille.commune import Commune
from espacefamille.examples import example_commune
from espacefamille.model import Booking, BookingStatus, Child, Enrolment, SchoolClass
from espacefamille.rules.attendance import AttendanceFact, AttendanceStatus
from espacefamille.rules.calendar_view import CalendarView, family_calendar
from espacefamille.rules.capacity import PlaceLedger

PARIS = ZoneInfo("Europe/Paris")
RUNS = 500
MONTH = DateRange.month(2026, 11)
NOW = dt.datetime(2026, 11, 10, 9, 0, tzinfo=PARIS)
PRESTATIONS = ("matin", "repas", "soir", "mercredi_journee", "mercredi_matin")
SCHOOL_YEAR = DateRange(dt.date(2026, 9, 1), dt.date(2027, 7, 3))


def _inputs(
    commune: Commune,
) -> tuple[Child, list[Enrolment], list[Booking], dict[str, PlaceLedger], list[AttendanceFact]]:
    """A child in CE2 with a typical week: meals and evenings Monday, Tuesday, Thursday, Friday,
    Wednesdays at the centre (on its place ledger), and attendance recorded up to yesterday."""
    child = Child("lea", "Léa", "Martin", dt.date(2018, 5, 3), ("martin",), school_class=SchoolClass.CE2)
    enrolments = [
        Enrolment("e-cantine", "lea", "martin", "cantine", SCHOOL_YEAR),
        Enrolment("e-peri", "lea", "martin", "periscolaire", SCHOOL_YEAR),
    ]
    booked_at = dt.datetime(2026, 10, 1, 20, 0, tzinfo=PARIS)
    bookings = [
        Booking("lea", prestation, day, "martin", BookingStatus.BOOKED, booked_at)
        for prestation in ("repas", "soir")
        for day in MONTH
        if day.weekday() in (0, 1, 3, 4)
    ]
    wednesdays = [day for day in MONTH if day.weekday() == 2]
    bookings += [
        Booking("lea", "mercredi_journee", day, "martin", BookingStatus.BOOKED, booked_at)
        for day in wednesdays
    ]
    capacity = commune.capacities["mercredi_journee"]
    ledger, _ = PlaceLedger.restore(capacity, [("lea", day, "elementaire") for day in wednesdays], [])
    facts = [
        AttendanceFact("lea", booking.prestation_id, booking.day, AttendanceStatus.PRESENT)
        for booking in bookings
        if booking.day < NOW.date()
    ]
    return child, enrolments, bookings, {"mercredi_journee": ledger}, facts


def main() -> None:
    commune = example_commune()
    child, enrolments, bookings, ledgers, facts = _inputs(commune)

    def run() -> CalendarView:
        return family_calendar(
            commune,
            child,
            MONTH,
            now=NOW,
            enrolments=enrolments,
            bookings=bookings,
            prestation_ids=PRESTATIONS,
            ledgers=ledgers,
            attendance=facts,
        )

    start = time.perf_counter()
    view = run()
    cold = (time.perf_counter() - start) * 1000
    timings = []
    for _ in range(RUNS):
        start = time.perf_counter()
        run()
        timings.append((time.perf_counter() - start) * 1000)
    cells = len(view.cells)
    print(f"calendar view, one child, November 2026, {len(PRESTATIONS)} prestations ({cells} cells)")
    print(f"first run (cold caches): {cold:.2f} ms")
    print(f"median of {RUNS} runs: {statistics.median(timings):.2f} ms (target: under 5 ms)")


if __name__ == "__main__":
    main()
