"""Capacity, places and waiting lists as a holiday centre and its families live them."""

from __future__ import annotations

import datetime as dt
import tomllib
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from espacefamille.errors import InvalidConfiguration, InvalidInput
from espacefamille.model import Child, SchoolClass
from espacefamille.rules.capacity import (
    Capacity,
    CapacityGroup,
    Occupancy,
    PlaceDecision,
    PlaceLedger,
    PlaceRequest,
    Places,
    PlaceStatus,
    Promotion,
    capacity_from_dict,
    capacity_to_dict,
)

PARIS = ZoneInfo("Europe/Paris")
OUTING = dt.date(2026, 11, 12)  # Thursday: an outing, fewer staff, fewer places
MONDAY = dt.date(2026, 11, 16)
PATH = "services.alsh.prestations.journee.capacity"


def at(day: int, hour: int, minute: int = 0) -> dt.datetime:
    """An instant in November 2026, Paris time."""
    return dt.datetime(2026, 11, day, hour, minute, tzinfo=PARIS)


def child(child_id: str, school_class: SchoolClass | None, birth: dt.date) -> Child:
    return Child(child_id, child_id.capitalize(), "Martin", birth, ("f1",), school_class=school_class)


# -- capacity as data -------------------------------------------------------------------------


def test_an_outing_day_has_fewer_places_than_the_other_days() -> None:
    capacity = Capacity(Places(3, {OUTING: 1}))
    assert capacity.places_on(OUTING) == 1
    assert capacity.places_on(MONDAY) == 3


def test_a_prestation_without_capacity_has_no_limit() -> None:
    assert Capacity().places_on(OUTING) is None
    assert Capacity(Places(None, {OUTING: 5})).places_on(MONDAY) is None


def test_each_age_group_has_its_own_places() -> None:
    capacity = Capacity(
        groups=[CapacityGroup("maternelle", Places(8)), CapacityGroup("elementaire", Places(12, {OUTING: 6}))]
    )
    assert capacity.group_keys == ("maternelle", "elementaire")
    assert capacity.places_on(OUTING, "maternelle") == 8
    assert capacity.places_on(OUTING, "elementaire") == 6
    assert capacity.places_on(MONDAY, "elementaire") == 12


def test_a_group_must_be_named_when_places_are_split_and_not_otherwise() -> None:
    grouped = Capacity(groups=[CapacityGroup("maternelle", Places(8))])
    with pytest.raises(InvalidInput) as error:
        grouped.places_on(OUTING, "ados")
    assert error.value.code == "capacity.unknown_group"
    assert "ados" in error.value.message_fr
    with pytest.raises(InvalidInput):
        grouped.places_on(OUTING)
    with pytest.raises(InvalidInput) as error:
        Capacity(Places(10)).places_on(OUTING, "maternelle")
    assert error.value.code == "capacity.unknown_group"


@pytest.mark.parametrize(
    ("make", "code"),
    [
        (lambda: Places(-1), "capacity.negative_places"),
        (lambda: Places(4, {OUTING: -2}), "capacity.negative_places"),
        (lambda: Places(4, [(OUTING, 2), (OUTING, 3)]), "capacity.duplicate_date"),
        (lambda: Places(4, [(dt.datetime(2026, 11, 12, 8), 2)]), "input.not_a_date"),
        (lambda: Places(True), "capacity.bad_places"),
        (lambda: CapacityGroup(""), "capacity.bad_group"),
        (lambda: CapacityGroup("m", classes=["CE 1"]), "capacity.unknown_class"),
        (lambda: CapacityGroup("m", min_age=11, max_age=6), "capacity.age_range"),
        (lambda: Capacity(Places(10), [CapacityGroup("m", Places(4))]), "capacity.mixed_groups"),
        (lambda: Capacity(groups=[CapacityGroup("m"), CapacityGroup("m")]), "capacity.duplicate_group"),
        (lambda: Capacity(groups=["maternelle"]), "capacity.bad_group"),  # type: ignore[list-item]
    ],
)
def test_an_impossible_capacity_cannot_be_built(make: Any, code: str) -> None:
    with pytest.raises(InvalidInput) as error:
        make()
    assert error.value.code == code


def test_a_child_is_placed_in_its_age_group_by_class_then_age() -> None:
    capacity = Capacity(
        groups=[
            CapacityGroup("maternelle", Places(8), classes=["TPS", "PS", "MS", "GS"]),
            CapacityGroup("elementaire", Places(12), classes=["CP", "CE1", "CE2", "CM1", "CM2"]),
            CapacityGroup("ados", Places(10), min_age=11, max_age=14),
            CapacityGroup("passerelle", Places(2)),  # assigned by an agent only
        ]
    )
    assert capacity.group_for(child("jade", SchoolClass.MS, dt.date(2022, 3, 1)), OUTING) == "maternelle"
    assert capacity.group_for(child("tom", SchoolClass.CE2, dt.date(2018, 5, 2)), OUTING) == "elementaire"
    # Eleven on 12 November 2026, but only from her birthday on.
    teen = child("lea", SchoolClass.COLLEGE, dt.date(2015, 11, 12))
    assert capacity.group_for(teen, OUTING) == "ados"
    assert capacity.group_for(teen, OUTING - dt.timedelta(days=1)) is None
    assert capacity.group_for(child("max", None, dt.date(2010, 1, 1)), OUTING) is None


# -- reading the commune's TOML file -----------------------------------------------------------

GROUPED_TOML = """
[services.alsh.prestations.journee.capacity.groups.maternelle]
places = 16
classes = ["TPS", "PS", "MS", "GS"]

[services.alsh.prestations.journee.capacity.groups.elementaire]
places = 24
classes = ["CP", "CE1", "CE2", "CM1", "CM2"]
overrides = [{ date = 2026-11-12, places = 12 }]
"""


def _capacity_table(text: str) -> dict[str, Any]:
    table: dict[str, Any] = tomllib.loads(text)["services"]["alsh"]["prestations"]["journee"]["capacity"]
    return table


def test_a_commune_writes_its_places_in_its_toml_file() -> None:
    table = _capacity_table(
        """
        [services.alsh.prestations.journee.capacity]
        places = 40
        overrides = [{ date = 2026-11-12, places = 24 }]
        """
    )
    assert capacity_from_dict(table, PATH) == Capacity(Places(40, {OUTING: 24}))


def test_age_groups_are_read_in_the_order_the_commune_wrote_them() -> None:
    capacity = capacity_from_dict(_capacity_table(GROUPED_TOML), PATH)
    assert capacity == Capacity(
        groups=[
            CapacityGroup("maternelle", Places(16), classes=["TPS", "PS", "MS", "GS"]),
            CapacityGroup(
                "elementaire", Places(24, {OUTING: 12}), classes=["CP", "CE1", "CE2", "CM1", "CM2"]
            ),
        ]
    )
    assert capacity_from_dict(capacity_to_dict(capacity), PATH) == capacity


def test_a_written_capacity_reads_back_equal() -> None:
    capacity = Capacity(
        groups=[
            CapacityGroup("petits", Places(None, {MONDAY: 0}), min_age=3, max_age=5),
            CapacityGroup("grands", Places(10), classes=["CM2", "CP"], min_age=6),
        ]
    )
    written = capacity_to_dict(capacity)
    assert written["groups"]["grands"]["classes"] == ["CP", "CM2"]  # school order, not the given one
    assert capacity_from_dict(written, PATH) == capacity
    assert capacity_to_dict(Capacity()) == {}
    assert capacity_from_dict({}, PATH) == Capacity()


@pytest.mark.parametrize(
    ("table", "path", "code"),
    [
        ({"places": -3}, f"{PATH}.places", "capacity.negative_places"),
        (
            {"places": 4, "overrides": [{"date": OUTING, "places": -1}]},
            f"{PATH}.overrides[0].places",
            "capacity.negative_places",
        ),
        (
            {"groups": {"maternelle": {"places": -8}}},
            f"{PATH}.groups.maternelle.places",
            "capacity.negative_places",
        ),
        ({"places": 4, "place": 5}, f"{PATH}.place", "config.unknown_key"),
        (
            {"groups": {"maternelle": {"places": 8, "classe": ["PS"]}}},
            f"{PATH}.groups.maternelle.classe",
            "config.unknown_key",
        ),
        (
            {"overrides": [{"date": OUTING, "places": 2, "why": "sortie"}]},
            f"{PATH}.overrides[0].why",
            "config.unknown_key",
        ),
        ({"places": 4.0}, f"{PATH}.places", "config.type"),
        ({"places": True}, f"{PATH}.places", "config.type"),
        ({"overrides": {"date": OUTING}}, f"{PATH}.overrides", "config.type"),
        ({"overrides": [{"places": 2}]}, f"{PATH}.overrides[0].date", "config.missing_key"),
        ({"overrides": [{"date": OUTING}]}, f"{PATH}.overrides[0].places", "config.missing_key"),
        ({"overrides": [{"date": "2026-11-12", "places": 2}]}, f"{PATH}.overrides[0].date", "config.type"),
        ({"overrides": [3]}, f"{PATH}.overrides[0]", "config.type"),
        (
            {"overrides": [{"date": OUTING, "places": 2}, {"date": OUTING, "places": 3}]},
            f"{PATH}.overrides[1].date",
            "capacity.duplicate_date",
        ),
        ({"groups": {"m": {"classes": ["CE 1"]}}}, f"{PATH}.groups.m.classes", "capacity.unknown_class"),
        ({"groups": {"m": {"classes": "CP"}}}, f"{PATH}.groups.m.classes", "config.type"),
        ({"groups": {"m": {"min_age": 12, "max_age": 6}}}, f"{PATH}.groups.m", "capacity.age_range"),
        ({"groups": {"m": 8}}, f"{PATH}.groups.m", "config.type"),
        ({"groups": ["m"]}, f"{PATH}.groups", "config.type"),
        ({"groups": {}}, f"{PATH}.groups", "config.missing_key"),
        ({"places": 40, "groups": {"m": {"places": 8}}}, PATH, "capacity.mixed_groups"),
    ],
)
def test_a_wrong_capacity_table_names_its_key_path(
    table: dict[str, Any], path: str, code: str | None
) -> None:
    with pytest.raises(InvalidConfiguration) as error:
        capacity_from_dict(table, PATH)
    assert error.value.path == path
    assert error.value.code == code


def test_a_capacity_that_is_not_a_table_is_refused() -> None:
    with pytest.raises(InvalidConfiguration) as error:
        capacity_from_dict(40, PATH)  # type: ignore[arg-type]
    assert (error.value.path, error.value.code) == (PATH, "config.type")


# -- places and waiting lists -----------------------------------------------------------------


def test_the_family_learns_at_booking_whether_it_has_a_place_or_a_position() -> None:
    ledger = PlaceLedger(Capacity(Places(2, {OUTING: 1})))
    ledger, ines = ledger.request("ines", OUTING, None, at(2, 9))
    ledger, leo = ledger.request("leo", OUTING, None, at(2, 10))
    ledger, lou = ledger.request("lou", OUTING, None, at(3, 8))
    assert (ines.status, ines.code, ines.position, ines.places) == (
        PlaceStatus.GRANTED,
        "capacity.granted",
        None,
        1,
    )
    assert ines.granted
    assert ines.message_fr == "Place réservée le jeudi 12 novembre 2026."
    assert (leo.code, leo.position) == ("capacity.waiting_list", 1)
    assert lou.message_fr == (
        "Plus de place le jeudi 12 novembre 2026 : votre demande est en liste d'attente (position 2)."
    )
    assert lou.message == (
        "No place left on Thursday 12 November 2026: the request is on the waiting list (position 2)."
    )
    assert ines.message == "Place granted on Thursday 12 November 2026."
    # Monday 16 November has its two usual places.
    ledger, monday = ledger.request("leo", MONDAY, None, at(3, 9))
    assert monday.granted
    assert ledger.holders(OUTING) == {"ines"}
    assert ledger.waiting_list(OUTING) == ("leo", "lou")
    assert ledger.free(OUTING) == 0
    assert ledger.free(MONDAY) == 1


def test_asking_again_changes_nothing_and_gives_the_same_answer() -> None:
    ledger = PlaceLedger(Capacity(Places(1)))
    ledger, first = ledger.request("ines", OUTING, None, at(2, 9))
    ledger, waiting = ledger.request("leo", OUTING, None, at(2, 10))
    again, first_again = ledger.request("ines", OUTING, None, at(5, 9))
    assert (again, first_again) == (ledger, first)
    again, waiting_again = ledger.request("leo", OUTING, None, at(5, 9))
    assert (again, waiting_again) == (ledger, waiting)
    assert ledger.waiting_list(OUTING) == ("leo",)


def test_a_freed_place_goes_to_the_first_child_waiting_and_the_family_is_told() -> None:
    ledger = PlaceLedger(Capacity(Places(1)))
    ledger, _ = ledger.request("ines", OUTING, None, at(2, 9))
    ledger, _ = ledger.request("leo", OUTING, None, at(2, 10))
    ledger, _ = ledger.request("lou", OUTING, None, at(3, 8))
    ledger, promotions = ledger.release("ines", OUTING)
    assert promotions == (Promotion("leo", OUTING, None),)
    assert promotions[0].code == "capacity.promoted"
    assert promotions[0].message_fr == (
        "Une place s'est libérée le jeudi 12 novembre 2026 : votre demande en liste d'attente est acceptée."
    )
    assert promotions[0].message.startswith("A place became free on Thursday 12 November 2026")
    assert ledger.holders(OUTING) == {"leo"}
    assert ledger.status("lou", OUTING) == PlaceDecision("lou", OUTING, None, PlaceStatus.WAITING_LIST, 1, 1)
    assert ledger.status("leo", OUTING) == PlaceDecision("leo", OUTING, None, PlaceStatus.GRANTED, None, 1)
    assert ledger.status("ines", OUTING) is None


def test_the_waiting_list_follows_the_request_instant_then_the_child_id() -> None:
    ledger = PlaceLedger(Capacity(Places(1)))
    ledger, _ = ledger.request("ines", OUTING, None, at(2, 9))
    ledger, _ = ledger.request("zoe", OUTING, None, at(4, 12))
    # Recorded later, but asked earlier (an agent keys in a paper form): it comes first.
    ledger, paper = ledger.request("paul", OUTING, None, at(3, 17))
    ledger, tie = ledger.request("adam", OUTING, None, at(3, 17))
    assert (paper.position, tie.position) == (1, 1)
    assert ledger.waiting_list(OUTING) == ("adam", "paul", "zoe")


def test_leaving_the_waiting_list_moves_the_others_up_and_promotes_nobody() -> None:
    ledger = PlaceLedger(Capacity(Places(1)))
    for name, hour in (("ines", 8), ("leo", 9), ("lou", 10)):
        ledger, _ = ledger.request(name, OUTING, None, at(2, hour))
    ledger, promotions = ledger.release("leo", OUTING)
    assert promotions == ()
    assert ledger.holders(OUTING) == {"ines"}
    status = ledger.status("lou", OUTING)
    assert status is not None
    assert status.position == 1


def test_releasing_what_is_not_held_changes_nothing() -> None:
    ledger, _ = PlaceLedger(Capacity(Places(1))).request("ines", OUTING, None, at(2, 9))
    assert ledger.release("leo", OUTING) == (ledger, ())
    assert ledger.release("ines", MONDAY) == (ledger, ())


def test_releasing_the_last_place_leaves_an_empty_ledger() -> None:
    empty = PlaceLedger(Capacity(Places(1)))
    ledger, _ = empty.request("ines", OUTING, None, at(2, 9))
    assert ledger.release("ines", OUTING)[0] == empty
    assert list(empty.occupancy()) == []


def test_fewer_places_on_a_date_evict_nobody_but_grant_nobody_new_until_below() -> None:
    ledger = PlaceLedger(Capacity(Places(3)))
    for name in ("ines", "leo", "lou"):
        ledger, _ = ledger.request(name, OUTING, None, at(2, 9))
    # The outing is confirmed with staff for one child only.
    ledger, promotions = ledger.with_capacity(Capacity(Places(3, {OUTING: 1})))
    assert promotions == ()
    assert ledger.holders(OUTING) == {"ines", "leo", "lou"}
    ledger, zoe = ledger.request("zoe", OUTING, None, at(3, 9))
    assert (zoe.status, zoe.position, zoe.places) == (PlaceStatus.WAITING_LIST, 1, 1)
    ledger, promotions = ledger.release("ines", OUTING)
    assert promotions == ()  # still two children for one place
    ledger, promotions = ledger.release("leo", OUTING)
    assert promotions == ()  # exactly full
    ledger, promotions = ledger.release("lou", OUTING)
    assert promotions == (Promotion("zoe", OUTING, None),)
    assert ledger.holders(OUTING) == {"zoe"}


def test_more_places_promote_the_children_waiting_in_order() -> None:
    ledger = PlaceLedger(Capacity(Places(1)))
    for name, hour in (("ines", 8), ("leo", 9), ("lou", 10), ("zoe", 11)):
        ledger, _ = ledger.request(name, OUTING, None, at(2, hour))
        ledger, _ = ledger.request(name, MONDAY, None, at(2, hour))
    ledger, promotions = ledger.with_capacity(Capacity(Places(1, {OUTING: 3})))
    assert promotions == (Promotion("leo", OUTING, None), Promotion("lou", OUTING, None))
    assert ledger.waiting_list(OUTING) == ("zoe",)
    assert ledger.waiting_list(MONDAY) == ("leo", "lou", "zoe")


def test_a_group_that_still_has_children_cannot_disappear() -> None:
    groups = [CapacityGroup("maternelle", Places(1)), CapacityGroup("elementaire", Places(1))]
    ledger, _ = PlaceLedger(Capacity(groups=groups)).request("jade", OUTING, "maternelle", at(2, 9))
    with pytest.raises(InvalidInput) as error:
        ledger.with_capacity(Capacity(groups=groups[1:]))
    assert error.value.code == "capacity.group_removed"
    with pytest.raises(InvalidInput):
        ledger.with_capacity(Places(2))  # type: ignore[arg-type]


def test_a_full_maternelle_group_leaves_the_elementaire_places_free() -> None:
    capacity = Capacity(
        groups=[CapacityGroup("maternelle", Places(1)), CapacityGroup("elementaire", Places(2))]
    )
    ledger = PlaceLedger(capacity)
    ledger, jade = ledger.request("jade", OUTING, "maternelle", at(2, 9))
    ledger, noe = ledger.request("noe", OUTING, "maternelle", at(2, 10))
    ledger, tom = ledger.request("tom", OUTING, "elementaire", at(2, 11))
    assert (jade.granted, noe.position, tom.granted) == (True, 1, True)
    assert tom.group == "elementaire"
    assert ledger.free(OUTING, "elementaire") == 1
    assert ledger.free(OUTING, "maternelle") == 0
    assert [(o.group, o.holders, o.waiting) for o in ledger.occupancy()] == [
        ("elementaire", frozenset({"tom"}), ()),
        ("maternelle", frozenset({"jade"}), ("noe",)),
    ]
    ledger, promotions = ledger.release("jade", OUTING)
    assert promotions == (Promotion("noe", OUTING, "maternelle"),)
    with pytest.raises(InvalidInput) as error:
        ledger.request("noe", OUTING, "elementaire", at(3, 9))
    assert error.value.code == "capacity.group_conflict"


def test_no_limit_means_every_child_gets_a_place() -> None:
    ledger = PlaceLedger(Capacity())
    for number in range(50):
        ledger, decision = ledger.request(f"c{number}", OUTING, None, at(2, 9))
        assert decision.granted
        assert decision.places is None
    assert ledger.free(OUTING) is None
    assert list(ledger.occupancy()) == [
        Occupancy(OUTING, None, None, frozenset(f"c{n}" for n in range(50)), ())
    ]


@pytest.mark.parametrize(
    ("make", "code"),
    [
        (lambda: PlaceRequest("ines", OUTING, None, dt.datetime(2026, 11, 2, 9)), "input.naive_datetime"),
        (lambda: PlaceRequest("ines", dt.datetime(2026, 11, 12, 9), None, at(2, 9)), "input.not_a_date"),
        (lambda: PlaceRequest("", OUTING, None, at(2, 9)), "capacity.bad_child"),
        (lambda: PlaceLedger(Capacity()).request_many(["ines"]), "capacity.bad_request"),  # type: ignore[list-item]
        (lambda: PlaceLedger(Capacity()).release("ines", dt.datetime(2026, 11, 12, 9)), "input.not_a_date"),
        (
            lambda: PlaceLedger(Capacity()).request("ines", OUTING, "maternelle", at(2, 9)),
            "capacity.unknown_group",
        ),
    ],
)
def test_misuse_is_refused_with_a_clear_error(make: Any, code: str) -> None:
    with pytest.raises(InvalidInput) as error:
        make()
    assert error.value.code == code


def test_a_whole_school_year_basket_gets_one_answer_per_line_in_order() -> None:
    # Mondays, Tuesdays, Thursdays and Fridays from 1 September 2026 to 2 July 2027, three children.
    days = [
        dt.date(2026, 9, 1) + dt.timedelta(days=n)
        for n in range(305)
        if (dt.date(2026, 9, 1) + dt.timedelta(days=n)).weekday() in (0, 1, 3, 4)
    ]
    capacity = Capacity(Places(2, {OUTING: 1}))
    ledger, _ = PlaceLedger(capacity).request("voisin", OUTING, None, at(1, 8))
    basket = [PlaceRequest(name, day, None, at(2, 20)) for name in ("ines", "leo", "lou") for day in days]
    after, decisions = ledger.request_many(basket)
    assert len(decisions) == len(basket)
    assert [(d.child_id, d.day) for d in decisions] == [(r.child_id, r.day) for r in basket]
    by_line = {(d.child_id, d.day): d for d in decisions}
    assert by_line[("ines", MONDAY)].granted
    assert by_line[("leo", MONDAY)].granted
    assert by_line[("lou", MONDAY)].position == 1
    assert by_line[("ines", OUTING)].position == 1
    assert by_line[("leo", OUTING)].position == 2
    one_by_one = ledger
    for line in basket:
        one_by_one, _ = one_by_one.request(line.child_id, line.day, line.group, line.at)
    assert after == one_by_one


def test_several_releases_at_once_promote_in_order() -> None:
    ledger = PlaceLedger(Capacity(Places(1)))
    for name, hour in (("ines", 8), ("leo", 9), ("lou", 10)):
        for day in (OUTING, MONDAY):
            ledger, _ = ledger.request(name, day, None, at(2, hour))
    ledger, promotions = ledger.release_many([("ines", OUTING), ("ines", MONDAY), ("leo", MONDAY)])
    assert promotions == (
        Promotion("leo", OUTING, None),
        Promotion("leo", MONDAY, None),
        Promotion("lou", MONDAY, None),
    )


def test_a_store_keeps_the_places_and_the_waiting_requests_and_gets_the_same_ledger_back() -> None:
    capacity = Capacity(Places(1))
    ledger = PlaceLedger(capacity)
    for name, hour in (("ines", 8), ("leo", 9), ("lou", 10)):
        ledger, _ = ledger.request(name, OUTING, None, at(2, hour))
    held, waiting = ledger.entries()
    assert held == (("ines", OUTING, None),)
    assert waiting == (("leo", OUTING, None, at(2, 9)), ("lou", OUTING, None, at(2, 10)))
    assert PlaceLedger.restore(capacity, held, reversed(waiting)) == (ledger, ())
    # The commune added a place since: the first child waiting gets it when the ledger is read back.
    restored, promotions = PlaceLedger.restore(Capacity(Places(2)), held, waiting)
    assert promotions == (Promotion("leo", OUTING, None),)
    assert restored.holders(OUTING) == {"ines", "leo"}
    # Fewer places since: nobody is evicted.
    restored, promotions = PlaceLedger.restore(Capacity(Places(0)), held, waiting)
    assert (restored.holders(OUTING), promotions) == (frozenset({"ines"}), ())


@pytest.mark.parametrize(
    ("held", "waiting", "code"),
    [
        ([("ines", OUTING, None), ("ines", OUTING, None)], [], "capacity.duplicate_entry"),
        ([("ines", OUTING, None)], [("ines", OUTING, None, at(2, 9))], "capacity.duplicate_entry"),
        ([], [("leo", OUTING, None, dt.datetime(2026, 11, 2, 9))], "input.naive_datetime"),
        ([("ines", OUTING, "maternelle")], [], "capacity.unknown_group"),
        ([("", OUTING, None)], [], "capacity.bad_child"),
        ([("ines", "2026-11-12", None)], [], "input.not_a_date"),
    ],
)
def test_stored_places_that_make_no_sense_are_refused(held: Any, waiting: Any, code: str) -> None:
    with pytest.raises(InvalidInput) as error:
        PlaceLedger.restore(Capacity(Places(1)), held, waiting)
    assert error.value.code == code
