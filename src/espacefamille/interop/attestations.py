"""Attestations as HTML pages a commune hands to a family: the childcare tax credit's, and days of presence.

The page names the collectivité and the régie (with its address, when the régie gives one), the payer and
the payer's postal address, then the attestation itself: per child the amount paid in the year for the tax
credit (CGI art. 200 quater B), or per child and prestation the days present over a period; the place and
date of issue. Rendered by Jinja2 from ``templates/attestation.html.j2`` with autoescaping on; the PDF is the
same page printed by ``interop.attestation_pdf``.

Needs the ``cli`` extra (``pip install 'espacefamille[cli]'``).
"""

from __future__ import annotations

import datetime as dt

import jinja2

from espacefamille.billing.attestations import TAX_CREDIT_AGE, PresenceAttestation, TaxAttestation
from espacefamille.commune import Commune
from espacefamille.errors import InvalidInput
from espacefamille.interop.invoice_html import _environment as template_environment
from espacefamille.model import Family, Regie
from espacefamille.text import count_of, format_date

__all__ = ["render_presence_attestation_html", "render_tax_attestation_html"]


def _check(family: Family, family_id: str) -> None:
    if family.id != family_id:
        raise InvalidInput(
            f"the attestation is of family {family_id}, not {family.id}",
            message_fr="Cette attestation est celle d'un autre foyer.",
            code="attestation.other_family",
        )


def _page(
    commune: Commune, regie: Regie | None, family: Family, issued_on: dt.date, **context: object
) -> str:
    payer = family.payer
    template: jinja2.Template = template_environment().get_template("attestation.html.j2")
    return template.render(
        issuer=commune.collectivite.name,
        regie=regie.name if regie is not None else "",
        regie_address=regie.mentions.address if regie is not None else (),
        payer=f"{payer.first_name} {payer.last_name}",
        payer_address=family.address.envelope() if family.address is not None else (),
        place_and_date=f"Fait le {format_date(issued_on)}.",
        signed_by=f"Pour {commune.collectivite.name}, le régisseur.",
        **context,
    )


def render_tax_attestation_html(
    attestation: TaxAttestation,
    commune: Commune,
    family: Family,
    *,
    issued_on: dt.date,
    regie: Regie | None = None,
) -> str:
    """The page of ``attestation`` (a household's tax attestation) for ``family``'s payer, issued on
    ``issued_on`` (by ``regie`` when given: its name and address head the page)."""
    _check(family, attestation.family_id)
    rows = [
        (
            f"{child.first_name} {child.last_name}",
            format_date(child.birth_date),
            "résidence alternée : montant payé par ce foyer" if child.alternating_residence else "",
            child.amount.format(),
        )
        for child in attestation.children
    ]
    return _page(
        commune,
        regie,
        family,
        issued_on,
        title=f"Attestation de frais de garde {attestation.year}",
        intro=(
            f"{commune.collectivite.name} atteste que {attestation.payer} a payé en {attestation.year} "
            "les sommes ci-dessous pour la garde hors du domicile de ses enfants de moins de "
            f"{TAX_CREDIT_AGE} ans au 1er janvier {attestation.year} (article 200 quater B du code général "
            "des impôts)."
        ),
        headers=("Enfant", "Date de naissance", "Observation", "Montant payé"),
        rows=rows,
        total=attestation.total.format() if rows else "",
        total_label="Total",
        empty="Aucune somme payée pour un enfant de moins de six ans cette année-là.",
        notes=(
            "Les repas, les majorations et les pénalités ne sont pas compris dans ces montants.",
            "Pour un enfant en résidence alternée, chaque parent déclare ce qu'il a lui-même payé.",
        ),
    )


def render_presence_attestation_html(
    attestation: PresenceAttestation,
    commune: Commune,
    family: Family,
    *,
    issued_on: dt.date,
    regie: Regie | None = None,
) -> str:
    """The page of ``attestation`` (a household's days of presence over a period) for ``family``'s payer."""
    _check(family, attestation.family_id)
    start, end = format_date(attestation.period.start), format_date(attestation.period.end)
    rows = [
        (presence.child_name, presence.prestation_name, count_of(presence.count, "jour", "jours"))
        for presence in attestation.presences
    ]
    return _page(
        commune,
        regie,
        family,
        issued_on,
        title="Attestation de présence",
        intro=(
            f"{commune.collectivite.name} atteste que les enfants ci-dessous ont été présents du {start} au "
            f"{end}, selon les pointages des accueils :"
        ),
        headers=("Enfant", "Prestation", "Jours de présence"),
        rows=rows,
        total="",
        total_label="",
        empty=f"Aucune présence du {start} au {end}.",
        notes=(),
    )
