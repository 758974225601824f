"""Public holidays (jours fériés) by subdivision, from the ``holidays`` package, frozen per year.

Metropolitan France has 11; Alsace-Moselle adds Good Friday and 26 December; each overseas
department adds its day of the abolition of slavery.
"""

from __future__ import annotations

import datetime as dt
import enum
import functools
from collections.abc import Mapping
from types import MappingProxyType

import holidays as _holidays

from espacefamille.errors import InvalidInput

__all__ = ["HolidaySubdivision", "public_holidays"]


class HolidaySubdivision(enum.Enum):
    """The public-holiday rules a commune follows."""

    METROPOLE = "metropole"
    ALSACE_MOSELLE = "alsace-moselle"
    GUADELOUPE = "guadeloupe"
    MARTINIQUE = "martinique"
    GUYANE = "guyane"
    REUNION = "reunion"
    MAYOTTE = "mayotte"

    @property
    def holidays_code(self) -> str | None:
        """The subdivision code of the ``holidays`` package (``None`` for the metropole)."""
        return _CODES[self]


_CODES: dict[HolidaySubdivision, str | None] = {
    HolidaySubdivision.METROPOLE: None,
    HolidaySubdivision.ALSACE_MOSELLE: "57",
    HolidaySubdivision.GUADELOUPE: "971",
    HolidaySubdivision.MARTINIQUE: "972",
    HolidaySubdivision.GUYANE: "973",
    HolidaySubdivision.REUNION: "974",
    HolidaySubdivision.MAYOTTE: "976",
}

_FIRST_YEAR = 1990
_LAST_YEAR = 2100


@functools.cache
def public_holidays(subdivision: HolidaySubdivision, year: int) -> Mapping[dt.date, str]:
    """The public holidays of ``year`` as a read-only mapping date → French name."""
    if not _FIRST_YEAR <= year <= _LAST_YEAR:
        raise InvalidInput(
            f"year {year} is outside {_FIRST_YEAR}-{_LAST_YEAR}",
            message_fr=f"Année hors des limites : {year}.",
            code="calendar.year_out_of_range",
        )
    table = _holidays.country_holidays("FR", subdiv=subdivision.holidays_code, years=year, language="fr")
    frozen = {day: str(name) for day, name in sorted(table.items())}
    return MappingProxyType(frozen)
