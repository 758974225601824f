"""The commune's own attendance reasons ("types de pointage"): recorded, then priced at month end."""

from __future__ import annotations

import datetime as dt
import tomllib
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import attrs
import pytest

from espacefamille.adapters.memory import MemoryStore
from espacefamille.adapters.sqlite import SqliteStore
from espacefamille.billing.invoicing import BillingContext, FamilyMonth, check_family
from espacefamille.billing.tariffs import tariff_book_from_dict
from espacefamille.commune import Commune
from espacefamille.errors import InvalidConfiguration, InvalidInput, MissingData
from espacefamille.families.accounts import Agent, AgentRole
from espacefamille.ports import CommuneStore, FixedClock
from espacefamille.rules.attendance import AttendanceFact, AttendanceStatus
from espacefamille.services import BackOffice
from tests.unit.test_invoicing import LEA, NOVEMBER, SCHOOL_DAYS, TOM, bill, book, family, only_invoice

REASONS = """
[[tariffs]]
label = "2026-2027"
start = 2026-09-01
end = 2027-08-31

[tariffs.attendance]
sortie_scolaire = "zero"
repas_non_pris = { percent = "-100" }
panier_repas = { fixed = "1.20" }

[tariffs.prices.repas]
unit = "day"
unit_label = "le repas"
flat = "4.00"
"""
DAY = SCHOOL_DAYS[3]


def with_reasons(commune: Commune) -> Commune:
    return attrs.evolve(commune, tariffs=tariff_book_from_dict(tomllib.loads(REASONS)))


def test_a_fact_carries_the_communes_reason_code_beside_its_note() -> None:
    fact = AttendanceFact("C1", "repas", DAY, AttendanceStatus.ABSENT_JUSTIFIED, reason="sortie_scolaire")
    assert (fact.reason, fact.note) == ("sortie_scolaire", "")
    plain = AttendanceFact("C1", "repas", DAY, AttendanceStatus.PRESENT, note="[motif:sortie_scolaire]")
    assert (plain.reason, plain.note) == (None, "[motif:sortie_scolaire]")  # a note is only a sentence
    with pytest.raises(InvalidInput) as caught:
        AttendanceFact("C1", "repas", DAY, AttendanceStatus.PRESENT, reason="pas un code !")
    assert caught.value.code == "attendance.reason_code"


def test_month_end_prices_each_reason_with_its_own_line(commune: Commune) -> None:
    outing = AttendanceFact("C1", "repas", DAY, AttendanceStatus.ABSENT_JUSTIFIED, reason="sortie_scolaire")
    packed = AttendanceFact("C1", "repas", SCHOOL_DAYS[4], AttendanceStatus.PRESENT, reason="panier_repas")
    refused = AttendanceFact("C1", "repas", SCHOOL_DAYS[5], AttendanceStatus.PRESENT, reason="repas_non_pris")
    run = bill(
        with_reasons(commune), book(LEA, "repas", SCHOOL_DAYS), [outing, packed, refused], children=[LEA]
    )
    lines = {line.reason: line for line in only_invoice(run).lines}
    assert set(lines) == {
        "attendance.present",
        "attendance.reason.sortie_scolaire",
        "attendance.reason.panier_repas",
        "attendance.reason.repas_non_pris",
    }
    assert lines["attendance.present"].quantity == len(SCHOOL_DAYS) - 3
    assert (
        lines["attendance.reason.sortie_scolaire"].days,
        lines["attendance.reason.sortie_scolaire"].total.amount,
    ) == (
        (DAY,),
        Decimal("0.00"),
    )
    assert lines["attendance.reason.panier_repas"].total.amount == Decimal("1.20")
    assert lines["attendance.reason.repas_non_pris"].total.amount == Decimal("-4.00")
    text = lines["attendance.reason.sortie_scolaire"].explanation.replace("\u00a0", " ")
    assert text.startswith("Sortie scolaire : 1 jour, le ")
    assert "sortie scolaire : rien à payer" in text


def test_an_unknown_reason_is_a_clear_error_before_anything_is_billed(commune: Commune) -> None:
    typo = AttendanceFact("C1", "repas", DAY, AttendanceStatus.ABSENT_JUSTIFIED, reason="sortie_scolair")
    priced = with_reasons(commune)
    ctx = BillingContext(priced, "enfance", NOVEMBER, dt.date(2026, 12, 1))
    problems = check_family(ctx, FamilyMonth(family(), [LEA, TOM], book(LEA, "repas", SCHOOL_DAYS), [typo]))
    assert [(p.day, p.code) for p in problems] == [(DAY, "tariff.no_attendance_effect")]
    assert "sortie_scolair" in problems[0].message_fr
    with pytest.raises(MissingData) as caught:
        bill(priced, book(LEA, "repas", SCHOOL_DAYS), [typo])
    assert caught.value.code == "tariff.no_attendance_effect"


def test_every_store_keeps_the_reason_beside_the_note(tmp_path: Path, commune: Commune) -> None:
    fact = AttendanceFact(
        "C1",
        "repas",
        DAY,
        AttendanceStatus.PRESENT,
        note="Repas fourni par la famille.",
        reason="panier_repas",
    )
    for store in (MemoryStore(), SqliteStore(str(tmp_path / "commune.db"))):
        with store.unit_of_work() as uow:
            uow.save_commune(commune)
            uow.attendance.save([fact], "F1")
            uow.commit()
        with store.unit_of_work() as uow:
            (kept,) = uow.attendance.of_family("F1", NOVEMBER)
        assert (kept.reason, kept.note, kept) == ("panier_repas", "Repas fourni par la famille.", fact)


def test_a_note_that_only_looks_like_a_reason_bills_the_status(commune: Commune) -> None:
    looks = AttendanceFact("C1", "repas", DAY, AttendanceStatus.ABSENT_JUSTIFIED, note="[motif:à voir] appel")
    run = bill(with_reasons(commune), book(LEA, "repas", SCHOOL_DAYS), [looks], children=[LEA])
    reasons = {line.reason for line in only_invoice(run).lines}
    assert reasons == {"attendance.present", "attendance.absent_justified"}


AGENT = Agent("agent-1", "saint-aubin", AgentRole.ADMINISTRATEUR)
PARIS = ZoneInfo("Europe/Paris")


def _office(store: CommuneStore, commune: Commune) -> BackOffice:
    with store.unit_of_work() as uow:
        uow.save_commune(commune)
        uow.commit()
    office = BackOffice(store, clock=FixedClock(dt.datetime(2026, 11, 12, 14, tzinfo=PARIS)))
    office.register_family(AGENT, family(), [LEA])
    return office


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_recording_a_reason_the_commune_does_not_define_is_refused_and_nothing_is_saved(
    kind: str, tmp_path: Path, commune: Commune
) -> None:
    store: CommuneStore = MemoryStore() if kind == "memory" else SqliteStore(str(tmp_path / "c.db"))
    office = _office(store, with_reasons(commune))
    kept = AttendanceFact(LEA.id, "repas", SCHOOL_DAYS[2], AttendanceStatus.PRESENT, reason="panier_repas")
    typo = AttendanceFact(LEA.id, "repas", DAY, AttendanceStatus.ABSENT_JUSTIFIED, reason="sortie_scolair")
    with pytest.raises(InvalidInput) as caught:
        office.record_attendance(AGENT, [kept, typo])
    assert caught.value.code == "attendance.unknown_reason"
    assert "« sortie_scolair »" in caught.value.message_fr
    assert "sortie_scolaire" in caught.value.message_fr  # the reasons it knows
    with store.unit_of_work() as uow:
        assert uow.attendance.of_family("F1", NOVEMBER) == ()
    (saved,) = office.record_attendance(AGENT, [kept])
    assert saved.reason == "panier_repas"


def test_a_reason_is_said_on_the_invoice_in_the_words_of_the_configuration(commune: Commune) -> None:
    words = '[tariffs.reasons]\nsortie_scolaire = "sortie au musée"\n\n[tariffs.attendance]'
    labelled = REASONS.replace("[tariffs.attendance]", words)
    priced = attrs.evolve(commune, tariffs=tariff_book_from_dict(tomllib.loads(labelled)))
    outing = AttendanceFact("C1", "repas", DAY, AttendanceStatus.ABSENT_JUSTIFIED, reason="sortie_scolaire")
    run = bill(priced, book(LEA, "repas", SCHOOL_DAYS), [outing], children=[LEA])
    (line,) = [line for line in only_invoice(run).lines if line.reason == "attendance.reason.sortie_scolaire"]
    text = line.explanation.replace("\u00a0", " ")
    assert text.startswith("Sortie au musée : 1 jour, le ")
    assert text.endswith("sortie au musée : rien à payer.")
    assert "sortie_scolaire" not in text
    assert "sortie scolaire" not in text


@pytest.mark.parametrize(
    ("table", "code", "path"),
    [
        ('present = "présence"', "tariff.status_code", "tariffs[0].reasons"),
        ('sortie_scolaire = " "', "config.type", "tariffs[0].reasons.sortie_scolaire"),
        ('piscine = "piscine"', "tariff.reason_without_effect", "tariffs[0].reasons.piscine"),
    ],
)
def test_a_reason_label_is_a_french_label_of_a_reason_the_list_prices(
    table: str, code: str, path: str
) -> None:
    with pytest.raises(InvalidConfiguration) as caught:
        tariff_book_from_dict(
            tomllib.loads(
                REASONS.replace("[tariffs.attendance]", f"[tariffs.reasons]\n{table}\n\n[tariffs.attendance]")
            )
        )
    assert (caught.value.code, caught.value.path) == (code, path)


def test_a_reason_on_a_day_no_price_list_covers_must_be_one_of_some_price_list(commune: Commune) -> None:
    office = _office(MemoryStore(), with_reasons(commune))
    summer = dt.date(2027, 9, 2)  # after the only price list
    with pytest.raises(InvalidInput) as caught:
        office.record_attendance(
            AGENT, [AttendanceFact(LEA.id, "repas", summer, AttendanceStatus.PRESENT, reason="piscine")]
        )
    assert caught.value.code == "attendance.unknown_reason"
    (kept,) = office.record_attendance(
        AGENT, [AttendanceFact(LEA.id, "repas", summer, AttendanceStatus.PRESENT, reason="panier_repas")]
    )
    assert kept.reason == "panier_repas"
    assert with_reasons(commune).tariffs.reason_codes == {"sortie_scolaire", "repas_non_pris", "panier_repas"}
