"""A régie's pain.008.001.02 file, byte for byte, and valid against the ISO 20022 schema."""

from __future__ import annotations

import datetime as dt
import os
from importlib import resources
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import xmlschema

from espacefamille.billing.direct_debit import Collection
from espacefamille.billing.mandates import Creditor, Mandate, SequenceType
from espacefamille.errors import InvalidInput
from espacefamille.interop.pain008 import pain008_document
from espacefamille.money import Money

D = dt.date
GOLDEN = Path(__file__).with_name("data") / "pain008_enfance_2026-12-15.xml"
# The ISO 20022 schema, as sepaxml (a dev dependency) ships it.
XSD = resources.files("sepaxml").joinpath("schemas", "pain.008.001.02.xsd")
PARIS = ZoneInfo("Europe/Paris")
CREATED = dt.datetime(2026, 12, 1, 9, 30, 15, 123456, tzinfo=PARIS)
REGIE = Creditor(
    "Régie enfance de Saint-Aubin-des-Prés", "FR72ZZZ123456", "FR7630001007941234567890185", "BDFEFRPPCCT"
)
CLAIRE = Mandate("SAP-F1-0001", D(2026, 9, 3), "Claire Martin", "FR7630006000011234567890189", "AGRIFRPP")
LEA = Mandate(
    "SAP-F7-0002",
    D(2025, 9, 1),
    "Léa Müller-Œuvray",
    "FR14 2004 1010 0505 0001 3M02 606",
    sequence=SequenceType.RCUR,
)
COLLECTIONS = [
    Collection(CLAIRE, "FAC-enfance-2026-000041", Money("42.50")),
    Collection(LEA, "FAC-enfance-2026-000042", Money("118.07")),
    Collection(CLAIRE.after_collection(), "FAC-enfance-2026-000043", Money("0.01")),
]


def document() -> bytes:
    return pain008_document(
        REGIE, D(2026, 12, 15), COLLECTIONS, message_id="enfance-20261215-01", created_at=CREATED
    )


def test_the_file_of_15_december_is_the_golden_one() -> None:
    if os.environ.get("UPDATE_GOLDEN"):  # pragma: no cover - regenerating the file after a wanted change
        GOLDEN.write_bytes(document())
    assert document() == GOLDEN.read_bytes()


def test_the_file_is_valid_against_the_pain_008_001_02_schema() -> None:
    xmlschema.XMLSchema(str(XSD)).validate(document().decode("utf-8"))


def test_control_sums_are_exact_to_the_cent_and_blocks_split_by_sequence_type() -> None:
    data = xmlschema.XMLSchema(str(XSD)).to_dict(document().decode("utf-8"))
    assert isinstance(data, dict)
    header = data["CstmrDrctDbtInitn"]["GrpHdr"]
    blocks = data["CstmrDrctDbtInitn"]["PmtInf"]
    assert (header["NbOfTxs"], str(header["CtrlSum"])) == ("3", "160.58")
    assert [(b["PmtInfId"], b["PmtTpInf"]["SeqTp"], b["NbOfTxs"], str(b["CtrlSum"])) for b in blocks] == [
        ("enfance-20261215-01-FRST", "FRST", "1", "42.50"),
        ("enfance-20261215-01-RCUR", "RCUR", "2", "118.08"),
    ]


def test_accents_are_dropped_from_names_and_an_account_without_bic_says_not_provided() -> None:
    text = document().decode("utf-8")
    assert "<Nm>Lea Muller-OEuvray</Nm>" in text
    assert "<Nm>Regie enfance de Saint-Aubin-des-Pres</Nm>" in text
    assert "<Id>NOTPROVIDED</Id>" in text


def refused(**changes: object) -> InvalidInput:
    arguments: dict[str, object] = {
        "creditor": REGIE,
        "collect_on": D(2026, 12, 15),
        "collections": COLLECTIONS,
        "message_id": "enfance-20261215-01",
        "created_at": CREATED,
    }
    arguments.update(changes)
    with pytest.raises(InvalidInput) as error:
        pain008_document(
            arguments["creditor"],  # type: ignore[arg-type]
            arguments["collect_on"],  # type: ignore[arg-type]
            arguments["collections"],  # type: ignore[arg-type]
            message_id=arguments["message_id"],  # type: ignore[arg-type]
            created_at=arguments["created_at"],  # type: ignore[arg-type]
        )
    return error.value


def test_a_collection_date_on_a_closing_day_is_refused_in_french() -> None:
    error = refused(collect_on=D(2026, 12, 25))
    assert error.code == "sepa.not_a_business_day"
    assert (
        error.message_fr
        == "Le vendredi 25 décembre 2026 n'est pas un jour ouvré TARGET2 : aucun prélèvement ce jour-là."
    )


def test_a_collection_date_in_the_past_is_refused() -> None:
    assert refused(collect_on=D(2026, 11, 30)).code == "sepa.collection_in_past"
    assert refused(collect_on=D(2026, 12, 1)).code == "sepa.collection_in_past"


def test_an_invoice_collected_twice_is_refused_naming_the_debtor() -> None:
    error = refused(collections=[*COLLECTIONS, COLLECTIONS[0]])
    assert error.code == "sepa.duplicate_invoice"
    assert "Claire Martin" in error.message_fr


def test_a_mandate_signed_after_the_collection_is_refused() -> None:
    later = Mandate("SAP-F9-0001", D(2026, 12, 20), "Paul Durand", "FR7630006000011234567890189")
    error = refused(collections=[Collection(later, "FAC-enfance-2026-000050", Money("10.00"))])
    assert error.code == "sepa.mandate_signed_after_collection"
    assert "Paul Durand" in error.message_fr


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"collections": []}, "sepa.no_collection"),
        ({"message_id": ""}, "sepa.invalid_message_id"),
        ({"message_id": "x" * 31}, "sepa.invalid_message_id"),
        ({"message_id": "lot du 15"}, "sepa.invalid_message_id"),
        ({"created_at": dt.datetime(2026, 12, 1, 9, 30)}, "input.naive_datetime"),
        ({"collect_on": dt.datetime(2026, 12, 15, 0, 0, tzinfo=PARIS)}, "input.not_a_date"),
        ({"creditor": "Régie enfance"}, "input.invalid"),
        ({"collections": ["FAC-enfance-2026-000041"]}, "input.invalid"),
    ],
)
def test_bad_arguments_are_refused_with_a_stable_code(changes: dict[str, object], code: str) -> None:
    error = refused(**changes)
    assert error.code == code
    assert error.message_fr
