"""A commune's calendar: its time zone, its public holidays and its school-holiday zone together."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import attrs

from espacefamille.calendar.public_holidays import HolidaySubdivision, public_holidays
from espacefamille.calendar.school import SchoolCalendar, SchoolHoliday
from espacefamille.calendar.timezones import local_instant, require_aware, time_zone

__all__ = ["CommuneCalendar"]


@attrs.frozen
class CommuneCalendar:
    """Everything date-related that depends on where the commune is."""

    timezone: str
    subdivision: HolidaySubdivision
    school: SchoolCalendar

    def __attrs_post_init__(self) -> None:
        time_zone(self.timezone)  # refuse an unknown zone at construction

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        return time_zone(self.timezone)

    def public_holiday(self, day: dt.date) -> str | None:
        """The French name of the public holiday on ``day`` (``"Armistice"``), or None."""
        return public_holidays(self.subdivision, day.year).get(day)

    def is_public_holiday(self, day: dt.date) -> bool:
        return day in public_holidays(self.subdivision, day.year)

    def school_holiday(self, day: dt.date) -> SchoolHoliday | None:
        """The school holiday period ``day`` falls in, or None on a school day."""
        return self.school.holiday_on(day)

    def instant(self, day: dt.date, at: dt.time) -> dt.datetime:
        """The aware instant of wall-clock ``at`` on ``day`` in the commune."""
        return local_instant(day, at, self.zone)

    def local(self, moment: dt.datetime) -> dt.datetime:
        """``moment`` (aware, any zone) seen on the commune's clocks."""
        return require_aware(moment).astimezone(self.zone)

    def today(self, now: dt.datetime) -> dt.date:
        """The commune's date at instant ``now``."""
        return self.local(now).date()
