"""Attendance facts and absences as a commune's règlement states them, on real dates of 2026-27.

The canteen of Saint-Aubin-des-Prés (the example commune, zone B) serves meals on Monday, Tuesday,
Thursday and Friday; Wednesday 11 November 2026 is the Armistice; the Christmas holidays run from
Saturday 19 December 2026 after class to Monday 4 January 2027 in the morning; the canteen is closed
for an outing on Friday 18 December 2026.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any, ClassVar

import attrs
import pytest

from espacefamille.calendar import Closure, ClosureReason, DateRange, OpeningCalendar, time_zone
from espacefamille.commune import Commune
from espacefamille.errors import InvalidConfiguration, InvalidInput
from espacefamille.rules import attendance
from espacefamille.rules.attendance import (
    AbsenceDay,
    AbsenceDeclaration,
    AbsenceOutcome,
    AbsencePolicy,
    AbsenceReason,
    AbsenceVerdict,
    AcceptedReasons,
    AttendanceFact,
    AttendanceStatus,
    BookedDay,
    Carence,
    DelayUnit,
    FirstDaysDue,
    MinimumLength,
    ProofDelay,
    ProofRule,
    absence_policy_from_dict,
    absence_policy_to_dict,
    absence_rule,
    absence_rules,
    resolve_absence,
    service_closed_facts,
)

D = dt.date
PARIS = time_zone("Europe/Paris")
JUSTIFIED = AttendanceStatus.ABSENT_JUSTIFIED
UNJUSTIFIED = AttendanceStatus.ABSENT_UNJUSTIFIED


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=PARIS)


@pytest.fixture
def canteen(commune: Commune) -> OpeningCalendar:
    return commune.opening_calendar("repas")


def illness(
    start: dt.date, end: dt.date, proof: dt.datetime | None = None, declared: dt.datetime | None = None
) -> AbsenceDeclaration:
    declared_at = declared or dt.datetime.combine(start, dt.time(7, 30), PARIS)
    return AbsenceDeclaration("lea", DateRange(start, end), AbsenceReason.ILLNESS, declared_at, proof)


def summary(outcomes: tuple[AbsenceOutcome, ...]) -> list[tuple[dt.date, bool, str]]:
    return [(o.day, o.billed, o.code) for o in outcomes]


# -- the statuses -----------------------------------------------------------------------------


def test_the_six_statuses_billing_keys_on() -> None:
    assert {status.value for status in AttendanceStatus} == {
        "present",
        "absent_justified",
        "absent_unjustified",
        "present_unbooked",
        "cancelled_in_time",
        "service_closed",
    }
    assert AttendanceStatus.SERVICE_CLOSED.code == "attendance.service_closed"
    assert AttendanceStatus.ABSENT_JUSTIFIED.label() == "absence justifiée"
    assert AttendanceStatus.PRESENT_UNBOOKED.label("en") == "present without booking"


def test_an_agent_records_a_fact_with_an_aware_instant() -> None:
    fact = AttendanceFact(
        "lea", "repas", D(2026, 11, 16), AttendanceStatus.PRESENT, "agent.martin", at(2026, 11, 16, 12, 5)
    )
    assert fact.code == "attendance.present"
    assert fact.note == ""


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"recorded_at": dt.datetime(2026, 11, 16, 12, 5)}, "input.naive_datetime"),
        ({"day": dt.datetime(2026, 11, 16, 12, 5, tzinfo=PARIS)}, "input.not_a_date"),
        ({"child_id": " "}, "input.empty"),
    ],
)
def test_a_fact_refuses_naive_instants_datetimes_as_days_and_empty_ids(
    kwargs: dict[str, Any], code: str
) -> None:
    fields: dict[str, Any] = {
        "child_id": "lea",
        "prestation_id": "repas",
        "day": D(2026, 11, 16),
        "status": AttendanceStatus.PRESENT,
    }
    with pytest.raises(InvalidInput) as caught:
        AttendanceFact(**(fields | kwargs))
    assert caught.value.code == code


def test_a_declaration_refuses_a_naive_declaration_or_proof_instant() -> None:
    with pytest.raises(InvalidInput, match="naive"):
        illness(D(2026, 11, 12), D(2026, 11, 17), declared=dt.datetime(2026, 11, 12, 7, 30))
    with pytest.raises(InvalidInput, match="proof_received_at"):
        illness(D(2026, 11, 12), D(2026, 11, 17), proof=dt.datetime(2026, 11, 13, 9, 0))


def test_resolving_refuses_a_naive_now(canteen: OpeningCalendar) -> None:
    with pytest.raises(InvalidInput, match="naive"):
        resolve_absence(
            illness(D(2026, 11, 12), D(2026, 11, 17)), AbsencePolicy(), canteen, now=dt.datetime(2026, 11, 13)
        )


# -- carence over a weekend -------------------------------------------------------------------


def test_illness_thursday_to_tuesday_with_one_day_of_carence(canteen: OpeningCalendar) -> None:
    policy = AbsencePolicy(proof_required=True, proof_delay=ProofDelay(2, DelayUnit.DAYS), carence_days=1)
    declaration = illness(D(2026, 11, 12), D(2026, 11, 17), proof=at(2026, 11, 13, 17, 0))

    outcomes = resolve_absence(declaration, policy, canteen)

    # Saturday 14 and Sunday 15 are not canteen days: skipped, never billed, never counted.
    assert summary(outcomes) == [
        (D(2026, 11, 12), True, "absence.carence"),
        (D(2026, 11, 13), False, "absence.justified"),
        (D(2026, 11, 16), False, "absence.justified"),
        (D(2026, 11, 17), False, "absence.justified"),
    ]
    assert all(o.status is JUSTIFIED for o in outcomes)
    assert outcomes[0].message_fr == "Absence du jeudi 12 novembre 2026 facturée : délai de carence (1 jour)."
    assert outcomes[2].message_fr == (
        "Absence du lundi 16 novembre 2026 non facturée : absence justifiée (maladie)."
    )
    assert [(o.rank, o.open_days) for o in outcomes] == [(1, 4), (2, 4), (3, 4), (4, 4)]
    assert outcomes[0].proof_deadline == at(2026, 11, 15)


def test_two_days_of_carence_say_which_day_of_the_carence_it_is(canteen: OpeningCalendar) -> None:
    policy = AbsencePolicy(carence_days=2)
    outcomes = resolve_absence(illness(D(2026, 11, 13), D(2026, 11, 17)), policy, canteen)

    assert summary(outcomes) == [
        (D(2026, 11, 13), True, "absence.carence"),
        (D(2026, 11, 16), True, "absence.carence"),
        (D(2026, 11, 17), False, "absence.justified"),
    ]
    assert outcomes[1].message_fr == (
        "Absence du lundi 16 novembre 2026 facturée : délai de carence (2e jour sur 2)."
    )
    assert outcomes[0].message_fr.endswith("(1er jour sur 2).")


def test_the_armistice_is_not_a_day_of_carence(canteen: OpeningCalendar) -> None:
    # Ill from Tuesday 10 to Friday 13 November: Wednesday 11 is the Armistice (and no canteen anyway).
    outcomes = resolve_absence(
        illness(D(2026, 11, 10), D(2026, 11, 13)), AbsencePolicy(carence_days=2), canteen
    )
    assert summary(outcomes) == [
        (D(2026, 11, 10), True, "absence.carence"),
        (D(2026, 11, 12), True, "absence.carence"),
        (D(2026, 11, 13), False, "absence.justified"),
    ]


def test_carence_applies_to_illness_only(canteen: OpeningCalendar) -> None:
    funeral = attrs.evolve(illness(D(2026, 11, 12), D(2026, 11, 13)), reason=AbsenceReason.FAMILY_EVENT)
    outcomes = resolve_absence(funeral, AbsencePolicy(carence_days=1), canteen)
    assert summary(outcomes) == [
        (D(2026, 11, 12), False, "absence.justified"),
        (D(2026, 11, 13), False, "absence.justified"),
    ]
    assert outcomes[0].message_fr.endswith("absence justifiée (événement familial).")


# -- "the day and the next day are due" -------------------------------------------------------


def test_the_day_and_the_next_day_are_due_whatever_the_reason(canteen: OpeningCalendar) -> None:
    funeral = attrs.evolve(illness(D(2026, 11, 13), D(2026, 11, 17)), reason=AbsenceReason.FAMILY_EVENT)
    outcomes = resolve_absence(funeral, AbsencePolicy(days_due=2), canteen)

    # Friday 13, then Monday 16 (the weekend is skipped); Tuesday 17 is refunded.
    assert summary(outcomes) == [
        (D(2026, 11, 13), True, "absence.first_days_due"),
        (D(2026, 11, 16), True, "absence.first_days_due"),
        (D(2026, 11, 17), False, "absence.justified"),
    ]
    assert outcomes[1].message_fr == (
        "Absence du lundi 16 novembre 2026 facturée : "
        "le jour même et le lendemain restent dus (2e jour sur 2)."
    )


@pytest.mark.parametrize(
    ("days_due", "ending"),
    [
        (1, "le premier jour d'absence reste dû."),
        (3, "les 3 premiers jours d'absence restent dus (1er jour sur 3)."),
    ],
)
def test_days_due_sentences(canteen: OpeningCalendar, days_due: int, ending: str) -> None:
    outcomes = resolve_absence(
        illness(D(2026, 11, 16), D(2026, 11, 20)), AbsencePolicy(days_due=days_due), canteen
    )
    assert outcomes[0].code == "absence.first_days_due"
    assert outcomes[0].message_fr.endswith(ending)
    assert sum(o.billed for o in outcomes) == days_due


def test_days_due_and_carence_overlap_from_the_first_open_day(canteen: OpeningCalendar) -> None:
    policy = AbsencePolicy(days_due=1, carence_days=2)
    outcomes = resolve_absence(illness(D(2026, 11, 16), D(2026, 11, 20)), policy, canteen)
    assert summary(outcomes) == [
        (D(2026, 11, 16), True, "absence.first_days_due"),
        (D(2026, 11, 17), True, "absence.carence"),
        (D(2026, 11, 19), False, "absence.justified"),
        (D(2026, 11, 20), False, "absence.justified"),
    ]


# -- refunds only from N consecutive open days ------------------------------------------------


def test_a_short_absence_is_billed_in_full(canteen: OpeningCalendar) -> None:
    policy = AbsencePolicy(minimum_days=3)
    # Friday 13 and Monday 16: two consecutive canteen days, below the minimum of three.
    outcomes = resolve_absence(illness(D(2026, 11, 13), D(2026, 11, 16)), policy, canteen)
    assert summary(outcomes) == [
        (D(2026, 11, 13), True, "absence.below_minimum_length"),
        (D(2026, 11, 16), True, "absence.below_minimum_length"),
    ]
    assert all(o.status is JUSTIFIED for o in outcomes)
    assert outcomes[0].message_fr == (
        "Absence du vendredi 13 novembre 2026 facturée : une absence n'est remboursée qu'à partir de "
        "3 jours de service consécutifs (celle-ci en compte 2)."
    )


def test_open_days_on_both_sides_of_the_christmas_holidays_are_consecutive(canteen: OpeningCalendar) -> None:
    # Ill from Thursday 17 December 2026 to Tuesday 5 January 2027. Friday 18 is the outing closure,
    # then come the holidays and New Year's Day: the canteen days are 17 December, 4 and 5 January.
    policy = AbsencePolicy(carence_days=1, minimum_days=3)
    outcomes = resolve_absence(illness(D(2026, 12, 17), D(2027, 1, 5)), policy, canteen)
    assert summary(outcomes) == [
        (D(2026, 12, 17), True, "absence.carence"),
        (D(2027, 1, 4), False, "absence.justified"),
        (D(2027, 1, 5), False, "absence.justified"),
    ]


def test_an_absence_entirely_in_the_holidays_has_no_outcome(canteen: OpeningCalendar) -> None:
    outcomes = resolve_absence(illness(D(2026, 12, 21), D(2027, 1, 1)), AbsencePolicy(days_due=2), canteen)
    assert outcomes == ()


# -- proofs -----------------------------------------------------------------------------------


def test_no_proof_means_unjustified_and_billed(canteen: OpeningCalendar) -> None:
    policy = AbsencePolicy(proof_required=True, proof_delay=ProofDelay(2, DelayUnit.DAYS))
    outcomes = resolve_absence(illness(D(2026, 11, 12), D(2026, 11, 13)), policy, canteen)
    assert summary(outcomes) == [
        (D(2026, 11, 12), True, "absence.proof_missing"),
        (D(2026, 11, 13), True, "absence.proof_missing"),
    ]
    assert all(o.status is UNJUSTIFIED for o in outcomes)
    assert outcomes[0].message_fr == (
        "Absence du jeudi 12 novembre 2026 facturée : aucun justificatif reçu "
        "(il était attendu jusqu'au samedi 14 novembre 2026 inclus)."
    )


def test_a_proof_required_without_delay_is_accepted_whenever_it_comes(canteen: OpeningCalendar) -> None:
    policy = AbsencePolicy(proof_required=True)
    on_time = resolve_absence(
        illness(D(2026, 11, 12), D(2026, 11, 12), proof=at(2027, 2, 1)), policy, canteen
    )
    assert summary(on_time) == [(D(2026, 11, 12), False, "absence.justified")]
    assert on_time[0].proof_deadline is None
    missing = resolve_absence(illness(D(2026, 11, 12), D(2026, 11, 12)), policy, canteen)
    assert missing[0].message_fr.endswith("facturée : aucun justificatif reçu.")


@pytest.mark.parametrize(
    ("proof", "code"),
    [
        (at(2026, 11, 14, 23, 59), "absence.justified"),  # the last evening of the delay
        (at(2026, 11, 15, 0, 0), "absence.justified"),  # the deadline instant itself
        (at(2026, 11, 16, 8, 30), "absence.proof_late"),  # brought on Monday morning
    ],
)
def test_a_two_day_delay_runs_to_the_end_of_the_second_day_after_the_first(
    canteen: OpeningCalendar, proof: dt.datetime, code: str
) -> None:
    policy = AbsencePolicy(proof_required=True, proof_delay=ProofDelay(2, DelayUnit.DAYS))
    outcomes = resolve_absence(illness(D(2026, 11, 12), D(2026, 11, 13), proof=proof), policy, canteen)
    assert {o.code for o in outcomes} == {code}


def test_a_late_proof_is_named_with_its_date(canteen: OpeningCalendar) -> None:
    policy = AbsencePolicy(proof_required=True, proof_delay=ProofDelay(2, DelayUnit.DAYS), carence_days=1)
    proof = dt.datetime(2026, 11, 16, 7, 30, tzinfo=dt.UTC)  # 8 h 30 in Paris
    outcomes = resolve_absence(illness(D(2026, 11, 12), D(2026, 11, 13), proof=proof), policy, canteen)
    assert outcomes[1].status is UNJUSTIFIED
    assert outcomes[1].message_fr == (
        "Absence du vendredi 13 novembre 2026 facturée : justificatif reçu le lundi 16 novembre 2026 "
        "à 8 h 30, après le délai (jusqu'au samedi 14 novembre 2026 inclus)."
    )


def test_a_delay_in_hours_counts_elapsed_hours_across_the_autumn_change() -> None:
    # First day of absence Friday 23 October 2026; clocks go back on Sunday 25 at 3:00.
    # 48 hours after midnight ending Friday is Sunday 25 at 23:00, not Monday at midnight.
    deadline = ProofDelay(48, DelayUnit.HOURS).deadline(D(2026, 10, 23))
    assert deadline == at(2026, 10, 25, 23, 0)
    assert deadline.utcoffset() == dt.timedelta(hours=1)
    assert ProofDelay(2, DelayUnit.DAYS).deadline(D(2026, 10, 23)) == at(2026, 10, 26)


def test_a_delay_in_hours_places_the_deadline_in_the_commune_zone(canteen: OpeningCalendar) -> None:
    assert ProofDelay(10, DelayUnit.HOURS).deadline(D(2026, 11, 12), "Indian/Reunion") == dt.datetime(
        2026, 11, 13, 10, 0, tzinfo=time_zone("Indian/Reunion")
    )
    policy = AbsencePolicy(proof_required=True, proof_delay=ProofDelay(34, DelayUnit.HOURS))
    outcomes = resolve_absence(illness(D(2026, 11, 12), D(2026, 11, 12)), policy, canteen)
    assert outcomes[0].message_fr.endswith("(il était attendu avant le samedi 14 novembre 2026 à 10 h 00).")
    # An overseas commune passes its zone: the same delay ends at 10 h 00 in Saint-Denis.
    reunion = resolve_absence(
        illness(D(2026, 11, 12), D(2026, 11, 12)), policy, [D(2026, 11, 12)], timezone="Indian/Reunion"
    )
    assert reunion[0].proof_deadline == dt.datetime(2026, 11, 14, 10, 0, tzinfo=time_zone("Indian/Reunion"))


def test_a_missing_proof_is_awaited_until_the_deadline(canteen: OpeningCalendar) -> None:
    policy = AbsencePolicy(proof_required=True, proof_delay=ProofDelay(2, DelayUnit.DAYS))
    declaration = illness(D(2026, 11, 12), D(2026, 11, 13))

    before = resolve_absence(declaration, policy, canteen, now=at(2026, 11, 13, 9, 0))
    assert {o.code for o in before} == {"absence.proof_awaited"}
    assert before[0].message_fr == (
        "Absence du jeudi 12 novembre 2026 facturée pour l'instant : justificatif attendu "
        "jusqu'au samedi 14 novembre 2026 inclus."
    )
    after = resolve_absence(declaration, policy, canteen, now=at(2026, 11, 16, 9, 0))
    assert {o.code for o in after} == {"absence.proof_missing"}
    no_delay = resolve_absence(declaration, AbsencePolicy(proof_required=True), canteen, now=at(2026, 11, 16))
    assert no_delay[0].message_fr.endswith("facturée pour l'instant : justificatif attendu.")


def test_a_reason_the_commune_does_not_accept_is_unjustified(canteen: OpeningCalendar) -> None:
    holiday = attrs.evolve(illness(D(2026, 11, 16), D(2026, 11, 17)), reason=AbsenceReason.OTHER)
    outcomes = resolve_absence(holiday, AbsencePolicy(), canteen)
    assert {(o.status, o.billed, o.code) for o in outcomes} == {
        (UNJUSTIFIED, True, "absence.reason_not_accepted")
    }
    assert outcomes[0].message_fr.endswith("le motif « autre motif » ne justifie pas une absence.")


# -- open days given as dates -----------------------------------------------------------------


def test_open_days_may_be_given_as_dates_with_duplicates_and_days_outside() -> None:
    # Only the booked days of a Monday/Thursday child, listed twice and with days around the absence.
    booked = [D(2026, 11, 9), D(2026, 11, 12), D(2026, 11, 16), D(2026, 11, 12), D(2026, 11, 19)]
    outcomes = resolve_absence(
        illness(D(2026, 11, 12), D(2026, 11, 17)), AbsencePolicy(carence_days=1), booked
    )
    assert summary(outcomes) == [
        (D(2026, 11, 12), True, "absence.carence"),
        (D(2026, 11, 16), False, "absence.justified"),
    ]


def test_open_days_must_be_dates() -> None:
    with pytest.raises(InvalidInput) as caught:
        resolve_absence(
            illness(D(2026, 11, 12), D(2026, 11, 17)),
            AbsencePolicy(),
            [dt.datetime(2026, 11, 12, 12, 0, tzinfo=PARIS)],
        )
    assert caught.value.code == "input.not_a_date"


# -- closures decided by the commune ----------------------------------------------------------


def test_a_strike_cancels_the_bookings_it_covers_with_its_label() -> None:
    strike = Closure(DateRange(D(2026, 11, 19), D(2026, 11, 19)), ClosureReason.STRIKE, "grève des agents")
    bookings = [
        BookedDay("lea", "repas", D(2026, 11, 19)),
        BookedDay("tom", "repas", D(2026, 11, 20)),
        BookedDay("hugo", "repas", D(2026, 11, 19)),
        BookedDay("lea", "repas", D(2026, 11, 19)),  # the same booking seen twice
    ]
    facts = service_closed_facts(
        bookings, [strike], recorded_at=at(2026, 11, 18, 16, 0), recorded_by="mairie"
    )
    assert [(f.child_id, f.day, f.status) for f in facts] == [
        ("hugo", D(2026, 11, 19), AttendanceStatus.SERVICE_CLOSED),
        ("lea", D(2026, 11, 19), AttendanceStatus.SERVICE_CLOSED),
    ]
    assert facts[1].note == (
        "Réservation du jeudi 19 novembre 2026 annulée par la commune : grève des agents. "
        "Vous n'avez rien à faire."
    )
    assert facts[0].recorded_by == "mairie"
    assert facts[0].recorded_at == at(2026, 11, 18, 16, 0)


def test_closures_scoped_by_prestation_and_the_first_closure_explains(commune: Commune) -> None:
    outing = commune.service("cantine").closures[0]
    strike = Closure(DateRange(D(2026, 12, 17), D(2026, 12, 18)), ClosureReason.STRIKE)
    bookings = [
        BookedDay("lea", "repas", D(2026, 12, 18)),
        BookedDay("lea", "soir", D(2026, 12, 18)),
        BookedDay("lea", "soir", D(2026, 12, 17)),
        BookedDay("lea", "matin", D(2026, 12, 17)),
    ]
    facts = service_closed_facts(bookings, {"repas": [outing, strike], "soir": [strike]})
    assert [(f.prestation_id, f.day) for f in facts] == [
        ("soir", D(2026, 12, 17)),
        ("repas", D(2026, 12, 18)),
        ("soir", D(2026, 12, 18)),
    ]
    assert "sortie de fin de trimestre" in facts[1].note
    assert facts[0].note.endswith("annulée par la commune : grève. Vous n'avez rien à faire.")
    assert all(f.recorded_at is None for f in facts)


# -- configuration as data --------------------------------------------------------------------


def test_a_policy_reads_from_its_toml_table_and_writes_back_equal() -> None:
    data = {
        "justified_reasons": ["illness"],
        "proof_required": True,
        "proof_delay_hours": 48,
        "carence_days": 1,
        "minimum_days": 2,
    }
    policy = absence_policy_from_dict(data, "services.cantine.absences")
    assert policy == AbsencePolicy(
        justified_reasons={AbsenceReason.ILLNESS},
        proof_required=True,
        proof_delay=ProofDelay(48, DelayUnit.HOURS),
        carence_days=1,
        minimum_days=2,
    )
    assert absence_policy_to_dict(policy) == data | {"days_due": 0}
    assert absence_policy_from_dict(absence_policy_to_dict(policy)) == policy


def test_an_empty_table_is_the_default_policy() -> None:
    policy = absence_policy_from_dict({})
    assert policy == AbsencePolicy()
    assert policy.justified_reasons == {AbsenceReason.ILLNESS, AbsenceReason.FAMILY_EVENT}
    assert absence_policy_from_dict(
        {"proof_required": True, "proof_delay_days": 0}
    ).proof_delay == ProofDelay(0, DelayUnit.DAYS)


@pytest.mark.parametrize(
    ("data", "path", "code"),
    [
        ({"carence_days": -1}, "services.cantine.absences.carence_days", "config.value"),
        ({"minimum_days": "3"}, "services.cantine.absences.minimum_days", "config.type"),
        ({"days_due": True}, "services.cantine.absences.days_due", "config.type"),
        ({"carence": 1}, "services.cantine.absences.carence", "config.unknown_key"),
        ({"justified_reasons": "illness"}, "services.cantine.absences.justified_reasons", "config.type"),
        (
            {"justified_reasons": ["illness", "holiday"]},
            "services.cantine.absences.justified_reasons[1]",
            "config.choice",
        ),
        ({"proof_required": "yes"}, "services.cantine.absences.proof_required", "config.type"),
        ({"proof_delay_days": 2}, "services.cantine.absences.proof_delay_days", "config.conflict"),
        (
            {"proof_required": True, "proof_delay_days": 2, "proof_delay_hours": 48},
            "services.cantine.absences.proof_delay_hours",
            "config.conflict",
        ),
        (
            {"proof_required": True, "proof_delay_hours": -48},
            "services.cantine.absences.proof_delay_hours",
            "config.value",
        ),
    ],
)
def test_bad_policy_tables_name_the_key_and_a_stable_code(data: dict[str, Any], path: str, code: str) -> None:
    with pytest.raises(InvalidConfiguration) as caught:
        absence_policy_from_dict(data, "services.cantine.absences")
    assert caught.value.path == path
    assert caught.value.code == code


def test_a_policy_table_must_be_a_table() -> None:
    with pytest.raises(InvalidConfiguration) as caught:
        absence_policy_from_dict(["carence_days"], "services.cantine.absences")  # type: ignore[arg-type]
    assert caught.value.path == "services.cantine.absences"


@pytest.mark.parametrize(
    ("make", "code"),
    [
        (lambda: AbsencePolicy(carence_days=-1), "input.negative"),
        (lambda: AbsencePolicy(days_due=1.5), "input.not_an_integer"),  # type: ignore[arg-type]
        (lambda: ProofDelay(-2, DelayUnit.DAYS), "input.negative"),
        (lambda: AbsencePolicy(proof_delay=ProofDelay(2, DelayUnit.DAYS)), "absence.delay_without_proof"),
    ],
)
def test_an_impossible_policy_cannot_be_built(make: Any, code: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        make()
    assert caught.value.code == code


# -- one registry of absence rules ---------------------------------------------------------------------


def test_the_rules_of_a_policy_decide_in_the_order_of_the_reglement() -> None:
    kinds = [type(rule) for rule in AbsencePolicy(carence_days=1, days_due=1, minimum_days=2).rules]
    assert kinds == [AcceptedReasons, ProofRule, MinimumLength, FirstDaysDue, Carence]
    assert list(absence_rules())[:5] == [
        "justified_reasons",
        "proof_required",
        "carence_days",
        "days_due",
        "minimum_days",
    ]


def test_a_key_is_owned_by_one_absence_rule() -> None:
    with pytest.raises(InvalidInput) as caught:
        absence_rule(Carence)
    assert caught.value.code == "absence.rule_twice"
    with pytest.raises(InvalidInput) as caught:
        AbsencePolicy(extra_rules=[Carence(2)])  # carence has its own setting, carence_days
    assert caught.value.code == "absence.not_a_rule"


def test_a_commune_s_own_absence_rule_is_read_written_and_decides_in_its_place(
    canteen: OpeningCalendar, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(attendance, "_ABSENCE_RULES", dict(attendance._ABSENCE_RULES))

    @absence_rule
    @attrs.frozen
    class DeclaredBefore:
        """An absence declared after its first day began is billed ("toute absence se signale la veille")."""

        required: bool
        keys: ClassVar[tuple[str, ...]] = ("declare_the_day_before",)
        precedence: ClassVar[int] = 15  # after the reason, before the proof

        @classmethod
        def read(cls, data: Mapping[str, Any], path: str) -> DeclaredBefore:
            return cls(bool(data.get("declare_the_day_before", False)))

        def settings(self) -> dict[str, Any]:
            return {"declare_the_day_before": self.required}

        def decide(self, day: AbsenceDay) -> AbsenceVerdict | None:
            declaration = day.declaration
            if not self.required or declaration.declared_at.date() < declaration.days.start:
                return None
            return AbsenceVerdict(UNJUSTIFIED, True, "test.declared_late", "absence signalée après coup")

    data = {"proof_required": True, "carence_days": 1, "declare_the_day_before": True}
    policy = absence_policy_from_dict(data)
    assert absence_policy_from_dict(absence_policy_to_dict(policy)) == policy
    assert absence_policy_to_dict(policy)["declare_the_day_before"] is True
    same_day = illness(D(2026, 11, 12), D(2026, 11, 13), proof=dt.datetime(2026, 11, 12, 18, 0, tzinfo=PARIS))
    outcome = resolve_absence(same_day, policy, canteen)[1]
    assert (outcome.code, outcome.billed) == ("test.declared_late", True)
    assert (
        outcome.message_fr == "Absence du vendredi 13 novembre 2026 facturée : absence signalée après coup."
    )
    the_eve = attrs.evolve(same_day, declared_at=dt.datetime(2026, 11, 11, 19, 0, tzinfo=PARIS))
    assert [o.code for o in resolve_absence(the_eve, policy, canteen)] == [
        "absence.carence",
        "absence.justified",
    ]
    assert absence_policy_from_dict({"carence_days": 1}) == AbsencePolicy(carence_days=1)  # not configured
    with pytest.raises(InvalidConfiguration) as caught:
        absence_policy_from_dict({"declare_before": True})
    assert "minimum_days, declare_the_day_before" in caught.value.reason
