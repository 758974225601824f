"""The memory store's tables, what a unit of work sees of each (its changes over the committed rows), and
the keys of the versions it keeps."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Hashable, Iterable, Iterator
from typing import Any, Generic, Protocol, TypeVar

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


class _Table(dict[_K, _V]):
    """A committed table that knows the keys of each household's rows (``owners`` of a row), whatever
    writes it (a commit publishing changes, or a copy of the tables), so that a household's rows are read
    without a scan of the table."""

    def __init__(self, owners: Callable[[_V], Iterable[str]]) -> None:
        super().__init__()
        self.owners = owners
        self.by_owner: dict[str, dict[_K, None]] = {}  # an ordered set of keys per household

    def __setitem__(self, key: _K, value: _V) -> None:
        if key in self:
            self._forget(key, self[key])
        super().__setitem__(key, value)
        for owner in self.owners(value):
            self.by_owner.setdefault(owner, {})[key] = None

    def __delitem__(self, key: _K) -> None:
        self._forget(key, self[key])
        super().__delitem__(key)

    def update(self, *others: Any, **keywords: _V) -> None:  # every write goes through __setitem__
        for key, value in dict(*others, **keywords).items():
            self[key] = value

    def _forget(self, key: _K, value: _V) -> None:
        for owner in self.owners(value):
            keys = self.by_owner[owner]
            del keys[key]
            if not keys:
                del self.by_owner[owner]

    def _refused(self, *_args: object, **_keywords: object) -> Any:
        raise TypeError("a household-indexed table is written by item or by update only")

    pop = popitem = setdefault = clear = __ior__ = _refused


class _OfFamily(Protocol):
    @property
    def family_id(self) -> str: ...


def _of_family(row: _OfFamily) -> tuple[str]:
    return (row.family_id,)


def _saved_for(row: tuple[str, object]) -> tuple[str]:
    """The household a row was saved for (attendance, absences, allocations)."""
    return (row[0],)


class _Tables:
    """Every table of a commune store, as committed: the store holds them, its units of work read them."""

    def __init__(self) -> None:
        self.commune: dict[str, Commune] = {}
        self.families: dict[str, Family] = {}
        # The tables read by household (month end reads each family's rows) know each household's keys.
        self.children: _Table[str, Child] = _Table(lambda child: child.family_ids)
        self.enrolments: dict[str, Enrolment] = {}
        self.bookings: _Table[_BookingKey, Booking] = _Table(_of_family)
        # Attendance, absences and allocations carry the household they were saved for.
        self.attendance: _Table[_BookingKey, tuple[str, AttendanceFact]] = _Table(_saved_for)
        self.absences: _Table[_AbsenceKey, tuple[str, AbsenceDeclaration]] = _Table(_saved_for)
        self.closures: dict[tuple[str, Closure], Closure] = {}
        self.invoices: _Table[str, Invoice] = _Table(_of_family)
        self.payments: _Table[str, Payment] = _Table(_of_family)
        self.allocations: _Table[tuple[str, str], tuple[str, Allocation]] = _Table(_saved_for)
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
        self.mandates: _Table[str, FamilyMandate] = _Table(_of_family)
        self.debit_batches: dict[str, DebitBatch] = {}


class _View(Generic[_K, _V]):
    """A table as a unit of work sees it: its own changes over the committed rows, which it only reads
    (with the store's lock held) until its commit publishes the changes.

    Over a ``_Table`` (indexed by household), it indexes its changes too: ``of_owner`` reads a household's
    rows from both, in proportion to them rather than to the table."""

    def __init__(self, committed: dict[_K, _V]) -> None:
        self.committed = committed
        self.changes: dict[_K, _V] = {}
        self._indexed: _Table[_K, _V] | None = committed if isinstance(committed, _Table) else None
        # The keys this unit of work wrote, by the households of the rows it wrote (stale when a row is
        # written again for another household: ``of_owner`` checks each row it finds).
        self._changed_by_owner: dict[str, dict[_K, None]] = {}

    def get(self, key: _K) -> _V | None:
        if key in self.changes:
            return self.changes[key]
        return self.committed.get(key)

    def values(self, keep: Callable[[_K], bool] = lambda _key: True) -> list[_V]:
        """The rows whose key ``keep`` accepts, committed order first, then rows new in the unit of work."""
        result = [self.changes.get(k, v) for k, v in self.committed.items() if keep(k)]
        result.extend(v for k, v in self.changes.items() if k not in self.committed and keep(k))
        return result

    def of_owner(self, owner: str, keep: Callable[[_K], bool] = lambda _key: True) -> list[_V]:
        """The rows of household ``owner`` whose key ``keep`` accepts, as this unit of work sees them (those
        ``values`` gives of them, in no set order), read through the indexes of the table and changes."""
        committed = self._indexed
        if committed is None:
            raise TypeError("this table has no index by household")
        changes, owners = self.changes, committed.owners
        mine = committed.by_owner.get(owner, {})
        found = [changes[key] if key in changes else committed[key] for key in mine if keep(key)]
        if changes:
            found = [value for value in found if owner in owners(value)]  # moved to another household
            found.extend(
                changes[key]
                for key in self._changed_by_owner.get(owner, {})
                if key not in mine and keep(key) and owner in owners(changes[key])
            )
        return found

    def __iter__(self) -> Iterator[_K]:
        """Every key: the committed rows the unit of work left alone, then those it wrote."""
        result = [key for key in self.committed if key not in self.changes]
        result.extend(self.changes)
        return iter(result)

    def put(self, key: _K, value: _V) -> None:
        """Write a row, visible to this unit of work only until it commits."""
        self.changes[key] = value
        if self._indexed is not None:
            for owner in self._indexed.owners(value):
                self._changed_by_owner.setdefault(owner, {})[key] = None

    def clear(self) -> None:
        """Forget the changes (after a commit or a rollback)."""
        self.changes.clear()
        self._changed_by_owner.clear()


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
