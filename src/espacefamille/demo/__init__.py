"""Demonstrations built on the public API, for people and benchmarks, never imported by the library.

* ``demo.tour`` — ``python -m espacefamille.demo.tour``: the example commune's calendar in a terminal.
* ``demo.city`` — a generated city of thousands of families with a month of bookings and attendance,
  through the services, for the ``espacefamille demo`` command and the benchmarks; its payers' addresses and
  SEPA mandates let ``espacefamille pes``, ``debits build`` and ``attestations`` follow on its database.
"""
