"""What a household has with the commune beyond its bookings.

* ``families.accounts`` — parent and agent accounts across collectivités, activation, who may act for whom.
* ``families.requests`` — request forms a family fills in (a change of address, a PAI…) and their history.
* ``families.events`` — notifications as domain events, the outbox that delivers each exactly once, and the
  ``Notifier`` port.

This ``__init__`` imports nothing: ``families.requests`` sits low (the commune's configuration names its
request categories) while ``families.accounts`` and ``families.events`` sit above the entities.
"""
