"""The ``runs`` repository: family records, carried balances, corrections of days already billed."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from decimal import Decimal

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from espacefamille.billing.documents import (
    DocumentKind,
)
from espacefamille.billing.invoicing import CarriedBalance
from espacefamille.calendar.periods import DateRange
from espacefamille.errors import ConcurrentChange, InvalidInput
from espacefamille.families.events import (
    OutboxMessage,
    UnpaidExemptionGranted,
    UnpaidExemptionRevoked,
)
from espacefamille.model import BookedDays, Booking, BookingStatus
from espacefamille.money import Money
from espacefamille.ports import UnitOfWork, family_records_by_parts
from espacefamille.rules.attendance import (
    AbsenceDeclaration,
    AbsenceReason,
    AttendanceFact,
    AttendanceStatus,
)
from espacefamille.rules.unpaid import UnpaidExemption
from espacefamille.testing import strategies as s
from espacefamille.testing.builders import (
    MONDAY,
    NOVEMBER,
    PARIS,
    _save_invoice,
    booking,
    carried,
    child,
    invoice,
    payment,
)
from espacefamille.testing.conformance._base import _ROUND_TRIPS, ConformanceBase, _each


class MonthEndRunsConformance(ConformanceBase):
    """The ``runs`` repository: family records, carried balances, corrections of days already billed."""

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

    def test_family_records_carry_a_child_who_left_the_household_with_days_it_still_holds(self) -> None:
        # A move: Léa now lives with the Bernards, the Martins' November days of her are still theirs.
        store = self.seeded_store()
        tuesday = MONDAY + dt.timedelta(days=1)
        moved = child("C1", "F2")
        self.write(
            store,
            lambda uow: uow.bookings.save(
                [booking("C1", "F1", MONDAY), booking("C1", "F1", dt.date(2026, 12, 1))]
            ),
            lambda uow: uow.attendance.save(
                [AttendanceFact("C1", "repas", tuesday, AttendanceStatus.PRESENT)], "F1"
            ),
            lambda uow: uow.families.save_child(moved),
        )
        records = self.read(store, lambda uow: list(uow.runs.family_records(NOVEMBER)))
        assert records == self.read(store, lambda uow: list(family_records_by_parts(uow, NOVEMBER)))
        martin, bernard = records
        assert martin.children == (moved,)  # named by the Martins' days, listed by the Bernards
        assert [c.id for c in bernard.children] == ["C1", "C2"]
        december = self.read(
            store, lambda uow: next(iter(uow.runs.family_records(DateRange.month(2026, 12))))
        )
        assert december.children == (moved,)
        october = self.read(store, lambda uow: next(iter(uow.runs.family_records(DateRange.month(2026, 10)))))
        assert october.children == ()  # no day of hers that month: not the Martins' child any more

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
