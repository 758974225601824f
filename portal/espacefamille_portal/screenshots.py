"""``python -m espacefamille_portal.screenshots [folder]``: the main screens at desktop and 390 px width.

Plays the browser tests' scenario (``FamilyVisit``) on a fresh demo city, once per width, and saves a
screenshot at each step into ``folder`` (``docs/portal`` by default), for docs/portal.md.
"""

from __future__ import annotations

import datetime as dt
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from zoneinfo import ZoneInfo

from espacefamille import FixedClock, SqliteAccountStore, SqliteStore

from .app import create_app
from .browser import browser_missing, chromium, serve
from .demo import prepare_demo
from .scenario import AgentVisit, FamilyVisit

WIDTHS = (("desktop", 1280, 900), ("390", 390, 844))


def take(folder: Path) -> list[Path]:
    """Every screenshot, saved; their paths."""
    for suffix, width, height in WIDTHS:
        with tempfile.TemporaryDirectory() as tmp:
            store = SqliteStore(Path(tmp) / "commune.sqlite")
            accounts = SqliteAccountStore(Path(tmp) / "comptes.sqlite")
            demo = prepare_demo(store, accounts, base_url="http://127.0.0.1", families=30)
            clock = FixedClock(demo.opens)
            with serve(create_app(store, accounts, clock=clock)) as base, chromium(width, height) as driver:
                visit = FamilyVisit(driver, base, shots=folder, suffix=f"-{suffix}")
                visit.activate("claire.martin@exemple.fr")
                visit.show("Accueil périscolaire", weeks_ahead=1)
                visit.add_period(
                    "Accueil du soir", "2027-02-04", "2027-02-12", {"lundi", "mardi", "jeudi", "vendredi"}
                )
                visit.validate("reservations")
                visit.shot("resultat-refus")
                driver.get(base + "/reservations")
                visit.show("Centre de loisirs des Prés", weeks_ahead=3)
                visit.add_period(
                    "Journée centre de loisirs", "2027-02-22", "2027-02-24", {"lundi", "mardi", "mercredi"}
                )
                visit.validate("panier-prepaye")
                clock.advance(dt.timedelta(minutes=3))
                visit.pay_basket()
                visit.invoices()
                visit.pay_invoices(2)
                driver.get(base + "/reservations")
                visit.show("Restauration scolaire", weeks_ahead=1)
                visit.add_period("Repas", "2027-02-08", "2027-02-19", {"lundi", "mardi", "jeudi", "vendredi"})
                visit.validate("panier-repas")
                proof = Path(tmp) / "certificat.pdf"
                proof.write_bytes(b"%PDF-1.4 certificat")
                visit.declare_absence("2027-01-28", "2027-01-29", "Maladie", proof)
                visit.sign_out()
                clock.instant = dt.datetime(2027, 3, 1, 8, 0, tzinfo=ZoneInfo("Europe/Paris"))
                agent = AgentVisit(driver, base, shots=folder, suffix=f"-{suffix}")
                agent.sign_in("Administrateur (tout)")
                agent.record_attendance("Accueil périscolaire", "2027-02-08", "Présent")
                agent.run_month_end("2027-02")
                agent.sign_out()
                visit.sign_in("claire.martin@exemple.fr")
                visit.invoices()
                visit.shot("factures-mars")
    return sorted(folder.glob("*.png"))


def main(argv: Sequence[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    missing = browser_missing()
    if missing is not None:
        raise SystemExit(f"Pas de captures : {missing}.")
    for path in take(Path(args[0] if args else "docs/portal")):
        print(path)


if __name__ == "__main__":
    main()
