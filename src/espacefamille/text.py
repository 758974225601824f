"""French (and English) wording of dates, times and amounts, through babel's CLDR data.

One place decides how a date or an amount reads in a message shown to a family, so that
"jeudi 12 novembre 2026 à 12 h 00" and "1 234,50 €" are written the same way everywhere.
"""

from __future__ import annotations

import datetime as dt
import functools
from decimal import Decimal
from typing import Literal

from babel.dates import get_day_names, get_month_names
from babel.numbers import format_currency as _babel_format_currency

__all__ = [
    "Lang",
    "count_of",
    "format_amount",
    "format_date",
    "format_datetime",
    "format_duration",
    "format_time",
    "locale_for",
    "month_name",
]

Lang = Literal["fr", "en"]

_LOCALES: dict[str, str] = {"fr": "fr_FR", "en": "en_GB"}


def format_duration(minutes: int) -> str:
    """A duration in whole minutes as French reads it: ``1 h 05``, ``45 min`` (never 1.05 h)."""
    hours, rest = divmod(minutes, 60)
    return f"{hours} h {rest:02d}" if hours else f"{rest} min"


def locale_for(lang: Lang) -> str:
    """The babel locale used for a message language."""
    return _LOCALES[lang]


@functools.cache
def _names(lang: Lang) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """CLDR's wide, stand-alone-free weekday and month names for ``lang``, read once from babel."""
    locale = locale_for(lang)
    weekdays = get_day_names("wide", "format", locale=locale)
    months = get_month_names("wide", "format", locale=locale)
    return tuple(str(weekdays[i]) for i in range(7)), tuple(str(months[i]) for i in range(1, 13))


def month_name(month: int, lang: Lang = "fr") -> str:
    """A month's name as a date shows it: ``month_name(11)`` is ``novembre``."""
    return _names(lang)[1][month - 1]


@functools.lru_cache(maxsize=4096)
def format_date(day: dt.date, lang: Lang = "fr") -> str:
    """A full date as a parent reads it: ``jeudi 12 novembre 2026`` (``mardi 1er décembre 2026``).

    The names come from CLDR through babel; the pattern is babel's ``EEEE d MMMM y`` (English:
    ``EEEE d MMMM y`` too, as in British usage). Formatting is done here because it runs for every
    line of a basket, a calendar view or an invoice, and babel's general formatter is slow for that; the
    dates of a month are shared by every family of the commune, so each is written once (the one wording
    cache of the library).
    """
    weekdays, months = _names(lang)
    number = "1er" if lang == "fr" and day.day == 1 else str(day.day)
    return f"{weekdays[day.weekday()]} {number} {months[day.month - 1]} {day.year}"


def format_time(moment: dt.time | dt.datetime, lang: Lang = "fr") -> str:
    """A time of day: ``12 h 00`` in French (the typographic usage), ``12:00`` in English."""
    if lang == "fr":
        return f"{moment.hour} h {moment.minute:02d}"
    return f"{moment.hour:02d}:{moment.minute:02d}"


def format_datetime(moment: dt.datetime, lang: Lang = "fr") -> str:
    """An instant in its own time zone: ``jeudi 12 novembre 2026 à 12 h 00``."""
    joiner = " à " if lang == "fr" else " at "
    return format_date(moment.date(), lang) + joiner + format_time(moment, lang)


def format_amount(amount: Decimal, lang: Lang = "fr") -> str:
    """Euros with CLDR spacing: ``1 234,50 €`` (narrow no-break space for thousands) in French."""
    return str(_babel_format_currency(amount, "EUR", locale=locale_for(lang)))


def count_of(count: int, singular: str, plural: str, lang: Lang = "fr") -> str:
    """A number with its noun agreed: ``1 facture``, ``3 factures``; in French 0 and 1 take the singular
    (``0 avoir``), in English only 1 does."""
    one = abs(count) < 2 if lang == "fr" else count == 1
    return f"{count} {singular if one else plural}"
