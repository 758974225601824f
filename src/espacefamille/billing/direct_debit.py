"""SEPA direct debit of invoices: the date an invoice is collected, and the collections of a batch.

An invoice on direct debit is its own pre-notification: it tells the payer the amount and the date. The
date is the first TARGET2 business day on or after the later of

* the issue date plus the mandate's pre-notification delay (SEPA Core: 14 calendar days unless the
  mandate says otherwise), and
* the régie's debit day (``Regie.direct_debit_day``, 10 by default) of the month after the billed period,
  or of the month after the issue date when that day has already passed — the rule month-end billing uses.

So an invoice issued on 1 December for November is not debited on 10 December (9 days' notice) but on
Tuesday 15 December, and a debit day on a Saturday moves to the Monday after.

Pure: dates are arguments, nothing is read from a clock or a store.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, Final

import attrs

from espacefamille.billing.documents import Invoice
from espacefamille.billing.mandates import PRE_NOTIFICATION_DAYS, Mandate
from espacefamille.calendar.target2 import next_target2_business_day
from espacefamille.errors import InvalidInput
from espacefamille.model import Regie
from espacefamille.money import Money
from espacefamille.text import format_date

__all__ = ["Collection", "debit_date", "invoice_debit_date", "regie_debit_day"]

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
        account = f"{self.mandate.iban[:4]} **** {self.mandate.iban[-4:]}"
        return (
            f"Facture {self.invoice_number} : {self.amount.format()} prélevés le {format_date(on)} "
            f"sur le compte {account} (mandat {self.mandate.rum})."
        )
