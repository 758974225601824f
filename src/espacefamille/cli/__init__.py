"""The ``espacefamille`` command: a commune's database, imports, calendars, baskets, billing and invoices.

    espacefamille demo --out demo/      # the main job: a demo commune billed, its invoices written
    espacefamille init saint-aubin.toml --db commune.db
    espacefamille import families familles.csv --db commune.db
    espacefamille bill --regie enfance --month 2026-11 --db commune.db

One SQLite database file per commune (``--db``, default ``$ESPACEFAMILLE_DB`` or ``espacefamille.db``), or
a PostgreSQL URL (``--db postgresql://…``, extra ``postgres``): ``init`` stores the commune under its
collectivité's id, the other subcommands act on ``$ESPACEFAMILLE_COLLECTIVITE``.
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
import errno
import os
import sys
from collections.abc import Iterable, Sequence
from typing import IO, Any, NoReturn

from espacefamille import __version__
from espacefamille.errors import EspaceFamilleError, InvalidConfiguration, NotFound
from espacefamille.interop.imports import ImportRejected

from ._commands import COMMANDS, Context, extra_of
from ._debits import DEBIT_COMMANDS, add_debit_commands
from ._output import CliError, ExitCode, Lang, Output, argparse_message, text
from ._regie_outputs import REGIE_COMMANDS

__all__ = ["ExitCode", "main"]

_PROG = "espacefamille"


class _UsageError(Exception):
    pass


class _Formatter(argparse.HelpFormatter):
    """argparse's help layout, with the usage line's prefix in the run's language."""

    def __init__(self, prog: str, *, lang: Lang) -> None:
        super().__init__(prog)
        self._usage_prefix = text("help.usage", lang)

    def add_usage(
        self,
        usage: str | None,
        actions: Iterable[argparse.Action],
        groups: Iterable[argparse._MutuallyExclusiveGroup],
        prefix: str | None = None,
    ) -> None:
        super().add_usage(usage, actions, groups, self._usage_prefix if prefix is None else prefix)


class _Parser(argparse.ArgumentParser):
    """argparse in the run's language (help texts, headings, usage errors), reporting usage errors to
    ``main`` (in the run's language and format) instead of exiting."""

    def __init__(self, *, lang: Lang = "fr", **kwargs: Any) -> None:
        self.lang: Lang = lang  # before argparse's own set-up, which already formats
        super().__init__(**kwargs)
        self._positionals.title = text("help.positionals", lang)
        self._optionals.title = text("help.options", lang)
        help_action = self._option_string_actions.get("--help")
        if help_action is not None:
            help_action.help = text("help.help", lang)

    def _get_formatter(self) -> argparse.HelpFormatter:
        return _Formatter(self.prog, lang=self.lang)

    def error(self, message: str) -> NoReturn:
        raise _UsageError(argparse_message(message, self.lang))


def _common(lang: Lang) -> _Parser:
    def say(key: str) -> str:
        return text(f"help.{key}", lang)

    common = _Parser(add_help=False, lang=lang)
    common.add_argument("--db", default=argparse.SUPPRESS, help=say("db"))
    common.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help=say("json"))
    common.add_argument("--lang", choices=("fr", "en"), default=argparse.SUPPRESS, help=say("lang"))
    common.add_argument("--now", default=argparse.SUPPRESS, help=say("now"))
    common.add_argument("--agent", default=argparse.SUPPRESS, help=say("agent"))
    return common


def _import_arguments(imports: _Parser, households: _Parser, lang: Lang) -> None:
    """``import KIND FILE``, or ``import --template KIND [--out FILE]`` for an empty file to fill; and
    ``families --out FILE [--excel]``, the households written back as a ``familles`` file."""
    households.add_argument("--out", required=True, help=text("help.families.out", lang))
    households.add_argument("--excel", action="store_true", help=text("help.invoices.excel", lang))
    kinds = ("families", "children", "enrolments", "attendance")
    imports.add_argument("kind", nargs="?", choices=kinds, help=text("help.import.kind", lang))
    imports.add_argument("file", nargs="?", help=text("help.import.file", lang))
    imports.add_argument("--template", choices=kinds, help=text("help.import.template", lang))
    imports.add_argument("--out", help=text("help.import.out", lang))


def _regie_output_arguments(pes: _Parser, attestations: _Parser, lang: Lang) -> None:
    """The options of ``pes`` (the Treasury's file) and ``attestations`` (the families')."""

    def say(key: str) -> str:
        return text(f"help.{key}", lang)

    pes.add_argument("--regie", required=True, help=say("regie"))
    pes.add_argument("--month", required=True, help=say("month"))
    pes.add_argument("--out", required=True, help=say("pes.out"))
    pes.add_argument("--bordereau", type=int, help=say("pes.bordereau"))
    attestations.add_argument("--year", type=int, help=say("attestations.year"))
    attestations.add_argument("--presence", action="store_true", help=say("attestations.presence"))
    attestations.add_argument("--from", dest="start", help=say("attestations.from"))
    attestations.add_argument("--to", dest="end", help=say("attestations.to"))
    attestations.add_argument("--family", help=say("family"))
    attestations.add_argument(
        "--format", choices=("pdf", "html"), default="pdf", help=say("attestations.format")
    )
    attestations.add_argument("--out", required=True, help=say("out_dir"))


def build_parser(lang: Lang = "fr") -> argparse.ArgumentParser:
    """The command's parser, its help and usage errors in ``lang`` (French by default)."""

    def say(key: str) -> str:
        return text(f"help.{key}", lang)

    common = _common(lang)
    parser = _Parser(prog=_PROG, description=say("description"), parents=[common], lang=lang)
    parser.add_argument("--version", action="store_true", help=say("version"))  # answered by main
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    def command(name: str, under: argparse._SubParsersAction[_Parser] = commands) -> _Parser:
        key = name if under is commands else f"invoices.{name}"
        return under.add_parser(name, parents=[common], help=say(key), lang=lang)

    init = command("init")
    init.add_argument("toml", help=say("init.toml"))
    init.add_argument("--replace", action="store_true", help=say("init.replace"))

    _import_arguments(command("import"), command("families"), lang)

    calendar = command("calendar")
    calendar.add_argument("child", help=say("child"))
    calendar.add_argument("--month", required=True, help=say("month"))
    calendar.add_argument("--service", help=say("calendar.service"))

    basket = command("basket")
    basket.add_argument("file", help=say("basket.file"))
    basket.add_argument("--family", help=say("basket.family"))

    bill = command("bill")
    bill.add_argument("--regie", required=True, help=say("regie"))
    bill.add_argument("--month", required=True, help=say("month"))
    bill.add_argument("--issued-on", help=say("bill.issued_on"))
    bill.add_argument("--check", action="store_true", help=say("bill.check"))

    invoices = command("invoices")
    actions = invoices.add_subparsers(dest="action", required=True, parser_class=_Parser)
    listing = command("list", actions)
    export = command("export", actions)
    export.add_argument(
        "--format", choices=("csv", "json", "html", "pdf"), required=True, help=say("invoices.format")
    )
    export.add_argument("--excel", action="store_true", help=say("invoices.excel"))
    export.add_argument("--out", required=True, help=say("out_dir"))
    for sub in (listing, export):
        sub.add_argument("--family", help=say("family"))
        sub.add_argument("--regie", help=say("regie"))
        sub.add_argument("--month", help=say("month"))

    pay = command("pay")
    pay.add_argument("--invoice", action="append", required=True, help=say("pay.invoice"))
    pay.add_argument("--amount", required=True, help=say("pay.amount"))
    pay.add_argument(
        "--method",
        choices=("cheque", "especes", "cash", "virement", "transfer", "prelevement", "direct_debit"),
        default="cheque",
        help=say("pay.method"),
    )
    pay.add_argument("--reference", help=say("pay.reference"))
    pay.add_argument("--family", help=say("pay.family"))

    ical = command("ical")
    ical.add_argument("child", help=say("child"))
    ical.add_argument("--out", required=True, help=say("ical.out"))
    ical.add_argument("--from", dest="start", help=say("ical.from"))
    ical.add_argument("--to", dest="end", help=say("ical.to"))

    _regie_output_arguments(command("pes"), command("attestations"), lang)
    add_debit_commands(commands, [common], _Parser, lang)

    demo = command("demo")
    demo.add_argument("--out", default="espacefamille-demo", help=say("out_dir"))
    demo.add_argument("--families", type=int, default=400, help=say("demo.families"))
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
    parser = build_parser(lang)
    if not args_list or args_list[0] in {"-h", "--help"}:
        parser.print_help(out.stdout)
        return int(ExitCode.OK if args_list else ExitCode.USAGE)
    if "--version" in args_list:
        out.say("version", version=__version__)
        out.document("version", {"version": __version__})
        return int(ExitCode.OK)
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
    name = args.command + (f" {args.action}" if args.command in ("invoices", "mandates", "debits") else "")
    context = Context(args, out)
    try:
        return int((COMMANDS | REGIE_COMMANDS | DEBIT_COMMANDS)[name](context))
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
        module = error.name or "?"
        return out.error(
            ExitCode.MISSING_EXTRA,
            "cli.missing_extra",
            text("missing_extra", out.lang, module=module, extra=extra_of(module)),
            {"module": module, "extra": extra_of(module)},
        )
    except OSError as error:
        # A file or folder the system refuses: said in the run's language, never Python's own text.
        path = error.filename or "?"
        reason = _OS_REASONS.get(error.errno or 0, ("erreur du système", "system error"))
        return out.error(
            ExitCode.USAGE,
            "cli.file.unwritable",
            text("file.unwritable", out.lang, path=path, reason=reason[0 if out.lang == "fr" else 1]),
            {"path": str(path)},
        )
    except KeyboardInterrupt:
        return out.error(ExitCode.INTERRUPTED, "cli.interrupted", out.pick("Interrompu.", "Interrupted."), {})
    finally:
        context.close()  # a PostgreSQL store's pool


_OS_REASONS = {
    errno.EACCES: ("accès refusé", "permission denied"),
    errno.EPERM: ("accès refusé", "permission denied"),
    errno.ENOENT: ("dossier ou fichier introuvable", "no such file or folder"),
    errno.ENOTDIR: (
        "un fichier se trouve là où un dossier est attendu",
        "a file stands where a folder is expected",
    ),
    errno.EISDIR: ("c'est un dossier", "it is a folder"),
    errno.ENOSPC: ("le disque est plein", "the disk is full"),
    errno.EROFS: ("le disque est en lecture seule", "the disk is read-only"),
    errno.EFBIG: ("le fichier dépasse la taille permise", "the file is larger than allowed"),
    errno.EDQUOT: ("le quota du disque est atteint", "the disk quota is reached"),
}


def _usage(lang: Lang, message: str) -> str:
    return text("usage", lang, message=message)
