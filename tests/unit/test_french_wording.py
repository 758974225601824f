"""French a parent reads has no "(e)" forms: a sentence that would need one is written without agreement."""

from __future__ import annotations

import re
from pathlib import Path

SOURCE = Path(__file__).resolve().parents[2] / "src" / "espacefamille"

# An inclusive-writing suffix glued to a word: "réservé(e)", "inscrit(e)s", "inconnu(e)" (English plurals such
# as "class(es)" are not French and not looked for).
_INCLUSIVE = re.compile(r"[a-zàâçéèêëîïôûùüÿœ]\(e\)")


def test_no_french_message_of_the_library_uses_an_e_in_brackets() -> None:
    found = [
        f"{path.relative_to(SOURCE)}:{number}: {line.strip()}"
        for path in sorted(SOURCE.rglob("*"))
        if path.suffix in {".py", ".j2", ".toml"}
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if _INCLUSIVE.search(line)
    ]
    assert found == []
