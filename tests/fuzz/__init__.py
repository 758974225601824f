"""Fuzzing the public entry points: hostile values in, only the library's own errors out, nothing written.

Each test draws wrong types, None, huge numbers, lone surrogates, control characters and nested structures
(``espacefamille.testing.strategies.hostile_values``) for the arguments of a public call — the services,
the configuration reader, the CSV imports, the gateways' notifications, ``Money`` — and checks that the call
either works or raises an ``EspaceFamilleError`` (never a ``TypeError``, ``AttributeError``,
``RecursionError``, ``UnicodeEncodeError``…), and that a refused call left the store as it was. Kept fast:
a few dozen examples per entry point.
"""
