"""Accounts across communes: activation of family records by single-use tokens, and who may act on what.

An ``Account`` is a person's login identity as the host application knows it (an id and an e-mail);
passwords, sessions and login stay the host application's job. One account reaches family records in
several collectivités (brochure: "associer les services de plusieurs communes"), and records of
services that only publish invoices (*mesfacturesonline*), through ``AccountLink``\\ s.

A link is made by **activation**: an agent of the collectivité issues an ``Activation`` for a
(collectivité, family, guardian); the family receives a link by e-mail carrying a random token; the
token, presented once before it expires, links the account. Only the token's SHA-256 hash is stored:
a leaked database does not let anyone activate anything.

An ``Actor`` is who acts in a call: a ``FamilyMember`` through an account, or an ``Agent`` of one
collectivité with a role. ``require_family_access``, ``require_child_access`` and ``require_agent``
raise ``PermissionDenied`` with a stable code and a French message when the actor may not act.
"""

from __future__ import annotations

import base64
import datetime as dt
import enum
import hashlib
import hmac
import re
import secrets
import urllib.parse
from collections.abc import Iterable
from typing import Any, Final, Protocol

import attrs

from espacefamille._internal.validators import email_address, identifier
from espacefamille.calendar.timezones import optional_aware_instant, require_aware
from espacefamille.errors import InvalidInput, PermissionDenied
from espacefamille.model import Child

__all__ = [
    "DEFAULT_ACTIVATION_DELAY",
    "TOKEN_BYTES",
    "Account",
    "AccountLink",
    "Activated",
    "Activation",
    "ActivationRefused",
    "Actor",
    "Agent",
    "AgentRole",
    "FamilyMember",
    "IssuedActivation",
    "LinkScope",
    "RandomSource",
    "activate",
    "activation_link",
    "issue_activation",
    "require_agent",
    "require_child_access",
    "require_family_access",
    "token_hash",
]

DEFAULT_ACTIVATION_DELAY: Final = dt.timedelta(days=14)
#: 32 random bytes: 256 bits, twice the 128 bits below which a token could be guessed at scale.
TOKEN_BYTES: Final = 32
# Far longer than any token we issue; a longer "token" is refused before it is even hashed.
_MAX_TOKEN_LENGTH: Final = 256
_SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")


class RandomSource(Protocol):
    """Where random bytes come from: the ``secrets`` module by default, a seeded source in tests and docs."""

    def token_bytes(self, nbytes: int, /) -> bytes: ...


# -- validators -------------------------------------------------------------------------------


_email = email_address(code="account.bad_email")


def _sha256_hex(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, str) or not _SHA256_HEX.fullmatch(value):
        raise InvalidInput(
            f"{type(instance).__name__}.{attribute.name} must be a SHA-256 hex digest",
            code="account.bad_token_hash",
        )


# -- accounts and links -----------------------------------------------------------------------


class LinkScope(enum.Enum):
    """What a link opens: the whole family portal, or only the invoices (*mesfacturesonline* services)."""

    FAMILY = "family"
    INVOICES_ONLY = "invoices_only"


@attrs.frozen
class AccountLink:
    """An account's access to one family record (a *foyer*) of one collectivité, made by an activation."""

    collectivite_id: str = attrs.field(validator=identifier)
    family_id: str = attrs.field(validator=identifier)
    guardian_id: str = attrs.field(validator=identifier)
    activation_id: str = attrs.field(validator=identifier)
    linked_at: dt.datetime = attrs.field(validator=optional_aware_instant)
    scope: LinkScope = attrs.field(
        default=LinkScope.FAMILY, validator=attrs.validators.instance_of(LinkScope)
    )

    @property
    def family_key(self) -> tuple[str, str]:
        """Family ids are only unique within a collectivité: this pair names one record everywhere."""
        return (self.collectivite_id, self.family_id)


def _links(items: Iterable[AccountLink]) -> tuple[AccountLink, ...]:
    return tuple(items)


@attrs.frozen
class Account:
    """A person's login identity as the host application gives it, and the family records it reaches."""

    id: str = attrs.field(validator=identifier)
    email: str = attrs.field(validator=_email)
    links: tuple[AccountLink, ...] = attrs.field(converter=_links, default=())

    def __attrs_post_init__(self) -> None:
        keys = [link.family_key for link in self.links]
        if len(set(keys)) != len(keys):
            raise InvalidInput(
                f"account {self.id!r} links the same family record twice",
                message_fr="Ce compte est lié deux fois au même dossier famille.",
                code="account.duplicate_link",
            )

    @property
    def collectivite_ids(self) -> frozenset[str]:
        return frozenset(link.collectivite_id for link in self.links)

    def link_to(self, collectivite_id: str, family_id: str) -> AccountLink | None:
        """The link to this family record, if the account has one."""
        for link in self.links:
            if link.family_key == (collectivite_id, family_id):
                return link
        return None


# -- activations ------------------------------------------------------------------------------


def token_hash(token: str) -> str:
    """The SHA-256 hex digest a store keeps (and may index) instead of the token itself.

    A plain hash is enough here, unlike for passwords: the token has 256 random bits, so there is no
    dictionary to try against a leaked hash.
    """
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _new_token(source: RandomSource) -> str:
    # The same alphabet and length as secrets.token_urlsafe(32): safe in a URL without escaping.
    return base64.urlsafe_b64encode(source.token_bytes(TOKEN_BYTES)).rstrip(b"=").decode("ascii")


@attrs.frozen
class Activation:
    """An agent's invitation for a guardian to link an account to a family record, as the store keeps it.

    It holds the token's hash, never the token. It is single-use (``used_at``/``used_by`` are set once)
    and expires at ``expires_at``: from that instant on, it is refused.
    """

    id: str = attrs.field(validator=identifier)
    collectivite_id: str = attrs.field(validator=identifier)
    family_id: str = attrs.field(validator=identifier)
    guardian_id: str = attrs.field(validator=identifier)
    token_sha256: str = attrs.field(validator=_sha256_hex)
    issued_at: dt.datetime = attrs.field(validator=optional_aware_instant)
    expires_at: dt.datetime = attrs.field(validator=optional_aware_instant)
    issued_by: str = attrs.field(validator=identifier)
    scope: LinkScope = attrs.field(
        default=LinkScope.FAMILY, validator=attrs.validators.instance_of(LinkScope)
    )
    used_at: dt.datetime | None = attrs.field(default=None, validator=optional_aware_instant)
    used_by: str | None = None

    def __attrs_post_init__(self) -> None:
        if self.expires_at <= self.issued_at:
            raise InvalidInput(
                f"activation {self.id!r} expires before it is issued",
                message_fr="L'activation expire avant d'avoir été émise.",
                code="input.end_before_start",
            )
        if (self.used_at is None) != (self.used_by is None):
            raise InvalidInput(
                f"activation {self.id!r}: used_at and used_by go together", code="account.activation_state"
            )

    @property
    def is_used(self) -> bool:
        return self.used_at is not None

    def is_expired(self, now: dt.datetime) -> bool:
        """Expired from ``expires_at`` included: a 14-day link dies 14 days to the second after issue."""
        return require_aware(now) >= self.expires_at


@attrs.frozen
class IssuedActivation:
    """What ``issue_activation`` returns: the activation to store, and the clear token and link to e-mail.

    This is the only time the clear token exists; it is kept out of the ``repr`` so it does not end up
    in a log by accident.
    """

    activation: Activation
    token: str = attrs.field(repr=False)
    link: str = attrs.field(repr=False)


def activation_link(link_base: str, token: str) -> str:
    """The URL a family follows: ``link_base`` with the token as its ``jeton`` query parameter."""
    parts = urllib.parse.urlsplit(link_base)
    if parts.scheme not in ("https", "http") or not parts.netloc:
        raise InvalidInput(
            f"the activation link base must be an http(s) URL, got {link_base!r}",
            message_fr="L'adresse du lien d'activation est invalide.",
            code="account.bad_link_base",
        )
    query = urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
    query.append(("jeton", token))
    return urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(query)))


# An activation link is for a family to use soon; a delay beyond this is a mistake (and past the calendar).
_LONGEST_ACTIVATION_DELAY: Final = dt.timedelta(days=366)


def issue_activation(
    agent: Actor,
    collectivite_id: str,
    family_id: str,
    guardian_id: str,
    now: dt.datetime,
    *,
    link_base: str,
    delay: dt.timedelta = DEFAULT_ACTIVATION_DELAY,
    scope: LinkScope = LinkScope.FAMILY,
    source: RandomSource = secrets,
) -> IssuedActivation:
    """An agent of ``collectivite_id`` activates a family account: an activation valid for ``delay``.

    Only an agent of that collectivité may issue it (``require_agent``). The returned token and link are
    to be e-mailed to the guardian and then forgotten: the store keeps ``IssuedActivation.activation``.
    """
    issuer = require_agent(agent, collectivite_id)
    now = require_aware(now)
    if not isinstance(delay, dt.timedelta) or not dt.timedelta(0) < delay <= _LONGEST_ACTIVATION_DELAY:
        raise InvalidInput(
            f"the activation delay must be a positive timedelta of at most a year, got {delay!r}",
            message_fr="Le délai de validité de l'activation doit être positif et d'au plus un an.",
            code="account.bad_delay",
        )
    token = _new_token(source)
    link = activation_link(link_base, token)
    activation = Activation(
        id="act-" + source.token_bytes(8).hex(),
        collectivite_id=collectivite_id,
        family_id=family_id,
        guardian_id=guardian_id,
        token_sha256=token_hash(token),
        issued_at=now,
        expires_at=now + delay,
        issued_by=issuer.agent_id,
        scope=scope,
    )
    return IssuedActivation(activation, token, link)


class ActivationRefused(PermissionDenied):
    """An activation token was not accepted; ``code`` says why (``activation.*``)."""

    default_code = "activation.refused"


@attrs.frozen
class Activated:
    """A successful activation: the account with its new link, the link itself, and the used activation.

    The store writes the account and the activation together (and the activation must still be unused
    in the store when it commits, or a concurrent activation won).
    """

    account: Account
    link: AccountLink
    activation: Activation


def _matches(activation: Activation, presented: object) -> bool:
    if not isinstance(presented, str) or not presented or len(presented) > _MAX_TOKEN_LENGTH:
        return False
    # Constant time: how much of the hash matched must not show in how long the refusal took.
    return hmac.compare_digest(token_hash(presented), activation.token_sha256)


def _link(activation: Activation, at: dt.datetime) -> AccountLink:
    return AccountLink(
        collectivite_id=activation.collectivite_id,
        family_id=activation.family_id,
        guardian_id=activation.guardian_id,
        activation_id=activation.id,
        linked_at=at,
        scope=activation.scope,
    )


def _half_done(account: Account, activation: Activation, now: dt.datetime) -> bool:
    """This account used the activation, but its link was never saved (a write failed in between)."""
    return (
        activation.is_used
        and activation.used_by == account.id
        and not activation.is_expired(now)
        and account.link_to(activation.collectivite_id, activation.family_id) is None
    )


def activate(
    account: Account, stored_activation: Activation | None, presented_token: str, now: dt.datetime
) -> Activated:
    """Link ``account`` to the family record of ``stored_activation`` if ``presented_token`` is its token.

    ``stored_activation`` is what the store found for ``token_hash(presented_token)`` (or for the id in
    the link), None when nothing was found. Refusals, in this order so that someone without the token
    learns nothing about the activation: ``activation.unknown_token`` (none, or not this one's token),
    ``activation.already_used``, ``activation.expired`` (from ``expires_at`` included),
    ``activation.already_linked`` (the account already reaches that family record).

    Retried after a failed write, it finishes what it started: an activation this very account used, whose
    link never reached the account (the store saves the activation first, then the account), gives the same
    link again until the activation expires, so a failure between the two writes never locks a family out.
    """
    now = require_aware(now)
    if stored_activation is None or not _matches(stored_activation, presented_token):
        raise ActivationRefused(
            "unknown or incorrect activation token",
            message_fr="Ce lien d'activation n'est pas valide. Vérifiez qu'il est complet, "
            "ou demandez un nouveau lien à votre mairie.",
            code="activation.unknown_token",
        )
    activation = stored_activation
    if _half_done(account, activation, now):
        assert activation.used_at is not None
        link = _link(activation, activation.used_at)
        return Activated(
            account=attrs.evolve(account, links=(*account.links, link)), link=link, activation=activation
        )
    if activation.is_used:
        raise ActivationRefused(
            f"activation {activation.id!r} was already used",
            message_fr="Ce lien d'activation a déjà été utilisé. Connectez-vous avec votre compte, "
            "ou demandez un nouveau lien à votre mairie.",
            code="activation.already_used",
            details={"activation_id": activation.id},
        )
    if activation.is_expired(now):
        raise ActivationRefused(
            f"activation {activation.id!r} expired at {activation.expires_at.isoformat()}",
            message_fr="Ce lien d'activation a expiré. Demandez un nouveau lien à votre mairie.",
            code="activation.expired",
            details={"activation_id": activation.id},
        )
    if account.link_to(activation.collectivite_id, activation.family_id) is not None:
        raise ActivationRefused(
            f"account {account.id!r} is already linked to family {activation.family_id!r} "
            f"of {activation.collectivite_id!r}",
            message_fr="Votre compte est déjà relié à ce dossier famille.",
            code="activation.already_linked",
            details={"activation_id": activation.id},
        )
    link = _link(activation, now)
    return Activated(
        account=attrs.evolve(account, links=(*account.links, link)),
        link=link,
        activation=attrs.evolve(activation, used_at=now, used_by=account.id),
    )


# -- actors and authorisation -----------------------------------------------------------------


class AgentRole(enum.Enum):
    """What an agent does in the back office.

    ``ANIMATEUR`` records attendance; ``GESTIONNAIRE`` enrols children, activates accounts and answers
    requests; ``REGISSEUR`` runs billing and records payments, credits and refunds; ``ADMINISTRATEUR``
    does all of it.
    """

    ANIMATEUR = "animateur"
    GESTIONNAIRE = "gestionnaire"
    REGISSEUR = "regisseur"
    ADMINISTRATEUR = "administrateur"


@attrs.frozen
class FamilyMember:
    """A family member acting through an account: only on the family records it is linked to."""

    account_id: str = attrs.field(validator=identifier)
    links: tuple[AccountLink, ...] = attrs.field(converter=_links, default=())

    @classmethod
    def from_account(cls, account: Account) -> FamilyMember:
        return cls(account.id, account.links)


@attrs.frozen
class Agent:
    """An agent of one collectivité, with a role."""

    agent_id: str = attrs.field(validator=identifier)
    collectivite_id: str = attrs.field(validator=identifier)
    role: AgentRole = attrs.field(validator=attrs.validators.instance_of(AgentRole))


Actor = FamilyMember | Agent


def _other_commune(collectivite_id: str) -> PermissionDenied:
    return PermissionDenied(
        f"the actor has no access to collectivité {collectivite_id!r}",
        message_fr="Vous n'avez pas accès aux services de cette collectivité.",
        code="permission.other_commune",
        details={"collectivite_id": collectivite_id},
    )


def _other_family(collectivite_id: str, family_id: str) -> PermissionDenied:
    return PermissionDenied(
        f"the actor has no access to family {family_id!r} of {collectivite_id!r}",
        message_fr="Ce dossier famille n'est pas le vôtre.",
        code="permission.other_family",
        details={"collectivite_id": collectivite_id, "family_id": family_id},
    )


def _links_in(member: FamilyMember, collectivite_id: str, invoices: bool) -> list[AccountLink]:
    links = [link for link in member.links if link.collectivite_id == collectivite_id]
    if not links:
        raise _other_commune(collectivite_id)
    usable = [link for link in links if invoices or link.scope is LinkScope.FAMILY]
    if not usable:
        raise PermissionDenied(
            f"the account reaches only the invoices of {collectivite_id!r}",
            message_fr="Votre compte donne accès seulement aux factures de cette collectivité.",
            code="permission.invoices_only",
            details={"collectivite_id": collectivite_id},
        )
    return usable


def require_family_access(
    actor: Actor, collectivite_id: str, family_id: str, *, invoices: bool = False
) -> None:
    """Refuse unless ``actor`` may act for this family record.

    A family member needs a link to it (an invoices-only link suffices when ``invoices`` is true: listing
    and paying invoices); an agent must belong to the collectivité.
    """
    if isinstance(actor, Agent):
        if actor.collectivite_id != collectivite_id:
            raise _other_commune(collectivite_id)
        return
    if not isinstance(actor, FamilyMember):
        raise InvalidInput(f"not an actor: {actor!r}", code="permission.not_an_actor")
    links = _links_in(actor, collectivite_id, invoices)
    if all(link.family_id != family_id for link in links):
        raise _other_family(collectivite_id, family_id)


def require_child_access(actor: Actor, child: Child, collectivite_id: str) -> tuple[str, ...]:
    """Refuse unless ``actor`` may act for ``child``; return the households it acts through.

    A child of separated parents belongs to two households; a parent's account reaches the child through
    its own household only, and books and pays for that household's days. An agent of the collectivité
    reaches every household of the child.
    """
    if isinstance(actor, Agent):
        if actor.collectivite_id != collectivite_id:
            raise _other_commune(collectivite_id)
        return child.family_ids
    if not isinstance(actor, FamilyMember):
        raise InvalidInput(f"not an actor: {actor!r}", code="permission.not_an_actor")
    linked = {link.family_id for link in _links_in(actor, collectivite_id, invoices=False)}
    households = tuple(family_id for family_id in child.family_ids if family_id in linked)
    if not households:
        raise PermissionDenied(
            f"child {child.id!r} is not in a family the actor is linked to",
            message_fr=f"{child.first_name} ne fait pas partie de votre dossier famille.",
            code="permission.other_family",
            details={"collectivite_id": collectivite_id, "child_id": child.id},
        )
    return households


def require_agent(actor: Actor, collectivite_id: str, roles: Iterable[AgentRole] | None = None) -> Agent:
    """Refuse unless ``actor`` is an agent of ``collectivite_id`` (with one of ``roles`` when given).

    An ``ADMINISTRATEUR`` has every role.
    """
    if not isinstance(actor, Agent):
        raise PermissionDenied(
            "only an agent of the collectivité may do this",
            message_fr="Cette action est réservée aux agents de la collectivité.",
            code="permission.not_an_agent",
        )
    if actor.collectivite_id != collectivite_id:
        raise _other_commune(collectivite_id)
    if roles is not None:
        allowed = frozenset(roles)
        if actor.role is not AgentRole.ADMINISTRATEUR and actor.role not in allowed:
            raise PermissionDenied(
                f"role {actor.role.value!r} may not do this (needs one of "
                f"{sorted(role.value for role in allowed)})",
                message_fr="Votre rôle ne permet pas cette action.",
                code="permission.role",
                details={"role": actor.role.value},
            )
    return actor
