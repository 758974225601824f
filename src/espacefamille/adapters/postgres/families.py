"""The families repository on PostgreSQL: households, children, enrolments, unpaid-block waivers."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from espacefamille.adapters import _sql
from espacefamille.adapters._sql import _FAMILY, _not_found
from espacefamille.adapters.postgres.codecs import _ENCODING
from espacefamille.adapters.postgres.schema import _BATCH
from espacefamille.model import Child, Enrolment, Family
from espacefamille.rules.unpaid import UnpaidExemption

if TYPE_CHECKING:
    from espacefamille.adapters.postgres.store import PostgresUnitOfWork


class _PostgresFamilies:
    """Families of a ``PostgresUnitOfWork`` (see ``espacefamille.ports.Families``)."""

    def __init__(self, uow: PostgresUnitOfWork) -> None:
        self._uow = uow

    def get(self, family_id: str) -> Family:
        self._uow._sync()
        self._uow._seen(_FAMILY, family_id)
        row = self._uow._one(
            f"SELECT {_sql._FAMILY_COLUMNS} FROM families WHERE collectivite_id = %s AND id = %s",
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
                f"SELECT {_sql._FAMILY_COLUMNS_OF_F}, v.version FROM families f "
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
        guardians = _sql._guardians(
            self._uow._rows(
                f"SELECT family_id, {_sql._GUARDIAN_COLUMNS} FROM guardians "
                "WHERE collectivite_id = %s AND family_id = ANY(%s) ORDER BY family_id, position",
                (self._uow._c, ids),
            ),
            _ENCODING,
        )
        quotients = _sql._quotients(
            self._uow._rows(
                f"SELECT family_id, {_sql._QUOTIENT_COLUMNS} FROM quotients "
                "WHERE collectivite_id = %s AND family_id = ANY(%s) ORDER BY family_id, position",
                (self._uow._c, ids),
            ),
            _ENCODING,
        )
        return _sql._families(rows, guardians, quotients, _ENCODING)

    def save(self, family: Family) -> None:
        self._uow._mark(_FAMILY, family.id)
        c = self._uow._c

        def apply() -> None:
            self._uow._run("DELETE FROM families WHERE collectivite_id = %s AND id = %s", (c, family.id))
            self._uow._run(
                f"INSERT INTO families (collectivite_id, {_sql._FAMILY_COLUMNS}) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                (c, *_sql._family_row(family, _ENCODING)),
            )
            self._uow._many(
                f"INSERT INTO guardians (collectivite_id, family_id, position, {_sql._GUARDIAN_COLUMNS}) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                [
                    (c, family.id, position, *_sql._guardian_row(guardian, _ENCODING))
                    for position, guardian in enumerate(family.guardians)
                ],
            )
            self._uow._many(
                f"INSERT INTO quotients (collectivite_id, family_id, position, {_sql._QUOTIENT_COLUMNS}) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                [
                    (c, family.id, position, *_sql._quotient_row(quotient, _ENCODING))
                    for position, quotient in enumerate(family.quotients)
                ],
            )

        self._uow._write(apply)

    def child(self, child_id: str) -> Child:
        self._uow._sync()
        for family_id in self._child_families([child_id]).get(child_id, ()):
            self._uow._seen(_FAMILY, family_id)
        row = self._uow._one(
            f"SELECT {_sql._CHILD_COLUMNS} FROM children WHERE collectivite_id = %s AND id = %s",
            (self._uow._c, child_id),
        )
        if row is None:
            raise _not_found("child", child_id, "enfant")
        return self._children([row])[0]

    def children_of(self, family_id: str) -> tuple[Child, ...]:
        self._uow._sync()
        self._uow._seen(_FAMILY, family_id)
        rows = self._uow._rows(
            f"SELECT {_sql._CHILD_COLUMNS_OF_C} FROM children c JOIN child_families l "
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
        return _sql._children(rows, links, _ENCODING)

    def save_child(self, child: Child) -> None:
        c = self._uow._c
        for family_id in child.family_ids:
            self._uow._mark(_FAMILY, family_id)

        def apply() -> None:
            for family_id in self._child_families([child.id]).get(child.id, []):
                self._uow._mark(_FAMILY, family_id)
            self._uow._run("DELETE FROM children WHERE collectivite_id = %s AND id = %s", (c, child.id))
            self._uow._run(
                f"INSERT INTO children (collectivite_id, {_sql._CHILD_COLUMNS}) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                (c, *_sql._child_row(child, _ENCODING)),
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
            f"SELECT {_sql._ENROLMENT_COLUMNS} FROM enrolments WHERE collectivite_id = %s AND child_id = %s "
            "ORDER BY id",
            (self._uow._c, child_id),
        )
        return tuple(_sql._enrolment(row, _ENCODING) for row in rows)

    def save_enrolment(self, enrolment: Enrolment) -> None:
        c = self._uow._c
        self._uow._mark(_FAMILY, enrolment.family_id)

        def apply() -> None:
            self._uow._mark_owners("enrolments", "id", enrolment.id, enrolment.family_id)
            self._uow._run(
                f"INSERT INTO enrolments (collectivite_id, {_sql._ENROLMENT_COLUMNS}) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s) "
                "ON CONFLICT (collectivite_id, id) DO UPDATE SET child_id = excluded.child_id, "
                "family_id = excluded.family_id, service_id = excluded.service_id, "
                "start_day = excluded.start_day, end_day = excluded.end_day, validated = excluded.validated",
                (c, *_sql._enrolment_row(enrolment, _ENCODING)),
            )

        self._uow._write(apply)

    def unpaid_exemption(self, family_id: str) -> UnpaidExemption | None:
        self._uow._sync()
        self._uow._seen(_FAMILY, family_id)
        row = self._uow._one(
            f"SELECT {_sql._EXEMPTION_COLUMNS} FROM unpaid_exemptions "
            "WHERE collectivite_id = %s AND family_id = %s",
            (self._uow._c, family_id),
        )
        return None if row is None else _sql._exemption(row, _ENCODING)

    def save_unpaid_exemption(self, family_id: str, exemption: UnpaidExemption | None) -> None:
        c = self._uow._c
        self._uow._mark(_FAMILY, family_id)

        def apply() -> None:
            self._uow._run(
                "DELETE FROM unpaid_exemptions WHERE collectivite_id = %s AND family_id = %s", (c, family_id)
            )
            if exemption is not None:
                self._uow._run(
                    f"INSERT INTO unpaid_exemptions (collectivite_id, family_id, {_sql._EXEMPTION_COLUMNS}) "
                    "VALUES (%s, %s, %s, %s, %s, %s)",
                    (c, family_id, *_sql._exemption_row(exemption, _ENCODING)),
                )

        self._uow._write(apply)
