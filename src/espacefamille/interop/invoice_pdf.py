"""An invoice or credit note as a PDF file: the HTML invoice's own page, printed on A4 by WeasyPrint.

The PDF is made from the same Jinja2 template as ``interop.invoice_html`` (one wording, one layout): its
``@page`` rules set A4 and its margins, and its print styles keep a typical month's invoice on one page,
numbered at the foot ("page 1 / 1"). Lines at 0,00 € are left out of the table and named under it, as on
the HTML page, unless asked.

Needs the ``pdf`` extra (``pip install 'espacefamille[pdf]'``): WeasyPrint, which needs Pango on the host
(Debian: ``libpango-1.0-0``, ``libpangoft2-1.0-0``).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable

import weasyprint
from weasyprint.text.fonts import FontConfiguration

from espacefamille.billing.documents import Allocation, Invoice
from espacefamille.billing.mandates import Mandate
from espacefamille.commune import Commune
from espacefamille.errors import EspaceFamilleError
from espacefamille.interop.invoice_html import render_invoice_html
from espacefamille.model import Family

__all__ = ["render_invoice_pdf"]


@functools.cache
def _fonts() -> FontConfiguration:
    # Fonts are looked up once per process: a régie's month is hundreds of invoices.
    return FontConfiguration()


def render_invoice_pdf(
    invoice: Invoice,
    commune: Commune,
    family: Family,
    *,
    allocations: Iterable[Allocation] = (),
    zero_lines: bool | None = None,
    mandate: Mandate | None = None,
) -> bytes:
    """The PDF of ``invoice`` (or credit note) addressed to ``family``'s payer: A4, the HTML invoice's page.

    ``allocations``, ``zero_lines`` and ``mandate`` as for ``render_invoice_html``; raises ``InvalidInput``
    when the invoice is another family's.
    """
    page = render_invoice_html(
        invoice, commune, family, allocations=allocations, zero_lines=zero_lines, mandate=mandate
    )
    document = weasyprint.HTML(string=page, media_type="print")
    data = document.write_pdf(font_config=_fonts())
    if not isinstance(data, bytes):  # pragma: no cover - WeasyPrint returns the bytes when given no target
        raise EspaceFamilleError(
            f"the PDF of invoice {invoice.number} could not be made",
            message_fr=f"Le PDF de la facture {invoice.number} n'a pas pu être produit.",
            code="export.pdf_failed",
        )
    return data
