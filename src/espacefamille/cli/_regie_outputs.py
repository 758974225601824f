"""The command line's régie outputs: the PES V2 file for the Treasury, and the families' attestations.

    espacefamille pes --regie enfance --month 2026-11 --out PES_enfance_202611.xml
    espacefamille attestations --year 2026 --out attestations/            # tax credit, one PDF a household
    espacefamille attestations --presence --from 01/09/2026 --to 31/12/2026 --out presences/ --format html

Each file is written whole (through a temporary file renamed over it) once everything was read and made: a
refusal (a payer with no address, a service with no accounting code) writes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from espacefamille.calendar.periods import DateRange
from espacefamille.model import Family
from espacefamille.ports import UnitOfWork
from espacefamille.services import transact

from ._commands import Context, parse_date, parse_month, require, writable_file, writable_folder, write_bytes
from ._output import CliError, ExitCode

__all__ = ["REGIE_COMMANDS"]


def cmd_pes(ctx: Context) -> int:
    args, out = ctx.args, ctx.out
    month = parse_month(args.month)
    target = writable_file(Path(args.out))  # before reading anything
    bordereau = args.bordereau if args.bordereau is not None else month.start.month
    made = ctx.back_office().pes_v2_file(ctx.agent, args.regie, month, bordereau=bordereau)
    write_bytes(target, made.content)
    out.say(
        "pes.done",
        out=args.out,
        invoices=len(made.invoices),
        total=made.total.format(out.lang),
        bordereau=bordereau,
        left_out=len(made.left_out),
    )
    out.document(
        "pes",
        {
            "file": args.out,
            "name": made.name,
            "bordereau": bordereau,
            "invoices": list(made.invoices),
            "total": str(made.total.amount),
            "left_out": [{"number": number, "code": code} for number, code in made.left_out],
        },
    )
    return ExitCode.OK


def _families(ctx: Context, family_id: str | None) -> list[Family]:
    def work(uow: UnitOfWork) -> list[Family]:
        return [uow.families.get(family_id)] if family_id else list(uow.families.all())

    return transact(ctx.store, work)


def cmd_attestations(ctx: Context) -> int:
    from espacefamille.interop.attestations import (  # noqa: PLC0415 (optional extra "cli": imported only when used)
        render_presence_attestation_html,
        render_tax_attestation_html,
    )

    args, out = ctx.args, ctx.out
    require("jinja2", *(("weasyprint",) if args.format == "pdf" else ()))
    if args.presence == (args.year is not None) or (args.presence and not (args.start and args.end)):
        raise CliError(ExitCode.USAGE, "attestations.usage")
    period = DateRange(parse_date(args.start), parse_date(args.end)) if args.presence else None
    folder = writable_folder(Path(args.out))  # before reading anything
    office, agent, commune = ctx.back_office(), ctx.agent, ctx.commune
    today = commune.calendar.today(ctx.clock.now())
    families = _families(ctx, args.family)
    pages: list[tuple[str, str]] = []
    if period is None:
        taxes = {a.family_id: a for a in office.tax_attestations(agent, args.year)}
        for family in families:
            if family.id in taxes:
                html = render_tax_attestation_html(taxes[family.id], commune, family, issued_on=today)
                pages.append((f"attestation-fiscale-{args.year}-{family.id}", html))
    else:
        for family in families:
            presence = office.presence_attestation(agent, family.id, period)
            if presence.presences:
                html = render_presence_attestation_html(presence, commune, family, issued_on=today)
                pages.append((f"attestation-presence-{period.start}-{period.end}-{family.id}", html))
    render = _renderer(args.format)
    made = [(folder / f"{name}.{args.format}", render(html)) for name, html in pages]
    for path, data in made:
        write_bytes(path, data)
    out.say("attestations.done", count=len(made), out=args.out, format=args.format)
    out.document(
        "attestations",
        {
            "kind": "tax" if period is None else "presence",
            "format": args.format,
            "files": [str(path) for path, _ in made],
        },
    )
    return ExitCode.OK


def _renderer(fmt: str) -> Callable[[str], bytes]:
    if fmt == "pdf":
        from espacefamille.interop.attestation_pdf import attestation_pdf  # noqa: PLC0415 (optional extra "pdf": imported only when used)

        return attestation_pdf
    return lambda html: html.encode("utf-8")


REGIE_COMMANDS: dict[str, Callable[[Context], int]] = {"pes": cmd_pes, "attestations": cmd_attestations}
