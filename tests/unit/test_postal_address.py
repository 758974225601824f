"""The payer's postal address (model.PostalAddress): French postal conventions, checked like other text."""

from __future__ import annotations

import pytest
from hypothesis import given

from espacefamille.errors import InvalidInput
from espacefamille.model import ADDRESS_LINE_LENGTH, PostalAddress
from espacefamille.testing import strategies as s


def test_a_french_address_is_its_lines_then_postcode_and_city() -> None:
    address = PostalAddress(["Résidence Les Tilleuls, bât. B", "12 bis rue de l'Église"], "35000", "Rennes")
    assert address.in_france
    assert address.envelope() == ("Résidence Les Tilleuls, bât. B", "12 bis rue de l'Église", "35000 Rennes")
    assert PostalAddress(["1 rue Haute"], "97400", "Saint-Denis", "France").in_france


def test_an_address_abroad_ends_with_its_country_and_keeps_its_own_postcode() -> None:
    address = PostalAddress(("Rue Neuve 1",), "B-1000", "Bruxelles", "Belgique")
    assert not address.in_france
    assert address.envelope() == ("Rue Neuve 1", "B-1000 Bruxelles", "BELGIQUE")


@pytest.mark.parametrize(
    ("lines", "postcode", "city", "country", "code"),
    [
        ([], "35000", "Rennes", None, "model.address_lines"),
        (["a", "b", "c", "d", "e"], "35000", "Rennes", None, "model.address_lines"),
        (["x" * 39], "35000", "Rennes", None, "model.address_line_too_long"),
        (["1 rue Haute"], "35000", "R" * 33, None, "model.address_line_too_long"),
        (["1 rue Haute"], "3500", "Rennes", None, "model.bad_postcode"),
        (["1 rue Haute"], "1000", "Bruxelles", " ", "model.address_line_too_long"),
        (["1 rue\nHaute"], "35000", "Rennes", None, "input.control_character"),
        ([" "], "35000", "Rennes", None, "model.empty"),
        (["1 rue Haute"], "35000", "", None, "model.empty"),
        (["1 rue Haute"], "35000", "Rennes", "\ud800", "input.lone_surrogate"),
    ],
)
def test_an_address_that_an_envelope_cannot_carry_is_refused(
    lines: list[str], postcode: str, city: str, country: str | None, code: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        PostalAddress(lines, postcode, city, country)
    assert refused.value.code == code
    assert refused.value.message_fr


@given(s.postal_addresses())
def test_an_envelope_has_six_lines_in_france_seven_abroad_of_at_most_38_characters(
    address: PostalAddress,
) -> None:
    envelope = address.envelope()  # under the payer's name
    assert 2 <= len(envelope) <= (5 if address.in_france else 6)
    assert all(len(line) <= ADDRESS_LINE_LENGTH for line in envelope)
