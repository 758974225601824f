"""The PES V2 file's invariants: the bordereau counts and totals its pièces to the cent; keys well formed."""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from espacefamille.billing.documents import DocumentKind, Invoice, InvoiceLine
from espacefamille.calendar.periods import DateRange
from espacefamille.interop.pes_v2 import modulo11_key, modulo23_key, pes_v2_file
from espacefamille.money import Money
from tests.golden.test_pes_v2 import CREATED, FAMILIES, pes_commune

COMMUNE = pes_commune()
PRESTATIONS = ("repas", "matin", "soir", "mercredi_journee")


@st.composite
def months(draw: st.DrawFn) -> tuple[DateRange, list[Invoice]]:
    month = DateRange.month(2026, draw(st.integers(1, 12)))
    invoices = []
    for _ in range(draw(st.integers(1, 6))):
        lines = [
            InvoiceLine(
                "C1",
                draw(st.sampled_from(PRESTATIONS)),
                "ligne",
                "attendance.present",
                [month.start],
                Decimal(1),
                Decimal(cents) / 100,
                Money.from_cents(cents),
            )
            for cents in draw(st.lists(st.integers(1, 99_999), min_size=1, max_size=4))
        ]
        family = draw(st.sampled_from(sorted(FAMILIES)))
        invoices.append(
            Invoice(
                f"FAC-enfance-2026-{draw(st.integers(1, 999_999)):06d}",
                "enfance",
                family,
                DocumentKind.INVOICE,
                month,
                month.end,
                month.end + dt.timedelta(days=30),
                lines,
            )
        )
    unique = {invoice.number: invoice for invoice in invoices}
    return month, list(unique.values())


@settings(max_examples=120, deadline=None)
@given(months(), st.integers(1, 9_999_999))
def test_the_bordereau_counts_and_totals_its_pieces_and_their_lines_to_the_cent(
    data: tuple[DateRange, list[Invoice]], bordereau: int
) -> None:
    month, invoices = data
    made = pes_v2_file(COMMUNE, "enfance", month, invoices, FAMILIES, bordereau=bordereau, created_at=CREATED)
    root = ET.fromstring(made.content)
    block = root.find("PES_RecetteAller/Bordereau/BlocBordereau")
    assert block is not None
    pieces = root.findall("PES_RecetteAller/Bordereau/Piece")
    lines = [Money(m.get("V", "")) for m in root.iter("MtHT")]
    header = {child.tag: child.get("V", "") for child in block}
    assert header["NbrPce"] == str(len(pieces)) == str(len(invoices))
    assert Money(header["MtBordHt"]) == Money.total(lines) == Money.total(i.total for i in invoices)
    assert all(line > Money("0") for line in lines)
    for piece in pieces:
        values = {child.tag: child.get("V", "") for child in piece.find("BlocPiece")}  # type: ignore[union-attr]
        assert values["Cle1"] in "0123456789"
        assert len(values["Cle1"]) == 1
        assert values["Cle2"] in "ABCDEFGHJKLMNPQRSTUVWXY"
        assert len(values["Cle2"]) == 1
        year, period, debt = "26", values["Per"], values["NumDette"]
        assert values["Cle1"] == modulo11_key(f"123{bordereau}{year}{period}{debt:0>13}")
        assert values["Cle2"] == modulo23_key(f"{year}{period}00{debt:0>13}")


@given(st.text(alphabet="0123456789", min_size=1, max_size=40))
def test_keys_are_one_digit_and_one_letter_without_i_o_or_z(reference: str) -> None:
    assert modulo11_key(reference) in tuple("0123456789")
    assert modulo23_key(reference) in tuple("ABCDEFGHJKLMNPQRSTUVWXY")
