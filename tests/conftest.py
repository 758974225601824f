"""Shared test set-up: hypothesis profiles (derandomized on CI) and the example commune."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

from espacefamille.commune import Commune
from espacefamille.examples import example_commune

settings.register_profile(
    "ci",
    derandomize=True,
    max_examples=100,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", max_examples=100, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))


@pytest.fixture(scope="session")
def commune() -> Commune:
    """The shipped example commune, Saint-Aubin-des-Prés (zone B, metropole)."""
    return example_commune()
