"""The month-end run pauses Python's cyclic garbage collector and gives it back as it found it."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from espacefamille._internal.gc import paused


@pytest.fixture(autouse=True)
def _restore_collector() -> Iterator[None]:
    was_enabled = gc.isenabled()
    yield
    if was_enabled:
        gc.enable()
    else:  # pragma: no cover - the test runner keeps it on
        gc.disable()


def test_the_collector_is_off_during_the_block_and_on_again_after() -> None:
    gc.enable()
    with paused():
        assert not gc.isenabled()
        with paused():  # nested: still off, and the outer block decides
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()


def test_a_failing_block_gives_the_collector_back() -> None:
    gc.enable()
    with pytest.raises(ZeroDivisionError), paused():
        _ = 1 / 0
    assert gc.isenabled()


def test_a_host_running_without_the_collector_keeps_it_off() -> None:
    gc.disable()
    with paused():
        assert not gc.isenabled()
    assert not gc.isenabled()
