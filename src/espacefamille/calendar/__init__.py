"""Calendars: public and school holidays, working-day arithmetic, opening calendars, recurrence,
and instants in the commune's time zone. Pure: no I/O beyond the shipped data files."""

from espacefamille.calendar.commune import CommuneCalendar
from espacefamille.calendar.opening import (
    ClosedBecause,
    Closure,
    ClosureReason,
    Opening,
    OpeningCalendar,
    OpeningDay,
)
from espacefamille.calendar.periods import DateRange, Weekday, iso_week_label, iter_days
from espacefamille.calendar.public_holidays import HolidaySubdivision, public_holidays
from espacefamille.calendar.recurrence import weekly_dates
from espacefamille.calendar.school import (
    SHIPPED_DATA_VERSION,
    SchoolCalendar,
    SchoolHoliday,
    SchoolYear,
    SchoolZone,
    school_calendar,
    school_year_label,
    school_year_start,
)
from espacefamille.calendar.timezones import DEFAULT_TIMEZONE, local_instant, require_aware, time_zone
from espacefamille.calendar.workdays import DayCounting, counts, shift

__all__ = [
    "DEFAULT_TIMEZONE",
    "SHIPPED_DATA_VERSION",
    "ClosedBecause",
    "Closure",
    "ClosureReason",
    "CommuneCalendar",
    "DateRange",
    "DayCounting",
    "HolidaySubdivision",
    "Opening",
    "OpeningCalendar",
    "OpeningDay",
    "SchoolCalendar",
    "SchoolHoliday",
    "SchoolYear",
    "SchoolZone",
    "Weekday",
    "counts",
    "iso_week_label",
    "iter_days",
    "local_instant",
    "public_holidays",
    "require_aware",
    "school_calendar",
    "school_year_label",
    "school_year_start",
    "shift",
    "time_zone",
    "weekly_dates",
]
