"""The conformance kit: a pytest base class whose tests check every behaviour the storage ports promise.

A store implementation subclasses ``StoreConformance`` in its own test suite and says how to build a fresh,
empty store::

    from espacefamille.testing.conformance import StoreConformance

    class TestMyStore(StoreConformance):
        def make_store(self) -> CommuneStore:
            return MyStore(...)

        def make_account_store(self) -> AccountStore:
            return MyAccountStore(...)

pytest then runs every ``test_…`` method below on it: round trips of every value the store keeps, upserts,
ordering, ``NotFound``, commit visibility, rollback, concurrent-change detection, immutable invoices, the
outbox and online payments kept in the same transaction, and account lookups. The kit needs pytest and
hypothesis.

What the kit fixes where ``ports.py`` leaves a choice (so that every store behaves alike):

* listings are ordered by identifier, then date: bookings and attendance facts by (child, prestation, day),
  absences by (child, first day, last day), invoices and payments by number, allocations by (source,
  invoice), requests by id, closures by their first then last day; the outbox is oldest first;
* a booking and an attendance fact are identified by (child, prestation, day), an absence declaration by
  (child, days), an allocation by (source, invoice), an outbox message and a request by their id;
* ``documents.numbering()`` is an empty ``Numbering`` before one is saved; ``runs.carried()`` is empty before
  balances are saved; ``runs.save_carried`` replaces, for the families it names, what was recorded for the
  same régie and first day of period (``None`` records that nothing is carried) and keeps the others; a
  balance saved under another family or régie than its own is ``InvalidInput`` (``store.carried_mismatch``);
* payment attempts are identified by their payment id and listed per family by payment id;
* a household has at most one unpaid exemption: ``families.save_unpaid_exemption`` replaces it, ``None``
  removes it, and ``families.unpaid_exemption`` is ``None`` for a household without one (known or not);
* ``documents.save_invoice`` of a number already recorded with other content raises ``InvalidInput`` with the
  code ``store.invoice_immutable``; the same content again is a no-op;
* ``attendance.add_closure`` of a closure already declared for the service is a no-op; ``outbox.add`` of a
  message already queued with the same content is a no-op; ``outbox.save`` of an unknown id is ``NotFound``;
* two units of work that both write the invoice numbering conflict (invoice numbers stay unique);
* an activation recorded as used never changes: saving other content raises ``ConcurrentChange``
  (someone else used it first).
"""

from __future__ import annotations

import datetime as dt
import functools
import threading
import zoneinfo
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import TypeVar

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from espacefamille.billing.documents import (
    Allocation,
    DocumentKind,
    Invoice,
    InvoiceLine,
    Numbering,
    Payment,
    PaymentMethod,
    Series,
)
from espacefamille.billing.invoicing import CarriedBalance
from espacefamille.billing.online import CreatedPayment, PaymentAttempt, PaymentStatus
from espacefamille.calendar.opening import Closure, ClosureReason
from espacefamille.calendar.periods import DateRange
from espacefamille.errors import ConcurrentChange, InvalidInput, NotFound
from espacefamille.examples import example_commune
from espacefamille.families.accounts import Account, Activation, token_hash
from espacefamille.families.events import (
    InvoiceIssued,
    OutboxMessage,
    UnpaidExemptionGranted,
    UnpaidExemptionRevoked,
    mark_sent,
)
from espacefamille.families.requests import Actor, EventKind, Request, RequestEvent, RequestStatus
from espacefamille.model import BookedDays, Booking, BookingStatus, Child, Enrolment, Family, Guardian
from espacefamille.money import ZERO, Money
from espacefamille.ports import AccountStore, CommuneStore, UnitOfWork, family_records_by_parts
from espacefamille.rules.attendance import (
    AbsenceDeclaration,
    AbsenceReason,
    AttendanceFact,
    AttendanceStatus,
)
from espacefamille.rules.unpaid import UnpaidExemption
from espacefamille.testing import strategies as s

__all__ = ["StoreConformance"]

_T = TypeVar("_T")
PARIS = zoneinfo.ZoneInfo("Europe/Paris")
# The week of Armistice 2026: Wednesday 11 November is a public holiday.
MONDAY = dt.date(2026, 11, 9)
NOVEMBER = DateRange.month(2026, 11)
BOOKED_AT = dt.datetime(2026, 10, 20, 18, 30, tzinfo=PARIS)

# Several stores (memory, SQLite…) run the same @given tests in one session: hypothesis must not
# complain that different classes execute them, and a store on disk may be slower than a dict.
_ROUND_TRIPS = settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.differing_executors, HealthCheck.too_slow],
)


# -- a small commune's records ------------------------------------------------------------------


def family(family_id: str, name: str = "Martin") -> Family:
    guardian = Guardian(f"{family_id}-g1", "Camille", name, email="camille@example.fr")
    return Family(family_id, f"Foyer {name}", (guardian,), guardian.id)


def child(child_id: str, *family_ids: str) -> Child:
    return Child(child_id, "Léa", "Martin", dt.date(2018, 5, 14), family_ids)


def booking(
    child_id: str,
    family_id: str,
    day: dt.date = MONDAY,
    prestation_id: str = "repas",
    status: BookingStatus = BookingStatus.BOOKED,
) -> Booking:
    return Booking(child_id, prestation_id, day, family_id, status, BOOKED_AT)


def _save_invoice(uow: UnitOfWork, document: Invoice) -> None:
    uow.documents.save_invoice(document)


def invoice(number: str, family_id: str, cents: int = 1_234) -> Invoice:
    line = InvoiceLine(
        "C1",
        "repas",
        "Repas de novembre",
        "attendance.present",
        (MONDAY,),
        quantity=Decimal(1),
        unit_price=Money.from_cents(cents).amount,
        total=Money.from_cents(cents),
    )
    return Invoice(
        number,
        "enfance",
        family_id,
        DocumentKind.INVOICE,
        NOVEMBER,
        dt.date(2026, 12, 1),
        dt.date(2026, 12, 15),
        (line,),
    )


def payment(number: str, family_id: str, cents: int = 1_234) -> Payment:
    return Payment(
        number,
        "enfance",
        family_id,
        Money.from_cents(cents),
        dt.datetime(2026, 12, 3, 9, 15, tzinfo=PARIS),
        PaymentMethod.ONLINE,
        "PAYFIP-1",
    )


def carried(family_id: str, regie_id: str, amount: Money, *days: dt.date) -> CarriedBalance:
    """A balance below the threshold: one line of meals on ``days`` (one line a day) worth ``amount``."""
    lines = [
        InvoiceLine(
            "C1" if family_id == "F1" else "C2",
            "repas",
            "Restauration scolaire",
            "attendance.present",
            (day,),
            Decimal(1),
            Decimal("2.60"),
            amount if index == 0 else ZERO,
        )
        for index, day in enumerate(days)
    ]
    return CarriedBalance(family_id, regie_id, lines)


def attempt(payment_id: str, family_id: str) -> PaymentAttempt:
    """A PayFiP payment of 26,00 € for a December invoice, created on 4 January 2027, valid 15 minutes."""
    created_at = dt.datetime(2027, 1, 4, 9, 0, tzinfo=PARIS)
    created = CreatedPayment(
        payment_id,
        f"https://www.tipi.budget.gouv.fr/tpa/paiement.web?idop={payment_id}",
        Money("26.00"),
        f"REF-{payment_id}",
        "claire@example.fr",
        created_at,
        created_at + dt.timedelta(minutes=15),
    )
    return PaymentAttempt(created, "enfance", family_id, ["FAC-enfance-2027-000001"])


def message(message_id: str, family_id: str, number: str = "FAC-enfance-2026-000001") -> OutboxMessage:
    event = InvoiceIssued(
        "saint-aubin",
        family_id,
        dt.datetime(2026, 12, 1, 8, 0, tzinfo=PARIS),
        "enfance",
        number,
        Money("12.34"),
        dt.date(2026, 12, 15),
    )
    return OutboxMessage(message_id, event)


def submitted_request(request_id: str, family_id: str) -> Request:
    event = RequestEvent(
        dt.datetime(2026, 11, 2, 10, 0, tzinfo=PARIS),
        Actor.family(family_id),
        EventKind.SUBMITTED,
        None,
        RequestStatus.SUBMITTED,
    )
    return Request(request_id, family_id, "attestation-caf", {"du": MONDAY}, (event,))


def activation(activation_id: str, token: str) -> Activation:
    issued = dt.datetime(2026, 9, 1, 9, 0, tzinfo=PARIS)
    return Activation(
        activation_id,
        "saint-aubin",
        "F1",
        "F1-g1",
        token_hash(token),
        issued,
        issued + dt.timedelta(days=14),
        "agent-1",
    )


def _saving_family(family_id: str) -> Callable[[UnitOfWork], None]:
    return lambda uow: uow.families.save(family(family_id))


def _each(save: Callable[[UnitOfWork, _T], None], values: Iterable[_T]) -> Callable[[UnitOfWork], None]:
    """An action saving each of ``values`` with ``save``."""

    def action(uow: UnitOfWork) -> None:
        for value in values:
            save(uow, value)

    return action


class StoreConformance:
    """Every behaviour of ``CommuneStore``/``UnitOfWork`` and ``AccountStore``, as pytest tests.

    Subclass it in a class named ``Test…`` and override ``make_store`` (and ``make_account_store`` if
    the implementation has an account store); each test builds its own fresh store.
    """

    def make_store(self) -> CommuneStore:
        """A fresh, empty commune store of the implementation under test."""
        raise NotImplementedError

    def make_account_store(self) -> AccountStore:
        """A fresh, empty account store; the account tests are skipped unless this is overridden."""
        pytest.skip("this implementation has no account store")

    # -- helpers -------------------------------------------------------------------------------

    def seeded_store(self) -> CommuneStore:
        """A store holding the example commune (Saint-Aubin), families F1 and F2 and their children."""
        store = self.make_store()
        with store.unit_of_work() as uow:
            uow.save_commune(example_commune())
            uow.families.save(family("F1", "Martin"))
            uow.families.save(family("F2", "Bernard"))
            uow.families.save_child(child("C1", "F1"))
            uow.families.save_child(child("C2", "F2"))
            uow.commit()
        return store

    def write(self, store: CommuneStore, *actions: Callable[[UnitOfWork], object]) -> None:
        """Run ``actions`` in one unit of work and commit it."""
        with store.unit_of_work() as uow:
            for action in actions:
                action(uow)
            uow.commit()

    def read(self, store: CommuneStore, query: Callable[[UnitOfWork], _T]) -> _T:
        """Run ``query`` in a fresh unit of work (left without commit)."""
        with store.unit_of_work() as uow:
            return query(uow)

    def round_trip(
        self, save: Callable[[UnitOfWork], object], load: Callable[[UnitOfWork], _T]
    ) -> tuple[_T, _T]:
        """What a unit of work reads of its own write, and what a later unit of work reads once committed."""
        store = self.make_store()
        with store.unit_of_work() as uow:
            save(uow)
            own = load(uow)
            uow.commit()
        return own, self.read(store, load)

    # -- configuration -------------------------------------------------------------------------

    def test_commune_is_not_found_before_it_is_saved(self) -> None:
        with pytest.raises(NotFound):
            self.read(self.make_store(), lambda uow: uow.commune())

    def test_example_commune_reads_back_equal(self) -> None:
        commune = example_commune()
        own, later = self.round_trip(lambda uow: uow.save_commune(commune), lambda uow: uow.commune())
        assert own == commune
        assert later == commune
        assert later.capacities["journee"] == commune.capacities["journee"]
        assert later.recovery_threshold == Money("15")

    def test_saving_the_commune_again_replaces_it(self) -> None:
        store = self.seeded_store()
        changed = attrs.evolve(example_commune(), all_or_nothing_baskets=True)
        self.write(store, lambda uow: uow.save_commune(changed))
        assert self.read(store, lambda uow: uow.commune()).all_or_nothing_baskets is True

    # -- families, children, enrolments --------------------------------------------------------

    @_ROUND_TRIPS
    @given(s.families())
    def test_family_reads_back_equal(self, value: Family) -> None:
        own, later = self.round_trip(
            lambda uow: uow.families.save(value), lambda uow: uow.families.get(value.id)
        )
        assert own == value
        assert later == value
        assert later.quotients == value.quotients

    def test_unknown_identifiers_are_not_found(self) -> None:
        store = self.seeded_store()
        for query in (
            lambda uow: uow.families.get("F9"),
            lambda uow: uow.families.child("C9"),
            lambda uow: uow.documents.invoice("FAC-enfance-2026-999999"),
        ):
            with pytest.raises(NotFound):
                self.read(store, query)

    def test_saving_a_family_again_replaces_it(self) -> None:
        store = self.seeded_store()
        moved = attrs.evolve(family("F1", "Martin"), direct_debit=True, name="Foyer Martin-Durand")
        self.write(store, lambda uow: uow.families.save(moved))
        self.write(store, lambda uow: uow.families.save(moved))
        assert self.read(store, lambda uow: uow.families.get("F1")) == moved
        assert [f.id for f in self.read(store, lambda uow: list(uow.families.all()))] == ["F1", "F2"]

    def test_families_are_listed_by_id(self) -> None:
        store = self.make_store()
        self.write(store, *(_saving_family(fid) for fid in ("F3", "F10", "F1", "F2")))
        listed = self.read(store, lambda uow: [f.id for f in uow.families.all()])
        assert listed == sorted(["F3", "F10", "F1", "F2"])

    @_ROUND_TRIPS
    @given(s.children(family_ids=("F1", "F2"), child_id="C1"))
    def test_child_of_separated_parents_is_listed_by_both_households(self, value: Child) -> None:
        store = self.make_store()
        self.write(
            store,
            lambda uow: uow.families.save(family("F1")),
            lambda uow: uow.families.save(family("F2")),
            lambda uow: uow.families.save_child(value),
        )
        assert self.read(store, lambda uow: uow.families.child("C1")) == value
        assert self.read(store, lambda uow: uow.families.children_of("F1")) == (value,)
        assert self.read(store, lambda uow: uow.families.children_of("F2")) == (value,)

    def test_children_are_listed_by_id_and_follow_a_move(self) -> None:
        store = self.seeded_store()
        self.write(store, lambda uow: uow.families.save_child(child("A1", "F1")))
        assert [c.id for c in self.read(store, lambda uow: uow.families.children_of("F1"))] == ["A1", "C1"]
        self.write(store, lambda uow: uow.families.save_child(child("A1", "F2")))
        assert [c.id for c in self.read(store, lambda uow: uow.families.children_of("F1"))] == ["C1"]
        assert [c.id for c in self.read(store, lambda uow: uow.families.children_of("F2"))] == ["A1", "C2"]
        assert self.read(store, lambda uow: uow.families.children_of("F9")) == ()

    @_ROUND_TRIPS
    @given(st.lists(s.enrolments(child_id="C1", family_id="F1"), max_size=4, unique_by=lambda e: e.id))
    def test_enrolments_read_back_equal_by_id(self, values: list[Enrolment]) -> None:
        own, later = self.round_trip(
            _each(lambda uow, v: uow.families.save_enrolment(v), values),
            lambda uow: uow.families.enrolments_of("C1"),
        )
        expected = tuple(sorted(values, key=lambda e: e.id))
        assert own == expected
        assert later == expected

    def test_saving_an_enrolment_again_replaces_it(self) -> None:
        store = self.seeded_store()
        enrolment = Enrolment(
            "E1", "C1", "F1", "cantine", DateRange(dt.date(2026, 9, 1), dt.date(2027, 7, 3))
        )
        self.write(store, lambda uow: uow.families.save_enrolment(enrolment))
        ended = attrs.evolve(enrolment, period=DateRange(dt.date(2026, 9, 1), dt.date(2026, 12, 18)))
        self.write(store, lambda uow: uow.families.save_enrolment(ended))
        assert self.read(store, lambda uow: uow.families.enrolments_of("C1")) == (ended,)
        assert self.read(store, lambda uow: uow.families.enrolments_of("C2")) == ()

    # -- bookings, attendance, absences, closures ----------------------------------------------

    @_ROUND_TRIPS
    @given(st.lists(s.bookings(child_id="C1", family_id="F1"), max_size=6, unique_by=lambda b: b.key))
    def test_bookings_read_back_with_their_instants_and_amounts(self, values: list[Booking]) -> None:
        everything = DateRange(dt.date(2020, 1, 1), dt.date(2035, 12, 31))
        own, later = self.round_trip(
            lambda uow: uow.bookings.save(values), lambda uow: uow.bookings.of_family("F1", everything)
        )
        expected = tuple(sorted(values, key=lambda b: b.key))
        assert s.same_instants(own, expected)
        assert s.same_instants(later, expected)

    def test_bookings_are_filtered_by_household_and_period_and_ordered(self) -> None:
        store = self.seeded_store()
        tuesday, friday = MONDAY + dt.timedelta(days=1), MONDAY + dt.timedelta(days=4)
        self.write(
            store,
            lambda uow: uow.bookings.save(
                [
                    booking("C1", "F1", friday),
                    booking("C1", "F1", MONDAY, "matin"),
                    booking("C1", "F1", MONDAY),
                    booking("C1", "F1", dt.date(2026, 12, 1)),
                    booking("C2", "F2", tuesday),
                ]
            ),
        )
        found = self.read(store, lambda uow: uow.bookings.of_family("F1", NOVEMBER))
        assert [(b.prestation_id, b.day) for b in found] == [
            ("matin", MONDAY),
            ("repas", MONDAY),
            ("repas", friday),
        ]
        week = DateRange(MONDAY, friday)
        of_meal = self.read(store, lambda uow: uow.bookings.of_prestation("repas", week))
        assert [(b.child_id, b.day) for b in of_meal] == [("C1", MONDAY), ("C1", friday), ("C2", tuesday)]

    def test_family_records_give_each_household_its_month_as_its_own_reads_do(self) -> None:
        store = self.seeded_store()
        tuesday, friday = MONDAY + dt.timedelta(days=1), MONDAY + dt.timedelta(days=4)
        shared = child("C3", "F1", "F2")  # separated parents: listed by both households
        late = attrs.evolve(booking("C1", "F1", tuesday), surcharge_code="after_deadline.surcharge")
        absence = AbsenceDeclaration(
            "C1",
            DateRange(friday, friday),
            AbsenceReason.ILLNESS,
            dt.datetime(2026, 11, 13, 8, 0, tzinfo=PARIS),
        )
        self.write(
            store,
            lambda uow: uow.families.save_child(shared),
            lambda uow: uow.bookings.save(
                [
                    booking("C1", "F1", friday),
                    booking("C1", "F1", MONDAY),
                    late,
                    booking("C1", "F1", MONDAY, "matin", BookingStatus.CANCELLED),
                    booking("C1", "F1", dt.date(2026, 12, 1)),  # another month
                    booking("C3", "F2", MONDAY),
                ]
            ),
            lambda uow: uow.attendance.save(
                [AttendanceFact("C1", "repas", friday, AttendanceStatus.ABSENT_JUSTIFIED)], "F1"
            ),
            lambda uow: uow.attendance.save_absence(absence, "F1"),
            lambda uow: uow.documents.save_invoice(invoice("FAC-enfance-2026-000001", "F1")),
        )
        records = self.read(store, lambda uow: list(uow.runs.family_records(NOVEMBER)))
        assert records == self.read(store, lambda uow: list(family_records_by_parts(uow, NOVEMBER)))
        martin, bernard = records
        assert (martin.family.id, bernard.family.id) == ("F1", "F2")
        assert [c.id for c in martin.children] == ["C1", "C3"]
        assert [c.id for c in bernard.children] == ["C2", "C3"]
        # Runs of days per child × prestation × status × surcharge, days increasing.
        assert martin.bookings == (
            BookedDays("C1", "matin", BookingStatus.CANCELLED, (MONDAY,)),
            BookedDays("C1", "repas", BookingStatus.BOOKED, (MONDAY, friday)),
            BookedDays("C1", "repas", BookingStatus.BOOKED, (tuesday,), "after_deadline.surcharge"),
        )
        assert bernard.bookings == (BookedDays("C3", "repas", BookingStatus.BOOKED, (MONDAY,)),)
        assert [f.day for f in martin.attendance] == [friday]
        assert martin.absences == (absence,)
        assert [i.number for i in martin.invoices] == ["FAC-enfance-2026-000001"]
        assert (bernard.attendance, bernard.absences, bernard.invoices) == ((), (), ())

    def test_family_records_start_after_a_family_and_keep_the_documents_asked_for(self) -> None:
        store = self.seeded_store()
        october = invoice("FAC-enfance-2026-000001", "F1")
        october = attrs.evolve(october, period=DateRange.month(2026, 10))
        november = invoice("FAC-enfance-2026-000002", "F1")
        refund_line = attrs.evolve(november.lines[0], unit_price=Decimal("-3.00"), total=Money("-3.00"))
        note = attrs.evolve(
            november,
            number="AV-enfance-2026-000001",
            kind=DocumentKind.CREDIT_NOTE,
            period=DateRange.month(2026, 9),
            lines=(refund_line,),
        )
        self.write(store, *(functools.partial(_save_invoice, document=d) for d in (october, november, note)))
        after = self.read(store, lambda uow: [r.family.id for r in uow.runs.family_records(NOVEMBER, "F1")])
        assert after == ["F2"]
        (martin, _) = self.read(
            store, lambda uow: list(uow.runs.family_records(NOVEMBER, None, NOVEMBER.start))
        )
        # The month's documents and every credit note, not the older invoices.
        assert sorted(d.number for d in martin.invoices) == [note.number, november.number]
        (martin, _) = self.read(store, lambda uow: list(uow.runs.family_records(NOVEMBER)))
        assert len(martin.invoices) == 3

    @_ROUND_TRIPS
    @given(st.lists(s.bookings(child_id="C1", family_id="F1"), max_size=8, unique_by=lambda b: b.key))
    def test_family_records_hold_every_booking_day_of_the_period_once(self, values: list[Booking]) -> None:
        store = self.seeded_store()
        self.write(store, lambda uow: uow.bookings.save(values))
        martin = self.read(store, lambda uow: next(iter(uow.runs.family_records(NOVEMBER))))
        days = sorted((run.prestation_id, day, run.status) for run in martin.bookings for day in run.days)
        assert days == sorted((b.prestation_id, b.day, b.status) for b in values if b.day in NOVEMBER)

    def test_families_read_through_their_records_conflict_when_changed_meanwhile(self) -> None:
        store = self.seeded_store()
        with store.unit_of_work() as reader:
            assert [r.family.id for r in reader.runs.family_records(NOVEMBER)] == ["F1", "F2"]
            self.write(store, lambda uow: uow.bookings.save([booking("C2", "F2")]))
            reader.documents.save_payment(payment("PAY-enfance-2026-000001", "F1"))
            with pytest.raises(ConcurrentChange):
                reader.commit()

    def test_saving_a_booking_again_replaces_it_and_keeps_it_cancelled(self) -> None:
        store = self.seeded_store()
        self.write(store, lambda uow: uow.bookings.save([booking("C1", "F1")]))
        cancelled = booking("C1", "F1", status=BookingStatus.CANCELLED)
        self.write(store, lambda uow: uow.bookings.save([cancelled]))
        self.write(store, lambda uow: uow.bookings.save([cancelled]))
        assert self.read(store, lambda uow: uow.bookings.of_family("F1", NOVEMBER)) == (cancelled,)

    def test_an_instant_on_the_clock_change_night_keeps_its_instant(self) -> None:
        # 02:30 happens twice in Paris on Sunday 25 October 2026; this is the second one (winter time).
        second = dt.datetime(2026, 10, 25, 1, 30, tzinfo=dt.UTC).astimezone(PARIS)
        assert second.fold == 1
        store = self.seeded_store()
        self.write(
            store, lambda uow: uow.bookings.save([attrs.evolve(booking("C1", "F1"), booked_at=second)])
        )
        (read,) = self.read(store, lambda uow: uow.bookings.of_family("F1", NOVEMBER))
        assert read.booked_at.utcoffset() is not None
        assert read.booked_at.astimezone(dt.UTC) == dt.datetime(2026, 10, 25, 1, 30, tzinfo=dt.UTC)

    @_ROUND_TRIPS
    @given(
        st.lists(s.attendance_facts(child_id="C1"), max_size=6, unique_by=lambda f: (f.prestation_id, f.day))
    )
    def test_attendance_facts_read_back_by_household(self, values: list[AttendanceFact]) -> None:
        everything = DateRange(dt.date(2020, 1, 1), dt.date(2035, 12, 31))
        own, later = self.round_trip(
            lambda uow: uow.attendance.save(values, "F1"),
            lambda uow: uow.attendance.of_family("F1", everything),
        )
        expected = tuple(sorted(values, key=lambda f: (f.child_id, f.prestation_id, f.day)))
        assert s.same_instants(own, expected)
        assert s.same_instants(later, expected)

    def test_attendance_is_replaced_per_day_and_filtered_by_period(self) -> None:
        store = self.seeded_store()
        absent = AttendanceFact("C1", "repas", MONDAY, AttendanceStatus.ABSENT_UNJUSTIFIED)
        december = AttendanceFact("C1", "repas", dt.date(2026, 12, 1), AttendanceStatus.PRESENT)
        self.write(store, lambda uow: uow.attendance.save([absent, december], "F1"))
        justified = attrs.evolve(absent, status=AttendanceStatus.ABSENT_JUSTIFIED)
        self.write(store, lambda uow: uow.attendance.save([justified], "F1"))
        assert self.read(store, lambda uow: uow.attendance.of_family("F1", NOVEMBER)) == (justified,)
        assert self.read(store, lambda uow: uow.attendance.of_family("F2", NOVEMBER)) == ()

    @_ROUND_TRIPS
    @given(st.lists(s.absence_declarations(child_id="C1"), max_size=4, unique_by=lambda a: a.days))
    def test_absence_declarations_read_back_by_household(self, values: list[AbsenceDeclaration]) -> None:
        def save(uow: UnitOfWork) -> None:
            for value in values:
                uow.attendance.save_absence(value, "F1")

        own, later = self.round_trip(save, lambda uow: uow.attendance.absences_of("F1"))
        expected = tuple(sorted(values, key=lambda a: (a.child_id, a.days.start, a.days.end)))
        assert s.same_instants(own, expected)
        assert s.same_instants(later, expected)

    def test_an_absence_declared_again_with_its_proof_replaces_it(self) -> None:
        store = self.seeded_store()
        declared = AbsenceDeclaration(
            "C1", DateRange(MONDAY, MONDAY + dt.timedelta(days=1)), AbsenceReason.ILLNESS, BOOKED_AT
        )
        self.write(store, lambda uow: uow.attendance.save_absence(declared, "F1"))
        proven = attrs.evolve(declared, proof_received_at=BOOKED_AT + dt.timedelta(days=3))
        self.write(store, lambda uow: uow.attendance.save_absence(proven, "F1"))
        assert self.read(store, lambda uow: uow.attendance.absences_of("F1")) == (proven,)
        assert self.read(store, lambda uow: uow.attendance.absences_of("F2")) == ()

    def test_closures_are_kept_by_service_in_date_order_once_each(self) -> None:
        store = self.seeded_store()
        assert self.read(store, lambda uow: dict(uow.attendance.closures())) == {}
        strike = Closure(DateRange(dt.date(2026, 12, 3), dt.date(2026, 12, 3)), ClosureReason.STRIKE, "Grève")
        training = Closure(DateRange(MONDAY, MONDAY), ClosureReason.TRAINING)
        self.write(
            store,
            lambda uow: uow.attendance.add_closure("cantine", strike),
            lambda uow: uow.attendance.add_closure("cantine", training),
        )
        self.write(
            store,
            lambda uow: uow.attendance.add_closure("cantine", strike),
            lambda uow: uow.attendance.add_closure("alsh", strike),
        )
        assert self.read(store, lambda uow: dict(uow.attendance.closures())) == {
            "alsh": (strike,),
            "cantine": (training, strike),
        }

    @_ROUND_TRIPS
    @given(s.closures())
    def test_a_closure_reads_back_equal(self, value: Closure) -> None:
        own, later = self.round_trip(
            lambda uow: uow.attendance.add_closure("cantine", value),
            lambda uow: dict(uow.attendance.closures()),
        )
        assert own == {"cantine": (value,)}
        assert later == {"cantine": (value,)}

    # -- billing -------------------------------------------------------------------------------

    @_ROUND_TRIPS
    @given(s.invoices(family_id="F1"))
    def test_invoice_reads_back_equal_to_the_cent(self, value: Invoice) -> None:
        own, later = self.round_trip(
            lambda uow: uow.documents.save_invoice(value), lambda uow: uow.documents.invoice(value.number)
        )
        assert own == value
        assert later == value
        assert later.total == value.total
        assert self.read(self.make_store(), lambda uow: uow.documents.invoices_of("F1")) == ()

    def test_invoices_of_a_household_are_listed_by_number(self) -> None:
        store = self.seeded_store()
        numbers = ("FAC-enfance-2026-000002", "FAC-enfance-2026-000001", "AV-enfance-2026-000001")
        self.write(
            store, _each(lambda uow, v: uow.documents.save_invoice(v), [invoice(n, "F1") for n in numbers])
        )
        self.write(store, lambda uow: uow.documents.save_invoice(invoice("FAC-enfance-2026-000003", "F2")))
        listed = self.read(store, lambda uow: [i.number for i in uow.documents.invoices_of("F1")])
        assert listed == sorted(numbers)

    def test_an_issued_invoice_never_changes(self) -> None:
        store = self.seeded_store()
        issued = invoice("FAC-enfance-2026-000001", "F1", cents=1_234)
        self.write(store, lambda uow: uow.documents.save_invoice(issued))
        self.write(store, lambda uow: uow.documents.save_invoice(issued))  # the same content again: harmless
        with store.unit_of_work() as uow, pytest.raises(InvalidInput) as refused:
            uow.documents.save_invoice(invoice("FAC-enfance-2026-000001", "F1", cents=1_235))
        assert refused.value.code == "store.invoice_immutable"
        with store.unit_of_work() as uow:
            uow.documents.save_invoice(issued)
            with pytest.raises(InvalidInput):
                uow.documents.save_invoice(attrs.evolve(issued, due_on=dt.date(2026, 12, 31)))
        assert self.read(store, lambda uow: uow.documents.invoice(issued.number)) == issued

    def test_an_issued_invoice_never_changes_while_the_unit_of_work_writes(self) -> None:
        # A month-end run saves invoices after it has read its own writes (the SQLite store then holds the
        # write lock): an issued number is still refused with other content and harmless with the same.
        store = self.seeded_store()
        issued = invoice("FAC-enfance-2026-000001", "F1", cents=1_234)
        later = invoice("FAC-enfance-2026-000002", "F1")
        self.write(store, lambda uow: uow.documents.save_invoice(issued))
        with store.unit_of_work() as uow:
            uow.documents.save_invoice(later)
            assert uow.documents.invoices_of("F1") == (issued, later)
            uow.documents.save_invoice(issued)
            with pytest.raises(InvalidInput) as refused:
                uow.documents.save_invoice(invoice("FAC-enfance-2026-000001", "F1", cents=1_235))
            assert refused.value.code == "store.invoice_immutable"
            uow.commit()
        assert self.read(store, lambda uow: uow.documents.invoices_of("F1")) == (issued, later)

    @_ROUND_TRIPS
    @given(st.lists(s.payments(family_id="F1"), max_size=4, unique_by=lambda p: p.number))
    def test_payments_read_back_equal_by_number(self, values: list[Payment]) -> None:
        own, later = self.round_trip(
            _each(lambda uow, v: uow.documents.save_payment(v), values),
            lambda uow: uow.documents.payments_of("F1"),
        )
        expected = tuple(sorted(values, key=lambda p: p.number))
        assert s.same_instants(own, expected)
        assert s.same_instants(later, expected)

    def test_saving_a_payment_again_replaces_it(self) -> None:
        store = self.seeded_store()
        self.write(
            store, lambda uow: uow.documents.save_payment(payment("PAY-enfance-2026-000001", "F1", 1_000))
        )
        corrected = payment("PAY-enfance-2026-000001", "F1", 1_001)
        self.write(store, lambda uow: uow.documents.save_payment(corrected))
        assert self.read(store, lambda uow: uow.documents.payments_of("F1")) == (corrected,)
        assert self.read(store, lambda uow: uow.documents.payments_of("F2")) == ()

    @_ROUND_TRIPS
    @given(st.lists(s.allocations(), max_size=5, unique_by=lambda a: (a.source, a.invoice_number)))
    def test_allocations_read_back_by_household(self, values: list[Allocation]) -> None:
        own, later = self.round_trip(
            lambda uow: uow.documents.save_allocations(values, "F1"),
            lambda uow: uow.documents.allocations_of("F1"),
        )
        expected = tuple(sorted(values, key=lambda a: (a.source, a.invoice_number)))
        assert own == expected
        assert later == expected

    def test_an_allocation_saved_again_replaces_its_amount(self) -> None:
        store = self.seeded_store()
        first = Allocation("PAY-enfance-2026-000001", "FAC-enfance-2026-000001", Money("10"))
        self.write(store, lambda uow: uow.documents.save_allocations([first], "F1"))
        again = attrs.evolve(first, amount=Money("12.34"))
        self.write(store, lambda uow: uow.documents.save_allocations([again], "F1"))
        assert self.read(store, lambda uow: uow.documents.allocations_of("F1")) == (again,)
        assert self.read(store, lambda uow: uow.documents.allocations_of("F2")) == ()

    @_ROUND_TRIPS
    @given(s.numberings())
    def test_numbering_reads_back_equal(self, value: Numbering) -> None:
        assert self.read(self.make_store(), lambda uow: uow.documents.numbering()) == Numbering()
        own, later = self.round_trip(
            lambda uow: uow.documents.save_numbering(value), lambda uow: uow.documents.numbering()
        )
        assert own == value
        assert later == value

    def test_carried_balances_are_per_regie_and_each_run_starts_from_the_latest_earlier_one(self) -> None:
        store = self.seeded_store()
        november, december = NOVEMBER, DateRange.month(2026, 12)
        f1_nov = carried("F1", "enfance", Money("4.10"), NOVEMBER.start)
        f2_nov = carried("F2", "enfance", Money("0.01"), NOVEMBER.start)
        f1_dec = carried("F1", "enfance", Money("14.99"), NOVEMBER.start, december.start)
        assert self.read(store, lambda uow: dict(uow.runs.carried("enfance"))) == {}
        self.write(
            store, lambda uow: uow.runs.save_carried("enfance", november, {"F1": f1_nov, "F2": f2_nov})
        )
        self.write(
            store,
            lambda uow: uow.runs.save_carried(
                "loisirs", november, {"F1": carried("F1", "loisirs", Money("3.10"), NOVEMBER.start)}
            ),
        )
        # December's run carries more for F1 and issues F2's balance.
        self.write(store, lambda uow: uow.runs.save_carried("enfance", december, {"F1": f1_dec, "F2": None}))
        assert self.read(store, lambda uow: dict(uow.runs.carried("enfance"))) == {"F1": f1_dec}
        # A rerun of December starts from November's balances; November's from nothing.
        assert self.read(store, lambda uow: dict(uow.runs.carried("enfance", december.start))) == {
            "F1": f1_nov,
            "F2": f2_nov,
        }
        assert self.read(store, lambda uow: dict(uow.runs.carried("enfance", november.start))) == {}
        assert self.read(store, lambda uow: set(uow.runs.carried("loisirs"))) == {"F1"}

    def test_saving_a_runs_carried_balance_again_replaces_it(self) -> None:
        store = self.seeded_store()
        december = DateRange.month(2026, 12)
        first = carried("F1", "enfance", Money("7.80"), december.start)
        second = carried("F1", "enfance", Money("5.20"), december.start)
        self.write(store, lambda uow: uow.runs.save_carried("enfance", december, {"F1": first}))
        self.write(store, lambda uow: uow.runs.save_carried("enfance", december, {"F1": second}))
        assert self.read(store, lambda uow: dict(uow.runs.carried("enfance"))) == {"F1": second}
        self.write(store, lambda uow: uow.runs.save_carried("enfance", december, {"F1": None}))
        assert self.read(store, lambda uow: dict(uow.runs.carried("enfance"))) == {}

    def test_a_balance_saved_under_another_family_or_regie_is_refused(self) -> None:
        store = self.seeded_store()
        balance = carried("F1", "enfance", Money("7.80"), NOVEMBER.start)
        for regie_id, family_id in (("enfance", "F2"), ("loisirs", "F1")):
            with store.unit_of_work() as uow, pytest.raises(InvalidInput) as refused:
                uow.runs.save_carried(regie_id, NOVEMBER, {family_id: balance})
            assert refused.value.code == "store.carried_mismatch"

    @_ROUND_TRIPS
    @given(st.lists(s.carried_balances(regie_id="enfance"), max_size=4, unique_by=lambda b: b.family_id))
    def test_carried_balances_read_back_equal_with_their_lines(self, balances: list[CarriedBalance]) -> None:
        table = {balance.family_id: balance for balance in balances}
        own, later = self.round_trip(
            lambda uow: uow.runs.save_carried("enfance", NOVEMBER, table),
            lambda uow: dict(uow.runs.carried("enfance")),
        )
        assert own == table
        assert later == table

    # -- unpaid exemptions -----------------------------------------------------------------------

    # -- corrections of days already billed ------------------------------------------------------

    def test_what_a_regie_billed_through_is_kept_per_regie_and_replaced(self) -> None:
        store = self.seeded_store()
        assert self.read(store, lambda uow: uow.runs.billed_through("enfance")) is None
        self.write(store, lambda uow: uow.runs.save_billed_through("enfance", NOVEMBER.end))
        self.write(store, lambda uow: uow.runs.save_billed_through("loisirs", dt.date(2026, 10, 31)))
        self.write(store, lambda uow: uow.runs.save_billed_through("enfance", dt.date(2026, 12, 31)))
        assert self.read(store, lambda uow: uow.runs.billed_through("enfance")) == dt.date(2026, 12, 31)
        assert self.read(store, lambda uow: uow.runs.billed_through("loisirs")) == dt.date(2026, 10, 31)

    def test_changed_days_are_kept_per_regie_and_family_once_each_until_cleared(self) -> None:
        store = self.seeded_store()
        days = [dt.date(2026, 11, 16), dt.date(2026, 11, 3), dt.date(2026, 11, 16)]
        self.write(store, lambda uow: uow.runs.mark_changed("enfance", "F2", days))
        self.write(store, lambda uow: uow.runs.mark_changed("enfance", "F1", [dt.date(2026, 12, 1)]))
        self.write(store, lambda uow: uow.runs.mark_changed("loisirs", "F1", [dt.date(2026, 10, 20)]))
        assert self.read(store, lambda uow: dict(uow.runs.changed_days("enfance"))) == {
            "F1": (dt.date(2026, 12, 1),),
            "F2": (dt.date(2026, 11, 3), dt.date(2026, 11, 16)),
        }
        assert list(self.read(store, lambda uow: dict(uow.runs.changed_days("enfance")))) == ["F1", "F2"]
        # A run of November forgets F2's November days; December's day of F1 and the other régie stay.
        self.write(store, lambda uow: uow.runs.clear_changed("enfance", "F2", [dt.date(2026, 11, 3)]))
        self.write(store, lambda uow: uow.runs.clear_changed("enfance", "F2", [dt.date(2026, 11, 16)]))
        assert self.read(store, lambda uow: dict(uow.runs.changed_days("enfance"))) == {
            "F1": (dt.date(2026, 12, 1),)
        }
        assert self.read(store, lambda uow: dict(uow.runs.changed_days("loisirs"))) == {
            "F1": (dt.date(2026, 10, 20),)
        }

    def test_a_change_is_marked_in_the_same_transaction_as_its_write_or_not_at_all(self) -> None:
        store = self.seeded_store()
        with store.unit_of_work() as uow:
            uow.runs.mark_changed("enfance", "F1", [dt.date(2026, 11, 16)])
            uow.runs.save_billed_through("enfance", NOVEMBER.end)
            assert dict(uow.runs.changed_days("enfance")) == {"F1": (dt.date(2026, 11, 16),)}
        assert self.read(store, lambda uow: dict(uow.runs.changed_days("enfance"))) == {}
        assert self.read(store, lambda uow: uow.runs.billed_through("enfance")) is None

    def test_reading_the_changed_days_is_not_a_read_of_their_families(self) -> None:
        store = self.seeded_store()
        self.write(store, lambda uow: uow.runs.mark_changed("enfance", "F2", [dt.date(2026, 11, 16)]))
        with store.unit_of_work() as run:
            assert dict(run.runs.changed_days("enfance")) == {"F2": (dt.date(2026, 11, 16),)}
            # F2 validates a basket meanwhile: the run, billing other families, is not disturbed by it.
            self.write(store, lambda uow: uow.runs.mark_changed("enfance", "F2", [dt.date(2026, 11, 17)]))
            run.runs.clear_changed("enfance", "F1", [dt.date(2026, 11, 2)])
            run.commit()
        assert self.read(store, lambda uow: dict(uow.runs.changed_days("enfance"))) == {
            "F2": (dt.date(2026, 11, 16), dt.date(2026, 11, 17))
        }

    def test_a_correction_read_before_a_run_moved_billed_through_conflicts(self) -> None:
        store = self.seeded_store()
        with store.unit_of_work() as correction:
            assert correction.runs.billed_through("enfance") is None
            with store.unit_of_work() as run:
                run.runs.save_billed_through("enfance", NOVEMBER.end)
                run.commit()
            correction.attendance.save([], "F1")
            with pytest.raises(ConcurrentChange):
                correction.commit()

    def test_bad_days_of_corrections_are_refused(self) -> None:
        store = self.seeded_store()
        writes: tuple[Callable[[UnitOfWork], None], ...] = (
            lambda uow: uow.runs.save_billed_through("enfance", "2026-11-30"),  # type: ignore[arg-type]
            lambda uow: uow.runs.mark_changed(
                "enfance", "F1", [dt.datetime(2026, 11, 16, 9, 0, tzinfo=dt.UTC)]
            ),
            lambda uow: uow.runs.clear_changed("enfance", "F1", [None]),  # type: ignore[list-item]
        )
        for write in writes:
            with store.unit_of_work() as uow, pytest.raises(InvalidInput) as refused:
                write(uow)
            assert refused.value.code == "input.not_a_date"
        assert self.read(store, lambda uow: uow.runs.billed_through("enfance")) is None

    @_ROUND_TRIPS
    @given(s.unpaid_exemptions())
    def test_unpaid_exemption_reads_back_equal(self, value: UnpaidExemption) -> None:
        own, later = self.round_trip(
            lambda uow: uow.families.save_unpaid_exemption("F1", value),
            lambda uow: uow.families.unpaid_exemption("F1"),
        )
        assert own == value
        assert later == value

    def test_an_unpaid_exemption_is_kept_per_family_replaced_and_removed(self) -> None:
        store = self.seeded_store()
        assert self.read(store, lambda uow: uow.families.unpaid_exemption("F1")) is None
        assert self.read(store, lambda uow: uow.families.unpaid_exemption("F9")) is None
        # A payment plan from Monday 2 November 2026, extended once to the end of January.
        plan = UnpaidExemption("agent-1", dt.date(2026, 11, 2), dt.date(2026, 12, 31), "échéancier")
        longer = attrs.evolve(plan, until=dt.date(2027, 1, 31))
        self.write(store, lambda uow: uow.families.save_unpaid_exemption("F1", plan))
        self.write(store, lambda uow: uow.families.save_unpaid_exemption("F1", longer))
        assert self.read(store, lambda uow: uow.families.unpaid_exemption("F1")) == longer
        assert self.read(store, lambda uow: uow.families.unpaid_exemption("F2")) is None
        with store.unit_of_work() as uow:
            uow.families.save_unpaid_exemption("F1", None)
            assert uow.families.unpaid_exemption("F1") is None  # its own removal, before the commit
            assert self.read(store, lambda other: other.families.unpaid_exemption("F1")) == longer
            uow.commit()
        assert self.read(store, lambda uow: uow.families.unpaid_exemption("F1")) is None
        self.write(
            store, lambda uow: uow.families.save_unpaid_exemption("F1", None)
        )  # removing none is harmless
        assert self.read(store, lambda uow: uow.families.unpaid_exemption("F1")) is None

    def test_a_basket_read_under_an_exemption_revoked_meanwhile_conflicts(self) -> None:
        store = self.seeded_store()
        plan = UnpaidExemption("agent-1", dt.date(2026, 11, 2), None, "suivi social")
        self.write(store, lambda uow: uow.families.save_unpaid_exemption("F1", plan))
        with store.unit_of_work() as basket:
            assert basket.families.unpaid_exemption("F1") == plan
            self.write(store, lambda uow: uow.families.save_unpaid_exemption("F1", None))
            basket.bookings.save([booking("C1", "F1")])
            with pytest.raises(ConcurrentChange):
                basket.commit()
        assert self.read(store, lambda uow: uow.bookings.of_family("F1", NOVEMBER)) == ()

    def test_two_units_of_work_changing_a_familys_unpaid_exemption_conflict(self) -> None:
        store = self.seeded_store()
        first_plan = UnpaidExemption("agent-1", dt.date(2026, 11, 2), dt.date(2026, 12, 31))
        second_plan = UnpaidExemption("agent-2", dt.date(2026, 11, 2), dt.date(2027, 3, 31))
        with store.unit_of_work() as first, store.unit_of_work() as second:
            assert first.families.unpaid_exemption("F1") is None
            assert second.families.unpaid_exemption("F1") is None
            first.families.save_unpaid_exemption("F1", first_plan)
            second.families.save_unpaid_exemption("F1", second_plan)
            first.commit()
            with pytest.raises(ConcurrentChange):
                second.commit()
        assert self.read(store, lambda uow: uow.families.unpaid_exemption("F1")) == first_plan

    def test_the_notices_of_an_exemption_granted_and_revoked_read_back_from_the_outbox(self) -> None:
        store = self.seeded_store()
        # Granted on Thursday 26 November 2026 until New Year's Eve, another open-ended, then revoked.
        at = dt.datetime(2026, 11, 26, 9, 0, tzinfo=PARIS)
        granted = UnpaidExemptionGranted(
            "saint-aubin", "F1", at, dt.date(2026, 11, 26), dt.date(2026, 12, 31)
        )
        open_ended = UnpaidExemptionGranted("saint-aubin", "F2", at, dt.date(2026, 11, 26))
        revoked = UnpaidExemptionRevoked("saint-aubin", "F1", at + dt.timedelta(days=5))
        messages = [OutboxMessage(f"m-{n}", event) for n, event in enumerate((granted, open_ended, revoked))]
        self.write(store, _each(lambda uow, v: uow.outbox.add(v), messages))
        back = self.read(store, lambda uow: uow.outbox.all())
        assert back == tuple(messages)
        assert [m.event.body_fr for m in back] == [e.body_fr for e in (granted, open_ended, revoked)]

    # -- online payments -------------------------------------------------------------------------

    @_ROUND_TRIPS
    @given(s.payment_attempts(family_id="F1"))
    def test_payment_attempt_reads_back_equal(self, value: PaymentAttempt) -> None:
        own, later = self.round_trip(
            lambda uow: uow.online_payments.save(value), lambda uow: uow.online_payments.get(value.payment_id)
        )
        assert own == value
        assert later == value
        assert s.same_instants(later.created.created_at, value.created.created_at)

    def test_payment_attempts_are_listed_per_family_by_id_and_replaced_by_id(self) -> None:
        store = self.seeded_store()
        with pytest.raises(NotFound):
            self.read(store, lambda uow: uow.online_payments.get("pay-1"))
        second, first = attempt("pay-2", "F1"), attempt("pay-1", "F1")
        self.write(store, lambda uow: uow.online_payments.save(second))
        self.write(
            store,
            lambda uow: uow.online_payments.save(first),
            lambda uow: uow.online_payments.save(attempt("pay-3", "F2")),
        )
        paid = attrs.evolve(first, status=PaymentStatus.PAID)
        self.write(store, lambda uow: uow.online_payments.save(paid))
        assert self.read(store, lambda uow: uow.online_payments.of_family("F1")) == (paid, second)
        assert [a.payment_id for a in self.read(store, lambda uow: uow.online_payments.of_family("F2"))] == [
            "pay-3"
        ]
        assert self.read(store, lambda uow: uow.online_payments.of_family("F9")) == ()

    def test_a_payment_attempt_is_written_with_the_hold_it_pays_or_not_at_all(self) -> None:
        store = self.seeded_store()
        with store.unit_of_work() as uow:
            uow.bookings.save([booking("C1", "F1", MONDAY, "journee", BookingStatus.HELD)])
            uow.online_payments.save(attempt("pay-1", "F1"))
            assert [a.payment_id for a in uow.online_payments.of_family("F1")] == ["pay-1"]
        assert self.read(store, lambda uow: uow.online_payments.of_family("F1")) == ()

    def test_two_units_of_work_recording_a_familys_payments_conflict(self) -> None:
        store = self.seeded_store()
        with store.unit_of_work() as first, store.unit_of_work() as second:
            assert first.online_payments.of_family("F1") == ()
            assert second.online_payments.of_family("F1") == ()
            first.online_payments.save(attempt("pay-1", "F1"))
            second.online_payments.save(attempt("pay-2", "F1"))
            first.commit()
            with pytest.raises(ConcurrentChange):
                second.commit()
        assert [a.payment_id for a in self.read(store, lambda uow: uow.online_payments.of_family("F1"))] == [
            "pay-1"
        ]

    # -- requests and outbox -------------------------------------------------------------------

    @_ROUND_TRIPS
    @given(st.lists(s.requests(family_id="F1"), max_size=3, unique_by=lambda r: r.id))
    def test_requests_read_back_with_their_history(self, values: list[Request]) -> None:
        own, later = self.round_trip(
            _each(lambda uow, v: uow.requests.save(v), values), lambda uow: uow.requests.of_family("F1")
        )
        expected = tuple(sorted(values, key=lambda r: r.id))
        assert s.same_instants(own, expected)
        assert s.same_instants(later, expected)
        assert [r.status for r in later] == [r.status for r in expected]

    def test_a_request_saved_again_keeps_its_longer_history(self) -> None:
        store = self.seeded_store()
        request = submitted_request("R1", "F1")
        self.write(store, lambda uow: uow.requests.save(request))
        answered = request.accept(
            Actor.agent("agent-1"), request.submitted_at + dt.timedelta(days=1), "Voici."
        )
        self.write(store, lambda uow: uow.requests.save(answered))
        assert self.read(store, lambda uow: uow.requests.of_family("F1")) == (answered,)
        assert self.read(store, lambda uow: uow.requests.of_family("F2")) == ()

    @_ROUND_TRIPS
    @given(st.lists(s.outbox_messages(), max_size=4, unique_by=lambda m: m.id))
    def test_outbox_messages_read_back_oldest_first(self, values: list[OutboxMessage]) -> None:
        own, later = self.round_trip(
            _each(lambda uow, v: uow.outbox.add(v), values), lambda uow: uow.outbox.all()
        )
        assert s.same_instants(own, tuple(values))
        assert s.same_instants(later, tuple(values))

    def test_outbox_keeps_its_order_across_units_of_work_and_updates_in_place(self) -> None:
        store = self.seeded_store()
        first, second, third = message("m-b", "F1"), message("m-a", "F2"), message("m-0", "F1")
        self.write(store, _each(lambda uow, v: uow.outbox.add(v), [first, second]))
        self.write(store, _each(lambda uow, v: uow.outbox.add(v), [third, first]))
        sent = mark_sent(first, dt.datetime(2026, 12, 1, 9, 0, tzinfo=PARIS))
        self.write(store, lambda uow: uow.outbox.save(sent))
        assert self.read(store, lambda uow: uow.outbox.all()) == (sent, second, third)
        with store.unit_of_work() as uow, pytest.raises(NotFound):
            uow.outbox.save(message("m-unknown", "F1"))

    def test_an_outbox_message_added_again_is_kept_once_and_another_under_its_id_is_refused(self) -> None:
        store = self.seeded_store()
        first = message("m-1", "F1")
        self.write(store, lambda uow: uow.outbox.add(first))
        self.write(store, lambda uow: uow.outbox.add(first))
        assert self.read(store, lambda uow: uow.outbox.all()) == (first,)
        with pytest.raises(InvalidInput) as refused:
            self.write(store, lambda uow: uow.outbox.add(message("m-1", "F2")))
        assert refused.value.code == "store.duplicate_message"
        assert self.read(store, lambda uow: uow.outbox.all()) == (first,)

    def test_outbox_message_is_kept_in_the_same_transaction_as_its_change(self) -> None:
        store = self.seeded_store()
        issued = invoice("FAC-enfance-2026-000001", "F1")
        with store.unit_of_work() as uow:
            uow.documents.save_invoice(issued)
            uow.outbox.add(message("m-1", "F1"))
            # leaving without commit: neither the invoice nor its announcement exists
        assert self.read(store, lambda uow: (uow.documents.invoices_of("F1"), uow.outbox.all())) == ((), ())
        self.write(
            store,
            lambda uow: uow.documents.save_invoice(issued),
            lambda uow: uow.outbox.add(message("m-1", "F1")),
        )
        assert self.read(store, lambda uow: (uow.documents.invoices_of("F1"), uow.outbox.all())) == (
            (issued,),
            (message("m-1", "F1"),),
        )

    # -- transactions --------------------------------------------------------------------------

    def test_a_unit_of_work_reads_its_own_writes(self) -> None:
        store = self.seeded_store()
        with store.unit_of_work() as uow:
            uow.bookings.save([booking("C1", "F1")])
            uow.families.save(attrs.evolve(family("F1"), direct_debit=True))
            assert uow.bookings.of_family("F1", NOVEMBER) == (booking("C1", "F1"),)
            assert uow.bookings.of_prestation("repas", NOVEMBER) == (booking("C1", "F1"),)
            assert uow.families.get("F1").direct_debit is True

    def test_uncommitted_writes_are_invisible_to_another_unit_of_work(self) -> None:
        store = self.seeded_store()
        with store.unit_of_work() as writer:
            writer.bookings.save([booking("C1", "F1")])
            writer.families.save(family("F3"))
            assert self.read(store, lambda uow: uow.bookings.of_family("F1", NOVEMBER)) == ()
            with pytest.raises(NotFound):
                self.read(store, lambda uow: uow.families.get("F3"))
            writer.commit()
        assert self.read(store, lambda uow: uow.bookings.of_family("F1", NOVEMBER)) == (booking("C1", "F1"),)
        assert self.read(store, lambda uow: uow.families.get("F3")) == family("F3")

    def test_an_exception_rolls_everything_back(self) -> None:
        store = self.seeded_store()

        def fail_midway() -> None:
            with store.unit_of_work() as uow:
                uow.bookings.save([booking("C1", "F1")])
                uow.documents.save_invoice(invoice("FAC-enfance-2026-000001", "F1"))
                uow.documents.save_payment(payment("PAY-enfance-2026-000001", "F1"))
                raise RuntimeError("the payment gateway went away")

        with pytest.raises(RuntimeError, match="gateway"):
            fail_midway()
        assert self.read(store, lambda uow: uow.bookings.of_family("F1", NOVEMBER)) == ()
        assert self.read(store, lambda uow: uow.documents.invoices_of("F1")) == ()
        assert self.read(store, lambda uow: uow.documents.payments_of("F1")) == ()

    def test_leaving_without_commit_or_after_rollback_writes_nothing(self) -> None:
        store = self.seeded_store()
        with store.unit_of_work() as uow:
            uow.documents.save_payment(payment("PAY-enfance-2026-000001", "F1"))
        with store.unit_of_work() as uow:
            uow.runs.save_carried("enfance", NOVEMBER, {"F1": carried("F1", "enfance", Money("3"), MONDAY)})
            uow.rollback()
            assert dict(uow.runs.carried("enfance")) == {}
            uow.commit()
        assert self.read(store, lambda uow: uow.documents.payments_of("F1")) == ()
        assert self.read(store, lambda uow: dict(uow.runs.carried("enfance"))) == {}

    def test_two_units_of_work_writing_one_family_conflict(self) -> None:
        store = self.seeded_store()
        with store.unit_of_work() as first, store.unit_of_work() as second:
            first.bookings.of_family("F1", NOVEMBER)
            second.bookings.of_family("F1", NOVEMBER)
            first.bookings.save([booking("C1", "F1")])
            second.bookings.save([booking("C1", "F1", MONDAY + dt.timedelta(days=1))])
            second.outbox.add(message("m-2", "F1"))
            first.commit()
            with pytest.raises(ConcurrentChange):
                second.commit()
        assert self.read(store, lambda uow: uow.bookings.of_family("F1", NOVEMBER)) == (booking("C1", "F1"),)
        assert self.read(store, lambda uow: uow.outbox.all()) == ()

    def test_a_family_read_then_changed_by_someone_else_conflicts(self) -> None:
        store = self.seeded_store()
        with store.unit_of_work() as reader:
            assert reader.families.get("F1").direct_debit is False
            self.write(store, lambda uow: uow.families.save(attrs.evolve(family("F1"), direct_debit=True)))
            reader.documents.save_payment(payment("PAY-enfance-2026-000001", "F1"))
            with pytest.raises(ConcurrentChange):
                reader.commit()
        assert self.read(store, lambda uow: uow.documents.payments_of("F1")) == ()

    def test_different_families_do_not_conflict_and_a_retry_succeeds(self) -> None:
        store = self.seeded_store()
        with store.unit_of_work() as first, store.unit_of_work() as second:
            first.families.get("F1")
            second.families.get("F2")
            first.bookings.save([booking("C1", "F1")])
            second.bookings.save([booking("C2", "F2")])
            second.commit()
            first.commit()
        with store.unit_of_work() as stale:
            stale.families.get("F1")
            self.write(
                store, lambda uow: uow.bookings.save([booking("C1", "F1", status=BookingStatus.CANCELLED)])
            )
            stale.bookings.save([booking("C1", "F1")])
            with pytest.raises(ConcurrentChange):
                stale.commit()
        self.write(
            store, lambda uow: uow.families.get("F1"), lambda uow: uow.bookings.save([booking("C1", "F1")])
        )
        assert self.read(store, lambda uow: uow.bookings.of_prestation("repas", NOVEMBER)) == (
            booking("C1", "F1"),
            booking("C2", "F2"),
        )

    def test_bookings_of_a_prestation_with_places_conflict_across_families(self) -> None:
        store = self.seeded_store()  # the example commune limits "journee" (ALSH day) to 40 places
        day = dt.date(2026, 12, 23)
        with store.unit_of_work() as first, store.unit_of_work() as second:
            first.bookings.of_prestation("journee", DateRange(day, day))
            second.bookings.of_prestation("journee", DateRange(day, day))
            first.bookings.save([booking("C1", "F1", day, "journee")])
            second.bookings.save([booking("C2", "F2", day, "journee")])
            first.commit()
            with pytest.raises(ConcurrentChange):
                second.commit()
        # Meals have no limit of places: two households booking them do not conflict.
        with store.unit_of_work() as first, store.unit_of_work() as second:
            first.bookings.of_prestation("repas", NOVEMBER)
            second.bookings.of_prestation("repas", NOVEMBER)
            first.bookings.save([booking("C1", "F1")])
            second.bookings.save([booking("C2", "F2")])
            first.commit()
            second.commit()
        assert (
            len(self.read(store, lambda uow: uow.bookings.of_prestation("journee", DateRange(day, day)))) == 1
        )
        assert len(self.read(store, lambda uow: uow.bookings.of_prestation("repas", NOVEMBER))) == 2

    def test_two_units_of_work_numbering_invoices_conflict(self) -> None:
        store = self.seeded_store()
        with store.unit_of_work() as first, store.unit_of_work() as second:
            for uow, family_id in ((first, "F1"), (second, "F2")):
                numbering, number = uow.documents.numbering().next("enfance", 2026, Series.INVOICE)
                uow.documents.save_numbering(numbering)
                uow.documents.save_invoice(invoice(number, family_id))
            first.commit()
            with pytest.raises(ConcurrentChange):
                second.commit()
        assert self.read(store, lambda uow: uow.documents.invoices_of("F2")) == ()
        assert self.read(store, lambda uow: uow.documents.numbering()).last == {
            ("enfance", 2026, Series.INVOICE): 1
        }

    def test_threads_committing_at_once_lose_no_write(self) -> None:
        store = self.seeded_store()
        errors: list[BaseException] = []

        def book(index: int) -> None:
            family_id, child_id = f"T{index}", f"K{index}"
            try:
                self.write(
                    store,
                    lambda uow: uow.families.save(family(family_id)),
                    lambda uow: uow.families.save_child(child(child_id, family_id)),
                )
                for day in range(5):
                    meal = booking(child_id, family_id, MONDAY + dt.timedelta(days=day))
                    self.write(store, _each(lambda uow, v: uow.bookings.save(v), [[meal]]))
                # Every thread also numbers an invoice: conflicts are retried, no number is given twice.
                while True:
                    try:
                        with store.unit_of_work() as uow:
                            numbering, number = uow.documents.numbering().next(
                                "enfance", 2026, Series.INVOICE
                            )
                            uow.documents.save_numbering(numbering)
                            uow.documents.save_invoice(invoice(number, family_id))
                            uow.commit()
                        break
                    except ConcurrentChange:
                        continue
            except BaseException as error:  # reported to the main thread, which fails the test
                errors.append(error)

        threads = [threading.Thread(target=book, args=(index,)) for index in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        assert len(self.read(store, lambda uow: uow.bookings.of_prestation("repas", NOVEMBER))) == 30
        with store.unit_of_work() as uow:
            numbers = [i.number for index in range(6) for i in uow.documents.invoices_of(f"T{index}")]
        assert sorted(numbers) == [f"FAC-enfance-2026-{n:06d}" for n in range(1, 7)]

    # -- accounts ------------------------------------------------------------------------------

    @_ROUND_TRIPS
    @given(s.accounts())
    def test_account_reads_back_equal(self, value: Account) -> None:
        store = self.make_account_store()
        store.save_account(value)
        assert s.same_instants(store.account(value.id), value)

    def test_accounts_are_found_by_id_and_replaced(self) -> None:
        store = self.make_account_store()
        with pytest.raises(NotFound):
            store.account("acc-1")
        store.save_account(Account("acc-1", "camille@example.fr"))
        store.save_account(Account("acc-1", "camille.martin@example.fr"))
        assert store.account("acc-1") == Account("acc-1", "camille.martin@example.fr")

    @_ROUND_TRIPS
    @given(s.activations())
    def test_activation_reads_back_by_token_hash(self, value: Activation) -> None:
        store = self.make_account_store()
        store.save_activation(value)
        assert s.same_instants(store.activation(value.token_sha256), value)

    def test_activation_is_found_only_by_its_token_hash_and_used_once(self) -> None:
        store = self.make_account_store()
        issued = activation("act-1", "jeton-secret")
        store.save_activation(issued)
        store.save_activation(activation("act-2", "autre-jeton"))
        assert store.activation(token_hash("jeton-secret")) == issued
        with pytest.raises(NotFound):
            store.activation(token_hash("jeton-inconnu"))
        with pytest.raises(NotFound):
            store.activation("jeton-secret")  # the clear token is never a key
        used_at = issued.issued_at + dt.timedelta(hours=2)
        used = attrs.evolve(issued, used_at=used_at, used_by="acc-1")
        store.save_activation(used)
        store.save_activation(used)
        with pytest.raises(ConcurrentChange):
            store.save_activation(attrs.evolve(issued, used_at=used_at, used_by="acc-2"))
        assert store.activation(token_hash("jeton-secret")) == used
