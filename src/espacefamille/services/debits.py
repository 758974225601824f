"""SEPA direct debit in the back office: mandates registered and revoked, the debit date of a month's invoice,
the régie's debit file, and the bank's rejects.

``BackOffice`` calls these in one unit of work each (``register_mandate``, ``revoke_mandate``, ``mandates``,
``direct_debit_file``, ``import_direct_debit_rejects``); month-end billing asks ``debit_on`` the date an
invoice is collected. What each does to the store:

* a **debit file** (``direct_debit_file``) collects, for a régie and a collection date, every invoice whose
  debit date has come (``Invoice.direct_debit_on`` on or before it) of a household with a mandate in force
  that day, for what is left to pay on it: an invoice settled meanwhile by any other means (at the counter,
  online, a credit note) is left out, one partly paid is collected for the rest. Each collection is recorded
  as a ``direct_debit`` payment numbered in the ``PAY`` series and allocated to its invoice, the mandates move
  from ``FRST`` to ``RCUR``, and the batch is kept with its pain.008 document; an invoice already in a batch
  is never collected again, so building the file twice debits nobody twice (the second time there is nothing
  left to collect: ``sepa.nothing_to_collect``, naming the file that has it);
* a **reject** (``import_direct_debit_rejects``) marks its collection with the reason, and reopens the
  invoice itself: the bank took the money back, so the collection is reversed by a ``direct_debit`` payment
  of the opposite amount (its reference the French sentence: « Prélèvement du mardi 15 décembre 2026 rejeté
  par votre banque le … : provision insuffisante (AM04) ») and an allocation from the invoice to that
  reversal, which takes back what the collection settled — issued documents and recorded payments never
  change, no invoice is issued. The invoice is open again for the amount returned (``code``
  ``direct_debit.rejected``): the household's account and reminders see it, it is paid at the counter or
  online, and a later debit file presents it again only when the régie asks (``represent``). A first
  collection rejected leaves the mandate's next one ``FRST``; a reason that ends the mandate (closed account,
  no mandate, debtor deceased) revokes it.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from typing import Final

import attrs

from espacefamille.billing.direct_debit import (
    Collection,
    DebitBatch,
    DebitCollection,
    DebitReject,
    invoice_debit_date,
)
from espacefamille.billing.documents import (
    Allocation,
    Invoice,
    Numbering,
    Payment,
    PaymentMethod,
    Series,
)
from espacefamille.billing.mandates import (
    Creditor,
    FamilyMandate,
    Mandate,
    SequenceType,
)
from espacefamille.billing.rejects import RejectNotice, ends_mandate, read_rejects, reject_label_fr
from espacefamille.calendar.target2 import is_target2_business_day
from espacefamille.commune import Commune
from espacefamille.errors import EspaceFamilleError, InvalidInput, NotFound
from espacefamille.interop.pain008 import pain008_document
from espacefamille.model import Family, Regie
from espacefamille.money import ZERO, Money
from espacefamille.ports import UnitOfWork
from espacefamille.text import count_of, format_date

from .portal import billing_ledger

__all__ = ["DebitFile", "LeftOut", "RejectsImport", "ReopenedDebt"]

_NOT_SEPA: Final = re.compile(r"[^A-Za-z0-9\-.]")


@attrs.frozen
class LeftOut:
    """An invoice due for collection that the debit file leaves out, with why (``code``, ``message_fr``)."""

    invoice_number: str
    family_id: str
    code: str
    message_fr: str


@attrs.frozen
class DebitFile:
    """A debit file built: the batch recorded (its pain.008 document, its collections) and the invoices left
    out. ``content`` is the file to hand to the bank (UTF-8 XML)."""

    batch: DebitBatch
    left_out: tuple[LeftOut, ...] = ()

    @property
    def content(self) -> bytes:
        return self.batch.document.encode("utf-8")

    @property
    def message_fr(self) -> str:
        """« Fichier enfance-20261215-01 : 3 prélèvements pour 160,58 € le mardi 15 décembre 2026. »"""
        batch = self.batch
        text = (
            f"Fichier {batch.id} : {count_of(len(batch.collections), 'prélèvement', 'prélèvements')} pour "
            f"{batch.total.format()} le {format_date(batch.debit_date)}"
        )
        if self.left_out:
            text += f" ; {count_of(len(self.left_out), 'facture laissée', 'factures laissées')} de côté"
        return text + "."


@attrs.frozen
class ReopenedDebt:
    """A rejected collection and the invoice it reopens: the invoice, the household, the amount returned,
    the reason, the collection's date, the reversal payment recorded (``reversal_number``) and what is left
    to pay on the invoice now; ``mandate_revoked`` when the reason ends the mandate."""

    invoice_number: str
    family_id: str
    amount: Money
    reason: str
    debit_date: dt.date
    reversal_number: str
    remaining: Money
    mandate_revoked: bool

    @property
    def code(self) -> str:
        return "direct_debit.rejected"

    @property
    def message_fr(self) -> str:
        """« Facture … : le prélèvement de 24,60 € du mardi 15 décembre 2026 a été rejeté par votre banque
        (provision insuffisante, AM04) ; la facture est de nouveau à régler : 24,60 €. »"""
        text = (
            f"Facture {self.invoice_number} : le prélèvement de {self.amount.format()} du "
            f"{format_date(self.debit_date)} a été rejeté par votre banque "
            f"({reject_label_fr(self.reason)}, {self.reason}) ; "
            f"la facture est de nouveau à régler : {self.remaining.format()}"
        )
        return text + (" ; mandat révoqué." if self.mandate_revoked else ".")


@attrs.frozen
class RejectsImport:
    """What an import of rejects did: the debts reopened, and the references already recorded as rejected
    (an import of the same report again changes nothing)."""

    reopened: tuple[ReopenedDebt, ...]
    already_recorded: tuple[str, ...] = ()

    @property
    def message_fr(self) -> str:
        text = count_of(
            len(self.reopened), "prélèvement rejeté enregistré", "prélèvements rejetés enregistrés"
        )
        if self.already_recorded:
            known = count_of(len(self.already_recorded), "rejet déjà connu", "rejets déjà connus")
            text += f" ; {known}"
        return text + "."


# -- mandates ---------------------------------------------------------------------------------------


def creditor_of(regie: Regie) -> Creditor:
    """The régie as a SEPA creditor, or ``InvalidInput`` (``sepa.no_creditor``) when it has none."""
    if regie.sepa is None:
        raise InvalidInput(
            f"régie {regie.id!r} has no SEPA creditor settings",
            message_fr=(
                f"La régie {regie.name} ne prélève pas : donnez son identifiant créancier SEPA (ICS) et son "
                f"compte dans [regies.{regie.id}.sepa]."
            ),
            code="sepa.no_creditor",
            details={"regie_id": regie.id},
        )
    return regie.sepa


def _naming(family: Family, error: EspaceFamilleError) -> InvalidInput:
    return InvalidInput(
        f"family {family.id!r} ({family.name}): {error.message}",
        message_fr=f"Foyer {family.name} ({family.id}) : {error.message_fr}",
        code=error.code,
        details={**error.details, "family_id": family.id},
    )


def _new_rum(uow: UnitOfWork, regie_id: str, family_id: str) -> str:
    stem = _NOT_SEPA.sub("-", f"{regie_id}-{family_id}")[:30]
    known = {m.rum for m in uow.mandates.of_family(family_id)}
    number = 1
    while True:
        rum = f"{stem}-{number:03d}"
        if rum not in known:
            try:
                uow.mandates.get(rum)
            except NotFound:
                return rum
        number += 1


def register_mandate(
    uow: UnitOfWork,
    today: dt.date,
    family_id: str,
    regie_id: str,
    *,
    signed_on: dt.date | None,
    iban: str,
    bic: str | None,
    rum: str | None,
    debtor_name: str | None,
    pre_notification_days: int,
) -> FamilyMandate:
    commune = uow.commune()
    regie = commune.regie(regie_id)
    creditor_of(regie)
    family = uow.families.get(family_id)
    payer = family.payer
    try:
        terms = Mandate(
            rum if rum is not None else _new_rum(uow, regie_id, family_id),
            signed_on,
            debtor_name if debtor_name is not None else f"{payer.first_name} {payer.last_name}",
            iban,
            bic,
            pre_notification_days=pre_notification_days,
        )
    except EspaceFamilleError as error:
        raise _naming(family, error) from None
    assert terms.signed_on is not None
    if terms.signed_on > today:
        raise _naming(
            family,
            InvalidInput(
                f"mandate {terms.rum} is signed on {terms.signed_on}, after today",
                message_fr=(
                    f"le mandat {terms.rum} est daté du {format_date(terms.signed_on)}, après aujourd'hui."
                ),
                code="sepa.signed_in_future",
            ),
        )
    try:
        taken = uow.mandates.get(terms.rum)
    except NotFound:
        taken = None
    if taken is not None:
        raise _naming(
            family,
            InvalidInput(
                f"mandate reference {terms.rum} is already used",
                message_fr=f"la référence de mandat {terms.rum} est déjà utilisée.",
                code="sepa.rum_taken",
            ),
        )
    # A new mandate with the régie replaces the one in force (a new account, say).
    for earlier in uow.mandates.of_family(family_id):
        if earlier.regie_id == regie_id and earlier.revoked_on is None:
            uow.mandates.save(attrs.evolve(earlier, revoked_on=today))
    registered = FamilyMandate(terms, family_id, regie_id, today)
    uow.mandates.save(registered)
    if not family.direct_debit:
        uow.families.save(attrs.evolve(family, direct_debit=True))
    return registered


def _revoke(uow: UnitOfWork, mandate: FamilyMandate, on: dt.date) -> FamilyMandate:
    revoked = attrs.evolve(mandate, revoked_on=on)
    uow.mandates.save(revoked)
    others = [m for m in uow.mandates.of_family(mandate.family_id) if m.rum != mandate.rum]
    if not any(m.revoked_on is None for m in others):
        family = uow.families.get(mandate.family_id)
        if family.direct_debit:
            uow.families.save(attrs.evolve(family, direct_debit=False))
    return revoked


def revoke_mandate(uow: UnitOfWork, today: dt.date, rum: str) -> FamilyMandate:
    mandate = uow.mandates.get(rum)
    if mandate.revoked_on is not None:
        return mandate
    return _revoke(uow, mandate, today)


def mandate_in_force(mandates: Sequence[FamilyMandate], regie_id: str, day: dt.date) -> FamilyMandate | None:
    """The household's latest mandate with the régie in force on ``day``, if any."""
    found = [m for m in mandates if m.regie_id == regie_id and m.in_force_on(day)]
    return max(found, key=lambda m: (m.registered_on, m.rum)) if found else None


def debit_on(uow: UnitOfWork, regie: Regie, document: Invoice) -> tuple[dt.date | None, bool]:
    """The day month-end billing says ``document`` is collected, for a household on direct debit
    (``document.direct_debit_on`` set): under its mandate in force with the régie (the TARGET2 day after the
    notice, ``billing.direct_debit``), none when it has mandates but none in force; the date billing gave
    when it has never had one. The second value says whether it changed."""
    mandates = uow.mandates.of_family(document.family_id)
    if not mandates:
        return document.direct_debit_on, False
    mandate = mandate_in_force(mandates, regie.id, document.issued_on)
    day = None if mandate is None else invoice_debit_date(document, mandate.mandate, regie)
    return day, day != document.direct_debit_on


# -- the debit file ---------------------------------------------------------------------------------


def _refused_date(debit_date: dt.date, today: dt.date) -> InvalidInput | None:
    if debit_date <= today:
        return InvalidInput(
            f"debit date {debit_date} is not after today {today}",
            message_fr=(
                f"Le prélèvement ne peut pas être demandé pour le {format_date(debit_date)} : la date est "
                "passée ou c'est aujourd'hui. Choisissez un jour ouvré à venir."
            ),
            code="sepa.debit_date_past",
        )
    if not is_target2_business_day(debit_date):
        return InvalidInput(
            f"{debit_date} is not a TARGET2 business day",
            message_fr=(
                f"Le {format_date(debit_date)} n'est pas un jour ouvré TARGET2 : aucun prélèvement "
                "ce jour-là."
            ),
            code="sepa.not_a_business_day",
        )
    return None


def _batch_id(regie_id: str, debit_date: dt.date, previous: Sequence[DebitBatch]) -> str:
    stem = f"{_NOT_SEPA.sub('-', regie_id)[:18]}-{debit_date:%Y%m%d}"
    taken = {batch.id for batch in previous}
    number = 1
    while f"{stem}-{number:02d}" in taken:
        number += 1
    return f"{stem}-{number:02d}"


@attrs.define
class _Building:
    """A debit file as it is built, household after household."""

    batch_id: str
    regie_id: str
    debit_date: dt.date
    received_at: dt.datetime
    collected: dict[str, str]
    rejected: dict[str, DebitCollection]
    represent: frozenset[str]
    numbering: Numbering
    collections: list[Collection] = attrs.field(factory=list)
    records: list[DebitCollection] = attrs.field(factory=list)
    left_out: list[LeftOut] = attrs.field(factory=list)
    already: list[str] = attrs.field(factory=list)

    def add_family(self, uow: UnitOfWork, mandate: FamilyMandate) -> None:
        """Collect what the household owes on its invoices due by the debit date, under ``mandate``."""
        family = uow.families.get(mandate.family_id)
        ledger = billing_ledger(uow, family.id)
        payments: list[Payment] = []
        allocations: list[Allocation] = []
        for invoice in ledger.invoices:
            due = invoice.direct_debit_on
            if (
                invoice.regie_id != self.regie_id
                or invoice.is_credit_note
                or due is None
                or due > self.debit_date
            ):
                continue
            if invoice.number in self.collected:
                if due == self.debit_date:
                    self.already.append(self.collected[invoice.number])
                continue
            left = ledger.remaining(invoice.number)
            returned = self.rejected.get(invoice.number)
            if returned is not None and left > ZERO and invoice.number not in self.represent:
                self.left_out.append(_rejected_before(invoice.number, family, returned))
                continue
            if left <= ZERO:
                if due == self.debit_date:
                    self.left_out.append(
                        LeftOut(
                            invoice.number,
                            family.id,
                            "sepa.paid_otherwise",
                            f"Facture {invoice.number} ({family.name}) : déjà réglée autrement (au guichet, "
                            "en ligne ou par un avoir), elle n'est pas prélevée.",
                        )
                    )
                continue
            try:
                self.collections.append(Collection(mandate.mandate, invoice.number, left))
            except EspaceFamilleError as error:
                raise _naming(family, error) from None
            self.numbering, number = self.numbering.next(self.regie_id, self.debit_date.year, Series.PAYMENT)
            reference = f"Prélèvement SEPA {self.batch_id}"
            payments.append(
                Payment(
                    number,
                    self.regie_id,
                    family.id,
                    left,
                    self.received_at,
                    PaymentMethod.DIRECT_DEBIT,
                    reference,
                )
            )
            allocations.append(Allocation(number, invoice.number, left))
            sequence = mandate.mandate.sequence
            self.records.append(
                DebitCollection(self.batch_id, invoice.number, family.id, mandate.rum, left, sequence, number)
            )
        if payments:
            for payment in payments:
                uow.documents.save_payment(payment)
            uow.documents.save_allocations(allocations, family.id)
            used = mandate.mandate.after_collection()
            uow.mandates.save(attrs.evolve(mandate, mandate=used, last_collected_on=self.debit_date))


def _rejected_before(number: str, family: Family, returned: DebitCollection) -> LeftOut:
    assert returned.reject is not None
    return LeftOut(
        number,
        family.id,
        "sepa.rejected_before",
        f"Facture {number} ({family.name}) : son prélèvement a été rejeté le "
        f"{format_date(returned.reject.on)} ({reject_label_fr(returned.reject.reason)}) ; elle n'est "
        "présentée à nouveau que si la régie le demande, sinon elle se règle autrement.",
    )


def _check_represent(regie: Regie, represent: object, rejected: dict[str, DebitCollection]) -> frozenset[str]:
    """The invoices to present again: each one whose last collection the bank returned."""
    if isinstance(represent, str) or not isinstance(represent, Iterable):
        raise InvalidInput(
            f"represent must be invoice numbers, got {represent!r}",
            message_fr="Les factures à présenter à nouveau sont attendues par leur numéro.",
            code="input.invalid",
        )
    numbers = list(represent)
    wrong = [n for n in numbers if not isinstance(n, str) or n not in rejected]
    if wrong:
        names = ", ".join(str(n) for n in wrong)
        raise InvalidInput(
            f"{names}: no rejected collection of régie {regie.id!r} to present again",
            message_fr=(
                f"À présenter à nouveau : {names} n'a pas de prélèvement rejeté à la régie {regie.name} ; "
                "rien n'est prélevé."
            ),
            code="sepa.not_rejected",
            details={"not_rejected": [str(n) for n in wrong]},
        )
    return frozenset(numbers)


def direct_debit_file(
    uow: UnitOfWork, now: dt.datetime, regie_id: str, debit_date: dt.date, represent: object = ()
) -> DebitFile:
    commune = uow.commune()
    regie = commune.regie(regie_id)
    creditor = creditor_of(regie)
    refused = _refused_date(debit_date, commune.calendar.today(now))
    if refused is not None:
        raise refused
    previous = uow.mandates.batches_of(regie_id)
    collected = {
        c.invoice_number: batch.id for batch in previous for c in batch.collections if c.reject is None
    }
    rejected = {
        c.invoice_number: c
        for batch in sorted(previous, key=lambda b: (b.debit_date, b.id))
        for c in batch.collections
        if c.reject is not None and c.invoice_number not in collected
    }
    building = _Building(
        _batch_id(regie_id, debit_date, previous),
        regie_id,
        debit_date,
        dt.datetime.combine(debit_date, dt.time(0), tzinfo=commune.calendar.zone),
        collected,
        rejected,
        _check_represent(regie, represent, rejected),
        uow.documents.numbering(),
    )
    by_family: dict[str, list[FamilyMandate]] = {}
    for kept in uow.mandates.of_regie(regie_id):
        by_family.setdefault(kept.family_id, []).append(kept)
    for mandates in by_family.values():
        in_force = mandate_in_force(mandates, regie_id, debit_date)
        if in_force is not None:
            building.add_family(uow, in_force)
    if not building.collections:
        already = sorted(set(building.already))
        where = f" (déjà dans le fichier {already[0]})" if already else ""
        raise InvalidInput(
            f"nothing to collect for régie {regie_id!r} on {debit_date}",
            message_fr=(
                f"Aucune facture à prélever le {format_date(debit_date)} pour la régie {regie.name}{where}."
            ),
            code="sepa.nothing_to_collect",
            details={"left_out": [item.invoice_number for item in building.left_out], "already_in": already},
        )
    document = pain008_document(
        creditor, debit_date, building.collections, message_id=building.batch_id, created_at=now
    )
    batch = DebitBatch(
        building.batch_id, regie_id, debit_date, now, document.decode("utf-8"), building.records
    )
    uow.documents.save_numbering(building.numbering)
    uow.mandates.save_batch(batch)
    return DebitFile(batch, tuple(building.left_out))


# -- rejects ----------------------------------------------------------------------------------------


def _find(batches: Sequence[DebitBatch], notice: RejectNotice) -> DebitCollection | None:
    """The collection ``notice`` returns: in the debit file it names, when it names one of the régie's,
    else the invoice's latest collection (a CSV table does not say the file)."""
    found = [
        c
        for batch in sorted(batches, key=lambda b: (b.debit_date, b.id))
        for c in batch.collections
        if c.invoice_number == notice.end_to_end_id
    ]
    named = [c for c in found if c.batch_id == notice.batch_id]
    if named:
        return named[-1]
    return found[-1] if found else None


def import_rejects(uow: UnitOfWork, now: dt.datetime, regie_id: str, data: bytes) -> RejectsImport:
    commune = uow.commune()
    regie = commune.regie(regie_id)
    notices = read_rejects(data)
    today = commune.calendar.today(now)
    batches = uow.mandates.batches_of(regie_id)
    unknown = [notice.end_to_end_id for notice in notices if _find(batches, notice) is None]
    if unknown:
        raise InvalidInput(
            f"no collection of {', '.join(unknown)} in régie {regie_id!r}'s debit files",
            message_fr=(
                f"Rejets refusés, rien n'est enregistré : aucun prélèvement de la régie {regie.name} pour "
                + ", ".join(unknown)
                + "."
            ),
            code="sepa.unknown_reject",
            details={"unknown": unknown},
        )
    numbering = uow.documents.numbering()
    reopened: list[ReopenedDebt] = []
    already: list[str] = []
    seen: set[str] = set()
    for notice in notices:
        collection = _find(batches, notice)
        assert collection is not None
        if collection.reject is not None or collection.invoice_number in seen:
            already.append(collection.invoice_number)
            continue
        seen.add(collection.invoice_number)
        numbering, debt = _reopen(uow, commune, regie, collection, notice, today, now, numbering)
        reopened.append(debt)
    if reopened:
        uow.documents.save_numbering(numbering)
    return RejectsImport(tuple(reopened), tuple(already))


def _reopen(
    uow: UnitOfWork,
    commune: Commune,
    regie: Regie,
    collection: DebitCollection,
    notice: RejectNotice,
    today: dt.date,
    now: dt.datetime,
    numbering: Numbering,
) -> tuple[Numbering, ReopenedDebt]:
    """Record one reject: the collection reversed (a payment of the opposite amount, and an allocation from
    the invoice to it, so the invoice is open again), the collection and the mandate marked."""
    original = uow.documents.invoice(collection.invoice_number)
    amount = collection.amount
    left = billing_ledger(uow, collection.family_id).remaining(original.number) + amount
    batch = uow.mandates.batch(collection.batch_id)
    returned = (
        f"Prélèvement du {format_date(batch.debit_date)} rejeté par votre banque le {format_date(today)}"
    )
    numbering, reversal = numbering.next(regie.id, today.year, Series.PAYMENT)
    uow.documents.save_payment(
        Payment(
            reversal,
            regie.id,
            collection.family_id,
            -amount,
            now,
            PaymentMethod.DIRECT_DEBIT,
            f"{returned} : {reject_label_fr(notice.reason)} ({notice.reason})",
        )
    )
    uow.documents.save_allocations([Allocation(original.number, reversal, amount)], collection.family_id)
    uow.mandates.save_collection(attrs.evolve(collection, reject=DebitReject(today, notice.reason, reversal)))
    mandate = uow.mandates.get(collection.rum)
    revoked = ends_mandate(notice.reason) and mandate.revoked_on is None
    if collection.sequence is SequenceType.FRST and mandate.mandate.sequence is not SequenceType.FRST:
        # A first collection that failed: the next one is a first one again.
        mandate = attrs.evolve(mandate, mandate=attrs.evolve(mandate.mandate, sequence=SequenceType.FRST))
        uow.mandates.save(mandate)
    if revoked:
        _revoke(uow, mandate, today)
    debt = ReopenedDebt(
        original.number,
        collection.family_id,
        amount,
        notice.reason,
        batch.debit_date,
        reversal,
        left,
        revoked,
    )
    return numbering, debt
