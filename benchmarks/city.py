"""A deterministic, seeded synthetic city for the billing benchmarks: families, children, a month of bookings.

``synthetic_city(children=100_000, seed=2026)`` describes a city on the example commune (Saint-Aubin-des-Prés,
zone B) for November 2026; ``city.families()`` yields one ``FamilyMonth`` per family, built on demand, so
a run can stream the city family by family without holding four million bookings at once. The same seed
and size always give the same city.

What it contains, drawn from one ``random.Random(seed)`` per family (so any family can be rebuilt alone):

* families of 1 to 4 children (about 2,5 children on average), 15 % non-residents, 35 % on direct debit;
* quotients familiaux spread from 0 to 2 800 € in whole euros (CAF quotients are whole euros), with 5 % at
  exactly 0 and 10 % unknown; 3 % of children with a PAI; a few households with a twin pair;
* the month-end prestations of the commune's canteen and périscolaire services: meals on school days
  (90 % of children), morning care (60 %), evening care (70 %), Wednesday full days (20 %) or mornings
  (10 %); the holiday centre (prepaid, and closed in November) has nothing to invoice;
* attendance: absences on about 4 % of booked days (half justified), 1 % cancelled in time, the
  périscolaire training day of Friday 27 November 2026 recorded as *service closed* for the bookings made
  before it was declared, presences without booking on 0,5 % of the evenings not booked, and 2 % of meals
  booked late with a surcharge.

Generating the bookings is not what the benchmark measures: ``families()`` builds them with attrs
validators switched off (the generator only makes valid values), and billing times exclude it.
"""

from __future__ import annotations

import datetime as dt
import random
import time
from collections.abc import Iterator
from decimal import Decimal
from zoneinfo import ZoneInfo

import attrs

from espacefamille.billing.invoicing import FamilyMonth
from espacefamille.calendar.periods import DateRange
from espacefamille.commune import Commune
from espacefamille.examples import example_commune
from espacefamille.model import Booking, BookingStatus, Child, Family, Guardian, QuotientFamilial, Residence
from espacefamille.rules.attendance import AttendanceFact, AttendanceStatus

__all__ = ["City", "Household", "main", "synthetic_city"]

MONTH = DateRange.month(2026, 11)
ISSUED_ON = dt.date(2026, 12, 1)
TRAINING_DAY = dt.date(2026, 11, 27)
_BOOKED_AT = dt.datetime(2026, 10, 15, 9, 0, tzinfo=ZoneInfo("Europe/Paris"))
_LATE_AT = dt.datetime(2026, 11, 2, 9, 0, tzinfo=ZoneInfo("Europe/Paris"))
_SCHOOL_YEAR_START = dt.date(2026, 9, 1)

# Share of children booking each prestation, and whether the périscolaire training day was booked.
_TAKE_UP = (("repas", 0.9), ("matin", 0.6), ("soir", 0.7))
_WEDNESDAY = (("mercredi_journee", 0.2), ("mercredi_matin", 0.1))
_PERISCOLAIRE = frozenset({"matin", "soir"})


# A family, its children, its bookings and its attendance facts.
Household = tuple[Family, list[Child], list[Booking], list[AttendanceFact]]


@attrs.frozen
class City:
    """A synthetic city: its commune, month, number of children and seed."""

    commune: Commune
    children: int
    seed: int
    month: DateRange = MONTH
    _open_days: dict[str, tuple[dt.date, ...]] = attrs.field(init=False, repr=False, eq=False)

    def __attrs_post_init__(self) -> None:
        open_days: dict[str, tuple[dt.date, ...]] = {}
        for prestation_id, _ in (*_TAKE_UP, *_WEDNESDAY):
            calendar = self.commune.opening_calendar(prestation_id)
            days = [day for day in self.month if calendar.is_open(day)]
            if prestation_id in _PERISCOLAIRE:
                days = sorted({*days, TRAINING_DAY})  # booked before the training day was declared
            open_days[prestation_id] = tuple(days)
        object.__setattr__(self, "_open_days", open_days)

    def open_days(self, prestation_id: str) -> tuple[dt.date, ...]:
        return self._open_days[prestation_id]

    def families(self) -> Iterator[FamilyMonth]:
        """One ``FamilyMonth`` per family, in family-id order, until the city has its children (its
        bookings grouped into runs of days, as a store reads them)."""
        for family, children, bookings, facts in self.households():
            with attrs.validators.disabled():
                month = FamilyMonth(family, children, bookings, facts)
            yield month

    def households(self) -> Iterator[Household]:
        """Each family with its children, bookings (one ``Booking`` per day) and attendance facts."""
        made = 0
        index = 0
        while made < self.children:
            rng = random.Random(f"{self.seed}/{index}")
            size = min(_family_size(rng), self.children - made)
            with attrs.validators.disabled():
                household = self._family(rng, index, size)
            yield household
            made += size
            index += 1

    def _family(self, rng: random.Random, index: int, size: int) -> Household:
        family_id = f"F{index:07d}"
        draw = rng.random()
        quotients: list[QuotientFamilial] = []
        if draw >= 0.10:  # 10 % unknown
            value = Decimal(0) if draw < 0.15 else Decimal(rng.randint(1, 2800))
            quotients.append(QuotientFamilial(value, _SCHOOL_YEAR_START))
        family = Family(
            family_id,
            f"Famille {index}",
            (Guardian(f"G{index:07d}", "Camille", f"Famille{index}"),),
            f"G{index:07d}",
            Residence.NON_RESIDENT if rng.random() < 0.15 else Residence.RESIDENT,
            tuple(quotients),
            rng.random() < 0.35,
        )
        children: list[Child] = []
        bookings: list[Booking] = []
        facts: list[AttendanceFact] = []
        twins = size >= 2 and rng.random() < 0.05
        for number in range(size):
            child_id = f"{family_id}-{number}"
            born = dt.date(2015 + rng.randint(0, 7), rng.randint(1, 12), rng.randint(1, 28))
            if twins and number == 1:
                born = children[0].birth_date
            children.append(
                Child(child_id, f"Enfant{number}", family.name, born, (family_id,), pai=rng.random() < 0.03)
            )
            self._child_month(rng, family_id, child_id, bookings, facts)
        return family, children, bookings, facts

    def _child_month(
        self,
        rng: random.Random,
        family_id: str,
        child_id: str,
        bookings: list[Booking],
        facts: list[AttendanceFact],
    ) -> None:
        booked = BookingStatus.BOOKED
        status = AttendanceStatus
        chosen = [pid for pid, share in _TAKE_UP if rng.random() < share]
        wednesday = rng.random()
        if wednesday < 0.2:
            chosen.append("mercredi_journee")
        elif wednesday < 0.3:
            chosen.append("mercredi_matin")
        for prestation_id in chosen:
            for day in self._open_days[prestation_id]:
                late = prestation_id == "repas" and rng.random() < 0.02
                draw = rng.random()
                if draw < 0.01:  # cancelled in time: the booking is kept, cancelled, with its fact
                    bookings.append(
                        Booking(child_id, prestation_id, day, family_id, BookingStatus.CANCELLED, _BOOKED_AT)
                    )
                    facts.append(AttendanceFact(child_id, prestation_id, day, status.CANCELLED_IN_TIME))
                    continue
                bookings.append(
                    Booking(
                        child_id,
                        prestation_id,
                        day,
                        family_id,
                        booked,
                        _LATE_AT if late else _BOOKED_AT,
                        None,
                        "after_deadline.surcharge" if late else None,
                    )
                )
                if prestation_id in _PERISCOLAIRE and day == TRAINING_DAY:
                    facts.append(AttendanceFact(child_id, prestation_id, day, status.SERVICE_CLOSED))
                elif draw < 0.03:
                    facts.append(AttendanceFact(child_id, prestation_id, day, status.ABSENT_JUSTIFIED))
                elif draw < 0.05:
                    facts.append(AttendanceFact(child_id, prestation_id, day, status.ABSENT_UNJUSTIFIED))
        if "soir" not in chosen:
            for day in self._open_days["soir"]:
                if day != TRAINING_DAY and rng.random() < 0.005:
                    facts.append(AttendanceFact(child_id, "soir", day, AttendanceStatus.PRESENT_UNBOOKED))


def _family_size(rng: random.Random) -> int:
    draw = rng.random()
    return 1 if draw < 0.2 else 2 if draw < 0.6 else 3 if draw < 0.9 else 4


def synthetic_city(children: int = 100_000, seed: int = 2026, commune: Commune | None = None) -> City:
    """A city of ``children`` children on the example commune for November 2026."""
    return City(example_commune() if commune is None else commune, children, seed)


def main(children: int = 10_000) -> dict[str, float]:
    """Generate a city and print what it holds (and how long generating it takes)."""
    city = synthetic_city(children)
    start = time.perf_counter()
    families = bookings = facts = 0
    for _, _, booked, recorded in city.households():
        families += 1
        bookings += len(booked)
        facts += len(recorded)
    seconds = time.perf_counter() - start
    print(
        f"synthetic city, {children:,} children: {families:,} families, {bookings:,} bookings, "
        f"{facts:,} attendance facts — generated in {seconds:.2f} s"
    )
    return {"families": families, "bookings": bookings, "facts": facts, "seconds": seconds}


if __name__ == "__main__":
    main()
