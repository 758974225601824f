"""The mandates repository on PostgreSQL: SEPA mandates, the debit files built, the invoices they collect."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from espacefamille.adapters import _sql
from espacefamille.adapters._sql import _DEBITS, _FAMILY, _not_found
from espacefamille.adapters.postgres.codecs import _ENCODING
from espacefamille.billing.direct_debit import DebitBatch, DebitCollection
from espacefamille.billing.mandates import FamilyMandate
from espacefamille.errors import InvalidInput
from espacefamille.ports.store import batch_exists

if TYPE_CHECKING:
    from espacefamille.adapters.postgres.store import PostgresUnitOfWork

# What the mandates of a household are read from (see PostgresUnitOfWork._sync).
_MANDATE_TABLES: Final = frozenset({"mandates"})


class _PostgresMandates:
    """Mandates of a ``PostgresUnitOfWork`` (see ``espacefamille.ports.Mandates``)."""

    def __init__(self, uow: PostgresUnitOfWork) -> None:
        self._uow = uow

    def get(self, rum: str) -> FamilyMandate:
        self._uow._sync()
        row = self._uow._one(
            f"SELECT {_sql._MANDATE_COLUMNS} FROM mandates WHERE collectivite_id = %s AND rum = %s",
            (self._uow._c, rum),
        )
        if row is None:
            raise _not_found("mandate", rum, "mandat")
        self._uow._seen(_FAMILY, row[2])
        return _sql._mandate(row, _ENCODING)

    def of_family(self, family_id: str) -> tuple[FamilyMandate, ...]:
        # Read for each household a month-end run bills: the batch's invoices and messages wait.
        uow = self._uow
        uow._sync(_MANDATE_TABLES)
        uow._seen(_FAMILY, family_id)
        known = uow._mandates_of.get(family_id)
        if known is not None:
            return known
        if family_id in uow._batch_families:
            # A household of the batch a month-end run is billing: the batch's mandates, read at once.
            found: dict[str, list[FamilyMandate]] = {family: [] for family in uow._batch_families}
            for row in uow._rows(
                f"SELECT {_sql._MANDATE_COLUMNS} FROM mandates "
                "WHERE collectivite_id = %s AND family_id = ANY(%s) ORDER BY family_id, rum",
                (uow._c, sorted(uow._batch_families)),
            ):
                found[row[2]].append(_sql._mandate(row, _ENCODING))
            uow._mandates_of.update((family, tuple(mandates)) for family, mandates in found.items())
            return uow._mandates_of[family_id]
        rows = uow._rows(
            f"SELECT {_sql._MANDATE_COLUMNS} FROM mandates WHERE collectivite_id = %s AND family_id = %s "
            "ORDER BY rum",
            (uow._c, family_id),
        )
        return tuple(_sql._mandate(row, _ENCODING) for row in rows)

    def of_regie(self, regie_id: str) -> tuple[FamilyMandate, ...]:
        self._uow._sync()
        rows = self._uow._rows(
            f"SELECT {_sql._MANDATE_COLUMNS} FROM mandates WHERE collectivite_id = %s AND regie_id = %s "
            "ORDER BY family_id, rum",
            (self._uow._c, regie_id),
        )
        return tuple(_sql._mandate(row, _ENCODING) for row in rows)

    def save(self, mandate: FamilyMandate) -> None:
        if not isinstance(mandate, FamilyMandate):
            raise InvalidInput(f"expected a FamilyMandate, got {mandate!r}", code="input.invalid")
        self._uow._mark(_FAMILY, mandate.family_id)
        row = (self._uow._c, *_sql._mandate_row(mandate, _ENCODING))

        def apply() -> None:
            self._uow._mark_owners("mandates", "rum", mandate.rum, mandate.family_id)
            self._uow._run(
                f"INSERT INTO mandates (collectivite_id, {_sql._MANDATE_COLUMNS}) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
                "ON CONFLICT (collectivite_id, rum) DO UPDATE SET regie_id = excluded.regie_id, "
                "family_id = excluded.family_id, debtor_name = excluded.debtor_name, iban = excluded.iban, "
                "bic = excluded.bic, signed_on = excluded.signed_on, sequence = excluded.sequence, "
                "pre_notification_days = excluded.pre_notification_days, "
                "registered_on = excluded.registered_on, last_collected_on = excluded.last_collected_on, "
                "revoked_on = excluded.revoked_on",
                row,
            )

        self._uow._write(apply)

    def _batches(self, where: str, key: str) -> tuple[DebitBatch, ...]:
        c = self._uow._c
        rows = self._uow._rows(
            "SELECT id, regie_id, debit_date, built_at, document FROM debit_batches "
            f"WHERE collectivite_id = %s AND {where} = %s ORDER BY debit_date, id",
            (c, key),
        )
        collections: dict[str, list[DebitCollection]] = {}
        for row in self._uow._rows(
            f"SELECT {_sql._COLLECTION_COLUMNS} FROM debit_collections WHERE collectivite_id = %s "
            "AND batch_id = ANY(%s) ORDER BY batch_id, invoice_number",
            (c, [row[0] for row in rows]),
        ):
            collections.setdefault(row[0], []).append(_sql._collection(row, _ENCODING))
        return tuple(
            _sql._new_batch(
                batch_id, regie_id, debit_date, built_at, document, tuple(collections.get(batch_id, ()))
            )
            for batch_id, regie_id, debit_date, built_at, document in rows
        )

    def batch(self, batch_id: str) -> DebitBatch:
        self._uow._sync()
        found = self._batches("id", batch_id)
        if not found:
            raise _not_found("debit batch", batch_id, "fichier de prélèvements")
        return found[0]

    def batches_of(self, regie_id: str) -> tuple[DebitBatch, ...]:
        self._uow._sync()
        self._uow._seen(_DEBITS, regie_id)
        return self._batches("regie_id", regie_id)

    def collections_of(self, family_id: str) -> tuple[DebitCollection, ...]:
        self._uow._sync()
        self._uow._seen(_FAMILY, family_id)
        rows = self._uow._rows(
            f"SELECT {_sql._COLLECTION_COLUMNS} FROM debit_collections WHERE collectivite_id = %s "
            "AND family_id = %s ORDER BY batch_id, invoice_number",
            (self._uow._c, family_id),
        )
        return tuple(_sql._collection(row, _ENCODING) for row in rows)

    def save_batch(self, batch: DebitBatch) -> None:
        if not isinstance(batch, DebitBatch):
            raise InvalidInput(f"expected a DebitBatch, got {batch!r}", code="input.invalid")
        c = self._uow._c
        self._uow._sync()
        if self._uow._scalar(
            "SELECT 1 FROM debit_batches WHERE collectivite_id = %s AND id = %s", (c, batch.id)
        ):
            raise batch_exists(batch.id)
        self._uow._mark(_DEBITS, batch.regie_id)
        for collection in batch.collections:
            self._uow._mark(_FAMILY, collection.family_id)

        def apply() -> None:
            self._uow._run(
                "INSERT INTO debit_batches (collectivite_id, id, regie_id, debit_date, built_at, document) "
                "VALUES (%s, %s, %s, %s, %s, %s)",
                (c, batch.id, batch.regie_id, batch.debit_date, batch.built_at, batch.document),
            )
            self._uow._many(
                f"INSERT INTO debit_collections (collectivite_id, {_sql._COLLECTION_COLUMNS}) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                [(c, *_sql._collection_row(collection, _ENCODING)) for collection in batch.collections],
            )

        self._uow._write(apply)

    def save_collection(self, collection: DebitCollection) -> None:
        c = self._uow._c
        self._uow._sync()
        found = self._uow._scalar(
            "SELECT family_id FROM debit_collections WHERE collectivite_id = %s AND batch_id = %s "
            "AND invoice_number = %s",
            (c, collection.batch_id, collection.invoice_number),
        )
        if found is None:
            raise _not_found(
                "debit collection", f"{collection.batch_id}/{collection.invoice_number}", "prélèvement"
            )
        self._uow._mark(_FAMILY, collection.family_id)
        self._uow._mark(_FAMILY, found)

        def apply() -> None:
            self._uow._run(
                "DELETE FROM debit_collections WHERE collectivite_id = %s AND batch_id = %s "
                "AND invoice_number = %s",
                (c, collection.batch_id, collection.invoice_number),
            )
            self._uow._run(
                f"INSERT INTO debit_collections (collectivite_id, {_sql._COLLECTION_COLUMNS}) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                (c, *_sql._collection_row(collection, _ENCODING)),
            )

        self._uow._write(apply)
