"""The same gateway notification delivered several times at once: settled once, answered "paid" once.

PayFiP (or a host's load balancer) may call the notification URL again before the first call has answered;
each call runs in its own worker on the same SQLite file. Exactly one is told the payment is paid, the
others that it is a duplicate (so a gateway or a host can tell them apart), and one payment is recorded.
"""

from __future__ import annotations

import collections
import datetime as dt
import threading
from pathlib import Path

from espacefamille.adapters.fake_gateway import FakeGateway
from espacefamille.adapters.sqlite import SqliteStore
from espacefamille.examples import example_commune
from espacefamille.model import Enrolment
from espacefamille.ports import FixedClock
from espacefamille.services import BackOffice, FamilyPortal
from tests.unit.test_services import AGENT, HOLIDAY_MONDAY, MARTIN, NOW, YEAR, book, make_world

WORKERS = 6


def test_a_notification_delivered_at_once_by_several_workers_is_paid_once(tmp_path: Path) -> None:
    path = tmp_path / "commune.sqlite"
    store = SqliteStore(path)
    with store.unit_of_work() as uow:
        uow.save_commune(example_commune())
        uow.commit()
    memory = make_world()  # the same households, registered in the SQLite file
    clock = FixedClock(NOW)
    gateway = FakeGateway()
    office = BackOffice(store, clock=clock)
    with memory.store.unit_of_work() as reading:
        family, children = reading.families.get("F1"), reading.families.children_of("F1")
    office.register_family(AGENT, family, children)
    office.enrol_child(AGENT, Enrolment("E-C1-alsh", "C1", "F1", "alsh", YEAR))
    portal = FamilyPortal(store, gateway=gateway, clock=clock)
    (payment,) = portal.validate_basket(MARTIN, "F1", book("C1", "journee", HOLIDAY_MONDAY)).payments
    gateway.pay(payment.payment_id, NOW + dt.timedelta(minutes=5))
    clock.advance(dt.timedelta(minutes=6))

    start = threading.Barrier(WORKERS)
    codes: collections.Counter[str] = collections.Counter()
    lock = threading.Lock()

    def deliver() -> None:
        worker = FamilyPortal(SqliteStore(path), gateway=gateway, clock=clock, retries=WORKERS)
        start.wait()
        result = worker.payment_notification(gateway.notification(payment.payment_id))
        with lock:
            codes[result.code] += 1

    threads = [threading.Thread(target=deliver) for _ in range(WORKERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert codes == {"payment.notification.paid": 1, "payment.notification.duplicate": WORKERS - 1}
    with store.unit_of_work() as uow:
        assert len([p for p in uow.documents.payments_of("F1") if p.reference == payment.reference]) == 1
