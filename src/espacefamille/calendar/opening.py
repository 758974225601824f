"""Opening calendars: on which days a prestation runs, and for every other day, why not.

A prestation opens on some weekdays in school periods (a canteen: Monday, Tuesday, Thursday,
Friday), on some weekdays during school holidays (a holiday centre), never on public holidays
unless told, and not during the commune's exceptional closures (strike, training day, outing).
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable, Iterator

import attrs

from espacefamille.calendar.commune import CommuneCalendar
from espacefamille.calendar.periods import DateRange, Weekday
from espacefamille.text import Lang, format_date

__all__ = ["ClosedBecause", "Closure", "ClosureReason", "Opening", "OpeningCalendar", "OpeningDay"]


class ClosureReason(enum.Enum):
    """Why the commune closes a service on given days."""

    STRIKE = "strike"
    TRAINING = "training"
    OUTING = "outing"
    WEATHER = "weather"
    WORKS = "works"
    OTHER = "other"

    def label(self, lang: Lang = "fr") -> str:
        return _CLOSURE_LABELS[self][0 if lang == "fr" else 1]


_CLOSURE_LABELS = {
    ClosureReason.STRIKE: ("grève", "strike"),
    ClosureReason.TRAINING: ("journée de formation", "training day"),
    ClosureReason.OUTING: ("sortie", "outing"),
    ClosureReason.WEATHER: ("intempéries", "weather"),
    ClosureReason.WORKS: ("travaux", "works"),
    ClosureReason.OTHER: ("fermeture exceptionnelle", "exceptional closure"),
}


@attrs.frozen
class Closure:
    """An exceptional closure decided by the commune; families have nothing to do."""

    period: DateRange
    reason: ClosureReason
    label: str = ""

    def describe(self, lang: Lang = "fr") -> str:
        return self.label or self.reason.label(lang)


def _closures(items: Iterable[Closure]) -> tuple[Closure, ...]:
    return tuple(items)


def _weekdays(values: Iterable[Weekday]) -> frozenset[Weekday]:
    return frozenset(Weekday(v) for v in values)


@attrs.frozen
class Opening:
    """When a prestation runs. ``season`` (optional) bounds it, e.g. one school year."""

    school_weekdays: frozenset[Weekday] = attrs.field(converter=_weekdays, factory=frozenset)
    holiday_weekdays: frozenset[Weekday] = attrs.field(converter=_weekdays, factory=frozenset)
    closures: tuple[Closure, ...] = attrs.field(converter=_closures, default=())
    season: DateRange | None = None
    open_on_public_holidays: bool = False


class ClosedBecause(enum.Enum):
    """The reason a day is closed, in the order they are checked."""

    OUTSIDE_SEASON = "outside_season"
    PUBLIC_HOLIDAY = "public_holiday"
    CLOSURE = "closure"
    SCHOOL_HOLIDAYS = "school_holidays"
    SCHOOL_PERIOD = "school_period"
    WEEKDAY = "weekday"

    @property
    def code(self) -> str:
        return f"calendar.closed.{self.value}"


@attrs.frozen
class OpeningDay:
    """The answer for one date: open, or closed with its reason and detail (a name, a label)."""

    day: dt.date
    is_open: bool
    reason: ClosedBecause | None = None
    detail: str = ""

    @property
    def code(self) -> str:
        return "calendar.open" if self.reason is None else self.reason.code

    def explain(self, lang: Lang = "fr") -> str:
        """A sentence for a parent: ``Fermé : jour férié (Armistice).``"""
        if self.reason is None:
            return "Ouvert." if lang == "fr" else "Open."
        fr, en = _EXPLANATIONS[self.reason]
        template = fr if lang == "fr" else en
        return template.format(detail=self.detail, weekday=Weekday.of(self.day).label(lang))


_EXPLANATIONS = {
    ClosedBecause.OUTSIDE_SEASON: (
        "Fermé : en dehors de la période d'ouverture ({detail}).",
        "Closed: outside the season ({detail}).",
    ),
    ClosedBecause.PUBLIC_HOLIDAY: ("Fermé : jour férié ({detail}).", "Closed: public holiday ({detail})."),
    ClosedBecause.CLOSURE: ("Fermé : {detail}.", "Closed: {detail}."),
    ClosedBecause.SCHOOL_HOLIDAYS: (
        "Fermé pendant les vacances scolaires ({detail}).",
        "Closed during school holidays ({detail}).",
    ),
    ClosedBecause.SCHOOL_PERIOD: (
        "Ouvert seulement pendant les vacances scolaires.",
        "Open only during school holidays.",
    ),
    ClosedBecause.WEEKDAY: ("Pas de service le {weekday}.", "No service on {weekday}s."),
}


@attrs.frozen
class OpeningCalendar:
    """An ``Opening`` placed in a commune's calendar, with closures declared since configuration."""

    opening: Opening
    calendar: CommuneCalendar
    extra_closures: tuple[Closure, ...] = attrs.field(converter=_closures, default=())

    def day(self, day: dt.date) -> OpeningDay:
        """Open or closed on ``day``, and why. May raise ``MissingData`` for an unknown school year."""
        opening = self.opening
        season = opening.season
        if season is not None and day not in season:
            span = f"du {format_date(season.start)} au {format_date(season.end)}"
            return OpeningDay(day, False, ClosedBecause.OUTSIDE_SEASON, span)
        if not opening.open_on_public_holidays:
            holiday_name = self.calendar.public_holiday(day)
            if holiday_name is not None:
                return OpeningDay(day, False, ClosedBecause.PUBLIC_HOLIDAY, holiday_name)
        for closure in (*opening.closures, *self.extra_closures):
            if day in closure.period:
                return OpeningDay(day, False, ClosedBecause.CLOSURE, closure.describe())
        weekday = Weekday(day.weekday())
        school_holiday = self.calendar.school_holiday(day)
        if school_holiday is None:
            if weekday in opening.school_weekdays:
                return OpeningDay(day, True)
            if not opening.school_weekdays and opening.holiday_weekdays:
                return OpeningDay(day, False, ClosedBecause.SCHOOL_PERIOD)
            return OpeningDay(day, False, ClosedBecause.WEEKDAY)
        if weekday in opening.holiday_weekdays:
            return OpeningDay(day, True)
        if not opening.holiday_weekdays:
            return OpeningDay(day, False, ClosedBecause.SCHOOL_HOLIDAYS, school_holiday.name)
        return OpeningDay(day, False, ClosedBecause.WEEKDAY)

    def is_open(self, day: dt.date) -> bool:
        return self.day(day).is_open

    def days(self, period: DateRange) -> Iterator[OpeningDay]:
        """The answer for every day of ``period``."""
        return (self.day(day) for day in period)

    def open_days(self, period: DateRange) -> list[dt.date]:
        return [answer.day for answer in self.days(period) if answer.is_open]
