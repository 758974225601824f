"""Unpaid invoices: a commune's graduated policy (reminder, then blocking new bookings) and its verdict.

A commune may answer unpaid bills step by step: first a reminder (the booking goes through, the
family is told), then, after more days or above an amount, new bookings of some services are
refused. The caller turns its invoices into plain ``Debt`` values (what remains to pay on an
invoice, and its due date), so this module does not depend on how invoices are stored.

Two things are never blocked:

* the school canteen (``ServiceKind.CANTINE``): since the Conseil d'État's decision of
  22 March 2021, access to the school canteen cannot be refused for unpaid bills. A policy that
  names the canteen in a blocking step is refused when it is built, and ``judge_unpaid`` never
  blocks a canteen service even if a service id slipped through;
* a family under an ``UnpaidExemption`` — an agent's decision (a payment plan, a social-services
  follow-up), with an optional end date.

A debt is *past due* once its due date has passed (a debt due today is not late yet).
``judge_unpaid`` is pure: ``today`` is an argument.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from espacefamille._internal.tables import Table
from espacefamille._internal.validators import non_empty, optional_date, plain_date
from espacefamille.errors import InvalidConfiguration, InvalidInput
from espacefamille.model import Service, ServiceKind
from espacefamille.money import ZERO, Money
from espacefamille.text import Lang, format_date

__all__ = [
    "Debt",
    "UnpaidAction",
    "UnpaidDecision",
    "UnpaidExemption",
    "UnpaidOutcome",
    "UnpaidPolicy",
    "UnpaidStep",
    "check_unpaid_policy",
    "judge_unpaid",
    "unpaid_policy_from_dict",
    "unpaid_policy_to_dict",
]


_text = non_empty(code="model.empty")


def _check_date(what: str, value: object) -> None:
    if not isinstance(value, dt.date) or isinstance(value, dt.datetime):
        raise InvalidInput(f"{what} must be a date, got {value!r}", code="input.not_a_date")


@attrs.frozen
class Debt:
    """What a family still owes on one invoice: ``remaining`` (0 € once paid), due on ``due``."""

    invoice: str = attrs.field(validator=_text)
    regie_id: str = attrs.field(validator=_text)
    due: dt.date = attrs.field(validator=plain_date)
    remaining: Money = attrs.field(validator=attrs.validators.instance_of(Money))

    def __attrs_post_init__(self) -> None:
        if self.remaining.is_negative:
            raise InvalidInput(
                f"invoice {self.invoice!r}: a debt cannot be negative, got {self.remaining!r}",
                code="unpaid.negative_debt",
            )

    def days_late(self, today: dt.date) -> int:
        """Whole days since the due date (0 or less while not yet past due)."""
        return (today - self.due).days


class UnpaidAction(enum.Enum):
    """``reminder``: the booking goes through and the family is told; ``block``: it is refused."""

    REMINDER = "reminder"
    BLOCK = "block"


def _kinds(items: Iterable[ServiceKind]) -> frozenset[ServiceKind]:
    return frozenset(items)


def _ids(items: Iterable[str]) -> frozenset[str]:
    if isinstance(items, str):  # a lone id would otherwise become a set of letters
        raise InvalidInput(f"service_ids must be a collection of ids, got {items!r}", code="input.invalid")
    return frozenset(items)


@attrs.frozen
class UnpaidStep:
    """One step of the procedure: it applies when more than ``above`` euros (any amount if ``None``)
    remain unpaid for more than ``after_days`` days (any past-due debt if ``None``) — both
    conditions at once when both are given; "either" is two steps.

    A blocking step names the services it blocks, by kind and/or by id; never the canteen. A
    reminder applies to every booking unless it names services too.
    """

    action: UnpaidAction = attrs.field(validator=attrs.validators.instance_of(UnpaidAction))
    after_days: int | None = None
    above: Money | None = attrs.field(
        default=None, validator=attrs.validators.optional(attrs.validators.instance_of(Money))
    )
    service_kinds: frozenset[ServiceKind] = attrs.field(converter=_kinds, factory=frozenset)
    service_ids: frozenset[str] = attrs.field(converter=_ids, factory=frozenset)

    def __attrs_post_init__(self) -> None:
        if self.after_days is not None and (
            isinstance(self.after_days, bool) or not isinstance(self.after_days, int) or self.after_days < 0
        ):
            raise InvalidInput(
                f"after_days must be a whole number >= 0, got {self.after_days!r}",
                code="unpaid.negative_days",
            )
        if self.above is not None and self.above.is_negative:
            raise InvalidInput(
                f"above must be at least 0 €, got {self.above!r}", code="unpaid.negative_amount"
            )
        if self.after_days is None and self.above is None:
            raise InvalidInput("a step needs after_days, above or both", code="unpaid.no_trigger")
        if self.action is UnpaidAction.BLOCK and not (self.service_kinds or self.service_ids):
            raise InvalidInput(
                "a blocking step must name the services it blocks", code="unpaid.block_without_services"
            )
        if self.action is UnpaidAction.BLOCK and ServiceKind.CANTINE in self.service_kinds:
            raise InvalidInput(
                "the school canteen cannot be blocked for unpaid bills (Conseil d'État, 22 March 2021)",
                message_fr="La cantine scolaire ne peut pas être refusée pour impayés (CE, 22 mars 2021).",
                code="unpaid.canteen_not_blockable",
            )

    def concerns(self, service: Service) -> bool:
        return (not self.service_kinds and not self.service_ids) or (
            service.kind in self.service_kinds or service.id in self.service_ids
        )

    def debts_behind(self, debts: Iterable[Debt], today: dt.date) -> tuple[Debt, ...] | None:
        """The debts that set this step off on ``today``, or ``None`` when it does not apply."""
        late = tuple(d for d in debts if d.remaining and d.days_late(today) > (self.after_days or 0))
        total = Money.total(d.remaining for d in late)
        return late if late and total > (self.above or ZERO) else None


def _steps(items: Iterable[UnpaidStep]) -> tuple[UnpaidStep, ...]:
    return tuple(items)


@attrs.frozen
class UnpaidPolicy:
    """A commune's graduated steps, in the order of its règlement (later steps are the sterner ones).

    ``same_regie_only``: only the debts owed to the régie of the service being booked count.
    """

    steps: tuple[UnpaidStep, ...] = attrs.field(
        converter=_steps,
        default=(),
        validator=attrs.validators.deep_iterable(attrs.validators.instance_of(UnpaidStep)),
    )
    same_regie_only: bool = False


@attrs.frozen
class UnpaidExemption:
    """An agent's decision that a family is not blocked for unpaid bills, from ``since`` until
    ``until`` included (open-ended if ``None``). Reminders still apply."""

    granted_by: str = attrs.field(validator=_text)
    since: dt.date = attrs.field(validator=plain_date)
    until: dt.date | None = attrs.field(default=None, validator=optional_date)
    reason: str = ""

    def __attrs_post_init__(self) -> None:
        if self.until is not None and self.until < self.since:
            raise InvalidInput("an exemption cannot end before it starts", code="input.end_before_start")

    def covers(self, today: dt.date) -> bool:
        return self.since <= today and (self.until is None or today <= self.until)


class UnpaidOutcome(enum.Enum):
    """From the mildest to the sternest (``rank``)."""

    ALLOWED = "allowed"
    REMINDER = "reminder"
    BLOCKED = "blocked"

    @property
    def rank(self) -> int:
        return list(UnpaidOutcome).index(self)


@attrs.frozen
class UnpaidDecision:
    """The verdict for one booking of ``service``: an outcome, a stable code, the step behind it,
    the amount that step counts and the oldest due date among its debts, and a parent's sentence.

    Codes: ``unpaid.clear``, ``unpaid.reminder``, ``unpaid.blocked``, ``unpaid.canteen_protected``
    (a block would apply, but the canteen stays open), ``unpaid.exempt`` (a block would apply, but
    the family is exempt). The last two are reminders: the booking goes through, the family is told.
    """

    outcome: UnpaidOutcome
    code: str
    message_fr: str
    message: str
    step: UnpaidStep | None = None
    amount: Money = ZERO
    since: dt.date | None = None

    @property
    def is_blocked(self) -> bool:
        return self.outcome is UnpaidOutcome.BLOCKED

    def explain(self, lang: Lang = "fr") -> str:
        return self.message_fr if lang == "fr" else self.message


def _detail(step: UnpaidStep, amount: Money, since: dt.date) -> tuple[str, str]:
    days = step.after_days or 0
    why_fr = ["plus d'un jour" if days == 1 else f"plus de {days} jours"] if days else []
    why_en = [f"over {days} day{'s' if days > 1 else ''}"] if days else []
    if step.above:
        why_fr.append(f"au-delà du seuil de {step.above.format('fr')}")
        why_en.append(f"above {step.above.format('en')}")
    verb = "reste impayé" if amount.cents < 200 else "restent impayés"
    fr = f"{amount.format('fr')} {verb} depuis le {format_date(since, 'fr')}"
    en = f"{amount.format('en')} unpaid since {format_date(since, 'en')}"
    if why_fr:
        fr, en = f"{fr} ({', '.join(why_fr)})", f"{en} ({', '.join(why_en)})"
    return (
        f"{fr}. Réglez vos factures ou contactez la régie.",
        f"{en}. Please pay your invoices or contact the régie.",
    )


_LEADS = {
    "unpaid.reminder": ("Rappel : ", "Reminder: "),
    "unpaid.blocked": ("Réservation impossible : ", "Booking not possible: "),
    "unpaid.canteen_protected": (
        "La cantine reste ouverte à votre enfant malgré les factures impayées. ",
        "The canteen stays open to your child despite the unpaid invoices. ",
    ),
}
# Which verdict wins when several steps apply: the sternest, then the later step.
_RANK = {"unpaid.reminder": 1, "unpaid.exempt": 2, "unpaid.canteen_protected": 2, "unpaid.blocked": 3}


def judge_unpaid(
    policy: UnpaidPolicy,
    debts: Iterable[Debt],
    service: Service,
    today: dt.date,
    exemption: UnpaidExemption | None = None,
) -> UnpaidDecision:
    """Whether the family owing ``debts`` may book ``service`` on ``today`` under ``policy``."""
    _check_date("today", today)
    owed = [d for d in debts if not policy.same_regie_only or d.regie_id == service.regie_id]
    exempt = exemption is not None and exemption.covers(today)
    best: tuple[int, str, UnpaidStep, tuple[Debt, ...]] | None = None
    for step in policy.steps:
        behind = step.debts_behind(owed, today)
        if behind is None:
            continue
        code = "unpaid.reminder"
        if step.action is UnpaidAction.BLOCK:
            if service.kind is ServiceKind.CANTINE:
                code = "unpaid.canteen_protected"
            elif step.concerns(service):
                code = "unpaid.exempt" if exempt else "unpaid.blocked"
        elif not step.concerns(service):
            continue
        if best is None or _RANK[code] >= best[0]:
            best = (_RANK[code], code, step, behind)
    if best is None:
        fr, en = "Aucune facture impayée ne bloque la réservation.", "No unpaid invoice prevents booking."
        return UnpaidDecision(UnpaidOutcome.ALLOWED, "unpaid.clear", fr, en)
    _, code, step, behind = best
    amount, since = Money.total(d.remaining for d in behind), min(d.due for d in behind)
    fr, en = _detail(step, amount, since)
    if code == "unpaid.exempt":
        assert exemption is not None
        until_fr = f" jusqu'au {format_date(exemption.until, 'fr')}" if exemption.until else ""
        until_en = f" until {format_date(exemption.until, 'en')}" if exemption.until else ""
        lead_fr = (
            f"Réservation possible grâce à l'exemption accordée par la régie{until_fr}, "
            "mais vos factures sont toujours dues : "
        )
        lead_en = (
            f"Booking possible thanks to the exemption granted by the régie{until_en}, "
            "but your invoices are still due: "
        )
    else:
        lead_fr, lead_en = _LEADS[code]
    outcome = UnpaidOutcome.BLOCKED if code == "unpaid.blocked" else UnpaidOutcome.REMINDER
    return UnpaidDecision(outcome, code, lead_fr + fr, lead_en + en, step, amount, since)


def check_unpaid_policy(policy: UnpaidPolicy, services: Iterable[Service], path: str = "unpaid") -> None:
    """Refuse service ids a commune does not have, or that name a canteen service (load time)."""
    known = {service.id: service for service in services}
    for index, step in enumerate(policy.steps):
        for service_id in sorted(step.service_ids):
            where = f"{path}.steps[{index}].service_ids"
            if service_id not in known:
                raise InvalidConfiguration(
                    f"unknown service {service_id!r}", path=where, code="unpaid.unknown_service"
                )
            if step.action is UnpaidAction.BLOCK and known[service_id].kind is ServiceKind.CANTINE:
                raise InvalidConfiguration(
                    f"{service_id!r} is a school canteen, which cannot be blocked for unpaid bills",
                    path=where,
                    message_fr="La cantine scolaire ne peut pas être refusée pour impayés.",
                    code="unpaid.canteen_not_blockable",
                )


# -- configuration as data --------------------------------------------------------------------

_POLICY_KEYS = ("same_regie_only", "steps")
_STEP_KEYS = ("action", "after_days", "above", "service_kinds", "service_ids")


def _step_from_dict(table: Table) -> UnpaidStep:
    action_name = table.raw("action")
    try:
        action = UnpaidAction(action_name)
    except ValueError:
        raise InvalidConfiguration(
            f"unknown action {action_name!r} (expected 'reminder' or 'block')",
            path=table.at("action"),
            code="unpaid.unknown_action",
        ) from None
    days = table.integer("after_days", None, label="a whole number of days")
    above_label = 'an amount written as a string ("50.00")'
    above = table.amount("above", None, label=above_label)
    if isinstance(above, int):
        raise table.wrong("above", above_label, above)
    kind_names, service_ids = table.strings("service_kinds"), table.strings("service_ids")
    kinds = []
    for index, kind in enumerate(kind_names):
        try:
            kinds.append(ServiceKind(kind))
        except ValueError:
            expected = ", ".join(repr(member.value) for member in ServiceKind)
            raise InvalidConfiguration(
                f"unknown service kind {kind!r} (expected one of {expected})",
                path=f"{table.at('service_kinds')}[{index}]",
                code="config.choice",
            ) from None
    try:
        amount = None if above is None else Money(above)
        return UnpaidStep(action, days, amount, kinds, service_ids)
    except InvalidInput as error:
        # The step's own checks say which key they are about by their code.
        key = _ERROR_KEYS.get(error.code, "above" if error.code.startswith("money.") else "")
        raise InvalidConfiguration(
            error.message, path=table.at(key), message_fr=error.message_fr, code=error.code
        ) from None


_ERROR_KEYS = {
    "unpaid.negative_days": "after_days",
    "unpaid.negative_amount": "above",
    "unpaid.canteen_not_blockable": "service_kinds",
}


def unpaid_policy_from_dict(data: Mapping[str, Any], path: str = "unpaid") -> UnpaidPolicy:
    """An ``UnpaidPolicy`` from its TOML table (``[unpaid]`` with ``[[unpaid.steps]]``, see
    ``docs/unpaid.md``); errors are ``InvalidConfiguration`` naming the key under ``path``."""
    table = Table(data, path, keys=_POLICY_KEYS)
    same_regie = table.boolean("same_regie_only", False)
    steps = table.array("steps", "an array of tables ([[unpaid.steps]])", keys=_STEP_KEYS)
    return UnpaidPolicy(tuple(_step_from_dict(step) for step in steps), same_regie)


def unpaid_policy_to_dict(policy: UnpaidPolicy) -> dict[str, Any]:
    """The TOML table of ``policy``; ``unpaid_policy_from_dict`` reads it back equal."""
    steps: list[dict[str, Any]] = []
    for step in policy.steps:
        item: dict[str, Any] = {"action": step.action.value}
        if step.after_days is not None:
            item["after_days"] = step.after_days
        if step.above is not None:
            item["above"] = str(step.above.amount)
        if step.service_kinds:
            item["service_kinds"] = sorted(kind.value for kind in step.service_kinds)
        if step.service_ids:
            item["service_ids"] = sorted(step.service_ids)
        steps.append(item)
    return {"same_regie_only": policy.same_regie_only, "steps": steps}
