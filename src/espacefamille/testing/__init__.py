"""The conformance kit: what any storage implementation runs against itself to prove it honours the ports.

``espacefamille.testing.conformance.StoreConformance`` is a pytest base class of tests;
``espacefamille.testing.strategies`` holds hypothesis strategies for the model; and
``espacefamille.testing.faults.FailingStore`` makes a store fail at its k-th write. The kit needs pytest and
hypothesis, which the core library does not: ``import espacefamille`` never imports this package.
"""

__all__: list[str] = []
