"""The agent's side of the portal: a day's attendance sheet, closures, the month-end run and its pre-flight
check, a family's invoices and requests, a payment at the counter, answering a request.

Every page calls ``BackOffice`` (or ``FamilyPortal``'s readings, which an agent of the commune may make) as
the signed-in agent; the services decide what each role may do (an *animateur* records attendance, a
*gestionnaire* closes services and answers requests, a *régisseur* bills and takes payments). A family's
session is refused every page here (403), an anonymous one sent to the login page.
"""

from __future__ import annotations

import datetime as dt
from typing import Final

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from espacefamille import InvalidInput, PermissionDenied
from espacefamille.billing.documents import PaymentMethod
from espacefamille.calendar.opening import Closure, ClosureReason
from espacefamille.calendar.periods import DateRange
from espacefamille.families.accounts import Agent, AgentRole
from espacefamille.money import Money
from espacefamille.rules.attendance import AttendanceFact, AttendanceStatus

from . import app as web
from .sessions import Session

__all__ = ["ROLES", "routes"]

#: The roles the development login offers, with their French names.
ROLES: Final = {
    AgentRole.ANIMATEUR.value: "Animateur (pointage)",
    AgentRole.GESTIONNAIRE.value: "Gestionnaire (fermetures, demandes)",
    AgentRole.REGISSEUR.value: "Régisseur (facturation, guichet)",
    AgentRole.ADMINISTRATEUR.value: "Administrateur (tout)",
}
_RECORDED: Final = (
    AttendanceStatus.PRESENT,
    AttendanceStatus.ABSENT_JUSTIFIED,
    AttendanceStatus.ABSENT_UNJUSTIFIED,
)
_METHODS: Final = {
    PaymentMethod.CHEQUE.value: "Chèque",
    PaymentMethod.CASH.value: "Espèces",
    PaymentMethod.TRANSFER.value: "Virement",
}
_DECISIONS: Final = {"answer": "Répondre", "accept": "Accepter", "refuse": "Refuser"}


def _agent(request: Request) -> tuple[Session, Agent]:
    session = web._session(request)
    if session is None or (session.account_id is None and session.agent_role is None):
        raise web._Unauthenticated
    if session.agent_role is None:
        raise PermissionDenied(
            "a family session asked for an agent page",
            message_fr="Cette page est réservée aux agents de la commune.",
            code="permission.not_an_agent",
        )
    collectivite_id = web._state(request).dev_agent.collectivite_id
    return session, Agent(f"portail-{session.agent_role}", collectivite_id, AgentRole(session.agent_role))


async def _posted(request: Request) -> tuple[Session, Agent, FormData]:
    session, form = await web._form(request)
    _, agent = _agent(request)
    return session, agent, form


async def home(request: Request) -> Response:
    session, agent = _agent(request)
    return web._render(request, session, "agent_home.html", {"role": ROLES[agent.role.value]})


# -- attendance ------------------------------------------------------------------------------------------


async def sheet(request: Request) -> Response:
    state = web._state(request)
    session, agent = _agent(request)
    service_id = request.query_params.get("service") or state.services[0][0]
    text = request.query_params.get("jour", "")
    day = web._day(text) if text else state.portal.today()
    lines = state.office.attendance_sheet(agent, service_id, day)
    context = {
        "services": state.services,
        "service_id": service_id,
        "day": day,
        "lines": lines,
        "statuses": _RECORDED,
        "prestations": state.prestations,
    }
    return web._render(request, session, "agent_sheet.html", context)


async def record(request: Request) -> Response:
    state = web._state(request)
    session, agent, form = await _posted(request)
    service_id, day = web._text(form, "service"), web._day(web._text(form, "jour"))
    wanted = {status.value: status for status in _RECORDED}
    facts = []
    for line in state.office.attendance_sheet(agent, service_id, day):
        key = f"{line.child.id}.{line.booking.prestation_id}"
        status = wanted.get(web._text(form, key))
        if status is not None:
            note = web._text(form, f"{key}.motif").strip()
            facts.append(AttendanceFact(line.child.id, line.booking.prestation_id, day, status, note=note))
    if facts:
        state.office.record_attendance(agent, facts)
    count = len(facts)
    session.flashes.append(
        f"{count} pointage enregistré." if count < 2 else f"{count} pointages enregistrés."
    )
    return web._redirect(f"/agent/pointage?service={service_id}&jour={day.isoformat()}")


# -- closures ----------------------------------------------------------------------------------------------


async def closure_page(request: Request) -> Response:
    state = web._state(request)
    session, _ = _agent(request)
    context = {"services": state.services, "reasons": list(ClosureReason), "today": state.portal.today()}
    return web._render(request, session, "agent_closure.html", context)


async def close(request: Request) -> Response:
    state = web._state(request)
    session, agent, form = await _posted(request)
    start, end = web._day(web._text(form, "du")), web._day(web._text(form, "au"))
    if end < start:
        raise InvalidInput(
            "the end precedes the start",
            message_fr="La date de fin précède la date de début.",
            code="portal.bad_period",
        )
    reasons = {reason.value: reason for reason in ClosureReason}
    reason = reasons.get(web._text(form, "motif"), ClosureReason.OTHER)
    closure = Closure(DateRange(start, end), reason, web._text(form, "libelle").strip())
    facts = state.office.declare_closure(agent, web._text(form, "service"), closure)
    count = len(facts)
    session.flashes.append(
        f"Fermeture enregistrée : {count} réservation annulée par la commune."
        if count < 2
        else f"Fermeture enregistrée : {count} réservations annulées par la commune."
    )
    return web._redirect("/agent/fermetures")


# -- month end ---------------------------------------------------------------------------------------------


def _month(text: str) -> DateRange:
    try:
        year, month = (int(part) for part in text.split("-"))
        return DateRange.month(year, month)
    except (ValueError, TypeError):
        raise InvalidInput(
            f"not a month: {text!r}", message_fr="Ce mois n'est pas valide.", code="portal.bad_month"
        ) from None


def _previous_month(today: dt.date) -> str:
    last = today.replace(day=1) - dt.timedelta(days=1)
    return f"{last.year}-{last.month:02d}"


async def billing_page(request: Request) -> Response:
    state = web._state(request)
    session, _ = _agent(request)
    context = {
        "regies": state.regies,
        "month": _previous_month(state.portal.today()),
        "outcome": None,
        "kind": "",
    }
    return web._render(request, session, "agent_billing.html", context)


async def billing(request: Request) -> Response:
    state = web._state(request)
    session, agent, form = await _posted(request)
    regie_id, month_text = web._text(form, "regie"), web._text(form, "mois")
    month = _month(month_text)
    if web._text(form, "action") == "lancer":
        outcome: object = state.office.run_month_end(agent, regie_id, month)
        kind = "run"
    else:
        outcome = state.office.check_month_end(agent, regie_id, month)
        kind = "check"
    context = {"regies": state.regies, "month": month_text, "outcome": outcome, "kind": kind}
    return web._render(request, session, "agent_billing.html", context)


# -- families: invoices, a payment at the counter, requests ------------------------------------------------


async def families(request: Request) -> Response:
    state = web._state(request)
    session, agent = _agent(request)
    return web._render(request, session, "agent_families.html", {"families": state.office.families(agent)})


async def family(request: Request) -> Response:
    state = web._state(request)
    session, agent = _agent(request)
    family_id = request.path_params["family_id"]
    context = {
        "family": state.portal.household(agent, family_id),
        "items": state.portal.invoices_to_pay(agent, family_id),
        "paid": state.portal.paid_invoices(agent, family_id),
        "requests": state.portal.requests(agent, family_id)[::-1],
        "methods": _METHODS,
        "decisions": _DECISIONS,
    }
    return web._render(request, session, "agent_family.html", context)


async def counter_payment(request: Request) -> Response:
    state = web._state(request)
    session, agent, form = await _posted(request)
    family_id = request.path_params["family_id"]
    number = web._text(form, "facture")
    items = {view.item.number: view.item for view in state.portal.invoices_to_pay(agent, family_id)}
    if number not in items:
        raise InvalidInput(
            f"no open invoice {number!r} for {family_id!r}",
            message_fr="Cette facture n'est pas à payer pour ce foyer.",
            code="portal.invoice",
        )
    method = PaymentMethod(web._text(form, "moyen")) if web._text(form, "moyen") in _METHODS else None
    if method is None:
        raise InvalidInput(
            "unknown method", message_fr="Choisissez un moyen de paiement.", code="portal.method"
        )
    amount = Money(web._text(form, "montant").replace(",", ".").replace("€", "").strip() or "0")
    payment = state.office.record_payment(
        agent,
        family_id,
        items[number].invoice.regie_id,
        [number],
        amount,
        method,
        reference=web._text(form, "reference").strip(),
    )
    session.flashes.append(payment.message_fr)
    return web._redirect(f"/agent/familles/{family_id}")


async def answer(request: Request) -> Response:
    state = web._state(request)
    session, agent, form = await _posted(request)
    family_id, request_id = request.path_params["family_id"], request.path_params["request_id"]
    decision = web._text(form, "decision")
    if decision not in _DECISIONS:
        raise InvalidInput("unknown decision", message_fr="Choisissez une réponse.", code="portal.decision")
    state.office.answer_request(agent, family_id, request_id, web._text(form, "texte"), decision=decision)
    session.flashes.append("Votre réponse est envoyée à la famille.")
    return web._redirect(f"/agent/familles/{family_id}")


def routes() -> list[Route]:
    return [
        Route("/agent", home),
        Route("/agent/pointage", sheet, methods=["GET"]),
        Route("/agent/pointage", record, methods=["POST"]),
        Route("/agent/fermetures", closure_page, methods=["GET"]),
        Route("/agent/fermetures", close, methods=["POST"]),
        Route("/agent/facturation", billing_page, methods=["GET"]),
        Route("/agent/facturation", billing, methods=["POST"]),
        Route("/agent/familles", families),
        Route("/agent/familles/{family_id}", family),
        Route("/agent/familles/{family_id}/paiement", counter_payment, methods=["POST"]),
        Route("/agent/familles/{family_id}/demandes/{request_id}", answer, methods=["POST"]),
    ]
