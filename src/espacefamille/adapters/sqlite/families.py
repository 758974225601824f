"""The families repository on SQLite: households, children, enrolments, unpaid-block waivers."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from espacefamille.adapters import _sql
from espacefamille.adapters._sql import _FAMILY, _not_found
from espacefamille.adapters.sqlite.codecs import _ENCODING
from espacefamille.adapters.sqlite.schema import _BATCH, _marks
from espacefamille.model import Child, Enrolment, Family
from espacefamille.rules.unpaid import UnpaidExemption

if TYPE_CHECKING:
    from espacefamille.adapters.sqlite.store import SqliteUnitOfWork


class _SqliteFamilies:
    """Families of a ``SqliteUnitOfWork`` (see ``espacefamille.ports.Families``)."""

    def __init__(self, uow: SqliteUnitOfWork) -> None:
        self._uow = uow

    def get(self, family_id: str) -> Family:
        self._uow._sync()
        self._uow._seen(_FAMILY, family_id)
        row = self._uow._db.execute(
            f"SELECT {_sql._FAMILY_COLUMNS} FROM families WHERE id = ?", (family_id,)
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
                f"SELECT {_sql._FAMILY_COLUMNS_OF_F}, v.version FROM families f "
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
        marks = _marks(len(ids))
        guardians = _sql._guardians(
            self._uow._db.execute(
                f"SELECT family_id, {_sql._GUARDIAN_COLUMNS} FROM guardians "
                f"WHERE family_id IN ({marks}) ORDER BY family_id, position",
                ids,
            ),
            _ENCODING,
        )
        quotients = _sql._quotients(
            self._uow._db.execute(
                f"SELECT family_id, {_sql._QUOTIENT_COLUMNS} FROM quotients "
                f"WHERE family_id IN ({marks}) ORDER BY family_id, position",
                ids,
            ),
            _ENCODING,
        )
        return _sql._families(rows, guardians, quotients, _ENCODING)

    def save(self, family: Family) -> None:

        def apply() -> None:
            self._uow._mark(_FAMILY, family.id)
            self._uow._db.execute("DELETE FROM families WHERE id = ?", (family.id,))
            self._uow._db.execute(
                f"INSERT INTO families ({_sql._FAMILY_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                _sql._family_row(family, _ENCODING),
            )
            self._uow._db.executemany(
                f"INSERT INTO guardians (family_id, position, {_sql._GUARDIAN_COLUMNS}) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    (family.id, position, *_sql._guardian_row(guardian, _ENCODING))
                    for position, guardian in enumerate(family.guardians)
                ],
            )
            self._uow._db.executemany(
                f"INSERT INTO quotients (family_id, position, {_sql._QUOTIENT_COLUMNS}) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    (family.id, position, *_sql._quotient_row(quotient, _ENCODING))
                    for position, quotient in enumerate(family.quotients)
                ],
            )

        self._uow._write(apply)

    def child(self, child_id: str) -> Child:
        self._uow._sync()
        families = self._child_families([child_id]).get(child_id)
        for family_id in families or ():
            self._uow._seen(_FAMILY, family_id)
        row = self._uow._db.execute(
            f"SELECT {_sql._CHILD_COLUMNS} FROM children WHERE id = ?", (child_id,)
        ).fetchone()
        if row is None:
            raise _not_found("child", child_id, "enfant")
        return self._children([row])[0]

    def children_of(self, family_id: str) -> tuple[Child, ...]:
        self._uow._sync()
        self._uow._seen(_FAMILY, family_id)
        rows = self._uow._db.execute(
            f"SELECT {_sql._CHILD_COLUMNS_OF_C} FROM children c "
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
        return _sql._children(rows, links, _ENCODING)

    def save_child(self, child: Child) -> None:

        def apply() -> None:
            previous = self._child_families([child.id]).get(child.id, [])
            for family_id in {*previous, *child.family_ids}:
                self._uow._mark(_FAMILY, family_id)
            self._uow._db.execute("DELETE FROM children WHERE id = ?", (child.id,))
            self._uow._db.execute(
                f"INSERT INTO children ({_sql._CHILD_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                _sql._child_row(child, _ENCODING),
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
            f"SELECT {_sql._ENROLMENT_COLUMNS} FROM enrolments WHERE child_id = ? ORDER BY id", (child_id,)
        ).fetchall()
        return tuple(_sql._enrolment(row, _ENCODING) for row in rows)

    def save_enrolment(self, enrolment: Enrolment) -> None:

        def apply() -> None:
            self._uow._mark_owners("enrolments", "id", enrolment.id, enrolment.family_id)
            self._uow._db.execute(
                f"INSERT OR REPLACE INTO enrolments ({_sql._ENROLMENT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
                _sql._enrolment_row(enrolment, _ENCODING),
            )

        self._uow._write(apply)

    def unpaid_exemption(self, family_id: str) -> UnpaidExemption | None:
        self._uow._sync()
        self._uow._seen(_FAMILY, family_id)
        row = self._uow._db.execute(
            f"SELECT {_sql._EXEMPTION_COLUMNS} FROM unpaid_exemptions WHERE family_id = ?", (family_id,)
        ).fetchone()
        return None if row is None else _sql._exemption(row, _ENCODING)

    def save_unpaid_exemption(self, family_id: str, exemption: UnpaidExemption | None) -> None:
        row = None if exemption is None else (family_id, *_sql._exemption_row(exemption, _ENCODING))

        def apply() -> None:
            self._uow._mark(_FAMILY, family_id)
            if row is None:
                self._uow._db.execute("DELETE FROM unpaid_exemptions WHERE family_id = ?", (family_id,))
            else:
                self._uow._db.execute(
                    f"INSERT OR REPLACE INTO unpaid_exemptions (family_id, {_sql._EXEMPTION_COLUMNS}) "
                    "VALUES (?, ?, ?, ?, ?)",
                    row,
                )

        self._uow._write(apply)
