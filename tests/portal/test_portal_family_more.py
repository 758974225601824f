"""The family's other pages: « Signaler une absence » with a proof, « Mes demandes », the PDF of an invoice
and the .ics of bookings (Starlette's TestClient over the demo city in SQLite, Tuesday 2 February 2027)."""

from __future__ import annotations

import html
import re

from starlette.testclient import TestClient

from .conftest import Portal, activate, activation_links, csrf

OTHER_CHILD = "F0002-E1"  # a household of the demo city nobody here is linked to


def _signed_in(client: TestClient) -> str:
    return activate(client, activation_links(client)[-1], "claire.martin@exemple.fr")


def _child(page: str) -> str:
    found = re.search(r'<option value="([^"]+)"', page)
    assert found is not None
    return found[1]


def test_a_parent_declares_an_absence_with_its_certificate_and_reads_what_is_still_billed(
    client: TestClient,
) -> None:
    _signed_in(client)
    page = client.get("/absences").text
    assert 'for="absence-justificatif"' in page
    # The last two school days of January: booked meals, invoiced on 1 February.
    fields = {"csrf": csrf(page), "enfant": _child(page), "du": "2027-01-28", "au": "2027-01-29"}
    response = client.post(
        "/absences",
        data={**fields, "motif": "illness"},
        files={"justificatif": ("certificat.pdf", b"%PDF-1.4 certificat", "application/pdf")},
    )
    text = html.unescape(response.text)
    assert response.status_code == 200, text
    declared = "Absence du jeudi 28 janvier 2027 au vendredi 29 janvier 2027 (maladie), justificatif reçu."
    assert declared in text
    assert "<li>" in text.split("Absence enregistrée")[1]
    without = client.post("/absences", data={**fields, "motif": "other"})
    assert "sans justificatif" in html.unescape(without.text)


def test_an_absence_for_another_households_child_or_a_bad_period_is_refused(client: TestClient) -> None:
    page = _signed_in(client)
    fields = {"csrf": csrf(page), "du": "2027-02-04", "au": "2027-02-05", "motif": "illness"}
    other = client.post("/absences", data={**fields, "enfant": OTHER_CHILD})
    assert other.status_code == 403
    backwards = client.post("/absences", data={**fields, "enfant": "x", "au": "2027-02-01"})
    assert "La date de fin précède la date de début." in html.unescape(backwards.text)
    assert "Traceback" not in backwards.text


def test_a_request_is_sent_from_its_categorys_form_and_appears_in_the_history(client: TestClient) -> None:
    _signed_in(client)
    page = html.unescape(client.get("/demandes").text)
    assert "Vous n'avez encore envoyé aucune demande." in page
    assert "Attestation de présence pour la CAF" in page
    assert "Régime alimentaire" in page
    token = csrf(page)
    incomplete = client.post(
        "/demandes", data={"csrf": token, "categorie": "attestation-caf", "attestation-caf.du": "2027-01-04"}
    )
    assert incomplete.status_code == 400
    assert 'role="alert"' in incomplete.text
    child = re.search(r'name="attestation-caf.enfant"><option value="([^"]+)"', page)
    assert child is not None
    sent = client.post(
        "/demandes",
        data={
            "csrf": token,
            "categorie": "attestation-caf",
            "attestation-caf.enfant": child[1],
            "attestation-caf.du": "2027-01-04",
            "attestation-caf.au": "2027-01-29",
            "message": "Pour le dossier CAF, merci.",
        },
    )
    text = html.unescape(sent.text)
    assert "Votre demande est envoyée" in text
    assert "Attestation de présence pour la CAF</strong> — envoyée le mardi 2 février 2027" in text


def test_an_invoice_downloads_as_pdf_and_the_bookings_as_ics_for_the_household_only(
    client: TestClient, portal: Portal
) -> None:
    _signed_in(client)
    page = client.get("/factures").text
    number = re.findall(r'name="factures" value="([^"]+)"', page)[0]
    pdf = client.get(f"/factures/{number}.pdf")
    assert (pdf.status_code, pdf.headers["content-type"]) == (200, "application/pdf")
    assert pdf.content.startswith(b"%PDF")
    child = re.search(r'href="/reservations.ics\?enfant=([^"]+)"', page)
    assert child is not None
    ics = client.get(f"/reservations.ics?enfant={child[1]}")
    assert ics.headers["content-type"].startswith("text/calendar")
    assert b"BEGIN:VCALENDAR" in ics.content
    assert b"BEGIN:VEVENT" in ics.content
    with TestClient(portal.app) as other:
        activate(other, activation_links(other)[0], "autre@exemple.fr")
        theirs = re.findall(r'name="factures" value="([^"]+)"', other.get("/factures").text)[0]
    refused = client.get(f"/factures/{theirs}.pdf")
    assert refused.status_code == 404
    assert "Cette facture est inconnue." in html.unescape(refused.text)
    assert client.get(f"/reservations.ics?enfant={OTHER_CHILD}").status_code == 403
