"""The portal's demo: the demo city, two months billed, and a few families invited to activate their account.

``prepare_demo(store, accounts, base_url=...)`` fills an empty commune store with ``espacefamille demo``'s
city (``espacefamille.demo.city.build_demo_city``), then plays, through the back office and the family
portal as a commune would, what makes the portal's screens worth showing on Tuesday 2 February 2027:

* on 10 December 2026, a few households (on no direct debit) book every school-day meal of January, and
  their children are enrolled in the holiday centre for the winter holidays (22 February – 5 March 2027,
  paid at booking);
* December is billed on 4 January 2027 and January on 1 February: those households have two invoices to
  pay online;
* on 2 February at 8:30 an agent issues an activation for the payer of the first of them; the e-mail with
  its link waits in the outbox (the portal's development page shows it).

Nothing here reads the machine's clock: each step has its own fixed instant.
"""

from __future__ import annotations

import datetime as dt
from typing import Final
from zoneinfo import ZoneInfo

import attrs

from espacefamille import CommuneStore, Enrolment, FixedClock
from espacefamille.adapters.fake_gateway import FakeGateway
from espacefamille.calendar.periods import DateRange, Weekday
from espacefamille.demo.city import build_demo_city, demo_agent
from espacefamille.ports import AccountStore
from espacefamille.rules.basket import BasketLine, period_lines
from espacefamille.services import BackOffice, FamilyPortal

__all__ = ["PORTAL_OPENS", "WINTER_HOLIDAYS", "DemoPortal", "prepare_demo"]

_PARIS: Final = ZoneInfo("Europe/Paris")
#: When the demo portal opens: the day after January's invoices were issued.
PORTAL_OPENS: Final = dt.datetime(2027, 2, 2, 9, 0, tzinfo=_PARIS)
#: The holiday centre's winter period (zone B), open for booking from 4 January for residents.
WINTER_HOLIDAYS: Final = DateRange(dt.date(2027, 2, 22), dt.date(2027, 3, 5))
_JANUARY: Final = DateRange.month(2027, 1)
_SCHOOL_DAYS: Final = (Weekday.MONDAY, Weekday.TUESDAY, Weekday.THURSDAY, Weekday.FRIDAY)


@attrs.frozen
class DemoPortal:
    """What ``prepare_demo`` set up: the households with two invoices, and those invited to activate."""

    families: tuple[str, ...]
    invited: tuple[str, ...]
    opens: dt.datetime = PORTAL_OPENS


def prepare_demo(
    store: CommuneStore,
    accounts: AccountStore,
    *,
    base_url: str,
    families: int = 400,
    households: int = 4,
    invited: int = 2,
) -> DemoPortal:
    """Fill the empty ``store`` (see the module docstring); activation links start with ``base_url``."""
    build_demo_city(store, families=families)
    with store.unit_of_work() as uow:
        commune = uow.commune()
        chosen = [
            family.id
            for family in sorted(uow.families.all(), key=lambda f: f.id)
            if not family.direct_debit and family.residence.value == "resident"
        ][:households]
        children = {family_id: uow.families.children_of(family_id) for family_id in chosen}
    agent = demo_agent(commune)
    clock = FixedClock(dt.datetime(2026, 12, 10, 9, 0, tzinfo=_PARIS))
    office = BackOffice(store, clock=clock, accounts=accounts)
    portal = FamilyPortal(store, gateway=FakeGateway(), clock=clock, accounts=accounts)
    for family_id in chosen:
        lines: list[BasketLine] = []
        for child in children[family_id]:
            lines.extend(period_lines(commune, child.id, "repas", _JANUARY, _SCHOOL_DAYS).lines)
            office.enrol_child(
                agent, Enrolment(f"{child.id}-alsh-hiver", child.id, family_id, "alsh", WINTER_HOLIDAYS)
            )
        portal.validate_basket(agent, family_id, lines)
    clock.instant = dt.datetime(2027, 1, 4, 8, 0, tzinfo=_PARIS)
    office.run_month_end(agent, "enfance", DateRange.month(2026, 12))
    clock.instant = dt.datetime(2027, 2, 1, 8, 0, tzinfo=_PARIS)
    office.run_month_end(agent, "enfance", _JANUARY)
    clock.instant = PORTAL_OPENS - dt.timedelta(minutes=30)
    with_two = tuple(f for f in chosen if len(portal.invoices_to_pay(agent, f)) >= 2)
    asked = with_two[:invited]
    with store.unit_of_work() as uow:
        payers = {family_id: uow.families.get(family_id).payer_id for family_id in asked}
    for family_id in asked:
        office.activate_family_account(
            agent, family_id, payers[family_id], link_base=base_url.rstrip("/") + "/activer"
        )
    return DemoPortal(with_two, asked)
