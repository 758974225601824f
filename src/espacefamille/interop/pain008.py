"""A SEPA direct-debit file (ISO 20022 ``pain.008.001.02``) for one régie and one collection date.

The régie hands the file to its bank (or the Treasury's): one message, one payment block per sequence type
(``FRST`` and ``RCUR`` collections are settled apart), one transaction per invoice with the invoice number as
its end-to-end id, the mandate's RUM and signature date, the debtor's name and account. Amounts are written
from whole cents, and each block's control sum and the message's are the exact sums of its transactions.

Written with the standard library's ElementTree: the document is built whole in memory and returned as
bytes, so a refused batch writes nothing. Names and texts are put in the SEPA Latin character set (accents
dropped). The tests validate the output against the XSD shipped by sepaxml.
"""

from __future__ import annotations

import datetime as dt
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from typing import Final

from espacefamille.billing.direct_debit import Collection
from espacefamille.billing.mandates import Creditor, SequenceType, sepa_text
from espacefamille.calendar.target2 import is_target2_business_day
from espacefamille.calendar.timezones import require_aware
from espacefamille.errors import InvalidInput
from espacefamille.money import Money
from espacefamille.text import format_date

__all__ = ["PAIN_008_NAMESPACE", "pain008_document"]

PAIN_008_NAMESPACE: Final = "urn:iso:std:iso:20022:tech:xsd:pain.008.001.02"

# A message id leaves room for the block's "-FRST"/"-RCUR" within the 35 characters of an id.
_MESSAGE_ID: Final = re.compile(r"[A-Za-z0-9+?/\-:().,']{1,30}")
_SEQUENCES: Final = (SequenceType.FRST, SequenceType.RCUR, SequenceType.FNAL, SequenceType.OOFF)


def _amount(money: Money) -> str:
    return f"{money.cents // 100}.{money.cents % 100:02d}"


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attributes: str) -> ET.Element:
    element = ET.SubElement(parent, tag, attributes)
    if text is not None:
        element.text = text
    return element


def _path(parent: ET.Element, tags: str, text: str) -> None:
    """``A/B/C`` as nested elements, the last one holding ``text``."""
    for tag in tags.split("/"):
        parent = _sub(parent, tag)
    parent.text = text


def _agent(parent: ET.Element, tag: str, bic: str | None) -> None:
    institution = _sub(_sub(parent, tag), "FinInstnId")
    if bic is None:
        _path(institution, "Othr/Id", "NOTPROVIDED")
    else:
        _sub(institution, "BIC", bic)


def _refuse(message: str, message_fr: str, code: str) -> InvalidInput:
    return InvalidInput(message, message_fr=message_fr, code=code)


def _check(
    creditor: Creditor, collect_on: dt.date, items: list[Collection], message_id: str, created_at: dt.datetime
) -> None:
    if not isinstance(creditor, Creditor):
        raise _refuse("the creditor must be a Creditor", "Le créancier SEPA est attendu.", "input.invalid")
    if not isinstance(collect_on, dt.date) or isinstance(collect_on, dt.datetime):
        raise _refuse(
            f"the collection date must be a date, got {collect_on!r}",
            "La date de prélèvement doit être une date.",
            "input.not_a_date",
        )
    require_aware(created_at, "created_at")
    if not isinstance(message_id, str) or not _MESSAGE_ID.fullmatch(message_id):
        raise _refuse(
            f"invalid message id {message_id!r}",
            f"Identifiant de fichier invalide : « {message_id} » (1 à 30 caractères, ni accent ni espace).",
            "sepa.invalid_message_id",
        )
    if not items:
        raise _refuse(
            "no collection to write", "Aucun prélèvement à inclure dans le fichier.", "sepa.no_collection"
        )
    if not is_target2_business_day(collect_on):
        raise _refuse(
            f"{collect_on} is not a TARGET2 business day",
            f"Le {format_date(collect_on)} n'est pas un jour ouvré TARGET2 : aucun prélèvement ce jour-là.",
            "sepa.not_a_business_day",
        )
    if collect_on <= created_at.date():
        raise _refuse(
            f"collection date {collect_on} is not after the file's date {created_at.date()}",
            f"La date de prélèvement du {format_date(collect_on)} est déjà passée ou trop proche.",
            "sepa.collection_in_past",
        )
    seen: set[str] = set()
    for item in items:
        if not isinstance(item, Collection):
            raise _refuse(
                f"expected a Collection, got {item!r}", "Un prélèvement est attendu.", "input.invalid"
            )
        if item.invoice_number in seen:
            raise _refuse(
                f"invoice {item.invoice_number} is collected twice",
                f"La facture {item.invoice_number} ({item.mandate.debtor_name}) est deux fois dans le lot.",
                "sepa.duplicate_invoice",
            )
        seen.add(item.invoice_number)
        signed_on = item.mandate.signed_on
        assert signed_on is not None  # a Mandate always has one
        if signed_on > collect_on:
            raise _refuse(
                f"mandate {item.mandate.rum} is signed after the collection date",
                f"Le mandat {item.mandate.rum} de {item.mandate.debtor_name} est signé après la date de "
                f"prélèvement du {format_date(collect_on)}.",
                "sepa.mandate_signed_after_collection",
            )


def pain008_document(
    creditor: Creditor,
    collect_on: dt.date,
    collections: Iterable[Collection],
    *,
    message_id: str,
    created_at: dt.datetime,
) -> bytes:
    """The ``pain.008.001.02`` file (UTF-8 XML) collecting ``collections`` for ``creditor`` on ``collect_on``.

    ``collect_on`` must be a TARGET2 business day after ``created_at`` (a timezone-aware instant, written as
    the file's creation time); ``message_id`` (1 to 30 characters) names the message, and each payment
    block is ``<message_id>-<sequence type>``. An invoice may appear only once. Raises ``InvalidInput``
    (``sepa.*``) naming the debtor when the batch cannot be written.
    """
    items = list(collections)
    _check(creditor, collect_on, items, message_id, created_at)
    document = ET.Element("Document", {"xmlns": PAIN_008_NAMESPACE})
    initiation = _sub(document, "CstmrDrctDbtInitn")
    header = _sub(initiation, "GrpHdr")
    _sub(header, "MsgId", message_id)
    _sub(header, "CreDtTm", created_at.replace(microsecond=0).isoformat())
    _sub(header, "NbOfTxs", str(len(items)))
    _sub(header, "CtrlSum", _amount(Money.total(item.amount for item in items)))
    _path(header, "InitgPty/Nm", sepa_text(creditor.name, 70))
    for sequence in _SEQUENCES:
        block = [item for item in items if item.mandate.sequence is sequence]
        if block:
            _payment_information(initiation, creditor, collect_on, message_id, sequence, block)
    ET.indent(document, space="  ")
    body = ET.tostring(document, encoding="unicode", short_empty_elements=False)
    return ('<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n").encode("utf-8")


def _payment_information(
    parent: ET.Element,
    creditor: Creditor,
    collect_on: dt.date,
    message_id: str,
    sequence: SequenceType,
    items: list[Collection],
) -> None:
    block = _sub(parent, "PmtInf")
    _sub(block, "PmtInfId", f"{message_id}-{sequence.value}")
    _sub(block, "PmtMtd", "DD")
    _sub(block, "BtchBookg", "true")
    _sub(block, "NbOfTxs", str(len(items)))
    _sub(block, "CtrlSum", _amount(Money.total(item.amount for item in items)))
    kind = _sub(block, "PmtTpInf")
    _path(kind, "SvcLvl/Cd", "SEPA")
    _path(kind, "LclInstrm/Cd", "CORE")
    _sub(kind, "SeqTp", sequence.value)
    _sub(block, "ReqdColltnDt", collect_on.isoformat())
    _path(block, "Cdtr/Nm", sepa_text(creditor.name, 70))
    _path(block, "CdtrAcct/Id/IBAN", creditor.iban)
    _agent(block, "CdtrAgt", creditor.bic)
    _sub(block, "ChrgBr", "SLEV")
    scheme = _sub(_sub(_sub(_sub(block, "CdtrSchmeId"), "Id"), "PrvtId"), "Othr")
    _sub(scheme, "Id", creditor.identifier)
    _path(scheme, "SchmeNm/Prtry", "SEPA")
    for item in items:
        transaction = _sub(block, "DrctDbtTxInf")
        _path(transaction, "PmtId/EndToEndId", item.invoice_number)
        _sub(transaction, "InstdAmt", _amount(item.amount), Ccy="EUR")
        mandate = _sub(_sub(transaction, "DrctDbtTx"), "MndtRltdInf")
        _sub(mandate, "MndtId", item.mandate.rum)
        signed_on = item.mandate.signed_on
        assert signed_on is not None
        _sub(mandate, "DtOfSgntr", signed_on.isoformat())
        _agent(transaction, "DbtrAgt", item.mandate.bic)
        _path(transaction, "Dbtr/Nm", sepa_text(item.mandate.debtor_name, 70))
        _path(transaction, "DbtrAcct/Id/IBAN", item.mandate.iban)
        _path(transaction, "RmtInf/Ustrd", sepa_text(f"{creditor.name} facture {item.invoice_number}", 140))
