"""The ``espacefamille`` command: a commune's database, imports, calendars, baskets, billing and invoices.

    espacefamille demo --out demo/      # the main job: a demo commune billed, its invoices written
    espacefamille init saint-aubin.toml --db commune.db
    espacefamille import families familles.csv --db commune.db
    espacefamille bill --regie enfance --month 2026-11 --db commune.db

One SQLite database file per commune (``--db``, default ``$ESPACEFAMILLE_DB`` or ``espacefamille.db``).
Every subcommand takes ``--json`` (one JSON document on standard output, for scripts), ``--lang fr|en``
(French by default) and ``--now`` (the commune's local time to act at; the machine's clock otherwise).
Exit codes: 0 done, 1 refused by the commune's rules, 2 bad usage or bad file, 3 the ``cli`` extra is
missing, 130 interrupted. Errors of the library are printed with their French (or English) message, never
a traceback. ``docs/cli.md`` documents each subcommand with an example.

Needs the ``cli`` extra (``pip install 'espacefamille[cli]'``) for HTML invoices, iCalendar files and the
terminal tables; ``import espacefamille`` never imports this package.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import IO, NoReturn

from espacefamille.errors import EspaceFamilleError, InvalidConfiguration, NotFound
from espacefamille.imports import ImportRejected

from ._output import CliError, ExitCode, Lang, Output

__all__ = ["ExitCode", "main"]

_PROG = "espacefamille"


class _UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    """argparse, reporting usage errors to ``main`` (in the run's language and format) instead of exiting."""

    def error(self, message: str) -> NoReturn:
        raise _UsageError(message)


def _common() -> _Parser:
    common = _Parser(add_help=False)
    common.add_argument("--db", default=argparse.SUPPRESS, help="base SQLite de la commune")
    common.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="sortie JSON")
    common.add_argument("--lang", choices=("fr", "en"), default=argparse.SUPPRESS, help="langue des messages")
    common.add_argument("--now", default=argparse.SUPPRESS, help="instant d'action (AAAA-MM-JJTHH:MM)")
    common.add_argument("--agent", default=argparse.SUPPRESS, help="identifiant de l'agent")
    return common


def build_parser() -> argparse.ArgumentParser:
    common = _common()
    parser = _Parser(
        prog=_PROG,
        description="Services aux familles d'une commune : réservations, facturation, factures.",
        parents=[common],
    )
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    init = commands.add_parser("init", parents=[common], help="créer la base d'une commune")
    init.add_argument("toml", help="fichier TOML de la commune")
    init.add_argument("--replace", action="store_true", help="remplacer la configuration existante")

    imports = commands.add_parser("import", parents=[common], help="importer un fichier CSV")
    imports.add_argument("kind", choices=("families", "children", "enrolments", "attendance"))
    imports.add_argument("file", help="fichier CSV")

    calendar = commands.add_parser("calendar", parents=[common], help="calendrier d'un enfant")
    calendar.add_argument("child")
    calendar.add_argument("--month", required=True, help="AAAA-MM")
    calendar.add_argument("--service", help="un seul service (par défaut : ceux où l'enfant est inscrit)")

    basket = commands.add_parser("basket", parents=[common], help="valider un panier (JSON ou CSV)")
    basket.add_argument("file")
    basket.add_argument("--family", help="foyer (sinon : celui du fichier)")

    bill = commands.add_parser("bill", parents=[common], help="facturation de fin de mois")
    bill.add_argument("--regie", required=True)
    bill.add_argument("--month", required=True, help="AAAA-MM")
    bill.add_argument("--issued-on", help="date d'émission (par défaut : aujourd'hui)")

    invoices = commands.add_parser("invoices", parents=[common], help="lister ou exporter les factures")
    actions = invoices.add_subparsers(dest="action", required=True, parser_class=_Parser)
    listing = actions.add_parser("list", parents=[common], help="lister les factures")
    export = actions.add_parser("export", parents=[common], help="exporter les factures")
    export.add_argument("--format", choices=("csv", "json", "html"), required=True)
    export.add_argument("--out", required=True, help="dossier de sortie")
    for sub in (listing, export):
        sub.add_argument("--family")
        sub.add_argument("--regie")
        sub.add_argument("--month", help="AAAA-MM")

    pay = commands.add_parser("pay", parents=[common], help="enregistrer un paiement reçu à la régie")
    pay.add_argument("--invoice", action="append", required=True, help="numéro de facture (répétable)")
    pay.add_argument("--amount", required=True, help="montant, par exemple 12,50")
    pay.add_argument(
        "--method",
        choices=("cheque", "especes", "cash", "virement", "transfer", "prelevement", "direct_debit"),
        default="cheque",
    )
    pay.add_argument("--reference", help="référence du paiement (numéro de chèque…)")
    pay.add_argument("--family", help="foyer payeur (par défaut : celui de la première facture)")

    ical = commands.add_parser("ical", parents=[common], help="exporter les réservations d'un enfant (.ics)")
    ical.add_argument("child")
    ical.add_argument("--out", required=True, help="fichier .ics")
    ical.add_argument("--from", dest="start", help="premier jour (par défaut : aujourd'hui)")
    ical.add_argument("--to", dest="end", help="dernier jour (par défaut : un an après)")

    demo = commands.add_parser("demo", parents=[common], help="commune de démonstration facturée")
    demo.add_argument("--out", default="espacefamille-demo", help="dossier de sortie")
    demo.add_argument("--families", type=int, default=400, help="nombre de familles")
    return parser


def _sniff(argv: Sequence[str]) -> tuple[Lang, bool]:
    """The language and format asked, before parsing (so that usage errors are reported in them)."""
    lang: Lang = "fr"
    for index, item in enumerate(argv):
        if item == "--lang=en" or (item == "--lang" and index + 1 < len(argv) and argv[index + 1] == "en"):
            lang = "en"
    return lang, "--json" in argv


def main(argv: Sequence[str] | None = None, *, stdout: IO[str] | None = None) -> int:
    """Run the command with ``argv`` (``sys.argv[1:]`` by default); return its exit code."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    lang, as_json = _sniff(args_list)
    out = Output(lang=lang, as_json=as_json, stdout=stdout)
    parser = build_parser()
    if not args_list or args_list[0] in {"-h", "--help"}:
        parser.print_help(out.stdout)
        return int(ExitCode.OK if args_list else ExitCode.USAGE)
    try:
        args = parser.parse_args(args_list)
    except _UsageError as error:
        if as_json:
            return out.error(ExitCode.USAGE, "cli.usage", str(error), {})
        parser.print_usage(sys.stderr)
        print(_usage(lang, str(error)), file=sys.stderr)
        return int(ExitCode.USAGE)
    except SystemExit as done:  # --help of a subcommand
        return int(done.code or 0)
    for name, default in (
        ("db", os.environ.get("ESPACEFAMILLE_DB", "espacefamille.db")),
        ("json", False),
        ("lang", "fr"),
        ("now", None),
        ("agent", "cli"),
    ):
        if not hasattr(args, name):
            setattr(args, name, default)
    return run(args, Output(lang=args.lang, as_json=args.json, stdout=stdout))


def run(args: argparse.Namespace, out: Output) -> int:
    from ._commands import COMMANDS, Context

    name = args.command + (f" {args.action}" if args.command == "invoices" else "")
    try:
        return int(COMMANDS[name](Context(args, out)))
    except CliError as error:
        return out.cli_error(error)
    except (ImportRejected, InvalidConfiguration) as error:
        return out.library_error(error, ExitCode.USAGE)
    except NotFound as error:
        if error.code == "not_found.commune":
            return out.library_error(error, ExitCode.USAGE)
        return out.library_error(error, ExitCode.REFUSED)
    except EspaceFamilleError as error:
        usage = error.code.startswith("store.")
        return out.library_error(error, ExitCode.USAGE if usage else ExitCode.REFUSED)
    except ModuleNotFoundError as error:
        return out.error(
            ExitCode.MISSING_EXTRA,
            "cli.missing_extra",
            _missing(out.lang, error.name or "?"),
            {"module": error.name},
        )
    except KeyboardInterrupt:
        return out.error(ExitCode.INTERRUPTED, "cli.interrupted", out.pick("Interrompu.", "Interrupted."), {})


def _missing(lang: Lang, module: str) -> str:
    from ._output import text

    return text("missing_extra", lang, module=module)


def _usage(lang: Lang, message: str) -> str:
    from ._output import text

    return text("usage", lang, message=message)
