"""Month-end invoicing: an invoice or credit note per payer family, corrections, the recovery threshold.

``run_month_end`` bills a régie's *payable en fin de mois* prestations for a month. Prepaid prestations are
paid at booking and never appear here. What each booked day costs comes from the one pricing path
(``billing.pricing.price_quote``), with the number of days — or of minutes for hourly prices, so 1 h 05 is
65 minutes. A run calls it once per price situation (``pricing.situation_key``) × attendance status, and
once more per number of days, and families in the same situation share the result: a city's run prices a
few tens of thousands of situations, not half a million lines.

The rules, in the words of a régie (``docs/invoicing.md`` has worked examples):

* **What a booked day costs.** A day with an active booking is billed by its attendance: present → the
  price; absent (justified or not), cancelled in time, service closed → the price list's attendance effect.
  A booked day with no attendance fact counts as present (agents usually record only the exceptions).
  A child recorded present on a day without an active booking is *present without booking*: the price list's
  effect for that status (the full price when it says nothing), plus the tariff's ``unbooked_presence``
  surcharge as a line of its own, after its yearly tolerance.
* **Late bookings.** A booking accepted after its deadline (``Booking.surcharge_code``, the code of the
  decision that accepted it) is billed what the price preview announced, as a line of its own beside the
  day's usual line: under a ``Surcharge`` policy, the surcharge (``surcharge.late_booking``); under an
  ``ExceptionalTariff``, the exceptional price minus the usual one
  (``surcharge.late_booking.exceptional_tariff``). The prestation's after-deadline policy is the one place
  a late booking's cost is set. A day its attendance bills nothing (a justified absence, a closure) gets
  no late line. A booking confirmed from the waiting list costs the usual price. When the commune no
  longer has the policy that accepted a booking, the day is billed its usual price and a 0 € line
  (``surcharge.late_booking.not_billed``) says why: no family is billed a supplement no rule sets.
* **Lines.** One line per child × prestation × unit price × reason, with its dates, quantity, exact unit
  price and rounded total; surcharges are always lines of their own. Days billed nothing (a justified
  absence, the training day) are shown as lines at 0 € so that the family sees why.
* **Forfaits.** A prestation priced by forfait (``tariffs.forfaits``) is billed per validated enrolment
  (``FamilyMonth.enrolments``), whatever the days booked: each forfait due joins the run as a booked day, its
  key day (the first day of the month, period or school year inside the enrolment), and is billed as its own
  line (``tariff.forfait``, ``tariff.instalment``), so every rule below applies to it as to any day.
* **Sibling rank.** The child's rank is its order of birth among the family's children given to the run,
  eldest first (twins: by child id); the number of children is how many were given.
* **Quotient familial.** The one in force on each day (``Family.quotient_on``); unknown is not 0.
* **Idempotence.** A day already on an issued invoice of the family is never billed again: running the
  same period again with the previous run's invoices yields nothing new, and no number is used.
* **Corrections.** For a day already invoiced whose facts changed (an absence justified late, a presence
  corrected, a wrong QF), a regularisation line names the original invoice and date
  (``InvoiceLine.regularises``) and bills (what the day is worth now − what was invoiced for it). A day
  whose basis (reason and unit price) did not change is worth exactly what was invoiced for it, so
  rounding never creates cents out of nothing. A surcharge tolerance, once used, stays used.
* **Threshold.** A total below the régie's *seuil de mise en recouvrement* (``Commune.recovery_threshold``,
  15 € by default) is not issued: its lines are carried (``CarriedBalance``) and issued, unchanged, with a
  later invoice. A negative total is always issued, as a credit note (*avoir*).
* **Numbers and dates.** Invoices and credit notes take gap-free numbers in their own series, per régie and
  year of issue, in the order families are billed (by family id in ``run_month_end``). Due date: the issue
  date plus the régie's payment delay (30 days by default); families on direct debit are debited on the
  ``direct_debit_day`` (10 by default) of the month after the period, or of the month after the issue date
  when that day has already passed.

Everything is pure: the issue date is passed in, and nothing is read from a clock or a store.
``run_month_end_streamed`` bills families one at a time from an iterable (a store reading families in
order), so memory does not grow with the city beyond the documents produced.

This module is the run: one family's bill (``bill_family``: its lines, then an invoice, a credit note or a
carried balance, numbered), the one loop over families (``bill_month``) and the run's report. Its pieces
live beside it, and it hands out their names too (import them from here):

* ``billing.invoice_lines`` — the run's context (``BillingContext``), a family's month (``FamilyMonth``),
  and how its days become invoice lines, priced by the one pricing path;
* ``billing.corrections`` — what earlier runs left: days already invoiced and their regularisation lines,
  balances carried below the threshold (``CarriedBalance``), the days to read again (``days_to_read``);
* ``billing.preflight`` — the pre-flight of a run (``priceable_month``, ``check_family``,
  ``MonthEndCheck``): the days that could not be priced, before anything is billed.

They are checked together by "billing month by month equals billing once on the final facts".
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Final

import attrs

from espacefamille._internal.trusted import trusted_builder
from espacefamille.billing.corrections import (
    CarriedBalance,
    _carried_to_issue,
    _DayKey,
    _Invoiced,
    days_to_read,
    unbooked_counts,
)
from espacefamille.billing.documents import DocumentKind, Invoice, InvoiceLine, Numbering, Series
from espacefamille.billing.invoice_lines import (
    DEFAULT_DIRECT_DEBIT_DAY,
    DEFAULT_PAYMENT_DELAY_DAYS,
    BillingContext,
    FamilyMonth,
    _collect,
    _enrolments,
    _LineBuilder,
    _with_forfaits,
    service_ranks,
    sibling_ranks,
)
from espacefamille.billing.preflight import (
    MonthEndCheck,
    PricingProblem,
    check_family,
    check_month,
    priceable_month,
)
from espacefamille.calendar.periods import DateRange
from espacefamille.commune import Commune
from espacefamille.errors import InvalidInput, NotFound
from espacefamille.model import (
    Booking,
    Child,
    Enrolment,
    Family,
)
from espacefamille.money import ZERO, Money
from espacefamille.rules.attendance import AttendanceFact
from espacefamille.text import format_date

__all__ = [
    "DEFAULT_DIRECT_DEBIT_DAY",
    "DEFAULT_PAYMENT_DELAY_DAYS",
    "BillingContext",
    "BillingRun",
    "CarriedBalance",
    "FamilyBill",
    "FamilyMonth",
    "FamilyOutcome",
    "MonthEndCheck",
    "OutcomeKind",
    "PricingProblem",
    "bill_family",
    "bill_month",
    "check_family",
    "check_month",
    "days_to_read",
    "priceable_month",
    "run_month_end",
    "run_month_end_streamed",
    "service_ranks",
    "sibling_ranks",
    "unbooked_counts",
]


_new_invoice: Final = trusted_builder(Invoice)


class OutcomeKind(enum.Enum):
    """What a month-end run did for a family."""

    INVOICED = "billing.invoice_issued"
    CREDIT_NOTE = "billing.credit_note_issued"
    CARRIED = "billing.carried_forward"
    NOTHING = "billing.nothing_to_bill"


@attrs.frozen
class FamilyOutcome:
    """The run's answer for one family, with a stable code and a sentence the family understands."""

    family_id: str
    kind: OutcomeKind
    total: Money = ZERO
    number: str | None = None
    due_on: dt.date | None = None
    direct_debit_on: dt.date | None = None
    carried_in: Money = ZERO
    threshold: Money = ZERO
    period: DateRange | None = None

    @property
    def code(self) -> str:
        return self.kind.value

    @property
    def message_fr(self) -> str:
        """Written when read: a city's run does not format forty thousand sentences nobody reads."""
        kind = self.kind
        carried = ""
        if self.carried_in:
            carried = f" (dont {self.carried_in.format()} reportés de périodes précédentes)"
        if kind is OutcomeKind.INVOICED:
            assert self.due_on is not None
            text = (
                f"Facture {self.number} de {self.total.format()}{carried}, à payer avant le "
                + format_date(self.due_on)
            )
            if self.direct_debit_on is not None:
                text += f" ; prélevée le {format_date(self.direct_debit_on)}"
            return text + "."
        if kind is OutcomeKind.CREDIT_NOTE:
            return f"Avoir {self.number} de {(-self.total).format()}{carried} en faveur de la famille."
        if kind is OutcomeKind.CARRIED:
            return (
                f"Montant de {self.total.format()}{carried} inférieur au seuil de mise en recouvrement "
                f"({self.threshold.format()}) : il n'est pas facturé maintenant et sera reporté sur la "
                "prochaine facture."
            )
        return "Rien de nouveau à facturer pour cette période."


@attrs.frozen
class FamilyBill:
    """One family's result: its outcome, and the document issued or the balance carried, if any."""

    outcome: FamilyOutcome
    document: Invoice | None = None
    carried: CarriedBalance | None = None


def _documents(items: Iterable[Invoice]) -> tuple[Invoice, ...]:
    return tuple(items)


def _carried_table(table: Mapping[str, CarriedBalance]) -> dict[str, CarriedBalance]:
    return dict(table)


def _outcome_table(table: Mapping[str, FamilyOutcome]) -> dict[str, FamilyOutcome]:
    return dict(table)


@attrs.frozen
class BillingRun:
    """A month-end run of a régie: the new invoices and credit notes, the balances carried forward, the
    numbering after the run, and per family what was done and why (``outcomes``)."""

    regie_id: str
    period: DateRange
    issued_on: dt.date
    invoices: tuple[Invoice, ...] = attrs.field(converter=_documents)
    credit_notes: tuple[Invoice, ...] = attrs.field(converter=_documents)
    carried: Mapping[str, CarriedBalance] = attrs.field(converter=_carried_table)
    numbering: Numbering
    outcomes: Mapping[str, FamilyOutcome] = attrs.field(converter=_outcome_table)

    @property
    def documents(self) -> tuple[Invoice, ...]:
        """Invoices and credit notes together, in number order of each series."""
        return self.invoices + self.credit_notes

    @property
    def total_invoiced(self) -> Money:
        return Money.total(invoice.total for invoice in self.invoices)

    @property
    def total_credited(self) -> Money:
        """What the credit notes give back (a positive amount)."""
        return -Money.total(note.total for note in self.credit_notes)

    @property
    def total_carried(self) -> Money:
        return Money.total(balance.amount for balance in self.carried.values())


# -- one family -------------------------------------------------------------------------------


def _empty_bill(ctx: BillingContext, family_id: str) -> FamilyBill:
    return FamilyBill(FamilyOutcome(family_id, OutcomeKind.NOTHING, period=ctx.period))


def bill_family(
    ctx: BillingContext, month: FamilyMonth, numbering: Numbering
) -> tuple[FamilyBill, Numbering]:
    """One family's month-end bill: its new lines, then an invoice, a credit note or a carried balance.

    Numbers are taken from ``numbering`` only for a document actually issued; the new numbering is
    returned with the bill.
    """
    family = month.family
    month, forfaits = _with_forfaits(ctx, month)
    invoiced = _Invoiced(month.issued, ctx.regie_id, family.id, ctx.prestations) if month.issued else None
    groups, regularise = _collect(ctx, month, invoiced)
    if not groups and not regularise and month.carried is None:
        return _empty_bill(ctx, family.id), numbering

    children = {child.id: child for child in month.children}
    builder = _LineBuilder(
        ctx, family, children, sibling_ranks(month.children), len(children), month.unbooked_earlier, invoiced
    )
    builder.bookings = month.bookings
    builder.forfaits = forfaits
    lines = builder.fresh_lines(groups, regularise)
    lines.extend(builder.regularisation_lines(regularise))

    carried_in = ZERO
    if month.carried is not None:
        pending = _carried_to_issue(month.carried, month.issued, month.changed)
        carried_in = Money.total(line.total for line in pending)
        lines = pending + lines
    if not lines:
        return _empty_bill(ctx, family.id), numbering
    return _issue(ctx, family, lines, carried_in, numbering)


def _issue(
    ctx: BillingContext, family: Family, lines: list[InvoiceLine], carried_in: Money, numbering: Numbering
) -> tuple[FamilyBill, Numbering]:
    total = Money.total(line.total for line in lines)
    threshold = ctx.commune.recovery_threshold
    year = ctx.issued_on.year
    if total.is_negative:
        numbering, number = numbering.next(ctx.regie_id, year, Series.CREDIT_NOTE)
        kind, outcome_kind, debit = DocumentKind.CREDIT_NOTE, OutcomeKind.CREDIT_NOTE, None
    elif total < threshold:
        balance = CarriedBalance(family.id, ctx.regie_id, lines)
        outcome = FamilyOutcome(
            family.id,
            OutcomeKind.CARRIED,
            total,
            carried_in=carried_in,
            threshold=threshold,
            period=ctx.period,
        )
        return FamilyBill(outcome, carried=balance), numbering
    else:
        numbering, number = numbering.next(ctx.regie_id, year, Series.INVOICE)
        kind, outcome_kind = DocumentKind.INVOICE, OutcomeKind.INVOICED
        debit = ctx.direct_debit_on if family.direct_debit else None
    # Its checks hold by construction (due after issue, the sign matches the kind): not run again.
    document = _new_invoice(
        number, ctx.regie_id, family.id, kind, ctx.period, ctx.issued_on, ctx.due_on, tuple(lines), debit
    )
    outcome = FamilyOutcome(
        family.id,
        outcome_kind,
        total,
        number,
        ctx.due_on,
        debit,
        carried_in=carried_in,
        threshold=threshold,
        period=ctx.period,
    )
    return FamilyBill(outcome, document=document), numbering


# -- a whole run ------------------------------------------------------------------------------


def bill_month(
    ctx: BillingContext, months: Iterable[FamilyMonth], numbering: Numbering
) -> Iterator[tuple[FamilyBill, Numbering]]:
    """The one month-end loop: each family's bill, in the order given, with the numbering after it.

    Lazy: a family is read from ``months`` only when the previous bill has been taken, so a caller saves
    each bill as it comes (and may stop after a batch of families: the rest is not read). A family given
    twice is refused (``billing.family_twice``).
    """
    seen: set[str] = set()
    for month in months:
        family_id = month.family.id
        if family_id in seen:
            raise InvalidInput(
                f"family {family_id!r} is billed twice in one run", code="billing.family_twice"
            )
        seen.add(family_id)
        bill, numbering = bill_family(ctx, month, numbering)
        yield bill, numbering


def run_month_end_streamed(
    ctx: BillingContext,
    months: Iterable[FamilyMonth],
    numbering: Numbering | None = None,
    *,
    progress: Callable[[int, int], None] | None = None,
    total: int | None = None,
) -> BillingRun:
    """Bill families one at a time, in the order given (their documents are numbered in that order).

    Meant for a store that reads a city family by family: nothing but the documents produced is kept.
    ``progress``, when given, is called after each family with (families billed so far, ``total``): the
    number of families expected, as the caller knows it (``0`` when it does not), for a progress bar.
    """
    numbering = Numbering() if numbering is None else numbering
    invoices: list[Invoice] = []
    credit_notes: list[Invoice] = []
    carried: dict[str, CarriedBalance] = {}
    outcomes: dict[str, FamilyOutcome] = {}
    for bill, numbered in bill_month(ctx, months, numbering):
        numbering = numbered  # after this family's document
        family_id = bill.outcome.family_id
        outcomes[family_id] = bill.outcome
        if bill.document is not None:
            (credit_notes if bill.document.is_credit_note else invoices).append(bill.document)
        if bill.carried is not None:
            carried[family_id] = bill.carried
        if progress is not None:
            progress(len(outcomes), 0 if total is None else total)
    return BillingRun(
        ctx.regie_id, ctx.period, ctx.issued_on, invoices, credit_notes, carried, numbering, outcomes
    )


def _route_fact(
    fact: AttendanceFact,
    owners: Mapping[_DayKey, str],
    children: Mapping[str, Child],
) -> str:
    owner = owners.get((fact.child_id, fact.prestation_id, fact.day))
    if owner is not None:
        return owner
    child = children.get(fact.child_id)
    if child is None:
        raise NotFound(
            f"attendance of unknown child {fact.child_id!r}",
            message_fr="Une présence concerne un enfant inconnu.",
            code="billing.unknown_child",
        )
    return child.family_ids[0]  # without a booking, the child's main household


def run_month_end(
    commune: Commune,
    regie_id: str,
    month: DateRange,
    issued_on: dt.date,
    *,
    families: Iterable[Family],
    children: Iterable[Child],
    bookings: Iterable[Booking],
    attendance: Iterable[AttendanceFact] = (),
    issued: Iterable[Invoice] = (),
    carried: Iterable[CarriedBalance] = (),
    numbering: Numbering | None = None,
    unbooked_earlier: Mapping[tuple[str, str], int] | None = None,
    payment_delay_days: int = DEFAULT_PAYMENT_DELAY_DAYS,
    direct_debit_day: int = DEFAULT_DIRECT_DEBIT_DAY,
    progress: Callable[[int, int], None] | None = None,
    enrolments: Iterable[Enrolment] = (),
) -> BillingRun:
    """The month-end run of régie ``regie_id`` for ``month``, issued on ``issued_on``.

    ``bookings`` and ``attendance`` are the month's (and any earlier invoiced day to re-check); only the
    régie's *payable en fin de mois* prestations are billed. ``issued`` are the documents already issued
    (a rerun adds nothing; a changed fact adds a regularisation line); ``carried`` the balances carried
    from earlier periods; ``numbering`` the current numbering; ``unbooked_earlier`` counts per (child id,
    prestation id) the presences without booking earlier in the school year. Families are billed, and
    their documents numbered, in the order of their ids. A payment is due ``payment_delay_days`` after
    the issue date; families on direct debit are debited on ``direct_debit_day`` of the following month.
    ``progress``, when given, is called after each family is billed with (families billed so far, number
    of families). ``enrolments`` are the children's enrolments, for the prestations priced by forfait.
    """
    ctx = BillingContext(commune, regie_id, month, issued_on, payment_delay_days, direct_debit_day)
    family_list = sorted(families, key=lambda family: family.id)
    known = {family.id for family in family_list}
    if len(known) != len(family_list):
        raise InvalidInput("a family is given twice", code="billing.family_twice")
    children_by_id: dict[str, Child] = {}
    family_children: dict[str, list[Child]] = {family_id: [] for family_id in known}
    for child in children:
        children_by_id[child.id] = child
        for family_id in child.family_ids:
            if family_id in family_children:
                family_children[family_id].append(child)
    family_bookings: dict[str, list[Booking]] = {family_id: [] for family_id in known}
    owners: dict[_DayKey, str] = {}
    for booking in bookings:
        if booking.prestation_id not in ctx.prestations:
            continue
        if booking.family_id not in family_bookings:
            raise NotFound(
                f"booking of unknown family {booking.family_id!r}",
                message_fr="Une réservation concerne un foyer inconnu.",
                code="billing.unknown_family",
            )
        family_bookings[booking.family_id].append(booking)
        key = booking.key
        if booking.is_active or key not in owners:
            owners[key] = booking.family_id
    family_facts: dict[str, list[AttendanceFact]] = {family_id: [] for family_id in known}
    for fact in attendance:
        if fact.prestation_id in ctx.prestations:
            owner = _route_fact(fact, owners, children_by_id)
            if owner in family_facts:
                family_facts[owner].append(fact)
    family_issued: dict[str, list[Invoice]] = {family_id: [] for family_id in known}
    for document in issued:
        if document.regie_id == regie_id and document.family_id in family_issued:
            family_issued[document.family_id].append(document)
    carried_by_family = {balance.family_id: balance for balance in carried if balance.regie_id == regie_id}
    family_enrolments: dict[str, list[Enrolment]] = {family_id: [] for family_id in known}
    for enrolment in _enrolments(enrolments):
        if enrolment.family_id in family_enrolments:
            family_enrolments[enrolment.family_id].append(enrolment)
    earlier = unbooked_earlier or {}
    months = (
        FamilyMonth(
            family,
            family_children[family.id],
            family_bookings[family.id],
            family_facts[family.id],
            family_issued[family.id],
            carried_by_family.get(family.id),
            {
                key: count
                for key, count in earlier.items()
                if key[0] in {c.id for c in family_children[family.id]}
            },
            enrolments=family_enrolments[family.id],
        )
        for family in family_list
    )
    return run_month_end_streamed(ctx, months, numbering, progress=progress, total=len(family_list))
