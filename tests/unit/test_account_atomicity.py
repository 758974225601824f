"""Activations and account links survive a failed write: a family is never locked out, and no e-mail ever
carries a link to an activation that was not saved.

Claire Martin's account is linked to household F1 of Saint-Aubin-des-Prés with the token the mairie e-mailed
her; the account store (in memory, or SQLite) fails at one of its writes, or the commune store at one of its
writes or at its commit.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import pytest

from espacefamille.adapters.fake_gateway import FakeGateway
from espacefamille.adapters.memory import MemoryAccountStore
from espacefamille.adapters.sqlite import SqliteAccountStore
from espacefamille.families.accounts import Account, ActivationRefused, token_hash
from espacefamille.ports import AccountStore
from espacefamille.services import BackOffice, FamilyPortal
from espacefamille.testing.faults import FailingAccountStore, FailingStore, InjectedFault
from tests.unit.test_services import AGENT, World, make_world

LINK_BASE = "https://famille.saint-aubin.example.fr/activer"
AccountsFactory = Callable[[Path], AccountStore]
ACCOUNT_STORES: dict[str, AccountsFactory] = {
    "memory": lambda _: MemoryAccountStore(),
    "sqlite": lambda folder: SqliteAccountStore(folder / "accounts.sqlite"),
}


def _counter() -> Callable[[int], bytes]:
    counter = iter(range(1, 10_000))
    return lambda n: next(counter).to_bytes(n, "big")


def _portal(world: World, accounts: AccountStore) -> FamilyPortal:
    return FamilyPortal(world.store, gateway=FakeGateway(), clock=world.clock, accounts=accounts)


def _office(world: World, accounts: AccountStore, store: object = None) -> BackOffice:
    return BackOffice(store or world.store, clock=world.clock, accounts=accounts, source=_counter())  # type: ignore[arg-type]


def _emails(world: World) -> list[str]:
    with world.store.unit_of_work() as uow:
        return [m.event.type_code for m in uow.outbox.all()]


@pytest.mark.parametrize("kind", sorted(ACCOUNT_STORES))
def test_linking_writes_the_activation_then_the_account(kind: str, tmp_path: Path) -> None:
    world = make_world()
    accounts = ACCOUNT_STORES[kind](tmp_path)
    accounts.save_account(Account("acc-claire", "claire@example.fr"))
    issued = _office(world, accounts).activate_family_account(AGENT, "F1", "G1", link_base=LINK_BASE)
    counting = FailingAccountStore(accounts, fail_at=0)
    _portal(world, counting).link_account("acc-claire", issued.token)
    assert counting.writes == 2


@pytest.mark.parametrize("kind", sorted(ACCOUNT_STORES))
@pytest.mark.parametrize("fail_at", [1, 2])
def test_a_link_that_failed_at_any_write_is_finished_by_trying_again(
    kind: str, fail_at: int, tmp_path: Path
) -> None:
    world = make_world()
    accounts = ACCOUNT_STORES[kind](tmp_path)
    accounts.save_account(Account("acc-claire", "claire@example.fr"))
    issued = _office(world, accounts).activate_family_account(AGENT, "F1", "G1", link_base=LINK_BASE)
    with pytest.raises(InjectedFault):
        _portal(world, FailingAccountStore(accounts, fail_at)).link_account("acc-claire", issued.token)
    assert accounts.account("acc-claire").links == ()  # not linked yet
    activated = _portal(world, accounts).link_account("acc-claire", issued.token)  # Claire clicks again
    assert [link.family_id for link in accounts.account("acc-claire").links] == ["F1"]
    assert activated.link == accounts.account("acc-claire").links[0]
    used = accounts.activation(token_hash(issued.token))
    assert (used.used_by, used.id) == ("acc-claire", activated.link.activation_id)
    with pytest.raises(ActivationRefused) as again:  # done: the token is spent
        _portal(world, accounts).link_account("acc-claire", issued.token)
    assert again.value.code == "activation.already_used"


@pytest.mark.parametrize("kind", sorted(ACCOUNT_STORES))
def test_a_token_half_used_by_one_account_is_not_another_s(kind: str, tmp_path: Path) -> None:
    world = make_world()
    accounts = ACCOUNT_STORES[kind](tmp_path)
    accounts.save_account(Account("acc-claire", "claire@example.fr"))
    accounts.save_account(Account("acc-other", "other@example.fr"))
    issued = _office(world, accounts).activate_family_account(AGENT, "F1", "G1", link_base=LINK_BASE)
    with pytest.raises(InjectedFault):
        _portal(world, FailingAccountStore(accounts, 2)).link_account("acc-claire", issued.token)
    with pytest.raises(ActivationRefused) as refused:
        _portal(world, accounts).link_account("acc-other", issued.token)
    assert refused.value.code == "activation.already_used"
    assert accounts.account("acc-other").links == ()


@pytest.mark.parametrize("kind", sorted(ACCOUNT_STORES))
def test_a_half_used_token_expires_like_any_other(kind: str, tmp_path: Path) -> None:
    world = make_world()
    accounts = ACCOUNT_STORES[kind](tmp_path)
    accounts.save_account(Account("acc-claire", "claire@example.fr"))
    issued = _office(world, accounts).activate_family_account(AGENT, "F1", "G1", link_base=LINK_BASE)
    with pytest.raises(InjectedFault):
        _portal(world, FailingAccountStore(accounts, 2)).link_account("acc-claire", issued.token)
    world.clock.instant = issued.activation.expires_at + dt.timedelta(seconds=1)
    with pytest.raises(ActivationRefused) as refused:
        _portal(world, accounts).link_account("acc-claire", issued.token)
    assert refused.value.code == "activation.already_used"


@pytest.mark.parametrize("kind", sorted(ACCOUNT_STORES))
def test_no_activation_e_mail_goes_out_when_its_activation_was_not_saved(kind: str, tmp_path: Path) -> None:
    world = make_world()
    accounts = ACCOUNT_STORES[kind](tmp_path)
    with pytest.raises(InjectedFault):
        _office(world, FailingAccountStore(accounts, 1)).activate_family_account(
            AGENT, "F1", "G1", link_base=LINK_BASE
        )
    assert "account.activated" not in _emails(world)
    issued = _office(world, accounts).activate_family_account(AGENT, "F1", "G1", link_base=LINK_BASE)
    assert _emails(world).count("account.activated") == 1
    assert accounts.activation(token_hash(issued.token)).id == issued.activation.id


@pytest.mark.parametrize("kind", sorted(ACCOUNT_STORES))
@pytest.mark.parametrize("fail_at", [1, 2])
def test_a_commune_store_failing_after_the_activation_leaves_no_e_mail_and_a_retry_works(
    kind: str, fail_at: int, tmp_path: Path
) -> None:
    # Write 1 is the outbox message, write 2 the commit: either way no e-mail, and an unused activation
    # nobody was told about (it expires).
    world = make_world()
    accounts = ACCOUNT_STORES[kind](tmp_path)
    failing = FailingStore(world.store, fail_at, commits=True)
    with pytest.raises(InjectedFault) as fault:
        _office(world, accounts, failing).activate_family_account(AGENT, "F1", "G1", link_base=LINK_BASE)
    assert fault.value.operation == ("outbox.add", "commit")[fail_at - 1]
    assert "account.activated" not in _emails(world)
    issued = _office(world, accounts).activate_family_account(AGENT, "F1", "G1", link_base=LINK_BASE)
    accounts.save_account(Account("acc-claire", "claire@example.fr"))
    _portal(world, accounts).link_account("acc-claire", issued.token)
    assert [link.family_id for link in accounts.account("acc-claire").links] == ["F1"]
