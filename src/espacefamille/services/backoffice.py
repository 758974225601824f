"""The back office's calls: accounts, enrolments, attendance, closures, holds, month-end billing, payments
at the counter, credits, refunds, exemptions from the unpaid-invoice block and requests.

Every call is made by an ``Agent`` of the commune (``PermissionDenied`` for a family member, an agent of
another collectivité, or a role that may not do it; nothing is written) and runs in one unit of work with its
outbox events, retried on ``ConcurrentChange`` (``espacefamille.services.portal.transact``).

Why one module of some 1,100 lines: ``BackOffice`` is the back office's one entry point, each method a use
case of a few dozen lines; the month-end run's batches (``_MonthReader``, ``_Tally``, ``_bill_batch``) sit
beside the one method that uses them.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import itertools
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from typing import Final, TypeVar

import attrs

from espacefamille._internal.gc import paused
from espacefamille.billing.attestations import PresenceAttestation, TaxAttestation
from espacefamille.billing.direct_debit import invoice_debit_date
from espacefamille.billing.documents import Invoice, PaymentMethod
from espacefamille.billing.invoicing import (
    BillingContext,
    CarriedBalance,
    FamilyBill,
    FamilyMonth,
    MonthEndCheck,
    PricingProblem,
    bill_month,
    check_family,
    days_to_read,
    priceable_month,
    unbooked_counts,
)
from espacefamille.billing.mandates import PRE_NOTIFICATION_DAYS, FamilyMandate
from espacefamille.billing.payments import (
    PaymentOrder,
    PaymentRecord,
    RefundRecord,
    apply_credit_notes,
    issue_credit_note,
    record_payment,
    refund_credit,
)
from espacefamille.billing.prepaid import held_until, release_expired_holds
from espacefamille.billing.tariffs import ForfaitDay
from espacefamille.calendar.opening import Closure
from espacefamille.calendar.periods import DateRange
from espacefamille.calendar.school import school_year_start
from espacefamille.calendar.timezones import require_aware
from espacefamille.commune import Commune
from espacefamille.errors import InvalidInput, MissingData, NotFound
from espacefamille.families.accounts import (
    DEFAULT_ACTIVATION_DELAY,
    Actor,
    AgentRole,
    IssuedActivation,
    issue_activation,
    require_agent,
)
from espacefamille.families.events import (
    AccountActivated,
    DomainEvent,
    HoldExpired,
    InvoiceIssued,
    OutboxMessage,
    PaymentReceived,
    RequestAnswered,
    UnpaidExemptionGranted,
    UnpaidExemptionRevoked,
    new_message,
)
from espacefamille.families.requests import Actor as RequestActor
from espacefamille.families.requests import Request
from espacefamille.interop.pes_v2 import PesDirectDebit, PesFile, pes_v2_file
from espacefamille.model import (
    BookedDays,
    Booking,
    BookingStatus,
    Child,
    Enrolment,
    Family,
    PaymentMode,
    Prestation,
    Regie,
    booked_days,
)
from espacefamille.money import ZERO, Money
from espacefamille.ports import FamilyRecords, UnitOfWork, with_children_named
from espacefamille.rules.attendance import (
    AbsenceDeclaration,
    AttendanceFact,
    AttendanceStatus,
    resolve_absence,
    service_closed_facts,
)
from espacefamille.rules.unpaid import UnpaidExemption
from espacefamille.text import format_date, month_name

from . import debits
from ._checks import checked_calls
from .corrections import note_corrections, note_quotient_change
from .debits import DebitFile, RejectsImport
from .portal import (
    ServiceBase,
    billing_ledger,
    family_presence,
    family_tax_attestation,
    place_ledgers,
    promote,
)

__all__ = ["MONTH_END_BATCH", "BackOffice", "HoldsReleased", "MonthEndReport", "SheetLine"]

_T = TypeVar("_T")

_GESTION = (AgentRole.GESTIONNAIRE,)
_ATTENDANCE = (AgentRole.ANIMATEUR, AgentRole.GESTIONNAIRE)
_REGIE = (AgentRole.REGISSEUR,)
_MANDATES = (AgentRole.REGISSEUR, AgentRole.GESTIONNAIRE)
#: How many families a month-end run bills and saves in one unit of work: small enough that a family
#: validating a basket meanwhile waits a fraction of a second, large enough that commits cost little.
MONTH_END_BATCH: Final = 500
# Households a month-end run reads together before billing them: the whole histories some need are read
# in one go (_MonthReader.months_of). A store reads a batch's records up to 500 at a time.
_READ_TOGETHER: Final = 500
#: Holds are on days a family books ahead; a two-year window reaches every one a basket can make.
_HOLD_WINDOW = (dt.timedelta(days=62), dt.timedelta(days=731))


class _Bytes:
    """A ``RandomSource`` from a function giving random bytes."""

    def __init__(self, source: Callable[[int], bytes]) -> None:
        self._source = source

    def token_bytes(self, nbytes: int, /) -> bytes:
        return self._source(nbytes)


@attrs.frozen
class HoldsReleased:
    """Expired holds released: the bookings cancelled, and the waiting bookings that got their places."""

    released: tuple[Booking, ...]
    promoted: tuple[Booking, ...]

    @property
    def code(self) -> str:
        return "prepaid.hold_expired" if self.released else "prepaid.nothing_expired"


@attrs.frozen
class SheetLine:
    """A line of a day's attendance sheet: a child's booking, the child, and the fact recorded, if any."""

    booking: Booking
    child: Child
    fact: AttendanceFact | None = None

    @property
    def status(self) -> AttendanceStatus | None:
        return None if self.fact is None else self.fact.status


def _sentences(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(items)


@attrs.frozen
class MonthEndReport:
    """A month-end run as saved, in figures that do not grow with the city.

    The documents are in the store as they were billed (``UnitOfWork.documents.invoices_of``, the portal's
    invoices); the report counts the families read and what each got — an invoice, a credit note, a balance
    carried below the recovery threshold, or nothing — with the totals, the first and last numbers given
    (a run numbers its documents consecutively, in family order) and one sentence per credit note applied
    to open invoices afterwards. ``regularisations`` counts the lines of its documents that correct a day an
    earlier invoice billed (an absence justified late, a status or a quotient fixed), ``total_regularised``
    adds them up (negative when families get money back).
    """

    regie_id: str
    period: DateRange
    issued_on: dt.date
    families: int = 0
    invoices: int = 0
    credit_notes: int = 0
    carried: int = 0
    total_invoiced: Money = ZERO
    total_credited: Money = ZERO
    total_carried: Money = ZERO
    invoice_numbers: tuple[str, str] | None = None
    credit_note_numbers: tuple[str, str] | None = None
    credits_applied: tuple[str, ...] = attrs.field(default=(), converter=_sentences)
    regularisations: int = 0
    total_regularised: Money = ZERO

    @property
    def nothing_to_bill(self) -> int:
        """Families read that got no document and carry nothing."""
        return self.families - self.invoices - self.credit_notes - self.carried

    @property
    def code(self) -> str:
        return "billing.run_saved" if self.invoices or self.credit_notes else "billing.nothing_issued"

    @property
    def message_fr(self) -> str:
        """What an agent reads after the run, e.g. « Novembre 2026, régie enfance : 3 factures (…) »."""
        parts = [
            f"{self.invoices} facture{_s(self.invoices)} ({self.total_invoiced.format()})",
            f"{self.credit_notes} avoir{_s(self.credit_notes)} ({self.total_credited.format()})",
            f"{self.carried} solde{_s(self.carried)} reporté{_s(self.carried)} "
            f"({self.total_carried.format()})",
        ]
        month = f"{month_name(self.period.start.month).capitalize()} {self.period.start.year}"
        fixed = ""
        if self.regularisations:
            fixed = (
                f" ; dont {self.regularisations} ligne{_s(self.regularisations)} de régularisation "
                f"de factures précédentes ({self.total_regularised.format()})"
            )
        return (
            f"{month}, régie {self.regie_id} : {', '.join(parts)} pour {self.families} "
            f"foyer{_s(self.families)}, émis le {format_date(self.issued_on)}{fixed}."
        )


def _s(count: int) -> str:
    return "s" if count > 1 else ""


class _Tally:
    """The report of a run being made, family by family: counts and running totals only."""

    def __init__(self, ctx: BillingContext) -> None:
        self._ctx = ctx
        self.families = self.invoices = self.credit_notes = self.carried = 0
        self.invoiced = self.credited = self.carried_total = self.regularised = ZERO
        self.regularisations = 0
        self._numbers: dict[bool, tuple[str, str]] = {}  # is a credit note -> (first, last)

    def add(self, bill: FamilyBill) -> None:
        self.families += 1
        document = bill.document
        if document is not None:
            note = document.is_credit_note
            if note:
                self.credit_notes += 1
                self.credited -= document.total
            else:
                self.invoices += 1
                self.invoiced += document.total
            first = self._numbers.get(note, (document.number, document.number))[0]
            self._numbers[note] = (first, document.number)
            for line in document.lines:
                if line.regularises is not None:
                    self.regularisations += 1
                    self.regularised += line.total
        if bill.carried is not None:
            self.carried += 1
            self.carried_total += bill.carried.amount

    def merge(self, other: _Tally) -> _Tally:
        """This run's tally followed by the next batch's."""
        self.families += other.families
        self.invoices += other.invoices
        self.credit_notes += other.credit_notes
        self.carried += other.carried
        self.invoiced += other.invoiced
        self.credited += other.credited
        self.carried_total += other.carried_total
        self.regularisations += other.regularisations
        self.regularised += other.regularised
        for note, (first, last) in other._numbers.items():
            self._numbers[note] = (self._numbers.get(note, (first, last))[0], last)
        return self

    def report(self, credits_applied: Sequence[str]) -> MonthEndReport:
        ctx = self._ctx
        return MonthEndReport(
            ctx.regie_id,
            ctx.period,
            ctx.issued_on,
            self.families,
            self.invoices,
            self.credit_notes,
            self.carried,
            self.invoiced,
            self.credited,
            self.carried_total,
            self._numbers.get(False),
            self._numbers.get(True),
            tuple(credits_applied),
            self.regularisations,
            self.regularised,
        )


def _check_run_period(period: DateRange, billed_through: dt.date | None) -> None:
    """A run bills whole months, and none before the latest one billed (corrections of earlier days are
    regularised by the next run instead)."""
    if period.start.day != 1 or (period.end + dt.timedelta(days=1)).day != 1:
        raise InvalidInput(
            f"a month-end run bills whole months, not {period.start}..{period.end}",
            message_fr=(
                "Une facturation de fin de mois porte sur des mois entiers, du premier au dernier jour."
            ),
            code="billing.period_not_months",
        )
    if billed_through is not None and period.end < billed_through:
        raise InvalidInput(
            f"the régie already billed up to {billed_through}: {period.start}..{period.end} is closed",
            message_fr=(
                f"La régie a déjà facturé jusqu'au {format_date(billed_through)} : cette période est close ; "
                "ses corrections figurent sur la prochaine facture."
            ),
            code="billing.period_closed",
            details={"billed_through": billed_through.isoformat()},
        )


def _held_until(
    commune: Commune,
    bookings: Sequence[Booking],
    hold: dt.timedelta,
    closures: Mapping[str, Sequence[Closure]],
) -> dt.datetime:
    """When the places of these bookings, still held, stopped being held (elapsed time and deadlines)."""
    until = held_until(commune, bookings, hold, closures=closures)
    assert until is not None  # the bookings are held ones
    return until


def _issued(commune: Commune, document: Invoice, now: dt.datetime) -> InvoiceIssued:
    return InvoiceIssued(
        commune.collectivite.id,
        document.family_id,
        now,
        document.regie_id,
        document.number,
        document.total,
        document.due_on,
        document.direct_debit_on is not None,
    )


def _presence_without_booking(
    prestations: Collection[str],
    bookings: Sequence[Booking | BookedDays],
    attendance: Sequence[AttendanceFact],
) -> bool:
    """Whether a family's facts hold a presence without an active booking of one of ``prestations``."""
    present = [
        f
        for f in attendance
        if f.prestation_id in prestations
        and f.status in (AttendanceStatus.PRESENT, AttendanceStatus.PRESENT_UNBOOKED)
    ]
    if not present:
        return False
    if any(f.status is AttendanceStatus.PRESENT_UNBOOKED for f in present):
        return True
    pairs = {(f.child_id, f.prestation_id) for f in present}
    booked = {
        (run.child_id, run.prestation_id, day)
        for run in booked_days(bookings)
        if run.is_active and (run.child_id, run.prestation_id) in pairs
        for day in run.days
    }
    return any((f.child_id, f.prestation_id, f.day) not in booked for f in present)


@attrs.frozen
class _Household:
    """A household's month as a run reads it before its documents: its records, with the earlier days
    changed since a run billed them and the absences as facts, and whether a yearly count of presences
    without booking is to be made. Billing needs its ``whole`` history of documents if it has changed
    days (which may lie in any month) or a count to make."""

    records: FamilyRecords
    children: Sequence[Child]
    bookings: list[Booking | BookedDays]
    attendance: list[AttendanceFact]
    history: Sequence[dt.date]
    counting: bool

    @property
    def whole(self) -> bool:
        return bool(self.history) or self.counting


class _MonthReader:
    """What a run gives billing for each family besides its month's records: the earlier days changed since
    a run billed them (with their bookings and facts), the school year's presences without booking already
    counted, the balance carried and the absences as facts."""

    def __init__(
        self,
        uow: UnitOfWork,
        commune: Commune,
        regie_id: str,
        month: DateRange,
        carried: Mapping[str, CarriedBalance],
        now: dt.datetime,
    ) -> None:
        self.uow = uow
        self.commune = commune
        self.regie_id = regie_id
        self.month = month
        self.carried = carried
        self.now = now
        self.changed = uow.runs.changed_days(regie_id)
        self.with_credit_notes: set[str] = set()  # families read with a credit note of the régie
        self.since = school_year_start(month.start)
        prestations = {p.id for s in commune.services if s.regie_id == regie_id for p in s.prestations}
        # A yearly count is needed only where a tariff of the régie tolerates presences without booking,
        # and only for a family with such a presence to bill.
        self.tolerant = {
            tariff.prestation_id
            for price_list in commune.tariffs.price_lists
            for tariff in price_list.prices
            if tariff.prestation_id in prestations
            and tariff.unbooked_presence is not None
            and tariff.unbooked_presence.tolerance > 0
        }
        # The documents billing needs of a family: the month's (a rerun bills nothing twice) and the credit
        # notes; its whole history for a family with changed days or a yearly count to make.
        self.documents_from = month.start
        # Enrolments are read only where the régie bills a forfait (per enrolment, not per day booked).
        self.forfait_services = {
            s.id for s in commune.services if s.regie_id == regie_id and _has_forfait(commune, s.prestations)
        }

    def earlier_days(self, family_id: str) -> tuple[dt.date, ...]:
        """The family's days before the month that the run reads again: its changed days, and the days of
        the carried lines holding them (``days_to_read``)."""
        earlier = [day for day in self.changed.get(family_id, ()) if day < self.month.start]
        return days_to_read(earlier, self.carried.get(family_id))

    def months_of(
        self, records: Iterable[FamilyRecords], closures: Mapping[str, Sequence[Closure]], limit: int
    ) -> Iterator[FamilyMonth]:
        """The month of each household of ``records`` (the first ``limit``), as billing needs it, read
        ``_READ_TOGETHER`` households at a time: the whole histories some of them need (``_Household``)
        are then read in one go, not one household after the other."""
        chosen = itertools.islice(records, limit)
        while chunk := [
            self._household(family, closures) for family in itertools.islice(chosen, _READ_TOGETHER)
        ]:
            wanted = [household.records.family.id for household in chunk if household.whole]
            histories = self.uow.documents.invoices_of_families(wanted) if wanted else {}
            for household in chunk:
                yield self._month(household, histories)

    def _household(self, records: FamilyRecords, closures: Mapping[str, Sequence[Closure]]) -> _Household:
        family_id = records.family.id
        bookings: list[Booking | BookedDays] = list(records.bookings)
        attendance: list[AttendanceFact] = list(records.attendance)
        children = records.children
        history = self.earlier_days(family_id)
        if history:
            span, wanted = DateRange(history[0], history[-1]), set(history)
            bookings.extend(b for b in self.uow.bookings.of_family(family_id, span) if b.day in wanted)
            attendance.extend(f for f in self.uow.attendance.of_family(family_id, span) if f.day in wanted)
            # An earlier day may be of a child who has left the household since: still its to pay.
            children = with_children_named(self.uow, children, bookings, attendance)
        attendance.extend(
            _absence_facts(self.commune, closures, records.absences, bookings, attendance, self.now)
        )
        counting = bool(self.tolerant) and _presence_without_booking(self.tolerant, bookings, attendance)
        return _Household(records, children, bookings, attendance, history, counting)

    def _month(self, household: _Household, histories: Mapping[str, Sequence[Invoice]]) -> FamilyMonth:
        records, month, regie_id = household.records, self.month, self.regie_id
        family_id = records.family.id
        carried = self.carried.get(family_id)
        issued = histories[family_id] if household.whole else records.invoices
        documents = [document for document in issued if document.regie_id == regie_id]
        if any(document.is_credit_note for document in documents):
            self.with_credit_notes.add(family_id)
        counting = household.counting
        counts = unbooked_counts(documents, carried, regie_id, self.since, month.start) if counting else {}
        enrolments = (
            [
                enrolment
                for child in household.children
                for enrolment in self.uow.families.enrolments_of(child.id)
                if enrolment.family_id == family_id and enrolment.service_id in self.forfait_services
            ]
            if self.forfait_services
            else []
        )
        return FamilyMonth(
            records.family,
            household.children,
            household.bookings,
            household.attendance,
            documents,
            carried,
            counts,
            household.history,
            enrolments,
        )

    def billed(self, family_id: str) -> None:
        """The family's changed days read, up to the month's end, are billed now: forget them."""
        days = [day for day in self.changed.get(family_id, ()) if day <= self.month.end]
        if days:
            self.uow.runs.clear_changed(self.regie_id, family_id, days)


def _has_forfait(commune: Commune, prestations: Iterable[Prestation]) -> bool:
    forfaits = commune.tariffs.forfaits
    return any(p.id in forfaits and p.payment_mode is PaymentMode.MONTH_END for p in prestations)


def _forfait_changes(
    commune: Commune, before: Enrolment | None, after: Enrolment
) -> list[tuple[str, dt.date]]:
    """The (prestation, key day) of the forfaits an enrolment owes before its change and not after, or after
    and not before: the days a run that billed them must regularise."""
    service = commune.service(after.service_id)
    forfaits = [p.id for p in service.prestations if p.id in commune.tariffs.forfaits]
    if not forfaits:
        return []
    periods = [after.period] if before is None or not before.validated else [before.period, after.period]
    span = DateRange(min(p.start for p in periods), max(p.end for p in periods))
    changed: set[tuple[str, dt.date]] = set()
    for prestation_id in forfaits:
        # Compared with their words: a prorata changes with the days enrolled, on the same key day.
        due_after = (
            {d for _, d in commune.tariffs.forfaits_due(prestation_id, after.period, span)}
            if after.validated
            else set()
        )
        due_before: set[ForfaitDay] = set()
        if before is not None and before.validated:
            due_before = {d for _, d in commune.tariffs.forfaits_due(prestation_id, before.period, span)}
        changed.update((prestation_id, d.day) for d in due_after ^ due_before)
    return sorted(changed)


def _billing_context(
    commune: Commune,
    actor: Actor,
    regie_id: str,
    month: DateRange,
    issued_on: dt.date | None,
    now: dt.datetime,
) -> BillingContext:
    """A month-end run's context, for a régisseur of the commune (``PermissionDenied`` for anyone else)."""
    require_agent(actor, commune.collectivite.id, _REGIE)
    regie = commune.regie(regie_id)
    return BillingContext(
        commune,
        regie_id,
        month,
        issued_on or commune.calendar.today(now),
        regie.payment_delay_days,
        regie.direct_debit_day,
    )


def _households_left(
    uow: UnitOfWork,
    commune: Commune,
    billed: dict[str, dt.date | None],
    child: Child,
    owner: str,
    fact: AttendanceFact,
) -> list[str]:
    """The child's households other than ``owner`` holding a fact of ``fact``'s prestation and day that a run
    already billed: recorded again under ``owner`` (the day is another household's booking), the fact leaves
    them, and their day is a correction too. Read only for a billed day (``billed`` keeps, by régie, how far
    its runs billed): a day's sheet not billed yet costs nothing more."""
    regie_id = commune.service(commune.prestation(fact.prestation_id).service_id).regie_id
    if regie_id not in billed:
        billed[regie_id] = uow.runs.billed_through(regie_id)
    through = billed[regie_id]
    if through is None or fact.day > through:
        return []
    day = DateRange(fact.day, fact.day)
    return [
        family_id
        for family_id in child.family_ids
        if family_id != owner
        and any(
            f.child_id == fact.child_id and f.prestation_id == fact.prestation_id
            for f in uow.attendance.of_family(family_id, day)
        )
    ]


def _check_reason(commune: Commune, fact: AttendanceFact) -> None:
    """Refuse a fact whose reason the commune's price list for its day (or, without one, no price list)
    defines: month end could not price it."""
    book = commune.tariffs
    try:
        known = book.price_list_on(fact.day).reason_codes
    except MissingData:
        known = book.reason_codes
    if fact.reason in known:
        return
    listed = ", ".join(sorted(known)) or "aucun"
    raise InvalidInput(
        f"attendance reason {fact.reason!r} is not one of the commune's ({listed})",
        message_fr=(
            f"Le motif « {fact.reason} » n'existe pas dans la configuration de la commune "
            f"(motifs connus : {listed}). Rien n'a été enregistré."
        ),
        code="attendance.unknown_reason",
        details={"reason": fact.reason, "known": sorted(known)},
    )


def _under_mandates(
    uow: UnitOfWork, regie: Regie, bills: Iterable[tuple[FamilyBill, _T]]
) -> Iterator[tuple[FamilyBill, _T]]:
    """The month's bills, the invoice of a household on direct debit dated as its mandate says
    (``services.debits.debit_on``: the TARGET2 day after the notice)."""
    for bill, numbered in bills:
        document = bill.document
        if document is not None and document.direct_debit_on is not None:
            day, changed = debits.debit_on(uow, regie, document)
            if changed:
                bill = attrs.evolve(  # noqa: PLW2901 (the same bill, dated)
                    bill,
                    document=attrs.evolve(document, direct_debit_on=day),
                    outcome=attrs.evolve(bill.outcome, direct_debit_on=day),
                )
        yield bill, numbered


def _pes_debits(
    uow: UnitOfWork,
    commune: Commune,
    regie_id: str,
    invoices: Sequence[Invoice],
    families: Mapping[str, Family],
) -> dict[str, PesDirectDebit]:
    """How the invoices of households on direct debit are collected, as the PES file says it: by the debit
    file that collected them (not rejected), else under the mandate in force on their debit date."""
    regie = commune.regie(regie_id)
    debits: dict[str, PesDirectDebit] = {}
    for family_id in sorted({i.family_id for i in invoices if families[i.family_id].direct_debit}):
        mandates = [m for m in uow.mandates.of_family(family_id) if m.regie_id == regie.id]
        collected = {c.invoice_number: c for c in uow.mandates.collections_of(family_id) if c.reject is None}
        for invoice in invoices:
            if invoice.family_id != family_id or invoice.is_credit_note or invoice.total <= ZERO:
                continue
            collection = collected.get(invoice.number)
            if collection is not None:
                mandate = uow.mandates.get(collection.rum).mandate
                on = uow.mandates.batch(collection.batch_id).debit_date
                debits[invoice.number] = PesDirectDebit.of(
                    attrs.evolve(mandate, sequence=collection.sequence), on
                )
                continue
            for kept in mandates:
                on = invoice_debit_date(invoice, kept.mandate, regie)
                if kept.in_force_on(on):
                    debits[invoice.number] = PesDirectDebit.of(kept.mandate, on)
                    break
    return debits


def _absence_facts(
    commune: Commune,
    closures: Mapping[str, Sequence[Closure]],
    absences: Sequence[AbsenceDeclaration],
    bookings: Sequence[Booking | BookedDays],
    attendance: Sequence[AttendanceFact],
    now: dt.datetime,
) -> list[AttendanceFact]:
    """Facts for the booked days a family declared absent and no agent recorded: what billing prices.

    A day still billed under the absence rules (carence, first days due, a missing proof) is billed as an
    unjustified absence would be; its note says why.
    """
    if not absences:
        return []
    seen = {(f.child_id, f.prestation_id, f.day) for f in attendance}
    booked: dict[tuple[str, str], set[dt.date]] = {}
    for run in booked_days(bookings):
        if run.is_active:
            booked.setdefault((run.child_id, run.prestation_id), set()).update(run.days)
    facts: list[AttendanceFact] = []
    for declaration in absences:
        prestations = sorted(
            prestation_id
            for (child_id, prestation_id), days in booked.items()
            if child_id == declaration.child_id and any(day in declaration.days for day in days)
        )
        for prestation_id in prestations:
            service_id = commune.prestation(prestation_id).service_id
            policy = commune.absence_policies.get(service_id)
            if policy is None:
                continue
            opening = commune.opening_calendar(prestation_id, closures.get(service_id, ()))
            days = booked[(declaration.child_id, prestation_id)]
            for outcome in resolve_absence(declaration, policy, opening, now=now):
                key = (declaration.child_id, prestation_id, outcome.day)
                if outcome.day not in days or key in seen:
                    continue
                seen.add(key)
                status = AttendanceStatus.ABSENT_UNJUSTIFIED if outcome.billed else outcome.status
                facts.append(
                    AttendanceFact(
                        declaration.child_id, prestation_id, outcome.day, status, note=outcome.message_fr
                    )
                )
    return facts


@checked_calls
class BackOffice(ServiceBase):
    """The calls a commune's back office makes, on its store (and the accounts store, for activations)."""

    # -- families ---------------------------------------------------------------------------------------

    def activate_family_account(
        self,
        actor: Actor,
        family_id: str,
        guardian_id: str,
        *,
        link_base: str,
        delay: dt.timedelta = DEFAULT_ACTIVATION_DELAY,
    ) -> IssuedActivation:
        """Issue an activation for a guardian of a family record; the link goes out by e-mail through the
        outbox (event ``account.activated``), and only the token's hash is stored. The activation is saved
        before the e-mail is committed: a failed write never sends a link that leads nowhere."""
        if self.accounts is None:
            raise InvalidInput("this back office has no account store", code="services.no_account_store")
        accounts = self.accounts
        now = self.clock.now()

        def work(uow: UnitOfWork) -> IssuedActivation:
            commune = uow.commune()
            collectivite = commune.collectivite
            require_agent(actor, collectivite.id, _GESTION)
            family = uow.families.get(family_id)
            guardian = next((g for g in family.guardians if g.id == guardian_id), None)
            if guardian is None:
                raise NotFound(
                    f"guardian {guardian_id!r} is not in family {family_id!r}", code="not_found.guardian"
                )
            if not guardian.email:
                raise InvalidInput(
                    f"guardian {guardian_id!r} has no e-mail address",
                    message_fr="Ce responsable n'a pas d'adresse électronique pour recevoir le lien.",
                    code="account.no_email",
                )
            issued = issue_activation(
                actor,
                collectivite.id,
                family_id,
                guardian_id,
                now,
                link_base=link_base,
                delay=delay,
                source=_Bytes(self.source),
            )
            event = AccountActivated(
                collectivite.id,
                family_id,
                now,
                guardian_id,
                guardian.email,
                collectivite.name,
                issued.link,
                issued.activation.expires_at,
            )
            # Saved before the e-mail is committed, so the link never points to an activation that is not
            # there. Should the commit fail, this activation is one nobody was told about: it expires unused
            # (a retry issues another, with its own token).
            accounts.save_activation(issued.activation)
            self._emit(uow, [event])
            return issued

        return self._transact(work)

    def families(self, actor: Actor) -> tuple[Family, ...]:
        """The commune's households, by name then id: the back office's list to open a family's file."""

        def work(uow: UnitOfWork) -> tuple[Family, ...]:
            require_agent(actor, uow.commune().collectivite.id)
            return tuple(sorted(uow.families.all(), key=lambda f: (f.name.casefold(), f.id)))

        return self._transact(work)

    def register_family(self, actor: Actor, family: Family, children: Iterable[Child] = ()) -> Family:
        """Record a household and its children (a new family, or a change of situation)."""
        children = tuple(children)
        now = self.clock.now()

        def work(uow: UnitOfWork) -> Family:
            commune = uow.commune()
            require_agent(actor, commune.collectivite.id, _GESTION)
            for child in children:
                if family.id not in child.family_ids:
                    raise InvalidInput(
                        f"child {child.id!r} is not in family {family.id!r}", code="services.child_family"
                    )
                # A birth is judged against the commune's today, not the entity's plausible range alone.
                if child.birth_date > commune.calendar.today(now):
                    raise InvalidInput(
                        f"child {child.id!r} is born on {child.birth_date.isoformat()}, after today",
                        message_fr="La date de naissance est dans le futur.",
                        code="model.born_in_future",
                        details={"child_id": child.id},
                    )
            try:
                before: Family | None = uow.families.get(family.id)
            except NotFound:
                before = None
            note_quotient_change(uow, commune, before, family, now)
            uow.families.save(family)
            for child in children:
                uow.families.save_child(child)
            return family

        return self._transact(work)

    def enrol_child(self, actor: Actor, enrolment: Enrolment) -> Enrolment:
        """Enrol a child of a household in a service for a period (validated by the agent). Saving an
        enrolment again with another period changes the forfaits it owes: those already billed are
        regularised by the next month-end run."""
        now = self.clock.now()

        def work(uow: UnitOfWork) -> Enrolment:
            commune = uow.commune()
            require_agent(actor, commune.collectivite.id, _GESTION)
            commune.service(enrolment.service_id)
            child = uow.families.child(enrolment.child_id)
            uow.families.get(enrolment.family_id)
            if enrolment.family_id not in child.family_ids:
                raise InvalidInput(
                    f"child {child.id!r} is not in family {enrolment.family_id!r}",
                    message_fr="Cet enfant n'appartient pas à ce foyer.",
                    code="services.child_family",
                )
            before = next((e for e in uow.families.enrolments_of(child.id) if e.id == enrolment.id), None)
            # A forfait already billed for a month the enrolment no longer covers (or newly covers) is a
            # correction: the next run regularises it.
            changes = _forfait_changes(commune, before, enrolment)
            if changes:
                note_corrections(uow, commune, enrolment.family_id, changes, now)
            uow.families.save_enrolment(enrolment)
            return enrolment

        return self._transact(work)

    # -- attendance and closures ------------------------------------------------------------------------

    def attendance_sheet(self, actor: Actor, service_id: str, day: dt.date) -> tuple[SheetLine, ...]:
        """The day's sheet of a service (*la feuille d'appel*): every child booked (or held) on each of its
        prestations, by prestation then name, with what was recorded for the day so far, if anything."""
        if not isinstance(day, dt.date) or isinstance(day, dt.datetime):
            raise InvalidInput(f"not a date: {day!r}", code="attendance.bad_day")
        period = DateRange(day, day)

        def work(uow: UnitOfWork) -> tuple[SheetLine, ...]:
            commune = uow.commune()
            require_agent(actor, commune.collectivite.id, _ATTENDANCE)
            service = commune.service(service_id)
            facts: dict[str, dict[tuple[str, str], AttendanceFact]] = {}
            lines = []
            for prestation in service.prestations:
                for booking in uow.bookings.of_prestation(prestation.id, period):
                    if not booking.is_active:
                        continue
                    if booking.family_id not in facts:
                        facts[booking.family_id] = {
                            (f.child_id, f.prestation_id): f
                            for f in uow.attendance.of_family(booking.family_id, period)
                        }
                    child = uow.families.child(booking.child_id)
                    fact = facts[booking.family_id].get((booking.child_id, booking.prestation_id))
                    lines.append(SheetLine(booking, child, fact))
            order = {p.id: i for i, p in enumerate(service.prestations)}
            return tuple(
                sorted(
                    lines,
                    key=lambda line: (
                        order[line.booking.prestation_id],
                        line.child.last_name.casefold(),
                        line.child.first_name.casefold(),
                        line.child.id,
                    ),
                )
            )

        return self._transact(work)

    def record_attendance(self, actor: Actor, facts: Iterable[AttendanceFact]) -> tuple[AttendanceFact, ...]:
        """Record what an agent saw: one fact per child, prestation and date (recorded again: replaced)."""
        facts = tuple(facts)
        now = self.clock.now()

        def work(uow: UnitOfWork) -> tuple[AttendanceFact, ...]:
            commune = uow.commune()
            agent = require_agent(actor, commune.collectivite.id, _ATTENDANCE)
            keys = [(f.child_id, f.prestation_id, f.day) for f in facts]
            if len(set(keys)) != len(keys):
                raise InvalidInput("a day is recorded twice in one call", code="attendance.duplicate")
            by_family: dict[str, list[AttendanceFact]] = {}
            left: dict[str, list[tuple[str, dt.date]]] = {}  # billed days whose fact leaves the household
            billed: dict[str, dt.date | None] = {}  # by régie, as far as its runs billed
            stamped = []
            for fact in facts:
                commune.prestation(fact.prestation_id)
                if fact.reason is not None:
                    _check_reason(commune, fact)
                child = uow.families.child(fact.child_id)
                # The household whose booking the child came on, whichever households the child is in
                # today (separated parents: each books its days; a child who has left a household since:
                # the days it booked are still its own); without a booking, the child's main household.
                # Read by the booking's key, not per prestation: a city's day of one prestation holds
                # thousands.
                day = DateRange(fact.day, fact.day)
                owner = next(
                    (
                        b.family_id
                        for b in uow.bookings.of_child(fact.child_id, day, prestation_id=fact.prestation_id)
                        if b.is_active
                    ),
                    child.family_ids[0],
                )
                signed = attrs.evolve(fact, recorded_by=agent.agent_id, recorded_at=now)
                stamped.append(signed)
                by_family.setdefault(owner, []).append(signed)
                for family_id in _households_left(uow, commune, billed, child, owner, fact):
                    left.setdefault(family_id, []).append((fact.prestation_id, fact.day))
            for family_id, days in sorted(left.items()):
                note_corrections(uow, commune, family_id, days, now)
            for family_id, items in sorted(by_family.items()):
                note_corrections(uow, commune, family_id, ((f.prestation_id, f.day) for f in items), now)
                uow.attendance.save(items, family_id)
            return tuple(stamped)

        return self._transact(work)

    def declare_closure(self, actor: Actor, service_id: str, closure: Closure) -> tuple[AttendanceFact, ...]:
        """Close a service (a strike, an outing): the bookings it covers become ``service_closed`` facts,
        not billed, with nothing for families to do."""
        now = self.clock.now()

        def work(uow: UnitOfWork) -> tuple[AttendanceFact, ...]:
            commune = uow.commune()
            agent = require_agent(actor, commune.collectivite.id, _GESTION)
            service = commune.service(service_id)
            uow.attendance.add_closure(service_id, closure)
            owners: dict[tuple[str, str, dt.date], str] = {}
            bookings: list[Booking] = []
            for prestation in service.prestations:
                for booking in uow.bookings.of_prestation(prestation.id, closure.period):
                    if booking.is_active:
                        bookings.append(booking)
                        owners[booking.key] = booking.family_id
            facts = service_closed_facts(bookings, [closure], recorded_at=now, recorded_by=agent.agent_id)
            by_family: dict[str, list[AttendanceFact]] = {}
            for fact in facts:
                by_family.setdefault(owners[(fact.child_id, fact.prestation_id, fact.day)], []).append(fact)
            for family_id, items in sorted(by_family.items()):
                note_corrections(uow, commune, family_id, ((f.prestation_id, f.day) for f in items), now)
                uow.attendance.save(items, family_id)
            return facts

        return self._transact(work)

    def record_absence_proof(
        self,
        actor: Actor,
        family_id: str,
        child_id: str,
        days: DateRange,
        *,
        received_at: dt.datetime | None = None,
    ) -> AbsenceDeclaration:
        """Record that the commune received the proof (a medical certificate) of a declared absence, at
        ``received_at`` (now by default). Days already invoiced are regularised by the next month-end run:
        a certificate received in time after the month was billed becomes a deduction."""
        now = self.clock.now()
        received = now if received_at is None else require_aware(received_at, "received_at")

        def work(uow: UnitOfWork) -> AbsenceDeclaration:
            commune = uow.commune()
            require_agent(actor, commune.collectivite.id, _ATTENDANCE)
            declaration = next(
                (
                    d
                    for d in uow.attendance.absences_of(family_id)
                    if d.child_id == child_id and d.days == days
                ),
                None,
            )
            if declaration is None:
                raise NotFound(
                    f"no absence of child {child_id!r} declared for {days.start}..{days.end}",
                    message_fr="Aucune absence n'a été déclarée pour cet enfant à ces dates.",
                    code="not_found.absence",
                )
            proved = attrs.evolve(declaration, proof_received_at=received)
            booked = {
                (b.prestation_id, b.day)
                for b in uow.bookings.of_family(family_id, days)
                if b.child_id == child_id and b.is_active
            }
            note_corrections(uow, commune, family_id, booked, now)
            uow.attendance.save_absence(proved, family_id)
            return proved

        return self._transact(work)

    # -- holds --------------------------------------------------------------------------------------------

    def release_expired_holds(self, actor: Actor) -> HoldsReleased:
        """Release the prepaid places not paid in time (event ``booking.hold_expired``); the first waiting
        children get them (``waiting_list.place_granted``)."""
        now = self.clock.now()

        def work(uow: UnitOfWork) -> HoldsReleased:
            commune = uow.commune()
            require_agent(actor, commune.collectivite.id)
            today = commune.calendar.today(now)
            window = DateRange(today - _HOLD_WINDOW[0], today + _HOLD_WINDOW[1])
            released: list[Booking] = []
            promoted: list[Booking] = []
            events: list[DomainEvent] = []
            closures = uow.attendance.closures()
            for family in uow.families.all():
                held = [
                    b for b in uow.bookings.of_family(family.id, window) if b.status is BookingStatus.HELD
                ]
                if not held:
                    continue
                ledgers, _ = place_ledgers(uow, commune, {b.prestation_id for b in held}, window)
                release = release_expired_holds(
                    held, now, self.hold, ledgers=ledgers, commune=commune, closures=closures
                )
                if not release.released:
                    continue
                uow.bookings.save(release.released)
                released.extend(release.released)
                granted, granted_events = promote(uow, commune, release.promotions, now)
                uow.bookings.save(granted)
                promoted.extend(granted)
                events.extend(granted_events)
                names = {c.id: c.first_name for c in uow.families.children_of(family.id)}
                holding = {b.key: b for b in held}
                grouped: dict[tuple[str, str], list[Booking]] = {}
                for booking in release.released:
                    grouped.setdefault((booking.child_id, booking.prestation_id), []).append(booking)
                for (child_id, prestation_id), items in sorted(grouped.items()):
                    events.append(
                        HoldExpired(
                            commune.collectivite.id,
                            family.id,
                            now,
                            child_id,
                            names.get(child_id, child_id),
                            prestation_id,
                            commune.prestation(prestation_id).name,
                            [b.day for b in items],
                            _held_until(commune, [holding[b.key] for b in items], self.hold, closures),
                        )
                    )
            self._emit(uow, events)
            return HoldsReleased(tuple(released), tuple(promoted))

        return self._transact(work)

    # -- billing ------------------------------------------------------------------------------------------

    def run_month_end(
        self,
        actor: Actor,
        regie_id: str,
        month: DateRange,
        *,
        issued_on: dt.date | None = None,
        progress: Callable[[int, int], None] | None = None,
        pause_collector: bool = False,
        batch: int = MONTH_END_BATCH,
        check: bool = True,
    ) -> MonthEndReport:
        """Month-end billing of a régie: invoices and credit notes saved with their numbers, amounts below
        the threshold carried, credit notes applied to open invoices, event ``invoice.issued`` per document.

        Besides the month, each family's earlier days changed since a run billed them are billed again
        (``UnitOfWork.runs.changed_days``: regularisation lines naming the invoice and the day), and the
        school year's presences without booking already billed count towards the tolerance.

        The city is read, billed and saved ``batch`` families at a time (``UnitOfWork.runs.family_records``),
        each batch in a unit of work of its own: a family's documents and their numbers are saved all or
        nothing, numbers follow each other from one batch to the next, and families validating a basket
        meanwhile wait for one batch at most, not for the run. Nothing but counts and totals is kept, so
        memory does not grow with the city. A run stopped half-way (a crash, a kill) is completed by running
        it again: the families already billed get nothing new and the others the numbers they would have
        had; running the same month again issues nothing new and uses no number. ``progress`` is called after
        each family is billed with (families billed so far, number of families), for a progress bar; a
        retried batch starts again from its first family. ``pause_collector`` switches Python's cyclic garbage
        collector off for the run (a city's run allocates millions of objects and makes no cycle: a fifth of
        the time on SQLite); it is process-wide, so it is for hosts whose other threads can wait.

        The run first checks the month (``check_month_end``): while any day cannot be priced it bills
        nothing and raises ``MissingData`` ("billing.unpriced_days") saying how many days, of which
        families, and the first of them with their reasons (``details["problems"]``: every one). A host that
        has just checked the month may pass ``check=False``.
        """
        if isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
            raise InvalidInput(
                f"a batch is a number of families (1 or more), got {batch!r}", code="billing.batch"
            )
        if check:
            checked = self.check_month_end(actor, regie_id, month, issued_on=issued_on, batch=batch)
            if not checked.ok:
                raise MissingData(
                    f"{len(checked.problems)} day(s) of {checked.families_concerned} family(ies) cannot be "
                    "priced: nothing was billed",
                    message_fr=checked.message_fr + " Rien n'a été facturé.",
                    code=checked.code,
                    details={"problems": checked.problems, "families": checked.families_concerned},
                )
        now = self.clock.now()
        total = self._transact(lambda uow: sum(1 for _ in uow.families.all())) if progress is not None else 0
        run: _Tally | None = None
        applied: list[str] = []
        after: str | None = None
        with paused() if pause_collector else contextlib.nullcontext():
            while True:
                done = 0 if run is None else run.families
                work = functools.partial(
                    self._bill_batch,
                    actor,
                    regie_id,
                    month,
                    issued_on,
                    now,
                    after,
                    batch,
                    done,
                    total,
                    progress,
                )
                part, part_applied, last = self._transact(work)
                run = part if run is None else run.merge(part)
                applied.extend(part_applied)
                if last is None:
                    return run.report(applied)
                after = last

    def check_month_end(
        self,
        actor: Actor,
        regie_id: str,
        month: DateRange,
        *,
        issued_on: dt.date | None = None,
        batch: int = MONTH_END_BATCH,
    ) -> MonthEndCheck:
        """The pre-flight of a month-end run: every family × child × prestation × day of the month (and
        every earlier day to regularise) that cannot be priced, with its reason (a code and a French
        sentence). Writes nothing.

        First from the tariffs alone (``priceable_month``): when every prestation of the régie is priced on
        every day of the month and of the earlier days changed since a run billed them, whatever the family
        and its attendance, and every reason recorded on those days is one a price list still defines (one
        read of the distinct reasons, ``attendance.reasons_recorded``), every family can be priced and none
        is read (``families`` counts them). Else it reads every family as the run does, ``batch`` families
        at a time, and prices its days."""
        now = self.clock.now()
        proven = self._transact(functools.partial(self._proven, actor, regie_id, month, issued_on, now))
        if proven is not None:
            return MonthEndCheck(regie_id, month, proven)
        problems: list[PricingProblem] = []
        families = 0
        after: str | None = None
        while True:
            work = functools.partial(self._check_batch, actor, regie_id, month, issued_on, now, after, batch)
            found, read, last = self._transact(work)
            problems.extend(found)
            families += read
            if last is None:
                return MonthEndCheck(regie_id, month, families, problems)
            after = last

    def _proven(
        self,
        actor: Actor,
        regie_id: str,
        month: DateRange,
        issued_on: dt.date | None,
        now: dt.datetime,
        uow: UnitOfWork,
    ) -> int | None:
        """The number of families, when the tariffs alone prove every one can be priced (None: no proof).
        The days to prove are the month's and every earlier day a family has to regularise (its changed
        days and those of the carried lines holding them, as the run reads them), with the reasons recorded
        on them: one the commune has since removed from every price list is no proof."""
        commune = uow.commune()
        ctx = _billing_context(commune, actor, regie_id, month, issued_on, now)
        carried = uow.runs.carried(regie_id, before=month.start)
        reader = _MonthReader(uow, commune, regie_id, month, carried, now)
        earlier = {day for family_id in reader.changed for day in reader.earlier_days(family_id)}
        days = [month, *(DateRange(day, day) for day in sorted(earlier) if day not in month)]
        reasons = uow.attendance.reasons_recorded(ctx.prestations, days)
        if not priceable_month(ctx, earlier, reasons=reasons):
            return None
        return sum(1 for _ in uow.families.all())

    def _check_batch(
        self,
        actor: Actor,
        regie_id: str,
        month: DateRange,
        issued_on: dt.date | None,
        now: dt.datetime,
        after: str | None,
        batch: int,
        uow: UnitOfWork,
    ) -> tuple[list[PricingProblem], int, str | None]:
        commune = uow.commune()
        ctx = _billing_context(commune, actor, regie_id, month, issued_on, now)
        carried_before = uow.runs.carried(regie_id, before=month.start)
        closures = uow.attendance.closures()
        reader = _MonthReader(uow, commune, regie_id, month, carried_before, now)
        problems: list[PricingProblem] = []
        read: list[str] = []
        records = uow.runs.family_records(month, after, reader.documents_from, batch=batch)
        for family_month in reader.months_of(records, closures, batch):
            problems.extend(check_family(ctx, family_month))
            read.append(family_month.family.id)
        return problems, len(read), read[-1] if len(read) == batch else None

    def _bill_batch(
        self,
        actor: Actor,
        regie_id: str,
        month: DateRange,
        issued_on: dt.date | None,
        now: dt.datetime,
        after: str | None,
        batch: int,
        done: int,
        total: int,
        progress: Callable[[int, int], None] | None,
        uow: UnitOfWork,
    ) -> tuple[_Tally, list[str], str | None]:
        """One batch of a run: the next ``batch`` families after ``after``, billed and saved; the batch's
        tally, the credit notes it applied, and its last family (None: the run is over)."""
        commune = uow.commune()
        ctx = _billing_context(commune, actor, regie_id, month, issued_on, now)
        regie = commune.regie(regie_id)
        if after is None:
            # From the first batch on, a change to a day of the month is a correction for the families
            # already billed (the others read it with their month).
            through = uow.runs.billed_through(regie_id)
            _check_run_period(month, through)
            if through is None or through < month.end:
                uow.runs.save_billed_through(regie_id, month.end)
        # What the month started from: a rerun of the month must not count its own carried lines.
        carried_before = uow.runs.carried(regie_id, before=month.start)
        closures = uow.attendance.closures()
        numbering = uow.documents.numbering()
        reader = _MonthReader(uow, commune, regie_id, month, carried_before, now)
        tally = _Tally(ctx)
        carried_now: dict[str, CarriedBalance | None] = {}
        # Families with a credit note, old or new, and a document of this run: their notes are applied to
        # their open invoices once the batch is saved.
        to_apply: list[str] = []
        billed: list[str] = []
        records = uow.runs.family_records(month, after, reader.documents_from, batch=batch)
        months = reader.months_of(records, closures, batch)
        for bill, numbered in _under_mandates(uow, regie, bill_month(ctx, months, numbering)):
            numbering = numbered  # after this family's document
            family_id = bill.outcome.family_id
            reader.billed(family_id)
            tally.add(bill)
            billed.append(family_id)
            document = bill.document
            if document is not None:
                uow.documents.save_invoice(document)
                self._emit(uow, [_issued(commune, document, now)])
                if document.is_credit_note or family_id in reader.with_credit_notes:
                    to_apply.append(family_id)
            if bill.carried is not None:
                carried_now[family_id] = bill.carried
            if progress is not None:
                progress(done + tally.families, total)
        uow.documents.save_numbering(numbering)
        # Recorded for this month: what it carries now, and that it carries nothing for a family it
        # started with a balance or an earlier run of it carried one (issued since, or corrected).
        carried_earlier_run = uow.runs.carried(regie_id, before=month.start + dt.timedelta(days=1))
        mine = set(billed)
        for family_id in (*carried_before, *carried_earlier_run):
            if family_id in mine:
                carried_now.setdefault(family_id, None)
        if carried_now:
            uow.runs.save_carried(regie_id, month, carried_now)
        applied: list[str] = []
        for family_id in to_apply:
            application = apply_credit_notes(billing_ledger(uow, family_id), family_id=family_id)
            if application.allocations:
                uow.documents.save_allocations(application.allocations, family_id)
                applied.extend(application.messages_fr)
        return tally, applied, billed[-1] if len(billed) == batch else None

    def record_payment(
        self,
        actor: Actor,
        family_id: str,
        regie_id: str,
        invoice_numbers: Sequence[str],
        amount: Money,
        method: PaymentMethod,
        *,
        reference: str = "",
    ) -> PaymentRecord:
        """A payment the régisseur takes at the counter (cheque, cash, transfer, direct debit) for invoices of
        ``family_id`` at ``regie_id``: numbered in the ``PAY`` series, allocated oldest first and never above
        what remains, with event ``payment.received`` (its reference is the payment's number).

        Refused as a whole (``PaymentRefused``, nothing saved) for an invoice of another payer or régie,
        a credit note, an invoice paid already, or an amount above what remains; the due date does not
        matter at the counter. The same ``reference`` again (a cheque recorded twice) changes nothing
        (``PaymentRecord.already_recorded``). Online payments come from the gateway's notification
        (``FamilyPortal.payment_notification``), not from here.
        """
        if method is PaymentMethod.ONLINE:
            raise InvalidInput(
                "online payments are recorded from the gateway's notification, not at the counter",
                message_fr="Un paiement en ligne est enregistré à sa notification, pas au guichet.",
                code="payment.method",
            )
        now = self.clock.now()
        order = PaymentOrder(regie_id, family_id, invoice_numbers, amount, now, method, reference)

        def work(uow: UnitOfWork) -> PaymentRecord:
            commune = uow.commune()
            require_agent(actor, commune.collectivite.id, _REGIE)
            commune.regie(regie_id)
            uow.families.get(family_id)
            ledger = billing_ledger(uow, family_id)
            # An invoice of another household is named as such (``payment.other_payer``), not as unknown.
            foreign = []
            for number in dict.fromkeys(order.invoice_numbers):
                try:
                    ledger.invoice(number)
                except NotFound:
                    try:
                        foreign.append(uow.documents.invoice(number))
                    except NotFound:
                        continue
            if foreign:
                ledger = ledger.add_invoices(foreign)
            record = record_payment(ledger, order, commune.calendar.today(now))
            if record.already_recorded:
                return record
            payment = record.payment
            uow.documents.save_payment(payment)
            uow.documents.save_allocations(record.allocations, family_id)
            uow.documents.save_numbering(record.ledger.numbering)
            event = PaymentReceived(
                commune.collectivite.id,
                family_id,
                now,
                payment.number,
                payment.amount,
                sorted({a.invoice_number for a in record.allocations}),
            )
            self._emit(uow, [event])
            return record

        return self._transact(work)

    def issue_credit(
        self, actor: Actor, family_id: str, regie_id: str, amount: Money, label: str
    ) -> tuple[Invoice, tuple[str, ...]]:
        """A credit note (*avoir*) decided by the régie, applied at once to the family's open invoices there;
        what is left can be refunded (``refund``)."""
        now = self.clock.now()

        def work(uow: UnitOfWork) -> tuple[Invoice, tuple[str, ...]]:
            commune = uow.commune()
            require_agent(actor, commune.collectivite.id, _REGIE)
            commune.regie(regie_id)
            uow.families.get(family_id)
            today = commune.calendar.today(now)
            note, numbering = issue_credit_note(
                uow.documents.numbering(), regie_id, family_id, amount, label, today
            )
            uow.documents.save_invoice(note)
            uow.documents.save_numbering(numbering)
            application = apply_credit_notes(billing_ledger(uow, family_id), family_id=family_id)
            if application.allocations:
                uow.documents.save_allocations(application.allocations, family_id)
            self._emit(uow, [_issued(commune, note, now)])
            return note, application.messages_fr

        return self._transact(work)

    def refund(self, actor: Actor, credit_note_number: str, *, amount: Money | None = None) -> RefundRecord:
        """Pay back what is left of a credit note (or ``amount`` of it): a refund in the ``REM`` series."""
        now = self.clock.now()

        def work(uow: UnitOfWork) -> RefundRecord:
            commune = uow.commune()
            require_agent(actor, commune.collectivite.id, _REGIE)
            note = uow.documents.invoice(credit_note_number)
            record = refund_credit(
                billing_ledger(uow, note.family_id),
                credit_note_number,
                now,
                today=commune.calendar.today(now),
                amount=amount,
            )
            uow.documents.save_payment(record.refund)
            uow.documents.save_allocations([record.allocation], note.family_id)
            uow.documents.save_numbering(record.ledger.numbering)
            return record

        return self._transact(work)

    # -- unpaid invoices --------------------------------------------------------------------------------

    def grant_unpaid_exemption(
        self, actor: Actor, family_id: str, exemption: UnpaidExemption
    ) -> UnpaidExemption:
        """Lift the unpaid-invoice block for a household (a payment plan, a social-services follow-up) from
        ``exemption.since`` until ``exemption.until`` included: its baskets are then judged with it (a
        blocked service answers ``unpaid.exempt`` and the booking goes through; reminders still apply).
        It replaces the household's previous exemption, and the household is told (event
        ``unpaid.exemption_granted``). A régisseur's (or administrateur's) decision.

        ``exemption.granted_by`` must be the acting agent's id: the record is the audit trail of who lifted
        the block, so a mismatch is refused (``InvalidInput``, ``unpaid.exemption_granted_by``, nothing
        written) rather than silently rewritten — what is stored, and returned, is what the caller built."""
        if not isinstance(exemption, UnpaidExemption):
            raise InvalidInput(f"expected an UnpaidExemption, got {exemption!r}", code="input.invalid")
        now = self.clock.now()

        def work(uow: UnitOfWork) -> UnpaidExemption:
            commune = uow.commune()
            agent = require_agent(actor, commune.collectivite.id, _REGIE)
            if exemption.granted_by != agent.agent_id:
                raise InvalidInput(
                    f"the exemption names {exemption.granted_by!r} as its author, but {agent.agent_id!r} "
                    "grants it",
                    message_fr="Une exemption est enregistrée au nom de l'agent qui l'accorde.",
                    code="unpaid.exemption_granted_by",
                )
            uow.families.get(family_id)
            uow.families.save_unpaid_exemption(family_id, exemption)
            event = UnpaidExemptionGranted(
                commune.collectivite.id, family_id, now, exemption.since, exemption.until
            )
            self._emit(uow, [event])
            return exemption

        return self._transact(work)

    def revoke_unpaid_exemption(self, actor: Actor, family_id: str) -> UnpaidExemption | None:
        """End a household's exemption at once: the commune's unpaid policy blocks its baskets again, and the
        household is told (event ``unpaid.exemption_revoked``). Returns the exemption revoked, or ``None``
        (and writes and tells nothing) when the household had none."""
        now = self.clock.now()

        def work(uow: UnitOfWork) -> UnpaidExemption | None:
            commune = uow.commune()
            require_agent(actor, commune.collectivite.id, _REGIE)
            uow.families.get(family_id)
            revoked = uow.families.unpaid_exemption(family_id)
            if revoked is not None:
                uow.families.save_unpaid_exemption(family_id, None)
                self._emit(uow, [UnpaidExemptionRevoked(commune.collectivite.id, family_id, now)])
            return revoked

        return self._transact(work)

    # -- requests -----------------------------------------------------------------------------------------

    def answer_request(
        self, actor: Actor, family_id: str, request_id: str, text: str, *, decision: str = "answer"
    ) -> Request:
        """Answer a family's request: ``decision`` is ``"answer"`` (a reply, the request stays open),
        ``"accept"`` or ``"refuse"``; the family is told (event ``request.answered``)."""
        now = self.clock.now()
        actions: Mapping[str, Callable[[Request, RequestActor, dt.datetime, str], Request]] = {
            "answer": Request.answer,
            "accept": Request.accept,
            "refuse": Request.refuse,
        }
        if decision not in actions:
            raise InvalidInput(
                f"decision must be one of {sorted(actions)}, got {decision!r}", code="requests.bad_decision"
            )

        def work(uow: UnitOfWork) -> Request:
            commune = uow.commune()
            agent = require_agent(actor, commune.collectivite.id, _GESTION)
            request = next((r for r in uow.requests.of_family(family_id) if r.id == request_id), None)
            if request is None:
                raise NotFound(f"unknown request {request_id!r}", code="not_found.request")
            answered = actions[decision](request, RequestActor.agent(agent.agent_id), now, text)
            uow.requests.save(answered)
            category = commune.request_categories.category(request.category_id)
            self._emit(
                uow,
                [
                    RequestAnswered(
                        commune.collectivite.id,
                        family_id,
                        now,
                        request_id,
                        category.label,
                        answered.status.value,
                        answered.answers[-1].message or text,
                    )
                ],
            )
            return answered

        return self._transact(work)

    # -- the outbox -----------------------------------------------------------------------------------

    def outbox(self, actor: Actor, *, limit: int | None = None) -> tuple[OutboxMessage, ...]:
        """The messages the commune sends or sent (e-mails to families, activation links among them),
        newest first, ``limit`` at most. For a gestionnaire: the links open families' accounts."""
        if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool) or limit < 0):
            raise InvalidInput(f"limit must be a count, got {limit!r}", code="outbox.bad_limit")

        def work(uow: UnitOfWork) -> tuple[OutboxMessage, ...]:
            require_agent(actor, uow.commune().collectivite.id, _GESTION)
            messages = uow.outbox.all()[::-1]
            return messages if limit is None else messages[:limit]

        return self._transact(work)

    # -- what the régie sends out -------------------------------------------------------------------------

    def pes_v2_file(
        self,
        actor: Actor,
        regie_id: str,
        month: DateRange,
        *,
        bordereau: int,
        debits: Mapping[str, PesDirectDebit] | None = None,
    ) -> PesFile:
        """The PES V2 recette file for the Treasury's Hélios of ``regie_id``'s invoices of ``month``, as
        bordereau number ``bordereau`` (``interop.pes_v2``): the bytes, the invoices carried and those left
        out. Each invoice of a household on direct debit carries its SEPA block: the debit file that collected
        it (date, sequence), else the household's mandate with the régie in force on its debit date
        (``billing.direct_debit``); ``debits`` (by invoice number) replaces what the store says. Reads only;
        refused whole (``pes.*``, naming the family) when a payer has no address or a service no code."""
        now = self.clock.now()

        def work(uow: UnitOfWork) -> PesFile:
            commune = uow.commune()
            require_agent(actor, commune.collectivite.id, _REGIE)
            commune.regie(regie_id)
            families: dict[str, Family] = {}
            invoices: list[Invoice] = []
            for family in uow.families.all():
                own = [
                    document
                    for document in uow.documents.invoices_of(family.id)
                    if document.regie_id == regie_id and document.period.start in month
                ]
                if own:
                    families[family.id] = family
                    invoices.extend(own)
            return pes_v2_file(
                commune,
                regie_id,
                month,
                invoices,
                families,
                bordereau=bordereau,
                created_at=now,
                debits=_pes_debits(uow, commune, regie_id, invoices, families) if debits is None else debits,
            )

        return self._transact(work)

    def tax_attestations(self, actor: Actor, year: int) -> tuple[TaxAttestation, ...]:
        """Every household's attestation for the childcare tax credit of ``year`` that has an amount
        (``billing.attestations``), in the order of the households."""

        def work(uow: UnitOfWork) -> tuple[TaxAttestation, ...]:
            commune = uow.commune()
            require_agent(actor, commune.collectivite.id, _REGIE)
            made = (family_tax_attestation(uow, commune, family.id, year) for family in uow.families.all())
            return tuple(attestation for attestation in made if attestation.children)

        return self._transact(work)

    def presence_attestation(
        self, actor: Actor, family_id: str, period: DateRange, child_ids: Sequence[str] | None = None
    ) -> PresenceAttestation:
        """A household's presence attestation over ``period`` (days present per child and prestation)."""

        def work(uow: UnitOfWork) -> PresenceAttestation:
            commune = uow.commune()
            require_agent(actor, commune.collectivite.id, _REGIE + _GESTION)
            return family_presence(uow, commune, family_id, period, child_ids)

        return self._transact(work)

    # -- SEPA direct debit (services.debits) --------------------------------------------------------

    def register_mandate(
        self,
        actor: Actor,
        family_id: str,
        regie_id: str,
        *,
        signed_on: dt.date | None,
        iban: str,
        bic: str | None = None,
        rum: str | None = None,
        debtor_name: str | None = None,
        pre_notification_days: int = PRE_NOTIFICATION_DAYS,
    ) -> FamilyMandate:
        """Record the SEPA mandate the payer of ``family_id`` signed with ``regie_id`` (which must have its
        creditor settings, ``[regies.X.sepa]``): the household is then on direct debit there, and a mandate it
        had with the régie is revoked today. ``rum`` is made up when not given (``<régie>-<famille>-001``),
        ``debtor_name`` is the payer's by default. Refused, naming the family (``sepa.*``), for an invalid
        IBAN or BIC, no signature date or one after today, a RUM already used."""
        now = self.clock.now()

        def work(uow: UnitOfWork) -> FamilyMandate:
            commune = uow.commune()
            require_agent(actor, commune.collectivite.id, _MANDATES)
            return debits.register_mandate(
                uow,
                commune.calendar.today(now),
                family_id,
                regie_id,
                signed_on=signed_on,
                iban=iban,
                bic=bic,
                rum=rum,
                debtor_name=debtor_name,
                pre_notification_days=pre_notification_days,
            )

        return self._transact(work)

    def revoke_mandate(self, actor: Actor, rum: str) -> FamilyMandate:
        """Revoke the mandate ``rum`` today: nothing is collected under it any more (the household leaves
        direct debit when it has no other mandate in force). Revoking it again changes nothing."""
        now = self.clock.now()

        def work(uow: UnitOfWork) -> FamilyMandate:
            commune = uow.commune()
            require_agent(actor, commune.collectivite.id, _MANDATES)
            return debits.revoke_mandate(uow, commune.calendar.today(now), rum)

        return self._transact(work)

    def mandates(self, actor: Actor, regie_id: str) -> tuple[FamilyMandate, ...]:
        """The régie's mandates, revoked ones included, by family then RUM."""

        def work(uow: UnitOfWork) -> tuple[FamilyMandate, ...]:
            commune = uow.commune()
            require_agent(actor, commune.collectivite.id, _MANDATES)
            commune.regie(regie_id)
            return uow.mandates.of_regie(regie_id)

        return self._transact(work)

    def direct_debit_file(
        self, actor: Actor, regie_id: str, debit_date: dt.date, *, represent: Iterable[str] = ()
    ) -> DebitFile:
        """The régie's SEPA debit file (pain.008.001.02) of ``debit_date``, recorded with its payments
        (``services.debits``): the invoices whose debit date has come, for what is left to pay on them — one
        paid meanwhile at the counter or online is left out. Written whole or not at all; an invoice already
        in a file is never collected again. An invoice whose collection the bank returned is presented again
        only when named in ``represent`` (else left out, ``sepa.rejected_before``; naming one that was not
        returned: ``sepa.not_rejected``). Refused for a date not after today or not a TARGET2 business day
        (``sepa.debit_date_past``, ``sepa.not_a_business_day``), or when nothing is to be collected
        (``sepa.nothing_to_collect``)."""
        now = self.clock.now()

        def work(uow: UnitOfWork) -> DebitFile:
            require_agent(actor, uow.commune().collectivite.id, _REGIE)
            return debits.direct_debit_file(uow, now, regie_id, debit_date, represent)

        return self._transact(work)

    def import_direct_debit_rejects(self, actor: Actor, regie_id: str, report: bytes) -> RejectsImport:
        """Record the collections the bank returned (``report``: a pain.002 status report or a CSV of invoice
        number and reason code, ``billing.rejects``): each reverses its collection and reopens the invoice
        itself with the reason (``services.debits``, ``direct_debit.rejected``); no invoice is issued.
        Refused whole (``sepa.unknown_reject``) when a reference is no collection of the régie; a reject
        already recorded is not recorded twice."""
        now = self.clock.now()

        def work(uow: UnitOfWork) -> RejectsImport:
            require_agent(actor, uow.commune().collectivite.id, _REGIE)
            return debits.import_rejects(uow, now, regie_id, report)

        return self._transact(work)

    @staticmethod
    def _emit(uow: UnitOfWork, events: Iterable[DomainEvent]) -> None:
        for event in events:
            uow.outbox.add(new_message(event))
