"""``SqliteAccountStore``: accounts and activations, in a file of their own (they span collectivités)."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Final

from espacefamille.adapters._sql import _activation_used, _no_activation, _not_found
from espacefamille.adapters.sqlite.codecs import (
    _instant,
    _optional_instant,
    _read_instant,
    _read_optional_instant,
)
from espacefamille.adapters.sqlite.schema import (
    _ACCOUNTS_APPLICATION_ID,
    _ACCOUNTS_MIGRATIONS,
    _BUSY_TIMEOUT_SECONDS,
    _connect,
    _open_database,
    _store_error,
)
from espacefamille.families.accounts import Account, AccountLink, Activation, LinkScope


class SqliteAccountStore:
    """Accounts and activations in one SQLite file, apart from any commune; one transaction per call.

    Faults are ``StoreUnavailable`` as in ``SqliteStore`` (``busy_timeout`` is the same).
    """

    def __init__(self, path: str | os.PathLike[str], *, busy_timeout: float = _BUSY_TIMEOUT_SECONDS) -> None:
        self.path = Path(path)
        self.busy_timeout = busy_timeout
        _open_database(self.path, _ACCOUNTS_APPLICATION_ID, _ACCOUNTS_MIGRATIONS, "accounts", busy_timeout)

    def __repr__(self) -> str:
        return f"SqliteAccountStore({str(self.path)!r})"

    @contextmanager
    def _transaction(self, write: bool) -> Iterator[sqlite3.Connection]:
        try:
            connection = _connect(self.path, self.busy_timeout)
        except sqlite3.OperationalError as error:
            raise _store_error(error, self.path, self.busy_timeout) from error
        try:
            connection.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            try:
                yield connection
                connection.execute("COMMIT")
            except BaseException:
                if connection.in_transaction:
                    connection.execute("ROLLBACK")
                raise
        except sqlite3.OperationalError as error:
            raise _store_error(error, self.path, self.busy_timeout) from error
        finally:
            connection.close()

    def account(self, account_id: str) -> Account:
        with self._transaction(write=False) as db:
            row = db.execute("SELECT id, email FROM accounts WHERE id = ?", (account_id,)).fetchone()
            if row is None:
                raise _not_found("account", account_id, "compte")
            links = [
                AccountLink(
                    collectivite, family, guardian, activation, _read_instant(linked_at), LinkScope(scope)
                )
                for collectivite, family, guardian, activation, linked_at, scope in db.execute(
                    "SELECT collectivite_id, family_id, guardian_id, activation_id, linked_at, scope "
                    "FROM account_links WHERE account_id = ? ORDER BY position",
                    (account_id,),
                )
            ]
        return Account(row[0], row[1], links)

    def save_account(self, account: Account) -> None:
        with self._transaction(write=True) as db:
            db.execute("DELETE FROM accounts WHERE id = ?", (account.id,))
            db.execute("INSERT INTO accounts (id, email) VALUES (?, ?)", (account.id, account.email))
            db.executemany(
                "INSERT INTO account_links (account_id, position, collectivite_id, family_id, guardian_id, "
                "activation_id, linked_at, scope) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        account.id,
                        position,
                        link.collectivite_id,
                        link.family_id,
                        link.guardian_id,
                        link.activation_id,
                        _instant(link.linked_at),
                        link.scope.value,
                    )
                    for position, link in enumerate(account.links)
                ],
            )

    _ACTIVATION_COLUMNS: Final = (
        "id, collectivite_id, family_id, guardian_id, token_sha256, issued_at, expires_at, issued_by, scope, "
        "used_at, used_by"
    )

    def _activation(self, db: sqlite3.Connection, where: str, key: str) -> Activation | None:
        row = db.execute(
            f"SELECT {self._ACTIVATION_COLUMNS} FROM activations WHERE {where} = ?", (key,)
        ).fetchone()
        if row is None:
            return None
        id_, collectivite, family, guardian, digest, issued, expires, issued_by, scope, used_at, used_by = row
        return Activation(
            id_,
            collectivite,
            family,
            guardian,
            digest,
            _read_instant(issued),
            _read_instant(expires),
            issued_by,
            LinkScope(scope),
            _read_optional_instant(used_at),
            used_by,
        )

    def activation(self, token_hash: str) -> Activation:
        with self._transaction(write=False) as db:
            found = self._activation(db, "token_sha256", token_hash)
        if found is None:
            raise _no_activation()
        return found

    def save_activation(self, activation: Activation) -> None:
        with self._transaction(write=True) as db:
            stored = self._activation(db, "id", activation.id)
            if stored is not None and stored.is_used and stored != activation:
                raise _activation_used(activation.id)
            db.execute("DELETE FROM activations WHERE id = ?", (activation.id,))
            db.execute(
                f"INSERT INTO activations ({self._ACTIVATION_COLUMNS}) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    activation.id,
                    activation.collectivite_id,
                    activation.family_id,
                    activation.guardian_id,
                    activation.token_sha256,
                    _instant(activation.issued_at),
                    _instant(activation.expires_at),
                    activation.issued_by,
                    activation.scope.value,
                    _optional_instant(activation.used_at),
                    activation.used_by,
                ),
            )
