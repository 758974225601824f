"""Attestations a régie gives families: the childcare tax credit's yearly amounts, and days of presence.

**The tax attestation** (*attestation de frais de garde*, CGI art. 200 quater B) says, per child under six on
1 January of the year, what the family actually paid in that year for the child's care outside the home.
The rules, as this module applies them:

- *paid in the year*: the payments received in the calendar year in the commune's time zone, as they were
  allocated to invoices (a credit note set against an invoice is not a payment; a payment received on
  31 December counts in that year even if it was allocated later);
- *actually kept*: a direct debit the bank returned (a reject, reversed by an allocation from the invoice
  to a negative payment, ``billing.documents``) was not paid: the reversal takes back the invoice's latest
  payments received before it — the returned collection — in whatever year it came back;
- *care only*: an invoice line counts when it bills a child's prestation; surcharges (codes
  ``surcharge.*``: unbooked presence, late booking, the exceptional tariff's supplement) are penalties and do
  not count, nor the amounts carried from earlier periods; a price list says the part of each unit that pays
  for the meal (``meal = "2.10"`` in a prestation's price entry), which is taken off the line;
- a payment settling part of an invoice pays its care part in proportion (the same share of every line),
  rounded down to the cent, so that the attestation never says more than the care part paid;
- *paid at booking* (prepaid prestations, the holiday centre): a day booked and paid online counts what was
  paid for it (``Booking.paid``) in the year it was booked (the payment follows within the hold), less the
  meal part; a day cancelled (its money became a credit) does not count, nor a day booked late with a
  surcharge, whose price and surcharge are paid together and not kept apart (left out rather than overstated);
- *alternating residence*: a child in two households is on each household's attestation with what that
  household paid (each pays its own days); the attestation says so, for the tax office halves the ceiling.

**The presence attestation** counts, per child and prestation, the days a child was present in a period
(attendance facts ``present`` and ``present_unbooked``).

Pure: the caller reads the documents, payments, allocations and facts; nothing here reads a clock.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Final

import attrs

from espacefamille.billing.documents import (
    Allocation,
    DocumentKind,
    Invoice,
    InvoiceLine,
    Payment,
    PaymentMethod,
)
from espacefamille.calendar.periods import DateRange
from espacefamille.commune import Commune
from espacefamille.errors import EspaceFamilleError, InvalidInput
from espacefamille.model import Booking, BookingStatus, Child, Family
from espacefamille.money import ZERO, Money
from espacefamille.rules.attendance import AttendanceFact, AttendanceStatus
from espacefamille.text import count_of, format_date

__all__ = [
    "TAX_CREDIT_AGE",
    "ChildCarePaid",
    "ChildPresence",
    "PresenceAttestation",
    "TaxAttestation",
    "care_part",
    "presence_attestation",
    "tax_attestation",
]

#: A child counts for the tax credit while under six on 1 January of the year.
TAX_CREDIT_AGE: Final = 6
_PRESENT: Final = (AttendanceStatus.PRESENT, AttendanceStatus.PRESENT_UNBOOKED)
_CARRIED: Final = "billing.carried_forward"


@attrs.frozen
class ChildCarePaid:
    """One child on a tax attestation: who, what was paid for the care, and whether in two households."""

    child_id: str
    first_name: str
    last_name: str
    birth_date: dt.date
    amount: Money
    alternating_residence: bool = False


@attrs.frozen
class TaxAttestation:
    """A household's attestation for the childcare tax credit of ``year`` (only children with an amount)."""

    collectivite: str
    family_id: str
    payer: str
    year: int
    children: tuple[ChildCarePaid, ...]

    @property
    def code(self) -> str:
        return "attestation.tax_credit"

    @property
    def total(self) -> Money:
        return Money.total(child.amount for child in self.children)

    @property
    def message_fr(self) -> str:
        opening = (
            f"{self.collectivite} atteste que {self.payer} a payé en {self.year} pour la garde hors du "
            f"domicile de ses enfants de moins de {TAX_CREDIT_AGE} ans au 1er janvier {self.year} "
            "(repas, majorations et pénalités exclus)"
        )
        if not self.children:
            return opening + " : aucun montant."
        parts = []
        for child in self.children:
            born = format_date(child.birth_date)
            part = (
                f"{child.first_name} {child.last_name} (date de naissance : {born}) : {child.amount.format()}"
            )
            if child.alternating_residence:
                part += ", en résidence alternée : montant payé par ce foyer"
            parts.append(part)
        return opening + " : " + " ; ".join(parts) + "."


def _check_household(commune: object, family: object) -> None:
    if not isinstance(commune, Commune) or not isinstance(family, Family):
        raise InvalidInput(
            "expected a Commune and a Family",
            message_fr="La commune et le foyer sont attendus.",
            code="input.invalid",
        )


def _is_care(line: InvoiceLine) -> bool:
    return bool(line.child_id) and not line.reason.startswith("surcharge") and line.reason != _CARRIED


def _meal_per_unit(commune: Commune, prestation_id: str, day: dt.date) -> Decimal:
    try:
        _, tariff = commune.tariffs.tariff_on(prestation_id, day)
    except EspaceFamilleError:
        return Decimal(0)  # an unpriced day (an imported invoice) has no meal part to take off
    return tariff.meal or Decimal(0)


def care_part(commune: Commune, line: InvoiceLine) -> Money:
    """The part of ``line`` that pays for care: zero for a surcharge or a carried amount, else its total less
    the meal part of its units (the price list's ``meal`` of each day, times the units of that day), never
    beyond the line's total nor of the other sign."""
    if not _is_care(line):
        return ZERO
    if not line.days:
        return line.total
    per_day = line.quantity / len(line.days)
    meal = sum((_meal_per_unit(commune, line.prestation_id, day) * per_day for day in line.days), Decimal(0))
    care = line.total - commune.rounding.round(meal)
    if line.total.is_negative:
        return min(max(care, line.total), ZERO)
    return min(max(care, ZERO), line.total)


def _paid_at_booking(commune: Commune, booking: Booking, year: int) -> bool:
    return (
        booking.paid is not None
        and booking.status is BookingStatus.BOOKED
        and booking.surcharge_code is None
        and commune.calendar.today(booking.booked_at).year == year
    )


def _booking_care(commune: Commune, booking: Booking) -> Money:
    """What a day paid at booking paid for care: its price paid less the meal part, within [0, paid]."""
    assert booking.paid is not None
    meal = commune.rounding.round(_meal_per_unit(commune, booking.prestation_id, booking.day))
    return min(max(booking.paid - meal, ZERO), booking.paid)


def _paid_in(commune: Commune, payments: Iterable[Payment], year: int) -> set[str]:
    return {
        payment.number
        for payment in payments
        if payment.method is not PaymentMethod.CREDIT
        and not payment.amount.is_negative
        and commune.calendar.today(payment.received_at).year == year
    }


def _kept(
    invoices: Iterable[Invoice], payments: Iterable[Payment], allocations: Iterable[Allocation]
) -> dict[tuple[str, str], int]:
    """What each payment's allocation to an invoice still settles, in cents by (payment, invoice): an
    invoice's reversals take back its latest payments received no later than each reversal."""
    by_number = {payment.number: payment for payment in payments}
    reversible = {invoice.number for invoice in invoices if not invoice.is_credit_note}
    kept: dict[tuple[str, str], int] = {}
    reversals: list[tuple[Payment, Allocation]] = []
    for allocation in allocations:
        target = by_number.get(allocation.invoice_number)
        if allocation.source in reversible and target is not None and target.amount.is_negative:
            reversals.append((target, allocation))
        elif allocation.source in by_number:
            key = (allocation.source, allocation.invoice_number)
            kept[key] = kept.get(key, 0) + allocation.amount.cents
    for reversal, allocation in sorted(reversals, key=lambda item: (item[0].received_at, item[0].number)):
        to_take = allocation.amount.cents
        before = sorted(
            (
                (by_number[source].received_at, source)
                for source, invoice in kept
                if invoice == allocation.source and by_number[source].received_at <= reversal.received_at
            ),
            reverse=True,
        )
        for _, source in before:
            key = (source, allocation.source)
            taken = min(kept[key], to_take)
            kept[key] -= taken
            to_take -= taken
    return kept


def tax_attestation(
    commune: Commune,
    family: Family,
    children: Iterable[Child],
    invoices: Iterable[Invoice],
    payments: Iterable[Payment],
    allocations: Iterable[Allocation],
    year: int,
    bookings: Iterable[Booking] = (),
) -> TaxAttestation:
    """``family``'s tax attestation for ``year`` from its documents (the module's rules, above).

    ``children`` are the household's children, ``invoices``, ``payments`` and ``allocations`` its own, and
    ``bookings`` its bookings (those paid at booking count). A child aged six or more on 1 January, or with
    nothing paid, is not on it.
    """
    if isinstance(year, bool) or not isinstance(year, int) or not 1900 <= year <= 2200:
        raise InvalidInput(
            f"year must be a year, got {year!r}",
            message_fr="L'année est attendue.",
            code="input.invalid_year",
        )
    _check_household(commune, family)
    first_january = dt.date(year, 1, 1)
    young = {child.id: child for child in children if child.age_on(first_january) < TAX_CREDIT_AGE}
    invoices, payments = list(invoices), list(payments)
    paid_by = _paid_in(commune, payments, year)
    paid: dict[str, int] = {}
    for (source, invoice_number), kept in _kept(invoices, payments, allocations).items():
        if source in paid_by:
            paid[invoice_number] = paid.get(invoice_number, 0) + kept
    cents: dict[str, int] = {}
    for invoice in invoices:
        if invoice.kind is DocumentKind.CREDIT_NOTE or invoice.number not in paid or invoice.total <= ZERO:
            continue
        care: dict[str, int] = {}
        for line in invoice.lines:
            if line.child_id in young:
                care[line.child_id] = care.get(line.child_id, 0) + care_part(commune, line).cents
        settled = min(paid[invoice.number], invoice.total.cents)
        for child_id, part in care.items():
            if part > 0:
                cents[child_id] = cents.get(child_id, 0) + settled * part // invoice.total.cents
    for booking in bookings:
        if booking.child_id in young and _paid_at_booking(commune, booking, year):
            cents[booking.child_id] = cents.get(booking.child_id, 0) + _booking_care(commune, booking).cents
    lines = tuple(
        ChildCarePaid(
            child.id,
            child.first_name,
            child.last_name,
            child.birth_date,
            Money.from_cents(cents[child.id]),
            len(child.family_ids) > 1,
        )
        for child in sorted(young.values(), key=lambda c: (c.birth_date, c.id))
        if cents.get(child.id, 0) > 0
    )
    payer = family.payer
    return TaxAttestation(
        commune.collectivite.name, family.id, f"{payer.first_name} {payer.last_name}", year, lines
    )


@attrs.frozen
class ChildPresence:
    """Days a child was present at one prestation."""

    child_id: str
    child_name: str
    prestation_id: str
    prestation_name: str
    days: tuple[dt.date, ...]

    @property
    def count(self) -> int:
        return len(self.days)


@attrs.frozen
class PresenceAttestation:
    """A household's presence attestation for ``period``: per child and prestation, the days attended."""

    collectivite: str
    family_id: str
    payer: str
    period: DateRange
    presences: tuple[ChildPresence, ...]

    @property
    def code(self) -> str:
        return "attestation.presence"

    @property
    def message_fr(self) -> str:
        start, end = format_date(self.period.start), format_date(self.period.end)
        if not self.presences:
            return f"Aucune présence du {start} au {end}."
        parts = [
            f"{presence.child_name} : {count_of(presence.count, 'jour', 'jours')} de présence "
            f"({presence.prestation_name})"
            for presence in self.presences
        ]
        return f"{self.collectivite} atteste, du {start} au {end}, " + " ; ".join(parts) + "."


def presence_attestation(
    commune: Commune,
    family: Family,
    children: Iterable[Child],
    facts: Iterable[AttendanceFact],
    period: DateRange,
    *,
    child_ids: Iterable[str] | None = None,
) -> PresenceAttestation:
    """``family``'s presence attestation for ``period`` from its attendance ``facts`` (only ``child_ids`` if
    given): per child and prestation, the days present, with or without a booking."""
    _check_household(commune, family)
    if not isinstance(period, DateRange):
        raise InvalidInput(
            "period must be a DateRange", message_fr="La période est attendue.", code="input.invalid"
        )
    known: Mapping[str, Child] = {child.id: child for child in children}
    wanted = set(known) if child_ids is None else set(child_ids)
    unknown = sorted(wanted - set(known))
    if unknown:
        raise InvalidInput(
            f"no child {unknown[0]!r} in family {family.id}",
            message_fr=f"L'enfant {unknown[0]} n'est pas un enfant du foyer {family.name}.",
            code="attestation.unknown_child",
        )
    days: dict[tuple[str, str], set[dt.date]] = {}
    for fact in facts:
        if fact.child_id in wanted and fact.day in period and fact.status in _PRESENT:
            days.setdefault((fact.child_id, fact.prestation_id), set()).add(fact.day)
    presences = tuple(
        ChildPresence(
            child_id,
            f"{known[child_id].first_name} {known[child_id].last_name}",
            prestation_id,
            commune.prestation(prestation_id).name,
            tuple(sorted(found)),
        )
        for (child_id, prestation_id), found in sorted(days.items())
    )
    payer = family.payer
    return PresenceAttestation(
        commune.collectivite.name, family.id, f"{payer.first_name} {payer.last_name}", period, presences
    )
