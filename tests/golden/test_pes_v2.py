"""A régie's PES V2 recette file for November 2026, byte for byte, and its structure as Hélios reads it.

No XSD of the DGFiP's PES V2 was available to the tests (it is not shipped by any package we may vendor):
the golden file pins the structure and the values, and the tests below check the envelope, the bordereau's
count and total, the pieces' keys and the tiers as an accountant would.
"""

from __future__ import annotations

import datetime as dt
import os
import xml.etree.ElementTree as ET
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from espacefamille.billing.documents import DocumentKind, Invoice, InvoiceLine
from espacefamille.calendar.periods import DateRange
from espacefamille.commune import Commune
from espacefamille.config import loads_commune
from espacefamille.interop.pes_v2 import PesDirectDebit, PesFile, modulo11_key, modulo23_key, pes_v2_file
from espacefamille.model import Family, Guardian, PostalAddress
from espacefamille.money import Money
from tests.example_text import bare_example_text

D = dt.date
GOLDEN = Path(__file__).with_name("data") / "pes_v2_enfance_2026-11.xml"
CREATED = dt.datetime(2026, 12, 2, 9, 30, tzinfo=ZoneInfo("Europe/Paris"))
NOVEMBER = DateRange(D(2026, 11, 1), D(2026, 11, 30))
PES = """
[regies.enfance.pes]
siret = "21350123400017"
poste_comptable = "035000"
collectivite_code = "123"
budget = "01"
nature = "7067"
product = "ENF"

[regies.enfance.pes.services.cantine]
nature = "7067"
product = "CANT"
"""


def pes_commune() -> Commune:
    """The example commune with its régie enfance known to Hélios."""
    return loads_commune(bare_example_text() + PES)


def household(family_id: str, last: str, first: str, *lines: str, postcode: str = "35000") -> Family:
    address = PostalAddress(lines, postcode, "Saint-Aubin-des-Prés") if lines else None
    return Family(family_id, last, [Guardian("G" + family_id, first, last)], "G" + family_id, address=address)


def line(
    child: str, prestation: str, label: str, days: int, unit: str, reason: str = "attendance.present"
) -> InvoiceLine:
    price = Decimal(unit)
    return InvoiceLine(
        child,
        prestation,
        label,
        reason,
        [D(2026, 11, 2 + i) for i in range(days)],
        Decimal(days),
        price,
        Money(price * days),
    )


def invoice(
    number: int, family_id: str, *lines: InvoiceLine, kind: DocumentKind = DocumentKind.INVOICE
) -> Invoice:
    return Invoice(
        f"FAC-enfance-2026-{number:06d}",
        "enfance",
        family_id,
        kind,
        NOVEMBER,
        D(2026, 12, 1),
        D(2026, 12, 31),
        lines,
    )


FAMILIES = {
    "F1": household("F1", "Martin", "Claire", "12 rue des Lilas"),
    "F2": household(
        "F2", "Müller-Œuvray", "Léa", "Résidence les Tilleuls", "Bâtiment B", "3 allée des Chênes"
    ),
}
INVOICES = [
    invoice(
        41,
        "F1",
        line("C1", "repas", "Repas", 12, "3.20"),
        line("C1", "matin", "Accueil du matin", 4, "1.50"),
        line("C1", "repas", "Repas non réservé", 1, "1.00", "surcharge.unbooked_presence"),
    ),
    invoice(42, "F2", line("C7", "repas", "Repas", 3, "4.10")),
    invoice(43, "F1", line("C1", "repas", "Repas", 0, "3.20")),
]
DEBITS = {
    "FAC-enfance-2026-000042": PesDirectDebit(
        "SAP-F2-0002",
        D(2025, 9, 1),
        "Léa Müller-Œuvray",
        "FR1420041010050500013M02606",
        None,
        "RCUR",
        D(2026, 12, 15),
    )
}


def document() -> PesFile:
    return pes_v2_file(
        pes_commune(),
        "enfance",
        NOVEMBER,
        INVOICES,
        FAMILIES,
        bordereau=118,
        created_at=CREATED,
        debits=DEBITS,
    )


def test_the_file_of_november_is_the_golden_one() -> None:
    if os.environ.get("UPDATE_GOLDEN"):  # pragma: no cover - regenerating the file after a wanted change
        GOLDEN.write_bytes(document().content)
    assert document().content == GOLDEN.read_bytes()


def test_the_bordereau_counts_and_totals_its_pieces_and_leaves_the_empty_invoice_out() -> None:
    made = document()
    root = ET.fromstring(made.content)
    block = root.find("PES_RecetteAller/Bordereau/BlocBordereau")
    assert block is not None
    assert block.find("NbrPce").get("V") == "2"  # type: ignore[union-attr]
    assert block.find("MtBordHt").get("V") == "57.70"  # type: ignore[union-attr]
    assert made.total == Money("57.70")
    assert made.invoices == ("FAC-enfance-2026-000041", "FAC-enfance-2026-000042")
    assert made.left_out == (("FAC-enfance-2026-000043", "pes.zero_invoice_left_out"),)
    pieces = root.findall("PES_RecetteAller/Bordereau/Piece")
    amounts = [Money(m.get("V", "")) for m in root.iter("MtHT")]
    assert sum(amounts, Money("0")) == made.total
    assert len(pieces) == 2


def test_lines_are_booked_on_the_service_codes_of_the_commune_file() -> None:
    root = ET.fromstring(document().content)
    first = root.findall("PES_RecetteAller/Bordereau/Piece")[0]
    codes = [
        (info.find("CodProdLoc").get("V"), info.find("Nature").get("V"), info.find("MtHT").get("V"))  # type: ignore[union-attr]
        for info in first.iter("InfoLignePiece")
    ]
    # the canteen (meals and the surcharge) on its own product, the accueil du matin on the régie's default
    assert codes == [("CANT", "7067", "39.40"), ("ENF", "7067", "6.00")]


def test_the_header_names_the_collectivite_and_the_envelope_the_file() -> None:
    made = document()
    root = ET.fromstring(made.content)
    assert root.tag == "{http://www.minefi.gouv.fr/cp/helios/pes_v2/Rev0/aller}PES_Aller"
    header = {child.tag: child.get("V") for child in root.find("EnTetePES")}  # type: ignore[union-attr]
    assert header == {
        "DteStr": "2026-12-02",
        "IdPost": "035000",
        "IdColl": "21350123400017",
        "CodCol": "123",
        "CodBud": "01",
    }
    assert root.find("Enveloppe/Parametres/TypFic").get("V") == "PESORMC"  # type: ignore[union-attr]
    assert root.find("Enveloppe/Parametres/NomFic").get("V") == made.name == "PES_enfance_202611_118.xml"  # type: ignore[union-attr]
    assert made.content.startswith(b'<?xml version="1.0" encoding="ISO-8859-1"?>')


def test_each_piece_carries_its_keys_and_the_debit_block_where_a_mandate_applies() -> None:
    root = ET.fromstring(document().content)
    first, second = root.findall("PES_RecetteAller/Bordereau/Piece")
    block = {child.tag: child.get("V") for child in first.find("BlocPiece")}  # type: ignore[union-attr]
    assert block["NumDette"] == "2026000041"
    assert block["Per"] == "B"  # November
    assert block["Cle1"] == modulo11_key("12311826B0002026000041")
    assert block["Cle2"] == modulo23_key("26B000002026000041")
    assert first.find(".//InfoPrelevementSEPA") is None
    sepa = {child.tag: child.get("V") for child in second.find(".//InfoPrelevementSEPA")}  # type: ignore[union-attr]
    assert sepa["SequencePres"] == "03"
    assert sepa["RefUniMdt"] == "SAP-F2-0002"
    assert sepa["DtePrel"] == "2026-12-15"
    assert second.find(".//CpteBancaire/IBAN").get("V") == "FR1420041010050500013M02606"  # type: ignore[union-attr]
    address = {child.tag: child.get("V") for child in second.find(".//Adresse")}  # type: ignore[union-attr]
    assert address["Adr1"] == "RESIDENCE LES TILLEULS"
    assert address["Adr2"] == "BATIMENT B"
    assert address["Adr3"] == "3 ALLEE DES CHENES"
    assert address["CP"] == "35000"
    names = {child.tag: child.get("V") for child in second.find(".//InfoTiers")}  # type: ignore[union-attr]
    assert (names["Nom"], names["Prenom"]) == ("MULLER-OEUVRAY", "LEA")
