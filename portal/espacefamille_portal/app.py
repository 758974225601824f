"""The portal's pages: a Starlette application over ``espacefamille.services``.

Every page asks the library's ``FamilyPortal`` what it shows and does what a family asks through it: the
services check who acts (another household's child or invoice is refused there, whatever the URL says),
the portal adds what a web host must (sessions, CSRF tokens, French error pages). Handlers call the
library directly, one request at a time: the sessions and the development gateway live in this process.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import re
import secrets
import urllib.parse
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from typing import Final

import attrs
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.applications import Starlette
from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from espacefamille import (
    BackOffice,
    Clock,
    CommuneStore,
    EspaceFamilleError,
    FamilyPortal,
    InvalidInput,
    NotFound,
    PermissionDenied,
    Service,
)
from espacefamille.billing.payments import PaymentRefused
from espacefamille.calendar.periods import DateRange, Weekday
from espacefamille.families.accounts import Account, Agent, AgentRole, FamilyMember
from espacefamille.families.events import AccountActivated
from espacefamille.families.requests import InvalidSubmission
from espacefamille.model import Child
from espacefamille.money import Money
from espacefamille.ports import AccountStore
from espacefamille.rules.attendance import AbsenceReason
from espacefamille.rules.basket import Action, BasketLine, LineDecision, Outcome
from espacefamille.rules.calendar_view import CalendarCell, CellState
from espacefamille.services import AbsenceResult, BasketOutcome
from espacefamille.text import format_date, format_datetime

from .gateway import DevPayfip
from .sessions import COOKIE, BasketEntry, Session, Sessions

__all__ = ["PortalState", "create_app"]

_HERE: Final = Path(__file__).parent
_CANCELLABLE: Final = frozenset({CellState.BOOKED, CellState.BOOKED_CANCELLABLE_LATE, CellState.WAITING_LIST})
_OUTCOME_LABELS: Final = {
    Outcome.ACCEPTED: "Accepté",
    Outcome.ACCEPTED_WITH_SURCHARGE: "Accepté avec majoration",
    Outcome.EXCEPTIONAL_TARIFF: "Accepté au tarif exceptionnel",
    Outcome.WAITING_LIST: "Liste d'attente",
    Outcome.REFUSED: "Refusé",
}
_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")
_MAX_BASKET: Final = 400
#: Whether invoices can be downloaded as PDF here (the library's ``pdf`` extra).
_PDF: Final = importlib.util.find_spec("weasyprint") is not None
#: Whether bookings can be downloaded as .ics here (``icalendar``, of the ``cli`` extra).
_ICS: Final = importlib.util.find_spec("icalendar") is not None


@attrs.define
class PortalState:
    """What the pages share: the library's services and stores, the clock, the sessions, and the host's
    own account register (e-mail → account id: the library knows accounts, not how people sign in)."""

    store: CommuneStore
    accounts: AccountStore
    portal: FamilyPortal
    office: BackOffice
    gateway: DevPayfip
    clock: Clock
    #: The agent the development pages read the outbox as (a host would sign its agents in).
    dev_agent: Agent
    #: The commune's services and régies (id, name), for the agent's forms: the host's configuration.
    services: list[tuple[str, str]] = attrs.field(factory=list)
    regies: list[tuple[str, str]] = attrs.field(factory=list)
    prestations: dict[str, str] = attrs.field(factory=dict)
    sessions: Sessions = attrs.field(factory=Sessions)
    logins: dict[str, str] = attrs.field(factory=dict)
    #: The last validated basket of each session, for its result page.
    outcomes: dict[str, tuple[BasketOutcome, dict[str, str], dict[str, str]]] = attrs.field(factory=dict)
    secure_cookies: bool = False


class _Unauthenticated(Exception):
    """A page for signed-in families asked without a session."""


class _CsrfRefused(Exception):
    """A form posted without this session's token."""


_env = Environment(
    loader=FileSystemLoader(_HERE / "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)
_env.filters["date_fr"] = format_date
_env.filters["datetime_fr"] = format_datetime
_env.filters["euros"] = Money.format


def _state(request: Request) -> PortalState:
    state: PortalState = request.app.state.portal
    return state


def _session(request: Request) -> Session | None:
    return _state(request).sessions.get(request.cookies.get(COOKIE))


def _render(
    request: Request,
    session: Session | None,
    template: str,
    context: Mapping[str, object] | None = None,
    *,
    status: int = 200,
) -> HTMLResponse:
    state = _state(request)
    if session is None:
        session = state.sessions.new()
    flashes, session.flashes = session.flashes, []
    account = None
    if session.account_id is not None:
        account = state.accounts.account(session.account_id)
    roles = _roles()
    body = _env.get_template(template).render(
        {
            "csrf": session.csrf,
            "account": account,
            "agent": roles.get(session.agent_role or ""),
            "roles": roles,
            "flashes": flashes,
            "path": request.url.path,
            **(context or {}),
        }
    )
    response = HTMLResponse(body, status_code=status)
    _set_cookie(response, state, session)
    return response


def _set_cookie(response: Response, state: PortalState, session: Session) -> None:
    response.set_cookie(
        COOKIE, session.id, httponly=True, samesite="lax", secure=state.secure_cookies, path="/"
    )


def _redirect(url: str, state: PortalState | None = None, session: Session | None = None) -> Response:
    response = RedirectResponse(url, status_code=303)
    if state is not None and session is not None:
        _set_cookie(response, state, session)
    return response


async def _form(request: Request) -> tuple[Session, FormData]:
    """The posted form, once its CSRF token is this session's."""
    session = _session(request)
    form = await request.form()
    if session is None or not session.check_csrf(form.get("csrf")):
        raise _CsrfRefused
    return session, form


def _signed_in(session: Session | None) -> tuple[Session, str, str]:
    if session is None or session.account_id is None or session.family_id is None:
        raise _Unauthenticated
    return session, session.account_id, session.family_id


def _actor(state: PortalState, account_id: str) -> FamilyMember:
    return FamilyMember.from_account(state.accounts.account(account_id))


def _text(form: FormData, key: str) -> str:
    value = form.get(key)
    return value if isinstance(value, str) else ""


def _day(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(
            f"not a date: {text!r}", message_fr="Cette date n'est pas valide.", code="portal.bad_date"
        ) from None


def _local_link(link: str) -> str:
    """An activation link's path and query: the e-mail names the host, the development page this one."""
    parts = urllib.parse.urlsplit(link)
    return urllib.parse.urlunsplit(("", "", parts.path, parts.query, ""))


# -- signing in ------------------------------------------------------------------------------------------


async def home(request: Request) -> Response:
    session = _session(request)
    if session is not None and session.account_id is not None:
        return _redirect("/reservations")
    if session is not None and session.agent_role is not None:
        return _redirect("/agent")
    return _redirect("/connexion")


async def login_page(request: Request) -> Response:
    state = _state(request)
    accounts = [state.accounts.account(account_id) for account_id in sorted(state.logins.values())]
    return _render(request, _session(request), "login.html", {"accounts": accounts})


async def login(request: Request) -> Response:
    state = _state(request)
    session, form = await _form(request)
    account_id = _text(form, "compte")
    if account_id not in state.logins.values():
        session.flashes.append("Choisissez un compte activé.")
        return _redirect("/connexion", state, session)
    return _sign_in(state, session, state.accounts.account(account_id))


def _roles() -> Mapping[str, str]:
    from .agent import ROLES  # noqa: PLC0415 (agent imports this module)

    return ROLES


async def agent_login(request: Request) -> Response:
    """The development login of an agent: a role to act with (a host signs its agents in its own way)."""
    state = _state(request)
    session, form = await _form(request)
    role = _text(form, "role")
    if role not in _roles():
        session.flashes.append("Choisissez un rôle d'agent.")
        return _redirect("/connexion", state, session)
    return _redirect("/agent", state, state.sessions.sign_in_agent(session, role))


def _sign_in(state: PortalState, session: Session | None, account: Account) -> Response:
    family_id = next((link.family_id for link in account.links), None)
    fresh = state.sessions.sign_in(session, account.id, family_id)
    return _redirect("/reservations", state, fresh)


async def logout(request: Request) -> Response:
    state = _state(request)
    session, _ = await _form(request)
    state.sessions.end(session)
    fresh = state.sessions.new()
    fresh.flashes.append("Vous êtes déconnecté.")
    return _redirect("/connexion", state, fresh)


async def activation_page(request: Request) -> Response:
    token = request.query_params.get("jeton", "")
    return _render(request, _session(request), "activate.html", {"token": token})


async def activate(request: Request) -> Response:
    state = _state(request)
    session, form = await _form(request)
    token, email = _text(form, "jeton").strip(), _text(form, "courriel").strip().lower()
    account_id = state.logins.get(email)
    if account_id is None:
        # The host's part: create the person's account (here without a password: see docs/portal.md).
        account_id = "acc-" + secrets.token_hex(8)
        state.accounts.save_account(Account(account_id, email))
    activated = state.portal.link_account(account_id, token)
    state.logins[email] = account_id
    fresh = state.sessions.sign_in(session, account_id, activated.link.family_id)
    fresh.flashes.append("Votre compte est activé : bienvenue dans votre espace famille.")
    return _redirect("/reservations", state, fresh)


# -- Mes réservations ------------------------------------------------------------------------------------


def _week_of(text: str, today: dt.date) -> DateRange:
    if not text:
        year, week, _ = today.isocalendar()
        return DateRange.iso_week(year, week)
    match = _WEEK.match(text)
    if match is None:
        raise InvalidInput(
            f"not an ISO week: {text!r}", message_fr="Cette semaine n'est pas valide.", code="portal.bad_week"
        )
    try:
        return DateRange.iso_week(int(match[1]), int(match[2]))
    except (ValueError, EspaceFamilleError):
        raise InvalidInput(
            f"not an ISO week: {text!r}", message_fr="Cette semaine n'est pas valide.", code="portal.bad_week"
        ) from None


def _week_key(day: dt.date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


async def reservations(request: Request) -> Response:
    state = _state(request)
    session, account_id, family_id = _signed_in(_session(request))
    actor = _actor(state, account_id)
    children = state.portal.children(actor, family_id)
    services = state.portal.services(actor, family_id)
    child_id = request.query_params.get("enfant") or (children[0].id if children else "")
    enrolled = [s for s, kids in services if child_id in kids]
    default_service = (enrolled or [s for s, _ in services])[0].id if services else ""
    service_id = request.query_params.get("service") or default_service
    service = _service(services, service_id)
    week = _week_of(request.query_params.get("semaine", ""), state.portal.today())
    view = state.portal.calendar(actor, child_id, service_id, week, family_id=family_id)
    names = {p.id: p.name for p in service.prestations}
    in_basket = {(e.child_id, e.prestation_id, e.day): e.action for e in session.basket}
    days = [row for row in view.days if any(not c.is_closed or c.state.is_attendance for c in row.cells)]
    child_names = {c.id: c.first_name for c in children}
    return _render(
        request,
        session,
        "reservations.html",
        {
            "children": children,
            "services": [s for s, _ in services],
            "child_id": child_id,
            "child_name": child_names.get(child_id, child_id),
            "service": service,
            "view": view,
            "days": days,
            "week": view.weeks[0] if view.weeks else None,
            "previous": _week_key(week.start - dt.timedelta(days=7)),
            "next": _week_key(week.start + dt.timedelta(days=7)),
            "this_week": _week_key(week.start),
            "names": names,
            "in_basket": in_basket,
            "action_of": _action_of,
            "basket": _basket_rows(state, actor, family_id, session.basket, _names_of(children, services)),
            "weekdays": list(Weekday)[:6],
        },
    )


def _service(services: Sequence[tuple[Service, tuple[str, ...]]], service_id: str) -> Service:
    for service, _ in services:
        if service.id == service_id:
            return service
    raise NotFound(
        f"no service {service_id!r}", message_fr="Ce service n'existe pas.", code="not_found.service"
    )


def _action_of(cell: CalendarCell) -> str | None:
    if cell.is_bookable:
        return "book"
    if cell.state in _CANCELLABLE:
        return "cancel"
    return None


@attrs.frozen
class _BasketRow:
    index: int
    entry: BasketEntry
    text: str
    #: What « Valider » would answer now: the decision's sentence (its deadline, a refusal's reason).
    preview: str = ""
    price: Money | None = None


def _basket_rows(
    state: PortalState,
    actor: FamilyMember,
    family_id: str,
    basket: Sequence[BasketEntry],
    names: tuple[dict[str, str], dict[str, str]],
) -> list[_BasketRow]:
    if not basket:
        return []
    preview = state.portal.preview_basket(actor, family_id, _lines(basket))
    rows = []
    for index, (entry, line) in enumerate(zip(basket, preview.lines, strict=True)):
        verb = "Réserver" if entry.action == "book" else "Annuler"
        child = names[0].get(entry.child_id, entry.child_id)
        prestation = names[1].get(entry.prestation_id, entry.prestation_id)
        text = f"{verb} : {prestation} pour {child} le {format_date(entry.day)}"
        rows.append(_BasketRow(index, entry, text, _foresight(line.decision), line.amount))
    return rows


def _foresight(decision: LineDecision) -> str:
    """What « Valider » would answer now, said before it is clicked."""
    if decision.is_refused:
        return f"Sera refusé : {decision.message_fr}"
    if decision.deadline is not None and decision.outcome is Outcome.ACCEPTED:
        return f"Possible si vous validez avant le {format_datetime(decision.deadline)}."
    return f"{_OUTCOME_LABELS[decision.outcome]} si vous validez maintenant."


def _lines(basket: Sequence[BasketEntry]) -> list[BasketLine]:
    return [BasketLine(Action(e.action), e.child_id, e.prestation_id, e.day) for e in basket]


def _names(state: PortalState, actor: FamilyMember, family_id: str) -> tuple[dict[str, str], dict[str, str]]:
    return _names_of(state.portal.children(actor, family_id), state.portal.services(actor, family_id))


def _names_of(
    children: Sequence[Child], services: Sequence[tuple[Service, tuple[str, ...]]]
) -> tuple[dict[str, str], dict[str, str]]:
    """First names by child id and prestation names by id, for the basket's lines."""
    return {c.id: c.first_name for c in children}, {p.id: p.name for s, _ in services for p in s.prestations}


def _back(form: FormData) -> str:
    back = _text(form, "retour")
    # Only a page of this portal: never an address elsewhere.
    return back if back.startswith("/") and not back.startswith("//") else "/reservations"


def _own_child(state: PortalState, actor: FamilyMember, family_id: str, child_id: str) -> None:
    if child_id not in {c.id for c in state.portal.children(actor, family_id)}:
        raise PermissionDenied(
            f"child {child_id!r} is not in family {family_id!r}",
            message_fr="Cet enfant n'est pas inscrit dans votre dossier famille.",
            code="permission.other_family",
        )


def _add(session: Session, entries: Sequence[BasketEntry]) -> int:
    added = 0
    for entry in entries:
        same = [
            e
            for e in session.basket
            if (e.child_id, e.prestation_id, e.day) == (entry.child_id, entry.prestation_id, entry.day)
        ]
        for old in same:
            session.basket.remove(old)
        if len(session.basket) >= _MAX_BASKET:
            raise InvalidInput(
                "the basket is full",
                message_fr=f"Le panier compte déjà {_MAX_BASKET} lignes : validez-le d'abord.",
                code="portal.basket_full",
            )
        session.basket.append(entry)
        added += 1
    return added


async def basket_add(request: Request) -> Response:
    state = _state(request)
    session, form = await _form(request)
    _, account_id, family_id = _signed_in(session)
    actor = _actor(state, account_id)
    child_id, action = _text(form, "enfant"), _text(form, "action")
    if action not in ("book", "cancel"):
        raise InvalidInput(f"unknown action {action!r}", message_fr="Action inconnue.", code="portal.action")
    _own_child(state, actor, family_id, child_id)
    _add(session, [BasketEntry(action, child_id, _text(form, "prestation"), _day(_text(form, "jour")))])
    return _redirect(_back(form))


async def basket_period(request: Request) -> Response:
    state = _state(request)
    session, form = await _form(request)
    _, account_id, family_id = _signed_in(session)
    actor = _actor(state, account_id)
    child_id, prestation_id = _text(form, "enfant"), _text(form, "prestation")
    start, end = _day(_text(form, "du")), _day(_text(form, "au"))
    weekdays = [Weekday(int(w)) for w in form.getlist("jours") if isinstance(w, str) and w in "012345"]
    if not weekdays:
        session.flashes.append("Choisissez au moins un jour de la semaine.")
        return _redirect(_back(form))
    if end < start:
        session.flashes.append("La date de fin précède la date de début.")
        return _redirect(_back(form))
    period = DateRange(start, end)
    expansion = state.portal.period_lines(actor, family_id, child_id, prestation_id, period, weekdays)
    added = _add(
        session,
        [BasketEntry("book", line.child_id, line.prestation_id, line.day) for line in expansion.lines],
    )
    if not added:
        session.flashes.append("Aucun jour ouvert sur cette période.")
    else:
        session.flashes.append(
            "1 jour ajouté au panier." if added == 1 else f"{added} jours ajoutés au panier."
        )
    return _redirect(_back(form))


async def basket_remove(request: Request) -> Response:
    session, form = await _form(request)
    _signed_in(session)
    index = _text(form, "ligne")
    if index.isdigit() and int(index) < len(session.basket):
        del session.basket[int(index)]
    return _redirect(_back(form))


async def basket_clear(request: Request) -> Response:
    session, form = await _form(request)
    _signed_in(session)
    session.basket.clear()
    return _redirect(_back(form))


async def basket_validate(request: Request) -> Response:
    state = _state(request)
    session, form = await _form(request)
    _, account_id, family_id = _signed_in(session)
    actor = _actor(state, account_id)
    if not session.basket:
        session.flashes.append("Le panier est vide.")
        return _redirect(_back(form))
    outcome = state.portal.validate_basket(actor, family_id, _lines(session.basket))
    session.basket.clear()
    children, prestations = _names(state, actor, family_id)
    state.outcomes[session.id] = (outcome, children, prestations)
    return _redirect("/panier/resultat")


async def basket_result(request: Request) -> Response:
    state = _state(request)
    session, _, _ = _signed_in(_session(request))
    found = state.outcomes.get(session.id)
    if found is None:
        return _redirect("/reservations")
    outcome, children, prestations = found
    return _render(
        request,
        session,
        "result.html",
        {
            "outcome": outcome,
            "children": children,
            "prestations": prestations,
            "labels": _OUTCOME_LABELS,
            "refused": Outcome.REFUSED,
        },
    )


# -- Mes factures ----------------------------------------------------------------------------------------


async def invoices(request: Request) -> Response:
    state = _state(request)
    session, account_id, family_id = _signed_in(_session(request))
    actor = _actor(state, account_id)
    return _render(request, session, "invoices.html", _invoices_context(state, actor, family_id, []))


def _invoices_context(
    state: PortalState, actor: FamilyMember, family_id: str, refusals: Sequence[str]
) -> dict[str, object]:
    return {
        "items": state.portal.invoices_to_pay(actor, family_id),
        "paid": state.portal.paid_invoices(actor, family_id),
        "household": state.portal.household(actor, family_id),
        "children": state.portal.children(actor, family_id),
        "refusals": refusals,
        "pdf": _PDF,
        "ics": _ICS,
    }


async def pay_invoices(request: Request) -> Response:
    state = _state(request)
    session, form = await _form(request)
    _, account_id, family_id = _signed_in(session)
    actor = _actor(state, account_id)
    numbers = [n for n in form.getlist("factures") if isinstance(n, str)]
    if not numbers:
        session.flashes.append("Sélectionnez au moins une facture.")
        return _redirect("/factures")
    try:
        attempt = state.portal.pay_invoices(actor, family_id, numbers)
    except PaymentRefused as refused:
        reasons = [r.message_fr for r in refused.refusals] or [refused.message_fr]
        context = _invoices_context(state, actor, family_id, reasons)
        return _render(request, session, "invoices.html", context, status=400)
    return _redirect(attempt.created.redirect_url)


async def invoice_pdf(request: Request) -> Response:
    state = _state(request)
    _, account_id, family_id = _signed_in(_session(request))
    number = request.path_params["number"]
    data = state.portal.invoice_pdf(_actor(state, account_id), family_id, number)
    headers = {"Content-Disposition": f'attachment; filename="{number}.pdf"'}
    return Response(data, media_type="application/pdf", headers=headers)


async def bookings_ics(request: Request) -> Response:
    """The .ics of a child's bookings, from a month ago to a year ahead."""
    state = _state(request)
    _, account_id, family_id = _signed_in(_session(request))
    child_id = request.query_params.get("enfant", "")
    today = state.portal.today()
    period = DateRange(today - dt.timedelta(days=31), today + dt.timedelta(days=365))
    data = state.portal.bookings_ical(_actor(state, account_id), child_id, period, family_id=family_id)
    headers = {"Content-Disposition": 'attachment; filename="reservations.ics"'}
    return Response(data, media_type="text/calendar", headers=headers)


# -- Signaler une absence ---------------------------------------------------------------------------------

_REASONS: Final = {reason.value: reason for reason in AbsenceReason}


async def absence_page(request: Request) -> Response:
    state = _state(request)
    session, account_id, family_id = _signed_in(_session(request))
    children = state.portal.children(_actor(state, account_id), family_id)
    return _render(request, session, "absence.html", _absence_context(state, children, None))


def _absence_context(
    state: PortalState, children: Sequence[object], result: AbsenceResult | None
) -> dict[str, object]:
    return {
        "children": children,
        "reasons": list(AbsenceReason),
        "today": state.portal.today().isoformat(),
        "result": result,
    }


async def declare_absence(request: Request) -> Response:
    state = _state(request)
    session, form = await _form(request)
    _, account_id, family_id = _signed_in(session)
    actor = _actor(state, account_id)
    start, end = _day(_text(form, "du")), _day(_text(form, "au"))
    if end < start:
        raise InvalidInput(
            "the end precedes the start",
            message_fr="La date de fin précède la date de début.",
            code="portal.bad_period",
        )
    reason = _REASONS.get(_text(form, "motif"))
    if reason is None:
        raise InvalidInput("unknown reason", message_fr="Choisissez un motif.", code="portal.reason")
    proof = form.get("justificatif")
    # The host keeps the file (here: nothing is kept); the library records that the proof came with it.
    proof_received = False
    if isinstance(proof, UploadFile):
        proof_received = bool(proof.filename) and bool(await proof.read(1))
        await proof.close()
    result = state.portal.declare_absence(
        actor,
        _text(form, "enfant"),
        DateRange(start, end),
        reason,
        family_id=family_id,
        proof_received=proof_received,
    )
    children = state.portal.children(actor, family_id)
    return _render(request, session, "absence.html", _absence_context(state, children, result))


# -- Mes demandes -----------------------------------------------------------------------------------------


_INPUT_TYPES: Final = {"date": "date", "integer": "number", "email": "email", "phone": "tel"}


async def requests_page(request: Request) -> Response:
    state = _state(request)
    session, account_id, family_id = _signed_in(_session(request))
    return _render(request, session, "requests.html", _requests_context(state, account_id, family_id))


def _requests_context(
    state: PortalState, account_id: str, family_id: str, errors: Mapping[str, str] | None = None
) -> dict[str, object]:
    actor = _actor(state, account_id)
    categories = list(state.portal.request_categories(actor, family_id))
    return {
        "categories": categories,
        "labels": {c.id: c.label for c in categories},
        "input_types": _INPUT_TYPES,
        "children": state.portal.children(actor, family_id),
        "requests": state.portal.requests(actor, family_id)[::-1],
        "errors": errors or {},
    }


async def submit_request(request: Request) -> Response:
    state = _state(request)
    session, form = await _form(request)
    _, account_id, family_id = _signed_in(session)
    category_id = _text(form, "categorie")
    prefix = f"{category_id}."
    values = {key[len(prefix) :]: value for key, value in form.items() if key.startswith(prefix) and value}
    try:
        state.portal.submit_request(
            _actor(state, account_id), family_id, category_id, values, message=_text(form, "message") or None
        )
    except InvalidSubmission as refused:
        errors = {f"{category_id}.{key}": error.message_fr for key, error in refused.by_field.items()}
        context = _requests_context(state, account_id, family_id, errors)
        return _render(request, session, "requests.html", context, status=400)
    session.flashes.append("Votre demande est envoyée : vous trouverez la réponse de la commune ici.")
    return _redirect("/demandes")


# -- payment: the return, the notification, and the development PayFiP ---------------------------------


async def payment_return(request: Request) -> Response:
    state = _state(request)
    session, account_id, family_id = _signed_in(_session(request))
    payment_id = request.query_params.get("idop", "")
    view = state.portal.payment(_actor(state, account_id), family_id, payment_id)
    return _render(request, session, "payment_return.html", {"view": view})


async def payment_notification(request: Request) -> Response:
    """The gateway's server-to-server call: only a payment id, whose result the library asks back."""
    state = _state(request)
    form = await request.form()
    payload = {key: value for key, value in form.items() if isinstance(value, str)}
    result = state.portal.payment_notification(payload)
    return PlainTextResponse(result.code)


async def dev_payfip_page(request: Request) -> Response:
    state = _state(request)
    created = state.gateway.created.get(request.path_params["payment_id"])
    if created is None:
        raise NotFound(
            "unknown payment", message_fr="Ce paiement est inconnu.", code="portal.unknown_payment"
        )
    return _render(request, _session(request), "payfip.html", {"payment": created})


async def dev_payfip_answer(request: Request) -> Response:
    state = _state(request)
    session, form = await _form(request)
    payment_id = request.path_params["payment_id"]
    if payment_id not in state.gateway.created:
        raise NotFound(
            "unknown payment", message_fr="Ce paiement est inconnu.", code="portal.unknown_payment"
        )
    answer = {"payer": state.gateway.pay, "refuser": state.gateway.refuse, "abandonner": state.gateway.cancel}
    choice = answer.get(_text(form, "reponse"))
    if choice is None:
        raise InvalidInput("unknown answer", message_fr="Réponse inconnue.", code="portal.payfip_answer")
    choice(payment_id, state.clock.now())
    # The Treasury then calls the portal back, server to server, with the payment id only.
    state.portal.payment_notification(state.gateway.notification(payment_id))
    return _redirect(f"/paiement/retour?idop={urllib.parse.quote(payment_id)}", state, session)


async def dev_outbox(request: Request) -> Response:
    """The e-mails the commune would send: the outbox, newest first, activation links first of all."""
    state = _state(request)
    messages = state.office.outbox(state.dev_agent)  # newest first
    activations = [
        (m, _local_link(m.event.activation_link))
        for m in messages
        if isinstance(m.event, AccountActivated) and m.event.activation_link
    ]
    others = [m for m in messages if not isinstance(m.event, AccountActivated)][:30]
    return _render(request, _session(request), "outbox.html", {"activations": activations, "others": others})


# -- errors -----------------------------------------------------------------------------------------------

_STATUS: Final = {PermissionDenied: 403, NotFound: 404}


def _error_page(request: Request, status: int, title: str, message: str) -> Response:
    session = _session(request)
    signed_in = session is not None and session.account_id is not None
    return _render(
        request,
        session if signed_in else None,
        "error.html",
        {"title": title, "message": message, "signed_in": signed_in},
        status=status,
    )


async def _library_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, EspaceFamilleError)
    status = next((code for kind, code in _STATUS.items() if isinstance(exc, kind)), 400)
    titles = {403: "Accès refusé", 404: "Introuvable", 400: "Demande impossible"}
    return _error_page(request, status, titles[status], exc.message_fr)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        return _error_page(request, 404, "Page introuvable", "Cette page n'existe pas.")
    return _error_page(
        request, exc.status_code, "Demande impossible", "Cette demande n'est pas possible ici."
    )


async def _csrf_error(request: Request, exc: Exception) -> Response:
    return _error_page(
        request,
        403,
        "Formulaire expiré",
        "Ce formulaire a expiré ou ne vient pas de cette page. Rechargez la page et recommencez.",
    )


async def _unauthenticated(request: Request, exc: Exception) -> Response:
    return _redirect("/connexion")


async def _crash(request: Request, exc: Exception) -> Response:
    # Never a stack trace on a page: the server's log has it.
    return HTMLResponse(
        _env.get_template("error.html").render(
            {
                "title": "Erreur du service",
                "message": "Une erreur inattendue s'est produite. Réessayez dans quelques instants.",
                "signed_in": False,
                "flashes": [],
                "account": None,
                "path": "",
            }
        ),
        status_code=500,
    )


class _Headers(BaseHTTPMiddleware):
    """Headers every page carries: no framing by other sites, scripts and styles from this host only."""

    async def dispatch(
        self, request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = await call_next(request)
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Content-Security-Policy"] = "default-src 'self'; form-action 'self'"
        response.headers["Referrer-Policy"] = "same-origin"
        return response


def create_app(
    store: CommuneStore,
    accounts: AccountStore,
    *,
    clock: Clock,
    gateway: DevPayfip | None = None,
    secure_cookies: bool = False,
) -> Starlette:
    """The portal over one commune's store and the host's account store."""
    gateway = gateway or DevPayfip()
    with store.unit_of_work() as uow:
        commune = uow.commune()
    collectivite_id = commune.collectivite.id
    state = PortalState(
        store,
        accounts,
        FamilyPortal(store, gateway=gateway, clock=clock, accounts=accounts),
        BackOffice(store, clock=clock, accounts=accounts),
        gateway,
        clock,
        Agent("portail-dev", collectivite_id, AgentRole.GESTIONNAIRE),
        [(service.id, service.name) for service in commune.services],
        [(regie.id, regie.name) for regie in commune.regies],
        {p.id: p.name for service in commune.services for p in service.prestations},
        secure_cookies=secure_cookies,
    )
    from . import agent  # noqa: PLC0415 (its pages use this module's helpers)

    routes = [
        Route("/", home),
        Route("/connexion", login_page, methods=["GET"]),
        Route("/connexion", login, methods=["POST"]),
        Route("/deconnexion", logout, methods=["POST"]),
        Route("/activer", activation_page, methods=["GET"]),
        Route("/activer", activate, methods=["POST"]),
        Route("/reservations", reservations),
        Route("/panier/ajouter", basket_add, methods=["POST"]),
        Route("/panier/periode", basket_period, methods=["POST"]),
        Route("/panier/retirer", basket_remove, methods=["POST"]),
        Route("/panier/vider", basket_clear, methods=["POST"]),
        Route("/panier/valider", basket_validate, methods=["POST"]),
        Route("/panier/resultat", basket_result),
        Route("/factures", invoices),
        Route("/factures/payer", pay_invoices, methods=["POST"]),
        Route("/factures/{number}.pdf", invoice_pdf),
        Route("/reservations.ics", bookings_ics),
        Route("/absences", absence_page, methods=["GET"]),
        Route("/absences", declare_absence, methods=["POST"]),
        Route("/demandes", requests_page, methods=["GET"]),
        Route("/demandes", submit_request, methods=["POST"]),
        Route("/paiement/retour", payment_return),
        Route("/paiement/notification", payment_notification, methods=["POST"]),
        Route("/dev/courriels", dev_outbox),
        Route("/dev/payfip/{payment_id}", dev_payfip_page, methods=["GET"]),
        Route("/dev/payfip/{payment_id}", dev_payfip_answer, methods=["POST"]),
        Route("/connexion/agent", agent_login, methods=["POST"]),
        *agent.routes(),
        Mount("/static", StaticFiles(directory=_HERE / "static"), name="static"),
    ]
    app = Starlette(
        debug=False,
        routes=routes,
        middleware=[Middleware(_Headers)],
        exception_handlers={
            EspaceFamilleError: _library_error,
            HTTPException: _http_error,
            _CsrfRefused: _csrf_error,
            _Unauthenticated: _unauthenticated,
            Exception: _crash,
        },
    )
    app.state.portal = state
    return app
