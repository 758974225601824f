"""The conformance kit: what any storage implementation runs against itself to prove it honours the ports.

* ``testing.conformance.StoreConformance`` — a pytest base class of tests, organised like the ports: one part
  per repository (``FamiliesConformance``, ``BookingsConformance``, ``AttendanceConformance``,
  ``DocumentsConformance``, ``MonthEndRunsConformance``, ``OnlinePaymentsConformance``,
  ``RequestsConformance``, ``OutboxConformance``), units of work (``TransactionsConformance``) and the
  accounts store (``AccountsConformance``).
* ``testing.builders`` — small valid records (families F1 and F2 of Saint-Aubin, their children, an invoice,
  a payment…) for tests and docs.
* ``testing.strategies`` — hypothesis strategies for the model.
* ``testing.faults.FailingStore`` — a store failing at its k-th write.

The kit needs pytest and hypothesis, which the core library does not: ``import espacefamille`` never imports
this package.
"""

__all__: list[str] = []
