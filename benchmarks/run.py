"""Run the benchmark scripts of this folder and print their figures (``make bench``).

``python benchmarks/run.py`` runs every script (the 100,000-child and rush ones take many minutes);
``python benchmarks/run.py portal basket`` runs only those; ``--list`` names them. A script's own options
are given by running it directly (``python benchmarks/rush.py --help``).

Figures are reported in docs/benchmarks.md; they are never asserted by the tests.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path

HERE = Path(__file__).parent


def scripts() -> dict[str, Path]:
    """The benchmark scripts by name: every module of this folder but this one and the private ones."""
    return {
        script.stem: script
        for script in sorted(HERE.glob("*.py"))
        if script.name not in {"run.py", "__init__.py"} and not script.name.startswith("_")
    }


def main(argv: list[str] | None = None) -> int:
    known = scripts()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "names", nargs="*", metavar="NAME", help=f"scripts to run (default: all): {', '.join(known)}"
    )
    parser.add_argument("--list", action="store_true", help="name the scripts and run none")
    options = parser.parse_args(argv)
    if options.list:
        print("\n".join(known))
        return 0
    unknown = [name for name in options.names if name not in known]
    if unknown:
        parser.error(f"unknown benchmark {', '.join(unknown)} (known: {', '.join(known)})")
    sys.path.insert(0, str(HERE))
    for name in options.names or list(known):
        spec = importlib.util.spec_from_file_location(name, known[name])
        assert spec is not None
        assert spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        runner = getattr(module, "main", None)
        if callable(runner):
            # The scripts that read options parse sys.argv when given none: they see only their name.
            sys.argv = [str(known[name])]
            runner()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
