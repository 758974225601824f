"""The library's exceptions: one root, a few kinds, each with a stable code and two messages.

Every error carries:

* ``code`` — a stable, dotted identifier a program can test (``"money.float_rejected"``);
* ``message`` — an English sentence for developers (also ``str(error)``);
* ``message_fr`` — a French sentence fit to show a family or an agent.

Rules and billing return *decisions* as values; exceptions are only for misuse and invalid input
at the library's boundary (see ``docs/architecture.md``).
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = [
    "ConcurrentChange",
    "EspaceFamilleError",
    "InvalidConfiguration",
    "InvalidInput",
    "MissingData",
    "NotFound",
    "PermissionDenied",
    "StoreUnavailable",
]


class EspaceFamilleError(Exception):
    """Root of every error raised by espacefamille."""

    default_code = "espacefamille.error"

    def __init__(
        self,
        message: str,
        *,
        message_fr: str | None = None,
        code: str | None = None,
        details: Mapping[str, object] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.message_fr = message_fr if message_fr is not None else message
        self.code = code if code is not None else self.default_code
        self.details: Mapping[str, object] = dict(details or {})

    def __str__(self) -> str:
        return f"[{self.code}] {self.message}"


class InvalidInput(EspaceFamilleError, ValueError):
    """An argument is not acceptable: a naive datetime, a float amount, an end before its start…"""

    default_code = "input.invalid"


class InvalidConfiguration(EspaceFamilleError, ValueError):
    """A commune configuration is malformed or inconsistent; ``path`` names the offending key.

    ``reason`` is the message without the path, so a caller can re-locate the error under a parent key.
    """

    default_code = "config.invalid"

    def __init__(
        self,
        message: str,
        *,
        path: str = "",
        message_fr: str | None = None,
        code: str | None = None,
        details: Mapping[str, object] | None = None,
    ) -> None:
        located = f"{path}: {message}" if path else message
        located_fr = None
        if message_fr is not None:
            located_fr = f"{path} : {message_fr}" if path else message_fr
        super().__init__(located, message_fr=located_fr, code=code, details=details)
        self.path = path
        self.reason = message
        self.reason_fr = message_fr


class MissingData(EspaceFamilleError, LookupError):
    """Reference data the answer depends on is absent (a school year, a tariff for a date…).

    The library refuses rather than guesses.
    """

    default_code = "data.missing"


class NotFound(EspaceFamilleError, LookupError):
    """An identifier names nothing known (an unknown prestation, family or invoice)."""

    default_code = "not_found"


class PermissionDenied(EspaceFamilleError, PermissionError):
    """The actor may not do this (another family's child, another commune)."""

    default_code = "permission.denied"


class ConcurrentChange(EspaceFamilleError):
    """Someone else changed the same data first; nothing was written, the call may be retried."""

    default_code = "store.concurrent_change"


class StoreUnavailable(EspaceFamilleError, OSError):
    """The store cannot do its work for a reason outside the call; nothing of the unit of work was written.

    Codes: ``store.locked`` (another writer held the database past the store's busy timeout: try again
    later), ``store.read_only`` (the file or its folder cannot be written), ``store.disk_full``,
    ``store.io_error`` (the disk failed a read or a write, or a file size limit was reached),
    ``store.cannot_open`` (the file or its folder is missing or not accessible), ``store.error`` (anything
    else the database reported), ``store.unavailable`` (a database server that cannot be reached: a wrong
    URL or password, a server down or gone mid-work). ``details["path"]`` names the file of an SQLite store.
    """

    default_code = "store.error"
