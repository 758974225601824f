"""Paying invoices: a selection paid at once, credit notes, refunds, and the invoices a family has to pay.

Brochure: "Payer les factures sélectionnées". A payer selects several of its open invoices and pays them at
once; ``record_payment`` allocates the amount oldest first (by due date, then number) and never above what
remains, so a partial payment settles the oldest invoices first. What a régie has issued and received is a
``BillingLedger``: invoices (computed here or imported from the commune's ERP), payments and refunds, and the
allocations between them. The ledger is a value: every function returns a new one, and what remains on an
invoice is always derived from its allocations (``documents.remaining``), never stored.

A payment is refused as a whole — nothing allocated — with a ``PaymentRefused`` error listing every reason
(a code and a French sentence each) when it names an invoice of another payer or régie, a credit note, an
invoice already paid, an invoice past its due date or on direct debit (for online payment), an amount above
what remains, or a currency other than the euro. ``check_payment`` returns the same reasons as values, for a
portal that wants to explain before sending. A payment (or a gateway notification) recorded twice is
recorded once: the second call changes nothing and says so (``PaymentRecord.already_recorded``).

Credit notes (*avoirs*) are applied to the open invoices of the same payer and régie by
``apply_credit_notes`` (allocations whose source is the credit note); what is left of a credit can be paid
back by ``refund_credit``: a ``Payment`` with a negative amount in the ``REM`` series, and an allocation
from the credit note to that refund, so the credit left is still derived from allocations.

A direct debit the bank returned (a SEPA reject) is reversed likewise, never erased: a ``direct_debit``
payment of the opposite amount and an allocation from the invoice to it, which takes back what the
collection settled (``BillingLedger.paid`` is net of it). The invoice itself is open again, and payable
online though it was on direct debit (``BillingLedger.debit_returned``).

Why one module of some 1,000 lines: payments, their allocation, credit notes and refunds are one ledger
whose invariant (money conserved, credits derived from allocations) is checked in one place.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any, Final

import attrs

from espacefamille.calendar.periods import DateRange
from espacefamille.calendar.timezones import aware_instant, require_aware
from espacefamille.errors import InvalidInput, NotFound
from espacefamille.money import CURRENCY, ZERO, Money
from espacefamille.text import Lang, format_date

from .documents import (
    Allocation,
    DocumentKind,
    Invoice,
    InvoiceLine,
    Numbering,
    Payment,
    PaymentMethod,
    Series,
    remaining,
)

__all__ = [
    "HOLD_PREFIX",
    "BillingLedger",
    "CreditApplication",
    "Hold",
    "InvoiceToPay",
    "PaymentOrder",
    "PaymentRecord",
    "PaymentRefusal",
    "PaymentRefused",
    "RefundRecord",
    "allocate_oldest_first",
    "apply_credit_notes",
    "available_credits",
    "check_payment",
    "import_invoice",
    "invoices_to_pay",
    "is_hold_reference",
    "issue_credit_note",
    "number_payment",
    "payment_order",
    "receive_payment",
    "record_payment",
    "refund_credit",
]


#: What a payment at booking names instead of invoices starts with
#: (``hold:<régie>:<instant>:<first day>:<last day>``): the credit of a credit note used on a prepaid basket
#: is allocated to that hold reference.
HOLD_PREFIX: Final = "hold:"


def is_hold_reference(text: str) -> bool:
    """Whether ``text`` names a prepaid basket's hold rather than an invoice."""
    return text.startswith(HOLD_PREFIX)


_STAMP: Final = "%Y%m%dT%H%M%S%fZ"


def _in_utc(moment: dt.datetime) -> dt.datetime:
    return require_aware(moment, "held_at").astimezone(dt.UTC)


@attrs.frozen
class Hold:
    """What a payment at booking pays instead of invoices: the places a household's basket held at a régie,
    at one instant, between two dates. ``reference`` is how it is written where invoice numbers go (a payment
    attempt, the allocation of a credit note used on the basket); ``Hold.parse`` reads it back."""

    regie_id: str
    held_at: dt.datetime = attrs.field(converter=_in_utc)
    days: DateRange

    @property
    def stamp(self) -> str:
        """The basket's instant, in UTC to the microsecond: what tells two baskets of a household apart."""
        return self.stamp_of(self.held_at)

    @staticmethod
    def stamp_of(moment: dt.datetime) -> str:
        """The stamp of a basket held at ``moment`` (an aware instant)."""
        return require_aware(moment, "held_at").astimezone(dt.UTC).strftime(_STAMP)

    @property
    def reference(self) -> str:
        first, last = self.days.start.isoformat(), self.days.end.isoformat()
        return f"{HOLD_PREFIX}{self.regie_id}:{self.stamp}:{first}:{last}"

    @classmethod
    def parse(cls, text: str) -> Hold | None:
        """The hold ``text`` names, or None when it names something else (an invoice number)."""
        parts = text.split(":")
        if len(parts) != 5 or f"{parts[0]}:" != HOLD_PREFIX:
            return None
        try:
            held_at = dt.datetime.strptime(parts[2], _STAMP).replace(tzinfo=dt.UTC)
            days = DateRange(dt.date.fromisoformat(parts[3]), dt.date.fromisoformat(parts[4]))
        except ValueError:
            return None
        return cls(parts[1], held_at, days)


def _check_date(what: str, value: object) -> None:
    if not isinstance(value, dt.date) or isinstance(value, dt.datetime):
        raise InvalidInput(f"{what} must be a date, got {value!r}", code="input.not_a_date")


def _oldest_first(invoice: Invoice) -> tuple[dt.date, str]:
    return (invoice.due_on, invoice.number)


# -- the ledger -------------------------------------------------------------------------------


def _invoices(items: Iterable[Invoice]) -> tuple[Invoice, ...]:
    return tuple(items)


def _payments(items: Iterable[Payment]) -> tuple[Payment, ...]:
    return tuple(items)


def _allocations(items: Iterable[Allocation]) -> tuple[Allocation, ...]:
    return tuple(items)


@attrs.frozen
class BillingLedger:
    """What régies have issued (invoices, credit notes, imported invoices), received (payments) and paid back
    (refunds), with the allocations between them and the numbering of the next documents.

    Built once and validated: numbers are unique, allocations name known documents (or, for a credit note
    used on a prepaid basket, the basket's hold reference, ``HOLD_PREFIX``), and no invoice is paid, nor any
    credit note used, beyond its total.
    """

    invoices: tuple[Invoice, ...] = attrs.field(converter=_invoices, default=())
    payments: tuple[Payment, ...] = attrs.field(converter=_payments, default=())
    allocations: tuple[Allocation, ...] = attrs.field(converter=_allocations, default=())
    numbering: Numbering = attrs.field(factory=Numbering)
    _by_number: Mapping[str, Invoice] = attrs.field(init=False, eq=False, repr=False)
    _payments_by_number: Mapping[str, Payment] = attrs.field(init=False, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        by_number: dict[str, Invoice] = {}
        for invoice in self.invoices:
            if invoice.number in by_number:
                raise InvalidInput(
                    f"invoice {invoice.number} is given twice", code="billing.duplicate_number"
                )
            by_number[invoice.number] = invoice
        payments: dict[str, Payment] = {}
        for payment in self.payments:
            if payment.number in payments or payment.number in by_number:
                raise InvalidInput(
                    f"payment {payment.number} is given twice", code="billing.duplicate_number"
                )
            payments[payment.number] = payment
        for allocation in self.allocations:
            source = by_number.get(allocation.source)
            target = by_number.get(allocation.invoice_number)
            refund = payments.get(allocation.invoice_number)
            # A reversal: an invoice takes back, for a negative payment, what a returned debit had settled.
            reversal = (
                source is not None
                and not source.is_credit_note
                and refund is not None
                and refund.amount.is_negative
            )
            if (
                allocation.source not in payments
                and (source is None or not source.is_credit_note)
                and not reversal
            ):
                raise InvalidInput(
                    f"allocation from unknown payment or credit note {allocation.source}",
                    code="billing.unknown_allocation_source",
                )
            # A credit note's credit may pay an invoice, a refund, or a prepaid basket (its hold reference).
            held = (
                source is not None and source.is_credit_note and is_hold_reference(allocation.invoice_number)
            )
            if (
                (target is None or target.is_credit_note)
                and (refund is None or not refund.amount.is_negative)
                and not held
            ):
                raise InvalidInput(
                    f"allocation to unknown invoice {allocation.invoice_number}",
                    code="billing.unknown_allocation_target",
                )
        object.__setattr__(self, "_by_number", by_number)
        object.__setattr__(self, "_payments_by_number", payments)
        # One pass over the allocations (``remaining`` per invoice would be quadratic on a régie's year).
        settled: dict[str, int] = {}
        for allocation in self.allocations:
            for number in (allocation.invoice_number, allocation.source):
                found = by_number.get(number)
                if found is not None:
                    # An invoice's reversals (allocations from it) take back what was paid on it.
                    taken_back = number == allocation.source and not found.is_credit_note
                    cents = allocation.amount.cents
                    settled[number] = settled.get(number, 0) + (-cents if taken_back else cents)
        for number, cents in settled.items():
            if cents > abs(by_number[number].total.cents):
                raise InvalidInput(f"{number} is allocated beyond its total", code="billing.over_allocated")
            if cents < 0:
                raise InvalidInput(
                    f"{number} is reversed beyond what was paid on it", code="billing.over_reversed"
                )

    def invoice(self, number: str) -> Invoice:
        """The invoice or credit note numbered ``number``; ``NotFound`` otherwise."""
        try:
            return self._by_number[number]
        except KeyError:
            raise NotFound(
                f"unknown invoice {number!r}",
                message_fr=f"Facture inconnue : « {number} ».",
                code="not_found.invoice",
            ) from None

    def payment(self, number: str) -> Payment | None:
        return self._payments_by_number.get(number)

    def remaining(self, number: str) -> Money:
        """What is left to pay on an invoice (or, for a credit note, left to use)."""
        return remaining(self.invoice(number), self.allocations)

    def paid(self, number: str) -> Money:
        """What has been allocated to an invoice, from payments and credit notes, less its reversals (a
        direct debit the bank returned)."""
        invoice = self._by_number.get(number)
        reversible = invoice is not None and not invoice.is_credit_note
        return Money.total(
            a.amount if a.invoice_number == number else -a.amount
            for a in self.allocations
            if a.invoice_number == number or (reversible and a.source == number)
        )

    def debit_returned(self, number: str) -> bool:
        """Whether a direct debit of invoice ``number`` came back from the bank (a reversal from it)."""
        invoice = self._by_number.get(number)
        return (
            invoice is not None
            and not invoice.is_credit_note
            and any(
                a.source == number and a.invoice_number in self._payments_by_number for a in self.allocations
            )
        )

    def allocations_of(self, source: str) -> tuple[Allocation, ...]:
        """The allocations from one payment or credit note."""
        return tuple(a for a in self.allocations if a.source == source)

    def add_invoices(self, invoices: Iterable[Invoice]) -> BillingLedger:
        """The ledger with more issued (or imported) invoices."""
        return attrs.evolve(self, invoices=(*self.invoices, *invoices))


# -- decisions --------------------------------------------------------------------------------

_MESSAGES: Final[dict[str, tuple[str, str]]] = {
    "payment.no_selection": (
        "Paiement impossible : aucune facture n'est sélectionnée.",
        "Payment not possible: no invoice is selected.",
    ),
    "payment.selected_twice": (
        "Paiement impossible : la facture {number} est sélectionnée deux fois.",
        "Payment not possible: invoice {number} is selected twice.",
    ),
    "payment.unknown_invoice": (
        "Paiement impossible : la facture {number} est inconnue.",
        "Payment not possible: invoice {number} is unknown.",
    ),
    "payment.other_payer": (
        "Paiement impossible : la facture {number} n'est pas adressée à votre foyer.",
        "Payment not possible: invoice {number} is not addressed to your household.",
    ),
    "payment.other_regie": (
        "Paiement impossible : la facture {number} relève d'une autre régie ({regie}).",
        "Payment not possible: invoice {number} belongs to another cash office ({regie}).",
    ),
    "payment.credit_note": (
        "Paiement impossible : {number} est un avoir ; il est déduit de vos factures.",
        "Payment not possible: {number} is a credit note; it is deducted from your invoices.",
    ),
    "payment.already_paid": (
        "Paiement impossible : la facture {number} est déjà réglée.",
        "Payment not possible: invoice {number} is already paid.",
    ),
    "payment.past_due": (
        "Paiement impossible : la facture {number} était à régler avant le {due}.",
        "Payment not possible: invoice {number} was due by {due_en}.",
    ),
    "payment.direct_debit": (
        "Paiement en ligne impossible : la facture {number} sera prélevée le {debit}.",
        "Online payment not possible: invoice {number} will be debited on {debit_en}.",
    ),
    "payment.not_positive": (
        "Paiement impossible : le montant doit être supérieur à 0 €.",
        "Payment not possible: the amount must be above €0.",
    ),
    "payment.above_remaining": (
        "Paiement impossible : {amount} dépasse le reste à payer des factures sélectionnées ({left}).",
        "Payment not possible: {amount_en} is above what remains on the selected invoices ({left_en}).",
    ),
    "payment.currency": (
        "Paiement impossible : seuls les euros sont acceptés (devise reçue : {currency}).",
        "Payment not possible: only euros are accepted (currency received: {currency}).",
    ),
    "payment.payable_online": (
        "Facture {number} : reste {left} à régler avant le {due}.",
        "Invoice {number}: {left_en} to pay by {due_en}.",
    ),
    "payment.recorded": (
        "Paiement {payment} de {amount} enregistré : {details}.",
        "Payment {payment} of {amount_en} recorded: {details_en}.",
    ),
    "payment.partly_unallocated": (
        "Paiement {payment} de {amount} enregistré ; {left} n'ont pu être affectés à une facture et vous "
        "seront remboursés.",
        "Payment {payment} of {amount_en} recorded; {left_en} could not be allocated to an invoice and will "
        "be refunded to you.",
    ),
    "payment.already_recorded": (
        "Le paiement {payment} est déjà enregistré : rien n'est changé.",
        "Payment {payment} is already recorded: nothing changes.",
    ),
    "credit.applied": (
        "Avoir {credit} : {amount} déduit de la facture {number}.",
        "Credit note {credit}: {amount_en} deducted from invoice {number}.",
    ),
    "credit.refunded": (
        "Avoir {credit} : {amount} remboursé ({refund}).",
        "Credit note {credit}: {amount_en} refunded ({refund}).",
    ),
}


def _render(code: str, lang: Lang, words: Mapping[str, object]) -> str:
    template = _MESSAGES[code][0 if lang == "fr" else 1]
    values: dict[str, str] = {}
    for key, value in words.items():
        if isinstance(value, Money):
            values[key], values[f"{key}_en"] = value.format("fr"), value.format("en")
        elif isinstance(value, dt.date):
            values[key], values[f"{key}_en"] = format_date(value, "fr"), format_date(value, "en")
        else:
            values[key] = values[f"{key}_en"] = str(value)
    return template.format(**values)


@attrs.frozen
class PaymentRefusal:
    """Why a payment (or one of its invoices) is refused: a stable code, the invoice, sentences to show."""

    code: str
    message_fr: str
    message: str
    invoice_number: str | None = None

    @classmethod
    def of(cls, code: str, invoice_number: str | None = None, **words: object) -> PaymentRefusal:
        values: dict[str, object] = {"number": invoice_number or "", **words}
        return cls(code, _render(code, "fr", values), _render(code, "en", values), invoice_number)

    def explain(self, lang: Lang = "fr") -> str:
        return self.message_fr if lang == "fr" else self.message


def _refusals(items: Iterable[PaymentRefusal]) -> tuple[PaymentRefusal, ...]:
    return tuple(items)


class PaymentRefused(InvalidInput):
    """A payment refused as a whole: nothing is allocated. ``refusals`` lists every reason, in order."""

    default_code = "payment.refused"

    def __init__(self, refusals: Sequence[PaymentRefusal]) -> None:
        first = refusals[0]
        super().__init__(
            " ".join(r.message for r in refusals),
            message_fr=" ".join(r.message_fr for r in refusals),
            code=first.code,
            details={"codes": [r.code for r in refusals]},
        )
        self.refusals = tuple(refusals)


# -- paying a selection ---------------------------------------------------------------------


def _selection(items: Iterable[str]) -> tuple[str, ...]:
    if isinstance(items, str):  # one number would otherwise become a selection of characters
        return (items,)
    return tuple(items)


@attrs.frozen
class PaymentOrder:
    """A payer's payment of the invoices it selected, as received by the régie or its gateway.

    ``reference`` is the gateway's reference (PayFiP: one per payment, a group payment included); with
    ``number`` (a payment number already given, e.g. by a store) it makes recording idempotent. Without a
    number, the ledger numbers the payment in the ``PAY`` series of the régie and year it is received.
    ``currency`` is as the gateway reports it; anything but ``EUR`` is refused.
    """

    regie_id: str
    family_id: str
    invoice_numbers: tuple[str, ...] = attrs.field(converter=_selection)
    amount: Money = attrs.field(validator=attrs.validators.instance_of(Money))
    received_at: dt.datetime = attrs.field(validator=aware_instant)
    method: PaymentMethod = attrs.field(
        default=PaymentMethod.ONLINE, validator=attrs.validators.instance_of(PaymentMethod)
    )
    reference: str = ""
    number: str | None = None
    currency: str = CURRENCY

    def __attrs_post_init__(self) -> None:
        if self.method is PaymentMethod.CREDIT:
            raise InvalidInput(
                "credit notes are applied with apply_credit_notes, not recorded as payments",
                code="payment.method",
            )


def payment_order(
    regie_id: str,
    family_id: str,
    invoice_numbers: Iterable[str],
    cents: int,
    received_at: dt.datetime,
    *,
    currency: str = CURRENCY,
    reference: str = "",
    method: PaymentMethod = PaymentMethod.ONLINE,
) -> PaymentOrder:
    """A ``PaymentOrder`` from a gateway's figures: the amount in cents and its currency code (PayFiP)."""
    return PaymentOrder(
        regie_id,
        family_id,
        tuple(invoice_numbers),
        Money.from_cents(cents),
        received_at,
        method,
        reference,
        currency=currency,
    )


@attrs.frozen
class PaymentRecord:
    """A payment recorded (or found already recorded): the ledger after it, the payment and its allocations.

    ``already_recorded`` is True when the same payment or notification was recorded before: the ledger is
    unchanged. ``code`` and ``message_fr`` say what happened, invoice by invoice.
    """

    ledger: BillingLedger
    payment: Payment
    allocations: tuple[Allocation, ...]
    already_recorded: bool
    code: str
    message_fr: str
    message: str

    def explain(self, lang: Lang = "fr") -> str:
        return self.message_fr if lang == "fr" else self.message


def _online_refusal(ledger: BillingLedger, invoice: Invoice, today: dt.date) -> PaymentRefusal | None:
    """Why ``invoice`` cannot be paid online today, if it cannot (one whose direct debit the bank returned is
    no longer waiting to be debited)."""
    if invoice.direct_debit_on is not None and not ledger.debit_returned(invoice.number):
        return PaymentRefusal.of("payment.direct_debit", invoice.number, debit=invoice.direct_debit_on)
    if today > invoice.due_on:
        return PaymentRefusal.of("payment.past_due", invoice.number, due=invoice.due_on)
    return None


def check_payment(ledger: BillingLedger, order: PaymentOrder, today: dt.date) -> tuple[PaymentRefusal, ...]:
    """Every reason to refuse ``order`` on ``today`` (the commune's date); empty when it can be recorded.

    The due date and direct debit only restrict online payment: the régie can still take a cheque or
    cash for a late invoice.
    """
    _check_date("today", today)
    refusals: list[PaymentRefusal] = []
    if order.currency != CURRENCY:
        refusals.append(PaymentRefusal.of("payment.currency", currency=order.currency))
    if not order.invoice_numbers:
        refusals.append(PaymentRefusal.of("payment.no_selection"))
    seen: set[str] = set()
    left = ZERO
    for number in order.invoice_numbers:
        if number in seen:
            refusals.append(PaymentRefusal.of("payment.selected_twice", number))
            continue
        seen.add(number)
        invoice = ledger._by_number.get(number)
        if invoice is None:
            refusals.append(PaymentRefusal.of("payment.unknown_invoice", number))
            continue
        if invoice.family_id != order.family_id:
            refusals.append(PaymentRefusal.of("payment.other_payer", number))
            continue
        if invoice.regie_id != order.regie_id:
            refusals.append(PaymentRefusal.of("payment.other_regie", number, regie=invoice.regie_id))
            continue
        if invoice.is_credit_note:
            refusals.append(PaymentRefusal.of("payment.credit_note", number))
            continue
        rest = remaining(invoice, ledger.allocations)
        if not rest:
            refusals.append(PaymentRefusal.of("payment.already_paid", number))
            continue
        if order.method is PaymentMethod.ONLINE:
            online = _online_refusal(ledger, invoice, today)
            if online is not None:
                refusals.append(online)
                continue
        left += rest
    if order.amount <= ZERO:
        refusals.append(PaymentRefusal.of("payment.not_positive"))
    elif not refusals and order.amount > left:
        refusals.append(PaymentRefusal.of("payment.above_remaining", amount=order.amount, left=left))
    return tuple(refusals)


def _same_payment(existing: Payment, order: PaymentOrder) -> bool:
    return (
        existing.regie_id == order.regie_id
        and existing.family_id == order.family_id
        and existing.amount == order.amount
        and existing.method is order.method
        and existing.reference == order.reference
    )


def _recorded_before(ledger: BillingLedger, order: PaymentOrder) -> Payment | None:
    for payment in ledger.payments:
        same_number = order.number is not None and payment.number == order.number
        same_reference = bool(order.reference) and (
            payment.regie_id == order.regie_id and payment.reference == order.reference
        )
        if same_number or same_reference:
            if not _same_payment(payment, order):
                raise InvalidInput(
                    f"payment {payment.number} (reference {payment.reference!r}) was recorded with other "
                    f"figures ({payment.amount} for {payment.family_id}); nothing is recorded",
                    message_fr=(
                        f"Le paiement {payment.number} est déjà enregistré avec d'autres montants : "
                        "rien n'est enregistré."
                    ),
                    code="payment.conflicting_duplicate",
                )
            return payment
    return None


def allocate_oldest_first(
    invoices: Iterable[Invoice], allocations: Iterable[Allocation], source: str, amount: Money
) -> tuple[Allocation, ...]:
    """Allocations of ``amount`` from ``source`` over ``invoices``, oldest first, never above what remains.

    What cannot be allocated (more than the invoices' remaining amounts) is simply not allocated: callers
    check the amount first.
    """
    known = tuple(allocations)
    left = amount
    result: list[Allocation] = []
    for invoice in sorted(invoices, key=_oldest_first):
        if left <= ZERO:
            break
        part = min(left, remaining(invoice, known))
        if part > ZERO:
            result.append(Allocation(source, invoice.number, part))
            left -= part
    return tuple(result)


def _already_recorded(ledger: BillingLedger, existing: Payment) -> PaymentRecord:
    again = {"payment": existing.number}
    return PaymentRecord(
        ledger,
        existing,
        ledger.allocations_of(existing.number),
        True,
        "payment.already_recorded",
        _render("payment.already_recorded", "fr", again),
        _render("payment.already_recorded", "en", again),
    )


def _book(
    ledger: BillingLedger, order: PaymentOrder, today: dt.date
) -> tuple[Payment, tuple[Allocation, ...], BillingLedger]:
    """The order's payment (numbered for ``today``'s year, unless it brings its number) allocated oldest first
    over those of its invoices the ledger knows, and the ledger after it."""
    numbering = ledger.numbering
    if order.number is None:
        payment, numbering = number_payment(
            numbering,
            order.regie_id,
            order.family_id,
            order.amount,
            order.received_at,
            order.method,
            order.reference,
            received_on=today,
        )
    else:
        if order.number in ledger._by_number:
            raise InvalidInput(f"{order.number} already numbers an invoice", code="billing.duplicate_number")
        payment = Payment(
            order.number,
            order.regie_id,
            order.family_id,
            order.amount,
            order.received_at,
            order.method,
            order.reference,
        )
    selected = [ledger._by_number[n] for n in order.invoice_numbers if n in ledger._by_number]
    allocations = allocate_oldest_first(selected, ledger.allocations, payment.number, order.amount)
    after = attrs.evolve(
        ledger,
        payments=(*ledger.payments, payment),
        allocations=(*ledger.allocations, *allocations),
        numbering=numbering,
    )
    return payment, allocations, after


def record_payment(ledger: BillingLedger, order: PaymentOrder, today: dt.date) -> PaymentRecord:
    """Record ``order`` on ``today`` (the commune's date): allocate it oldest first over its invoices.

    Raises ``PaymentRefused`` (nothing allocated) with every reason ``check_payment`` finds. Recording the
    same payment again (same number, or same gateway reference in the régie) returns the ledger unchanged
    with ``already_recorded``; the same reference with other figures raises ``InvalidInput``
    (``payment.conflicting_duplicate``).
    """
    existing = _recorded_before(ledger, order)
    if existing is not None:
        return _already_recorded(ledger, existing)
    refusals = check_payment(ledger, order, today)
    if refusals:
        raise PaymentRefused(refusals)
    payment, allocations, after = _book(ledger, order, today)
    number = payment.number
    selected = [ledger._by_number[n] for n in order.invoice_numbers]
    details_fr, details_en = [], []
    for invoice in sorted(selected, key=_oldest_first):
        left = after.remaining(invoice.number)
        if left:
            details_fr.append(f"facture {invoice.number} : reste {left.format('fr')}")
            details_en.append(f"invoice {invoice.number}: {left.format('en')} left")
        else:
            details_fr.append(f"facture {invoice.number} soldée")
            details_en.append(f"invoice {invoice.number} settled")
    words: dict[str, object] = {"payment": number, "amount": order.amount}
    fr = _render("payment.recorded", "fr", {**words, "details": " ; ".join(details_fr)})
    en = _render("payment.recorded", "en", {**words, "details": "; ".join(details_en)})
    return PaymentRecord(after, payment, allocations, False, "payment.recorded", fr, en)


def number_payment(
    numbering: Numbering,
    regie_id: str,
    family_id: str,
    amount: Money,
    received_at: dt.datetime,
    method: PaymentMethod,
    reference: str = "",
    *,
    received_on: dt.date,
) -> tuple[Payment, Numbering]:
    """A payment received by a régie at ``received_at``, numbered next in its ``PAY`` series for the year of
    ``received_on``, the commune's date of the receipt (its local year: a payment at 00:30 on 1 January in
    Paris is the new year's, whatever zone the gateway answers in)."""
    require_aware(received_at, "received_at")
    _check_date("received_on", received_on)
    numbering, number = numbering.next(regie_id, received_on.year, Series.PAYMENT)
    return Payment(number, regie_id, family_id, amount, received_at, method, reference), numbering


def receive_payment(ledger: BillingLedger, order: PaymentOrder, today: dt.date) -> PaymentRecord:
    """Money the régie received for ``order`` whatever happened meanwhile (an invoice paid at the counter, a
    credit note applied, the due date passed): it is recorded, what its invoices still owe is allocated
    oldest first, and the rest is left for the régie to refund (code ``payment.partly_unallocated``);
    ``today`` is the commune's date, whose year numbers the payment.
    ``record_payment`` is the call that refuses an order it cannot apply; this one is for money already in."""
    existing = _recorded_before(ledger, order)
    if existing is not None:
        return _already_recorded(ledger, existing)
    payment, allocations, after = _book(ledger, order, today)
    left = order.amount - Money.total(a.amount for a in allocations)
    words: dict[str, object] = {"payment": payment.number, "amount": order.amount, "left": left}
    return PaymentRecord(
        after,
        payment,
        allocations,
        False,
        "payment.partly_unallocated",
        _render("payment.partly_unallocated", "fr", words),
        _render("payment.partly_unallocated", "en", words),
    )


def issue_credit_note(
    numbering: Numbering, regie_id: str, family_id: str, amount: Money, label: str, today: dt.date
) -> tuple[Invoice, Numbering]:
    """A credit note (*avoir*) the régie decides, of ``amount`` (positive) for the family, issued ``today``
    (the commune's date) with the next number of its ``AV`` series."""
    if not isinstance(amount, Money) or amount <= ZERO:
        raise InvalidInput(
            f"a credit is a positive amount, got {amount!r}",
            message_fr="Le montant d'un avoir doit être positif.",
            code="credit.not_positive",
        )
    _check_date("today", today)
    numbering, number = numbering.next(regie_id, today.year, Series.CREDIT_NOTE)
    line = InvoiceLine("", "", label, "credit.manual", (), Decimal(1), -amount.amount, -amount)
    note = Invoice(
        number, regie_id, family_id, DocumentKind.CREDIT_NOTE, DateRange(today, today), today, today, [line]
    )
    return note, numbering


# -- what a family sees under "Factures à payer" -----------------------------------------------


@attrs.frozen
class InvoiceToPay:
    """An open invoice as the portal lists it: what remains, the due date, and whether it can be paid online.

    ``code`` is ``payment.payable_online``, or the refusal code (``payment.past_due``,
    ``payment.direct_debit``) whose sentence ``message_fr`` says why not.
    """

    invoice: Invoice
    remaining: Money
    payable_online: bool
    code: str
    message_fr: str
    message: str

    @property
    def number(self) -> str:
        return self.invoice.number

    @property
    def due_on(self) -> dt.date:
        return self.invoice.due_on

    @property
    def imported(self) -> bool:
        return self.invoice.kind is DocumentKind.IMPORTED


def invoices_to_pay(
    ledger: BillingLedger, family_id: str, today: dt.date, *, regie_id: str | None = None
) -> tuple[InvoiceToPay, ...]:
    """The family's invoices with something left to pay on ``today``, oldest first (due date, then number).

    Imported invoices are listed like computed ones; credit notes are not (see ``available_credits``).
    """
    _check_date("today", today)
    result: list[InvoiceToPay] = []
    for invoice in sorted(ledger.invoices, key=_oldest_first):
        if invoice.family_id != family_id or invoice.is_credit_note:
            continue
        if regie_id is not None and invoice.regie_id != regie_id:
            continue
        left = remaining(invoice, ledger.allocations)
        if not left:
            continue
        refusal = _online_refusal(ledger, invoice, today)
        if refusal is None:
            words = {"number": invoice.number, "left": left, "due": invoice.due_on}
            fr = _render("payment.payable_online", "fr", words)
            en = _render("payment.payable_online", "en", words)
            result.append(InvoiceToPay(invoice, left, True, "payment.payable_online", fr, en))
        else:
            result.append(
                InvoiceToPay(invoice, left, False, refusal.code, refusal.message_fr, refusal.message)
            )
    return tuple(result)


# -- credit notes -----------------------------------------------------------------------------


def available_credits(
    ledger: BillingLedger, family_id: str, *, regie_id: str | None = None
) -> tuple[tuple[Invoice, Money], ...]:
    """The family's credit notes with credit left, oldest first, with what is left of each."""
    result: list[tuple[Invoice, Money]] = []
    for note in sorted(ledger.invoices, key=lambda i: (i.issued_on, i.number)):
        if not note.is_credit_note or note.family_id != family_id:
            continue
        if regie_id is not None and note.regie_id != regie_id:
            continue
        left = remaining(note, ledger.allocations)
        if left > ZERO:
            result.append((note, left))
    return tuple(result)


@attrs.frozen
class CreditApplication:
    """Credit notes applied to open invoices: the ledger after, the new allocations, one sentence each."""

    ledger: BillingLedger
    allocations: tuple[Allocation, ...]
    messages_fr: tuple[str, ...]


def apply_credit_notes(ledger: BillingLedger, *, family_id: str | None = None) -> CreditApplication:
    """Apply every credit note with credit left to the open invoices of the same payer and régie.

    Oldest credit first, to the oldest invoice first (due date, then number), never above what remains
    on either side. Due dates and direct debit do not matter: a credit is the régie's own decision.
    Running it again adds nothing.
    """
    new: list[Allocation] = []
    messages: list[str] = []
    families = sorted({i.family_id for i in ledger.invoices if i.is_credit_note})
    for family in families:
        if family_id is not None and family != family_id:
            continue
        for note, _ in available_credits(ledger, family):
            known = (*ledger.allocations, *new)
            left = remaining(note, known)
            open_invoices = [
                invoice
                for invoice in ledger.invoices
                if invoice.family_id == family
                and invoice.regie_id == note.regie_id
                and not invoice.is_credit_note
            ]
            for allocation in allocate_oldest_first(open_invoices, known, note.number, left):
                new.append(allocation)
                words = {
                    "credit": note.number,
                    "amount": allocation.amount,
                    "number": allocation.invoice_number,
                }
                messages.append(_render("credit.applied", "fr", words))
    after = attrs.evolve(ledger, allocations=(*ledger.allocations, *new)) if new else ledger
    return CreditApplication(after, tuple(new), tuple(messages))


@attrs.frozen
class RefundRecord:
    """A credit paid back: the ledger after, the refund (a negative ``Payment`` in the ``REM`` series) and
    the allocation from the credit note to it."""

    ledger: BillingLedger
    refund: Payment
    allocation: Allocation
    message_fr: str
    message: str


def refund_credit(
    ledger: BillingLedger,
    credit_note_number: str,
    refunded_at: dt.datetime,
    *,
    today: dt.date,
    amount: Money | None = None,
    method: PaymentMethod = PaymentMethod.TRANSFER,
    reference: str = "",
) -> RefundRecord:
    """Pay back what is left of a credit note (or ``amount`` of it), never more than the credit left; the
    refund is numbered for the year of ``today``, the commune's date."""
    require_aware(refunded_at, "refunded_at")
    _check_date("today", today)
    note = ledger.invoice(credit_note_number)
    if not note.is_credit_note:
        raise InvalidInput(
            f"{credit_note_number} is not a credit note",
            message_fr=f"Remboursement impossible : {credit_note_number} n'est pas un avoir.",
            code="refund.not_a_credit_note",
        )
    left = remaining(note, ledger.allocations)
    if not left:
        raise InvalidInput(
            f"credit note {note.number} is used up",
            message_fr=f"Remboursement impossible : l'avoir {note.number} est entièrement utilisé.",
            code="refund.nothing",
        )
    amount = left if amount is None else amount
    if amount <= ZERO or amount > left:
        raise InvalidInput(
            f"cannot refund {amount} of credit note {note.number}: {left} is left",
            message_fr=(
                f"Remboursement impossible : il reste {left.format()} sur l'avoir {note.number}, "
                f"pas {amount.format()}."
            ),
            code="refund.above_credit",
        )
    numbering, number = ledger.numbering.next(note.regie_id, today.year, Series.REFUND)
    refund = Payment(number, note.regie_id, note.family_id, -amount, refunded_at, method, reference)
    allocation = Allocation(note.number, number, amount)
    after = attrs.evolve(
        ledger,
        payments=(*ledger.payments, refund),
        allocations=(*ledger.allocations, allocation),
        numbering=numbering,
    )
    words = {"credit": note.number, "amount": amount, "refund": number}
    return RefundRecord(
        after,
        refund,
        allocation,
        _render("credit.refunded", "fr", words),
        _render("credit.refunded", "en", words),
    )


# -- invoices imported from a commune's ERP ----------------------------------------------------


def _text(what: str, what_fr: str, value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(
            f"an imported invoice needs a {what}, got {value!r}",
            message_fr=f"Facture importée : il manque {what_fr}.",
            code="import.missing_field",
        )
    return value.strip()


def import_invoice(
    number: str,
    regie_id: str,
    family_id: str,
    issued_on: dt.date,
    due_on: dt.date,
    total: Money | Decimal | int | str,
    *,
    label: str = "Facture importée",
    period: DateRange | None = None,
    direct_debit_on: dt.date | None = None,
    currency: str = CURRENCY,
) -> Invoice:
    """An invoice produced by the commune's ERP (brochure: mesfacturesonline), to list and pay like ours.

    The ERP gives the number, payer, dates and total; the invoice carries one line with that total, of
    reason ``imported``. Its total must be positive and exact (no float), in euros; it is due on or after
    its issue date. ``period`` defaults to the issue date.
    """
    fields: dict[str, Any] = {
        "number": _text("number", "son numéro", number),
        "regie_id": _text("régie", "sa régie", regie_id),
        "family_id": _text("payer", "le foyer qui la paie", family_id),
    }
    _check_date("issued_on", issued_on)
    _check_date("due_on", due_on)
    if direct_debit_on is not None:
        _check_date("direct_debit_on", direct_debit_on)
    amount = total if isinstance(total, Money) else Money(total, currency)
    if currency != CURRENCY:
        Money(0, currency)  # raises the library's currency error
    if amount <= ZERO:
        raise InvalidInput(
            f"imported invoice {number} must have a positive total, got {amount}",
            message_fr=f"Facture importée {number} : le montant doit être positif.",
            code="import.not_positive",
        )
    line = InvoiceLine(
        child_id="",
        prestation_id="",
        label=_text("label", "son libellé", label),
        reason="imported",
        days=(),
        quantity=Decimal(1),
        unit_price=amount.amount,
        total=amount,
    )
    return Invoice(
        kind=DocumentKind.IMPORTED,
        period=period if period is not None else DateRange(issued_on, issued_on),
        issued_on=issued_on,
        due_on=due_on,
        lines=(line,),
        direct_debit_on=direct_debit_on,
        **fields,
    )
