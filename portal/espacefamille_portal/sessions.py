"""Server-side sessions: who is signed in, the CSRF token of their forms, and their basket.

The cookie carries only a random session id; everything else stays on the server, so signing out
forgets the session for good: the same cookie, replayed later, opens nothing and passes no form.
Kept in memory, for one process: a real host would keep them in its own session store.
"""

from __future__ import annotations

import datetime as dt
import secrets

import attrs

__all__ = ["COOKIE", "BasketEntry", "Session", "Sessions"]

#: The session cookie's name.
COOKIE = "ef_session"


@attrs.frozen
class BasketEntry:
    """One change waiting in the basket: book or cancel a prestation for a child on a day."""

    action: str  # "book" or "cancel"
    child_id: str
    prestation_id: str
    day: dt.date


@attrs.define
class Session:
    """One browser's session: anonymous until signed in (its forms need a CSRF token all the same)."""

    id: str
    csrf: str
    account_id: str | None = None
    family_id: str | None = None
    #: An agent's role in the back office (``animateur``, ``gestionnaire``, ``regisseur``…).
    agent_role: str | None = None
    basket: list[BasketEntry] = attrs.field(factory=list)
    #: Messages shown once on the next page (after a redirect).
    flashes: list[str] = attrs.field(factory=list)

    def check_csrf(self, token: object) -> bool:
        return isinstance(token, str) and secrets.compare_digest(token.encode(), self.csrf.encode())


class Sessions:
    """The live sessions, by id."""

    def __init__(self) -> None:
        self._live: dict[str, Session] = {}

    def get(self, session_id: str | None) -> Session | None:
        if not session_id:
            return None
        return self._live.get(session_id)

    def new(self) -> Session:
        session = Session(secrets.token_urlsafe(32), secrets.token_urlsafe(32))
        self._live[session.id] = session
        return session

    def sign_in(self, old: Session | None, account_id: str, family_id: str | None) -> Session:
        """A new session (new id, new CSRF token) for the account: the anonymous one is dropped, so an id
        known before signing in is worth nothing after."""
        if old is not None:
            self.end(old)
        session = self.new()
        session.account_id = account_id
        session.family_id = family_id
        return session

    def sign_in_agent(self, old: Session | None, role: str) -> Session:
        """A new session for an agent of the commune with ``role`` (the development login's choice)."""
        if old is not None:
            self.end(old)
        session = self.new()
        session.agent_role = role
        return session

    def end(self, session: Session) -> None:
        self._live.pop(session.id, None)
