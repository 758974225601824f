"""The graduated unpaid-invoices policy of a commune: reminders, blocked bookings, the canteen that
stays open (Conseil d'État, 22 March 2021) and the agent's exemption, pinned to real dates of the
2026-2027 school year. Invoice F-2026-0912 fell due on Monday 5 October 2026."""

from __future__ import annotations

import datetime as dt
import tomllib
from typing import Any

import pytest
import tomli_w

from espacefamille.commune import Commune
from espacefamille.errors import InvalidConfiguration, InvalidInput
from espacefamille.model import Service, ServiceKind
from espacefamille.money import ZERO, Money
from espacefamille.rules.unpaid import (
    Debt,
    UnpaidAction,
    UnpaidExemption,
    UnpaidOutcome,
    UnpaidPolicy,
    UnpaidStep,
    check_unpaid_policy,
    judge_unpaid,
    unpaid_policy_from_dict,
    unpaid_policy_to_dict,
)

CANTINE = Service("cantine", "Restauration scolaire", ServiceKind.CANTINE, "enfance")
PERISCOLAIRE = Service("periscolaire", "Accueil périscolaire", ServiceKind.PERISCOLAIRE, "enfance")
ALSH = Service("alsh", "Centre de loisirs", ServiceKind.ALSH, "loisirs")
ETUDE = Service("etude", "Études surveillées", ServiceKind.ETUDE, "enfance")

# The règlement of Saint-Aubin: a reminder after 15 days, then no new périscolaire or ALSH
# bookings once more than 50 € remain unpaid for more than 30 days.
SAINT_AUBIN = unpaid_policy_from_dict(
    tomllib.loads(
        """
        [[steps]]
        action = "reminder"
        after_days = 15

        [[steps]]
        action = "block"
        after_days = 30
        above = "50.00"
        service_kinds = ["periscolaire", "alsh"]
        """
    )
)
OCTOBER = Debt("F-2026-0912", "enfance", dt.date(2026, 10, 5), Money("86.40"))


def test_a_debt_due_today_is_not_late_yet() -> None:
    decision = judge_unpaid(SAINT_AUBIN, [OCTOBER], PERISCOLAIRE, dt.date(2026, 10, 5))
    assert decision.outcome is UnpaidOutcome.ALLOWED
    assert decision.code == "unpaid.clear"
    assert (decision.step, decision.amount, decision.since) == (None, ZERO, None)
    assert not decision.is_blocked


def test_the_reminder_comes_on_the_sixteenth_day_and_the_booking_goes_through() -> None:
    assert judge_unpaid(SAINT_AUBIN, [OCTOBER], PERISCOLAIRE, dt.date(2026, 10, 20)).code == "unpaid.clear"
    decision = judge_unpaid(SAINT_AUBIN, [OCTOBER], PERISCOLAIRE, dt.date(2026, 10, 21))
    assert decision.outcome is UnpaidOutcome.REMINDER
    assert decision.code == "unpaid.reminder"
    assert decision.step == SAINT_AUBIN.steps[0]
    assert decision.message_fr == (
        "Rappel : 86,40\xa0€ restent impayés depuis le lundi 5 octobre 2026 (plus de 15 jours). "
        "Réglez vos factures ou contactez la régie."
    )


def test_periscolaire_is_blocked_from_the_thirty_first_day() -> None:
    on_day_30 = judge_unpaid(SAINT_AUBIN, [OCTOBER], PERISCOLAIRE, dt.date(2026, 11, 4))
    assert on_day_30.code == "unpaid.reminder"
    decision = judge_unpaid(SAINT_AUBIN, [OCTOBER], PERISCOLAIRE, dt.date(2026, 11, 5))
    assert decision.is_blocked
    assert decision.code == "unpaid.blocked"
    assert decision.step == SAINT_AUBIN.steps[1]
    assert (decision.amount, decision.since) == (Money("86.40"), dt.date(2026, 10, 5))
    assert decision.message_fr == (
        "Réservation impossible : 86,40\xa0€ restent impayés depuis le lundi 5 octobre 2026 "
        "(plus de 30 jours, au-delà du seuil de 50,00\xa0€). Réglez vos factures ou contactez la régie."
    )
    assert decision.explain("en") == (
        "Booking not possible: €86.40 unpaid since Monday 5 October 2026 (over 30 days, above €50.00). "
        "Please pay your invoices or contact the régie."
    )


def test_the_canteen_stays_open_when_periscolaire_is_blocked() -> None:
    decision = judge_unpaid(SAINT_AUBIN, [OCTOBER], CANTINE, dt.date(2026, 11, 12))
    assert not decision.is_blocked
    assert decision.outcome is UnpaidOutcome.REMINDER
    assert decision.code == "unpaid.canteen_protected"
    assert decision.message_fr.startswith(
        "La cantine reste ouverte à votre enfant malgré les factures impayées. 86,40\xa0€ restent impayés"
    )


def test_the_canteen_gets_a_plain_reminder_when_nothing_is_blocked() -> None:
    decision = judge_unpaid(SAINT_AUBIN, [OCTOBER], CANTINE, dt.date(2026, 10, 21))
    assert decision.code == "unpaid.reminder"


def test_a_canteen_service_named_by_id_is_still_never_blocked() -> None:
    policy = UnpaidPolicy([UnpaidStep(UnpaidAction.BLOCK, after_days=0, service_ids=["cantine"])])
    decision = judge_unpaid(policy, [OCTOBER], CANTINE, dt.date(2026, 12, 1))
    assert decision.code == "unpaid.canteen_protected"


def test_a_policy_blocking_the_canteen_cannot_be_built() -> None:
    with pytest.raises(InvalidInput) as error:
        UnpaidStep(UnpaidAction.BLOCK, after_days=30, service_kinds=[ServiceKind.CANTINE, ServiceKind.ALSH])
    assert error.value.code == "unpaid.canteen_not_blockable"
    assert "22 mars 2021" in error.value.message_fr


def test_a_canteen_reminder_is_allowed() -> None:
    step = UnpaidStep(UnpaidAction.REMINDER, after_days=0, service_kinds=[ServiceKind.CANTINE])
    policy = UnpaidPolicy([step])
    assert judge_unpaid(policy, [OCTOBER], CANTINE, dt.date(2026, 10, 6)).code == "unpaid.reminder"
    # A reminder that names services says nothing to the others.
    assert judge_unpaid(policy, [OCTOBER], ALSH, dt.date(2026, 10, 6)).code == "unpaid.clear"


def test_exactly_the_threshold_is_not_above_it() -> None:
    at_threshold = Debt("F-2026-0913", "enfance", dt.date(2026, 10, 5), Money("50.00"))
    assert judge_unpaid(SAINT_AUBIN, [at_threshold], ALSH, dt.date(2026, 11, 30)).code == "unpaid.reminder"
    one_cent_more = Debt("F-2026-0914", "enfance", dt.date(2026, 10, 5), Money("0.01"))
    blocked = judge_unpaid(SAINT_AUBIN, [at_threshold, one_cent_more], ALSH, dt.date(2026, 11, 30))
    assert blocked.code == "unpaid.blocked"
    assert blocked.amount == Money("50.01")


def test_only_debts_late_long_enough_count_towards_the_threshold() -> None:
    recent = Debt("F-2026-1105", "enfance", dt.date(2026, 11, 5), Money("120.00"))
    small_old = Debt("F-2026-0915", "enfance", dt.date(2026, 9, 15), Money("30.00"))
    # 150 € are late on 20 November, but only 30 € for more than 30 days.
    decision = judge_unpaid(SAINT_AUBIN, [recent, small_old], PERISCOLAIRE, dt.date(2026, 11, 20))
    assert decision.code == "unpaid.reminder"
    assert (decision.amount, decision.since) == (Money("30.00"), dt.date(2026, 9, 15))


def test_the_oldest_due_date_is_reported_with_the_total() -> None:
    september = Debt("F-2026-0815", "enfance", dt.date(2026, 9, 7), Money("41.20"))
    decision = judge_unpaid(SAINT_AUBIN, [OCTOBER, september], ALSH, dt.date(2026, 11, 16))
    assert (decision.amount, decision.since) == (Money("127.60"), dt.date(2026, 9, 7))
    assert "depuis le lundi 7 septembre 2026" in decision.message_fr


def test_paid_invoices_do_not_count() -> None:
    paid = Debt("F-2026-0912", "enfance", dt.date(2026, 10, 5), ZERO)
    assert judge_unpaid(SAINT_AUBIN, [paid], PERISCOLAIRE, dt.date(2027, 1, 4)).code == "unpaid.clear"


def test_either_condition_is_written_as_two_steps() -> None:
    policy = UnpaidPolicy(
        [
            UnpaidStep(UnpaidAction.BLOCK, after_days=60, service_kinds=[ServiceKind.ALSH]),
            UnpaidStep(UnpaidAction.BLOCK, above=Money("200.00"), service_kinds=[ServiceKind.ALSH]),
        ]
    )
    small_but_old = judge_unpaid(policy, [OCTOBER], ALSH, dt.date(2026, 12, 7))
    assert small_but_old.code == "unpaid.blocked"
    assert "(plus de 60 jours)" in small_but_old.message_fr
    big = Debt("F-2026-1130", "loisirs", dt.date(2026, 11, 30), Money("240.00"))
    recent_but_big = judge_unpaid(policy, [big], ALSH, dt.date(2026, 12, 1))
    assert recent_but_big.code == "unpaid.blocked"
    assert "(au-delà du seuil de 200,00\xa0€)" in recent_but_big.message_fr


def test_a_block_for_other_services_is_only_a_reminder_here() -> None:
    decision = judge_unpaid(SAINT_AUBIN, [OCTOBER], ETUDE, dt.date(2026, 11, 16))
    assert decision.outcome is UnpaidOutcome.REMINDER
    assert decision.code == "unpaid.reminder"
    assert decision.step == SAINT_AUBIN.steps[1]


def test_a_blocking_step_by_service_id() -> None:
    policy = UnpaidPolicy([UnpaidStep(UnpaidAction.BLOCK, after_days=30, service_ids=["etude"])])
    assert judge_unpaid(policy, [OCTOBER], ETUDE, dt.date(2026, 11, 16)).code == "unpaid.blocked"
    assert judge_unpaid(policy, [OCTOBER], PERISCOLAIRE, dt.date(2026, 11, 16)).code == "unpaid.reminder"


def test_same_regie_only_counts_the_debts_of_the_service_regie() -> None:
    policy = UnpaidPolicy(SAINT_AUBIN.steps, same_regie_only=True)
    # The October invoice is owed to the "enfance" régie; the ALSH is run by "loisirs".
    assert judge_unpaid(policy, [OCTOBER], ALSH, dt.date(2026, 11, 16)).code == "unpaid.clear"
    assert judge_unpaid(policy, [OCTOBER], PERISCOLAIRE, dt.date(2026, 11, 16)).code == "unpaid.blocked"


def test_an_exempt_family_is_told_but_not_blocked_until_its_exemption_ends() -> None:
    exemption = UnpaidExemption(
        "agent.martin", dt.date(2026, 11, 2), dt.date(2026, 12, 31), reason="échéancier signé"
    )
    decision = judge_unpaid(SAINT_AUBIN, [OCTOBER], PERISCOLAIRE, dt.date(2026, 11, 16), exemption)
    assert decision.outcome is UnpaidOutcome.REMINDER
    assert decision.code == "unpaid.exempt"
    assert decision.message_fr.startswith(
        "Réservation possible grâce à l'exemption accordée par la régie jusqu'au jeudi 31 décembre 2026, "
        "mais vos factures sont toujours dues : 86,40\xa0€ restent impayés depuis le lundi 5 octobre 2026"
    )
    assert decision.explain("en").startswith(
        "Booking possible thanks to the exemption granted by the régie until Thursday 31 December 2026, "
        "but your invoices are still due: €86.40 unpaid since"
    )
    # Reminders still apply to an exempt family.
    assert judge_unpaid(SAINT_AUBIN, [OCTOBER], PERISCOLAIRE, dt.date(2026, 10, 21), exemption).code == (
        "unpaid.reminder"
    )
    # Back from the Christmas holidays, the exemption is over.
    after = judge_unpaid(SAINT_AUBIN, [OCTOBER], PERISCOLAIRE, dt.date(2027, 1, 4), exemption)
    assert after.code == "unpaid.blocked"


def test_an_open_ended_exemption() -> None:
    exemption = UnpaidExemption("agent.martin", dt.date(2026, 11, 2))
    assert exemption.covers(dt.date(2027, 7, 6))
    assert not exemption.covers(dt.date(2026, 11, 1))
    decision = judge_unpaid(SAINT_AUBIN, [OCTOBER], ALSH, dt.date(2027, 2, 15), exemption)
    # No end date to announce: the exemption holds until the régie revokes it.
    assert decision.message_fr.startswith(
        "Réservation possible grâce à l'exemption accordée par la régie, mais vos factures sont toujours dues"
    )
    assert decision.explain("en").startswith(
        "Booking possible thanks to the exemption granted by the régie, but"
    )


def test_small_amounts_and_one_day_read_in_the_singular() -> None:
    policy = UnpaidPolicy([UnpaidStep(UnpaidAction.REMINDER, after_days=1)])
    small = Debt("F-2026-1201", "enfance", dt.date(2026, 12, 1), Money("1.90"))
    decision = judge_unpaid(policy, [small], PERISCOLAIRE, dt.date(2026, 12, 3))
    assert decision.message_fr == (
        "Rappel : 1,90\xa0€ reste impayé depuis le mardi 1er décembre 2026 (plus d'un jour). "
        "Réglez vos factures ou contactez la régie."
    )
    assert decision.explain("en").startswith(
        "Reminder: €1.90 unpaid since Tuesday 1 December 2026 (over 1 day)."
    )


def test_no_step_means_nothing_is_ever_blocked() -> None:
    assert judge_unpaid(UnpaidPolicy(), [OCTOBER], ALSH, dt.date(2027, 6, 1)).code == "unpaid.clear"


@pytest.mark.parametrize(
    ("make", "code"),
    [
        (lambda: Debt("F-1", "enfance", dt.date(2026, 10, 5), Money("-5.00")), "unpaid.negative_debt"),
        (lambda: Debt("", "enfance", dt.date(2026, 10, 5), ZERO), "model.empty"),
        (lambda: Debt("F-1", "enfance", dt.datetime(2026, 10, 5), ZERO), "input.not_a_date"),
        (lambda: UnpaidStep(UnpaidAction.REMINDER, after_days=-1), "unpaid.negative_days"),
        (lambda: UnpaidStep(UnpaidAction.REMINDER, above=Money("-1")), "unpaid.negative_amount"),
        (lambda: UnpaidStep(UnpaidAction.REMINDER), "unpaid.no_trigger"),
        (lambda: UnpaidStep(UnpaidAction.BLOCK, after_days=30), "unpaid.block_without_services"),
        (
            lambda: UnpaidExemption("agent.martin", dt.date(2026, 12, 1), dt.date(2026, 11, 1)),
            "input.end_before_start",
        ),
        (
            lambda: judge_unpaid(SAINT_AUBIN, [], ALSH, dt.datetime(2026, 11, 5, 9, 0)),
            "input.not_a_date",
        ),
    ],
)
def test_impossible_values_are_refused(make: Any, code: str) -> None:
    with pytest.raises(InvalidInput) as error:
        make()
    assert error.value.code == code


# -- configuration ------------------------------------------------------------------------------

TOML = """
[unpaid]
same_regie_only = true

[[unpaid.steps]]
action = "reminder"
after_days = 15

[[unpaid.steps]]
action = "block"
after_days = 30
above = "50.00"
service_kinds = ["periscolaire", "alsh"]
service_ids = ["etude"]
"""


def test_the_toml_table_round_trips() -> None:
    policy = unpaid_policy_from_dict(tomllib.loads(TOML)["unpaid"])
    assert policy.same_regie_only
    assert policy.steps[1] == UnpaidStep(
        UnpaidAction.BLOCK,
        after_days=30,
        above=Money("50.00"),
        service_kinds=[ServiceKind.PERISCOLAIRE, ServiceKind.ALSH],
        service_ids=["etude"],
    )
    text = tomli_w.dumps({"unpaid": unpaid_policy_to_dict(policy)})
    assert unpaid_policy_from_dict(tomllib.loads(text)["unpaid"]) == policy
    assert unpaid_policy_from_dict({}) == UnpaidPolicy()


def _block(**changes: Any) -> dict[str, Any]:
    step: dict[str, Any] = {"action": "block", "after_days": 30, "service_kinds": ["alsh"]}
    step.update(changes)
    return {"steps": [{"action": "reminder", "after_days": 15}, step]}


@pytest.mark.parametrize(
    ("data", "path", "code"),
    [
        (_block(after_days=-3), "unpaid.steps[1].after_days", "unpaid.negative_days"),
        (_block(after_days="30"), "unpaid.steps[1].after_days", "config.type"),
        (_block(after_day=30), "unpaid.steps[1].after_day", "config.unknown_key"),
        ({"step": []}, "unpaid.step", "config.unknown_key"),
        (_block(action="suspend"), "unpaid.steps[1].action", "unpaid.unknown_action"),
        ({"steps": [{"after_days": 3}]}, "unpaid.steps[0].action", "config.missing_key"),
        (
            _block(service_kinds=["periscolaire", "cantine"]),
            "unpaid.steps[1].service_kinds",
            "unpaid.canteen_not_blockable",
        ),
        (_block(service_kinds=["piscine"]), "unpaid.steps[1].service_kinds[0]", "config.choice"),
        (_block(service_kinds="alsh"), "unpaid.steps[1].service_kinds", "config.type"),
        (_block(service_ids=[3]), "unpaid.steps[1].service_ids", "config.type"),
        (_block(above=50.0), "unpaid.steps[1].above", "config.float_amount"),
        (_block(above=50), "unpaid.steps[1].above", "config.type"),
        (_block(above="50.005"), "unpaid.steps[1].above", "money.sub_cent"),
        (_block(above="cinquante"), "unpaid.steps[1].above", "money.not_a_number"),
        (_block(above="-1.00"), "unpaid.steps[1].above", "unpaid.negative_amount"),
        (_block(service_kinds=[]), "unpaid.steps[1]", "unpaid.block_without_services"),
        ({"steps": [{"action": "reminder"}]}, "unpaid.steps[0]", "unpaid.no_trigger"),
        ({"steps": [7]}, "unpaid.steps[0]", "config.type"),
        ({"steps": {"action": "block"}}, "unpaid.steps", "config.type"),
        ({"same_regie_only": "yes"}, "unpaid.same_regie_only", "config.type"),
    ],
)
def test_bad_configuration_names_the_key_and_a_stable_code(
    data: dict[str, Any], path: str, code: str
) -> None:
    with pytest.raises(InvalidConfiguration) as error:
        unpaid_policy_from_dict(data, "unpaid")
    assert (error.value.path, error.value.code) == (path, code)


def test_a_table_is_expected() -> None:
    with pytest.raises(InvalidConfiguration) as error:
        unpaid_policy_from_dict(["steps"], "unpaid")  # type: ignore[arg-type]
    assert (error.value.path, error.value.code) == ("unpaid", "config.type")


def test_service_ids_are_checked_against_the_commune(commune: Commune) -> None:
    check_unpaid_policy(SAINT_AUBIN, commune.services)
    by_id = UnpaidPolicy([UnpaidStep(UnpaidAction.BLOCK, after_days=30, service_ids=["alsh", "cantine"])])
    with pytest.raises(InvalidConfiguration) as error:
        check_unpaid_policy(by_id, commune.services)
    assert (error.value.path, error.value.code) == (
        "unpaid.steps[0].service_ids",
        "unpaid.canteen_not_blockable",
    )
    unknown = UnpaidPolicy([UnpaidStep(UnpaidAction.REMINDER, after_days=3, service_ids=["piscine"])])
    with pytest.raises(InvalidConfiguration) as error:
        check_unpaid_policy(unknown, commune.services)
    assert error.value.code == "unpaid.unknown_service"


def test_the_sternest_step_wins_whatever_the_order_of_the_steps() -> None:
    policy = UnpaidPolicy(reversed(SAINT_AUBIN.steps))
    assert judge_unpaid(policy, [OCTOBER], ALSH, dt.date(2026, 11, 16)).code == "unpaid.blocked"


def test_a_lone_service_id_is_not_taken_for_a_list_of_letters() -> None:
    with pytest.raises(InvalidInput):
        UnpaidStep(UnpaidAction.BLOCK, after_days=30, service_ids="alsh")
