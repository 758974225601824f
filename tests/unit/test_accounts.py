"""Accounts across communes: activation links a family receives, and who may act on which family."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import random
import urllib.parse
from zoneinfo import ZoneInfo

import attrs
import pytest

from espacefamille.errors import EspaceFamilleError, InvalidInput, PermissionDenied
from espacefamille.families.accounts import (
    TOKEN_BYTES,
    Account,
    AccountLink,
    Activation,
    ActivationRefused,
    Agent,
    AgentRole,
    FamilyMember,
    IssuedActivation,
    LinkScope,
    activate,
    activation_link,
    issue_activation,
    require_agent,
    require_child_access,
    require_family_access,
    token_hash,
)
from espacefamille.model import Child

PARIS = ZoneInfo("Europe/Paris")
REUNION = ZoneInfo("Indian/Reunion")
SAINT_AUBIN = "saint-aubin"
VILLEBOIS = "villebois"
LINK_BASE = "https://espace-famille.example.fr/activer"
# Tuesday 3 November 2026, 9:30 at the town hall: the agent activates the Martin family's account.
ISSUED = dt.datetime(2026, 11, 3, 9, 30, tzinfo=PARIS)
AGENT = Agent("agent-dupont", SAINT_AUBIN, AgentRole.GESTIONNAIRE)


class SeededSource:
    """Predictable random bytes, so a test can be replayed; never for real tokens."""

    def __init__(self, seed: int) -> None:
        self._random = random.Random(seed)
        self.requested: list[int] = []

    def token_bytes(self, nbytes: int, /) -> bytes:
        self.requested.append(nbytes)
        return self._random.randbytes(nbytes)


def issue(
    family_id: str = "martin",
    collectivite_id: str = SAINT_AUBIN,
    *,
    agent: Agent = AGENT,
    now: dt.datetime = ISSUED,
    seed: int = 1,
    scope: LinkScope = LinkScope.FAMILY,
) -> IssuedActivation:
    return issue_activation(
        agent,
        collectivite_id,
        family_id,
        "claire-martin",
        now,
        link_base=LINK_BASE,
        scope=scope,
        source=SeededSource(seed),
    )


def claire() -> Account:
    return Account("acc-claire", "claire.martin@example.fr")


def child(child_id: str, *family_ids: str) -> Child:
    return Child(child_id, "Léa", "Martin", dt.date(2018, 5, 4), family_ids)


# -- issuing ----------------------------------------------------------------------------------


def test_the_token_carries_256_random_bits_from_the_source() -> None:
    source = SeededSource(7)
    issued = issue_activation(
        AGENT, SAINT_AUBIN, "martin", "claire-martin", ISSUED, link_base=LINK_BASE, source=source
    )
    raw = base64.urlsafe_b64decode(issued.token + "=" * (-len(issued.token) % 4))
    assert len(raw) * 8 >= 128
    assert len(raw) == TOKEN_BYTES == 32
    assert len(issued.token) == 43  # as secrets.token_urlsafe(32)
    assert source.requested[0] == 32


def test_tokens_from_the_secrets_module_differ_each_time() -> None:
    first = issue_activation(AGENT, SAINT_AUBIN, "martin", "claire-martin", ISSUED, link_base=LINK_BASE)
    second = issue_activation(AGENT, SAINT_AUBIN, "martin", "claire-martin", ISSUED, link_base=LINK_BASE)
    assert first.token != second.token
    assert first.activation.id != second.activation.id


def test_only_the_hash_of_the_token_is_stored() -> None:
    issued = issue()
    activation = issued.activation
    assert activation.token_sha256 == hashlib.sha256(issued.token.encode()).hexdigest()
    assert activation.token_sha256 == token_hash(issued.token)
    stored = [str(value) for value in attrs.asdict(activation, recurse=True).values()]
    assert all(issued.token not in value for value in stored)
    assert issued.token not in repr(activation)
    # The issued bundle does hold the token once, but does not print it into a log.
    assert issued.token not in repr(issued)
    assert issued.link not in repr(issued)


def test_the_e_mailed_link_carries_the_token_as_a_query_parameter() -> None:
    issued = issue()
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(issued.link).query)
    assert issued.link.startswith(LINK_BASE + "?")
    assert query == {"jeton": [issued.token]}


def test_a_link_base_with_its_own_query_keeps_it() -> None:
    link = activation_link("https://portail.example.fr/activer?commune=saint-aubin", "abc")
    assert urllib.parse.parse_qs(urllib.parse.urlsplit(link).query) == {
        "commune": ["saint-aubin"],
        "jeton": ["abc"],
    }


def test_a_link_base_that_is_not_a_web_address_is_refused() -> None:
    with pytest.raises(InvalidInput) as error:
        activation_link("javascript:alert(1)", "abc")
    assert error.value.code == "account.bad_link_base"


def test_the_activation_expires_fourteen_days_later_by_default() -> None:
    activation = issue().activation
    assert activation.issued_at == ISSUED
    assert activation.expires_at == dt.datetime(2026, 11, 17, 9, 30, tzinfo=PARIS)
    assert activation.issued_by == "agent-dupont"
    assert not activation.is_used


def test_an_activation_issued_before_the_autumn_clock_change_expires_at_the_same_wall_clock_time() -> None:
    # Sunday 25 October 2026 the clocks go back: the link still dies at 9:30 on the town hall's clock.
    issued = issue(now=dt.datetime(2026, 10, 20, 9, 30, tzinfo=PARIS))
    assert issued.activation.expires_at.isoformat() == "2026-11-03T09:30:00+01:00"


def test_a_custom_delay_sets_the_expiry() -> None:
    issued = issue_activation(
        AGENT,
        SAINT_AUBIN,
        "martin",
        "claire-martin",
        ISSUED,
        link_base=LINK_BASE,
        delay=dt.timedelta(days=2),
        source=SeededSource(1),
    )
    assert issued.activation.expires_at == dt.datetime(2026, 11, 5, 9, 30, tzinfo=PARIS)


@pytest.mark.parametrize("delay", [dt.timedelta(0), dt.timedelta(days=-1)])
def test_a_delay_that_is_not_positive_is_refused(delay: dt.timedelta) -> None:
    with pytest.raises(InvalidInput) as error:
        issue_activation(
            AGENT, SAINT_AUBIN, "martin", "claire-martin", ISSUED, link_base=LINK_BASE, delay=delay
        )
    assert error.value.code == "account.bad_delay"


def test_only_an_agent_of_the_commune_activates_its_families() -> None:
    with pytest.raises(PermissionDenied) as error:
        issue(agent=Agent("agent-x", VILLEBOIS, AgentRole.ADMINISTRATEUR))
    assert error.value.code == "permission.other_commune"
    with pytest.raises(PermissionDenied) as denied:
        issue_activation(
            FamilyMember.from_account(claire()),
            SAINT_AUBIN,
            "martin",
            "claire-martin",
            ISSUED,
            link_base=LINK_BASE,
        )
    assert denied.value.code == "permission.not_an_agent"


def test_issuing_needs_an_aware_instant() -> None:
    with pytest.raises(InvalidInput) as error:
        issue(now=dt.datetime(2026, 11, 3, 9, 30))
    assert error.value.code == "input.naive_datetime"


# -- activating -------------------------------------------------------------------------------


def test_the_right_token_links_the_account_to_the_family_record() -> None:
    issued = issue()
    now = ISSUED + dt.timedelta(hours=20)
    result = activate(claire(), issued.activation, issued.token, now)
    assert result.link == AccountLink(SAINT_AUBIN, "martin", "claire-martin", issued.activation.id, now)
    assert result.account.links == (result.link,)
    assert result.account.link_to(SAINT_AUBIN, "martin") == result.link
    assert result.activation.used_at == now
    assert result.activation.used_by == "acc-claire"
    assert result.activation.is_used


def test_a_reused_token_is_refused() -> None:
    issued = issue()
    first = activate(claire(), issued.activation, issued.token, ISSUED + dt.timedelta(days=1))
    for account in (first.account, Account("acc-someone", "someone@example.fr")):
        with pytest.raises(ActivationRefused) as error:
            activate(account, first.activation, issued.token, ISSUED + dt.timedelta(days=2))
        assert error.value.code == "activation.already_used"
        assert "déjà été utilisé" in error.value.message_fr


def test_a_token_is_valid_until_one_second_before_its_expiry() -> None:
    issued = issue()
    expiry = issued.activation.expires_at
    result = activate(claire(), issued.activation, issued.token, expiry - dt.timedelta(seconds=1))
    assert result.activation.is_used


def test_a_token_presented_exactly_at_its_expiry_is_refused() -> None:
    issued = issue()
    with pytest.raises(ActivationRefused) as error:
        activate(claire(), issued.activation, issued.token, issued.activation.expires_at)
    assert error.value.code == "activation.expired"
    assert "expiré" in error.value.message_fr


def test_expiry_compares_instants_not_wall_clocks() -> None:
    issued = issue()
    # 12:30 in Réunion is 9:30 in Paris on 17 November: the very instant of expiry.
    at_expiry_in_reunion = dt.datetime(2026, 11, 17, 12, 30, tzinfo=REUNION)
    with pytest.raises(ActivationRefused) as error:
        activate(claire(), issued.activation, issued.token, at_expiry_in_reunion)
    assert error.value.code == "activation.expired"


@pytest.mark.parametrize(
    "presented",
    ["", "not-the-token", "A" * 43, "x" * 10_000],
    ids=["empty", "other", "same-length", "huge"],
)
def test_a_wrong_token_is_refused_as_unknown(presented: str) -> None:
    issued = issue()
    with pytest.raises(ActivationRefused) as error:
        activate(claire(), issued.activation, presented, ISSUED + dt.timedelta(hours=1))
    assert error.value.code == "activation.unknown_token"


def test_a_token_the_store_did_not_find_is_unknown() -> None:
    issued = issue()
    with pytest.raises(ActivationRefused) as error:
        activate(claire(), None, issued.token, ISSUED + dt.timedelta(hours=1))
    assert error.value.code == "activation.unknown_token"
    assert isinstance(error.value, PermissionDenied)
    assert isinstance(error.value, EspaceFamilleError)


def test_a_wrong_token_learns_nothing_about_a_used_or_expired_activation() -> None:
    issued = issue()
    used = activate(claire(), issued.activation, issued.token, ISSUED + dt.timedelta(days=1)).activation
    for activation, now in (
        (used, ISSUED + dt.timedelta(days=2)),
        (issued.activation, ISSUED + dt.timedelta(days=30)),
    ):
        with pytest.raises(ActivationRefused) as error:
            activate(claire(), activation, "guess", now)
        assert error.value.code == "activation.unknown_token"


def test_a_token_for_another_family_does_not_open_this_one() -> None:
    martin = issue("martin", seed=1)
    bernard = issue("bernard", seed=2)
    with pytest.raises(ActivationRefused) as error:
        activate(claire(), bernard.activation, martin.token, ISSUED + dt.timedelta(hours=1))
    assert error.value.code == "activation.unknown_token"


def test_a_second_activation_for_a_family_already_linked_is_refused_and_stays_unused() -> None:
    first = issue(seed=1)
    account = activate(claire(), first.activation, first.token, ISSUED + dt.timedelta(hours=1)).account
    second = issue(seed=2)
    with pytest.raises(ActivationRefused) as error:
        activate(account, second.activation, second.token, ISSUED + dt.timedelta(hours=2))
    assert error.value.code == "activation.already_linked"
    assert not second.activation.is_used


def test_one_account_reaches_families_in_two_communes_and_an_invoice_only_service() -> None:
    saint_aubin = issue("martin", SAINT_AUBIN, seed=1)
    villebois_agent = Agent("agent-leroy", VILLEBOIS, AgentRole.REGISSEUR)
    villebois = issue(
        "martin-claire", VILLEBOIS, agent=villebois_agent, seed=2, scope=LinkScope.INVOICES_ONLY
    )
    account = activate(
        claire(), saint_aubin.activation, saint_aubin.token, ISSUED + dt.timedelta(hours=1)
    ).account
    account = activate(account, villebois.activation, villebois.token, ISSUED + dt.timedelta(hours=2)).account
    assert account.collectivite_ids == {SAINT_AUBIN, VILLEBOIS}
    assert [link.scope for link in account.links] == [LinkScope.FAMILY, LinkScope.INVOICES_ONLY]
    member = FamilyMember.from_account(account)
    require_family_access(member, SAINT_AUBIN, "martin")
    require_family_access(member, VILLEBOIS, "martin-claire", invoices=True)
    with pytest.raises(PermissionDenied) as error:
        require_family_access(member, VILLEBOIS, "martin-claire")
    assert error.value.code == "permission.invoices_only"


def test_activation_needs_an_aware_instant() -> None:
    issued = issue()
    with pytest.raises(InvalidInput) as error:
        activate(claire(), issued.activation, issued.token, dt.datetime(2026, 11, 4, 9, 0))
    assert error.value.code == "input.naive_datetime"


# -- the values themselves --------------------------------------------------------------------


def test_an_activation_that_expires_before_it_is_issued_cannot_exist() -> None:
    with pytest.raises(InvalidInput) as error:
        Activation("act-1", SAINT_AUBIN, "martin", "claire-martin", "0" * 64, ISSUED, ISSUED, "agent-dupont")
    assert error.value.code == "input.end_before_start"


def test_an_activation_used_by_nobody_cannot_have_a_use_date() -> None:
    with pytest.raises(InvalidInput) as error:
        Activation(
            "act-1",
            SAINT_AUBIN,
            "martin",
            "claire-martin",
            "0" * 64,
            ISSUED,
            ISSUED + dt.timedelta(days=1),
            "agent-dupont",
            used_at=ISSUED,
        )
    assert error.value.code == "account.activation_state"


def test_an_activation_stores_a_digest_not_a_clear_token() -> None:
    with pytest.raises(InvalidInput) as error:
        Activation("act-1", SAINT_AUBIN, "martin", "g", "clear-token", ISSUED, ISSUED + dt.timedelta(1), "a")
    assert error.value.code == "account.bad_token_hash"


@pytest.mark.parametrize("email", ["claire", "claire@", "@example.fr", "claire martin@example.fr"])
def test_an_account_needs_an_e_mail_address(email: str) -> None:
    with pytest.raises(InvalidInput) as error:
        Account("acc-claire", email)
    assert error.value.code == "account.bad_email"


def test_an_account_cannot_link_one_family_record_twice() -> None:
    link = AccountLink(SAINT_AUBIN, "martin", "claire-martin", "act-1", ISSUED)
    with pytest.raises(InvalidInput) as error:
        Account("acc-claire", "claire.martin@example.fr", [link, attrs.evolve(link, activation_id="act-2")])
    assert error.value.code == "account.duplicate_link"


def test_a_link_needs_an_aware_instant() -> None:
    with pytest.raises(InvalidInput) as error:
        AccountLink(SAINT_AUBIN, "martin", "claire-martin", "act-1", dt.datetime(2026, 11, 3, 9, 30))
    assert error.value.code == "input.naive_datetime"


def test_identifiers_are_checked() -> None:
    with pytest.raises(InvalidInput) as error:
        Agent("agent dupont", SAINT_AUBIN, AgentRole.ANIMATEUR)
    assert error.value.code == "model.bad_identifier"


# -- who may act ------------------------------------------------------------------------------


def martin_parent() -> FamilyMember:
    return FamilyMember("acc-claire", [AccountLink(SAINT_AUBIN, "martin", "claire-martin", "act-1", ISSUED)])


def test_a_parent_acts_for_their_own_family() -> None:
    require_family_access(martin_parent(), SAINT_AUBIN, "martin")
    assert require_child_access(martin_parent(), child("lea", "martin"), SAINT_AUBIN) == ("martin",)


def test_a_parent_cannot_act_for_another_familys_child() -> None:
    with pytest.raises(PermissionDenied) as error:
        require_child_access(martin_parent(), child("tom", "bernard"), SAINT_AUBIN)
    assert error.value.code == "permission.other_family"
    assert error.value.message_fr == "Léa ne fait pas partie de votre dossier famille."
    with pytest.raises(PermissionDenied) as family:
        require_family_access(martin_parent(), SAINT_AUBIN, "bernard")
    assert family.value.code == "permission.other_family"
    assert family.value.message_fr == "Ce dossier famille n'est pas le vôtre."


def test_a_parent_cannot_act_in_a_commune_they_have_not_joined() -> None:
    with pytest.raises(PermissionDenied) as error:
        require_family_access(martin_parent(), VILLEBOIS, "martin")
    assert error.value.code == "permission.other_commune"
    assert error.value.message_fr == "Vous n'avez pas accès aux services de cette collectivité."
    with pytest.raises(PermissionDenied) as child_error:
        require_child_access(martin_parent(), child("lea", "martin"), VILLEBOIS)
    assert child_error.value.code == "permission.other_commune"


def test_a_separated_parent_reaches_the_child_through_their_own_household_only() -> None:
    # Léa lives in two households; her father's account is linked to his own only.
    father = FamilyMember("acc-paul", [AccountLink(SAINT_AUBIN, "durand", "paul-durand", "act-9", ISSUED)])
    assert require_child_access(father, child("lea", "martin", "durand"), SAINT_AUBIN) == ("durand",)
    agent = Agent("agent-dupont", SAINT_AUBIN, AgentRole.ANIMATEUR)
    assert require_child_access(agent, child("lea", "martin", "durand"), SAINT_AUBIN) == ("martin", "durand")


def test_an_invoice_only_link_does_not_open_bookings_for_a_child() -> None:
    member = FamilyMember(
        "acc-claire",
        [AccountLink(VILLEBOIS, "martin", "claire-martin", "act-1", ISSUED, LinkScope.INVOICES_ONLY)],
    )
    with pytest.raises(PermissionDenied) as error:
        require_child_access(member, child("lea", "martin"), VILLEBOIS)
    assert error.value.code == "permission.invoices_only"


def test_an_agent_acts_on_every_family_of_their_commune_only() -> None:
    require_family_access(AGENT, SAINT_AUBIN, "bernard")
    with pytest.raises(PermissionDenied) as error:
        require_family_access(AGENT, VILLEBOIS, "bernard")
    assert error.value.code == "permission.other_commune"
    with pytest.raises(PermissionDenied) as child_error:
        require_child_access(AGENT, child("tom", "bernard"), VILLEBOIS)
    assert child_error.value.code == "permission.other_commune"


def test_back_office_actions_need_an_agent_of_the_commune() -> None:
    assert require_agent(AGENT, SAINT_AUBIN) is AGENT
    with pytest.raises(PermissionDenied) as error:
        require_agent(martin_parent(), SAINT_AUBIN)
    assert error.value.code == "permission.not_an_agent"
    assert error.value.message_fr == "Cette action est réservée aux agents de la collectivité."
    with pytest.raises(PermissionDenied) as other:
        require_agent(AGENT, VILLEBOIS)
    assert other.value.code == "permission.other_commune"


def test_an_agent_needs_the_role_the_action_asks_for() -> None:
    animateur = Agent("agent-roux", SAINT_AUBIN, AgentRole.ANIMATEUR)
    with pytest.raises(PermissionDenied) as error:
        require_agent(animateur, SAINT_AUBIN, [AgentRole.REGISSEUR])
    assert error.value.code == "permission.role"
    regisseur = Agent("agent-lenoir", SAINT_AUBIN, AgentRole.REGISSEUR)
    assert require_agent(regisseur, SAINT_AUBIN, [AgentRole.REGISSEUR]) is regisseur
    administrateur = Agent("agent-chef", SAINT_AUBIN, AgentRole.ADMINISTRATEUR)
    assert require_agent(administrateur, SAINT_AUBIN, [AgentRole.REGISSEUR]) is administrateur


def test_something_that_is_not_an_actor_is_refused() -> None:
    for check in (
        lambda: require_family_access("acc-claire", SAINT_AUBIN, "martin"),  # type: ignore[arg-type]
        lambda: require_child_access("acc-claire", child("lea", "martin"), SAINT_AUBIN),  # type: ignore[arg-type]
    ):
        with pytest.raises(InvalidInput) as error:
            check()
        assert error.value.code == "permission.not_an_actor"
