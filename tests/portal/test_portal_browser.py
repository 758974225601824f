"""The portal in a real browser (headless Chromium driven by Selenium): a parent's whole first visit.

Skipped, with the reason, where Debian's chromium and chromium-driver are not installed (.ci/run installs
them). One scenario, a few seconds.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from selenium.webdriver.chrome.webdriver import WebDriver

from espacefamille_portal.browser import browser_missing, chromium, serve
from espacefamille_portal.scenario import FamilyVisit

from .conftest import Portal

pytestmark = pytest.mark.skipif(browser_missing() is not None, reason=browser_missing() or "")


@pytest.fixture
def driver() -> Iterator[WebDriver]:
    with chromium() as driver:
        yield driver


def test_a_parent_activates_books_a_period_sees_the_refusals_pays_a_basket_and_two_invoices(
    portal: Portal, driver: WebDriver
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
