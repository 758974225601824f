"""The demo city carries what the régie's outputs need: every payer's address, the mandates of the households
on direct debit; ``espacefamille demo`` is followed by ``pes``, ``debits build`` and ``attestations``."""

from __future__ import annotations

import datetime as dt
import re
import sqlite3
import sys
import xml.etree.ElementTree as ET
from importlib import resources
from pathlib import Path

import pytest
import xmlschema

from espacefamille.adapters.memory import MemoryStore
from espacefamille.billing.mandates import Mandate, SequenceType
from espacefamille.cli import ExitCode
from espacefamille.demo.city import build_demo_city
from espacefamille.model import Residence
from espacefamille.services import transact
from tests.unit.test_cli import run_json

NOW = "2027-01-05T09:00"  # the day after the demo's invoices were issued (4 January 2027)
NS = {"p": "urn:iso:std:iso:20022:tech:xsd:pain.008.001.02"}


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, dict[str, object]]:
    out = tmp_path_factory.mktemp("demo")
    code, document = run_json("demo", "--out", str(out), "--families", "60")
    assert code == ExitCode.OK
    return out, str(out / "saint-aubin-demo.db"), document


def test_every_payer_has_an_address_and_every_household_on_direct_debit_a_mandate() -> None:
    store = MemoryStore()
    city = build_demo_city(store, families=60)
    families, mandates = transact(
        store,
        lambda uow: (list(uow.families.all()), {m.family_id: m for m in uow.mandates.of_regie("enfance")}),
    )
    assert len(families) == 60
    assert city.mandates == len(mandates) == sum(1 for f in families if f.direct_debit) > 10
    for family in families:
        address = family.address
        assert address is not None
        assert address.in_france
        if family.residence is Residence.RESIDENT:
            assert (address.postcode, address.city) == ("35240", "Saint-Aubin-des-Prés")
        else:
            assert address.city != "Saint-Aubin-des-Prés"
        if family.direct_debit:
            kept = mandates[family.id]
            assert kept.rum == f"enfance-{family.id}-001"
            assert kept.mandate.signed_on is not None
            assert dt.date(2026, 6, 15) <= kept.mandate.signed_on < kept.registered_on < dt.date(2026, 9, 1)
            assert kept.mandate.debtor_name == f"{family.payer.first_name} {family.payer.last_name}"
            assert kept.mandate.sequence is SequenceType.FRST
            assert kept.revoked_on is None
            # a valid account (schwifty checks the IBAN's and the RIB's keys), one per household
            assert Mandate(kept.rum, kept.mandate.signed_on, "X", kept.mandate.iban).iban.startswith("FR76")
    assert len({m.mandate.iban for m in mandates.values()}) == len(mandates)


def test_the_addresses_and_mandates_are_the_same_for_the_same_city() -> None:
    def draw() -> tuple[object, ...]:
        store = MemoryStore()
        build_demo_city(store, families=12)
        return transact(
            store,
            lambda uow: (
                tuple((f.id, f.address) for f in uow.families.all()),
                tuple(uow.mandates.of_regie("enfance")),
            ),
        )

    assert draw() == draw()


def test_the_demo_city_of_60_families_is_the_one_it_was_before_the_addresses(
    demo: tuple[Path, str, dict[str, object]],
) -> None:
    # Addresses and mandates are drawn apart: the children, bookings and attendance are those of before
    # (60 families, seed 2026), and so is December's total; the households on direct debit are now debited.
    _, _, document = demo
    assert (document["families"], document["children"], document["bookings"], document["attendance"]) == (
        60,
        139,
        3052,
        279,
    )
    billing = document["billing"]
    assert isinstance(billing, list)
    assert (billing[0]["invoices"], billing[0]["invoiced_total"]) == (59, "8946.19")
    assert document["mandates"] == 19


def test_after_the_demo_the_pes_file_of_december_carries_every_invoice_with_its_payers_address(
    demo: tuple[Path, str, dict[str, object]], tmp_path: Path
) -> None:
    _, db, document = demo
    target = tmp_path / "PES_enfance_202612.xml"
    code, made = run_json(
        "pes", "--regie", "enfance", "--month", "12/2026", "--out", str(target), "--db", db, "--now", NOW
    )
    assert code == ExitCode.OK
    billing = document["billing"]
    assert isinstance(billing, list)
    assert isinstance(made["invoices"], list)
    assert len(made["invoices"]) == billing[0]["invoices"]
    assert made["total"] == billing[0]["invoiced_total"]
    root = ET.fromstring(target.read_bytes())
    pieces = root.findall("PES_RecetteAller/Bordereau/Piece")
    assert len(pieces) == len(made["invoices"])
    assert root.find("EnTetePES/IdColl").get("V") == "21350271900015"  # type: ignore[union-attr]
    for piece in pieces:
        assert piece.findall(".//Tiers/Adresse/CP")
    assert root.findall(".//InfoPrelevementSEPA")  # the households on direct debit


def test_after_the_demo_the_debit_file_collects_the_households_with_a_mandate(
    demo: tuple[Path, str, dict[str, object]], tmp_path: Path
) -> None:
    _, db, _ = demo
    with sqlite3.connect(db) as connection:
        (mandates,) = connection.execute("SELECT count(*) FROM mandates").fetchone()
    target = tmp_path / "prelevements-2027-01-18.xml"
    # December's invoices, issued on Monday 4 January, are debited 14 days later: Monday 18 January.
    code, made = run_json(
        "debits", "build", "--regie", "enfance", "--date", "18/01/2027", "--out", str(target), "--db", db,
        "--now", NOW,
    )  # fmt: skip
    assert code == ExitCode.OK
    assert made["debit_date"] == "2027-01-18"
    invoices = made["invoices"]
    assert isinstance(invoices, list)
    assert 0 < len(invoices) <= mandates
    xmlschema.XMLSchema(str(resources.files("sepaxml").joinpath("schemas", "pain.008.001.02.xsd"))).validate(
        str(target)
    )
    root = ET.fromstring(target.read_bytes())
    assert len(root.findall(".//p:DrctDbtTxInf", NS)) == len(invoices)
    assert root.find(".//p:CdtrSchmeId//p:Othr/p:Id", NS).text == "FR09ZZZ5A7C21"  # type: ignore[union-attr]


def test_after_the_demo_the_tax_attestations_of_2026_are_written(
    demo: tuple[Path, str, dict[str, object]], tmp_path: Path
) -> None:
    # In 2026 the households paid the holiday centre's days online (December's invoices are paid in 2027).
    _, db, _ = demo
    folder = tmp_path / "attestations"
    code, made = run_json(
        "attestations", "--year", "2026", "--format", "html", "--out", str(folder), "--db", db, "--now", NOW
    )
    assert code == ExitCode.OK
    files = made["files"]
    assert isinstance(files, list)
    assert files
    page = Path(files[0]).read_text(encoding="utf-8")
    assert "Saint-Aubin-des-Prés" in page
    assert re.search(r"\b35[0-9]{3}\b", page)  # the payer's postcode, under the payer's name


def test_the_demo_without_schwifty_is_built_its_accounts_checked_by_their_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The example commune's régie enfance is a SEPA creditor and the demo's households sign mandates: without
    # the extra "sepa" (schwifty) their IBANs are still checked by their ISO 13616 key, and the demo is built.
    monkeypatch.setitem(sys.modules, "schwifty", None)
    code, document = run_json("demo", "--out", str(tmp_path / "demo"), "--families", "5")
    assert code == ExitCode.OK, document
    assert (tmp_path / "demo").is_dir()
