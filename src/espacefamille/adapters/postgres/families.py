"""The families repository on PostgreSQL: households, children, enrolments, unpaid-block waivers."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Final

from espacefamille._internal.trusted import trusted_builder
from espacefamille.adapters.postgres.codecs import (
    _CHILD_COLUMNS,
    _new_child,
    _new_family,
    _new_guardian,
    _new_quotient,
    _optional_text,
    _read_optional_text,
    _read_text,
    _text,
)
from espacefamille.adapters.postgres.schema import _BATCH, _FAMILY, _not_found
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
    from espacefamille.adapters.postgres.store import PostgresUnitOfWork

_FAMILY_COLUMNS = (
    "id, name, payer_id, residence, direct_debit, address_lines, address_postcode, address_city, "
    "address_country"
)
_FAMILY_COLUMNS_OF_F: Final = ", ".join(f"f.{column.strip()}" for column in _FAMILY_COLUMNS.split(","))
_new_address: Final = trusted_builder(PostalAddress)


def _address_columns(address: PostalAddress | None) -> tuple[list[str] | str | None, ...]:
    """The payer's address as its four columns store it, or NULLs."""
    if address is None:
        return (None, None, None, None)
    return (
        [_text(line) for line in address.lines],
        _text(address.postcode),
        _text(address.city),
        _optional_text(address.country),
    )


def _address(columns: Sequence[Any]) -> PostalAddress | None:
    lines, postcode, city, country = columns
    if lines is None:
        return None
    return _new_address(
        tuple(_read_text(line) for line in lines),
        _read_text(postcode),
        _read_text(city),
        _read_optional_text(country),
    )


class _PostgresFamilies:
    """Families of a ``PostgresUnitOfWork`` (see ``espacefamille.ports.Families``)."""

    def __init__(self, uow: PostgresUnitOfWork) -> None:
        self._uow = uow

    def get(self, family_id: str) -> Family:
        self._uow._sync()
        self._uow._seen(_FAMILY, family_id)
        row = self._uow._one(
            f"SELECT {_FAMILY_COLUMNS} FROM families WHERE collectivite_id = %s AND id = %s",
            (self._uow._c, family_id),
        )
        if row is None:
            raise _not_found("family", family_id, "famille")
        return self._families([row])[0]

    def all(self) -> Iterator[Family]:
        """Every family ordered by id, read a batch at a time (memory does not grow with the city)."""
        return self._families_after("")

    def _families_after(self, after: str, per_statement: int = _BATCH) -> Iterator[Family]:
        # ``per_statement`` families a statement (a month-end batch reads as many as it bills: each one
        # read counts for the unit of work's conflicts).
        while True:
            self._uow._sync()
            # One statement, one snapshot: each family is read with the version it has in it.
            rows = self._uow._rows(
                f"SELECT {_FAMILY_COLUMNS_OF_F}, v.version FROM families f "
                "LEFT JOIN versions v ON v.collectivite_id = f.collectivite_id AND v.scope = 'family' "
                "AND v.key = f.id WHERE f.collectivite_id = %s AND f.id > %s ORDER BY f.id LIMIT %s",
                (self._uow._c, after, per_statement),
            )
            if not rows:
                return
            for row in rows:
                self._uow._read.setdefault((_FAMILY, row[0]), 0 if row[-1] is None else int(row[-1]))
            yield from self._families([row[:-1] for row in rows])
            after = rows[-1][0]

    def _families(self, rows: Sequence[Sequence[Any]]) -> list[Family]:
        ids = [row[0] for row in rows]
        guardians: dict[str, list[Guardian]] = {}
        quotients: dict[str, list[QuotientFamilial]] = {}
        for family_id, id_, first_name, last_name, email, phone in self._uow._rows(
            "SELECT family_id, id, first_name, last_name, email, phone FROM guardians "
            "WHERE collectivite_id = %s AND family_id = ANY(%s) ORDER BY family_id, position",
            (self._uow._c, ids),
        ):
            guardians.setdefault(family_id, []).append(
                _new_guardian(
                    id_, _read_text(first_name), _read_text(last_name), email, _read_optional_text(phone)
                )
            )
        for family_id, value, valid_from, valid_until, source, received_on in self._uow._rows(
            "SELECT family_id, value, valid_from, valid_until, source, received_on FROM quotients "
            "WHERE collectivite_id = %s AND family_id = ANY(%s) ORDER BY family_id, position",
            (self._uow._c, ids),
        ):
            quotients.setdefault(family_id, []).append(
                _new_quotient(Decimal(value), valid_from, valid_until, _read_text(source), received_on)
            )
        # Rows this store wrote from validated families: rebuilt without checking them again.
        return [
            _new_family(
                family_id,
                _read_text(name),
                tuple(guardians.get(family_id, ())),
                payer_id,
                Residence(residence),
                tuple(quotients.get(family_id, ())),
                direct_debit,
                _address(address),
            )
            for family_id, name, payer_id, residence, direct_debit, *address in rows
        ]

    def save(self, family: Family) -> None:
        self._uow._mark(_FAMILY, family.id)
        c = self._uow._c

        def apply() -> None:
            self._uow._run("DELETE FROM families WHERE collectivite_id = %s AND id = %s", (c, family.id))
            self._uow._run(
                f"INSERT INTO families (collectivite_id, {_FAMILY_COLUMNS}) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                (
                    c,
                    family.id,
                    _text(family.name),
                    family.payer_id,
                    family.residence.value,
                    family.direct_debit,
                    *_address_columns(family.address),
                ),
            )
            self._uow._many(
                "INSERT INTO guardians (collectivite_id, family_id, position, id, first_name, last_name, "
                "email, phone) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                [
                    (
                        c,
                        family.id,
                        position,
                        g.id,
                        _text(g.first_name),
                        _text(g.last_name),
                        g.email,
                        _optional_text(g.phone),
                    )
                    for position, g in enumerate(family.guardians)
                ],
            )
            self._uow._many(
                "INSERT INTO quotients (collectivite_id, family_id, position, value, valid_from, "
                "valid_until, "
                "source, received_on) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                [
                    (
                        c,
                        family.id,
                        position,
                        str(q.value),
                        q.valid_from,
                        q.valid_until,
                        _text(q.source),
                        q.received_on,
                    )
                    for position, q in enumerate(family.quotients)
                ],
            )

        self._uow._write(apply)

    def child(self, child_id: str) -> Child:
        self._uow._sync()
        for family_id in self._child_families([child_id]).get(child_id, ()):
            self._uow._seen(_FAMILY, family_id)
        row = self._uow._one(
            f"SELECT {_CHILD_COLUMNS} FROM children WHERE collectivite_id = %s AND id = %s",
            (self._uow._c, child_id),
        )
        if row is None:
            raise _not_found("child", child_id, "enfant")
        return self._children([row])[0]

    def children_of(self, family_id: str) -> tuple[Child, ...]:
        self._uow._sync()
        self._uow._seen(_FAMILY, family_id)
        columns = ", ".join("c." + column.strip() for column in _CHILD_COLUMNS.split(","))
        rows = self._uow._rows(
            f"SELECT {columns} FROM children c JOIN child_families l "
            "ON l.collectivite_id = c.collectivite_id AND l.child_id = c.id "
            "WHERE l.collectivite_id = %s AND l.family_id = %s ORDER BY c.id",
            (self._uow._c, family_id),
        )
        return tuple(self._children(rows))

    def _child_families(self, ids: Sequence[str]) -> dict[str, list[str]]:
        links: dict[str, list[str]] = {}
        for child_id, family_id in self._uow._rows(
            "SELECT child_id, family_id FROM child_families "
            "WHERE collectivite_id = %s AND child_id = ANY(%s) "
            "ORDER BY child_id, position",
            (self._uow._c, list(ids)),
        ):
            links.setdefault(child_id, []).append(family_id)
        return links

    def _children(self, rows: Sequence[Sequence[Any]]) -> list[Child]:
        links = self._child_families(list(dict.fromkeys(row[0] for row in rows)))
        return [
            _new_child(
                child_id,
                _read_text(first_name),
                _read_text(last_name),
                birth_date,
                tuple(links.get(child_id, ())),
                _read_optional_text(school),
                None if school_class is None else SchoolClass(school_class),
                pai,
                needs_support,
                frozenset(Diet(diet) for diet in diets),
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
        c = self._uow._c
        for family_id in child.family_ids:
            self._uow._mark(_FAMILY, family_id)

        def apply() -> None:
            for family_id in self._child_families([child.id]).get(child.id, []):
                self._uow._mark(_FAMILY, family_id)
            self._uow._run("DELETE FROM children WHERE collectivite_id = %s AND id = %s", (c, child.id))
            self._uow._run(
                f"INSERT INTO children (collectivite_id, {_CHILD_COLUMNS}) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                (
                    c,
                    child.id,
                    _text(child.first_name),
                    _text(child.last_name),
                    child.birth_date,
                    _optional_text(child.school),
                    None if child.school_class is None else child.school_class.value,
                    child.pai,
                    child.needs_support,
                    sorted(diet.value for diet in child.diets),
                ),
            )
            self._uow._many(
                "INSERT INTO child_families (collectivite_id, child_id, position, family_id) "
                "VALUES (%s, %s, %s, %s)",
                [(c, child.id, position, family_id) for position, family_id in enumerate(child.family_ids)],
            )

        self._uow._write(apply)

    def enrolments_of(self, child_id: str) -> tuple[Enrolment, ...]:
        self._uow._sync()
        for family_id in self._child_families([child_id]).get(child_id, ()):
            self._uow._seen(_FAMILY, family_id)
        rows = self._uow._rows(
            "SELECT id, child_id, family_id, service_id, start_day, end_day, validated FROM enrolments "
            "WHERE collectivite_id = %s AND child_id = %s ORDER BY id",
            (self._uow._c, child_id),
        )
        return tuple(
            Enrolment(id_, child, family, service, DateRange(start, end), validated)
            for id_, child, family, service, start, end, validated in rows
        )

    def save_enrolment(self, enrolment: Enrolment) -> None:
        c = self._uow._c
        self._uow._mark(_FAMILY, enrolment.family_id)

        def apply() -> None:
            self._uow._mark_owners("enrolments", "id", enrolment.id, enrolment.family_id)
            self._uow._run(
                "INSERT INTO enrolments (collectivite_id, id, child_id, family_id, service_id, start_day, "
                "end_day, validated) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) "
                "ON CONFLICT (collectivite_id, id) DO UPDATE SET child_id = excluded.child_id, "
                "family_id = excluded.family_id, service_id = excluded.service_id, "
                "start_day = excluded.start_day, end_day = excluded.end_day, validated = excluded.validated",
                (
                    c,
                    enrolment.id,
                    enrolment.child_id,
                    enrolment.family_id,
                    enrolment.service_id,
                    enrolment.period.start,
                    enrolment.period.end,
                    enrolment.validated,
                ),
            )

        self._uow._write(apply)

    def unpaid_exemption(self, family_id: str) -> UnpaidExemption | None:
        self._uow._sync()
        self._uow._seen(_FAMILY, family_id)
        row = self._uow._one(
            "SELECT granted_by, since, until, reason FROM unpaid_exemptions "
            "WHERE collectivite_id = %s AND family_id = %s",
            (self._uow._c, family_id),
        )
        if row is None:
            return None
        granted_by, since, until, reason = row
        return UnpaidExemption(_read_text(granted_by), since, until, _read_text(reason))

    def save_unpaid_exemption(self, family_id: str, exemption: UnpaidExemption | None) -> None:
        c = self._uow._c
        self._uow._mark(_FAMILY, family_id)

        def apply() -> None:
            self._uow._run(
                "DELETE FROM unpaid_exemptions WHERE collectivite_id = %s AND family_id = %s", (c, family_id)
            )
            if exemption is not None:
                self._uow._run(
                    "INSERT INTO unpaid_exemptions (collectivite_id, family_id, granted_by, since, until, "
                    "reason) VALUES (%s, %s, %s, %s, %s, %s)",
                    (
                        c,
                        family_id,
                        _text(exemption.granted_by),
                        exemption.since,
                        exemption.until,
                        _text(exemption.reason),
                    ),
                )

        self._uow._write(apply)
