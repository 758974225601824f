"""Booking rules: pure decisions with their reasons (``now`` and ``today`` are arguments).

* ``rules.deadlines`` — when a booking or a cancellation closes (``@deadline_pattern``, a class per pattern).
* ``rules.policies`` — what happens after a deadline (``@after_deadline_policy``), ``judge_booking`` and
  ``judge_cancellation``, and what a late booking costs.
* ``rules.capacity`` — places, waiting lists, who gets a freed place.
* ``rules.conditions`` — the commune's booking conditions (who may book what), judged by the basket.
* ``rules.basket`` — a family's basket and period booking, judged line by line, and its amount to pay.
* ``rules.attendance`` — attendance facts, absence declarations and their proofs (``@absence_rule``).
* ``rules.unpaid`` — the unpaid-invoices block and the agent's waiver.
* ``rules.calendar_view`` — the family's month and week calendars, each cell with its reason.

This ``__init__`` imports nothing: the rules' settings sit below the ``Commune`` aggregate and the decisions
that read it above (see docs/architecture.md), so importing one never runs the other.
"""
