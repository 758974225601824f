"""SEPA direct debit of invoices: the date an invoice is collected, and the collections of a batch.

An invoice on direct debit is its own pre-notification: it tells the payer the amount and the date. The
date is the first TARGET2 business day on or after the later of

* the issue date plus the mandate's pre-notification delay (SEPA Core: 14 calendar days unless the
  mandate says otherwise), and
* the régie's debit day (``Regie.direct_debit_day``, 10 by default) of the month after the billed period,
  or of the month after the issue date when that day has already passed — the rule month-end billing uses.

So an invoice issued on 1 December for November is not debited on 10 December (9 days' notice) but on
Tuesday 15 December, and a debit day on a Saturday moves to the Monday after.

A debit file once built is a ``DebitBatch``: the pain.008 document handed to the bank, and one
``DebitCollection`` per invoice it collects (its amount, the mandate's RUM and sequence type, the payment
recorded for it), which a reject from the bank (``DebitReject``) marks afterwards.

Pure: dates are arguments, nothing is read from a clock or a store.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, Final

import attrs

from espacefamille._internal.validators import identifier, plain_date
from espacefamille.billing.documents import Invoice
from espacefamille.billing.mandates import PRE_NOTIFICATION_DAYS, Mandate, SequenceType, masked_iban
from espacefamille.calendar.target2 import next_target2_business_day
from espacefamille.calendar.timezones import require_aware
from espacefamille.errors import InvalidInput
from espacefamille.model import Regie
from espacefamille.money import Money
from espacefamille.text import format_date

__all__ = [
    "Collection",
    "DebitBatch",
    "DebitCollection",
    "DebitReject",
    "debit_date",
    "invoice_debit_date",
    "regie_debit_day",
]

# An end-to-end id: 1 to 35 characters of the SEPA Latin set.
_END_TO_END: Final = re.compile(r"[A-Za-z0-9+?/\-:().,' ]{1,35}")


def _check_date(what: str, value: object) -> dt.date:
    if not isinstance(value, dt.date) or isinstance(value, dt.datetime):
        raise InvalidInput(
            f"{what} must be a date, got {value!r}",
            message_fr="Une date (jour, mois, année) est attendue.",
            code="input.not_a_date",
        )
    return value


def debit_date(
    issued_on: dt.date, scheduled_on: dt.date, *, pre_notification_days: int = PRE_NOTIFICATION_DAYS
) -> dt.date:
    """The first TARGET2 business day on or after both ``scheduled_on`` and ``issued_on`` plus the delay."""
    _check_date("issued_on", issued_on)
    _check_date("scheduled_on", scheduled_on)
    if isinstance(pre_notification_days, bool) or not isinstance(pre_notification_days, int):
        raise InvalidInput(
            f"pre_notification_days must be an int, got {pre_notification_days!r}",
            message_fr="Le délai de pré-notification doit être un nombre entier de jours.",
            code="sepa.pre_notification_days",
        )
    if pre_notification_days < 0:
        raise InvalidInput(
            f"pre_notification_days cannot be negative, got {pre_notification_days}",
            message_fr="Le délai de pré-notification ne peut pas être négatif.",
            code="sepa.pre_notification_days",
        )
    earliest = issued_on + dt.timedelta(days=pre_notification_days)
    return next_target2_business_day(max(earliest, scheduled_on))


def _next_month(day: dt.date, on: int) -> dt.date:
    return dt.date(day.year + day.month // 12, day.month % 12 + 1, on)


def regie_debit_day(regie: Regie, invoice: Invoice) -> dt.date:
    """The régie's debit day for ``invoice``, before the notice and TARGET2 are taken into account."""
    scheduled = _next_month(invoice.period.end, regie.direct_debit_day)
    if scheduled <= invoice.issued_on:
        scheduled = _next_month(invoice.issued_on, regie.direct_debit_day)
    return scheduled


def invoice_debit_date(invoice: Invoice, mandate: Mandate, regie: Regie) -> dt.date:
    """The date ``invoice`` is collected under ``mandate`` by ``regie`` (the module's rule, above)."""
    if invoice.regie_id != regie.id:
        raise InvalidInput(
            f"invoice {invoice.number} belongs to régie {invoice.regie_id!r}, not {regie.id!r}",
            message_fr=f"La facture {invoice.number} n'a pas été émise par la régie {regie.name}.",
            code="sepa.other_regie",
        )
    if invoice.is_credit_note or not invoice.total or invoice.total.is_negative:
        raise InvalidInput(
            f"document {invoice.number} has nothing to collect",
            message_fr=f"Le document {invoice.number} n'a pas de montant à prélever.",
            code="sepa.nothing_to_collect",
        )
    return debit_date(
        invoice.issued_on,
        regie_debit_day(regie, invoice),
        pre_notification_days=mandate.pre_notification_days,
    )


def _positive_amount(instance: Any, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, Money) or value.cents <= 0:
        raise InvalidInput(
            f"a collection needs a positive amount in euros, got {value!r}",
            message_fr=(
                f"Prélèvement de la facture {instance.invoice_number} ({instance.mandate.debtor_name}) : "
                f"le montant doit être positif, en euros (reçu : {value})."
            ),
            code="sepa.amount_not_positive",
        )


@attrs.frozen
class Collection:
    """One invoice to collect under a mandate: the invoice number is the transaction's end-to-end id."""

    mandate: Mandate = attrs.field(validator=attrs.validators.instance_of(Mandate))
    invoice_number: str
    amount: Money = attrs.field(validator=_positive_amount)

    def __attrs_post_init__(self) -> None:
        number = self.invoice_number
        if not isinstance(number, str) or not _END_TO_END.fullmatch(number):
            raise InvalidInput(
                f"invoice number {number!r} cannot be a SEPA end-to-end id",
                message_fr=(
                    f"Numéro de facture « {number} » ({self.mandate.debtor_name}) : 1 à 35 caractères sans "
                    "accents sont attendus pour un prélèvement SEPA."
                ),
                code="sepa.invalid_invoice_number",
            )

    def message_fr(self, on: dt.date) -> str:
        """What the payer reads: « Facture … : 42,50 € prélevés le mardi 15 décembre 2026 sur FR76… »."""
        account = masked_iban(self.mandate.iban)
        return (
            f"Facture {self.invoice_number} : {self.amount.format()} prélevés le {format_date(on)} "
            f"sur le compte {account} (mandat {self.mandate.rum})."
        )


def _positive(instance: Any, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, Money) or value.cents <= 0:
        raise InvalidInput(
            f"{type(instance).__name__}.{attribute.name} must be a positive amount, got {value!r}",
            code="sepa.amount_not_positive",
        )


@attrs.frozen
class DebitReject:
    """The bank's return of a collection (an R-transaction): the day it was recorded, the ISO 20022 reason
    code (``AM04``…, ``billing.rejects.REJECT_REASONS`` gives its French label) and the number of the
    payment that reversed the collection (the invoice itself is open again)."""

    on: dt.date = attrs.field(validator=plain_date)
    reason: str
    document: str


@attrs.frozen
class DebitCollection:
    """One invoice collected by a debit file: ``amount`` under mandate ``rum`` with ``sequence``, the
    direct-debit payment recorded for it (``payment_number``), and the bank's ``reject`` if it came back."""

    batch_id: str
    invoice_number: str
    family_id: str = attrs.field(validator=identifier)
    rum: str
    amount: Money = attrs.field(validator=_positive)
    sequence: SequenceType = attrs.field(validator=attrs.validators.instance_of(SequenceType))
    payment_number: str
    reject: DebitReject | None = attrs.field(
        default=None, validator=attrs.validators.optional(attrs.validators.instance_of(DebitReject))
    )


def _collections(items: Any) -> tuple[DebitCollection, ...]:
    return tuple(sorted(items, key=lambda item: item.invoice_number))


@attrs.frozen
class DebitBatch:
    """A debit file a régie built: its message id (``id``), the collection date, when it was built, the
    pain.008 document itself (UTF-8 XML text) and the invoices it collects, by number."""

    id: str
    regie_id: str = attrs.field(validator=identifier)
    debit_date: dt.date = attrs.field(validator=plain_date)
    built_at: dt.datetime
    document: str
    collections: tuple[DebitCollection, ...] = attrs.field(converter=_collections)

    def __attrs_post_init__(self) -> None:
        require_aware(self.built_at, "built_at")
        for collection in self.collections:
            if collection.batch_id != self.id:
                raise InvalidInput(
                    f"collection of {collection.invoice_number} belongs to batch {collection.batch_id!r}, "
                    f"not {self.id!r}",
                    code="sepa.other_batch",
                )

    @property
    def total(self) -> Money:
        return Money.total(collection.amount for collection in self.collections)
