"""The demo commune: Saint-Aubin-des-Prés with several hundred families and a month of bookings, seeded.

``build_demo_city(store)`` fills an empty commune store (the SQLite default, or any ``CommuneStore``) with
what a régie has at the end of December 2026, the month ``espacefamille demo`` then bills:

* the example commune (``examples/saint-aubin.toml``): a canteen and a périscolaire invoiced at month end
  (régie *enfance*), a holiday centre paid at booking (régie *loisirs*);
* families of 1 to 4 children (15 % non-residents, 35 % on direct debit, quotients from 0 to 2 800 € with
  10 % unknown, 3 % of children with a PAI), enrolled for the school year; each payer has a postal address
  (in the commune, or in a neighbouring one for a non-resident), and each household on direct debit a signed
  SEPA mandate with the régie enfance (signed in June–August 2026, an account of its own);
* month-end bookings of meals, morning and evening care and Wednesdays on the days the services are open,
  some children booking only a few days (their small totals are carried below the 15 € threshold);
* attendance: absences on about 4 % of booked days (half justified), 1 % cancelled in time, the canteen's
  end-of-term outing of Friday 18 December recorded as *service closed* for the meals booked before it was
  decided, presences without booking on a few evenings, 2 % of meals booked late with a surcharge;
* holiday-centre days of 21–23 December booked on 10 November through the family portal, paid online (a
  fake PayFiP), the last places of the 23rd going to a waiting list; a few families cancel a day in time
  on 20 November and get a credit note (*avoir*) for what they paid.

Everything comes from ``random.Random(f"{seed}/{index}")`` per family and fixed instants: the same seed and
size always give the same commune, invoices and numbers. Addresses and mandates are drawn apart, from the
family's id (``random.Random(f"address/{family_id}")``, ``…"mandate/…"``), so the rest of the city is the
one it was before they were added. Nothing here reads the machine's clock.

So ``espacefamille demo`` can be followed by the régie's outputs: ``espacefamille pes`` (every payer has an
address), ``espacefamille debits build`` (the mandates) and ``espacefamille attestations``.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Final

import attrs

from espacefamille.adapters.fake_gateway import FakeGateway
from espacefamille.billing.documents import Invoice
from espacefamille.billing.mandates import FamilyMandate, Mandate, iban_of
from espacefamille.calendar.periods import DateRange
from espacefamille.calendar.timezones import time_zone
from espacefamille.commune import Commune
from espacefamille.errors import InvalidInput, NotFound
from espacefamille.examples import example_commune
from espacefamille.families.accounts import Agent, AgentRole
from espacefamille.model import (
    Booking,
    BookingStatus,
    Child,
    Enrolment,
    Family,
    Guardian,
    PostalAddress,
    QuotientFamilial,
    Residence,
    SchoolClass,
)
from espacefamille.ports import CommuneStore, FixedClock, UnitOfWork
from espacefamille.rules.attendance import AttendanceFact, AttendanceStatus
from espacefamille.rules.basket import Action, BasketLine
from espacefamille.services import FamilyPortal, transact

__all__ = [
    "DEMO_FAMILIES",
    "DEMO_ISSUED_ON",
    "DEMO_MONTH",
    "DEMO_SEED",
    "DemoCity",
    "build_demo_city",
    "demo_agent",
]

DEMO_MONTH: Final = DateRange.month(2026, 12)
#: Invoices for December are issued on the first working day after the New Year.
DEMO_ISSUED_ON: Final = dt.date(2027, 1, 4)
DEMO_FAMILIES: Final = 400
DEMO_SEED: Final = 2026

_ZONE = time_zone("Europe/Paris")
_SCHOOL_YEAR = DateRange(dt.date(2026, 9, 1), dt.date(2027, 7, 3))
_HOLIDAY_DAYS = (dt.date(2026, 12, 21), dt.date(2026, 12, 22), dt.date(2026, 12, 23))
_OUTING = dt.date(2026, 12, 18)  # the canteen's outing: in the configuration, decided after the bookings
_BOOKED_AT = dt.datetime(2026, 11, 16, 9, 0, tzinfo=_ZONE)
_LATE_AT = dt.datetime(2026, 11, 30, 9, 0, tzinfo=_ZONE)
_PORTAL_OPENS = dt.datetime(2026, 11, 10, 9, 0, tzinfo=_ZONE)
_CANCELLATIONS = dt.datetime(2026, 11, 20, 18, 0, tzinfo=_ZONE)
_BATCH = 50

_FIRST_NAMES = (
    "Léa", "Hugo", "Chloé", "Louis", "Emma", "Jules", "Manon", "Gabriel", "Inès", "Arthur", "Jade", "Raphaël",
    "Zoé", "Adam", "Lina", "Nathan", "Camille", "Noah", "Sarah", "Tom", "Louise", "Sacha", "Alice", "Malo",
)  # fmt: skip
_GUARDIAN_NAMES = (
    "Claire", "Thomas", "Sophie", "Julien", "Nadia", "Karim", "Élodie", "Mathieu", "Aurélie", "Sébastien",
    "Fatima", "Nicolas", "Céline", "Antoine", "Marion", "Yannick",
)  # fmt: skip
_LAST_NAMES = (
    "Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy", "Moreau",
    "Simon", "Laurent", "Lefèvre", "Michel", "Garcia", "David", "Bertrand", "Roux", "Vincent", "Fournier",
    "Morel", "Girard", "André", "Mercier", "Dupont", "Lambert", "Bonnet", "François", "Martinez", "Benali",
)  # fmt: skip
_STREETS = (
    "rue des Lilas", "rue du Moulin", "avenue de la Gare", "place de l'Église", "allée des Tilleuls",
    "chemin des Prés", "rue Jean-Jaurès", "impasse des Érables", "boulevard Victor-Hugo", "rue des Écoles",
    "rue de la Fontaine", "rue Pasteur", "allée des Cerisiers", "rue du Stade", "route de Rennes",
    "rue des Vergers",
)  # fmt: skip
_BUILDINGS = ("Résidence les Tilleuls", "Résidence du Parc", "Résidence des Prés", "Le Clos des Vignes")
_COMMUNE_POSTCODE = ("35240", "Saint-Aubin-des-Prés")
_NEIGHBOURS = (
    ("35000", "Rennes"), ("35510", "Cesson-Sévigné"), ("35135", "Chantepie"), ("35770", "Vern-sur-Seiche"),
    ("35230", "Noyal-Châtillon-sur-Seiche"), ("35131", "Chartres-de-Bretagne"),
)  # fmt: skip
# French banks (code banque) the households' accounts are drawn from: BNP Paribas, Société générale, La
# Banque postale, Crédit agricole d'Ille-et-Vilaine, Crédit mutuel de Bretagne, Caisse d'épargne Bretagne.
_BANKS = ("30004", "30003", "20041", "13606", "15589", "14445")
_MANDATE_REGIE = "enfance"  # the régie that invoices at month end; the holiday centre is paid at booking
_TAKE_UP = (("repas", 0.9), ("matin", 0.5), ("soir", 0.65))
_CLASSES = tuple(SchoolClass)[:9]  # TPS … CM2


def demo_agent(commune: Commune) -> Agent:
    """The administrator who runs the demo's back office."""
    return Agent("demo", commune.collectivite.id, AgentRole.ADMINISTRATEUR)


@attrs.frozen
class DemoCity:
    """What ``build_demo_city`` put in the store (counts, and the documents issued before month end)."""

    families: int
    children: int
    bookings: int
    attendance: int
    prepaid_paid: int
    prepaid_waiting: int
    credit_notes: tuple[Invoice, ...]
    month: DateRange = DEMO_MONTH
    issued_on: dt.date = DEMO_ISSUED_ON
    mandates: int = 0  # households on direct debit with a signed mandate (régie enfance)


def _address(family_id: str, residence: Residence) -> PostalAddress:
    """The payer's address, the same for the same family id (drawn apart from the city's draws)."""
    rng = random.Random(f"address/{family_id}")
    lines = [f"{rng.randint(1, 120)} {rng.choice(_STREETS)}"]
    if rng.random() < 0.15:
        lines.insert(0, f"{rng.choice(_BUILDINGS)}, bâtiment {rng.choice('ABCD')}")
    postcode, city = rng.choice(_NEIGHBOURS) if residence is Residence.NON_RESIDENT else _COMMUNE_POSTCODE
    return PostalAddress(lines, postcode, city)


def _french_iban(bank: str, branch: str, account: str) -> str:
    """The IBAN of a French account: its RIB key (97 − (89 × bank + 15 × branch + 3 × account) mod 97), then
    the IBAN's check digits (ISO 13616, mod 97-10)."""
    digits = account.translate(str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "12345678912345678923456789"))
    key = 97 - (89 * int(bank) + 15 * int(branch) + 3 * int(digits)) % 97
    return iban_of("FR", f"{bank}{branch}{account}{key:02d}")


def _mandate(family: Family) -> FamilyMandate:
    """The payer's signed mandate with the régie enfance, the same for the same family id."""
    rng = random.Random(f"mandate/{family.id}")
    signed_on = dt.date(2026, 6, 15) + dt.timedelta(days=rng.randrange(70))  # before the school year
    branch = f"{rng.randrange(100_000):05d}"
    account = f"{rng.randrange(10**11):011d}"
    payer = family.payer
    terms = Mandate(
        f"{_MANDATE_REGIE}-{family.id}-001",
        signed_on,
        f"{payer.first_name} {payer.last_name}",
        _french_iban(rng.choice(_BANKS), branch, account),
    )
    return FamilyMandate(terms, family.id, _MANDATE_REGIE, signed_on + dt.timedelta(days=rng.randrange(1, 8)))


@attrs.frozen
class _Household:
    family: Family
    children: tuple[Child, ...]
    enrolments: tuple[Enrolment, ...]
    bookings: tuple[Booking, ...]
    facts: tuple[AttendanceFact, ...]
    holiday: tuple[tuple[str, tuple[dt.date, ...]], ...]  # children booking the holiday centre, and days
    mandate: FamilyMandate | None = None


def _school_class(birth: dt.date) -> SchoolClass:
    # Children enter petite section the September of the year they turn 3; TPS is for those of 2.
    rank = 2026 - birth.year - 2
    return _CLASSES[max(0, min(rank, len(_CLASSES) - 1))]


class _Generator:
    def __init__(self, commune: Commune, seed: int) -> None:
        self.commune = commune
        self.seed = seed
        self.open_days: dict[str, tuple[dt.date, ...]] = {}
        for prestation_id in ("repas", "matin", "soir", "mercredi_journee", "mercredi_matin"):
            calendar = commune.opening_calendar(prestation_id)
            days = [day for day in DEMO_MONTH if calendar.is_open(day)]
            if prestation_id == "repas":
                days = sorted({*days, _OUTING})  # booked before the outing closed the canteen
            self.open_days[prestation_id] = tuple(days)

    def household(self, index: int) -> _Household:
        rng = random.Random(f"{self.seed}/{index}")
        family_id = f"F{index:04d}"
        last_name = rng.choice(_LAST_NAMES)
        guardians = [
            Guardian(
                f"{family_id}-R{rank}",
                rng.choice(_GUARDIAN_NAMES),
                last_name,
                f"{family_id.lower()}.r{rank}@exemple.fr",
            )
            for rank in (1, 2)[: 1 if rng.random() < 0.3 else 2]
        ]
        draw = rng.random()
        quotients: list[QuotientFamilial] = []
        if draw >= 0.10:
            value = Decimal(0) if draw < 0.14 else Decimal(rng.randint(200, 2800))
            quotients.append(QuotientFamilial(value, _SCHOOL_YEAR.start))
        residence = Residence.NON_RESIDENT if rng.random() < 0.15 else Residence.RESIDENT
        family = Family(
            family_id,
            f"Famille {last_name}",
            guardians,
            guardians[0].id,
            residence,
            quotients,
            rng.random() < 0.35,
            _address(family_id, residence),
        )
        draw = rng.random()
        size = 1 if draw < 0.25 else 2 if draw < 0.65 else 3 if draw < 0.92 else 4
        children: list[Child] = []
        enrolments: list[Enrolment] = []
        bookings: list[Booking] = []
        facts: list[AttendanceFact] = []
        holiday: list[tuple[str, tuple[dt.date, ...]]] = []
        for number in range(size):
            child_id = f"{family_id}-E{number + 1}"
            birth = dt.date(rng.randint(2015, 2023), rng.randint(1, 12), rng.randint(1, 28))
            children.append(
                Child(
                    child_id,
                    rng.choice(_FIRST_NAMES),
                    last_name,
                    birth,
                    (family_id,),
                    school="École des Prés",
                    school_class=_school_class(birth),
                    pai=rng.random() < 0.03,
                )
            )
            for service_id in ("cantine", "periscolaire"):
                enrolments.append(
                    Enrolment(f"{child_id}-{service_id}", child_id, family_id, service_id, _SCHOOL_YEAR)
                )
            self._month(rng, family_id, child_id, bookings, facts)
            if rng.random() < 0.05:
                enrolments.append(
                    Enrolment(
                        f"{child_id}-alsh-noel",
                        child_id,
                        family_id,
                        "alsh",
                        DateRange(_HOLIDAY_DAYS[0], _HOLIDAY_DAYS[-1]),
                    )
                )
                first = rng.randrange(len(_HOLIDAY_DAYS))
                holiday.append((child_id, _HOLIDAY_DAYS[first:]))
        return _Household(
            family,
            tuple(children),
            tuple(enrolments),
            tuple(bookings),
            tuple(facts),
            tuple(holiday),
            _mandate(family) if family.direct_debit else None,
        )

    def _month(
        self,
        rng: random.Random,
        family_id: str,
        child_id: str,
        bookings: list[Booking],
        facts: list[AttendanceFact],
    ) -> None:
        occasional = rng.random() < 0.08  # a few days here and there: a small bill, carried
        chosen = [pid for pid, share in _TAKE_UP if rng.random() < share]
        wednesday = rng.random()
        if wednesday < 0.18:
            chosen.append("mercredi_journee")
        elif wednesday < 0.28:
            chosen.append("mercredi_matin")
        if occasional:
            chosen = ["soir"]
        for prestation_id in chosen:
            days = self.open_days[prestation_id]
            if occasional:
                days = tuple(sorted(rng.sample(days, 3)))
            for day in days:
                late = prestation_id == "repas" and rng.random() < 0.02
                draw = rng.random()
                if draw < 0.01:
                    bookings.append(
                        Booking(child_id, prestation_id, day, family_id, BookingStatus.CANCELLED, _BOOKED_AT)
                    )
                    facts.append(_fact(child_id, prestation_id, day, AttendanceStatus.CANCELLED_IN_TIME))
                    continue
                bookings.append(
                    Booking(
                        child_id,
                        prestation_id,
                        day,
                        family_id,
                        BookingStatus.BOOKED,
                        _LATE_AT if late else _BOOKED_AT,
                        None,
                        "after_deadline.surcharge" if late else None,
                    )
                )
                if day == _OUTING and prestation_id == "repas":
                    facts.append(_fact(child_id, prestation_id, day, AttendanceStatus.SERVICE_CLOSED))
                elif draw < 0.03:
                    facts.append(_fact(child_id, prestation_id, day, AttendanceStatus.ABSENT_JUSTIFIED))
                elif draw < 0.05:
                    facts.append(_fact(child_id, prestation_id, day, AttendanceStatus.ABSENT_UNJUSTIFIED))
        if "soir" not in chosen:
            for day in self.open_days["soir"]:
                if rng.random() < 0.01:
                    facts.append(_fact(child_id, "soir", day, AttendanceStatus.PRESENT_UNBOOKED))


def _fact(child_id: str, prestation_id: str, day: dt.date, status: AttendanceStatus) -> AttendanceFact:
    note = (
        "Sortie de fin de trimestre : repas non facturé." if status is AttendanceStatus.SERVICE_CLOSED else ""
    )
    recorded = dt.datetime.combine(day, dt.time(18, 0), tzinfo=_ZONE)
    return AttendanceFact(child_id, prestation_id, day, status, "animateur-demo", recorded, note)


def _save_households(uow: UnitOfWork, households: Sequence[_Household]) -> None:
    for household in households:
        uow.families.save(household.family)
        for child in household.children:
            uow.families.save_child(child)
        for enrolment in household.enrolments:
            uow.families.save_enrolment(enrolment)
        if household.mandate is not None:
            uow.mandates.save(household.mandate)


def _save_month(uow: UnitOfWork, households: Sequence[_Household]) -> None:
    for household in households:
        uow.bookings.save(household.bookings)
        if household.facts:
            uow.attendance.save(household.facts, household.family.id)


def build_demo_city(
    store: CommuneStore,
    *,
    families: int = DEMO_FAMILIES,
    seed: int = DEMO_SEED,
    commune: Commune | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> DemoCity:
    """Fill the empty ``store`` with the demo commune and its month (see the module docstring).

    ``progress(done, total)`` is called as households are saved. Refuses (``InvalidInput``, code
    ``demo.store_not_empty``) a store that already holds a commune: the demo never mixes with real data.
    """
    if not isinstance(families, int) or not 1 <= families <= 20_000:
        raise InvalidInput(
            f"the demo has 1 to 20000 families, not {families!r}",
            message_fr="La démonstration compte de 1 à 20 000 familles.",
            code="demo.families",
        )
    commune = commune or example_commune()

    def prepare(uow: UnitOfWork) -> None:
        try:
            uow.commune()
        except NotFound:
            uow.save_commune(commune)
            return
        raise InvalidInput(
            "the store already holds a commune; the demo needs an empty one",
            message_fr="Cette base contient déjà une commune : la démonstration a besoin d'une base vide.",
            code="demo.store_not_empty",
        )

    transact(store, prepare)
    generator = _Generator(commune, seed)
    households = [generator.household(index) for index in range(1, families + 1)]
    done = 0
    for start in range(0, len(households), _BATCH):
        batch = households[start : start + _BATCH]

        def save(uow: UnitOfWork, batch: Sequence[_Household] = batch) -> None:
            _save_households(uow, batch)
            _save_month(uow, batch)

        transact(store, save)
        done += len(batch)
        if progress is not None:
            progress(done, len(households))
    paid, waiting, notes = _holiday_centre(store, commune, households, seed)
    return DemoCity(
        families=len(households),
        children=sum(len(h.children) for h in households),
        bookings=sum(len(h.bookings) for h in households),
        attendance=sum(len(h.facts) for h in households),
        prepaid_paid=paid,
        prepaid_waiting=waiting,
        credit_notes=notes,
        mandates=sum(1 for h in households if h.mandate is not None),
    )


def _holiday_centre(
    store: CommuneStore, commune: Commune, households: Sequence[_Household], seed: int
) -> tuple[int, int, tuple[Invoice, ...]]:
    """Book the holiday centre through the portal, pay online, and cancel a few days in time."""
    rng = random.Random(f"{seed}/holidays")
    clock = FixedClock(_PORTAL_OPENS)
    gateway = FakeGateway()
    portal = FamilyPortal(store, gateway=gateway, clock=clock, source=rng.randbytes)
    agent = demo_agent(commune)
    paid = waiting = 0
    booked: list[tuple[str, str, dt.date]] = []
    for household in households:
        if not household.holiday:
            continue
        lines = [
            BasketLine(Action.BOOK, child_id, "journee", day)
            for child_id, days in household.holiday
            for day in days
        ]
        outcome = portal.validate_basket(agent, household.family.id, lines)
        waiting += sum(1 for d in outcome.decisions if d.position is not None)
        for attempt in outcome.payments:
            clock.advance(dt.timedelta(minutes=4))
            gateway.pay(attempt.payment_id, clock.now())
            result = portal.payment_notification(gateway.notification(attempt.payment_id))
            paid += len(result.confirmed)
            booked.extend((household.family.id, b.child_id, b.day) for b in result.confirmed)
        clock.advance(dt.timedelta(minutes=7))
    clock.instant = _CANCELLATIONS
    notes: list[Invoice] = []
    for family_id, child_id, day in booked:
        if rng.random() < 0.12:
            outcome = portal.validate_basket(
                agent, family_id, [BasketLine(Action.CANCEL, child_id, "journee", day)]
            )
            notes.extend(outcome.credit_notes)
            clock.advance(dt.timedelta(minutes=3))
    return paid, waiting, tuple(notes)
