"""What the command says and how: French or English sentences, ``--json`` documents, exit codes, progress.

Human output goes to standard output (errors to standard error); with ``--json`` standard output carries one
JSON document per run, ``{"ok": true, "command": …}`` or ``{"ok": false, "error": {…}}``, and nothing else.
Progress bars are drawn on standard error, only when it is a terminal and ``--json`` is off,
so cron jobs and pipes get clean output.
"""

from __future__ import annotations

import enum
import json
import re
import string
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import IO, Final, Literal

from espacefamille.errors import EspaceFamilleError
from espacefamille.text import count_of

__all__ = ["CliError", "ExitCode", "Lang", "Output", "argparse_message", "text"]

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
        "Il manque la bibliothèque {module} : installez « espacefamille[{extra}] » (rien n'a été fait).",
        "The {module} library is missing: install 'espacefamille[{extra}]' (nothing was done).",
    ),
    "version": ("espacefamille {version}", "espacefamille {version}"),
    "db.missing": (
        "La base {path} n'existe pas : créez-la avec « espacefamille init COMMUNE.toml --db {path} ».",
        "Database {path} does not exist: create it with 'espacefamille init COMMUNE.toml --db {path}'.",
    ),
    "db.no_collectivite": (
        "La base {path} peut tenir plusieurs communes : dites laquelle avec ESPACEFAMILLE_COLLECTIVITE.",
        "Database {path} may hold several communes: name one with ESPACEFAMILLE_COLLECTIVITE.",
    ),
    "db.has_commune": (
        "La base {path} contient déjà la commune {name} : ajoutez --replace pour remplacer sa configuration.",
        "Database {path} already holds commune {name}: add --replace to replace its configuration.",
    ),
    "file.missing": ("Fichier introuvable : {path}.", "File not found: {path}."),
    "file.unreadable": ("Impossible de lire le fichier {path}.", "Cannot read file {path}."),
    "month.bad": (
        "Mois invalide « {value} » : attendu MM/AAAA ou AAAA-MM, par exemple 11/2026.",
        "Invalid month '{value}': expected MM/YYYY or YYYY-MM, e.g. 11/2026.",
    ),
    "date.bad": (
        "Date invalide « {value} » : attendu JJ/MM/AAAA ou AAAA-MM-JJ.",
        "Invalid date '{value}': expected DD/MM/YYYY or YYYY-MM-DD.",
    ),
    "now.bad": (
        "Instant invalide « {value} » : attendu JJ/MM/AAAA HH:MM ou AAAA-MM-JJTHH:MM (heure de la commune).",
        "Invalid instant '{value}': expected DD/MM/YYYY HH:MM or YYYY-MM-DDTHH:MM (the commune's time).",
    ),
    "file.unwritable": (
        "Impossible d'écrire ou de lire {path} : {reason}.",
        "Cannot write or read {path}: {reason}.",
    ),
    "amount.bad": (
        "Montant invalide « {value} » : attendu par exemple 12,50.",
        "Invalid amount '{value}': expected e.g. 12.50.",
    ),
    "init.done": (
        "Commune {name} enregistrée dans {path} : {services:service|services}, {regies:régie|régies}.",
        "Commune {name} saved in {path}: {services:service|services}, {regies:régie|régies}.",
    ),
    "import.done": (
        "Import depuis {path} : {count:{one}|{many}}.",
        "Imported from {path}: {count:{one}|{many}}.",
    ),
    "import.no_file": (
        "Précisez ce que contient le fichier et le fichier : espacefamille import families familles.csv "
        "(ou --template families pour un fichier vide).",
        "Give what the file holds and the file: espacefamille import families familles.csv "
        "(or --template families for an empty file).",
    ),
    "import.template_alone": (
        "--template écrit un fichier vide : donnez son nom avec --out, sans autre fichier.",
        "--template writes an empty file: name it with --out, and no other file.",
    ),
    "families.done": (
        "{count:foyer écrit|foyers écrits} dans {path} (les colonnes du fichier familles : il s'importe "
        "à nouveau).",
        "{count:household|households} written to {path} (the families file's columns: it imports back).",
    ),
    "import.template_done": (
        "Modèle {kind} écrit dans {path} (UTF-8 avec BOM, séparateur « ; ») : à remplir puis importer.",
        "Template {kind} written to {path} (UTF-8 with BOM, ';' separated): fill it in, then import it.",
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
        "{child} n'a aucune inscription à un service : précisez --service.",
        "{child} is enrolled in no service: give --service.",
    ),
    "basket.encoding": (
        "Panier illisible dans {path} : le fichier JSON doit être en UTF-8.",
        "Unreadable basket in {path}: a JSON file must be UTF-8.",
    ),
    "basket.json": (
        "Panier illisible dans {path} : JSON mal formé ligne {line}.",
        "Unreadable basket in {path}: malformed JSON on line {line}.",
    ),
    "basket.shape": (
        'Panier illisible dans {path} : attendu {{"family": …, "lines": [{{"action", "child", "prestation", '
        '"date"}}…]}}.',
        'Unreadable basket in {path}: expected {{"family": …, "lines": [{{"action", "child", "prestation", '
        '"date"}}…]}}.',
    ),
    "basket.missing": (
        "Panier illisible dans {path}, ligne {line} : la colonne « {column} » est vide ou absente.",
        "Unreadable basket in {path}, line {line}: column '{column}' is empty or missing.",
    ),
    "basket.action": (
        "Panier illisible dans {path}, ligne {line} : action inconnue « {value} » (réserver ou annuler).",
        "Unreadable basket in {path}, line {line}: unknown action '{value}' (book or cancel).",
    ),
    "basket.date": (
        "Panier illisible dans {path}, ligne {line} : date invalide « {value} » (attendu JJ/MM/AAAA ou "
        "AAAA-MM-JJ).",
        "Unreadable basket in {path}, line {line}: invalid date '{value}' (expected DD/MM/YYYY or "
        "YYYY-MM-DD).",
    ),
    "basket.no_family": (
        "Panier {path} : quel foyer ? Ajoutez une colonne famille ou l'option --family.",
        "Basket {path}: which household? Add a famille column or the --family option.",
    ),
    "basket.summary": (
        "{accepted:ligne acceptée|lignes acceptées}, {refused:refusée|refusées}.",
        "{accepted:line accepted|lines accepted}, {refused} refused.",
    ),
    "bill.prepaid_only": (
        "La régie {regie} n'encaisse que des prestations payées à la réservation : rien à facturer en fin "
        "de mois.",
        "Régie {regie} only takes prestations paid at booking: nothing to invoice at month end.",
    ),
    "bill.check_ok": (
        "{month} : chaque jour a un prix ({read}), la facturation peut être lancée.",
        "{month}: every day has a price ({read}); billing can run.",
    ),
    "bill.check_problems": (
        "{month} : jours sans prix : {count}, familles concernées : {concerned} ; rien ne sera facturé tant "
        "qu'il en reste :",
        "{month}: days without a price: {count}, families concerned: {concerned}; nothing will be billed "
        "while any remain:",
    ),
    "bill.running": ("Facturation de {month} en cours…", "Billing {month}…"),
    "bill.summary": (
        "Régie {regie}, {month} : {invoices:facture|factures} pour {total}, {credits:avoir|avoirs} pour "
        "{credited}, {carried:montant reporté|montants reportés} sous le seuil ({carried_total}).",
        "Régie {regie}, {month}: {invoices:invoice|invoices} for {total}, {credits:credit note|credit notes} "
        "for {credited}, {carried:amount|amounts} carried below the threshold ({carried_total}).",
    ),
    "invoices.none": ("Aucune facture.", "No invoice."),
    "invoices.count": ("{count:document|documents}.", "{count:document|documents}."),
    "export.writing": ("Écriture des factures", "Writing invoices"),
    "export.done": (
        "{count:document exporté|documents exportés} dans {out} ({format}).",
        "{count:document|documents} exported to {out} ({format}).",
    ),
    "ical.done": (
        "Écrit dans {out} : {count:réservation|réservations} de {child}.",
        "Written to {out}: {count:booking|bookings} of {child}.",
    ),
    "pes.done": (
        "Écrit dans {out} : bordereau {bordereau}, {invoices:titre|titres} pour {total} ; "
        "{left_out:document laissé de côté|documents laissés de côté} (avoirs, factures à 0 €).",
        "Written to {out}: bordereau {bordereau}, {invoices:title|titles} for {total}; "
        "{left_out:document|documents} left out (credit notes, invoices of 0 €).",
    ),
    "attestations.done": (
        "{count:attestation écrite|attestations écrites} dans {out} ({format}).",
        "{count:attestation|attestations} written to {out} ({format}).",
    ),
    "mandates.added": (
        "Mandat {rum} enregistré pour le foyer {family} (compte {iban}) : ses factures seront prélevées.",
        "Mandate {rum} recorded for household {family} (account {iban}): its invoices will be debited.",
    ),
    "mandates.listed": (
        "{count:mandat|mandats} de la régie {regie}.",
        "{count:mandate|mandates} of régie {regie}.",
    ),
    "mandates.revoked": (
        "Mandat {rum} du foyer {family} révoqué : plus aucun prélèvement sous ce mandat.",
        "Mandate {rum} of household {family} revoked: nothing more is debited under it.",
    ),
    "debits.built": (
        "Écrit dans {out} : fichier {batch}, {count:prélèvement|prélèvements} pour {total} ; "
        "{left_out:facture laissée de côté|factures laissées de côté} (déjà réglées).",
        "Written to {out}: file {batch}, {count:debit|debits} for {total}; "
        "{left_out:invoice|invoices} left out (already paid).",
    ),
    "debits.rejected": (
        "{count:prélèvement rejeté enregistré|prélèvements rejetés enregistrés} ; "
        "{known:rejet déjà connu|rejets déjà connus}.",
        "{count:returned debit recorded|returned debits recorded}; {known:reject|rejects} already known.",
    ),
    "attestations.usage": (
        "Donnez soit --year (attestations fiscales), soit --presence avec --from et --to.",
        "Give either --year (tax attestations) or --presence with --from and --to.",
    ),
    "demo.building": ("Création des familles", "Creating families"),
    "demo.built": (
        "Commune de démonstration {name} : {families} familles, {children} enfants, {bookings} réservations "
        "et {attendance} pointages en {month}.",
        "Demo commune {name}: {families} families, {children} children, {bookings} bookings and "
        "{attendance} attendance facts in {month}.",
    ),
    "demo.prepaid": (
        "Centre de loisirs (payé à la réservation) : {paid:journée réservée et payée|journées réservées et "
        "payées} en ligne, {waiting} en liste d'attente, {notes:avoir|avoirs} pour annulation dans les "
        "délais ({credited}).",
        "Holiday centre (paid at booking): {paid:day|days} booked and paid online, {waiting} on the waiting "
        "list, {notes:credit note|credit notes} for cancellations in time ({credited}).",
    ),
    "demo.written": (
        "Factures HTML : {html}\nTableau des factures (CSV) : {csv}\nBase de la commune : {db}",
        "HTML invoices: {html}\nInvoice table (CSV): {csv}\nCommune database: {db}",
    ),
    "demo.outputs": (
        "Prélèvement : {mandates:foyer a signé|foyers ont signé} un mandat SEPA avec la régie enfance.\n"
        "Fichiers de la régie, ensuite (avec --db {db}) :\n"
        "  espacefamille pes --regie enfance --month 12/2026 --out PES.xml\n"
        "  espacefamille debits build --regie enfance --date 18/01/2027 --out prelevements.xml\n"
        "  espacefamille attestations --year 2026 --out attestations/",
        "Direct debit: {mandates:household signed|households signed} a SEPA mandate with the régie enfance.\n"
        "The régie's files, next (with --db {db}):\n"
        "  espacefamille pes --regie enfance --month 12/2026 --out PES.xml\n"
        "  espacefamille debits build --regie enfance --date 18/01/2027 --out debits.xml\n"
        "  espacefamille attestations --year 2026 --out attestations/",
    ),
    # -- the parser's help and usage errors (argparse's own words included) --
    "help.description": (
        "Services aux familles d'une commune : réservations, facturation, factures.",
        "A commune's family services: bookings, billing, invoices.",
    ),
    "help.usage": ("utilisation : ", "usage: "),
    "help.positionals": ("arguments", "positional arguments"),
    "help.options": ("options", "options"),
    "help.help": ("afficher cette aide et quitter", "show this help message and exit"),
    "help.db": (
        "base de la commune : fichier SQLite ou URL postgresql://",
        "the commune's database: an SQLite file or a postgresql:// URL",
    ),
    "help.json": ("sortie JSON", "JSON output"),
    "help.lang": ("langue des messages", "language of the messages"),
    "help.now": (
        "instant d'action (JJ/MM/AAAA HH:MM ou AAAA-MM-JJTHH:MM)",
        "instant to act at (DD/MM/YYYY HH:MM or YYYY-MM-DDTHH:MM)",
    ),
    "help.version": ("afficher la version et quitter", "show the version and exit"),
    "help.agent": ("identifiant de l'agent", "the agent's id"),
    "help.month": ("mois, MM/AAAA ou AAAA-MM", "month, MM/YYYY or YYYY-MM"),
    "help.regie": ("identifiant de la régie", "the régie's id"),
    "help.family": ("foyer", "household"),
    "help.out_dir": ("dossier de sortie", "output folder"),
    "help.init": ("créer la base d'une commune", "create a commune's database"),
    "help.init.toml": ("fichier TOML de la commune", "the commune's TOML file"),
    "help.init.replace": ("remplacer la configuration existante", "replace the existing configuration"),
    "help.import": ("importer un fichier CSV", "import a CSV file"),
    "help.import.kind": ("ce que contient le fichier", "what the file holds"),
    "help.import.file": ("fichier CSV", "CSV file"),
    "help.import.template": (
        "écrire un fichier vide de ce type (l'en-tête seul), prêt pour Excel",
        "write an empty file of this kind (its header alone), ready for Excel",
    ),
    "help.import.out": (
        "fichier où écrire le modèle (par défaut : la sortie standard)",
        "file to write the template to (default: standard output)",
    ),
    "help.calendar": ("calendrier d'un enfant", "a child's calendar"),
    "help.child": ("identifiant de l'enfant", "the child's id"),
    "help.calendar.service": (
        "un seul service (par défaut : ceux où l'enfant est inscrit)",
        "one service only (default: those the child is enrolled in)",
    ),
    "help.basket": ("valider un panier (JSON ou CSV)", "validate a basket (JSON or CSV)"),
    "help.basket.file": ("fichier JSON ou CSV du panier", "the basket's JSON or CSV file"),
    "help.basket.family": ("foyer (sinon : celui du fichier)", "household (otherwise: the file's)"),
    "help.bill": ("facturation de fin de mois", "month-end billing"),
    "help.bill.check": (
        "vérifier seulement que chaque jour du mois a un prix, sans rien facturer",
        "only check that every day of the month has a price, billing nothing",
    ),
    "help.bill.issued_on": ("date d'émission (par défaut : aujourd'hui)", "issue date (default: today)"),
    "help.invoices": ("lister ou exporter les factures", "list or export invoices"),
    "help.invoices.list": ("lister les factures", "list invoices"),
    "help.invoices.export": ("exporter les factures", "export invoices"),
    "help.invoices.format": ("format des fichiers", "file format"),
    "help.invoices.excel": (
        "CSV pour Excel en français : BOM, « ; », virgule décimale",
        "CSV for a French Excel: BOM, ';', decimal comma",
    ),
    "help.pay": ("enregistrer un paiement reçu à la régie", "record a payment received at the régie"),
    "help.pay.invoice": ("numéro de facture (répétable)", "invoice number (repeatable)"),
    "help.pay.amount": ("montant, par exemple 12,50", "amount, e.g. 12.50"),
    "help.pay.method": ("moyen de paiement", "means of payment"),
    "help.pay.reference": ("référence du paiement (numéro de chèque…)", "payment reference (cheque number…)"),
    "help.pay.family": (
        "foyer payeur (par défaut : celui de la première facture)",
        "paying household (default: that of the first invoice)",
    ),
    "help.ical": ("exporter les réservations d'un enfant (.ics)", "export a child's bookings (.ics)"),
    "help.ical.out": ("fichier .ics", ".ics file"),
    "help.ical.from": ("premier jour (par défaut : aujourd'hui)", "first day (default: today)"),
    "help.ical.to": ("dernier jour (par défaut : un an après)", "last day (default: a year later)"),
    "help.pes": (
        "fichier PES V2 (Hélios) des factures d'un mois pour le comptable public",
        "PES V2 file (Hélios) of a month's invoices for the public accountant",
    ),
    "help.pes.out": ("fichier .xml", ".xml file"),
    "help.pes.bordereau": (
        "numéro du bordereau dans l'année (par défaut : le numéro du mois)",
        "the bordereau's number in the year (default: the month's number)",
    ),
    "help.mandates": ("mandats de prélèvement SEPA des payeurs", "the payers' SEPA direct-debit mandates"),
    "help.mandates.add": ("enregistrer le mandat signé d'un foyer", "record a household's signed mandate"),
    "help.mandates.list": ("lister les mandats d'une régie", "list a régie's mandates"),
    "help.mandates.revoke": ("révoquer un mandat", "revoke a mandate"),
    "help.mandates.iban": ("IBAN du compte à prélever", "IBAN of the account debited"),
    "help.mandates.bic": ("BIC de la banque (facultatif)", "the bank's BIC (optional)"),
    "help.mandates.signed_on": ("date de signature (jj/mm/aaaa)", "signature date (dd/mm/yyyy)"),
    "help.mandates.rum": (
        "référence unique du mandat (par défaut : régie-foyer-001)",
        "the mandate's unique reference (default: régie-household-001)",
    ),
    "help.mandates.debtor": (
        "nom du débiteur (par défaut : le payeur)",
        "the debtor's name (default: the payer)",
    ),
    "help.debits": ("prélèvements SEPA de la régie", "the régie's SEPA direct debits"),
    "help.debits.build": (
        "fichier de prélèvements (pain.008) d'une date, pour la banque",
        "the debit file (pain.008) of a date, for the bank",
    ),
    "help.debits.date": ("date de prélèvement (jj/mm/aaaa)", "collection date (dd/mm/yyyy)"),
    "help.debits.out": ("fichier .xml", ".xml file"),
    "help.debits.represent": (
        "facture dont le prélèvement a été rejeté, à présenter à nouveau (répétable)",
        "an invoice whose debit was returned, to present again (repeatable)",
    ),
    "help.debits.rejects": (
        "enregistrer les prélèvements rejetés par la banque",
        "record the debits the bank returned",
    ),
    "help.debits.file": (
        "relevé des rejets : rapport pain.002 (.xml) ou tableau référence;motif (.csv)",
        "the rejects: a pain.002 report (.xml) or a reference;reason table (.csv)",
    ),
    "help.attestations": (
        "attestations fiscales (frais de garde) ou de présence, une par foyer",
        "tax (childcare) or presence attestations, one per household",
    ),
    "help.attestations.year": ("année des attestations fiscales", "year of the tax attestations"),
    "help.attestations.presence": (
        "attestations de présence du --from au --to",
        "presence attestations from --from to --to",
    ),
    "help.attestations.from": ("premier jour (JJ/MM/AAAA)", "first day (DD/MM/YYYY)"),
    "help.attestations.to": ("dernier jour (JJ/MM/AAAA)", "last day (DD/MM/YYYY)"),
    "help.attestations.format": ("format des fichiers", "file format"),
    "help.families": (
        "écrire les foyers de la commune comme un fichier familles (adresses et quotients compris)",
        "write the commune's households as a families file (addresses and quotients included)",
    ),
    "help.families.out": ("fichier .csv", ".csv file"),
    "help.demo": ("commune de démonstration facturée", "a demo commune, billed"),
    "help.demo.families": ("nombre de familles", "number of families"),
}

#: argparse's own error sentences (English) and their French; colons get their French space afterwards.
_ARGPARSE_FR: Final[tuple[tuple[str, str], ...]] = (
    ("the following arguments are required", "arguments obligatoires manquants"),
    ("one of the arguments", "un des arguments"),
    ("is required", "est obligatoire"),
    ("unrecognized arguments", "arguments inconnus"),
    ("ambiguous option", "option ambiguë"),
    ("could match", "pourrait être"),
    ("invalid choice", "choix invalide"),
    ("(choose from", "(au choix :"),
    ("expected one argument", "une valeur est attendue"),
    ("expected at least one argument", "au moins une valeur est attendue"),
    ("expected at most one argument", "au plus une valeur est attendue"),
    ("not allowed with argument", "incompatible avec l'argument"),
    ("invalid int value", "nombre entier invalide"),
)


def argparse_message(message: str, lang: Lang) -> str:
    """An argparse usage error in ``lang``: argparse speaks English; its usual sentences are put in French."""
    if lang == "en":
        return message
    for english, french in _ARGPARSE_FR:
        message = message.replace(english, french)
    return re.sub(r"(?<=\S): ", " : ", message)


class _Sentence(string.Formatter):
    """``str.format`` where ``{count:facture|factures}`` writes the number with its noun agreed."""

    def __init__(self, lang: Lang) -> None:
        self.lang: Lang = lang

    def format_field(self, value: object, format_spec: str) -> str:
        if "|" in format_spec and isinstance(value, int):
            singular, plural = format_spec.split("|", 1)
            return count_of(value, singular, plural, self.lang)
        return str(super().format_field(value, format_spec))


def text(key: str, lang: Lang, **words: object) -> str:
    """The sentence ``key`` in ``lang``, with ``words`` filled in (``{n:mot|mots}`` agrees with ``n``)."""
    french, english = _TEXT[key]
    return _Sentence(lang).format(french if lang == "fr" else english, **words)


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
    def progress(self, message: str) -> Iterator[Callable[[int, int], None] | None]:
        """A progress bar on standard error while a long call runs; yields the hook the call reports to with
        (done so far, total; 0 when unknown), or ``None`` when nothing is drawn (``--json``, no terminal)."""
        if not self.interactive:
            yield None
            return
        from rich.console import Console  # noqa: PLC0415 (optional extra "cli": imported only when used)
        from rich.progress import Progress  # noqa: PLC0415 (optional extra "cli": imported only when used)

        with Progress(console=Console(file=self.stderr), transient=True) as bar:
            task = bar.add_task(message, total=None)

            def advance(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total or None)

            yield advance
