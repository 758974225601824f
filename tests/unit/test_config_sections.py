"""The rules sections of a commune file: booking deadlines, capacity and absences, located by key path."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from espacefamille.billing.pricing import FamilyFacts, price_quote
from espacefamille.calendar.workdays import DayCounting
from espacefamille.commune import Commune
from espacefamille.config import dumps_commune, loads_commune
from espacefamille.errors import InvalidConfiguration
from espacefamille.money import Money
from espacefamille.rules.attendance import AbsencePolicy
from espacefamille.rules.capacity import Capacity
from espacefamille.rules.deadlines import DaysBefore, HoursBefore
from espacefamille.rules.policies import Surcharge, WaitingList

BASE = """\
schema_version = 1

[collectivite]
id = "saint-aubin"
name = "Ville de Saint-Aubin-des-Prés"
school_zone = "B"

[regies.enfance]
name = "Régie enfance-jeunesse"

[services.cantine]
name = "Restauration scolaire"
kind = "cantine"
regie = "enfance"

[services.cantine.opening]
school_weekdays = ["monday", "tuesday", "thursday", "friday"]

[services.cantine.prestations.repas]
name = "Repas"
kind = "day"
payment_mode = "month_end"
"""

BOOKING = """
[services.cantine.prestations.repas.booking]
deadline = { pattern = "days_before", days = 3, counting = "jours_ouvres", at = 11:00:00 }
cancellation_deadline = { pattern = "days_before", days = 3, counting = "jours_ouvres", at = 11:00:00 }
"""


def error_of(text: str) -> InvalidConfiguration:
    with pytest.raises(InvalidConfiguration) as caught:
        loads_commune(text)
    return caught.value


def test_the_example_commune_carries_the_rules_of_its_reglement(commune: Commune) -> None:
    repas = commune.booking_rules["repas"]
    assert repas.booking_deadline == DaysBefore(days=3, at=dt.time(11), counting=DayCounting.JOURS_OUVRES)
    assert isinstance(repas.after_booking_deadline, Surcharge)
    assert isinstance(commune.booking_rules["journee"].after_booking_deadline, WaitingList)
    assert isinstance(commune.booking_rules["matin"].booking_deadline, HoursBefore)
    assert isinstance(commune.capacities["journee"], Capacity)
    assert isinstance(commune.absence_policies["cantine"], AbsencePolicy)
    assert commune.absence_policies["cantine"].carence_days == 1


def test_a_commune_with_every_section_is_written_and_read_back_equal(commune: Commune) -> None:
    again = loads_commune(dumps_commune(commune))
    assert again == commune
    assert again.booking_rules == commune.booking_rules
    assert again.capacities == commune.capacities
    assert again.absence_policies == commune.absence_policies


def test_a_prestation_without_booking_table_has_no_deadline_rules() -> None:
    assert loads_commune(BASE).booking_rules == {}


def test_a_bad_deadline_is_named_by_its_full_key_path() -> None:
    error = error_of(BASE + BOOKING.replace("days = 3, counting", "days = -3, counting", 1))
    assert error.path == "services.cantine.prestations.repas.booking.deadline.days"


def test_counting_hours_before_a_prestation_without_start_time_is_refused_at_load_time() -> None:
    text = BASE + BOOKING.replace(
        'deadline = { pattern = "days_before", days = 3, counting = "jours_ouvres", at = 11:00:00 }',
        'deadline = { pattern = "hours_before", hours = 48 }',
        1,
    )
    error = error_of(text)
    assert error.code == "deadline.needs_start"
    assert error.path == "services.cantine.prestations.repas.booking.deadline"


def test_negative_places_are_refused_under_the_capacity_key() -> None:
    error = error_of(BASE + "\n[services.cantine.prestations.repas.capacity]\nplaces = -1\n")
    assert error.code == "capacity.negative_places"
    assert error.path.startswith("services.cantine.prestations.repas.capacity")


def test_an_unknown_absence_setting_is_named() -> None:
    error = error_of(BASE + "\n[services.cantine.absences]\ncarence_jours = 1\n")
    assert error.code == "config.unknown_key"
    assert error.path == "services.cantine.absences.carence_jours"


def test_rules_for_an_unknown_prestation_are_refused(commune: Commune) -> None:
    with pytest.raises(InvalidConfiguration) as caught:
        Commune(
            commune.collectivite,
            commune.regies,
            commune.services,
            booking_rules={"goûter": commune.booking_rules["repas"]},
        )
    assert caught.value.code == "config.unknown_reference"
    assert caught.value.path == "booking_rules"


def test_the_example_prices_its_meals_by_quotient_familial(commune: Commune) -> None:
    quote = price_quote(
        commune.tariffs,
        "repas",
        dt.date(2026, 11, 12),
        FamilyFacts(quotient=Decimal("812")),
        quantity=4,
        rounding=commune.rounding,
    )
    assert quote.total == Money("10.40")  # 4 meals in the 651–1 000 € band at 2,60 €


def test_a_price_for_an_unknown_prestation_is_refused() -> None:
    text = BASE + '\n[[tariffs]]\nlabel = "2026-2027"\nstart = 2026-09-01\nend = 2027-08-31\n'
    text += '[tariffs.prices.gouter]\nunit = "day"\nflat = "1.00"\n'
    error = error_of(text)
    assert error.code == "config.unknown_reference"
    assert error.path == "tariffs[0].prices.gouter"


def test_request_forms_are_part_of_the_commune_file(commune: Commune) -> None:
    regime = commune.request_categories.category("regime")
    assert [field.key for field in regime.fields] == ["enfant", "regime"]
    error = error_of(BASE + '\n[requests]\ncategorie = "x"\n')
    assert error.path == "requests.categorie"
    assert error.code == "config.unknown_key"


def test_a_regie_sets_its_payment_delay_and_direct_debit_day() -> None:
    text = BASE.replace('name = "Régie enfance-jeunesse"\n', 'name = "Régie"\npayment_delay_days = 15\n', 1)
    regie = loads_commune(text).regie("enfance")
    assert (regie.payment_delay_days, regie.direct_debit_day) == (15, 10)
    error = error_of(
        BASE.replace('name = "Régie enfance-jeunesse"\n', 'name = "Régie"\ndirect_debit_day = 31\n', 1)
    )
    assert error.code == "model.out_of_range"
    assert error.path == "regies.enfance"
