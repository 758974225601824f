"""The storage ports: the commune store and its unit of work, and the accounts store.

One ``CommuneStore`` holds one collectivité: its configuration and everything that happens in it. All
reads and writes go through a ``UnitOfWork``, used as a context manager::

    with store.unit_of_work() as uow:
        family = uow.families.get("F1")
        uow.bookings.save(new_bookings)
        uow.outbox.add(message)
        uow.commit()

The unit of work hands out one repository per concept — ``families`` (households, children, enrolments,
waivers), ``bookings``, ``attendance`` (facts, absences, closures), ``documents`` (invoices, credit notes,
payments, allocations, numbering), ``runs`` (what month-end runs read and leave), ``mandates`` (SEPA
mandates and debit files), ``online_payments``,
``requests`` and ``outbox`` — each a small Protocol below; it keeps the commune's configuration itself
(``commune()``, ``save_commune()``) and the transaction (``commit()``, ``rollback()``).

Nothing is visible to others before ``commit()``; leaving the block without committing (or on an
exception) rolls everything back, so a basket, an invoice run or a payment is written whole or not at
all. A unit of work detects concurrent changes: every write concerning a family bumps that family's
version, and ``commit()`` raises ``ConcurrentChange`` (writing nothing) when a family the unit of work
read or wrote was changed by another unit of work since it was first read. Capacity is shared between
families, so a unit of work that writes bookings of a capacity-limited prestation also checks that no one
else wrote bookings of that prestation meanwhile (the prestation's version).

The reference implementations are ``espacefamille.adapters.memory`` and ``espacefamille.adapters.sqlite``;
``espacefamille.testing`` is the conformance kit any other implementation can run against itself.
"""

from __future__ import annotations

import datetime as dt
import itertools
import operator
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Protocol

import attrs

from espacefamille.billing.direct_debit import DebitBatch, DebitCollection
from espacefamille.billing.documents import Allocation, Invoice, Numbering, Payment
from espacefamille.billing.invoicing import CarriedBalance
from espacefamille.billing.mandates import FamilyMandate
from espacefamille.billing.online import PaymentAttempt
from espacefamille.calendar.opening import Closure
from espacefamille.calendar.periods import DateRange
from espacefamille.commune import Commune
from espacefamille.errors import ConcurrentChange, InvalidInput, NotFound
from espacefamille.families.accounts import Account, Activation
from espacefamille.families.events import OutboxMessage
from espacefamille.families.requests import Request, Submission
from espacefamille.model import BookedDays, Booking, BookingStatus, Child, Enrolment, Family, booked_days
from espacefamille.rules.attendance import AbsenceDeclaration, AttendanceFact
from espacefamille.rules.capacity import PlaceCount
from espacefamille.rules.unpaid import UnpaidExemption

__all__ = [
    "AccountStore",
    "CommuneStore",
    "FamilyRecords",
    "Mandates",
    "UnitOfWork",
    "batch_exists",
    "changed_meanwhile",
    "check_carried",
    "family_records_by_parts",
    "family_records_of",
    "with_children_named",
]


def _children(items: Iterable[Child]) -> tuple[Child, ...]:
    return tuple(items)


def _facts(items: Iterable[AttendanceFact]) -> tuple[AttendanceFact, ...]:
    return tuple(items)


def _absences(items: Iterable[AbsenceDeclaration]) -> tuple[AbsenceDeclaration, ...]:
    return tuple(items)


def _invoices(items: Iterable[Invoice]) -> tuple[Invoice, ...]:
    return tuple(items)


@attrs.frozen
class FamilyRecords:
    """One household as month-end billing reads it for a period: its children, the bookings of the period
    (as runs of days, ``Booking`` values given are grouped so), its attendance facts of the period, its
    absence declarations and every invoice or credit note issued to it."""

    family: Family
    children: tuple[Child, ...] = attrs.field(converter=_children)
    bookings: tuple[BookedDays, ...] = attrs.field(converter=booked_days)  # runs of days, as FamilyMonth
    attendance: tuple[AttendanceFact, ...] = attrs.field(converter=_facts)
    absences: tuple[AbsenceDeclaration, ...] = attrs.field(converter=_absences)
    invoices: tuple[Invoice, ...] = attrs.field(converter=_invoices)


def with_children_named(
    uow: UnitOfWork,
    children: Iterable[Child],
    bookings: Iterable[Booking | BookedDays],
    attendance: Iterable[AttendanceFact],
) -> tuple[Child, ...]:
    """A household's ``children`` and the children its ``bookings`` and ``attendance`` name who are no
    longer among them (a child who moved to another household: the days the first one booked are still
    its to pay), ordered by id. A child the store does not know is left out (billing names it,
    ``billing.unknown_child``)."""
    given = {child.id: child for child in children}
    left = {item.child_id for item in itertools.chain(bookings, attendance)} - given.keys()
    if not left:
        return tuple(given.values())
    for child_id in left:
        try:
            given[child_id] = uow.families.child(child_id)
        except NotFound:
            continue
    return tuple(sorted(given.values(), key=operator.attrgetter("id")))


def family_records_by_parts(
    uow: UnitOfWork, period: DateRange, after: str | None = None, documents_from: dt.date | None = None
) -> Iterator[FamilyRecords]:
    """``UnitOfWork.runs.family_records`` made of a unit of work's per-family reads, for a store that has no
    faster way (the SQLite store reads a few hundred families per query). It lists the families with
    ``families.all()``: a store whose ``families.all()`` counts every family as read should rather give
    ``family_records_of`` the families after ``after`` one at a time, as the memory store does, so that a
    run's batch does not conflict with families it does not bill."""
    families = (family for family in uow.families.all() if after is None or family.id > after)
    return family_records_of(uow, families, period, documents_from)


def family_records_of(
    uow: UnitOfWork, families: Iterable[Family], period: DateRange, documents_from: dt.date | None = None
) -> Iterator[FamilyRecords]:
    """The records of ``families``, read one family at a time as they come (see
    ``MonthEndRuns.family_records``)."""
    for family in families:
        family_id = family.id
        bookings = uow.bookings.of_family(family_id, period)
        attendance = uow.attendance.of_family(family_id, period)
        yield FamilyRecords(
            family,
            with_children_named(uow, uow.families.children_of(family_id), bookings, attendance),
            bookings,
            attendance,
            uow.attendance.absences_of(family_id),
            [
                document
                for document in uow.documents.invoices_of(family_id)
                if documents_from is None or document.period.end >= documents_from or document.is_credit_note
            ],
        )


class Families(Protocol):
    """The households: families, their children and enrolments, and the agent's waiver of the unpaid-invoice
    block."""

    def get(self, family_id: str) -> Family: ...

    def all(self) -> Iterator[Family]:
        """Every family, ordered by id — streamed, so month-end billing need not hold the city in memory."""
        ...

    def save(self, family: Family) -> None: ...

    def child(self, child_id: str) -> Child: ...

    def children_of(self, family_id: str) -> tuple[Child, ...]:
        """The children of a household (a child of separated parents is listed by both)."""
        ...

    def save_child(self, child: Child) -> None: ...

    def enrolments_of(self, child_id: str) -> tuple[Enrolment, ...]: ...

    def save_enrolment(self, enrolment: Enrolment) -> None: ...

    def unpaid_exemption(self, family_id: str) -> UnpaidExemption | None:
        """The agent's waiver of the unpaid-invoice block recorded for the household, or ``None``
        (whether or not it still covers today: ``UnpaidExemption.covers`` says so)."""
        ...

    def save_unpaid_exemption(self, family_id: str, exemption: UnpaidExemption | None) -> None:
        """Record the household's waiver, replacing the one it had; ``None`` removes it. A family write."""
        ...


class Bookings(Protocol):
    """Bookings, by household, by child and by prestation (a prestation's bookings are its places)."""

    def of_family(self, family_id: str, period: DateRange) -> tuple[Booking, ...]:
        """The household's bookings (any status, cancelled included) on the days of ``period``."""
        ...

    def of_child(
        self, child_id: str, period: DateRange, *, prestation_id: str | None = None
    ) -> tuple[Booking, ...]:
        """The child's bookings (any status, cancelled included) on the days of ``period``, of
        ``prestation_id`` only when given, whichever household made them — a household the child has left
        since included —, by prestation then day (one at most per prestation and day). The households of
        the bookings found count as read: whose day it is decides where a fact of the child is filed."""
        ...

    def of_prestation(
        self, prestation_id: str, period: DateRange, *, for_booking: bool = False
    ) -> tuple[Booking, ...]:
        """Every household's bookings of a prestation on the days of ``period`` (to rebuild its places).

        ``for_booking``: the unit of work means to book places of those days (a basket). If the
        prestation has a limit of places, a store may then make the other units of work reading them for
        booking wait until this one ends, instead of letting the second to commit fail with
        ``ConcurrentChange``: during a booking rush the families queue for the places instead of retrying.
        """
        ...

    def places_of(
        self, prestation_id: str, period: DateRange, child_ids: Iterable[str], *, for_booking: bool = False
    ) -> tuple[tuple[PlaceCount, ...], tuple[Booking, ...]]:
        """A prestation's places on the days of ``period`` as counts, and the bookings of ``child_ids``.

        One ``PlaceCount`` per day someone holds a place or waits, in day order (its group None): the
        children holding a place (booked or held), those waiting and the last one's request instant,
        cancelled bookings left out; and the bookings of those children (any status) of the prestation in
        ``period``. What ``of_prestation`` would give, counted by the store, so that the read does not grow
        with the waiting list (``PlaceLedger.counted``); ``for_booking`` as there.
        """
        ...

    def save(self, bookings: Iterable[Booking]) -> None: ...


def child_ids_of(child_ids: Iterable[str]) -> tuple[str, ...]:
    """The child ids ``Bookings.places_of`` was given, checked and sorted."""
    if isinstance(child_ids, str):
        raise InvalidInput(f"expected child ids, got the string {child_ids!r}", code="input.invalid")
    found = tuple(child_ids)
    if not all(isinstance(child_id, str) for child_id in found):
        raise InvalidInput(f"child ids are strings, got {found!r}", code="input.invalid")
    return tuple(sorted(set(found)))


def place_counts(bookings: Iterable[Booking]) -> tuple[PlaceCount, ...]:
    """The ``PlaceCount`` of each day of a prestation's ``bookings`` (what ``Bookings.places_of`` gives)."""
    days: dict[dt.date, tuple[int, int, dt.datetime | None]] = {}
    for booking in bookings:
        if booking.status is BookingStatus.CANCELLED:
            continue
        holding, waiting, last = days.get(booking.day, (0, 0, None))
        if booking.is_active:
            holding += 1
        else:
            waiting += 1
            last = booking.booked_at if last is None else max(last, booking.booked_at)
        days[booking.day] = (holding, waiting, last)
    return tuple(PlaceCount(day, *days[day]) for day in sorted(days))


class Attendance(Protocol):
    """What happened on the days: attendance facts, absence declarations, and the closures agents declared."""

    def of_family(self, family_id: str, period: DateRange) -> tuple[AttendanceFact, ...]:
        """The facts recorded for the household's children (through their bookings' family) in ``period``."""
        ...

    def save(self, facts: Iterable[AttendanceFact], family_id: str) -> None: ...

    def reasons_recorded(self, prestation_ids: Iterable[str], periods: Iterable[DateRange]) -> frozenset[str]:
        """The commune's own reasons (``AttendanceFact.reason``) recorded on facts of these prestations on
        the days of ``periods``, whichever household: what a month-end pre-flight proves its price lists
        still define (``billing.preflight.priceable_month``). One read of the distinct reasons, no fact
        returned; no household counts as read by it."""
        ...

    def absences_of(self, family_id: str) -> tuple[AbsenceDeclaration, ...]: ...

    def save_absence(self, declaration: AbsenceDeclaration, family_id: str) -> None: ...

    def closures(self) -> Mapping[str, tuple[Closure, ...]]:
        """Closures declared by agents since configuration, by service id."""
        ...

    def add_closure(self, service_id: str, closure: Closure) -> None: ...


class Documents(Protocol):
    """Billing documents: invoices and credit notes, payments received, their allocations, the numbering."""

    def invoices_of(self, family_id: str) -> tuple[Invoice, ...]: ...

    def invoices_of_families(self, family_ids: Iterable[str]) -> Mapping[str, tuple[Invoice, ...]]:
        """``invoices_of`` for each of ``family_ids`` at once (every one a key, () for none): a month-end
        batch reads so the whole history of the households it needs it of. A store overrides it with one
        read."""
        return {family_id: self.invoices_of(family_id) for family_id in dict.fromkeys(family_ids)}

    def invoice(self, number: str) -> Invoice: ...

    def save_invoice(self, invoice: Invoice) -> None:
        """Record an issued invoice; an invoice already recorded under the same number is never changed
        (``InvalidInput`` if the content differs)."""
        ...

    def payments_of(self, family_id: str) -> tuple[Payment, ...]: ...

    def save_payment(self, payment: Payment) -> None: ...

    def allocations_of(self, family_id: str) -> tuple[Allocation, ...]: ...

    def save_allocations(self, allocations: Iterable[Allocation], family_id: str) -> None: ...

    def numbering(self) -> Numbering: ...

    def save_numbering(self, numbering: Numbering) -> None: ...


class Mandates(Protocol):
    """SEPA direct debit: the payers' mandates, the debit files built and the invoices they collect."""

    def get(self, rum: str) -> FamilyMandate:
        """The mandate whose RUM is ``rum`` (``NotFound`` otherwise)."""
        ...

    def of_family(self, family_id: str) -> tuple[FamilyMandate, ...]:
        """The household's mandates, revoked ones included, ordered by RUM."""
        ...

    def of_regie(self, regie_id: str) -> tuple[FamilyMandate, ...]:
        """Every mandate with the régie, revoked ones included, ordered by family id then RUM. Not a read
        of the families: a debit file reads each household it collects from (``of_family``)."""
        ...

    def save(self, mandate: FamilyMandate) -> None:
        """Record a mandate, or its new state (next sequence, last collection, revocation), by its RUM: a
        write of its family."""
        ...

    def batch(self, batch_id: str) -> DebitBatch:
        """The debit file recorded under ``batch_id`` with its collections (``NotFound`` otherwise)."""
        ...

    def batches_of(self, regie_id: str) -> tuple[DebitBatch, ...]:
        """The régie's debit files, by collection date then id. A unit of work that saves a batch after
        reading them conflicts with any other that saved one of the régie meanwhile."""
        ...

    def collections_of(self, family_id: str) -> tuple[DebitCollection, ...]:
        """Every invoice of the household a debit file collected, by batch id then invoice number."""
        ...

    def save_batch(self, batch: DebitBatch) -> None:
        """Record a debit file and its collections (``InvalidInput``, ``store.batch_exists``, if its id is
        recorded already)."""
        ...

    def save_collection(self, collection: DebitCollection) -> None:
        """Record a collection's new state (its reject) in its batch: a write of its family."""
        ...


class MonthEndRuns(Protocol):
    """What month-end runs read and leave: each family's records, the balances carried, how far a régie
    billed, the days changed since."""

    def family_records(
        self,
        period: DateRange,
        after: str | None = None,
        documents_from: dt.date | None = None,
        *,
        batch: int | None = None,
    ) -> Iterator[FamilyRecords]:
        """Every family (whose id comes after ``after``, when given), ordered by id, with what month-end
        billing reads of it for ``period``: exactly what ``families.children_of`` (with the children who
        left the household that its bookings and attendance of the period name: ``with_children_named``),
        ``bookings.of_family``,
        ``attendance.of_family``, ``attendance.absences_of`` and ``documents.invoices_of`` return — of the
        documents, given ``documents_from``, only the credit notes and those whose period ends on or after
        that day, so that a run does not read a family's whole history — and read as they would be (the
        families count as read by this unit of work). Streamed: memory does not grow with the city, and a
        run billing a batch of families stops reading after its last one. ``batch``, when given, is how
        many families the caller reads before it stops (a month-end run's batch): a store may read that many
        at a time, and the next ones ahead for the caller's next unit of work (the PostgreSQL store does);
        the records are the same whatever it is. A store with nothing faster to offer returns
        ``family_records_by_parts(self, period, after, documents_from)``."""
        ...

    def carried(self, regie_id: str, before: dt.date | None = None) -> Mapping[str, CarriedBalance]:
        """The balances below the recovery threshold a run of the régie starts from, by family id.

        For each family, the balance recorded by the régie's run of the latest period starting before
        ``before`` (of any period when ``None``); a family whose latest run carried nothing is absent.
        A rerun of a month thus starts from what the month started from, not from what it carried.
        """
        ...

    def save_carried(
        self, regie_id: str, period: DateRange, balances: Mapping[str, CarriedBalance | None]
    ) -> None:
        """Record, for the families named, what the régie's run of ``period`` left carried (``None``:
        nothing); it replaces what was recorded for the same régie, family and first day of period."""
        ...

    def billed_through(self, regie_id: str) -> dt.date | None:
        """The last day of the latest period a month-end run of the régie billed (``None``: never run).
        A change to a day up to it is a correction, to be regularised by the next run."""
        ...

    def save_billed_through(self, regie_id: str, day: dt.date) -> None:
        """Record that a run of the régie billed up to ``day`` (it replaces what was recorded)."""
        ...

    def changed_days(self, regie_id: str) -> Mapping[str, tuple[dt.date, ...]]:
        """Days already billed whose facts changed since, awaiting the régie's next run: by family id
        (families in order), days increasing, each once. Not a read of the families (a run reads each
        family's records as it bills it): a family changed meanwhile does not make this unit of work
        conflict."""
        ...

    def mark_changed(self, regie_id: str, family_id: str, days: Iterable[dt.date]) -> None:
        """Remember that the facts of the household's ``days`` changed after the régie billed them (a
        family write; marking a day twice is harmless)."""
        ...

    def clear_changed(self, regie_id: str, family_id: str, days: Iterable[dt.date]) -> None:
        """Forget these changed days of the household: a run billed them (a family write). A day marked
        again meanwhile is forgotten too; one marked for the first time meanwhile waits for the next run."""
        ...


class OnlinePayments(Protocol):
    """The portal's record of each online payment, in the same transaction as the hold or invoices it pays."""

    def get(self, payment_id: str) -> PaymentAttempt:
        """The portal's record of the online payment ``payment_id`` (``NotFound`` if none)."""
        ...

    def of_family(self, family_id: str) -> tuple[PaymentAttempt, ...]:
        """The household's online payments, any state, ordered by payment id."""
        ...

    def save(self, attempt: PaymentAttempt) -> None:
        """Record an online payment, or its new state, by its payment id — in the same transaction as the
        hold or invoices it pays."""
        ...


class Requests(Protocol):
    """The requests families file and their history."""

    def of_family(self, family_id: str) -> tuple[Request, ...]: ...

    def save(self, request: Request) -> None: ...


class Submissions(Protocol):
    """What households submitted under an idempotency key (``Submission``), kept in the unit of work of
    what the submission wrote, so that one is never recorded without the other."""

    def find(self, family_id: str, key: str) -> Submission | None:
        """The household's submission under ``key``, or None: a read of the family, so that two units of
        work submitting under one key conflict."""
        ...

    def save(self, submission: Submission) -> None:
        """Record a submission, a write of its family (recorded once: a key is never given new content)."""
        ...


class Outbox(Protocol):
    """Notifications queued in the same transaction as the change they announce."""

    def add(self, message: OutboxMessage) -> None:
        """Queue a notification in the same transaction as the change it announces."""
        ...

    def all(self) -> tuple[OutboxMessage, ...]:
        """Every queued message (sent or not), oldest first."""
        ...

    def save(self, message: OutboxMessage) -> None:
        """Record a message's new state (sent, failed attempt) by its id."""
        ...


class UnitOfWork(Protocol):
    """One all-or-nothing set of reads and writes on a commune store (see the module docstring).

    Lookups of a missing identifier raise ``NotFound``; ``save_*`` methods insert or replace by
    identifier (a booking's identifier is its child, prestation and date), so saving twice is harmless.
    Listing methods return values in a stable order (by identifier, then date).
    """

    @property
    def families(self) -> Families: ...

    @property
    def bookings(self) -> Bookings: ...

    @property
    def attendance(self) -> Attendance: ...

    @property
    def documents(self) -> Documents: ...

    @property
    def runs(self) -> MonthEndRuns: ...

    @property
    def mandates(self) -> Mandates: ...

    @property
    def online_payments(self) -> OnlinePayments: ...

    @property
    def requests(self) -> Requests: ...

    @property
    def submissions(self) -> Submissions: ...

    @property
    def outbox(self) -> Outbox: ...

    def commit(self) -> None:
        """Make every write of this unit of work visible at once; ``ConcurrentChange`` if someone else
        changed what it depends on (then nothing is written)."""
        ...

    def rollback(self) -> None:
        """Forget every write of this unit of work."""
        ...

    # -- configuration ---------------------------------------------------------------------
    def commune(self) -> Commune:
        """The collectivité's configuration (``NotFound`` before it is saved)."""
        ...

    def save_commune(self, commune: Commune) -> None: ...


def changed_meanwhile(changed: Sequence[tuple[str, str]]) -> ConcurrentChange:
    """The ``ConcurrentChange`` a store's ``commit()`` raises when what its unit of work read — ``changed``,
    as (scope, key) pairs: ``("family", "F1")``, ``("numbering", "")``… — was changed by another one."""
    return ConcurrentChange(
        "changed by another unit of work since read: "
        + ", ".join(f"{scope} {key!r}" for scope, key in changed),
        message_fr="Ces informations ont été modifiées entre-temps ; veuillez recommencer.",
        details={"changed": list(changed)},
    )


def batch_exists(batch_id: str) -> InvalidInput:
    """The refusal a store's ``mandates.save_batch`` raises for a debit file whose id is recorded already."""
    return InvalidInput(
        f"debit batch {batch_id!r} is recorded already",
        message_fr=f"Le fichier de prélèvements « {batch_id} » est déjà enregistré.",
        code="store.batch_exists",
    )


def check_carried(
    regie_id: str, balances: Mapping[str, CarriedBalance | None]
) -> dict[str, CarriedBalance | None]:
    """``balances`` as a dict, once each balance is known to be the named family's at ``regie_id``: a store
    calls it in ``runs.save_carried`` (``InvalidInput``, code ``store.carried_mismatch``, otherwise)."""
    for family_id, balance in balances.items():
        if balance is not None and (balance.family_id, balance.regie_id) != (family_id, regie_id):
            raise InvalidInput(
                f"the balance saved for family {family_id!r} at régie {regie_id!r} is family "
                f"{balance.family_id!r}'s at régie {balance.regie_id!r}",
                code="store.carried_mismatch",
            )
    return dict(balances)


class CommuneStore(Protocol):
    """A commune's storage: it hands out units of work."""

    def unit_of_work(self) -> AbstractContextManager[UnitOfWork]: ...


class AccountStore(Protocol):
    """Accounts span collectivités, so the host keeps them apart from any one commune's store."""

    def account(self, account_id: str) -> Account: ...

    def save_account(self, account: Account) -> None: ...

    def activation(self, token_hash: str) -> Activation:
        """The activation whose token hashes to ``token_hash`` (``NotFound`` otherwise)."""
        ...

    def save_activation(self, activation: Activation) -> None: ...
