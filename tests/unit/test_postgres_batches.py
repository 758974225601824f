"""The PostgreSQL store's month-end batches in a few statements: a batch's invoices, lines and messages wait
together while the run reads households' mandates and other households' invoices, the batch's mandates are
read at once, and an invoice number is looked up once per prefix by a unit of work that read the numbering
— with the same refusals as before."""

from __future__ import annotations

from collections.abc import Iterator

import attrs
import pytest
from psycopg_pool import ConnectionPool

from espacefamille.adapters.postgres import PostgresStore
from espacefamille.adapters.postgres.store import PostgresUnitOfWork
from espacefamille.billing.documents import Invoice
from espacefamille.errors import ConcurrentChange, InvalidInput
from espacefamille.examples import example_commune
from espacefamille.testing.builders import NOVEMBER, child, family, invoice, message
from espacefamille.testing.conformance.mandates import mandate
from tests import postgres_server


@pytest.fixture(scope="module")
def pool() -> Iterator[ConnectionPool]:
    with postgres_server.pool("batches") as shared:
        yield shared


@pytest.fixture
def store(pool: ConnectionPool) -> PostgresStore:
    store = PostgresStore(pool, postgres_server.collectivite_id("batches"))
    with store.unit_of_work() as uow:
        uow.save_commune(example_commune())
        for index in (1, 2):
            uow.families.save(family(f"F{index}"))
            uow.families.save_child(child(f"C{index}", f"F{index}"))
        uow.commit()
    return store


def _statements(store: PostgresStore, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The statements the store's units of work send from now on (their first words)."""
    sent: list[str] = []
    for name in ("_rows", "_one", "_run", "_many", "_copy"):
        original = getattr(PostgresUnitOfWork, name)

        def counted(self: object, sql: str, *args: object, _original: object = original) -> object:
            sent.append(" ".join(sql.split()[:3]))
            return _original(self, sql, *args)  # type: ignore[operator]

        monkeypatch.setattr(PostgresUnitOfWork, name, counted)
    return sent


def _numbered(number: int, family_id: str) -> Invoice:
    return invoice(f"FAC-enfance-2026-{number:06d}", family_id)


def test_a_batch_of_invoices_and_messages_waits_while_mandates_and_other_households_are_read(
    store: PostgresStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent = _statements(store, monkeypatch)
    with store.unit_of_work() as uow:
        numbering = uow.documents.numbering()
        for number in range(1, 6):
            uow.mandates.of_family("F1")
            uow.documents.save_invoice(_numbered(number, "F1"))
            uow.outbox.add(message(f"m-{number}", "F1", f"FAC-enfance-2026-{number:06d}"))
        # None of F2's invoices is waiting: reading F2's history writes nothing yet.
        assert uow.documents.invoices_of("F2") == ()
        assert not any(s.startswith(("INSERT INTO invoices", "INSERT INTO outbox")) for s in sent)
        # F1's are: reading them writes the batch first, in one statement per table.
        assert [i.number for i in uow.documents.invoices_of("F1")][-1] == "FAC-enfance-2026-000005"
        uow.documents.save_invoice(_numbered(6, "F2"))
        uow.documents.save_numbering(numbering)
        uow.commit()
    assert sum(s.startswith("INSERT INTO invoices") for s in sent) == 2  # the batch, then F2's invoice
    assert sum(s.startswith("COPY invoice_lines") for s in sent) == 2
    assert sum(s.startswith("INSERT INTO outbox") for s in sent) == 1
    # One look for the prefix's highest number instead of one per invoice.
    assert sum(s.startswith("SELECT max(number)") for s in sent) == 1
    with store.unit_of_work() as uow:
        assert [m.id for m in uow.outbox.all()] == [f"m-{n}" for n in range(1, 6)]
        assert len(uow.documents.invoices_of("F1")) + len(uow.documents.invoices_of("F2")) == 6


def test_an_issued_number_is_still_refused_at_once_when_the_numbering_was_read(store: PostgresStore) -> None:
    issued = _numbered(1, "F1")
    with store.unit_of_work() as uow:
        uow.documents.save_invoice(issued)
        uow.commit()
    with store.unit_of_work() as uow:
        uow.documents.numbering()
        uow.documents.save_invoice(issued)  # the same again: harmless
        with pytest.raises(InvalidInput) as refused:
            uow.documents.save_invoice(attrs.evolve(issued, due_on=issued.due_on.replace(day=28)))
        assert refused.value.code == "store.invoice_immutable"
        uow.documents.save_invoice(_numbered(2, "F1"))  # higher than any stored: new
        uow.commit()
    with store.unit_of_work() as uow:
        assert [i.number for i in uow.documents.invoices_of("F1")] == [
            issued.number,
            _numbered(2, "F1").number,
        ]


def test_a_number_given_meanwhile_by_another_unit_of_work_is_a_conflict(store: PostgresStore) -> None:
    with store.unit_of_work() as first:
        numbering = first.documents.numbering()
        first.documents.save_invoice(_numbered(1, "F1"))  # its prefix looked at: nothing stored yet
        with store.unit_of_work() as second:
            second.documents.save_numbering(second.documents.numbering())
            second.documents.save_invoice(_numbered(2, "F2"))
            second.commit()
        first.documents.save_invoice(attrs.evolve(_numbered(2, "F1"), family_id="F1"))
        first.documents.save_numbering(numbering)
        with pytest.raises(ConcurrentChange):
            first.commit()
    with store.unit_of_work() as uow:
        assert uow.documents.invoices_of("F1") == ()


def test_messages_of_one_batch_under_one_id_are_kept_once_or_refused(store: PostgresStore) -> None:
    with store.unit_of_work() as uow:
        uow.outbox.add(message("m-1", "F1"))
        uow.outbox.add(message("m-1", "F1"))
        uow.outbox.add(message("m-2", "F1"))
        uow.commit()
    with store.unit_of_work() as uow:
        assert [m.id for m in uow.outbox.all()] == ["m-1", "m-2"]
    with store.unit_of_work() as uow:
        uow.outbox.add(message("m-3", "F1"))
        uow.outbox.add(message("m-3", "F2"))
        with pytest.raises(InvalidInput) as refused:
            uow.commit()
        assert refused.value.code == "store.duplicate_message"
    with store.unit_of_work() as uow:
        assert [m.id for m in uow.outbox.all()] == ["m-1", "m-2"]


def test_a_message_updated_then_added_again_is_refused_as_before(store: PostgresStore) -> None:
    original = message("m-1", "F1")
    with store.unit_of_work() as uow:
        uow.outbox.add(original)
        uow.outbox.save(attrs.evolve(original, attempts=1))
        uow.outbox.add(original)  # after the update: another content under its id
        with pytest.raises(InvalidInput):
            uow.commit()
    with store.unit_of_work() as uow:
        assert uow.outbox.all() == ()


def test_the_mandates_of_a_month_end_batch_are_read_at_once_and_a_mandate_saved_is_read_back(
    store: PostgresStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    with store.unit_of_work() as uow:
        uow.mandates.save(mandate("SAP-F1-0001", "F1"))
        uow.commit()
    sent = _statements(store, monkeypatch)
    with store.unit_of_work() as uow:
        records = list(uow.runs.family_records(NOVEMBER))
        assert [r.family.id for r in records] == ["F1", "F2"]
        assert [m.rum for m in uow.mandates.of_family("F1")] == ["SAP-F1-0001"]
        assert uow.mandates.of_family("F2") == ()
        assert sum(s.startswith("SELECT rum,") for s in sent) == 1
        # A mandate saved in the unit of work is read back, not the batch's mandates read before it.
        uow.mandates.save(mandate("SAP-F2-0001", "F2"))
        assert [m.rum for m in uow.mandates.of_family("F2")] == ["SAP-F2-0001"]
        # Outside the batch, a household's mandates are read on their own.
        assert uow.mandates.of_family("F3") == ()
    assert sum(s.startswith("SELECT rum,") for s in sent) == 3


@pytest.mark.parametrize("number", ["000123", "FAC-é000001", "FAC-enfance", "AV-enfance-2026-000001"])
def test_any_number_already_issued_is_refused_with_other_content_once_the_numbering_is_read(
    store: PostgresStore, number: str
) -> None:
    # Numbers of every shape: all digits (no prefix), a prefix ending in a letter beyond ASCII (looked
    # up one by one), no digits at all, another series.
    issued = invoice(number, "F1")
    with store.unit_of_work() as uow:
        uow.documents.save_invoice(issued)
        uow.commit()
    with store.unit_of_work() as uow:
        uow.documents.numbering()
        uow.documents.save_invoice(issued)
        with pytest.raises(InvalidInput) as refused:
            uow.documents.save_invoice(invoice(number, "F1", cents=99))
        assert refused.value.code == "store.invoice_immutable"
        lower = invoice(number[:-1] + "0" if number[-1].isdigit() else number + "0", "F1")
        uow.documents.save_invoice(lower)
        uow.commit()
    with store.unit_of_work() as uow:
        assert sorted(i.number for i in uow.documents.invoices_of("F1")) == sorted(
            {issued.number, lower.number}
        )


def test_a_correction_run_reading_changed_households_keeps_its_batch_waiting(
    store: PostgresStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    # December after corrections: each household with changed days is read with its history and its days
    # cleared as it is billed; the invoices of the batch still go in one statement at commit.
    with store.unit_of_work() as uow:
        uow.runs.mark_changed("enfance", "F2", [NOVEMBER.start])
        uow.commit()
    sent = _statements(store, monkeypatch)
    with store.unit_of_work() as uow:
        list(uow.runs.family_records(NOVEMBER))
        uow.documents.numbering()
        uow.documents.save_invoice(_numbered(1, "F1"))
        assert uow.mandates.of_family("F1") == ()
        uow.runs.clear_changed("enfance", "F2", [NOVEMBER.start])
        assert uow.bookings.of_family("F2", NOVEMBER) == ()
        assert uow.attendance.of_family("F2", NOVEMBER) == ()
        assert uow.documents.invoices_of("F2") == ()
        assert uow.mandates.of_family("F2") == ()
        assert not any(s.startswith(("INSERT INTO invoices", "DELETE FROM changed_days")) for s in sent)
        assert sum(s.startswith("SELECT rum,") for s in sent) == 1
        uow.commit()
    with store.unit_of_work() as uow:
        assert uow.runs.changed_days("enfance") == {}
        assert [i.number for i in uow.documents.invoices_of("F1")] == ["FAC-enfance-2026-000001"]


def test_households_read_at_once_are_read_in_one_statement_with_their_versions(
    store: PostgresStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    with store.unit_of_work() as uow:
        uow.documents.save_invoice(_numbered(1, "F1"))
        uow.commit()
    sent = _statements(store, monkeypatch)
    with store.unit_of_work() as uow:
        found = uow.documents.invoices_of_families(["F1", "F2"])
    assert [invoice.number for invoice in found["F1"]] == ["FAC-enfance-2026-000001"]
    assert found["F2"] == ()
    # The two households' versions in one statement, their invoices in one, the invoice's lines in one.
    assert sent == ["SELECT scope, key,", "SELECT number, regie_id,", "SELECT invoice_number, child_id,"]
