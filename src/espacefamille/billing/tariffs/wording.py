"""How prices are said in French: amounts, quotients, percentages, ranks, statuses; the clause registry."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Final, TypeAlias

from babel.numbers import format_currency, format_decimal

from espacefamille.errors import InvalidInput
from espacefamille.money import Money
from espacefamille.text import format_amount

__all__ = [
    "Clause",
    "clause_text",
    "format_number",
    "format_quotient",
    "fr_euros",
    "fr_number",
    "fr_ordinal",
    "fr_percent",
    "fr_quotient",
    "status_text",
]

# -- French wording -----------------------------------------------------------------------------


def format_number(value: Decimal) -> str:
    """A decimal written the French way with the digits it was given: ``1 000``, ``0,40``, ``650,50``."""
    sign = "-" if value < 0 else ""
    whole, _, fraction = format(abs(value), "f").partition(".")
    grouped = str(format_decimal(int(whole), locale="fr_FR"))  # CLDR narrow no-break space
    return sign + grouped + ("," + fraction if fraction else "")


def format_quotient(value: Decimal) -> str:
    """A quotient familial as families read it: ``1 000 €``, ``650,50 €``."""
    return format_number(value) + "\u00a0€"


# Babel is slow for the thousands of sentences of a city's run (a taux d'effort writes one per QF), and
# the same few numbers come back: each is written once, keyed by its exact digits (``str`` of a Decimal
# keeps them, so ``0.4`` and ``0.40`` stay apart).


@functools.lru_cache(maxsize=16_384)
def _money_text(cents: int) -> str:
    return Money.from_cents(cents).format()


@functools.lru_cache(maxsize=16_384)
def _decimal_euros(digits: str) -> str:
    value = Decimal(digits)
    if value == value.quantize(Decimal("0.01")):
        return format_amount(value)
    # A price finer than the cent (1,125 € the hour) is shown as configured, not silently rounded.
    return str(format_currency(value, "EUR", locale="fr_FR", decimal_quantization=False))


@functools.lru_cache(maxsize=16_384)
def _number(digits: str) -> str:
    return format_number(Decimal(digits))


def fr_euros(value: Decimal | Money) -> str:
    """An amount in a French clause (``3,20 €``; ``1,125 €`` when finer than the cent), written once."""
    if isinstance(value, Money):
        return _money_text(value.cents)
    return _decimal_euros(str(value))


def fr_number(value: Decimal) -> str:
    """``format_number``, written once per value."""
    return _number(str(value))


def fr_percent(value: Decimal) -> str:
    """A percentage in a French clause: ``10 %`` (narrow no-break space)."""
    return _number(str(value)) + "\u202f%"


def fr_quotient(value: Decimal) -> str:
    """``format_quotient``, written once per value."""
    return _number(str(value)) + "\u00a0€"


def fr_ordinal(rank: int) -> str:
    """``1er``, ``2e``…"""
    return "1er" if rank == 1 else f"{rank}e"


Clause: TypeAlias = tuple[str, tuple[object, ...]]
"""One reason behind a price: a stable code and the values its French clause is written from."""

_CLAUSES: Final[dict[str, Callable[..., str]]] = {}


def _register_clauses(owner: str, clauses: Mapping[str, Callable[..., str]]) -> None:
    taken = sorted(set(clauses) & set(_CLAUSES))
    if taken:
        raise InvalidInput(
            f"{owner}: clause code(s) {', '.join(taken)} already taken", code="tariff.clause_twice"
        )
    _CLAUSES.update(clauses)


def clause_text(code: str, values: tuple[object, ...]) -> str:
    """The French clause of a criterion's or an effect's step (``tranche QF 651 à 1 000 € : …``)."""
    return _CLAUSES[code](*values)


_STATUS_LABELS: Final = {
    "present": "présence",
    "absent_justified": "absence justifiée",
    "absent_unjustified": "absence non justifiée",
    "present_unbooked": "présence sans réservation",
    "cancelled_in_time": "annulation dans les délais",
    "service_closed": "service fermé par la commune",
}


def status_text(code: object) -> str:
    """How an attendance status or a commune's absence reason is said in a clause (``absence justifiée``)."""
    return _STATUS_LABELS.get(str(code), str(code).replace("_", " "))
