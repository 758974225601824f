"""The agent's side of the portal (TestClient over the demo city in SQLite, Tuesday 2 February 2027): the
day's attendance sheet, closures, the month-end check and run, a family's invoices, a payment at the counter,
answering a request — each role doing what the services let it, a family's session refused."""

from __future__ import annotations

import html
import re

import pytest
from starlette.testclient import TestClient

from .conftest import Portal, activate, activation_links, csrf

SHEET = "/agent/pointage?service=cantine&jour=2027-01-28"


def _agent(client: TestClient, role: str) -> str:
    page = client.get("/connexion").text
    response = client.post("/connexion/agent", data={"csrf": csrf(page), "role": role})
    assert response.status_code == 200, response.text
    return html.unescape(response.text)


def test_an_animateur_records_the_days_attendance_with_a_reason(client: TestClient) -> None:
    assert "Espace agents" in _agent(client, "animateur")
    page = html.unescape(client.get(SHEET).text)
    assert "Pointage du jeudi 28 janvier 2027" in page
    keys = re.findall(r'<select name="([^"]+)" id="statut-', page)
    assert keys
    response = client.post(
        "/agent/pointage",
        data={
            "csrf": csrf(page),
            "service": "cantine",
            "jour": "2027-01-28",
            keys[0]: "absent_unjustified",
            f"{keys[0]}.motif": "Non venu, famille non jointe",
        },
    )
    text = html.unescape(response.text)
    assert "1 pointage enregistré." in text
    assert "absence non justifiée" in text
    assert 'value="Non venu, famille non jointe"' in text


def test_each_role_does_what_the_services_let_it(client: TestClient) -> None:
    _agent(client, "animateur")
    page = client.get("/agent/fermetures").text
    fields = {"service": "cantine", "du": "2027-02-11", "au": "2027-02-11", "motif": "strike", "libelle": ""}
    refused = client.post("/agent/fermetures", data={"csrf": csrf(page), **fields})
    assert refused.status_code == 403
    _agent(client, "gestionnaire")
    page = client.get("/agent/fermetures").text
    closed = client.post("/agent/fermetures", data={"csrf": csrf(page), **fields})
    assert "Fermeture enregistrée" in html.unescape(closed.text)


def test_the_regisseur_checks_then_runs_month_end_and_reads_the_report(client: TestClient) -> None:
    _agent(client, "regisseur")
    page = client.get("/agent/facturation").text
    assert 'value="2027-01"' in page
    form = {"csrf": csrf(page), "regie": "enfance", "mois": "2027-01"}
    check = html.unescape(client.post("/agent/facturation", data={**form, "action": "verifier"}).text)
    assert "Vérification" in check
    run = client.post("/agent/facturation", data={**form, "action": "lancer"})
    assert run.status_code == 200
    assert "Compte rendu de la facturation" in html.unescape(run.text)


def test_a_payment_at_the_counter_settles_a_familys_invoice(client: TestClient, portal: Portal) -> None:
    family_id = portal.demo.families[0]
    _agent(client, "regisseur")
    families = client.get("/agent/familles").text
    assert f'href="/agent/familles/{family_id}"' in families
    page = html.unescape(client.get(f"/agent/familles/{family_id}").text)
    number = re.findall(r'<option value="(FAC-[^"]+)"', page)[0]
    left = re.search(rf"{number} — reste ([0-9,]+)", page)
    assert left is not None
    response = client.post(
        f"/agent/familles/{family_id}/paiement",
        data={
            "csrf": csrf(page),
            "facture": number,
            "montant": left[1],
            "moyen": "cheque",
            "reference": "CHQ 1",
        },
    )
    text = html.unescape(response.text)
    assert response.status_code == 200, text
    assert f"Facture {number} du" in text.split("Factures payées")[1]


def test_an_agent_answers_a_request_and_the_family_reads_the_answer(
    client: TestClient, portal: Portal
) -> None:
    activate(client, activation_links(client)[-1], "claire.martin@exemple.fr")
    page = client.get("/demandes").text
    child = re.search(r'name="regime.enfant"><option value="([^"]+)"', page)
    assert child is not None
    client.post(
        "/demandes",
        data={
            "csrf": csrf(page),
            "categorie": "regime",
            "regime.enfant": child[1],
            "regime.regime": "sans_porc",
        },
    )
    family_id = portal.demo.invited[0]  # the development page lists the newest link first
    with TestClient(portal.app) as office:
        _agent(office, "gestionnaire")
        page = office.get(f"/agent/familles/{family_id}").text
        action = re.search(r'action="(/agent/familles/[^"]+/demandes/[^"]+)"', page)
        assert action is not None
        answer = {"csrf": csrf(page), "texte": "C'est noté.", "decision": "accept"}
        answered = office.post(action[1], data=answer)
        assert "Votre réponse est envoyée à la famille." in html.unescape(answered.text)
    history = html.unescape(client.get("/demandes").text)
    assert "C'est noté." in history


def test_agent_pages_are_refused_to_a_family_and_to_nobody(client: TestClient) -> None:
    response = client.get("/agent/pointage", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/connexion"
    activate(client, activation_links(client)[-1], "claire.martin@exemple.fr")
    for url in ("/agent", "/agent/pointage", "/agent/familles", "/agent/facturation"):
        refused = client.get(url)
        assert refused.status_code == 403
        assert "Cette page est réservée aux agents de la commune." in html.unescape(refused.text)


@pytest.mark.parametrize(
    "url",
    [
        "/agent/pointage",
        "/agent/fermetures",
        "/agent/facturation",
        "/agent/familles/F0001/paiement",
        "/agent/familles/F0001/demandes/REQ-1",
        "/connexion/agent",
        "/absences",
        "/demandes",
    ],
)
def test_every_new_form_refuses_a_post_without_the_sessions_csrf_token(client: TestClient, url: str) -> None:
    _agent(client, "administrateur")
    for data in ({}, {"csrf": "forged"}):
        response = client.post(url, data=data)
        assert response.status_code == 403
        assert "Ce formulaire a expiré" in html.unescape(response.text)


def test_after_logout_an_agents_session_opens_no_page(client: TestClient) -> None:
    page = _agent(client, "administrateur")
    client.post("/deconnexion", data={"csrf": csrf(page)})
    assert client.get("/agent/familles", follow_redirects=False).status_code == 303
