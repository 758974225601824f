"""Attendance facts and absences: what an agent records, and which absent days a family still pays.

An agent records one ``AttendanceFact`` per child, prestation and date, with one of the six
``AttendanceStatus`` values that billing prices. A family declares an absence
(``AbsenceDeclaration``: the days, the reason, when it declared and when its proof arrived); the
commune's ``AbsencePolicy`` — written in its règlement and configured as data — decides, open day by
open day, whether the absence is justified and whether the day is still billed:

* a proof (a medical certificate) may be required within a delay counted from the **end of the first
  day of absence** (midnight, commune time): "2 days" gives the family until the end of the second
  calendar day after the first day of absence, "48 hours" until 48 elapsed hours after that midnight;
* *carence*: the first N open days of an illness are billed, the following ones not;
* "the day and the next day are due": the first N open days of any absence are billed;
* refunds only from N consecutive open days of absence: a shorter absence is billed in full.

Each of these rules is one frozen class registered with ``@absence_rule`` (``AbsenceRule``): the keys it owns
in the ``absences`` table, its reader and writer, and its verdict on a day; the first verdict wins. What
a status then costs is the price list's attendance effect (``billing.tariffs``, ``@attendance_effect``).

Only the prestation's open days count; closed days (a weekend, the Armistice, the Christmas holidays)
are skipped, never billed and never counted. Closures decided by the commune (a strike, an outing)
cancel the bookings they cover with nothing for the family to do: ``service_closed_facts``.

Everything here is pure: instants are passed in, as timezone-aware datetimes.

Why one module of some 820 lines: the facts, the declarations and the absence rules are judged together,
day by day, by ``resolve_absence``; each rule is short, and they share the open-day counting.
"""

from __future__ import annotations

import datetime as dt
import enum
import types
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar, Final, Protocol, TypeVar

import attrs

from espacefamille._internal.tables import Table
from espacefamille._internal.validators import IDENTIFIER, non_empty, plain_date
from espacefamille.calendar.opening import Closure, OpeningCalendar
from espacefamille.calendar.periods import DateRange
from espacefamille.calendar.timezones import (
    DEFAULT_TIMEZONE,
    local_instant,
    optional_aware_instant,
    require_aware,
    time_zone,
)
from espacefamille.errors import InvalidConfiguration, InvalidInput
from espacefamille.text import Lang, format_date, format_datetime

__all__ = [
    "AbsenceDay",
    "AbsenceDeclaration",
    "AbsenceOutcome",
    "AbsencePolicy",
    "AbsenceReason",
    "AbsenceRule",
    "AbsenceVerdict",
    "AcceptedReasons",
    "AttendanceFact",
    "AttendanceStatus",
    "BookedDay",
    "BookingRef",
    "Carence",
    "DelayUnit",
    "FirstDaysDue",
    "MinimumLength",
    "ProofDelay",
    "ProofRule",
    "absence_policy_from_dict",
    "absence_policy_to_dict",
    "absence_rule",
    "absence_rules",
    "resolve_absence",
    "service_closed_facts",
]


# -- statuses and facts -----------------------------------------------------------------------


class AttendanceStatus(enum.Enum):
    """What happened on a booked (or unbooked) day; billing keys its price effects on these values."""

    PRESENT = "present"
    ABSENT_JUSTIFIED = "absent_justified"
    ABSENT_UNJUSTIFIED = "absent_unjustified"
    PRESENT_UNBOOKED = "present_unbooked"
    CANCELLED_IN_TIME = "cancelled_in_time"
    SERVICE_CLOSED = "service_closed"

    @property
    def code(self) -> str:
        """A stable code: ``attendance.absent_justified``."""
        return f"attendance.{self.value}"

    def label(self, lang: Lang = "fr") -> str:
        """``absence justifiée`` in French, as the family calendar shows it."""
        return _STATUS_LABELS[self][0 if lang == "fr" else 1]


_STATUS_LABELS = {
    AttendanceStatus.PRESENT: ("présent", "present"),
    AttendanceStatus.ABSENT_JUSTIFIED: ("absence justifiée", "justified absence"),
    AttendanceStatus.ABSENT_UNJUSTIFIED: ("absence non justifiée", "unjustified absence"),
    AttendanceStatus.PRESENT_UNBOOKED: ("présent sans réservation", "present without booking"),
    AttendanceStatus.CANCELLED_IN_TIME: ("annulé dans les délais", "cancelled in time"),
    AttendanceStatus.SERVICE_CLOSED: ("service fermé", "service closed"),
}


_non_empty = non_empty(code="input.empty", message_fr="Identifiant manquant.")


def _reason_code(instance: object, attribute: attrs.Attribute[str | None], value: object) -> None:
    if value is not None and (not isinstance(value, str) or not IDENTIFIER.match(value)):
        raise InvalidInput(
            f"an attendance reason is a code of the commune's configuration, got {value!r}",
            message_fr=f"« {value} » n'est pas un code de motif de pointage.",
            code="attendance.reason_code",
        )


@attrs.frozen
class AttendanceFact:
    """One child's attendance at one prestation on one date, as recorded (or derived) for billing.

    ``note`` is a sentence for the family when the fact was not recorded by an agent watching the
    child, e.g. why the commune closed the service that day.

    A fact may carry one of the **commune's own attendance reasons** (*types de pointage*: a school
    outing, a packed lunch, a meal refused…), a code of the price lists' ``attendance`` tables, beside its
    status: month end prices the day with that reason's effect instead of the status's, on a line of its
    own (``reason``; ``None`` when the status says it all).
    """

    child_id: str = attrs.field(validator=_non_empty)
    prestation_id: str = attrs.field(validator=_non_empty)
    day: dt.date = attrs.field(validator=plain_date)
    status: AttendanceStatus = attrs.field(validator=attrs.validators.instance_of(AttendanceStatus))
    recorded_by: str | None = None
    recorded_at: dt.datetime | None = attrs.field(default=None, validator=optional_aware_instant)
    note: str = ""
    reason: str | None = attrs.field(default=None, validator=_reason_code)

    @property
    def code(self) -> str:
        return self.status.code


# -- the family's declaration -----------------------------------------------------------------


class AbsenceReason(enum.Enum):
    """Why a child is absent, as the family declares it."""

    ILLNESS = "illness"
    FAMILY_EVENT = "family_event"
    OTHER = "other"

    def label(self, lang: Lang = "fr") -> str:
        return _REASON_LABELS[self][0 if lang == "fr" else 1]


_REASON_LABELS = {
    AbsenceReason.ILLNESS: ("maladie", "illness"),
    AbsenceReason.FAMILY_EVENT: ("événement familial", "family event"),
    AbsenceReason.OTHER: ("autre motif", "other reason"),
}


@attrs.frozen
class AbsenceDeclaration:
    """A family's declaration that a child will miss (or missed) the days of ``days``.

    ``proof_received_at`` is when the commune received the proof (a medical certificate), or None.
    """

    child_id: str = attrs.field(validator=_non_empty)
    days: DateRange = attrs.field(validator=attrs.validators.instance_of(DateRange))
    reason: AbsenceReason = attrs.field(validator=attrs.validators.instance_of(AbsenceReason))
    declared_at: dt.datetime = attrs.field(validator=optional_aware_instant)
    proof_received_at: dt.datetime | None = attrs.field(default=None, validator=optional_aware_instant)


# -- the commune's policy ---------------------------------------------------------------------


class DelayUnit(enum.Enum):
    """How a proof delay is written in the règlement: in hours or in calendar days."""

    HOURS = "hours"
    DAYS = "days"


def _non_negative(instance: object, attribute: attrs.Attribute[int], value: object) -> None:
    if not isinstance(value, int) or isinstance(value, bool):
        raise InvalidInput(
            f"{type(instance).__name__}.{attribute.name} must be a whole number, got {value!r}",
            code="input.not_an_integer",
        )
    if value < 0:
        raise InvalidInput(
            f"{type(instance).__name__}.{attribute.name} cannot be negative, got {value}",
            message_fr="Un nombre de jours ou d'heures ne peut pas être négatif.",
            code="input.negative",
        )


@attrs.frozen
class ProofDelay:
    """How long a family has to bring its proof, counted from the end of the first day of absence.

    The first day of absence is the first day of the declaration, whatever the prestation: a
    certificate covers the child, not one service. ``DAYS``: until the end of the ``amount``-th
    calendar day after it (0 means "by the end of the first day"). ``HOURS``: ``amount`` elapsed hours
    after that midnight, so daylight-saving changes are counted as they happen.
    """

    amount: int = attrs.field(validator=_non_negative)
    unit: DelayUnit = attrs.field(validator=attrs.validators.instance_of(DelayUnit))

    def deadline(self, first_day: dt.date, timezone: str = DEFAULT_TIMEZONE) -> dt.datetime:
        """The last instant a proof is on time, in the commune's zone."""
        zone = time_zone(timezone)
        if self.unit is DelayUnit.DAYS:
            return local_instant(first_day + dt.timedelta(days=self.amount + 1), dt.time(0, 0), zone)
        end_of_first_day = local_instant(first_day + dt.timedelta(days=1), dt.time(0, 0), zone)
        # Aware arithmetic in Python is wall-clock arithmetic; elapsed hours go through UTC.
        return (end_of_first_day.astimezone(dt.UTC) + dt.timedelta(hours=self.amount)).astimezone(zone)


def _reasons(values: Iterable[AbsenceReason]) -> frozenset[AbsenceReason]:
    return frozenset(AbsenceReason(value) for value in values)


_DEFAULT_REASONS = frozenset({AbsenceReason.ILLNESS, AbsenceReason.FAMILY_EVENT})


@attrs.frozen
class AbsenceDay:
    """What an absence rule is told about one open day of a declared absence.

    ``rank`` is the day's place among the absence's open days (1 for the first) out of ``open_days``;
    ``proof_deadline`` is the last instant a proof is on time (None when no delay applies); ``now`` is
    when the question is asked (None: the answer is final).
    """

    declaration: AbsenceDeclaration
    rank: int
    open_days: int
    proof_deadline: dt.datetime | None = None
    now: dt.datetime | None = None


@attrs.frozen
class AbsenceVerdict:
    """A rule's verdict on a day: its status, whether it is billed, a stable code and why (a French clause);
    ``provisional`` when it may change (a proof still awaited: billed for now)."""

    status: AttendanceStatus
    billed: bool
    code: str
    why: str
    provisional: bool = False


class AbsenceRule(Protocol):
    """One rule of a règlement's absence policy: the TOML keys it owns in the ``absences`` table, how it is
    read and written, and its verdict on an open day of a declared absence.

    Each rule is one frozen class decorated with ``@absence_rule``, the registry the ``absences`` table is
    read with; rules decide in the order of their ``precedence`` (the lowest first), and the first verdict
    wins. A day no rule gives a verdict on is justified and not billed.
    """

    keys: ClassVar[tuple[str, ...]]
    precedence: ClassVar[int]

    @classmethod
    def read(cls, data: Mapping[str, Any], path: str) -> AbsenceRule:
        """The rule from its keys of the ``absences`` table (each optional); errors name ``path.key``."""
        ...

    def settings(self) -> dict[str, Any]:
        """Its keys of the table: ``read`` reads them back equal."""
        ...

    def decide(self, day: AbsenceDay) -> AbsenceVerdict | None:
        """Its verdict on ``day``, or None when it has nothing to say about it."""
        ...


_ABSENCE_RULES: Final[dict[str, type[AbsenceRule]]] = {}
_R = TypeVar("_R", bound=type[AbsenceRule])


def absence_rule(kind: _R) -> _R:
    """Register an absence rule under its TOML keys (a class decorator; a key is owned by one rule)."""
    taken = sorted({key for other in _ABSENCE_RULES.values() for key in other.keys} & set(kind.keys))
    if taken or not kind.keys:
        raise InvalidInput(
            f"absence rule {kind.__name__} needs keys of its own (taken: {', '.join(taken) or 'none given'})",
            code="absence.rule_twice",
        )
    _ABSENCE_RULES[kind.keys[0]] = kind
    return kind


def absence_rules() -> Mapping[str, type[AbsenceRule]]:
    """The registered absence rules by their first key, in the order their keys are written (read-only)."""
    return types.MappingProxyType(_ABSENCE_RULES)


def _rule_tuple(items: Iterable[AbsenceRule]) -> tuple[AbsenceRule, ...]:
    return tuple(items)


_JUSTIFIED = AttendanceStatus.ABSENT_JUSTIFIED
_UNJUSTIFIED = AttendanceStatus.ABSENT_UNJUSTIFIED


def _days(data: Mapping[str, Any], key: str, path: str) -> int:
    return _count(data, key, path) or 0


@absence_rule
@attrs.frozen
class AcceptedReasons:
    """Only these reasons justify an absence; any other is unjustified and billed (``justified_reasons``)."""

    reasons: frozenset[AbsenceReason] = attrs.field(converter=_reasons, default=_DEFAULT_REASONS)
    keys: ClassVar[tuple[str, ...]] = ("justified_reasons",)
    precedence: ClassVar[int] = 10

    @classmethod
    def read(cls, data: Mapping[str, Any], path: str) -> AcceptedReasons:
        if "justified_reasons" not in data:
            return cls()
        raw = data["justified_reasons"]
        if not isinstance(raw, list):
            raise InvalidConfiguration(
                'expected a list such as ["illness", "family_event"]',
                path=_at(path, "justified_reasons"),
                code="config.type",
            )
        chosen = set()
        for index, value in enumerate(raw):
            try:
                chosen.add(AbsenceReason(value))
            except ValueError:
                expected = ", ".join(repr(member.value) for member in AbsenceReason)
                raise InvalidConfiguration(
                    f"expected one of {expected}, got {value!r}",
                    path=f"{_at(path, 'justified_reasons')}[{index}]",
                    code="config.choice",
                ) from None
        return cls(frozenset(chosen))

    def settings(self) -> dict[str, Any]:
        return {"justified_reasons": sorted(reason.value for reason in self.reasons)}

    def decide(self, day: AbsenceDay) -> AbsenceVerdict | None:
        reason = day.declaration.reason
        if reason in self.reasons:
            return None
        why = f"le motif « {reason.label()} » ne justifie pas une absence"
        return AbsenceVerdict(_UNJUSTIFIED, True, "absence.reason_not_accepted", why)


@absence_rule
@attrs.frozen
class ProofRule:
    """A proof is required (``proof_required``), within ``delay`` (``proof_delay_days`` or
    ``proof_delay_hours``; None: at any time); missing, awaited or late, the day is unjustified and billed."""

    required: bool = attrs.field(default=False, validator=attrs.validators.instance_of(bool))
    delay: ProofDelay | None = attrs.field(
        default=None, validator=attrs.validators.optional(attrs.validators.instance_of(ProofDelay))
    )
    keys: ClassVar[tuple[str, ...]] = ("proof_required", "proof_delay_days", "proof_delay_hours")
    precedence: ClassVar[int] = 20

    @classmethod
    def read(cls, data: Mapping[str, Any], path: str) -> ProofRule:
        proof_required = data.get("proof_required", False)
        if not isinstance(proof_required, bool):
            raise InvalidConfiguration(
                f"expected true or false, got {proof_required!r}",
                path=_at(path, "proof_required"),
                code="config.type",
            )
        in_days = _count(data, "proof_delay_days", path)
        in_hours = _count(data, "proof_delay_hours", path)
        delay = None
        if in_days is not None and in_hours is not None:
            raise InvalidConfiguration(
                "give the proof delay in days or in hours, not both",
                path=_at(path, "proof_delay_hours"),
                code="config.conflict",
            )
        if in_days is not None:
            delay = ProofDelay(in_days, DelayUnit.DAYS)
        elif in_hours is not None:
            delay = ProofDelay(in_hours, DelayUnit.HOURS)
        if delay is not None and not proof_required:
            key = "proof_delay_days" if in_days is not None else "proof_delay_hours"
            raise InvalidConfiguration(
                "a proof delay needs proof_required = true",
                path=_at(path, key),
                code="config.conflict",
            )
        return cls(proof_required, delay)

    def settings(self) -> dict[str, Any]:
        data: dict[str, Any] = {"proof_required": self.required}
        if self.delay is not None:
            data[f"proof_delay_{self.delay.unit.value}"] = self.delay.amount
        return data

    def decide(self, day: AbsenceDay) -> AbsenceVerdict | None:
        if not self.required:
            return None
        proof, deadline, now = day.declaration.proof_received_at, day.proof_deadline, day.now
        if proof is None:
            if now is not None and (deadline is None or now <= deadline):
                awaited = "justificatif attendu" + (
                    "" if deadline is None else f" {_deadline_text(deadline)}"
                )
                return AbsenceVerdict(_UNJUSTIFIED, True, "absence.proof_awaited", awaited, provisional=True)
            missing = "aucun justificatif reçu"
            if deadline is not None:
                missing += f" (il était attendu {_deadline_text(deadline)})"
            return AbsenceVerdict(_UNJUSTIFIED, True, "absence.proof_missing", missing)
        if deadline is not None and proof > deadline:
            late = (
                f"justificatif reçu le {format_datetime(proof.astimezone(deadline.tzinfo))}, "
                f"après le délai ({_deadline_text(deadline)})"
            )
            return AbsenceVerdict(_UNJUSTIFIED, True, "absence.proof_late", late)
        return None


@absence_rule
@attrs.frozen
class Carence:
    """*Carence*: the first ``days`` open days of an **illness** are billed (``carence_days``)."""

    days: int = attrs.field(default=0, validator=_non_negative)
    keys: ClassVar[tuple[str, ...]] = ("carence_days",)
    precedence: ClassVar[int] = 50

    @classmethod
    def read(cls, data: Mapping[str, Any], path: str) -> Carence:
        return cls(_days(data, "carence_days", path))

    def settings(self) -> dict[str, Any]:
        return {"carence_days": self.days}

    def decide(self, day: AbsenceDay) -> AbsenceVerdict | None:
        if day.declaration.reason is not AbsenceReason.ILLNESS or day.rank > self.days:
            return None
        if self.days == 1:
            why = "délai de carence (1 jour)"
        else:
            why = f"délai de carence ({_ordinal(day.rank)} jour sur {self.days})"
        return AbsenceVerdict(_JUSTIFIED, True, "absence.carence", why)


@absence_rule
@attrs.frozen
class FirstDaysDue:
    """The first ``days`` open days of **any** absence are billed ("le jour même et le lendemain restent
    dus" is 2; ``days_due``)."""

    days: int = attrs.field(default=0, validator=_non_negative)
    keys: ClassVar[tuple[str, ...]] = ("days_due",)
    precedence: ClassVar[int] = 40

    @classmethod
    def read(cls, data: Mapping[str, Any], path: str) -> FirstDaysDue:
        return cls(_days(data, "days_due", path))

    def settings(self) -> dict[str, Any]:
        return {"days_due": self.days}

    def decide(self, day: AbsenceDay) -> AbsenceVerdict | None:
        rank, days = day.rank, self.days
        if rank > days:
            return None
        if days == 1:
            why = "le premier jour d'absence reste dû"
        elif days == 2:
            why = f"le jour même et le lendemain restent dus ({_ordinal(rank)} jour sur 2)"
        else:
            why = f"les {days} premiers jours d'absence restent dus ({_ordinal(rank)} jour sur {days})"
        return AbsenceVerdict(_JUSTIFIED, True, "absence.first_days_due", why)


@absence_rule
@attrs.frozen
class MinimumLength:
    """An absence of fewer than ``days`` consecutive open days is billed in full (``minimum_days``)."""

    days: int = attrs.field(default=0, validator=_non_negative)
    keys: ClassVar[tuple[str, ...]] = ("minimum_days",)
    precedence: ClassVar[int] = 30

    @classmethod
    def read(cls, data: Mapping[str, Any], path: str) -> MinimumLength:
        return cls(_days(data, "minimum_days", path))

    def settings(self) -> dict[str, Any]:
        return {"minimum_days": self.days}

    def decide(self, day: AbsenceDay) -> AbsenceVerdict | None:
        if day.open_days >= self.days:
            return None
        why = (
            f"une absence n'est remboursée qu'à partir de {self.days} jours de service "
            f"consécutifs (celle-ci en compte {day.open_days})"
        )
        return AbsenceVerdict(_JUSTIFIED, True, "absence.below_minimum_length", why)


_SHIPPED_RULES: Final = (AcceptedReasons, ProofRule, Carence, FirstDaysDue, MinimumLength)


@attrs.frozen
class AbsencePolicy:
    """A service's (or a prestation's) absence rules, as its règlement writes them.

    * ``justified_reasons``: the reasons that can justify an absence (others are unjustified, billed);
    * ``proof_required`` and ``proof_delay``: a proof is needed, within the delay (None: at any time);
    * ``carence_days``: the first N open days of an **illness** are billed;
    * ``days_due``: the first N open days of **any** absence are billed ("the day and the next day are
      due" is 2); carence and days due overlap, both counting from the first open day of absence;
    * ``minimum_days``: an absence of fewer consecutive open days is billed in full;
    * ``extra_rules``: registered absence rules of other kinds (``@absence_rule``).

    Each setting is the value of one registered ``AbsenceRule`` (``rules`` lists them, in the order they
    decide).
    """

    justified_reasons: frozenset[AbsenceReason] = attrs.field(converter=_reasons, default=_DEFAULT_REASONS)
    proof_required: bool = attrs.field(default=False, validator=attrs.validators.instance_of(bool))
    proof_delay: ProofDelay | None = attrs.field(
        default=None, validator=attrs.validators.optional(attrs.validators.instance_of(ProofDelay))
    )
    carence_days: int = attrs.field(default=0, validator=_non_negative)
    days_due: int = attrs.field(default=0, validator=_non_negative)
    minimum_days: int = attrs.field(default=0, validator=_non_negative)
    extra_rules: tuple[AbsenceRule, ...] = attrs.field(default=(), converter=_rule_tuple)
    _rules: tuple[AbsenceRule, ...] = attrs.field(init=False, eq=False, repr=False, hash=False)

    def __attrs_post_init__(self) -> None:
        if self.proof_delay is not None and not self.proof_required:
            raise InvalidInput(
                "a proof delay is given but no proof is required",
                message_fr="Un délai de justificatif est donné alors qu'aucun justificatif n'est exigé.",
                code="absence.delay_without_proof",
            )
        kinds = {type(rule) for rule in self.extra_rules}
        if len(kinds) < len(self.extra_rules) or any(
            kind not in _ABSENCE_RULES.values() or kind in _SHIPPED_RULES for kind in kinds
        ):
            raise InvalidInput(
                "extra absence rules must be registered rules other than the shipped ones, each once",
                code="absence.not_a_rule",
            )
        shipped: list[AbsenceRule] = [
            AcceptedReasons(self.justified_reasons),
            ProofRule(self.proof_required, self.proof_delay),
            Carence(self.carence_days),
            FirstDaysDue(self.days_due),
            MinimumLength(self.minimum_days),
        ]
        rules = sorted([*shipped, *self.extra_rules], key=lambda rule: type(rule).precedence)
        object.__setattr__(self, "_rules", tuple(rules))

    @property
    def rules(self) -> tuple[AbsenceRule, ...]:
        """Every rule of this policy, in the order they decide a day (the first verdict wins)."""
        return self._rules


# -- resolving a declaration ------------------------------------------------------------------


@attrs.frozen
class AbsenceOutcome:
    """What one open day of a declared absence becomes for billing, and why.

    ``rank`` is the day's place among the absence's open days (1 for the first) out of ``open_days``;
    ``proof_deadline`` is the last instant a proof was on time (None when no delay applies).
    """

    day: dt.date
    status: AttendanceStatus
    billed: bool
    code: str
    message_fr: str
    rank: int
    open_days: int
    proof_deadline: dt.datetime | None = None


def _ordinal(n: int) -> str:
    return "1er" if n == 1 else f"{n}e"


def _deadline_text(deadline: dt.datetime) -> str:
    if deadline.time() == dt.time(0, 0):
        # Midnight closes the previous day: say the day a family has, not "0 h 00".
        return f"jusqu'au {format_date(deadline.date() - dt.timedelta(days=1))} inclus"
    return f"avant le {format_datetime(deadline)}"


def _open_absent_days(
    declaration: AbsenceDeclaration, open_days: Iterable[dt.date] | OpeningCalendar
) -> list[dt.date]:
    if isinstance(open_days, OpeningCalendar):
        return [day for day in declaration.days if open_days.is_open(day)]
    chosen: set[dt.date] = set()
    for day in open_days:
        if not isinstance(day, dt.date) or isinstance(day, dt.datetime):
            raise InvalidInput(f"open days must be dates, got {day!r}", code="input.not_a_date")
        if day in declaration.days:
            chosen.add(day)
    return sorted(chosen)


def resolve_absence(
    declaration: AbsenceDeclaration,
    policy: AbsencePolicy,
    open_days: Iterable[dt.date] | OpeningCalendar,
    *,
    timezone: str | None = None,
    now: dt.datetime | None = None,
) -> tuple[AbsenceOutcome, ...]:
    """Each open day of ``declaration`` with its status, whether it is billed, a code and a sentence.

    ``open_days`` are the prestation's open days (any superset of the absence is fine), or its
    ``OpeningCalendar``; days of the declaration that are not open are skipped. ``timezone`` is the
    commune's (by default the opening calendar's, else Europe/Paris); it places the proof deadline.

    Without ``now`` the answer is final: a missing proof is missing. With ``now`` before the proof
    deadline, a missing proof is still awaited (code ``absence.proof_awaited``; billed for now).

    For each day, the first rule that applies decides: reason not accepted; proof missing, awaited or
    late (absent unjustified, billed); fewer consecutive open days than ``minimum_days``; one of the
    first ``days_due`` days; one of the first ``carence_days`` days of an illness (absent justified,
    billed); otherwise absent justified and not billed.
    """
    if now is not None:
        require_aware(now, "now")
    if timezone is None:
        timezone = open_days.calendar.timezone if isinstance(open_days, OpeningCalendar) else DEFAULT_TIMEZONE
    days = _open_absent_days(declaration, open_days)
    count = len(days)
    deadline = None
    if policy.proof_required and policy.proof_delay is not None:
        deadline = policy.proof_delay.deadline(declaration.days.start, timezone)
    outcomes = []
    for rank, day in enumerate(days, start=1):
        verdict = _decide(policy, AbsenceDay(declaration, rank, count, deadline, now))
        said = "facturée" if verdict.billed else "non facturée"
        if verdict.provisional:
            said = "facturée pour l'instant"
        message = f"Absence du {format_date(day)} {said} : {verdict.why}."
        outcomes.append(
            AbsenceOutcome(day, verdict.status, verdict.billed, verdict.code, message, rank, count, deadline)
        )
    return tuple(outcomes)


def _decide(policy: AbsencePolicy, day: AbsenceDay) -> AbsenceVerdict:
    """The first verdict of the policy's rules on ``day``; a day none of them bills is justified."""
    for rule in policy.rules:
        verdict = rule.decide(day)
        if verdict is not None:
            return verdict
    reason = day.declaration.reason
    return AbsenceVerdict(_JUSTIFIED, False, "absence.justified", f"absence justifiée ({reason.label()})")


# -- closures decided by the commune ----------------------------------------------------------


class BookingRef(Protocol):
    """Anything naming a booked child, prestation and date (a basket line, a stored booking…)."""

    @property
    def child_id(self) -> str: ...

    @property
    def prestation_id(self) -> str: ...

    @property
    def day(self) -> dt.date: ...


@attrs.frozen
class BookedDay:
    """A plain booking key: this child has this prestation booked on this date."""

    child_id: str = attrs.field(validator=_non_empty)
    prestation_id: str = attrs.field(validator=_non_empty)
    day: dt.date = attrs.field(validator=plain_date)


def service_closed_facts(
    bookings: Iterable[BookingRef],
    closures: Iterable[Closure] | Mapping[str, Iterable[Closure]],
    *,
    recorded_at: dt.datetime | None = None,
    recorded_by: str | None = None,
) -> tuple[AttendanceFact, ...]:
    """The ``service_closed`` facts of the bookings a commune closure cancels; nothing for families to do.

    ``closures`` apply to every booking given, or, as a mapping, to the bookings of the prestation
    each key names. A booking covered by several closures gets one fact, explained by the first.
    Facts come in date order, then child and prestation; a booking given twice yields one fact.
    """
    if isinstance(closures, Mapping):
        scoped = {key: tuple(value) for key, value in closures.items()}
        everywhere: tuple[Closure, ...] = ()
    else:
        scoped = {}
        everywhere = tuple(closures)
    facts: dict[tuple[dt.date, str, str], AttendanceFact] = {}
    for booking in bookings:
        key = (booking.day, booking.child_id, booking.prestation_id)
        if key in facts:
            continue
        candidates = scoped.get(booking.prestation_id, everywhere)
        closure = next((c for c in candidates if booking.day in c.period), None)
        if closure is None:
            continue
        note = (
            f"Réservation du {format_date(booking.day)} annulée par la commune : {closure.describe()}. "
            "Vous n'avez rien à faire."
        )
        facts[key] = AttendanceFact(
            booking.child_id,
            booking.prestation_id,
            booking.day,
            AttendanceStatus.SERVICE_CLOSED,
            recorded_by=recorded_by,
            recorded_at=recorded_at,
            note=note,
        )
    return tuple(facts[key] for key in sorted(facts))


# -- configuration as data --------------------------------------------------------------------


def _at(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _count(data: Mapping[str, Any], key: str, path: str) -> int | None:
    if key not in data:
        return None
    value = data[key]
    if not isinstance(value, int) or isinstance(value, bool):
        raise InvalidConfiguration(
            f"expected a whole number, got {value!r}", path=_at(path, key), code="config.type"
        )
    if value < 0:
        raise InvalidConfiguration(
            f"expected a number of days or hours >= 0, got {value}", path=_at(path, key), code="config.value"
        )
    return value


_S = TypeVar("_S")


def _take(rules: dict[type, AbsenceRule], kind: type[_S]) -> _S:
    """The shipped rule of ``kind``, out of the rules read (the others are the policy's extra rules)."""
    rule = rules.pop(kind)
    assert isinstance(rule, kind)
    return rule


def absence_policy_from_dict(data: Mapping[str, Any], path: str = "absences") -> AbsencePolicy:
    """Read an ``AbsencePolicy`` from its TOML table (see ``docs/attendance.md``).

    Every key is optional; a missing key takes the policy's default. ``path`` is the table's key path,
    used to locate errors (``services.cantine.absences.carence_days: …``). Each registered absence rule
    reads its own keys.
    """
    # Each rule reads its own keys of the one table (``read(data, path)``); the table refuses the others.
    Table(data, path, keys=[key for kind in _ABSENCE_RULES.values() for key in kind.keys])
    # The shipped rules always apply (their keys have defaults); a commune's own ones when given.
    kinds = [k for k in _ABSENCE_RULES.values() if k in _SHIPPED_RULES or any(key in data for key in k.keys)]
    rules: dict[type, AbsenceRule] = {type(rule): rule for rule in (kind.read(data, path) for kind in kinds)}
    reasons, proof = _take(rules, AcceptedReasons), _take(rules, ProofRule)
    carence, due, minimum = _take(rules, Carence), _take(rules, FirstDaysDue), _take(rules, MinimumLength)
    return AbsencePolicy(
        justified_reasons=reasons.reasons,
        proof_required=proof.required,
        proof_delay=proof.delay,
        carence_days=carence.days,
        days_due=due.days,
        minimum_days=minimum.days,
        extra_rules=tuple(rules.values()),
    )


def absence_policy_to_dict(policy: AbsencePolicy) -> dict[str, Any]:
    """The TOML table of ``policy``; ``absence_policy_from_dict`` reads it back equal."""
    by_kind = {type(rule): rule for rule in policy.rules}
    data: dict[str, Any] = {}
    for kind in _ABSENCE_RULES.values():
        rule = by_kind.get(kind)
        if rule is not None:
            data.update(rule.settings())
    return data
