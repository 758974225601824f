"""Pay at booking: the amount of a basket's prepaid lines, held places, confirmation, credits, price preview.

A prestation *payable à la réservation* (a holiday-centre day, a multisport week) is held, not booked, when
its basket is validated (``BookingStatus.HELD``). ``amount_to_pay`` prices the held bookings through the one
pricing path (``pricing.price_quote``, with ``FamilyFacts`` from the family and the child — the same path as
``price_preview`` and month-end invoices), deducts the family's prepaid credit of the same régie, and says
until when the places are held: ``held_until``, a configured time (e.g. 60 minutes of elapsed time, computed
in UTC so that a hold taken during the autumn DST night lasts 60 real minutes) from the basket's instant,
never past the booking deadline or registration window close of any held line (``hold_limit``).
``expired_holds`` lists the holds to release once that instant has passed.

On payment, ``confirm_payment`` books the held places and sets each booking's ``paid`` to what was actually
paid for it — the amount received plus the credit used, allocated over the bookings in proportion to their
prices with ``Money.allocate``, so the parts add up exactly — and produces a ``Receipt``. A payment that
arrives after the hold expired (or after a deadline) confirms nothing (``prepaid.paid_after_hold``): the
amount received becomes a credit for the family at that régie (``late_payment_credit_note``).

A prepaid booking cancelled within its deadline gives back what was paid for it (``Booking.paid``, not
today's price): ``cancellation_credits`` turns a basket's cancellations into ``CreditEntry`` values, and
``prepaid_credit_notes`` into numbered credit notes (*avoirs*). What is left of a family's credit notes at a
régie (``prepaid_credits``, from ``documents.remaining``) is deducted from its next prepaid basket there;
``credit_allocations`` records that use as allocations from the credit notes to the basket's hold
reference, so the same credit is never used twice and a refund pays back only what is left.

Why one module of some 1,300 lines: paying at booking is one flow — the amount, the hold, its expiry, the
credit notes for what was not used and the credit reused by the next basket — whose money must balance
as a whole (tests/property/test_payment_properties.py).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Final

import attrs

from espacefamille.calendar.opening import Closure
from espacefamille.calendar.periods import DateRange
from espacefamille.calendar.timezones import require_aware
from espacefamille.commune import Commune
from espacefamille.errors import InvalidInput, MissingData
from espacefamille.model import Booking, BookingStatus, Child, Family, PaymentMode, Prestation
from espacefamille.money import ZERO, Money
from espacefamille.rules.basket import (
    Action,
    BasketContext,
    BasketLine,
    BasketResult,
    LineDecision,
    Outcome,
    evaluate_basket,
)
from espacefamille.rules.capacity import PlaceLedger, Promotion
from espacefamille.rules.deadlines import DeadlineContext
from espacefamille.rules.policies import judge_booking
from espacefamille.text import Lang, format_date, format_datetime

from .documents import (
    Allocation,
    DocumentKind,
    Invoice,
    InvoiceLine,
    Numbering,
    Payment,
    PaymentMethod,
    Series,
)
from .payments import BillingLedger, available_credits, is_hold_reference
from .pricing import (
    FamilyFacts,
    LatePlan,
    PriceQuote,
    SurchargeQuote,
    late_plan,
    price_exceptional_tariff,
    price_quote,
    price_surcharge,
)
from .tariffs import (
    PriceUnit,
    QfChangeRule,
    SurchargeKind,
)

__all__ = [
    "DEFAULT_HOLD",
    "LATE_PAYMENT_REASONS",
    "AmountToPay",
    "CreditEntry",
    "HoldRelease",
    "PrepaidConfirmation",
    "PrepaidCredit",
    "PrepaidItem",
    "PreviewLine",
    "PricePreview",
    "Receipt",
    "ReceiptLine",
    "amount_to_pay",
    "cancellation_credits",
    "confirm_payment",
    "credit_allocations",
    "credit_wallet",
    "expired_holds",
    "family_facts",
    "held_until",
    "hold_limit",
    "late_payment_credit_note",
    "prepaid_credit_notes",
    "prepaid_credits",
    "price_preview",
    "refund_prepaid_credit",
    "release_expired_holds",
]

BookingKey = tuple[str, str, dt.date]

#: A usual hold: communes keep prepaid places 30 to 60 minutes while the family pays online.
DEFAULT_HOLD: Final = dt.timedelta(minutes=60)


def _check_hold(hold: dt.timedelta) -> None:
    if not isinstance(hold, dt.timedelta) or hold <= dt.timedelta(0):
        raise InvalidInput(f"a hold must be a positive timedelta, got {hold!r}", code="prepaid.hold")


def _utc(moment: dt.datetime, what: str = "now") -> dt.datetime:
    # Elapsed time: arithmetic and comparisons of aware datetimes sharing a tzinfo are wall-clock in Python
    # (02:30 + 60 minutes is 03:30 even on the night 02:00-03:00 happens twice), so they are done in UTC.
    return require_aware(moment, what).astimezone(dt.UTC)


Closures = Mapping[str, Iterable[Closure]]


# -- how long places are held -------------------------------------------------------------------


class _Limits:
    """The latest instant each booking's hold may last (``hold_limit``), one deadline context per
    prestation."""

    def __init__(self, commune: Commune, closures: Closures | None) -> None:
        self.commune = commune
        self.closures = closures or {}
        self.contexts: dict[str, DeadlineContext] = {}

    def context(self, prestation: Prestation) -> DeadlineContext:
        if prestation.id not in self.contexts:
            closures = self.closures.get(prestation.service_id, ())
            self.contexts[prestation.id] = self.commune.deadline_context(prestation.id, closures=closures)
        return self.contexts[prestation.id]

    def limit(self, booking: Booking) -> dt.datetime:
        prestation = self.commune.prestation(booking.prestation_id)
        context = self.context(prestation)
        start = _utc(context.start_of(booking.day))
        rules = self.commune.booking_rules.get(prestation.id)
        if rules is None:
            return start
        # The deadline judged at the instant the place was held: the earlier of the booking deadline and
        # the registration window's close (the same instant the family was shown).
        deadline = _utc(judge_booking(rules, booking.day, booking.booked_at, context).deadline)
        if _utc(booking.booked_at, "booked_at") <= deadline:
            return min(deadline, start)
        # Held after its deadline (accepted late under the commune's policy, or a waiting-list place given
        # later): nobody pays for a prestation that has begun.
        return start

    def until(self, bookings: Iterable[Booking], hold: dt.timedelta) -> dt.datetime | None:
        ends = [min(_utc(b.booked_at, "booked_at") + hold, self.limit(b)) for b in bookings]
        return self.commune.calendar.local(min(ends)) if ends else None


def hold_limit(commune: Commune, booking: Booking, *, closures: Closures | None = None) -> dt.datetime:
    """The latest instant a hold of ``booking`` may last, whatever the hold's length (in UTC).

    A place held before its deadline is held no later than that deadline — the earlier of the booking
    deadline and the registration window's close, as ``judge_booking`` gives it at the instant the place was
    held (``closures`` by service id count for deadlines in opening days). A place held after its deadline
    (accepted late under the commune's policy, or a waiting-list place given later) is held no later than
    the prestation's start that day. A prestation without booking rules is held no later than its start.
    """
    require_aware(booking.booked_at, "booked_at")
    return _Limits(commune, closures).limit(booking)


def held_until(
    commune: Commune,
    bookings: Iterable[Booking],
    hold: dt.timedelta = DEFAULT_HOLD,
    *,
    closures: Closures | None = None,
) -> dt.datetime | None:
    """Until when the ``HELD`` bookings among ``bookings`` are held, on the commune's clocks: the earliest,
    over them, of ``hold`` of elapsed time after the instant the place was held and its ``hold_limit``.
    None when nothing is held."""
    _check_hold(hold)
    return _Limits(commune, closures).until(_held(bookings), hold)


def _moment_fr(moment: dt.datetime) -> str:
    """``format_datetime``, saying which 2 h 30 it is on the night the clocks go back."""
    text = format_datetime(moment)
    other = moment.replace(fold=1 - moment.fold)
    if other.utcoffset() != moment.utcoffset():
        text += " (heure d'été)" if moment.dst() else " (heure d'hiver)"
    return text


# -- what prices depend on --------------------------------------------------------------------


def family_facts(
    family: Family,
    child: Child,
    siblings: Iterable[Child],
    day: dt.date,
    qf_change: QfChangeRule = QfChangeRule.IMMEDIATELY,
) -> FamilyFacts:
    """The ``FamilyFacts`` to price ``child``'s day: the household's QF in force that day under the price
    list's ``qf_change`` rule (None if unknown; never before it was received), its residence, the child's
    PAI, and its rank among the household's children (eldest first, by birth date then id) for sibling
    reductions and prices by family size."""
    children = {c.id: c for c in siblings if family.id in c.family_ids}
    children[child.id] = child
    order = sorted(children.values(), key=lambda c: (c.birth_date, c.id))
    rank = next(index for index, c in enumerate(order, 1) if c.id == child.id)
    return FamilyFacts(
        family.quotient_on(day, qf_change),
        family.residence,
        child.pai,
        child_rank=rank,
        children=len(order),
    )


# -- pricing held bookings --------------------------------------------------------------------


def _keys(items: Iterable[BookingKey]) -> tuple[BookingKey, ...]:
    return tuple(items)


@attrs.frozen
class PrepaidItem:
    """One priced item: a day (or a whole block, or a timed slot) of a child's prestation.

    ``amount`` is the quote's total plus its late-booking surcharge line, if any (or the exceptional tariff
    that replaced the price); ``keys`` are the bookings it pays for (several days for a block).
    """

    child_id: str
    prestation_id: str
    regie_id: str
    keys: tuple[BookingKey, ...] = attrs.field(converter=_keys)
    quote: PriceQuote
    amount: Money
    surcharge: SurchargeQuote | None = None
    exceptional: Money | None = None
    payment_mode: PaymentMode = PaymentMode.PREPAID
    name: str = ""

    @property
    def days(self) -> tuple[dt.date, ...]:
        return tuple(key[2] for key in self.keys)

    @property
    def message_fr(self) -> str:
        """``Journée centre de loisirs du lundi 21 décembre 2026 : 12,12 € (Taux d'effort …).``"""
        when = format_date(self.days[0])
        if len(self.days) > 1:
            when = f"{when} au {format_date(self.days[-1])}"
        parts = [self.quote.message_fr.rstrip(".")]
        if self.exceptional is not None:
            parts = [f"tarif exceptionnel après le délai : {self.exceptional.format()}"]
        if self.surcharge is not None:
            parts.append(f"{self.surcharge.message_fr.rstrip('.')} ({self.surcharge.total.format()})")
        name = self.name or self.prestation_id
        return f"{name} du {when} : {self.amount.format()} ({' ; '.join(parts)})."


class _Pricer:
    """Prices bookings for one household: every item goes through ``price_quote``."""

    def __init__(self, commune: Commune, family: Family, children: Iterable[Child]) -> None:
        self.commune = commune
        self.family = family
        self.children = {c.id: c for c in children}

    def child(self, child_id: str) -> Child:
        try:
            return self.children[child_id]
        except KeyError:
            raise MissingData(
                f"child {child_id!r} is not among the household's children",
                message_fr="Cet enfant n'est pas rattaché au foyer.",
                code="prepaid.unknown_child",
            ) from None

    def block_of(self, prestation: Prestation, day: dt.date) -> tuple[object, ...]:
        for block in prestation.blocks:
            if day in block:
                return (block.start,)
        return day.isocalendar()[:2]  # a block without explicit ranges is a Monday-to-Sunday week

    def items(self, bookings: Iterable[Booking]) -> tuple[PrepaidItem, ...]:
        groups: dict[tuple[object, ...], list[Booking]] = {}
        for booking in sorted(bookings, key=lambda b: (b.day, b.child_id, b.prestation_id)):
            prestation = self.commune.prestation(booking.prestation_id)
            _, tariff = self.commune.tariffs.tariff_on(prestation.id, booking.day)
            if tariff.unit is PriceUnit.BLOCK:
                group = (booking.child_id, prestation.id, *self.block_of(prestation, booking.day))
            else:
                group = booking.key
            groups.setdefault(group, []).append(booking)
        return tuple(self.item(members) for members in groups.values())

    def item(self, bookings: Sequence[Booking]) -> PrepaidItem:
        first = bookings[0]
        prestation = self.commune.prestation(first.prestation_id)
        child = self.child(first.child_id)
        qf_change = self.commune.tariffs.price_list_on(first.day).qf_change
        facts = family_facts(self.family, child, self.children.values(), first.day, qf_change)
        _, tariff = self.commune.tariffs.tariff_on(prestation.id, first.day)
        quantity = 1
        if tariff.unit.is_timed:
            if prestation.minutes is None:
                raise MissingData(
                    f"prestation {prestation.id!r} is priced by time but has no hours",
                    code="prepaid.no_hours",
                )
            quantity = prestation.minutes
        rounding = self.commune.rounding
        quote = price_quote(
            self.commune.tariffs, prestation.id, first.day, facts, quantity, rounding=rounding
        )
        amount = quote.total
        surcharge: SurchargeQuote | None = None
        exceptional: Money | None = None
        plan = self._late_plan(first)
        if plan is not None and plan.rule is not None:
            surcharge = price_surcharge(
                self.commune.tariffs, quote, SurchargeKind.LATE_BOOKING, rule=plan.rule
            )
            if surcharge is not None:
                amount += surcharge.total
        elif plan is not None and plan.price is not None:
            supplement = price_exceptional_tariff(self.commune.tariffs, quote, plan.price)
            exceptional = quote.total if supplement is None else quote.total + supplement.total
            amount = exceptional
        regie = self.commune.service(prestation.service_id).regie_id
        return PrepaidItem(
            first.child_id,
            prestation.id,
            regie,
            [b.key for b in bookings],
            quote,
            amount,
            surcharge,
            exceptional,
            prestation.payment_mode,
            prestation.name,
        )

    def _late_plan(self, booking: Booking) -> LatePlan | None:
        # The basket stamps a late booking with its deadline decision's code; month end prices it alike.
        code = booking.surcharge_code
        rules = self.commune.booking_rules.get(booking.prestation_id)
        if code is None or rules is None:
            return None
        return late_plan(rules.after_booking_deadline, code)


# -- the amount to pay ------------------------------------------------------------------------


def _items(items: Iterable[PrepaidItem]) -> tuple[PrepaidItem, ...]:
    return tuple(items)


def _money_by_regie(table: Mapping[str, Money]) -> dict[str, Money]:
    return dict(table)


@attrs.frozen
class PrepaidCredit:
    """What a household may still use (or have refunded) at a régie, from prepaid bookings it cancelled in
    time. Never negative."""

    family_id: str
    regie_id: str
    balance: Money = attrs.field(validator=attrs.validators.instance_of(Money))

    def __attrs_post_init__(self) -> None:
        if self.balance.is_negative:
            raise InvalidInput(
                f"a credit cannot be negative, got {self.balance}",
                message_fr="Un avoir ne peut pas être négatif.",
                code="prepaid.negative_credit",
            )

    def credited(self, amount: Money) -> PrepaidCredit:
        if amount.is_negative:
            raise InvalidInput("a credit is added with a positive amount", code="prepaid.negative_credit")
        return attrs.evolve(self, balance=self.balance + amount)

    def used(self, amount: Money) -> PrepaidCredit:
        if amount.is_negative or amount > self.balance:
            raise InvalidInput(
                f"cannot use {amount} of a credit of {self.balance}",
                message_fr=(
                    f"Impossible d'utiliser {amount.format()} : l'avoir est de {self.balance.format()}."
                ),
                code="prepaid.above_credit",
            )
        return attrs.evolve(self, balance=self.balance - amount)


@attrs.frozen
class AmountToPay:
    """What a validated basket's held bookings cost, the credit deducted, and until when places are held.

    ``gross`` is the sum of the items; ``credit_used`` the household's prepaid credit deducted, by régie;
    ``total`` what the family pays now (nothing when its credit covers the basket:
    ``prepaid.paid_by_credit``);
    ``held_until`` the instant the holds expire, on the commune's clocks (None when nothing is held).
    """

    family_id: str
    items: tuple[PrepaidItem, ...] = attrs.field(converter=_items)
    credit_used: Mapping[str, Money] = attrs.field(converter=_money_by_regie)
    held_until: dt.datetime | None

    @property
    def gross(self) -> Money:
        return Money.total(item.amount for item in self.items)

    @property
    def credit(self) -> Money:
        """The credit deducted, all régies together."""
        return Money.total(self.credit_used.values())

    @property
    def total(self) -> Money:
        return self.gross - self.credit

    @property
    def keys(self) -> tuple[BookingKey, ...]:
        return tuple(key for item in self.items for key in item.keys)

    @property
    def code(self) -> str:
        if not self.items or not self.gross:
            return "prepaid.nothing_to_pay"
        return "prepaid.amount_to_pay" if self.total else "prepaid.paid_by_credit"

    @property
    def message_fr(self) -> str:
        """``Montant à payer : 45,00 € (avoir de 10,00 € déduit), places retenues jusqu'au …``"""
        if self.code == "prepaid.nothing_to_pay":
            return "Rien à payer à la réservation."
        credit = self.credit
        if self.code == "prepaid.paid_by_credit":
            return (
                f"Réglé par votre avoir : {credit.format()} déduits, rien à payer en ligne. "
                "Vos réservations sont confirmées."
            )
        deducted = f" (avoir de {credit.format()} déduit)" if credit else ""
        assert self.held_until is not None
        return (
            f"Montant à payer : {self.total.format()}{deducted}. Vos places sont retenues jusqu'au "
            f"{_moment_fr(self.held_until)} ; sans paiement, elles seront libérées."
        )


def _held(bookings: Iterable[Booking] | BasketResult) -> list[Booking]:
    items = bookings.added if isinstance(bookings, BasketResult) else bookings
    return [b for b in items if b.status is BookingStatus.HELD]


def _credit_by_regie(family_id: str, credits: Iterable[PrepaidCredit]) -> dict[str, Money]:
    balance: dict[str, Money] = {}
    for credit in credits:
        if credit.family_id != family_id:
            raise InvalidInput(
                f"a credit of {credit.family_id!r} is not {family_id!r}'s", code="prepaid.other_family"
            )
        balance[credit.regie_id] = balance.get(credit.regie_id, ZERO) + credit.balance
    return balance


def _deducted(gross: Mapping[str, Money], balance: Mapping[str, Money]) -> dict[str, Money]:
    """The credit each régie's prepaid lines use: as much as the credit there goes, never above them."""
    used = {regie: min(gross[regie], balance.get(regie, ZERO)) for regie in sorted(gross)}
    return {regie: amount for regie, amount in used.items() if amount > ZERO}


def amount_to_pay(
    commune: Commune,
    family: Family,
    children: Iterable[Child],
    bookings: BasketResult | Iterable[Booking],
    *,
    hold: dt.timedelta = DEFAULT_HOLD,
    credits: Iterable[PrepaidCredit] = (),
    closures: Closures | None = None,
) -> AmountToPay:
    """The amount a household pays for the held bookings of a validated basket (``BasketResult.added`` with
    status ``HELD``), priced through ``price_quote``, less its prepaid credit at each régie (a credit of
    another régie is never used).

    ``hold`` is how long the places are kept from the basket's instant (elapsed time), and never past a held
    line's deadline (``held_until``; ``closures`` by service id, for deadlines counted in opening days).
    """
    _check_hold(hold)
    held = _held(bookings)
    for booking in held:
        if booking.family_id != family.id:
            raise InvalidInput(
                f"booking {booking.key} is not of household {family.id!r}", code="prepaid.other_family"
            )
    balance = _credit_by_regie(family.id, credits)
    items = _Pricer(commune, family, children).items(held)
    gross: dict[str, Money] = {}
    for item in items:
        gross[item.regie_id] = gross.get(item.regie_id, ZERO) + item.amount
    until = _Limits(commune, closures).until(held, hold)
    return AmountToPay(family.id, items, _deducted(gross, balance), until)


# -- holds ------------------------------------------------------------------------------------


def _expired(booking: Booking, now: dt.datetime, hold: dt.timedelta) -> bool:
    return booking.status is BookingStatus.HELD and _utc(now) >= _utc(booking.booked_at, "booked_at") + hold


def expired_holds(
    bookings: Iterable[Booking],
    now: dt.datetime,
    hold: dt.timedelta,
    *,
    commune: Commune | None = None,
    closures: Closures | None = None,
) -> tuple[Booking, ...]:
    """The held bookings whose time has run out at ``now``: ``hold`` of elapsed time after the basket's
    instant and, given the ``commune``, the earliest ``hold_limit`` of the basket (the bookings held at the
    same instant for the same household and régie, released together: none of them can be paid any more)."""
    require_aware(now)
    _check_hold(hold)
    everything = tuple(bookings)
    if commune is None:
        return tuple(b for b in everything if _expired(b, now, hold))
    limits = _Limits(commune, closures)
    baskets: dict[tuple[str, str, dt.datetime], list[Booking]] = {}
    for booking in _held(everything):
        regie = commune.service(commune.prestation(booking.prestation_id).service_id).regie_id
        baskets.setdefault((booking.family_id, regie, _utc(booking.booked_at, "booked_at")), []).append(
            booking
        )
    lapsed: set[tuple[BookingKey, str]] = set()
    for basket in baskets.values():
        until = limits.until(basket, hold)
        assert until is not None  # a basket has bookings
        if _utc(now) >= _utc(until):
            lapsed.update((b.key, b.family_id) for b in basket)
    return tuple(b for b in everything if b.status is BookingStatus.HELD and (b.key, b.family_id) in lapsed)


def _ledgers(table: Mapping[str, PlaceLedger]) -> dict[str, PlaceLedger]:
    return dict(table)


def _bookings(items: Iterable[Booking]) -> tuple[Booking, ...]:
    return tuple(items)


def _promotions(items: Iterable[tuple[str, Promotion]]) -> tuple[tuple[str, Promotion], ...]:
    return tuple(items)


@attrs.frozen
class HoldRelease:
    """Expired holds released: the bookings after (released ones ``CANCELLED``), the released ones, the place
    ledgers after, and the waiting children who got the freed places."""

    bookings: tuple[Booking, ...] = attrs.field(converter=_bookings)
    released: tuple[Booking, ...] = attrs.field(converter=_bookings)
    ledgers: Mapping[str, PlaceLedger] = attrs.field(converter=_ledgers)
    promotions: tuple[tuple[str, Promotion], ...] = attrs.field(converter=_promotions)
    code: str = "prepaid.hold_expired"

    @property
    def messages_fr(self) -> tuple[str, ...]:
        return tuple(
            f"Place non payée à temps libérée : {b.prestation_id} du {format_date(b.day)}."
            for b in self.released
        )


def release_expired_holds(
    bookings: Iterable[Booking],
    now: dt.datetime,
    hold: dt.timedelta,
    *,
    ledgers: Mapping[str, PlaceLedger] | None = None,
    commune: Commune | None = None,
    closures: Closures | None = None,
) -> HoldRelease:
    """Release the holds past their time (``expired_holds``: given the ``commune``, also those past a held
    line's deadline): the bookings become ``CANCELLED`` and their places are freed in the given ledgers (the
    first waiting children get them)."""
    everything = tuple(bookings)
    expired = expired_holds(everything, now, hold, commune=commune, closures=closures)
    gone = {(b.key, b.family_id) for b in expired}
    after = tuple(
        attrs.evolve(b, status=BookingStatus.CANCELLED) if (b.key, b.family_id) in gone else b
        for b in everything
    )
    places = dict(ledgers or {})
    promotions: list[tuple[str, Promotion]] = []
    for prestation_id in sorted({b.prestation_id for b in expired}):
        ledger = places.get(prestation_id)
        if ledger is None:
            continue
        ledger, promoted = ledger.release_many(
            (b.child_id, b.day) for b in expired if b.prestation_id == prestation_id
        )
        places[prestation_id] = ledger
        promotions.extend((prestation_id, p) for p in promoted)
    released = tuple(b for b in after if (b.key, b.family_id) in gone)
    return HoldRelease(after, released, places, promotions)


# -- payment and receipt ----------------------------------------------------------------------


@attrs.frozen
class ReceiptLine:
    """What was paid for one booking (its share of the payment and credit)."""

    child_id: str
    prestation_id: str
    day: dt.date
    regie_id: str
    paid: Money


def _receipt_lines(items: Iterable[ReceiptLine]) -> tuple[ReceiptLine, ...]:
    return tuple(items)


@attrs.frozen
class Receipt:
    """The family's receipt for a prepaid basket: what it paid, with which credit, for which bookings."""

    family_id: str
    paid_at: dt.datetime
    amount: Money
    credit_used: Money
    reference: str
    lines: tuple[ReceiptLine, ...] = attrs.field(converter=_receipt_lines)

    @property
    def total(self) -> Money:
        """What the bookings cost in all: the amount received plus the credit used."""
        return self.amount + self.credit_used

    @property
    def message_fr(self) -> str:
        credit = f" et {self.credit_used.format()} d'avoir" if self.credit_used else ""
        plural = "s" if len(self.lines) > 1 else ""
        return (
            f"Paiement de {self.amount.format()}{credit} reçu le {format_datetime(self.paid_at)} : "
            f"{len(self.lines)} réservation{plural} confirmée{plural}."
        )


def _credits(items: Iterable[PrepaidCredit]) -> tuple[PrepaidCredit, ...]:
    return tuple(items)


@attrs.frozen
class PrepaidConfirmation:
    """The outcome of a payment for held bookings.

    ``confirmed`` is True when every hold was still valid: ``bookings`` then has them ``BOOKED`` with
    ``paid`` set, ``receipt`` is the receipt and ``credits`` the household's credits after use. Otherwise
    (``code`` ``prepaid.paid_after_hold``: the hold had expired, or a held line's deadline had passed)
    nothing is booked, no credit is used, and ``credit_due`` is the amount received: it becomes a credit for
    the household at the régie (``late_payment_credit_note``), used on its next basket or refunded.
    """

    confirmed: bool
    code: str
    message_fr: str
    bookings: tuple[Booking, ...] = attrs.field(converter=_bookings)
    credits: tuple[PrepaidCredit, ...] = attrs.field(converter=_credits)
    receipt: Receipt | None = None
    credit_due: Money = ZERO

    @property
    def refund_due(self) -> Money:
        """The former name of ``credit_due``: what was received and is owed back to the household."""
        return self.credit_due


def confirm_payment(
    to_pay: AmountToPay,
    bookings: Iterable[Booking],
    paid: Money,
    paid_at: dt.datetime,
    *,
    hold: dt.timedelta = DEFAULT_HOLD,
    credits: Iterable[PrepaidCredit] = (),
    reference: str = "",
) -> PrepaidConfirmation:
    """Confirm the held bookings of ``to_pay`` on a payment of ``paid`` received at ``paid_at``.

    ``bookings`` are the household's bookings (those of ``to_pay`` among them). The payment must be exactly
    ``to_pay.total`` (a different amount is refused with ``InvalidInput``: a tampered or stale payment). If
    every hold is still valid, each booking becomes ``BOOKED`` with ``paid`` set to its share of what was
    paid (received plus credit used), in proportion to its price; the shares add up exactly.
    """
    require_aware(paid_at, "paid_at")
    _check_hold(hold)
    if paid != to_pay.total:
        raise InvalidInput(
            f"payment of {paid} does not match the amount to pay {to_pay.total}",
            message_fr=f"Le paiement reçu ({paid.format()}) ne correspond pas au montant à payer "
            f"({to_pay.total.format()}) : rien n'est confirmé.",
            code="prepaid.amount_mismatch",
        )
    everything = tuple(bookings)
    current = {b.key: b for b in everything if b.family_id == to_pay.family_id}
    wallet = tuple(credits)
    keys = to_pay.keys
    missing = [key for key in keys if key not in current]
    if missing:
        raise InvalidInput(
            f"bookings {missing} are not among the household's", code="prepaid.unknown_booking"
        )
    until = to_pay.held_until
    past_deadline = until is not None and _utc(paid_at) >= _utc(until)
    lapsed = [
        key
        for key in keys
        if current[key].status is not BookingStatus.HELD
        or past_deadline
        or _expired(current[key], paid_at, hold)
    ]
    if lapsed:
        first = current[lapsed[0]]
        name = next((i.name for i in to_pay.items if first.key in i.keys and i.name), first.prestation_id)
        message = (
            f"Paiement reçu trop tard : la place « {name} » du {format_date(first.day)} n'était plus "
            "retenue. "
            f"Rien n'est réservé ; les {paid.format()} payés vous sont rendus sous forme d'avoir."
        )
        return PrepaidConfirmation(
            False, "prepaid.paid_after_hold", message, everything, wallet, credit_due=paid
        )
    shares = _shares(to_pay, paid + to_pay.credit)
    confirmed = {
        key: attrs.evolve(current[key], status=BookingStatus.BOOKED, paid=share)
        for key, share in shares.items()
    }
    after = tuple(
        confirmed[b.key] if b.family_id == to_pay.family_id and b.key in confirmed else b for b in everything
    )
    # The credit deducted is taken from the household's credits at each régie, as far as they go.
    to_take = dict(to_pay.credit_used)
    wallet_after: list[PrepaidCredit] = []
    for credit in wallet:
        if credit.family_id != to_pay.family_id:
            raise InvalidInput(
                f"a credit of {credit.family_id!r} is not {to_pay.family_id!r}'s", code="prepaid.other_family"
            )
        part = min(to_take.get(credit.regie_id, ZERO), credit.balance)
        wallet_after.append(credit.used(part))
        to_take[credit.regie_id] = to_take.get(credit.regie_id, ZERO) - part
    if any(to_take.values()):
        raise InvalidInput(
            "the credit deducted from the amount to pay is no longer available", code="prepaid.above_credit"
        )
    regie_of = {key: item.regie_id for item in to_pay.items for key in item.keys}
    receipt = Receipt(
        to_pay.family_id,
        paid_at,
        paid,
        to_pay.credit,
        reference,
        [ReceiptLine(k[0], k[1], k[2], regie_of[k], share) for k, share in shares.items()],
    )
    return PrepaidConfirmation(True, "prepaid.confirmed", receipt.message_fr, after, wallet_after, receipt)


def _shares(to_pay: AmountToPay, total: Money) -> dict[BookingKey, Money]:
    """``total`` over the bookings of ``to_pay`` in proportion to their prices (a block's over its days)."""
    keys = list(to_pay.keys)
    weights: list[int] = []
    for item in to_pay.items:
        weights.extend(part.cents for part in item.amount.split(len(item.keys)))
    if not keys:
        return {}
    if sum(weights) <= 0:  # free prestations: nothing was paid for any of them
        return dict.fromkeys(keys, ZERO)
    return dict(zip(keys, total.allocate(weights), strict=True))


# -- credits from cancellations -----------------------------------------------------------------


@attrs.frozen
class CreditEntry:
    """The credit one cancelled prepaid booking gives: what was paid for it (not today's price)."""

    booking: Booking
    regie_id: str
    amount: Money
    code: str
    message_fr: str


def cancellation_credits(commune: Commune, result: BasketResult) -> tuple[CreditEntry, ...]:
    """The credits a basket's cancellations give: each paid prepaid booking cancelled within its deadline
    gives back ``Booking.paid``. A cancellation accepted after its deadline (under a surcharge policy) or an
    unpaid hold gives nothing, and says so."""
    in_time: set[BookingKey] = set()
    late: set[BookingKey] = set()
    for decision in result.decisions:
        if decision.line.action is not Action.CANCEL or not decision.changed:
            continue
        target = in_time if decision.outcome is Outcome.ACCEPTED else late
        target.update((decision.line.child_id, decision.line.prestation_id, day) for day in decision.days)
    entries: list[CreditEntry] = []
    for booking in result.cancelled:
        prestation = commune.prestation(booking.prestation_id)
        if prestation.payment_mode is not PaymentMode.PREPAID:
            continue
        regie = commune.service(prestation.service_id).regie_id
        when = format_date(booking.day)
        if booking.paid is None or not booking.paid:
            entries.append(
                CreditEntry(
                    booking,
                    regie,
                    ZERO,
                    "prepaid.nothing_paid",
                    f"{prestation.name} du {when} : rien n'avait été payé.",
                )
            )
        elif booking.key in late and booking.key not in in_time:
            entries.append(
                CreditEntry(
                    booking,
                    regie,
                    ZERO,
                    "prepaid.cancelled_late",
                    f"{prestation.name} du {when} : annulation après le délai, pas d'avoir.",
                )
            )
        else:
            entries.append(
                CreditEntry(
                    booking,
                    regie,
                    booking.paid,
                    "prepaid.credit",
                    f"{prestation.name} du {when} : annulation dans les délais, "
                    f"avoir de {booking.paid.format()} (le montant payé).",
                )
            )
    return tuple(entries)


def credit_wallet(
    family_id: str, credits: Iterable[PrepaidCredit], entries: Iterable[CreditEntry]
) -> tuple[PrepaidCredit, ...]:
    """The household's credits, one per régie, after adding ``entries``."""
    wallet: dict[str, PrepaidCredit] = {}
    for credit in credits:
        if credit.family_id != family_id:
            raise InvalidInput(
                f"a credit of {credit.family_id!r} is not {family_id!r}'s", code="prepaid.other_family"
            )
        known = wallet.get(credit.regie_id)
        wallet[credit.regie_id] = credit if known is None else known.credited(credit.balance)
    for entry in entries:
        if entry.booking.family_id != family_id:
            raise InvalidInput("a credit entry of another household", code="prepaid.other_family")
        known = wallet.get(entry.regie_id) or PrepaidCredit(family_id, entry.regie_id, ZERO)
        wallet[entry.regie_id] = known.credited(entry.amount)
    return tuple(wallet[regie] for regie in sorted(wallet))


def _check_today(today: object) -> None:
    if not isinstance(today, dt.date) or isinstance(today, dt.datetime):
        raise InvalidInput(f"today must be a date, got {today!r}", code="input.not_a_date")


def prepaid_credit_notes(
    commune: Commune,
    family: Family,
    entries: Iterable[CreditEntry],
    numbering: Numbering,
    today: dt.date,
) -> tuple[tuple[Invoice, ...], Numbering]:
    """The credit notes (*avoirs*) a basket's cancellation credits give: one per régie, numbered in its
    ``AV`` series of ``today``'s year, a line per cancelled booking (reason ``prepaid.credit``, the booking's
    date, minus what was paid for it), issued and due ``today``; and the numbering after them.

    Entries of nothing (an unpaid hold, a cancellation after the deadline) give no line; no entry with an
    amount gives no credit note and leaves the numbering as it was.
    """
    _check_today(today)
    chosen = []
    for entry in entries:
        if entry.booking.family_id != family.id:
            raise InvalidInput(
                f"a credit entry of {entry.booking.family_id!r} is not {family.id!r}'s",
                code="prepaid.other_family",
            )
        if entry.amount.is_negative:
            raise InvalidInput("a credit entry cannot be negative", code="prepaid.negative_credit")
        if entry.amount:
            chosen.append(entry)
    notes: list[Invoice] = []
    for regie_id in sorted({e.regie_id for e in chosen}):
        commune.regie(regie_id)
        mine = [e for e in chosen if e.regie_id == regie_id]
        numbering, number = numbering.next(regie_id, today.year, Series.CREDIT_NOTE)
        lines = [
            InvoiceLine(
                e.booking.child_id,
                e.booking.prestation_id,
                commune.prestation(e.booking.prestation_id).name,
                e.code,
                (e.booking.day,),
                quantity=Decimal(1),
                unit_price=-e.amount.amount,
                total=-e.amount,
                explanation=e.message_fr,
            )
            for e in mine
        ]
        days = [e.booking.day for e in mine]
        notes.append(
            Invoice(
                number,
                regie_id,
                family.id,
                DocumentKind.CREDIT_NOTE,
                DateRange(min(days), max(days)),
                today,
                today,
                lines,
            )
        )
    return tuple(notes), numbering


#: Why a payment for held places confirmed nothing, and what a parent reads (the amount, the payment's
#: reference and the credit note's number are filled in).
LATE_PAYMENT_REASONS: Final[Mapping[str, str]] = {
    "prepaid.paid_after_hold": (
        "Votre paiement de {amount} (référence {reference}) est arrivé après la fin de la réservation de "
        "vos places : rien n'est réservé, les places ont pu être attribuées à d'autres familles."
    ),
    "prepaid.credit_unavailable": (
        "Votre paiement de {amount} (référence {reference}) devait être complété par un avoir qui n'est "
        "plus disponible : rien n'est réservé."
    ),
    "prepaid.basket_changed": (
        "Votre paiement de {amount} (référence {reference}) ne correspond plus aux places retenues, qui ont "
        "changé depuis : rien n'est réservé."
    ),
}


def late_payment_credit_note(
    commune: Commune,
    family: Family,
    payment: Payment,
    numbering: Numbering,
    today: dt.date,
    *,
    code: str = "prepaid.paid_after_hold",
    days: Iterable[dt.date] = (),
) -> tuple[Invoice, Numbering]:
    """The credit note that keeps, for the household at the payment's régie, a payment for held places that
    confirmed nothing (``code``, one of ``LATE_PAYMENT_REASONS``): numbered in the régie's ``AV`` series of
    ``today``'s year, one line of minus the amount received, over the held ``days`` (or ``today``). The
    credit is deducted from the household's next basket at that régie, or refunded by the régie.
    """
    _check_today(today)
    template = LATE_PAYMENT_REASONS.get(code)
    if template is None:
        raise InvalidInput(f"unknown late-payment reason {code!r}", code="prepaid.unknown_reason")
    if payment.family_id != family.id:
        raise InvalidInput(f"payment {payment.number} is not {family.id!r}'s", code="prepaid.other_family")
    if payment.amount <= ZERO:
        raise InvalidInput(
            f"only money received becomes a credit, not {payment.amount}",
            message_fr="Seul un paiement reçu peut devenir un avoir.",
            code="prepaid.negative_credit",
        )
    commune.regie(payment.regie_id)
    given = sorted(set(days))
    held = given or [today]
    numbering, number = numbering.next(payment.regie_id, today.year, Series.CREDIT_NOTE)
    reference = payment.reference or payment.number
    text = template.format(amount=payment.amount.format(), reference=reference)
    line = InvoiceLine(
        "",
        "",
        f"Paiement {reference} reçu sans réservation",
        code,
        tuple(given),
        quantity=Decimal(1),
        unit_price=-payment.amount.amount,
        total=-payment.amount,
        explanation=f"{text} Cette somme devient l'avoir {number}.",
    )
    note = Invoice(
        number,
        payment.regie_id,
        family.id,
        DocumentKind.CREDIT_NOTE,
        DateRange(held[0], held[-1]),
        today,
        today,
        [line],
    )
    return note, numbering


def _reserved(table: Mapping[str, Money] | None) -> Mapping[str, Money]:
    table = table or {}
    for regie, amount in table.items():
        if not isinstance(amount, Money) or amount.is_negative:
            raise InvalidInput(
                f"the credit reserved at {regie!r} must be a positive amount, got {amount!r}",
                code="prepaid.negative_credit",
            )
    return table


def prepaid_credits(
    ledger: BillingLedger, family_id: str, *, reserved: Mapping[str, Money] | None = None
) -> tuple[PrepaidCredit, ...]:
    """The household's unused credit at each régie, for its next prepaid basket: what is left of its credit
    notes there (``documents.remaining``: less what was applied to invoices, used on baskets or refunded),
    less ``reserved`` (credit counted on by baskets still being paid), never below nothing. One per régie
    with credit, by régie."""
    held_back = _reserved(reserved)
    left: dict[str, Money] = {}
    for note, amount in available_credits(ledger, family_id):
        left[note.regie_id] = left.get(note.regie_id, ZERO) + amount
    result = []
    for regie in sorted(left):
        balance = left[regie] - held_back.get(regie, ZERO)
        if balance > ZERO:
            result.append(PrepaidCredit(family_id, regie, balance))
    return tuple(result)


def credit_allocations(
    ledger: BillingLedger, family_id: str, regie_id: str, hold_reference: str, amount: Money
) -> tuple[Allocation, ...]:
    """``amount`` of the household's credit notes at ``regie_id`` used on the prepaid basket named
    ``hold_reference``: allocations from the oldest credit note first, never above what is left of each.

    An allocation the same credit note already has to that basket is returned with the sum (stores keep one
    allocation per credit note and target). More than the credit left is refused (``prepaid.above_credit``),
    nothing allocated.
    """
    if not is_hold_reference(hold_reference):
        raise InvalidInput(
            f"{hold_reference!r} does not name a prepaid basket's hold", code="prepaid.not_a_hold"
        )
    if amount.is_negative:
        raise InvalidInput("a credit is used with a positive amount", code="prepaid.negative_credit")
    result: list[Allocation] = []
    to_use = amount
    for note, left in available_credits(ledger, family_id, regie_id=regie_id):
        if not to_use:
            break
        part = min(left, to_use)
        before = Money.total(
            a.amount
            for a in ledger.allocations
            if a.source == note.number and a.invoice_number == hold_reference
        )
        result.append(Allocation(note.number, hold_reference, before + part))
        to_use -= part
    if to_use:
        raise InvalidInput(
            f"cannot use {amount} of credit at {regie_id!r}: only {amount - to_use} is left",
            message_fr=(
                f"Impossible d'utiliser {amount.format()} d'avoir : il ne reste que "
                f"{(amount - to_use).format()}."
            ),
            code="prepaid.above_credit",
        )
    return tuple(result)


def refund_prepaid_credit(
    credit: PrepaidCredit,
    numbering: Numbering,
    refunded_at: dt.datetime,
    *,
    today: dt.date,
    amount: Money | None = None,
    method: PaymentMethod = PaymentMethod.TRANSFER,
    reference: str = "",
) -> tuple[PrepaidCredit, Numbering, Payment]:
    """Pay back a prepaid credit (all of it, or ``amount``): a negative ``Payment`` in the régie's ``REM``
    series for the year of ``today`` (the commune's date), never more than the credit left."""
    require_aware(refunded_at, "refunded_at")
    amount = credit.balance if amount is None else amount
    if amount <= ZERO:
        raise InvalidInput(
            "nothing to refund",
            message_fr="Remboursement impossible : l'avoir est vide.",
            code="refund.nothing",
        )
    after = credit.used(amount)
    numbering, number = numbering.next(credit.regie_id, today.year, Series.REFUND)
    refund = Payment(number, credit.regie_id, credit.family_id, -amount, refunded_at, method, reference)
    return after, numbering, refund


# -- price preview ------------------------------------------------------------------------------


@attrs.frozen
class PreviewLine:
    """What one basket line will cost, before the basket is validated.

    ``amount`` is positive for a booking (payable now if ``payable_now``, else invoiced at month end),
    negative for the credit a cancellation gives, zero when nothing changes, None when the line is refused
    or goes on the waiting list (nothing to pay). ``items`` are the priced items behind it.
    """

    decision: LineDecision
    amount: Money | None
    payable_now: bool
    items: tuple[PrepaidItem, ...] = attrs.field(converter=_items)
    message_fr: str = ""

    @property
    def line(self) -> BasketLine:
        return self.decision.line

    @property
    def code(self) -> str:
        return self.decision.code


def _preview_lines(items: Iterable[PreviewLine]) -> tuple[PreviewLine, ...]:
    return tuple(items)


@attrs.frozen
class PricePreview:
    """A basket priced before validation: a line per basket line, and the totals a family sees.

    ``credit_used`` is the household's credit (its credit notes left, and what this basket's cancellations
    give back) deducted from the prepaid lines, by régie: what the amount to pay will deduct.
    """

    lines: tuple[PreviewLine, ...] = attrs.field(converter=_preview_lines)
    result: BasketResult
    credit_used: Mapping[str, Money] = attrs.field(factory=dict, converter=_money_by_regie)

    @property
    def prepaid_price(self) -> Money:
        """The prepaid bookings' price, before any credit."""
        return Money.total(
            line.amount for line in self.lines if line.payable_now and line.amount and line.amount > ZERO
        )

    @property
    def credit_deducted(self) -> Money:
        """The credit deducted from the prepaid bookings, all régies together."""
        return Money.total(self.credit_used.values())

    @property
    def to_pay_now(self) -> Money:
        """What the family will be asked to pay online on validating: the prepaid price less its credit."""
        return self.prepaid_price - self.credit_deducted

    @property
    def invoiced_later(self) -> Money:
        """The month-end bookings' price, to appear on the next invoice."""
        return Money.total(
            line.amount for line in self.lines if not line.payable_now and line.amount and line.amount > ZERO
        )

    @property
    def credit(self) -> Money:
        """What cancelled prepaid bookings give back."""
        return -Money.total(
            line.amount for line in self.lines if line.amount is not None and line.amount.is_negative
        )

    @property
    def credit_message_fr(self) -> str:
        """``Avoir de 12,00 € déduit : 48,00 € à payer en ligne.`` (empty when no credit is deducted)."""
        if not self.credit_deducted:
            return ""
        rest = f"{self.to_pay_now.format()} à payer en ligne" if self.to_pay_now else "rien à payer en ligne"
        return f"Avoir de {self.credit_deducted.format()} déduit : {rest}."

    def explain(self, lang: Lang = "fr") -> str:
        texts = [line.message_fr for line in self.lines]
        if self.credit_message_fr:
            texts.append(self.credit_message_fr)
        return "\n".join(texts)


def price_preview(
    context: BasketContext,
    lines: Sequence[BasketLine],
    now: dt.datetime,
    *,
    bookings: Mapping[BookingKey, Booking] | Iterable[Booking] = (),
    ledgers: Mapping[str, PlaceLedger] | None = None,
    credits: Iterable[PrepaidCredit] = (),
) -> PricePreview:
    """What a basket will cost, line by line, before the family validates it.

    The basket is evaluated as ``evaluate_basket`` would (nothing is recorded), and each accepted booking is
    priced by the same path as the amount to pay and the invoices (``price_quote``, late surcharges as
    their own part); a prepaid cancellation shows the credit it gives (what was paid for it). The
    household's ``credits`` and the credit its cancellations give are deducted from the prepaid lines of
    the same régie, as ``amount_to_pay`` will deduct them.
    """
    before = dict(bookings) if isinstance(bookings, Mapping) else {b.key: b for b in bookings}
    balance = _credit_by_regie(context.family.id, credits)
    result = evaluate_basket(context, lines, now, bookings=before, ledgers=ledgers)
    pricer = _Pricer(context.commune, context.family, context.children.values())
    added = {b.key: b for b in result.added}
    preview: list[PreviewLine] = []
    gross: dict[str, Money] = {}
    for decision in result.decisions:
        line = decision.line
        keys = [(line.child_id, line.prestation_id, day) for day in decision.days]
        prestation_mode = _mode(context.commune, line.prestation_id)
        prepaid = prestation_mode is PaymentMode.PREPAID
        if decision.is_refused or decision.outcome is Outcome.WAITING_LIST:
            preview.append(PreviewLine(decision, None, prepaid, (), decision.message_fr))
        elif line.action is Action.BOOK:
            booked = [
                added[key] for key in keys if key in added and added[key].status is not BookingStatus.WAITING
            ]
            items = pricer.items(booked) if decision.changed else ()
            amount = Money.total(item.amount for item in items)
            when = "à payer à la réservation" if prepaid else "facturé en fin de mois"
            text = f"{decision.message_fr} {amount.format()} {when}." if items else decision.message_fr
            preview.append(PreviewLine(decision, amount, prepaid, items, text))
            for item in items if prepaid else ():
                gross[item.regie_id] = gross.get(item.regie_id, ZERO) + item.amount
        else:
            paid = Money.total(
                before[key].paid or ZERO for key in keys if key in before and decision.changed and prepaid
            )
            text = decision.message_fr
            if paid and decision.outcome is Outcome.ACCEPTED:
                text = f"{text} Avoir de {paid.format()} (le montant payé)."
                regie = _regie(context.commune, line.prestation_id)
                balance[regie] = balance.get(regie, ZERO) + paid
            else:
                paid = ZERO
            preview.append(PreviewLine(decision, -paid, prepaid, (), text))
    return PricePreview(preview, result, _deducted(gross, balance))


def _regie(commune: Commune, prestation_id: str) -> str:
    return commune.service(commune.prestation(prestation_id).service_id).regie_id


def _mode(commune: Commune, prestation_id: str) -> PaymentMode | None:
    try:
        return commune.prestation(prestation_id).payment_mode
    except LookupError:
        return None
