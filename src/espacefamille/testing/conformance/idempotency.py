"""The ``submissions`` repository: what households submitted under an idempotency key."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from espacefamille.errors import ConcurrentChange
from espacefamille.families.requests import Submission
from espacefamille.testing.builders import submitted_request
from espacefamille.testing.conformance._base import _ROUND_TRIPS, ConformanceBase

# The second 02:30 of the autumn night: read back with its offset (winter time), not the first one's.
_AT = dt.datetime(2026, 10, 25, 2, 30, fold=1, tzinfo=ZoneInfo("Europe/Paris"))


def submission(family_id: str = "F1", key: str = "k-1", result: bytes = b"\x00first\xff") -> Submission:
    return Submission(family_id, key, "request", "0" * 64, result, _AT)


class IdempotencyConformance(ConformanceBase):
    """The ``submissions`` repository: a key is recorded once per household, with its result, in the unit of
    work of what it submitted."""

    @_ROUND_TRIPS
    @given(
        st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=200),
        st.binary(max_size=2000),
    )
    def test_a_submission_reads_back_whole(self, key: str, result: bytes) -> None:
        recorded = submission(key=key, result=result)
        own, later = self.round_trip(
            lambda uow: uow.submissions.save(recorded), lambda uow: uow.submissions.find("F1", key)
        )
        assert own == recorded
        assert later == recorded
        assert later is not None
        assert later.at.utcoffset() == _AT.utcoffset()

    def test_a_key_belongs_to_its_household(self) -> None:
        store = self.seeded_store()
        self.write(store, lambda uow: uow.submissions.save(submission("F1")))
        assert self.read(store, lambda uow: uow.submissions.find("F2", "k-1")) is None
        assert self.read(store, lambda uow: uow.submissions.find("F1", "k-2")) is None

    def test_a_key_recorded_keeps_its_first_result(self) -> None:
        store = self.seeded_store()
        self.write(store, lambda uow: uow.submissions.save(submission(result=b"first")))
        self.write(store, lambda uow: uow.submissions.save(submission(result=b"second")))
        found = self.read(store, lambda uow: uow.submissions.find("F1", "k-1"))
        assert found is not None
        assert found.result == b"first"

    def test_a_submission_rolled_back_is_not_recorded_nor_what_it_submitted(self) -> None:
        store = self.seeded_store()
        with store.unit_of_work() as uow:
            uow.requests.save(submitted_request("R1", "F1"))
            uow.submissions.save(submission())
            uow.rollback()
        assert self.read(store, lambda uow: uow.submissions.find("F1", "k-1")) is None
        assert self.read(store, lambda uow: uow.requests.of_family("F1")) == ()

    def test_two_units_of_work_submitting_one_key_conflict(self) -> None:
        store = self.seeded_store()
        with store.unit_of_work() as first, store.unit_of_work() as second:
            for uow, request_id in ((first, "R1"), (second, "R2")):
                assert uow.submissions.find("F1", "k-1") is None
                uow.requests.save(submitted_request(request_id, "F1"))
                uow.submissions.save(submission(result=request_id.encode()))
            first.commit()
            with pytest.raises(ConcurrentChange):
                second.commit()
        found = self.read(store, lambda uow: uow.submissions.find("F1", "k-1"))
        assert found is not None
        assert found.result == b"R1"
        assert [r.id for r in self.read(store, lambda uow: uow.requests.of_family("F1"))] == ["R1"]
