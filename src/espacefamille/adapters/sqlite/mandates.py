"""The mandates repository on SQLite: SEPA mandates, the debit files built and the invoices they collect."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Final

from espacefamille._internal.trusted import trusted_builder
from espacefamille.adapters.sqlite.codecs import _day, _instant, _iso, _optional_day, _read_instant
from espacefamille.adapters.sqlite.schema import _FAMILY, _not_found, _scalar
from espacefamille.billing.direct_debit import DebitBatch, DebitCollection, DebitReject
from espacefamille.billing.mandates import FamilyMandate, Mandate, SequenceType
from espacefamille.errors import InvalidInput
from espacefamille.money import Money
from espacefamille.ports.store import batch_exists

if TYPE_CHECKING:
    from espacefamille.adapters.sqlite.store import SqliteUnitOfWork

_DEBITS: Final = "debits"
_MANDATE_COLUMNS: Final = (
    "rum, regie_id, family_id, debtor_name, iban, bic, signed_on, sequence, pre_notification_days, "
    "registered_on, last_collected_on, revoked_on"
)
_COLLECTION_COLUMNS: Final = (
    "batch_id, invoice_number, family_id, rum, amount_cents, sequence, payment_number, rejected_on, "
    "reject_reason, reject_document"
)
_SEQUENCES: Final = {sequence.value: sequence for sequence in SequenceType}
# Rows this store wrote from validated values: rebuilt without checking them again.
_new_mandate: Final = trusted_builder(Mandate)
_new_family_mandate: Final = trusted_builder(FamilyMandate)
_new_collection: Final = trusted_builder(DebitCollection)
_new_reject: Final = trusted_builder(DebitReject)
_new_batch: Final = trusted_builder(DebitBatch)


def _mandate(row: Sequence[Any]) -> FamilyMandate:
    rum, regie_id, family_id, debtor, iban, bic, signed_on, sequence, days, registered, last, revoked = row
    mandate = _new_mandate(rum, _day(signed_on), debtor, iban, bic, _SEQUENCES[sequence], days)
    return _new_family_mandate(
        mandate, family_id, regie_id, _day(registered), _optional_day(last), _optional_day(revoked)
    )


def _collection(row: Sequence[Any]) -> DebitCollection:
    batch_id, number, family_id, rum, cents, sequence, payment, rejected_on, reason, document = row
    reject = None if rejected_on is None else _new_reject(_day(rejected_on), reason, document)
    return _new_collection(
        batch_id, number, family_id, rum, Money.from_cents(cents), _SEQUENCES[sequence], payment, reject
    )


def _collection_row(collection: DebitCollection) -> tuple[object, ...]:
    reject = collection.reject
    return (
        collection.batch_id,
        collection.invoice_number,
        collection.family_id,
        collection.rum,
        collection.amount.cents,
        collection.sequence.value,
        collection.payment_number,
        None if reject is None else reject.on.isoformat(),
        None if reject is None else reject.reason,
        None if reject is None else reject.document,
    )


class _SqliteMandates:
    """Mandates of a ``SqliteUnitOfWork`` (see ``espacefamille.ports.Mandates``)."""

    def __init__(self, uow: SqliteUnitOfWork) -> None:
        self._uow = uow

    def get(self, rum: str) -> FamilyMandate:
        self._uow._sync()
        row = self._uow._db.execute(
            f"SELECT {_MANDATE_COLUMNS} FROM mandates WHERE rum = ?", (rum,)
        ).fetchone()
        if row is None:
            raise _not_found("mandate", rum, "mandat")
        self._uow._seen(_FAMILY, row[2])
        return _mandate(row)

    def of_family(self, family_id: str) -> tuple[FamilyMandate, ...]:
        self._uow._sync()
        self._uow._seen(_FAMILY, family_id)
        rows = self._uow._db.execute(
            f"SELECT {_MANDATE_COLUMNS} FROM mandates WHERE family_id = ? ORDER BY rum", (family_id,)
        ).fetchall()
        return tuple(_mandate(row) for row in rows)

    def of_regie(self, regie_id: str) -> tuple[FamilyMandate, ...]:
        self._uow._sync()
        rows = self._uow._db.execute(
            f"SELECT {_MANDATE_COLUMNS} FROM mandates WHERE regie_id = ? ORDER BY family_id, rum", (regie_id,)
        ).fetchall()
        return tuple(_mandate(row) for row in rows)

    def save(self, mandate: FamilyMandate) -> None:
        if not isinstance(mandate, FamilyMandate):
            raise InvalidInput(f"expected a FamilyMandate, got {mandate!r}", code="input.invalid")
        terms = mandate.mandate
        signed_on = terms.signed_on
        assert signed_on is not None  # a Mandate always has one

        def apply() -> None:
            self._uow._mark_owners("mandates", "rum", mandate.rum, mandate.family_id)
            self._uow._db.execute(
                f"INSERT OR REPLACE INTO mandates ({_MANDATE_COLUMNS}) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    mandate.rum,
                    mandate.regie_id,
                    mandate.family_id,
                    terms.debtor_name,
                    terms.iban,
                    terms.bic,
                    signed_on.isoformat(),
                    terms.sequence.value,
                    terms.pre_notification_days,
                    mandate.registered_on.isoformat(),
                    _iso(mandate.last_collected_on),
                    _iso(mandate.revoked_on),
                ),
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
                f"SELECT {_COLLECTION_COLUMNS} FROM debit_collections WHERE batch_id = ? "
                "ORDER BY invoice_number",
                (batch_id,),
            ).fetchall()
            batches.append(
                _new_batch(
                    batch_id,
                    regie_id,
                    _day(debit_date),
                    _read_instant(built_at),
                    document,
                    tuple(_collection(row) for row in collections),
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
            f"SELECT {_COLLECTION_COLUMNS} FROM debit_collections WHERE family_id = ? "
            "ORDER BY batch_id, invoice_number",
            (family_id,),
        ).fetchall()
        return tuple(_collection(row) for row in rows)

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
                f"INSERT INTO debit_collections ({_COLLECTION_COLUMNS}) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [_collection_row(collection) for collection in batch.collections],
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
                f"INSERT OR REPLACE INTO debit_collections ({_COLLECTION_COLUMNS}) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                _collection_row(collection),
            )

        self._uow._write(apply)
