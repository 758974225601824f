"""A prestation's booking rules, what happens after its deadlines, and the judgement of a request.

``BookingRules`` gathers, for one prestation, the booking and cancellation deadlines
(``espacefamille.rules.deadlines``), the optional horizon and registration windows, and the
*after-deadline policy* a commune chose: refuse (for a cancellation: the day stays billed), accept
with a surcharge, accept at an exceptional tariff, or put the request on the waiting list.

``judge_booking`` and ``judge_cancellation`` answer at instant ``now`` with a ``DeadlineDecision``
value — an outcome, a stable code, the instant behind it and a sentence a parent understands, such
as « Annulation impossible : le délai a expiré le jeudi 12 novembre 2026 à 12 h 00. » — never an
exception for a late request.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any, ClassVar, Final, Protocol, Self, TypeVar

import attrs
from babel.numbers import format_percent

from espacefamille.billing.tariffs import FixedSurcharge, PercentSurcharge, SurchargeRule
from espacefamille.calendar.timezones import utc_instant
from espacefamille.errors import InvalidConfiguration, InvalidInput
from espacefamille.model import Prestation
from espacefamille.money import Money, to_decimal
from espacefamille.rules.deadlines import (
    DaysBefore,
    Deadline,
    DeadlineContext,
    Horizon,
    HoursBefore,
    RegistrationWindow,
    WeekdayTable,
    _Keys,
    _prestation_path,
    deadline_from_dict,
    deadline_to_dict,
    is_deadline,
    window_from_dict,
    window_to_dict,
)
from espacefamille.text import Lang, format_date, format_datetime, locale_for

__all__ = [
    "LATE_BOOKING_CODES",
    "AfterDeadlinePolicy",
    "BookingRules",
    "DeadlineDecision",
    "DeadlineOutcome",
    "ExceptionalTariff",
    "LatePlan",
    "Refuse",
    "Request",
    "Surcharge",
    "WaitingList",
    "after_deadline_policy",
    "booking_rules_from_dict",
    "booking_rules_to_dict",
    "check_booking_rules",
    "is_after_deadline_policy",
    "judge_booking",
    "judge_cancellation",
    "late_booking_policy_kind",
    "policy_from_dict",
    "policy_to_dict",
]


# -- after-deadline policies ------------------------------------------------------------------


@attrs.frozen
class LatePlan:
    """How late bookings of a prestation stamped with one code are priced — by the price preview and by
    month end alike: a surcharge ``rule``, an exceptional ``price``, or neither (the policy that accepted them
    is gone: nothing more is billed, and month end shows a 0 € line saying so, naming the policy of the
    code, ``accepted_by``, when the code tells it). ``billing.pricing.late_plan`` works it out."""

    rule: SurchargeRule | None = None
    price: Money | None = None
    accepted_by: str | None = None


class AfterDeadlinePolicy(Protocol):
    """What a prestation does with a request after its deadline: its TOML name, how it is read and written,
    the decision it gives a late request, and what a late booking it accepted costs.

    Each policy is one frozen class decorated with ``@after_deadline_policy``, the registry the commune file's
    ``policy = "..."`` is looked up in. A policy that ``accepts`` late requests never does so once the
    prestation has begun (``_late`` says so before asking it).
    """

    name: ClassVar[str]
    accepts: ClassVar[bool]
    bills_late_bookings: ClassVar[bool]
    """Whether a booking it accepted late costs more than usual (a waiting list's confirmed ones do not)."""
    invoice_name: ClassVar[str | None]
    """How an invoice names it when its rate is no longer known (``majoration``)."""

    @classmethod
    def read(cls, keys: _Keys) -> AfterDeadlinePolicy:
        """The policy from its TOML table (``keys`` refuses keys nobody read, naming their path)."""
        ...

    def settings(self) -> dict[str, Any]:
        """Its TOML keys besides ``policy``: ``read`` reads them back equal."""
        ...

    def late(
        self, request: Request, deadline: dt.datetime, *, window_closed: bool
    ) -> tuple[DeadlineOutcome, str, str, str]:
        """The decision for a late ``request``: its outcome, stable code, French and English sentences."""
        ...

    def late_booking_plan(self) -> LatePlan | None:
        """How month end and the price preview price a booking it accepted late (None: nothing more)."""
        ...


_POLICIES: Final[dict[str, type[AfterDeadlinePolicy]]] = {}
_P = TypeVar("_P", bound=type[AfterDeadlinePolicy])


def after_deadline_policy(kind: _P) -> _P:
    """Register an after-deadline policy under its ``name`` (a class decorator; a name is used once)."""
    if kind.name in _POLICIES:
        raise InvalidInput(
            f"after-deadline policy {kind.name!r} registered twice", code="deadline.policy_twice"
        )
    _POLICIES[kind.name] = kind
    return kind


def is_after_deadline_policy(value: object) -> bool:
    """Whether ``value`` is a policy of a registered kind."""
    return type(value) in _POLICIES.values()


class _WithoutSettings:
    """A policy written by its name alone."""

    @classmethod
    def read(cls, keys: _Keys) -> Self:
        return cls()

    def settings(self) -> dict[str, Any]:
        return {}


@after_deadline_policy
@attrs.frozen
class Refuse(_WithoutSettings):
    """After the deadline the request is refused; a booking not cancelled in time stays billed."""

    name: ClassVar[str] = "refuse"
    accepts: ClassVar[bool] = False
    bills_late_bookings: ClassVar[bool] = False
    invoice_name: ClassVar[str | None] = None

    def late(
        self, request: Request, deadline: dt.datetime, *, window_closed: bool
    ) -> tuple[DeadlineOutcome, str, str, str]:
        code = "deadline.window_closed" if window_closed else f"deadline.{request.value}_expired"
        fr, en = _both(*(_WINDOW_CLOSED if window_closed else _EXPIRED[request]), when=deadline)
        return DeadlineOutcome.REFUSED, code, fr, en

    def late_booking_plan(self) -> LatePlan | None:
        return None  # it accepts nothing late


def _percent(value: object) -> Decimal | None:
    return None if value is None else to_decimal(value, what="percent")


@after_deadline_policy
@attrs.frozen
class Surcharge:
    """Accepted late, with a surcharge: ``percent`` of the price (``Decimal("20")`` is 20 %) or a
    fixed ``amount``, exactly one of them. Billing prices it as a line of its own."""

    percent: Decimal | None = attrs.field(default=None, converter=_percent)
    amount: Money | None = attrs.field(
        default=None, validator=attrs.validators.optional(attrs.validators.instance_of(Money))
    )
    name: ClassVar[str] = "surcharge"
    accepts: ClassVar[bool] = True
    bills_late_bookings: ClassVar[bool] = True
    invoice_name: ClassVar[str | None] = "majoration"

    @classmethod
    def read(cls, keys: _Keys) -> Surcharge:
        percent, amount = keys.decimal("percent"), keys.money("amount")
        return keys.build("", cls, percent, amount)

    def settings(self) -> dict[str, Any]:
        if self.percent is not None:
            return {"percent": str(self.percent)}
        assert self.amount is not None
        return {"amount": str(self.amount.amount)}

    def late(
        self, request: Request, deadline: dt.datetime, *, window_closed: bool
    ) -> tuple[DeadlineOutcome, str, str, str]:
        fr, en = _both(
            *_LATE_SURCHARGE[request], when=deadline, fr=self.describe("fr"), en=self.describe("en")
        )
        return DeadlineOutcome.ACCEPTED_WITH_SURCHARGE, f"deadline.late_{request.value}_surcharge", fr, en

    def late_booking_plan(self) -> LatePlan | None:
        """A surcharge line of the percent or amount (``billing.pricing.price_surcharge``)."""
        if self.percent is not None:
            return LatePlan(rule=PercentSurcharge(self.percent))
        assert self.amount is not None
        return LatePlan(rule=FixedSurcharge(self.amount))

    def __attrs_post_init__(self) -> None:
        if (self.percent is None) == (self.amount is None):
            raise InvalidInput(
                "a surcharge is either a percent or an amount, exactly one of them",
                message_fr="Une majoration est soit un pourcentage, soit un montant.",
                code="deadline.surcharge",
            )
        if (self.percent is not None and self.percent <= 0) or (
            self.amount is not None and self.amount.cents <= 0
        ):
            raise InvalidInput(
                "a surcharge must be positive",
                message_fr="Une majoration doit être positive.",
                code="deadline.surcharge",
            )

    def describe(self, lang: Lang = "fr") -> str:
        """``20 %`` or ``1,50 €``, as written in a sentence."""
        if self.percent is not None:
            return str(
                format_percent(self.percent / 100, locale=locale_for(lang), decimal_quantization=False)
            )
        assert self.amount is not None
        return self.amount.format(lang)


def _unit_price(instance: object, attribute: attrs.Attribute[Money], value: Money) -> None:
    if not isinstance(value, Money) or value.is_negative:
        raise InvalidInput(
            f"an exceptional tariff must be an amount of at least 0 €, got {value!r}",
            message_fr="Le tarif exceptionnel doit être un montant positif.",
            code="deadline.exceptional_tariff",
        )


@after_deadline_policy
@attrs.frozen
class ExceptionalTariff:
    """Accepted late, priced at this unit price instead of the usual tariff."""

    unit_price: Money = attrs.field(validator=_unit_price)
    name: ClassVar[str] = "exceptional_tariff"
    accepts: ClassVar[bool] = True
    bills_late_bookings: ClassVar[bool] = True
    invoice_name: ClassVar[str | None] = "tarif exceptionnel"

    @classmethod
    def read(cls, keys: _Keys) -> ExceptionalTariff:
        price = keys.money("unit_price", required=True)
        return keys.build("unit_price", cls, price)

    def settings(self) -> dict[str, Any]:
        return {"unit_price": str(self.unit_price.amount)}

    def late(
        self, request: Request, deadline: dt.datetime, *, window_closed: bool
    ) -> tuple[DeadlineOutcome, str, str, str]:
        price = self.unit_price
        fr, en = _both(*_LATE_TARIFF[request], when=deadline, fr=price.format("fr"), en=price.format("en"))
        return DeadlineOutcome.EXCEPTIONAL_TARIFF, f"deadline.late_{request.value}_exceptional_tariff", fr, en

    def late_booking_plan(self) -> LatePlan | None:
        """The supplement up to the exceptional price (``billing.pricing.price_exceptional_tariff``)."""
        return LatePlan(price=self.unit_price)


@after_deadline_policy
@attrs.frozen
class WaitingList(_WithoutSettings):
    """A late booking goes on the waiting list; the commune confirms it if it can."""

    name: ClassVar[str] = "waiting_list"
    accepts: ClassVar[bool] = True
    bills_late_bookings: ClassVar[bool] = False
    invoice_name: ClassVar[str | None] = None

    def late(
        self, request: Request, deadline: dt.datetime, *, window_closed: bool
    ) -> tuple[DeadlineOutcome, str, str, str]:
        fr, en = _both(*_LATE_WAITING, when=deadline)
        return DeadlineOutcome.WAITING_LIST, "deadline.late_booking_waiting_list", fr, en

    def late_booking_plan(self) -> LatePlan | None:
        return None  # confirmed from the waiting list: the usual price


#: The code of the decision that accepted a booking after its deadline, as a basket stamps it on the booking
#: (``Booking.surcharge_code``), and the kind of policy behind it. Month-end billing reads it back to know
#: which rule accepted a late booking, even after the commune changed its configuration.
LATE_BOOKING_CODES: Final[Mapping[str, type[Surcharge | ExceptionalTariff | WaitingList]]] = {
    "deadline.late_booking_surcharge": Surcharge,
    "deadline.late_booking_exceptional_tariff": ExceptionalTariff,
    "deadline.late_booking_waiting_list": WaitingList,
}


def late_booking_policy_kind(code: str) -> type[Surcharge | ExceptionalTariff | WaitingList] | None:
    """The kind of after-deadline policy that accepted a booking stamped with ``code``; None for a code
    that does not say (imported data, or written before the codes were stable)."""
    return LATE_BOOKING_CODES.get(code)


# -- a prestation's rules ---------------------------------------------------------------------


def _windows(items: Iterable[RegistrationWindow]) -> tuple[RegistrationWindow, ...]:
    return tuple(items)


def _policy(instance: object, attribute: attrs.Attribute[AfterDeadlinePolicy], value: object) -> None:
    if not is_after_deadline_policy(value):
        raise InvalidInput(
            f"{type(instance).__name__}.{attribute.name} must be a registered policy, got {value!r}",
            code="deadline.not_a_policy",
        )


def _deadline(instance: object, attribute: attrs.Attribute[Deadline], value: object) -> None:
    if not is_deadline(value):
        raise InvalidInput(
            f"{type(instance).__name__}.{attribute.name} must be a registered deadline, got {value!r}",
            code="deadline.not_a_deadline",
        )


@attrs.frozen
class BookingRules:
    """The booking rules of one prestation.

    ``windows`` are registration windows, each for the dates of its period (or every date): when
    there are any, a date no window covers cannot be booked yet. Cancellation after its deadline
    is usually refused (the day is billed); a waiting list makes no sense for it.
    """

    booking_deadline: Deadline = attrs.field(validator=_deadline)
    cancellation_deadline: Deadline = attrs.field(validator=_deadline)
    after_booking_deadline: AfterDeadlinePolicy = attrs.field(factory=Refuse, validator=_policy)
    after_cancellation_deadline: AfterDeadlinePolicy = attrs.field(factory=Refuse, validator=_policy)
    horizon: Horizon | None = attrs.field(
        default=None, validator=attrs.validators.optional(attrs.validators.instance_of(Horizon))
    )
    windows: tuple[RegistrationWindow, ...] = attrs.field(converter=_windows, default=())

    def __attrs_post_init__(self) -> None:
        if isinstance(self.after_cancellation_deadline, WaitingList):
            raise InvalidInput(
                "a late cancellation cannot go on a waiting list",
                message_fr="Une annulation hors délai ne peut pas être mise sur liste d'attente.",
                code="deadline.cancellation_waiting_list",
            )
        for index, window in enumerate(self.windows):
            for other in self.windows[index + 1 :]:
                if window.period is None or other.period is None or window.period.overlaps(other.period):
                    raise InvalidInput(
                        "two registration windows cover the same dates",
                        message_fr="Deux périodes d'inscription couvrent les mêmes dates.",
                        code="deadline.windows_overlap",
                    )

    def window_for(self, day: dt.date) -> RegistrationWindow | None:
        return next((window for window in self.windows if window.governs(day)), None)


def _before_start(deadline: DaysBefore, prestation: Prestation) -> bool:
    return prestation.start is not None and deadline.at <= prestation.start


def check_booking_rules(rules: BookingRules, prestation: Prestation, path: str | None = None) -> None:
    """Refuse rules that cannot work for ``prestation`` (at load time rather than at booking time).

    A deadline counted in hours needs the prestation's start time; a same-day deadline must not
    fall after the start; a weekday table must cover every weekday the prestation opens.
    """
    where = path if path is not None else f"{_prestation_path(prestation)}.booking"
    opening = prestation.opening
    for key, deadline in (
        ("deadline", rules.booking_deadline),
        ("cancellation_deadline", rules.cancellation_deadline),
    ):
        if isinstance(deadline, HoursBefore) and prestation.start is None:
            raise InvalidConfiguration(
                f"counting hours before the start needs the start time of {prestation.id!r}",
                path=f"{where}.{key}",
                code="deadline.needs_start",
            )
        if (
            isinstance(deadline, DaysBefore)
            and deadline.days == 0
            and not _before_start(deadline, prestation)
        ):
            raise InvalidConfiguration(
                f"a same-day deadline at {deadline.at:%H:%M} would fall after {prestation.id!r} starts",
                path=f"{where}.{key}.at",
                code="deadline.after_start",
            )
        if isinstance(deadline, WeekdayTable):
            missing = (opening.school_weekdays | opening.holiday_weekdays) - {w for w, _ in deadline.entries}
            if missing:
                raise InvalidConfiguration(
                    f"no entry for {', '.join(w.key for w in sorted(missing))}, when {prestation.id!r} opens",
                    path=f"{where}.{key}.table",
                    code="deadline.table_incomplete",
                )


# -- decisions --------------------------------------------------------------------------------


class Request(enum.Enum):
    """What the family asks: to book a date, or to cancel a booked one."""

    BOOKING = "booking"
    CANCELLATION = "cancellation"


class DeadlineOutcome(enum.Enum):
    """What becomes of a request once its deadlines are judged."""

    ACCEPTED = "accepted"
    ACCEPTED_WITH_SURCHARGE = "accepted_with_surcharge"
    EXCEPTIONAL_TARIFF = "exceptional_tariff"
    WAITING_LIST = "waiting_list"
    REFUSED = "refused"


@attrs.frozen
class DeadlineDecision:
    """The answer to a booking or cancellation request for ``day`` at a given instant.

    ``deadline`` is the instant that applies (the earlier of the deadline and the window's close),
    in the commune's time zone; ``opens`` is when booking opens, for a request that came too early;
    ``policy`` is the after-deadline policy applied to a late request.
    """

    request: Request
    outcome: DeadlineOutcome
    code: str
    day: dt.date
    deadline: dt.datetime
    message_fr: str
    message: str
    opens: dt.datetime | None = None
    policy: AfterDeadlinePolicy | None = None

    @property
    def is_refused(self) -> bool:
        return self.outcome is DeadlineOutcome.REFUSED

    @property
    def is_late(self) -> bool:
        """Judged after its deadline (refused, or accepted under the after-deadline policy)."""
        return self.policy is not None

    def explain(self, lang: Lang = "fr") -> str:
        return self.message_fr if lang == "fr" else self.message


def _check_day(day: dt.date) -> None:
    if not isinstance(day, dt.date) or isinstance(day, dt.datetime):
        raise InvalidInput(f"day must be a date, got {day!r}", code="input.not_a_date")


def _both(template_fr: str, template_en: str, **moments: dt.datetime | dt.date | str) -> tuple[str, str]:
    def render(template: str, lang: Lang) -> str:
        values = {
            name: (
                format_datetime(value, lang)
                if isinstance(value, dt.datetime)
                else format_date(value, lang)
                if isinstance(value, dt.date)
                else value
            )
            for name, value in moments.items()
        }
        return template.format(**values)

    return render(template_fr, "fr"), render(template_en, "en")


_IN_TIME = {
    Request.BOOKING: ("Réservation possible jusqu'au {when}.", "Booking possible until {when}."),
    Request.CANCELLATION: ("Annulation possible jusqu'au {when}.", "Cancellation possible until {when}."),
}
_EXPIRED = {
    Request.BOOKING: (
        "Réservation impossible : le délai a expiré le {when}.",
        "Booking not possible: the deadline passed on {when}.",
    ),
    Request.CANCELLATION: (
        "Annulation impossible : le délai a expiré le {when}.",
        "Cancellation not possible: the deadline passed on {when}.",
    ),
}
_WINDOW_CLOSED = (
    "Inscription impossible : les inscriptions ont fermé le {when}.",
    "Registration not possible: registration closed on {when}.",
)
_STARTED = {
    Request.BOOKING: (
        "Réservation impossible : « {name} » a commencé le {start}.",
        "Booking not possible: “{name}” started on {start}.",
    ),
    Request.CANCELLATION: (
        "Annulation impossible : « {name} » a commencé le {start} ; signalez plutôt une absence.",
        "Cancellation not possible: “{name}” started on {start}; report an absence instead.",
    ),
}
_LATE_SURCHARGE = {
    Request.BOOKING: (
        "Réservation acceptée hors délai (délai expiré le {when}) : majoration de {fr}.",
        "Booking accepted after the deadline of {when}, with a surcharge of {en}.",
    ),
    Request.CANCELLATION: (
        "Annulation acceptée hors délai (délai expiré le {when}) : des frais de {fr} seront facturés.",
        "Cancellation accepted after the deadline of {when}; a fee of {en} will be charged.",
    ),
}
_LATE_TARIFF = {
    Request.BOOKING: (
        "Réservation acceptée hors délai (délai expiré le {when}) au tarif exceptionnel de {fr}.",
        "Booking accepted after the deadline of {when}, at the exceptional price of {en}.",
    ),
    Request.CANCELLATION: (
        "Annulation acceptée hors délai (délai expiré le {when}) : elle sera facturée {fr}.",
        "Cancellation accepted after the deadline of {when}; it will be charged {en}.",
    ),
}
_LATE_WAITING = (
    "Délai de réservation expiré le {when} : la demande est inscrite sur liste d'attente.",
    "The booking deadline passed on {when}: the request goes on the waiting list.",
)


def _late(
    request: Request,
    policy: AfterDeadlinePolicy,
    *,
    day: dt.date,
    deadline: dt.datetime,
    now: dt.datetime,
    context: DeadlineContext,
    window_closed: bool = False,
) -> DeadlineDecision:
    """The decision for a request after ``deadline``, under the commune's ``policy``."""
    start = context.start_of(day)
    if policy.accepts and now >= start:
        # A policy lets a request in after its deadline, never after the prestation has begun.
        outcome, code = DeadlineOutcome.REFUSED, "deadline.started"
        fr, en = _both(*_STARTED[request], name=context.prestation.name, start=start)
    else:
        outcome, code, fr, en = policy.late(request, deadline, window_closed=window_closed)
    return DeadlineDecision(request, outcome, code, day, deadline, fr, en, policy=policy)


def judge_booking(
    rules: BookingRules, day: dt.date, now: dt.datetime, context: DeadlineContext
) -> DeadlineDecision:
    """Whether a booking for ``day`` asked at instant ``now`` is in time, too early or late.

    Checked in order: the horizon, the registration window (not open yet for this family, or
    closed), then the booking deadline. A request exactly at the deadline is in time. Instants are
    compared in UTC, so an ambiguous wall time of the autumn night falls on its own side (``fold``).
    """
    now = utc_instant(now)
    _check_day(day)
    calendar = context.calendar
    deadline = calendar.local(rules.booking_deadline.instant(day, context))
    request = Request.BOOKING
    if rules.horizon is not None:
        opens = rules.horizon.opens(day, calendar)
        if now < opens:
            weeks = rules.horizon.weeks
            fr, en = _both(
                "Réservation pas encore ouverte : cette date se réserve au plus {weeks_fr} à l'avance, "
                "à partir du {opens}.",
                "Booking not open yet: this date can be booked at most {weeks_en} ahead, from {opens}.",
                opens=opens,
                weeks_fr=f"{weeks} semaine{'s' if weeks > 1 else ''}",
                weeks_en=f"{weeks} week{'' if weeks == 1 else 's'}",
            )
            return DeadlineDecision(
                request,
                DeadlineOutcome.REFUSED,
                "deadline.beyond_horizon",
                day,
                deadline,
                fr,
                en,
                opens=opens,
            )
    window_closed = False
    if rules.windows:
        window = rules.window_for(day)
        if window is None:
            fr, en = _both(
                "Inscription impossible : aucune période d'inscription n'est ouverte pour le {day}.",
                "Registration not possible: no registration window covers {day}.",
                day=day,
            )
            return DeadlineDecision(
                request, DeadlineOutcome.REFUSED, "deadline.no_window", day, deadline, fr, en
            )
        opens = calendar.local(window.opens_for(context.resident))
        if now < opens:
            fr, en = _both(
                "Inscriptions pas encore ouvertes : elles ouvriront le {opens}.",
                "Registration not open yet: it opens on {opens}.",
                opens=opens,
            )
            return DeadlineDecision(
                request,
                DeadlineOutcome.REFUSED,
                "deadline.window_not_open",
                day,
                deadline,
                fr,
                en,
                opens=opens,
            )
        if utc_instant(window.closes) < utc_instant(deadline):
            deadline, window_closed = calendar.local(window.closes), True
    if now <= deadline:
        fr, en = _both(*_IN_TIME[request], when=deadline)
        return DeadlineDecision(request, DeadlineOutcome.ACCEPTED, "deadline.in_time", day, deadline, fr, en)
    return _late(
        request,
        rules.after_booking_deadline,
        day=day,
        deadline=deadline,
        now=now,
        context=context,
        window_closed=window_closed,
    )


def judge_cancellation(
    rules: BookingRules, day: dt.date, now: dt.datetime, context: DeadlineContext
) -> DeadlineDecision:
    """Whether cancelling the booking of ``day`` at instant ``now`` is in time (exactly at the
    deadline is in time); after it, the commune's policy applies — usually the day stays billed."""
    now = utc_instant(now)
    _check_day(day)
    deadline = context.calendar.local(rules.cancellation_deadline.instant(day, context))
    request = Request.CANCELLATION
    if now <= deadline:
        fr, en = _both(*_IN_TIME[request], when=deadline)
        return DeadlineDecision(request, DeadlineOutcome.ACCEPTED, "deadline.in_time", day, deadline, fr, en)
    return _late(
        request, rules.after_cancellation_deadline, day=day, deadline=deadline, now=now, context=context
    )


# -- configuration as data --------------------------------------------------------------------


def policy_from_dict(data: Mapping[str, Any], path: str) -> AfterDeadlinePolicy:
    """An after-deadline policy from its TOML table, e.g. ``{policy = "surcharge", percent = "20"}``."""
    keys = _Keys(data, path)
    kind = keys.raw("policy")
    if kind not in _POLICIES:
        names = [repr(name) for name in _POLICIES]
        raise InvalidConfiguration(
            f"unknown policy {kind!r} (expected {', '.join(names[:-1])} or {names[-1]})",
            path=keys.at("policy"),
            code="config.unknown_policy",
        )
    policy = _POLICIES[kind].read(keys)
    keys.done()
    return policy


def policy_to_dict(policy: AfterDeadlinePolicy) -> dict[str, Any]:
    """The TOML table of ``policy``; ``policy_from_dict`` reads it back equal."""
    return {"policy": policy.name, **policy.settings()}


def booking_rules_from_dict(data: Mapping[str, Any], path: str) -> BookingRules:
    """A prestation's ``BookingRules`` from its ``[services.<s>.prestations.<p>.booking]`` table.

    Errors are ``InvalidConfiguration`` naming the key under ``path``; see ``docs/deadlines.md``.
    """
    keys = _Keys(data, path)
    booking = deadline_from_dict(keys.raw("deadline"), keys.at("deadline"))
    cancellation = deadline_from_dict(keys.raw("cancellation_deadline"), keys.at("cancellation_deadline"))
    after_booking: AfterDeadlinePolicy = Refuse()
    if keys.has("after_deadline"):
        after_booking = policy_from_dict(keys.raw("after_deadline"), keys.at("after_deadline"))
    after_cancellation: AfterDeadlinePolicy = Refuse()
    if keys.has("after_cancellation_deadline"):
        at = keys.at("after_cancellation_deadline")
        after_cancellation = policy_from_dict(keys.raw("after_cancellation_deadline"), at)
        if isinstance(after_cancellation, WaitingList):
            raise InvalidConfiguration(
                "a late cancellation cannot go on a waiting list",
                path=f"{at}.policy",
                message_fr="Une annulation hors délai ne peut pas être mise sur liste d'attente.",
                code="deadline.cancellation_waiting_list",
            )
    horizon = Horizon(keys.count("horizon_weeks")) if keys.has("horizon_weeks") else None
    windows_data = keys.raw("windows", required=False) or []
    if not isinstance(windows_data, list):
        raise InvalidConfiguration(
            "expected an array of tables ([[...windows]])", path=keys.at("windows"), code="config.type"
        )
    windows = [window_from_dict(item, f"{keys.at('windows')}[{i}]") for i, item in enumerate(windows_data)]
    keys.done()
    return keys.build(
        "windows", BookingRules, booking, cancellation, after_booking, after_cancellation, horizon, windows
    )


def booking_rules_to_dict(rules: BookingRules) -> dict[str, Any]:
    """The TOML table of ``rules``; ``booking_rules_from_dict`` reads it back to equal rules."""
    data: dict[str, Any] = {
        "deadline": deadline_to_dict(rules.booking_deadline),
        "cancellation_deadline": deadline_to_dict(rules.cancellation_deadline),
    }
    if not isinstance(rules.after_booking_deadline, Refuse):
        data["after_deadline"] = policy_to_dict(rules.after_booking_deadline)
    if not isinstance(rules.after_cancellation_deadline, Refuse):
        data["after_cancellation_deadline"] = policy_to_dict(rules.after_cancellation_deadline)
    if rules.horizon is not None:
        data["horizon_weeks"] = rules.horizon.weeks
    if rules.windows:
        data["windows"] = [window_to_dict(window) for window in rules.windows]
    return data
