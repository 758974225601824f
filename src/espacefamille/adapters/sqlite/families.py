"""The families repository on SQLite: households, children, enrolments, unpaid-block waivers."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Final

from espacefamille._internal.trusted import trusted_builder
from espacefamille.adapters.sqlite.codecs import (
    _CHILD_COLUMNS,
    _day,
    _iso,
    _new_child,
    _new_family,
    _new_guardian,
    _new_quotient,
    _optional_day,
)
from espacefamille.adapters.sqlite.schema import _BATCH, _FAMILY, _marks, _not_found
from espacefamille.calendar.periods import DateRange
from espacefamille.model import (
    Child,
    Diet,
    Enrolment,
    Family,
    Guardian,
    PostalAddress,
    QuotientFamilial,
    Residence,
    SchoolClass,
)
from espacefamille.rules.unpaid import UnpaidExemption

if TYPE_CHECKING:
    from espacefamille.adapters.sqlite.store import SqliteUnitOfWork

_FAMILY_COLUMNS: Final = (
    "id, name, payer_id, residence, direct_debit, address_lines, address_postcode, address_city, "
    "address_country"
)
_FAMILY_COLUMNS_OF_F: Final = ", ".join(f"f.{column.strip()}" for column in _FAMILY_COLUMNS.split(","))
_new_address: Final = trusted_builder(PostalAddress)


def _address_columns(address: PostalAddress | None) -> tuple[str | None, ...]:
    """The payer's address as the four columns store it (its lines joined by line breaks), or NULLs."""
    if address is None:
        return (None, None, None, None)
    return ("\n".join(address.lines), address.postcode, address.city, address.country)


def _address(columns: Sequence[str | None]) -> PostalAddress | None:
    lines, postcode, city, country = columns
    if lines is None:
        return None
    return _new_address(tuple(lines.split("\n")), postcode, city, country)


class _SqliteFamilies:
    """Families of a ``SqliteUnitOfWork`` (see ``espacefamille.ports.Families``)."""

    def __init__(self, uow: SqliteUnitOfWork) -> None:
        self._uow = uow

    def get(self, family_id: str) -> Family:
        self._uow._sync()
        self._uow._seen(_FAMILY, family_id)
        row = self._uow._db.execute(
            f"SELECT {_FAMILY_COLUMNS} FROM families WHERE id = ?", (family_id,)
        ).fetchone()
        if row is None:
            raise _not_found("family", family_id, "famille")
        return self._families([row])[0]

    def all(self) -> Iterator[Family]:
        """Every family ordered by id, read a batch at a time (memory does not grow with the city)."""
        return self._families_after("")

    def _families_after(self, after: str) -> Iterator[Family]:
        self._uow._sync()
        while True:
            rows = self._uow._db.execute(
                f"SELECT {_FAMILY_COLUMNS_OF_F}, v.version FROM families f "
                "LEFT JOIN versions v ON v.scope = 'family' AND v.key = f.id "
                "WHERE f.id > ? ORDER BY f.id LIMIT ?",
                (after, _BATCH),
            ).fetchall()
            if not rows:
                return
            if not self._uow._writing:  # under the write lock they cannot change (see _seen)
                for row in rows:
                    self._uow._read.setdefault((_FAMILY, row[0]), 0 if row[-1] is None else int(row[-1]))
            yield from self._families([row[:-1] for row in rows])
            after = rows[-1][0]

    def _families(self, rows: list[Any]) -> list[Family]:
        ids = [row[0] for row in rows]
        guardians: dict[str, list[Guardian]] = {}
        quotients: dict[str, list[QuotientFamilial]] = {}
        marks = _marks(len(ids))
        for family_id, *fields in self._uow._db.execute(
            "SELECT family_id, id, first_name, last_name, email, phone FROM guardians "
            f"WHERE family_id IN ({marks}) ORDER BY family_id, position",
            ids,
        ):
            guardians.setdefault(family_id, []).append(_new_guardian(*fields))
        for family_id, value, valid_from, valid_until, source, received_on in self._uow._db.execute(
            "SELECT family_id, value, valid_from, valid_until, source, received_on FROM quotients "
            f"WHERE family_id IN ({marks}) ORDER BY family_id, position",
            ids,
        ):
            quotients.setdefault(family_id, []).append(
                _new_quotient(
                    Decimal(value),
                    _day(valid_from),
                    _optional_day(valid_until),
                    source,
                    _optional_day(received_on),
                )
            )
        # Rows this store wrote from validated families: rebuilt without checking them again.
        return [
            _new_family(
                family_id,
                name,
                tuple(guardians.get(family_id, ())),
                payer_id,
                Residence(residence),
                tuple(quotients.get(family_id, ())),
                bool(direct_debit),
                _address(address),
            )
            for family_id, name, payer_id, residence, direct_debit, *address in rows
        ]

    def save(self, family: Family) -> None:

        def apply() -> None:
            self._uow._mark(_FAMILY, family.id)
            self._uow._db.execute("DELETE FROM families WHERE id = ?", (family.id,))
            self._uow._db.execute(
                f"INSERT INTO families ({_FAMILY_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    family.id,
                    family.name,
                    family.payer_id,
                    family.residence.value,
                    int(family.direct_debit),
                    *_address_columns(family.address),
                ),
            )
            self._uow._db.executemany(
                "INSERT INTO guardians (family_id, position, id, first_name, last_name, email, phone) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    (family.id, position, g.id, g.first_name, g.last_name, g.email, g.phone)
                    for position, g in enumerate(family.guardians)
                ],
            )
            self._uow._db.executemany(
                "INSERT INTO quotients (family_id, position, value, valid_from, valid_until, source, "
                "received_on) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        family.id,
                        position,
                        str(q.value),
                        q.valid_from.isoformat(),
                        _iso(q.valid_until),
                        q.source,
                        _iso(q.received_on),
                    )
                    for position, q in enumerate(family.quotients)
                ],
            )

        self._uow._write(apply)

    def child(self, child_id: str) -> Child:
        self._uow._sync()
        families = self._child_families([child_id]).get(child_id)
        for family_id in families or ():
            self._uow._seen(_FAMILY, family_id)
        row = self._uow._db.execute(
            f"SELECT {_CHILD_COLUMNS} FROM children WHERE id = ?", (child_id,)
        ).fetchone()
        if row is None:
            raise _not_found("child", child_id, "enfant")
        return self._children([row])[0]

    def children_of(self, family_id: str) -> tuple[Child, ...]:
        self._uow._sync()
        self._uow._seen(_FAMILY, family_id)
        rows = self._uow._db.execute(
            f"SELECT {', '.join('c.' + c.strip() for c in _CHILD_COLUMNS.split(','))} FROM children c "
            "JOIN child_families l ON l.child_id = c.id WHERE l.family_id = ? ORDER BY c.id",
            (family_id,),
        ).fetchall()
        return tuple(self._children(rows))

    def _child_families(self, ids: Sequence[str]) -> dict[str, list[str]]:
        links: dict[str, list[str]] = {}
        for child_id, family_id in self._uow._db.execute(
            f"SELECT child_id, family_id FROM child_families WHERE child_id IN ({_marks(len(ids))}) "
            "ORDER BY child_id, position",
            ids,
        ):
            links.setdefault(child_id, []).append(family_id)
        return links

    def _children(self, rows: list[Any]) -> list[Child]:
        links = self._child_families([row[0] for row in rows])
        return [
            _new_child(
                child_id,
                first_name,
                last_name,
                _day(birth_date),
                tuple(links.get(child_id, ())),
                school,
                None if school_class is None else SchoolClass(school_class),
                bool(pai),
                bool(needs_support),
                frozenset(Diet(diet) for diet in diets.split(",") if diet),
            )
            for (
                child_id,
                first_name,
                last_name,
                birth_date,
                school,
                school_class,
                pai,
                needs_support,
                diets,
            ) in rows
        ]

    def save_child(self, child: Child) -> None:

        def apply() -> None:
            previous = self._child_families([child.id]).get(child.id, [])
            for family_id in {*previous, *child.family_ids}:
                self._uow._mark(_FAMILY, family_id)
            self._uow._db.execute("DELETE FROM children WHERE id = ?", (child.id,))
            self._uow._db.execute(
                f"INSERT INTO children ({_CHILD_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    child.id,
                    child.first_name,
                    child.last_name,
                    child.birth_date.isoformat(),
                    child.school,
                    None if child.school_class is None else child.school_class.value,
                    int(child.pai),
                    int(child.needs_support),
                    ",".join(sorted(diet.value for diet in child.diets)),
                ),
            )
            self._uow._db.executemany(
                "INSERT INTO child_families (child_id, position, family_id) VALUES (?, ?, ?)",
                [(child.id, position, family_id) for position, family_id in enumerate(child.family_ids)],
            )

        self._uow._write(apply)

    def enrolments_of(self, child_id: str) -> tuple[Enrolment, ...]:
        self._uow._sync()
        for family_id in self._child_families([child_id]).get(child_id, ()):
            self._uow._seen(_FAMILY, family_id)
        rows = self._uow._db.execute(
            "SELECT id, child_id, family_id, service_id, start_day, end_day, validated FROM enrolments "
            "WHERE child_id = ? ORDER BY id",
            (child_id,),
        ).fetchall()
        return tuple(
            Enrolment(id_, child, family, service, DateRange(_day(start), _day(end)), bool(validated))
            for id_, child, family, service, start, end, validated in rows
        )

    def save_enrolment(self, enrolment: Enrolment) -> None:

        def apply() -> None:
            self._uow._mark_owners("enrolments", "id", enrolment.id, enrolment.family_id)
            self._uow._db.execute(
                "INSERT OR REPLACE INTO enrolments (id, child_id, family_id, service_id, start_day, end_day, "
                "validated) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    enrolment.id,
                    enrolment.child_id,
                    enrolment.family_id,
                    enrolment.service_id,
                    enrolment.period.start.isoformat(),
                    enrolment.period.end.isoformat(),
                    int(enrolment.validated),
                ),
            )

        self._uow._write(apply)

    def unpaid_exemption(self, family_id: str) -> UnpaidExemption | None:
        self._uow._sync()
        self._uow._seen(_FAMILY, family_id)
        row = self._uow._db.execute(
            "SELECT granted_by, since, until, reason FROM unpaid_exemptions WHERE family_id = ?", (family_id,)
        ).fetchone()
        if row is None:
            return None
        granted_by, since, until, reason = row
        return UnpaidExemption(granted_by, _day(since), _optional_day(until), reason)

    def save_unpaid_exemption(self, family_id: str, exemption: UnpaidExemption | None) -> None:
        row = (
            None
            if exemption is None
            else (
                family_id,
                exemption.granted_by,
                exemption.since.isoformat(),
                _iso(exemption.until),
                exemption.reason,
            )
        )

        def apply() -> None:
            self._uow._mark(_FAMILY, family_id)
            if row is None:
                self._uow._db.execute("DELETE FROM unpaid_exemptions WHERE family_id = ?", (family_id,))
            else:
                self._uow._db.execute(
                    "INSERT OR REPLACE INTO unpaid_exemptions (family_id, granted_by, since, until, reason) "
                    "VALUES (?, ?, ?, ?, ?)",
                    row,
                )

        self._uow._write(apply)
