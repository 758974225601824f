"""The example commune's text without its régie outputs, for the tests that write their own.

The shipped example (examples/saint-aubin.toml) knows its régies in Hélios (``[regies.X.pes]``), its régie
enfance as a SEPA creditor (``[regies.enfance.sepa]``) and the meal part of its meals (``meal = …``). Tests
that pin other values (the golden PES file, the debit files, the attestations of another meal part) add
their own tables to this text; TOML refuses a table or a key declared twice.
"""

from __future__ import annotations

import re

from espacefamille.examples import example_path

__all__ = ["bare_example_text"]

_OUTPUT_TABLE = re.compile(r"\[regies\.[a-z_]+\.(pes|sepa)[\].]")


def bare_example_text() -> str:
    """The example commune's TOML text with no ``[regies.X.pes]``, ``[regies.X.sepa]`` or ``meal`` key."""
    kept: list[str] = []
    skipping = False
    for line in example_path().read_text(encoding="utf-8").splitlines(keepends=True):
        if line.startswith("["):
            skipping = bool(_OUTPUT_TABLE.match(line))
        if not skipping and not line.startswith("meal = "):
            kept.append(line)
    return "".join(kept)
