"""Corrections of days already billed, and balances carried below the recovery threshold.

What earlier runs of a régie left behind, and how a month-end run takes it up again:

* ``CarriedBalance`` — a family's lines below the régie's *seuil de mise en recouvrement*, not issued,
  issued unchanged with a later invoice (``_carried_to_issue``: those a run issues now).
* what the family's issued documents already billed, day by day (``_Invoiced``): the share of each line on
  each of its days, the invoice that first billed it;
* the regularisation line of a day already invoiced whose facts changed: it names the original invoice and
  the day (``InvoiceLine.regularises``) and bills what the day is worth now minus what was invoiced for it
  (what it is worth now is priced in ``billing.invoice_lines``, by the one pricing path);
* ``days_to_read`` — the earlier days a run reads again for a family (changed days, and the days of a
  carried line holding one); ``unbooked_counts`` — the presences without booking already billed in the
  school year, for the surcharge's yearly tolerance.

Pure, as the rest of month-end billing (``billing.invoicing``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Container, Iterable, Sequence
from decimal import Decimal
from typing import Final

import attrs

from espacefamille.billing.documents import Invoice, InvoiceLine
from espacefamille.money import Money
from espacefamille.rules.attendance import AttendanceStatus
from espacefamille.text import format_date

__all__ = ["CarriedBalance", "days_to_read", "unbooked_counts"]

REGULARISATION: Final = "regularisation"
_UNBOOKED_CODE: Final = AttendanceStatus.PRESENT_UNBOOKED.code  # the reason of a presence's own line


def _lines(items: Iterable[InvoiceLine]) -> tuple[InvoiceLine, ...]:
    return tuple(items)


@attrs.frozen
class CarriedBalance:
    """Lines of a family below the recovery threshold, not issued, waiting for a later invoice.

    The lines keep their days and explanations; they are issued unchanged with the next invoice (or
    credit note) of the family at the régie.
    """

    family_id: str
    regie_id: str
    lines: tuple[InvoiceLine, ...] = attrs.field(converter=_lines)

    @property
    def amount(self) -> Money:
        return Money.total(line.total for line in self.lines)


def _shares(total: Money, count: int) -> list[Money]:
    """A line's total over its days: equal cents, the first days taking the cents left (as ``split``)."""
    cents = total.cents
    magnitude, sign = abs(cents), (-1 if cents < 0 else 1)
    base, left = divmod(magnitude, count)
    return [Money.from_cents(sign * (base + (1 if index < left else 0))) for index in range(count)]


_DayKey = tuple[str, str, dt.date]


class _Invoiced:
    """What the family's issued documents already billed, day by day."""

    __slots__ = ("entries", "issued_on", "origin")

    def __init__(
        self, issued: Iterable[Invoice], regie_id: str, family_id: str, prestations: Container[str]
    ) -> None:
        self.entries: dict[_DayKey, list[tuple[str, Decimal, Money]]] = {}
        self.origin: dict[_DayKey, str] = {}
        self.issued_on: dict[str, dt.date] = {}
        ordered = sorted(
            (doc for doc in issued if doc.regie_id == regie_id and doc.family_id == family_id),
            key=lambda doc: (doc.issued_on, doc.number),
        )
        for document in ordered:
            self.issued_on[document.number] = document.issued_on
            for line in document.lines:
                # Days without dates, and prepaid prestations (their credit notes come from cancellations
                # paid at booking), are not month-end days to regularise.
                if not line.days or line.prestation_id not in prestations:
                    continue
                shares = _shares(line.total, len(line.days))
                for day, share in zip(line.days, shares, strict=True):
                    key = (line.child_id, line.prestation_id, day)
                    self.entries.setdefault(key, []).append((line.reason, line.unit_price, share))
                    self.origin.setdefault(key, document.number)

    def amount(self, key: _DayKey) -> Money:
        return Money.total(share for _, _, share in self.entries.get(key, ()))

    def matching(self, key: _DayKey, reason: str, unit_price: Decimal | None) -> Money | None:
        """The share already invoiced for the day on a line of this reason (and unit price), if any."""
        for line_reason, line_price, share in self.entries.get(key, ()):
            if line_reason == reason and (unit_price is None or line_price == unit_price):
                return share
        return None

    def has_reason(self, key: _DayKey, prefix: str) -> Money | None:
        for line_reason, _, share in self.entries.get(key, ()):
            if line_reason.startswith(prefix):
                return share
        return None


def _regularisation_line(
    invoiced: _Invoiced, key: _DayKey, label: str, before: Money, now: Money, basis: str
) -> InvoiceLine:
    """The line of a day already invoiced, worth ``now`` instead of ``before`` (``basis``: why, in a few
    words): it names the invoice that billed the day, and bills the difference."""
    child_id, prestation_id, day = key
    origin = invoiced.origin[key]
    difference = now - before
    explanation = (
        f"Régularisation de la facture {origin} du {format_date(invoiced.issued_on[origin])} "
        f"pour le {format_date(day)} : déjà facturé {before.format()}, désormais dû {now.format()} "
        f"({basis})."
    )
    return InvoiceLine(
        child_id,
        prestation_id,
        label,
        REGULARISATION,
        (day,),
        Decimal(1),
        difference.amount,
        difference,
        explanation,
        (origin, day),
    )


def _carried_to_issue(
    carried: CarriedBalance, issued: Sequence[Invoice], changed: frozenset[dt.date]
) -> list[InvoiceLine]:
    """The carried lines a run issues now with the family's new lines."""
    # Carried lines already issued (a rerun after they went out) are not issued again; a carried line
    # with a changed day was never issued: its days are billed again from their facts instead.
    already = {line for doc in issued for line in doc.lines} if issued else set()
    return [
        line
        for line in carried.lines
        if line not in already and not (changed and changed.intersection(line.days))
    ]


def days_to_read(changed: Iterable[dt.date], carried: CarriedBalance | None) -> tuple[dt.date, ...]:
    """The earlier days a run must read for a family besides its period: the ``changed`` ones, and every
    day of a carried line that holds one of the days to read (that line is billed again from its days'
    facts), until no carried line holds one more: a surcharge line of the 9th and 12th brings the 9th, and
    with it the presences of the 9th and 27th."""
    days = set(changed)
    if carried is None or not days:
        return tuple(sorted(days))
    pending = list(carried.lines)
    grown = True
    while grown:  # a line read again brings its days, which may be held by lines seen before
        grown = False
        for line in list(pending):
            if days.intersection(line.days):
                days.update(line.days)
                pending.remove(line)
                grown = True
    return tuple(sorted(days))


def unbooked_counts(
    documents: Iterable[Invoice],
    carried: CarriedBalance | None,
    regie_id: str,
    since: dt.date,
    before: dt.date,
) -> dict[tuple[str, str], int]:
    """Per (child id, prestation id), the presences without booking a régie already billed (issued, or
    carried below the threshold) on days from ``since`` up to ``before``: the school year's count so far for
    the surcharge's tolerance. A day counts once, even if later corrected (a tolerance used stays used)."""
    seen: set[tuple[str, str, dt.date]] = set()
    lines = [line for doc in documents if doc.regie_id == regie_id for line in doc.lines]
    if carried is not None:
        lines.extend(carried.lines)
    for line in lines:
        if line.reason == _UNBOOKED_CODE:
            seen.update(
                (line.child_id, line.prestation_id, day) for day in line.days if since <= day < before
            )
    counts: dict[tuple[str, str], int] = {}
    for child_id, prestation_id, _ in seen:
        counts[(child_id, prestation_id)] = counts.get((child_id, prestation_id), 0) + 1
    return counts
