"""The in-memory reference store: a commune store and an account store in plain dictionaries, thread-safe.

For tests, demos and small tools. It is also the reference the conformance kit was written against: each
unit of work keeps its writes apart (the committed tables are never touched before ``commit``), records
the version of every family it reads or writes, and publishes everything at once under one lock — or
nothing, raising ``ConcurrentChange``, when someone else changed what it depends on.

Values are frozen, so sharing them between the committed tables and a unit of work is safe: a unit of
work's "private copy" is its own table of changes, read before the committed tables.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping
from types import TracebackType
from typing import Generic, TypeVar

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
from espacefamille.model import Booking, Child, Enrolment, Family
from espacefamille.ports import FamilyRecords, check_carried, family_records_of
from espacefamille.ports.store import batch_exists, child_ids_of, place_counts
from espacefamille.rules.attendance import AbsenceDeclaration, AttendanceFact
from espacefamille.rules.capacity import PlaceCount
from espacefamille.rules.unpaid import UnpaidExemption

__all__ = ["MemoryAccountStore", "MemoryStore", "MemoryUnitOfWork"]

_K = TypeVar("_K", bound=Hashable)
_V = TypeVar("_V")

# What a version is kept for: ("family", id), ("prestation", id), ("numbering", ""), ("outbox", id),
# ("billed", régie id), ("debits", régie id).
_Key = tuple[str, str]
_BookingKey = tuple[str, str, dt.date]
_AbsenceKey = tuple[str, dt.date, dt.date]
_NUMBERING: _Key = ("numbering", "")
_SINGLE = ""  # the key of a one-row table (the commune, the numbering)


def _family(family_id: str) -> _Key:
    return ("family", family_id)


def _check_day(day: object, what: str) -> None:
    if not isinstance(day, dt.date) or isinstance(day, dt.datetime):
        raise InvalidInput(f"{what} must be a date, got {day!r}", code="input.not_a_date")


def _not_found(what: str, key: object) -> NotFound:
    return NotFound(
        f"unknown {what} {key!r}",
        message_fr=f"Introuvable : {what} « {key} ».",
        code=f"not_found.{what.replace(' ', '_')}",
    )


class _Tables:
    """Every table of a commune store; the store holds the committed ones, a unit of work its changes."""

    def __init__(self) -> None:
        self.commune: dict[str, Commune] = {}
        self.families: dict[str, Family] = {}
        self.children: dict[str, Child] = {}
        self.enrolments: dict[str, Enrolment] = {}
        self.bookings: dict[_BookingKey, Booking] = {}
        # Attendance, absences and allocations carry the household they were saved for.
        self.attendance: dict[_BookingKey, tuple[str, AttendanceFact]] = {}
        self.absences: dict[_AbsenceKey, tuple[str, AbsenceDeclaration]] = {}
        self.closures: dict[tuple[str, Closure], Closure] = {}
        self.invoices: dict[str, Invoice] = {}
        self.payments: dict[str, Payment] = {}
        self.allocations: dict[tuple[str, str], tuple[str, Allocation]] = {}
        self.numbering: dict[str, Numbering] = {}
        # (régie, family, first day of the period billed) -> what that run left carried (None: nothing).
        self.carried: dict[tuple[str, str, dt.date], CarriedBalance | None] = {}
        # family -> the agent's waiver of the unpaid-invoice block (None: removed).
        self.unpaid_exemptions: dict[str, UnpaidExemption | None] = {}
        # régie -> the last day its latest month-end run billed.
        self.billed_through: dict[str, dt.date] = {}
        # (régie, family, day) -> True while the day's change awaits the next run (False: cleared by one).
        self.changed_days: dict[tuple[str, str, dt.date], bool] = {}
        self.requests: dict[str, Request] = {}
        # (family, idempotency key) -> what the household submitted under it.
        self.submissions: dict[tuple[str, str], Submission] = {}
        self.payment_attempts: dict[str, PaymentAttempt] = {}
        self.outbox: dict[str, OutboxMessage] = {}
        self.mandates: dict[str, FamilyMandate] = {}
        self.debit_batches: dict[str, DebitBatch] = {}

    def pairs(self, other: _Tables) -> Iterator[tuple[dict[object, object], dict[object, object]]]:
        """This instance's tables side by side with ``other``'s, for a commit."""
        for name in vars(self):
            yield getattr(self, name), getattr(other, name)


class _View(Generic[_K, _V]):
    """A table as a unit of work sees it: its own changes over the committed rows."""

    def __init__(self, committed: dict[_K, _V], changes: dict[_K, _V]) -> None:
        self.committed = committed
        self.changes = changes

    def get(self, key: _K) -> _V | None:
        if key in self.changes:
            return self.changes[key]
        return self.committed.get(key)

    def values(self, keep: Callable[[_K], bool] = lambda _key: True) -> list[_V]:
        """The rows whose key ``keep`` accepts, committed order first, then rows new in the unit of work."""
        result = [self.changes.get(k, v) for k, v in self.committed.items() if keep(k)]
        result.extend(v for k, v in self.changes.items() if k not in self.committed and keep(k))
        return result


class MemoryUnitOfWork:
    """One all-or-nothing set of reads and writes on a ``MemoryStore`` (see ``espacefamille.ports``)."""

    def __init__(self, store: MemoryStore) -> None:
        self._store = store
        self.families = _MemoryFamilies(self)
        self.bookings = _MemoryBookings(self)
        self.attendance = _MemoryAttendance(self)
        self.documents = _MemoryDocuments(self)
        self.runs = _MemoryMonthEndRuns(self)
        self.mandates = _MemoryMandates(self)
        self.online_payments = _MemoryOnlinePayments(self)
        self.requests = _MemoryRequests(self)
        self.submissions = _MemorySubmissions(self)
        self.outbox = _MemoryOutbox(self)
        self._reset()

    def _reset(self) -> None:
        self._changes = _Tables()
        self._seen: dict[_Key, int] = {}
        self._written: set[_Key] = set()
        self._added: set[str] = set()

    def __enter__(self) -> MemoryUnitOfWork:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.rollback()

    # -- versions (always called with the store's lock held) --------------------------------------

    def _see(self, key: _Key) -> None:
        if key not in self._seen:
            self._seen[key] = self._store._versions.get(key, 0)

    def _touch(self, key: _Key) -> None:
        self._see(key)
        self._written.add(key)

    # -- commit and rollback ---------------------------------------------------------------------

    def commit(self) -> None:
        store = self._store
        with store._lock:
            commune = self._changes.commune.get(_SINGLE) or store._tables.commune.get(_SINGLE)
            limited = set(commune.capacities) if commune is not None else set()
            for key, version in self._seen.items():
                kind, ident = key
                # What a régie billed through decides whether a change is a correction: always checked.
                checked = kind in ("family", "billed") or (
                    key in self._written and (kind != "prestation" or ident in limited)
                )
                if checked and store._versions.get(key, 0) != version:
                    raise ConcurrentChange(
                        f"{kind} {ident!r} was changed by someone else; nothing was written",
                        message_fr="Vos données ont été modifiées entre-temps : veuillez recommencer.",
                        details={"kind": kind, "id": ident},
                    )
            self._check_documents()
            for committed, changes in store._tables.pairs(self._changes):
                committed.update(changes)
            changed = store._tables.changed_days
            for day_key in [day_key for day_key, waiting in changed.items() if not waiting]:
                del changed[day_key]
            for key in self._written:
                store._versions[key] = store._versions.get(key, 0) + 1
        self._reset()

    def _check_documents(self) -> None:
        """Someone else may have issued the same invoice number or queued the same message meanwhile."""
        tables = self._store._tables
        for number, invoice in self._changes.invoices.items():
            if tables.invoices.get(number, invoice) != invoice:
                raise ConcurrentChange(
                    f"invoice {number} was issued meanwhile with other content",
                    message_fr="Ce numéro de facture a déjà été attribué : veuillez recommencer.",
                )
        for message_id in self._added:
            if message_id in tables.outbox and tables.outbox[message_id] != self._changes.outbox[message_id]:
                raise ConcurrentChange(f"outbox message {message_id!r} was queued meanwhile")

    def rollback(self) -> None:
        self._reset()

    # -- configuration ---------------------------------------------------------------------------

    def commune(self) -> Commune:
        with self._store._lock:
            commune = _View(self._store._tables.commune, self._changes.commune).get(_SINGLE)
        if commune is None:
            raise NotFound(
                "no commune configuration has been saved in this store",
                message_fr="La configuration de la collectivité n'est pas enregistrée.",
                code="not_found.commune",
            )
        return commune

    def save_commune(self, commune: Commune) -> None:
        self._changes.commune[_SINGLE] = commune


class _MemoryFamilies:
    """Families of a ``MemoryUnitOfWork`` (see ``espacefamille.ports.Families``)."""

    def __init__(self, uow: MemoryUnitOfWork) -> None:
        self._uow = uow

    def get(self, family_id: str) -> Family:
        with self._uow._store._lock:
            self._uow._see(_family(family_id))
            found = _View(self._uow._store._tables.families, self._uow._changes.families).get(family_id)
        if found is None:
            raise _not_found("family", family_id)
        return found

    def all(self) -> Iterator[Family]:
        with self._uow._store._lock:
            found = sorted(
                _View(self._uow._store._tables.families, self._uow._changes.families).values(),
                key=lambda f: f.id,
            )
            for item in found:
                self._uow._see(_family(item.id))
        return iter(found)

    def save(self, family: Family) -> None:
        with self._uow._store._lock:
            self._uow._touch(_family(family.id))
        self._uow._changes.families[family.id] = family

    def child(self, child_id: str) -> Child:
        with self._uow._store._lock:
            found = _View(self._uow._store._tables.children, self._uow._changes.children).get(child_id)
            if found is not None:
                for family_id in found.family_ids:
                    self._uow._see(_family(family_id))
        if found is None:
            raise _not_found("child", child_id)
        return found

    def children_of(self, family_id: str) -> tuple[Child, ...]:
        with self._uow._store._lock:
            self._uow._see(_family(family_id))
            found = _View(self._uow._store._tables.children, self._uow._changes.children).values()
        return tuple(sorted((c for c in found if family_id in c.family_ids), key=lambda c: c.id))

    def save_child(self, child: Child) -> None:
        with self._uow._store._lock:
            before = _View(self._uow._store._tables.children, self._uow._changes.children).get(child.id)
            for family_id in {*child.family_ids, *(before.family_ids if before else ())}:
                self._uow._touch(_family(family_id))
        self._uow._changes.children[child.id] = child

    def enrolments_of(self, child_id: str) -> tuple[Enrolment, ...]:
        with self._uow._store._lock:
            found = [
                e
                for e in _View(self._uow._store._tables.enrolments, self._uow._changes.enrolments).values()
                if e.child_id == child_id
            ]
            for enrolment in found:
                self._uow._see(_family(enrolment.family_id))
        return tuple(sorted(found, key=lambda e: e.id))

    def save_enrolment(self, enrolment: Enrolment) -> None:
        with self._uow._store._lock:
            before = _View(self._uow._store._tables.enrolments, self._uow._changes.enrolments).get(
                enrolment.id
            )
            self._uow._touch(_family(enrolment.family_id))
            if before is not None:
                self._uow._touch(_family(before.family_id))
        self._uow._changes.enrolments[enrolment.id] = enrolment

    def unpaid_exemption(self, family_id: str) -> UnpaidExemption | None:
        with self._uow._store._lock:
            self._uow._see(_family(family_id))
            return _View(
                self._uow._store._tables.unpaid_exemptions, self._uow._changes.unpaid_exemptions
            ).get(family_id)

    def save_unpaid_exemption(self, family_id: str, exemption: UnpaidExemption | None) -> None:
        with self._uow._store._lock:
            self._uow._touch(_family(family_id))
        self._uow._changes.unpaid_exemptions[family_id] = exemption


class _MemoryBookings:
    """Bookings of a ``MemoryUnitOfWork`` (see ``espacefamille.ports.Bookings``)."""

    def __init__(self, uow: MemoryUnitOfWork) -> None:
        self._uow = uow

    def of_family(self, family_id: str, period: DateRange) -> tuple[Booking, ...]:
        with self._uow._store._lock:
            self._uow._see(_family(family_id))
            found = _View(self._uow._store._tables.bookings, self._uow._changes.bookings).values(
                lambda key: key[2] in period
            )
        return tuple(sorted((b for b in found if b.family_id == family_id), key=lambda b: b.key))

    def of_child(
        self, child_id: str, period: DateRange, *, prestation_id: str | None = None
    ) -> tuple[Booking, ...]:
        with self._uow._store._lock:
            found = _View(self._uow._store._tables.bookings, self._uow._changes.bookings).values(
                lambda key: (
                    key[0] == child_id
                    and (prestation_id is None or key[1] == prestation_id)
                    and key[2] in period
                )
            )
            for family_id in {b.family_id for b in found}:
                self._uow._see(_family(family_id))
        return tuple(sorted(found, key=lambda b: b.key))

    def of_prestation(
        self, prestation_id: str, period: DateRange, *, for_booking: bool = False
    ) -> tuple[Booking, ...]:
        # for_booking changes nothing here: a conflict on the places is found at commit (the memory
        # store serves one process, where units of work seldom overlap).
        with self._uow._store._lock:
            self._uow._see(("prestation", prestation_id))
            found = _View(self._uow._store._tables.bookings, self._uow._changes.bookings).values(
                lambda key: key[1] == prestation_id and key[2] in period
            )
        return tuple(sorted(found, key=lambda b: b.key))

    def places_of(
        self, prestation_id: str, period: DateRange, child_ids: Iterable[str], *, for_booking: bool = False
    ) -> tuple[tuple[PlaceCount, ...], tuple[Booking, ...]]:
        children = set(child_ids_of(child_ids))
        found = self.of_prestation(prestation_id, period, for_booking=for_booking)
        return place_counts(found), tuple(b for b in found if b.child_id in children)

    def save(self, bookings: Iterable[Booking]) -> None:
        bookings = list(bookings)
        with self._uow._store._lock:
            view = _View(self._uow._store._tables.bookings, self._uow._changes.bookings)
            for booking in bookings:
                before = view.get(booking.key)
                self._uow._touch(_family(booking.family_id))
                if before is not None:
                    self._uow._touch(_family(before.family_id))
                self._uow._touch(("prestation", booking.prestation_id))
        for booking in bookings:
            self._uow._changes.bookings[booking.key] = booking


class _MemoryAttendance:
    """Attendance of a ``MemoryUnitOfWork`` (see ``espacefamille.ports.Attendance``)."""

    def __init__(self, uow: MemoryUnitOfWork) -> None:
        self._uow = uow

    def of_family(self, family_id: str, period: DateRange) -> tuple[AttendanceFact, ...]:
        with self._uow._store._lock:
            self._uow._see(_family(family_id))
            found = _View(self._uow._store._tables.attendance, self._uow._changes.attendance).values(
                lambda key: key[2] in period
            )
        facts = (fact for owner, fact in found if owner == family_id)
        return tuple(sorted(facts, key=lambda f: (f.child_id, f.prestation_id, f.day)))

    def save(self, facts: Iterable[AttendanceFact], family_id: str) -> None:
        facts = list(facts)
        with self._uow._store._lock:
            view = _View(self._uow._store._tables.attendance, self._uow._changes.attendance)
            self._uow._touch(_family(family_id))
            for fact in facts:
                before = view.get((fact.child_id, fact.prestation_id, fact.day))
                if before is not None:
                    self._uow._touch(_family(before[0]))
        for fact in facts:
            self._uow._changes.attendance[(fact.child_id, fact.prestation_id, fact.day)] = (family_id, fact)

    def reasons_recorded(self, prestation_ids: Iterable[str], periods: Iterable[DateRange]) -> frozenset[str]:
        prestations, spans = set(prestation_ids), list(periods)
        with self._uow._store._lock:
            found = _View(self._uow._store._tables.attendance, self._uow._changes.attendance).values(
                lambda key: key[1] in prestations and any(key[2] in span for span in spans)
            )
        return frozenset(fact.reason for _, fact in found if fact.reason is not None)

    def absences_of(self, family_id: str) -> tuple[AbsenceDeclaration, ...]:
        with self._uow._store._lock:
            self._uow._see(_family(family_id))
            found = _View(self._uow._store._tables.absences, self._uow._changes.absences).values()
        declarations = (d for owner, d in found if owner == family_id)
        return tuple(sorted(declarations, key=lambda d: (d.child_id, d.days.start, d.days.end)))

    def save_absence(self, declaration: AbsenceDeclaration, family_id: str) -> None:
        key = (declaration.child_id, declaration.days.start, declaration.days.end)
        with self._uow._store._lock:
            before = _View(self._uow._store._tables.absences, self._uow._changes.absences).get(key)
            self._uow._touch(_family(family_id))
            if before is not None:
                self._uow._touch(_family(before[0]))
        self._uow._changes.absences[key] = (family_id, declaration)

    def closures(self) -> Mapping[str, tuple[Closure, ...]]:
        with self._uow._store._lock:
            keys = [
                key for key in self._uow._store._tables.closures if key not in self._uow._changes.closures
            ]
            keys.extend(self._uow._changes.closures)
        result: dict[str, list[Closure]] = {}
        for service_id, closure in sorted(keys, key=lambda k: k[0]):
            result.setdefault(service_id, []).append(closure)
        return {
            service_id: tuple(sorted(items, key=lambda c: (c.period.start, c.period.end)))
            for service_id, items in result.items()
        }

    def add_closure(self, service_id: str, closure: Closure) -> None:
        self._uow._changes.closures[(service_id, closure)] = closure


class _MemoryDocuments:
    """Documents of a ``MemoryUnitOfWork`` (see ``espacefamille.ports.Documents``)."""

    def __init__(self, uow: MemoryUnitOfWork) -> None:
        self._uow = uow

    def invoices_of(self, family_id: str) -> tuple[Invoice, ...]:
        with self._uow._store._lock:
            self._uow._see(_family(family_id))
            found = _View(self._uow._store._tables.invoices, self._uow._changes.invoices).values()
        return tuple(sorted((i for i in found if i.family_id == family_id), key=lambda i: i.number))

    def invoice(self, number: str) -> Invoice:
        with self._uow._store._lock:
            found = _View(self._uow._store._tables.invoices, self._uow._changes.invoices).get(number)
            if found is not None:
                self._uow._see(_family(found.family_id))
        if found is None:
            raise _not_found("invoice", number)
        return found

    def save_invoice(self, invoice: Invoice) -> None:
        with self._uow._store._lock:
            issued = _View(self._uow._store._tables.invoices, self._uow._changes.invoices).get(invoice.number)
            if issued == invoice:
                return
            if issued is not None:
                raise InvalidInput(
                    f"invoice {invoice.number} is already issued with other content; issued invoices "
                    "never change (correct them on a later invoice or a credit note)",
                    message_fr=f"La facture n° {invoice.number} est déjà émise : elle ne peut plus être "
                    "modifiée.",
                    code="store.invoice_immutable",
                )
            self._uow._touch(_family(invoice.family_id))
        self._uow._changes.invoices[invoice.number] = invoice

    def payments_of(self, family_id: str) -> tuple[Payment, ...]:
        with self._uow._store._lock:
            self._uow._see(_family(family_id))
            found = _View(self._uow._store._tables.payments, self._uow._changes.payments).values()
        return tuple(sorted((p for p in found if p.family_id == family_id), key=lambda p: p.number))

    def save_payment(self, payment: Payment) -> None:
        with self._uow._store._lock:
            before = _View(self._uow._store._tables.payments, self._uow._changes.payments).get(payment.number)
            self._uow._touch(_family(payment.family_id))
            if before is not None:
                self._uow._touch(_family(before.family_id))
        self._uow._changes.payments[payment.number] = payment

    def allocations_of(self, family_id: str) -> tuple[Allocation, ...]:
        with self._uow._store._lock:
            self._uow._see(_family(family_id))
            found = _View(self._uow._store._tables.allocations, self._uow._changes.allocations).values()
        chosen = (a for owner, a in found if owner == family_id)
        return tuple(sorted(chosen, key=lambda a: (a.source, a.invoice_number)))

    def save_allocations(self, allocations: Iterable[Allocation], family_id: str) -> None:
        allocations = list(allocations)
        with self._uow._store._lock:
            view = _View(self._uow._store._tables.allocations, self._uow._changes.allocations)
            self._uow._touch(_family(family_id))
            for allocation in allocations:
                before = view.get((allocation.source, allocation.invoice_number))
                if before is not None:
                    self._uow._touch(_family(before[0]))
        for allocation in allocations:
            self._uow._changes.allocations[(allocation.source, allocation.invoice_number)] = (
                family_id,
                allocation,
            )

    def numbering(self) -> Numbering:
        with self._uow._store._lock:
            self._uow._see(_NUMBERING)
            found = _View(self._uow._store._tables.numbering, self._uow._changes.numbering).get(_SINGLE)
        return found if found is not None else Numbering()

    def save_numbering(self, numbering: Numbering) -> None:
        with self._uow._store._lock:
            self._uow._touch(_NUMBERING)
        self._uow._changes.numbering[_SINGLE] = numbering


class _MemoryMonthEndRuns:
    """MonthEndRuns of a ``MemoryUnitOfWork`` (see ``espacefamille.ports.MonthEndRuns``)."""

    def __init__(self, uow: MemoryUnitOfWork) -> None:
        self._uow = uow

    def family_records(
        self,
        period: DateRange,
        after: str | None = None,
        documents_from: dt.date | None = None,
        *,
        batch: int | None = None,
    ) -> Iterator[FamilyRecords]:
        # Each family counts as read when its records are: a run's batch stops after its last family and
        # does not conflict with the families of the batches after it (whatever ``batch`` says).
        with self._uow._store._lock:
            view = _View(self._uow._store._tables.families, self._uow._changes.families)
            ids = sorted(f.id for f in view.values() if after is None or f.id > after)
        return family_records_of(
            self._uow, (self._uow.families.get(family_id) for family_id in ids), period, documents_from
        )

    def carried(self, regie_id: str, before: dt.date | None = None) -> Mapping[str, CarriedBalance]:
        latest: dict[str, tuple[dt.date, CarriedBalance | None]] = {}
        with self._uow._store._lock:
            committed, changes = self._uow._store._tables.carried, self._uow._changes.carried
            for key in {*committed, *changes}:
                regie, family_id, start = key
                if regie != regie_id or (before is not None and start >= before):
                    continue
                if family_id not in latest or latest[family_id][0] < start:
                    latest[family_id] = (start, changes[key] if key in changes else committed[key])
            for family_id in latest:
                self._uow._see(_family(family_id))
        return {
            family_id: balance
            for family_id, (_start, balance) in sorted(latest.items())
            if balance is not None
        }

    def save_carried(
        self, regie_id: str, period: DateRange, balances: Mapping[str, CarriedBalance | None]
    ) -> None:
        balances = check_carried(regie_id, balances)
        with self._uow._store._lock:
            for family_id in balances:
                self._uow._touch(_family(family_id))
        for family_id, balance in balances.items():
            self._uow._changes.carried[(regie_id, family_id, period.start)] = balance

    def billed_through(self, regie_id: str) -> dt.date | None:
        with self._uow._store._lock:
            self._uow._see(("billed", regie_id))
            return _View(self._uow._store._tables.billed_through, self._uow._changes.billed_through).get(
                regie_id
            )

    def save_billed_through(self, regie_id: str, day: dt.date) -> None:
        _check_day(day, "billed through")
        with self._uow._store._lock:
            self._uow._touch(("billed", regie_id))
        self._uow._changes.billed_through[regie_id] = day

    def changed_days(self, regie_id: str) -> Mapping[str, tuple[dt.date, ...]]:
        found: dict[str, list[dt.date]] = {}
        with self._uow._store._lock:
            view = _View(self._uow._store._tables.changed_days, self._uow._changes.changed_days)
            keys = {*self._uow._store._tables.changed_days, *self._uow._changes.changed_days}
            for key in sorted(k for k in keys if k[0] == regie_id):
                if view.get(key):
                    found.setdefault(key[1], []).append(key[2])
        return {family_id: tuple(days) for family_id, days in found.items()}

    def mark_changed(self, regie_id: str, family_id: str, days: Iterable[dt.date]) -> None:
        days = tuple(days)
        for day in days:
            _check_day(day, "a changed day")
        with self._uow._store._lock:
            self._uow._touch(_family(family_id))
        for day in days:
            self._uow._changes.changed_days[(regie_id, family_id, day)] = True

    def clear_changed(self, regie_id: str, family_id: str, days: Iterable[dt.date]) -> None:
        days = tuple(days)
        for day in days:
            _check_day(day, "a billed day")
        with self._uow._store._lock:
            self._uow._touch(_family(family_id))
        for day in days:
            self._uow._changes.changed_days[(regie_id, family_id, day)] = False


class _MemoryMandates:
    """Mandates of a ``MemoryUnitOfWork`` (see ``espacefamille.ports.Mandates``)."""

    def __init__(self, uow: MemoryUnitOfWork) -> None:
        self._uow = uow

    def _mandates(self) -> _View[str, FamilyMandate]:
        return _View(self._uow._store._tables.mandates, self._uow._changes.mandates)

    def _batches(self) -> _View[str, DebitBatch]:
        return _View(self._uow._store._tables.debit_batches, self._uow._changes.debit_batches)

    def get(self, rum: str) -> FamilyMandate:
        with self._uow._store._lock:
            found = self._mandates().get(rum)
            if found is not None:
                self._uow._see(_family(found.family_id))
        if found is None:
            raise _not_found("mandate", rum)
        return found

    def of_family(self, family_id: str) -> tuple[FamilyMandate, ...]:
        with self._uow._store._lock:
            self._uow._see(_family(family_id))
            found = self._mandates().values()
        return tuple(sorted((m for m in found if m.family_id == family_id), key=lambda m: m.rum))

    def of_regie(self, regie_id: str) -> tuple[FamilyMandate, ...]:
        with self._uow._store._lock:
            found = self._mandates().values()
        return tuple(sorted((m for m in found if m.regie_id == regie_id), key=lambda m: (m.family_id, m.rum)))

    def save(self, mandate: FamilyMandate) -> None:
        if not isinstance(mandate, FamilyMandate):
            raise InvalidInput(f"expected a FamilyMandate, got {mandate!r}", code="input.invalid")
        with self._uow._store._lock:
            before = self._mandates().get(mandate.rum)
            self._uow._touch(_family(mandate.family_id))
            if before is not None:
                self._uow._touch(_family(before.family_id))
        self._uow._changes.mandates[mandate.rum] = mandate

    def batch(self, batch_id: str) -> DebitBatch:
        with self._uow._store._lock:
            found = self._batches().get(batch_id)
        if found is None:
            raise _not_found("debit batch", batch_id)
        return found

    def batches_of(self, regie_id: str) -> tuple[DebitBatch, ...]:
        with self._uow._store._lock:
            self._uow._see(("debits", regie_id))
            found = self._batches().values()
        return tuple(sorted((b for b in found if b.regie_id == regie_id), key=lambda b: (b.debit_date, b.id)))

    def collections_of(self, family_id: str) -> tuple[DebitCollection, ...]:
        with self._uow._store._lock:
            self._uow._see(_family(family_id))
            found = self._batches().values()
        return tuple(
            sorted(
                (c for batch in found for c in batch.collections if c.family_id == family_id),
                key=lambda c: (c.batch_id, c.invoice_number),
            )
        )

    def save_batch(self, batch: DebitBatch) -> None:
        if not isinstance(batch, DebitBatch):
            raise InvalidInput(f"expected a DebitBatch, got {batch!r}", code="input.invalid")
        with self._uow._store._lock:
            if self._batches().get(batch.id) is not None:
                raise batch_exists(batch.id)
            self._uow._touch(("debits", batch.regie_id))
            for collection in batch.collections:
                self._uow._touch(_family(collection.family_id))
        self._uow._changes.debit_batches[batch.id] = batch

    def save_collection(self, collection: DebitCollection) -> None:
        with self._uow._store._lock:
            batch = self._batches().get(collection.batch_id)
            numbers = set() if batch is None else {c.invoice_number for c in batch.collections}
            if batch is None or collection.invoice_number not in numbers:
                raise _not_found("debit collection", f"{collection.batch_id}/{collection.invoice_number}")
            self._uow._touch(_family(collection.family_id))
        kept = [c for c in batch.collections if c.invoice_number != collection.invoice_number]
        self._uow._changes.debit_batches[batch.id] = attrs.evolve(batch, collections=[*kept, collection])


class _MemoryOnlinePayments:
    """OnlinePayments of a ``MemoryUnitOfWork`` (see ``espacefamille.ports.OnlinePayments``)."""

    def __init__(self, uow: MemoryUnitOfWork) -> None:
        self._uow = uow

    def get(self, payment_id: str) -> PaymentAttempt:
        with self._uow._store._lock:
            found = _View(self._uow._store._tables.payment_attempts, self._uow._changes.payment_attempts).get(
                payment_id
            )
            if found is not None:
                self._uow._see(_family(found.family_id))
        if found is None:
            raise _not_found("payment attempt", payment_id)
        return found

    def of_family(self, family_id: str) -> tuple[PaymentAttempt, ...]:
        with self._uow._store._lock:
            self._uow._see(_family(family_id))
            found = _View(
                self._uow._store._tables.payment_attempts, self._uow._changes.payment_attempts
            ).values()
        return tuple(sorted((a for a in found if a.family_id == family_id), key=lambda a: a.payment_id))

    def save(self, attempt: PaymentAttempt) -> None:
        with self._uow._store._lock:
            view = _View(self._uow._store._tables.payment_attempts, self._uow._changes.payment_attempts)
            before = view.get(attempt.payment_id)
            self._uow._touch(_family(attempt.family_id))
            if before is not None:
                self._uow._touch(_family(before.family_id))
        self._uow._changes.payment_attempts[attempt.payment_id] = attempt


class _MemoryRequests:
    """Requests of a ``MemoryUnitOfWork`` (see ``espacefamille.ports.Requests``)."""

    def __init__(self, uow: MemoryUnitOfWork) -> None:
        self._uow = uow

    def of_family(self, family_id: str) -> tuple[Request, ...]:
        with self._uow._store._lock:
            self._uow._see(_family(family_id))
            found = _View(self._uow._store._tables.requests, self._uow._changes.requests).values()
        return tuple(sorted((r for r in found if r.family_id == family_id), key=lambda r: r.id))

    def save(self, request: Request) -> None:
        with self._uow._store._lock:
            self._uow._touch(_family(request.family_id))
        self._uow._changes.requests[request.id] = request


class _MemorySubmissions:
    """What a memory store's households submitted under a key (``espacefamille.ports.Submissions``)."""

    def __init__(self, uow: MemoryUnitOfWork) -> None:
        self._uow = uow

    def find(self, family_id: str, key: str) -> Submission | None:
        with self._uow._store._lock:
            self._uow._see(_family(family_id))
            return _View(self._uow._store._tables.submissions, self._uow._changes.submissions).get(
                (family_id, key)
            )

    def save(self, submission: Submission) -> None:
        key = (submission.family_id, submission.key)
        with self._uow._store._lock:
            self._uow._touch(_family(submission.family_id))
            if _View(self._uow._store._tables.submissions, self._uow._changes.submissions).get(key) is None:
                self._uow._changes.submissions[key] = submission


class _MemoryOutbox:
    """Outbox of a ``MemoryUnitOfWork`` (see ``espacefamille.ports.Outbox``)."""

    def __init__(self, uow: MemoryUnitOfWork) -> None:
        self._uow = uow

    def add(self, message: OutboxMessage) -> None:
        with self._uow._store._lock:
            queued = _View(self._uow._store._tables.outbox, self._uow._changes.outbox).get(message.id)
            if queued == message:
                return
            if queued is not None:
                raise InvalidInput(
                    f"outbox message {message.id!r} is already queued with other content",
                    code="store.duplicate_message",
                )
            self._uow._touch(("outbox", message.id))
        self._uow._added.add(message.id)
        self._uow._changes.outbox[message.id] = message

    def all(self) -> tuple[OutboxMessage, ...]:
        with self._uow._store._lock:
            return tuple(_View(self._uow._store._tables.outbox, self._uow._changes.outbox).values())

    def save(self, message: OutboxMessage) -> None:
        with self._uow._store._lock:
            if _View(self._uow._store._tables.outbox, self._uow._changes.outbox).get(message.id) is None:
                raise _not_found("outbox message", message.id)
            self._uow._touch(("outbox", message.id))
        self._uow._changes.outbox[message.id] = message


class MemoryStore:
    """A commune store in memory (``CommuneStore``); usable from several threads at once."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tables = _Tables()
        self._versions: dict[_Key, int] = {}

    def unit_of_work(self) -> MemoryUnitOfWork:
        return MemoryUnitOfWork(self)


class MemoryAccountStore:
    """Accounts and activations in memory (``AccountStore``), activations indexed by their token's hash."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._accounts: dict[str, Account] = {}
        self._activations: dict[str, Activation] = {}
        self._by_hash: dict[str, str] = {}

    def account(self, account_id: str) -> Account:
        with self._lock:
            found = self._accounts.get(account_id)
        if found is None:
            raise _not_found("account", account_id)
        return found

    def save_account(self, account: Account) -> None:
        with self._lock:
            self._accounts[account.id] = account

    def activation(self, token_hash: str) -> Activation:
        with self._lock:
            activation_id = self._by_hash.get(token_hash)
            found = None if activation_id is None else self._activations[activation_id]
        if found is None:
            # The hash is not repeated in the message: it is as good as the token for a lookup.
            raise NotFound(
                "no activation matches this token",
                message_fr="Ce lien d'activation n'est pas valable.",
                code="not_found.activation",
            )
        return found

    def save_activation(self, activation: Activation) -> None:
        with self._lock:
            before = self._activations.get(activation.id)
            if before is not None and before.is_used and before != activation:
                # Single use: whoever saved the use first wins, the other activation attempt fails.
                raise ConcurrentChange(
                    f"activation {activation.id!r} was already used",
                    message_fr="Ce lien d'activation a déjà servi.",
                    code="store.activation_used",
                )
            owner = self._by_hash.get(activation.token_sha256)
            if owner is not None and owner != activation.id:
                raise InvalidInput(
                    "another activation has the same token hash", code="store.duplicate_token_hash"
                )
            if before is not None:
                del self._by_hash[before.token_sha256]
            self._activations[activation.id] = activation
            self._by_hash[activation.token_sha256] = activation.id
