"""Golden: Bellerive-sur-Orne's délibération tarifaire 2026-2027, billed through the services, as a treasurer
checks November's invoices line by line.

The commune file is tests/golden/data/deliberations-2026-2027.toml: the canteen by QF band × child's rank for
families of the commune and by QF alone outside it, a monthly périscolaire forfait by QF, the Wednesdays at
450 € a year in 10 instalments and a 12 € adhésion. Zone B: the Toussaint holidays end on Sunday 1 November
2026, Wednesday 11 November is Armistice (no canteen on Wednesdays anyway), so the canteen opens 17 days in
November 2026, from Monday 2 to Monday 30.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import attrs
import pytest

from espacefamille.adapters.fake_gateway import FakeGateway
from espacefamille.adapters.memory import MemoryStore
from espacefamille.adapters.sqlite import SqliteStore
from espacefamille.billing.documents import Invoice
from espacefamille.calendar.periods import DateRange
from espacefamille.config import loads_commune
from espacefamille.families.accounts import AccountLink, Agent, AgentRole, FamilyMember
from espacefamille.model import Child, Enrolment, Family, Guardian, QuotientFamilial, Residence
from espacefamille.money import Money
from espacefamille.ports import CommuneStore, FixedClock
from espacefamille.rules.basket import Action, BasketLine
from espacefamille.services import BackOffice, FamilyPortal

PARIS = ZoneInfo("Europe/Paris")
AGENT = Agent("agent-1", "bellerive", AgentRole.ADMINISTRATEUR)
COMMUNE_FILE = Path(__file__).parent / "data" / "deliberations-2026-2027.toml"
YEAR = DateRange(dt.date(2026, 9, 1), dt.date(2027, 7, 3))
NOVEMBER = DateRange.month(2026, 11)
MEAL_DAYS = [
    dt.date(2026, 11, day) for day in (2, 3, 5, 6, 9, 10, 12, 13, 16, 17, 19, 20, 23, 24, 26, 27, 30)
]
MONDAYS_AND_THURSDAYS = [day for day in MEAL_DAYS if day.weekday() in (0, 3)]
NOVEMBER_DAYS_TEXT = "les 2, 3, 5, 6, 9, 10, 12, 13, 16, 17, 19, 20, 23, 24, 26, 27 et 30 novembre 2026"


def at(year: int, month: int, day: int) -> dt.datetime:
    return dt.datetime(year, month, day, 9, tzinfo=PARIS)


def household(family_id: str, name: str, quotient: int | None, residence: Residence) -> Family:
    quotients = [] if quotient is None else [QuotientFamilial(quotient, dt.date(2026, 9, 1))]
    guardian = Guardian(f"G{family_id}", "Claire", name)
    return Family(family_id, name, [guardian], guardian.id, residence, quotients)


MARTIN = household("F1", "Martin", 800, Residence.RESIDENT)
BERNARD = household("F2", "Bernard", 420, Residence.NON_RESIDENT)
PETIT = household("F3", "Petit", None, Residence.RESIDENT)
CHILDREN = {
    "F1": [
        Child("C11", "Léa", "Martin", dt.date(2016, 3, 1), ["F1"]),
        Child("C12", "Tom", "Martin", dt.date(2018, 5, 1), ["F1"]),
    ],
    "F2": [Child("C21", "Jade", "Bernard", dt.date(2017, 1, 9), ["F2"])],
    "F3": [
        Child("C31", "Inès", "Petit", dt.date(2015, 2, 2), ["F3"]),
        Child("C32", "Noé", "Petit", dt.date(2017, 6, 6), ["F3"]),
        Child("C33", "Lou", "Petit", dt.date(2019, 9, 9), ["F3"]),
    ],
}
ENROLMENTS = [
    ("C11", "F1", "cantine"),
    ("C12", "F1", "cantine"),
    ("C12", "F1", "periscolaire"),
    ("C11", "F1", "mercredis"),
    ("C21", "F2", "cantine"),
    ("C21", "F2", "mercredis"),
    ("C31", "F3", "cantine"),
    ("C32", "F3", "cantine"),
    ("C33", "F3", "cantine"),
    ("C33", "F3", "periscolaire"),
]


@attrs.frozen
class Row:
    """An invoice line as the treasurer reads it."""

    child: str
    prestation: str
    reason: str
    quantity: Decimal
    unit_price: Decimal
    total: Money
    text: str


def rows(invoice: Invoice) -> list[Row]:
    return [
        Row(
            line.child_id,
            line.prestation_id,
            line.reason,
            line.quantity,
            line.unit_price,
            line.total,
            line.explanation.replace("\u00a0", " ").replace("\u202f", " "),
        )
        for line in invoice.lines
    ]


@pytest.fixture(scope="module", params=["memory", "sqlite"])
def invoices(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Invoice]:
    """November 2026's invoices of the three households, after September's and October's runs."""
    store: CommuneStore = (
        MemoryStore()
        if request.param == "memory"
        else SqliteStore(str(tmp_path_factory.mktemp("bellerive") / "bellerive.db"))
    )
    with store.unit_of_work() as uow:
        uow.save_commune(loads_commune(COMMUNE_FILE.read_text(encoding="utf-8")))
        uow.commit()
    clock = FixedClock(at(2026, 8, 28))
    office = BackOffice(store, clock=clock)
    portal = FamilyPortal(store, gateway=FakeGateway(validity=dt.timedelta(hours=2)), clock=clock)
    for family in (MARTIN, BERNARD, PETIT):
        office.register_family(AGENT, family, CHILDREN[family.id])
    for child_id, family_id, service in ENROLMENTS:
        office.enrol_child(AGENT, Enrolment(f"E-{child_id}-{service}", child_id, family_id, service, YEAR))
    clock.instant = at(2026, 10, 5)
    wanted = {"C11": MEAL_DAYS, "C12": MEAL_DAYS, "C21": MEAL_DAYS}
    wanted.update({child.id: MONDAYS_AND_THURSDAYS for child in CHILDREN["F3"]})
    for family in (MARTIN, BERNARD, PETIT):
        link = AccountLink("bellerive", family.id, family.payer_id, f"act-{family.id}", at(2026, 9, 1))
        lines = [
            BasketLine(Action.BOOK, child.id, "repas", day)
            for child in CHILDREN[family.id]
            for day in wanted[child.id]
        ]
        outcome = portal.validate_basket(FamilyMember(f"acc-{family.id}", [link]), family.id, lines)
        assert not outcome.refused, outcome.messages_fr
    for month, run_on in ((9, at(2026, 10, 1)), (10, at(2026, 11, 2)), (11, at(2026, 12, 1))):
        clock.instant = run_on
        office.run_month_end(AGENT, "enfance", DateRange.month(2026, month))
    found: dict[str, Invoice] = {}
    with store.unit_of_work() as uow:
        for family in (MARTIN, BERNARD, PETIT):
            (november,) = [d for d in uow.documents.invoices_of(family.id) if d.period == NOVEMBER]
            found[family.id] = november
    return found


def test_the_martins_pay_the_council_grid_by_rank_the_monthly_forfait_and_the_third_instalment(
    invoices: dict[str, Invoice],
) -> None:
    invoice = invoices["F1"]
    assert rows(invoice) == [
        Row(
            "C11",
            "mercredis_annuel",
            "tariff.instalment",
            Decimal(1),
            Decimal("45.00"),
            Money("45.00"),
            "Échéance 3/10 — forfait annuel 2026-2027, novembre 2026 : 45,00 € sur 450,00 €. "
            "Tarif unique : 450,00 € par an.",
        ),
        Row(
            "C11",
            "repas",
            "attendance.present",
            Decimal(17),
            Decimal("2.70"),
            Money("45.90"),
            f"Présent : 17 jours, {NOVEMBER_DAYS_TEXT}. Tranche QF 451 à 900 €, famille de la commune, "
            "1er enfant : 2,70 € le repas.",
        ),
        Row(
            "C12",
            "forfait_peri",
            "tariff.forfait",
            Decimal(1),
            Decimal("32.00"),
            Money("32.00"),
            "Forfait mensuel de novembre 2026. Tranche QF 451 à 900 € : 32,00 € par mois.",
        ),
        Row(
            "C12",
            "repas",
            "attendance.present",
            Decimal(17),
            Decimal("2.40"),
            Money("40.80"),
            f"Présent : 17 jours, {NOVEMBER_DAYS_TEXT}. Tranche QF 451 à 900 €, famille de la commune, "
            "2e enfant : 2,40 € le repas.",
        ),
    ]
    assert invoice.total == Money("163.70")
    assert (invoice.issued_on, invoice.due_on) == (dt.date(2026, 12, 1), dt.date(2026, 12, 31))


def test_a_family_from_outside_the_commune_pays_the_non_resident_grid_by_qf(
    invoices: dict[str, Invoice],
) -> None:
    invoice = invoices["F2"]
    assert [
        (row.prestation, row.reason, row.quantity, row.unit_price, row.total) for row in rows(invoice)
    ] == [
        ("mercredis_annuel", "tariff.instalment", Decimal(1), Decimal("62.00"), Money("62.00")),
        ("repas", "attendance.present", Decimal(17), Decimal("3.80"), Money("64.60")),
    ]
    assert rows(invoice)[1].text.endswith("Tranche QF 0 à 450 €, famille hors commune : 3,80 € le repas.")
    assert rows(invoice)[0].text.startswith(
        "Échéance 3/10 — forfait annuel 2026-2027, novembre 2026 : 62,00 € sur 620,00 €."
    )
    assert invoice.total == Money("126.60")


def test_three_children_without_a_known_qf_pay_the_top_band_by_rank(invoices: dict[str, Invoice]) -> None:
    invoice = invoices["F3"]
    meals = "les 2, 5, 9, 12, 16, 19, 23, 26 et 30 novembre 2026"
    assert [(row.child, row.prestation, row.quantity, row.total, row.text) for row in rows(invoice)] == [
        (
            "C31",
            "repas",
            Decimal(9),
            Money("35.10"),
            f"Présent : 9 jours, {meals}. Quotient familial non communiqué, tranche QF plus de 900 €, "
            "famille de la commune, 1er enfant : 3,90 € le repas.",
        ),
        (
            "C32",
            "repas",
            Decimal(9),
            Money("31.50"),
            f"Présent : 9 jours, {meals}. Quotient familial non communiqué, tranche QF plus de 900 €, "
            "famille de la commune, 2e enfant : 3,50 € le repas.",
        ),
        (
            "C33",
            "forfait_peri",
            Decimal(1),
            Money("45.00"),
            "Forfait mensuel de novembre 2026. Quotient familial non communiqué, tranche QF plus de 900 € : "
            "45,00 € par mois.",
        ),
        (
            "C33",
            "repas",
            Decimal(9),
            Money("26.10"),
            f"Présent : 9 jours, {meals}. Quotient familial non communiqué, tranche QF plus de 900 €, "
            "famille de la commune, 3e enfant et suivants : 2,90 € le repas.",
        ),
    ]
    assert invoice.total == Money("137.70")
