"""French (and English) wording of dates, times and amounts, through babel's CLDR data.

One place decides how a date or an amount reads in a message shown to a family, so that
"jeudi 12 novembre 2026 à 12 h 00" and "1 234,50 €" are written the same way everywhere.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Literal

from babel.dates import format_date as _babel_format_date
from babel.numbers import format_currency as _babel_format_currency

__all__ = ["Lang", "format_amount", "format_date", "format_datetime", "format_time", "locale_for"]

Lang = Literal["fr", "en"]

_LOCALES: dict[str, str] = {"fr": "fr_FR", "en": "en_GB"}


def locale_for(lang: Lang) -> str:
    """The babel locale used for a message language."""
    return _LOCALES[lang]


def format_date(day: dt.date, lang: Lang = "fr") -> str:
    """A full date as a parent reads it: ``jeudi 12 novembre 2026``."""
    if lang == "fr":
        text = str(_babel_format_date(day, "EEEE d MMMM y", locale="fr_FR"))
        # French writes the first of the month as an ordinal: « mardi 1er décembre 2026 ».
        return text.replace(" 1 ", " 1er ", 1) if day.day == 1 else text
    return str(_babel_format_date(day, "EEEE d MMMM y", locale="en_GB"))


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
