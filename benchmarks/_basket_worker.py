"""A family portal in a process of its own, validating baskets while a month-end run bills the city.

Started by ``sqlite_billing.py`` (never by ``run.py``: its name starts with an underscore):

    python benchmarks/_basket_worker.py PATH COLLECTIVITE NOW INTERVAL STOP FAMILY:GUARDIAN:CHILD...

It validates one basket (a January 2027 meal for the family's first child) for each of the first three
families while nothing else runs and prints ``ready``; then it waits for a line on its standard input (the
run is starting), and validates a basket for the next family every ``INTERVAL`` seconds until the file
``STOP`` exists. It prints, as JSON on one line, the seconds each basket took: ``{"idle": [...],
"during": [...]}``.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
import time
from pathlib import Path

from espacefamille.adapters.fake_gateway import FakeGateway
from espacefamille.adapters.sqlite import SqliteStore
from espacefamille.families.accounts import AccountLink, FamilyMember
from espacefamille.ports import FixedClock
from espacefamille.rules.basket import Action, BasketLine
from espacefamille.services import FamilyPortal

__all__ = ["JANUARY_MEAL", "basket_seconds", "main"]

JANUARY_MEAL = dt.date(2027, 1, 7)
_IDLE_BASKETS = 3


def basket_seconds(
    portal: FamilyPortal, collectivite_id: str, now: dt.datetime, family: tuple[str, str, str]
) -> float:
    """Validate one family's basket (a January meal for its first child); the seconds it took."""
    family_id, guardian_id, child_id = family
    member = FamilyMember(
        f"acc-{family_id}", [AccountLink(collectivite_id, family_id, guardian_id, "act", now)]
    )
    line = BasketLine(Action.BOOK, child_id, "repas", JANUARY_MEAL)
    started = time.perf_counter()
    outcome = portal.validate_basket(member, family_id, [line])
    seconds = time.perf_counter() - started
    codes = [decision.code for decision in outcome.decisions]
    if codes != ["basket.accepted"]:
        raise RuntimeError(f"basket of {family_id} not accepted: {codes}")
    return seconds


def main(argv: list[str]) -> None:
    path, collectivite_id, now_text, interval_text, stop_text, *family_args = argv
    now = dt.datetime.fromisoformat(now_text)
    interval, stop = float(interval_text), Path(stop_text)
    families = [(f, g, c) for f, g, c in (item.split(":") for item in family_args)]
    portal = FamilyPortal(SqliteStore(Path(path)), gateway=FakeGateway(), clock=FixedClock(now))
    queue = iter(families)
    idle = [basket_seconds(portal, collectivite_id, now, next(queue)) for _ in range(_IDLE_BASKETS)]
    print("ready", flush=True)
    sys.stdin.readline()
    during: list[float] = []
    for family in queue:
        if stop.exists():
            break
        during.append(basket_seconds(portal, collectivite_id, now, family))
        time.sleep(interval)
    print(json.dumps({"idle": idle, "during": during}), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
