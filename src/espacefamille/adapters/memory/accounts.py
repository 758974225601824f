"""``MemoryAccountStore``: accounts and activations in memory, apart from any commune's store."""

from __future__ import annotations

import threading

from espacefamille.adapters.memory.tables import _not_found
from espacefamille.errors import ConcurrentChange, InvalidInput, NotFound
from espacefamille.families.accounts import Account, Activation


class MemoryAccountStore:
    """Accounts and activations in memory (``AccountStore``), activations indexed by their token's hash."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._accounts: dict[str, Account] = {}
        self._activations: dict[str, Activation] = {}
        self._by_hash: dict[str, str] = {}

    def account(self, account_id: str) -> Account:
        with self._lock:
            found = self._accounts.get(account_id)
        if found is None:
            raise _not_found("account", account_id)
        return found

    def save_account(self, account: Account) -> None:
        with self._lock:
            self._accounts[account.id] = account

    def activation(self, token_hash: str) -> Activation:
        with self._lock:
            activation_id = self._by_hash.get(token_hash)
            found = None if activation_id is None else self._activations[activation_id]
        if found is None:
            # The hash is not repeated in the message: it is as good as the token for a lookup.
            raise NotFound(
                "no activation matches this token",
                message_fr="Ce lien d'activation n'est pas valable.",
                code="not_found.activation",
            )
        return found

    def save_activation(self, activation: Activation) -> None:
        with self._lock:
            before = self._activations.get(activation.id)
            if before is not None and before.is_used and before != activation:
                # Single use: whoever saved the use first wins, the other activation attempt fails.
                raise ConcurrentChange(
                    f"activation {activation.id!r} was already used",
                    message_fr="Ce lien d'activation a déjà servi.",
                    code="store.activation_used",
                )
            owner = self._by_hash.get(activation.token_sha256)
            if owner is not None and owner != activation.id:
                raise InvalidInput(
                    "another activation has the same token hash", code="store.duplicate_token_hash"
                )
            if before is not None:
                del self._by_hash[before.token_sha256]
            self._activations[activation.id] = activation
            self._by_hash[activation.token_sha256] = activation.id
