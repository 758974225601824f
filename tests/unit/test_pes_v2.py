"""The PES V2 file as a régisseur meets its refusals, and its settings in the commune's file."""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from decimal import Decimal

import attrs
import pytest

from espacefamille.billing.accounting import AccountingCode
from espacefamille.billing.documents import DocumentKind, InvoiceLine
from espacefamille.billing.mandates import Mandate, SequenceType
from espacefamille.calendar.periods import DateRange
from espacefamille.config import dumps_commune, loads_commune
from espacefamille.errors import InvalidConfiguration, InvalidInput
from espacefamille.interop.pes_v2 import PesDirectDebit, modulo11_key, modulo23_key, pes_v2_file
from espacefamille.model import PostalAddress
from espacefamille.money import Money
from tests.example_text import bare_example_text
from tests.golden.test_pes_v2 import (
    CREATED,
    FAMILIES,
    INVOICES,
    NOVEMBER,
    PES,
    household,
    invoice,
    line,
    pes_commune,
)

D = dt.date


def make(**changes: object) -> object:
    arguments: dict[str, object] = {
        "commune": pes_commune(),
        "regie_id": "enfance",
        "month": NOVEMBER,
        "invoices": INVOICES,
        "families": FAMILIES,
        "bordereau": 1,
        "created_at": CREATED,
    }
    arguments.update(changes)
    return pes_v2_file(**arguments)  # type: ignore[arg-type]


def refusal(**changes: object) -> InvalidInput:
    with pytest.raises(InvalidInput) as error:
        make(**changes)
    return error.value


def test_keys_are_modulo_11_with_weights_2_to_7_and_modulo_23_as_a_letter() -> None:
    assert modulo11_key("453267") == "8"  # 7×2 + 6×3 + 2×4 + 3×5 + 5×6 + 4×7 = 113 = 11×10 + 3
    assert modulo11_key("0") == "0"
    assert modulo11_key("6") == "1"  # remainder 1
    assert modulo11_key("5") == "1"  # remainder 10
    assert modulo11_key("A6") == modulo11_key("06")  # a letter counts as 0
    assert [modulo23_key(n) for n in ("23", "24", "22")] == ["A", "B", "Y"]
    assert set("IOZ").isdisjoint(modulo23_key(str(n)) for n in range(23))


def test_a_payer_with_no_address_is_refused_naming_the_family_and_nothing_is_written() -> None:
    families = {**FAMILIES, "F1": household("F1", "Martin", "Claire")}
    error = refusal(families=families)
    assert error.code == "pes.no_address"
    assert "Martin (F1)" in error.message_fr
    assert error.details["family"] == "F1"


def test_a_regie_without_helios_settings_is_refused() -> None:
    error = refusal(regie_id="loisirs")
    assert error.code == "pes.not_configured"
    assert "[regies.loisirs.pes]" in error.message_fr


def test_an_invoice_of_another_month_or_a_negative_service_total_is_refused() -> None:
    other = invoice(50, "F1", line("C1", "repas", "Repas", 2, "3.20"))
    assert (
        refusal(month=DateRange(D(2026, 10, 1), D(2026, 10, 31)), invoices=[other]).code
        == "pes.other_invoice"
    )
    negative = invoice(
        51,
        "F1",
        line("C1", "repas", "Repas", 2, "3.20"),
        line("C1", "matin", "Régularisation", 2, "-2.00", "regularisation"),
    )
    error = refusal(invoices=[negative])
    assert error.code == "pes.negative_line"
    assert "FAC-enfance-2026-000051" in error.message_fr


def test_credit_notes_are_left_out_and_said_so() -> None:
    credit = invoice(52, "F1", line("C1", "repas", "Avoir", 1, "-3.20"), kind=DocumentKind.CREDIT_NOTE)
    made = make(invoices=[*INVOICES, credit])
    assert ("FAC-enfance-2026-000052", "pes.credit_note_left_out") in made.left_out  # type: ignore[attr-defined]


def test_a_month_with_nothing_to_send_and_a_bad_bordereau_number_are_refused() -> None:
    assert refusal(invoices=[INVOICES[2]]).code == "pes.no_invoice"
    assert refusal(bordereau=0).code == "pes.invalid_bordereau"
    assert refusal(bordereau=True).code == "pes.invalid_bordereau"


def test_an_unknown_family_is_refused_naming_the_invoice() -> None:
    error = refusal(families={"F2": FAMILIES["F2"]})
    assert error.code == "pes.unknown_family"
    assert "FAC-enfance-2026-000041" in error.message_fr


def test_the_debit_block_comes_from_a_mandate() -> None:
    mandate = Mandate(
        "SAP-F1-0001", D(2026, 9, 3), "Claire Martin", "FR7630006000011234567890189", "AGRIFRPP"
    )
    debit = PesDirectDebit.of(mandate, D(2026, 12, 15))
    assert (debit.rum, debit.sequence, debit.bic) == ("SAP-F1-0001", SequenceType.FRST.value, "AGRIFRPP")


def test_the_settings_are_read_and_written_back_equal() -> None:
    commune = pes_commune()
    settings = commune.regie("enfance").pes
    assert settings is not None
    assert settings.code_for("cantine") == AccountingCode("7067", "CANT")
    assert settings.code_for("periscolaire") == AccountingCode("7067", "ENF")
    assert loads_commune(dumps_commune(commune)) == commune


def test_a_service_without_accounting_code_is_refused_at_load_naming_the_key() -> None:
    text = bare_example_text() + PES.replace('nature = "7067"\nproduct = "ENF"\n', "", 1)
    with pytest.raises(InvalidConfiguration) as error:
        loads_commune(text)
    assert error.value.code == "config.pes_missing_code"
    assert "pes.services" in error.value.path


def test_bad_settings_are_refused_at_load_with_their_path() -> None:
    base = bare_example_text()
    with pytest.raises(InvalidConfiguration) as error:
        loads_commune(base + PES.replace("21350123400017", "2135"))
    assert (error.value.code, error.value.path) == ("pes.invalid_siret", "regies.enfance.pes")
    with pytest.raises(InvalidConfiguration) as error:
        loads_commune(
            base + PES + '\n[regies.enfance.pes.services.piscine]\nnature = "7066"\nproduct = "PIS"\n'
        )
    assert error.value.code == "config.pes_unknown_service"
    with pytest.raises(InvalidConfiguration) as error:
        loads_commune(base + PES.replace('product = "CANT"', 'product = "CANTINE"'))
    assert error.value.code == "pes.invalid_product"


def test_an_address_abroad_on_four_lines_and_a_debit_with_its_bic() -> None:
    abroad = attrs.evolve(
        FAMILIES["F1"],
        address=PostalAddress(
            ("Chez Mme Martin", "Bâtiment C", "Rue du Lac 4", "Case postale 12"), "1200", "Genève", "Suisse"
        ),
    )
    debit = PesDirectDebit(
        "SAP-F1-0001",
        D(2026, 9, 3),
        "Claire Martin",
        "FR7630006000011234567890189",
        "AGRIFRPP",
        "FRST",
        D(2026, 12, 15),
    )
    made = make(families={**FAMILIES, "F1": abroad}, debits={INVOICES[0].number: debit})
    root = ET.fromstring(made.content)  # type: ignore[attr-defined]
    first = root.findall("PES_RecetteAller/Bordereau/Piece")[0]
    address = {child.tag: child.get("V") for child in first.find(".//Adresse")}  # type: ignore[union-attr]
    assert (address["Adr1"], address["Adr3"], address["CodRes"], address["Pays"]) == (
        "CHEZ MME MARTIN",
        "RUE DU LAC 4 CASE POSTALE 12",
        "1",
        "SUISSE",
    )
    assert first.find(".//CpteBancaire/BIC").get("V") == "AGRIFRPP"  # type: ignore[union-attr]
    assert first.find(".//SequencePres").get("V") == "02"  # type: ignore[union-attr]


def test_imported_invoices_are_left_out_and_a_number_without_counter_is_refused() -> None:
    imported = attrs.evolve(INVOICES[1], number="FAC-enfance-2026-000044", kind=DocumentKind.IMPORTED)
    made = make(invoices=[*INVOICES, imported])
    assert ("FAC-enfance-2026-000044", "pes.imported_left_out") in made.left_out  # type: ignore[attr-defined]
    odd = attrs.evolve(INVOICES[1], number="ERP-42")
    assert refusal(invoices=[odd]).code == "pes.invalid_invoice_number"


def test_a_line_without_prestation_needs_the_regies_default_code() -> None:
    text = bare_example_text() + PES.replace('nature = "7067"\nproduct = "ENF"\n', "", 1)
    text += '\n[regies.enfance.pes.services.periscolaire]\nnature = "7067"\nproduct = "PERI"\n'
    carried = InvoiceLine(
        "", "", "Report", "billing.carried_forward", [], Decimal(1), Decimal("4.00"), Money("4.00")
    )
    error = refusal(commune=loads_commune(text), invoices=[invoice(60, "F1", carried)])
    assert error.code == "pes.missing_code"


def test_a_mandate_without_signature_date_gives_no_debit_block() -> None:
    class Unsigned:
        rum, signed_on, debtor_name, iban, bic = (
            "R-1",
            None,
            "Claire Martin",
            "FR7630006000011234567890189",
            None,
        )
        sequence = SequenceType.RCUR

    with pytest.raises(InvalidInput) as error:
        PesDirectDebit.of(Unsigned(), D(2026, 12, 15))
    assert error.value.code == "sepa.mandate_unsigned"


def test_households_and_debits_given_otherwise_than_by_id_are_refused() -> None:
    assert refusal(families=list(FAMILIES.values())).code == "input.invalid"
    assert refusal(debits={"FAC-enfance-2026-000041": "SAP-F1-0001"}).code == "input.invalid"
