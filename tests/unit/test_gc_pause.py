"""The month-end run pauses Python's cyclic garbage collector when asked, and gives it back as it found it."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator

import pytest

from espacefamille._internal.gc import paused
from espacefamille.calendar.periods import DateRange

from .test_services import AGENT, make_world


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


def test_overlapping_pauses_in_two_threads_give_the_collector_back_when_the_last_ends() -> None:
    gc.enable()
    first_in, second_in, first_out = threading.Event(), threading.Event(), threading.Event()
    seen: list[bool] = []

    def first() -> None:
        with paused():
            first_in.set()
            second_in.wait(5)
        first_out.set()

    def second() -> None:
        first_in.wait(5)
        with paused():
            second_in.set()
            first_out.wait(5)
            seen.append(gc.isenabled())  # the first block ended: still paused for this one
        seen.append(gc.isenabled())

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert seen == [False, True]


@pytest.mark.parametrize("pause", [False, True])
def test_month_end_pauses_the_collector_only_when_asked(pause: bool) -> None:
    gc.enable()
    world = make_world()
    states: list[bool] = []
    world.office.run_month_end(
        AGENT,
        "enfance",
        DateRange.month(2026, 10),  # on 26 November 2026, October is over
        progress=lambda _done, _total: states.append(gc.isenabled()),
        pause_collector=pause,
    )
    assert states  # the run billed the family, and said so
    assert set(states) == {not pause}
    assert gc.isenabled()
