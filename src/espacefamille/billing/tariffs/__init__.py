"""Tariffs as data: price lists versioned by validity dates, and one price rule per prestation.

A commune publishes a new price list (*grille tarifaire*) each school year, usually from 1 September.
A ``TariffBook`` holds them; their validity ranges never overlap, and a date that no list covers is a
``MissingData`` error ("tariff.no_price_list"), never a silent zero. In each ``PriceList``, every
priced prestation has a ``PrestationTariff``: its unit (day, half day, hour, half hour, block), its
price rule (a flat price, quotient-familial bands, a *taux d'effort*, or a price by the family's number
of children), and the optional non-resident price, PAI price, sibling reduction by rank, surcharges
(late booking, presence without booking) and attendance effects.

Two extension points have one registry each, every entry one frozen class carrying its TOML name, its
reader, its writer and its behaviour: the **tariff criteria** (``@tariff_criterion``: the price rules,
the PAI and non-resident prices, the sibling reduction), each saying which facts of the family it reads
(``reads``) and pricing from those alone (``apply``), so that the pricing cache, keyed by what they read,
cannot disagree with the price; and the **attendance effects** (``@attendance_effect``: ``"full"``,
``"zero"``, ``{ fixed = … }``, ``{ percent = … }``), what a status does to a day's price.

Everything here is data, validated at construction and read from (and written back to) the plain
dicts of the commune's TOML file by ``tariff_book_from_dict`` / ``tariff_book_to_dict``. Pricing itself
— one function for invoices, prepaid baskets and previews — lives in ``espacefamille.billing.pricing``.
``docs/tariffs.md`` has one worked example per kind, and "Adding a tariff criterion".

Amounts here are ``Decimal`` euros, possibly finer than the cent (a taux d'effort, an hourly price of
1,125 €): only the commune's ``RoundingPolicy`` turns them into ``Money``.

The package, one concept per module: ``price_lists`` (units, a prestation's tariff, price lists, the book),
``criteria`` (the ``@tariff_criterion`` registry and the shipped criteria), ``forfaits`` (fees per
enrolment per month, period or school year, and monthly instalments), ``grid`` (prices by a grid
of criteria: QF band × rank, × residence, age or school level × QF), ``attendance`` (the
``@attendance_effect`` registry and the shipped effects), ``surcharges``, ``wording`` (French clauses) and
``codec`` (the TOML tables read and written). This ``__init__`` re-exports their public names.
"""

from espacefamille.billing.tariffs._common import _Node as _Node  # what a criterion's read(node) gets
from espacefamille.billing.tariffs.attendance import (
    ATTENDANCE_STATUSES,
    DEFAULT_ATTENDANCE_EFFECTS,
    FULL_PRICE,
    NO_CHARGE,
    AttendanceEffect,
    AttendanceEffects,
    FixedAmount,
    FullPrice,
    NoCharge,
    PercentOfPrice,
    attendance_effect,
    attendance_effects,
    is_attendance_effect,
)
from espacefamille.billing.tariffs.codec import (
    tariff_book_from_dict,
    tariff_book_to_dict,
)
from espacefamille.billing.tariffs.criteria import (
    CriterionPrice,
    CriterionRole,
    EffortRate,
    FlatPrice,
    NonResidentPrice,
    PaiPrice,
    PriceByChildren,
    PriceRule,
    QfBand,
    QuotientBands,
    RankReduction,
    Situation,
    TariffCriterion,
    is_tariff_criterion,
    tariff_criteria,
    tariff_criterion,
)
from espacefamille.billing.tariffs.forfaits import (
    MAX_INSTALMENTS,
    Forfait,
    ForfaitDay,
    ForfaitPer,
    ForfaitPeriod,
    instalment_amounts,
)
from espacefamille.billing.tariffs.grid import (
    DIMENSIONS,
    CellReduction,
    GridBand,
    GridCell,
    LevelGroup,
    PriceGrid,
    RankAmong,
)
from espacefamille.billing.tariffs.price_lists import (
    PrestationTariff,
    PriceList,
    PriceUnit,
    QfChangeRule,
    TariffBook,
)
from espacefamille.billing.tariffs.surcharges import (
    FixedSurcharge,
    MultiplierSurcharge,
    PercentSurcharge,
    SurchargeKind,
    SurchargeRule,
)
from espacefamille.billing.tariffs.wording import (
    Clause,
    clause_text,
    format_number,
    format_quotient,
    fr_euros,
    fr_number,
    fr_ordinal,
    fr_percent,
    fr_quotient,
    status_text,
)

__all__ = [
    "ATTENDANCE_STATUSES",
    "DEFAULT_ATTENDANCE_EFFECTS",
    "DIMENSIONS",
    "FULL_PRICE",
    "MAX_INSTALMENTS",
    "NO_CHARGE",
    "AttendanceEffect",
    "AttendanceEffects",
    "CellReduction",
    "Clause",
    "CriterionPrice",
    "CriterionRole",
    "EffortRate",
    "FixedAmount",
    "FixedSurcharge",
    "FlatPrice",
    "Forfait",
    "ForfaitDay",
    "ForfaitPer",
    "ForfaitPeriod",
    "FullPrice",
    "GridBand",
    "GridCell",
    "LevelGroup",
    "MultiplierSurcharge",
    "NoCharge",
    "NonResidentPrice",
    "PaiPrice",
    "PercentOfPrice",
    "PercentSurcharge",
    "PrestationTariff",
    "PriceByChildren",
    "PriceGrid",
    "PriceList",
    "PriceRule",
    "PriceUnit",
    "QfBand",
    "QfChangeRule",
    "QuotientBands",
    "RankAmong",
    "RankReduction",
    "Situation",
    "SurchargeKind",
    "SurchargeRule",
    "TariffBook",
    "TariffCriterion",
    "attendance_effect",
    "attendance_effects",
    "clause_text",
    "format_number",
    "format_quotient",
    "fr_euros",
    "fr_number",
    "fr_ordinal",
    "fr_percent",
    "fr_quotient",
    "instalment_amounts",
    "is_attendance_effect",
    "is_tariff_criterion",
    "status_text",
    "tariff_book_from_dict",
    "tariff_book_to_dict",
    "tariff_criteria",
    "tariff_criterion",
]
