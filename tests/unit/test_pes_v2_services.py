"""The régie's outputs through the back office and the family portal, on every store.

Saint-Aubin-des-Prés, Wednesday 2 December 2026 at 9:30. The régisseur of the régie enfance sends November's
invoices to the Treasury as a PES V2 file; Claire Martin downloads her tax attestation for 2026 and the
presence attestation of her son Lou for November.
"""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import attrs
import pytest

from espacefamille.adapters.fake_gateway import FakeGateway
from espacefamille.billing.documents import Allocation, Payment, PaymentMethod
from espacefamille.billing.mandates import FamilyMandate, Mandate
from espacefamille.calendar.periods import DateRange
from espacefamille.config import dumps_commune, loads_commune
from espacefamille.errors import InvalidInput, PermissionDenied
from espacefamille.families.accounts import AccountLink, Agent, AgentRole, FamilyMember
from espacefamille.model import Booking, BookingStatus, Child
from espacefamille.money import Money
from espacefamille.ports import CommuneStore, FixedClock, UnitOfWork
from espacefamille.rules.attendance import AttendanceFact, AttendanceStatus
from espacefamille.services import BackOffice, FamilyPortal, transact
from tests.golden.test_pes_v2 import FAMILIES, INVOICES, PES, household
from tests.stores import KINDS, empty_store
from tests.unit.test_attestations import meal_commune

PARIS = ZoneInfo("Europe/Paris")
NOW = dt.datetime(2026, 12, 2, 9, 30, tzinfo=PARIS)
NOVEMBER = DateRange(dt.date(2026, 11, 1), dt.date(2026, 11, 30))
REGISSEUR = Agent("reg-1", "saint-aubin", AgentRole.REGISSEUR)
ANIMATEUR = Agent("anim-1", "saint-aubin", AgentRole.ANIMATEUR)
LOU = Child("C1", "Lou", "Martin", dt.date(2021, 3, 14), ["F1"])
ZOE = Child("C7", "Zoé", "Müller", dt.date(2016, 5, 1), ["F2"])


def seed_outputs(store: CommuneStore) -> None:
    """The commune, the Martin and Müller households, November's invoices, a cheque and Lou's days."""
    # the example commune with its meal part and its régie known to Hélios
    text_commune = loads_commune(dumps_commune(meal_commune()) + PES)

    def seed(uow: UnitOfWork) -> None:
        uow.save_commune(text_commune)
        for family in FAMILIES.values():
            uow.families.save(family)
        uow.families.save_child(LOU)
        uow.families.save_child(ZOE)
        for invoice in INVOICES:
            uow.documents.save_invoice(invoice)
        cheque = Payment(
            "PAY-enfance-2026-000001",
            "enfance",
            "F1",
            Money("20.00"),
            dt.datetime(2026, 12, 10, 9, tzinfo=PARIS),
            PaymentMethod.CHEQUE,
        )
        uow.documents.save_payment(cheque)
        uow.documents.save_allocations([Allocation(cheque.number, INVOICES[0].number, Money("20.00"))], "F1")
        uow.attendance.save(
            [
                AttendanceFact("C1", "repas", dt.date(2026, 11, day), AttendanceStatus.PRESENT)
                for day in (2, 3, 5)
            ]
            + [AttendanceFact("C1", "matin", dt.date(2026, 11, 2), AttendanceStatus.ABSENT_JUSTIFIED)],
            "F1",
        )

    transact(store, seed)


@pytest.fixture(params=KINDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[CommuneStore]:
    with empty_store(request.param, tmp_path, "outputs") as store:
        seed_outputs(store)
        yield store


def office(store: CommuneStore) -> BackOffice:
    return BackOffice(store, clock=FixedClock(NOW))


def test_the_regisseur_gets_novembers_pes_file_from_the_store(store: CommuneStore) -> None:
    made = office(store).pes_v2_file(REGISSEUR, "enfance", NOVEMBER, bordereau=7)
    assert made.invoices == ("FAC-enfance-2026-000041", "FAC-enfance-2026-000042")
    assert made.left_out == (("FAC-enfance-2026-000043", "pes.zero_invoice_left_out"),)
    root = ET.fromstring(made.content)
    assert root.find("EnTetePES/IdColl").get("V") == "21350123400017"  # type: ignore[union-attr]
    assert root.find("PES_RecetteAller/Bordereau/BlocBordereau/IdBord").get("V") == "7"  # type: ignore[union-attr]


def test_a_payer_without_address_stops_the_file_naming_the_family(store: CommuneStore) -> None:
    transact(store, lambda uow: uow.families.save(household("F1", "Martin", "Claire")))
    with pytest.raises(InvalidInput) as error:
        office(store).pes_v2_file(REGISSEUR, "enfance", NOVEMBER, bordereau=7)
    assert error.value.code == "pes.no_address"
    assert "Martin (F1)" in error.value.message_fr


def test_only_the_regisseur_builds_the_file(store: CommuneStore) -> None:
    with pytest.raises(PermissionDenied):
        office(store).pes_v2_file(ANIMATEUR, "enfance", NOVEMBER, bordereau=7)


def test_tax_attestations_of_the_year_from_the_payments_kept_by_the_store(store: CommuneStore) -> None:
    attestations = office(store).tax_attestations(REGISSEUR, 2026)
    # 20 € paid of 45,40 €: Lou's care (12 meals × 1,10 € of care + 4 × 1,50 €) = 19,20 € in proportion
    assert [(a.family_id, [(c.child_id, c.amount) for c in a.children]) for a in attestations] == [
        ("F1", [("C1", Money("8.45"))])  # 20 × 19,20 / 45,40 = 8,458…
    ]
    portal = FamilyPortal(store, gateway=FakeGateway(), clock=FixedClock(NOW))
    assert portal.tax_attestation(REGISSEUR, "F1", 2026) == attestations[0]


def test_a_presence_attestation_counts_the_days_lou_was_there(store: CommuneStore) -> None:
    attestation = office(store).presence_attestation(REGISSEUR, "F1", NOVEMBER)
    assert [(p.child_id, p.prestation_id, p.count) for p in attestation.presences] == [("C1", "repas", 3)]
    portal = FamilyPortal(store, gateway=FakeGateway(), clock=FixedClock(NOW))
    assert portal.presence_attestation(REGISSEUR, "F1", NOVEMBER, ["C1"]) == attestation


def test_an_invoice_of_a_household_on_direct_debit_carries_its_mandate(store: CommuneStore) -> None:
    mandate = Mandate("SAP-F2-0002", dt.date(2025, 9, 1), "Léa Müller-Œuvray", "FR1420041010050500013M02606")
    kept = FamilyMandate(mandate, "F2", "enfance", dt.date(2025, 9, 1))

    def on_direct_debit(uow: UnitOfWork) -> None:
        uow.families.save(attrs.evolve(FAMILIES["F2"], direct_debit=True))
        uow.mandates.save(kept)

    transact(store, on_direct_debit)
    root = ET.fromstring(office(store).pes_v2_file(REGISSEUR, "enfance", NOVEMBER, bordereau=7).content)
    first, second = root.findall("PES_RecetteAller/Bordereau/Piece")
    assert first.find(".//InfoPrelevementSEPA") is None  # the Martins pay otherwise
    sepa = {child.tag: child.get("V") for child in second.find(".//InfoPrelevementSEPA")}  # type: ignore[union-attr]
    # issued on 1 December: the régie's day (the 10th) is within the 14 days' notice, so the 15th
    assert (sepa["RefUniMdt"], sepa["DtePrel"], sepa["SequencePres"]) == ("SAP-F2-0002", "2026-12-15", "02")


def test_claire_downloads_her_own_attestations_and_not_another_households(store: CommuneStore) -> None:
    portal = FamilyPortal(store, gateway=FakeGateway(), clock=FixedClock(NOW))
    claire = FamilyMember("acc-claire", [AccountLink("saint-aubin", "F1", "GF1", "act-1", NOW)])
    assert portal.tax_attestation(claire, "F1", 2026).total == Money("8.45")
    assert portal.presence_attestation(claire, "F1", NOVEMBER).presences[0].count == 3
    with pytest.raises(PermissionDenied):
        portal.tax_attestation(claire, "F2", 2026)
    with pytest.raises(PermissionDenied):
        portal.presence_attestation(claire, "F2", NOVEMBER)


def test_a_day_paid_at_booking_is_on_the_tax_attestation_from_the_store(store: CommuneStore) -> None:
    paid = Booking(
        "C1",
        "journee",
        dt.date(2026, 12, 23),
        "F1",
        BookingStatus.BOOKED,
        dt.datetime(2026, 12, 1, 18, tzinfo=PARIS),
        paid=Money("12.00"),
    )
    transact(store, lambda uow: uow.bookings.save([paid]))
    (attestation,) = office(store).tax_attestations(REGISSEUR, 2026)
    assert attestation.children[0].amount == Money("20.45")  # 8,45 € of November's invoice + 12,00 €
