"""Corrections across months, through the services on both stores: what a régie sees on the next invoice.

Saint-Aubin-des-Prés (the example commune), school year 2026-2027. Léa Martin (CE2, QF 800: 2,60 € a meal)
eats at the canteen, billed at month end by the régie enfance. November 2026 is billed on 1 December; what
an agent, a family or a certificate changes about November afterwards must reach December's invoice as a
regularisation line naming November's invoice and the day — never by editing November's invoice.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from zoneinfo import ZoneInfo

import attrs
import pytest

from espacefamille.adapters.fake_gateway import FakeGateway
from espacefamille.adapters.memory import MemoryStore
from espacefamille.adapters.sqlite import SqliteStore
from espacefamille.billing.documents import Invoice
from espacefamille.calendar.periods import DateRange
from espacefamille.commune import Commune
from espacefamille.config import loads_commune
from espacefamille.errors import InvalidInput, NotFound, PermissionDenied
from espacefamille.examples import example_commune, example_path
from espacefamille.families.accounts import AccountLink, Agent, AgentRole, FamilyMember
from espacefamille.model import Child, Enrolment, Family, Guardian, QuotientFamilial, SchoolClass
from espacefamille.money import Money
from espacefamille.ports import CommuneStore, FixedClock
from espacefamille.rules.attendance import (
    AbsenceReason,
    AttendanceFact,
    AttendanceStatus,
    DelayUnit,
    ProofDelay,
)
from espacefamille.rules.basket import Action, BasketLine
from espacefamille.services import BackOffice, FamilyPortal

PARIS = ZoneInfo("Europe/Paris")
AGENT = Agent("agent-1", "saint-aubin", AgentRole.ADMINISTRATEUR)
MARTIN = FamilyMember(
    "acc-martin", [AccountLink("saint-aubin", "F1", "G1", "act-1", dt.datetime(2026, 9, 1, tzinfo=PARIS))]
)
YEAR = DateRange(dt.date(2026, 9, 1), dt.date(2027, 7, 3))
OCTOBER, NOVEMBER, DECEMBER = (DateRange.month(2026, m) for m in (10, 11, 12))
QF = [QuotientFamilial(800, dt.date(2026, 9, 1))]


def at(year: int, month: int, day: int, hour: int = 9) -> dt.datetime:
    return dt.datetime(year, month, day, hour, tzinfo=PARIS)


@attrs.define
class Regie:
    """The régie enfance of the example commune, on one store, with its clock."""

    store: CommuneStore
    clock: FixedClock
    gateway: FakeGateway
    portal: FamilyPortal
    office: BackOffice

    def at(self, moment: dt.datetime) -> Regie:
        self.clock.instant = moment
        return self

    def meals(self, period: DateRange) -> list[dt.date]:
        with self.store.unit_of_work() as uow:
            return uow.commune().opening_calendar("repas").open_days(period)

    def book(self, days: list[dt.date]) -> None:
        lines = [BasketLine(Action.BOOK, "C1", "repas", day) for day in days]
        outcome = self.portal.validate_basket(MARTIN, "F1", lines)
        assert not outcome.refused, outcome.messages_fr

    def record(self, day: dt.date, status: AttendanceStatus) -> None:
        self.office.record_attendance(AGENT, [AttendanceFact("C1", "repas", day, status)])

    def bill(self, month: DateRange, on: dt.datetime) -> tuple[Invoice, ...]:
        """Run the month as the régisseur at ``on``; the documents this run issued."""
        before = set(self.documents())
        self.at(on).office.run_month_end(AGENT, "enfance", month)
        return tuple(d for d in self.documents() if d not in before)

    def documents(self) -> tuple[Invoice, ...]:
        with self.store.unit_of_work() as uow:
            return uow.documents.invoices_of("F1")


Make = Callable[[Commune | None], Regie]


def _open(store: CommuneStore, commune: Commune | None = None) -> Regie:
    with store.unit_of_work() as uow:
        uow.save_commune(commune or example_commune())
        uow.commit()
    clock = FixedClock(at(2026, 9, 1))
    gateway = FakeGateway(validity=dt.timedelta(hours=2))
    portal = FamilyPortal(store, gateway=gateway, clock=clock)
    office = BackOffice(store, clock=clock)
    martin = Family(
        "F1", "Martin", [Guardian("G1", "Claire", "Martin", email="claire@example.fr")], "G1", quotients=QF
    )
    lea = Child("C1", "Léa", "Martin", dt.date(2018, 3, 14), ["F1"], school_class=SchoolClass.CE2)
    office.register_family(AGENT, martin, [lea])
    office.enrol_child(AGENT, Enrolment("E-C1-cantine", "C1", "F1", "cantine", YEAR))
    return Regie(store, clock, gateway, portal, office)


@pytest.fixture(params=["memory", "sqlite"])
def make(request: pytest.FixtureRequest, tmp_path: Path) -> Make:
    def build(commune: Commune | None = None) -> Regie:
        store: CommuneStore = (
            MemoryStore() if request.param == "memory" else SqliteStore(tmp_path / "c.sqlite")
        )
        return _open(store, commune)

    return build


@pytest.fixture
def regie(make: Make) -> Regie:
    return make(None)


def _november_billed(regie: Regie) -> Invoice:
    """Léa booked every meal of November and December in October; November is invoiced on 1 December."""
    regie.at(at(2026, 10, 12)).book(regie.meals(NOVEMBER) + regie.meals(DECEMBER))
    (november,) = regie.bill(NOVEMBER, at(2026, 12, 1))
    return november


def _regularisations(document: Invoice) -> list[tuple[str, tuple[str, dt.date] | None, Money]]:
    return [(line.reason, line.regularises, line.total) for line in document.lines if line.regularises]


def test_an_absence_justified_after_the_month_was_invoiced_is_deducted_on_the_next_invoice(
    regie: Regie,
) -> None:
    november = _november_billed(regie)
    monday = dt.date(2026, 11, 16)
    regie.at(at(2026, 12, 3)).record(monday, AttendanceStatus.ABSENT_JUSTIFIED)
    report = regie.at(at(2027, 1, 4)).office.run_month_end(AGENT, "enfance", DECEMBER)
    assert (report.regularisations, report.total_regularised) == (1, Money("-2.60"))
    assert report.message_fr.endswith(
        "émis le lundi 4 janvier 2027 ; dont 1 ligne de régularisation de factures précédentes (-2,60\xa0€)."
    )
    (december,) = (d for d in regie.documents() if d.period == DECEMBER)
    assert _regularisations(december) == [("regularisation", (november.number, monday), Money("-2.60"))]
    line = next(line for line in december.lines if line.regularises)
    assert line.explanation == (
        f"Régularisation de la facture {november.number} du mardi 1er décembre 2026 pour le lundi "
        "16 novembre 2026 : déjà facturé 2,60\xa0€, désormais dû 0,00\xa0€ (absence justifiée)."
    )
    # November's invoice is never edited; December's meals are billed as usual beside the regularisation.
    with regie.store.unit_of_work() as uow:
        assert uow.documents.invoice(november.number) == november
    meals = len(regie.meals(DECEMBER))
    assert december.total == Money("2.60") * meals - Money("2.60")


def test_a_correction_is_regularised_once_and_a_rerun_issues_nothing(regie: Regie) -> None:
    _november_billed(regie)
    regie.at(at(2026, 12, 3)).record(dt.date(2026, 11, 16), AttendanceStatus.ABSENT_JUSTIFIED)
    regie.bill(DECEMBER, at(2027, 1, 4))
    assert regie.bill(DECEMBER, at(2027, 1, 5)) == ()
    # January has no meal booked: the correction, already regularised in December, is not billed again.
    assert regie.bill(DateRange.month(2027, 1), at(2027, 2, 1)) == ()


def test_a_late_medical_certificate_becomes_a_deduction(make: Make) -> None:
    # The commune gives families ten days to bring the certificate of an illness, with no carence day.
    commune = example_commune()
    policy = attrs.evolve(
        commune.absence_policies["cantine"], proof_delay=ProofDelay(10, DelayUnit.DAYS), carence_days=0
    )
    regie = make(attrs.evolve(commune, absence_policies={**commune.absence_policies, "cantine": policy}))
    regie.at(at(2026, 10, 12)).book(regie.meals(NOVEMBER) + regie.meals(DECEMBER))
    ill = DateRange(dt.date(2026, 11, 26), dt.date(2026, 11, 27))
    regie.at(at(2026, 11, 26, 8)).portal.declare_absence(MARTIN, "C1", ill, AbsenceReason.ILLNESS)
    (november,) = regie.bill(NOVEMBER, at(2026, 12, 1))
    # Without the certificate yet, the two days are billed (awaited), as November's invoice says.
    billed = [line for line in november.lines if set(line.days) & {ill.start, ill.end}]
    assert sum((line.total for line in billed), Money(0)) == Money("5.20")
    regie.at(at(2026, 12, 2)).office.record_absence_proof(AGENT, "F1", "C1", ill)
    (december,) = regie.bill(DECEMBER, at(2027, 1, 4))
    assert _regularisations(december) == [
        ("regularisation", (november.number, dt.date(2026, 11, 26)), Money("-2.60")),
        ("regularisation", (november.number, dt.date(2026, 11, 27)), Money("-2.60")),
    ]


@pytest.mark.parametrize("seen", [AttendanceStatus.PRESENT_UNBOOKED, AttendanceStatus.PRESENT])
def test_the_yearly_tolerance_of_presences_without_booking_counts_earlier_months(
    make: Make, seen: AttendanceStatus
) -> None:
    # The canteen tolerates 2 presences without booking per school year, then adds 3,00 € to each.
    text = (
        example_path()
        .read_text(encoding="utf-8")
        .replace(
            'sibling_reduction = ["0", "10", "20"]',
            'sibling_reduction = ["0", "10", "20"]\nunbooked_presence = { fixed = "3.00", tolerance = 2 }',
            1,
        )
    )
    regie = make(loads_commune(text))
    for day in (dt.date(2026, 10, 5), dt.date(2026, 10, 6)):
        regie.at(at(2026, 10, 6, 18)).record(day, AttendanceStatus.PRESENT_UNBOOKED)
    regie.bill(OCTOBER, at(2026, 11, 2))  # 5,20 €: below the 15 € threshold, carried
    # Monday 9 November, not booked: seen at the canteen (recorded as present without booking, or present).
    regie.at(at(2026, 11, 9, 18)).record(dt.date(2026, 11, 9), seen)
    regie.at(at(2026, 11, 10)).book(regie.meals(DateRange(dt.date(2026, 11, 16), dt.date(2026, 11, 30))))
    regie.at(at(2026, 11, 16, 18)).record(dt.date(2026, 11, 16), AttendanceStatus.PRESENT)  # booked: no count
    (november,) = regie.bill(NOVEMBER, at(2026, 12, 1))
    surcharges = [line for line in november.lines if line.reason == "surcharge.unbooked_presence"]
    assert [(line.days, line.total) for line in surcharges] == [((dt.date(2026, 11, 9),), Money("3.00"))]
    # October's two presences, carried below the threshold, are issued now with it, without surcharge.
    unbooked = [line for line in november.lines if line.reason == "attendance.present_unbooked"]
    assert sorted(day for line in unbooked for day in line.days) == [
        dt.date(2026, 10, 5),
        dt.date(2026, 10, 6),
        dt.date(2026, 11, 9),
    ]


def test_a_presence_recorded_after_its_month_was_billed_is_billed_on_the_next_invoice(regie: Regie) -> None:
    thursday = dt.date(2026, 11, 12)  # Léa was not booked that day, but ate at the canteen
    regie.at(at(2026, 10, 12)).book(
        [d for d in regie.meals(NOVEMBER) + regie.meals(DECEMBER) if d != thursday]
    )
    regie.bill(NOVEMBER, at(2026, 12, 1))
    friday = dt.date(2026, 11, 20)  # booked and present: recorded again after the run, nothing changes
    regie.at(at(2026, 12, 3)).record(friday, AttendanceStatus.PRESENT)
    regie.record(thursday, AttendanceStatus.PRESENT_UNBOOKED)
    (december,) = regie.bill(DECEMBER, at(2027, 1, 4))
    late = [line for line in december.lines if thursday in line.days]
    assert [(line.reason, line.days, line.total) for line in late] == [
        ("attendance.present_unbooked", (thursday,), Money("2.60"))
    ]
    assert not _regularisations(december)  # the unchanged Friday is worth what was invoiced


def test_a_corrected_quotient_regularises_the_days_already_invoiced(regie: Regie) -> None:
    november = _november_billed(regie)
    # The agent had typed 800 instead of 500: 1,10 € a meal, not 2,60 €, from the start of the year.
    corrected = Family(
        "F1",
        "Martin",
        [Guardian("G1", "Claire", "Martin", email="claire@example.fr")],
        "G1",
        quotients=[QuotientFamilial(500, dt.date(2026, 9, 1))],
    )
    regie.at(at(2026, 12, 3)).office.register_family(AGENT, corrected)
    (december,) = regie.bill(DECEMBER, at(2027, 1, 4))
    fixed = _regularisations(december)
    november_meals = regie.meals(NOVEMBER)
    assert [day for _, (number, day), _ in fixed] == november_meals  # type: ignore[misc]
    assert {total for _, _, total in fixed} == {Money("-1.50")}
    assert {number for _, (number, _), _ in fixed} == {november.number}  # type: ignore[misc]


def test_a_correction_older_than_the_window_is_refused_and_nothing_is_saved(make: Make) -> None:
    commune = example_commune()
    regies = tuple(attrs.evolve(r, correction_window_days=20) for r in commune.regies)
    regie = make(attrs.evolve(commune, regies=regies))
    _november_billed(regie)
    regie.at(at(2026, 12, 10))
    with pytest.raises(InvalidInput) as error:
        regie.record(dt.date(2026, 11, 16), AttendanceStatus.ABSENT_JUSTIFIED)
    assert error.value.code == "billing.correction_too_old"
    assert error.value.message_fr == (
        "Le lundi 16 novembre 2026 a été facturé il y a plus de 20 jours : il ne peut plus être corrigé "
        "(les corrections sont possibles à partir du vendredi 20 novembre 2026)."
    )
    with regie.store.unit_of_work() as uow:
        assert uow.attendance.of_family("F1", NOVEMBER) == ()
        assert uow.runs.changed_days("enfance") == {}
    # A day inside the window is still corrected.
    regie.record(dt.date(2026, 11, 23), AttendanceStatus.ABSENT_JUSTIFIED)
    with regie.store.unit_of_work() as uow:
        assert uow.runs.changed_days("enfance") == {"F1": (dt.date(2026, 11, 23),)}


def test_days_not_yet_billed_are_not_corrections(regie: Regie) -> None:
    regie.at(at(2026, 10, 12)).book(regie.meals(NOVEMBER))
    regie.at(at(2026, 11, 16, 18)).record(dt.date(2026, 11, 16), AttendanceStatus.ABSENT_JUSTIFIED)
    with regie.store.unit_of_work() as uow:
        assert uow.runs.billed_through("enfance") is None
        assert uow.runs.changed_days("enfance") == {}
    regie.bill(NOVEMBER, at(2026, 12, 1))
    with regie.store.unit_of_work() as uow:
        assert uow.runs.billed_through("enfance") == dt.date(2026, 11, 30)


def test_attendance_goes_to_the_household_whose_booking_the_child_came_on(regie: Regie) -> None:
    # Léa's parents live apart: her father's household books Thursday 19 November, her mother's the rest.
    father = Family(
        "F9", "Martin", [Guardian("G9", "Paul", "Martin", email="paul@example.fr")], "G9", quotients=QF
    )
    lea = Child("C1", "Léa", "Martin", dt.date(2018, 3, 14), ["F1", "F9"], school_class=SchoolClass.CE2)
    regie.office.register_family(AGENT, father, [lea])
    regie.office.enrol_child(AGENT, Enrolment("E-C1-cantine-F9", "C1", "F9", "cantine", YEAR))
    thursday, friday = dt.date(2026, 11, 19), dt.date(2026, 11, 20)
    paul = FamilyMember("acc-paul", [AccountLink("saint-aubin", "F9", "G9", "act-9", at(2026, 9, 1))])
    regie.at(at(2026, 10, 12)).portal.validate_basket(
        paul, "F9", [BasketLine(Action.BOOK, "C1", "repas", thursday)]
    )
    regie.book([friday])
    regie.at(at(2026, 11, 20, 18)).office.record_attendance(
        AGENT,
        [
            AttendanceFact("C1", "repas", thursday, AttendanceStatus.ABSENT_UNJUSTIFIED),
            AttendanceFact("C1", "repas", friday, AttendanceStatus.ABSENT_UNJUSTIFIED),
        ],
    )
    with regie.store.unit_of_work() as uow:
        assert [f.day for f in uow.attendance.of_family("F9", NOVEMBER)] == [thursday]
        assert [f.day for f in uow.attendance.of_family("F1", NOVEMBER)] == [friday]


def test_a_payment_answered_on_new_years_night_is_numbered_in_the_communes_new_year(regie: Regie) -> None:
    november = _november_billed(regie)  # due Thursday 31 December
    attempt = regie.at(at(2026, 12, 31, 23)).portal.pay_invoices(MARTIN, "F1", [november.number])
    # The gateway answers at 23:30 UTC, 00:30 on 1 January 2027 in Saint-Aubin.
    regie.gateway.pay(attempt.payment_id, dt.datetime(2026, 12, 31, 23, 30, tzinfo=dt.UTC))
    regie.at(dt.datetime(2027, 1, 1, 0, 31, tzinfo=PARIS))
    result = regie.portal.payment_notification(regie.gateway.notification(attempt.payment_id))
    assert result.payment is not None
    assert result.payment.number == "PAY-enfance-2027-000001"


def test_a_certificate_is_recorded_by_an_agent_for_an_absence_declared(regie: Regie) -> None:
    ill = DateRange(dt.date(2026, 11, 26), dt.date(2026, 11, 27))
    with pytest.raises(NotFound) as unknown:
        regie.office.record_absence_proof(AGENT, "F1", "C1", ill)
    assert unknown.value.code == "not_found.absence"
    regie.at(at(2026, 11, 26, 8)).portal.declare_absence(MARTIN, "C1", ill, AbsenceReason.ILLNESS)
    with pytest.raises(PermissionDenied):
        regie.office.record_absence_proof(MARTIN, "F1", "C1", ill)
    received = at(2026, 11, 27, 10)
    proved = regie.office.record_absence_proof(AGENT, "F1", "C1", ill, received_at=received)
    assert (proved.proof_received_at, proved.declared_at) == (received, at(2026, 11, 26, 8))
    with regie.store.unit_of_work() as uow:
        assert uow.attendance.absences_of("F1") == (proved,)
