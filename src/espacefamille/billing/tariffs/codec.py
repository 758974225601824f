"""A commune's ``[[tariffs]]`` array ⇄ ``TariffBook``: read with key paths and codes, written back equal."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Mapping
from typing import Any

from espacefamille.billing.tariffs._common import _amount_text, _build, _invalid, _Node
from espacefamille.billing.tariffs.attendance import (
    DEFAULT_ATTENDANCE_EFFECTS,
    _effects_dict,
    _read_effects,
)
from espacefamille.billing.tariffs.criteria import (
    _CRITERIA,
    CriterionRole,
    NonResidentPrice,
    PaiPrice,
    RankReduction,
    TariffCriterion,
    _read_rule,
)
from espacefamille.billing.tariffs.forfaits import Forfait, ForfaitPer, ForfaitPeriod
from espacefamille.billing.tariffs.price_lists import (
    _SLOTTED,
    PrestationTariff,
    PriceList,
    PriceUnit,
    QfChangeRule,
    TariffBook,
)
from espacefamille.billing.tariffs.surcharges import _read_surcharge, _surcharge_dict
from espacefamille.calendar.periods import DateRange

__all__ = [
    "tariff_book_from_dict",
    "tariff_book_to_dict",
]


def _read_prestation(node: _Node, prestation_id: str) -> PrestationTariff:
    unit = node.choice("unit", PriceUnit)
    unit_label = node.string("unit_label") or ""
    count_started = node.boolean("count_started")
    rule = _read_rule(node)
    # The shipped overrides and reduction have fields of their own; other registered ones go together.
    found: dict[str, TariffCriterion] = {}
    for key in (*_SLOTTED, *_CRITERIA):
        kind = _CRITERIA[key]
        if kind.role is not CriterionRole.PRICE and key not in found and node.has(key):
            found[key] = kind.read(node)
    non_resident, pai = found.pop(NonResidentPrice.key, None), found.pop(PaiPrice.key, None)
    reduction = found.pop(RankReduction.key, None)
    assert non_resident is None or isinstance(non_resident, NonResidentPrice)
    assert pai is None or isinstance(pai, PaiPrice)
    assert reduction is None or isinstance(reduction, RankReduction)
    if node.has("late_booking"):
        raise _invalid(
            "late_booking is no longer a tariff setting: the late-booking surcharge is now set by the "
            f"prestation's booking rule, in the booking table of prestation {prestation_id!r}: "
            'after_deadline = { policy = "surcharge", percent = "…" } (or amount = "…" euros); '
            "move it there and remove late_booking from the price list",
            node.at("late_booking"),
            "tariff.late_booking_moved",
            "La majoration pour réservation tardive se règle désormais dans les règles de réservation de la "
            "prestation (after_deadline), plus dans la grille tarifaire.",
        )
    unbooked_node = node.table("unbooked_presence")
    unbooked = None if unbooked_node is None else _read_surcharge(unbooked_node)
    attendance_node = node.table("attendance")
    attendance = None if attendance_node is None else _read_effects(attendance_node)
    forfait = _read_forfait(node)
    meal = node.amount("meal")
    node.done()
    return _build(
        node.path,
        lambda: PrestationTariff(
            prestation_id,
            unit,
            rule,
            unit_label=unit_label,
            count_started=count_started,
            non_resident=None if non_resident is None else non_resident.price,
            pai=None if pai is None else pai.price,
            sibling_reduction=reduction,
            unbooked_presence=unbooked,
            attendance=attendance,
            extra_criteria=tuple(found.values()),
            forfait=forfait,
            meal=meal,
        ),
    )


def _forfait_period(label: str, start: dt.date, end: dt.date) -> ForfaitPeriod:
    return ForfaitPeriod(label, DateRange(start, end))


def _read_forfait(node: _Node) -> Forfait | None:
    """``per``, ``instalments`` and ``periods`` of a prestation's table: its forfait, if it is one."""
    if not node.has("per"):
        for key in ("instalments", "periods", "prorata"):
            if node.has(key):
                raise _invalid(
                    f'{key} belongs to a forfait: give per = "month", "period" or "school_year"',
                    node.at(key),
                    "tariff.forfait_without_per",
                )
        return None
    per = node.choice("per", ForfaitPer)
    instalments = node.integer("instalments")
    periods: list[ForfaitPeriod] = []
    for item_path, item in node.array("periods"):
        period = _Node(item, item_path)
        label = period.string("label", required=True)
        start, end = period.date("start"), period.date("end")
        period.done()
        assert label is not None
        periods.append(_build(period.path, functools.partial(_forfait_period, label, start, end)))
    prorata = node.boolean("prorata")
    return _build(node.path, lambda: Forfait(per, instalments, tuple(periods), prorata))


def _read_price_list(node: _Node) -> PriceList:
    label = node.string("label", required=True)
    start, end = node.date("start"), node.date("end")
    validity = _build(node.at("end"), lambda: DateRange(start, end))
    qf_change = node.choice("qf_change", QfChangeRule, QfChangeRule.NEXT_MONTH)
    attendance_node = node.table("attendance")
    attendance = DEFAULT_ATTENDANCE_EFFECTS if attendance_node is None else _read_effects(attendance_node)
    reasons_node = node.table("reasons")
    reasons: dict[str, str] = {}
    if reasons_node is not None:
        for code in list(reasons_node.data):
            words = reasons_node.string(code, required=True)
            assert words is not None
            reasons[code] = words
        reasons_node.done()
    prices_node = node.table("prices")
    tariffs: list[PrestationTariff] = []
    if prices_node is not None:
        for prestation_id in list(prices_node.data):
            sub = prices_node.table(prestation_id)
            assert sub is not None
            tariffs.append(_read_prestation(sub, prestation_id))
    node.done()
    assert label is not None
    return _build(
        node.path, lambda: PriceList(label, validity, tuple(tariffs), attendance, qf_change, reasons)
    )


def tariff_book_from_dict(data: Mapping[str, Any], path: str = "") -> TariffBook:
    """The ``TariffBook`` of a parsed commune document: its top-level ``[[tariffs]]`` array.

    Only the ``tariffs`` key of ``data`` is read (a missing key is an empty book); ``path`` prefixes
    the key paths of errors when the document sits under another key. Errors are
    ``InvalidConfiguration`` with the key path (``tariffs[0].prices.repas.bands[2].from``) and a stable
    code; amounts are strings (``"3.20"``), and TOML floats are refused ("config.float_amount").
    """
    holder = _Node(dict(data), path)
    lists = [_read_price_list(_Node(item, item_path)) for item_path, item in holder.array("tariffs")]
    return _build(path, lambda: TariffBook(tuple(lists)))


def _tariff_dict(tariff: PrestationTariff) -> dict[str, Any]:
    result: dict[str, Any] = {"unit": tariff.unit.value}
    if tariff.unit_label:
        result["unit_label"] = tariff.unit_label
    if tariff.count_started:
        result["count_started"] = True
    result.update(tariff.rule.settings())
    if tariff.non_resident is not None:
        result.update(NonResidentPrice(tariff.non_resident).settings())
    if tariff.pai is not None:
        result.update(PaiPrice(tariff.pai).settings())
    if tariff.sibling_reduction is not None:
        result.update(tariff.sibling_reduction.settings())
    for criterion in tariff.extra_criteria:
        result.update(criterion.settings())
    if tariff.meal is not None:
        result["meal"] = _amount_text(tariff.meal)
    if tariff.unbooked_presence is not None:
        result["unbooked_presence"] = _surcharge_dict(tariff.unbooked_presence)
    if tariff.attendance is not None:
        result["attendance"] = _effects_dict(tariff.attendance)
    forfait = tariff.forfait
    if forfait is not None:
        result["per"] = forfait.per.value
        if forfait.instalments is not None:
            result["instalments"] = forfait.instalments
        if forfait.prorata:
            result["prorata"] = True
        if forfait.periods:
            result["periods"] = [
                {"label": item.label, "start": item.period.start, "end": item.period.end}
                for item in forfait.periods
            ]
    return result


def tariff_book_to_dict(book: TariffBook) -> dict[str, Any]:
    """``{"tariffs": [...]}`` for the commune's TOML file; ``tariff_book_from_dict`` reads it back equal."""
    return {
        "tariffs": [
            {
                "label": price_list.label,
                "start": price_list.validity.start,
                "end": price_list.validity.end,
                "qf_change": price_list.qf_change.value,
                "attendance": _effects_dict(price_list.attendance),
                "prices": {t.prestation_id: _tariff_dict(t) for t in price_list.prices},
                **({"reasons": dict(price_list.reasons)} if price_list.reasons else {}),
            }
            for price_list in book.price_lists
        ]
    }
