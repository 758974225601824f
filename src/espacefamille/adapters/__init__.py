"""Reference implementations of the ports.

* ``adapters.memory`` — ``MemoryStore`` and ``MemoryAccountStore``: plain dictionaries, thread-safe (tests,
  demos, small tools; the reference the conformance kit was written against).
* ``adapters.sqlite`` — ``SqliteStore`` and ``SqliteAccountStore``: the embedded default, one file per
  commune, split by concept (schema, codecs, the unit of work, one module per repository).
* ``adapters.payfip`` — ``PayfipGateway``: the Treasury's online payment, on the host's SOAP client.
* ``adapters.fake_gateway`` — ``FakeGateway``: a deterministic gateway for tests and the demo.
"""

__all__: list[str] = []
