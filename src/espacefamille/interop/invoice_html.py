"""An invoice as an HTML page a commune can send to a family or print: every fact a payer needs, in French.

The page names the issuer (the collectivité) and its régie, the number, the issue, due and direct-debit dates,
the payer, each line with its dates, quantity, unit price and total, the total, what remains to pay, how to
pay (online through PayFiP with the régie's client number, by direct debit, or at the régie) and the appeal
routes (article L1617-5 of the CGCT). Wording of dates and amounts comes from ``espacefamille.text``; the
page is rendered by Jinja2 with autoescaping on, so a family or prestation name cannot inject markup.

Needs the ``cli`` extra (``pip install 'espacefamille[cli]'``).
"""

from __future__ import annotations

import datetime as dt
import functools
import itertools
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Final

import attrs
import jinja2
from babel.numbers import format_currency

from espacefamille.billing.documents import Allocation, DocumentKind, Invoice, InvoiceLine, remaining
from espacefamille.billing.mandates import Mandate, masked_iban
from espacefamille.commune import Commune
from espacefamille.errors import InvalidInput
from espacefamille.model import CounterPayment, Family, Regie
from espacefamille.money import Money
from espacefamille.text import format_date, format_duration, locale_for

__all__ = ["AFTER_DUE_DATE_FR", "APPEAL_ROUTES_FR", "PAYFIP_SITE", "payment_means_fr", "render_invoice_html"]

PAYFIP_SITE: Final = "www.payfip.gouv.fr"

APPEAL_ROUTES_FR: Final = (
    "Dans le délai de deux mois suivant la réception de la présente facture, vous pouvez contester la somme "
    "mentionnée en saisissant directement le tribunal judiciaire ou le tribunal administratif compétent "
    "selon la nature de la créance (article L1617-5 du code général des collectivités territoriales)."
)
"""The standard paragraph on contesting a public receivable, printed on every invoice."""

AFTER_DUE_DATE_FR: Final = (
    "Passé la date limite, le paiement en ligne n'est plus possible : la facture est transmise au comptable "
    "public (centre des finances publiques), qui en poursuit le recouvrement."
)
"""What follows the due date, unless the régie says it its own way (``InvoiceMentions.after_due_date``)."""

_COUNTER_WORDS: Final = {
    CounterPayment.CASH: "en espèces",
    CounterPayment.CHEQUE: "par chèque",
    CounterPayment.CARD: "par carte bancaire",
    CounterPayment.CESU: "en CESU",
    CounterPayment.HOLIDAY_VOUCHERS: "en chèques vacances",
    CounterPayment.TRANSFER: "par virement",
}


@functools.cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("espacefamille.interop", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


# -- wording ------------------------------------------------------------------------------------


def _amount(money: Money) -> str:
    return money.format("fr")


def _unit_price(price: Decimal) -> str:
    # A unit price may be finer than the cent (an hourly taux d'effort): show it whole, never rounded.
    return str(format_currency(price.normalize(), "EUR", locale=locale_for("fr"), decimal_quantization=False))


def _day_and_month(day: dt.date) -> tuple[str, str]:
    """``("1er", "décembre 2026")``: format_date writes "EEEE d MMMM y"; the weekday is dropped here."""
    _, number, month, year = format_date(day, "fr").split(" ")
    return number, f"{month} {year}"


def _and(parts: Sequence[str], word: str = "et") -> str:
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + f" {word} " + parts[-1]


def _counter(regie: Regie) -> str:
    """``en espèces, par chèque à l'ordre du Trésor public ou par carte bancaire``: the régie's own ways."""
    payee = regie.mentions.cheque_payable_to
    words = []
    for means in regie.mentions.counter_payments:
        said = _COUNTER_WORDS[means]
        if means is CounterPayment.CHEQUE and payee:
            treasury = payee.casefold().startswith("trésor public")
            said += " à l'ordre du " + payee if treasury else f" à l'ordre de « {payee} »"
        words.append(said)
    return _and(words, "ou")


def _days(days: Sequence[dt.date]) -> str:
    """``2, 3, 5 et 6 novembre 2026``; months apart are joined with " ; "."""
    groups = []
    for month, in_month in itertools.groupby((_day_and_month(day) for day in days), key=lambda p: p[1]):
        groups.append(f"{_and([number for number, _ in in_month])} {month}")
    return " ; ".join(groups)


def _period(invoice: Invoice) -> str:
    start, end = invoice.period.start, invoice.period.end
    (first, start_month), (last, end_month) = _day_and_month(start), _day_and_month(end)
    if start == end:
        return f"le {first} {start_month}"
    if start_month == end_month:
        return f"du {first} au {last} {end_month}"
    return f"du {first} {start_month} au {last} {end_month}"


def _quantity(line: InvoiceLine) -> str:
    if line.minutes is not None:
        return format_duration(line.minutes)
    return format(line.quantity.normalize(), "f").replace(".", ",")


@attrs.frozen
class _Line:
    label: str
    note: str
    days: str
    quantity: str
    unit_price: str
    total: str


def _line(line: InvoiceLine) -> _Line:
    notes = [line.explanation] if line.explanation else []
    if line.regularises is not None:
        number, day = line.regularises
        notes.append(f"Régularisation de la facture {number} pour le {format_date(day)}.")
    return _Line(
        label=line.label,
        note=" ".join(notes),
        days=_days(line.days) if line.days else "",
        quantity=_quantity(line),
        unit_price=_unit_price(line.unit_price),
        total=_amount(line.total),
    )


def payment_means_fr(
    invoice: Invoice,
    regie: Regie,
    left: Money,
    mandate: Mandate | None = None,
    *,
    debit_returned: bool = False,
) -> tuple[str, ...]:
    """How the family pays what is ``left`` on ``invoice``, one French paragraph per way.

    Nothing to do when it is settled or when it will be debited (on the account of ``mandate``, masked, when
    given); otherwise online through PayFiP (when the régie has a PayFiP client number) until the due date,
    and at the régie. When the bank returned its direct debit (``debit_returned``) the page says so first,
    and how to pay what is left.
    """
    if invoice.is_credit_note:
        if not left:
            return ("Cet avoir a été entièrement utilisé.",)
        return (
            f"Cet avoir est en votre faveur : il reste {_amount(left)} à déduire de vos prochaines factures "
            f"de la régie ({regie.name}), ou à vous rembourser.",
        )
    if not left:
        return ("Cette facture est acquittée : vous n'avez rien à payer.",)
    if invoice.direct_debit_on is not None and not debit_returned:
        account = (
            "votre compte"
            if mandate is None
            else f"votre compte {masked_iban(mandate.iban)} (mandat {mandate.rum})"
        )
        return (
            f"Vous avez choisi le prélèvement automatique : {_amount(left)} seront prélevés sur {account} "
            f"le {format_date(invoice.direct_debit_on)}. Vous n'avez rien à faire.",
        )
    means = []
    if debit_returned:
        means.append(
            "Le prélèvement automatique de cette facture a été rejeté par votre banque : il reste "
            f"{_amount(left)} à payer, par l'un des moyens ci-dessous."
        )
    if regie.payfip_client:
        means.append(
            f"En ligne, par carte bancaire ou prélèvement unique, jusqu'au {format_date(invoice.due_on)}, "
            f"sur {PAYFIP_SITE} ou depuis votre espace famille : identifiant de la collectivité "
            f"{regie.payfip_client}, référence de la facture {invoice.number}, montant {_amount(left)}."
        )
    mentions = regie.mentions
    if mentions.counter_payments:
        hours = mentions.opening_hours or "aux heures d'ouverture"
        means.append(
            f"Auprès de la régie ({regie.name}), {hours}, {_counter(regie)}, en rappelant la référence "
            f"{invoice.number}, avant le {format_date(invoice.due_on)}."
        )
    if not means:
        means.append(f"Adressez-vous à la régie ({regie.name}) avant le {format_date(invoice.due_on)}.")
    return tuple(means)


_TITLES: Final = {
    DocumentKind.INVOICE: "Facture",
    DocumentKind.IMPORTED: "Facture",
    DocumentKind.CREDIT_NOTE: "Avoir",
}


def _free(lines: Sequence[InvoiceLine]) -> str:
    """The lines at 0,00 € left out of the table, in one phrase: ``Repas — Léa (12 novembre 2026)``."""
    return " ; ".join(f"{line.label} ({_days(line.days)})" if line.days else line.label for line in lines)


def render_invoice_html(
    invoice: Invoice,
    commune: Commune,
    family: Family,
    *,
    allocations: Iterable[Allocation] = (),
    zero_lines: bool | None = None,
    mandate: Mandate | None = None,
) -> str:
    """The HTML page of ``invoice`` (or credit note) addressed to ``family``'s payer.

    ``allocations`` are the payments and credit notes already allocated (only those naming this invoice
    count): the page shows what remains to pay. Lines at 0,00 € (a justified absence, a closure) are left
    out of the table and named in one sentence under it, unless ``zero_lines`` (by default: the régie's
    ``mentions.zero_lines``). The régie's mentions (address, hours, phone, means of payment, what follows the
    due date) are printed, and the payer's postal address when the family has one. An invoice on direct debit
    names the account debited (masked) of ``mandate``, the payer's SEPA mandate, when given. Raises
    ``InvalidInput`` when the invoice is another family's.
    """
    if invoice.family_id != family.id:
        raise InvalidInput(
            f"invoice {invoice.number} is addressed to family {invoice.family_id!r}, not {family.id!r}",
            message_fr=f"La facture {invoice.number} n'est pas adressée à ce foyer.",
            code="export.other_family",
        )
    regie = commune.regie(invoice.regie_id)
    mentions = regie.mentions
    if zero_lines is None:
        zero_lines = mentions.zero_lines
    allocations = tuple(allocations)
    left = remaining(invoice, allocations)
    total = invoice.total
    payer = family.payer
    credit = invoice.is_credit_note
    settled = -total - left if credit else total - left
    context = {
        "title": _TITLES[invoice.kind],
        "number": invoice.number,
        "issuer": commune.collectivite.name,
        "regie": regie.name,
        "regie_address": mentions.address,
        "regie_contact": " — ".join(
            part
            for part in (mentions.opening_hours, f"Tél. {mentions.phone}" if mentions.phone else None)
            if part
        ),
        "payer": f"{payer.first_name} {payer.last_name}",
        "payer_email": payer.email or "",
        "payer_address": () if family.address is None else family.address.envelope(),
        "family": family.name,
        "period": _period(invoice),
        "issued_on": format_date(invoice.issued_on),
        "due_on": "" if credit else format_date(invoice.due_on),
        "direct_debit_on": "" if invoice.direct_debit_on is None else format_date(invoice.direct_debit_on),
        "issued_label": "Émis le" if credit else "Émise le",  # un avoir, une facture
        "lines": [_line(line) for line in invoice.lines if zero_lines or line.total],
        "free": "" if zero_lines else _free([line for line in invoice.lines if not line.total]),
        "total": _amount(total),
        "settled_label": "Déjà utilisé" if credit else "Déjà réglé",
        "settled": _amount(settled) if settled else "",
        "remaining_label": "Crédit restant" if credit else "Reste à payer",
        "remaining": _amount(left),
        "payment_title": "Utilisation de l'avoir" if credit else "Comment payer",
        "payment": payment_means_fr(
            invoice,
            regie,
            left,
            mandate,
            debit_returned=not credit and any(a.source == invoice.number for a in allocations),
        ),
        "after_due": ""
        if credit or not left or invoice.direct_debit_on
        else (mentions.after_due_date or AFTER_DUE_DATE_FR),
        "appeal": "" if credit else APPEAL_ROUTES_FR,
    }
    return _environment().get_template("invoice.html.j2").render(context)
