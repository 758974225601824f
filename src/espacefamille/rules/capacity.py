"""Places per prestation and date: capacity as data, who holds a place, waiting lists and promotion.

A prestation may have a limited number of places (a holiday centre takes 40 children, a canteen
sitting 120). ``Capacity`` says how many, per date, optionally split into groups (age groups such
as *maternelle* and *élémentaire*, each with its own places). ``PlaceLedger`` records, for one
prestation, who holds a place on each date and who waits, in order, and answers each request with
a ``PlaceDecision`` a family understands: a place, or a waiting-list position. When a place frees,
the first child waiting for that date and group is promoted, and the ``Promotion`` is returned so
that a notification can be sent.

Everything here is immutable: every operation returns a new ledger. Nothing is ever above capacity:
when a commune lowers the places of a date below the children already holding one (an outing with
fewer staff), nobody is evicted, but nobody new gets a place until enough have left.

In the commune's TOML file, a prestation's capacity reads (see ``docs/capacity.md``)::

    [services.alsh.prestations.journee.capacity]
    places = 40                                        # every date; omit it for no limit
    overrides = [{ date = 2026-11-12, places = 24 }]   # fewer places on an outing day

or, split into groups (then the places are per group, none at the top)::

    [services.alsh.prestations.journee.capacity.groups.maternelle]
    places = 16
    classes = ["TPS", "PS", "MS", "GS"]
    [services.alsh.prestations.journee.capacity.groups.elementaire]
    places = 24
    classes = ["CP", "CE1", "CE2", "CM1", "CM2"]
    overrides = [{ date = 2026-11-12, places = 12 }]
"""

from __future__ import annotations

import bisect
import datetime as dt
import enum
from collections.abc import Iterable, Iterator, Mapping, Sequence
from collections.abc import Set as AbstractSet
from typing import Any, Final

import attrs

from espacefamille._internal.tables import Table
from espacefamille.calendar.timezones import aware_instant, require_aware
from espacefamille.errors import InvalidConfiguration, InvalidInput
from espacefamille.model import Child, SchoolClass
from espacefamille.text import format_date

__all__ = [
    "MAX_PLACES",
    "Capacity",
    "CapacityGroup",
    "Occupancy",
    "PlaceCount",
    "PlaceDecision",
    "PlaceLedger",
    "PlaceRequest",
    "PlaceStatus",
    "Places",
    "Promotion",
    "capacity_from_dict",
    "capacity_to_dict",
]

#: A group key, or None for a prestation whose places are not split into groups.
GroupKey = str | None


# -- capacity as data -------------------------------------------------------------------------


#: The most places a prestation (or a group, or a date) may have.
MAX_PLACES: Final = 1_000_000


def _check_places(value: object, what: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise InvalidInput(f"{what} must be a whole number, got {value!r}", code="capacity.bad_places")
    if value > MAX_PLACES:
        raise InvalidInput(
            f"{what} cannot be beyond {MAX_PLACES:,}, got {value}",
            message_fr="Ce nombre de places est invraisemblable.",
            code="capacity.bad_places",
        )
    if value < 0:
        raise InvalidInput(
            f"{what} cannot be negative, got {value}",
            message_fr=f"Un nombre de places ne peut pas être négatif ({value}).",
            code="capacity.negative_places",
        )
    return value


def _default_places(instance: object, attribute: attrs.Attribute[int | None], value: int | None) -> None:
    if value is not None:
        _check_places(value, "places")


def _overrides(
    items: Mapping[dt.date, int] | Iterable[tuple[dt.date, int]],
) -> tuple[tuple[dt.date, int], ...]:
    pairs = list(items.items()) if isinstance(items, Mapping) else [tuple(pair) for pair in items]
    seen: set[dt.date] = set()
    for day, places in pairs:
        if not isinstance(day, dt.date) or isinstance(day, dt.datetime):
            raise InvalidInput(f"an override needs a date, got {day!r}", code="input.not_a_date")
        if day in seen:
            raise InvalidInput(
                f"places are given twice for {day.isoformat()}",
                message_fr=f"Le nombre de places du {format_date(day)} est donné deux fois.",
                code="capacity.duplicate_date",
            )
        seen.add(day)
        _check_places(places, f"places on {day.isoformat()}")
    return tuple(sorted(pairs))


@attrs.frozen
class Places:
    """How many places there are on each date: a ``default`` (None: no limit) and per-date overrides.

    An override replaces the default on its date, e.g. fewer places on an outing day.
    """

    default: int | None = attrs.field(default=None, validator=_default_places)
    overrides: tuple[tuple[dt.date, int], ...] = attrs.field(converter=_overrides, default=())
    _by_date: Mapping[dt.date, int] = attrs.field(init=False, eq=False, hash=False, repr=False)

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "_by_date", dict(self.overrides))

    def on(self, day: dt.date) -> int | None:
        """The places on ``day``; None when there is no limit."""
        return self._by_date.get(day, self.default)

    @property
    def is_unlimited(self) -> bool:
        return self.default is None and not self.overrides


def _group_key(instance: object, attribute: attrs.Attribute[str], value: str) -> None:
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(
            f"a group key must be a non-empty string, got {value!r}", code="capacity.bad_group"
        )


def _classes(items: Iterable[str]) -> frozenset[str]:
    known = {c.value for c in SchoolClass}
    result = frozenset(items)
    unknown = sorted(result - known)
    if unknown:
        raise InvalidInput(
            f"unknown class(es) {', '.join(map(repr, unknown))} (known: {', '.join(sorted(known))})",
            code="capacity.unknown_class",
        )
    return result


def _age(instance: object, attribute: attrs.Attribute[int | None], value: int | None) -> None:
    if value is not None:
        _check_places(value, attribute.name)


@attrs.frozen
class CapacityGroup:
    """A share of a prestation's places kept for some children (an age group, a class level).

    ``key`` is the caller's string (``"maternelle"``). ``classes`` (school-class values such as
    ``"CP"``) and ``min_age``/``max_age`` (whole years on the date, both included) let
    ``Capacity.group_for`` place a child automatically; a group without them is assigned by the
    caller only.
    """

    key: str = attrs.field(validator=_group_key)
    places: Places = attrs.field(factory=Places, validator=attrs.validators.instance_of(Places))
    classes: frozenset[str] = attrs.field(converter=_classes, factory=frozenset)
    min_age: int | None = attrs.field(default=None, validator=_age)
    max_age: int | None = attrs.field(default=None, validator=_age)

    def __attrs_post_init__(self) -> None:
        if self.min_age is not None and self.max_age is not None and self.max_age < self.min_age:
            raise InvalidInput(
                f"group {self.key!r}: max_age {self.max_age} is below min_age {self.min_age}",
                code="capacity.age_range",
            )

    @property
    def has_criteria(self) -> bool:
        return bool(self.classes) or self.min_age is not None or self.max_age is not None

    def admits(self, child: Child, day: dt.date) -> bool:
        """Whether ``child`` belongs to this group on ``day`` by its class and age."""
        if not self.has_criteria:
            return False
        if self.classes and (child.school_class is None or child.school_class.value not in self.classes):
            return False
        age = child.age_on(day)
        if self.min_age is not None and age < self.min_age:
            return False
        return self.max_age is None or age <= self.max_age


def _groups(items: Iterable[CapacityGroup]) -> tuple[CapacityGroup, ...]:
    return tuple(items)


@attrs.frozen
class Capacity:
    """A prestation's places: either ``places`` for everyone, or one ``Places`` per group.

    ``Capacity()`` has no limit. With groups, each group has its own places and the top-level
    ``places`` must stay unset: a shared total over groups is not modelled.
    """

    places: Places = attrs.field(factory=Places, validator=attrs.validators.instance_of(Places))
    groups: tuple[CapacityGroup, ...] = attrs.field(converter=_groups, default=())
    _by_key: Mapping[str, CapacityGroup] = attrs.field(init=False, eq=False, hash=False, repr=False)

    def __attrs_post_init__(self) -> None:
        by_key: dict[str, CapacityGroup] = {}
        for group in self.groups:
            if not isinstance(group, CapacityGroup):
                raise InvalidInput(f"expected a CapacityGroup, got {group!r}", code="capacity.bad_group")
            if group.key in by_key:
                raise InvalidInput(f"group {group.key!r} is given twice", code="capacity.duplicate_group")
            by_key[group.key] = group
        if by_key and not self.places.is_unlimited:
            raise InvalidInput(
                "give places either for the whole prestation or per group, not both",
                code="capacity.mixed_groups",
            )
        object.__setattr__(self, "_by_key", by_key)

    @property
    def grouped(self) -> bool:
        return bool(self.groups)

    @property
    def group_keys(self) -> tuple[GroupKey, ...]:
        """The keys a place is held under: the groups' keys, or ``(None,)`` without groups."""
        return tuple(g.key for g in self.groups) if self.groups else (None,)

    def check_group(self, group: GroupKey) -> None:
        """Raise ``InvalidInput`` unless ``group`` names one of the groups (None without groups)."""
        if self.groups:
            if group is None or group not in self._by_key:
                raise InvalidInput(
                    f"unknown group {group!r} (known: {', '.join(self._by_key)})",
                    message_fr=f"Groupe inconnu : « {group} ».",
                    code="capacity.unknown_group",
                )
        elif group is not None:
            raise InvalidInput(
                f"this prestation has no groups, got group {group!r}",
                message_fr=f"Cette prestation n'a pas de groupe (« {group} »).",
                code="capacity.unknown_group",
            )

    def places_on(self, day: dt.date, group: GroupKey = None) -> int | None:
        """The places of ``group`` (None without groups) on ``day``; None when there is no limit."""
        self.check_group(group)
        return self._places(day, group)

    def _places(self, day: dt.date, group: GroupKey) -> int | None:
        places = self.places if group is None else self._by_key[group].places
        return places.on(day)

    def group_for(self, child: Child, day: dt.date) -> str | None:
        """The first group whose classes and ages admit ``child`` on ``day``; None if none does."""
        for group in self.groups:
            if group.admits(child, day):
                return group.key
        return None


# -- reading and writing the TOML table -------------------------------------------------------


_CAPACITY_KEYS = ("places", "overrides", "groups")
_GROUP_KEYS = ("places", "overrides", "classes", "min_age", "max_age")
_OVERRIDE_KEYS = ("date", "places")
_NEGATIVE = "capacity.negative_places"


def _read_places(table: Table) -> Places:
    default = table.count("places", None, code=_NEGATIVE)
    pairs: list[tuple[dt.date, int]] = []
    seen: set[dt.date] = set()
    for entry in table.array("overrides", keys=_OVERRIDE_KEYS):
        day = entry.date("date")
        if day in seen:
            raise InvalidConfiguration(
                f"places are given twice for {day.isoformat()}",
                path=entry.at("date"),
                code="capacity.duplicate_date",
            )
        seen.add(day)
        pairs.append((day, entry.count("places", code=_NEGATIVE)))
    return Places(default, pairs)


def _read_group(table: Table, key: str) -> CapacityGroup:
    places = _read_places(table)
    classes = table.strings("classes", 'a list of classes such as ["CP", "CE1"]')
    min_age = table.count("min_age", None, code=_NEGATIVE)
    max_age = table.count("max_age", None, code=_NEGATIVE)
    table.build("classes", _classes, classes)
    return table.build("", CapacityGroup, key, places, classes, min_age, max_age)


def capacity_from_dict(data: Mapping[str, Any], path: str = "capacity") -> Capacity:
    """A ``Capacity`` from its parsed TOML table; errors name the key path under ``path``."""
    table = Table(data, path, keys=_CAPACITY_KEYS)
    places = _read_places(table)
    groups = [_read_group(sub, key) for key, sub in table.tables("groups", keys=_GROUP_KEYS)]
    if table.has("groups") and not groups:
        raise InvalidConfiguration(
            "a groups table needs at least one group", path=table.at("groups"), code="config.missing_key"
        )
    return table.build("", Capacity, places, groups)


def _places_dict(places: Places) -> dict[str, Any]:
    result: dict[str, Any] = {}
    if places.default is not None:
        result["places"] = places.default
    if places.overrides:
        result["overrides"] = [{"date": day, "places": n} for day, n in places.overrides]
    return result


def capacity_to_dict(capacity: Capacity) -> dict[str, Any]:
    """The TOML table of ``capacity``; ``capacity_from_dict`` reads it back to an equal value."""
    order = [c.value for c in SchoolClass]
    result = _places_dict(capacity.places)
    if capacity.groups:
        groups: dict[str, Any] = {}
        for group in capacity.groups:
            entry = _places_dict(group.places)
            if group.classes:
                entry["classes"] = sorted(group.classes, key=order.index)
            if group.min_age is not None:
                entry["min_age"] = group.min_age
            if group.max_age is not None:
                entry["max_age"] = group.max_age
            groups[group.key] = entry
        result["groups"] = groups
    return result


# -- decisions --------------------------------------------------------------------------------


class PlaceStatus(enum.Enum):
    """The answer to a request for a place."""

    GRANTED = "granted"
    WAITING_LIST = "waiting_list"


@attrs.frozen
class PlaceDecision:
    """A child's place on a date: granted, or on the waiting list at ``position`` (1 is next).

    ``places`` is the capacity that applied (None: no limit), so the answer carries its reason.
    """

    child_id: str
    day: dt.date
    group: GroupKey
    status: PlaceStatus
    position: int | None = None
    places: int | None = None

    @property
    def granted(self) -> bool:
        return self.status is PlaceStatus.GRANTED

    @property
    def code(self) -> str:
        return f"capacity.{self.status.value}"

    @property
    def message_fr(self) -> str:
        if self.granted:
            return f"Place réservée le {format_date(self.day)}."
        return (
            f"Plus de place le {format_date(self.day)} : "
            f"votre demande est en liste d'attente (position {self.position})."
        )

    @property
    def message(self) -> str:
        if self.granted:
            return f"Place granted on {format_date(self.day, 'en')}."
        return (
            f"No place left on {format_date(self.day, 'en')}: "
            f"the request is on the waiting list (position {self.position})."
        )


@attrs.frozen
class Promotion:
    """A waiting child who got a place because another one left: send the family a notification."""

    child_id: str
    day: dt.date
    group: GroupKey

    code = "capacity.promoted"

    @property
    def message_fr(self) -> str:
        return (
            f"Une place s'est libérée le {format_date(self.day)} : "
            "votre demande en liste d'attente est acceptée."
        )

    @property
    def message(self) -> str:
        return f"A place became free on {format_date(self.day, 'en')}: the waiting request is granted."


def _check_child_and_day(child_id: object, day: object) -> None:
    if not isinstance(child_id, str) or not child_id:
        raise InvalidInput(
            f"a child id must be a non-empty string, got {child_id!r}", code="capacity.bad_child"
        )
    if not isinstance(day, dt.date) or isinstance(day, dt.datetime):
        raise InvalidInput(f"expected a date, got {day!r}", code="input.not_a_date")


def _child_id(instance: object, attribute: attrs.Attribute[str], value: str) -> None:
    _check_child_and_day(value, dt.date.min)


def _day(instance: object, attribute: attrs.Attribute[dt.date], value: dt.date) -> None:
    _check_child_and_day("-", value)


@attrs.frozen
class PlaceRequest:
    """A request for a place: a child, a date, its group (None without groups), and when it was made."""

    child_id: str = attrs.field(validator=_child_id)
    day: dt.date = attrs.field(validator=_day)
    group: GroupKey
    at: dt.datetime = attrs.field(validator=aware_instant)


@attrs.frozen
class Occupancy:
    """Who holds a place, and who waits in order, for one date and group."""

    day: dt.date
    group: GroupKey
    places: int | None
    holders: frozenset[str]
    waiting: tuple[str, ...]


@attrs.frozen
class PlaceCount:
    """The places of one date and group as a store counts them: holders, waiting, the last one's instant.

    ``holding`` children hold a place, ``waiting`` wait, the last of them asked at ``last_waiting``; none
    is named (see ``PlaceLedger.counted``).
    """

    day: dt.date = attrs.field(validator=_day)
    holding: int = attrs.field(validator=attrs.validators.ge(0))
    waiting: int = attrs.field(validator=attrs.validators.ge(0))
    last_waiting: dt.datetime | None = None
    group: GroupKey = None

    def __attrs_post_init__(self) -> None:
        if (self.last_waiting is None) != (self.waiting == 0):
            raise InvalidInput(
                "a waiting list has a last instant exactly when someone waits", code="capacity.bad_count"
            )
        if self.last_waiting is not None:
            require_aware(self.last_waiting, "the last waiting instant")


# -- the ledger -------------------------------------------------------------------------------

_SlotKey = tuple[dt.date, GroupKey]
# A waiting entry sorts by request instant, then by child id (a stable tie-break).
_Waiting = tuple[dt.datetime, str]


@attrs.frozen
class _Slot:
    holders: frozenset[str]
    waiting: tuple[_Waiting, ...]


@attrs.frozen
class _Unlisted:
    """The children of a slot a counted ledger does not name: how many hold a place, how many wait (all
    ahead of the listed ones) and the last one's instant."""

    holding: int
    waiting: int
    last: dt.datetime | None


_NO_ONE: Final = _Unlisted(0, 0, None)


def _needs_the_list(key: _SlotKey) -> InvalidInput:
    return InvalidInput(
        f"the waiting list of {key[0].isoformat()} was counted, not read: the child to promote is not known",
        code="capacity.counted_ledger",
    )


class _Work:
    """Mutable copies of the slots one operation touches; frozen back into a new ledger at the end."""

    def __init__(self, ledger: PlaceLedger) -> None:
        self.ledger = ledger
        self.slots: dict[_SlotKey, tuple[set[str], list[_Waiting]]] = {}

    def taken(self, key: _SlotKey, holders: AbstractSet[str]) -> int:
        """The places taken in a slot: its holders, listed or counted."""
        return len(holders) + self.ledger._unlisted.get(key, _NO_ONE).holding

    def slot(self, key: _SlotKey) -> tuple[set[str], list[_Waiting]]:
        found = self.slots.get(key)
        if found is None:
            frozen = self.ledger._slots.get(key)
            found = (set(frozen.holders), list(frozen.waiting)) if frozen else (set(), [])
            self.slots[key] = found
        return found

    def find(self, child_id: str, day: dt.date) -> tuple[GroupKey, int | None] | None:
        """Where ``child_id`` is on ``day``: its group, and its waiting index (None: holds a place)."""
        for group in self.ledger.capacity.group_keys:
            key = (day, group)
            holders: AbstractSet[str]
            waiting: Sequence[_Waiting]
            if key in self.slots:
                holders, waiting = self.slots[key]
            else:
                frozen = self.ledger._slots.get(key)
                if frozen is None:
                    continue
                holders, waiting = frozen.holders, frozen.waiting
            if child_id in holders:
                return group, None
            for index, (_, waiter) in enumerate(waiting):
                if waiter == child_id:
                    return group, self.ledger._unlisted.get(key, _NO_ONE).waiting + index
        return None

    def promote(self, key: _SlotKey, promotions: list[Promotion]) -> None:
        holders, waiting = self.slot(key)
        places = self.ledger.capacity._places(key[0], key[1])
        unlisted = self.ledger._unlisted.get(key, _NO_ONE)
        while (unlisted.waiting or waiting) and (places is None or self.taken(key, holders) < places):
            if unlisted.waiting:
                raise _needs_the_list(key)
            _, child_id = waiting.pop(0)
            holders.add(child_id)
            promotions.append(Promotion(child_id, key[0], key[1]))

    def freeze(self) -> PlaceLedger:
        slots = dict(self.ledger._slots)
        for key, (holders, waiting) in self.slots.items():
            if holders or waiting:
                slots[key] = _Slot(frozenset(holders), tuple(waiting))
            else:
                # Empty slots are dropped so that equal occupancies give equal ledgers.
                slots.pop(key, None)
        return PlaceLedger(self.ledger.capacity, _slots=slots, _unlisted=self.ledger._unlisted)


@attrs.frozen
class PlaceLedger:
    """Who holds a place and who waits, per date and group, for one prestation.

    Waiting lists are first come, first served by request instant (ties by child id). Requesting
    what is already held or awaited changes nothing; releasing what is not held changes nothing.

    A ledger made by ``counted`` names only some children and counts the others (see there).
    """

    capacity: Capacity = attrs.field(validator=attrs.validators.instance_of(Capacity))
    _slots: Mapping[_SlotKey, _Slot] = attrs.field(factory=dict, alias="_slots", hash=False, repr=False)
    _unlisted: Mapping[_SlotKey, _Unlisted] = attrs.field(
        factory=dict, alias="_unlisted", hash=False, repr=False
    )

    # -- changes ------------------------------------------------------------------------------

    def request(
        self, child_id: str, day: dt.date, group: GroupKey, at: dt.datetime
    ) -> tuple[PlaceLedger, PlaceDecision]:
        """Ask a place for ``child_id`` on ``day``: granted if one is free, else a waiting-list position."""
        ledger, decisions = self.request_many([PlaceRequest(child_id, day, group, at)])
        return ledger, decisions[0]

    def request_many(self, requests: Iterable[PlaceRequest]) -> tuple[PlaceLedger, tuple[PlaceDecision, ...]]:
        """Several requests at once (a whole basket), as if made one after the other in this order.

        One decision per request, in order. Only the slots touched are copied, so a school year
        of requests costs about the same per line as a single one.
        """
        work = _Work(self)
        capacity = self.capacity
        decisions: list[PlaceDecision] = []
        for req in requests:
            if not isinstance(req, PlaceRequest):
                raise InvalidInput(f"expected a PlaceRequest, got {req!r}", code="capacity.bad_request")
            capacity.check_group(req.group)
            places = capacity._places(req.day, req.group)
            found = work.find(req.child_id, req.day)
            if found is not None:
                group, index = found
                if group != req.group:
                    raise InvalidInput(
                        f"{req.child_id!r} already has a request on {req.day.isoformat()} "
                        f"in group {group!r}, not {req.group!r}",
                        code="capacity.group_conflict",
                    )
                if index is None:
                    decisions.append(
                        PlaceDecision(req.child_id, req.day, group, PlaceStatus.GRANTED, None, places)
                    )
                else:
                    decisions.append(
                        PlaceDecision(
                            req.child_id, req.day, group, PlaceStatus.WAITING_LIST, index + 1, places
                        )
                    )
                continue
            key = (req.day, req.group)
            holders, waiting = work.slot(key)
            # Nobody waits while a place is free (promotion fills it first), so a free place is the
            # new child's.
            if places is None or work.taken(key, holders) < places:
                holders.add(req.child_id)
                decisions.append(
                    PlaceDecision(req.child_id, req.day, req.group, PlaceStatus.GRANTED, None, places)
                )
            else:
                entry = (req.at, req.child_id)
                unlisted = self._unlisted.get(key, _NO_ONE)
                if unlisted.last is not None and req.at <= unlisted.last:
                    raise InvalidInput(
                        f"{req.child_id!r} would wait on {req.day.isoformat()} ahead of children counted, "
                        "not listed: ask at joining_instant",
                        code="capacity.counted_ledger",
                    )
                index = bisect.bisect(waiting, entry)
                waiting.insert(index, entry)
                position = unlisted.waiting + index + 1
                decisions.append(
                    PlaceDecision(
                        req.child_id, req.day, req.group, PlaceStatus.WAITING_LIST, position, places
                    )
                )
        return work.freeze(), tuple(decisions)

    def release(self, child_id: str, day: dt.date) -> tuple[PlaceLedger, tuple[Promotion, ...]]:
        """Free ``child_id``'s place on ``day`` (or take it off the waiting list).

        The first children waiting for that date and group get the freed place; they are returned
        so that their families can be told.
        """
        return self.release_many([(child_id, day)])

    def release_many(
        self, releases: Iterable[tuple[str, dt.date]]
    ) -> tuple[PlaceLedger, tuple[Promotion, ...]]:
        """Several releases at once, as if made one after the other; the promotions in order."""
        work = _Work(self)
        promotions: list[Promotion] = []
        for child_id, day in releases:
            if not isinstance(day, dt.date) or isinstance(day, dt.datetime):
                raise InvalidInput(f"expected a date, got {day!r}", code="input.not_a_date")
            found = work.find(child_id, day)
            if found is None:
                continue
            group, index = found
            holders, waiting = work.slot((day, group))
            if index is None:
                holders.discard(child_id)
                work.promote((day, group), promotions)
            else:
                del waiting[index - self._unlisted.get((day, group), _NO_ONE).waiting]
        return work.freeze(), tuple(promotions)

    def with_capacity(self, capacity: Capacity) -> tuple[PlaceLedger, tuple[Promotion, ...]]:
        """The same holders and waiting lists under a new capacity.

        More places promote waiting children (returned); fewer places evict nobody, but nobody new
        gets a place on those dates until enough have left.
        """
        if not isinstance(capacity, Capacity):
            raise InvalidInput(f"expected a Capacity, got {capacity!r}", code="capacity.bad_capacity")
        self._require_listed()
        for day, group in self._slots:
            if group not in capacity.group_keys:
                raise InvalidInput(
                    f"group {group!r} still has children on {day.isoformat()} but is not in the new capacity",
                    code="capacity.group_removed",
                )
        return PlaceLedger(capacity)._promote_all(self._slots)

    # -- storage ------------------------------------------------------------------------------

    @classmethod
    def restore(
        cls,
        capacity: Capacity,
        held: Iterable[tuple[str, dt.date, GroupKey]],
        waiting: Iterable[tuple[str, dt.date, GroupKey, dt.datetime]],
    ) -> tuple[PlaceLedger, tuple[Promotion, ...]]:
        """A ledger rebuilt from stored places and waiting requests (what ``entries`` gave).

        Holders are kept even above the places (nobody is evicted); if places were added since,
        the children waiting are promoted and returned, as ``with_capacity`` does.
        """
        slots: dict[_SlotKey, tuple[set[str], list[_Waiting]]] = {}
        seen: set[tuple[str, dt.date]] = set()

        def slot(child_id: str, day: dt.date, group: GroupKey) -> tuple[set[str], list[_Waiting]]:
            _check_child_and_day(child_id, day)
            capacity.check_group(group)
            if (child_id, day) in seen:
                raise InvalidInput(
                    f"{child_id!r} appears twice on {day.isoformat()}", code="capacity.duplicate_entry"
                )
            seen.add((child_id, day))
            return slots.setdefault((day, group), (set(), []))

        for child_id, day, group in held:
            slot(child_id, day, group)[0].add(child_id)
        for child_id, day, group, at in waiting:
            require_aware(at, "the request instant")
            slot(child_id, day, group)[1].append((at, child_id))
        frozen = {
            key: _Slot(frozenset(holders), tuple(sorted(queue))) for key, (holders, queue) in slots.items()
        }
        return PlaceLedger(capacity)._promote_all(frozen)

    @classmethod
    def counted(
        cls,
        capacity: Capacity,
        counts: Iterable[PlaceCount],
        held: Iterable[tuple[str, dt.date, GroupKey]] = (),
    ) -> PlaceLedger:
        """A ledger from the places a store counted (``PlaceCount``), naming only the children ``held``
        (a household's, who hold a place and are among the counted holders).

        It answers a booking as the full ledger would (a free place, or the position after everyone
        waiting, asked at ``joining_instant``), without reading a list that grows with the rush. What
        needs the children counted refuses with ``capacity.counted_ledger``: a place freed while someone
        counted waits (who is promoted?), new places, ``entries``. Give it no count of a date whose waiting
        children places were added for since (``restore`` promotes them).
        """
        if not isinstance(capacity, Capacity):
            raise InvalidInput(f"expected a Capacity, got {capacity!r}", code="capacity.bad_capacity")
        listed: dict[_SlotKey, set[str]] = {}
        for child_id, day, group in held:
            _check_child_and_day(child_id, day)
            capacity.check_group(group)
            listed.setdefault((day, group), set()).add(child_id)
        unlisted: dict[_SlotKey, _Unlisted] = {}
        for count in counts:
            if not isinstance(count, PlaceCount):
                raise InvalidInput(f"expected a PlaceCount, got {count!r}", code="capacity.bad_count")
            capacity.check_group(count.group)
            key = (count.day, count.group)
            holding = count.holding - len(listed.get(key, ()))
            if key in unlisted or holding < 0:
                raise InvalidInput(
                    f"the count of {count.day.isoformat()} is given twice or holds fewer than those named",
                    code="capacity.bad_count",
                )
            unlisted[key] = _Unlisted(holding, count.waiting, count.last_waiting)
        slots = {key: _Slot(frozenset(children), ()) for key, children in listed.items()}
        return cls(capacity, _slots=slots, _unlisted=unlisted)

    def _require_listed(self) -> None:
        if self._unlisted:
            raise _needs_the_list(min(self._unlisted, key=lambda k: (k[0], k[1] or "")))

    def _promote_all(self, slots: Mapping[_SlotKey, _Slot]) -> tuple[PlaceLedger, tuple[Promotion, ...]]:
        work = _Work(PlaceLedger(self.capacity, _slots=slots))
        promotions: list[Promotion] = []
        for key in sorted(slots, key=lambda k: (k[0], k[1] or "")):
            if slots[key].waiting:
                work.promote(key, promotions)
        return work.freeze(), tuple(promotions)

    def entries(
        self,
    ) -> tuple[
        tuple[tuple[str, dt.date, GroupKey], ...], tuple[tuple[str, dt.date, GroupKey, dt.datetime], ...]
    ]:
        """What a store keeps: the places held, and the waiting requests with their instants."""
        self._require_listed()
        held: list[tuple[str, dt.date, GroupKey]] = []
        waiting: list[tuple[str, dt.date, GroupKey, dt.datetime]] = []
        for day, group in sorted(self._slots, key=lambda k: (k[0], k[1] or "")):
            slot = self._slots[(day, group)]
            held.extend((child_id, day, group) for child_id in sorted(slot.holders))
            waiting.extend((child_id, day, group, at) for at, child_id in slot.waiting)
        return tuple(held), tuple(waiting)

    # -- questions ----------------------------------------------------------------------------

    def holders(self, day: dt.date, group: GroupKey = None) -> frozenset[str]:
        """The children holding a place on ``day`` in ``group`` (a counted ledger: those it names)."""
        self.capacity.check_group(group)
        slot = self._slots.get((day, group))
        return slot.holders if slot else frozenset()

    def waiting_list(self, day: dt.date, group: GroupKey = None) -> tuple[str, ...]:
        """The children waiting on ``day`` in ``group``, the next to be promoted first (a counted ledger:
        those it names, after the others)."""
        self.capacity.check_group(group)
        slot = self._slots.get((day, group))
        return tuple(child for _, child in slot.waiting) if slot else ()

    def joining_instant(self, day: dt.date, group: GroupKey, at: dt.datetime) -> dt.datetime:
        """The instant a family asking at ``at`` joins the waiting list of ``day`` with: ``at``, or a
        microsecond after the last child waiting when that one is not earlier.

        A family judged after another (the baskets of a rush queue for the places) thus comes after it,
        even if its clock read the same instant or an earlier one: the position it is told is the last,
        and only moves up as those ahead leave or get a place.
        """
        self.capacity.check_group(group)
        slot = self._slots.get((day, group))
        instants = [self._unlisted.get((day, group), _NO_ONE).last]
        if slot is not None and slot.waiting:
            instants.append(slot.waiting[-1][0])
        last = max((instant for instant in instants if instant is not None), default=None)
        if last is None or at > last:
            return at
        # In the asking family's zone, as ``at`` is.
        return (last + dt.timedelta(microseconds=1)).astimezone(at.tzinfo)

    def free(self, day: dt.date, group: GroupKey = None) -> int | None:
        """Places still free on ``day`` in ``group`` (0 when full or over); None when unlimited."""
        places = self.capacity.places_on(day, group)
        if places is None:
            return None
        return max(0, places - _Work(self).taken((day, group), self.holders(day, group)))

    def status(self, child_id: str, day: dt.date) -> PlaceDecision | None:
        """The child's current answer for ``day``: a place, a waiting position, or None."""
        found = _Work(self).find(child_id, day)
        if found is None:
            return None
        group, index = found
        places = self.capacity._places(day, group)
        if index is None:
            return PlaceDecision(child_id, day, group, PlaceStatus.GRANTED, None, places)
        return PlaceDecision(child_id, day, group, PlaceStatus.WAITING_LIST, index + 1, places)

    def occupancy(self) -> Iterator[Occupancy]:
        """Every date and group with someone holding or waiting, in date then group order."""
        self._require_listed()
        for day, group in sorted(self._slots, key=lambda k: (k[0], k[1] or "")):
            slot = self._slots[(day, group)]
            yield Occupancy(
                day,
                group,
                self.capacity._places(day, group),
                slot.holders,
                tuple(child for _, child in slot.waiting),
            )
