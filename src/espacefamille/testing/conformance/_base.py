"""What every part of the conformance kit shares: how to build a store and read and write it in tests."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TypeVar

import pytest
from hypothesis import HealthCheck, settings

from espacefamille.examples import example_commune
from espacefamille.ports import AccountStore, CommuneStore, UnitOfWork
from espacefamille.testing.builders import child, family

__all__ = ["ConformanceBase"]


_T = TypeVar("_T")


# Several stores (memory, SQLite…) run the same @given tests in one session: hypothesis must not
# complain that different classes execute them, and a store on disk may be slower than a dict.
_ROUND_TRIPS = settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.differing_executors, HealthCheck.too_slow],
)


def _saving_family(family_id: str) -> Callable[[UnitOfWork], None]:
    return lambda uow: uow.families.save(family(family_id))


def _each(save: Callable[[UnitOfWork, _T], None], values: Iterable[_T]) -> Callable[[UnitOfWork], None]:
    """An action saving each of ``values`` with ``save``."""

    def action(uow: UnitOfWork) -> None:
        for value in values:
            save(uow, value)

    return action


class ConformanceBase:
    """Builds the store under test and reads and writes it; each part of the kit derives from it."""

    def make_store(self) -> CommuneStore:
        """A fresh, empty commune store of the implementation under test."""
        raise NotImplementedError

    def make_account_store(self) -> AccountStore:
        """A fresh, empty account store; the account tests are skipped unless this is overridden."""
        pytest.skip("this implementation has no account store")

    def seeded_store(self) -> CommuneStore:
        """A store holding the example commune (Saint-Aubin), families F1 and F2 and their children."""
        store = self.make_store()
        with store.unit_of_work() as uow:
            uow.save_commune(example_commune())
            uow.families.save(family("F1", "Martin"))
            uow.families.save(family("F2", "Bernard"))
            uow.families.save_child(child("C1", "F1"))
            uow.families.save_child(child("C2", "F2"))
            uow.commit()
        return store

    def write(self, store: CommuneStore, *actions: Callable[[UnitOfWork], object]) -> None:
        """Run ``actions`` in one unit of work and commit it."""
        with store.unit_of_work() as uow:
            for action in actions:
                action(uow)
            uow.commit()

    def read(self, store: CommuneStore, query: Callable[[UnitOfWork], _T]) -> _T:
        """Run ``query`` in a fresh unit of work (left without commit)."""
        with store.unit_of_work() as uow:
            return query(uow)

    def round_trip(
        self, save: Callable[[UnitOfWork], object], load: Callable[[UnitOfWork], _T]
    ) -> tuple[_T, _T]:
        """What a unit of work reads of its own write, and what a later unit of work reads once committed."""
        store = self.make_store()
        with store.unit_of_work() as uow:
            save(uow)
            own = load(uow)
            uow.commit()
        return own, self.read(store, load)
