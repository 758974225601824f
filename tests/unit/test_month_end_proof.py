"""The pre-flight without its cost: a month the tariffs alone prove priceable is checked without reading a
family, on every store; anything the proof cannot tell is checked family by family, as before."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import attrs
import pytest

from espacefamille.adapters.memory import MemoryAccountStore
from espacefamille.billing import invoicing
from espacefamille.billing.invoicing import BillingContext, FamilyMonth, priceable_month
from espacefamille.billing.tariffs import PriceUnit, TariffBook, tariff_book_from_dict
from espacefamille.calendar.periods import DateRange
from espacefamille.commune import Commune
from espacefamille.config import loads_commune
from espacefamille.errors import MissingData
from espacefamille.examples import example_commune, example_path
from espacefamille.ports import CommuneStore
from espacefamille.rules.attendance import AttendanceFact, AttendanceStatus
from espacefamille.services import BackOffice, FamilyPortal
from espacefamille.services import backoffice as backoffice_module
from tests.stores import KINDS, empty_store
from tests.unit.test_services import AGENT, DECEMBER_MEALS, DURAND, MARTIN, PARIS, book, open_world

DECEMBER = DateRange.month(2026, 12)
NOVEMBER_17 = dt.date(2026, 11, 17)


@attrs.define
class City:
    store: CommuneStore
    office: BackOffice
    portal: FamilyPortal
    families_checked: list[str]  # the families check_family priced, one by one


@pytest.fixture(params=KINDS)
def city(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[City]:
    """Martin (Léa, ten meals) and Durand (Hugo, three meals) booked in December, on each store."""
    with open_city(request.param, tmp_path, monkeypatch, example_commune()) as city:
        yield city


@pytest.fixture(params=KINDS)
def outing_city(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[City]:
    """The same city, in a commune whose price list says what a school outing costs (its own reason)."""
    with open_city(request.param, tmp_path, monkeypatch, with_outings()) as city:
        yield city


def with_outings() -> Commune:
    """The example commune with its own attendance reason: a school outing costs nothing."""
    text = example_path().read_text(encoding="utf-8")
    closed = 'service_closed = "zero"\n'
    assert text.count(closed) == 1
    return loads_commune(text.replace(closed, closed + 'sortie_scolaire = "zero"\n'))


@contextlib.contextmanager
def open_city(kind: str, folder: Path, monkeypatch: pytest.MonkeyPatch, commune: Commune) -> Iterator[City]:
    """Martin (Léa, ten meals) and Durand (Hugo, three meals) booked in December on a store of ``kind``,
    on 4 January, the families ``check_family`` prices counted."""
    with empty_store(kind, folder, "proof") as store:
        clock, _, portal, office = open_world(store, MemoryAccountStore(), commune)
        portal.validate_basket(MARTIN, "F1", book("C1", "repas", *DECEMBER_MEALS))
        portal.validate_basket(DURAND, "F2", book("C3", "repas", *DECEMBER_MEALS[:3]))
        clock.instant = dt.datetime(2027, 1, 4, 8, 0, tzinfo=PARIS)
        checked: list[str] = []

        def counted(ctx: BillingContext, month: FamilyMonth) -> list[invoicing.PricingProblem]:
            checked.append(month.family.id)
            return invoicing.check_family(ctx, month)

        monkeypatch.setattr(backoffice_module, "check_family", counted)
        yield City(store, office, portal, checked)


def change_tariffs(store: CommuneStore, change: object) -> None:
    with store.unit_of_work() as uow:
        commune = uow.commune()
        assert callable(change)
        uow.save_commune(attrs.evolve(commune, tariffs=change(commune.tariffs)))
        uow.commit()


def starting_on(first: dt.date) -> object:
    """The commune's 2026-2027 prices from ``first`` on: the days before have no price list."""

    def change(book: TariffBook) -> TariffBook:
        lists = [
            attrs.evolve(p, validity=DateRange(first, p.validity.end))
            for p in book.price_lists
            if p.validity.end >= first
        ]
        return attrs.evolve(book, price_lists=lists)

    return change


def test_a_month_the_tariffs_price_whatever_the_family_is_checked_without_reading_one(city: City) -> None:
    check = city.office.check_month_end(AGENT, "enfance", DECEMBER)
    assert (check.ok, check.code, check.families) == (True, "billing.ready", 2)
    assert city.families_checked == []
    report = city.office.run_month_end(AGENT, "enfance", DECEMBER)
    assert (report.invoices, report.carried) == (1, 1)  # Hugo's three meals stay below the threshold


def test_an_earlier_day_to_regularise_is_proven_with_the_month(city: City) -> None:
    with city.store.unit_of_work() as uow:
        uow.runs.mark_changed("enfance", "F1", [NOVEMBER_17])
        uow.runs.mark_changed("enfance", "F2", [DECEMBER_MEALS[0]])  # a day of the month: read with it
        uow.commit()
    assert city.office.check_month_end(AGENT, "enfance", DECEMBER).ok
    assert city.families_checked == []
    # Without a price list on 17 November the proof fails: every family is read and priced, as before.
    change_tariffs(city.store, starting_on(DECEMBER.start))
    check = city.office.check_month_end(AGENT, "enfance", DECEMBER)
    assert check.ok  # Léa had no meal on 17 November
    assert city.families_checked == ["F1", "F2"]


def test_a_month_starting_without_a_price_list_lists_its_days_and_the_run_bills_nothing(city: City) -> None:
    change_tariffs(city.store, starting_on(dt.date(2026, 12, 10)))
    check = city.office.check_month_end(AGENT, "enfance", DECEMBER)
    assert (check.code, check.families_concerned) == ("billing.unpriced_days", 2)
    assert [(p.family_id, p.day.day, p.code) for p in check.problems] == [
        *(("F1", day, "tariff.no_price_list") for day in (1, 3, 4, 7, 8)),
        *(("F2", day, "tariff.no_price_list") for day in (1, 3, 4)),
    ]
    with pytest.raises(MissingData) as caught:
        city.office.run_month_end(AGENT, "enfance", DECEMBER)
    assert caught.value.code == "billing.unpriced_days"
    with city.store.unit_of_work() as uow:
        assert uow.documents.invoices_of("F1") == ()
        assert uow.runs.billed_through("enfance") is None


# -- a reason the price lists no longer define ---------------------------------------------------------------

OUTING = DECEMBER_MEALS[1]  # Léa's class goes on a school outing on Thursday 3 December


def outing(day: dt.date) -> AttendanceFact:
    return AttendanceFact("C1", "repas", day, AttendanceStatus.ABSENT_JUSTIFIED, reason="sortie_scolaire")


def without_outings(book: TariffBook) -> TariffBook:
    """The commune removes its school-outing reason from every price list (a configuration change)."""
    return example_commune().tariffs


def test_a_reason_recorded_in_the_month_and_still_priced_keeps_the_proof(outing_city: City) -> None:
    outing_city.office.record_attendance(AGENT, [outing(OUTING)])
    check = outing_city.office.check_month_end(AGENT, "enfance", DECEMBER)
    assert (check.ok, check.families) == (True, 2)
    assert outing_city.families_checked == []


def test_a_reason_removed_from_every_price_list_since_it_was_recorded_stops_the_run_before_it_bills(
    outing_city: City,
) -> None:
    """The proof reads the reasons recorded in the month: one the price lists no longer define is no proof,
    so the families are read and the day named, and the run bills nobody (it used to stop at Léa's batch
    with tariff.no_attendance_effect after a check that said all was well)."""
    city = outing_city
    city.office.record_attendance(AGENT, [outing(OUTING)])
    change_tariffs(city.store, without_outings)
    check = city.office.check_month_end(AGENT, "enfance", DECEMBER)
    assert check.code == "billing.unpriced_days"
    assert [(p.family_id, p.child_id, p.day, p.code) for p in check.problems] == [
        ("F1", "C1", OUTING, "tariff.no_attendance_effect")
    ]
    assert "sortie_scolaire" in check.problems[0].message_fr
    assert city.families_checked == ["F1", "F2"]
    with pytest.raises(MissingData) as caught:
        city.office.run_month_end(AGENT, "enfance", DECEMBER, batch=1)
    assert caught.value.code == "billing.unpriced_days"
    with city.store.unit_of_work() as uow:
        assert uow.documents.invoices_of("F1") == uow.documents.invoices_of("F2") == ()
        assert uow.runs.carried("enfance") == {}
        assert uow.runs.billed_through("enfance") is None


def test_a_reason_recorded_on_an_earlier_day_to_regularise_is_read_with_the_month(outing_city: City) -> None:
    city = outing_city
    city.office.record_attendance(AGENT, [outing(NOVEMBER_17)])  # a day Léa had no meal booked
    change_tariffs(city.store, without_outings)
    assert city.office.check_month_end(AGENT, "enfance", DECEMBER).ok
    assert city.families_checked == []  # 17 November is not a day the run reads
    with city.store.unit_of_work() as uow:
        uow.runs.mark_changed("enfance", "F1", [NOVEMBER_17])
        uow.commit()
    check = city.office.check_month_end(AGENT, "enfance", DECEMBER)
    assert check.ok  # an outing on a day not booked bills nothing
    assert city.families_checked == ["F1", "F2"]  # but the proof no longer holds: every family is read


def test_the_proof_holds_for_the_reasons_recorded_only_while_a_price_list_defines_them() -> None:
    assert priceable_month(context(with_outings()), reasons={"sortie_scolaire"})
    assert not priceable_month(context(example_commune()), reasons={"sortie_scolaire"})
    assert priceable_month(context(example_commune()), reasons=())


# -- what the proof cannot tell -----------------------------------------------------------------------------


def context(commune: Commune) -> BillingContext:
    return BillingContext(commune, "enfance", DECEMBER, dt.date(2027, 1, 4))


def with_prices(toml: str) -> Commune:
    return loads_commune(example_path().read_text(encoding="utf-8") + toml)


def test_the_example_commune_is_proven_priceable_in_december() -> None:
    assert priceable_month(context(example_commune()))


def test_a_reason_one_prestation_does_not_price_is_not_proven() -> None:
    commune = with_prices('\n[tariffs.prices.matin.attendance]\nsortie_scolaire = "zero"\n')
    assert "sortie_scolaire" in commune.tariffs.reason_codes
    assert commune.tariffs.priceable("matin", DECEMBER)
    assert not commune.tariffs.priceable("repas", DECEMBER)  # its table does not say what it costs
    assert not priceable_month(context(commune))


def test_a_grid_by_age_or_school_level_is_left_to_the_families_checks() -> None:
    book = tariff_book_from_dict(
        {
            "tariffs": [
                {
                    "label": "2026-2027",
                    "start": dt.date(2026, 9, 1),
                    "end": dt.date(2027, 8, 31),
                    "prices": {
                        "repas": {
                            "unit": "day",
                            "grid": {
                                "ages": [{"group": "petits", "to": 6}, {"group": "grands", "from": 6}],
                                "cells": [{"age": "petits", "price": "3.00"}],
                                "default": {"price": "4.00"},
                            },
                        },
                        "matin": {"unit": "day", "flat": "1.00"},
                    },
                }
            ]
        }
    )
    assert not book.priceable("repas", DECEMBER)
    assert book.priceable("matin", DECEMBER)


def test_a_price_by_the_hour_needs_the_prestation_s_hours() -> None:
    commune = example_commune()
    services = [
        attrs.evolve(
            s,
            prestations=[
                attrs.evolve(p, start=None, end=None) if p.id == "repas" else p for p in s.prestations
            ],
        )
        for s in commune.services
    ]
    (year,) = commune.tariffs.price_lists
    hourly = [attrs.evolve(t, unit=PriceUnit.HOUR) if t.prestation_id == "repas" else t for t in year.prices]
    tariffs = TariffBook([attrs.evolve(year, prices=hourly)])
    assert tariffs.priceable("repas", DECEMBER)  # the book prices it by the hour
    assert priceable_month(context(attrs.evolve(commune, services=services)))
    assert not priceable_month(context(attrs.evolve(commune, services=services, tariffs=tariffs)))


def test_a_forfait_is_proven_in_the_months_of_a_list_that_does_not_price_it() -> None:
    commune = with_prices(
        """
[services.periscolaire.prestations.forfait_peri]
name = "Forfait périscolaire"
kind = "block"
payment_mode = "month_end"

[tariffs.prices.forfait_peri]
unit = "block"
per = "month"
flat = "30.00"
"""
    )
    later = attrs.evolve(
        commune.tariffs.price_lists[0],
        label="2027",
        validity=DateRange(dt.date(2027, 9, 1), dt.date(2028, 8, 31)),
        prices=[t for t in commune.tariffs.price_lists[0].prices if t.prestation_id != "forfait_peri"],
    )
    book = attrs.evolve(commune.tariffs, price_lists=[*commune.tariffs.price_lists, later])
    assert book.priceable("forfait_peri", DateRange.month(2027, 9))  # not due that year
    assert book.priceable("forfait_peri", DECEMBER)


def test_a_child_moved_to_another_household_has_the_days_the_first_one_booked_billed_to_it(
    city: City,
) -> None:
    """Separated parents, a move: Hugo moved to the Martins with his December meals still booked by the
    Durands. The proven check passes, and the run bills the Durands Hugo's meals as before the move (below
    the threshold: carried), the Martins their own; nothing is billed twice when the month is run again."""
    with city.store.unit_of_work() as uow:
        hugo = uow.families.children_of("F2")[0]
        martin, (lea,) = uow.families.get("F1"), uow.families.children_of("F1")
    city.office.register_family(AGENT, martin, [lea, attrs.evolve(hugo, family_ids=("F1",))])
    assert city.office.check_month_end(AGENT, "enfance", DECEMBER).ok
    report = city.office.run_month_end(AGENT, "enfance", DECEMBER, batch=1)
    assert (report.invoices, report.carried) == (1, 1)
    with city.store.unit_of_work() as uow:
        (martins,) = uow.documents.invoices_of("F1")
        carried = uow.runs.carried("enfance")
    assert {line.child_id for line in martins.lines} == {"C1"}  # Léa's ten meals, not Hugo's
    assert set(carried) == {"F2"}
    assert {line.child_id for line in carried["F2"].lines} == {"C3"}
    assert sum(line.quantity for line in carried["F2"].lines) == 3
    again = city.office.run_month_end(AGENT, "enfance", DECEMBER, batch=1)
    assert (again.invoices, again.carried) == (0, 1)
