"""The portal's security basics: CSRF on every form, another household's ids refused by the services, French
error pages without a stack trace, nothing done with a session after logout."""

from __future__ import annotations

import html
import re
import subprocess
import sys

import pytest
from starlette.testclient import TestClient

from .conftest import Portal, activate, activation_links, csrf

OTHER_CHILD = "F0002-E1"  # a household of the demo city nobody here is linked to


def _signed_in(client: TestClient) -> str:
    return activate(client, activation_links(client)[-1], "claire.martin@exemple.fr")


def _child(page: str) -> str:
    found = re.search(r'name="enfant" value="([^"]+)"', page)
    assert found is not None
    return found[1]


@pytest.mark.parametrize(
    ("url", "fields"),
    [
        ("/panier/ajouter", {"enfant": "x", "prestation": "repas", "jour": "2027-02-11", "action": "book"}),
        ("/panier/periode", {"enfant": "x", "prestation": "repas", "du": "2027-02-08", "au": "2027-02-12"}),
        ("/panier/valider", {}),
        ("/panier/vider", {}),
        ("/panier/retirer", {"ligne": "0"}),
        ("/factures/payer", {"factures": "FAC-enfance-2027-000001"}),
        ("/deconnexion", {}),
        ("/connexion", {"compte": "acc-x"}),
        ("/activer", {"jeton": "x", "courriel": "a@exemple.fr"}),
        ("/dev/payfip/fake-000001", {"reponse": "payer"}),
    ],
)
def test_every_form_refuses_a_post_without_the_sessions_csrf_token(
    client: TestClient, url: str, fields: dict[str, str]
) -> None:
    _signed_in(client)
    missing = client.post(url, data=fields)
    wrong = client.post(url, data={**fields, "csrf": "forged"})
    for response in (missing, wrong):
        assert response.status_code == 403
        assert "Ce formulaire a expiré ou ne vient pas de cette page." in html.unescape(response.text)
    assert "Mon panier (0)" in client.get("/reservations").text


def test_every_form_of_the_pages_carries_the_csrf_token(client: TestClient) -> None:
    page = _signed_in(client)
    token = csrf(page)
    for url in (
        "/reservations",
        "/reservations?service=alsh&semaine=2027-W08",
        "/factures",
        "/absences",
        "/demandes",
    ):
        text = client.get(url).text
        forms = re.findall(r'<form[^>]*method="post"[^>]*>(.*?)</form>', text, re.S)
        assert forms
        assert all(f'name="csrf" value="{token}"' in form for form in forms)


def test_another_households_child_in_the_url_is_refused_by_the_services(client: TestClient) -> None:
    _signed_in(client)
    response = client.get(f"/reservations?enfant={OTHER_CHILD}&service=cantine")
    assert response.status_code == 403
    assert "ne fait pas partie de votre dossier famille" in html.unescape(response.text)


def test_another_households_child_in_a_basket_form_is_refused(client: TestClient) -> None:
    page = _signed_in(client)
    fields = {"enfant": OTHER_CHILD, "prestation": "repas", "jour": "2027-02-11", "action": "book"}
    response = client.post("/panier/ajouter", data={"csrf": csrf(page), **fields})
    assert response.status_code == 403
    assert "Mon panier (0)" in client.get("/reservations").text


def test_another_households_invoice_in_the_payment_form_is_refused_and_nothing_is_paid(
    client: TestClient, portal: Portal
) -> None:
    page = _signed_in(client)
    mine = re.findall(r'name="factures" value="([^"]+)"', client.get("/factures").text)
    # The other invited household's invoices: activate it in another browser.
    with TestClient(portal.app) as other:
        activate(other, activation_links(other)[0], "autre@exemple.fr")
        theirs = re.findall(r'name="factures" value="([^"]+)"', other.get("/factures").text)
    assert theirs
    assert not set(theirs) & set(mine)
    response = client.post("/factures/payer", data={"csrf": csrf(page), "factures": [mine[0], theirs[0]]})
    assert response.status_code == 400
    assert "Paiement refusé" in html.unescape(response.text)
    assert portal.gateway.created == {}


def test_an_unexpected_error_shows_a_french_page_and_no_stack_trace(
    client: TestClient, portal: Portal
) -> None:
    _signed_in(client)

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("database on fire at /srv/secret/path.py line 42")

    portal.app.state.portal.portal.children = broken
    response = client.get("/reservations")
    assert response.status_code == 500
    text = html.unescape(response.text)
    assert "Une erreur inattendue s'est produite." in text
    assert '<html lang="fr">' in text
    assert "Traceback" not in text
    assert "secret" not in text
    assert "RuntimeError" not in text


def test_unknown_pages_and_bad_input_get_french_pages(client: TestClient) -> None:
    assert "Cette page n'existe pas." in html.unescape(client.get("/nulle-part").text)
    _signed_in(client)
    bad_week = client.get("/reservations?semaine=2027-W99")
    assert bad_week.status_code == 400
    assert "Cette semaine n'est pas valide." in html.unescape(bad_week.text)
    assert client.get("/reservations?service=piscine").status_code == 404


def test_a_session_cannot_act_after_logout(client: TestClient) -> None:
    page = _signed_in(client)
    cookie, token = client.cookies["ef_session"], csrf(page)
    child = _child(page)
    client.post("/deconnexion", data={"csrf": token})
    # The old cookie, replayed, opens nothing and passes no form.
    replay = TestClient(client.app, cookies={"ef_session": cookie}, follow_redirects=False)
    assert replay.get("/reservations").headers["location"] == "/connexion"
    fields = {"enfant": child, "prestation": "repas", "jour": "2027-02-11", "action": "book"}
    assert replay.post("/panier/ajouter", data={"csrf": token, **fields}).status_code == 403
    assert replay.post("/factures/payer", data={"csrf": token, "factures": "x"}).status_code == 403


def test_pages_for_families_need_a_session(client: TestClient) -> None:
    for url in ("/reservations", "/factures", "/panier/resultat", "/paiement/retour"):
        response = client.get(url, follow_redirects=False)
        assert response.headers["location"] == "/connexion"


def test_the_session_cookie_is_http_only_and_pages_cannot_be_framed(client: TestClient) -> None:
    response = client.get("/connexion")
    assert "httponly" in response.headers["set-cookie"].lower()
    assert "samesite=lax" in response.headers["set-cookie"].lower()
    assert response.headers["x-frame-options"] == "DENY"
    assert "default-src 'self'" in response.headers["content-security-policy"]


def test_signing_in_gives_a_new_session_id(client: TestClient) -> None:
    client.get("/connexion")
    before = client.cookies["ef_session"]
    _signed_in(client)
    assert client.cookies["ef_session"] != before


def test_the_library_never_imports_the_portal() -> None:
    code = (
        "import sys, espacefamille, espacefamille.services, espacefamille.demo.city;"
        "print(any(m.startswith('espacefamille_portal') for m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


def test_every_form_of_the_agents_pages_carries_the_csrf_token(client: TestClient, portal: Portal) -> None:
    login = client.get("/connexion").text
    page = client.post("/connexion/agent", data={"csrf": csrf(login), "role": "administrateur"}).text
    token = csrf(page)
    family = portal.demo.families[0]
    for url in (
        "/agent/pointage?jour=2027-01-28",
        "/agent/fermetures",
        "/agent/facturation",
        f"/agent/familles/{family}",
    ):
        forms = re.findall(r'<form[^>]*method="post"[^>]*>(.*?)</form>', client.get(url).text, re.S)
        assert forms
        assert all(f'name="csrf" value="{token}"' in form for form in forms)


def test_the_new_pages_open_nothing_after_logout(client: TestClient) -> None:
    page = _signed_in(client)
    token = csrf(page)
    number = re.findall(r'name="factures" value="([^"]+)"', client.get("/factures").text)[0]
    client.post("/deconnexion", data={"csrf": token})
    for url in ("/absences", "/demandes", f"/factures/{number}.pdf", "/reservations.ics?enfant=x"):
        response = client.get(url, follow_redirects=False)
        assert (response.status_code, response.headers["location"]) == (303, "/connexion")
    fields = {"csrf": token, "enfant": "x", "du": "2027-02-04", "au": "2027-02-05", "motif": "illness"}
    assert client.post("/absences", data=fields).status_code == 403


def test_an_agent_cannot_answer_a_request_through_another_households_page(
    client: TestClient, portal: Portal
) -> None:
    page = _signed_in(client)
    form = client.get("/demandes").text
    child = re.search(r'name="regime.enfant"><option value="([^"]+)"', form)
    assert child is not None
    fields = {"categorie": "regime", "regime.enfant": child[1], "regime.regime": "sans_gluten"}
    client.post("/demandes", data={"csrf": csrf(page), **fields})
    with TestClient(portal.app) as office:
        login = office.get("/connexion").text
        office.post("/connexion/agent", data={"csrf": csrf(login), "role": "gestionnaire"})
        own = office.get(f"/agent/familles/{portal.demo.invited[0]}").text
        action = re.search(r'action="/agent/familles/[^/"]+/demandes/([^"]+)"', own)
        assert action is not None
        other = next(f for f in portal.demo.families if f != portal.demo.invited[0])
        response = office.post(
            f"/agent/familles/{other}/demandes/{action[1]}",
            data={"csrf": csrf(own), "texte": "Non.", "decision": "refuse"},
        )
        assert response.status_code == 404
        assert "Traceback" not in response.text
