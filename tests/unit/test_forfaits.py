"""Forfaits and mensualisation, through the services on every store: what a régie sees on its invoices.

Bellerive-sur-Orne (tests/golden/data/deliberations-2026-2027.toml), school year 2026-2027, régie enfance:
a monthly périscolaire forfait by QF (32 € in band 451-900), the Wednesdays at 450 € a year in 10 monthly
instalments, a 12 € yearly adhésion. The Martins (QF 800): Léa goes on Wednesdays, Tom to périscolaire.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import attrs
import pytest
from psycopg_pool import ConnectionPool

from espacefamille.adapters.memory import MemoryStore
from espacefamille.adapters.postgres import PostgresStore
from espacefamille.adapters.sqlite import SqliteStore
from espacefamille.billing.documents import Invoice, InvoiceLine, Numbering
from espacefamille.billing.invoicing import BillingContext, FamilyMonth, bill_family, check_family
from espacefamille.billing.tariffs import (
    Forfait,
    ForfaitPeriod,
    instalment_amounts,
    tariff_book_from_dict,
    tariff_book_to_dict,
)
from espacefamille.calendar.periods import DateRange
from espacefamille.commune import Commune
from espacefamille.config import dumps_commune, loads_commune
from espacefamille.errors import InvalidConfiguration, InvalidInput
from espacefamille.families.accounts import Agent, AgentRole
from espacefamille.model import Child, Enrolment, Family, Guardian, QuotientFamilial
from espacefamille.money import Money
from espacefamille.ports import CommuneStore, FixedClock
from espacefamille.rules.attendance import AttendanceFact, AttendanceStatus
from espacefamille.services import BackOffice
from tests import postgres_server

PARIS = ZoneInfo("Europe/Paris")
AGENT = Agent("agent-1", "bellerive", AgentRole.ADMINISTRATEUR)
COMMUNE_FILE = Path(__file__).parents[1] / "golden" / "data" / "deliberations-2026-2027.toml"
YEAR = DateRange(dt.date(2026, 9, 1), dt.date(2027, 7, 3))
LEA = Child("C1", "Léa", "Martin", dt.date(2016, 3, 1), ["F1"])
TOM = Child("C2", "Tom", "Martin", dt.date(2018, 5, 1), ["F1"])


def month(year: int, number: int) -> DateRange:
    return DateRange.month(year, number)


def after(period: DateRange) -> dt.datetime:
    """The morning after the month: when the régisseur runs it."""
    following = period.end + dt.timedelta(days=1)
    return dt.datetime(following.year, following.month, following.day, 9, tzinfo=PARIS)


def bellerive() -> Commune:
    return loads_commune(COMMUNE_FILE.read_text(encoding="utf-8"))


_POSTGRES: list[ConnectionPool] = []


@pytest.fixture(scope="module")
def postgres_pool() -> Iterator[None]:
    with postgres_server.pool("forfaits", size=2) as shared:
        _POSTGRES.append(shared)
        yield
        _POSTGRES.clear()


@attrs.define
class Town:
    """The régie enfance of Bellerive on one store, with its clock."""

    store: CommuneStore
    clock: FixedClock
    office: BackOffice

    def enrol(self, enrolment_id: str, child: Child, service: str, period: DateRange = YEAR) -> None:
        self.office.enrol_child(AGENT, Enrolment(enrolment_id, child.id, "F1", service, period))

    def bill(self, period: DateRange) -> tuple[Invoice, ...]:
        before = set(self.documents())
        self.clock.instant = after(period)
        self.office.run_month_end(AGENT, "enfance", period)
        return tuple(d for d in self.documents() if d not in before)

    def documents(self) -> tuple[Invoice, ...]:
        with self.store.unit_of_work() as uow:
            return uow.documents.invoices_of("F1")


def _store(kind: str, tmp_path: Path) -> CommuneStore:
    if kind == "postgres":
        return PostgresStore(_POSTGRES[0], postgres_server.collectivite_id("forfaits"))
    return MemoryStore() if kind == "memory" else SqliteStore(str(tmp_path / "bellerive.db"))


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def town(request: pytest.FixtureRequest, tmp_path: Path) -> Town:
    if request.param == "postgres":
        request.getfixturevalue("postgres_pool")
    store = _store(request.param, tmp_path)
    with store.unit_of_work() as uow:
        uow.save_commune(bellerive())
        uow.commit()
    clock = FixedClock(dt.datetime(2026, 8, 28, 9, tzinfo=PARIS))
    office = BackOffice(store, clock=clock)
    martin = Family(
        "F1",
        "Martin",
        [Guardian("G1", "Claire", "Martin")],
        "G1",
        quotients=[QuotientFamilial(800, dt.date(2026, 9, 1))],
    )
    office.register_family(AGENT, martin, [LEA, TOM])
    return Town(store, clock, office)


def lines_of(documents: tuple[Invoice, ...]) -> list[InvoiceLine]:
    return [line for document in documents for line in document.lines]


def texts(lines: list[InvoiceLine]) -> list[str]:
    return [line.explanation.replace("\u00a0", " ").replace("\u202f", " ") for line in lines]


def test_a_monthly_forfait_is_billed_whatever_the_days_booked(town: Town) -> None:
    town.enrol("E-peri", TOM, "periscolaire")
    (october,) = town.bill(month(2026, 9)) and town.bill(month(2026, 10))
    (line,) = october.lines
    assert (line.reason, line.child_id, line.prestation_id, line.days) == (
        "tariff.forfait",
        "C2",
        "forfait_peri",
        (dt.date(2026, 10, 1),),
    )
    assert (line.quantity, line.total) == (Decimal(1), Money("32.00"))
    assert texts([line]) == ["Forfait mensuel d'octobre 2026. Tranche QF 451 à 900 € : 32,00 € par mois."]
    assert town.bill(month(2026, 10)) == ()  # the month again: nothing twice


def test_an_enrolment_from_mid_month_owes_the_whole_month_from_its_first_day(town: Town) -> None:
    town.enrol("E-peri", TOM, "periscolaire", DateRange(dt.date(2026, 11, 16), YEAR.end))
    assert town.bill(month(2026, 10)) == ()
    (november,) = town.bill(month(2026, 11))
    assert [(line.days, line.total) for line in november.lines] == [
        ((dt.date(2026, 11, 16),), Money("32.00"))
    ]


def prorated(town: Town) -> None:
    """Bellerive asks for a prorata of its périscolaire forfait."""
    text = COMMUNE_FILE.read_text(encoding="utf-8").replace('per = "month"', 'per = "month"\nprorata = true')
    with town.store.unit_of_work() as uow:
        uow.save_commune(loads_commune(text))
        uow.commit()


def test_with_a_prorata_a_month_started_owes_its_days_enrolled_and_a_shortened_month_is_regularised(
    town: Town,
) -> None:
    prorated(town)
    town.enrol("E-peri", TOM, "periscolaire", DateRange(dt.date(2026, 11, 16), YEAR.end))
    (november,) = town.bill(month(2026, 11))
    (line,) = november.lines
    assert (line.days, line.total) == ((dt.date(2026, 11, 16),), Money("16.00"))  # 32 € × 15/30
    assert texts([line]) == [
        "Forfait mensuel de novembre 2026, au prorata de 15 jours sur 30 : 16,00 €. "
        "Tranche QF 451 à 900 € : 32,00 € par mois."
    ]
    # Tom leaves on Friday 20 November; the commune says so on 3 December, after November's run.
    town.clock.instant = dt.datetime(2026, 12, 3, 10, tzinfo=PARIS)
    town.enrol("E-peri", TOM, "periscolaire", DateRange(dt.date(2026, 11, 16), dt.date(2026, 11, 20)))
    (note,) = town.bill(month(2026, 12))
    (regularised,) = note.lines
    assert (regularised.reason, regularised.days, regularised.total) == (
        "regularisation",
        (dt.date(2026, 11, 16),),
        Money("-10.67"),  # 32 € × 5/30 = 5,33 € due instead of 16,00 €
    )


def test_ten_instalments_add_up_to_the_yearly_amount_and_the_adhesion_is_billed_once(town: Town) -> None:
    town.enrol("E-mer", LEA, "mercredis", DateRange(dt.date(2026, 9, 2), dt.date(2027, 6, 30)))
    documents: list[Invoice] = []
    for year, number in [(2026, m) for m in range(9, 13)] + [(2027, m) for m in range(1, 9)]:
        documents.extend(town.bill(month(year, number)))
    lines = lines_of(tuple(documents))
    instalments = [line for line in lines if line.reason == "tariff.instalment"]
    assert len(instalments) == 10
    assert Money.total(line.total for line in instalments) == Money("450.00")
    assert instalments[2].days == (dt.date(2026, 11, 1),)
    assert texts(instalments[2:3]) == [
        "Échéance 3/10 — forfait annuel 2026-2027, novembre 2026 : 45,00 € sur 450,00 €. "
        "Tarif unique : 450,00 € par an."
    ]
    assert instalments[0].days == (dt.date(2026, 9, 2),)  # the enrolment's first day
    assert instalments[-1].days == (dt.date(2027, 6, 1),)
    adhesions = [line for line in lines if line.prestation_id == "adhesion"]
    assert [(line.days, line.total) for line in adhesions] == [((dt.date(2026, 9, 2),), Money("12.00"))]
    assert texts(adhesions) == ["Forfait annuel 2026-2027. Tarif unique : 12,00 € par an."]


def test_an_enrolment_ended_early_gives_back_the_instalments_of_the_months_no_longer_enrolled(
    town: Town,
) -> None:
    town.enrol("E-mer", LEA, "mercredis")
    for number in (9, 10, 11, 12):
        town.bill(month(2026, number))
    december = town.documents()[-1]
    # Léa left at the end of November; the commune shortens her enrolment on 4 January.
    town.clock.instant = dt.datetime(2027, 1, 4, 10, tzinfo=PARIS)
    town.enrol("E-mer", LEA, "mercredis", DateRange(YEAR.start, dt.date(2026, 11, 30)))
    (note,) = town.bill(month(2027, 1))
    assert note.is_credit_note
    (line,) = note.lines
    assert (line.reason, line.days, line.total, line.regularises) == (
        "regularisation",
        (dt.date(2026, 12, 1),),
        Money("-45.00"),
        (december.number, dt.date(2026, 12, 1)),
    )
    assert "forfait qui n'est plus dû" in texts([line])[0]
    due = Money.total(
        line.total for line in lines_of(town.documents()) if line.prestation_id == "mercredis_annuel"
    )
    assert due == Money("135.00")  # the months actually enrolled: September to November, 3 × 45 €


def test_an_enrolment_not_validated_owes_nothing_until_it_is(town: Town) -> None:
    waiting = Enrolment("E-peri", TOM.id, "F1", "periscolaire", YEAR, validated=False)
    town.office.enrol_child(AGENT, waiting)
    assert town.bill(month(2026, 9)) == ()
    town.clock.instant = dt.datetime(2026, 10, 12, 9, tzinfo=PARIS)
    town.office.enrol_child(AGENT, attrs.evolve(waiting, validated=True))
    (october,) = town.bill(month(2026, 10))  # September, never invoiced, is billed now with October
    assert sorted((line.reason, line.days, line.total) for line in october.lines) == [
        ("tariff.forfait", (dt.date(2026, 9, 1),), Money("32.00")),
        ("tariff.forfait", (dt.date(2026, 10, 1),), Money("32.00")),
    ]


def test_a_forfait_below_the_threshold_is_carried_like_any_line(town: Town) -> None:
    town.enrol("E-mer", LEA, "mercredis", DateRange(dt.date(2027, 7, 5), dt.date(2027, 7, 30)))
    assert town.bill(month(2027, 7)) == ()  # the adhésion alone, 12 €: below the 15 € threshold
    town.enrol("E-peri", TOM, "periscolaire", DateRange(dt.date(2027, 8, 23), dt.date(2027, 8, 31)))
    (august,) = town.bill(month(2027, 8))
    assert [(line.prestation_id, line.days, line.total) for line in august.lines] == [
        ("adhesion", (dt.date(2027, 7, 5),), Money("12.00")),
        ("forfait_peri", (dt.date(2027, 8, 23),), Money("32.00")),
    ]


# -- pure: what month-end billing makes of forfaits ----------------------------------------------


def test_bookings_and_attendance_of_a_forfait_prestation_do_not_change_what_it_bills() -> None:
    commune = bellerive()
    november = month(2026, 11)
    ctx = BillingContext(commune, "enfance", november, dt.date(2026, 12, 1))
    martin = Family("F1", "Martin", [Guardian("G1", "Claire", "Martin")], "G1")
    enrolment = Enrolment("E-peri", TOM.id, "F1", "periscolaire", YEAR)
    absent = AttendanceFact(TOM.id, "forfait_peri", dt.date(2026, 11, 1), AttendanceStatus.ABSENT_JUSTIFIED)
    facts = FamilyMonth(martin, [LEA, TOM], [], [absent], enrolments=[enrolment])
    bill, _ = bill_family(ctx, facts, Numbering())
    assert bill.document is not None
    assert [(line.reason, line.total) for line in bill.document.lines] == [("tariff.forfait", Money("45.00"))]
    assert check_family(ctx, facts) == []
    unvalidated = FamilyMonth(martin, [LEA, TOM], [], enrolments=[attrs.evolve(enrolment, validated=False)])
    assert bill_family(ctx, unvalidated, Numbering())[0].document is None
    with pytest.raises(InvalidInput) as caught:
        FamilyMonth(martin, [TOM], [], enrolments=["E-peri"])  # type: ignore[list-item]
    assert caught.value.code == "billing.not_an_enrolment"


def test_a_forfait_per_period_is_due_in_the_month_its_period_starts() -> None:
    text = COMMUNE_FILE.read_text(encoding="utf-8").replace(
        'unit_label = "par mois"\nper = "month"\nbands',
        'unit_label = "la période"\nper = "period"\nperiods = [\n'
        '  { label = "Vacances d\'automne", start = 2026-10-17, end = 2026-11-01 },\n'
        '  { label = "Vacances d\'hiver", start = 2027-02-20, end = 2027-03-07 },\n'
        "]\nbands",
    )
    commune = loads_commune(text)
    martin = Family("F1", "Martin", [Guardian("G1", "Claire", "Martin")], "G1")
    enrolment = Enrolment("E-peri", TOM.id, "F1", "periscolaire", YEAR)
    billed: dict[int, list[str]] = {}
    for number in (10, 11):
        ctx = BillingContext(commune, "enfance", month(2026, number), after(month(2026, number)).date())
        bill, _ = bill_family(ctx, FamilyMonth(martin, [TOM], [], enrolments=[enrolment]), Numbering())
        held = bill.carried.lines if bill.carried else bill.document.lines if bill.document else ()
        billed[number] = texts(list(held))
    assert billed[10] == [
        "Forfait « Vacances d'automne ». Quotient familial non communiqué, tranche QF plus "
        "de 900 € : 45,00 € la période."
    ]
    assert billed[11] == []


# -- bad input at load -------------------------------------------------------------------------------

_LIST = """
[[tariffs]]
label = "2026-2027"
start = 2026-09-01
end = 2027-06-30

[tariffs.prices.mercredis_annuel]
unit = "block"
flat = "450.00"
"""


@pytest.mark.parametrize(
    ("keys", "code", "path"),
    [
        ('per = "school_year"\ninstalments = 0', "tariff.instalment_count", "instalments"),
        ('per = "school_year"\ninstalments = 36', "tariff.instalment_count", "instalments"),
        (
            'per = "school_year"\ninstalments = 11',
            "tariff.instalment_count",
            "instalments",
        ),  # a 10-month list
        ('per = "month"\ninstalments = 10', "tariff.instalments_per", "instalments"),
        ('per = "week"', "config.choice", "per"),
        ("instalments = 10", "tariff.forfait_without_per", "instalments"),
        ('per = "period"', "tariff.forfait_periods", "periods"),
        ('per = "school_year"\nprorata = true', "tariff.prorata_per", "prorata"),
        ("prorata = true", "tariff.forfait_without_per", "prorata"),
        (
            'per = "period"\nperiods = [{ label = "Été", start = 2027-07-05, end = 2027-07-30 }]',
            "tariff.forfait_period_outside",
            "periods[0]",
        ),
        (
            'per = "period"\nperiods = [{ label = "A", start = 2026-10-17, end = 2026-11-01 },'
            ' { label = "B", start = 2026-11-01, end = 2026-11-02 }]',
            "tariff.forfait_period_overlap",
            "periods[1].start",
        ),
    ],
)
def test_a_forfait_the_regie_could_not_bill_is_refused_at_load_with_its_key_path(
    keys: str, code: str, path: str
) -> None:
    with pytest.raises(InvalidConfiguration) as caught:
        tariff_book_from_dict(tomllib.loads(_LIST + keys))
    assert (caught.value.code, caught.value.path) == (code, f"tariffs[0].prices.mercredis_annuel.{path}")


def test_a_forfait_on_a_prestation_priced_per_day_is_refused() -> None:
    text = _LIST.replace('unit = "block"', 'unit = "day"') + 'per = "month"'
    with pytest.raises(InvalidConfiguration) as caught:
        tariff_book_from_dict(tomllib.loads(text))
    assert (caught.value.code, caught.value.path) == (
        "tariff.forfait_unit",
        "tariffs[0].prices.mercredis_annuel.per",
    )
    assert "pas à la journée" in caught.value.message_fr


def test_a_prestation_is_a_forfait_in_every_price_list_or_in_none() -> None:
    later = (
        _LIST.replace("2026-2027", "2027-2028")
        .replace("2026-09-01", "2027-09-01")
        .replace("2027-06-30", "2028-06-30")
    )
    with pytest.raises(InvalidConfiguration) as caught:
        tariff_book_from_dict(tomllib.loads(_LIST + 'per = "school_year"\n' + later))
    assert caught.value.code == "tariff.forfait_mixed"


def test_the_commune_file_with_forfaits_is_written_back_equal() -> None:
    commune = bellerive()
    assert loads_commune(dumps_commune(commune)) == commune
    monthly = tariff_book_from_dict(tomllib.loads(_LIST + 'per = "month"\nprorata = true'))
    assert tariff_book_from_dict(tariff_book_to_dict(monthly)) == monthly
    book = tariff_book_from_dict(
        tomllib.loads(
            _LIST + 'per = "period"\nperiods = [{ label = "A", start = 2026-10-17, end = 2026-11-01 }]'
        )
    )
    assert tariff_book_from_dict(tariff_book_to_dict(book)) == book


def test_forfait_values_check_themselves() -> None:
    with pytest.raises(InvalidConfiguration) as caught:
        Forfait("month")  # type: ignore[arg-type]
    assert caught.value.code == "config.choice"
    with pytest.raises(InvalidConfiguration) as caught:
        ForfaitPeriod(" ", YEAR)
    assert caught.value.code == "config.missing_key"
    for count in (0, True):
        with pytest.raises(InvalidInput) as refused:
            instalment_amounts(Money("450.00"), count)
        assert refused.value.code == "tariff.instalment_count"
    with pytest.raises(InvalidInput):
        instalment_amounts(Decimal("450"), 10)  # type: ignore[arg-type]
    assert instalment_amounts(Money("-100.00"), 3) == [Money("-33.33"), Money("-33.33"), Money("-33.34")]


def test_an_enrolment_outside_the_price_list_owes_nothing_and_its_forfaits_are_found_per_list() -> None:
    book = bellerive().tariffs
    summer = DateRange(dt.date(2027, 9, 1), dt.date(2027, 9, 30))  # after the last price list
    assert book.forfaits_due("forfait_peri", summer, summer) == []
    assert book.forfaits_due("repas", YEAR, YEAR) == []  # priced per day
    due = book.forfaits_due("forfait_peri", DateRange(dt.date(2026, 9, 15), dt.date(2026, 10, 15)), YEAR)
    assert [(price_list.label, day.day, day.code) for price_list, day in due] == [
        ("2026-2027", dt.date(2026, 9, 15), "tariff.forfait"),
        ("2026-2027", dt.date(2026, 10, 1), "tariff.forfait"),
    ]
