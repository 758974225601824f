"""CSV imports of families, children, enrolments and attendance, all or nothing, with every bad line named.

A commune moving to espacefamille, or an agent bringing the day's attendance from a tablet, hands over CSV
files saved from a spreadsheet. Each kind of file has a documented header (``CsvKind.columns``, and
``docs/imports-exports.md``); the files are read with the standard ``csv`` module:

* UTF-8, with or without the byte-order mark Excel writes ("CSV UTF-8"), or Windows-1252, what a French
  Excel writes by default ("CSV (séparateur : point-virgule)");
* ``;`` (French spreadsheets) or ``,`` as the separator, told from the header line;
* headers in any case, with or without accents (``Prénom``, ``prenom`` and ``PRENOM`` are one column);
* dates ``2026-11-12`` or ``12/11/2026``; booleans ``oui``/``non`` (``true``/``false``, ``1``/``0`` too);
* quotients familiaux exact, never float: ``812,5`` is ``Decimal("812.5")``.

An import is all or nothing: when any line is wrong, nothing is returned and ``ImportRejected`` lists every
bad line with its number in the file (the header is line 1), its column, and a French and an English message,
so the agent fixes the whole file at once. Lines that are only separators (``;;;``) are skipped.
``csv_template(kind)`` is an empty file of a kind, ready for Excel; ``families_csv(families)`` writes families
back as a ``familles`` file that imports again (addresses and quotients included).
"""

from __future__ import annotations

import csv
import datetime as dt
import enum
import io
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from decimal import Decimal
from typing import ParamSpec, TypeVar

import attrs

from espacefamille._internal.validators import IDENTIFIER
from espacefamille.calendar.periods import DateRange
from espacefamille.commune import Commune
from espacefamille.errors import InvalidInput
from espacefamille.interop.tables import EXCEL_FR, CsvDialect
from espacefamille.model import (
    ADDRESS_LINE_LENGTH,
    Child,
    Diet,
    Enrolment,
    Family,
    Guardian,
    PostalAddress,
    QuotientFamilial,
    Residence,
    SchoolClass,
)
from espacefamille.money import to_decimal
from espacefamille.rules.attendance import AttendanceFact, AttendanceStatus
from espacefamille.text import count_of

__all__ = [
    "Column",
    "CsvKind",
    "ImportRejected",
    "LineError",
    "attendance_from_csv",
    "children_from_csv",
    "csv_header",
    "csv_template",
    "enrolments_from_csv",
    "families_csv",
    "families_from_csv",
    "read_date",
]

_E = TypeVar("_E", bound=enum.Enum)
_T = TypeVar("_T")
_P = ParamSpec("_P")

# The model's identifier rule (_validators.IDENTIFIER), checked here too so the error names the column.
_FRENCH_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_TRUE = frozenset({"oui", "o", "true", "vrai", "yes", "1"})
_FALSE = frozenset({"non", "n", "false", "faux", "no", "0"})


def read_date(value: str) -> dt.date | None:
    """A day as an agent types it, ``12/11/2026`` (``1/9/2026`` too) or ISO ``2026-11-12``; ``None`` when it
    is neither, or no such day (``31/11/2026``). The command line reads its date options with it."""
    value = value.strip()
    try:
        if _ISO_DATE.fullmatch(value):
            return dt.date.fromisoformat(value)
        french = _FRENCH_DATE.fullmatch(value)
        if french:
            return dt.date(int(french[3]), int(french[2]), int(french[1]))
    except ValueError:
        pass
    return None


# -- the files' headers -------------------------------------------------------------------------


@attrs.frozen
class Column:
    """A column of an import file: its header name, whether the header must have it, what it holds."""

    name: str
    required: bool
    description: str


def _columns(items: Iterable[Column]) -> tuple[Column, ...]:
    return tuple(items)


_GUARDIAN_COLUMNS = tuple(
    column
    for rank, required in ((1, True), (2, False))
    for column in (
        Column(f"responsable{rank}_id", required, f"identifiant du responsable {rank}"),
        Column(f"responsable{rank}_prenom", required, f"prénom du responsable {rank}"),
        Column(f"responsable{rank}_nom", required, f"nom du responsable {rank}"),
        Column(f"responsable{rank}_email", False, f"courriel du responsable {rank}"),
        Column(f"responsable{rank}_telephone", False, f"téléphone du responsable {rank}"),
    )
)

# The payer's postal address (``Family.address``), which the invoices, the attestations and the Treasury's
# PES file print: all empty, or at least the street line, the postcode and the city. The complement goes
# above the street, as the postal standard (NF Z10-011) and the PES file's Adr1 and Adr2 have it.
_ADDRESS_COLUMNS = (
    Column("adresse", False, "adresse du payeur : numéro et voie (38 caractères au plus)"),
    Column("adresse2", False, "complément, imprimé au-dessus de la voie : bâtiment, résidence, escalier"),
    Column("code_postal", False, "code postal (cinq chiffres en France ; obligatoire avec une adresse)"),
    Column("ville", False, "commune (obligatoire avec une adresse)"),
    Column("pays", False, "pays, pour une adresse à l'étranger (vide : France)"),
)


class CsvKind(enum.Enum):
    """The kinds of import file, each with its header (see ``columns``)."""

    FAMILIES = "familles"
    CHILDREN = "enfants"
    ENROLMENTS = "inscriptions"
    ATTENDANCE = "presences"

    @property
    def columns(self) -> tuple[Column, ...]:
        """The header's columns in their documented order (required ones must be present)."""
        return _COLUMNS[self]


_COLUMNS: Mapping[CsvKind, tuple[Column, ...]] = {
    CsvKind.FAMILIES: _columns(
        (
            Column("famille", True, "identifiant du foyer"),
            Column("nom", True, "nom du foyer"),
            *_GUARDIAN_COLUMNS,
            Column("payeur", False, "identifiant du responsable qui paie (vide : le responsable 1)"),
            Column("residence", False, "resident ou non_resident (vide : resident)"),
            Column("prelevement", False, "oui si le foyer paie par prélèvement (vide : non)"),
            *_ADDRESS_COLUMNS,
            Column("qf", False, "quotient familial, nombre décimal exact (vide : inconnu)"),
            Column("qf_debut", False, "début de validité du quotient (obligatoire avec un quotient)"),
            Column("qf_fin", False, "fin de validité du quotient, incluse (vide : sans fin)"),
            Column("qf_source", False, "origine du quotient (vide : CAF)"),
            Column(
                "qf_recu_le",
                False,
                "date de réception de l'attestation : le quotient s'applique à partir de la date que fixe "
                "la grille tarifaire (qf_change), jamais avant (vide : dès qf_debut)",
            ),
        )
    ),
    CsvKind.CHILDREN: _columns(
        (
            Column("enfant", True, "identifiant de l'enfant"),
            Column("prenom", True, "prénom"),
            Column("nom", True, "nom"),
            Column("naissance", True, "date de naissance"),
            Column("famille", True, "identifiant du foyer principal"),
            Column("famille2", False, "identifiant du second foyer (parents séparés)"),
            Column("ecole", False, "école"),
            Column("classe", False, "TPS, PS, MS, GS, CP, CE1, CE2, CM1, CM2 ou college"),
            Column("pai", False, "oui si l'enfant a un PAI (vide : non)"),
            Column("accompagnement", False, "oui si l'enfant a besoin d'un accompagnement (vide : non)"),
            Column("regimes", False, "régimes séparés par | : sans_porc, sans_gluten, vegetarien"),
        )
    ),
    CsvKind.ENROLMENTS: _columns(
        (
            Column("inscription", True, "identifiant de l'inscription"),
            Column("enfant", True, "identifiant de l'enfant"),
            Column("famille", True, "identifiant du foyer qui réserve et paie"),
            Column("service", True, "identifiant du service"),
            Column("debut", True, "premier jour de l'inscription"),
            Column("fin", True, "dernier jour de l'inscription, inclus"),
            Column("validee", False, "non si un agent doit encore la valider (vide : oui)"),
        )
    ),
    CsvKind.ATTENDANCE: _columns(
        (
            Column("enfant", True, "identifiant de l'enfant"),
            Column("prestation", True, "identifiant de la prestation"),
            Column("date", True, "jour"),
            Column(
                "statut",
                True,
                "present, absent_justified, absent_unjustified, present_unbooked, "
                "cancelled_in_time, service_closed (ou leur libellé français)",
            ),
            Column("agent", False, "qui a pointé"),
            Column("note", False, "phrase pour la famille"),
        )
    ),
}


def csv_header(kind: CsvKind, delimiter: str = ";") -> str:
    """The full header line of a file of ``kind``, every column in order: a template to fill."""
    return delimiter.join(column.name for column in kind.columns)


def csv_template(kind: CsvKind, dialect: CsvDialect = EXCEL_FR) -> str:
    """An empty file of ``kind``: its full header alone, written in ``dialect`` (French Excel's by default:
    a byte-order mark, ``;``, CRLF), for an agent to fill and import back."""
    return dialect.write([column.name for column in kind.columns], ())


def _family_records(family: Family, decimal_comma: bool) -> Iterator[dict[str, object]]:
    record: dict[str, object] = {column.name: "" for column in CsvKind.FAMILIES.columns}
    record.update(
        famille=family.id,
        nom=family.name,
        payeur=family.payer_id,
        residence=family.residence.value,
        prelevement="oui" if family.direct_debit else "non",
    )
    for rank, guardian in enumerate(family.guardians[:2], start=1):
        for part, value in (
            ("id", guardian.id),
            ("prenom", guardian.first_name),
            ("nom", guardian.last_name),
            ("email", guardian.email),
            ("telephone", guardian.phone),
        ):
            record[f"responsable{rank}_{part}"] = value or ""
    address = family.address
    if address is not None:
        *above, street = address.lines
        record.update(
            adresse=street,
            adresse2=", ".join(above),
            code_postal=address.postcode,
            ville=address.city,
            pays=address.country or "",
        )
    if not family.quotients:
        yield record
    for quotient in family.quotients:
        value = str(quotient.value)
        yield {
            **record,
            "qf": value.replace(".", ",") if decimal_comma else value,
            "qf_debut": quotient.valid_from.isoformat(),
            "qf_fin": quotient.valid_until.isoformat() if quotient.valid_until else "",
            "qf_source": quotient.source,
            "qf_recu_le": quotient.received_on.isoformat() if quotient.received_on else "",
        }


def families_csv(families: Iterable[Family], dialect: CsvDialect = EXCEL_FR) -> str:
    """The families as a ``familles`` file that ``families_from_csv`` reads back, every column in order.

    One line per quotient (one line for a family without), the payer's address in its columns (the lines
    above the street joined in ``adresse2``), written in ``dialect`` (French Excel's by default)."""
    columns = [column.name for column in CsvKind.FAMILIES.columns]
    records = (record for family in families for record in _family_records(family, dialect.decimal_comma))
    return dialect.write(columns, records)


# -- what goes wrong ----------------------------------------------------------------------------


@attrs.frozen
class LineError:
    """One problem in an import file: the line (the header is line 1), the column, and why."""

    line: int
    column: str | None
    code: str
    message: str
    message_fr: str

    def __str__(self) -> str:
        where = f"line {self.line}" + (f", column {self.column}" if self.column else "")
        return f"{where}: {self.message}"

    @property
    def text_fr(self) -> str:
        """``ligne 3, colonne qf : « 8x2 » n'est pas un nombre décimal.``"""
        where = f"ligne {self.line}" + (f", colonne {self.column}" if self.column else "")
        return f"{where} : {self.message_fr}"


class ImportRejected(InvalidInput):
    """An import file with at least one bad line: nothing is imported; ``errors`` lists every bad line."""

    default_code = "import.rejected"

    def __init__(self, kind: CsvKind, errors: Sequence[LineError], *, source: str = "") -> None:
        self.kind = kind
        self.errors: tuple[LineError, ...] = tuple(errors)
        self.source = source
        name = source or f"{kind.value} file"
        lines = sorted({error.line for error in self.errors})
        wrong_fr = count_of(len(lines), "ligne", "lignes")
        super().__init__(
            f"{name}: {count_of(len(lines), 'line', 'lines', 'en')} rejected, nothing imported; "
            + "; ".join(str(error) for error in self.errors),
            message_fr=f"{source or 'Fichier ' + kind.value} : {wrong_fr} en erreur, rien n'est importé. "
            + " ; ".join(error.text_fr for error in self.errors),
            details={"lines": lines},
        )


# -- reading the file ---------------------------------------------------------------------------


# A valid UTF-8 sequence of two or more bytes: in a file that is not UTF-8 as a whole, the sign of a mix.
_UTF8_SEQUENCE = re.compile(rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}")


def _bad_encoding(kind: CsvKind, source: str, data: bytes, at: int) -> ImportRejected:
    return ImportRejected(
        kind,
        [
            LineError(
                data[:at].count(b"\n") + 1,
                None,
                "import.bad_encoding",
                "the file is neither UTF-8 nor Windows-1252; save it as 'CSV UTF-8'",
                "Le fichier n'est ni en UTF-8 ni en Windows-1252 : enregistrez-le au format « CSV UTF-8 ».",
            )
        ],
        source=source,
    )


def _decode(data: str | bytes, kind: CsvKind, source: str) -> str:
    """The file's text: UTF-8 (with or without a byte-order mark), else Windows-1252 (French Excel's
    default); a UTF-16 file (a NUL byte), a file mixing both, or a byte neither knows is refused."""
    if isinstance(data, str):
        return data.removeprefix("\ufeff")
    if not isinstance(data, bytes | bytearray):
        raise InvalidInput(
            f"an import file is text (str) or its bytes, got {type(data).__name__}",
            message_fr="Le fichier à importer est vide ou illisible.",
            code="import.not_a_file",
        )
    nul = data.find(b"\x00")
    if nul >= 0:
        raise _bad_encoding(kind, source, data, nul)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as not_utf8:
        mixed = _UTF8_SEQUENCE.search(data)
        if mixed is not None:
            raise _bad_encoding(kind, source, data, not_utf8.start) from None
        try:
            return data.decode("cp1252")
        except UnicodeDecodeError as error:
            raise _bad_encoding(kind, source, data, error.start) from None


def _delimiter(header: str) -> str:
    # The header holds only column names: whichever separator it uses more is the file's.
    return ";" if header.count(";") >= header.count(",") else ","


def _normal(text: str) -> str:
    """A value as compared with enum spellings: no accents, lower case, ``_`` between words."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[\s\-']+", "_", plain.strip().lower())


class _Row:
    """One data line's cells; each reader records its error and returns a placeholder the caller drops."""

    def __init__(self, line: int, cells: Mapping[str, str], errors: list[LineError]) -> None:
        self.line = line
        self.cells = cells
        self._errors = errors
        self.failed = False

    def error(self, column: str | None, code: str, message: str, message_fr: str) -> None:
        self.failed = True
        self._errors.append(LineError(self.line, column, code, message, message_fr))

    def optional_text(self, column: str) -> str | None:
        value = self.cells.get(column, "").strip()
        return value or None

    def text(self, column: str) -> str:
        value = self.optional_text(column)
        if value is None:
            self.error(column, "import.empty", "a value is required", "Valeur obligatoire manquante.")
            return ""
        return value

    def optional_identifier(self, column: str) -> str | None:
        value = self.optional_text(column)
        if value is not None and not IDENTIFIER.fullmatch(value):
            self.error(
                column,
                "import.bad_identifier",
                f"{value!r} is not an identifier (letters, digits, '_', '-', '.')",
                f"« {value} » n'est pas un identifiant (lettres, chiffres, « _ », « - », « . »).",
            )
        return value

    def identifier(self, column: str) -> str:
        value = self.optional_identifier(column)
        if value is None:
            return self.text(column)
        return value

    def optional_date(self, column: str) -> dt.date | None:
        value = self.optional_text(column)
        if value is None:
            return None
        day = read_date(value)
        if day is not None:
            return day
        self.error(
            column,
            "import.bad_date",
            f"{value!r} is not a date (expected YYYY-MM-DD or DD/MM/YYYY)",
            f"« {value} » n'est pas une date (attendu : AAAA-MM-JJ ou JJ/MM/AAAA).",
        )
        return dt.date.min

    def date(self, column: str) -> dt.date:
        value = self.optional_date(column)
        if value is None:
            self.text(column)  # records the missing value
            return dt.date.min
        return value

    def boolean(self, column: str, default: bool) -> bool:
        value = self.optional_text(column)
        if value is None:
            return default
        key = value.lower()
        if key in _TRUE:
            return True
        if key not in _FALSE:
            self.error(
                column,
                "import.bad_boolean",
                f"{value!r} is not yes or no (oui/non, true/false)",
                f"« {value} » n'est ni oui ni non.",
            )
        return False

    def decimal(self, column: str) -> Decimal | None:
        value = self.optional_text(column)
        if value is None:
            return None
        try:
            return to_decimal(value, what=column)
        except InvalidInput as error:
            self.error(column, error.code, error.message, error.message_fr)
            return Decimal(0)

    def choice(self, column: str, kind: type[_E], aliases: Mapping[str, _E] | None = None) -> _E | None:
        value = self.optional_text(column)
        if value is None:
            return None
        return self.one_of(column, value, kind, aliases)

    def required_choice(self, column: str, kind: type[_E], aliases: Mapping[str, _E] | None = None) -> _E:
        value = self.text(column)
        return self.one_of(column, value, kind, aliases) if value else next(iter(kind))

    def one_of(self, column: str, value: str, kind: type[_E], aliases: Mapping[str, _E] | None = None) -> _E:
        spellings = {_normal(str(member.value)): member for member in kind}
        spellings.update({_normal(alias): member for alias, member in (aliases or {}).items()})
        member = spellings.get(_normal(value))
        if member is None:
            known = ", ".join(str(m.value) for m in kind)
            self.error(
                column,
                "import.unknown_value",
                f"unknown value {value!r} (expected one of: {known})",
                f"Valeur inconnue « {value} » (valeurs possibles : {known}).",
            )
            return next(iter(kind))
        return member

    def build(self, make: Callable[_P, _T], *args: _P.args, **kwargs: _P.kwargs) -> _T | None:
        """The model object, or None when a cell was bad or the model refuses the line as a whole."""
        if self.failed:
            return None
        try:
            return make(*args, **kwargs)
        except InvalidInput as error:
            self.error(None, error.code, error.message, error.message_fr)
            return None


def _rows(data: str | bytes, kind: CsvKind, source: str) -> tuple[list[_Row], list[LineError]]:
    """The file's data lines, with the header checked; problems go to the returned error list."""
    text = _decode(data, kind, source)
    errors: list[LineError] = []
    first_line = text.split("\n", 1)[0]
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(first_line), strict=True)
    records: Iterator[list[str]] = iter(reader)
    try:
        header = next(records, None)
    except csv.Error as error:
        errors.append(_malformed(reader.line_num, error))
        return [], errors
    if header is None or not any(cell.strip() for cell in header):
        errors.append(
            LineError(
                1,
                None,
                "import.no_header",
                f"the file is empty; its first line must be the header: {csv_header(kind)}",
                f"Le fichier est vide ; sa première ligne doit être l'en-tête : {csv_header(kind)}",
            )
        )
        return [], errors
    # A header is matched without case or accents; a name nobody knows is reported as written.
    written = {_normal(cell): cell.strip() for cell in header}
    names = [_normal(cell) for cell in header]
    known = {column.name for column in kind.columns}
    for name in dict.fromkeys(names):
        if name not in known:
            errors.append(
                LineError(
                    1,
                    written[name],
                    "import.unknown_column",
                    f"unknown column {written[name]!r} (known: {', '.join(sorted(known))})",
                    f"Colonne inconnue « {written[name]} » (colonnes possibles : "
                    f"{', '.join(sorted(known))}).",
                )
            )
        elif names.count(name) > 1:
            errors.append(
                LineError(
                    1,
                    name,
                    "import.duplicate_column",
                    f"column {name!r} appears twice",
                    f"La colonne « {name} » figure deux fois.",
                )
            )
    for column in kind.columns:
        if column.required and column.name not in names:
            errors.append(
                LineError(
                    1,
                    column.name,
                    "import.missing_column",
                    f"required column {column.name!r} is missing from the header",
                    f"Colonne obligatoire « {column.name} » absente de l'en-tête.",
                )
            )
    if errors:
        return [], errors
    rows: list[_Row] = []
    while True:
        start = reader.line_num + 1
        try:
            record = next(records, None)
        except csv.Error as error:
            errors.append(_malformed(start, error))
            break
        if record is None:
            break
        if not any(cell.strip() for cell in record):
            continue
        if len(record) != len(names):
            errors.append(
                LineError(
                    start,
                    None,
                    "import.field_count",
                    f"the line has {len(record)} fields, the header {len(names)} "
                    "(a separator inside an unquoted value?)",
                    f"La ligne a {len(record)} champs et l'en-tête {len(names)} "
                    "(un séparateur dans une valeur sans guillemets ?).",
                )
            )
            continue
        rows.append(_Row(start, dict(zip(names, record, strict=True)), errors))
    return rows, errors


def _malformed(line: int, error: csv.Error) -> LineError:
    return LineError(
        line,
        None,
        "import.malformed",
        f"malformed CSV ({error})",
        "Ligne CSV mal formée (guillemets non fermés ?).",
    )


def _duplicate(row: _Row, column: str, what_en: str, what_fr: str, value: str, first: int) -> None:
    row.error(
        column,
        "import.duplicate",
        f"{what_en} {value!r} is already given on line {first}",
        f"{what_fr} « {value} » figure déjà ligne {first}.",
    )


def _finish(kind: CsvKind, errors: list[LineError], source: str, items: list[_T]) -> tuple[_T, ...]:
    if errors:
        raise ImportRejected(kind, sorted(errors, key=lambda e: e.line), source=source)
    return tuple(items)


# -- families -----------------------------------------------------------------------------------


_RESIDENCE_ALIASES = {"résident": Residence.RESIDENT, "non résident": Residence.NON_RESIDENT}


def _guardian(row: _Row, rank: int) -> Guardian | None:
    prefix = f"responsable{rank}_"
    given = any(row.optional_text(prefix + part) for part in ("id", "prenom", "nom", "email", "telephone"))
    if rank == 2 and not given:
        return None
    guardian_id = row.identifier(prefix + "id")
    first_name = row.text(prefix + "prenom")
    last_name = row.text(prefix + "nom")
    email = row.optional_text(prefix + "email")
    phone = row.optional_text(prefix + "telephone")
    return row.build(Guardian, guardian_id, first_name, last_name, email, phone)


def _quotient(row: _Row) -> QuotientFamilial | None:
    value = row.decimal("qf")
    start = row.optional_date("qf_debut")
    end = row.optional_date("qf_fin")
    origin = row.optional_text("qf_source") or "CAF"
    received = row.optional_date("qf_recu_le")
    if value is None:
        if start is not None or end is not None or received is not None:
            row.error("qf", "import.empty", "dates are given without a quotient", "Dates sans quotient.")
        return None
    if start is None:
        row.error(
            "qf_debut",
            "import.empty",
            "a quotient needs the date it applies from",
            "Un quotient doit avoir sa date de début de validité.",
        )
        return None
    return row.build(QuotientFamilial, value, start, end, origin, received_on=received)


# Where PostalAddress says a problem is (``details["at"]``), as the file's column.
_ADDRESS_AT = {"postcode": "code_postal", "city": "ville", "country": "pays"}


def _address(row: _Row) -> PostalAddress | None:
    street, complement = row.optional_text("adresse"), row.optional_text("adresse2")
    lines = [line for line in (complement, street) if line]
    postcode, city = row.optional_text("code_postal"), row.optional_text("ville")
    country = row.optional_text("pays")
    if not (lines or postcode or city or country):
        return None
    required = (("adresse", street), ("code_postal", postcode), ("ville", city))
    if not all(value for _, value in required):
        for column, value in required:
            if not value:
                row.error(
                    column,
                    "import.incomplete_address",
                    "an address needs its street line, postcode and city",
                    "Une adresse doit avoir sa voie (adresse), son code postal et sa ville.",
                )
        return None
    try:
        return PostalAddress(lines, postcode or "", city or "", country)
    except InvalidInput as error:
        at = str(error.details.get("at", ""))
        too_long = complement is not None and len(complement) > ADDRESS_LINE_LENGTH
        column = _ADDRESS_AT.get(at) or ("adresse2" if too_long else "adresse")
        row.error(column, error.code, error.message, error.message_fr)
        return None


@attrs.frozen
class _FamilyLines:
    first: int
    details: tuple[object, ...]
    family: Family


def families_from_csv(data: str | bytes, *, source: str = "") -> tuple[Family, ...]:
    """The families of a ``familles`` file, in file order; ``ImportRejected`` if any line is wrong.

    A family with several quotients (one until 31 December, a new one from 1 January) is given on several
    lines, one quotient each, the other columns identical.
    """
    kind = CsvKind.FAMILIES
    rows, errors = _rows(data, kind, source)
    found: dict[str, _FamilyLines] = {}
    for row in rows:
        family_id = row.identifier("famille")
        name = row.text("nom")
        guardians = [g for g in (_guardian(row, 1), _guardian(row, 2)) if g is not None]
        payer = row.optional_identifier("payeur") or (guardians[0].id if guardians else "")
        residence = row.choice("residence", Residence, _RESIDENCE_ALIASES) or Residence.RESIDENT
        direct_debit = row.boolean("prelevement", default=False)
        address = _address(row)
        quotient = _quotient(row)
        if row.failed:
            continue
        details = (name, tuple(guardians), payer, residence, direct_debit, address)
        earlier = found.get(family_id)
        if earlier is not None and earlier.details != details:
            row.error(
                None,
                "import.family_details_differ",
                f"family {family_id!r} is given on line {earlier.first} with other details; "
                "only the quotient columns may differ",
                f"Le foyer « {family_id} » figure ligne {earlier.first} avec d'autres informations : "
                "seules les colonnes du quotient peuvent changer.",
            )
            continue
        quotients = [*(earlier.family.quotients if earlier else ()), *([quotient] if quotient else [])]
        family = row.build(
            Family, family_id, name, guardians, payer, residence, quotients, direct_debit, address=address
        )
        if family is not None:
            found[family_id] = _FamilyLines(earlier.first if earlier else row.line, details, family)
    return _finish(kind, errors, source, [lines.family for lines in found.values()])


# -- children -----------------------------------------------------------------------------------


_CLASS_ALIASES = {"collège": SchoolClass.COLLEGE}


def children_from_csv(data: str | bytes, *, source: str = "") -> tuple[Child, ...]:
    """The children of an ``enfants`` file, in file order; ``ImportRejected`` if any line is wrong.

    A child of separated parents names both households (``famille`` and ``famille2``); each books and pays
    for its own days.
    """
    kind = CsvKind.CHILDREN
    rows, errors = _rows(data, kind, source)
    children: list[Child] = []
    seen: dict[str, int] = {}
    for row in rows:
        child_id = row.identifier("enfant")
        first_name = row.text("prenom")
        last_name = row.text("nom")
        birth = row.date("naissance")
        households = [row.identifier("famille")]
        second = row.optional_identifier("famille2")
        if second is not None:
            households.append(second)
        school = row.optional_text("ecole")
        school_class = row.choice("classe", SchoolClass, _CLASS_ALIASES)
        pai = row.boolean("pai", default=False)
        support = row.boolean("accompagnement", default=False)
        diets = [
            row.one_of("regimes", part, Diet)
            for part in (row.optional_text("regimes") or "").split("|")
            if part.strip()
        ]
        if child_id in seen:
            _duplicate(row, "enfant", "child", "L'enfant", child_id, seen[child_id])
        child = row.build(
            Child,
            child_id,
            first_name,
            last_name,
            birth,
            households,
            school,
            school_class,
            pai,
            support,
            diets,
        )
        if child is not None:
            seen[child_id] = row.line
            children.append(child)
    return _finish(kind, errors, source, children)


# -- enrolments ---------------------------------------------------------------------------------


def _known(row: _Row, column: str, value: str, known: Iterable[str], what_en: str, what_fr: str) -> None:
    """``what_fr`` is the French phrase with its agreement: ``Service inconnu``, ``Prestation inconnue``."""
    names = sorted(known)
    if value and value not in names:
        row.error(
            column,
            "import.unknown_reference",
            f"unknown {what_en} {value!r} (known: {', '.join(names)})",
            f"{what_fr} : « {value} » (valeurs possibles : {', '.join(names)}).",
        )


def enrolments_from_csv(
    data: str | bytes, *, commune: Commune | None = None, source: str = ""
) -> tuple[Enrolment, ...]:
    """The enrolments of an ``inscriptions`` file; ``ImportRejected`` if any line is wrong.

    With ``commune``, every service must be one of the commune's.
    """
    kind = CsvKind.ENROLMENTS
    rows, errors = _rows(data, kind, source)
    enrolments: list[Enrolment] = []
    seen: dict[str, int] = {}
    for row in rows:
        enrolment_id = row.identifier("inscription")
        child_id = row.identifier("enfant")
        family_id = row.identifier("famille")
        service_id = row.identifier("service")
        start = row.date("debut")
        end = row.date("fin")
        validated = row.boolean("validee", default=True)
        if commune is not None:
            _known(row, "service", service_id, (s.id for s in commune.services), "service", "Service inconnu")
        if enrolment_id in seen:
            _duplicate(row, "inscription", "enrolment", "L'inscription", enrolment_id, seen[enrolment_id])
        period = row.build(DateRange, start, end)
        enrolment = None
        if period is not None:
            enrolment = row.build(Enrolment, enrolment_id, child_id, family_id, service_id, period, validated)
        if enrolment is not None:
            seen[enrolment_id] = row.line
            enrolments.append(enrolment)
    return _finish(kind, errors, source, enrolments)


# -- attendance ---------------------------------------------------------------------------------


_STATUS_ALIASES = {status.label("fr"): status for status in AttendanceStatus}


def attendance_from_csv(
    data: str | bytes,
    *,
    commune: Commune | None = None,
    recorded_by: str | None = None,
    source: str = "",
) -> tuple[AttendanceFact, ...]:
    """The attendance facts of a ``presences`` file; ``ImportRejected`` if any line is wrong.

    ``statut`` is a status value (``absent_justified``) or its French label (``absence justifiée``). With
    ``commune``, every prestation must be one of the commune's. ``recorded_by`` is used for lines without an
    ``agent``. A child, prestation and day may be given only once.
    """
    kind = CsvKind.ATTENDANCE
    rows, errors = _rows(data, kind, source)
    facts: list[AttendanceFact] = []
    seen: dict[tuple[str, str, dt.date], int] = {}
    for row in rows:
        child_id = row.identifier("enfant")
        prestation_id = row.identifier("prestation")
        day = row.date("date")
        status = row.required_choice("statut", AttendanceStatus, _STATUS_ALIASES)
        agent = row.optional_text("agent") or recorded_by
        note = row.optional_text("note") or ""
        if commune is not None:
            _known(
                row,
                "prestation",
                prestation_id,
                (p.id for p in commune.prestations),
                "prestation",
                "Prestation inconnue",
            )
        key = (child_id, prestation_id, day)
        if not row.failed and key in seen:
            row.error(
                None,
                "import.duplicate",
                f"{child_id} / {prestation_id} / {day.isoformat()} is already given on line {seen[key]}",
                f"Le pointage {child_id} / {prestation_id} du {day.strftime('%d/%m/%Y')} figure déjà "
                f"ligne {seen[key]}.",
            )
        fact = row.build(AttendanceFact, child_id, prestation_id, day, status, agent, None, note)
        if fact is not None:
            seen[key] = row.line
            facts.append(fact)
    return _finish(kind, errors, source, facts)
