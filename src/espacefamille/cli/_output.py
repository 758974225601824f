"""What the command says and how: French or English sentences, ``--json`` documents, exit codes, progress.

Human output goes to standard output (errors to standard error); with ``--json`` standard output carries one
JSON document per run, ``{"ok": true, "command": …}`` or ``{"ok": false, "error": {…}}``, and nothing else.
Progress bars and spinners are drawn on standard error, only when it is a terminal and ``--json`` is off,
so cron jobs and pipes get clean output.
"""

from __future__ import annotations

import enum
import json
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import IO, Final, Literal

from espacefamille.errors import EspaceFamilleError

__all__ = ["CliError", "ExitCode", "Lang", "Output", "text"]

Lang = Literal["fr", "en"]


class ExitCode(enum.IntEnum):
    """The command's exit codes (``docs/cli.md``)."""

    OK = 0
    REFUSED = 1  # a business refusal: a basket line refused, a payment refused, an unknown child…
    USAGE = 2  # bad usage or a bad file: wrong options, a missing or malformed file, no database
    MISSING_EXTRA = 3  # the ``cli`` extra (Jinja2, icalendar, rich) is not installed
    INTERRUPTED = 130  # Ctrl-C


_TEXT: Final[dict[str, tuple[str, str]]] = {
    "error": ("Erreur : {message}", "Error: {message}"),
    "usage": ("Utilisation incorrecte : {message}", "Bad usage: {message}"),
    "interrupted": ("Interrompu.", "Interrupted."),
    "missing_extra": (
        "Il manque la bibliothèque {module} : installez « espacefamille[cli] ».",
        "The {module} library is missing: install 'espacefamille[cli]'.",
    ),
    "db.missing": (
        "La base {path} n'existe pas : créez-la avec « espacefamille init COMMUNE.toml --db {path} ».",
        "Database {path} does not exist: create it with 'espacefamille init COMMUNE.toml --db {path}'.",
    ),
    "db.has_commune": (
        "La base {path} contient déjà la commune {name} : ajoutez --replace pour remplacer sa configuration.",
        "Database {path} already holds commune {name}: add --replace to replace its configuration.",
    ),
    "file.missing": ("Fichier introuvable : {path}.", "File not found: {path}."),
    "file.unreadable": ("Impossible de lire le fichier {path}.", "Cannot read file {path}."),
    "month.bad": (
        "Mois invalide « {value} » : attendu AAAA-MM, par exemple 2026-11.",
        "Invalid month '{value}': expected YYYY-MM, e.g. 2026-11.",
    ),
    "date.bad": (
        "Date invalide « {value} » : attendu AAAA-MM-JJ.",
        "Invalid date '{value}': expected YYYY-MM-DD.",
    ),
    "now.bad": (
        "Instant invalide « {value} » : attendu AAAA-MM-JJTHH:MM (heure de la commune).",
        "Invalid instant '{value}': expected YYYY-MM-DDTHH:MM (the commune's time).",
    ),
    "amount.bad": (
        "Montant invalide « {value} » : attendu par exemple 12,50.",
        "Invalid amount '{value}': expected e.g. 12.50.",
    ),
    "init.done": (
        "Commune {name} enregistrée dans {path} : {services} service(s), {regies} régie(s).",
        "Commune {name} saved in {path}: {services} service(s), {regies} régie(s).",
    ),
    "import.done": (
        "{count} {what} importé(s) depuis {path}.",
        "{count} {what} imported from {path}.",
    ),
    "import.reference": (
        "{path} : rien n'est importé. {problems}",
        "{path}: nothing imported. {problems}",
    ),
    "import.unknown_family": ("{what} {id} : foyer inconnu {family}", "{what} {id}: unknown family {family}"),
    "import.unknown_child": ("{what} {id} : enfant inconnu {child}", "{what} {id}: unknown child {child}"),
    "import.child_family": (
        "inscription {id} : l'enfant {child} n'appartient pas au foyer {family}",
        "enrolment {id}: child {child} is not in family {family}",
    ),
    "calendar.no_service": (
        "{child} n'est inscrit(e) à aucun service : précisez --service.",
        "{child} is enrolled in no service: give --service.",
    ),
    "basket.bad": ("Panier illisible dans {path} : {reason}", "Unreadable basket in {path}: {reason}"),
    "basket.summary": (
        "{accepted} ligne(s) acceptée(s), {refused} refusée(s).",
        "{accepted} line(s) accepted, {refused} refused.",
    ),
    "bill.prepaid_only": (
        "La régie {regie} n'encaisse que des prestations payées à la réservation : rien à facturer en fin "
        "de mois.",
        "Régie {regie} only takes prestations paid at booking: nothing to invoice at month end.",
    ),
    "bill.running": ("Facturation de {month} en cours…", "Billing {month}…"),
    "bill.summary": (
        "Régie {regie}, {month} : {invoices} facture(s) pour {total}, {credits} avoir(s) pour {credited}, "
        "{carried} montant(s) reporté(s) sous le seuil ({carried_total}).",
        "Régie {regie}, {month}: {invoices} invoice(s) for {total}, {credits} credit note(s) for {credited}, "
        "{carried} amount(s) carried below the threshold ({carried_total}).",
    ),
    "invoices.none": ("Aucune facture.", "No invoice."),
    "invoices.count": ("{count} document(s).", "{count} document(s)."),
    "export.writing": ("Écriture des factures", "Writing invoices"),
    "export.done": (
        "{count} document(s) exporté(s) dans {out} ({format}).",
        "{count} document(s) exported to {out} ({format}).",
    ),
    "ical.done": (
        "{count} réservation(s) de {child} écrite(s) dans {out}.",
        "{count} booking(s) of {child} written to {out}.",
    ),
    "demo.building": ("Création des familles", "Creating families"),
    "demo.built": (
        "Commune de démonstration {name} : {families} familles, {children} enfants, {bookings} réservations "
        "et {attendance} pointages en {month}.",
        "Demo commune {name}: {families} families, {children} children, {bookings} bookings and "
        "{attendance} attendance facts in {month}.",
    ),
    "demo.prepaid": (
        "Centre de loisirs (payé à la réservation) : {paid} journée(s) réservée(s) et payée(s) en ligne, "
        "{waiting} en liste d'attente, {notes} avoir(s) pour annulation dans les délais ({credited}).",
        "Holiday centre (paid at booking): {paid} day(s) booked and paid online, {waiting} on the waiting "
        "list, {notes} credit note(s) for cancellations in time ({credited}).",
    ),
    "demo.written": (
        "Factures HTML : {html}\nTableau des factures (CSV) : {csv}\nBase de la commune : {db}",
        "HTML invoices: {html}\nInvoice table (CSV): {csv}\nCommune database: {db}",
    ),
}


def text(key: str, lang: Lang, **words: object) -> str:
    """The sentence ``key`` in ``lang``, with ``words`` filled in."""
    french, english = _TEXT[key]
    return (french if lang == "fr" else english).format(**words)


class CliError(Exception):
    """A problem the command reports itself (not from the library): a message key and an exit code."""

    def __init__(self, code: ExitCode, key: str, **words: object) -> None:
        super().__init__(key)
        self.exit_code = code
        self.key = key
        self.words = words


class Output:
    """Where a run writes: sentences in its language, or one JSON document."""

    def __init__(self, *, lang: Lang = "fr", as_json: bool = False, stdout: IO[str] | None = None) -> None:
        self.lang: Lang = lang
        self.as_json = as_json
        self.stdout = stdout if stdout is not None else sys.stdout
        self.stderr = sys.stderr

    def say(self, key: str, **words: object) -> None:
        """Print a sentence (not in ``--json`` mode)."""
        if not self.as_json:
            print(text(key, self.lang, **words), file=self.stdout)

    def line(self, content: str) -> None:
        if not self.as_json:
            print(content, file=self.stdout)

    def pick(self, french: str, english: str) -> str:
        return french if self.lang == "fr" else english

    def document(self, command: str, data: Mapping[str, object], *, ok: bool = True) -> None:
        """The ``--json`` document of a run (nothing in human mode)."""
        if self.as_json:
            payload = {"ok": ok, "command": command, **data}
            print(json.dumps(payload, ensure_ascii=False, indent=2, sort_keys=False), file=self.stdout)

    def error(self, code: ExitCode, error_code: str, message: str, details: Mapping[str, object]) -> int:
        """Report an error (to standard error, or as the JSON document) and return its exit code."""
        if self.as_json:
            payload = {
                "ok": False,
                "error": {"code": error_code, "message": message, "exit_code": int(code), **details},
            }
            print(json.dumps(payload, ensure_ascii=False, indent=2), file=self.stdout)
        else:
            print(text("error", self.lang, message=message), file=self.stderr)
        return int(code)

    def library_error(self, error: EspaceFamilleError, code: ExitCode) -> int:
        message = error.message_fr if self.lang == "fr" else error.message
        details: dict[str, object] = {}
        lines = getattr(error, "errors", None)
        if isinstance(lines, tuple):
            details["lines"] = [
                {
                    "line": item.line,
                    "column": item.column,
                    "code": item.code,
                    "message": item.message_fr if self.lang == "fr" else item.message,
                }
                for item in lines
            ]
        refusals = getattr(error, "refusals", None)
        if isinstance(refusals, tuple):
            details["refusals"] = [{"code": r.code, "message": r.explain(self.lang)} for r in refusals]
        return self.error(code, error.code, message, details)

    def cli_error(self, error: CliError) -> int:
        message = text(error.key, self.lang, **error.words)
        words = {k: v if isinstance(v, int | str) else str(v) for k, v in error.words.items()}
        return self.error(error.exit_code, f"cli.{error.key}", message, words)

    @property
    def interactive(self) -> bool:
        """Draw progress on standard error: a terminal, and not ``--json``."""
        return not self.as_json and self.stderr.isatty()

    @contextmanager
    def status(self, message: str) -> Iterator[None]:
        """A spinner on standard error while a long call runs (a month-end run is one call)."""
        if not self.interactive:
            yield
            return
        from rich.console import Console

        with Console(file=self.stderr).status(message):
            yield
