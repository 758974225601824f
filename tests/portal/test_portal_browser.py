"""The portal in a real browser (headless Chromium driven by Selenium): a parent's whole first visit.

Skipped, with the reason, where Debian's chromium and chromium-driver are not installed (.ci/run installs
them). One scenario, a few seconds.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from selenium.webdriver.chrome.webdriver import WebDriver

from espacefamille_portal.browser import browser_missing, chromium, serve
from espacefamille_portal.scenario import AgentVisit, FamilyVisit

from .conftest import Portal

pytestmark = pytest.mark.skipif(browser_missing() is not None, reason=browser_missing() or "")


@pytest.fixture
def driver() -> Iterator[WebDriver]:
    with chromium() as driver:
        yield driver


def test_a_parent_activates_books_pays_declares_an_absence_and_sees_the_invoice_the_agent_issued(
    portal: Portal, driver: WebDriver, tmp_path: Path
) -> None:
    with serve(portal.app) as base:
        visit = FamilyVisit(driver, base)
        page = visit.activate("claire.martin@exemple.fr")
        assert "Votre compte est activé" in page
        assert visit.unlabelled_controls() == []

        page = visit.show("Accueil périscolaire", weeks_ahead=1)
        assert "Semaine 6 du lundi 8 février 2027" in page
        page = visit.add_period(
            "Accueil du soir", "2027-02-04", "2027-02-12", {"lundi", "mardi", "jeudi", "vendredi"}
        )
        assert "6 jours ajoutés au panier." in page
        assert "Mon panier (6)" in page
        page = visit.validate()
        assert "6 lignes traitées, dont 2 refusées." in page
        assert "Réservation impossible : le délai a expiré le mercredi 27 janvier 2027 à 18 h 00." in page

        driver.get(base + "/reservations")
        visit.show("Centre de loisirs des Prés", weeks_ahead=3)
        visit.add_period(
            "Journée centre de loisirs", "2027-02-22", "2027-02-24", {"lundi", "mardi", "mercredi"}
        )
        page = visit.validate()
        assert "Vos places sont retenues jusqu'au mardi 2 février 2027 à 10 h 00" in page
        portal.clock.advance(dt.timedelta(minutes=3))
        page = visit.pay_basket()
        assert "3 réservations confirmées" in page

        page = visit.invoices()
        assert page.count("à régler avant le") == 2
        assert visit.unlabelled_controls() == []
        page = visit.pay_invoices(2)
        assert page.count("soldée") == 2
        assert "Aucune facture à payer." in visit.invoices()

        # February's meals too, so that the month's invoice reaches the régie's minimum amount.
        driver.get(base + "/reservations")
        visit.show("Restauration scolaire", weeks_ahead=1)
        visit.add_period("Repas", "2027-02-08", "2027-02-19", {"lundi", "mardi", "jeudi", "vendredi"})
        assert "8 lignes traitées" in visit.validate()

        proof = tmp_path / "certificat.pdf"
        proof.write_bytes(b"%PDF-1.4 certificat medical")
        page = visit.declare_absence("2027-01-28", "2027-01-29", "Maladie", proof)
        assert "(maladie), justificatif reçu." in page
        assert visit.unlabelled_controls() == []
        visit.sign_out()

        # February is over: an agent records an evening and bills the month.
        portal.clock.instant = dt.datetime(2027, 3, 1, 8, 0, tzinfo=ZoneInfo("Europe/Paris"))
        agent = AgentVisit(driver, base)
        agent.sign_in("Administrateur (tout)")
        page = agent.record_attendance("Accueil périscolaire", "2027-02-08", "Présent")
        assert "1 pointage enregistré." in page
        assert agent.unlabelled_controls() == []
        page = agent.run_month_end("2027-02")
        assert "Compte rendu de la facturation" in page
        assert "1 facture" in page
        agent.sign_out()

        visit.sign_in("claire.martin@exemple.fr")
        page = visit.invoices()
        assert page.count("à régler avant le") == 1
