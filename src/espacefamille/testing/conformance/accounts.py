"""The accounts store."""

from __future__ import annotations

import datetime as dt

import attrs
import pytest
from hypothesis import given

from espacefamille.errors import ConcurrentChange, NotFound
from espacefamille.families.accounts import Account, Activation, token_hash
from espacefamille.testing import strategies as s
from espacefamille.testing.builders import (
    activation,
)
from espacefamille.testing.conformance._base import _ROUND_TRIPS, ConformanceBase


class AccountsConformance(ConformanceBase):
    """The accounts store."""

    @_ROUND_TRIPS
    @given(s.accounts())
    def test_account_reads_back_equal(self, value: Account) -> None:
        store = self.make_account_store()
        store.save_account(value)
        assert s.same_instants(store.account(value.id), value)

    def test_accounts_are_found_by_id_and_replaced(self) -> None:
        store = self.make_account_store()
        with pytest.raises(NotFound):
            store.account("acc-1")
        store.save_account(Account("acc-1", "camille@example.fr"))
        store.save_account(Account("acc-1", "camille.martin@example.fr"))
        assert store.account("acc-1") == Account("acc-1", "camille.martin@example.fr")

    @_ROUND_TRIPS
    @given(s.activations())
    def test_activation_reads_back_by_token_hash(self, value: Activation) -> None:
        store = self.make_account_store()
        store.save_activation(value)
        assert s.same_instants(store.activation(value.token_sha256), value)

    def test_activation_is_found_only_by_its_token_hash_and_used_once(self) -> None:
        store = self.make_account_store()
        issued = activation("act-1", "jeton-secret")
        store.save_activation(issued)
        store.save_activation(activation("act-2", "autre-jeton"))
        assert store.activation(token_hash("jeton-secret")) == issued
        with pytest.raises(NotFound):
            store.activation(token_hash("jeton-inconnu"))
        with pytest.raises(NotFound):
            store.activation("jeton-secret")  # the clear token is never a key
        used_at = issued.issued_at + dt.timedelta(hours=2)
        used = attrs.evolve(issued, used_at=used_at, used_by="acc-1")
        store.save_activation(used)
        store.save_activation(used)
        with pytest.raises(ConcurrentChange):
            store.save_activation(attrs.evolve(issued, used_at=used_at, used_by="acc-2"))
        assert store.activation(token_hash("jeton-secret")) == used
