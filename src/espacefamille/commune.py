"""The ``Commune`` aggregate: a collectivité's whole configuration, its régies, services and prestations with
the configuration values of its rules and prices, as loaded from its TOML file (``espacefamille.config``).

It stands above the entities (``espacefamille.model``) and the configuration values of the rules and tariffs
(``rules.attendance``, ``rules.capacity``, ``rules.conditions``, ``rules.deadlines``, ``rules.policies``,
``rules.unpaid``, ``billing.tariffs``, ``requests``), and below the decisions that read it (baskets, calendar
views, billing).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, TypeVar

import attrs

from espacefamille.billing.tariffs import TariffBook
from espacefamille.calendar.commune import CommuneCalendar
from espacefamille.calendar.opening import Closure, OpeningCalendar
from espacefamille.calendar.school import SchoolYear, school_calendar
from espacefamille.errors import InvalidConfiguration, NotFound
from espacefamille.families.requests import RequestCategories
from espacefamille.model import Collectivite, Prestation, Regie, Service, _regies, _school_years, _services
from espacefamille.money import Money, RoundingPolicy
from espacefamille.rules.attendance import AbsencePolicy
from espacefamille.rules.capacity import Capacity
from espacefamille.rules.conditions import BookingConditions
from espacefamille.rules.deadlines import DeadlineContext
from espacefamille.rules.policies import BookingRules
from espacefamille.rules.unpaid import UnpaidPolicy, check_unpaid_policy

__all__ = ["Commune"]

_T = TypeVar("_T")


# -- the whole setup --------------------------------------------------------------------------


def _booking_rules(table: Mapping[str, BookingRules]) -> dict[str, BookingRules]:
    return dict(table)


def _capacities(table: Mapping[str, Capacity]) -> dict[str, Capacity]:
    return dict(table)


def _absence_policies(table: Mapping[str, AbsencePolicy]) -> dict[str, AbsencePolicy]:
    return dict(table)


def _conditions(table: Mapping[str, BookingConditions]) -> dict[str, BookingConditions]:
    return dict(table)


def _by_id(items: Iterable[Any], what: str, path: str) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for item in items:
        if item.id in result:
            raise InvalidConfiguration(
                f"duplicate {what} id {item.id!r}", path=path, code="config.duplicate_id"
            )
        result[item.id] = item
    return result


@attrs.frozen
class Commune:
    """A collectivité's whole configuration, as loaded from its TOML file (see ``espacefamille.config``).

    ``school_years`` are the commune's own school-holiday table, overriding the shipped data year by
    year; ``recovery_threshold`` is the *seuil de mise en recouvrement* (15 € by default, CGCT D1611-1).
    ``booking_rules`` (deadlines, windows, after-deadline policies) and ``capacities`` are keyed by
    prestation id, ``absence_policies`` by service id; a prestation without booking rules can be booked
    and cancelled until it starts, one without capacity has no limit of places. ``conditions`` (class, age,
    prerequisites, exclusions) are keyed by prestation id; ``unpaid`` is the graduated unpaid-invoices
    policy; ``all_or_nothing_baskets`` makes a basket with one refused line refuse them all; ``tariffs`` are
    the commune's price lists (``billing.tariffs``); ``request_categories`` the forms families fill to send
    a request (``espacefamille.families.requests``).
    """

    collectivite: Collectivite
    regies: tuple[Regie, ...] = attrs.field(converter=_regies)
    services: tuple[Service, ...] = attrs.field(converter=_services)
    school_years: tuple[SchoolYear, ...] = attrs.field(converter=_school_years, default=())
    rounding: RoundingPolicy = attrs.field(factory=RoundingPolicy)
    recovery_threshold: Money = attrs.field(factory=lambda: Money("15"))
    booking_rules: Mapping[str, BookingRules] = attrs.field(factory=dict, converter=_booking_rules)
    capacities: Mapping[str, Capacity] = attrs.field(factory=dict, converter=_capacities)
    absence_policies: Mapping[str, AbsencePolicy] = attrs.field(factory=dict, converter=_absence_policies)
    conditions: Mapping[str, BookingConditions] = attrs.field(factory=dict, converter=_conditions)
    unpaid: UnpaidPolicy | None = None
    all_or_nothing_baskets: bool = False
    tariffs: TariffBook = attrs.field(factory=TariffBook)
    request_categories: RequestCategories = attrs.field(factory=RequestCategories)
    _regies: Mapping[str, Regie] = attrs.field(init=False, eq=False, repr=False)
    _services: Mapping[str, Service] = attrs.field(init=False, eq=False, repr=False)
    _prestations: Mapping[str, Prestation] = attrs.field(init=False, eq=False, repr=False)
    _calendar: CommuneCalendar = attrs.field(init=False, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        regies = _by_id(self.regies, "régie", "regies")
        services = _by_id(self.services, "service", "services")
        prestations = _by_id(
            (p for s in self.services for p in s.prestations), "prestation", "services.*.prestations"
        )
        for service in self.services:
            if service.regie_id not in regies:
                raise InvalidConfiguration(
                    f"unknown régie {service.regie_id!r} (known: {sorted(regies)})",
                    path=f"services.{service.id}.regie",
                    code="config.unknown_reference",
                )
        if self.recovery_threshold.is_negative:
            raise InvalidConfiguration(
                "the recovery threshold cannot be negative",
                path="billing.recovery_threshold",
                code="config.value",
            )
        for what, table, known in (
            ("booking_rules", self.booking_rules, prestations),
            ("capacities", self.capacities, prestations),
            ("absence_policies", self.absence_policies, services),
            ("conditions", self.conditions, prestations),
        ):
            unknown = sorted(set(table) - set(known))
            if unknown:
                raise InvalidConfiguration(
                    f"{what} name unknown ids {unknown}", path=what, code="config.unknown_reference"
                )
        for prestation_id, conditions in self.conditions.items():
            for key in ("requires", "excludes"):
                unknown = sorted(set(getattr(conditions, key)) - set(prestations))
                if unknown:
                    raise InvalidConfiguration(
                        f"unknown prestation(s) {unknown}",
                        path=f"conditions.{prestation_id}.{key}",
                        code="config.unknown_reference",
                    )
        for index, price_list in enumerate(self.tariffs.price_lists):
            for tariff in price_list.prices:
                if tariff.prestation_id not in prestations:
                    raise InvalidConfiguration(
                        f"price for unknown prestation {tariff.prestation_id!r}",
                        path=f"tariffs[{index}].prices.{tariff.prestation_id}",
                        code="config.unknown_reference",
                    )
        if self.unpaid is not None:
            check_unpaid_policy(self.unpaid, self.services)
        labels = [year.label for year in self.school_years]
        if len(set(labels)) != len(labels):
            raise InvalidConfiguration(
                "a school year is given twice", path="calendar.school_years", code="config.duplicate_id"
            )
        calendar = CommuneCalendar(
            timezone=self.collectivite.timezone,
            subdivision=self.collectivite.subdivision,
            school=school_calendar(self.collectivite.school_zone, self.school_years),
        )
        object.__setattr__(self, "_regies", regies)
        object.__setattr__(self, "_services", services)
        object.__setattr__(self, "_prestations", prestations)
        object.__setattr__(self, "_calendar", calendar)

    @property
    def calendar(self) -> CommuneCalendar:
        """The commune's time zone, public holidays and school holidays."""
        return self._calendar

    def regie(self, regie_id: str) -> Regie:
        return _lookup(self._regies, regie_id, "régie")

    def service(self, service_id: str) -> Service:
        return _lookup(self._services, service_id, "service")

    def prestation(self, prestation_id: str) -> Prestation:
        return _lookup(self._prestations, prestation_id, "prestation")

    @property
    def prestations(self) -> tuple[Prestation, ...]:
        return tuple(self._prestations.values())

    def opening_calendar(self, prestation_id: str, closures: Iterable[Closure] = ()) -> OpeningCalendar:
        """The prestation's opening calendar, with its service's closures and any declared since."""
        prestation = self.prestation(prestation_id)
        service_closures = self.service(prestation.service_id).closures
        return OpeningCalendar(prestation.opening, self._calendar, (*service_closures, *tuple(closures)))

    def deadline_context(
        self, prestation_id: str, *, resident: bool = True, closures: Iterable[Closure] = ()
    ) -> DeadlineContext:
        """What a deadline of the prestation is computed from, with closures declared since configuration."""
        return DeadlineContext(
            self._calendar,
            self.prestation(prestation_id),
            self.opening_calendar(prestation_id, closures),
            resident,
        )


def _lookup(table: Mapping[str, _T], key: str, what: str) -> _T:
    try:
        return table[key]
    except KeyError:
        raise NotFound(
            f"unknown {what} {key!r}",
            message_fr=f"Introuvable : {what} « {key} ».",
            code=f"not_found.{what.replace('é', 'e')}",
        ) from None
