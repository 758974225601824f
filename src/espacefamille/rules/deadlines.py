"""Booking and cancellation deadlines as data, each evaluated to an exact instant in the commune.

A commune's règlement writes its deadlines in many ways ("J-3 ouvrés avant 11 h", "48 h avant",
"le mercredi 18 h de la semaine précédente", "le 15 du mois précédent"…). Each way is one frozen
class here; ``instant(day, context)`` gives the aware datetime, in the commune's time zone, after
which a request for ``day`` is late. A deadline never falls after the start of what it guards.

Registration windows (fixed opening and closing instants for a holiday period) and the horizon
(bookable no more than N weeks ahead) bound booking from the other side. What happens after a
deadline, and the judgement of a request, are in ``espacefamille.rules.policies``.

Configuration is plain data read from the commune's TOML file (``deadline_from_dict``), written
back by ``deadline_to_dict``; ``docs/deadlines.md`` has one worked example per pattern.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any, ClassVar, Final, Protocol, TypeVar

import attrs

from espacefamille._internal.tables import REQUIRED, Required, Table
from espacefamille.calendar.commune import CommuneCalendar
from espacefamille.calendar.opening import OpeningCalendar
from espacefamille.calendar.periods import DateRange, Weekday
from espacefamille.calendar.timezones import optional_aware_instant, utc_instant
from espacefamille.calendar.workdays import DayCounting, shift
from espacefamille.errors import InvalidConfiguration, InvalidInput
from espacefamille.model import Prestation
from espacefamille.money import Money, to_decimal

__all__ = [
    "DEADLINE_TYPES",
    "MAX_DELAY",
    "DayOfPreviousMonth",
    "DaysBefore",
    "Deadline",
    "DeadlineContext",
    "DueOn",
    "Horizon",
    "HoursBefore",
    "OnClosedDay",
    "PreviousWeekday",
    "RegistrationWindow",
    "WeekdayOfPreviousWeek",
    "WeekdayTable",
    "deadline_from_dict",
    "deadline_pattern",
    "deadline_to_dict",
    "is_deadline",
    "window_from_dict",
    "window_to_dict",
]

_V = TypeVar("_V")

_ONE_DAY = dt.timedelta(days=1)
_MIDNIGHT = dt.time(0, 0)
# A prestation closed for longer than this before a deadline is a configuration mistake.
_SEARCH_LIMIT_DAYS = 400
#: The longest delay a deadline counts, in its own unit (days, hours, weeks): ten years of days.
MAX_DELAY: Final = 3660


class OnClosedDay(enum.Enum):
    """What a computed deadline does when it lands on a day the prestation is closed.

    Some communes keep it (a Sunday deadline is fine on a website); others move it to the previous
    open day, so that the first day after the holidays is booked on the last school day before them.
    """

    KEEP = "keep"
    PREVIOUS_OPEN_DAY = "previous_open_day"


@attrs.frozen
class DeadlineContext:
    """What evaluating a deadline for one family and prestation needs to know (``Commune.deadline_context``
    gives it for a commune's prestation)."""

    calendar: CommuneCalendar
    prestation: Prestation
    opening: OpeningCalendar
    resident: bool = True

    def start_of(self, day: dt.date) -> dt.datetime:
        """When the prestation starts on ``day`` (midnight when it has no start time).

        No deadline may fall later: nobody can book what has already begun.
        """
        return self.calendar.instant(day, self.prestation.start or _MIDNIGHT)


def _prestation_path(prestation: Prestation) -> str:
    return f"services.{prestation.service_id}.prestations.{prestation.id}"


# -- validators -------------------------------------------------------------------------------


def _non_negative(instance: object, attribute: attrs.Attribute[int], value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(
            f"{type(instance).__name__}.{attribute.name} must be a whole number, got {value!r}",
            code="input.not_an_int",
        )
    if value < 0:
        raise InvalidInput(
            f"{type(instance).__name__}.{attribute.name} cannot be negative, got {value}",
            message_fr=f"Un délai ne peut pas être négatif ({value}).",
            code="deadline.negative",
        )
    if value > MAX_DELAY:
        raise InvalidInput(
            f"{type(instance).__name__}.{attribute.name} cannot be beyond {MAX_DELAY}, got {value}",
            message_fr=f"Un délai ne peut pas dépasser {MAX_DELAY}.",
            code="deadline.too_long",
        )


def _wall_time(instance: object, attribute: attrs.Attribute[dt.time], value: dt.time) -> None:
    if not isinstance(value, dt.time) or value.tzinfo is not None:
        raise InvalidInput(
            f"{type(instance).__name__}.{attribute.name} must be a wall-clock time, got {value!r}",
            code="input.not_a_time",
        )


_weekday = attrs.validators.instance_of(Weekday)
_on_closed_day = attrs.validators.instance_of(OnClosedDay)


# -- placing a deadline -----------------------------------------------------------------------


def _previous_open_day(day: dt.date, opening: OpeningCalendar) -> dt.date:
    """``day`` if the prestation is open then, else the last open day before it."""
    current = day
    for _ in range(_SEARCH_LIMIT_DAYS):
        if opening.is_open(current):
            return current
        current -= _ONE_DAY
    raise InvalidInput(
        f"the prestation is not open on any of the {_SEARCH_LIMIT_DAYS} days up to {day}",
        message_fr="Aucun jour d'ouverture avant cette date pour y placer le délai.",
        code="calendar.no_open_day",
    )


def _place(
    due: dt.date, at: dt.time, target: dt.date, context: DeadlineContext, on_closed_day: OnClosedDay
) -> dt.datetime:
    if on_closed_day is OnClosedDay.PREVIOUS_OPEN_DAY:
        due = _previous_open_day(due, context.opening)
    return min(context.calendar.instant(due, at), context.start_of(target), key=utc_instant)


# -- the patterns -----------------------------------------------------------------------------


class Deadline(Protocol):
    """A deadline pattern: its TOML name, how it is read and written, and when a day is due.

    Each pattern is one frozen class decorated with ``@deadline_pattern``: the decorator is the registry the
    commune file's ``pattern = "..."`` is looked up in (docs/deadlines.md, "Adding a deadline pattern").
    """

    pattern: ClassVar[str]

    @property
    def on_closed_day(self) -> OnClosedDay: ...

    @classmethod
    def read(cls, keys: _Keys, on_closed_day: OnClosedDay) -> Deadline:
        """The pattern from its TOML table (``keys`` refuses keys nobody read, naming their path)."""
        ...

    def settings(self) -> dict[str, Any]:
        """Its TOML keys besides ``pattern`` and ``on_closed_day``: ``read`` reads them back equal."""
        ...

    def instant(self, day: dt.date, context: DeadlineContext) -> dt.datetime:
        """When the prestation of ``day`` is due, in the commune's time zone."""
        ...


_PATTERNS: Final[dict[str, type[Deadline]]] = {}
_D = TypeVar("_D", bound=type[Deadline])


def deadline_pattern(kind: _D) -> _D:
    """Register a deadline pattern under its ``pattern`` name (a class decorator; a name is used once)."""
    name = kind.pattern
    if name in _PATTERNS:
        raise InvalidInput(
            f"the deadline pattern {name!r} is registered twice", code="deadline.pattern_twice"
        )
    _PATTERNS[name] = kind
    return kind


def is_deadline(value: object) -> bool:
    """Whether ``value`` is a deadline of a registered pattern."""
    return type(value) in _PATTERNS.values()


@deadline_pattern
@attrs.frozen
class DaysBefore:
    """N days before the target date, at a time of day: "J-3 ouvrés avant 11 h".

    ``counting`` says which days count (calendar days, jours ouvrés, jours ouvrables or the
    prestation's opening days); ``skip_public_holidays`` overrides the counting's usual meaning
    (ouvrés and ouvrables skip them, calendar days do not). ``days = 0`` is the same day.
    """

    days: int = attrs.field(validator=_non_negative)
    at: dt.time = attrs.field(validator=_wall_time)
    counting: DayCounting = attrs.field(
        default=DayCounting.CALENDAR_DAYS, validator=attrs.validators.instance_of(DayCounting)
    )
    skip_public_holidays: bool | None = None
    on_closed_day: OnClosedDay = attrs.field(default=OnClosedDay.KEEP, validator=_on_closed_day)
    pattern: ClassVar[str] = "days_before"

    @classmethod
    def read(cls, keys: _Keys, on_closed_day: OnClosedDay) -> DaysBefore:
        days, at = keys.count("days"), keys.time("at")
        counting = keys.choice("counting", DayCounting, DayCounting.CALENDAR_DAYS)
        return cls(days, at, counting, keys.flag("skip_public_holidays"), on_closed_day)

    def settings(self) -> dict[str, Any]:
        data: dict[str, Any] = {"days": self.days, "at": self.at}
        if self.counting is not DayCounting.CALENDAR_DAYS:
            data["counting"] = self.counting.value
        if self.skip_public_holidays is not None:
            data["skip_public_holidays"] = self.skip_public_holidays
        return data

    def instant(self, day: dt.date, context: DeadlineContext) -> dt.datetime:
        due = shift(
            day,
            -self.days,
            self.counting,
            context.calendar,
            opening=context.opening,
            skip_public_holidays=self.skip_public_holidays,
        )
        return _place(due, self.at, day, context, self.on_closed_day)


@deadline_pattern
@attrs.frozen
class HoursBefore:
    """N hours before the prestation starts ("48 h avant"), counted in real hours.

    Across a daylight-saving change the wall-clock time moves: 48 h before Monday 08:30 after the
    spring change is Saturday 07:30. The prestation needs a start time.
    """

    hours: int = attrs.field(validator=_non_negative)
    on_closed_day: OnClosedDay = attrs.field(default=OnClosedDay.KEEP, validator=_on_closed_day)
    pattern: ClassVar[str] = "hours_before"

    @classmethod
    def read(cls, keys: _Keys, on_closed_day: OnClosedDay) -> HoursBefore:
        return cls(keys.count("hours"), on_closed_day)

    def settings(self) -> dict[str, Any]:
        return {"hours": self.hours}

    def instant(self, day: dt.date, context: DeadlineContext) -> dt.datetime:
        prestation = context.prestation
        if prestation.start is None:
            raise InvalidConfiguration(
                f"a deadline {self.hours} h before the start needs the prestation's start time",
                path=f"{_prestation_path(prestation)}.start",
                message_fr=f"Le délai de {self.hours} h avant le début demande l'heure de début.",
                code="deadline.needs_start",
            )
        begins = context.calendar.instant(day, prestation.start)
        # Subtract in UTC: aware arithmetic in one zone is wall-clock arithmetic in Python.
        moment = (begins.astimezone(dt.UTC) - dt.timedelta(hours=self.hours)).astimezone(begins.tzinfo)
        if self.on_closed_day is OnClosedDay.PREVIOUS_OPEN_DAY and not context.opening.is_open(moment.date()):
            moved = _previous_open_day(moment.date(), context.opening)
            moment = context.calendar.instant(moved, moment.time())
        return moment


@deadline_pattern
@attrs.frozen
class WeekdayOfPreviousWeek:
    """Every day of an ISO week is due on one weekday of the week before (Wednesday 18:00)."""

    weekday: Weekday = attrs.field(validator=_weekday)
    at: dt.time = attrs.field(validator=_wall_time)
    on_closed_day: OnClosedDay = attrs.field(default=OnClosedDay.KEEP, validator=_on_closed_day)
    pattern: ClassVar[str] = "weekday_of_previous_week"

    @classmethod
    def read(cls, keys: _Keys, on_closed_day: OnClosedDay) -> WeekdayOfPreviousWeek:
        return cls(keys.weekday("weekday"), keys.time("at"), on_closed_day)

    def settings(self) -> dict[str, Any]:
        return {"weekday": self.weekday.key, "at": self.at}

    def instant(self, day: dt.date, context: DeadlineContext) -> dt.datetime:
        monday_before = day - dt.timedelta(days=day.weekday() + 7)
        due = monday_before + dt.timedelta(days=int(self.weekday))
        return _place(due, self.at, day, context, self.on_closed_day)


def _previous(weekday: Weekday, day: dt.date) -> dt.date:
    """The last ``weekday`` strictly before ``day``."""
    return day - dt.timedelta(days=(day.weekday() - int(weekday)) % 7 or 7)


@deadline_pattern
@attrs.frozen
class PreviousWeekday:
    """The previous <weekday> at HH:MM, strictly before the target ("le mardi précédent à 10 h")."""

    weekday: Weekday = attrs.field(validator=_weekday)
    at: dt.time = attrs.field(validator=_wall_time)
    on_closed_day: OnClosedDay = attrs.field(default=OnClosedDay.KEEP, validator=_on_closed_day)
    pattern: ClassVar[str] = "previous_weekday"

    @classmethod
    def read(cls, keys: _Keys, on_closed_day: OnClosedDay) -> PreviousWeekday:
        return cls(keys.weekday("weekday"), keys.time("at"), on_closed_day)

    def settings(self) -> dict[str, Any]:
        return {"weekday": self.weekday.key, "at": self.at}

    def instant(self, day: dt.date, context: DeadlineContext) -> dt.datetime:
        return _place(_previous(self.weekday, day), self.at, day, context, self.on_closed_day)


@attrs.frozen
class DueOn:
    """One line of a weekday table: due the previous ``weekday`` at ``at``."""

    weekday: Weekday = attrs.field(validator=_weekday)
    at: dt.time = attrs.field(validator=_wall_time)


def _table(
    entries: Mapping[Weekday, DueOn] | Iterable[tuple[Weekday, DueOn]],
) -> tuple[tuple[Weekday, DueOn], ...]:
    pairs = list(entries.items() if isinstance(entries, Mapping) else entries)
    targets = [Weekday(target) for target, _ in pairs]
    if len(set(targets)) != len(targets):
        raise InvalidInput("a weekday appears twice in the deadline table", code="deadline.table_duplicate")
    return tuple(sorted(zip(targets, (due for _, due in pairs), strict=True)))


def _table_entries(
    instance: object, attribute: attrs.Attribute[Any], value: tuple[tuple[Weekday, DueOn], ...]
) -> None:
    if not value or not all(isinstance(due, DueOn) for _, due in value):
        raise InvalidInput("a deadline table needs at least one (weekday, DueOn) entry", code="input.invalid")


@deadline_pattern
@attrs.frozen
class WeekdayTable:
    """A deadline per target weekday ("lundi : jeudi 17 h ; mardi : vendredi 17 h…").

    Each entry names the weekday strictly before the target on which it is due, and the time.
    """

    entries: tuple[tuple[Weekday, DueOn], ...] = attrs.field(converter=_table, validator=_table_entries)
    on_closed_day: OnClosedDay = attrs.field(default=OnClosedDay.KEEP, validator=_on_closed_day)
    pattern: ClassVar[str] = "weekday_table"

    @classmethod
    def read(cls, keys: _Keys, on_closed_day: OnClosedDay) -> WeekdayTable:
        table = keys.table("table")
        entries = []
        for name in table.data:
            target = table.build(name, Weekday.parse, name)
            line = table.table(name)
            entries.append((target, DueOn(line.weekday("weekday"), line.time("at"))))
            line.done()
        return keys.build("table", cls, entries, on_closed_day)

    def settings(self) -> dict[str, Any]:
        return {
            "table": {target.key: {"weekday": due.weekday.key, "at": due.at} for target, due in self.entries}
        }

    def due_on(self, target: Weekday) -> DueOn | None:
        return next((due for weekday, due in self.entries if weekday is target), None)

    def instant(self, day: dt.date, context: DeadlineContext) -> dt.datetime:
        target = Weekday.of(day)
        due = self.due_on(target)
        if due is None:
            raise InvalidConfiguration(
                f"the deadline table has no entry for {target.key}",
                path=_prestation_path(context.prestation),
                message_fr=f"Aucun délai n'est prévu pour le {target.label()}.",
                code="deadline.table_incomplete",
            )
        return _place(_previous(due.weekday, day), due.at, day, context, self.on_closed_day)


def _day_of_month(instance: object, attribute: attrs.Attribute[int], value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 31:
        raise InvalidInput(
            f"the day of the month must be 1 to 31, got {value!r}", code="deadline.day_of_month"
        )


@deadline_pattern
@attrs.frozen
class DayOfPreviousMonth:
    """Day D of the previous month: everything of March is due on 15 February at 23:59.

    A day beyond the month's length means its last day (31 → 28 February).
    """

    day: int = attrs.field(validator=_day_of_month)
    at: dt.time = attrs.field(validator=_wall_time)
    on_closed_day: OnClosedDay = attrs.field(default=OnClosedDay.KEEP, validator=_on_closed_day)
    pattern: ClassVar[str] = "day_of_previous_month"

    @classmethod
    def read(cls, keys: _Keys, on_closed_day: OnClosedDay) -> DayOfPreviousMonth:
        day = keys.raw("day")
        return keys.build("day", cls, day, keys.time("at"), on_closed_day)

    def settings(self) -> dict[str, Any]:
        return {"day": self.day, "at": self.at}

    def instant(self, day: dt.date, context: DeadlineContext) -> dt.datetime:
        last_of_previous = day.replace(day=1) - _ONE_DAY
        due = last_of_previous.replace(day=min(self.day, last_of_previous.day))
        return _place(due, self.at, day, context, self.on_closed_day)


#: The patterns this module registers (a third party registers its own with ``@deadline_pattern``).
DEADLINE_TYPES: Final = tuple(_PATTERNS.values())


# -- bounds on the other side: horizon and registration windows ------------------------------


@attrs.frozen
class Horizon:
    """A date is bookable no more than ``weeks`` weeks ahead of the commune's current date."""

    weeks: int = attrs.field(validator=_non_negative)

    def opens(self, day: dt.date, calendar: CommuneCalendar) -> dt.datetime:
        """The instant ``day`` becomes bookable: midnight, ``weeks`` weeks before it."""
        return calendar.instant(day - dt.timedelta(weeks=self.weeks), _MIDNIGHT)


@attrs.frozen
class RegistrationWindow:
    """Registration for the dates of ``period`` (every date when None) opens and closes at fixed
    instants; residents of the commune may start earlier, at ``resident_opens``."""

    opens: dt.datetime = attrs.field(validator=optional_aware_instant)
    closes: dt.datetime = attrs.field(validator=optional_aware_instant)
    resident_opens: dt.datetime | None = attrs.field(default=None, validator=optional_aware_instant)
    period: DateRange | None = attrs.field(
        default=None, validator=attrs.validators.optional(attrs.validators.instance_of(DateRange))
    )

    def __attrs_post_init__(self) -> None:
        if utc_instant(self.closes) <= utc_instant(self.opens):
            raise InvalidInput(
                f"the window closes ({self.closes.isoformat()}) before it opens ({self.opens.isoformat()})",
                message_fr="La période d'inscription se ferme avant de s'ouvrir.",
                code="deadline.window_order",
            )
        if self.resident_opens is not None and utc_instant(self.resident_opens) > utc_instant(self.opens):
            raise InvalidInput(
                f"residents would open ({self.resident_opens.isoformat()}) after everyone else "
                f"({self.opens.isoformat()})",
                message_fr="L'ouverture réservée aux habitants doit précéder l'ouverture générale.",
                code="deadline.resident_opening_late",
            )

    def governs(self, day: dt.date) -> bool:
        return self.period is None or day in self.period

    def opens_for(self, resident: bool) -> dt.datetime:
        if resident and self.resident_opens is not None:
            return self.resident_opens
        return self.opens


# -- configuration as data --------------------------------------------------------------------


class _Keys(Table):
    """A deadline or policy table being read (the shared ``Table``), with the values deadlines are made of."""

    def count(
        self,
        key: str,
        default: _V | Required = REQUIRED,
        *,
        code: str = "deadline.negative",
        maximum: int = MAX_DELAY,
    ) -> int | _V:
        """A whole number from 0 to ``MAX_DELAY`` (days, hours, weeks): ``config.too_large`` beyond."""
        return super().count(key, default, code=code, maximum=maximum)

    def flag(self, key: str) -> bool | None:
        return self.boolean(key, None)

    def weekday(self, key: str) -> Weekday:
        value = self.raw(key)
        if not isinstance(value, str):
            raise self.wrong(key, 'a weekday such as "wednesday"', value)
        return self.build(key, Weekday.parse, value)

    def decimal(self, key: str) -> Decimal | None:
        """An exact number written as a string ("12.5") or an integer; floats are refused."""
        value = self.amount(key, None, label="a number written as a string")
        return None if value is None else self.build(key, to_decimal, value)

    def money(self, key: str, required: bool = False) -> Money | None:
        if required:
            self.raw(key)
        value = self.decimal(key)
        return None if value is None else self.build(key, Money, value)


def deadline_from_dict(data: Mapping[str, Any], path: str) -> Deadline:
    """A deadline from its TOML table, e.g. ``{pattern = "days_before", days = 3, at = 11:00:00}``.

    Errors are ``InvalidConfiguration`` naming the key under ``path``.
    """
    keys = _Keys(data, path)
    pattern = keys.raw("pattern")
    if not isinstance(pattern, str):
        raise keys.wrong("pattern", "the name of a deadline pattern", pattern)
    if pattern not in _PATTERNS:
        raise InvalidConfiguration(
            f"unknown deadline pattern {pattern!r} (expected one of {', '.join(map(repr, _PATTERNS))})",
            path=keys.at("pattern"),
            code="config.unknown_pattern",
        )
    moved = keys.choice("on_closed_day", OnClosedDay, OnClosedDay.KEEP)
    deadline = _PATTERNS[pattern].read(keys, moved)
    keys.done()
    return deadline


def deadline_to_dict(deadline: Deadline) -> dict[str, Any]:
    """The TOML table of ``deadline``; ``deadline_from_dict`` reads it back to an equal deadline."""
    data: dict[str, Any] = {"pattern": deadline.pattern, **deadline.settings()}
    if deadline.on_closed_day is not OnClosedDay.KEEP:
        data["on_closed_day"] = deadline.on_closed_day.value
    return data


def window_from_dict(data: Mapping[str, Any], path: str) -> RegistrationWindow:
    """A registration window from its TOML table (offset datetimes, optional ``period``)."""
    keys = _Keys(data, path)
    opens, closes = keys.instant("opens"), keys.instant("closes")
    resident_opens = keys.instant("resident_opens", None)
    period_keys = keys.table("period", None)
    period = None
    if period_keys is not None:
        start, end = period_keys.date("start"), period_keys.date("end")
        period_keys.done()
        period = period_keys.build("end", DateRange, start, end)
    keys.done()
    return keys.build("", RegistrationWindow, opens, closes, resident_opens, period)


def window_to_dict(window: RegistrationWindow) -> dict[str, Any]:
    data: dict[str, Any] = {"opens": window.opens, "closes": window.closes}
    if window.resident_opens is not None:
        data["resident_opens"] = window.resident_opens
    if window.period is not None:
        data["period"] = {"start": window.period.start, "end": window.period.end}
    return data
