"""Billing month by month through the services equals billing once on the final facts, on both stores.

Two households of Saint-Aubin (three children) eat at the canteen from October 2026 to January 2027. At
random instants families book and cancel meals, declare absences (with or without a certificate), agents
record attendance and certificates and correct quotients — before or after the month concerned was billed —
and the régie bills October on 2 November, November on 1 December, December on 4 January and January on
1 February. Whatever the order, for every child × prestation × day, everything the documents (and the
balances still carried below the threshold) bill for it equals what one run over the final facts bills for
it; each document's total is the sum of its lines; numbers follow each other with no gap and no repeat.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import attrs
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from psycopg_pool import ConnectionPool

from espacefamille.adapters.fake_gateway import FakeGateway
from espacefamille.adapters.memory import MemoryStore
from espacefamille.adapters.postgres import PostgresStore
from espacefamille.adapters.sqlite import SqliteStore
from espacefamille.billing.documents import Invoice, InvoiceLine
from espacefamille.calendar.periods import DateRange
from espacefamille.examples import example_commune
from espacefamille.families.accounts import AccountLink, Agent, AgentRole, FamilyMember
from espacefamille.model import Child, Enrolment, Family, Guardian, QuotientFamilial, SchoolClass
from espacefamille.money import ZERO, Money
from espacefamille.ports import CommuneStore, FixedClock
from espacefamille.rules.attendance import AbsenceReason, AttendanceFact, AttendanceStatus
from espacefamille.rules.basket import Action, BasketLine
from espacefamille.services import BackOffice, FamilyPortal
from tests import postgres_server

PARIS = ZoneInfo("Europe/Paris")
AGENT = Agent("agent-1", "saint-aubin", AgentRole.ADMINISTRATEUR)
START = dt.date(2026, 10, 1)
END = dt.date(2027, 1, 31)
WHOLE = DateRange(START, END)
SEASON = DateRange(dt.date(2026, 9, 1), dt.date(2027, 7, 3))
CHILDREN = {"C1": "F1", "C2": "F1", "C3": "F2"}
MEALS = tuple(example_commune().opening_calendar("repas").open_days(WHOLE))
#: The runs: (month, instant of the run).
RUNS = tuple(
    (DateRange.month(year, month), dt.datetime(*on, 10, 0, tzinfo=PARIS))
    for (year, month), on in (
        ((2026, 10), (2026, 11, 2)),
        ((2026, 11), (2026, 12, 1)),
        ((2026, 12), (2027, 1, 4)),
        ((2027, 1), (2027, 2, 1)),
    )
)
STATUSES = (
    AttendanceStatus.PRESENT,
    AttendanceStatus.ABSENT_JUSTIFIED,
    AttendanceStatus.ABSENT_UNJUSTIFIED,
    AttendanceStatus.PRESENT_UNBOOKED,
    AttendanceStatus.CANCELLED_IN_TIME,
)
QUOTIENTS = (None, 0, 500, 800, 1200)


def _member(family_id: str) -> FamilyMember:
    return FamilyMember(
        f"acc-{family_id}",
        [
            AccountLink(
                "saint-aubin", family_id, f"G-{family_id}", "act", dt.datetime(2026, 9, 1, tzinfo=PARIS)
            )
        ],
    )


def _family(family_id: str, quotient: int | None) -> Family:
    quotients = [] if quotient is None else [QuotientFamilial(quotient, dt.date(2026, 9, 1))]
    guardian = Guardian(f"G-{family_id}", "Claire", family_id, email=f"{family_id.lower()}@example.fr")
    return Family(family_id, family_id, [guardian], guardian.id, quotients=quotients)


def _children() -> list[Child]:
    return [
        Child("C1", "Léa", "Martin", dt.date(2016, 3, 14), ["F1"], school_class=SchoolClass.CM2),
        Child("C2", "Tom", "Martin", dt.date(2018, 6, 1), ["F1"], school_class=SchoolClass.CE2),
        Child("C3", "Hugo", "Durand", dt.date(2018, 5, 2), ["F2"], school_class=SchoolClass.CE2),
    ]


def _open(
    store: CommuneStore, clock: FixedClock, families: dict[str, Family]
) -> tuple[FamilyPortal, BackOffice]:
    with store.unit_of_work() as uow:
        uow.save_commune(example_commune())
        uow.commit()
    portal = FamilyPortal(store, gateway=FakeGateway(), clock=clock)
    office = BackOffice(store, clock=clock)
    children = _children()
    for family_id, family in families.items():
        office.register_family(AGENT, family, [c for c in children if c.family_ids[0] == family_id])
    for child in children:
        office.enrol_child(
            AGENT, Enrolment(f"E-{child.id}", child.id, child.family_ids[0], "cantine", SEASON)
        )
    return portal, office


@attrs.frozen
class Act:
    """Something a family or an agent does at ``at``."""

    at: dt.datetime
    kind: str
    child_id: str
    days: tuple[dt.date, ...]
    status: AttendanceStatus = AttendanceStatus.PRESENT
    proof: bool = False
    quotient: int | None = None


@st.composite
def acts(draw: st.DrawFn) -> Act:
    offset = draw(st.integers(0, (END - START).days))
    hour = draw(st.sampled_from((8, 12, 19)))
    at = dt.datetime.combine(START + dt.timedelta(days=offset), dt.time(hour), tzinfo=PARIS)
    today = at.date()
    kind = draw(
        st.sampled_from(("book", "book", "cancel", "record", "record", "absence", "proof", "quotient"))
    )
    child_id = draw(st.sampled_from(sorted(CHILDREN)))
    ahead = [d for d in MEALS if d > today]
    past = [d for d in MEALS if d <= today]
    if kind in ("book", "cancel"):
        pool = ahead or list(MEALS[-1:])
        days = draw(st.lists(st.sampled_from(pool), min_size=1, max_size=6, unique=True))
        return Act(at, kind, child_id, tuple(sorted(days)))
    if kind == "record":
        day = draw(st.sampled_from(past or list(MEALS[:1])))
        return Act(at, kind, child_id, (day,), status=draw(st.sampled_from(STATUSES)))
    if kind == "absence":
        first = draw(st.sampled_from(MEALS))
        length = draw(st.integers(0, 3))
        return Act(at, kind, child_id, (first, first + dt.timedelta(days=length)), proof=draw(st.booleans()))
    if kind == "proof":
        return Act(at, kind, child_id, ())
    return Act(at, kind, child_id, (), quotient=draw(st.sampled_from(QUOTIENTS)))


class Month:
    """The scenario played on one store: the acts and runs in time order."""

    def __init__(self, store: CommuneStore) -> None:
        self.store = store
        self.clock = FixedClock(dt.datetime(2026, 9, 1, 9, 0, tzinfo=PARIS))
        self.families = {"F1": _family("F1", 800), "F2": _family("F2", 500)}
        self.portal, self.office = _open(store, self.clock, self.families)
        self.declared: list[tuple[str, DateRange]] = []

    def play(self, script: Iterable[Act]) -> None:
        events: list[tuple[dt.datetime, int, Act | DateRange]] = [(on, 1, month) for month, on in RUNS]
        events.extend((act.at, 0, act) for act in script)
        for at, _, event in sorted(events, key=lambda e: (e[0], e[1])):
            self.clock.instant = at
            if isinstance(event, DateRange):
                self.office.run_month_end(AGENT, "enfance", event)
            else:
                self.act(event)

    def act(self, act: Act) -> None:
        family_id = CHILDREN[act.child_id]
        member = _member(family_id)
        if act.kind in ("book", "cancel"):
            action = Action.BOOK if act.kind == "book" else Action.CANCEL
            lines = [BasketLine(action, act.child_id, "repas", day) for day in act.days]
            self.portal.validate_basket(member, family_id, lines)
        elif act.kind == "record":
            fact = AttendanceFact(act.child_id, "repas", act.days[0], act.status)
            self.office.record_attendance(AGENT, [fact])
        elif act.kind == "absence":
            days = DateRange(act.days[0], act.days[1])
            reason = AbsenceReason.ILLNESS if act.proof else AbsenceReason.OTHER
            self.portal.declare_absence(member, act.child_id, days, reason, proof_received=act.proof)
            self.declared.append((act.child_id, days))
        elif act.kind == "proof":
            mine = [days for child_id, days in self.declared if child_id == act.child_id]
            if mine:
                self.office.record_absence_proof(AGENT, family_id, act.child_id, mine[-1])
        else:
            family = attrs.evolve(
                self.families[family_id],
                quotients=[]
                if act.quotient is None
                else [QuotientFamilial(act.quotient, dt.date(2026, 9, 1))],
            )
            self.families[family_id] = family
            self.office.register_family(AGENT, family)

    def documents(self) -> list[Invoice]:
        with self.store.unit_of_work() as uow:
            return [d for family_id in self.families for d in uow.documents.invoices_of(family_id)]

    def carried_lines(self) -> list[InvoiceLine]:
        with self.store.unit_of_work() as uow:
            return [line for balance in uow.runs.carried("enfance").values() for line in balance.lines]

    def copy_final_facts(self, other: CommuneStore) -> None:
        """The final facts (families, children, enrolments, bookings, attendance, absences) into ``other``."""
        with self.store.unit_of_work() as uow, other.unit_of_work() as into:
            into.save_commune(uow.commune())
            for family_id in self.families:
                into.families.save(uow.families.get(family_id))
                for child in uow.families.children_of(family_id):
                    into.families.save_child(child)
                    for enrolment in uow.families.enrolments_of(child.id):
                        into.families.save_enrolment(enrolment)
                into.bookings.save(uow.bookings.of_family(family_id, WHOLE))
                into.attendance.save(uow.attendance.of_family(family_id, WHOLE), family_id)
                for declaration in uow.attendance.absences_of(family_id):
                    into.attendance.save_absence(declaration, family_id)
            into.commit()


def _by_day(lines: Iterable[InvoiceLine]) -> dict[tuple[str, str, dt.date], Money]:
    """What lines bill per child × prestation × day (a line's total shared over its days to the cent)."""
    table: dict[tuple[str, str, dt.date], Money] = {}
    for line in lines:
        shares = line.total.split(len(line.days)) if line.days else []
        for day, share in zip(line.days, shares, strict=True):
            key = (line.child_id, line.prestation_id, day)
            table[key] = table.get(key, ZERO) + share
    return {key: amount for key, amount in table.items() if amount}


def _store(kind: str, directory: Path, name: str) -> CommuneStore:
    if kind == "postgres":  # each store another collectivité of the module's database
        return PostgresStore(_POSTGRES[0], postgres_server.collectivite_id(name))
    return MemoryStore() if kind == "memory" else SqliteStore(directory / f"{name}.sqlite")


#: Found by hypothesis: November (9, 12 and 27, booked late: a surcharge on the 9th and 12th) is carried below
#: the threshold; the proof of the 12th's absence arrives in December, and December's run must read again the
#: 27th too (held by the presences' line with the 9th, which the surcharge line brings).
_CARRIED_CORRECTION = [
    Act(dt.datetime(2026, 10, 1, 8, 0, tzinfo=PARIS), "absence", "C1", (dt.date(2026, 11, 12),) * 2),
    Act(
        dt.datetime(2026, 11, 7, 8, 0, tzinfo=PARIS),
        "book",
        "C1",
        (dt.date(2026, 11, 9), dt.date(2026, 11, 12), dt.date(2026, 11, 27)),
    ),
    Act(dt.datetime(2026, 12, 4, 8, 0, tzinfo=PARIS), "proof", "C1", ()),
]


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(script=st.lists(acts(), max_size=30))
@example(script=_CARRIED_CORRECTION)
def test_billing_month_by_month_equals_billing_once_on_the_final_facts(kind: str, script: list[Act]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        directory = Path(folder)
        months = Month(_store(kind, directory, "months"))
        months.play(script)
        documents = months.documents()
        for document in documents:
            assert document.total == Money.total(line.total for line in document.lines)
        # Numbers: each series of the régie counts 1, 2, 3… per year, each once.
        series: dict[tuple[str, str], list[int]] = {}
        for document in documents:
            prefix, _, counter = document.number.rpartition("-")
            series.setdefault((prefix, document.regie_id), []).append(int(counter))
        for counters in series.values():
            assert sorted(counters) == list(range(1, len(counters) + 1))

        once = Month(_store(kind, directory, "once"))
        months.copy_final_facts(once.store)
        once.clock.instant = RUNS[-1][1]
        once.office.run_month_end(AGENT, "enfance", WHOLE)
        billed_once = _by_day([line for d in once.documents() for line in d.lines] + once.carried_lines())
        billed_monthly = _by_day([line for d in documents for line in d.lines] + months.carried_lines())
        assert billed_monthly == billed_once


# -- the same on PostgreSQL: fewer examples, each of its stores a collectivité of one database ----------

_POSTGRES: list[ConnectionPool] = []


@pytest.fixture(scope="module")
def postgres_pool() -> Iterator[None]:
    with postgres_server.pool("months", size=4) as shared:
        _POSTGRES.append(shared)
        yield
        _POSTGRES.clear()


@pytest.mark.usefixtures("postgres_pool")
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(script=st.lists(acts(), max_size=30))
@example(script=_CARRIED_CORRECTION)
def test_billing_month_by_month_equals_billing_once_on_postgres(script: list[Act]) -> None:
    on_every_store = test_billing_month_by_month_equals_billing_once_on_the_final_facts
    on_every_store.hypothesis.inner_test("postgres", script)
