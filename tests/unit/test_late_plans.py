"""What a booking accepted after its deadline costs at month end, as each after-deadline policy says it.

The canteen of Saint-Aubin-des-Prés accepts a late meal with a 20 % surcharge, a 1,50 € fee, or at an
exceptional tariff of 5,00 €; pricing (``billing.pricing.late_plan``) asks the policy, never its class.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, ClassVar

import attrs
import pytest

from espacefamille.billing.pricing import late_plan
from espacefamille.billing.tariffs import FixedSurcharge, PercentSurcharge
from espacefamille.money import Money
from espacefamille.rules import policies
from espacefamille.rules.deadlines import _Keys
from espacefamille.rules.policies import (
    DeadlineOutcome,
    ExceptionalTariff,
    LatePlan,
    Refuse,
    Request,
    Surcharge,
    WaitingList,
    after_deadline_policy,
)

SURCHARGED = "deadline.late_booking_surcharge"
AT_EXCEPTIONAL_TARIFF = "deadline.late_booking_exceptional_tariff"
FROM_WAITING_LIST = "deadline.late_booking_waiting_list"
IMPORTED = "import.late"  # a code that does not say which policy accepted the booking


def test_each_policy_says_what_a_booking_it_accepted_late_costs() -> None:
    assert Surcharge(percent=Decimal(20)).late_booking_plan() == LatePlan(rule=PercentSurcharge(Decimal(20)))
    assert Surcharge(amount=Money("1.50")).late_booking_plan() == LatePlan(rule=FixedSurcharge(Money("1.50")))
    assert ExceptionalTariff(Money("5.00")).late_booking_plan() == LatePlan(price=Money("5.00"))
    assert Refuse().late_booking_plan() is None
    assert WaitingList().late_booking_plan() is None


def test_a_late_meal_is_billed_under_the_policy_that_accepted_it() -> None:
    assert late_plan(Surcharge(percent=Decimal(20)), SURCHARGED) == LatePlan(
        rule=PercentSurcharge(Decimal(20))
    )
    assert late_plan(ExceptionalTariff(Money("5.00")), AT_EXCEPTIONAL_TARIFF) == LatePlan(price=Money("5.00"))
    assert late_plan(Surcharge(amount=Money("1.50")), IMPORTED) == LatePlan(
        rule=FixedSurcharge(Money("1.50"))
    )


def test_a_meal_confirmed_from_the_waiting_list_costs_the_usual_price() -> None:
    assert late_plan(WaitingList(), FROM_WAITING_LIST) is None
    assert late_plan(Surcharge(percent=Decimal(20)), FROM_WAITING_LIST) is None


def test_a_policy_the_commune_no_longer_has_bills_nothing_more_and_says_which_it_was() -> None:
    assert late_plan(Refuse(), SURCHARGED) == LatePlan(accepted_by="majoration")
    assert late_plan(Surcharge(percent=Decimal(20)), AT_EXCEPTIONAL_TARIFF) == LatePlan(
        accepted_by="tarif exceptionnel"
    )
    assert late_plan(None, IMPORTED) == LatePlan()
    assert late_plan(WaitingList(), IMPORTED) == LatePlan()


def test_a_commune_s_own_policy_prices_its_late_bookings_itself(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(policies, "_POLICIES", dict(policies._POLICIES))

    @after_deadline_policy
    @attrs.frozen
    class FlatFee:
        """Accepted late for a fee of 2 € whatever the meal."""

        name: ClassVar[str] = "flat_fee"
        accepts: ClassVar[bool] = True
        bills_late_bookings: ClassVar[bool] = True
        invoice_name: ClassVar[str | None] = "frais fixes"

        @classmethod
        def read(cls, keys: _Keys) -> FlatFee:
            return cls()

        def settings(self) -> dict[str, Any]:
            return {}

        def late(
            self, request: Request, deadline: dt.datetime, *, window_closed: bool
        ) -> tuple[DeadlineOutcome, str, str, str]:
            return DeadlineOutcome.ACCEPTED_WITH_SURCHARGE, "deadline.late_booking_flat_fee", "…", "…"

        def late_booking_plan(self) -> LatePlan | None:
            return LatePlan(rule=FixedSurcharge(Money("2.00")))

    assert late_plan(FlatFee(), IMPORTED) == LatePlan(rule=FixedSurcharge(Money("2.00")))
