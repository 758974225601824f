"""Example commune configurations shipped with the library (``saint-aubin.toml``)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from espacefamille.commune import Commune
from espacefamille.config import loads_commune

__all__ = ["EXAMPLE_COMMUNE", "example_commune", "example_path"]

EXAMPLE_COMMUNE = "saint-aubin.toml"


def example_path(name: str = EXAMPLE_COMMUNE) -> Path:
    """The path of a shipped example file (inside the installed package)."""
    return Path(str(resources.files(__name__).joinpath(name)))


def example_commune(name: str = EXAMPLE_COMMUNE) -> Commune:
    """The shipped example commune, loaded and validated."""
    return loads_commune(resources.files(__name__).joinpath(name).read_text(encoding="utf-8"))
