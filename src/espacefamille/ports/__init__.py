"""Ports: the protocols a host application implements, and the values they exchange.

* ``CommuneStore`` hands out ``UnitOfWork`` objects: one all-or-nothing set of reads and writes on one
  collectivité, through its repositories (``espacefamille.ports.store``; reference stores in
  ``espacefamille.adapters``, the conformance kit in ``espacefamille.testing``).
* ``AccountStore`` keeps the accounts, which span collectivités.
* ``Clock`` is where services read the time (``SystemClock``, ``FixedClock`` for tests and demos).
* ``PaymentGateway`` is an online payment provider (defined with the values it exchanges in
  ``espacefamille.billing.online``; ``adapters.payfip`` and ``adapters.fake_gateway`` implement it).
* ``Notifier`` reaches a family by e-mail or SMS (defined with the outbox in
  ``espacefamille.families.events``).
"""

from espacefamille.billing.online import PaymentGateway
from espacefamille.families.events import Notifier
from espacefamille.ports.clock import Clock, FixedClock, SystemClock
from espacefamille.ports.store import (
    AccountStore,
    CommuneStore,
    FamilyRecords,
    UnitOfWork,
    changed_meanwhile,
    check_carried,
    family_records_by_parts,
    family_records_of,
    with_children_named,
)

__all__ = [
    "AccountStore",
    "Clock",
    "CommuneStore",
    "FamilyRecords",
    "FixedClock",
    "Notifier",
    "PaymentGateway",
    "SystemClock",
    "UnitOfWork",
    "changed_meanwhile",
    "check_carried",
    "family_records_by_parts",
    "family_records_of",
    "with_children_named",
]
