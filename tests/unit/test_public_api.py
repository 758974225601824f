"""docs/api.md lists the public API: every public module's ``__all__``, name for name, under its heading."""

from __future__ import annotations

import importlib
import pkgutil
import re
from pathlib import Path

import espacefamille

API = Path(__file__).resolve().parents[2] / "docs" / "api.md"


def public_modules() -> list[str]:
    """Every module and package of the library whose path has no part starting with an underscore."""
    names = ["espacefamille"]
    for info in pkgutil.walk_packages(espacefamille.__path__, "espacefamille."):
        if not any(part.startswith("_") for part in info.name.split(".")):
            names.append(info.name)
    return sorted(names)


def documented() -> dict[str, set[str]]:
    """docs/api.md as {module: names}: a ``## `module``` heading, then its names in backquotes."""
    listed: dict[str, set[str]] = {}
    module = None
    for line in API.read_text(encoding="utf-8").splitlines():
        heading = re.fullmatch(r"## `([\w.]+)`", line)
        if heading:
            module = heading.group(1)
            listed[module] = set()
        elif module is not None and line.startswith("- "):
            listed[module].update(re.findall(r"`(\w+)`", line.split(" — ")[0]))
    return listed


def test_every_public_module_is_listed_with_exactly_its_public_names() -> None:
    listed = documented()
    wrong = {}
    for name in public_modules():
        exported = set(getattr(importlib.import_module(name), "__all__", ()))
        if listed.get(name) != exported:
            wrong[name] = {
                "missing from docs/api.md": sorted(exported - listed.get(name, set())),
                "no longer exported": sorted(listed.get(name, set()) - exported),
            }
    assert wrong == {}


def test_docs_api_lists_no_module_that_does_not_exist() -> None:
    assert sorted(set(documented()) - set(public_modules())) == []


def test_the_root_hands_out_the_namespaces_and_what_a_host_needs_first() -> None:
    assert {"services", "ports", "adapters", "rules", "billing", "calendar"} <= set(espacefamille.__all__)
    assert espacefamille.FamilyPortal is espacefamille.services.FamilyPortal
    assert espacefamille.SqliteStore.__module__ == "espacefamille.adapters.sqlite.store"
