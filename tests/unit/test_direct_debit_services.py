"""SEPA direct debit through the back office, on every store.

Saint-Aubin-des-Prés, Tuesday 1 December 2026 at 9:30. The régie enfance collects by direct debit: Claire
Martin (F1) and Karim Bernard (F2) signed mandates in September. November's invoices are issued today and
say when and on which account they will be debited; the régisseur builds the debit file of Tuesday
15 December — the first TARGET2 day fourteen days after the invoice, the régie's debit day being the 10th.
Karim pays at the counter on the 3rd: his invoice leaves the file. The bank then returns Claire's debit for
insufficient funds (AM04): her debt is reopened.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Iterator
from importlib import resources
from pathlib import Path
from typing import TypeVar
from zoneinfo import ZoneInfo

import attrs
import pytest
import xmlschema
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from espacefamille.adapters.fake_gateway import FakeGateway
from espacefamille.adapters.memory import MemoryStore
from espacefamille.billing.documents import Allocation, PaymentMethod
from espacefamille.billing.mandates import SequenceType
from espacefamille.calendar.periods import DateRange
from espacefamille.config import dumps_commune, loads_commune
from espacefamille.errors import EspaceFamilleError, InvalidConfiguration, InvalidInput, PermissionDenied
from espacefamille.families.accounts import AccountLink, Agent, AgentRole, FamilyMember
from espacefamille.interop.invoice_html import render_invoice_html
from espacefamille.model import Booking, BookingStatus, Child, PostalAddress
from espacefamille.money import Money
from espacefamille.ports import CommuneStore, FixedClock, UnitOfWork
from espacefamille.rules.unpaid import Debt
from espacefamille.services import BackOffice, FamilyPortal, transact
from espacefamille.services.debits import RejectsImport
from espacefamille.services.portal import billing_ledger, unpaid_debts
from espacefamille.testing import strategies as s
from espacefamille.testing.builders import family
from espacefamille.testing.faults import FailingStore, InjectedFault
from tests.example_text import bare_example_text
from tests.stores import KINDS, empty_store

D = dt.date
_T = TypeVar("_T")
PARIS = ZoneInfo("Europe/Paris")
NOW = dt.datetime(2026, 12, 1, 9, 30, tzinfo=PARIS)
NOVEMBER = DateRange(D(2026, 11, 1), D(2026, 11, 30))
DEBIT_DAY = D(2026, 12, 15)
RETURNED = dt.datetime(2026, 12, 18, 10, tzinfo=PARIS)
REGISSEUR = Agent("reg-1", "saint-aubin", AgentRole.REGISSEUR)
GESTIONNAIRE = Agent("gest-1", "saint-aubin", AgentRole.GESTIONNAIRE)
ANIMATEUR = Agent("anim-1", "saint-aubin", AgentRole.ANIMATEUR)
XSD = resources.files("sepaxml").joinpath("schemas", "pain.008.001.02.xsd")
GOLDEN = Path(__file__).parent.parent / "golden" / "data" / "pain008_service_enfance_2026-12-15.xml"
SEPA = """
[regies.enfance.sepa]
ics = "FR72ZZZ123456"
iban = "FR76 3000 1007 9412 3456 7890 185"
bic = "BDFEFRPPCCT"
"""
CLAIRE_IBAN = "FR76 3000 6000 0112 3456 7890 189"
KARIM_IBAN = "FR14 2004 1010 0505 0001 3M02 606"
MEALS = [D(2026, 11, day) for day in (9, 10, 12, 13, 16, 17)]


def seed(store: CommuneStore) -> None:
    """The commune with its régie enfance as a SEPA creditor, two households and November's meals."""
    commune = loads_commune(bare_example_text() + SEPA)

    def work(uow: UnitOfWork) -> None:
        uow.save_commune(commune)
        address = PostalAddress(["12 rue des Lilas"], "35000", "Rennes")
        uow.families.save(attrs.evolve(family("F1", "Martin"), address=address))
        uow.families.save(family("F2", "Bernard"))
        for child_id, family_id in (("C1", "F1"), ("C2", "F2")):
            uow.families.save_child(Child(child_id, "Léa", "Martin", D(2018, 5, 14), [family_id]))
            uow.bookings.save(
                Booking(
                    child_id,
                    "repas",
                    day,
                    family_id,
                    BookingStatus.BOOKED,
                    dt.datetime(2026, 10, 1, 8, tzinfo=PARIS),
                )
                for day in MEALS
            )

    transact(store, work)


@pytest.fixture(params=KINDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[CommuneStore]:
    with empty_store(request.param, tmp_path, "debits") as store:
        seed(store)
        yield store


def office(store: CommuneStore, now: dt.datetime = NOW) -> BackOffice:
    return BackOffice(store, clock=FixedClock(now))


def read(store: CommuneStore, query: Callable[[UnitOfWork], _T]) -> _T:
    with store.unit_of_work() as uow:
        return query(uow)


def register_both(store: CommuneStore) -> None:
    back = office(store)
    back.register_mandate(
        GESTIONNAIRE, "F1", "enfance", signed_on=D(2026, 9, 3), iban=CLAIRE_IBAN, bic="AGRIFRPP"
    )
    back.register_mandate(
        REGISSEUR, "F2", "enfance", signed_on=D(2026, 9, 8), iban=KARIM_IBAN, rum="SAP-F2-0001"
    )


def bill_november(store: CommuneStore) -> dict[str, str]:
    """November billed on 1 December: the invoice number of each household."""
    office(store).run_month_end(REGISSEUR, "enfance", NOVEMBER)

    def numbers(uow: UnitOfWork) -> dict[str, str]:
        return {fid: uow.documents.invoices_of(fid)[0].number for fid in ("F1", "F2")}

    return read(store, numbers)


def test_a_registered_mandate_puts_the_household_on_direct_debit(store: CommuneStore) -> None:
    registered = office(store).register_mandate(
        GESTIONNAIRE, "F1", "enfance", signed_on=D(2026, 9, 3), iban=CLAIRE_IBAN
    )
    assert registered.rum == "enfance-F1-001"
    assert registered.mandate.debtor_name == "Camille Martin"
    assert registered.mandate.iban == "FR7630006000011234567890189"
    assert registered.mandate.sequence is SequenceType.FRST
    assert read(store, lambda uow: uow.families.get("F1").direct_debit) is True
    assert office(store).mandates(REGISSEUR, "enfance") == (registered,)
    # A second mandate with the régie (a new account) replaces the first.
    second = office(store).register_mandate(
        GESTIONNAIRE, "F1", "enfance", signed_on=D(2026, 11, 20), iban=KARIM_IBAN
    )
    assert second.rum == "enfance-F1-002"
    first, kept = office(store).mandates(REGISSEUR, "enfance")
    assert (first.revoked_on, kept.revoked_on) == (D(2026, 12, 1), None)
    revoked = office(store).revoke_mandate(GESTIONNAIRE, second.rum)
    assert revoked.revoked_on == D(2026, 12, 1)
    assert office(store).revoke_mandate(GESTIONNAIRE, second.rum) == revoked
    assert read(store, lambda uow: uow.families.get("F1").direct_debit) is False


@pytest.mark.parametrize(
    ("changes", "code", "words"),
    [
        ({"iban": "FR76 3000 6000 0112 3456 7890 188"}, "sepa.invalid_iban", "IBAN invalide"),
        ({"signed_on": None}, "sepa.mandate_unsigned", "Date de signature manquante"),
        ({"signed_on": D(2026, 12, 2)}, "sepa.signed_in_future", "après aujourd'hui"),
        ({"bic": "NOTABIC"}, "sepa.invalid_bic", "BIC invalide"),
        ({"rum": "RUM avec é"}, "sepa.invalid_rum", "RUM"),
    ],
)
def test_a_bad_mandate_is_refused_naming_the_family(
    store: CommuneStore, changes: dict[str, object], code: str, words: str
) -> None:
    arguments: dict[str, object] = {"signed_on": D(2026, 9, 3), "iban": CLAIRE_IBAN, **changes}
    with pytest.raises(InvalidInput) as refused:
        office(store).register_mandate(GESTIONNAIRE, "F1", "enfance", **arguments)  # type: ignore[arg-type]
    assert refused.value.code == code
    assert refused.value.message_fr.startswith("Foyer Foyer Martin (F1) : ")
    assert words in refused.value.message_fr
    assert refused.value.details["family_id"] == "F1"
    assert read(store, lambda uow: uow.mandates.of_family("F1")) == ()


def test_a_rum_is_used_once_and_a_regie_without_creditor_takes_no_mandate(store: CommuneStore) -> None:
    register_both(store)
    with pytest.raises(InvalidInput) as taken:
        office(store).register_mandate(
            GESTIONNAIRE, "F1", "enfance", signed_on=D(2026, 9, 3), iban=CLAIRE_IBAN, rum="SAP-F2-0001"
        )
    assert taken.value.code == "sepa.rum_taken"
    with pytest.raises(InvalidInput) as none:
        office(store).register_mandate(
            GESTIONNAIRE, "F1", "loisirs", signed_on=D(2026, 9, 3), iban=CLAIRE_IBAN
        )
    assert none.value.code == "sepa.no_creditor"
    assert "[regies.loisirs.sepa]" in none.value.message_fr
    with pytest.raises(PermissionDenied):
        office(store).register_mandate(ANIMATEUR, "F1", "enfance", signed_on=D(2026, 9, 3), iban=CLAIRE_IBAN)


def test_novembers_invoice_says_when_and_on_which_account_it_is_debited(store: CommuneStore) -> None:
    register_both(store)
    numbers = bill_november(store)
    invoice = read(store, lambda uow: uow.documents.invoice(numbers["F1"]))
    # Issued Tuesday 1 December: the 10th would give 9 days' notice; 14 days make it Tuesday 15 December.
    assert invoice.direct_debit_on == DEBIT_DAY
    mandate = read(store, lambda uow: uow.mandates.of_family("F1")[0].mandate)
    commune = read(store, lambda uow: uow.commune())
    housed = read(store, lambda uow: uow.families.get("F1"))
    page = render_invoice_html(invoice, commune, housed, mandate=mandate)
    assert "sur votre compte FR76 **** 0189 (mandat enfance-F1-001) le mardi 15 décembre 2026" in page
    assert "12 rue des Lilas" in page
    assert "35000 Rennes" in page


def test_the_debit_file_of_15_december_collects_the_invoices_and_records_their_payments(
    store: CommuneStore,
) -> None:
    register_both(store)
    numbers = bill_november(store)
    built = office(store).direct_debit_file(REGISSEUR, "enfance", DEBIT_DAY)
    batch = built.batch
    assert batch.id == "enfance-20261215-01"
    assert [c.invoice_number for c in batch.collections] == [numbers["F1"], numbers["F2"]]
    assert {c.sequence for c in batch.collections} == {SequenceType.FRST}
    assert built.left_out == ()
    assert built.message_fr.startswith("Fichier enfance-20261215-01 : 2 prélèvements pour ")
    xmlschema.XMLSchema(str(XSD)).validate(built.content.decode("utf-8"))
    assert read(store, lambda uow: uow.mandates.batch(batch.id)) == batch
    # Each invoice is paid by a direct-debit payment of the 15th; the mandates' next collections recur.
    for family_id in ("F1", "F2"):
        with store.unit_of_work() as uow:
            payments = uow.documents.payments_of(family_id)
            mandate = uow.mandates.of_family(family_id)[0]
        assert [(p.method, p.received_at.date()) for p in payments] == [
            (PaymentMethod.DIRECT_DEBIT, DEBIT_DAY)
        ]
        assert mandate.mandate.sequence is SequenceType.RCUR
        assert mandate.last_collected_on == DEBIT_DAY


def test_the_file_built_from_the_services_is_the_golden_one(store: CommuneStore) -> None:
    register_both(store)
    bill_november(store)
    content = office(store).direct_debit_file(REGISSEUR, "enfance", DEBIT_DAY).content
    if os.environ.get("UPDATE_GOLDEN"):  # pragma: no cover - regenerating after a wanted change
        GOLDEN.write_bytes(content)
    assert content == GOLDEN.read_bytes()


def test_building_the_file_twice_debits_nobody_twice(store: CommuneStore) -> None:
    register_both(store)
    bill_november(store)
    office(store).direct_debit_file(REGISSEUR, "enfance", DEBIT_DAY)
    with pytest.raises(InvalidInput) as again:
        office(store).direct_debit_file(REGISSEUR, "enfance", DEBIT_DAY)
    assert again.value.code == "sepa.nothing_to_collect"
    assert "déjà dans le fichier enfance-20261215-01" in again.value.message_fr
    assert len(read(store, lambda uow: uow.mandates.batches_of("enfance"))) == 1
    assert len(read(store, lambda uow: uow.documents.payments_of("F1"))) == 1


def test_an_invoice_paid_at_the_counter_before_the_file_is_left_out(store: CommuneStore) -> None:
    register_both(store)
    numbers = bill_november(store)
    owed = read(store, lambda uow: uow.documents.invoice(numbers["F2"]).total)
    counter = office(store, dt.datetime(2026, 12, 3, 16, tzinfo=PARIS))
    counter.record_payment(REGISSEUR, "F2", "enfance", [numbers["F2"]], owed, PaymentMethod.CASH)
    built = office(store, dt.datetime(2026, 12, 4, 9, tzinfo=PARIS)).direct_debit_file(
        REGISSEUR, "enfance", DEBIT_DAY
    )
    assert [c.invoice_number for c in built.batch.collections] == [numbers["F1"]]
    assert [(item.invoice_number, item.code) for item in built.left_out] == [
        (numbers["F2"], "sepa.paid_otherwise")
    ]
    assert "déjà réglée autrement" in built.left_out[0].message_fr
    assert numbers["F2"] not in built.batch.document
    assert built.message_fr.endswith("; 1 facture laissée de côté.")
    # Karim's mandate was not used: its next collection is still a first one.
    mandate = read(store, lambda uow: uow.mandates.get("SAP-F2-0001"))
    assert mandate.mandate.sequence is SequenceType.FRST


def test_a_partly_paid_invoice_is_debited_for_what_is_left(store: CommuneStore) -> None:
    register_both(store)
    numbers = bill_november(store)
    owed = read(store, lambda uow: uow.documents.invoice(numbers["F1"]).total)
    office(store).record_payment(
        REGISSEUR, "F1", "enfance", [numbers["F1"]], Money("5.00"), PaymentMethod.CHEQUE
    )
    built = office(store).direct_debit_file(REGISSEUR, "enfance", DEBIT_DAY)
    collected = {c.invoice_number: c.amount for c in built.batch.collections}
    assert collected[numbers["F1"]] == owed - Money("5.00")


@pytest.mark.parametrize(
    ("day", "code"),
    [
        (D(2026, 12, 1), "sepa.debit_date_past"),
        (D(2026, 11, 30), "sepa.debit_date_past"),
        (D(2026, 12, 19), "sepa.not_a_business_day"),
        (D(2026, 12, 25), "sepa.not_a_business_day"),
    ],
)
def test_a_debit_date_in_the_past_or_a_closing_day_is_refused(
    store: CommuneStore, day: dt.date, code: str
) -> None:
    register_both(store)
    bill_november(store)
    with pytest.raises(InvalidInput) as refused:
        office(store).direct_debit_file(REGISSEUR, "enfance", day)
    assert refused.value.code == code
    assert read(store, lambda uow: uow.mandates.batches_of("enfance")) == ()


def plain(text: str) -> str:
    """``text`` with its no-break spaces (amounts, dates) as plain ones."""
    return text.replace("\u00a0", " ").replace("\u202f", " ")


def reject_claires(store: CommuneStore, reason: str = "AM04") -> tuple[dict[str, str], RejectsImport]:
    """November collected on the 15th; the bank returns Claire's debit on Friday 18 December."""
    register_both(store)
    numbers = bill_november(store)
    office(store).direct_debit_file(REGISSEUR, "enfance", DEBIT_DAY)
    report = f"reference;motif\n{numbers['F1']};{reason}\n".encode()
    return numbers, office(store, RETURNED).import_direct_debit_rejects(REGISSEUR, "enfance", report)


def test_a_reject_reopens_the_original_invoice_with_its_reason_and_issues_none(store: CommuneStore) -> None:
    numbers, imported = reject_claires(store)
    (debt,) = imported.reopened
    assert (debt.invoice_number, debt.reason, debt.mandate_revoked) == (numbers["F1"], "AM04", False)
    assert debt.code == "direct_debit.rejected"
    assert plain(debt.message_fr) == (
        f"Facture {numbers['F1']} : le prélèvement de 24,60 € du mardi 15 décembre 2026 a été rejeté par "
        "votre banque (provision insuffisante, AM04) ; la facture est de nouveau à régler : 24,60 €."
    )
    assert imported.message_fr == "1 prélèvement rejeté enregistré."

    book = read(store, lambda uow: billing_ledger(uow, "F1"))
    assert [invoice.number for invoice in book.invoices] == [numbers["F1"]]  # no new invoice
    assert book.remaining(numbers["F1"]) == debt.amount == Money("24.60")
    assert book.paid(numbers["F1"]) == Money(0)
    collected, returned = sorted(book.payments, key=lambda p: p.number)
    assert (collected.amount, returned.amount) == (debt.amount, -debt.amount)  # what came in went back
    assert returned.number == debt.reversal_number
    assert returned.method is PaymentMethod.DIRECT_DEBIT
    assert plain(returned.reference) == (
        "Prélèvement du mardi 15 décembre 2026 rejeté par votre banque le vendredi 18 décembre 2026 : "
        "provision insuffisante (AM04)"
    )
    collection = read(store, lambda uow: uow.mandates.collections_of("F1")[0])
    assert collection.reject is not None
    assert (collection.reject.on, collection.reject.reason) == (D(2026, 12, 18), "AM04")
    assert collection.reject.document == debt.reversal_number
    # The first collection failed: the next one is a first one again.
    assert read(store, lambda uow: uow.mandates.get("enfance-F1-001").mandate.sequence) is SequenceType.FRST


def test_the_same_report_imported_twice_changes_nothing(store: CommuneStore) -> None:
    numbers, _ = reject_claires(store)
    before = read(store, lambda uow: billing_ledger(uow, "F1"))
    report = f"{numbers['F1']};AM04\n".encode()
    again = office(store, RETURNED).import_direct_debit_rejects(REGISSEUR, "enfance", report)
    assert (again.reopened, again.already_recorded) == ((), (numbers["F1"],))
    after = read(store, lambda uow: billing_ledger(uow, "F1"))
    assert (after.payments, after.allocations, after.invoices) == (
        before.payments,
        before.allocations,
        before.invoices,
    )


def test_a_reopened_invoice_is_owed_again_and_paid_at_the_counter(store: CommuneStore) -> None:
    numbers, _ = reject_claires(store)
    counter = office(store, dt.datetime(2026, 12, 21, 11, tzinfo=PARIS))
    record = counter.record_payment(
        REGISSEUR, "F1", "enfance", [numbers["F1"]], Money("24.60"), PaymentMethod.CHEQUE
    )
    assert [(a.invoice_number, a.amount) for a in record.allocations] == [(numbers["F1"], Money("24.60"))]
    book = read(store, lambda uow: billing_ledger(uow, "F1"))
    assert book.remaining(numbers["F1"]) == Money(0)
    # Kept: 24,60 € received by cheque; the debit came in and went back.
    assert Money.total(p.amount for p in book.payments) == Money("24.60")


def test_a_reopened_invoice_is_listed_to_pay_and_payable_online_no_longer_said_debited(
    store: CommuneStore,
) -> None:
    numbers, _ = reject_claires(store)
    claire = FamilyMember("acc-claire", [AccountLink("saint-aubin", "F1", "F1-g1", "act-1", NOW)])
    (listed,) = FamilyPortal(store, gateway=FakeGateway(), clock=FixedClock(RETURNED)).invoices_to_pay(
        claire, "F1"
    )
    assert (listed.item.number, listed.item.remaining) == (numbers["F1"], Money("24.60"))
    assert (listed.item.payable_online, listed.code) == (True, "payment.payable_online")


def test_the_reopened_invoices_page_says_the_debit_was_rejected_and_how_to_pay(store: CommuneStore) -> None:
    numbers, _ = reject_claires(store)
    invoice, commune, housed, mandate, book = read(
        store,
        lambda uow: (
            uow.documents.invoice(numbers["F1"]),
            uow.commune(),
            uow.families.get("F1"),
            uow.mandates.of_family("F1")[0].mandate,
            billing_ledger(uow, "F1"),
        ),
    )
    page = plain(render_invoice_html(invoice, commune, housed, allocations=book.allocations, mandate=mandate))
    assert "Le prélèvement automatique de cette facture a été rejeté par votre banque" in page
    assert "il reste 24,60 € à payer" in page
    assert "Vous n'avez rien à faire" not in page
    assert "Auprès de la régie" in page


def test_the_unpaid_rules_see_the_reopened_invoice_as_owed_from_its_own_due_date(store: CommuneStore) -> None:
    numbers, _ = reject_claires(store)
    invoice = read(store, lambda uow: uow.documents.invoice(numbers["F1"]))
    after_due = invoice.due_on + dt.timedelta(days=1)
    debts = read(store, lambda uow: unpaid_debts(uow, "F1", after_due))
    assert debts == (Debt(numbers["F1"], "enfance", invoice.due_on, Money("24.60")),)


def test_a_rejected_invoice_is_presented_again_only_when_the_regie_asks(store: CommuneStore) -> None:
    numbers, _ = reject_claires(store)
    later = office(store, RETURNED)
    with pytest.raises(InvalidInput) as refused:
        later.direct_debit_file(REGISSEUR, "enfance", D(2026, 12, 28))
    assert refused.value.code == "sepa.nothing_to_collect"
    assert refused.value.details["left_out"] == [numbers["F1"]]
    made = later.direct_debit_file(REGISSEUR, "enfance", D(2026, 12, 28), represent=[numbers["F1"]])
    assert [(c.invoice_number, c.amount, c.sequence) for c in made.batch.collections] == [
        (numbers["F1"], Money("24.60"), SequenceType.FRST)
    ]
    assert read(store, lambda uow: billing_ledger(uow, "F1").remaining(numbers["F1"])) == Money(0)


def test_the_banks_report_names_its_file_so_an_old_report_never_returns_the_new_presentation(
    store: CommuneStore,
) -> None:
    register_both(store)
    numbers = bill_november(store)
    office(store).direct_debit_file(REGISSEUR, "enfance", DEBIT_DAY)
    first = PAIN_002.format(number=numbers["F1"]).replace("AC04", "AM04").encode()
    bank = office(store, RETURNED)
    assert len(bank.import_direct_debit_rejects(REGISSEUR, "enfance", first).reopened) == 1
    bank.direct_debit_file(REGISSEUR, "enfance", D(2026, 12, 28), represent=[numbers["F1"]])
    # The report of the first file imported again: already recorded, the new presentation stands.
    again = bank.import_direct_debit_rejects(REGISSEUR, "enfance", first)
    assert (again.reopened, again.already_recorded) == ((), (numbers["F1"],))
    assert read(store, lambda uow: billing_ledger(uow, "F1").remaining(numbers["F1"])) == Money(0)
    # The second file's own report returns the second presentation.
    second = first.replace(b"enfance-20261215-01", b"enfance-20261228-01")
    late = office(store, dt.datetime(2027, 1, 4, 9, tzinfo=PARIS))
    (debt,) = late.import_direct_debit_rejects(REGISSEUR, "enfance", second).reopened
    assert debt.debit_date == D(2026, 12, 28)
    assert read(store, lambda uow: billing_ledger(uow, "F1").remaining(numbers["F1"])) == Money("24.60")


def test_represent_is_refused_for_an_invoice_that_was_never_rejected(store: CommuneStore) -> None:
    register_both(store)
    numbers = bill_november(store)
    with pytest.raises(InvalidInput) as refused:
        office(store).direct_debit_file(REGISSEUR, "enfance", DEBIT_DAY, represent=[numbers["F2"]])
    assert refused.value.code == "sepa.not_rejected"
    assert read(store, lambda uow: uow.mandates.batches_of("enfance")) == ()


@pytest.mark.parametrize("represent", [42, "FAC-enfance-2026-000001", [None]])
def test_represent_must_be_invoice_numbers(store: CommuneStore, represent: object) -> None:
    register_both(store)
    bill_november(store)
    with pytest.raises(InvalidInput):
        office(store).direct_debit_file(REGISSEUR, "enfance", DEBIT_DAY, represent=represent)  # type: ignore[arg-type]
    assert read(store, lambda uow: uow.mandates.batches_of("enfance")) == ()


def test_the_ledger_takes_a_reversal_only_from_an_invoice_to_a_negative_payment() -> None:
    store = MemoryStore()
    seed(store)
    numbers, imported = reject_claires(store)
    book = read(store, lambda uow: billing_ledger(uow, "F1"))
    (debt,) = imported.reopened
    assert book.debit_returned(numbers["F1"])
    assert not book.debit_returned("FAC-unknown")
    collected = next(p for p in book.payments if not p.amount.is_negative)
    wrong = Allocation(numbers["F1"], collected.number, Money("1.00"))  # from an invoice to money received
    with pytest.raises(InvalidInput) as refused:
        attrs.evolve(book, allocations=(*book.allocations, wrong))
    assert refused.value.code == "billing.unknown_allocation_source"
    twice = Allocation(numbers["F1"], debt.reversal_number, Money("49.20"))  # more than was paid
    kept = [a for a in book.allocations if a.invoice_number != debt.reversal_number]
    with pytest.raises(InvalidInput) as refused:
        attrs.evolve(book, allocations=(*kept, twice))
    assert refused.value.code == "billing.over_reversed"


def test_the_tax_attestation_does_not_count_a_returned_debit(store: CommuneStore) -> None:
    young = Child("C1", "Léa", "Martin", D(2021, 5, 14), ["F1"])  # 5 on 1 January 2026
    transact(store, lambda uow: uow.families.save_child(young))
    register_both(store)
    numbers = bill_november(store)
    office(store).direct_debit_file(REGISSEUR, "enfance", DEBIT_DAY)
    bank = office(store, RETURNED)
    collected = [a.family_id for a in bank.tax_attestations(REGISSEUR, 2026)]
    assert "F1" in collected  # the debit of the 15th, before the bank returned it
    bank.import_direct_debit_rejects(REGISSEUR, "enfance", f"{numbers['F1']};AM04\n".encode())
    assert [a.family_id for a in bank.tax_attestations(REGISSEUR, 2026) if a.family_id == "F1"] == []


def test_a_closed_account_revokes_the_mandate_and_a_status_report_is_read(store: CommuneStore) -> None:
    register_both(store)
    numbers = bill_november(store)
    office(store).direct_debit_file(REGISSEUR, "enfance", DEBIT_DAY)
    report = PAIN_002.format(number=numbers["F2"]).encode()
    imported = office(store, dt.datetime(2026, 12, 18, tzinfo=PARIS)).import_direct_debit_rejects(
        REGISSEUR, "enfance", report
    )
    assert [(d.invoice_number, d.reason, d.mandate_revoked) for d in imported.reopened] == [
        (numbers["F2"], "AC04", True)
    ]
    assert read(store, lambda uow: uow.mandates.get("SAP-F2-0001").revoked_on) == D(2026, 12, 18)
    assert read(store, lambda uow: uow.families.get("F2").direct_debit) is False


def test_a_reject_of_an_unknown_reference_records_nothing(store: CommuneStore) -> None:
    register_both(store)
    numbers = bill_november(store)
    office(store).direct_debit_file(REGISSEUR, "enfance", DEBIT_DAY)
    report = f"{numbers['F1']};AM04\nFAC-enfance-2026-009999;MS02\n".encode()
    with pytest.raises(InvalidInput) as refused:
        office(store).import_direct_debit_rejects(REGISSEUR, "enfance", report)
    assert refused.value.code == "sepa.unknown_reject"
    assert "FAC-enfance-2026-009999" in refused.value.message_fr
    assert read(store, lambda uow: uow.mandates.collections_of("F1")[0].reject) is None


def test_a_failure_while_building_the_file_leaves_nothing_written() -> None:
    for fail_at in range(1, 30):
        store = MemoryStore()
        seed(store)
        register_both(store)
        bill_november(store)
        failing = FailingStore(store, fail_at)
        try:
            BackOffice(failing, clock=FixedClock(NOW)).direct_debit_file(REGISSEUR, "enfance", DEBIT_DAY)
        except InjectedFault:
            assert read(store, lambda uow: uow.mandates.batches_of("enfance")) == ()
            assert read(store, lambda uow: uow.documents.payments_of("F1")) == ()
            continue
        assert failing.writes == fail_at - 1  # every write passed: the file is whole
        assert len(read(store, lambda uow: uow.mandates.batches_of("enfance"))) == 1
        break
    else:  # pragma: no cover
        pytest.fail("the file was never built")


def test_every_refusal_is_the_librarys_own_error(store: CommuneStore) -> None:
    for call in (
        lambda: office(store).direct_debit_file(REGISSEUR, "culture", DEBIT_DAY),
        lambda: office(store).direct_debit_file(REGISSEUR, "loisirs", DEBIT_DAY),
        lambda: office(store).import_direct_debit_rejects(REGISSEUR, "enfance", b"\x00\xff garbage"),
        lambda: office(store).import_direct_debit_rejects(REGISSEUR, "enfance", b"<Document><oops"),
        lambda: office(store).revoke_mandate(REGISSEUR, "NO-SUCH-RUM"),
    ):
        with pytest.raises(EspaceFamilleError):
            call()


PAIN_002 = """<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.002.001.03">
  <CstmrPmtStsRpt>
    <GrpHdr><MsgId>BANQUE-20261218-1</MsgId><CreDtTm>2026-12-18T07:00:00</CreDtTm></GrpHdr>
    <OrgnlGrpInfAndSts>
      <OrgnlMsgId>enfance-20261215-01</OrgnlMsgId><OrgnlMsgNmId>pain.008.001.02</OrgnlMsgNmId>
    </OrgnlGrpInfAndSts>
    <OrgnlPmtInfAndSts>
      <OrgnlPmtInfId>enfance-20261215-01-FRST</OrgnlPmtInfId>
      <TxInfAndSts>
        <OrgnlEndToEndId>{number}</OrgnlEndToEndId>
        <TxSts>RJCT</TxSts>
        <StsRsnInf><Rsn><Cd>AC04</Cd></Rsn></StsRsnInf>
      </TxInfAndSts>
      <TxInfAndSts>
        <OrgnlEndToEndId>FAC-enfance-2026-000001</OrgnlEndToEndId>
        <TxSts>ACSC</TxSts>
      </TxInfAndSts>
    </OrgnlPmtInfAndSts>
  </CstmrPmtStsRpt>
</Document>
"""


# -- hostile arguments, and what a file collects whatever was paid before -------------------------------

_CALLS: dict[str, tuple[tuple[object, ...], dict[str, object]]] = {
    "register_mandate": (
        (GESTIONNAIRE, "F1", "enfance"),
        {
            "signed_on": D(2026, 9, 3),
            "iban": CLAIRE_IBAN,
            "bic": "AGRIFRPP",
            "rum": "R-1",
            "debtor_name": "C",
        },
    ),
    "revoke_mandate": ((GESTIONNAIRE, "SAP-F2-0001"), {}),
    "mandates": ((REGISSEUR, "enfance"), {}),
    "direct_debit_file": ((REGISSEUR, "enfance", DEBIT_DAY), {"represent": ()}),
    "import_direct_debit_rejects": ((REGISSEUR, "enfance", b"FAC-enfance-2026-000001;AM04\n"), {}),
}


def _memory_tables(store: MemoryStore) -> object:
    return {name: dict(table) for name, table in vars(store._tables).items()}


@pytest.fixture(scope="module")
def billed() -> MemoryStore:
    """Two households with mandates and November billed, on the memory store (copied by each example)."""
    store = MemoryStore()
    seed(store)
    register_both(store)
    bill_november(store)
    return store


def remaining(store: CommuneStore, numbers: dict[str, str]) -> dict[str, Money]:
    """What is left to pay on each household's invoice."""
    with store.unit_of_work() as uow:
        return {fid: billing_ledger(uow, fid).remaining(number) for fid, number in numbers.items()}


def _copy(store: MemoryStore) -> MemoryStore:
    copied = MemoryStore()
    for name, table in vars(store._tables).items():
        getattr(copied._tables, name).update(table)
    copied._versions.update(store._versions)
    return copied


@pytest.mark.parametrize("name", sorted(_CALLS))
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_hostile_arguments_are_refused_with_the_librarys_errors_and_write_nothing(
    billed: MemoryStore, name: str, data: st.DataObject
) -> None:
    store = _copy(billed)
    arguments, keywords = list(_CALLS[name][0]), dict(_CALLS[name][1])
    slots: list[int | str] = [*range(1, len(arguments)), *keywords]
    for slot in data.draw(st.sets(st.sampled_from(slots), min_size=1), label="replaced"):
        value = data.draw(s.hostile_values(), label=f"argument {slot}")
        if isinstance(slot, int):
            arguments[slot] = value
        else:
            keywords[slot] = value
    before = _memory_tables(store)
    try:
        getattr(office(store), name)(*arguments, **keywords)
    except EspaceFamilleError:
        assert _memory_tables(store) == before, f"{name} refused but wrote"


def paid_at_counter(store: CommuneStore, paid: list[int]) -> tuple[dict[str, str], dict[str, Money]]:
    """Each household pays ``paid`` cents (at most its invoice) by cheque before the file: the invoice
    numbers and what each invoice owed."""
    numbers = {"F1": "FAC-enfance-2026-000001", "F2": "FAC-enfance-2026-000002"}
    with store.unit_of_work() as uow:
        owed = {fid: uow.documents.invoice(number).total for fid, number in numbers.items()}
    for (family_id, number), cents in zip(numbers.items(), paid, strict=True):
        amount = min(Money.from_cents(cents), owed[family_id])
        if amount > Money(0):
            office(store).record_payment(
                REGISSEUR, family_id, "enfance", [number], amount, PaymentMethod.CHEQUE
            )
    return numbers, owed


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(paid=st.lists(st.integers(min_value=0, max_value=3000), min_size=2, max_size=2))
def test_a_file_collects_exactly_what_is_left_and_never_an_invoice_twice(
    billed: MemoryStore, paid: list[int]
) -> None:
    """Whatever the households paid at the counter before (nothing, part, all), the file collects what is
    left on each invoice, the invoices and their payments add up, and a second file collects nothing."""
    store = _copy(billed)
    numbers, _ = paid_at_counter(store, paid)
    left = remaining(store, numbers)
    if not any(amount > Money(0) for amount in left.values()):
        with pytest.raises(InvalidInput):
            office(store).direct_debit_file(REGISSEUR, "enfance", DEBIT_DAY)
        return
    built = office(store).direct_debit_file(REGISSEUR, "enfance", DEBIT_DAY)
    collected = {c.family_id: c.amount for c in built.batch.collections}
    assert collected == {fid: amount for fid, amount in left.items() if amount > Money(0)}
    assert set(remaining(store, numbers).values()) == {Money(0)}
    with pytest.raises(InvalidInput):
        office(store).direct_debit_file(REGISSEUR, "enfance", DEBIT_DAY)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    paid=st.lists(st.integers(min_value=0, max_value=3000), min_size=2, max_size=2),
    returned=st.sets(st.sampled_from(["F1", "F2"])),
    reason=st.sampled_from(["AM04", "MS02", "AC04"]),
)
def test_money_is_conserved_what_came_in_less_what_the_bank_returned_is_what_is_kept(
    billed: MemoryStore, paid: list[int], returned: set[str], reason: str
) -> None:
    """Whatever was paid at the counter first and whichever debits the bank returns: each returned invoice
    is open again for exactly what its debit collected, no invoice is issued, and the money received less
    the money returned is what the invoices' allocations settle."""
    store = _copy(billed)
    numbers, owed = paid_at_counter(store, paid)
    try:
        built = office(store).direct_debit_file(REGISSEUR, "enfance", DEBIT_DAY)
    except InvalidInput:
        return  # everything was paid at the counter
    collected = {c.family_id: c.amount for c in built.batch.collections}
    rejected = sorted(fid for fid in returned if fid in collected)
    if rejected:
        report = "".join(f"{numbers[fid]};{reason}\n" for fid in rejected).encode()
        office(store, RETURNED).import_direct_debit_rejects(REGISSEUR, "enfance", report)
    books = read(store, lambda uow: {fid: billing_ledger(uow, fid) for fid in numbers})
    for family_id, number in numbers.items():
        book = books[family_id]
        assert [invoice.number for invoice in book.invoices] == [number]
        came_in = Money.total(p.amount for p in book.payments if not p.amount.is_negative)
        went_back = -Money.total(p.amount for p in book.payments if p.amount.is_negative)
        assert came_in - went_back == book.paid(number) == owed[family_id] - book.remaining(number)
        back = collected[family_id] if family_id in rejected else Money(0)
        assert went_back == back
        assert book.remaining(number) == back


def test_a_revoked_or_lapsed_mandate_leaves_the_invoice_to_pay_by_other_means(store: CommuneStore) -> None:
    register_both(store)
    office(store).revoke_mandate(GESTIONNAIRE, "SAP-F2-0001")
    # Revoked, the household left direct debit: its November invoice is not debited.
    numbers = bill_november(store)
    assert read(store, lambda uow: uow.documents.invoice(numbers["F2"]).direct_debit_on) is None
    built = office(store).direct_debit_file(REGISSEUR, "enfance", DEBIT_DAY)
    assert [c.invoice_number for c in built.batch.collections] == [numbers["F1"]]
    mandate = read(store, lambda uow: uow.mandates.get("enfance-F1-001"))
    # Collected on 15 December 2026: lapses unless used again by 15 December 2029.
    assert mandate.lapses_on == D(2029, 12, 15)
    assert mandate.in_force_on(D(2029, 12, 14))
    assert not mandate.in_force_on(D(2029, 12, 15))


def test_the_regies_creditor_is_read_from_the_commune_file_and_written_back() -> None:
    commune = loads_commune(bare_example_text() + SEPA)
    creditor = commune.regie("enfance").sepa
    assert creditor is not None
    assert (creditor.name, creditor.identifier, creditor.iban, creditor.bic) == (
        "Régie enfance-jeunesse",
        "FR72ZZZ123456",
        "FR7630001007941234567890185",
        "BDFEFRPPCCT",
    )
    assert loads_commune(dumps_commune(commune)) == commune
    assert commune.regie("loisirs").sepa is None
    with pytest.raises(InvalidConfiguration) as refused:
        loads_commune(bare_example_text() + SEPA.replace("FR72ZZZ123456", "FR72ZZZ123457"))
    assert (refused.value.code, refused.value.path) == ("sepa.invalid_creditor_id", "regies.enfance.sepa")
    with pytest.raises(InvalidConfiguration) as unknown:
        loads_commune(bare_example_text() + SEPA + 'colour = "blue"\n')
    assert unknown.value.path == "regies.enfance.sepa.colour"
