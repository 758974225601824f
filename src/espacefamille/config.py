"""A commune's configuration as data: load and validate a TOML file, and write one back.

The file describes the collectivité, its régies, services and prestations with their opening
calendars, its own school-holiday table if any, and its billing settings. Loading either returns
a complete, valid ``Commune`` or raises ``InvalidConfiguration`` naming the key path and what was
expected: nothing is ever half-loaded. ``docs/configuration.md`` is the reference.

Amounts are written as strings (``"15.00"``) so that they stay exact; TOML floats are refused.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import tomli_w

from espacefamille._internal.tables import Table
from espacefamille.billing.accounting import AccountingCode, PesSettings
from espacefamille.billing.mandates import Creditor
from espacefamille.billing.tariffs import tariff_book_from_dict, tariff_book_to_dict
from espacefamille.calendar.opening import Closure, ClosureReason, Opening
from espacefamille.calendar.periods import DateRange, Weekday
from espacefamille.calendar.public_holidays import HolidaySubdivision
from espacefamille.calendar.school import SchoolYear, SchoolZone, parse_school_year
from espacefamille.calendar.timezones import DEFAULT_TIMEZONE
from espacefamille.commune import Commune
from espacefamille.errors import InvalidConfiguration
from espacefamille.families.requests import (
    RequestCategories,
    request_categories_from_dict,
    request_categories_to_dict,
)
from espacefamille.model import (
    Collectivite,
    CounterPayment,
    InvoiceMentions,
    PaymentMode,
    Prestation,
    PrestationKind,
    Regie,
    Service,
    ServiceKind,
)
from espacefamille.money import Money, RoundingMode, RoundingPoint, RoundingPolicy
from espacefamille.rules.attendance import AbsencePolicy, absence_policy_from_dict, absence_policy_to_dict
from espacefamille.rules.capacity import Capacity, capacity_from_dict, capacity_to_dict
from espacefamille.rules.conditions import BookingConditions, conditions_from_dict, conditions_to_dict
from espacefamille.rules.policies import (
    BookingRules,
    booking_rules_from_dict,
    booking_rules_to_dict,
    check_booking_rules,
)
from espacefamille.rules.unpaid import unpaid_policy_from_dict, unpaid_policy_to_dict

__all__ = [
    "SCHEMA_VERSION",
    "commune_from_dict",
    "commune_to_dict",
    "dumps_commune",
    "load_commune",
    "loads_commune",
]

SCHEMA_VERSION = 1


# -- reading ----------------------------------------------------------------------------------


def _weekdays(table: Table, key: str) -> frozenset[Weekday]:
    names = table.strings(key, 'a list of weekdays such as ["monday", "tuesday"]')
    return frozenset(table.build(f"{key}[{i}]", Weekday.parse, name) for i, name in enumerate(names))


def _read_range(table: Table) -> DateRange:
    start, end = table.date("start"), table.date("end")
    table.done()
    return table.build("end", DateRange, start, end)


def _read_closures(table: Table) -> tuple[Closure, ...]:
    closures = []
    for item in table.array("closures"):
        period = item.build("end", DateRange, item.date("start"), item.date("end"))
        closures.append(Closure(period, item.choice("reason", ClosureReason), item.string("label", "")))
        item.done()
    return tuple(closures)


def _read_opening(table: Table) -> Opening:
    school = _weekdays(table, "school_weekdays")
    holidays = _weekdays(table, "holiday_weekdays")
    season_table = table.table("season", None)
    season = _read_range(season_table) if season_table is not None else None
    closures = _read_closures(table)
    open_on_holidays = table.boolean("open_on_public_holidays", False)
    table.done()
    if not school and not holidays:
        raise InvalidConfiguration(
            "an opening needs school_weekdays or holiday_weekdays", path=table.path, code="config.never_open"
        )
    return Opening(school, holidays, tuple(closures), season, open_on_holidays)


def _read_prestation(
    table: Table, prestation_id: str, service_id: str, default: Opening | None, sections: _Sections
) -> Prestation:
    name = table.string("name")
    kind = table.choice("kind", PrestationKind)
    payment_mode = table.choice("payment_mode", PaymentMode)
    start, end = table.time("start", None), table.time("end", None)
    opening_table = table.table("opening", None)
    opening = _read_opening(opening_table) if opening_table is not None else default
    if opening is None:
        raise InvalidConfiguration(
            "no opening here nor on its service", path=table.at("opening"), code="config.missing_key"
        )
    blocks = tuple(_read_range(item) for item in table.array("blocks"))
    booking = table.raw("booking", required=False)
    capacity = table.raw("capacity", required=False)
    conditions = table.raw("conditions", required=False)
    table.done()
    prestation = table.build(
        "",
        lambda: Prestation(
            id=prestation_id,
            name=name,
            service_id=service_id,
            kind=kind,
            payment_mode=payment_mode,
            opening=opening,
            start=start,
            end=end,
            blocks=blocks,
        ),
    )
    if booking is not None:
        rules = booking_rules_from_dict(booking, table.at("booking"))
        check_booking_rules(rules, prestation, table.at("booking"))
        sections.booking_rules[prestation_id] = rules
    if capacity is not None:
        sections.capacities[prestation_id] = capacity_from_dict(capacity, table.at("capacity"))
    if conditions is not None:
        sections.conditions[prestation_id] = conditions_from_dict(conditions, table.at("conditions"))
    return prestation


class _Sections:
    """The per-prestation and per-service rules met while reading services, for the ``Commune``."""

    def __init__(self) -> None:
        self.booking_rules: dict[str, BookingRules] = {}
        self.capacities: dict[str, Capacity] = {}
        self.absence_policies: dict[str, AbsencePolicy] = {}
        self.conditions: dict[str, BookingConditions] = {}


def _read_service(table: Table, service_id: str, sections: _Sections) -> Service:
    name = table.string("name")
    kind = table.choice("kind", ServiceKind)
    regie = table.string("regie")
    opening_table = table.table("opening", None)
    default = _read_opening(opening_table) if opening_table is not None else None
    closures = _read_closures(table)
    prestations = tuple(
        _read_prestation(sub, pid, service_id, default, sections) for pid, sub in table.tables("prestations")
    )
    absences = table.raw("absences", required=False)
    if absences is not None:
        sections.absence_policies[service_id] = absence_policy_from_dict(absences, table.at("absences"))
    if not prestations:
        raise InvalidConfiguration(
            "a service needs at least one prestation", path=table.at("prestations"), code="config.missing_key"
        )
    table.done()
    return table.build("", Service, service_id, name, kind, regie, prestations, closures)


def _read_mentions(regie: Table) -> InvoiceMentions:
    """``[regies.X.mentions]``: what the régie's invoices say besides the amounts (all optional)."""
    table = regie.table("mentions", None)
    if table is None:
        return InvoiceMentions()
    payments: list[CounterPayment] | None = None
    if "counter_payments" in table.data:
        payments = []
        for index, value in enumerate(table.strings("counter_payments")):
            try:
                payments.append(CounterPayment(value))
            except ValueError:
                expected = ", ".join(repr(member.value) for member in CounterPayment)
                raise InvalidConfiguration(
                    f"expected one of {expected}, got {value!r}",
                    path=table.at(f"counter_payments[{index}]"),
                    code="config.choice",
                ) from None
    mentions = table.build(
        "",
        InvoiceMentions,
        address=table.strings("address"),
        opening_hours=table.string("opening_hours", None),
        phone=table.string("phone", None),
        cheque_payable_to=table.string("cheque_payable_to", None),
        **({} if payments is None else {"counter_payments": payments}),
        after_due_date=table.string("after_due_date", None),
        zero_lines=table.boolean("zero_lines", False),
    )
    table.done()
    return mentions


def _mentions_dict(mentions: InvoiceMentions) -> dict[str, Any]:
    """The keys of ``[regies.X.mentions]`` that differ from the defaults (none: no table at all)."""
    defaults = InvoiceMentions()
    data: dict[str, Any] = {}
    if mentions.address:
        data["address"] = list(mentions.address)
    for key in ("opening_hours", "phone", "cheque_payable_to"):
        if getattr(mentions, key) is not None:
            data[key] = getattr(mentions, key)
    if mentions.counter_payments != defaults.counter_payments:
        data["counter_payments"] = [payment.value for payment in mentions.counter_payments]
    if mentions.after_due_date is not None:
        data["after_due_date"] = mentions.after_due_date
    if mentions.zero_lines:
        data["zero_lines"] = True
    return data


def _read_code(table: Table, required: bool) -> AccountingCode | None:
    if not required and not table.has("nature") and not table.has("product"):
        return None
    return table.build("nature", AccountingCode, table.string("nature"), table.string("product"))


def _read_pes(regie: Table) -> PesSettings | None:
    """``[regies.X.pes]``: the régie in the Treasury's Hélios and its accounting codes (optional)."""
    table = regie.table("pes", None)
    if table is None:
        return None
    default = _read_code(table, required=False)
    services: dict[str, AccountingCode] = {}
    for service_id, sub in table.tables("services"):
        code = _read_code(sub, required=True)
        assert code is not None
        services[service_id] = code
        sub.done()
    settings = table.build(
        "",
        PesSettings,
        siret=table.string("siret"),
        poste_comptable=table.string("poste_comptable"),
        collectivite_code=table.string("collectivite_code"),
        budget=table.string("budget"),
        default=default,
        services=services,
    )
    table.done()
    return settings


def _check_pes(regies: tuple[Regie, ...], services: tuple[Service, ...]) -> None:
    """Every service of a régie with PES settings has an accounting code; codes name the régie's services."""
    for regie in regies:
        if regie.pes is None:
            continue
        own = {service.id for service in services if service.regie_id == regie.id}
        for service_id, _ in regie.pes.services:
            if service_id not in own:
                raise InvalidConfiguration(
                    f"no service {service_id!r} of régie {regie.id!r}",
                    path=f"regies.{regie.id}.pes.services.{service_id}",
                    message_fr=f"La régie « {regie.name} » n'a pas de service « {service_id} ».",
                    code="config.pes_unknown_service",
                )
        for service_id in sorted(own):
            if regie.pes.code_for(service_id) is None:
                raise InvalidConfiguration(
                    f"service {service_id!r} has no accounting nature and product code",
                    path=f"regies.{regie.id}.pes.services.{service_id}",
                    message_fr=(
                        f"Le service « {service_id} » n'a ni nature comptable ni code produit pour Hélios : "
                        f"donnez-les dans [regies.{regie.id}.pes] "
                        f"ou [regies.{regie.id}.pes.services.{service_id}]."
                    ),
                    code="config.pes_missing_code",
                )


def _pes_dict(pes: PesSettings) -> dict[str, Any]:
    data: dict[str, Any] = {
        "siret": pes.siret,
        "poste_comptable": pes.poste_comptable,
        "collectivite_code": pes.collectivite_code,
        "budget": pes.budget,
    }
    if pes.default is not None:
        data.update(nature=pes.default.nature, product=pes.default.product)
    if pes.services:
        data["services"] = {sid: {"nature": c.nature, "product": c.product} for sid, c in pes.services}
    return data


def _read_sepa(regie: Table) -> Creditor | None:
    """``[regies.X.sepa]``: the régie as a SEPA creditor — ``ics`` (its identifiant créancier SEPA),
    ``iban`` and ``bic`` of the account collections are paid into, ``name`` (the régie's by default)."""
    table = regie.table("sepa", None)
    if table is None:
        return None
    creditor = table.build(
        "",
        Creditor,
        table.string("name", None) or regie.string("name"),
        table.string("ics"),
        table.string("iban"),
        table.string("bic", None),
    )
    table.done()
    return creditor


def _sepa_dict(creditor: Creditor) -> dict[str, Any]:
    data: dict[str, Any] = {"name": creditor.name, "ics": creditor.identifier, "iban": creditor.iban}
    if creditor.bic is not None:
        data["bic"] = creditor.bic
    return data


def commune_from_dict(data: Mapping[str, Any]) -> Commune:
    """A validated ``Commune`` from the parsed TOML document."""
    if not isinstance(data, Mapping):
        raise InvalidConfiguration(
            f"a commune configuration is a table, got {type(data).__name__}",
            message_fr="La configuration de la commune n'est pas un tableau de clés.",
            code="config.type",
        )
    root = Table(dict(data))
    version = root.raw("schema_version", required=False)
    # ``true`` and ``1.0`` compare equal to 1 in Python; only the integer 1 is the version.
    if type(version) is not int or version != SCHEMA_VERSION:
        raise InvalidConfiguration(
            f"this library reads schema_version = {SCHEMA_VERSION}, got {version!r}",
            path="schema_version",
            code="config.schema_version",
        )
    coll = root.table("collectivite")
    collectivite = coll.build(
        "",
        Collectivite,
        id=coll.string("id"),
        name=coll.string("name"),
        school_zone=coll.choice("school_zone", SchoolZone),
        subdivision=coll.choice("subdivision", HolidaySubdivision, HolidaySubdivision.METROPOLE),
        timezone=coll.string("timezone", DEFAULT_TIMEZONE),
    )
    coll.done()
    regies: list[Regie] = []
    for regie_id, sub in root.tables("regies"):
        regies.append(
            sub.build(
                "",
                Regie,
                regie_id,
                sub.string("name"),
                sub.string("payfip_client", None),
                sub.integer("payment_delay_days", 30),
                sub.integer("direct_debit_day", 10),
                sub.integer("correction_window_days", 365),
                mentions=_read_mentions(sub),
                pes=_read_pes(sub),
                sepa=_read_sepa(sub),
            )
        )
        sub.done()
    sections = _Sections()
    services = tuple(_read_service(sub, sid, sections) for sid, sub in root.tables("services"))
    _check_pes(tuple(regies), services)
    school_years: list[SchoolYear] = []
    calendar = root.table("calendar", None)
    if calendar is not None:
        for item in calendar.array("school_years"):
            school_years.append(parse_school_year(item.data, item.path))
        calendar.done()
    rounding = RoundingPolicy()
    threshold = Money("15")
    billing = root.table("billing", None)
    if billing is not None:
        rounding = RoundingPolicy(
            billing.choice("rounding_mode", RoundingMode, RoundingMode.HALF_UP),
            billing.choice("rounding_point", RoundingPoint, RoundingPoint.UNIT_PRICE),
        )
        amount = billing.amount("recovery_threshold", None)
        if amount is not None:
            threshold = billing.build("recovery_threshold", Money, amount)
        billing.done()
    tariffs = tariff_book_from_dict({"tariffs": root.raw("tariffs", required=False) or []})
    requests = root.table("requests", None)
    categories = RequestCategories()
    if requests is not None:
        raw_categories = requests.raw("categories", required=False)
        if raw_categories is not None:
            categories = request_categories_from_dict(raw_categories, requests.at("categories"))
        requests.done()
    unpaid_table = root.raw("unpaid", required=False)
    unpaid = unpaid_policy_from_dict(unpaid_table, "unpaid") if unpaid_table is not None else None
    all_or_nothing = False
    basket = root.table("basket", None)
    if basket is not None:
        all_or_nothing = basket.boolean("all_or_nothing", False)
        basket.done()
    root.done()
    return root.build(
        "",
        Commune,
        collectivite,
        tuple(regies),
        services,
        tuple(school_years),
        rounding,
        threshold,
        booking_rules=sections.booking_rules,
        capacities=sections.capacities,
        absence_policies=sections.absence_policies,
        conditions=sections.conditions,
        unpaid=unpaid,
        all_or_nothing_baskets=all_or_nothing,
        tariffs=tariffs,
        request_categories=categories,
    )


def loads_commune(text: str) -> Commune:
    """A ``Commune`` from the text of its TOML file."""
    if not isinstance(text, str):
        raise InvalidConfiguration(
            f"a commune configuration is TOML text (str), got {type(text).__name__}",
            message_fr="La configuration de la commune doit être un texte TOML.",
            code="config.type",
        )
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise InvalidConfiguration(
            f"not valid TOML: {error}",
            message_fr=f"Le fichier n'est pas un TOML valide : {error}.",
            code="config.toml_syntax",
        ) from None
    except RecursionError:
        # tomllib reads nested arrays and tables recursively: thousands of levels exhaust the stack.
        raise InvalidConfiguration(
            "the TOML text nests arrays or tables too deeply",
            message_fr="Le fichier imbrique trop de tableaux.",
            code="config.too_deep",
        ) from None
    return commune_from_dict(data)


def load_commune(path: str | Path) -> Commune:
    """A ``Commune`` from its TOML file."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as error:
        raise InvalidConfiguration(
            f"cannot read {path}: {error.strerror}",
            message_fr=f"Impossible de lire le fichier {path}.",
            code="config.unreadable",
        ) from None
    except UnicodeDecodeError:
        raise InvalidConfiguration(
            f"cannot read {path}: the file is not UTF-8 text (as TOML requires)",
            message_fr=f"Le fichier {path} n'est pas encodé en UTF-8.",
            code="config.unreadable",
        ) from None
    return loads_commune(text)


# -- writing ----------------------------------------------------------------------------------


def _range_dict(period: DateRange) -> dict[str, Any]:
    return {"start": period.start, "end": period.end}


def _opening_dict(opening: Opening) -> dict[str, Any]:
    result: dict[str, Any] = {}
    if opening.school_weekdays:
        result["school_weekdays"] = [w.key for w in sorted(opening.school_weekdays)]
    if opening.holiday_weekdays:
        result["holiday_weekdays"] = [w.key for w in sorted(opening.holiday_weekdays)]
    if opening.season is not None:
        result["season"] = _range_dict(opening.season)
    if opening.open_on_public_holidays:
        result["open_on_public_holidays"] = True
    if opening.closures:
        result["closures"] = _closures_list(opening.closures)
    return result


def _closures_list(closures: tuple[Closure, ...]) -> list[dict[str, Any]]:
    return [
        {**_range_dict(c.period), "reason": c.reason.value, **({"label": c.label} if c.label else {})}
        for c in closures
    ]


def _prestation_dict(prestation: Prestation, commune: Commune) -> dict[str, Any]:
    result: dict[str, Any] = {
        "name": prestation.name,
        "kind": prestation.kind.value,
        "payment_mode": prestation.payment_mode.value,
    }
    if prestation.start is not None:
        result["start"] = prestation.start
    if prestation.end is not None:
        result["end"] = prestation.end
    result["opening"] = _opening_dict(prestation.opening)
    if prestation.blocks:
        result["blocks"] = [_range_dict(b) for b in prestation.blocks]
    rules = commune.booking_rules.get(prestation.id)
    if rules is not None:
        result["booking"] = booking_rules_to_dict(rules)
    capacity = commune.capacities.get(prestation.id)
    if capacity is not None:
        result["capacity"] = capacity_to_dict(capacity)
    conditions = commune.conditions.get(prestation.id)
    if conditions is not None:
        result["conditions"] = conditions_to_dict(conditions)
    return result


def commune_to_dict(commune: Commune) -> dict[str, Any]:
    """The TOML document of ``commune``; ``commune_from_dict`` reads it back to an equal ``Commune``."""
    coll = commune.collectivite
    data: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "collectivite": {
            "id": coll.id,
            "name": coll.name,
            "school_zone": coll.school_zone.value,
            "subdivision": coll.subdivision.value,
            "timezone": coll.timezone,
        },
        "billing": {
            "rounding_mode": commune.rounding.mode.value,
            "rounding_point": commune.rounding.point.value,
            "recovery_threshold": str(commune.recovery_threshold.amount),
        },
        "regies": {
            r.id: {
                "name": r.name,
                **({"payfip_client": r.payfip_client} if r.payfip_client is not None else {}),
                "payment_delay_days": r.payment_delay_days,
                "direct_debit_day": r.direct_debit_day,
                "correction_window_days": r.correction_window_days,
                **({"mentions": m} if (m := _mentions_dict(r.mentions)) else {}),
                **({"pes": _pes_dict(r.pes)} if r.pes is not None else {}),
                **({"sepa": _sepa_dict(r.sepa)} if r.sepa is not None else {}),
            }
            for r in commune.regies
        },
        "services": {
            s.id: {
                "name": s.name,
                "kind": s.kind.value,
                "regie": s.regie_id,
                **({"closures": _closures_list(s.closures)} if s.closures else {}),
                **(
                    {"absences": absence_policy_to_dict(commune.absence_policies[s.id])}
                    if s.id in commune.absence_policies
                    else {}
                ),
                "prestations": {p.id: _prestation_dict(p, commune) for p in s.prestations},
            }
            for s in commune.services
        },
    }
    if commune.request_categories.categories:
        data["requests"] = {"categories": request_categories_to_dict(commune.request_categories)}
    if commune.tariffs.price_lists:
        data.update(tariff_book_to_dict(commune.tariffs))
    if commune.all_or_nothing_baskets:
        data["basket"] = {"all_or_nothing": True}
    if commune.unpaid is not None:
        data["unpaid"] = unpaid_policy_to_dict(commune.unpaid)
    if commune.school_years:
        data["calendar"] = {
            "school_years": [
                {
                    "label": y.label,
                    "rentree": y.rentree,
                    "summer_start": y.summer_start,
                    "holidays": [{"name": h.name, "start": h.start, "end": h.end} for h in y.holidays],
                }
                for y in commune.school_years
            ]
        }
    return data


def dumps_commune(commune: Commune) -> str:
    """The TOML text of ``commune``."""
    return tomli_w.dumps(commune_to_dict(commune))
