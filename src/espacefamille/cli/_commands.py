"""The subcommands of ``espacefamille``: each reads its arguments, calls the library, and reports.

Back-office calls are made as the commune's administrator (``--agent``), through ``BackOffice`` and
``FamilyPortal`` on the SQLite store of ``--db``; time comes from ``--now`` (the commune's local time) or
the machine's clock.

Why one module of some 1,050 lines: every subcommand is a short function of the same shape (parse, call
one service, print through ``_output``); split by subcommand, each file would repeat the same imports and
helpers for thirty lines of its own.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import errno
import importlib.util
import io
import json
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Sequence
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING

from espacefamille.adapters.fake_gateway import FakeGateway
from espacefamille.adapters.sqlite import SqliteStore
from espacefamille.billing.documents import Allocation, Invoice, PaymentMethod
from espacefamille.billing.mandates import FamilyMandate, Mandate
from espacefamille.calendar.opening import ClosedBecause
from espacefamille.calendar.periods import DateRange
from espacefamille.calendar.timezones import time_zone
from espacefamille.commune import Commune
from espacefamille.config import load_commune
from espacefamille.demo.city import DEMO_ISSUED_ON, DemoCity, build_demo_city
from espacefamille.errors import InvalidInput, NotFound
from espacefamille.families.accounts import Agent, AgentRole
from espacefamille.interop.imports import (
    CsvKind,
    attendance_from_csv,
    children_from_csv,
    csv_header,
    csv_template,
    enrolments_from_csv,
    families_csv,
    families_from_csv,
    read_date,
)
from espacefamille.interop.tables import (
    EXCEL_FR,
    STANDARD,
    invoice_json,
    invoice_record,
    invoices_csv,
    lines_csv,
)
from espacefamille.model import Booking, BookingStatus, Child, Family, PaymentMode
from espacefamille.money import Money
from espacefamille.ports import Clock, CommuneStore, FixedClock, SystemClock, UnitOfWork
from espacefamille.rules.basket import Action, BasketLine
from espacefamille.rules.calendar_view import CalendarView
from espacefamille.services import BackOffice, FamilyPortal, transact
from espacefamille.services.debits import mandate_in_force

if TYPE_CHECKING:
    from espacefamille.adapters.postgres import PostgresStore
from espacefamille.text import format_date, month_name

from ._output import CliError, ExitCode, Output, text

__all__ = ["COMMANDS", "Context", "extra_of", "require"]

_ISO_MONTH = re.compile(r"^(?P<year>\d{4})-(?P<month>\d{1,2})$")
_FRENCH_MONTH = re.compile(r"^(?P<month>\d{1,2})/(?P<year>\d{4})$")
# An instant as an agent types it: a French or ISO date, then (after a space or a T) HH:MM or 9h30.
_INSTANT = re.compile(r"^(?P<day>[\d/-]+)(?:[ T]+(?P<hour>\d{1,2})[:h](?P<minute>\d{2})?)?$")


# -- shared parsing ----------------------------------------------------------------------------------


def parse_month(value: str) -> DateRange:
    """``11/2026`` or ``2026-11``."""
    match = _ISO_MONTH.match(value.strip()) or _FRENCH_MONTH.match(value.strip())
    if match is None or not 1 <= int(match["month"]) <= 12:
        raise CliError(ExitCode.USAGE, "month.bad", value=value)
    return DateRange.month(int(match["year"]), int(match["month"]))


def parse_date(value: str) -> dt.date:
    """``12/11/2026`` or ``2026-11-12``."""
    day = read_date(value)
    if day is None:
        raise CliError(ExitCode.USAGE, "date.bad", value=value)
    return day


def parse_instant(value: str) -> dt.datetime:
    """``05/11/2026 09:00``, ``05/11/2026 9h``, ``2026-11-05T09:00`` (or a date alone: midnight); naive."""
    match = _INSTANT.match(value.strip())
    day = None if match is None else read_date(match["day"])
    if match is None or day is None:
        try:
            return dt.datetime.fromisoformat(value.strip())
        except ValueError:
            raise CliError(ExitCode.USAGE, "now.bad", value=value) from None
    hour, minute = int(match["hour"] or 0), int(match["minute"] or 0)
    if hour > 23 or minute > 59:
        raise CliError(ExitCode.USAGE, "now.bad", value=value)
    return dt.datetime.combine(day, dt.time(hour, minute))


def parse_amount(value: str) -> Money:
    try:
        return Money(Decimal(value.strip().replace(",", ".").replace("€", "").strip()))
    except (InvalidOperation, InvalidInput):
        raise CliError(ExitCode.USAGE, "amount.bad", value=value) from None


def month_title(period: DateRange, lang: str) -> str:
    """``novembre 2026`` (``November 2026`` in English): the month a period starts in."""
    return f"{month_name(period.start.month, 'en' if lang == 'en' else 'fr')} {period.start.year}"


def read_file(path: str) -> bytes:
    file = Path(path)
    if not file.is_file():
        raise CliError(ExitCode.USAGE, "file.missing", path=path)
    try:
        return file.read_bytes()
    except OSError:
        raise CliError(ExitCode.USAGE, "file.unreadable", path=path) from None


# The optional extra that brings each optional library.
_EXTRAS = {
    "jinja2": "cli",
    "icalendar": "cli",
    "rich": "cli",
    "weasyprint": "pdf",
    "psycopg": "postgres",
    "psycopg_pool": "postgres",
    "schwifty": "sepa",
}


def require(*modules: str) -> None:
    """Refuse at once, before any work, when an optional library a command needs is not installed."""
    for module in modules:
        if importlib.util.find_spec(module) is None:
            raise CliError(ExitCode.MISSING_EXTRA, "missing_extra", module=module, extra=extra_of(module))


def extra_of(module: str) -> str:
    """The optional extra to install for ``module``."""
    return _EXTRAS.get(module, "cli")


def is_postgres(db: str) -> bool:
    """Whether ``--db`` names a PostgreSQL database (``postgresql://…``) rather than an SQLite file."""
    return db.startswith(("postgresql://", "postgres://"))


def postgres_store(url: str, collectivite_id: str | None = None) -> PostgresStore:
    """The store of collectivité ``collectivite_id`` (else ``$ESPACEFAMILLE_COLLECTIVITE``) in the PostgreSQL
    database ``url`` (extra "postgres")."""
    require("psycopg", "psycopg_pool")
    from espacefamille.adapters.postgres import PostgresStore  # noqa: PLC0415 (optional extra "postgres": imported only when used)

    chosen = collectivite_id or os.environ.get("ESPACEFAMILLE_COLLECTIVITE")
    if not chosen:
        raise CliError(ExitCode.USAGE, "db.no_collectivite", path=db_label(url))
    return PostgresStore(url, chosen, pool_size=2)


def db_label(db: str) -> str:
    """``--db`` as messages show it: a PostgreSQL URL without its password."""
    return re.sub(r"^(postgres(?:ql)?://[^:@/]*):[^@/]*@", r"\1@", db)


def write_bytes(path: Path, data: bytes) -> None:
    """Write a whole file, its folder made if needed: into a temporary file beside it, renamed over it once
    complete, so that a write that fails (disk full, file too large) leaves no partial file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
        os.chmod(temporary, 0o666 & ~_umask())  # as an ordinary file would be, not mkstemp's 0600
        os.replace(temporary, path)
    except OSError as error:
        Path(temporary).unlink(missing_ok=True)
        if error.filename is None:
            error.filename = str(path)  # said to the user: the file it was writing
        raise


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def writable_folder(folder: Path) -> Path:
    """``folder`` (an ``--out``), made if needed and proven writable before any work: a file is created
    there and removed. The system's refusal is the ``OSError`` ``run`` says in one French line."""
    if folder.exists() and not folder.is_dir():
        raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), str(folder))
    folder.mkdir(parents=True, exist_ok=True)
    try:
        handle, probe = tempfile.mkstemp(dir=folder, prefix=".espacefamille-")
    except OSError as error:
        error.filename = str(folder)
        raise
    os.close(handle)
    os.unlink(probe)
    return folder


def writable_file(path: Path) -> Path:
    """``path`` (an ``--out`` file) if it can be written, checked before any work (``writable_folder``)."""
    if path.is_dir():
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(path))
    writable_folder(path.parent)
    return path


# -- the run's context -------------------------------------------------------------------------------


class Context:
    """What every subcommand needs: its arguments, its output, the store, the commune, a clock, the agent."""

    def __init__(self, args: argparse.Namespace, out: Output) -> None:
        self.args = args
        self.out = out
        self._store: CommuneStore | None = None
        self._commune: Commune | None = None
        self._closing: list[Callable[[], None]] = []

    @property
    def db(self) -> Path:
        return Path(self.args.db)

    @property
    def db_label(self) -> str:
        return db_label(self.args.db) if is_postgres(self.args.db) else str(self.db)

    def open(self, collectivite_id: str | None = None) -> CommuneStore:
        """The store of ``--db``: an SQLite file (created if missing), or a PostgreSQL URL (see
        ``postgres_store``), closed when the command ends."""
        if not is_postgres(self.args.db):
            return SqliteStore(self.db)
        store = postgres_store(self.args.db, collectivite_id)
        self._closing.append(store.close)
        return store

    def close(self) -> None:
        while self._closing:
            self._closing.pop()()

    @property
    def store(self) -> CommuneStore:
        if self._store is None:
            if not is_postgres(self.args.db) and not self.db.is_file():
                raise CliError(ExitCode.USAGE, "db.missing", path=str(self.db))
            self._store = self.open()
        return self._store

    @property
    def commune(self) -> Commune:
        if self._commune is None:
            self._commune = transact(self.store, lambda uow: uow.commune())
        return self._commune

    @property
    def clock(self) -> Clock:
        zone = self.commune.collectivite.timezone
        value: str | None = self.args.now
        if value is None:
            return SystemClock(zone)
        instant = parse_instant(value)
        if instant.tzinfo is None:
            instant = instant.replace(tzinfo=time_zone(zone))
        return FixedClock(instant)

    @property
    def agent(self) -> Agent:
        return Agent(self.args.agent, self.commune.collectivite.id, AgentRole.ADMINISTRATEUR)

    def back_office(self) -> BackOffice:
        return BackOffice(self.store, clock=self.clock)

    def portal(self) -> FamilyPortal:
        # The command line has no online payment: prepaid lines are held and a (fake) payment is created,
        # as the portal would redirect a family to PayFiP; the holds expire if nobody pays.
        return FamilyPortal(self.store, gateway=FakeGateway(), clock=self.clock)


# -- init --------------------------------------------------------------------------------------------


def cmd_init(ctx: Context) -> int:
    args, out = ctx.args, ctx.out
    if not Path(args.toml).is_file():
        raise CliError(ExitCode.USAGE, "file.missing", path=args.toml)
    commune = load_commune(args.toml)
    store = ctx.open(commune.collectivite.id)

    def work(uow: UnitOfWork) -> None:
        try:
            existing = uow.commune()
        except NotFound:
            existing = None
        if existing is not None and not args.replace:
            raise CliError(
                ExitCode.REFUSED, "db.has_commune", path=ctx.db_label, name=existing.collectivite.name
            )
        uow.save_commune(commune)

    transact(store, work)
    words = {
        "name": commune.collectivite.name,
        "path": ctx.db_label,
        "services": len(commune.services),
        "regies": len(commune.regies),
    }
    out.say("init.done", **words)
    out.document(
        "init",
        {
            "db": ctx.db_label,
            "collectivite": commune.collectivite.id,
            "name": commune.collectivite.name,
            "services": [s.id for s in commune.services],
            "regies": [r.id for r in commune.regies],
        },
    )
    return ExitCode.OK


# -- import ------------------------------------------------------------------------------------------


_KIND_WORDS = {  # (French one, French many), (English one, English many)
    "families": (("foyer", "foyers"), ("family", "families")),
    "children": (("enfant", "enfants"), ("child", "children")),
    "enrolments": (("inscription", "inscriptions"), ("enrolment", "enrolments")),
    "attendance": (("pointage", "pointages"), ("attendance fact", "attendance facts")),
}


_CSV_KINDS = {
    "families": CsvKind.FAMILIES,
    "children": CsvKind.CHILDREN,
    "enrolments": CsvKind.ENROLMENTS,
    "attendance": CsvKind.ATTENDANCE,
}


def _template(ctx: Context) -> int:
    """``import --template KIND [--out FILE]``: an empty file of a kind, for Excel, or its header printed."""
    args, out = ctx.args, ctx.out
    if args.kind is not None or args.file is not None:
        raise CliError(ExitCode.USAGE, "import.template_alone")
    kind = _CSV_KINDS[args.template]
    columns = [column.name for column in kind.columns]
    if args.out:
        write_bytes(writable_file(Path(args.out)), csv_template(kind).encode("utf-8"))
        out.say("import.template_done", kind=kind.value, path=args.out)
    else:
        out.line(csv_header(kind))
    out.document("import template", {"kind": args.template, "file": args.out, "columns": columns})
    return ExitCode.OK


def cmd_families(ctx: Context) -> int:
    """``families --out FILE [--excel]``: the households as a ``familles`` file, which imports back."""
    args, out = ctx.args, ctx.out
    target = writable_file(Path(args.out))  # before reading anything
    families = transact(ctx.store, lambda uow: list(uow.families.all()))
    write_bytes(target, families_csv(families, EXCEL_FR if args.excel else STANDARD).encode("utf-8"))
    out.say("families.done", count=len(families), path=args.out)
    out.document("families", {"file": args.out, "families": len(families)})
    return ExitCode.OK


def cmd_import(ctx: Context) -> int:
    if ctx.args.template:
        return _template(ctx)
    if ctx.args.kind is None or ctx.args.file is None:
        raise CliError(ExitCode.USAGE, "import.no_file")
    return _import(ctx)


def _import(ctx: Context) -> int:
    args, out = ctx.args, ctx.out
    data = read_file(args.file)
    commune = ctx.commune
    source = Path(args.file).name
    problems: list[str] = []
    lang = out.lang
    what_fr, what_en = ("enfant", "child") if args.kind == "children" else ("inscription", "enrolment")
    what = what_fr if lang == "fr" else what_en

    def problem(key: str, **words: object) -> None:

        problems.append(text(key, lang, what=what, **words))

    if args.kind == "families":
        families = families_from_csv(data, source=source)

        def save(uow: UnitOfWork) -> int:
            for family in families:
                uow.families.save(family)
            return len(families)

    elif args.kind == "children":
        children = children_from_csv(data, source=source)

        def save(uow: UnitOfWork) -> int:
            for child in children:
                for family_id in child.family_ids:
                    try:
                        uow.families.get(family_id)
                    except NotFound:
                        problem("import.unknown_family", id=child.id, family=family_id)
            if problems:
                raise CliError(ExitCode.USAGE, "import.reference", path=source, problems="; ".join(problems))
            for child in children:
                uow.families.save_child(child)
            return len(children)

    elif args.kind == "enrolments":
        enrolments = enrolments_from_csv(data, commune=commune, source=source)

        def save(uow: UnitOfWork) -> int:
            for enrolment in enrolments:
                try:
                    child = uow.families.child(enrolment.child_id)
                except NotFound:
                    problem("import.unknown_child", id=enrolment.id, child=enrolment.child_id)
                    continue
                if enrolment.family_id not in child.family_ids:
                    problem(
                        "import.child_family", id=enrolment.id, child=child.id, family=enrolment.family_id
                    )
            if problems:
                raise CliError(ExitCode.USAGE, "import.reference", path=source, problems="; ".join(problems))
            for enrolment in enrolments:
                uow.families.save_enrolment(enrolment)
            return len(enrolments)

    else:
        facts = attendance_from_csv(data, commune=commune, recorded_by=args.agent, source=source)

        def save(uow: UnitOfWork) -> int:
            for fact in facts:
                try:
                    uow.families.child(fact.child_id)
                except NotFound:
                    problem("import.unknown_child", id=fact.child_id, child=fact.child_id)
            if problems:
                raise CliError(ExitCode.USAGE, "import.reference", path=source, problems="; ".join(problems))
            return -1

        # Attendance goes through the back office (one unit of work, stamped with the agent and the time).
        transact(ctx.store, save)
        recorded = ctx.back_office().record_attendance(ctx.agent, facts)
        return _imported(ctx, len(recorded))

    count = transact(ctx.store, save)
    return _imported(ctx, count)


def _imported(ctx: Context, count: int) -> int:
    args, out = ctx.args, ctx.out
    fr, en = _KIND_WORDS[args.kind]
    one, many = fr if out.lang == "fr" else en
    out.say("import.done", count=count, one=one, many=many, path=args.file)
    out.document("import", {"kind": args.kind, "file": args.file, "imported": count})
    return ExitCode.OK


# -- calendar ----------------------------------------------------------------------------------------


def cmd_calendar(ctx: Context) -> int:
    args, out = ctx.args, ctx.out
    if not out.as_json:
        require("rich")
    period = parse_month(args.month)
    commune = ctx.commune
    child_id: str = args.child

    def services(uow: UnitOfWork) -> tuple[str, ...]:
        uow.families.child(child_id)
        enrolled = {e.service_id for e in uow.families.enrolments_of(child_id)}
        return tuple(s.id for s in commune.services if s.id in enrolled)

    chosen: tuple[str, ...] = (args.service,) if args.service else transact(ctx.store, services)
    if not chosen:
        raise CliError(ExitCode.REFUSED, "calendar.no_service", child=child_id)
    portal = ctx.portal()
    views = [portal.calendar(ctx.agent, child_id, service_id, period) for service_id in chosen]
    out.document(
        "calendar",
        {
            "child": child_id,
            "month": args.month,
            "services": list(chosen),
            "cells": [
                {
                    "date": cell.day.isoformat(),
                    "prestation": cell.prestation_id,
                    "code": cell.code,
                    "label": cell.label,
                    "sentence": cell.sentence,
                    "invoice": cell.invoice,
                }
                for view in views
                for cell in view.cells
            ],
        },
    )
    if not out.as_json:
        _print_calendar(ctx, views, period)
    return ExitCode.OK


def _print_calendar(ctx: Context, views: Sequence[CalendarView], period: DateRange) -> None:
    from rich import box  # noqa: PLC0415 (optional extra "cli": imported only when used)
    from rich.console import Console  # noqa: PLC0415 (optional extra "cli": imported only when used)
    from rich.table import Table  # noqa: PLC0415 (optional extra "cli": imported only when used)
    from rich.text import Text  # noqa: PLC0415 (optional extra "cli": imported only when used)

    out, commune = ctx.out, ctx.commune
    prestations = [p for view in views for p in view.prestation_ids]
    table = Table(
        title=f"{ctx.args.child} — {month_title(period, out.lang)}",
        box=box.SIMPLE_HEAVY,
        show_lines=False,
    )
    table.add_column(out.pick("Jour", "Day"), no_wrap=True)
    for prestation_id in prestations:
        table.add_column(commune.prestation(prestation_id).name, overflow="fold")
    for day in period:
        cells = [view.cell(pid, day) for view in views for pid in view.prestation_ids]
        if all(c.opening.reason is ClosedBecause.WEEKDAY for c in cells):
            continue
        if day.weekday() == 0 and table.row_count:
            table.add_section()
        labels = [
            Text(
                c.label if out.lang == "fr" else c.state.value.replace("_", " "), style=_style(c.state.value)
            )
            for c in cells
        ]
        table.add_row(format_date(day, out.lang), *labels)
    console = Console(file=out.stdout, width=max(100, 28 + 24 * len(prestations)), highlight=False)
    console.print(table)


def _style(state: str) -> str:
    if state in {"booked", "present", "invoiced", "held"}:
        return "green"
    if state.startswith("absent") or state in {"too_late", "waiting_list"}:
        return "yellow"
    if state.startswith("bookable"):
        return "cyan"
    return "dim"


# -- basket ------------------------------------------------------------------------------------------


_ACTIONS = {"book": Action.BOOK, "reserver": Action.BOOK, "réserver": Action.BOOK, "cancel": Action.CANCEL,
            "annuler": Action.CANCEL}  # fmt: skip


def _basket_text(path: str, raw: bytes) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        if path.lower().endswith(".json"):
            raise CliError(ExitCode.USAGE, "basket.encoding", path=path) from None
        return raw.decode("cp1252", errors="replace")


def _basket_rows(path: str, text: str) -> tuple[str | None, list[object], int]:
    """The rows of a JSON or CSV basket, the family it names, and the number of the first row's line."""
    if not path.lower().endswith(".json"):
        header = text.splitlines()[0] if text else ""
        delimiter = ";" if header.count(";") >= header.count(",") else ","
        return None, list(csv.DictReader(io.StringIO(text), delimiter=delimiter)), 2
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise CliError(ExitCode.USAGE, "basket.json", path=path, line=error.lineno) from None
    if isinstance(document, dict) and isinstance(document.get("lines", []), list):
        family = document.get("family")
        return None if family is None else str(family), document.get("lines", []), 1
    if isinstance(document, list):
        return None, document, 1
    raise CliError(ExitCode.USAGE, "basket.shape", path=path)


def _basket_lines(path: str, raw: bytes) -> tuple[str | None, list[BasketLine]]:
    """A basket from a JSON file (``{"family": …, "lines": [{action, child, prestation, date}…]}``) or a CSV
    file (header ``action;enfant;prestation;date``); dates ``16/11/2026`` or ``2026-11-16``. A line that
    cannot be read stops the whole basket, with its number and what is wrong, in one sentence."""
    family, rows, first = _basket_rows(path, _basket_text(path, raw))
    lines = []
    for number, row in enumerate(rows, start=first):
        if not isinstance(row, dict):
            raise CliError(ExitCode.USAGE, "basket.shape", path=path)
        cells = {str(key).strip().lower(): str(value or "").strip() for key, value in row.items()}

        def cell(*names: str, number: int = number, cells: dict[str, str] = cells) -> str:
            value = next((cells[name] for name in names if cells.get(name)), "")
            if not value:
                raise CliError(ExitCode.USAGE, "basket.missing", path=path, line=number, column=names[0])
            return value

        action = cells.get("action") or "book"
        if action.lower() not in _ACTIONS:
            raise CliError(ExitCode.USAGE, "basket.action", path=path, line=number, value=action)
        child, prestation, written = cell("enfant", "child"), cell("prestation"), cell("date", "day")
        day = read_date(written)
        if day is None:
            raise CliError(ExitCode.USAGE, "basket.date", path=path, line=number, value=written)
        lines.append(BasketLine(_ACTIONS[action.lower()], child, prestation, day))
        if family is None and (cells.get("famille") or cells.get("family")):
            family = cells.get("famille") or cells.get("family")
    return family, lines


def cmd_basket(ctx: Context) -> int:
    args, out = ctx.args, ctx.out
    raw = read_file(args.file)
    family, lines = _basket_lines(args.file, raw)
    family_id = args.family or family
    if not family_id:
        raise CliError(ExitCode.USAGE, "basket.no_family", path=args.file)
    outcome = ctx.portal().validate_basket(ctx.agent, family_id, lines)
    refused = len(outcome.refused)
    for decision in outcome.decisions:
        mark = "✗" if decision.is_refused else "✓"
        out.line(f"{mark} {decision.explain(out.lang)}")
    for to_pay in outcome.to_pay:
        out.line(f"€ {to_pay.message_fr}")
    out.say("basket.summary", accepted=len(outcome.decisions) - refused, refused=refused)
    out.document(
        "basket",
        {
            "family": family_id,
            "decisions": [
                {
                    "action": d.line.action.value,
                    "child": d.line.child_id,
                    "prestation": d.line.prestation_id,
                    "date": d.line.day.isoformat(),
                    "outcome": d.outcome.value,
                    "code": d.code,
                    "message": d.explain(out.lang),
                    "deadline": None if d.deadline is None else d.deadline.isoformat(),
                    "waiting_position": d.position,
                }
                for d in outcome.decisions
            ],
            "to_pay": [str(t.total.amount) for t in outcome.to_pay],
            "credit_notes": [n.number for n in outcome.credit_notes],
            "refused": refused,
        },
        ok=refused == 0,
    )
    return ExitCode.REFUSED if refused else ExitCode.OK


# -- bill --------------------------------------------------------------------------------------------


def cmd_bill(ctx: Context) -> int:
    args, out = ctx.args, ctx.out
    month = parse_month(args.month)
    issued_on = parse_date(args.issued_on) if args.issued_on else None
    if args.check:
        return check_bill(ctx, args.regie, month, issued_on)
    summary = bill(ctx, args.regie, month, issued_on)
    out.document("bill", summary)
    return ExitCode.OK


def check_bill(ctx: Context, regie_id: str, month: DateRange, issued_on: dt.date | None) -> int:
    """``bill --check``: every day of the month that cannot be priced, with its reason; nothing billed."""
    out = ctx.out
    ctx.commune.regie(regie_id)
    check = ctx.back_office().check_month_end(ctx.agent, regie_id, month, issued_on=issued_on)
    count = check.families
    read = out.pick(
        "1 famille vérifiée" if count == 1 else f"{count} familles vérifiées",
        "1 family read" if count == 1 else f"{count} families read",
    )
    words = {"month": month_title(month, out.lang), "read": read}
    if check.ok:
        out.say("bill.check_ok", **words)
    else:
        out.say("bill.check_problems", **words, count=len(check.problems), concerned=check.families_concerned)
        for problem in check.problems:
            out.line(
                f"  {problem.family_id} · {problem.child_id} · {problem.prestation_id} · "
                f"{problem.day.isoformat()} · {problem.code} · {problem.message_fr}"
            )
    out.document(
        "bill",
        {
            "regie": regie_id,
            "month": month.start.strftime("%Y-%m"),
            "check": True,
            "code": check.code,
            "families": check.families,
            "message": check.message_fr,
            "problems": [
                {
                    "family": problem.family_id,
                    "child": problem.child_id,
                    "prestation": problem.prestation_id,
                    "date": problem.day.isoformat(),
                    "code": problem.code,
                    "message": problem.message_fr,
                }
                for problem in check.problems
            ],
        },
        ok=check.ok,
    )
    return ExitCode.OK if check.ok else ExitCode.REFUSED


def bill(ctx: Context, regie_id: str, month: DateRange, issued_on: dt.date | None) -> dict[str, object]:
    """Run month-end billing of a régie and say what it issued; the summary as a JSON-safe dict."""
    out, commune = ctx.out, ctx.commune
    commune.regie(regie_id)
    month_end = [
        p
        for s in commune.services
        if s.regie_id == regie_id
        for p in s.prestations
        if p.payment_mode is PaymentMode.MONTH_END
    ]
    words: dict[str, object] = {"regie": regie_id, "month": month_title(month, out.lang)}
    if not month_end:
        out.say("bill.prepaid_only", **words)
        return {
            "regie": regie_id,
            "month": month.start.strftime("%Y-%m"),
            "invoices": 0,
            "prepaid_only": True,
        }
    with out.progress(_text("bill.running", out, **words)) as advance:
        report = ctx.back_office().run_month_end(
            ctx.agent, regie_id, month, issued_on=issued_on, progress=advance, pause_collector=True
        )
    out.say(
        "bill.summary",
        **words,
        invoices=report.invoices,
        total=report.total_invoiced.format(out.lang),
        credits=report.credit_notes,
        credited=report.total_credited.format(out.lang),
        carried=report.carried,
        carried_total=report.total_carried.format(out.lang),
    )
    for sentence in report.credits_applied:
        out.line(f"  {sentence}")
    # A city's run is reported in figures; its documents are listed by ``invoices list``.
    return {
        "regie": regie_id,
        "month": month.start.strftime("%Y-%m"),
        "families": report.families,
        "invoices": report.invoices,
        "invoice_numbers": None if report.invoice_numbers is None else list(report.invoice_numbers),
        "invoiced_total": str(report.total_invoiced.amount),
        "credit_notes": report.credit_notes,
        "credit_note_numbers": (
            None if report.credit_note_numbers is None else list(report.credit_note_numbers)
        ),
        "credited_total": str(report.total_credited.amount),
        "carried": report.carried,
        "carried_total": str(report.total_carried.amount),
        "credits_applied": list(report.credits_applied),
    }


def _text(key: str, out: Output, **words: object) -> str:

    return text(key, out.lang, **words)


# -- invoices ----------------------------------------------------------------------------------------


def _documents(
    ctx: Context, *, family: str | None = None, regie: str | None = None, month: DateRange | None = None
) -> list[tuple[Family, Invoice, tuple[Allocation, ...]]]:
    def work(uow: UnitOfWork) -> list[tuple[Family, Invoice, tuple[Allocation, ...]]]:
        families = [uow.families.get(family)] if family else list(uow.families.all())
        found = []
        for household in families:
            invoices = uow.documents.invoices_of(household.id)
            if not invoices:
                continue
            allocations = uow.documents.allocations_of(household.id)
            for invoice in invoices:
                if regie and invoice.regie_id != regie:
                    continue
                if month and not (month.start <= invoice.period.start <= month.end):
                    continue
                found.append((household, invoice, allocations))
        return sorted(found, key=lambda item: item[1].number)

    return transact(ctx.store, work)


def _filtered(ctx: Context) -> list[tuple[Family, Invoice, tuple[Allocation, ...]]]:
    args = ctx.args
    month = parse_month(args.month) if args.month else None
    return _documents(ctx, family=args.family, regie=args.regie, month=month)


def cmd_invoices_list(ctx: Context) -> int:

    out = ctx.out
    if not out.as_json:
        require("rich")
    documents = _filtered(ctx)
    records = [invoice_record(invoice, allocations) for _, invoice, allocations in documents]
    out.document("invoices list", {"invoices": records})
    if out.as_json:
        return ExitCode.OK
    if not records:
        out.say("invoices.none")
        return ExitCode.OK
    from rich import box  # noqa: PLC0415 (optional extra "cli": imported only when used)
    from rich.console import Console  # noqa: PLC0415 (optional extra "cli": imported only when used)
    from rich.table import Table  # noqa: PLC0415 (optional extra "cli": imported only when used)

    table = Table(box=box.SIMPLE)
    headers = out.pick(
        "Numéro Foyer Période Émise Échéance Total Reste", "Number Family Period Issued Due Total Left"
    )
    for index, header in enumerate(headers.split()):
        table.add_column(header, justify="right" if index >= 5 else "left", no_wrap=True)
    for family, invoice, allocations in documents:
        record = invoice_record(invoice, allocations)
        table.add_row(
            invoice.number,
            family.id,
            f"{invoice.period.start:%d/%m} → {invoice.period.end:%d/%m/%Y}",
            f"{invoice.issued_on:%d/%m/%Y}",
            f"{invoice.due_on:%d/%m/%Y}",
            invoice.total.format(out.lang),
            Money(str(record["remaining"])).format(out.lang),
        )
    Console(file=out.stdout, width=120, highlight=False).print(table)
    out.say("invoices.count", count=len(records))
    return ExitCode.OK


_FORMAT_NEEDS = {"html": ("jinja2",), "pdf": ("jinja2", "weasyprint")}


def export_invoices(
    ctx: Context,
    documents: Sequence[tuple[Family, Invoice, tuple[Allocation, ...]]],
    fmt: str,
    target: Path,
    *,
    excel: bool = False,
) -> list[Path]:
    """Write ``documents`` to ``target`` in ``fmt``; the files written. ``excel``: CSV for a French Excel."""

    writable_folder(target)
    invoices = [invoice for _, invoice, _ in documents]
    allocations = {a for _, _, items in documents for a in items}
    if fmt == "csv":
        dialect = EXCEL_FR if excel else STANDARD
        first, second = target / "factures.csv", target / "lignes-factures.csv"
        write_bytes(first, invoices_csv(invoices, allocations, dialect=dialect).encode("utf-8"))
        write_bytes(second, lines_csv(invoices, dialect=dialect).encode("utf-8"))
        return [first, second]
    if fmt == "json":
        path = target / "factures.json"
        items = [invoice_json(invoice, allocations) for _, invoice, allocations in documents]
        write_bytes(path, json.dumps(items, ensure_ascii=False, indent=2).encode("utf-8"))
        return [path]
    from espacefamille.interop.invoice_html import render_invoice_html  # noqa: PLC0415 (optional extra "cli": imported only when used)

    commune = ctx.commune
    debited_under = _mandates_of(
        ctx, [invoice for invoice in invoices if invoice.direct_debit_on is not None]
    )
    written = []
    if fmt == "pdf":
        from espacefamille.interop.invoice_pdf import render_invoice_pdf  # noqa: PLC0415 (optional extra "pdf": imported only when used)

        for family, invoice, family_allocations in _progress(ctx, documents):
            path = target / f"{invoice.number}.pdf"
            mandate = debited_under(invoice)
            write_bytes(
                path,
                render_invoice_pdf(invoice, commune, family, allocations=family_allocations, mandate=mandate),
            )
            written.append(path)
        return written
    for family, invoice, family_allocations in _progress(ctx, documents):
        path = target / f"{invoice.number}.html"
        mandate = debited_under(invoice)
        html = render_invoice_html(invoice, commune, family, allocations=family_allocations, mandate=mandate)
        write_bytes(path, html.encode("utf-8"))
        written.append(path)
    return written


def _mandates_of(ctx: Context, debited: Sequence[Invoice]) -> Callable[[Invoice], Mandate | None]:
    """The SEPA mandate each invoice on direct debit is collected under (what its page names), read once."""
    family_ids = sorted({invoice.family_id for invoice in debited})

    def work(uow: UnitOfWork) -> dict[str, tuple[FamilyMandate, ...]]:
        return {family_id: uow.mandates.of_family(family_id) for family_id in family_ids}

    mandates = transact(ctx.store, work) if family_ids else {}

    def mandate_of(invoice: Invoice) -> Mandate | None:
        if invoice.direct_debit_on is None:
            return None
        kept = mandate_in_force(mandates.get(invoice.family_id, ()), invoice.regie_id, invoice.issued_on)
        return None if kept is None else kept.mandate

    return mandate_of


def _progress(
    ctx: Context, items: Sequence[tuple[Family, Invoice, tuple[Allocation, ...]]]
) -> list[tuple[Family, Invoice, tuple[Allocation, ...]]]:
    if not ctx.out.interactive or len(items) < 50:
        return list(items)
    from rich.console import Console  # noqa: PLC0415 (optional extra "cli": imported only when used)
    from rich.progress import track  # noqa: PLC0415 (optional extra "cli": imported only when used)

    return list(
        track(items, description=_text("export.writing", ctx.out), console=Console(file=ctx.out.stderr))
    )


def cmd_invoices_export(ctx: Context) -> int:
    args, out = ctx.args, ctx.out
    require(*_FORMAT_NEEDS.get(args.format, ()))
    writable_folder(Path(args.out))  # before reading anything
    documents = _filtered(ctx)
    written = export_invoices(ctx, documents, args.format, Path(args.out), excel=args.excel)
    out.say("export.done", count=len(documents), out=args.out, format=args.format)
    data: dict[str, object] = {"format": args.format, "count": len(documents)}
    if args.format == "csv":
        data["dialect"] = "excel-fr" if args.excel else "standard"
    out.document("invoices export", {**data, "files": [str(p) for p in written]})
    return ExitCode.OK


# -- pay ---------------------------------------------------------------------------------------------


_METHODS = {
    "cheque": PaymentMethod.CHEQUE,
    "especes": PaymentMethod.CASH,
    "cash": PaymentMethod.CASH,
    "virement": PaymentMethod.TRANSFER,
    "transfer": PaymentMethod.TRANSFER,
    "prelevement": PaymentMethod.DIRECT_DEBIT,
    "direct_debit": PaymentMethod.DIRECT_DEBIT,
}


def cmd_pay(ctx: Context) -> int:
    """Record a payment received at the régie (cheque, cash, transfer, direct debit), as its régisseur."""
    args, out = ctx.args, ctx.out
    amount = parse_amount(args.amount)
    numbers = tuple(args.invoice)
    # The first invoice names the régie (and the payer, unless --family says otherwise); issued invoices
    # never change, so reading it apart from the payment's unit of work is safe.
    first = transact(ctx.store, lambda uow: uow.documents.invoice(numbers[0]))
    record = ctx.back_office().record_payment(
        ctx.agent,
        args.family or first.family_id,
        first.regie_id,
        numbers,
        amount,
        _METHODS[args.method],
        reference=args.reference or "",
    )
    out.line(record.explain(out.lang))
    out.document(
        "pay",
        {
            "payment": record.payment.number,
            "family": record.payment.family_id,
            "amount": str(record.payment.amount.amount),
            "allocations": [
                {"invoice": a.invoice_number, "amount": str(a.amount.amount)} for a in record.allocations
            ],
            "already_recorded": record.already_recorded,
            "message": record.explain(out.lang),
        },
    )
    return ExitCode.OK


# -- ical --------------------------------------------------------------------------------------------


def cmd_ical(ctx: Context) -> int:
    from espacefamille.interop.ical import bookings_ical  # noqa: PLC0415 (optional extra "cli": imported only when used)

    args, out = ctx.args, ctx.out
    require("icalendar")
    target = writable_file(Path(args.out))  # before reading anything
    commune = ctx.commune
    today = commune.calendar.today(ctx.clock.now())
    start = parse_date(args.start) if args.start else today
    end = parse_date(args.end) if args.end else start + dt.timedelta(days=365)
    period = DateRange(start, end)

    def work(uow: UnitOfWork) -> tuple[Child, list[Booking]]:
        child = uow.families.child(args.child)
        bookings = [
            b
            for family_id in child.family_ids
            for b in uow.bookings.of_family(family_id, period)
            if b.child_id == child.id
        ]
        return child, bookings

    child, bookings = transact(ctx.store, work)
    write_bytes(target, bookings_ical(commune, child, bookings))
    count = sum(1 for b in bookings if b.status in {BookingStatus.BOOKED, BookingStatus.HELD})
    out.say("ical.done", count=count, child=args.child, out=args.out)
    out.document("ical", {"child": args.child, "file": args.out, "events": count})
    return ExitCode.OK


# -- demo --------------------------------------------------------------------------------------------

#: The collectivité the demo commune is stored as in a PostgreSQL database (the example commune's id).
DEMO_COLLECTIVITE = "saint-aubin"


def cmd_demo(ctx: Context) -> int:
    args, out = ctx.args, ctx.out
    # The invoices are written as HTML at the end: say so before building anything. (The mandates' accounts
    # are checked by their ISO key without the "sepa" extra, by schwifty too with it.)
    require("jinja2")
    target = writable_folder(Path(args.out))
    store: CommuneStore
    if is_postgres(getattr(args, "db", "")):
        # A PostgreSQL database: the demo commune is a collectivité of it (its own id, or the one named by
        # $ESPACEFAMILLE_COLLECTIVITE), which must be empty; the other collectivités are left alone.
        store = ctx.open(os.environ.get("ESPACEFAMILLE_COLLECTIVITE") or DEMO_COLLECTIVITE)
        db = ctx.db_label
    else:
        path = target / "saint-aubin-demo.db"
        for leftover in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
            leftover.unlink(missing_ok=True)
        store = SqliteStore(path)
        ctx.args.db = db = str(path)
    ctx._store = store
    city = _build(ctx, lambda progress: build_demo_city(store, families=args.families, progress=progress))
    commune = ctx.commune
    words = {
        "name": commune.collectivite.name,
        "families": city.families,
        "children": city.children,
        "bookings": city.bookings,
        "attendance": city.attendance,
        "month": month_title(city.month, out.lang),
    }
    out.say("demo.built", **words)
    credited = -Money.total(n.total for n in city.credit_notes)
    out.say(
        "demo.prepaid",
        paid=city.prepaid_paid,
        waiting=city.prepaid_waiting,
        notes=len(city.credit_notes),
        credited=credited.format(out.lang),
    )
    ctx.args.now = dt.datetime.combine(DEMO_ISSUED_ON, dt.time(8, 0)).isoformat()
    runs = [bill(ctx, regie.id, city.month, DEMO_ISSUED_ON) for regie in commune.regies]
    documents = _documents(ctx)
    html_dir = target / "factures"
    if html_dir.exists():
        shutil.rmtree(html_dir)
    html = export_invoices(ctx, documents, "html", html_dir)
    csv_files = export_invoices(ctx, documents, "csv", target)
    out.say("demo.written", html=html_dir, csv=csv_files[0], db=db)
    out.say("demo.outputs", mandates=city.mandates, db=db)
    out.document(
        "demo",
        {
            "db": db,
            **{k: v for k, v in words.items() if k != "name"},
            "prepaid": {
                "paid_days": city.prepaid_paid,
                "waiting": city.prepaid_waiting,
                "credit_notes": [n.number for n in city.credit_notes],
                "credited_total": str(credited.amount),
            },
            "billing": runs,
            "html_dir": str(html_dir),
            "html_files": len(html),
            "csv": [str(p) for p in csv_files],
            "mandates": city.mandates,
        },
    )
    return ExitCode.OK


def _build(ctx: Context, build: Callable[[Callable[[int, int], None] | None], DemoCity]) -> DemoCity:
    with ctx.out.progress(_text("demo.building", ctx.out)) as advance:
        return build(advance)


COMMANDS: dict[str, Callable[[Context], int]] = {
    "init": cmd_init,
    "import": cmd_import,
    "families": cmd_families,
    "calendar": cmd_calendar,
    "basket": cmd_basket,
    "bill": cmd_bill,
    "invoices list": cmd_invoices_list,
    "invoices export": cmd_invoices_export,
    "pay": cmd_pay,
    "ical": cmd_ical,
    "demo": cmd_demo,
}
