"""How values are written to PostgreSQL and read back equal: instants with their zone, free text."""

from __future__ import annotations

import datetime as dt
import functools
import re
import zoneinfo
from typing import Final

from espacefamille._internal.trusted import trusted_builder
from espacefamille.errors import InvalidInput
from espacefamille.model import BookedDays, Booking, BookingStatus, Child, Family, Guardian, QuotientFamilial
from espacefamille.rules.attendance import AttendanceFact, AttendanceStatus


def _zone(moment: dt.datetime) -> str:
    """The name of the zone an instant was given in: its IANA key, or its fixed offset (``+05:30:00``)."""
    zone = moment.tzinfo
    if isinstance(zone, zoneinfo.ZoneInfo) and zone.key:
        return zone.key
    offset = moment.utcoffset()
    assert offset is not None  # the model only holds aware instants
    seconds = int(offset.total_seconds())
    sign = "-" if seconds < 0 else "+"
    return f"{sign}{abs(seconds) // 3600:02d}:{abs(seconds) % 3600 // 60:02d}:{abs(seconds) % 60:02d}"


def _instant(moment: dt.datetime) -> tuple[dt.datetime, str]:
    """A ``timestamptz`` (the instant, which sorts and compares in SQL) and the zone it was given in."""
    return moment, _zone(moment)


def _optional_instant(moment: dt.datetime | None) -> tuple[dt.datetime | None, str | None]:
    return (None, None) if moment is None else _instant(moment)


@functools.cache
def _tz(name: str) -> dt.tzinfo:
    if name[:1] in "+-":
        sign = -1 if name[0] == "-" else 1
        hours, minutes, seconds = (int(part) for part in name[1:].split(":"))
        return dt.timezone(dt.timedelta(hours=hours, minutes=minutes, seconds=seconds) * sign)
    return zoneinfo.ZoneInfo(name)


@functools.lru_cache(maxsize=8192)
def _read_instant(at: dt.datetime, zone: str) -> dt.datetime:
    # A month of bookings shares few booking instants: the conversion is cached.
    return at.astimezone(_tz(zone))


def _read_optional_instant(at: dt.datetime | None, zone: str | None) -> dt.datetime | None:
    return None if at is None or zone is None else _read_instant(at, zone)


# PostgreSQL text cannot hold U+0000, which a name typed anywhere may contain: free text is stored with
# NUL as "\0" and a backslash doubled; text without either (nearly all) is stored as it is.
_ESCAPED: Final = re.compile(r"\\(.)", re.DOTALL)


def _text(value: str) -> str:
    if "\\" in value or "\x00" in value:
        return value.replace("\\", "\\\\").replace("\x00", "\\0")
    return value


def _optional_text(value: str | None) -> str | None:
    return None if value is None else _text(value)


def _read_text(value: str) -> str:
    if "\\" in value:
        return _ESCAPED.sub(lambda match: "\x00" if match[1] == "0" else match[1], value)
    return value


def _read_optional_text(value: str | None) -> str | None:
    return None if value is None else _read_text(value)


def _check_day(day: object, what: str) -> dt.date:
    if not isinstance(day, dt.date) or isinstance(day, dt.datetime):
        raise InvalidInput(f"{what} must be a date, got {day!r}", code="input.not_a_date")
    return day


_new_booking: Final = trusted_builder(Booking)
_new_booked_days: Final = trusted_builder(BookedDays)
_new_fact: Final = trusted_builder(AttendanceFact)
_new_family: Final = trusted_builder(Family)
_new_guardian: Final = trusted_builder(Guardian)
_new_quotient: Final = trusted_builder(QuotientFamilial)
_new_child: Final = trusted_builder(Child)
_ATTENDANCE_STATUS: Final = {status.value: status for status in AttendanceStatus}
_BOOKING_STATUS: Final = {status.value: status for status in BookingStatus}

# The columns each repository reads, in the order its codec expects.
_CHILD_COLUMNS: Final = (
    "id, first_name, last_name, birth_date, school, school_class, pai, needs_support, diets"
)
_BOOKING_COLUMNS: Final = (
    "child_id, prestation_id, day, family_id, status, booked_at, booked_zone, paid_cents, surcharge_code"
)
_FACT_COLUMNS: Final = (
    "child_id, prestation_id, day, status, recorded_by, recorded_at, recorded_zone, note, reason"
)
_ABSENCE_COLUMNS: Final = (
    "child_id, start_day, end_day, reason, declared_at, declared_zone, proof_received_at, proof_zone"
)
_LINE_COLUMNS: Final = (
    "child_id, prestation_id, label, reason, days, quantity, unit_price, total_cents, explanation, "
    "regularises_invoice, regularises_day, minutes"
)
_ATTEMPT_COLUMNS: Final = (
    "payment_id, family_id, regie_id, invoice_numbers, status, redirect_url, amount_cents, reference, "
    "email, created_at, created_zone, expires_at, expires_zone"
)
