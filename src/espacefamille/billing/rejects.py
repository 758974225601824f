"""Direct debits the bank returned (R-transactions): reading its report and what each reason means.

A collection the debtor's bank refuses or returns comes back with an ISO 20022 reason code (``AM04``:
insufficient funds, ``AC04``: account closed…). The régie's bank reports them either as a
``pain.002.001.03`` status report (each rejected transaction: its ``OrgnlEndToEndId``, the invoice number,
and its ``StsRsnInf/Rsn/Cd``) or as a table its online banking exports; ``read_rejects`` takes both:

* the XML status report, as the bank sends it (its ``OrgnlGrpInfAndSts/OrgnlMsgId`` names our debit file, so
  that a report imported again after the invoice was presented anew never returns the new presentation);
* a CSV file (UTF-8 or Windows-1252, ``;`` or ``,``) whose first column is the end-to-end id (the invoice
  number) and second the reason code, with or without a header line (``reference;motif``).

``REJECT_REASONS`` gives the French label of the common codes and whether the mandate can be used again:
after ``AC01``, ``AC04``, ``MD01`` or ``MD07`` it cannot (wrong or closed account, no mandate, debtor
deceased), and the back office revokes it.

Pure: the report's bytes are an argument; nothing is read from a file or a store.
"""

from __future__ import annotations

import csv
import io
import re
import xml.etree.ElementTree as ET
from typing import Final

import attrs

from espacefamille.errors import InvalidInput

__all__ = ["REJECT_REASONS", "RejectNotice", "ends_mandate", "read_rejects", "reject_label_fr"]

#: The French label of the common reject reasons, and whether the mandate stays usable after one.
REJECT_REASONS: Final[dict[str, tuple[str, bool]]] = {
    "AC01": ("numéro de compte incorrect", False),
    "AC04": ("compte clos", False),
    "AC06": ("compte bloqué", True),
    "AG01": ("opération interdite sur ce compte", True),
    "AM04": ("provision insuffisante", True),
    "AM05": ("prélèvement en double", True),
    "MD01": ("pas de mandat", False),
    "MD02": ("mandat incomplet ou erroné", True),
    "MD06": ("remboursement demandé par le débiteur", True),
    "MD07": ("débiteur décédé", False),
    "MS02": ("refus du débiteur", True),
    "MS03": ("motif non communiqué par la banque", True),
    "RC01": ("code banque (BIC) incorrect", True),
    "SL01": ("opération refusée par la banque du débiteur", True),
}

_CODE: Final = re.compile(r"[A-Z0-9]{4}")
_END_TO_END: Final = re.compile(r"[A-Za-z0-9+?/\-:().,' ]{1,35}")
_HEADER_WORDS: Final = ("reference", "référence", "end", "id", "facture")


def reject_label_fr(reason: str) -> str:
    """The French label of reason code ``reason`` (« provision insuffisante »), or « motif XXXX »."""
    known = REJECT_REASONS.get(reason)
    return known[0] if known is not None else f"motif {reason}"


def ends_mandate(reason: str) -> bool:
    """Whether a reject for ``reason`` means the mandate cannot be collected again."""
    known = REJECT_REASONS.get(reason)
    return known is not None and not known[1]


@attrs.frozen
class RejectNotice:
    """One returned collection as the bank reports it: the end-to-end id (our invoice number), the reason
    code and, when the report says it (a pain.002's ``OrgnlMsgId``), the debit file's message id."""

    end_to_end_id: str
    reason: str
    batch_id: str | None = None

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.end_to_end_id, str) or not _END_TO_END.fullmatch(self.end_to_end_id):
            raise _refused(
                f"invalid end-to-end id {self.end_to_end_id!r}", f"référence « {self.end_to_end_id} »"
            )
        if not isinstance(self.reason, str) or not _CODE.fullmatch(self.reason):
            raise _refused(
                f"invalid reason code {self.reason!r} for {self.end_to_end_id}",
                f"motif « {self.reason} » de la facture {self.end_to_end_id} (quatre lettres ou chiffres)",
            )
        if self.batch_id is not None and (
            not isinstance(self.batch_id, str) or not _END_TO_END.fullmatch(self.batch_id)
        ):
            raise _refused(f"invalid original message id {self.batch_id!r}", f"fichier « {self.batch_id} »")

    @property
    def label_fr(self) -> str:
        return reject_label_fr(self.reason)


def _refused(message: str, what_fr: str) -> InvalidInput:
    return InvalidInput(
        f"the reject report cannot be read: {message}",
        message_fr=f"Le relevé des prélèvements rejetés est illisible : {what_fr}.",
        code="sepa.unreadable_rejects",
    )


def read_rejects(data: bytes) -> tuple[RejectNotice, ...]:
    """The rejected collections of a bank's report (a ``pain.002`` XML status report or a CSV table, see
    the module docstring), in the report's order; ``InvalidInput`` (``sepa.unreadable_rejects``) when it
    cannot be read, nothing half-read."""
    if not isinstance(data, bytes):
        raise _refused("bytes expected", "contenu inattendu")
    stripped = data.lstrip(b"\xef\xbb\xbf \t\r\n")
    if stripped.startswith(b"<"):
        return _status_report(stripped)
    return _table(data)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _child(element: ET.Element, *path: str) -> ET.Element | None:
    found: ET.Element | None = element
    for name in path:
        if found is None:
            return None
        found = next((child for child in found if _local(child.tag) == name), None)
    return found


def _text_of(element: ET.Element, *path: str) -> str:
    found = _child(element, *path)
    return (found.text or "").strip() if found is not None else ""


def _status_report(data: bytes) -> tuple[RejectNotice, ...]:
    try:
        root = ET.fromstring(data)
    except ET.ParseError as error:
        raise _refused(f"not well-formed XML ({error})", "XML mal formé") from None
    if not any(_local(element.tag) == "OrgnlGrpInfAndSts" for element in root.iter()):
        raise _refused("not a pain.002 status report", "ce n'est pas un rapport d'état pain.002")
    group = next(element for element in root.iter() if _local(element.tag) == "OrgnlGrpInfAndSts")
    batch_id = _text_of(group, "OrgnlMsgId") or None
    notices = []
    for transaction in (element for element in root.iter() if _local(element.tag) == "TxInfAndSts"):
        status = _text_of(transaction, "TxSts")
        if status and status != "RJCT":
            continue
        reason = _text_of(transaction, "StsRsnInf", "Rsn", "Cd")
        notices.append(RejectNotice(_text_of(transaction, "OrgnlEndToEndId"), reason, batch_id))
    return tuple(notices)


def _decoded(data: bytes) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def _table(data: bytes) -> tuple[RejectNotice, ...]:
    text = _decoded(data)
    first = text.split("\n", 1)[0]
    delimiter = ";" if first.count(";") >= first.count(",") else ","
    notices = []
    for number, row in enumerate(csv.reader(io.StringIO(text), delimiter=delimiter), start=1):
        cells = [cell.strip() for cell in row]
        if not any(cells):
            continue
        if number == 1 and cells[0].casefold().startswith(_HEADER_WORDS):
            continue
        if len(cells) < 2:
            raise _refused(
                f"line {number} has no reason code", f"ligne {number} sans motif (référence;motif attendus)"
            )
        notices.append(RejectNotice(cells[0], cells[1].upper()))
    if not notices:
        raise _refused("no rejected collection in it", "aucun prélèvement rejeté n'y figure")
    return tuple(notices)
