"""Days of the week and inclusive date ranges, the two shapes every calendar rule is written in."""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterator

import attrs

from espacefamille.errors import InvalidInput
from espacefamille.text import Lang, format_date

__all__ = ["DateRange", "Weekday", "iso_week_label", "iter_days"]


class Weekday(enum.IntEnum):
    """A day of the week, numbered like ``date.weekday()`` (Monday is 0)."""

    MONDAY = 0
    TUESDAY = 1
    WEDNESDAY = 2
    THURSDAY = 3
    FRIDAY = 4
    SATURDAY = 5
    SUNDAY = 6

    @property
    def key(self) -> str:
        """The configuration spelling: ``"monday"``."""
        return self.name.lower()

    def label(self, lang: Lang = "fr") -> str:
        """``lundi`` in French, ``Monday`` in English."""
        return _FR_NAMES[self] if lang == "fr" else self.name.capitalize()

    @classmethod
    def of(cls, day: dt.date) -> Weekday:
        return cls(day.weekday())

    @classmethod
    def parse(cls, text: str) -> Weekday:
        """From the configuration spelling (``"monday"``); French names are accepted too."""
        key = text.strip().lower()
        for weekday in cls:
            if key in (weekday.key, _FR_NAMES[weekday]):
                return weekday
        raise InvalidInput(
            f"unknown weekday {text!r} (expected monday … sunday)",
            message_fr=f"Jour de la semaine inconnu : « {text} ».",
            code="calendar.unknown_weekday",
        )


_FR_NAMES = {
    Weekday.MONDAY: "lundi",
    Weekday.TUESDAY: "mardi",
    Weekday.WEDNESDAY: "mercredi",
    Weekday.THURSDAY: "jeudi",
    Weekday.FRIDAY: "vendredi",
    Weekday.SATURDAY: "samedi",
    Weekday.SUNDAY: "dimanche",
}


def _check_range(instance: DateRange, attribute: attrs.Attribute[dt.date], end: dt.date) -> None:
    for name, value in (("start", instance.start), ("end", end)):
        if not isinstance(value, dt.date) or isinstance(value, dt.datetime):
            raise InvalidInput(f"{name} must be a date, got {value!r}", code="input.not_a_date")
    if end < instance.start:
        raise InvalidInput(
            f"end {end} is before start {instance.start}",
            message_fr=(
                f"La date de fin ({format_date(end)}) précède la date de début "
                f"({format_date(instance.start)})."
            ),
            code="input.end_before_start",
        )


@attrs.frozen(order=True)
class DateRange:
    """The days from ``start`` to ``end``, both included."""

    start: dt.date
    end: dt.date = attrs.field(validator=_check_range)

    def __contains__(self, day: object) -> bool:
        if isinstance(day, dt.datetime):
            raise InvalidInput(
                f"a DateRange holds dates; convert the instant {day.isoformat()} to the commune's date first",
                code="input.not_a_date",
            )
        return isinstance(day, dt.date) and self.start <= day <= self.end

    def __iter__(self) -> Iterator[dt.date]:
        return iter_days(self.start, self.end)

    def __len__(self) -> int:
        return (self.end - self.start).days + 1

    def overlaps(self, other: DateRange) -> bool:
        return self.start <= other.end and other.start <= self.end

    @classmethod
    def month(cls, year: int, month: int) -> DateRange:
        """The whole calendar month."""
        first = dt.date(year, month, 1)
        following = dt.date(year + month // 12, month % 12 + 1, 1)
        return cls(first, following - dt.timedelta(days=1))

    @classmethod
    def iso_week(cls, year: int, week: int) -> DateRange:
        """Monday to Sunday of an ISO week, as the portal's "Semaine 47" view shows it."""
        monday = dt.date.fromisocalendar(year, week, 1)
        return cls(monday, monday + dt.timedelta(days=6))


def iter_days(start: dt.date, end: dt.date) -> Iterator[dt.date]:
    """Every day from ``start`` to ``end`` included."""
    day = start
    one = dt.timedelta(days=1)
    while day <= end:
        yield day
        day += one


def iso_week_label(day: dt.date, lang: Lang = "fr") -> str:
    """``Semaine 47 du lundi 16 novembre 2026 au dimanche 22 novembre 2026``."""
    year, week, _ = day.isocalendar()
    span = DateRange.iso_week(year, week)
    if lang == "fr":
        return f"Semaine {week} du {format_date(span.start)} au {format_date(span.end)}"
    return f"Week {week} from {format_date(span.start, 'en')} to {format_date(span.end, 'en')}"
