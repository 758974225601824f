"""An attestation as a PDF file: the attestation's HTML page (``interop.attestations``) printed on A4.

Needs the ``pdf`` extra (``pip install 'espacefamille[pdf]'``): WeasyPrint, which needs Pango on the host.
"""

from __future__ import annotations

import weasyprint

from espacefamille.errors import EspaceFamilleError
from espacefamille.interop.invoice_pdf import _fonts as font_configuration

__all__ = ["attestation_pdf"]


def attestation_pdf(page: str) -> bytes:
    """The A4 PDF of an attestation's HTML ``page`` (``render_tax_attestation_html`` and the like)."""
    data = weasyprint.HTML(string=page, media_type="print").write_pdf(font_config=font_configuration())
    if not isinstance(data, bytes):  # pragma: no cover - WeasyPrint returns the bytes when given no target
        raise EspaceFamilleError(
            "the attestation's PDF could not be made",
            message_fr="Le PDF de l'attestation n'a pas pu être produit.",
            code="export.pdf_failed",
        )
    return data
