"""The mandates repository on SQLite: SEPA mandates, the debit files built and the invoices they collect."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from espacefamille.adapters import _sql
from espacefamille.adapters._sql import _DEBITS, _FAMILY, _not_found
from espacefamille.adapters.sqlite.codecs import _ENCODING, _day, _instant, _read_instant
from espacefamille.adapters.sqlite.schema import _scalar
from espacefamille.billing.direct_debit import DebitBatch, DebitCollection
from espacefamille.billing.mandates import FamilyMandate
from espacefamille.errors import InvalidInput
from espacefamille.ports.store import batch_exists

if TYPE_CHECKING:
    from espacefamille.adapters.sqlite.store import SqliteUnitOfWork


class _SqliteMandates:
    """Mandates of a ``SqliteUnitOfWork`` (see ``espacefamille.ports.Mandates``)."""

    def __init__(self, uow: SqliteUnitOfWork) -> None:
        self._uow = uow

    def get(self, rum: str) -> FamilyMandate:
        self._uow._sync()
        row = self._uow._db.execute(
            f"SELECT {_sql._MANDATE_COLUMNS} FROM mandates WHERE rum = ?", (rum,)
        ).fetchone()
        if row is None:
            raise _not_found("mandate", rum, "mandat")
        self._uow._seen(_FAMILY, row[2])
        return _sql._mandate(row, _ENCODING)

    def of_family(self, family_id: str) -> tuple[FamilyMandate, ...]:
        self._uow._sync()
        self._uow._seen(_FAMILY, family_id)
        rows = self._uow._db.execute(
            f"SELECT {_sql._MANDATE_COLUMNS} FROM mandates WHERE family_id = ? ORDER BY rum", (family_id,)
        ).fetchall()
        return tuple(_sql._mandate(row, _ENCODING) for row in rows)

    def of_regie(self, regie_id: str) -> tuple[FamilyMandate, ...]:
        self._uow._sync()
        rows = self._uow._db.execute(
            f"SELECT {_sql._MANDATE_COLUMNS} FROM mandates WHERE regie_id = ? ORDER BY family_id, rum",
            (regie_id,),
        ).fetchall()
        return tuple(_sql._mandate(row, _ENCODING) for row in rows)

    def save(self, mandate: FamilyMandate) -> None:
        if not isinstance(mandate, FamilyMandate):
            raise InvalidInput(f"expected a FamilyMandate, got {mandate!r}", code="input.invalid")
        row = _sql._mandate_row(mandate, _ENCODING)

        def apply() -> None:
            self._uow._mark_owners("mandates", "rum", mandate.rum, mandate.family_id)
            self._uow._db.execute(
                f"INSERT OR REPLACE INTO mandates ({_sql._MANDATE_COLUMNS}) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                row,
            )

        self._uow._write(apply)

    def _batches(self, where: str, parameters: Sequence[object]) -> tuple[DebitBatch, ...]:
        rows = self._uow._db.execute(
            f"SELECT id, regie_id, debit_date, built_at, document FROM debit_batches WHERE {where} "
            "ORDER BY debit_date, id",
            parameters,
        ).fetchall()
        batches = []
        for batch_id, regie_id, debit_date, built_at, document in rows:
            collections = self._uow._db.execute(
                f"SELECT {_sql._COLLECTION_COLUMNS} FROM debit_collections WHERE batch_id = ? "
                "ORDER BY invoice_number",
                (batch_id,),
            ).fetchall()
            batches.append(
                _sql._new_batch(
                    batch_id,
                    regie_id,
                    _day(debit_date),
                    _read_instant(built_at),
                    document,
                    tuple(_sql._collection(row, _ENCODING) for row in collections),
                )
            )
        return tuple(batches)

    def batch(self, batch_id: str) -> DebitBatch:
        self._uow._sync()
        found = self._batches("id = ?", (batch_id,))
        if not found:
            raise _not_found("debit batch", batch_id, "fichier de prélèvements")
        return found[0]

    def batches_of(self, regie_id: str) -> tuple[DebitBatch, ...]:
        self._uow._sync()
        self._uow._seen(_DEBITS, regie_id)
        return self._batches("regie_id = ?", (regie_id,))

    def collections_of(self, family_id: str) -> tuple[DebitCollection, ...]:
        self._uow._sync()
        self._uow._seen(_FAMILY, family_id)
        rows = self._uow._db.execute(
            f"SELECT {_sql._COLLECTION_COLUMNS} FROM debit_collections WHERE family_id = ? "
            "ORDER BY batch_id, invoice_number",
            (family_id,),
        ).fetchall()
        return tuple(_sql._collection(row, _ENCODING) for row in rows)

    def save_batch(self, batch: DebitBatch) -> None:
        if not isinstance(batch, DebitBatch):
            raise InvalidInput(f"expected a DebitBatch, got {batch!r}", code="input.invalid")
        self._uow._sync()
        if _scalar(self._uow._db, "SELECT 1 FROM debit_batches WHERE id = ?", (batch.id,)) is not None:
            raise batch_exists(batch.id)

        def apply() -> None:
            self._uow._mark(_DEBITS, batch.regie_id)
            for collection in batch.collections:
                self._uow._mark(_FAMILY, collection.family_id)
            # The document comes last: each collection's foreign key reads its batch's row, and a row
            # holding a city's file (megabytes) made that check cost as much as the file, per collection.
            self._uow._db.execute(
                "INSERT INTO debit_batches (id, regie_id, debit_date, built_at, document) "
                "VALUES (?, ?, ?, ?, '')",
                (batch.id, batch.regie_id, batch.debit_date.isoformat(), _instant(batch.built_at)),
            )
            self._uow._db.executemany(
                f"INSERT INTO debit_collections ({_sql._COLLECTION_COLUMNS}) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [_sql._collection_row(collection, _ENCODING) for collection in batch.collections],
            )
            self._uow._db.execute(
                "UPDATE debit_batches SET document = ? WHERE id = ?", (batch.document, batch.id)
            )

        self._uow._write(apply)

    def save_collection(self, collection: DebitCollection) -> None:
        self._uow._sync()
        found = _scalar(
            self._uow._db,
            "SELECT family_id FROM debit_collections WHERE batch_id = ? AND invoice_number = ?",
            (collection.batch_id, collection.invoice_number),
        )
        if found is None:
            raise _not_found(
                "debit collection", f"{collection.batch_id}/{collection.invoice_number}", "prélèvement"
            )

        def apply() -> None:
            self._uow._mark(_FAMILY, collection.family_id)
            self._uow._mark(_FAMILY, found)
            self._uow._db.execute(
                f"INSERT OR REPLACE INTO debit_collections ({_sql._COLLECTION_COLUMNS}) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                _sql._collection_row(collection, _ENCODING),
            )

        self._uow._write(apply)
