"""The memory store's tables, what a unit of work sees of each (its changes over the committed rows), and
the keys of the versions it keeps."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Hashable, Iterable, Iterator
from typing import Any, Generic, TypeVar

from espacefamille.billing.direct_debit import DebitBatch
from espacefamille.billing.documents import Allocation, Invoice, Numbering, Payment
from espacefamille.billing.invoicing import CarriedBalance
from espacefamille.billing.mandates import FamilyMandate
from espacefamille.billing.online import PaymentAttempt
from espacefamille.calendar.opening import Closure
from espacefamille.commune import Commune
from espacefamille.errors import NotFound
from espacefamille.families.events import OutboxMessage
from espacefamille.families.requests import Request, Submission
from espacefamille.model import Booking, Child, Enrolment, Family
from espacefamille.rules.attendance import AbsenceDeclaration, AttendanceFact
from espacefamille.rules.unpaid import UnpaidExemption

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


def _not_found(what: str, key: object) -> NotFound:
    return NotFound(
        f"unknown {what} {key!r}",
        message_fr=f"Introuvable : {what} « {key} ».",
        code=f"not_found.{what.replace(' ', '_')}",
    )


class _Tables:
    """Every table of a commune store, as committed: the store holds them, its units of work read them."""

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


class _View(Generic[_K, _V]):
    """A table as a unit of work sees it: its own changes over the committed rows, which it only reads
    (with the store's lock held) until its commit publishes the changes."""

    def __init__(self, committed: dict[_K, _V]) -> None:
        self.committed = committed
        self.changes: dict[_K, _V] = {}

    def get(self, key: _K) -> _V | None:
        if key in self.changes:
            return self.changes[key]
        return self.committed.get(key)

    def values(self, keep: Callable[[_K], bool] = lambda _key: True) -> list[_V]:
        """The rows whose key ``keep`` accepts, committed order first, then rows new in the unit of work."""
        result = [self.changes.get(k, v) for k, v in self.committed.items() if keep(k)]
        result.extend(v for k, v in self.changes.items() if k not in self.committed and keep(k))
        return result

    def __iter__(self) -> Iterator[_K]:
        """Every key: the committed rows the unit of work left alone, then those it wrote."""
        result = [key for key in self.committed if key not in self.changes]
        result.extend(self.changes)
        return iter(result)

    def put(self, key: _K, value: _V) -> None:
        """Write a row, visible to this unit of work only until it commits."""
        self.changes[key] = value


class _Views:
    """Every table of a commune store as one unit of work sees it (see ``_View``)."""

    def __init__(self, committed: _Tables) -> None:
        self.commune = _View(committed.commune)
        self.families = _View(committed.families)
        self.children = _View(committed.children)
        self.enrolments = _View(committed.enrolments)
        self.bookings = _View(committed.bookings)
        self.attendance = _View(committed.attendance)
        self.absences = _View(committed.absences)
        self.closures = _View(committed.closures)
        self.invoices = _View(committed.invoices)
        self.payments = _View(committed.payments)
        self.allocations = _View(committed.allocations)
        self.numbering = _View(committed.numbering)
        self.carried = _View(committed.carried)
        self.unpaid_exemptions = _View(committed.unpaid_exemptions)
        self.billed_through = _View(committed.billed_through)
        self.changed_days = _View(committed.changed_days)
        self.requests = _View(committed.requests)
        self.submissions = _View(committed.submissions)
        self.payment_attempts = _View(committed.payment_attempts)
        self.outbox = _View(committed.outbox)
        self.mandates = _View(committed.mandates)
        self.debit_batches = _View(committed.debit_batches)

    def all(self) -> Iterable[_View[Any, Any]]:
        views: Iterable[_View[Any, Any]] = vars(self).values()
        return views
