"""A régie's settings for the Treasury's files: who it is in Hélios and where its receipts are booked.

The commune's accountant (the *comptable public*, in Hélios) receives the régie's invoices as *titres de
recette* in a PES V2 file. The file names the collectivité by its SIRET (``IdColl``), its *poste comptable*
(``IdPost``), its collectivité code in Hélios (``CodCol``) and its budget (``CodBud``); each line of a title
is booked on an accounting *nature* (the budget's account, ``7067`` for the fees of school and after-school
services in the M14/M57 nomenclatures) with a local product code (``CodProdLoc``). A régie gives a default
nature and product code and may give others per service (the canteen on one product, the holiday centre on
another): ``[regies.X.pes]`` in the commune's file, ``docs/regie-outputs.md``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final

import attrs

from espacefamille.errors import InvalidInput

__all__ = ["AccountingCode", "PesSettings"]

_SIRET: Final = re.compile(r"[0-9]{14}")
_NATURE: Final = re.compile(r"[0-9]{1,10}")
_CODE: Final = re.compile(r"[A-Za-z0-9]{1,%d}")


def _pattern(pattern: re.Pattern[str], what: str, expected_fr: str, code: str) -> Any:
    def check(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
        if not isinstance(value, str) or not pattern.fullmatch(value):
            raise InvalidInput(
                f"{attribute.name}: invalid {what} {value!r}",
                message_fr=f"{expected_fr} : « {value} ».",
                code=code,
                details={"at": attribute.name},
            )

    return check


def _alnum(length: int, what: str, expected_fr: str, code: str) -> Any:
    return _pattern(re.compile(_CODE.pattern % length), what, expected_fr, code)


@attrs.frozen
class AccountingCode:
    """Where a line of a title is booked: the budget's ``nature`` (account digits) and a ``product`` code."""

    nature: str = attrs.field(
        validator=_pattern(
            _NATURE, "accounting nature", "Nature comptable invalide (1 à 10 chiffres)", "pes.invalid_nature"
        )
    )
    product: str = attrs.field(
        validator=_alnum(
            4, "product code", "Code produit invalide (1 à 4 lettres ou chiffres)", "pes.invalid_product"
        )
    )


def _codes(value: object) -> object:
    return tuple(sorted(value.items())) if isinstance(value, Mapping) else value


def _check_codes(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, tuple) or not all(
        isinstance(pair, tuple)
        and len(pair) == 2
        and isinstance(pair[0], str)
        and isinstance(pair[1], AccountingCode)
        for pair in value
    ):
        raise InvalidInput(
            f"services must map service ids to AccountingCode, got {value!r}",
            message_fr="Les codes comptables par service sont attendus.",
            code="pes.invalid_services",
        )


@attrs.frozen
class PesSettings:
    """A régie in Hélios: the collectivité's ``siret``, ``poste_comptable``, ``collectivite_code`` and
    ``budget``, and where its lines are booked (``default``, or ``services``: a mapping of service ids to
    codes, kept as sorted pairs).

    ``code_for(service_id)`` is the service's own code, else the default, else None (the commune's file is
    refused at load when a service of the régie has none).
    """

    siret: str = attrs.field(
        validator=_pattern(
            _SIRET, "SIRET", "SIRET de la collectivité invalide (14 chiffres)", "pes.invalid_siret"
        )
    )
    poste_comptable: str = attrs.field(
        validator=_alnum(
            7, "poste comptable", "Poste comptable invalide (1 à 7 lettres ou chiffres)", "pes.invalid_poste"
        )
    )
    collectivite_code: str = attrs.field(
        validator=_alnum(
            3,
            "collectivité code",
            "Code de la collectivité dans Hélios invalide (1 à 3 lettres ou chiffres)",
            "pes.invalid_collectivite_code",
        )
    )
    budget: str = attrs.field(
        validator=_alnum(
            10, "budget code", "Code budget invalide (1 à 10 lettres ou chiffres)", "pes.invalid_budget"
        )
    )
    default: AccountingCode | None = attrs.field(
        default=None, validator=attrs.validators.optional(attrs.validators.instance_of(AccountingCode))
    )
    services: tuple[tuple[str, AccountingCode], ...] = attrs.field(
        default=(), converter=_codes, validator=_check_codes
    )

    def code_for(self, service_id: str) -> AccountingCode | None:
        return dict(self.services).get(service_id, self.default)
