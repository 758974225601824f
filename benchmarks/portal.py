"""Benchmark of the reference portal over HTTP (issue 17 target: ≤ 100 ms server side).

The demo city (400 families, SQLite in a temporary folder, ``espacefamille_portal.prepare_demo``), Starlette's
TestClient in process: a signed-in parent's week calendar page (``GET /reservations``), and the basket's
validation (``POST /panier/valider`` of one line, booking then cancelling the same evening in turn, the
redirect not followed), against a floor measured in the same run — the development login page, a template
and a session and nothing of the library. Prints p50 and p95 in milliseconds; reported in
docs/benchmarks.md. Run ``.venv/bin/python benchmarks/portal.py`` (it puts ``portal/`` on the path).
"""

from __future__ import annotations

import re
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from starlette.testclient import TestClient

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "portal"))

from espacefamille import FixedClock, SqliteAccountStore, SqliteStore
from espacefamille_portal import DevPayfip, create_app, prepare_demo

RUNS = 200
WEEK = "/reservations?service=periscolaire&semaine=2027-W07"


def _ms(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[int(len(ordered) * 0.95) - 1]


def _time(call: Callable[[], object]) -> list[float]:
    samples = []
    for _ in range(RUNS):
        start = time.perf_counter()
        call()
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def _csrf(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found is not None
    return found[1]


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        store = SqliteStore(Path(folder) / "commune.sqlite")
        accounts = SqliteAccountStore(Path(folder) / "comptes.sqlite")
        started = time.perf_counter()
        demo = prepare_demo(store, accounts, base_url="http://testserver")
        built = time.perf_counter() - started
        app = create_app(store, accounts, clock=FixedClock(demo.opens), gateway=DevPayfip())
        with TestClient(app) as client:
            outbox = client.get("/dev/courriels").text
            link = re.findall(r'href="(/activer\?jeton=[^"]+)"', outbox)[-1].replace("&amp;", "&")
            page = client.get(link).text
            token = re.search(r'name="jeton" value="([^"]+)"', page)
            assert token is not None
            client.post("/activer", data={"csrf": _csrf(page), "jeton": token[1], "courriel": "b@exemple.fr"})
            page = client.get(WEEK).text
            csrf = _csrf(page)
            child = re.search(r'name="enfant" value="([^"]+)"', page)
            assert child is not None
            actions = iter(["book", "cancel"] * RUNS)

            def validate() -> None:
                client.post(
                    "/panier/ajouter",
                    data={
                        "csrf": csrf,
                        "enfant": child[1],
                        "prestation": "soir",
                        "jour": "2027-02-18",
                        "action": next(actions),
                        "retour": WEEK,
                    },
                    follow_redirects=False,
                )
                start = time.perf_counter()
                response = client.post(
                    "/panier/valider", data={"csrf": csrf, "retour": WEEK}, follow_redirects=False
                )
                elapsed.append((time.perf_counter() - start) * 1000)
                assert response.status_code == 303, response.text

            floor = _time(lambda: client.get("/connexion"))
            calendar = _time(lambda: client.get(WEEK))
            elapsed: list[float] = []
            for _ in range(RUNS):
                validate()
            # The same page with the basket of a fortnight of evenings, each line priced (preview_basket).
            period = {"csrf": csrf, "enfant": child[1], "prestation": "soir", "retour": WEEK}
            period |= {"du": "2027-02-15", "au": "2027-02-26", "jours": ["0", "1", "3", "4"]}
            client.post("/panier/periode", data=period, follow_redirects=False)
            with_basket = _time(lambda: client.get(WEEK))
    print(f"portal over HTTP, the demo city built in {built:.1f} s, {RUNS} runs each (p50 / p95 ms):")
    for name, samples in (
        ("floor: the login page", floor),
        ("week calendar page", calendar),
        ("the same, 8 lines in basket", with_basket),
        ("basket validation", elapsed),
    ):
        p50, p95 = _ms(samples)
        print(f"  {name:<28} {p50:6.1f} / {p95:6.1f}")


if __name__ == "__main__":
    main()
