"""SEPA direct-debit mandates and the régie as a creditor: who is debited, on which account, under which ICS.

A *mandat de prélèvement SEPA* is signed by the payer: it has a unique reference (the RUM, *référence unique
du mandat*), a signature date, the debtor's name and account (IBAN, BIC), and the sequence of its next
collection (``FRST`` the first time, ``RCUR`` after). The régie collects as a creditor known by its
*identifiant créancier SEPA* (ICS, for instance ``FR72ZZZ123456``) on its own account.

A ``FamilyMandate`` is a mandate as the régie keeps it: the household whose payer signed it, when it was
registered, its last collection and its revocation. A mandate not used for 36 months lapses (EPC rulebook):
``FamilyMandate.in_force_on`` says whether it can still be collected on a day.

IBANs and BICs are checked when a mandate or a creditor is built: their form and the IBAN's ISO 13616 key
(modulo 97) always, and with the ``sepa`` extra (``pip install 'espacefamille[sepa]'``) also by schwifty — the
national account number's own rules (the French RIB key) and the length of each country's IBAN. So a commune
file naming the régie's account loads without the extra.
"""

from __future__ import annotations

import copy
import datetime as dt
import enum
import re
import unicodedata
from typing import Any, Final

import attrs

from espacefamille._internal.validators import (
    identifier,
    normal_text,
    optional_date,
    plain_date,
    text_problem,
)
from espacefamille.errors import InvalidInput

__all__ = [
    "PRE_NOTIFICATION_DAYS",
    "Creditor",
    "FamilyMandate",
    "Mandate",
    "SequenceType",
    "check_creditor_identifier",
    "iban_of",
    "masked_iban",
    "sepa_text",
]

#: SEPA Core: the debtor is told of a collection at least 14 calendar days before, unless the mandate agrees
#: on another delay.
PRE_NOTIFICATION_DAYS: Final = 14

# The Latin characters every SEPA bank accepts (EPC guidelines); identifiers must use them as they are.
_SEPA_IDENTIFIER: Final = re.compile(r"[A-Za-z0-9+?/\-:().,' ]{1,35}")
_CREDITOR_ID: Final = re.compile(r"([A-Z]{2})([0-9]{2})([A-Za-z0-9]{3})([A-Za-z0-9]{1,28})")
_NAME_LENGTH: Final = 70


class SequenceType(enum.Enum):
    """Where a collection stands in its mandate: first, recurring, final, or the only one."""

    FRST = "FRST"
    RCUR = "RCUR"
    FNAL = "FNAL"
    OOFF = "OOFF"


def _compact(value: object) -> object:
    return value.replace(" ", "").upper() if isinstance(value, str) else value


def _optional_compact(value: object) -> object:
    return None if value is None or value == "" else _compact(value)


def _mod97(text: str) -> int:
    """ISO 7064 mod 97-10 of letters and digits, letters read as 10 to 35: the key of an ICS and an IBAN."""
    return int("".join(str(int(char, 36)) for char in text)) % 97


def iban_of(country: str, bban: str) -> str:
    """The IBAN of a national account number (``bban``, a French RIB's 23 characters), its ISO 13616 check
    digits computed: ``iban_of("FR", "30006000011234567890189")`` is ``"FR7630006000011234567890189"``."""
    compact = bban.replace(" ", "").upper()
    return f"{country}{98 - _mod97(compact + country + '00'):02d}{compact}"


def check_creditor_identifier(ics: str) -> str:
    """``ics`` without spaces if it is a valid SEPA creditor identifier (ISO 7064 mod 97-10), else an error.

    The three characters after the check digits (the *creditor business code*, ``ZZZ`` in France) are not
    part of the check; a French ICS has a national part of six characters.
    """
    compact = ics.replace(" ", "").upper() if isinstance(ics, str) else ""
    match = _CREDITOR_ID.fullmatch(compact)
    valid = match is not None and len(compact) <= 35
    if match is not None and valid:
        country, digits, _, national = match.groups()
        valid = _mod97(national + country + digits) == 1 and (country != "FR" or len(national) == 6)
    if not valid:
        raise InvalidInput(
            f"{ics!r} is not a valid SEPA creditor identifier",
            message_fr=f"Identifiant créancier SEPA (ICS) invalide : « {ics} ».",
            code="sepa.invalid_creditor_id",
        )
    return compact


# An IBAN: a country, two check digits, 11 to 30 letters or digits; a BIC: bank, country, place, branch.
_IBAN_FORM: Final = re.compile(r"[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}")
_BIC_FORM: Final = re.compile(r"[A-Z]{4}[A-Z]{2}[A-Z0-9]{2}(?:[A-Z0-9]{3})?")


def _iban_key_valid(value: str) -> bool:
    """ISO 13616: the IBAN, its first four characters moved to the end, letters read as 10–35, is 1 mod 97."""
    compact = value.replace(" ", "").upper()
    if not _IBAN_FORM.fullmatch(compact):
        return False
    return _mod97(compact[4:] + compact[:4]) == 1


def _check_iban(value: object, whose: str) -> None:
    valid = isinstance(value, str) and _iban_key_valid(value)
    if isinstance(value, str) and valid:
        try:
            import schwifty  # noqa: PLC0415 (optional extra "sepa": imported only when an account is checked)
        except ImportError:  # without the extra: the form and the key only
            pass
        else:
            try:
                schwifty.IBAN(value, validate_bban=True)
            except (schwifty.exceptions.SchwiftyException, ValueError):
                valid = False
    if not valid:
        raise InvalidInput(
            f"invalid IBAN {value!r} for {whose}",
            message_fr=f"IBAN invalide pour {whose} : « {value} ».",
            code="sepa.invalid_iban",
        )


def _check_bic(value: object, whose: str) -> None:
    valid = isinstance(value, str) and bool(_BIC_FORM.fullmatch(value.replace(" ", "").upper()))
    if isinstance(value, str) and valid:
        try:
            import schwifty  # noqa: PLC0415 (optional extra "sepa": imported only when an account is checked)
        except ImportError:  # without the extra: the form only
            pass
        else:
            try:
                schwifty.BIC(value)
            except (schwifty.exceptions.SchwiftyException, ValueError):
                valid = False
    if not valid:
        raise InvalidInput(
            f"invalid BIC {value!r} for {whose}",
            message_fr=f"BIC invalide pour {whose} : « {value} ».",
            code="sepa.invalid_bic",
        )


def _check_name(value: object, what: str) -> None:
    if (
        not isinstance(value, str)
        or not value.strip()
        or len(value) > _NAME_LENGTH
        or text_problem(value) is not None
    ):
        raise InvalidInput(
            f"{what} must be a name of 1 to {_NAME_LENGTH} characters, got {value!r}",
            message_fr=f"Nom invalide ({what}) : « {value} » (de 1 à {_NAME_LENGTH} caractères).",
            code="sepa.invalid_name",
        )


def _check_days(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 60:
        raise InvalidInput(
            f"the pre-notification delay must be 1 to 60 days, got {value!r}",
            message_fr="Le délai de pré-notification doit être de 1 à 60 jours.",
            code="sepa.pre_notification_days",
        )


@attrs.frozen
class Mandate:
    """A payer's SEPA direct-debit mandate (Core scheme) with the régie.

    ``rum`` is the *référence unique du mandat* (1 to 35 SEPA characters); ``signed_on`` the signature date;
    ``bic`` may be left out for an account in the SEPA area; ``sequence`` is that of the next collection;
    ``pre_notification_days`` the delay between the invoice (the pre-notification) and its collection.
    """

    rum: str
    signed_on: dt.date | None
    debtor_name: str = attrs.field(converter=normal_text)
    iban: str = attrs.field(converter=_compact)
    bic: str | None = attrs.field(default=None, converter=_optional_compact)
    sequence: SequenceType = attrs.field(
        default=SequenceType.FRST, validator=attrs.validators.instance_of(SequenceType)
    )
    pre_notification_days: int = attrs.field(default=PRE_NOTIFICATION_DAYS, validator=_check_days)

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.rum, str) or not _SEPA_IDENTIFIER.fullmatch(self.rum):
            raise InvalidInput(
                f"invalid mandate reference {self.rum!r}",
                message_fr=(
                    f"Référence unique de mandat (RUM) invalide : « {self.rum} » (de 1 à 35 caractères, "
                    "lettres sans accents, chiffres et + ? / - : ( ) . , ')."
                ),
                code="sepa.invalid_rum",
            )
        _check_name(self.debtor_name, "débiteur")
        whose = f"le mandat {self.rum} de {self.debtor_name}"
        if not isinstance(self.signed_on, dt.date) or isinstance(self.signed_on, dt.datetime):
            raise InvalidInput(
                f"mandate {self.rum} of {self.debtor_name} has no signature date",
                message_fr=f"Date de signature manquante pour {whose}.",
                code="sepa.mandate_unsigned",
            )
        _check_iban(self.iban, whose)
        if self.bic is not None:
            _check_bic(self.bic, whose)

    def after_collection(self) -> Mandate:
        """The mandate once a collection was sent: a first collection makes the next ones recurring."""
        if self.sequence is SequenceType.FRST:
            # The same valid mandate, its next sequence changed: not checked again (a city's debit file
            # would check every account with schwifty once more).
            recurring = copy.copy(self)
            object.__setattr__(recurring, "sequence", SequenceType.RCUR)
            return recurring
        return self


@attrs.frozen
class Creditor:
    """The régie as a SEPA creditor: its name, its ICS and the account collections are paid into."""

    name: str = attrs.field(converter=normal_text)
    identifier: str = attrs.field(converter=check_creditor_identifier)
    iban: str = attrs.field(converter=_compact)
    bic: str | None = attrs.field(default=None, converter=_optional_compact)

    def __attrs_post_init__(self) -> None:
        _check_name(self.name, "créancier")
        whose = f"le créancier {self.name}"
        _check_iban(self.iban, whose)
        if self.bic is not None:
            _check_bic(self.bic, whose)


def masked_iban(iban: str) -> str:
    """An IBAN as an invoice prints it: its country and check digits and its last four characters only
    (« FR76 **** 0189 »)."""
    return f"{iban[:4]} **** {iban[-4:]}"


#: A mandate not collected for 36 months lapses (EPC SEPA Core rulebook): a new one must be signed.
LAPSE_MONTHS: Final = 36


def _months_later(day: dt.date, months: int) -> dt.date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    for last in (day.day, 30, 29, 28):
        try:
            return dt.date(year, month, last)
        except ValueError:
            continue
    raise AssertionError("unreachable")  # pragma: no cover


@attrs.frozen
class FamilyMandate:
    """A payer's mandate as the régie keeps it: the household (``family_id``) and régie (``regie_id``) it is
    for, the day it was registered, its last collection and the day it was revoked (None: still valid).

    Its ``mandate.sequence`` is that of the next collection: ``FRST`` until a first collection is sent.
    """

    mandate: Mandate = attrs.field(validator=attrs.validators.instance_of(Mandate))
    family_id: str = attrs.field(validator=identifier)
    regie_id: str = attrs.field(validator=identifier)
    registered_on: dt.date = attrs.field(validator=plain_date)
    last_collected_on: dt.date | None = attrs.field(default=None, validator=optional_date)
    revoked_on: dt.date | None = attrs.field(default=None, validator=optional_date)

    @property
    def rum(self) -> str:
        return self.mandate.rum

    @property
    def lapses_on(self) -> dt.date:
        """The day the mandate lapses unless collected before: 36 months after its last collection (or its
        signature, when never collected)."""
        signed_on = self.mandate.signed_on
        assert signed_on is not None  # a Mandate always has one
        return _months_later(self.last_collected_on or signed_on, LAPSE_MONTHS)

    def in_force_on(self, day: dt.date) -> bool:
        """Whether an invoice can be collected under this mandate on ``day``: signed by then, not revoked on
        or before it, not lapsed."""
        signed_on = self.mandate.signed_on
        assert signed_on is not None
        return (
            signed_on <= day and (self.revoked_on is None or day < self.revoked_on) and day < self.lapses_on
        )


_TRANSLITERATE: Final = str.maketrans({"œ": "oe", "Œ": "OE", "æ": "ae", "Æ": "AE", "ß": "ss", "&": "+"})


def sepa_text(text: str, limit: int) -> str:
    """``text`` in the SEPA Latin character set, at most ``limit`` characters long.

    Accents are dropped (« Léa Müller » becomes « Lea Muller »), any other character becomes a space.
    """
    decomposed = unicodedata.normalize("NFKD", text.translate(_TRANSLITERATE))
    kept = "".join(char for char in decomposed if not unicodedata.combining(char))
    safe = "".join(char if _SEPA_IDENTIFIER.fullmatch(char) else " " for char in kept)
    return " ".join(safe.split())[:limit].rstrip()
