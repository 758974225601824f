"""The ``outbox`` repository."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from espacefamille.errors import InvalidInput, NotFound
from espacefamille.families.events import (
    OutboxMessage,
    mark_sent,
)
from espacefamille.testing import strategies as s
from espacefamille.testing.builders import PARIS, invoice, message
from espacefamille.testing.conformance._base import _ROUND_TRIPS, ConformanceBase, _each


class OutboxConformance(ConformanceBase):
    """The ``outbox`` repository."""

    @_ROUND_TRIPS
    @given(st.lists(s.outbox_messages(), max_size=4, unique_by=lambda m: m.id))
    def test_outbox_messages_read_back_oldest_first(self, values: list[OutboxMessage]) -> None:
        own, later = self.round_trip(
            _each(lambda uow, v: uow.outbox.add(v), values), lambda uow: uow.outbox.all()
        )
        assert s.same_instants(own, tuple(values))
        assert s.same_instants(later, tuple(values))

    def test_outbox_keeps_its_order_across_units_of_work_and_updates_in_place(self) -> None:
        store = self.seeded_store()
        first, second, third = message("m-b", "F1"), message("m-a", "F2"), message("m-0", "F1")
        self.write(store, _each(lambda uow, v: uow.outbox.add(v), [first, second]))
        self.write(store, _each(lambda uow, v: uow.outbox.add(v), [third, first]))
        sent = mark_sent(first, dt.datetime(2026, 12, 1, 9, 0, tzinfo=PARIS))
        self.write(store, lambda uow: uow.outbox.save(sent))
        assert self.read(store, lambda uow: uow.outbox.all()) == (sent, second, third)
        with store.unit_of_work() as uow, pytest.raises(NotFound):
            uow.outbox.save(message("m-unknown", "F1"))

    def test_an_outbox_message_added_again_is_kept_once_and_another_under_its_id_is_refused(self) -> None:
        store = self.seeded_store()
        first = message("m-1", "F1")
        self.write(store, lambda uow: uow.outbox.add(first))
        self.write(store, lambda uow: uow.outbox.add(first))
        assert self.read(store, lambda uow: uow.outbox.all()) == (first,)
        with pytest.raises(InvalidInput) as refused:
            self.write(store, lambda uow: uow.outbox.add(message("m-1", "F2")))
        assert refused.value.code == "store.duplicate_message"
        assert self.read(store, lambda uow: uow.outbox.all()) == (first,)

    def test_outbox_message_is_kept_in_the_same_transaction_as_its_change(self) -> None:
        store = self.seeded_store()
        issued = invoice("FAC-enfance-2026-000001", "F1")
        with store.unit_of_work() as uow:
            uow.documents.save_invoice(issued)
            uow.outbox.add(message("m-1", "F1"))
            # leaving without commit: neither the invoice nor its announcement exists
        assert self.read(store, lambda uow: (uow.documents.invoices_of("F1"), uow.outbox.all())) == ((), ())
        self.write(
            store,
            lambda uow: uow.documents.save_invoice(issued),
            lambda uow: uow.outbox.add(message("m-1", "F1")),
        )
        assert self.read(store, lambda uow: (uow.documents.invoices_of("F1"), uow.outbox.all())) == (
            (issued,),
            (message("m-1", "F1"),),
        )
