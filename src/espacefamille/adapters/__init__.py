"""Reference stores for the storage ports: ``memory`` (tests, small tools) and ``sqlite`` (the default)."""

__all__: list[str] = []
