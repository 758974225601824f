"""The one pricing path: what a prestation costs a family on a date, and why, in French.

Invoices, prepaid baskets and price previews all call ``price_quote``: given the commune's
``TariffBook``, a prestation, a date, the ``FamilyFacts`` prices depend on and a quantity (days, blocks,
or minutes for hourly units), it returns a ``PriceQuote`` with the exact unit price, the line total
rounded by the commune's ``RoundingPolicy``, and an explanation with stable codes and a sentence a
parent understands ("Tranche QF 651 à 1 000 € : 3,20 € le repas ; 2e enfant −10 %."). Surcharges
are separate lines, priced by ``price_surcharge``; so is the supplement of a late booking accepted at an
exceptional tariff (``price_exceptional_tariff``). Which QF applies on a date (never backdated, by the
price list's ``qf_change``) is ``model.Family.quotient_on``.

Pricing is cheap by design (month-end billing prices millions of booking-days): the tariffs are
looked up in tables precomputed per price list, and the French sentences are only written when read.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Hashable, Iterable
from decimal import Decimal
from fractions import Fraction
from typing import Final, cast

import attrs

from espacefamille.billing.tariffs import (
    AttendanceEffects,
    FixedSurcharge,
    MultiplierSurcharge,
    PercentSurcharge,
    PrestationTariff,
    PriceList,
    PriceUnit,
    SurchargeKind,
    SurchargeRule,
    TariffBook,
    clause_text,
    fr_euros,
    fr_number,
    fr_percent,
    status_text,
)
from espacefamille.calendar.periods import DateRange
from espacefamille.errors import InvalidInput, MissingData
from espacefamille.model import Residence
from espacefamille.money import Money, RoundingPoint, RoundingPolicy, to_decimal
from espacefamille.rules.policies import AfterDeadlinePolicy, LatePlan, late_booking_policy_kind
from espacefamille.text import format_duration

__all__ = [
    "ExplanationStep",
    "FamilyFacts",
    "LatePlan",
    "PriceExplanation",
    "PriceQuote",
    "SurchargeQuote",
    "late_plan",
    "price_exceptional_tariff",
    "price_quote",
    "price_surcharge",
    "situation_key",
]

_DEFAULT_ROUNDING: Final = RoundingPolicy()
_MEMO_SIZE: Final = 50_000


def _quotient(value: Decimal | int | str | None) -> Decimal | None:
    if value is None:
        return None
    quotient = to_decimal(value, what="quotient familial")
    if quotient < 0:
        raise InvalidInput(
            f"a quotient familial cannot be negative, got {quotient}",
            message_fr=f"Un quotient familial ne peut pas être négatif ({quotient}).",
            code="tariff.negative_quotient",
        )
    return quotient


def _count(name: str, value: object, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise InvalidInput(f"{name} must be an int >= {minimum}, got {value!r}", code="tariff.bad_count")


@attrs.frozen
class FamilyFacts:
    """What prices depend on: the QF in force (None when unknown — 0 is a real QF), residence, PAI, and
    the child's rank among the family's ``children`` (for sibling reductions and prices by family size).

    For price grids: ``rank_in_service``, the child's rank among the household's children enrolled in the
    service (None: its household rank; never above it), ``age`` in whole years on the first day of
    the price list, ``school_level`` (a ``model.SchoolClass`` value such as ``"CP"``).

    ``Family.quotient_on`` gives the QF to use on a date, under the price list's ``qf_change``.
    """

    quotient: Decimal | None = attrs.field(default=None, converter=_quotient)
    residence: Residence = Residence.RESIDENT
    pai: bool = False
    child_rank: int = 1
    children: int = 1
    rank_in_service: int | None = None
    age: int | None = None
    school_level: str | None = None

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.residence, Residence):
            raise InvalidInput(f"expected a Residence, got {self.residence!r}", code="tariff.residence")
        if not isinstance(self.pai, bool):
            raise InvalidInput(f"pai must be true or false, got {self.pai!r}", code="tariff.pai")
        _count("child_rank", self.child_rank, 1)
        _count("children", self.children, 1)
        if self.rank_in_service is not None:
            _count("rank_in_service", self.rank_in_service, 1)
        if self.service_rank > self.child_rank:
            raise InvalidInput(
                f"service rank {self.service_rank} is above the household rank {self.child_rank}",
                code="tariff.rank_above_children",
            )
        if self.age is not None:
            _count("age", self.age, 0)
        if self.school_level is not None and not isinstance(self.school_level, str):
            raise InvalidInput(
                f"school_level must be a class, got {self.school_level!r}", code="tariff.level"
            )
        if self.child_rank > self.children:
            raise InvalidInput(
                f"child rank {self.child_rank} is above the number of children {self.children}",
                code="tariff.rank_above_children",
            )

    @property
    def service_rank(self) -> int:
        """The child's rank among the household's children enrolled in the service (``rank_in_service``,
        or its household rank when not given)."""
        return self.child_rank if self.rank_in_service is None else self.rank_in_service

    @property
    def resident(self) -> bool:
        """Whether the family lives in the commune (``billing.tariffs.Situation``)."""
        return self.residence is Residence.RESIDENT


# -- explanations -----------------------------------------------------------------------------


@attrs.frozen
class ExplanationStep:
    """One reason behind a price: a stable ``code`` and the ``values`` its French clause is written from."""

    code: str
    values: tuple[object, ...] = ()

    @property
    def message_fr(self) -> str:
        """The clause in French (``tranche QF 651 à 1 000 € : 3,20 € le repas``)."""
        render = _RENDERERS.get(self.code)
        # A criterion's or an attendance effect's clause is written by its class (billing.tariffs).
        return clause_text(self.code, self.values) if render is None else render(*self.values)


def _steps(items: Iterable[ExplanationStep]) -> tuple[ExplanationStep, ...]:
    return tuple(items)


@attrs.frozen
class PriceExplanation:
    """Which price list, which band or formula, which reduction: codes for programs, French for families."""

    price_list: str
    validity: DateRange
    steps: tuple[ExplanationStep, ...] = attrs.field(converter=_steps)

    @property
    def code(self) -> str:
        """The code of the first, deciding step (``tariff.qf_band``, ``tariff.effort_rate``…)."""
        return self.steps[0].code

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(step.code for step in self.steps)

    @property
    def message_fr(self) -> str:
        """One sentence: ``Tranche QF 651 à 1 000 € : 3,20 € le repas ; 2e enfant −10 %.``"""
        text = " ; ".join(step.message_fr for step in self.steps)
        return text[:1].upper() + text[1:] + "."


@attrs.frozen
class PriceQuote:
    """The price of a quantity of one prestation on one date for one family.

    ``quantity`` is as given: a number of days, half days or blocks, or minutes for hourly and
    half-hourly units. ``billed_units`` is the exact number of price units billed (65 minutes at an
    hourly price are 13/12 of an hour; with ``count_started``, 3 started half hours). ``unit_price``
    is exact, before rounding; ``total`` is rounded by the commune's policy, on the unit price (then
    multiplied) or on the line. ``status`` is the attendance status priced, if any.
    """

    prestation_id: str
    day: dt.date
    unit: PriceUnit
    quantity: int
    billed_units: Fraction
    unit_price: Decimal
    rounded_unit_price: Money
    total: Money
    explanation: PriceExplanation
    status: str | None = None
    rounding: RoundingPolicy = attrs.field(default=_DEFAULT_ROUNDING, repr=False)

    @property
    def code(self) -> str:
        return self.explanation.code

    @property
    def message_fr(self) -> str:
        return self.explanation.message_fr

    @property
    def occurrences(self) -> int:
        """How many attendances the quote covers: its days or blocks, or one timed attendance."""
        return min(self.quantity, 1) if self.unit.is_timed else self.quantity


@attrs.frozen
class SurchargeQuote:
    """A surcharge (late booking, presence without booking) as a line of its own.

    ``occurrences`` of the priced quote were surcharged unless ``tolerated`` (the first days of the
    school year up to the tariff's tolerance). A fixed surcharge is ``per_occurrence`` (its
    ``billed_units`` are occurrences); a percent or multiplier surcharge bills the quote's units at
    ``unit_price``, a share of the quote's unit price.
    """

    kind: SurchargeKind
    prestation_id: str
    day: dt.date
    occurrences: int
    tolerated: int
    per_occurrence: bool
    billed_units: Fraction
    unit_price: Decimal
    total: Money
    explanation: PriceExplanation

    @property
    def code(self) -> str:
        return self.explanation.code

    @property
    def message_fr(self) -> str:
        return self.explanation.message_fr


# -- the pricing path -------------------------------------------------------------------------


def _check_day(day: object) -> None:
    if not isinstance(day, dt.date) or isinstance(day, dt.datetime):
        raise InvalidInput(f"expected a date, got {day!r}", code="input.not_a_date")


@functools.lru_cache(maxsize=4096)
def _fraction(numerator: int, denominator: int) -> Fraction:
    return Fraction(numerator, denominator)


def _line_total(
    unit_price: Decimal, rounded_unit_price: Money, billed: Fraction, rounding: RoundingPolicy
) -> Money:
    """The line total as ``RoundingPolicy.line_total`` has it, for whole or fractional units."""
    numerator, denominator = billed.numerator, billed.denominator
    if rounding.point is RoundingPoint.UNIT_PRICE:
        if denominator == 1:
            return rounded_unit_price * numerator
        base = rounded_unit_price.amount
    else:
        base = unit_price
    # Minutes: multiply first, divide last, so 65 minutes are exactly 65/60 of the hourly price.
    return rounding.round(base * numerator if denominator == 1 else base * numerator / denominator)


class _Priced:
    """A unit price worked out once for a price list, a prestation, a family situation and a status,
    with its rounding (a commune's one policy: another policy works it out again)."""

    __slots__ = ("explanation", "per_occurrence", "price_steps", "rounded", "rounding", "unit_price")

    def __init__(
        self,
        unit_price: Decimal,
        explanation: PriceExplanation,
        price_steps: int,
        per_occurrence: bool,
        rounding: RoundingPolicy,
    ) -> None:
        self.unit_price = unit_price
        self.explanation = explanation
        self.price_steps = price_steps  # where a started-units step goes, after the price's own steps
        self.per_occurrence = per_occurrence
        self.rounding = rounding
        self.rounded = rounding.round(unit_price)


def situation_key(tariff: PrestationTariff, facts: FamilyFacts) -> Hashable:
    """What decides a quote of ``tariff`` besides the status and the quantity, as a small key.

    It is what each of the tariff's criteria reads of the family (``PrestationTariff.situation``: the QF
    band, or the QF itself under a taux d'effort; residence, PAI, the child's rank and the family's size
    only where the tariff looks at them), and the price is worked out from that key alone: two families
    with equal keys get the same unit price and explanation from one price list, so callers pricing many
    families may share their work.
    """
    return tariff.situation(facts)


def _work_out(
    price_list: PriceList,
    tariff: PrestationTariff,
    effects: AttendanceEffects,
    seen: tuple[Hashable, ...],
    status: str | None,
    *,
    rounding: RoundingPolicy,
) -> _Priced:
    """The price of a situation key (never of the family's facts themselves: the key is all it reads)."""
    unit_price, clauses = tariff.price_of(seen, rounding)
    steps = [ExplanationStep(code, values) for code, values in clauses]
    price_steps = len(steps)
    per_occurrence = False
    if status is not None:
        effect = effects.get(status)
        if effect is None:
            raise MissingData(
                f"price list {price_list.label!r} has no attendance effect for status {status!r}",
                message_fr=f"La grille {price_list.label} ne dit pas comment facturer « {status} ».",
                code="tariff.no_attendance_effect",
                details={"status": status, "prestation": tariff.prestation_id},
            )
        unit_price = effect.billed(unit_price)
        per_occurrence = effect.per_occurrence
        # A commune's reason is said in the list's own words (``[tariffs.reasons]``), else by its code.
        clause = effect.clause(price_list.reasons.get(status, status))
        if clause is not None:
            steps.append(ExplanationStep(*clause))
    explanation = PriceExplanation(price_list.label, price_list.validity, steps)
    return _Priced(unit_price, explanation, price_steps, per_occurrence, rounding)


def price_quote(
    book: TariffBook,
    prestation_id: str,
    day: dt.date,
    facts: FamilyFacts,
    quantity: int = 1,
    *,
    rounding: RoundingPolicy = _DEFAULT_ROUNDING,
    status: str | None = None,
) -> PriceQuote:
    """The price of ``quantity`` of a prestation on ``day`` for a family, with its explanation.

    ``quantity`` counts days, half days or blocks, or minutes for hour and half-hour units (1 h 05 is
    65). With ``status`` (an attendance status or absence reason such as ``"absent_justified"``), the
    price list's effect for it applies: full price, nothing, a fixed amount per attendance or a
    percentage of the price (negative: a credit). Raises ``MissingData`` when no price list covers
    ``day`` ("tariff.no_price_list"), when it does not price the prestation ("tariff.no_price"), or
    when it has no effect for the status ("tariff.no_attendance_effect"); never a silent zero.
    """
    _check_day(day)
    _count("quantity", quantity, 0)
    if not isinstance(facts, FamilyFacts):
        raise InvalidInput(f"expected FamilyFacts, got {type(facts).__name__}", code="tariff.facts")
    price_list, tariff, effects = book.priced_on(prestation_id, day)
    # A band, a reduction or a QF's taux d'effort is worked out once per price list, not per line.
    seen = tariff.situation(facts)
    key = (prestation_id, seen, status)
    memo = price_list.memo
    priced = cast(_Priced | None, memo.get(key))
    if priced is None or (priced.rounding is not rounding and priced.rounding != rounding):
        if len(memo) >= _MEMO_SIZE:
            memo.clear()  # one entry per QF under a taux d'effort: keep the memory bounded
        priced = memo[key] = _work_out(price_list, tariff, effects, seen, status, rounding=rounding)
    unit = tariff.unit
    minutes = unit.minutes
    explanation = priced.explanation
    if minutes is None:
        billed = _fraction(quantity, 1)
    elif priced.per_occurrence:
        billed = _fraction(min(quantity, 1), 1)
    elif tariff.count_started:
        started = -(-quantity // minutes)
        billed = _fraction(started, 1)
        steps = list(explanation.steps)
        steps.insert(priced.price_steps, ExplanationStep("tariff.started_units", (quantity, started, unit)))
        explanation = PriceExplanation(explanation.price_list, explanation.validity, steps)
    else:
        billed = _fraction(quantity, minutes)
    rounded = priced.rounded
    return PriceQuote(
        prestation_id=prestation_id,
        day=day,
        unit=unit,
        quantity=quantity,
        billed_units=billed,
        unit_price=priced.unit_price,
        rounded_unit_price=rounded,
        total=_line_total(priced.unit_price, rounded, billed, rounding),
        explanation=explanation,
        status=status,
        rounding=rounding,
    )


def price_surcharge(
    book: TariffBook,
    quote: PriceQuote,
    kind: SurchargeKind,
    *,
    earlier_occurrences: int = 0,
    rule: SurchargeRule | None = None,
) -> SurchargeQuote | None:
    """The surcharge line for a priced attendance that was booked late or not booked at all.

    ``earlier_occurrences`` counts the family's earlier such days for this child and prestation in the
    same school year: the rule's tolerance forgives the first ones. A late booking's rule is the one
    given (the booking rule's ``after_deadline`` surcharge, which accepted the booking); presence without
    booking takes the tariff's ``unbooked_presence`` unless one is given. None when there is no rule. A
    percentage or a multiplier applies to the quote's unit price, rounded like the quote.
    """
    _count("earlier_occurrences", earlier_occurrences, 0)
    _, tariff, _ = book.priced_on(quote.prestation_id, quote.day)
    if rule is None:
        rule = tariff.surcharge(kind)
    if rule is None:
        return None
    occurrences = quote.occurrences
    tolerated = min(occurrences, max(0, rule.tolerance - earlier_occurrences))
    charged = occurrences - tolerated
    if isinstance(rule, FixedSurcharge):
        per = "par accueil" if quote.unit.is_timed else tariff.label
        step = ExplanationStep("tariff.surcharge_fixed", (kind, rule.amount, per))
        unit_price = rule.amount.amount
        billed = Fraction(charged)
        total = rule.amount * charged
    else:
        if isinstance(rule, PercentSurcharge):
            step = ExplanationStep("tariff.surcharge_percent", (kind, rule.percent))
        else:
            assert isinstance(rule, MultiplierSurcharge)
            step = ExplanationStep("tariff.surcharge_multiplier", (kind, rule.multiplier))
        unit_price = quote.unit_price * rule.factor
        billed = quote.billed_units * charged / occurrences if occurrences else Fraction(0)
        total = _line_total(unit_price, quote.rounding.round(unit_price), billed, quote.rounding)
    if not tolerated:
        steps = [step]
    elif charged:
        steps = [step, ExplanationStep("tariff.surcharge_partly_tolerated", (tolerated, rule.tolerance))]
    else:
        steps = [ExplanationStep("tariff.surcharge_tolerated", (kind, rule.tolerance))]
    return SurchargeQuote(
        kind=kind,
        prestation_id=quote.prestation_id,
        day=quote.day,
        occurrences=occurrences,
        tolerated=tolerated,
        per_occurrence=isinstance(rule, FixedSurcharge),
        billed_units=billed,
        unit_price=unit_price,
        total=total,
        explanation=PriceExplanation(quote.explanation.price_list, quote.explanation.validity, steps),
    )


def late_plan(policy: AfterDeadlinePolicy | None, code: str) -> LatePlan | None:
    """The plan for a late booking stamped ``code`` under the prestation's current ``policy``.

    The code's own policy kind wins when it tells one (``rules.policies.LATE_BOOKING_CODES``): a booking
    confirmed from the waiting list is an ordinary booking; one accepted under a kind of policy the
    commune no longer has is billed nothing more (its rate is not known any more, and a family is never
    billed a supplement under a rule it was not told). A code that does not tell (imported data) follows
    the current policy. What a policy bills is the policy's own (``AfterDeadlinePolicy.late_booking_plan``).
    """
    kind = late_booking_policy_kind(code)
    if kind is not None and not kind.bills_late_bookings:
        return None  # confirmed from the waiting list: the usual price, nothing more
    if policy is not None and (kind is None or isinstance(policy, kind)):
        plan = policy.late_booking_plan()
        if plan is not None:
            return plan
    return LatePlan(accepted_by=None if kind is None else kind.invoice_name)


def price_exceptional_tariff(book: TariffBook, quote: PriceQuote, unit_price: Money) -> SurchargeQuote | None:
    """The supplement of a booking accepted after its deadline at an exceptional tariff, as a line of its own.

    Such a booking costs ``unit_price`` (``rules.policies.ExceptionalTariff``) instead of the tariff's
    price. ``quote`` keeps the usual price, on its usual line; the supplement bills the rest: the quote's
    units at the exceptional price, rounded like the quote, minus the quote's total — so both lines add
    up exactly to what the price preview announced. The attendance effect of the quote's status applies
    to the exceptional price as to the usual one: its percentage, nothing for a day billed nothing, and a
    fixed amount whatever the price (nothing to add). None when there is nothing to add. The supplement
    is negative when the exceptional tariff is below the family's usual price (the family pays the
    exceptional tariff, as announced).
    """
    if not isinstance(unit_price, Money) or unit_price.is_negative:
        raise InvalidInput(
            f"an exceptional tariff must be an amount of at least 0 €, got {unit_price!r}",
            message_fr="Le tarif exceptionnel doit être un montant positif.",
            code="deadline.exceptional_tariff",
        )
    _, tariff, effects = book.priced_on(quote.prestation_id, quote.day)
    exceptional = unit_price.amount
    status = quote.status
    effect = None if status is None else effects.get(status)
    percent: Decimal | None = None
    if effect is not None:
        if not effect.follows_price:
            return None  # the day costs nothing, or the same fixed amount whatever the price
        exceptional = effect.billed(exceptional)
        percent = effect.share()
    rounding = quote.rounding
    billed = quote.billed_units
    total = _line_total(exceptional, rounding.round(exceptional), billed, rounding) - quote.total
    if not total:
        return None
    difference = exceptional - quote.unit_price
    step = ExplanationStep(
        "tariff.exceptional_tariff",
        (exceptional, quote.unit_price, difference, tariff.label, status, percent),
    )
    return SurchargeQuote(
        kind=SurchargeKind.LATE_BOOKING,
        prestation_id=quote.prestation_id,
        day=quote.day,
        occurrences=quote.occurrences,
        tolerated=0,
        per_occurrence=False,
        billed_units=billed,
        unit_price=difference,
        total=total,
        explanation=PriceExplanation(quote.explanation.price_list, quote.explanation.validity, [step]),
    )


# -- French wording ---------------------------------------------------------------------------


def _started(minutes: int, units: int, unit: PriceUnit) -> str:
    noun = "heure" if unit is PriceUnit.HOUR else "demi-heure"
    plural = "s" if units > 1 else ""
    return f"{format_duration(minutes)} : {units} {noun}{plural} entamée{plural}"


def _partly_tolerated(tolerated: int, tolerance: int) -> str:
    plural = "s" if tolerated > 1 else ""
    return f"{tolerated} jour{plural} toléré{plural} sans majoration ({tolerance} par année scolaire)"


def _exceptional(
    exceptional: Decimal,
    usual: Decimal,
    difference: Decimal,
    label: str,
    status: object,
    percent: Decimal | None,
) -> str:
    rule = "tarif exceptionnel pour une réservation après le délai"
    if percent is not None:
        rule = f"{rule} ({status_text(status)} : {fr_percent(percent)} du prix)"
    more = "de plus" if difference >= 0 else "de moins"
    return (
        f"{rule} : {fr_euros(exceptional)} {label} au lieu de {fr_euros(usual)}, "
        f"soit {fr_euros(abs(difference))} {more}"
    )


def _late_not_billed(policy: str | None) -> str:
    rule = "la règle qui a accepté cette réservation"
    if policy is not None:
        rule = f"{rule} ({policy})"
    return f"aucun supplément facturé : {rule} ne s'applique plus à cette prestation"


# The clauses of the tariff criteria and the attendance effects are their classes' (billing.tariffs).
_RENDERERS: Final[dict[str, Callable[..., str]]] = {
    "tariff.started_units": _started,
    "tariff.surcharge_fixed": lambda kind, amount, per: (
        f"majoration pour {kind.label} : {fr_euros(amount)} {per}"
    ),
    "tariff.surcharge_percent": lambda kind, percent: (
        f"majoration pour {kind.label} : +{fr_percent(percent)} du prix"
    ),
    "tariff.surcharge_multiplier": lambda kind, multiplier: (
        f"majoration pour {kind.label} : prix × {fr_number(multiplier)}"
    ),
    "tariff.surcharge_tolerated": lambda kind, tolerance: (
        f"{kind.label} tolérée, sans majoration ({tolerance} par année scolaire)"
    ),
    "tariff.surcharge_partly_tolerated": _partly_tolerated,
    "tariff.exceptional_tariff": _exceptional,
    "tariff.late_booking_not_billed": _late_not_billed,
}
