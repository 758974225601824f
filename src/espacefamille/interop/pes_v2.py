"""A PES V2 recette file (ORMC) for the Treasury's Hélios: a régie's invoices of a month as titres de recette.

The commune's public accountant takes a régie's receivables as a ``PES_Aller`` XML file: an envelope
(``Enveloppe``: version, file type ``PESORMC``, file name), a header (``EnTetePES``: the date, the *poste
comptable*, the collectivité's SIRET, its Hélios code and budget), and a ``PES_RecetteAller`` block with one
*bordereau* (``BlocBordereau``: year, number, date, type ``06``, the count and total of its pieces, its
object). Each invoice is one *pièce* (``BlocPiece``: its number within the bordereau, its object, the debt
number, the period and the two check keys ``Cle1`` modulo 11 and ``Cle2`` modulo 23); each pièce has one
*ligne de pièce* per accounting code (``InfoLignePiece``: object, product code, nature, amount), the *tiers*
(the payer: name, first name, postal address) and, for an invoice collected by direct debit, the SEPA block
(``InfoPrelevementSEPA``: date, amount, sequence, mandate) and the payer's account (``CpteBancaire``).

What the file leaves out, and says so in ``PesFile.left_out``: credit notes (the accountant books an avoir
as a *réduction* of the title it corrects, a bordereau of another type that this module does not write),
invoices of 0 € (nothing to recover) and invoices imported from another application (titled there).

The element names, their order and the codes (``TypBord`` 06, ``TypPce`` 15, ``NatPce`` 01, the tiers'
categories ``01``) follow the DGFiP's PES V2 recette format as the open implementations we could read use
it; the DGFiP's XSD was not available to the tests, which check the structure against a golden file
(``docs/regie-outputs.md`` says which fields to check with the accountant before a first real send). The
keys are computed over the debt's reference as the ROLMRE and ORMC formats define them: ``Cle1`` over the
digits of ``CodCol ‖ IdBord ‖ YY ‖ Per ‖ NumDette`` (13 digits), weights 2 to 7 from the right, 11 minus
the remainder (0 for a remainder of 0, 1 for a remainder of 1); ``Cle2`` over ``YY ‖ Per ‖ 00 ‖ NumDette``
modulo 23, as a letter of ``ABCDEFGHJKLMNPQRSTUVWXY``.

Names, addresses and objects are written in capitals without accents, as the open implementations send
them. Pure and whole: the document is built in memory and returned as bytes (ISO-8859-1, as Hélios reads it);
any refusal (a payer with no address, a service with no accounting code…) raises ``InvalidInput`` naming
the family or the invoice, before anything is written.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping
from typing import Final, Protocol

import attrs

from espacefamille.billing.accounting import AccountingCode, PesSettings
from espacefamille.billing.documents import DocumentKind, Invoice
from espacefamille.calendar.periods import DateRange
from espacefamille.calendar.timezones import require_aware
from espacefamille.commune import Commune
from espacefamille.errors import InvalidInput
from espacefamille.model import Family, Regie
from espacefamille.money import ZERO, Money
from espacefamille.text import month_name

__all__ = [
    "PES_NAMESPACE",
    "PesDirectDebit",
    "PesFile",
    "modulo11_key",
    "modulo23_key",
    "pes_v2_file",
]

PES_NAMESPACE: Final = "http://www.minefi.gouv.fr/cp/helios/pes_v2/Rev0/aller"

_KEY_LETTERS: Final = "ABCDEFGHJKLMNPQRSTUVWXY"  # 23 letters: no I, O nor Z
_SEQUENCES: Final = {"OOFF": "01", "FRST": "02", "RCUR": "03", "FNAL": "04"}
_NAME_LENGTH: Final = 38
_OBJECT_LENGTH: Final = 160
_INVOICE_NUMBER: Final = re.compile(r".*-([0-9]{4})-([0-9]{1,9})")
_FILE_NAME: Final = re.compile(r"[A-Za-z0-9_.\-]{1,100}")
_PLAIN: Final = str.maketrans(
    {"œ": "oe", "Œ": "OE", "æ": "ae", "Æ": "AE", "ß": "ss", "’": "'", "–": "-", "—": "-"}
)


def modulo11_key(reference: str) -> str:
    """The modulo 11 key of ``reference``: its digits weighted 2, 3, 4, 5, 6, 7, 2… from the right.

    A character that is not a digit counts as 0. The key is 11 minus the remainder of the sum by 11, 0 when
    the remainder is 0 and 1 when it is 1 (11 − 1 = 10 has no single digit).
    """
    total = sum(
        (int(char) if char.isdigit() else 0) * (2 + index % 6)
        for index, char in enumerate(reversed(reference))
    )
    remainder = total % 11
    return str(0 if remainder == 0 else 1 if remainder == 1 else 11 - remainder)


def modulo23_key(reference: str) -> str:
    """The modulo 23 key of ``reference`` as a letter (its digits as one number; other characters are 0)."""
    number = int("".join(char if char.isdigit() else "0" for char in reference) or "0")
    return _KEY_LETTERS[number % 23]


@attrs.frozen
class PesDirectDebit:
    """How an invoice is collected by SEPA direct debit, as the PES file says it.

    The seam with the mandates: ``PesDirectDebit.of(mandate, collect_on)`` takes a
    ``billing.mandates.Mandate`` (anything with its ``rum``, ``signed_on``, ``debtor_name``, ``iban``, ``bic``
    and ``sequence``) and the collection date (``billing.direct_debit.invoice_debit_date``).
    """

    rum: str
    signed_on: dt.date
    holder: str
    iban: str
    bic: str | None
    sequence: str = attrs.field(validator=attrs.validators.in_(tuple(_SEQUENCES)))
    collect_on: dt.date = attrs.field(validator=attrs.validators.instance_of(dt.date))

    @classmethod
    def of(cls, mandate: _MandateLike, collect_on: dt.date) -> PesDirectDebit:
        signed_on = mandate.signed_on
        if signed_on is None:
            raise InvalidInput(
                f"mandate {mandate.rum} has no signature date",
                message_fr=(
                    f"Date de signature manquante pour le mandat {mandate.rum} de {mandate.debtor_name}."
                ),
                code="sepa.mandate_unsigned",
            )
        return cls(
            mandate.rum,
            signed_on,
            mandate.debtor_name,
            mandate.iban,
            mandate.bic,
            mandate.sequence.value,
            collect_on,
        )


class _Sequence(Protocol):
    @property
    def value(self) -> str: ...


class _MandateLike(Protocol):
    """What ``PesDirectDebit.of`` reads of a mandate (``billing.mandates.Mandate`` has it)."""

    @property
    def rum(self) -> str: ...
    @property
    def signed_on(self) -> dt.date | None: ...
    @property
    def debtor_name(self) -> str: ...
    @property
    def iban(self) -> str: ...
    @property
    def bic(self) -> str | None: ...
    @property
    def sequence(self) -> _Sequence: ...


@attrs.frozen
class PesFile:
    """A written PES V2 file: its ``name``, its bytes, the invoices it carries and their total.

    ``left_out`` lists the documents of the month the file does not carry, each with a code:
    ``pes.credit_note_left_out``, ``pes.zero_invoice_left_out``, ``pes.imported_left_out``.
    """

    name: str
    content: bytes
    invoices: tuple[str, ...]
    total: Money
    left_out: tuple[tuple[str, str], ...] = ()


def _refuse(message: str, message_fr: str, code: str, **details: object) -> InvalidInput:
    return InvalidInput(message, message_fr=message_fr, code=code, details=details)


def _text(value: str, limit: int) -> str:
    """``value`` as the accountant's files write names and objects: on one line, in capitals without
    accents (« Léa Müller-Œuvray » is ``LEA MULLER-OEUVRAY``), at most ``limit`` characters."""
    decomposed = unicodedata.normalize("NFKD", value.translate(_PLAIN))
    plain = "".join(char for char in decomposed if not unicodedata.combining(char)).replace("€", "EUR")
    return " ".join(plain.upper().split())[:limit].rstrip()


def _amount(money: Money) -> str:
    return f"{money.cents // 100}.{money.cents % 100:02d}"


def _value(parent: ET.Element, tag: str, value: str) -> ET.Element:
    """PES fields carry their value in a ``V`` attribute: ``<IdPost V="035000"/>``."""
    return ET.SubElement(parent, tag, {"V": value})


def _period_code(month: int) -> str:
    """The one-character period: 1 to 9, then A, B, C for October, November, December."""
    return "123456789ABC"[month - 1]


def _debt_number(invoice: Invoice) -> str:
    match = _INVOICE_NUMBER.fullmatch(invoice.number)
    if match is None:
        raise _refuse(
            f"invoice number {invoice.number!r} has no year and counter",
            f"Le numéro de facture « {invoice.number} » ne se termine pas par une année et un compteur.",
            "pes.invalid_invoice_number",
            invoice=invoice.number,
        )
    year, counter = match.groups()
    return f"{year}{int(counter):06d}"


def _family_label(family: Family) -> str:
    return f"le foyer {family.name} ({family.id})"


def _check_inputs(
    commune: Commune, regie_id: str, month: DateRange, bordereau: int, created_at: dt.datetime
) -> tuple[Regie, PesSettings]:
    if not isinstance(commune, Commune):
        raise _refuse("commune must be a Commune", "La commune est attendue.", "input.invalid")
    regie = commune.regie(regie_id)
    if regie.pes is None:
        raise _refuse(
            f"régie {regie_id!r} has no PES settings",
            f"La régie « {regie.name} » n'a pas de paramètres Hélios : ajoutez [regies.{regie.id}.pes] "
            "au fichier de la commune (SIRET, poste comptable, code collectivité, budget, nature et code "
            "produit).",
            "pes.not_configured",
            regie=regie_id,
        )
    if not isinstance(month, DateRange):
        raise _refuse("month must be a DateRange", "Le mois est attendu.", "input.invalid")
    if isinstance(bordereau, bool) or not isinstance(bordereau, int) or not 1 <= bordereau <= 9_999_999:
        raise _refuse(
            f"the bordereau number must be 1 to 9999999, got {bordereau!r}",
            "Le numéro de bordereau doit être un entier de 1 à 9 999 999.",
            "pes.invalid_bordereau",
        )
    require_aware(created_at, "created_at")
    return regie, regie.pes


def _lines_by_code(commune: Commune, regie: Regie, settings: PesSettings, invoice: Invoice) -> list[_Line]:
    """The invoice's amounts by accounting code, in the order of their first line."""
    groups: dict[AccountingCode, _Line] = {}
    for line in invoice.lines:
        service_name = regie.name
        code = settings.default
        if line.prestation_id:
            service = commune.service(commune.prestation(line.prestation_id).service_id)
            service_name, code = service.name, settings.code_for(service.id)
        if code is None:
            raise _refuse(
                f"invoice {invoice.number}: no accounting code for line {line.label!r}",
                f"Facture {invoice.number} : aucune nature comptable pour la ligne « {line.label} » "
                f"(ajoutez nature et product à [regies.{regie.id}.pes]).",
                "pes.missing_code",
                invoice=invoice.number,
            )
        group = groups.setdefault(code, _Line(code, service_name))
        group.total = group.total + line.total
    kept = [group for group in groups.values() if group.total]
    for group in kept:
        if group.total.is_negative:
            raise _refuse(
                f"invoice {invoice.number}: negative amount {group.total} on {group.code.product}",
                f"Facture {invoice.number} : le montant de « {group.label} » est négatif "
                f"({group.total.format()}) ; un titre ne porte que des montants positifs, émettez un avoir.",
                "pes.negative_line",
                invoice=invoice.number,
            )
    return kept


@attrs.define
class _Line:
    code: AccountingCode
    label: str
    total: Money = ZERO


def _tiers(parent: ET.Element, family: Family, debit: PesDirectDebit | None) -> None:
    address = family.address
    if address is None:
        raise _refuse(
            f"family {family.id} has no postal address",
            f"Le payeur du foyer {family.name} ({family.id}) n'a pas d'adresse postale : le Trésor public ne "
            "peut pas recouvrer un titre sans adresse. Renseignez-la avant de produire le fichier.",
            "pes.no_address",
            family=family.id,
        )
    payer = family.payer
    tiers = ET.SubElement(parent, "Tiers")
    info = ET.SubElement(tiers, "InfoTiers")
    _value(info, "CatTiers", "01")  # a private person
    _value(info, "NatJur", "01")  # a private person
    _value(info, "TypTiers", "01")  # the debtor
    _value(info, "Nom", _text(payer.last_name, _NAME_LENGTH))
    _value(info, "Prenom", _text(payer.first_name, _NAME_LENGTH))
    where = ET.SubElement(tiers, "Adresse")
    _value(where, "TypAdr", "1")  # the main address
    lines = [_text(line, _NAME_LENGTH) for line in address.lines]
    if len(lines) == 1:
        _value(where, "Adr2", lines[0])
    else:
        extra = " ".join(lines[2:])
        for tag, line in zip(("Adr1", "Adr2", "Adr3"), [*lines[:2], extra], strict=True):
            if line:
                _value(where, tag, _text(line, _NAME_LENGTH))
    _value(where, "CP", _text(address.postcode, 10))
    _value(where, "Ville", _text(address.city, _NAME_LENGTH))
    if address.in_france:
        _value(where, "CodRes", "0")  # resident in France
    else:
        _value(where, "CodRes", "1")
        _value(where, "Pays", _text(address.country or "", _NAME_LENGTH))
    if debit is not None:
        account = ET.SubElement(tiers, "CpteBancaire")
        if debit.bic:
            _value(account, "BIC", debit.bic)
        _value(account, "IBAN", debit.iban)
        _value(account, "TitCpte", _text(debit.holder, 32))


def _piece(
    bordereau_element: ET.Element,
    commune: Commune,
    regie: Regie,
    settings: PesSettings,
    invoice: Invoice,
    family: Family,
    debit: PesDirectDebit | None,
    index: int,
    bordereau: int,
) -> None:
    lines = _lines_by_code(commune, regie, settings, invoice)
    debt = _debt_number(invoice)
    year = f"{invoice.period.start.year % 100:02d}"
    period = _period_code(invoice.period.start.month)
    month = f"{month_name(invoice.period.start.month)} {invoice.period.start.year}"
    piece = ET.SubElement(bordereau_element, "Piece")
    block = ET.SubElement(piece, "BlocPiece")
    _value(block, "IdPce", str(index))
    _value(block, "TypPce", "15")  # an ORMC title
    _value(block, "NatPce", "01")  # an ordinary receivable
    # the invoice number as the family reads it on its invoice, the words around it in capitals
    words = _text(f"{month} foyer {family.name}", _OBJECT_LENGTH)
    _value(block, "ObjPce", f"FACTURE {invoice.number} {words}"[:_OBJECT_LENGTH].rstrip())
    _value(block, "NumDette", debt)
    _value(block, "Per", period)
    _value(block, "Cle1", modulo11_key(f"{settings.collectivite_code}{bordereau}{year}{period}{debt:0>13}"))
    _value(block, "Cle2", modulo23_key(f"{year}{period}00{debt:0>13}"))
    for number, line in enumerate(lines, start=1):
        ligne = ET.SubElement(piece, "LigneDePiece")
        ligne_block = ET.SubElement(ligne, "BlocLignePiece")
        info = ET.SubElement(ligne_block, "InfoLignePiece")
        _value(info, "IdLigne", str(number))
        _value(info, "ObjLignePce", _text(f"{line.label} {month}", _OBJECT_LENGTH))
        _value(info, "CodProdLoc", line.code.product)
        _value(info, "Nature", line.code.nature)
        _value(info, "Majo", "0")
        _value(info, "TvaIntraCom", "0")
        _value(info, "MtHT", _amount(line.total))
        if debit is not None:
            sepa = ET.SubElement(ligne_block, "InfoPrelevementSEPA")
            _value(sepa, "NatPrel", "01")
            _value(sepa, "PerPrel", "07")
            _value(sepa, "DtePrel", debit.collect_on.isoformat())
            _value(sepa, "MtPrel", _amount(line.total))
            _value(sepa, "SequencePres", _SEQUENCES[debit.sequence])
            _value(sepa, "DateSignMandat", debit.signed_on.isoformat())
            _value(sepa, "RefUniMdt", debit.rum)
            _value(sepa, "LibPrel", f"{_text(regie.name, 100)} FACTURE {invoice.number}"[:140])
        _tiers(ligne, family, debit)


def _left_out(invoice: Invoice) -> str | None:
    if invoice.kind is DocumentKind.CREDIT_NOTE:
        return "pes.credit_note_left_out"
    if invoice.kind is DocumentKind.IMPORTED:
        return "pes.imported_left_out"
    if not invoice.total:
        return "pes.zero_invoice_left_out"
    return None


def _envelope(
    regie: Regie,
    settings: PesSettings,
    month: DateRange,
    name: str,
    local: str,
    bordereau: int,
    count: int,
    total: Money,
) -> tuple[ET.Element, ET.Element]:
    """The document down to its bordereau's block: the root and the bordereau, which the pieces go into."""
    year = month.start.year
    root = ET.Element("n:PES_Aller", {"xmlns:n": PES_NAMESPACE})
    envelope = ET.SubElement(root, "Enveloppe")
    parameters = ET.SubElement(envelope, "Parametres")
    _value(parameters, "Version", "2")
    _value(parameters, "TypFic", "PESORMC")
    _value(parameters, "NomFic", name)
    _value(ET.SubElement(envelope, "Emetteur"), "Sigle", "espacefamille")
    header = ET.SubElement(root, "EnTetePES")
    _value(header, "DteStr", local)
    _value(header, "IdPost", settings.poste_comptable)
    _value(header, "IdColl", settings.siret)
    _value(header, "CodCol", settings.collectivite_code)
    _value(header, "CodBud", settings.budget)
    receipts = ET.SubElement(root, "PES_RecetteAller")
    receipts_header = ET.SubElement(receipts, "EnTeteRecette")
    _value(receipts_header, "IdVer", "2")
    _value(receipts_header, "InfoDematerialisee", "0")
    bordereau_element = ET.SubElement(receipts, "Bordereau")
    block = ET.SubElement(bordereau_element, "BlocBordereau")
    _value(block, "Exer", str(year))
    _value(block, "IdBord", str(bordereau))
    _value(block, "DteBordEm", local)
    _value(block, "TypBord", "06")  # a bordereau of ORMC titles
    _value(block, "NbrPce", str(count))
    _value(block, "MtBordHt", _amount(total))
    _value(block, "DteAsp", local)
    _value(block, "Objet", _text(f"{regie.name} {month_name(month.start.month)} {year}", _OBJECT_LENGTH))
    return root, bordereau_element


def pes_v2_file(
    commune: Commune,
    regie_id: str,
    month: DateRange,
    invoices: Iterable[Invoice],
    families: Mapping[str, Family],
    *,
    bordereau: int,
    created_at: dt.datetime,
    debits: Mapping[str, PesDirectDebit] | None = None,
) -> PesFile:
    """The PES V2 recette file of ``regie_id``'s invoices for ``month`` (bordereau number ``bordereau``).

    ``invoices`` are the régie's documents of the month (others are refused), ``families`` their households
    by id (the payer and the postal address come from there), ``debits`` how invoices are collected by
    direct debit, by invoice number. ``created_at`` (timezone-aware) dates the file, the bordereau and its
    dispatch. Raises ``InvalidInput`` (``pes.*``) naming the family or the invoice when the file cannot be
    written whole.
    """
    regie, settings = _check_inputs(commune, regie_id, month, bordereau, created_at)
    if not isinstance(families, Mapping) or not (debits is None or isinstance(debits, Mapping)):
        raise _refuse(
            "families and debits must be mappings by id",
            "Les foyers (et les prélèvements) sont attendus par identifiant.",
            "input.invalid",
        )
    if not all(isinstance(debit, PesDirectDebit) for debit in (debits or {}).values()):
        raise _refuse("debits must be PesDirectDebit values", "Un prélèvement est attendu.", "input.invalid")
    debits = {} if debits is None else dict(debits)
    carried: list[tuple[Invoice, Family]] = []
    left_out: list[tuple[str, str]] = []
    for invoice in sorted(invoices, key=lambda document: document.number):
        if not isinstance(invoice, Invoice):
            raise _refuse(
                f"expected an Invoice, got {invoice!r}", "Une facture est attendue.", "input.invalid"
            )
        if invoice.regie_id != regie.id or invoice.period.start not in month:
            raise _refuse(
                f"invoice {invoice.number} is not of régie {regie.id} for {month}",
                f"La facture {invoice.number} n'est pas de la régie « {regie.name} » pour ce mois.",
                "pes.other_invoice",
                invoice=invoice.number,
            )
        reason = _left_out(invoice)
        if reason is not None:
            left_out.append((invoice.number, reason))
            continue
        family = families.get(invoice.family_id)
        if family is None:
            raise _refuse(
                f"no family {invoice.family_id!r} for invoice {invoice.number}",
                f"Le foyer {invoice.family_id} de la facture {invoice.number} est inconnu.",
                "pes.unknown_family",
                invoice=invoice.number,
            )
        carried.append((invoice, family))
    if not carried:
        raise _refuse(
            f"régie {regie.id} has no invoice to send for {month}",
            f"La régie « {regie.name} » n'a aucune facture à transmettre pour ce mois.",
            "pes.no_invoice",
        )
    total = Money.total(invoice.total for invoice, _ in carried)
    local = commune.calendar.today(created_at).isoformat()
    year, number = month.start.year, f"{month.start.month:02d}"
    name = f"PES_{regie.id}_{year}{number}_{bordereau}.xml"
    if not _FILE_NAME.fullmatch(name):
        name = f"PES_{year}{number}_{bordereau}.xml"

    root, bordereau_element = _envelope(regie, settings, month, name, local, bordereau, len(carried), total)
    for index, (invoice, family) in enumerate(carried, start=1):
        _piece(
            bordereau_element,
            commune,
            regie,
            settings,
            invoice,
            family,
            debits.get(invoice.number),
            index,
            bordereau,
        )
    ET.indent(root, space="  ")
    body = ET.tostring(root, encoding="unicode", short_empty_elements=True)
    content = ('<?xml version="1.0" encoding="ISO-8859-1"?>\n' + body + "\n").encode(
        "latin-1", "xmlcharrefreplace"
    )
    return PesFile(name, content, tuple(invoice.number for invoice, _ in carried), total, tuple(left_out))
