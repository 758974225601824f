"""Run every benchmark script of this folder and print its figures (``make bench``).

Figures are reported in docs/benchmarks.md; they are never asserted by the tests.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

HERE = Path(__file__).parent


def main() -> int:
    sys.path.insert(0, str(HERE))
    for script in sorted(HERE.glob("*.py")):
        if script.name in {"run.py", "__init__.py"} or script.name.startswith("_"):
            continue
        spec = importlib.util.spec_from_file_location(script.stem, script)
        assert spec is not None
        assert spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        runner = getattr(module, "main", None)
        if callable(runner):
            runner()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
