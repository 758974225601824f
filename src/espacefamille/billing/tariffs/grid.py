"""A price grid as councils vote it: cells chosen by several criteria at once (QF band × child rank, QF band ×
residence, age or school level × QF…), each cell an amount, a taux d'effort or a reduction of another cell.

The grid is one price criterion (``grid`` in a prestation's price table). Its **dimensions** are the criteria
the council combines, each a finite set of categories: ``qf`` (quotient-familial bands, half-open
``[from, to)`` intervals from 0, the last open-ended, with an explicit ``unknown_qf`` band for a family whose
QF is unknown), ``ranks`` (the child's rank: 1st, 2nd… the last one "and later"), ``residence`` (in the
commune or outside), ``ages`` (age bands in whole years on the first day of the price list) and ``levels``
(groups of school classes). A **cell** names one category of some dimensions and a price; a dimension it
does not name is "any". Every combination of categories is covered by exactly one cell, or by the grid's
``default``: a combination covered twice, or not at all without a default, is refused at load.

The grid is compiled once, at load: every combination of categories maps to its cell, so pricing a day
is one tuple of small integers looked up in a dict. What a cell reads of the family is its categories (and
the QF itself for a taux d'effort cell), so the pricing cache's key and the price agree by construction.
"""

from __future__ import annotations

import enum
import itertools
from collections.abc import Callable, Hashable, Iterable, Mapping
from decimal import Decimal
from typing import Any, ClassVar, Final, TypeAlias

import attrs

from espacefamille.billing.tariffs._common import (
    _HUNDRED,
    _amount_text,
    _build,
    _decimal,
    _invalid,
    _Node,
    _not_negative,
    _optional_decimal,
)
from espacefamille.billing.tariffs.criteria import (
    CriterionPrice,
    CriterionRole,
    EffortRate,
    Situation,
    _read_effort,
    tariff_criterion,
)
from espacefamille.billing.tariffs.wording import Clause, format_number, format_quotient, fr_euros, fr_ordinal
from espacefamille.errors import MissingData
from espacefamille.money import RoundingPolicy

__all__ = [
    "DIMENSIONS",
    "CellReduction",
    "GridBand",
    "GridCell",
    "LevelGroup",
    "PriceGrid",
    "RankAmong",
]

DIMENSIONS: Final = ("qf", "residence", "rank", "age", "level")
"""The criteria a grid may combine, in the order an invoice line names them."""

_RESIDENCES: Final = ("resident", "non_resident")
_RESIDENCE_WORDS: Final = {"resident": "famille de la commune", "non_resident": "famille hors commune"}


class RankAmong(enum.Enum):
    """Among which children a child's rank is counted, eldest first (by birth date; twins by child id).

    ``SERVICE``: the household's children enrolled in the service (those booked in it for the month billed);
    ``HOUSEHOLD``: all the household's children.
    """

    SERVICE = "service"
    HOUSEHOLD = "household"


def _band_words(lower: Decimal, upper: Decimal | None, unit: Callable[[Decimal], str]) -> str:
    if upper is None:
        return f"{unit(lower)} et plus"
    if lower == 0:
        return f"moins de {unit(upper)}"
    return f"{unit(lower)} à moins de {unit(upper)}"


def _years(value: Decimal) -> str:
    return f"{format_number(value)} an{'s' if value >= 2 else ''}"


def _of_items(items: Iterable[tuple[str, str | int]]) -> tuple[tuple[str, str | int], ...]:
    return tuple(sorted(dict(items).items()))


def _cell_tuple(items: Iterable[GridCell]) -> tuple[GridCell, ...]:
    return tuple(items)


def _level_tuple(items: Iterable[LevelGroup]) -> tuple[LevelGroup, ...]:
    return tuple(items)


def _class_tuple(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(items)


@attrs.frozen
class GridBand:
    """One category of a banded dimension (QF or age): ``[lower, upper)``, open-ended when ``upper`` is None.

    ``key`` is how cells name it (``"A"``, ``"651-1000"``); ``label`` how families read it.
    """

    key: str
    lower: Decimal = attrs.field(converter=_decimal)
    upper: Decimal | None = attrs.field(default=None, converter=_optional_decimal)
    label: str = ""

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.key, str) or not self.key.strip():
            raise _invalid('a band needs a name (band = "…")', "band", "tariff.grid_category")
        if self.lower < 0:
            raise _invalid(f"a band cannot start below 0, got {self.lower}", "from", "tariff.band_negative")
        if self.upper is not None and self.upper <= self.lower:
            raise _invalid(
                f"band [{self.lower}, {self.upper}) is empty: 'to' must be above 'from'",
                "to",
                "tariff.band_empty",
            )

    def holds(self, value: Decimal | int) -> bool:
        return self.lower <= value and (self.upper is None or value < self.upper)


@attrs.frozen
class LevelGroup:
    """One category of the school-level dimension: a name and the classes it groups (``PS``, ``CP``…)."""

    key: str
    classes: tuple[str, ...] = attrs.field(converter=_class_tuple)

    def __attrs_post_init__(self) -> None:
        if not self.classes:
            raise _invalid(f"level group {self.key!r} has no class", "classes", "tariff.grid_category")


@attrs.frozen
class CellReduction:
    """A cell priced as another cell of the grid less ``percent`` %: ``of`` names the categories that differ
    (``{ rank = 1 }``: this cell's QF band and residence, for the first child)."""

    of: tuple[tuple[str, str | int], ...] = attrs.field(converter=_of_items)
    percent: Decimal = attrs.field(converter=_decimal)

    def __attrs_post_init__(self) -> None:
        if not 0 <= self.percent <= 100:
            raise _invalid(
                f"a reduction is a percentage from 0 to 100, got {self.percent}",
                "percent",
                "tariff.reduction_range",
            )
        if not self.of:
            raise _invalid(
                "a reduction names the cell it reduces (of = { … })", "of", "tariff.grid_reference"
            )


CellValue: TypeAlias = Decimal | EffortRate | CellReduction
"""A cell's price: an amount, a taux d'effort with its floor and ceiling, or a reduction of another cell."""


def _facts(
    items: Mapping[str, str | int] | Iterable[tuple[str, str | int]],
) -> tuple[tuple[str, str | int], ...]:
    pairs = items.items() if isinstance(items, Mapping) else items
    return tuple(sorted(pairs, key=lambda pair: DIMENSIONS.index(pair[0]) if pair[0] in DIMENSIONS else 99))


def _value(value: CellValue | str | int) -> CellValue:
    return value if isinstance(value, EffortRate | CellReduction) else _decimal(value)


@attrs.frozen
class GridCell:
    """The price of the families whose categories are ``facts`` (a dimension left out: any category)."""

    facts: tuple[tuple[str, str | int], ...] = attrs.field(converter=_facts)
    value: CellValue = attrs.field(converter=_value)

    def __attrs_post_init__(self) -> None:
        if isinstance(self.value, Decimal):
            _not_negative(self.value, "price")


def _cells_key(cells: tuple[GridCell, ...]) -> tuple[str, ...]:
    # Cells compare as a set: the order a council wrote them in changes nothing.
    return tuple(sorted(repr(cell) for cell in cells))


def _bands(items: Iterable[GridBand]) -> tuple[GridBand, ...]:
    return tuple(sorted(items, key=lambda band: band.lower))


_Coordinate: TypeAlias = tuple[int, ...]


class _Entry:
    """A compiled cell: what its price reads (``effort``: the QF) and how it is worked out."""

    __slots__ = ("base", "cell", "coordinate", "effort", "percent", "price")

    def __init__(self, cell: GridCell | None, coordinate: _Coordinate) -> None:
        self.cell = cell
        self.coordinate = coordinate
        self.price: Decimal | None = None
        self.effort: EffortRate | None = None
        self.base: _Entry | None = None
        self.percent = Decimal(0)


@tariff_criterion
@attrs.frozen
class PriceGrid:
    """Prices by a grid of criteria (``grid`` in a prestation's price table); see the module's docstring."""

    cells: tuple[GridCell, ...] = attrs.field(converter=_cell_tuple, eq=_cells_key)
    qf: tuple[GridBand, ...] = attrs.field(default=(), converter=_bands)
    unknown_qf: str | None = None
    ranks: int | None = None
    rank_among: RankAmong = RankAmong.SERVICE
    residence: bool = False
    ages: tuple[GridBand, ...] = attrs.field(default=(), converter=_bands)
    levels: tuple[LevelGroup, ...] = attrs.field(default=(), converter=_level_tuple)
    unknown_level: str | None = None
    default: CellValue | None = attrs.field(default=None, converter=attrs.converters.optional(_value))
    _dims: tuple[str, ...] = attrs.field(init=False, eq=False, repr=False, hash=False)
    _table: dict[_Coordinate, _Entry] = attrs.field(init=False, eq=False, repr=False, hash=False)
    _level_index: dict[str, int] = attrs.field(init=False, eq=False, repr=False, hash=False)
    key: ClassVar[str] = "grid"
    role: ClassVar[CriterionRole] = CriterionRole.PRICE
    nestable: ClassVar[bool] = False
    clauses: ClassVar[Mapping[str, Callable[..., str]]] = {
        "tariff.grid_price": lambda facts, price, label: f"{facts} : {fr_euros(price)} {label}",
        "tariff.grid_facts": lambda facts: facts,
        "tariff.grid_reduction": lambda facts, base_facts, base, percent, label: (
            f"{facts} : tarif {base_facts} ({fr_euros(base)} {label}) \u2212{format_number(percent)}\u202f%"
        ),
        "tariff.grid_default": lambda price, label: f"tarif de base de la grille : {fr_euros(price)} {label}",
    }

    # -- checks and compilation ---------------------------------------------------------------

    def __attrs_post_init__(self) -> None:
        dims: list[str] = []
        if self.qf:
            _check_bands(self.qf, "grid.qf", format_quotient)
            if self.unknown_qf is None:
                raise _invalid(
                    'a grid by QF band names the band of an unknown QF: unknown_qf = "<band>"',
                    "grid.unknown_qf",
                    "tariff.grid_unknown_qf",
                    "La grille doit dire quelle tranche paie une famille au quotient familial inconnu.",
                )
            if self.unknown_qf not in {band.key for band in self.qf}:
                raise _invalid(
                    f"unknown_qf names no band of the grid: {self.unknown_qf!r}",
                    "grid.unknown_qf",
                    "tariff.grid_unknown_category",
                )
            dims.append("qf")
        elif self.unknown_qf is not None:
            raise _invalid(
                "unknown_qf needs QF bands (qf = [...])", "grid.unknown_qf", "tariff.grid_unknown_qf"
            )
        if self.residence:
            dims.append("residence")
        if self.ranks is not None:
            if isinstance(self.ranks, bool) or not isinstance(self.ranks, int) or not 2 <= self.ranks <= 20:
                raise _invalid(
                    f"ranks counts rank categories, 2 to 20 (the last: 'and later'), got {self.ranks!r}",
                    "grid.ranks",
                    "tariff.grid_ranks",
                )
            dims.append("rank")
        if self.ages:
            _check_bands(self.ages, "grid.ages", _years)
            dims.append("age")
        if self.levels:
            level_index: dict[str, int] = {}
            keys = [group.key for group in self.levels]
            if len(set(keys)) != len(keys):
                raise _invalid("two level groups have one name", "grid.levels", "tariff.grid_category_twice")
            for index, group in enumerate(self.levels):
                for school_class in group.classes:
                    if school_class in level_index:
                        raise _invalid(
                            f"class {school_class!r} is in two level groups",
                            f"grid.levels[{index}].classes",
                            "tariff.grid_category_twice",
                        )
                    level_index[school_class] = index
            if self.unknown_level is not None and self.unknown_level not in keys:
                raise _invalid(
                    f"unknown_level names no level group: {self.unknown_level!r}",
                    "grid.unknown_level",
                    "tariff.grid_unknown_category",
                )
            dims.append("level")
        else:
            level_index = {}
        if not dims:
            raise _invalid(
                "a grid needs at least one criterion: qf, residence, ranks, ages or levels",
                "grid",
                "tariff.grid_no_criterion",
            )
        object.__setattr__(self, "_dims", tuple(dims))
        object.__setattr__(self, "_level_index", level_index)
        object.__setattr__(self, "_table", self._compile())

    @property
    def extra_facts(self) -> frozenset[str]:
        """The facts it reads beyond the QF, residence, PAI and household rank (month-end billing works out
        only those a tariff asks for): the rank in the service, the age, the school level."""
        extra = set()
        if self.ranks is not None and self.rank_among is RankAmong.SERVICE:
            extra.add("service_rank")
        if self.ages:
            extra.add("age")
        if self.levels:
            extra.add("school_level")
        return frozenset(extra)

    def _categories(self, dim: str) -> list[str | int]:
        if dim == "qf":
            return [band.key for band in self.qf]
        if dim == "residence":
            return list(_RESIDENCES)
        if dim == "rank":
            assert self.ranks is not None
            return list(range(1, self.ranks + 1))
        if dim == "age":
            return [band.key for band in self.ages]
        return [group.key for group in self.levels]

    def _coordinate_of(self, facts: Iterable[tuple[str, str | int]], path: str) -> dict[str, int]:
        """The category indices a cell (or a reduction's ``of``) names, checked against the dimensions."""
        named: dict[str, int] = {}
        for dim, category in facts:
            if dim not in self._dims:
                raise _invalid(
                    f"{dim!r} is not a criterion of this grid (it has {', '.join(self._dims)})",
                    f"{path}.{dim}",
                    "tariff.grid_unknown_criterion",
                )
            categories = self._categories(dim)
            if category not in categories:
                raise _invalid(
                    f"{dim} {category!r} is not one of {', '.join(map(str, categories))}",
                    f"{path}.{dim}",
                    "tariff.grid_unknown_category",
                )
            named[dim] = categories.index(category)
        return named

    def _compile(self) -> dict[_Coordinate, _Entry]:
        dims = self._dims
        sizes = [len(self._categories(dim)) for dim in dims]
        table: dict[_Coordinate, _Entry] = {}
        for index, cell in enumerate(self.cells):
            if not isinstance(cell, GridCell):
                raise _invalid(
                    f"expected a GridCell, got {type(cell).__name__}",
                    f"grid.cells[{index}]",
                    "tariff.grid_cell",
                )
            path = f"grid.cells[{index}]"
            named = self._coordinate_of(cell.facts, path)
            ranges = [
                [named[dim]] if dim in named else range(size) for dim, size in zip(dims, sizes, strict=True)
            ]
            for coordinate in itertools.product(*ranges):
                if coordinate in table:
                    other = table[coordinate].cell
                    raise _invalid(
                        f"two cells price {self._words(coordinate)}: "
                        f"{_cell_text(other)} and {_cell_text(cell)}",
                        path,
                        "tariff.grid_cell_twice",
                        f"Deux cases de la grille donnent un prix pour {self._words(coordinate)}.",
                    )
                table[coordinate] = _Entry(cell, coordinate)
        for coordinate in itertools.product(*(range(size) for size in sizes)):
            if coordinate not in table:
                if self.default is None:
                    raise _invalid(
                        f"no cell prices {self._words(coordinate)}, and the grid has no default",
                        "grid.cells",
                        "tariff.grid_cell_missing",
                        f"Aucune case de la grille ne donne le prix pour {self._words(coordinate)}.",
                    )
                table[coordinate] = _Entry(None, coordinate)
        for entry in table.values():
            self._resolve(entry, table, ())
        return table

    def _resolve(
        self, entry: _Entry, table: dict[_Coordinate, _Entry], chain: tuple[_Coordinate, ...]
    ) -> None:
        if entry.price is not None or entry.effort is not None or entry.base is not None:
            return
        value = self.default if entry.cell is None else entry.cell.value
        assert value is not None
        if isinstance(value, Decimal):
            entry.price = value
            return
        if isinstance(value, EffortRate):
            entry.effort = value
            return
        if entry.coordinate in chain:
            raise _invalid(
                f"the reductions of the grid go round in a circle at {self._words(entry.coordinate)}",
                "grid.cells",
                "tariff.grid_cycle",
                "Des réductions de la grille se renvoient l'une à l'autre.",
            )
        path = "grid.default" if entry.cell is None else "grid.cells"
        of = self._coordinate_of(value.of, f"{path}.reduction.of")
        base_coordinate = tuple(of.get(dim, entry.coordinate[i]) for i, dim in enumerate(self._dims))
        base = table[base_coordinate]
        self._resolve(base, table, (*chain, entry.coordinate))
        entry.base = base
        entry.percent = value.percent

    # -- French wording -------------------------------------------------------------------------

    def _word(self, dim: str, index: int) -> str:
        if dim == "qf":
            band = self.qf[index]
            return f"tranche QF {band.label or _band_words(band.lower, band.upper, format_quotient)}"
        if dim == "residence":
            return _RESIDENCE_WORDS[_RESIDENCES[index]]
        if dim == "rank":
            assert self.ranks is not None
            rank = index + 1
            return f"{fr_ordinal(rank)} enfant{' et suivants' if rank == self.ranks else ''}"
        if dim == "age":
            band = self.ages[index]
            return band.label or _band_words(band.lower, band.upper, _years)
        return self.levels[index].key

    def _words(
        self, coordinate: _Coordinate, named: frozenset[str] | None = None, *, unknown_qf: bool = False
    ) -> str:
        """The categories of ``coordinate`` in words; only those ``named`` (a cell's own) when given."""
        words = [
            ("quotient familial non communiqué, " if dim == "qf" and unknown_qf else "")
            + self._word(dim, index)
            for dim, index in zip(self._dims, coordinate, strict=True)
            if named is None or dim in named
        ]
        return ", ".join(words) or "tarif de la grille"

    # -- the criterion ----------------------------------------------------------------------------

    def _index(self, dim: str, situation: Situation) -> int:
        if dim == "qf":
            quotient = situation.quotient
            bands = self.qf
            if quotient is None:
                return -1  # the unknown_qf band, said so to the family
            for index, band in enumerate(bands):
                if band.holds(quotient):
                    return index
            raise AssertionError("the bands cover every QF from 0")  # pragma: no cover
        if dim == "residence":
            return 0 if situation.resident else 1
        if dim == "rank":
            assert self.ranks is not None
            rank = situation.child_rank if self.rank_among is RankAmong.HOUSEHOLD else situation.service_rank
            return min(rank, self.ranks) - 1
        if dim == "age":
            age = situation.age
            if age is None:
                raise MissingData(
                    "the grid prices by age but the child's age is not known",
                    message_fr="La grille tarifaire dépend de l'âge de l'enfant, qui n'est pas connu.",
                    code="tariff.grid_no_age",
                )
            for index, band in enumerate(self.ages):
                if band.holds(age):
                    return index
            raise AssertionError("the age bands cover every age from 0")  # pragma: no cover
        level = situation.school_level
        found = self._level_index.get(level) if level is not None else None
        if found is None:
            if self.unknown_level is None:
                raise MissingData(
                    f"the grid prices by school level, and class {level!r} is in none of its groups",
                    message_fr="La grille tarifaire dépend de la classe de l'enfant, qui n'y figure pas.",
                    code="tariff.grid_no_level",
                    details={"level": level},
                )
            return [group.key for group in self.levels].index(self.unknown_level)
        return found

    def reads(self, situation: Situation) -> tuple[_Coordinate, Hashable]:
        """The family's category in each criterion of the grid (-1 for an unknown QF), and the QF itself when
        its cell is a taux d'effort."""
        coordinate = tuple(self._index(dim, situation) for dim in self._dims)
        entry = self._entry(coordinate)
        while entry.base is not None:
            entry = entry.base
        return coordinate, (situation.quotient if entry.effort is not None else None)

    def _entry(self, coordinate: _Coordinate) -> _Entry:
        if coordinate and self._dims[0] == "qf" and coordinate[0] == -1:
            unknown = [band.key for band in self.qf].index(self.unknown_qf or "")
            coordinate = (unknown, *coordinate[1:])
        return self._table[coordinate]

    def apply(
        self, seen: tuple[_Coordinate, Hashable], base: Decimal | None, label: str, rounding: RoundingPolicy
    ) -> CriterionPrice:
        coordinate, quotient = seen
        entry = self._entry(coordinate)
        unknown = bool(coordinate) and self._dims[0] == "qf" and coordinate[0] == -1
        named = frozenset(dim for dim, _ in entry.cell.facts) if entry.cell is not None else frozenset()
        facts = self._words(entry.coordinate, named, unknown_qf=unknown)
        price, clauses = self._price(entry, quotient, label, rounding, facts)
        return CriterionPrice(price, clauses)

    def _price(
        self,
        entry: _Entry,
        quotient: Hashable,
        label: str,
        rounding: RoundingPolicy,
        facts: str,
    ) -> tuple[Decimal, tuple[Clause, ...]]:
        if entry.base is not None:
            base_price, _ = self._price(entry.base, quotient, label, rounding, "")
            differs = [
                self._word(dim, index)
                for dim, index, own in zip(self._dims, entry.base.coordinate, entry.coordinate, strict=True)
                if index != own
            ]
            base_facts = "du " + ", ".join(differs) if differs else "de la case"
            price = base_price * (_HUNDRED - entry.percent) / _HUNDRED
            return price, (("tariff.grid_reduction", (facts, base_facts, base_price, entry.percent, label)),)
        if entry.effort is not None:
            assert quotient is None or isinstance(quotient, Decimal)
            step = entry.effort.apply(quotient, None, label, rounding)
            return step.price, (("tariff.grid_facts", (facts,)), *step.clauses)
        assert entry.price is not None
        if entry.cell is None:
            return entry.price, (("tariff.grid_default", (entry.price, label)),)
        return entry.price, (("tariff.grid_price", (facts, entry.price, label)),)

    # -- reading and writing ----------------------------------------------------------------------

    @classmethod
    def read(cls, node: _Node) -> PriceGrid:
        grid = node.table("grid")
        assert grid is not None
        qf = (
            tuple(_read_grid_band(path, item, "qf") for path, item in grid.array("qf"))
            if grid.has("qf")
            else ()
        )
        ages = (
            tuple(_read_grid_band(path, item, "age") for path, item in grid.array("ages"))
            if grid.has("ages")
            else ()
        )
        levels: list[LevelGroup] = []
        if grid.has("levels"):
            for path, item in grid.array("levels"):
                sub = _Node(item, path)
                key = sub.string("group", required=True)
                classes = sub._table.strings("classes")
                sub.done()
                assert key is not None
                levels.append(_build(path, _level_maker(key, classes)))
        residence = grid.boolean("residence")
        ranks = grid.integer("ranks")
        rank_among = grid.choice("rank_among", RankAmong, RankAmong.SERVICE)
        unknown_qf = grid.string("unknown_qf")
        unknown_level = grid.string("unknown_level")
        cells = tuple(_read_cell(path, item) for path, item in grid.array("cells"))
        default_node = grid.table("default")
        default = None if default_node is None else _read_cell_value(default_node)
        grid.done()
        return _build(
            node.path,
            lambda: cls(
                cells,
                qf=qf,
                unknown_qf=unknown_qf,
                ranks=ranks,
                rank_among=rank_among,
                residence=residence,
                ages=ages,
                levels=tuple(levels),
                unknown_level=unknown_level,
                default=default,
            ),
        )

    def settings(self) -> dict[str, Any]:
        grid: dict[str, Any] = {}
        if self.qf:
            grid["qf"] = [_band_dict(band, "band") for band in self.qf]
            grid["unknown_qf"] = self.unknown_qf
        if self.residence:
            grid["residence"] = True
        if self.ranks is not None:
            grid["ranks"] = self.ranks
            if self.rank_among is not RankAmong.SERVICE:
                grid["rank_among"] = self.rank_among.value
        if self.ages:
            grid["ages"] = [_band_dict(band, "group") for band in self.ages]
        if self.levels:
            grid["levels"] = [{"group": group.key, "classes": list(group.classes)} for group in self.levels]
            if self.unknown_level is not None:
                grid["unknown_level"] = self.unknown_level
        grid["cells"] = [{**dict(cell.facts), **_value_dict(cell.value)} for cell in self.cells]
        if self.default is not None:
            grid["default"] = _value_dict(self.default)
        return {"grid": grid}


def _check_bands(bands: tuple[GridBand, ...], path: str, unit: Callable[[Decimal], str]) -> None:
    keys = [band.key for band in bands]
    if len(set(keys)) != len(keys):
        raise _invalid("two bands have one name", path, "tariff.grid_category_twice")
    if bands[0].lower != 0:
        raise _invalid(
            f"the first band must start at 0, got {bands[0].lower}",
            path,
            "tariff.band_not_from_zero",
            "La première tranche doit commencer à 0.",
        )
    for band, following in itertools.pairwise(bands):
        if band.upper is None or following.lower < band.upper:
            raise _invalid(
                f"bands {band.key!r} and {following.key!r} overlap",
                path,
                "tariff.band_overlap",
                "Deux tranches se chevauchent.",
            )
        if following.lower > band.upper:
            raise _invalid(
                f"gap between {band.upper} and {following.lower}: nothing there would have a price",
                path,
                "tariff.band_gap",
                "Des valeurs n'ont aucune tranche (trou entre deux tranches).",
            )
    if bands[-1].upper is not None:
        raise _invalid(
            f"the last band must be open-ended: {unit(bands[-1].upper)} or more would have no price",
            path,
            "tariff.band_last_closed",
        )


def _level_maker(key: str, classes: list[str]) -> Callable[[], LevelGroup]:
    return lambda: LevelGroup(key, tuple(classes))


def _cell_text(cell: GridCell | None) -> str:
    if cell is None:  # pragma: no cover - the default never collides
        return "the default"
    return "{" + ", ".join(f"{dim} = {category!r}" for dim, category in cell.facts) + "}"


def _read_grid_band(path: str, data: object, kind: str) -> GridBand:
    node = _Node(data, path)
    name = "band" if kind == "qf" else "group"
    key = node.string(name, required=True)
    lower = node.amount("from") or Decimal(0)
    upper = node.amount("to")
    label = node.string("label") or ""
    node.done()
    assert key is not None
    return _build(path, lambda: GridBand(key, lower, upper, label))


def _band_dict(band: GridBand, name: str) -> dict[str, Any]:
    item: dict[str, Any] = {name: band.key}
    if band.lower:
        item["from"] = _amount_text(band.lower)
    if band.upper is not None:
        item["to"] = _amount_text(band.upper)
    if band.label:
        item["label"] = band.label
    return item


_VALUE_KEYS: Final = ("price", "effort", "reduction")


def _read_cell_value(node: _Node) -> CellValue:
    present = [key for key in _VALUE_KEYS if node.has(key)]
    if len(present) != 1:
        raise _invalid(
            "a cell needs exactly one of price, effort, reduction", node.path, "tariff.grid_cell_value"
        )
    if present[0] == "price":
        price = node.amount("price", required=True)
        assert price is not None
        return price
    if present[0] == "effort":
        effort = node.table("effort")
        assert effort is not None
        return _read_effort(effort)
    reduction = node.table("reduction")
    assert reduction is not None
    of_node = reduction.table("of")
    if of_node is None:
        raise _invalid(
            "a reduction names the cell it reduces (of = { … })", reduction.at("of"), "tariff.grid_reference"
        )
    of = [(key, of_node.get(key)) for key in list(of_node.data)]
    percent = reduction.amount("percent", required=True)
    reduction.done()
    assert percent is not None
    return _build(reduction.path, lambda: CellReduction(of, percent))


def _read_cell(path: str, data: object) -> GridCell:
    node = _Node(data, path)
    facts = [(key, node.get(key)) for key in DIMENSIONS if node.has(key)]
    value = _read_cell_value(node)
    node.done()
    return _build(path, lambda: GridCell(facts, value))


def _value_dict(value: CellValue) -> dict[str, Any]:
    if isinstance(value, Decimal):
        return {"price": _amount_text(value)}
    if isinstance(value, EffortRate):
        return value.settings()
    return {"reduction": {"of": dict(value.of), "percent": _amount_text(value.percent)}}
