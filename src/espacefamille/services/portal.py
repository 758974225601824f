"""The family portal's calls: children, services, the calendar, baskets, payments, absences and requests.

Each call takes the ``Actor`` first and refuses (``PermissionDenied``, nothing read beyond the check, nothing
written) a family member acting outside the family records its account is linked to, or an agent of another
collectivité. It then opens **one** unit of work, reads, calls the pure rules and billing functions, writes
their results together with the outbox events, and commits; a ``ConcurrentChange`` is retried a bounded
number of times (``transact``). Time comes from the ``Clock`` port.

Online payments are created at the gateway from inside the unit of work, and the portal's record of one (a
``PaymentAttempt``) is saved in the same transaction as the holds or invoices it pays: holds are never
committed without their payment, nor a payment recorded without its holds. Should the commit fail after the
gateway created the payment (a ``ConcurrentChange`` retried), that payment was never shown to the family and
simply expires unpaid. A settled payment is recorded in billing under its gateway reference, so a
notification replayed after a crash is recognised and settles nothing twice.

Why one module of some 1,300 lines: ``FamilyPortal`` is the family portal's one entry point, each method a
use case; the basket's credits and holds (``_Credits``, ``_hold_groups``) and ``transact``, which the back
office shares, sit beside them.
"""

from __future__ import annotations

import datetime as dt
import importlib
import secrets
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TypeVar

import attrs

from espacefamille.billing.attestations import (
    PresenceAttestation,
    TaxAttestation,
    presence_attestation,
    tax_attestation,
)
from espacefamille.billing.documents import (
    Allocation,
    Invoice,
    Payment,
    PaymentMethod,
)
from espacefamille.billing.online import (
    NotificationDecision,
    NotificationOutcome,
    PaymentAttempt,
    PaymentGateway,
    PaymentStatus,
    begin_payment,
    payment_under_way,
    settle_notification,
)
from espacefamille.billing.payments import (
    BillingLedger,
    Hold,
    InvoiceToPay,
    PaymentOrder,
    PaymentRefused,
    check_payment,
    invoices_to_pay,
    number_payment,
    receive_payment,
    record_payment,
)
from espacefamille.billing.prepaid import (
    DEFAULT_HOLD,
    AmountToPay,
    PrepaidConfirmation,
    PrepaidCredit,
    PricePreview,
    Receipt,
    amount_to_pay,
    cancellation_credits,
    confirm_payment,
    credit_allocations,
    late_payment_credit_note,
    prepaid_credit_notes,
    prepaid_credits,
    price_preview,
)
from espacefamille.calendar.opening import Closure
from espacefamille.calendar.periods import DateRange, Weekday
from espacefamille.commune import Commune
from espacefamille.errors import ConcurrentChange, InvalidInput, NotFound, PermissionDenied
from espacefamille.families.accounts import (
    Activated,
    Activation,
    Actor,
    activate,
    require_child_access,
    require_family_access,
    token_hash,
)
from espacefamille.families.events import (
    BookingConfirmed,
    DomainEvent,
    InvoiceIssued,
    PaymentReceived,
    WaitingListPlaceGranted,
    new_message,
)
from espacefamille.families.requests import (
    Request,
    RequestCategories,
    Submission,
    check_idempotency_key,
    encode_result,
    replayed,
    submission_fingerprint,
    submit_request,
)
from espacefamille.model import Booking, BookingStatus, Child, Family, PaymentMode, Service
from espacefamille.money import ZERO, Money
from espacefamille.ports import AccountStore, Clock, CommuneStore, UnitOfWork
from espacefamille.rules.attendance import AbsenceDeclaration, AbsenceOutcome, AbsenceReason, resolve_absence
from espacefamille.rules.basket import (
    Action,
    BasketContext,
    BasketLine,
    BasketResult,
    LineDecision,
    PeriodExpansion,
    period_lines,
)
from espacefamille.rules.calendar_view import CalendarView, family_calendar
from espacefamille.rules.capacity import Capacity, PlaceLedger, Promotion
from espacefamille.rules.unpaid import Debt
from espacefamille.text import count_of

from ._checks import checked_calls
from .corrections import note_corrections

__all__ = [
    "DEFAULT_RETRIES",
    "AbsenceResult",
    "BasketOutcome",
    "FamilyPortal",
    "InvoiceView",
    "NotificationResult",
    "PaymentView",
    "transact",
]

#: How many times a call is tried again after a ``ConcurrentChange`` before the error reaches the caller.
DEFAULT_RETRIES = 3

_T = TypeVar("_T")
BookingKey = tuple[str, str, dt.date]


# -- the unit of work, retried -----------------------------------------------------------------------


def transact(store: CommuneStore, work: Callable[[UnitOfWork], _T], *, retries: int = DEFAULT_RETRIES) -> _T:
    """Run ``work`` in one unit of work and commit it; on ``ConcurrentChange``, start again from fresh reads.

    ``work`` must only read and write through the unit of work it is given (it may run several times).
    After ``retries`` further failures the last ``ConcurrentChange`` is raised: nothing was written.
    """
    attempt = 0
    while True:
        try:
            with store.unit_of_work() as uow:
                result = work(uow)
                uow.commit()
                return result
        except ConcurrentChange:
            attempt += 1
            if attempt > retries:
                raise


def _emit(uow: UnitOfWork, events: Iterable[DomainEvent]) -> None:
    for event in events:
        uow.outbox.add(new_message(event))


# -- shared reads ---------------------------------------------------------------------------------------


def family_tax_attestation(uow: UnitOfWork, commune: Commune, family_id: str, year: int) -> TaxAttestation:
    """A household's tax attestation of ``year`` from its stored documents (``billing.attestations``)."""
    documents = uow.documents
    return tax_attestation(
        commune,
        uow.families.get(family_id),
        uow.families.children_of(family_id),
        documents.invoices_of(family_id),
        documents.payments_of(family_id),
        documents.allocations_of(family_id),
        year,
        # a day paid at booking counts in the year it was booked: from January to the next year's end
        uow.bookings.of_family(family_id, DateRange(dt.date(year, 1, 1), dt.date(year + 1, 12, 31)))
        if isinstance(year, int) and 1900 <= year < 2200
        else (),  # tax_attestation refuses the year
    )


def family_presence(
    uow: UnitOfWork, commune: Commune, family_id: str, period: DateRange, child_ids: Sequence[str] | None
) -> PresenceAttestation:
    """A household's presence attestation over ``period`` from its stored attendance facts."""
    return presence_attestation(
        commune,
        uow.families.get(family_id),
        uow.families.children_of(family_id),
        uow.attendance.of_family(family_id, period),
        period,
        child_ids=child_ids,
    )


def billing_ledger(uow: UnitOfWork, family_id: str) -> BillingLedger:
    """A family's invoices, payments and allocations, with the commune's numbering, as a billing ledger."""
    return BillingLedger(
        uow.documents.invoices_of(family_id),
        uow.documents.payments_of(family_id),
        uow.documents.allocations_of(family_id),
        uow.documents.numbering(),
    )


def unpaid_debts(uow: UnitOfWork, family_id: str, today: dt.date) -> tuple[Debt, ...]:
    """What the household still owes past due on ``today``: one debt per invoice (not credit note) with
    something left to pay after its payments and credit notes, for the commune's unpaid policy."""
    ledger = billing_ledger(uow, family_id)
    debts = []
    for invoice in ledger.invoices:
        if invoice.is_credit_note or invoice.due_on >= today:
            continue
        remaining = ledger.remaining(invoice.number)
        if remaining > ZERO:
            debts.append(Debt(invoice.number, invoice.regie_id, invoice.due_on, remaining))
    return tuple(debts)


def _attempt_or_none(uow: UnitOfWork, payment_id: str) -> PaymentAttempt | None:
    try:
        return uow.online_payments.get(payment_id)
    except NotFound:
        return None


def place_ledgers(
    uow: UnitOfWork,
    commune: Commune,
    prestation_ids: Iterable[str],
    span: DateRange,
    *,
    for_booking: bool = False,
    counted: Mapping[str, Iterable[str]] | None = None,
) -> tuple[dict[str, PlaceLedger], list[tuple[str, Promotion]]]:
    """The place ledgers of the capacity-limited prestations over ``span``, rebuilt from stored bookings.

    Waiting children promoted because places were added since are returned, to be saved and told.
    ``for_booking``: read to book (a basket), so that the store queues the baskets of the same places
    (``Bookings.of_prestation``). ``counted``: the prestations a basket only books, each with the
    household's children: their places are read as counts (``Bookings.places_of``, a read that does not
    grow with the waiting list), and in full only when the counts cannot answer (see ``_counted_ledger``).
    """
    ledgers: dict[str, PlaceLedger] = {}
    promotions: list[tuple[str, Promotion]] = []
    children: dict[str, Child] = {}
    for prestation_id in sorted(set(prestation_ids)):
        capacity = commune.capacities.get(prestation_id)
        if capacity is None:
            continue
        if counted is not None and prestation_id in counted:
            found = _counted_ledger(
                uow, capacity, prestation_id, span, counted[prestation_id], for_booking=for_booking
            )
            if found is not None:
                ledgers[prestation_id] = found
                continue
        held: list[tuple[str, dt.date, str | None]] = []
        waiting: list[tuple[str, dt.date, str | None, dt.datetime]] = []
        for booking in uow.bookings.of_prestation(prestation_id, span, for_booking=for_booking):
            if booking.status is BookingStatus.CANCELLED:
                continue
            group = None
            if capacity.grouped:
                child = children.get(booking.child_id)
                if child is None:
                    child = children[booking.child_id] = uow.families.child(booking.child_id)
                group = capacity.group_for(child, booking.day)
            if booking.is_active:
                held.append((booking.child_id, booking.day, group))
            else:
                waiting.append((booking.child_id, booking.day, group, booking.booked_at))
        ledger, promoted = PlaceLedger.restore(capacity, held, waiting)
        ledgers[prestation_id] = ledger
        promotions.extend((prestation_id, p) for p in promoted)
    return ledgers, promotions


def _counted_ledger(
    uow: UnitOfWork,
    capacity: Capacity,
    prestation_id: str,
    span: DateRange,
    child_ids: Iterable[str],
    *,
    for_booking: bool,
) -> PlaceLedger | None:
    """A prestation's places as counts, naming the household's children who hold one; None when the full
    list is needed: places split into groups (a child's group is not stored), one of the children waiting
    (its position is its rank in the list), or a date with a free place and children waiting (places were
    added since: ``PlaceLedger.restore`` promotes them)."""
    if capacity.grouped:
        return None
    counts, own = uow.bookings.places_of(prestation_id, span, child_ids, for_booking=for_booking)
    if any(b.status is BookingStatus.WAITING for b in own):
        return None
    for count in counts:
        places = capacity.places_on(count.day)
        if count.waiting and (places is None or count.holding < places):
            return None
    held = [(b.child_id, b.day, None) for b in own if b.is_active]
    return PlaceLedger.counted(capacity, counts, held)


def promote(
    uow: UnitOfWork,
    commune: Commune,
    promotions: Iterable[tuple[str, Promotion]],
    now: dt.datetime,
    *,
    known: Mapping[BookingKey, Booking] | None = None,
) -> tuple[list[Booking], list[DomainEvent]]:
    """The waiting bookings that got a freed place, now booked (or held from ``now`` if prepaid), and the
    ``waiting_list.place_granted`` events for their families.

    ``known`` are bookings already in hand (a basket's household, possibly changed in this unit of work);
    the others are read from the store.
    """
    collectivite = commune.collectivite.id
    saved: list[Booking] = []
    events: list[DomainEvent] = []
    for prestation_id, promotion in promotions:
        key = (promotion.child_id, prestation_id, promotion.day)
        booking = (known or {}).get(key)
        if booking is None:
            booking = next(
                (
                    b
                    for b in uow.bookings.of_prestation(
                        prestation_id, DateRange(promotion.day, promotion.day)
                    )
                    if b.child_id == promotion.child_id
                ),
                None,
            )
        if booking is None or booking.status not in (BookingStatus.WAITING, BookingStatus.BOOKED):
            continue
        prestation = commune.prestation(prestation_id)
        if prestation.payment_mode is PaymentMode.PREPAID:
            # The family pays for the place it just got: its hold starts now, not when it joined the list.
            granted = attrs.evolve(booking, status=BookingStatus.HELD, booked_at=now)
        else:
            granted = attrs.evolve(booking, status=BookingStatus.BOOKED)
        saved.append(granted)
        child = uow.families.child(promotion.child_id)
        events.append(
            WaitingListPlaceGranted(
                collectivite,
                booking.family_id,
                now,
                child.id,
                child.first_name,
                prestation.id,
                prestation.name,
                promotion.day,
            )
        )
    return saved, events


def _span(days: Iterable[dt.date], margin: int = 7) -> DateRange:
    ordered = sorted(days)
    return DateRange(ordered[0] - dt.timedelta(days=margin), ordered[-1] + dt.timedelta(days=margin))


def _basket(lines: Sequence[BasketLine]) -> tuple[BasketLine, ...]:
    if not lines:
        raise InvalidInput("an empty basket", message_fr="Le panier est vide.", code="basket.empty")
    return tuple(lines)


def _extra(code: str, module: str, name: str) -> Callable[..., bytes]:
    """A file-making function of an interop module that needs an optional extra, or ``InvalidInput``
    (``<code>.unavailable``) when the extra is not installed here."""
    try:
        loaded = importlib.import_module(f"espacefamille.interop.{module}")
    except (ImportError, OSError):
        raise InvalidInput(
            f"espacefamille.interop.{module} needs an optional extra that is not installed",
            message_fr="Ce document n'est pas disponible ici.",
            code=f"{code}.unavailable",
        ) from None
    function: Callable[..., bytes] = getattr(loaded, name)
    return function


def _email(family: Family) -> str | None:
    if family.payer.email:
        return family.payer.email
    return next((g.email for g in family.guardians if g.email), None)


def _reference(source: Callable[[int], bytes]) -> str:
    # PayFiP wants 6 to 30 letters or digits, and one reference per payment.
    return "EF" + source(10).hex().upper()


def _regie_of(commune: Commune, prestation_id: str) -> str:
    return commune.service(commune.prestation(prestation_id).service_id).regie_id


_stamp = Hold.stamp_of


def hold_id(regie_id: str, held_at: dt.datetime, days: Sequence[dt.date]) -> str:
    """What a payment at booking names instead of invoices: the régie, the basket's instant and its dates
    (``billing.payments.Hold``'s reference). The credit of a credit note used on that basket is allocated to
    the same reference."""
    return Hold(regie_id, held_at, DateRange(min(days), max(days))).reference


@attrs.frozen
class _HoldGroup:
    """Held bookings of one household at one régie from one instant: one online payment (none when the
    household's credit there covers them), and the credit that pays the rest."""

    family: Family
    children: tuple[Child, ...]
    regie_id: str
    to_pay: AmountToPay
    bookings: tuple[Booking, ...]
    credits: tuple[PrepaidCredit, ...] = ()

    @property
    def reference(self) -> str:
        return hold_id(self.regie_id, self.bookings[0].booked_at, [b.day for b in self.bookings])


class _Credits:
    """What the households of one unit of work may use of their prepaid credit: per family, the billing
    ledger (with the credit notes this call issued) and the credit left at each régie once the credit
    counted on by its other baskets still being paid is held back."""

    def __init__(self, uow: UnitOfWork, commune: Commune, now: dt.datetime, hold: dt.timedelta) -> None:
        self.uow = uow
        self.commune = commune
        self.now = now
        self.hold = hold
        self.closures: Mapping[str, tuple[Closure, ...]] = uow.attendance.closures()
        self.ledgers: dict[str, BillingLedger] = {}

    def ledger(self, family_id: str) -> BillingLedger:
        if family_id not in self.ledgers:
            self.ledgers[family_id] = billing_ledger(self.uow, family_id)
        return self.ledgers[family_id]

    def issued(self, family_id: str, notes: Iterable[Invoice]) -> None:
        self.ledgers[family_id] = self.ledger(family_id).add_invoices(notes)

    def used(self, family_id: str, allocations: Iterable[Allocation]) -> None:
        ledger = self.ledger(family_id)
        replaced = {(a.source, a.invoice_number): a for a in allocations}
        kept = [a for a in ledger.allocations if (a.source, a.invoice_number) not in replaced]
        self.ledgers[family_id] = attrs.evolve(ledger, allocations=(*kept, *replaced.values()))

    def of(
        self, family: Family, children: Iterable[Child], *, excluding: Iterable[tuple[str, str]] = ()
    ) -> tuple[PrepaidCredit, ...]:
        """The household's credit at each régie, less what its pending baskets (other than ``excluding``,
        as (régie, instant stamp)) count on: a basket held and not yet expired, whose online payment asks
        less than its price, has the difference reserved from its credit until it is paid or expires."""
        ledger = self.ledger(family.id)
        credits = prepaid_credits(ledger, family.id)
        if not credits:
            return ()
        regies = {c.regie_id for c in credits}
        skipped = set(excluding)
        reserved: dict[str, Money] = {}
        for attempt in self.uow.online_payments.of_family(family.id):
            held = attempt.hold
            if held is None:
                continue
            regie_id, stamp, span = held.regie_id, held.stamp, held.days
            if regie_id not in regies or (regie_id, stamp) in skipped or attempt.settled:
                continue
            if _utc(attempt.created.created_at) + self.hold <= _utc(self.now):
                continue  # its places were held at its creation: that hold has run out
            basket = _hold_basket(self.uow, self.commune, family.id, regie_id, stamp, span)
            if not basket:
                continue
            price = amount_to_pay(
                self.commune, family, children, basket, hold=self.hold, closures=self.closures
            )
            if price.held_until is None or _utc(price.held_until) <= _utc(self.now):
                continue
            counted = price.gross - attempt.amount
            if counted > ZERO:
                reserved[regie_id] = reserved.get(regie_id, ZERO) + counted
        return prepaid_credits(ledger, family.id, reserved=reserved)


def _utc(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(dt.UTC)


def _hold_basket(
    uow: UnitOfWork, commune: Commune, family_id: str, regie_id: str, stamp: str, span: DateRange
) -> list[Booking]:
    """The household's bookings still held for the basket of ``regie_id`` held at instant ``stamp``."""
    return [
        b
        for b in uow.bookings.of_family(family_id, span)
        if b.status is BookingStatus.HELD
        and _stamp(b.booked_at) == stamp
        and _regie_of(commune, b.prestation_id) == regie_id
    ]


def _hold_groups(credits: _Credits, held: Iterable[Booking]) -> list[_HoldGroup]:
    uow, commune = credits.uow, credits.commune
    by_group: dict[tuple[str, str, dt.datetime], list[Booking]] = {}
    for booking in held:
        if booking.status is BookingStatus.HELD:
            key = (booking.family_id, _regie_of(commune, booking.prestation_id), booking.booked_at)
            by_group.setdefault(key, []).append(booking)
    groups = []
    for (family_id, regie_id, held_at), bookings in sorted(by_group.items(), key=lambda kv: kv[0][:2]):
        family = uow.families.get(family_id)
        children = uow.families.children_of(family_id)
        mine = credits.of(family, children, excluding=[(regie_id, _stamp(held_at))])
        wallet = tuple(c for c in mine if c.regie_id == regie_id)
        to_pay = amount_to_pay(
            commune, family, children, bookings, hold=credits.hold, credits=wallet, closures=credits.closures
        )
        groups.append(_HoldGroup(family, children, regie_id, to_pay, tuple(bookings), wallet))
    return groups


def _cancellation_credit_notes(
    uow: UnitOfWork, credits: _Credits, family: Family, result: BasketResult, today: dt.date
) -> tuple[Invoice, ...]:
    """Billing numbers the credit notes of the prepaid bookings a basket cancelled in time; they are saved,
    and their credit is there for the basket's prepaid lines at once."""
    commune = credits.commune
    notes, numbering = prepaid_credit_notes(
        commune, family, cancellation_credits(commune, result), uow.documents.numbering(), today
    )
    for note in notes:
        uow.documents.save_invoice(note)
    if notes:
        uow.documents.save_numbering(numbering)
        credits.issued(family.id, notes)
    return notes


def _require_emails(groups: Iterable[_HoldGroup]) -> None:
    for group in groups:
        if group.to_pay.total > ZERO and _email(group.family) is None:
            raise InvalidInput(
                f"family {group.family.id!r} has no e-mail address for the online payment",
                message_fr="Aucune adresse électronique pour le paiement en ligne : "
                "complétez votre dossier famille.",
                code="payment.no_email",
            )


def _booking_confirmed(
    commune: Commune,
    family_id: str,
    children: Iterable[Child],
    bookings: Iterable[Booking],
    now: dt.datetime,
    *,
    paid: bool,
) -> list[DomainEvent]:
    """``booking.confirmed`` per child and prestation for ``bookings``, with what was paid for them when
    ``paid``."""
    grouped: dict[tuple[str, str], list[Booking]] = {}
    for booking in bookings:
        grouped.setdefault((booking.child_id, booking.prestation_id), []).append(booking)
    names = {c.id: c.first_name for c in children}
    return [
        BookingConfirmed(
            commune.collectivite.id,
            family_id,
            now,
            child_id,
            names.get(child_id, child_id),
            prestation_id,
            commune.prestation(prestation_id).name,
            [b.day for b in items],
            Money.total(b.paid or ZERO for b in items) if paid else None,
        )
        for (child_id, prestation_id), items in sorted(grouped.items())
    ]


def _paid_confirmations(
    commune: Commune,
    family_id: str,
    children: Iterable[Child],
    confirmed: Iterable[Booking],
    now: dt.datetime,
) -> list[DomainEvent]:
    """``booking.confirmed`` per child and prestation for paid bookings, with what was paid for them."""
    return _booking_confirmed(commune, family_id, children, confirmed, now, paid=True)


def _confirmations(
    commune: Commune,
    family_id: str,
    children: Iterable[Child],
    before: Mapping[BookingKey, Booking],
    changed: Iterable[Booking],
    now: dt.datetime,
) -> list[DomainEvent]:
    """``booking.confirmed`` per child and prestation for the days newly booked (not held, not waiting)."""
    booked = [
        booking
        for booking in changed
        if booking.status is BookingStatus.BOOKED
        and (booking.key not in before or before[booking.key].status is not BookingStatus.BOOKED)
    ]
    return _booking_confirmed(commune, family_id, children, booked, now, paid=False)


@attrs.frozen
class _Priced:
    """What pricing a basket read, for validating it."""

    commune: Commune
    family: Family
    children: tuple[Child, ...]
    before: dict[BookingKey, Booking]
    restored: list[tuple[str, Promotion]]
    credits: _Credits
    preview: PricePreview


# -- results ----------------------------------------------------------------------------------------------


@attrs.frozen
class BasketOutcome:
    """A validated basket: one decision per line, the price preview, and the online payments to make.

    ``payments`` are the payments created at the gateway for the held prepaid bookings (redirect the family
    to ``payments[i].created.redirect_url``); ``to_pay`` what each one covers, the household's credit at the
    régie deducted (``credit_used``); ``credit_notes`` the credit notes issued for prepaid bookings cancelled
    within their deadline (their credit is deducted from this basket's prepaid lines at once);
    ``receipts`` the baskets the credit paid in full, confirmed at once without an online payment;
    ``promoted`` the waiting children of any family who got a freed place.
    """

    decisions: tuple[LineDecision, ...]
    preview: PricePreview
    to_pay: tuple[AmountToPay, ...]
    payments: tuple[PaymentAttempt, ...]
    credit_notes: tuple[Invoice, ...]
    promoted: tuple[Booking, ...]
    receipts: tuple[Receipt, ...] = ()

    @property
    def refused(self) -> tuple[LineDecision, ...]:
        return tuple(d for d in self.decisions if d.is_refused)

    @property
    def messages_fr(self) -> tuple[str, ...]:
        return tuple(d.message_fr for d in self.decisions) + tuple(t.message_fr for t in self.to_pay)


@attrs.frozen
class NotificationResult:
    """What a gateway notification did: the checked decision, and what was recorded because of it.

    A payment for held places that confirmed nothing (paid after the hold or a deadline, ``reason``
    ``prepaid.paid_after_hold``; or no longer matching its basket) is kept for the household as
    ``credit_note``; ``code`` is then that reason, else the decision's code.
    """

    decision: NotificationDecision
    payment: Payment | None = None
    confirmed: tuple[Booking, ...] = ()
    refund: Payment | None = None
    message_fr: str = ""
    credit_note: Invoice | None = None
    reason: str | None = None

    @property
    def code(self) -> str:
        return self.reason or self.decision.code


@attrs.frozen
class InvoiceView:
    """An invoice to pay as the portal lists it, with the payment under way for it, if any."""

    item: InvoiceToPay
    pending: PaymentAttempt | None

    @property
    def code(self) -> str:
        return "payment.under_way" if self.pending is not None else self.item.code

    @property
    def message_fr(self) -> str:
        if self.pending is not None:
            return f"Facture {self.item.number} : paiement en cours (référence {self.pending.reference})."
        return self.item.message_fr


@attrs.frozen
class PaymentView:
    """One online payment as its return page shows it: its attempt, its state now, and what it settled.

    ``recorded`` is the payment billing recorded once the gateway's notification came; ``confirmed`` the
    bookings of a basket it confirmed, ``remaining`` what remains on each invoice it paid.
    """

    attempt: PaymentAttempt
    status: PaymentStatus
    recorded: Payment | None = None
    confirmed: int = 0
    remaining: tuple[tuple[str, Money], ...] = ()

    @property
    def code(self) -> str:
        return f"payment.{self.status.value}"

    @property
    def message_fr(self) -> str:
        """« Paiement reçu (référence …) : 3 réservations confirmées. », or where the payment stands."""
        reference = self.attempt.reference
        if self.status is PaymentStatus.PAID and self.recorded is not None:
            if self.attempt.hold is not None:
                settled = (
                    f"{count_of(self.confirmed, 'réservation confirmée', 'réservations confirmées')}."
                    if self.confirmed
                    else "les places n'étaient plus retenues : le montant est gardé en avoir à la régie."
                )
            else:
                settled = " ".join(
                    f"Facture {number} soldée." if not left else f"Facture {number} : reste {left.format()}."
                    for number, left in self.remaining
                )
            return f"Paiement de {self.attempt.amount.format()} reçu (référence {reference}) : {settled}"
        if self.status is PaymentStatus.PAID:
            return f"Paiement {reference} accepté par la banque : son enregistrement est en cours."
        if self.status is PaymentStatus.PENDING:
            return f"Paiement {reference} en cours : la banque n'a pas encore répondu."
        return f"Paiement {reference} : {self.status.label_fr.lower()}, rien n'a été débité."


@attrs.frozen
class AbsenceResult:
    """A declared absence and, per booked prestation and open day, whether it is still billed and why."""

    declaration: AbsenceDeclaration
    outcomes: tuple[tuple[str, AbsenceOutcome], ...]

    @property
    def messages_fr(self) -> tuple[str, ...]:
        return tuple(outcome.message_fr for _, outcome in self.outcomes)


# -- the portal ---------------------------------------------------------------------------------------------


class ServiceBase:
    """What the portal and the back office share: the store, the clock, the accounts store, how long prepaid
    places are held, how many times a call is retried on ``ConcurrentChange``, and the random source."""

    def __init__(
        self,
        store: CommuneStore,
        *,
        clock: Clock,
        accounts: AccountStore | None = None,
        hold: dt.timedelta = DEFAULT_HOLD,
        retries: int = DEFAULT_RETRIES,
        source: Callable[[int], bytes] = secrets.token_bytes,
    ) -> None:
        self.store = store
        self.clock = clock
        self.accounts = accounts
        self.hold = hold
        self.retries = retries
        self.source = source

    def _transact(self, work: Callable[[UnitOfWork], _T]) -> _T:
        return transact(self.store, work, retries=self.retries)


@checked_calls
class FamilyPortal(ServiceBase):
    """The calls a family portal makes, on one commune's store.

    ``hold`` is how long prepaid places are held while the family pays; ``source`` gives the random bytes of
    payment references and request ids (``secrets`` by default).
    """

    def __init__(
        self,
        store: CommuneStore,
        *,
        gateway: PaymentGateway,
        clock: Clock,
        accounts: AccountStore | None = None,
        hold: dt.timedelta = DEFAULT_HOLD,
        retries: int = DEFAULT_RETRIES,
        source: Callable[[int], bytes] = secrets.token_bytes,
    ) -> None:
        super().__init__(store, clock=clock, accounts=accounts, hold=hold, retries=retries, source=source)
        self.gateway = gateway

    # -- accounts ---------------------------------------------------------------------------------------

    def link_account(self, account_id: str, token: str) -> Activated:
        """Link an account to the family record of an activation token (the link e-mailed to the family).

        Refused with ``ActivationRefused`` (an unknown, reused or expired token; nothing changes). The
        activation is saved as used first (so two accounts racing for one token cannot both get it), then the
        account with its link: should that second write fail, the same call retried finishes the link.
        """
        if self.accounts is None:
            raise InvalidInput("this portal has no account store", code="services.no_account_store")
        now = self.clock.now()
        account = self.accounts.account(account_id)  # the host application's account: NotFound otherwise
        stored: Activation | None = None
        if isinstance(token, str) and token:
            try:
                stored = self.accounts.activation(token_hash(token))
            except NotFound:
                stored = None
        activated = activate(account, stored, token, now)
        self.accounts.save_activation(activated.activation)
        self.accounts.save_account(activated.account)
        return activated

    # -- reading ----------------------------------------------------------------------------------------

    def children(self, actor: Actor, family_id: str) -> tuple[Child, ...]:
        """The household's children."""

        def work(uow: UnitOfWork) -> tuple[Child, ...]:
            require_family_access(actor, uow.commune().collectivite.id, family_id)
            return uow.families.children_of(family_id)

        return self._transact(work)

    def today(self) -> dt.date:
        """The commune's date now, in its time zone: the day a portal's calendar opens on."""
        now = self.clock.now()
        return self._transact(lambda uow: uow.commune().calendar.today(now))

    def household(self, actor: Actor, family_id: str) -> Family:
        """The household's record: its name, guardians (the payer among them) and contact details."""

        def work(uow: UnitOfWork) -> Family:
            require_family_access(actor, uow.commune().collectivite.id, family_id, invoices=True)
            return uow.families.get(family_id)

        return self._transact(work)

    def services(self, actor: Actor, family_id: str) -> tuple[tuple[Service, tuple[str, ...]], ...]:
        """The commune's services, each with the household's children enrolled in it (validated)."""

        def work(uow: UnitOfWork) -> tuple[tuple[Service, tuple[str, ...]], ...]:
            commune = uow.commune()
            require_family_access(actor, commune.collectivite.id, family_id)
            enrolled: dict[str, set[str]] = {}
            for child in uow.families.children_of(family_id):
                for enrolment in uow.families.enrolments_of(child.id):
                    if enrolment.family_id == family_id and enrolment.validated:
                        enrolled.setdefault(enrolment.service_id, set()).add(child.id)
            return tuple((s, tuple(sorted(enrolled.get(s.id, ())))) for s in commune.services)

        return self._transact(work)

    def calendar(
        self, actor: Actor, child_id: str, service_id: str, period: DateRange, *, family_id: str | None = None
    ) -> CalendarView:
        """A child's calendar for one service over ``period``, as the household sees it."""

        def work(uow: UnitOfWork) -> CalendarView:
            commune = uow.commune()
            collectivite = commune.collectivite.id
            child, household = self._household_child(uow, actor, child_id, family_id, collectivite)
            family = uow.families.get(household)
            service = commune.service(service_id)
            now = self.clock.now()
            ledgers, _ = place_ledgers(uow, commune, (p.id for p in service.prestations), period)
            invoiced = {
                (line.prestation_id, day): invoice.number
                for invoice in uow.documents.invoices_of(household)
                for line in invoice.lines
                if line.child_id == child_id
                for day in line.days
            }
            return family_calendar(
                commune,
                child,
                period,
                now=now,
                enrolments=[e for e in uow.families.enrolments_of(child_id) if e.family_id == household],
                bookings=[b for b in uow.bookings.of_family(household, period) if b.child_id == child_id],
                service_id=service_id,
                ledgers=ledgers,
                attendance=[f for f in uow.attendance.of_family(household, period) if f.child_id == child_id],
                invoiced=invoiced,
                closures=uow.attendance.closures(),
                resident=family.residence.value == "resident",
            )

        return self._transact(work)

    def period_lines(
        self,
        actor: Actor,
        family_id: str,
        child_id: str,
        prestation_id: str,
        period: DateRange,
        weekdays: Iterable[Weekday],
        *,
        action: Action = Action.BOOK,
    ) -> PeriodExpansion:
        """« Réserver sur une période »: the basket lines of ``weekdays`` between two dates for a child of
        the household, the commune's closed days left out (and listed, with why). Nothing is booked: the
        lines go to ``preview_basket`` and ``validate_basket``."""
        weekdays = tuple(weekdays)

        def work(uow: UnitOfWork) -> PeriodExpansion:
            commune = uow.commune()
            self._household_child(uow, actor, child_id, family_id, commune.collectivite.id)
            commune.prestation(prestation_id)
            closures = uow.attendance.closures()
            return period_lines(
                commune, child_id, prestation_id, period, weekdays, action=action, closures=closures
            )

        return self._transact(work)

    @classmethod
    def _household_child(
        cls, uow: UnitOfWork, actor: Actor, child_id: str, family_id: str | None, collectivite: str
    ) -> tuple[Child, str]:
        """The child and the household the actor acts through (``family_id``, or the child's first)."""
        child = cls._child(uow, actor, child_id, collectivite)
        households = require_child_access(actor, child, collectivite)
        household = family_id or households[0]
        if household not in households:
            require_family_access(actor, collectivite, household)
            raise PermissionDenied(
                f"child {child_id!r} is not in family {household!r}",
                message_fr="Cet enfant n'est pas inscrit dans votre dossier famille.",
                code="permission.other_family",
            )
        return child, household

    @staticmethod
    def _child(uow: UnitOfWork, actor: Actor, child_id: str, collectivite: str) -> Child:
        try:
            return uow.families.child(child_id)
        except NotFound:
            # Saying "unknown child" to a stranger would tell which ids exist.
            raise PermissionDenied(
                f"child {child_id!r} is not reachable by this actor",
                message_fr="Cet enfant n'est pas inscrit dans votre dossier famille.",
                code="permission.other_family",
            ) from None

    # -- the basket -------------------------------------------------------------------------------------

    def preview_basket(self, actor: Actor, family_id: str, lines: Sequence[BasketLine]) -> PricePreview:
        """The basket before « Valider »: each pending line's decision (its deadline, why it would be
        refused) and price, and the totals, exactly as ``validate_basket`` would judge them now; nothing is
        written."""
        lines = _basket(lines)
        now = self.clock.now()
        return self._transact(lambda uow: self._priced(uow, actor, family_id, lines, now).preview)

    def _priced(
        self,
        uow: UnitOfWork,
        actor: Actor,
        family_id: str,
        lines: Sequence[BasketLine],
        now: dt.datetime,
        *,
        for_booking: bool = False,
    ) -> _Priced:
        """A basket's reads and its price preview, shared by ``preview_basket`` and ``validate_basket``
        (``for_booking``: the places are read to book them, see ``place_ledgers``)."""
        commune = uow.commune()
        require_family_access(actor, commune.collectivite.id, family_id)
        family = uow.families.get(family_id)
        children = uow.families.children_of(family_id)
        strangers = sorted({line.child_id for line in lines} - {c.id for c in children})
        if strangers:
            raise PermissionDenied(
                f"children {strangers} are not in family {family_id!r}",
                message_fr="Ce panier concerne un enfant qui n'est pas dans votre dossier famille.",
                code="permission.other_family",
            )
        span = _span(line.day for line in lines)
        context = BasketContext(
            commune,
            family,
            children,
            [e for c in children for e in uow.families.enrolments_of(c.id)],
            uow.attendance.closures(),
            debts=unpaid_debts(uow, family_id, commune.calendar.today(now)),
            unpaid_exemption=uow.families.unpaid_exemption(family_id),
        )
        before = {b.key: b for b in uow.bookings.of_family(family_id, span)}
        credits = _Credits(uow, commune, now, self.hold)
        # The preview deducts the same credit the holds will: held back for no other basket at this
        # instant (the baskets of this call are the ones priced).
        wallet = credits.of(family, children, excluding=[(r.id, _stamp(now)) for r in commune.regies])
        # The places last, so that a basket holds them (for_booking) for as short a time as it can. A
        # prestation the basket only books is read as counts: a cancellation may free a place, and the
        # child it goes to is only known from the full list.
        booked = {line.prestation_id for line in lines} - {
            line.prestation_id for line in lines if line.action is Action.CANCEL
        }
        ledgers, restored = place_ledgers(
            uow,
            commune,
            {line.prestation_id for line in lines},
            span,
            for_booking=for_booking,
            counted={prestation_id: [c.id for c in children] for prestation_id in booked},
        )
        preview = price_preview(context, lines, now, bookings=before, ledgers=ledgers, credits=wallet)
        return _Priced(commune, family, children, before, restored, credits, preview)

    def validate_basket(
        self,
        actor: Actor,
        family_id: str,
        lines: Sequence[BasketLine],
        *,
        idempotency_key: str | None = None,
    ) -> BasketOutcome:
        """Validate a household's basket: rules, price preview, holds and online payment for prepaid lines.

        Month-end lines are booked at once (event ``booking.confirmed``); prepaid lines are held and an
        online payment is created for each régie; prepaid bookings cancelled in time give a credit note;
        waiting children of any household who get a freed place are told (``waiting_list.place_granted``).
        A line for a child who is not the household's is refused as a whole call (``PermissionDenied``).

        With an ``idempotency_key`` (the caller's: one per basket shown, say), the same lines validated again
        under it return the first outcome — the same payments to redirect to — and write nothing; the key
        given to other lines is refused (``input.idempotency_key_reused``). See docs/limits.md.
        """
        lines = _basket(lines)
        now = self.clock.now()
        key = None if idempotency_key is None else check_idempotency_key(idempotency_key)
        fingerprint = submission_fingerprint("basket", [repr(line) for line in lines])

        def work(uow: UnitOfWork) -> BasketOutcome:
            if key is not None:
                require_family_access(actor, uow.commune().collectivite.id, family_id)
                earlier = uow.submissions.find(family_id, key)
                if earlier is not None:
                    return replayed(earlier, "basket", fingerprint, BasketOutcome)
            priced = self._priced(uow, actor, family_id, lines, now, for_booking=True)
            commune, family, children = priced.commune, priced.family, priced.children
            before, restored, preview = priced.before, priced.restored, priced.preview
            credits = priced.credits
            today = commune.calendar.today(now)
            result = preview.result
            after = dict(result.bookings)
            promoted, events = promote(uow, commune, [*restored, *result.promotions], now, known=after)
            for booking in promoted:
                if booking.family_id == family_id:
                    after[booking.key] = booking
            changed = [b for key, b in after.items() if before.get(key) != b]
            others = [b for b in promoted if b.family_id != family_id]
            credit_notes = _cancellation_credit_notes(uow, credits, family, result, today)
            held = [b for b in (*changed, *others) if b.status is BookingStatus.HELD]
            groups = _hold_groups(credits, held)
            _require_emails(groups)
            by_credit, receipts, paid_events = self._pay_by_credit(uow, credits, groups, family_id, now)
            changed = [by_credit.get((b.key, b.family_id), b) for b in changed]
            others = [by_credit.get((b.key, b.family_id), b) for b in others]
            uow.bookings.save(changed)
            uow.bookings.save(others)
            unpaid = [b for b in changed if (b.key, b.family_id) not in by_credit]
            events.extend(paid_events)
            events.extend(_confirmations(commune, family_id, children, before, unpaid, now))
            _emit(uow, events)
            # Each hold's payment is created now and saved with the hold: if the gateway fails, nothing
            # is held; if the commit fails, the payment was never shown and expires unpaid.
            payments = [
                attempt
                for group in groups
                if group.to_pay.total
                and (attempt := self._begin_hold_payment(uow, group, now)) is not None
                and group.family.id == family_id
            ]
            outcome = BasketOutcome(
                result.decisions,
                preview,
                tuple(g.to_pay for g in groups if g.family.id == family_id),
                tuple(payments),
                tuple(credit_notes),
                tuple(by_credit.get((b.key, b.family_id), b) for b in promoted),
                tuple(receipts),
            )
            if key is not None:
                uow.submissions.save(
                    Submission(family_id, key, "basket", fingerprint, encode_result(outcome), now)
                )
            return outcome

        return self._transact(work)

    def _pay_by_credit(
        self,
        uow: UnitOfWork,
        credits: _Credits,
        groups: Iterable[_HoldGroup],
        family_id: str,
        now: dt.datetime,
    ) -> tuple[dict[tuple[BookingKey, str], Booking], list[Receipt], list[DomainEvent]]:
        """Confirm at once the baskets their household's credit pays in full: the bookings confirmed (by key
        and household), the basket household's receipts, and the ``booking.confirmed`` events."""
        commune = credits.commune
        receipts: list[Receipt] = []
        by_credit: dict[tuple[BookingKey, str], Booking] = {}
        events: list[DomainEvent] = []
        for group in groups:
            if group.to_pay.total:
                continue
            confirmed, receipt = self._confirm_by_credit(uow, credits, group, now)
            if receipt is None:
                continue
            by_credit.update(((b.key, b.family_id), b) for b in confirmed)
            events.extend(_paid_confirmations(commune, group.family.id, group.children, confirmed, now))
            if group.family.id == family_id:
                receipts.append(receipt)
        return by_credit, receipts, events

    def _confirm_by_credit(
        self, uow: UnitOfWork, credits: _Credits, group: _HoldGroup, now: dt.datetime
    ) -> tuple[list[Booking], Receipt | None]:
        """Book a held basket its credit pays in full: ``paid`` is each booking's share of the credit, and
        the credit notes' use is recorded against the basket's hold reference."""
        confirmation = confirm_payment(
            group.to_pay,
            group.bookings,
            ZERO,
            now,
            hold=self.hold,
            credits=group.credits,
            reference=group.reference,
        )
        if not confirmation.confirmed:  # held exactly at a deadline: nothing left to hold it for
            return [], None
        used = group.to_pay.credit_used.get(group.regie_id, ZERO)
        allocations = credit_allocations(
            credits.ledger(group.family.id), group.family.id, group.regie_id, group.reference, used
        )
        uow.documents.save_allocations(allocations, group.family.id)
        credits.used(group.family.id, allocations)
        keys = set(group.to_pay.keys)
        confirmed = [b for b in confirmation.bookings if b.key in keys]
        return confirmed, confirmation.receipt

    def _begin_hold_payment(
        self, uow: UnitOfWork, group: _HoldGroup, now: dt.datetime
    ) -> PaymentAttempt | None:
        email = _email(group.family)
        assert email is not None  # checked before the holds were committed
        hold = group.reference
        known = {a.payment_id: a for a in uow.online_payments.of_family(group.family.id)}
        current = payment_under_way(known.values(), group.family.id, [hold], now)
        if current is not None:
            # The same places held again at the same instant (cancelled and booked back): the payment under
            # way still pays for them if the amount is the same; otherwise the holds will simply expire.
            return current if current.amount == group.to_pay.total else None
        attempt = begin_payment(
            self.gateway,
            known,
            regie_id=group.regie_id,
            family_id=group.family.id,
            invoice_numbers=[hold],
            amount=group.to_pay.total,
            reference=_reference(self.source),
            email=email,
            now=now,
        )
        uow.online_payments.save(attempt)
        return attempt

    # -- payments -----------------------------------------------------------------------------------------

    def payment_notification(self, payload: Mapping[str, str]) -> NotificationResult:
        """The gateway calls back: check the payment's result and record it once.

        A paid basket confirms its held bookings (``booking.confirmed``, with the amount paid) and records the
        receipt; paid invoices get the payment allocated oldest first (``payment.received``). An unknown id, a
        tampered amount or reference, or a notification seen before settles nothing.
        """
        notification = self.gateway.receive_notification(payload)
        now = self.clock.now()
        attempt = self._transact(lambda uow: _attempt_or_none(uow, notification.payment_id))
        known = {} if attempt is None else {attempt.payment_id: attempt}
        decision = settle_notification(self.gateway, known, notification, now)
        if decision.outcome is NotificationOutcome.CLOSE:
            closed = decision.record(known)[decision.payment_id]
            self._transact(lambda uow: uow.online_payments.save(closed))
        if decision.outcome is not NotificationOutcome.SETTLE:
            return NotificationResult(decision, message_fr=decision.message_fr)
        assert decision.attempt is not None
        settled = decision.record(known)[decision.payment_id]
        hold = decision.attempt.hold

        def settle(uow: UnitOfWork) -> NotificationResult:
            # Read again in this transaction: the same notification delivered at once to another worker
            # may have settled it since (this call then retried on the conflict). That one said "paid";
            # this one is the duplicate, so a gateway or a host can tell them apart.
            current = _attempt_or_none(uow, decision.payment_id)
            if current is not None and current.settled:
                known_now = {current.payment_id: current}
                duplicate = settle_notification(self.gateway, known_now, notification, now)
                return NotificationResult(duplicate, message_fr=duplicate.message_fr)
            # The attempt's new state is saved with what its payment settles.
            if hold is not None:
                result = self._settle_hold(uow, decision, hold, now)
            else:
                result = self._settle_invoices(uow, decision, now)
            uow.online_payments.save(settled)
            return result

        return self._transact(settle)

    @staticmethod
    def _recorded(uow: UnitOfWork, attempt: PaymentAttempt) -> Payment | None:
        return next(
            (
                p
                for p in uow.documents.payments_of(attempt.family_id)
                if p.reference == attempt.reference and p.regie_id == attempt.regie_id and p.amount > ZERO
            ),
            None,
        )

    def _settle_hold(
        self,
        uow: UnitOfWork,
        decision: NotificationDecision,
        hold: Hold,
        now: dt.datetime,
    ) -> NotificationResult:
        attempt = decision.attempt
        assert attempt is not None
        assert decision.result is not None
        commune = uow.commune()
        if self._recorded(uow, attempt) is not None:
            return NotificationResult(
                decision, message_fr=f"Le paiement {attempt.reference} est déjà enregistré."
            )
        regie_id, stamp, span = hold.regie_id, hold.stamp, hold.days
        family = uow.families.get(attempt.family_id)
        children = uow.families.children_of(family.id)
        bookings = uow.bookings.of_family(family.id, span)
        paid_at = decision.result.answered_at or now
        payment, numbering = number_payment(
            uow.documents.numbering(),
            regie_id,
            family.id,
            attempt.amount,
            paid_at,
            PaymentMethod.ONLINE,
            attempt.reference,
            received_on=commune.calendar.today(paid_at),
        )
        uow.documents.save_payment(payment)
        credits = _Credits(uow, commune, now, self.hold)
        mine = [
            b
            for b in bookings
            if _stamp(b.booked_at) == stamp and _regie_of(commune, b.prestation_id) == regie_id
        ]
        basket = [b for b in mine if b.status is BookingStatus.HELD]
        reason, to_pay, confirmation = self._judge_hold_payment(
            credits, family, children, basket, bookings, attempt, paid_at
        )
        if confirmation is None or to_pay is None or not confirmation.confirmed:
            # Nothing is booked (the places may have gone to others): the money received becomes the
            # household's credit at the régie, for its next basket or a refund.
            days = [b.day for b in mine] or [span.start, span.end]
            note, numbering = late_payment_credit_note(
                commune, family, payment, numbering, commune.calendar.today(now), code=reason, days=days
            )
            uow.documents.save_invoice(note)
            uow.documents.save_numbering(numbering)
            issued = InvoiceIssued(
                commune.collectivite.id, family.id, now, note.regie_id, note.number, note.total, note.due_on
            )
            received = PaymentReceived(
                commune.collectivite.id, family.id, now, attempt.reference, attempt.amount
            )
            _emit(uow, [received, issued])
            text = (
                f"{note.lines[0].explanation} Il sera déduit de votre prochain paiement à la réservation, "
                "ou remboursé sur demande à la régie."
            )
            return NotificationResult(decision, payment, (), None, text, credit_note=note, reason=reason)
        uow.documents.save_numbering(numbering)
        used = to_pay.credit_used.get(regie_id, ZERO)
        if used:
            reference = attempt.invoice_numbers[0]
            allocations = credit_allocations(credits.ledger(family.id), family.id, regie_id, reference, used)
            uow.documents.save_allocations(allocations, family.id)
        keys = set(to_pay.keys)
        confirmed = [b for b in confirmation.bookings if b.family_id == family.id and b.key in keys]
        uow.bookings.save(confirmed)
        events = _paid_confirmations(commune, family.id, children, confirmed, now)
        events.append(
            PaymentReceived(commune.collectivite.id, family.id, now, attempt.reference, attempt.amount)
        )
        _emit(uow, events)
        return NotificationResult(decision, payment, tuple(confirmed), None, confirmation.message_fr)

    def _judge_hold_payment(
        self,
        credits: _Credits,
        family: Family,
        children: Sequence[Child],
        basket: Sequence[Booking],
        bookings: Iterable[Booking],
        attempt: PaymentAttempt,
        paid_at: dt.datetime,
    ) -> tuple[str, AmountToPay | None, PrepaidConfirmation | None]:
        """Whether a payment received at ``paid_at`` books its basket: the reason it does not (the places no
        longer held, the credit it was asked net of gone, the basket changed), the amount to pay, and the
        confirmation."""
        commune, closures = credits.commune, credits.closures
        if not basket:
            return "prepaid.paid_after_hold", None, None
        price = amount_to_pay(commune, family, children, basket, hold=self.hold, closures=closures)
        if price.held_until is None or _utc(paid_at) >= _utc(price.held_until):
            return "prepaid.paid_after_hold", None, None
        counted = price.gross - attempt.amount  # the credit the payment was asked net of
        if counted.is_negative:
            return "prepaid.basket_changed", None, None
        wallet: tuple[PrepaidCredit, ...] = ()
        if counted:
            regie_id = attempt.regie_id
            stamp = _stamp(basket[0].booked_at)
            left = credits.of(family, children, excluding=[(regie_id, stamp)])
            if Money.total(c.balance for c in left if c.regie_id == regie_id) < counted:
                return "prepaid.credit_unavailable", None, None
            wallet = (PrepaidCredit(family.id, regie_id, counted),)
        to_pay = amount_to_pay(
            commune, family, children, basket, hold=self.hold, credits=wallet, closures=closures
        )
        confirmation = confirm_payment(
            to_pay,
            bookings,
            attempt.amount,
            paid_at,
            hold=self.hold,
            credits=wallet,
            reference=attempt.reference,
        )
        return confirmation.code, to_pay, confirmation

    def _settle_invoices(
        self, uow: UnitOfWork, decision: NotificationDecision, now: dt.datetime
    ) -> NotificationResult:
        attempt = decision.attempt
        assert attempt is not None
        commune = uow.commune()
        order = decision.payment_order()
        ledger = billing_ledger(uow, attempt.family_id)
        today = commune.calendar.today(now)
        try:
            record = record_payment(ledger, order, today)
            payment, allocations, message = record.payment, record.allocations, record.message_fr
            if record.already_recorded:
                return NotificationResult(decision, payment, message_fr=message)
            numbering = record.ledger.numbering
        except PaymentRefused:
            # The money is received whatever happened meanwhile (a credit note applied, an invoice paid at the
            # counter): record it, allocate what still remains, and leave the rest for the régie to refund.
            record = receive_payment(ledger, order, today)
            payment, allocations, message = record.payment, record.allocations, record.message_fr
            numbering = record.ledger.numbering
        uow.documents.save_payment(payment)
        uow.documents.save_allocations(allocations, attempt.family_id)
        uow.documents.save_numbering(numbering)
        _emit(
            uow,
            [
                PaymentReceived(
                    commune.collectivite.id,
                    attempt.family_id,
                    now,
                    attempt.reference,
                    attempt.amount,
                    sorted({a.invoice_number for a in allocations}),
                )
            ],
        )
        return NotificationResult(decision, payment, message_fr=message)

    def payments_under_way(self, actor: Actor, family_id: str) -> tuple[PaymentAttempt, ...]:
        """The household's online payments still pending (shown as « Paiement en cours »)."""
        now = self.clock.now()

        def work(uow: UnitOfWork) -> tuple[PaymentAttempt, ...]:
            require_family_access(actor, uow.commune().collectivite.id, family_id, invoices=True)
            attempts = uow.online_payments.of_family(family_id)
            return tuple(a for a in attempts if a.status_at(now) is PaymentStatus.PENDING)

        return self._transact(work)

    def payment(self, actor: Actor, family_id: str, payment_id: str) -> PaymentView:
        """What became of one of the household's online payments (the gateway's return page): its state
        now, the payment recorded in billing once notified, and a sentence for the family."""
        now = self.clock.now()

        def work(uow: UnitOfWork) -> PaymentView:
            commune = uow.commune()
            require_family_access(actor, commune.collectivite.id, family_id, invoices=True)
            attempt = (
                _attempt_or_none(uow, payment_id) if isinstance(payment_id, str) and payment_id else None
            )
            if attempt is None or attempt.family_id != family_id:
                # Saying "someone else's payment" would tell which ids exist.
                raise NotFound(
                    f"no payment {payment_id!r} for family {family_id!r}",
                    message_fr="Ce paiement est inconnu.",
                    code="not_found.payment",
                )
            recorded = self._recorded(uow, attempt)
            hold = attempt.hold
            if hold is not None:
                confirmed = sum(
                    1
                    for b in uow.bookings.of_family(family_id, hold.days)
                    if b.status is BookingStatus.BOOKED
                    and _stamp(b.booked_at) == hold.stamp
                    and _regie_of(commune, b.prestation_id) == hold.regie_id
                )
                return PaymentView(attempt, attempt.status_at(now), recorded, confirmed=confirmed)
            ledger = billing_ledger(uow, family_id)
            left = tuple((n, ledger.remaining(n)) for n in attempt.invoice_numbers)
            return PaymentView(attempt, attempt.status_at(now), recorded, remaining=left)

        return self._transact(work)

    def paid_invoices(self, actor: Actor, family_id: str) -> tuple[Invoice, ...]:
        """« Factures payées »: the household's invoices nothing remains to pay on, newest first."""

        def work(uow: UnitOfWork) -> tuple[Invoice, ...]:
            require_family_access(actor, uow.commune().collectivite.id, family_id, invoices=True)
            ledger = billing_ledger(uow, family_id)
            paid = [i for i in ledger.invoices if not i.is_credit_note and not ledger.remaining(i.number)]
            return tuple(sorted(paid, key=lambda i: (i.issued_on, i.number), reverse=True))

        return self._transact(work)

    def invoice_pdf(self, actor: Actor, family_id: str, invoice_number: str) -> bytes:
        """The PDF of one of the household's invoices or credit notes, as the régie prints it (needs the
        ``pdf`` extra: ``InvalidInput`` ``pdf.unavailable`` without it). Another household's number, or an
        unknown one, is ``NotFound`` alike."""

        def work(uow: UnitOfWork) -> tuple[Commune, Family, BillingLedger]:
            commune = uow.commune()
            require_family_access(actor, commune.collectivite.id, family_id, invoices=True)
            return commune, uow.families.get(family_id), billing_ledger(uow, family_id)

        commune, family, ledger = self._transact(work)
        invoice = next((i for i in ledger.invoices if i.number == invoice_number), None)
        if invoice is None:
            raise NotFound(
                f"no invoice {invoice_number!r} for family {family_id!r}",
                message_fr="Cette facture est inconnue.",
                code="not_found.invoice",
            )
        render = _extra("pdf", "invoice_pdf", "render_invoice_pdf")
        return render(invoice, commune, family, allocations=ledger.allocations)

    def bookings_ical(
        self, actor: Actor, child_id: str, period: DateRange, *, family_id: str | None = None
    ) -> bytes:
        """The iCalendar file of a child's bookings over ``period`` (the household's: ``family_id``, or the
        child's first), for a family's own calendar application (needs ``icalendar``, of the ``cli`` and
        ``portal`` extras: ``InvalidInput`` ``ical.unavailable`` without it)."""
        bookings_ical = _extra("ical", "ical", "bookings_ical")

        def work(uow: UnitOfWork) -> bytes:
            commune = uow.commune()
            child, household = self._household_child(uow, actor, child_id, family_id, commune.collectivite.id)
            bookings = [b for b in uow.bookings.of_family(household, period) if b.child_id == child_id]
            return bookings_ical(commune, child, bookings)

        return self._transact(work)

    def tax_attestation(self, actor: Actor, family_id: str, year: int) -> TaxAttestation:
        """« Attestation fiscale »: what the household paid in ``year`` for the care of its children under six
        (the childcare tax credit; ``billing.attestations``)."""

        def work(uow: UnitOfWork) -> TaxAttestation:
            commune = uow.commune()
            require_family_access(actor, commune.collectivite.id, family_id, invoices=True)
            return family_tax_attestation(uow, commune, family_id, year)

        return self._transact(work)

    def presence_attestation(
        self, actor: Actor, family_id: str, period: DateRange, child_ids: Sequence[str] | None = None
    ) -> PresenceAttestation:
        """« Attestation de présence »: the days each child (or each of ``child_ids``) was present over
        ``period``, per prestation."""

        def work(uow: UnitOfWork) -> PresenceAttestation:
            commune = uow.commune()
            require_family_access(actor, commune.collectivite.id, family_id)
            return family_presence(uow, commune, family_id, period, child_ids)

        return self._transact(work)

    def invoices_to_pay(self, actor: Actor, family_id: str) -> tuple[InvoiceView, ...]:
        """« Factures à payer »: what remains on each open invoice, whether it can be paid online, and the
        payment under way for it, if any (so nobody pays twice)."""
        now = self.clock.now()

        def work(uow: UnitOfWork) -> tuple[tuple[InvoiceToPay, ...], tuple[PaymentAttempt, ...]]:
            commune = uow.commune()
            require_family_access(actor, commune.collectivite.id, family_id, invoices=True)
            items = invoices_to_pay(billing_ledger(uow, family_id), family_id, commune.calendar.today(now))
            return items, uow.online_payments.of_family(family_id)

        items, attempts = self._transact(work)
        return tuple(
            InvoiceView(item, payment_under_way(attempts, family_id, [item.number], now)) for item in items
        )

    def pay_invoices(self, actor: Actor, family_id: str, invoice_numbers: Sequence[str]) -> PaymentAttempt:
        """« Payer les factures sélectionnées »: one online payment of what remains on the selection.

        Refused with ``PaymentRefused`` (every reason) for an invoice of another payer, paid, past due or on
        direct debit, and with ``InvalidInput`` (``payment.under_way``) while a payment of them is pending.
        """
        numbers = tuple(invoice_numbers)
        now = self.clock.now()

        def work(uow: UnitOfWork) -> PaymentAttempt:
            commune = uow.commune()
            require_family_access(actor, commune.collectivite.id, family_id, invoices=True)
            ledger = billing_ledger(uow, family_id)
            regies = {i.regie_id for i in ledger.invoices if i.number in numbers}
            if len(regies) > 1:
                raise InvalidInput(
                    f"invoices of several régies selected: {sorted(regies)}",
                    message_fr="Ces factures relèvent de plusieurs régies : payez-les séparément.",
                    code="payment.several_regies",
                )
            regie_id = regies.pop() if regies else commune.regies[0].id
            left = Money.total(
                ledger.remaining(n)
                for n in dict.fromkeys(numbers)
                if n in {i.number for i in ledger.invoices}
            )
            order = PaymentOrder(regie_id, family_id, numbers, left if left > ZERO else Money(0), now)
            refusals = check_payment(ledger, order, commune.calendar.today(now))
            if refusals:
                raise PaymentRefused(refusals)
            email = _email(uow.families.get(family_id))
            if email is None:
                raise InvalidInput(f"family {family_id!r} has no e-mail address", code="payment.no_email")
            # In the unit of work: a payment of the same invoices begun meanwhile is a conflict, and the
            # retry then finds it under way.
            attempt = begin_payment(
                self.gateway,
                {a.payment_id: a for a in uow.online_payments.of_family(family_id)},
                regie_id=order.regie_id,
                family_id=family_id,
                invoice_numbers=order.invoice_numbers,
                amount=order.amount,
                reference=_reference(self.source),
                email=email,
                now=now,
            )
            uow.online_payments.save(attempt)
            return attempt

        return self._transact(work)

    # -- absences -----------------------------------------------------------------------------------------

    def declare_absence(
        self,
        actor: Actor,
        child_id: str,
        days: DateRange,
        reason: AbsenceReason,
        *,
        family_id: str | None = None,
        proof_received: bool = False,
    ) -> AbsenceResult:
        """Declare a child's absence (with its proof, when ``proof_received``), and say, per booked prestation
        and open day, whether the day is still billed under the service's absence rules."""
        now = self.clock.now()

        def work(uow: UnitOfWork) -> AbsenceResult:
            commune = uow.commune()
            collectivite = commune.collectivite.id
            _, household = self._household_child(uow, actor, child_id, family_id, collectivite)
            declaration = AbsenceDeclaration(child_id, days, reason, now, now if proof_received else None)
            active = [
                b for b in uow.bookings.of_family(household, days) if b.child_id == child_id and b.is_active
            ]
            # An absence declared for days already invoiced is regularised by the next month-end run.
            note_corrections(uow, commune, household, ((b.prestation_id, b.day) for b in active), now)
            uow.attendance.save_absence(declaration, household)
            closures = uow.attendance.closures()
            outcomes: list[tuple[str, AbsenceOutcome]] = []
            booked = sorted({b.prestation_id for b in active})
            for prestation_id in booked:
                service_id = commune.prestation(prestation_id).service_id
                policy = commune.absence_policies.get(service_id)
                if policy is None:
                    continue
                opening = commune.opening_calendar(prestation_id, closures.get(service_id, ()))
                for outcome in resolve_absence(declaration, policy, opening, now=now):
                    outcomes.append((prestation_id, outcome))
            return AbsenceResult(declaration, tuple(outcomes))

        return self._transact(work)

    # -- requests -----------------------------------------------------------------------------------------

    def submit_request(
        self,
        actor: Actor,
        family_id: str,
        category_id: str,
        values: Mapping[str, object],
        *,
        message: str | None = None,
        idempotency_key: str | None = None,
    ) -> Request:
        """« Formulez une demande »: a request validated against its category's form (``InvalidSubmission``
        lists every faulty field, and nothing is saved).

        With an ``idempotency_key`` (the caller's: one per form shown, say), the same form sent again under
        it returns the first request and writes nothing; the key given to another content is refused
        (``input.idempotency_key_reused``). See docs/limits.md.
        """
        now = self.clock.now()
        request_id = "REQ-" + self.source(8).hex()
        key = None if idempotency_key is None else check_idempotency_key(idempotency_key)
        content = [category_id, sorted((str(name), repr(value)) for name, value in values.items()), message]
        fingerprint = submission_fingerprint("request", content)

        def work(uow: UnitOfWork) -> Request:
            commune = uow.commune()
            require_family_access(actor, commune.collectivite.id, family_id)
            if key is not None and (earlier := uow.submissions.find(family_id, key)) is not None:
                return replayed(earlier, "request", fingerprint, Request)
            category = commune.request_categories.category(category_id)
            children = [c.id for c in uow.families.children_of(family_id)]
            request = submit_request(
                request_id, category, family_id, values, now, children=children, message=message
            )
            uow.requests.save(request)
            if key is not None:
                uow.submissions.save(
                    Submission(family_id, key, "request", fingerprint, encode_result(request), now)
                )
            return request

        return self._transact(work)

    def request_categories(self, actor: Actor, family_id: str) -> RequestCategories:
        """« Formulez une demande »: the commune's request categories, each with its form's fields."""

        def work(uow: UnitOfWork) -> RequestCategories:
            commune = uow.commune()
            require_family_access(actor, commune.collectivite.id, family_id)
            return commune.request_categories

        return self._transact(work)

    def requests(self, actor: Actor, family_id: str) -> tuple[Request, ...]:
        """The household's requests, each with its status and dated history."""

        def work(uow: UnitOfWork) -> tuple[Request, ...]:
            require_family_access(actor, uow.commune().collectivite.id, family_id)
            return uow.requests.of_family(family_id)

        return self._transact(work)
