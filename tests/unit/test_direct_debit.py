"""SEPA mandates and debit dates, as a régie's agent and a payer read them."""

from __future__ import annotations

import datetime as dt
import sys
from decimal import Decimal

import attrs
import pytest

from espacefamille.billing.direct_debit import Collection, debit_date, invoice_debit_date, regie_debit_day
from espacefamille.billing.documents import DocumentKind, Invoice, InvoiceLine
from espacefamille.billing.mandates import (
    Creditor,
    Mandate,
    SequenceType,
    check_creditor_identifier,
    iban_of,
    sepa_text,
)
from espacefamille.calendar.periods import DateRange
from espacefamille.errors import InvalidInput
from espacefamille.model import Regie
from espacefamille.money import Money

D = dt.date
IBAN = "FR76 3000 6000 0112 3456 7890 189"
CLAIRE = Mandate("SAP-F1-0001", D(2026, 9, 3), "Claire Martin", IBAN, "AGRIFRPP")
ENFANCE = Regie("enfance", "Régie enfance")


def invoice(total: str, issued_on: D, *, month: int = 11, regie: str = "enfance") -> Invoice:
    amount = Money(total)
    kind = DocumentKind.CREDIT_NOTE if amount.is_negative else DocumentKind.INVOICE
    line = InvoiceLine("C1", "repas", "Repas", "attendance.present", [], Decimal(1), amount.amount, amount)
    period = DateRange(D(2026, month, 1), D(2026, month + 1, 1) - dt.timedelta(days=1))
    return Invoice("FAC-enfance-2026-000041", regie, "F1", kind, period, issued_on, issued_on, [line])


def test_a_mandate_keeps_the_account_without_spaces_and_starts_with_a_first_collection() -> None:
    assert CLAIRE.iban == "FR7630006000011234567890189"
    assert CLAIRE.sequence is SequenceType.FRST
    assert CLAIRE.pre_notification_days == 14
    assert CLAIRE.after_collection().sequence is SequenceType.RCUR
    assert CLAIRE.after_collection().after_collection() == CLAIRE.after_collection()


def test_an_invalid_iban_is_refused_naming_the_debtor() -> None:
    with pytest.raises(InvalidInput) as error:
        Mandate("SAP-F1-0001", D(2026, 9, 3), "Claire Martin", "FR76 3000 6000 0112 3456 7890 188")
    assert error.value.code == "sepa.invalid_iban"
    assert "Claire Martin" in error.value.message_fr
    assert isinstance(error.value, ValueError)


def test_an_invalid_bic_is_refused() -> None:
    with pytest.raises(InvalidInput) as error:
        Mandate("SAP-F1-0001", D(2026, 9, 3), "Claire Martin", IBAN, "AGRIF")
    assert error.value.code == "sepa.invalid_bic"


def test_a_mandate_without_signature_date_is_refused_naming_the_debtor() -> None:
    with pytest.raises(InvalidInput) as error:
        Mandate("SAP-F1-0001", None, "Claire Martin", IBAN)
    assert error.value.code == "sepa.mandate_unsigned"
    assert error.value.message_fr == (
        "Date de signature manquante pour le mandat SAP-F1-0001 de Claire Martin."
    )


@pytest.mark.parametrize("rum", ["", "R" * 36, "MANDAT-É", 12])
def test_a_rum_is_one_to_35_sepa_characters(rum: object) -> None:
    with pytest.raises(InvalidInput) as error:
        Mandate(rum, D(2026, 9, 3), "Claire Martin", IBAN)  # type: ignore[arg-type]
    assert error.value.code == "sepa.invalid_rum"


@pytest.mark.parametrize("name", ["", "   ", "x" * 71])
def test_a_debtor_has_a_name_of_at_most_70_characters(name: str) -> None:
    with pytest.raises(InvalidInput) as error:
        Mandate("SAP-F1-0001", D(2026, 9, 3), name, IBAN)
    assert error.value.code == "sepa.invalid_name"


@pytest.mark.parametrize("days", [0, 61, True, "14"])
def test_the_pre_notification_delay_is_1_to_60_days(days: object) -> None:
    with pytest.raises(InvalidInput) as error:
        Mandate("SAP-F1-0001", D(2026, 9, 3), "Claire Martin", IBAN, pre_notification_days=days)  # type: ignore[arg-type]
    assert error.value.code == "sepa.pre_notification_days"


def test_the_creditor_identifier_is_checked_mod_97() -> None:
    assert check_creditor_identifier("FR72 ZZZ 123456") == "FR72ZZZ123456"
    assert check_creditor_identifier("DE98ZZZ09999999999") == "DE98ZZZ09999999999"
    for wrong in ("FR73ZZZ123456", "FR72ZZZ1234567", "FR72", "72FRZZZ123456"):
        with pytest.raises(InvalidInput) as error:
            check_creditor_identifier(wrong)
        assert error.value.code == "sepa.invalid_creditor_id"
        assert error.value.message_fr.startswith("Identifiant créancier SEPA (ICS) invalide")


def test_a_creditor_has_a_valid_ics_iban_and_bic() -> None:
    regie = Creditor("Régie enfance", "FR72ZZZ123456", "FR76 3000 1007 9412 3456 7890 185", "BDFEFRPPCCT")
    assert regie.iban == "FR7630001007941234567890185"
    with pytest.raises(InvalidInput) as error:
        Creditor("Régie enfance", "FR72ZZZ123456", "FR7630001007941234567890185", "BDFE")
    assert error.value.code == "sepa.invalid_bic"
    with pytest.raises(InvalidInput) as error:
        Creditor("Régie enfance", "FR72ZZZ123456", "FR76")
    assert error.value.code == "sepa.invalid_iban"


def test_without_the_sepa_extra_accounts_are_checked_by_their_form_and_key(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A core install (no schwifty) loads a commune naming the régie's account and registers mandates: the
    # IBAN's ISO 13616 key (modulo 97) and the BIC's form are still checked.
    monkeypatch.setitem(sys.modules, "schwifty", None)
    assert Mandate("SAP-F1-0001", D(2026, 9, 3), "Claire Martin", IBAN, "AGRIFRPP").iban == CLAIRE.iban
    for wrong in ("FR76 3000 6000 0112 3456 7890 188", "FR76", "", "76FR 3000 6000 0112 3456 7890 189"):
        with pytest.raises(InvalidInput) as error:
            Mandate("SAP-F1-0001", D(2026, 9, 3), "Claire Martin", wrong)
        assert error.value.code == "sepa.invalid_iban"
    with pytest.raises(InvalidInput) as error:
        Mandate("SAP-F1-0001", D(2026, 9, 3), "Claire Martin", IBAN, "AGRI-FRPP")
    assert error.value.code == "sepa.invalid_bic"
    from espacefamille.examples import example_commune  # noqa: PLC0415 - loaded with schwifty hidden

    assert example_commune().regie("enfance").sepa is not None


def test_the_iban_of_a_french_rib_gets_its_check_digits() -> None:
    assert iban_of("FR", "3000 6000 0112 3456 7890 189") == CLAIRE.iban
    assert iban_of("FR", "30001007941234567890185") == "FR7630001007941234567890185"


def test_sepa_text_drops_accents_and_characters_banks_refuse() -> None:
    assert sepa_text("Léa Müller-Œuvray & fils « cantine »", 70) == "Lea Muller-OEuvray + fils cantine"
    assert sepa_text("Élodie", 3) == "Elo"


def test_an_invoice_issued_on_the_first_waits_for_its_14_days_of_notice() -> None:
    # Issued on Tuesday 1 December for November: the régie's 10 December is only 9 days' notice.
    assert debit_date(D(2026, 12, 1), D(2026, 12, 10)) == D(2026, 12, 15)
    assert invoice_debit_date(invoice("42.50", D(2026, 12, 1)), CLAIRE, ENFANCE) == D(2026, 12, 15)


def test_the_regie_debit_day_is_kept_when_the_notice_is_long_enough() -> None:
    # October invoiced on 2 November: debited on Tuesday 10 November (8 days' notice agreed in the mandate).
    short = attrs.evolve(CLAIRE, pre_notification_days=8)
    assert invoice_debit_date(invoice("42.50", D(2026, 11, 2), month=10), short, ENFANCE) == D(2026, 11, 10)


def test_a_debit_day_on_a_weekend_or_christmas_moves_to_the_next_business_day() -> None:
    assert debit_date(D(2026, 9, 1), D(2026, 10, 10)) == D(2026, 10, 12)  # Saturday → Monday
    assert debit_date(D(2026, 12, 1), D(2026, 12, 25)) == D(2026, 12, 28)  # Christmas Friday → Monday
    assert debit_date(D(2026, 12, 1), D(2026, 12, 15), pre_notification_days=0) == D(2026, 12, 15)


def test_the_regie_day_of_the_month_after_the_issue_when_the_day_after_the_period_has_passed() -> None:
    late = invoice("42.50", D(2026, 12, 12))  # November billed on 12 December: 10 December has passed
    assert regie_debit_day(ENFANCE, late) == D(2027, 1, 10)
    assert invoice_debit_date(late, CLAIRE, ENFANCE) == D(2027, 1, 11)  # Sunday 10 January → Monday


def test_an_invoice_of_another_regie_or_a_credit_note_is_not_debited() -> None:
    with pytest.raises(InvalidInput) as error:
        invoice_debit_date(invoice("42.50", D(2026, 12, 1), regie="sport"), CLAIRE, ENFANCE)
    assert error.value.code == "sepa.other_regie"
    with pytest.raises(InvalidInput) as error:
        invoice_debit_date(invoice("-5.00", D(2026, 12, 1)), CLAIRE, ENFANCE)
    assert error.value.code == "sepa.nothing_to_collect"


@pytest.mark.parametrize("days", [-1, True, 1.5])
def test_debit_date_refuses_a_delay_that_is_not_a_whole_number_of_days(days: object) -> None:
    with pytest.raises(InvalidInput) as error:
        debit_date(D(2026, 12, 1), D(2026, 12, 10), pre_notification_days=days)  # type: ignore[arg-type]
    assert error.value.code == "sepa.pre_notification_days"


def test_debit_date_refuses_a_datetime() -> None:
    with pytest.raises(InvalidInput) as error:
        debit_date(dt.datetime(2026, 12, 1, 9, 0), D(2026, 12, 10))
    assert error.value.code == "input.not_a_date"


def test_a_collection_says_when_and_from_which_account() -> None:
    collection = Collection(CLAIRE, "FAC-enfance-2026-000041", Money("42.50"))
    assert collection.message_fr(D(2026, 12, 15)).replace("\u00a0", " ").replace("\u202f", " ") == (
        "Facture FAC-enfance-2026-000041 : 42,50 € prélevés le mardi 15 décembre 2026 sur le compte "
        "FR76 **** 0189 (mandat SAP-F1-0001)."
    )


@pytest.mark.parametrize("amount", [Money("0.00"), Money("-1.00"), Decimal("1.00")])
def test_a_collection_has_a_positive_amount_in_euros(amount: object) -> None:
    with pytest.raises(InvalidInput) as error:
        Collection(CLAIRE, "FAC-enfance-2026-000041", amount)  # type: ignore[arg-type]
    assert error.value.code == "sepa.amount_not_positive"
    assert "Claire Martin" in error.value.message_fr


@pytest.mark.parametrize("number", ["", "F" * 36, "FAC-É"])
def test_a_collection_invoice_number_is_a_sepa_end_to_end_id(number: str) -> None:
    with pytest.raises(InvalidInput) as error:
        Collection(CLAIRE, number, Money("1.00"))
    assert error.value.code == "sepa.invalid_invoice_number"
