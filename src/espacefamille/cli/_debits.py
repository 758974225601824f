"""The command line's SEPA direct debit: the payers' mandates, the régie's debit file, the bank's rejects.

    espacefamille mandates add --family F1 --regie enfance --iban "FR76 3000 …" --signed-on 03/09/2026
    espacefamille mandates list --regie enfance
    espacefamille mandates revoke enfance-F1-001
    espacefamille debits build --regie enfance --date 15/12/2026 --out prelevements-2026-12-15.xml
    espacefamille debits rejects rejets.csv --regie enfance        # or the bank's pain.002 report (.xml)

The debit file is written whole (through a temporary file renamed over it) once it is recorded; a refusal (a
date passed, nothing to collect) writes nothing. They need the ``sepa`` extra (schwifty).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from espacefamille.billing.mandates import FamilyMandate, masked_iban

from ._commands import Context, parse_date, require, writable_file, write_bytes
from ._output import ExitCode, Lang, text

__all__ = ["DEBIT_COMMANDS", "add_debit_commands"]


def add_debit_commands(commands: Any, parents: list[Any], parser_class: type[Any], lang: Lang) -> None:
    """The ``mandates`` and ``debits`` commands and their options (``commands``: the command line's
    subparsers, made of ``parser_class``, each with the ``parents`` common options)."""

    def say(key: str) -> str:
        return text(f"help.{key}", lang)

    def command(under: Any, name: str, key: str) -> Any:
        return under.add_parser(name, parents=parents, help=say(key), lang=lang)

    mandates = command(commands, "mandates", "mandates")
    actions = mandates.add_subparsers(dest="action", required=True, parser_class=parser_class)
    add = command(actions, "add", "mandates.add")
    add.add_argument("--family", required=True, help=say("family"))
    add.add_argument("--regie", required=True, help=say("regie"))
    add.add_argument("--iban", required=True, help=say("mandates.iban"))
    add.add_argument("--bic", help=say("mandates.bic"))
    add.add_argument("--signed-on", help=say("mandates.signed_on"))
    add.add_argument("--rum", help=say("mandates.rum"))
    add.add_argument("--debtor", help=say("mandates.debtor"))
    listing = command(actions, "list", "mandates.list")
    listing.add_argument("--regie", required=True, help=say("regie"))
    revoke = command(actions, "revoke", "mandates.revoke")
    revoke.add_argument("rum", help=say("mandates.rum"))

    debits = command(commands, "debits", "debits")
    steps = debits.add_subparsers(dest="action", required=True, parser_class=parser_class)
    build = command(steps, "build", "debits.build")
    build.add_argument("--regie", required=True, help=say("regie"))
    build.add_argument("--date", required=True, help=say("debits.date"))
    build.add_argument("--out", required=True, help=say("debits.out"))
    build.add_argument(
        "--represent", action="append", default=[], metavar="FACTURE", help=say("debits.represent")
    )
    rejects = command(steps, "rejects", "debits.rejects")
    rejects.add_argument("file", help=say("debits.file"))
    rejects.add_argument("--regie", required=True, help=say("regie"))


def cmd_mandates_add(ctx: Context) -> int:
    args, out = ctx.args, ctx.out
    require("schwifty")
    signed_on = parse_date(args.signed_on) if args.signed_on else None
    mandate = ctx.back_office().register_mandate(
        ctx.agent,
        args.family,
        args.regie,
        signed_on=signed_on,
        iban=args.iban,
        bic=args.bic,
        rum=args.rum,
        debtor_name=args.debtor,
    )
    out.say(
        "mandates.added", rum=mandate.rum, family=mandate.family_id, iban=masked_iban(mandate.mandate.iban)
    )
    out.document("mandates add", {"mandate": _mandate_document(mandate)})
    return ExitCode.OK


def cmd_mandates_list(ctx: Context) -> int:
    args, out = ctx.args, ctx.out
    require("schwifty")
    mandates = ctx.back_office().mandates(ctx.agent, args.regie)
    for kept in mandates:
        state = (
            out.pick("révoqué le ", "revoked on ") + kept.revoked_on.isoformat()
            if kept.revoked_on is not None
            else kept.mandate.sequence.value
        )
        account = masked_iban(kept.mandate.iban)
        out.line(f"{kept.rum}  {kept.family_id}  {account}  {kept.mandate.debtor_name}  {state}")
    out.say("mandates.listed", count=len(mandates), regie=args.regie)
    out.document("mandates list", {"mandates": [_mandate_document(kept) for kept in mandates]})
    return ExitCode.OK


def cmd_mandates_revoke(ctx: Context) -> int:
    args, out = ctx.args, ctx.out
    require("schwifty")
    revoked = ctx.back_office().revoke_mandate(ctx.agent, args.rum)
    out.say("mandates.revoked", rum=revoked.rum, family=revoked.family_id)
    out.document("mandates revoke", {"mandate": _mandate_document(revoked)})
    return ExitCode.OK


def cmd_debits_build(ctx: Context) -> int:
    args, out = ctx.args, ctx.out
    require("schwifty")
    debit_date = parse_date(args.date)
    target = writable_file(Path(args.out))  # before anything is recorded
    made = ctx.back_office().direct_debit_file(ctx.agent, args.regie, debit_date, represent=args.represent)
    write_bytes(target, made.content)
    batch = made.batch
    out.say(
        "debits.built",
        out=args.out,
        batch=batch.id,
        count=len(batch.collections),
        total=batch.total.format(out.lang),
        left_out=len(made.left_out),
    )
    for item in made.left_out:
        out.line(item.message_fr)
    out.document(
        "debits build",
        {
            "file": args.out,
            "batch": batch.id,
            "debit_date": batch.debit_date.isoformat(),
            "invoices": [c.invoice_number for c in batch.collections],
            "total": str(batch.total.amount),
            "left_out": [{"number": i.invoice_number, "code": i.code} for i in made.left_out],
        },
    )
    return ExitCode.OK


def cmd_debits_rejects(ctx: Context) -> int:
    args, out = ctx.args, ctx.out
    require("schwifty")
    report = Path(args.file).read_bytes()
    imported = ctx.back_office().import_direct_debit_rejects(ctx.agent, args.regie, report)
    for debt in imported.reopened:
        out.line(debt.message_fr)
    out.say("debits.rejected", count=len(imported.reopened), known=len(imported.already_recorded))
    out.document(
        "debits rejects",
        {
            "reopened": [
                {
                    "invoice": d.invoice_number,
                    "reason": d.reason,
                    "amount": str(d.amount.amount),
                    "reversal": d.reversal_number,
                    "remaining": str(d.remaining.amount),
                    "mandate_revoked": d.mandate_revoked,
                }
                for d in imported.reopened
            ],
            "already_recorded": list(imported.already_recorded),
        },
    )
    return ExitCode.OK


def _mandate_document(kept: FamilyMandate) -> dict[str, object]:
    return {
        "rum": kept.rum,
        "family": kept.family_id,
        "regie": kept.regie_id,
        "iban": masked_iban(kept.mandate.iban),
        "signed_on": None if kept.mandate.signed_on is None else kept.mandate.signed_on.isoformat(),
        "sequence": kept.mandate.sequence.value,
        "revoked_on": None if kept.revoked_on is None else kept.revoked_on.isoformat(),
    }


DEBIT_COMMANDS: dict[str, Callable[[Context], int]] = {
    "mandates add": cmd_mandates_add,
    "mandates list": cmd_mandates_list,
    "mandates revoke": cmd_mandates_revoke,
    "debits build": cmd_debits_build,
    "debits rejects": cmd_debits_rejects,
}
