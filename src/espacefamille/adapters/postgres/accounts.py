"""``PostgresAccountStore``: accounts and activations, in tables of their own (they span collectivités)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Final

import psycopg
from psycopg.rows import TupleRow

from espacefamille.adapters._sql import _activation_used, _no_activation, _not_found
from espacefamille.adapters.postgres.codecs import (
    _instant,
    _optional_instant,
    _read_instant,
    _read_optional_instant,
)
from espacefamille.adapters.postgres.schema import (
    _ACCOUNTS_MIGRATIONS,
    Pool,
    _migrate_on,
    _open_pool,
    _store_error,
)
from espacefamille.families.accounts import Account, AccountLink, Activation, LinkScope

_ACTIVATION_COLUMNS: Final = (
    "id, collectivite_id, family_id, guardian_id, token_sha256, issued_at, issued_zone, expires_at, "
    "expires_zone, issued_by, scope, used_at, used_zone, used_by"
)


class PostgresAccountStore:
    """Accounts and activations in a PostgreSQL database, apart from any commune; one transaction per call.

    ``database`` is a connection URL (the store opens, and ``close()`` closes, its own pool) or a
    ``psycopg_pool.ConnectionPool`` the host owns — the communes' stores may share it.
    """

    def __init__(self, database: str | Pool, *, pool_size: int = 4) -> None:
        if isinstance(database, str):
            self._pool = _open_pool(database, pool_size, _ACCOUNTS_MIGRATIONS, "accounts")
            self._owns_pool = True
        else:
            _migrate_on(database, _ACCOUNTS_MIGRATIONS, "accounts")
            self._pool = database
            self._owns_pool = False

    def __repr__(self) -> str:
        return f"PostgresAccountStore(<pool {self._pool.name}>)"

    def close(self) -> None:
        """Close the pool the store opened (a pool the host gave stays open)."""
        if self._owns_pool:
            self._pool.close()

    def __enter__(self) -> PostgresAccountStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @contextmanager
    def _transaction(self) -> Iterator[psycopg.Connection[TupleRow]]:
        try:
            with self._pool.connection() as connection:
                if connection.autocommit:
                    connection.autocommit = False
                # The pool commits on a normal exit and rolls back on an exception.
                yield connection
        except psycopg.Error as error:
            raise _store_error(error) from None

    def account(self, account_id: str) -> Account:
        with self._transaction() as db:
            row = db.execute("SELECT id, email FROM accounts WHERE id = %s", (account_id,)).fetchone()
            if row is None:
                raise _not_found("account", account_id, "compte")
            links = [
                AccountLink(
                    collectivite,
                    family,
                    guardian,
                    activation,
                    _read_instant(linked_at, zone),
                    LinkScope(scope),
                )
                for collectivite, family, guardian, activation, linked_at, zone, scope in db.execute(
                    "SELECT collectivite_id, family_id, guardian_id, activation_id, linked_at, linked_zone, "
                    "scope FROM account_links WHERE account_id = %s ORDER BY position",
                    (account_id,),
                )
            ]
        return Account(row[0], row[1], links)

    def save_account(self, account: Account) -> None:
        with self._transaction() as db:
            db.execute("DELETE FROM accounts WHERE id = %s", (account.id,))
            db.execute("INSERT INTO accounts (id, email) VALUES (%s, %s)", (account.id, account.email))
            rows = [
                (
                    account.id,
                    position,
                    link.collectivite_id,
                    link.family_id,
                    link.guardian_id,
                    link.activation_id,
                    *_instant(link.linked_at),
                    link.scope.value,
                )
                for position, link in enumerate(account.links)
            ]
            if rows:
                with db.cursor() as cursor:
                    cursor.executemany(
                        "INSERT INTO account_links (account_id, position, collectivite_id, family_id, "
                        "guardian_id, activation_id, linked_at, linked_zone, scope) "
                        "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
                        rows,
                    )

    @staticmethod
    def _activation(
        db: psycopg.Connection[TupleRow], where: str, key: str, lock: bool = False
    ) -> Activation | None:
        row = db.execute(
            f"SELECT {_ACTIVATION_COLUMNS} FROM activations WHERE {where} = %s"
            + (" FOR UPDATE" if lock else ""),
            (key,),
        ).fetchone()
        if row is None:
            return None
        (
            id_,
            collectivite,
            family,
            guardian,
            digest,
            issued,
            issued_zone,
            expires,
            expires_zone,
            issued_by,
            scope,
            used_at,
            used_zone,
            used_by,
        ) = row
        return Activation(
            id_,
            collectivite,
            family,
            guardian,
            digest,
            _read_instant(issued, issued_zone),
            _read_instant(expires, expires_zone),
            issued_by,
            LinkScope(scope),
            _read_optional_instant(used_at, used_zone),
            used_by,
        )

    def activation(self, token_hash: str) -> Activation:
        with self._transaction() as db:
            found = self._activation(db, "token_sha256", token_hash)
        if found is None:
            raise _no_activation()
        return found

    def save_activation(self, activation: Activation) -> None:
        with self._transaction() as db:
            # Locked until the end of the transaction: of two uses of one token at once, the second
            # waits here for the first, then sees it used.
            stored = self._activation(db, "id", activation.id, lock=True)
            if stored is not None and stored.is_used and stored != activation:
                raise _activation_used(activation.id)
            db.execute("DELETE FROM activations WHERE id = %s", (activation.id,))
            db.execute(
                f"INSERT INTO activations ({_ACTIVATION_COLUMNS}) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                (
                    activation.id,
                    activation.collectivite_id,
                    activation.family_id,
                    activation.guardian_id,
                    activation.token_sha256,
                    *_instant(activation.issued_at),
                    *_instant(activation.expires_at),
                    activation.issued_by,
                    activation.scope.value,
                    *_optional_instant(activation.used_at),
                    activation.used_by,
                ),
            )
