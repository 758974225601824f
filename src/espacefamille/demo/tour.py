"""The main job until the command line lands: load the example commune and print a month calendar.

    python -m espacefamille.demo.tour [YYYY-MM] [path/to/commune.toml]

For each prestation and each day of the month: open (●) or closed (·), then, per prestation, the
closed days grouped with the French reason a parent would read.

The rest of the tour is the command line's: ``espacefamille demo`` builds and bills the demo city (its payers
with postal addresses, its households on direct debit with a SEPA mandate), then ``espacefamille pes``,
``espacefamille debits build`` and ``espacefamille attestations`` write the régie's files from its database
(docs/cli.md).
"""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Sequence

from espacefamille.calendar.opening import ClosedBecause, OpeningDay
from espacefamille.calendar.periods import DateRange
from espacefamille.commune import Commune
from espacefamille.config import load_commune
from espacefamille.errors import EspaceFamilleError
from espacefamille.examples import example_commune
from espacefamille.text import count_of, format_date, month_name

__all__ = ["main", "month_calendar_text"]


def _grouped(days: Sequence[OpeningDay]) -> list[tuple[dt.date, dt.date, str]]:
    """Consecutive closed days with the same explanation, as (first, last, explanation)."""
    groups: list[tuple[dt.date, dt.date, str]] = []
    for answer in days:
        if answer.is_open or answer.reason is ClosedBecause.WEEKDAY:
            continue
        text = answer.explain()
        if groups and groups[-1][2] == text and (answer.day - groups[-1][1]).days == 1:
            groups[-1] = (groups[-1][0], answer.day, text)
        else:
            groups.append((answer.day, answer.day, text))
    return groups


def month_calendar_text(commune: Commune, year: int, month: int) -> str:
    """The month calendar of every prestation of ``commune``, in French."""
    period = DateRange.month(year, month)
    coll = commune.collectivite
    lines = [
        f"{coll.name} — {month_name(month)} {year} (zone {coll.school_zone.value}, {coll.timezone})",
        "",
    ]
    prestations = commune.prestations
    answers = {p.id: list(commune.opening_calendar(p.id).days(period)) for p in prestations}
    header = " " * 12 + " ".join(f"{d.day:>2}" for d in period)
    lines.append(header)
    lines.append(" " * 12 + " ".join(format_date(d)[:2] for d in period))
    for prestation in prestations:
        marks = " ".join(" ●" if a.is_open else " ·" for a in answers[prestation.id])
        lines.append(f"{prestation.id[:11]:<11} {marks}")
    lines.append("")
    lines.append("● ouvert   · fermé")
    for prestation in prestations:
        days = answers[prestation.id]
        service = commune.service(prestation.service_id)
        opened = sum(1 for a in days if a.is_open)
        lines.append("")
        lines.append(f"{prestation.name} ({service.name}) — {count_of(opened, 'jour', 'jours')} d'ouverture")
        opening = prestation.opening
        for label, weekdays in (
            ("en période scolaire", opening.school_weekdays),
            ("pendant les vacances", opening.holiday_weekdays),
        ):
            if weekdays:
                names = ", ".join(w.label() for w in sorted(weekdays))
                lines.append(f"  jours de service {label} : {names}")
        for first, last, text in _grouped(days):
            span = format_date(first) if first == last else f"du {format_date(first)} au {format_date(last)}"
            lines.append(f"  {span} : {text}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        year, month = (int(part) for part in (args[0] if args else "2026-12").split("-"))
        commune = load_commune(args[1]) if len(args) > 1 else example_commune()
        print(month_calendar_text(commune, year, month))
    except EspaceFamilleError as error:
        print(error.message_fr, file=sys.stderr)
        return 2
    except ValueError:
        print("Usage : python -m espacefamille.demo.tour [AAAA-MM] [commune.toml]", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
