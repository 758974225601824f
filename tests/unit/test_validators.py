"""The attrs validators written once: each module keeps its own error code and French message."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import attrs
import pytest

from espacefamille._internal.validators import email_address, non_empty, optional_date, plain_date
from espacefamille.billing.online import CreatedPayment
from espacefamille.errors import InvalidInput
from espacefamille.families.accounts import Account
from espacefamille.model import Guardian
from espacefamille.money import Money
from espacefamille.rules.basket import Action, BasketLine
from espacefamille.rules.unpaid import Debt


@attrs.frozen
class Notice:
    title: str = attrs.field(validator=non_empty(code="notice.empty", message_fr="Titre manquant : {name}."))
    day: dt.date = attrs.field(validator=plain_date)
    until: dt.date | None = attrs.field(default=None, validator=optional_date)
    contact: str = attrs.field(default="mairie@example.fr", validator=email_address(code="notice.bad_email"))


def _refused(make: Callable[[], object]) -> InvalidInput:
    with pytest.raises(InvalidInput) as caught:
        make()
    return caught.value


def test_a_blank_text_is_refused_with_the_code_and_french_message_its_module_chose() -> None:
    error = _refused(lambda: Notice("  ", dt.date(2026, 11, 12)))
    assert (error.code, error.message_fr, error.details) == (
        "notice.empty",
        "Titre manquant : title.",
        {"at": "title"},
    )
    assert error.message == "Notice.title must be a non-empty string, got '  '"


def test_a_datetime_is_not_a_date_and_only_an_optional_date_may_be_none() -> None:
    assert _refused(lambda: Notice("Fermeture", dt.datetime(2026, 11, 12, 8, tzinfo=dt.UTC))).code == (
        "input.not_a_date"
    )
    assert _refused(lambda: Notice("Fermeture", None)).code == "input.not_a_date"  # type: ignore[arg-type]
    assert Notice("Fermeture", dt.date(2026, 11, 12)).until is None
    assert _refused(lambda: Notice("Fermeture", dt.date(2026, 11, 12), "demain")).code == "input.not_a_date"  # type: ignore[arg-type]


def test_an_e_mail_address_needs_an_at_sign_and_a_domain_with_a_dot() -> None:
    error = _refused(lambda: Notice("Fermeture", dt.date(2026, 11, 12), contact="mairie@example"))
    assert (error.code, error.message_fr) == (
        "notice.bad_email",
        "Adresse électronique invalide : « mairie@example ».",
    )


def test_each_module_keeps_its_own_codes() -> None:
    assert _refused(lambda: Guardian("g1", "", "Martin")).code == "model.empty"
    assert _refused(lambda: Debt(" ", "enfance", dt.date(2026, 11, 30), Money("12"))).code == "model.empty"
    assert _refused(lambda: Account("a1", "claire.martin")).code == "account.bad_email"
    assert _refused(lambda: BasketLine(Action.BOOK, "c1", "repas", "2026-11-12")).code == "input.not_a_date"  # type: ignore[arg-type]
    created = dt.datetime(2026, 11, 12, 9, tzinfo=dt.UTC)

    def payment(payment_id: str, email: str) -> CreatedPayment:
        url = "https://paiement.example.fr/p1"
        expires = created + dt.timedelta(minutes=15)
        return CreatedPayment(payment_id, url, Money("12.40"), "F-2026-1", email, created, expires)

    missing = _refused(lambda: payment("", "claire.martin@example.fr"))
    assert (missing.code, missing.message_fr) == ("payment.missing_field", "Valeur manquante : payment_id.")
    assert _refused(lambda: payment("p1", "claire.martin")).code == "payment.invalid_email"
