"""Basket evaluation: a family's pending bookings and cancellations, judged at once, one decision per line.

A *panier* holds lines — book or cancel, for a child, a prestation and a date — across several children
and prestations. ``evaluate_basket`` judges every line against, in this order:

1. the child (one of the family's) and the prestation (one of the commune's);
2. the enrolment: the child is enrolled by this household in the prestation's service on that date;
3. the opening calendar (closed days are refused with their reason);
4. what is already booked: booking a booked date or cancelling a cancelled one changes nothing;
5. the prestation's conditions: class or age, prerequisites (a meal needs the midday care), exclusions
   (a full day and a half day on one date);
6. the commune's unpaid-invoices policy (never for the canteen; a booking let through only by the régie's
   exemption says so in its message);
7. the booking or cancellation deadlines (``rules.policies``), with the after-deadline policy;
8. the places (``rules.capacity``): granted, or a waiting-list position the family learns at once.

Cancellations are judged before bookings, so that swapping a half day for a full day in one basket works.
A ``BLOCK`` prestation (a holiday week) is booked whole: a line for any of its dates books all its open
days, or none. Lines are independent unless the commune makes baskets all-or-nothing.

Everything is pure: the current bookings and place ledgers come in, the new ones go out with the decisions.

Why one module of some 850 lines: a basket's judgement is one pass over its lines that shares the place
ledgers, the period expansion and the all-or-nothing rule; the pieces only make sense together and
are tested together (docs/baskets.md).
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import attrs

from espacefamille._internal.validators import plain_date
from espacefamille.calendar.opening import Closure, OpeningCalendar, OpeningDay
from espacefamille.calendar.periods import DateRange, Weekday
from espacefamille.calendar.recurrence import weekly_dates
from espacefamille.calendar.timezones import require_aware, utc_instant
from espacefamille.commune import Commune
from espacefamille.errors import InvalidInput
from espacefamille.model import (
    Booking,
    BookingStatus,
    Child,
    Enrolment,
    Family,
    PaymentMode,
    Prestation,
    PrestationKind,
)
from espacefamille.rules.capacity import PlaceLedger, PlaceRequest, Promotion
from espacefamille.rules.conditions import BookingConditions, conditions_from_dict, conditions_to_dict
from espacefamille.rules.deadlines import DeadlineContext
from espacefamille.rules.policies import (
    AfterDeadlinePolicy,
    DeadlineDecision,
    DeadlineOutcome,
    judge_booking,
    judge_cancellation,
)
from espacefamille.rules.unpaid import Debt, UnpaidDecision, UnpaidExemption, judge_unpaid
from espacefamille.text import Lang, format_date

__all__ = [
    "Action",
    "BasketContext",
    "BasketLine",
    "BasketResult",
    "BookingConditions",
    "LineDecision",
    "Outcome",
    "PeriodExpansion",
    "apply_promotions",
    "conditions_from_dict",
    "conditions_to_dict",
    "evaluate_basket",
    "period_lines",
    "typical_week_lines",
]

BookingKey = tuple[str, str, dt.date]


class Action(enum.Enum):
    BOOK = "book"
    CANCEL = "cancel"


class Outcome(enum.Enum):
    """What becomes of a basket line."""

    ACCEPTED = "accepted"
    ACCEPTED_WITH_SURCHARGE = "accepted_with_surcharge"
    EXCEPTIONAL_TARIFF = "exceptional_tariff"
    WAITING_LIST = "waiting_list"
    REFUSED = "refused"


_FROM_DEADLINE = {
    DeadlineOutcome.ACCEPTED: Outcome.ACCEPTED,
    DeadlineOutcome.ACCEPTED_WITH_SURCHARGE: Outcome.ACCEPTED_WITH_SURCHARGE,
    DeadlineOutcome.EXCEPTIONAL_TARIFF: Outcome.EXCEPTIONAL_TARIFF,
    DeadlineOutcome.WAITING_LIST: Outcome.WAITING_LIST,
    DeadlineOutcome.REFUSED: Outcome.REFUSED,
}


@attrs.frozen
class BasketLine:
    """One pending change: book or cancel ``prestation_id`` for ``child_id`` on ``day``."""

    action: Action = attrs.field(validator=attrs.validators.instance_of(Action))
    child_id: str
    prestation_id: str
    day: dt.date = attrs.field(validator=plain_date)

    @property
    def key(self) -> BookingKey:
        return (self.child_id, self.prestation_id, self.day)


@attrs.frozen
class LineDecision:
    """The answer for one line: an outcome, a stable code, and sentences for the family.

    ``days`` are the dates the decision covers (several for a block); ``deadline`` the instant that
    applied, when a deadline was judged; ``policy`` the after-deadline policy applied to a late line;
    ``position`` the waiting-list position; ``changed`` is False when the line changed nothing (already
    booked, already cancelled, or refused). ``unpaid`` is the unpaid-invoices verdict behind a booking that
    goes through only thanks to the régie's exemption (code ``unpaid.exempt``): its sentence ends the line's
    messages, so the family knows until when, and that the invoices are still to pay.
    """

    line: BasketLine
    outcome: Outcome
    code: str
    message_fr: str
    message: str
    days: tuple[dt.date, ...] = ()
    deadline: dt.datetime | None = None
    policy: AfterDeadlinePolicy | None = None
    position: int | None = None
    changed: bool = False
    unpaid: UnpaidDecision | None = None

    @property
    def is_refused(self) -> bool:
        return self.outcome is Outcome.REFUSED

    def explain(self, lang: Lang = "fr") -> str:
        return self.message_fr if lang == "fr" else self.message


# -- context and result ---------------------------------------------------------------------


def _children(items: Mapping[str, Child] | Iterable[Child]) -> Mapping[str, Child]:
    if isinstance(items, Mapping):
        return dict(items)
    return {child.id: child for child in items}


def _enrolments(items: Iterable[Enrolment]) -> tuple[Enrolment, ...]:
    return tuple(items)


def _closures(items: Mapping[str, Iterable[Closure]]) -> Mapping[str, tuple[Closure, ...]]:
    # A flat list would close every prestation of the basket (a canteen strike closing the morning
    # care): refuse it rather than guess which service it was declared for.
    if not isinstance(items, Mapping):
        raise InvalidInput(
            f"closures must map a service id to its closures, got {type(items).__name__}",
            code="basket.closures_not_by_service",
        )
    by_service: dict[str, tuple[Closure, ...]] = {}
    for service_id, closures in items.items():
        if not isinstance(service_id, str):
            raise InvalidInput(
                f"closures must be keyed by service id, got {service_id!r}",
                code="basket.closures_not_by_service",
            )
        if isinstance(closures, Closure) or not isinstance(closures, Iterable):
            raise InvalidInput(
                f"closures of service {service_id!r} must be a sequence of Closure, got {closures!r}",
                code="input.not_a_closure",
            )
        declared = tuple(closures)
        for closure in declared:
            if not isinstance(closure, Closure):
                raise InvalidInput(
                    f"closures of service {service_id!r} must be Closure, got {closure!r}",
                    code="input.not_a_closure",
                )
        by_service[service_id] = declared
    return by_service


def _debts(items: Iterable[Debt]) -> tuple[Debt, ...]:
    return tuple(items)


@attrs.frozen
class BasketContext:
    """Who is booking: the commune, the household, its children and enrolments, closures declared since
    configuration, and the household's unpaid debts (with an agent's exemption, if any).

    ``closures`` maps a service id to the closures an agent declared for that service (a strike): they
    close that service's prestations only, as ``UnitOfWork.attendance.closures()`` keeps them.
    """

    commune: Commune
    family: Family
    children: Mapping[str, Child] = attrs.field(converter=_children)
    enrolments: tuple[Enrolment, ...] = attrs.field(converter=_enrolments, default=())
    closures: Mapping[str, tuple[Closure, ...]] = attrs.field(converter=_closures, factory=dict)
    debts: tuple[Debt, ...] = attrs.field(converter=_debts, default=())
    unpaid_exemption: UnpaidExemption | None = None


@attrs.frozen
class BasketResult:
    """The decisions, one per line in the basket's order, and the state after the basket.

    ``bookings`` is the household's bookings after the basket (keyed by child, prestation and date),
    ``ledgers`` the place ledgers after it; ``added`` and ``cancelled`` are the bookings that changed, and
    ``promotions`` the waiting children who got a freed place (to notify their families).
    """

    decisions: tuple[LineDecision, ...]
    bookings: Mapping[BookingKey, Booking]
    ledgers: Mapping[str, PlaceLedger]
    added: tuple[Booking, ...] = ()
    cancelled: tuple[Booking, ...] = ()
    promotions: tuple[tuple[str, Promotion], ...] = ()

    @property
    def refused(self) -> tuple[LineDecision, ...]:
        return tuple(d for d in self.decisions if d.is_refused)


# -- evaluation -----------------------------------------------------------------------------

_MESSAGES: dict[str, tuple[str, str]] = {
    "basket.unknown_child": (
        "{verb} impossible : cet enfant n'est pas rattaché à votre foyer.",
        "{verb_en} not possible: this child is not in your household.",
    ),
    "basket.unknown_prestation": (
        "{verb} impossible : prestation inconnue ({prestation}).",
        "{verb_en} not possible: unknown prestation ({prestation}).",
    ),
    "basket.not_enrolled": (
        "{verb} impossible : {child} n'a pas d'inscription au service « {service} » le {day}.",
        "{verb_en} not possible: {child} is not enrolled in “{service}” on {day_en}.",
    ),
    "basket.already_booked": (
        "Réservation déjà faite : {prestation} du {day} pour {child}, rien n'est changé.",
        "{prestation} on {day_en} is already booked for {child}: nothing changes.",
    ),
    "basket.already_waiting": (
        "{child} est déjà sur liste d'attente pour {prestation} le {day}.",
        "{child} is already on the waiting list for {prestation} on {day_en}.",
    ),
    "basket.already_cancelled": (
        "Pas de réservation à annuler : {prestation} du {day} pour {child}, rien n'est changé.",
        "{prestation} on {day_en} is not booked for {child}: nothing changes.",
    ),
    "basket.condition_class": (
        "Réservation impossible : {prestation} n'accueille que les classes {classes}.",
        "Booking not possible: {prestation} is for classes {classes} only.",
    ),
    "basket.condition_age": (
        "Réservation impossible : {prestation} accueille les enfants de {ages} ; "
        "{child} aura {age} ans le {day}.",
        "Booking not possible: {prestation} is for children aged {ages}; {child} is {age} on {day_en}.",
    ),
    "deadline.started": (
        "{verb} impossible : {prestation} du {day} a déjà commencé.",
        "{verb_en} not possible: {prestation} on {day_en} has already started.",
    ),
    "basket.requires": (
        "Réservation impossible : {prestation} le {day} demande aussi {other}.",
        "Booking not possible: {prestation} on {day_en} also needs {other}.",
    ),
    "basket.excluded": (
        "Réservation impossible : {prestation} et {other} ne peuvent pas être réservés le même jour ({day}).",
        "Booking not possible: {prestation} and {other} cannot both be booked on {day_en}.",
    ),
    "basket.required_by": (
        "Annulation impossible : {other} du {day} a besoin de {prestation} ; annulez-le aussi.",
        "Cancellation not possible: {other} on {day_en} needs {prestation}; cancel it too.",
    ),
    "basket.block_full": (
        "Réservation impossible : {prestation} se réserve en entier et il n'y a plus de place le {day}.",
        "Booking not possible: {prestation} is booked whole and there is no place left on {day_en}.",
    ),
    "basket.all_or_nothing": (
        "Non enregistré : la commune n'accepte un panier que si toutes ses lignes sont acceptées.",
        "Not recorded: the commune accepts a basket only when all its lines are accepted.",
    ),
    "basket.accepted": (
        "Réservation enregistrée : {prestation} pour {child} le {day}.",
        "{prestation} booked for {child} on {day_en}.",
    ),
    "basket.cancelled": (
        "Réservation annulée : {prestation} du {day} pour {child}.",
        "{prestation} on {day_en} cancelled for {child}.",
    ),
}


class _Evaluation:
    """The mutable working state of one basket evaluation (never escapes ``evaluate_basket``)."""

    def __init__(
        self,
        context: BasketContext,
        bookings: Mapping[BookingKey, Booking],
        ledgers: Mapping[str, PlaceLedger],
    ) -> None:
        self.context = context
        self.commune = context.commune
        self.bookings: dict[BookingKey, Booking] = dict(bookings)
        self.ledgers: dict[str, PlaceLedger] = dict(ledgers)
        self.added: dict[BookingKey, Booking] = {}
        self.cancelled: dict[BookingKey, Booking] = {}
        self.promotions: list[tuple[str, Promotion]] = []
        self._openings: dict[str, OpeningCalendar] = {}
        self._deadline_contexts: dict[str, DeadlineContext] = {}
        self._judged: dict[tuple[str, dt.date, Action], DeadlineDecision | None] = {}
        self._open: dict[tuple[str, dt.date], OpeningDay] = {}

    # -- helpers ----------------------------------------------------------------------------

    def opening(self, prestation_id: str) -> OpeningCalendar:
        if prestation_id not in self._openings:
            service_id = self.commune.prestation(prestation_id).service_id
            self._openings[prestation_id] = self.commune.opening_calendar(
                prestation_id, self.context.closures.get(service_id, ())
            )
        return self._openings[prestation_id]

    def deadline_context(self, prestation: Prestation) -> DeadlineContext:
        if prestation.id not in self._deadline_contexts:
            self._deadline_contexts[prestation.id] = DeadlineContext(
                self.commune.calendar,
                prestation,
                self.opening(prestation.id),
                self.context.family.residence.value == "resident",
            )
        return self._deadline_contexts[prestation.id]

    def active(self, key: BookingKey) -> Booking | None:
        booking = self.bookings.get(key)
        return booking if booking is not None and booking.status is not BookingStatus.CANCELLED else None

    def words(self, line: BasketLine, **extra: str) -> dict[str, str]:
        child = self.context.children.get(line.child_id)
        try:
            prestation_name = self.commune.prestation(line.prestation_id).name
        except LookupError:
            prestation_name = line.prestation_id
        verb = ("Réservation", "Booking") if line.action is Action.BOOK else ("Annulation", "Cancellation")
        return {
            "verb": verb[0],
            "verb_en": verb[1],
            "child": child.first_name if child is not None else line.child_id,
            "prestation": prestation_name,
            "day": format_date(line.day),
            "day_en": format_date(line.day, "en"),
            **extra,
        }

    def decide(
        self, line: BasketLine, outcome: Outcome, code: str, days: Sequence[dt.date] = (), **extra: Any
    ) -> LineDecision:
        words = self.words(line, **{k: str(v) for k, v in extra.pop("words", {}).items()})
        fr, en = _MESSAGES[code]
        return LineDecision(
            line, outcome, code, fr.format(**words), en.format(**words), tuple(days) or (line.day,), **extra
        )

    def enrolled(self, line: BasketLine, prestation: Prestation) -> bool:
        family_id = self.context.family.id
        return any(
            e.child_id == line.child_id
            and e.family_id == family_id
            and e.service_id == prestation.service_id
            and e.validated
            and line.day in e.period
            for e in self.context.enrolments
        )

    def block_days(self, prestation: Prestation, day: dt.date) -> list[dt.date]:
        span = next((b for b in prestation.blocks if day in b), None)
        if span is None:
            monday = day - dt.timedelta(days=day.weekday())
            span = DateRange(monday, monday + dt.timedelta(days=6))
        return self.opening(prestation.id).open_days(span)

    # -- the checks shared by booking and cancelling ----------------------------------------

    def common_checks(self, line: BasketLine) -> tuple[LineDecision | None, Prestation | None, Child | None]:
        child = self.context.children.get(line.child_id)
        if child is None or self.context.family.id not in child.family_ids:
            return self.decide(line, Outcome.REFUSED, "basket.unknown_child"), None, None
        try:
            prestation = self.commune.prestation(line.prestation_id)
        except LookupError:
            return self.decide(line, Outcome.REFUSED, "basket.unknown_prestation"), None, None
        if not self.enrolled(line, prestation):
            service = self.commune.service(prestation.service_id).name
            return (
                self.decide(line, Outcome.REFUSED, "basket.not_enrolled", words={"service": service}),
                None,
                None,
            )
        return None, prestation, child

    # -- booking ----------------------------------------------------------------------------

    def book(self, line: BasketLine, now: dt.datetime) -> LineDecision:
        refusal, prestation, child = self.common_checks(line)
        if refusal is not None or prestation is None or child is None:
            assert refusal is not None
            return refusal
        opening_day = self._open.get((prestation.id, line.day))
        if opening_day is None:
            opening_day = self._open[prestation.id, line.day] = self.opening(prestation.id).day(line.day)
        if not opening_day.is_open:
            return LineDecision(
                line,
                Outcome.REFUSED,
                opening_day.code,
                f"Réservation impossible le {format_date(line.day)}. {opening_day.explain()}",
                f"Booking not possible on {format_date(line.day, 'en')}. {opening_day.explain('en')}",
                (line.day,),
            )
        days = (
            self.block_days(prestation, line.day) if prestation.kind is PrestationKind.BLOCK else [line.day]
        )
        existing = self.active((line.child_id, prestation.id, days[0]))
        if existing is not None:
            code = (
                "basket.already_waiting"
                if existing.status is BookingStatus.WAITING
                else "basket.already_booked"
            )
            outcome = Outcome.WAITING_LIST if existing.status is BookingStatus.WAITING else Outcome.ACCEPTED
            return self.decide(line, outcome, code, days)
        refusal = self.check_conditions(line, prestation, child)
        if refusal is not None:
            return refusal
        verdict = self.check_unpaid(prestation, now)
        if verdict is not None and verdict.is_blocked:
            return LineDecision(
                line, Outcome.REFUSED, verdict.code, verdict.message_fr, verdict.message, (line.day,)
            )
        decision = self.book_in_time(line, prestation, child, days, now)
        if verdict is None or verdict.code != "unpaid.exempt" or decision.is_refused:
            return decision
        # Without the régie's exemption this booking would have been refused: the family must hear that it
        # holds only until the exemption ends, and that the invoices are still due.
        return attrs.evolve(
            decision,
            message_fr=f"{decision.message_fr} {verdict.message_fr}",
            message=f"{decision.message} {verdict.message}",
            unpaid=verdict,
        )

    def book_in_time(
        self,
        line: BasketLine,
        prestation: Prestation,
        child: Child,
        days: Sequence[dt.date],
        now: dt.datetime,
    ) -> LineDecision:
        judged = self.judge(prestation, days[0], now, Action.BOOK)
        if judged is not None and judged.outcome is DeadlineOutcome.REFUSED:
            return self.from_deadline(line, judged, days)
        if judged is not None and judged.outcome is DeadlineOutcome.WAITING_LIST:
            self.record(line, prestation, days, BookingStatus.WAITING, now, judged)
            return self.from_deadline(line, judged, days, changed=True)
        return self.place(line, prestation, child, days, now, judged)

    def check_conditions(self, line: BasketLine, prestation: Prestation, child: Child) -> LineDecision | None:
        conditions = self.commune.conditions.get(prestation.id)
        if conditions is not None:
            if conditions.classes and child.school_class not in conditions.classes:
                classes = ", ".join(sorted(c.value for c in conditions.classes))
                return self.decide(
                    line, Outcome.REFUSED, "basket.condition_class", words={"classes": classes}
                )
            age = child.age_on(line.day)
            low, high = conditions.min_age, conditions.max_age
            if (low is not None and age < low) or (high is not None and age > high):
                ages = (
                    f"{low if low is not None else 0} à {high} ans"
                    if high is not None
                    else f"{low} ans et plus"
                )
                return self.decide(
                    line, Outcome.REFUSED, "basket.condition_age", words={"ages": ages, "age": age}
                )
            for other in sorted(conditions.requires):
                if self.active((line.child_id, other, line.day)) is None:
                    name = self.commune.prestation(other).name
                    return self.decide(line, Outcome.REFUSED, "basket.requires", words={"other": name})
        for other, other_conditions in self.commune.conditions.items():
            excluded = (conditions is not None and other in conditions.excludes) or (
                prestation.id in other_conditions.excludes
            )
            if excluded and self.active((line.child_id, other, line.day)) is not None:
                name = self.commune.prestation(other).name
                return self.decide(line, Outcome.REFUSED, "basket.excluded", words={"other": name})
        if conditions is not None:
            # An exclusion declared only on this prestation, towards one without conditions.
            for other in sorted(conditions.excludes - set(self.commune.conditions)):
                if self.active((line.child_id, other, line.day)) is not None:
                    name = self.commune.prestation(other).name
                    return self.decide(line, Outcome.REFUSED, "basket.excluded", words={"other": name})
        return None

    def check_unpaid(self, prestation: Prestation, now: dt.datetime) -> UnpaidDecision | None:
        policy = self.commune.unpaid
        if policy is None:
            return None
        service = self.commune.service(prestation.service_id)
        today = self.commune.calendar.today(now)
        return judge_unpaid(policy, self.context.debts, service, today, self.context.unpaid_exemption)

    def judge(
        self, prestation: Prestation, day: dt.date, now: dt.datetime, action: Action
    ) -> DeadlineDecision | None:
        # The same date is judged once for all the children of the household (same rules, same instant).
        key = (prestation.id, day, action)
        if key not in self._judged:
            rules = self.commune.booking_rules.get(prestation.id)
            context = self.deadline_context(prestation)
            if rules is None:
                self._judged[key] = None
            elif action is Action.BOOK:
                self._judged[key] = judge_booking(rules, day, now, context)
            else:
                self._judged[key] = judge_cancellation(rules, day, now, context)
        return self._judged[key]

    def started(self, prestation: Prestation, day: dt.date, now: dt.datetime) -> bool:
        return utc_instant(now) >= self.deadline_context(prestation).start_of(day)

    def from_deadline(
        self, line: BasketLine, judged: DeadlineDecision, days: Sequence[dt.date], changed: bool = False
    ) -> LineDecision:
        return LineDecision(
            line,
            _FROM_DEADLINE[judged.outcome],
            judged.code,
            judged.message_fr,
            judged.message,
            tuple(days),
            deadline=judged.deadline,
            policy=judged.policy,
            changed=changed,
        )

    def place(
        self,
        line: BasketLine,
        prestation: Prestation,
        child: Child,
        days: Sequence[dt.date],
        now: dt.datetime,
        judged: DeadlineDecision | None,
    ) -> LineDecision:
        if judged is None and self.started(prestation, days[0], now):
            return self.decide(line, Outcome.REFUSED, "deadline.started", days)
        capacity = self.commune.capacities.get(prestation.id)
        status = (
            BookingStatus.HELD if prestation.payment_mode is PaymentMode.PREPAID else BookingStatus.BOOKED
        )
        if capacity is not None:
            ledger = self.ledgers.get(prestation.id) or PlaceLedger(capacity)
            group = capacity.group_for(child, days[0]) if capacity.grouped else None
            if len(days) > 1 and any(ledger.free(day, group) == 0 for day in days):
                full = next(day for day in days if ledger.free(day, group) == 0)
                return self.decide(
                    line, Outcome.REFUSED, "basket.block_full", days, words={"day": format_date(full)}
                )
            # A family asking now joins the end of each waiting list (see PlaceLedger.joining_instant).
            joined = max(ledger.joining_instant(day, group, now) for day in days)
            ledger, decisions = ledger.request_many(
                PlaceRequest(line.child_id, day, group, joined) for day in days
            )
            self.ledgers[prestation.id] = ledger
            if not decisions[0].granted:
                self.record(line, prestation, days, BookingStatus.WAITING, joined, judged)
                return LineDecision(
                    line,
                    Outcome.WAITING_LIST,
                    decisions[0].code,
                    decisions[0].message_fr,
                    decisions[0].message,
                    tuple(days),
                    deadline=judged.deadline if judged else None,
                    position=decisions[0].position,
                    changed=True,
                )
        self.record(line, prestation, days, status, now, judged)
        if judged is not None and judged.outcome is not DeadlineOutcome.ACCEPTED:
            return self.from_deadline(line, judged, days, changed=True)
        deadline = judged.deadline if judged is not None else None
        return self.decide(line, Outcome.ACCEPTED, "basket.accepted", days, changed=True, deadline=deadline)

    def record(
        self,
        line: BasketLine,
        prestation: Prestation,
        days: Sequence[dt.date],
        status: BookingStatus,
        now: dt.datetime,
        judged: DeadlineDecision | None,
    ) -> None:
        surcharge = judged.code if judged is not None and judged.policy is not None else None
        for day in days:
            booking = Booking(
                line.child_id,
                prestation.id,
                day,
                self.context.family.id,
                status,
                now,
                surcharge_code=surcharge,
            )
            self.bookings[booking.key] = booking
            self.added[booking.key] = booking
            self.cancelled.pop(booking.key, None)

    # -- cancelling -------------------------------------------------------------------------

    def cancel(self, line: BasketLine, now: dt.datetime) -> LineDecision:
        refusal, prestation, child = self.common_checks(line)
        if refusal is not None or prestation is None or child is None:
            assert refusal is not None
            return refusal
        days = (
            self.block_days(prestation, line.day) if prestation.kind is PrestationKind.BLOCK else [line.day]
        )
        days = [day for day in days if self.active((line.child_id, prestation.id, day)) is not None] or days
        existing = self.active((line.child_id, prestation.id, days[0]))
        if existing is None:
            return self.decide(line, Outcome.ACCEPTED, "basket.already_cancelled", days)
        for other, conditions in self.commune.conditions.items():
            if (
                prestation.id in conditions.requires
                and self.active((line.child_id, other, line.day)) is not None
            ):
                name = self.commune.prestation(other).name
                return self.decide(line, Outcome.REFUSED, "basket.required_by", days, words={"other": name})
        judged = None
        if existing.status is not BookingStatus.WAITING:
            judged = self.judge(prestation, days[0], now, Action.CANCEL)
            if judged is not None and judged.outcome is DeadlineOutcome.REFUSED:
                return self.from_deadline(line, judged, days)
            if judged is None and self.started(prestation, days[0], now):
                return self.decide(line, Outcome.REFUSED, "deadline.started", days)
        ledger = self.ledgers.get(prestation.id)
        if ledger is not None:
            ledger, promotions = ledger.release_many((line.child_id, day) for day in days)
            self.ledgers[prestation.id] = ledger
            self.promotions.extend((prestation.id, p) for p in promotions)
            # A child of this household promoted now holds the place for the rest of the basket (a later
            # line may cancel it again, or rebook it).
            self.bookings = apply_promotions(
                self.commune, self.bookings, ((prestation.id, p) for p in promotions)
            )
        for day in days:
            key = (line.child_id, prestation.id, day)
            booking = self.bookings[key]
            cancelled = attrs.evolve(booking, status=BookingStatus.CANCELLED)
            self.bookings[key] = cancelled
            if key in self.added:
                del self.added[key]  # booked and cancelled in the same basket: nothing happened
            else:
                self.cancelled[key] = cancelled
        if judged is not None and judged.outcome is not DeadlineOutcome.ACCEPTED:
            return self.from_deadline(line, judged, days, changed=True)
        deadline = judged.deadline if judged is not None else None
        return self.decide(line, Outcome.ACCEPTED, "basket.cancelled", days, changed=True, deadline=deadline)


def apply_promotions(
    commune: Commune,
    bookings: Mapping[BookingKey, Booking],
    promotions: Iterable[tuple[str, Promotion]],
) -> dict[BookingKey, Booking]:
    """Bookings where the waiting children who got a freed place now hold it (booked, or held if prepaid).

    A basket applies this to its own household; the caller applies ``BasketResult.promotions`` to the other
    households' bookings (and tells them).
    """
    result = dict(bookings)
    for prestation_id, promotion in promotions:
        key = (promotion.child_id, prestation_id, promotion.day)
        booking = result.get(key)
        if booking is not None and booking.status is BookingStatus.WAITING:
            prepaid = commune.prestation(prestation_id).payment_mode is PaymentMode.PREPAID
            result[key] = attrs.evolve(
                booking, status=BookingStatus.HELD if prepaid else BookingStatus.BOOKED
            )
    return result


def _check_bookings(bookings: Mapping[BookingKey, Booking] | Iterable[Booking]) -> dict[BookingKey, Booking]:
    if isinstance(bookings, Mapping):
        return dict(bookings)
    result: dict[BookingKey, Booking] = {}
    for booking in bookings:
        if booking.key in result:
            raise InvalidInput(f"booking {booking.key} given twice", code="basket.duplicate_booking")
        result[booking.key] = booking
    return result


def evaluate_basket(
    context: BasketContext,
    lines: Sequence[BasketLine],
    now: dt.datetime,
    *,
    bookings: Mapping[BookingKey, Booking] | Iterable[Booking] = (),
    ledgers: Mapping[str, PlaceLedger] | None = None,
) -> BasketResult:
    """Judge every line of a basket at instant ``now``; see the module docstring for the order of checks.

    ``bookings`` are the household's current bookings, ``ledgers`` the current place ledgers of the
    prestations with a capacity (an empty ledger is assumed where none is given).
    """
    require_aware(now)
    evaluation = _Evaluation(context, _check_bookings(bookings), ledgers or {})
    order = sorted(range(len(lines)), key=lambda i: (lines[i].action is Action.BOOK, lines[i].day, i))
    decisions: dict[int, LineDecision] = {}
    for index in order:
        line = lines[index]
        if line.action is Action.CANCEL:
            decisions[index] = evaluation.cancel(line, now)
        else:
            decisions[index] = evaluation.book(line, now)
    ordered = tuple(decisions[i] for i in range(len(lines)))
    if context.commune.all_or_nothing_baskets and any(d.is_refused for d in ordered):
        untouched = _Evaluation(context, _check_bookings(bookings), ledgers or {})
        return BasketResult(
            tuple(
                d
                if d.is_refused
                else untouched.decide(d.line, Outcome.REFUSED, "basket.all_or_nothing", d.days)
                for d in ordered
            ),
            untouched.bookings,
            untouched.ledgers,
        )
    # A promotion stands if the child still holds the place at the end: a child of this household promoted
    # by one line and cancelled by a later one does not (the basket would otherwise hold its place twice).
    promotions = tuple(
        (prestation_id, promotion)
        for prestation_id, promotion in evaluation.promotions
        if promotion.child_id in evaluation.ledgers[prestation_id].holders(promotion.day, promotion.group)
    )
    return BasketResult(
        ordered,
        apply_promotions(context.commune, evaluation.bookings, promotions),
        evaluation.ledgers,
        tuple(evaluation.added.values()),
        tuple(evaluation.cancelled.values()),
        promotions,
    )


# -- period booking ("vue période") ---------------------------------------------------------


@attrs.frozen
class PeriodExpansion:
    """Basket lines expanded from a period request, and the days skipped because closed, with why."""

    lines: tuple[BasketLine, ...]
    skipped: tuple[tuple[str, dt.date, str], ...]  # (prestation id, date, French reason)


def period_lines(
    commune: Commune,
    child_id: str,
    prestation_id: str,
    period: DateRange,
    weekdays: Iterable[Weekday],
    *,
    every: int = 1,
    action: Action = Action.BOOK,
    closures: Mapping[str, Iterable[Closure]] | None = None,
) -> PeriodExpansion:
    """Book or cancel given weekdays between two dates, every ``every`` weeks, over the opening calendar.

    Closed days are skipped and reported with their reason; evaluate the lines with ``evaluate_basket``,
    which leaves already-booked (or already-cancelled) dates unchanged. ``closures`` maps a service id to
    closures declared since the configuration, as in ``BasketContext``.
    """
    return typical_week_lines(
        commune,
        child_id,
        {Weekday(w): (prestation_id,) for w in weekdays},
        period,
        every=every,
        action=action,
        closures=closures,
    )


def typical_week_lines(
    commune: Commune,
    child_id: str,
    week: Mapping[Weekday, Iterable[str]],
    period: DateRange,
    *,
    every: int = 1,
    action: Action = Action.BOOK,
    closures: Mapping[str, Iterable[Closure]] | None = None,
) -> PeriodExpansion:
    """Lines from a family's typical week (weekday → prestations), repeated over ``period``.

    ``closures`` maps a service id to closures declared since the configuration; each applies only to the
    prestations of its service.
    """
    by_prestation: dict[str, set[Weekday]] = {}
    for weekday, prestations in week.items():
        for prestation_id in prestations:
            by_prestation.setdefault(prestation_id, set()).add(Weekday(weekday))
    lines: list[BasketLine] = []
    skipped: list[tuple[str, dt.date, str]] = []
    extra = _closures({} if closures is None else closures)
    for prestation_id, weekdays in sorted(by_prestation.items()):
        service_id = commune.prestation(prestation_id).service_id
        opening = commune.opening_calendar(prestation_id, extra.get(service_id, ()))
        for day in weekly_dates(period, weekdays, every):
            answer = opening.day(day)
            if answer.is_open:
                lines.append(BasketLine(action, child_id, prestation_id, day))
            else:
                skipped.append((prestation_id, day, answer.explain()))
    lines.sort(key=lambda line: (line.day, line.prestation_id))
    skipped.sort(key=lambda item: (item[1], item[0]))
    return PeriodExpansion(tuple(lines), tuple(skipped))
