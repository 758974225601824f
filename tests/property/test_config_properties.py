"""A commune written to TOML and read back is the same commune, whatever it holds."""

from __future__ import annotations

from hypothesis import given

from espacefamille.commune import Commune
from espacefamille.config import commune_from_dict, commune_to_dict, dumps_commune, loads_commune
from espacefamille.testing.strategies import communes


@given(communes())
def test_a_loaded_configuration_equals_the_one_it_was_written_from(commune: Commune) -> None:
    assert loads_commune(dumps_commune(commune)) == commune


@given(communes())
def test_writing_a_loaded_configuration_gives_back_the_same_text(commune: Commune) -> None:
    text = dumps_commune(commune)
    assert dumps_commune(loads_commune(text)) == text


@given(communes())
def test_the_toml_document_reads_back_without_going_through_text(commune: Commune) -> None:
    assert commune_from_dict(commune_to_dict(commune)) == commune
