"""How values are written to PostgreSQL and read back equal: instants with their zone, free text."""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Sequence
from typing import Any, Final

from espacefamille.adapters import _sql
from espacefamille.adapters._sql import _Encoding, _same, _zone_named

# The bookings repository reads these from here (the others import them from adapters._sql).
_BOOKING_STATUS: Final = _sql._BOOKING_STATUS
_new_booking: Final = _sql._new_booking
_zone: Final = _sql._zone


def _instant(moment: dt.datetime) -> tuple[dt.datetime, str]:
    """A ``timestamptz`` (the instant, which sorts and compares in SQL) and the zone it was given in."""
    return moment, _zone(moment)


def _optional_instant(moment: dt.datetime | None) -> tuple[dt.datetime | None, str | None]:
    return (None, None) if moment is None else _instant(moment)


@functools.lru_cache(maxsize=8192)
def _read_instant(at: dt.datetime, zone: str) -> dt.datetime:
    # A month of bookings shares few booking instants: the conversion is cached.
    return at.astimezone(_zone_named(zone))


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


# The columns each repository reads, in the order its codec expects (those alike on both stores: _sql).
_BOOKING_COLUMNS: Final = (
    "child_id, prestation_id, day, family_id, status, booked_at, booked_zone, paid_cents, surcharge_code"
)
_FACT_COLUMNS: Final = (
    "child_id, prestation_id, day, status, recorded_by, recorded_at, recorded_zone, note, reason"
)
_ABSENCE_COLUMNS: Final = (
    "child_id, start_day, end_day, reason, declared_at, declared_zone, proof_received_at, proof_zone"
)
_ATTEMPT_COLUMNS: Final = (
    "payment_id, family_id, regie_id, invoice_numbers, status, redirect_url, amount_cents, reference, "
    "email, created_at, created_zone, expires_at, expires_zone"
)


def _lines(lines: Sequence[str]) -> list[str]:
    return [_text(line) for line in lines]


def _read_lines(lines: Sequence[Any]) -> tuple[str, ...]:
    return tuple(_read_text(line) for line in lines)


# Days as ``date``, free text with NUL escaped, flags as ``boolean``, a child's diets and an address's lines
# as arrays.
_ENCODING: Final = _Encoding(
    day=_same,
    read_day=_same,
    text=_text,
    read_text=_read_text,
    flag=_same,
    read_flag=_same,
    names=_same,
    read_names=_same,
    lines=_lines,
    read_lines=_read_lines,
)
