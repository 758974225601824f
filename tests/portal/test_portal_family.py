"""The family's side of the portal, page by page (Starlette's TestClient over the demo city in SQLite)."""

from __future__ import annotations

import datetime as dt
import html
import re

from starlette.testclient import TestClient

from .conftest import Portal, activate, activation_links, csrf


def _signed_in(client: TestClient) -> str:
    return activate(client, activation_links(client)[-1], "claire.martin@exemple.fr")


def _page(client: TestClient, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, response.text
    return html.unescape(response.text)


def _post(client: TestClient, url: str, page: str, **fields: str | list[str]) -> str:
    response = client.post(url, data={"csrf": csrf(page), **fields})
    assert response.status_code == 200, response.text
    return html.unescape(response.text)


def test_a_family_activates_its_account_from_the_emailed_link_and_lands_on_its_calendar(
    client: TestClient,
) -> None:
    page = _signed_in(client)
    assert '<html lang="fr">' in page
    assert "Votre compte est activé" in page
    assert "Semaine 5 du lundi 1er février 2027 au dimanche 7 février 2027" in page
    assert "Réservable hors délai (délai expiré le jeudi 28 janvier 2027 à 11 h 00)" in page


def test_an_activation_link_works_once(client: TestClient) -> None:
    link = activation_links(client)[-1]
    activate(client, link, "claire.martin@exemple.fr")
    again = activate(client, link, "quelquun@exemple.fr")
    assert "Ce lien d'activation a déjà été utilisé." in again
    assert "Traceback" not in again


def test_the_development_login_lists_activated_accounts_only(client: TestClient) -> None:
    assert "Aucun compte n'est encore activé" in _page(client, "/connexion")
    _signed_in(client)
    page = _page(client, "/reservations")
    client.post("/deconnexion", data={"csrf": csrf(page)})
    login = _page(client, "/connexion")
    assert "ne gère pas les mots de passe" in login
    assert "claire.martin@exemple.fr" in login
    account = re.search(r'name="compte" id="compte-1" value="([^"]+)"', login)
    assert account is not None
    back = _post(client, "/connexion", login, compte=account[1])
    assert "Mes réservations" in back
    assert "claire.martin@exemple.fr" in back


def test_a_period_of_evening_care_goes_to_the_basket_and_its_late_days_are_refused_with_their_reason(
    client: TestClient,
) -> None:
    page = _signed_in(client)
    page = _page(client, "/reservations?service=periscolaire&semaine=2027-W06")
    child = re.search(r'name="enfant" value="([^"]+)"', page)
    assert child is not None
    page = _post(
        client,
        "/panier/periode",
        page,
        retour="/reservations?service=periscolaire&semaine=2027-W06",
        enfant=child[1],
        prestation="soir",
        du="2027-02-04",
        au="2027-02-12",
        jours=["0", "1", "3", "4"],
    )
    assert "6 jours ajoutés au panier." in page
    assert "Mon panier (6)" in page
    assert "Réserver : Accueil du soir pour" in page
    assert page.count("Sera refusé : Réservation impossible : le délai a expiré") == 2
    result = _post(client, "/panier/valider", page)
    assert "6 lignes traitées, dont 2 refusées." in result
    assert result.count("<strong>Refusé</strong>") == 2
    assert "Réservation impossible : le délai a expiré le mercredi 27 janvier 2027 à 18 h 00." in result
    assert result.count("<strong>Accepté</strong>") == 4
    after = _page(client, "/reservations?service=periscolaire&semaine=2027-W06")
    assert "Mon panier (0)" in after


def test_a_day_booked_from_the_calendar_then_removed_from_the_basket(client: TestClient) -> None:
    page = _signed_in(client)
    child = re.search(r'name="enfant" value="([^"]+)"', page)
    assert child is not None
    fields = {"enfant": child[1], "prestation": "repas", "jour": "2027-02-11", "action": "book"}
    page = _post(client, "/panier/ajouter", page, retour="/reservations?semaine=2027-W06", **fields)
    assert "Mon panier (1)" in page
    assert "Dans le panier : à réserver" in page
    page = _post(client, "/panier/retirer", page, ligne="0", retour="/reservations?semaine=2027-W06")
    assert "Mon panier (0)" in page


def test_a_prepaid_basket_is_paid_at_the_fake_payfip_and_its_days_are_confirmed(
    client: TestClient, portal: Portal
) -> None:
    page = _signed_in(client)
    page = _page(client, "/reservations?service=alsh&semaine=2027-W08")
    child = re.search(r'name="enfant" value="([^"]+)"', page)
    assert child is not None
    page = _post(
        client,
        "/panier/periode",
        page,
        retour="/reservations?service=alsh&semaine=2027-W08",
        enfant=child[1],
        prestation="journee",
        du="2027-02-22",
        au="2027-02-24",
        jours=["0", "1", "2"],
    )
    result = _post(client, "/panier/valider", page)
    assert "Vos places sont retenues jusqu'au mardi 2 février 2027 à 10 h 00" in result
    link = re.search(r'href="(/dev/payfip/[^"]+)"', result)
    assert link is not None
    payfip = _page(client, link[1])
    portal.clock.advance(dt.timedelta(minutes=3))
    back = _post(client, link[1], payfip, reponse="payer")
    assert "3 réservations confirmées" in back
    # The gateway's own call back, replayed, settles nothing twice.
    payment_id = link[1].rsplit("/", 1)[1]
    assert client.post("/paiement/notification", data={"idop": payment_id}).text == (
        "payment.notification.duplicate"
    )
    calendar = _page(client, "/reservations?service=alsh&semaine=2027-W08")
    assert calendar.count("state-booked") == 3


def test_two_invoices_are_selected_and_paid_at_once(client: TestClient, portal: Portal) -> None:
    _signed_in(client)
    page = _page(client, "/factures")
    numbers = re.findall(r'name="factures" value="([^"]+)"', page)
    assert len(numbers) == 2
    response = client.post("/factures/payer", data={"csrf": csrf(page), "factures": numbers})
    assert response.url.path.startswith("/dev/payfip/")
    assert "Payer" in response.text
    portal.clock.advance(dt.timedelta(minutes=2))
    back = _post(client, response.url.path, html.unescape(response.text), reponse="payer")
    for number in numbers:
        assert f"Facture {number} soldée." in back
    assert "Aucune facture à payer." in _page(client, "/factures")


def test_an_invoice_being_paid_shows_as_under_way_and_cannot_be_selected_again(client: TestClient) -> None:
    _signed_in(client)
    page = _page(client, "/factures")
    numbers = re.findall(r'name="factures" value="([^"]+)"', page)
    client.post("/factures/payer", data={"csrf": csrf(page), "factures": numbers[:1]})
    again = _page(client, "/factures")
    assert "paiement en cours" in again
    assert re.findall(r'name="factures" value="([^"]+)"', again) == numbers[1:]


def test_the_basket_says_before_validation_what_each_line_costs_and_until_when(client: TestClient) -> None:
    page = _signed_in(client)
    page = _post(
        client,
        "/panier/periode",
        page,
        enfant=re.findall(r'name="enfant" value="([^"]+)"', page)[0],
        prestation="repas",
        du="2027-02-04",
        au="2027-02-09",
        jours=["0", "1", "3"],
        retour="/reservations?semaine=2027-W06",
    )
    assert "Possible si vous validez avant le" in page
    assert "€ — " in page


def test_paid_invoices_and_the_household_are_shown(client: TestClient) -> None:
    _signed_in(client)
    page = _page(client, "/factures")
    assert "Foyer " in page
    assert "Aucune facture payée pour l'instant." in page
