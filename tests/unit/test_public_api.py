"""docs/api.md lists the public API: every public module's ``__all__``, name for name, under its heading.

``make api-docs`` (``python -m tests.unit.test_public_api``) writes the page again from the code.
"""

from __future__ import annotations

import importlib
import inspect
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


def _first_line(obj: object) -> str:
    if inspect.ismodule(obj) or inspect.isfunction(obj):
        doc = obj.__doc__ or ""
    elif inspect.isclass(obj):
        doc = obj.__dict__.get("__doc__") or ""  # its own, not an inherited one
    else:
        return ""
    return inspect.cleandoc(doc).split("\n")[0]


def write_api_page() -> None:
    """docs/api.md from the modules' ``__all__`` and the first line of each name's docstring."""
    out = [
        "# The public API",
        "",
        "Every public module of the library and the names it exports (its `__all__`), with the first line of",
        "each one's docstring. `tests/unit/test_public_api.py` checks that this page and the code agree;",
        "`make api-docs` writes it again. The root package hands out the names a host needs first and the",
        "namespaces; modules and packages named with a leading underscore are private.",
        "",
    ]
    for name in public_modules():
        module = importlib.import_module(name)
        out += [f"## `{name}`", ""]
        summary = (inspect.getdoc(module) or "").split("\n\n")[0].replace("\n", " ")
        if summary:
            out += [summary, ""]
        names = list(getattr(module, "__all__", ()))
        for exported in names:
            line = _first_line(getattr(module, exported))
            out.append(f"- `{exported}`" + (f" — {line}" if line else ""))
        out += [""] if names else ["(no names of its own: see its modules)", ""]
    API.write_text("\n".join(out).rstrip() + "\n", encoding="utf-8")


if __name__ == "__main__":
    write_api_page()
