"""What comes from outside as data — a commune's TOML text, CSV imports, a gateway's call back, an amount —
given hostile values: it is read, or refused with an ``EspaceFamilleError``; never a raw Python error."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from espacefamille.adapters.fake_gateway import FakeGateway
from espacefamille.adapters.payfip import PayfipGateway
from espacefamille.billing.online import PaymentGateway, settle_notification
from espacefamille.config import commune_from_dict, loads_commune
from espacefamille.errors import EspaceFamilleError
from espacefamille.examples import example_commune, example_path
from espacefamille.interop.imports import (
    CsvKind,
    attendance_from_csv,
    children_from_csv,
    csv_header,
    enrolments_from_csv,
    families_from_csv,
)
from espacefamille.money import Money, RoundingPolicy, to_decimal
from espacefamille.testing.strategies import hostile_values

EXAMPLE = example_path().read_text(encoding="utf-8")
NOW = dt.datetime(2026, 11, 26, 9, 0, tzinfo=dt.UTC)


def library_errors_only(call: Callable[[], object]) -> None:
    with contextlib.suppress(EspaceFamilleError):
        call()


# -- Money ----------------------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(value=hostile_values())
def test_money_and_numbers_take_any_value_or_refuse_it(value: object) -> None:
    library_errors_only(lambda: Money(value))  # type: ignore[arg-type]
    library_errors_only(lambda: Money.from_cents(value))  # type: ignore[arg-type]
    library_errors_only(lambda: to_decimal(value))
    library_errors_only(lambda: RoundingPolicy().round(value))  # type: ignore[arg-type]
    library_errors_only(lambda: Money(1).allocate([value]))  # type: ignore[list-item]


@settings(max_examples=200, deadline=None)
@given(text=st.text(alphabet="0123456789+-.,eE_ \u202f\xa0١２", max_size=40))
def test_a_number_written_any_way_is_exact_or_refused(text: str) -> None:
    try:
        money = Money(text)
    except EspaceFamilleError:
        return
    assert Money.from_cents(money.cents) == money
    assert abs(money.cents) <= 10**14


# -- the commune's configuration -------------------------------------------------------------------


@st.composite
def _edited_examples(draw: st.DrawFn) -> str:
    """The example commune with one line's value replaced by a hostile TOML value."""
    lines = EXAMPLE.splitlines()
    candidates = [i for i, line in enumerate(lines) if " = " in line and not line.lstrip().startswith("#")]
    index = draw(st.sampled_from(candidates))
    key = lines[index].split(" = ", 1)[0]
    value = draw(
        st.sampled_from(
            [
                '""',
                '"\\u0000"',
                '"x\\ny"',
                "[]",
                "{}",
                "[[[[]]]]",
                "{ pattern = [] }",
                str(2**63 - 1),
                str(-(2**63)),
                "1e400",
                "nan",
                "inf",
                '"1E+5000"',
                '"8_12"',
                '"１２"',
                "true",
                "9999-12-31",
                "0001-01-01",
                "00:00:00",
                '"' + "é" * 3000 + '"',
            ]
        )
    )
    lines[index] = f"{key} = {value}"
    return "\n".join(lines)


@settings(max_examples=120, deadline=None)
@given(text=_edited_examples())
def test_a_commune_file_with_a_hostile_value_loads_or_names_its_error(text: str) -> None:
    library_errors_only(lambda: loads_commune(text))


@settings(max_examples=100, deadline=None)
@given(value=hostile_values())
def test_anything_given_as_a_configuration_is_read_or_refused(value: object) -> None:
    library_errors_only(lambda: loads_commune(value))  # type: ignore[arg-type]
    library_errors_only(lambda: commune_from_dict(value))  # type: ignore[arg-type]
    library_errors_only(lambda: commune_from_dict({"schema_version": 1, "collectivite": value}))


# -- CSV imports -----------------------------------------------------------------------------------

_IMPORTS: dict[CsvKind, Callable[[object], object]] = {
    CsvKind.FAMILIES: families_from_csv,  # type: ignore[dict-item]
    CsvKind.CHILDREN: children_from_csv,  # type: ignore[dict-item]
    CsvKind.ENROLMENTS: lambda data: enrolments_from_csv(data, commune=example_commune()),  # type: ignore[arg-type]
    CsvKind.ATTENDANCE: lambda data: attendance_from_csv(data, commune=example_commune()),  # type: ignore[arg-type]
}

_cells = st.one_of(
    st.text(max_size=12),
    st.sampled_from(
        ["", "\ud800", "x\ny", "8_12", "１２", "1E+5000", "31/02/2026", "9999-12-31", "0001-01-01"]
    ),
    st.sampled_from(["F1", "C1", "cantine", "repas", "2026-12-01", "800", "oui", "present"]),
)


@st.composite
def _csv_files(draw: st.DrawFn, kind: CsvKind) -> str | bytes:
    header = csv_header(kind)
    width = header.count(";") + 1
    rows = draw(st.lists(st.lists(_cells, min_size=width - 1, max_size=width + 1), max_size=4))
    text = "\n".join([header, *(";".join(row) for row in rows)])
    if draw(st.booleans()):
        return text.encode("utf-8", errors="surrogatepass")
    return text


@pytest.mark.parametrize("kind", sorted(_IMPORTS, key=str))
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_a_hostile_import_file_is_read_or_rejected_line_by_line(kind: CsvKind, data: st.DataObject) -> None:
    read = _IMPORTS[kind]
    library_errors_only(lambda: read(data.draw(_csv_files(kind), label="file")))
    library_errors_only(lambda: read(data.draw(hostile_values(), label="not a file")))


# -- gateways' call backs --------------------------------------------------------------------------


@settings(max_examples=150, deadline=None)
@given(
    payload=st.one_of(
        hostile_values(),
        st.dictionaries(st.sampled_from(["payment_id", "idop", "idOp", "x"]), hostile_values(), max_size=3),
    )
)
def test_a_hostile_notification_is_refused_by_either_gateway(payload: object) -> None:
    # Reading a call back uses none of PayFiP's settings: a gateway built without them reads it the same.
    gateways: tuple[PaymentGateway, ...] = (FakeGateway(), PayfipGateway.__new__(PayfipGateway))
    for gateway in gateways:
        try:
            notification = gateway.receive_notification(payload)  # type: ignore[arg-type]
        except EspaceFamilleError:
            continue
        with contextlib.suppress(EspaceFamilleError):
            settle_notification(gateway, {}, notification, NOW)
