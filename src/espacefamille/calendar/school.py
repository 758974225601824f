"""School holidays by zone, as shipped versioned data or as a commune's own table.

The ministry's arrêtés list each holiday period by two days: holidays begin *after class* on the
first one and classes resume *in the morning* of the second. ``SchoolHoliday`` keeps exactly those
two days, so the days off are the ones strictly between them.

A school year here runs from 1 August to 31 July: the summer days before the rentrée belong to the
year that starts with it. A date in a year with no data is refused (``MissingData``), never guessed.
"""

from __future__ import annotations

import datetime as dt
import enum
import functools
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from importlib import resources

import attrs

from espacefamille.errors import InvalidConfiguration, MissingData
from espacefamille.text import format_date

__all__ = [
    "SHIPPED_DATA_VERSION",
    "SUMMER",
    "SchoolCalendar",
    "SchoolHoliday",
    "SchoolYear",
    "SchoolZone",
    "parse_school_year",
    "school_calendar",
    "school_year_label",
    "school_year_start",
]

SUMMER = "Vacances d'été"


class SchoolZone(enum.Enum):
    """A school-holiday zone: A, B and C are shipped; Corse and overseas académies bring their own."""

    A = "A"
    B = "B"
    C = "C"
    CORSE = "corse"
    GUADELOUPE = "guadeloupe"
    MARTINIQUE = "martinique"
    GUYANE = "guyane"
    REUNION = "reunion"
    MAYOTTE = "mayotte"


def school_year_label(day: dt.date) -> str:
    """The school year a date belongs to, ``"2026-2027"`` (years turn on 1 August)."""
    first = school_year_start(day).year
    return f"{first}-{first + 1}"


def school_year_start(day: dt.date) -> dt.date:
    """The first day (1 August) of the school year a date belongs to."""
    return dt.date(day.year if day.month >= 8 else day.year - 1, 8, 1)


@attrs.frozen
class SchoolHoliday:
    """A holiday period: off after class on ``start`` until classes resume on ``end``.

    Summer bounds may be unknown (``None``) when the neighbouring school year is not loaded.
    """

    name: str
    start: dt.date | None
    end: dt.date | None

    def __attrs_post_init__(self) -> None:
        if self.start is not None and self.end is not None and self.end <= self.start:
            raise InvalidConfiguration(
                f"holiday {self.name!r} resumes on {self.end}, not after it starts on {self.start}",
                code="calendar.holiday_order",
            )

    def __contains__(self, day: object) -> bool:
        if not isinstance(day, dt.date):
            return False
        after_start = self.start is None or day > self.start
        before_end = self.end is None or day < self.end
        return after_start and before_end

    def describe(self) -> str:
        """``Vacances de Noël (du samedi 19 décembre 2026 après la classe au lundi 4 janvier 2027)``."""
        if self.start is None or self.end is None:
            return self.name
        return f"{self.name} (du {format_date(self.start)} après la classe au {format_date(self.end)})"


def _year_bounds(label: str, path: str) -> tuple[int, int]:
    try:
        first_text, second_text = label.split("-")
        first, second = int(first_text), int(second_text)
    except ValueError:
        raise InvalidConfiguration(
            f"school year label {label!r} is not of the form '2026-2027'",
            path=path,
            code="calendar.school_year_label",
        ) from None
    if second != first + 1:
        raise InvalidConfiguration(
            f"school year label {label!r} must name two consecutive years",
            path=path,
            code="calendar.school_year_label",
        )
    return first, second


def _school_holidays(items: Iterable[SchoolHoliday]) -> tuple[SchoolHoliday, ...]:
    return tuple(items)


@attrs.frozen
class SchoolYear:
    """One school year of one zone: rentrée, holiday periods, and the last class day before summer."""

    label: str
    rentree: dt.date
    summer_start: dt.date
    holidays: tuple[SchoolHoliday, ...] = attrs.field(converter=_school_holidays)

    def __attrs_post_init__(self) -> None:
        first, second = _year_bounds(self.label, "label")
        if not dt.date(first, 8, 1) <= self.rentree < dt.date(second, 1, 1):
            raise InvalidConfiguration(
                f"rentrée {self.rentree} is not in the autumn of {first}",
                path="rentree",
                code="calendar.school_year_dates",
            )
        if not self.rentree < self.summer_start <= dt.date(second, 7, 31):
            raise InvalidConfiguration(
                f"summer_start {self.summer_start} must fall between the rentrée and 31 July {second}",
                path="summer_start",
                code="calendar.school_year_dates",
            )
        previous_end = self.rentree
        for index, holiday in enumerate(self.holidays):
            if holiday.start is None or holiday.end is None:
                # Only the summer may have an unknown bound; a listed period needs both its days.
                raise InvalidConfiguration(
                    f"holiday {holiday.name!r} needs both its start and its end",
                    path=f"holidays[{index}]",
                    code="calendar.school_year_dates",
                )
            if holiday.start < previous_end or holiday.end > self.summer_start:
                raise InvalidConfiguration(
                    f"holiday {holiday.name!r} overlaps another period or lies outside the school year",
                    path=f"holidays[{index}]",
                    code="calendar.school_year_dates",
                )
            previous_end = holiday.end

    @property
    def first_day(self) -> dt.date:
        return dt.date(self.rentree.year, 8, 1)

    @property
    def last_day(self) -> dt.date:
        return dt.date(self.rentree.year + 1, 7, 31)


def _need_str(table: Mapping[str, object], key: str, where: str) -> str:
    value = table.get(key)
    if not isinstance(value, str):
        raise InvalidConfiguration(
            f"expected a string, got {value!r}", path=f"{where}.{key}", code="config.type"
        )
    return value


def _need_date(table: Mapping[str, object], key: str, where: str) -> dt.date:
    value = table.get(key)
    if not isinstance(value, dt.date) or isinstance(value, dt.datetime):
        raise InvalidConfiguration(
            f"expected a date (YYYY-MM-DD), got {value!r}", path=f"{where}.{key}", code="config.type"
        )
    return value


def parse_school_year(data: Mapping[str, object], path: str) -> SchoolYear:
    """A ``SchoolYear`` from its TOML table (shipped data or a commune's own), errors naming ``path``."""

    holidays_raw = data.get("holidays", [])
    if not isinstance(holidays_raw, list):
        raise InvalidConfiguration("expected an array of tables", path=f"{path}.holidays", code="config.type")
    holidays: list[SchoolHoliday] = []
    for index, item in enumerate(holidays_raw):
        where = f"{path}.holidays[{index}]"
        if not isinstance(item, dict):
            raise InvalidConfiguration("expected a table", path=where, code="config.type")
        unknown = set(item) - {"name", "start", "end"}
        if unknown:
            raise InvalidConfiguration(
                f"unknown keys {sorted(unknown)}", path=where, code="config.unknown_key"
            )
        name = _need_str(item, "name", where)
        start = _need_date(item, "start", where)
        end = _need_date(item, "end", where)
        try:
            holidays.append(SchoolHoliday(name=name, start=start, end=end))
        except InvalidConfiguration as error:
            raise _located(error, where) from None
    unknown = set(data) - {"label", "zone", "rentree", "summer_start", "holidays"}
    if unknown:
        raise InvalidConfiguration(f"unknown keys {sorted(unknown)}", path=path, code="config.unknown_key")
    # Read the keys outside the try: their errors already carry the full path.
    label = _need_str(data, "label", path)
    rentree = _need_date(data, "rentree", path)
    summer_start = _need_date(data, "summer_start", path)
    try:
        return SchoolYear(
            label=label,
            rentree=rentree,
            summer_start=summer_start,
            holidays=tuple(sorted(holidays, key=lambda h: h.start or dt.date.min)),
        )
    except InvalidConfiguration as error:
        raise _located(error, path) from None


def _located(error: InvalidConfiguration, path: str) -> InvalidConfiguration:
    """``error`` raised by a constructor, re-located under the table at ``path``."""
    where = f"{path}.{error.path}" if error.path else path
    return InvalidConfiguration(error.reason, path=where, message_fr=error.reason_fr, code=error.code)


def _sorted_years(years: Mapping[str, SchoolYear]) -> Mapping[str, SchoolYear]:
    return dict(sorted(years.items()))


@attrs.frozen
class SchoolCalendar:
    """The school years of one zone, answering "is this day a school holiday, and which?"."""

    zone: SchoolZone
    years: Mapping[str, SchoolYear] = attrs.field(converter=_sorted_years)

    def year_of(self, day: dt.date) -> SchoolYear:
        """The school year holding ``day``; ``MissingData`` if that year has no data."""
        label = school_year_label(day)
        try:
            return self.years[label]
        except KeyError:
            raise MissingData(
                f"no school calendar for zone {self.zone.value} in {label}",
                message_fr=(
                    f"Le calendrier scolaire {label} de la zone {self.zone.value} n'est pas connu : "
                    f"impossible de savoir si le {format_date(day)} est un jour de classe."
                ),
                code="calendar.school_year_missing",
                details={"zone": self.zone.value, "school_year": label},
            ) from None

    def holiday_on(self, day: dt.date) -> SchoolHoliday | None:
        """The holiday period ``day`` falls in (days strictly between its two listed days), or None."""
        year = self.year_of(day)
        if day < year.rentree:
            previous = self.years.get(f"{year.rentree.year - 1}-{year.rentree.year}")
            return SchoolHoliday(SUMMER, previous.summer_start if previous else None, year.rentree)
        if day > year.summer_start:
            following = self.years.get(f"{year.rentree.year + 1}-{year.rentree.year + 2}")
            return SchoolHoliday(SUMMER, year.summer_start, following.rentree if following else None)
        for holiday in year.holidays:
            if day in holiday:
                return holiday
        return None

    def with_years(self, years: Iterable[SchoolYear]) -> SchoolCalendar:
        """This calendar with some years supplied or replaced (a commune's own table wins)."""
        merged = dict(self.years)
        merged.update({year.label: year for year in years})
        return SchoolCalendar(self.zone, merged)


@functools.cache
def _shipped() -> tuple[str, dict[SchoolZone, dict[str, SchoolYear]]]:
    raw = resources.files("espacefamille.data").joinpath("school_holidays.toml").read_text("utf-8")
    data = tomllib.loads(raw)
    tables: dict[SchoolZone, dict[str, SchoolYear]] = {}
    entries = data["years"]
    assert isinstance(entries, list)
    for index, entry in enumerate(entries):
        year = parse_school_year({k: v for k, v in entry.items() if k != "zone"}, f"years[{index}]")
        tables.setdefault(SchoolZone(entry["zone"]), {})[year.label] = year
    return str(data["version"]), tables


SHIPPED_DATA_VERSION = _shipped()[0]


def school_calendar(zone: SchoolZone, own_years: Sequence[SchoolYear] = ()) -> SchoolCalendar:
    """The shipped calendar of ``zone`` (empty for zones not shipped), overridden by ``own_years``."""
    return SchoolCalendar(zone, _shipped()[1].get(zone, {})).with_years(own_years)
