"""The ``requests`` repository."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from espacefamille.errors import ConcurrentChange
from espacefamille.families.requests import Actor, Request
from espacefamille.testing import strategies as s
from espacefamille.testing.builders import (
    submitted_request,
)
from espacefamille.testing.conformance._base import _ROUND_TRIPS, ConformanceBase, _each


class RequestsConformance(ConformanceBase):
    """The ``requests`` repository."""

    @_ROUND_TRIPS
    @given(st.lists(s.requests(family_id="F1"), max_size=3, unique_by=lambda r: r.id))
    def test_requests_read_back_with_their_history(self, values: list[Request]) -> None:
        own, later = self.round_trip(
            _each(lambda uow, v: uow.requests.save(v), values), lambda uow: uow.requests.of_family("F1")
        )
        expected = tuple(sorted(values, key=lambda r: r.id))
        assert s.same_instants(own, expected)
        assert s.same_instants(later, expected)
        assert [r.status for r in later] == [r.status for r in expected]

    def test_a_request_saved_again_keeps_its_longer_history(self) -> None:
        store = self.seeded_store()
        request = submitted_request("R1", "F1")
        self.write(store, lambda uow: uow.requests.save(request))
        answered = request.accept(
            Actor.agent("agent-1"), request.submitted_at + dt.timedelta(days=1), "Voici."
        )
        self.write(store, lambda uow: uow.requests.save(answered))
        assert self.read(store, lambda uow: uow.requests.of_family("F1")) == (answered,)
        assert self.read(store, lambda uow: uow.requests.of_family("F2")) == ()

    def test_a_request_saved_for_another_household_changes_the_household_it_had(self) -> None:
        store = self.seeded_store()
        self.write(store, lambda uow: uow.requests.save(submitted_request("R1", "F1")))
        with store.unit_of_work() as reader:
            assert [r.id for r in reader.requests.of_family("F1")] == ["R1"]
            self.write(store, lambda uow: uow.requests.save(submitted_request("R1", "F2")))
            reader.requests.save(submitted_request("R2", "F1"))
            with pytest.raises(ConcurrentChange):
                reader.commit()
        assert self.read(store, lambda uow: uow.requests.of_family("F1")) == ()
