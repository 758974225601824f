"""The SQLite store: the conformance kit on a database file, and what only a file on disk can show."""

from __future__ import annotations

import datetime as dt
import itertools
import sqlite3
import zoneinfo
from decimal import Decimal
from pathlib import Path

import attrs
import pytest

from espacefamille.adapters.sqlite import (
    ACCOUNTS_SCHEMA_VERSION,
    SCHEMA_VERSION,
    IncompatibleDatabase,
    SqliteAccountStore,
    SqliteStore,
)
from espacefamille.adapters.sqlite.codecs import _runs_query
from espacefamille.adapters.sqlite.schema import _COMMUNE_APPLICATION_ID, _COMMUNE_MIGRATIONS
from espacefamille.billing.documents import DocumentKind, Invoice, InvoiceLine, Series
from espacefamille.billing.invoicing import CarriedBalance
from espacefamille.billing.tariffs import QfChangeRule
from espacefamille.calendar.periods import DateRange
from espacefamille.errors import ConcurrentChange
from espacefamille.examples import example_commune
from espacefamille.model import BookedDays, Booking, BookingStatus, Family, Guardian, QuotientFamilial
from espacefamille.money import Money
from espacefamille.ports import AccountStore, CommuneStore, family_records_by_parts
from espacefamille.rules.attendance import AttendanceFact, AttendanceStatus
from espacefamille.rules.unpaid import UnpaidExemption
from espacefamille.testing.builders import attempt, child
from espacefamille.testing.conformance import StoreConformance

_FILES = itertools.count()


class TestSqliteStore(StoreConformance):
    @pytest.fixture(autouse=True)
    def _directory(self, tmp_path: Path) -> None:
        self.directory = tmp_path

    def make_store(self) -> CommuneStore:
        # hypothesis runs many examples in one test: each gets a fresh file.
        return SqliteStore(self.directory / f"commune-{next(_FILES)}.sqlite")

    def make_account_store(self) -> AccountStore:
        return SqliteAccountStore(self.directory / f"accounts-{next(_FILES)}.sqlite")


# -- what only a file on disk shows ------------------------------------------------------------

PARIS = zoneinfo.ZoneInfo("Europe/Paris")
REUNION = zoneinfo.ZoneInfo("Indian/Reunion")
NOVEMBER = DateRange.month(2026, 11)
# Wednesday 4 November 2026, a périscolaire Wednesday of the example commune.
WEDNESDAY = dt.date(2026, 11, 4)


def _pragma(path: Path, name: str) -> object:
    connection = sqlite3.connect(path)
    try:
        value: object = connection.execute(f"PRAGMA {name}").fetchone()[0]
    finally:
        connection.close()
    return value


def _martin() -> Family:
    payer = Guardian("g1", "Camille", "Martin", email="camille@example.fr")
    return Family(
        "F1",
        "Foyer Martin",
        (payer,),
        payer.id,
        quotients=(QuotientFamilial(Decimal("612.50"), dt.date(2026, 1, 1), dt.date(2026, 12, 31)),),
    )


def _hour_and_five_invoice() -> Invoice:
    # 1 h 05 of evening care at 2,40 € an hour: 65/60 of an hour, kept exact as minutes and quantity.
    line = InvoiceLine(
        "C1",
        "soir",
        "Accueil du soir",
        "attendance.present",
        (dt.date(2026, 11, 2),),
        quantity=Decimal("1.083333333333333333333333333"),
        unit_price=Decimal("2.40"),
        total=Money("2.60"),
        minutes=65,
    )
    return Invoice(
        "FAC-enfance-2026-000001",
        "enfance",
        "F1",
        DocumentKind.INVOICE,
        NOVEMBER,
        dt.date(2026, 12, 1),
        dt.date(2026, 12, 15),
        (line,),
    )


def test_a_new_file_records_its_schema_version(tmp_path: Path) -> None:
    SqliteStore(tmp_path / "commune.sqlite")
    SqliteAccountStore(tmp_path / "accounts.sqlite")
    assert _pragma(tmp_path / "commune.sqlite", "user_version") == SCHEMA_VERSION >= 1
    assert _pragma(tmp_path / "accounts.sqlite", "user_version") == ACCOUNTS_SCHEMA_VERSION >= 1


def test_the_file_is_in_wal_mode_and_units_of_work_enforce_foreign_keys(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "commune.sqlite")
    assert _pragma(tmp_path / "commune.sqlite", "journal_mode") == "wal"
    with store.unit_of_work() as uow:
        connection = uow._db
        assert connection.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        with pytest.raises(sqlite3.IntegrityError):
            connection.execute(
                "INSERT INTO guardians (family_id, position, id, first_name, last_name) "
                "VALUES ('nobody', 0, 'g1', 'Camille', 'Martin')"
            )


def _carried(family_id: str, amount: Money) -> CarriedBalance:
    line = _hour_and_five_invoice().lines[0]
    return CarriedBalance(family_id, "enfance", (line, attrs.evolve(line, total=amount)))


def _old_file(path: Path, version: int, *rows: str) -> None:
    """A commune file written by schema ``version`` of an earlier release, holding ``rows`` (INSERTs)."""
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        for statement in itertools.chain(*_COMMUNE_MIGRATIONS[:version]):
            connection.execute(statement)
        for row in rows:
            connection.execute(row)
        connection.execute(f"PRAGMA application_id = {_COMMUNE_APPLICATION_ID}")
        connection.execute(f"PRAGMA user_version = {version}")
    finally:
        connection.close()


_MARTIN_ROWS = (
    "INSERT INTO families VALUES ('F1', 'Foyer Martin', 'g1', 'resident', 0)",
    "INSERT INTO guardians VALUES ('F1', 0, 'g1', 'Camille', 'Martin', NULL, NULL)",
)


def test_a_version_1_file_is_migrated_and_its_carried_amounts_kept_as_one_line(tmp_path: Path) -> None:
    # A file of espacefamille's first schema, with amounts carried as bare cents at two régies.
    path = tmp_path / "commune.sqlite"
    _old_file(path, 1, "INSERT INTO carried VALUES ('enfance', 'F1', 780), ('loisirs', 'F2', 1405)")
    store = SqliteStore(path)
    assert _pragma(path, "user_version") == SCHEMA_VERSION == 11
    with store.unit_of_work() as uow:
        balances = {**uow.runs.carried("enfance"), **uow.runs.carried("loisirs")}
        # January's run, the first after the upgrade, starts from them.
        assert dict(uow.runs.carried("enfance", dt.date(2027, 1, 1))) == {"F1": balances["F1"]}
    assert {f: (b.regie_id, b.amount) for f, b in balances.items()} == {
        "F1": ("enfance", Money("7.80")),
        "F2": ("loisirs", Money("14.05")),
    }
    (line,) = balances["F1"].lines
    assert (
        line.label
        == line.explanation
        == "Report des périodes précédentes (sous le seuil de mise en recouvrement)"
    )
    assert (line.days, line.quantity, line.unit_price) == ((), Decimal(1), Decimal("7.80"))
    # The month after is billed as before the upgrade; its balance is recorded the new way.
    with store.unit_of_work() as uow:
        uow.runs.save_carried("enfance", DateRange.month(2027, 1), {"F1": None})
        uow.commit()
    with SqliteStore(path).unit_of_work() as uow:
        assert dict(uow.runs.carried("enfance")) == {}
        assert dict(uow.runs.carried("loisirs")) == {"F2": balances["F2"]}
        # The new table of online payments is there too.
        uow.online_payments.save(attempt("pay-1", "F1"))
        assert uow.online_payments.get("pay-1") == attempt("pay-1", "F1")


def test_a_version_2_file_is_migrated_and_its_quotients_keep_applying_from_their_valid_from(
    tmp_path: Path,
) -> None:
    # A file of the second schema, whose quotients had no reception date.
    path = tmp_path / "commune.sqlite"
    _old_file(
        path,
        2,
        *_MARTIN_ROWS,
        "INSERT INTO quotients VALUES ('F1', 0, '612.50', '2026-01-01', '2026-12-31', 'CAF')",
    )
    store = SqliteStore(path)
    assert _pragma(path, "user_version") == SCHEMA_VERSION == 11
    with store.unit_of_work() as uow:
        family = uow.families.get("F1")
        (quotient,) = family.quotients
        assert quotient.received_on is None
        assert family.quotient_on(dt.date(2026, 1, 1), QfChangeRule.NEXT_MONTH) == Decimal("612.50")
        # A new attestation, received on Tuesday 17 November 2026, is stored with its reception date.
        received = QuotientFamilial(
            Decimal(540), dt.date(2027, 1, 1), source="CAF", received_on=dt.date(2026, 11, 17)
        )
        uow.families.save(attrs.evolve(family, quotients=(quotient, received)))
        uow.commit()
    with SqliteStore(path).unit_of_work() as uow:
        assert [q.received_on for q in uow.families.get("F1").quotients] == [None, dt.date(2026, 11, 17)]


def test_a_version_4_file_is_migrated_and_keeps_an_agents_waiver_of_the_unpaid_block(tmp_path: Path) -> None:
    # A file of the fourth schema, which had no place for unpaid exemptions.
    path = tmp_path / "commune.sqlite"
    _old_file(path, 4, *_MARTIN_ROWS)
    store = SqliteStore(path)
    assert _pragma(path, "user_version") == SCHEMA_VERSION == 11
    # A payment plan agreed on Monday 2 November 2026, until the end of the year.
    plan = UnpaidExemption("agent.martin", dt.date(2026, 11, 2), dt.date(2026, 12, 31), "échéancier")
    with store.unit_of_work() as uow:
        assert uow.families.unpaid_exemption("F1") is None
        uow.families.save_unpaid_exemption("F1", plan)
        uow.commit()
    with SqliteStore(path).unit_of_work() as uow:
        assert uow.families.get("F1").name == "Foyer Martin"
        assert uow.families.unpaid_exemption("F1") == plan
    connection = sqlite3.connect(path)
    try:
        rows = connection.execute("SELECT since, until FROM unpaid_exemptions").fetchall()
    finally:
        connection.close()
    assert rows == [("2026-11-02", "2026-12-31")]  # dates as ISO text


def test_a_quotient_s_reception_date_survives_a_round_trip(tmp_path: Path) -> None:
    late = QuotientFamilial(
        Decimal("480"), dt.date(2026, 11, 1), source="MSA", received_on=dt.date(2026, 11, 17)
    )
    earlier = attrs.evolve(_martin().quotients[0], valid_until=dt.date(2026, 10, 31))
    family = attrs.evolve(_martin(), quotients=(earlier, late))
    store = SqliteStore(tmp_path / "commune.sqlite")
    with store.unit_of_work() as uow:
        uow.families.save(family)
        uow.commit()
    with SqliteStore(tmp_path / "commune.sqlite").unit_of_work() as uow:
        stored = uow.families.get("F1")
    assert stored == family
    assert stored.quotients[1].received_on == dt.date(2026, 11, 17)
    # Under a "next month" rule, November keeps the old QF.
    assert stored.quotient_on(dt.date(2026, 11, 30), QfChangeRule.NEXT_MONTH) == Decimal("612.50")
    assert stored.quotient_on(dt.date(2026, 12, 1), QfChangeRule.NEXT_MONTH) == Decimal(480)


def test_a_file_written_by_a_newer_schema_is_refused_and_left_untouched(tmp_path: Path) -> None:
    path = tmp_path / "commune.sqlite"
    store = SqliteStore(path)
    with store.unit_of_work() as uow:
        uow.families.save(_martin())
        uow.commit()
    connection = sqlite3.connect(path)
    connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    connection.execute("PRAGMA journal_mode = DELETE")
    connection.close()
    before = path.read_bytes()
    with pytest.raises(IncompatibleDatabase) as refused:
        SqliteStore(path)
    assert refused.value.code == "store.schema_too_new"
    assert "plus récente" in refused.value.message_fr
    assert path.read_bytes() == before
    assert _pragma(path, "journal_mode") == "delete"


def test_a_file_that_is_not_ours_is_refused(tmp_path: Path) -> None:
    text = tmp_path / "notes.sqlite"
    text.write_text("Liste des repas de novembre\n" * 100, encoding="utf-8")
    with pytest.raises(IncompatibleDatabase) as refused:
        SqliteStore(text)
    assert refused.value.code == "store.not_a_database"
    other = tmp_path / "other.sqlite"
    connection = sqlite3.connect(other)
    connection.execute("CREATE TABLE eleves (nom TEXT)")
    connection.close()
    with pytest.raises(IncompatibleDatabase) as foreign:
        SqliteStore(other)
    assert foreign.value.code == "store.foreign_database"
    SqliteAccountStore(tmp_path / "accounts.sqlite")
    with pytest.raises(IncompatibleDatabase):
        SqliteStore(tmp_path / "accounts.sqlite")


def test_reopening_the_file_reads_back_equal_values_in_their_own_zone(tmp_path: Path) -> None:
    path = tmp_path / "commune.sqlite"
    commune = example_commune()
    booked_at = dt.datetime(2026, 10, 30, 21, 45, 12, 500, tzinfo=REUNION)
    meal = Booking("C1", "journee", WEDNESDAY, "F1", BookingStatus.BOOKED, booked_at, paid=Money("14.05"))
    with SqliteStore(path).unit_of_work() as uow:
        uow.save_commune(commune)
        uow.families.save(_martin())
        uow.bookings.save([meal])
        uow.documents.save_invoice(_hour_and_five_invoice())
        uow.runs.save_carried("enfance", NOVEMBER, {"F1": _carried("F1", Money("14.99"))})
        uow.commit()
    with SqliteStore(path).unit_of_work() as uow:
        assert uow.commune() == commune
        assert uow.families.get("F1") == _martin()
        (read,) = uow.bookings.of_family("F1", NOVEMBER)
        assert read == meal
        assert isinstance(read.booked_at.tzinfo, zoneinfo.ZoneInfo)
        assert read.booked_at.tzinfo.key == "Indian/Reunion"
        assert read.booked_at.hour == 21
        assert uow.documents.invoice("FAC-enfance-2026-000001") == _hour_and_five_invoice()
        assert uow.documents.invoice("FAC-enfance-2026-000001").lines[0].quantity == Decimal(
            "1.083333333333333333333333333"
        )
        assert dict(uow.runs.carried("enfance")) == {"F1": _carried("F1", Money("14.99"))}


def test_money_is_stored_as_whole_cents_and_quotients_as_exact_text(tmp_path: Path) -> None:
    path = tmp_path / "commune.sqlite"
    booked_at = dt.datetime(2026, 10, 20, 18, 30, tzinfo=PARIS)
    with SqliteStore(path).unit_of_work() as uow:
        uow.families.save(_martin())
        uow.bookings.save(
            [Booking("C1", "journee", WEDNESDAY, "F1", BookingStatus.BOOKED, booked_at, Money("0.10"))]
        )
        uow.documents.save_invoice(_hour_and_five_invoice())
        uow.commit()
    connection = sqlite3.connect(path)
    try:
        assert connection.execute("SELECT paid_cents, typeof(paid_cents) FROM bookings").fetchall() == [
            (10, "integer")
        ]
        assert connection.execute("SELECT total_cents, unit_price FROM invoice_lines").fetchall() == [
            (260, "2.40")
        ]
        assert connection.execute("SELECT value FROM quotients").fetchall() == [("612.50",)]
        assert connection.execute("SELECT booked_at FROM bookings").fetchall() == [
            ("2026-10-20T16:30:00.000000Z[Europe/Paris]",)
        ]
    finally:
        connection.close()


def test_a_line_s_days_are_stored_compactly_and_full_dates_of_older_files_read_the_same(
    tmp_path: Path,
) -> None:
    # Meals of Monday 30 November, Tuesday 1 and Thursday 3 December 2026, then Monday 4 January 2027.
    days = (dt.date(2026, 11, 30), dt.date(2026, 12, 1), dt.date(2026, 12, 3), dt.date(2027, 1, 4))
    invoice = _hour_and_five_invoice()
    (line,) = invoice.lines
    invoice = attrs.evolve(invoice, lines=(attrs.evolve(line, days=days),))
    path = tmp_path / "commune.sqlite"
    store = SqliteStore(path)
    with store.unit_of_work() as uow:
        uow.families.save(_martin())
        uow.documents.save_invoice(invoice)
        uow.commit()
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        assert connection.execute("SELECT days FROM invoice_lines").fetchall() == [
            ("2026-11-30,12-01,03,2027-01-04",)
        ]
        with store.unit_of_work() as uow:
            assert uow.documents.invoice(invoice.number) == invoice
        # A line written before schema version 7 lists its days in full.
        connection.execute("UPDATE invoice_lines SET days = '2026-11-30,2026-12-01,2026-12-03,2027-01-04'")
    finally:
        connection.close()
    with store.unit_of_work() as uow:
        assert uow.documents.invoice(invoice.number) == invoice


def test_month_end_billing_streams_families_while_writing_their_invoices(tmp_path: Path) -> None:
    # More households than one batch of the stream: every one is seen once, in order, and invoiced.
    store = SqliteStore(tmp_path / "commune.sqlite")
    ids = [f"F{n:04d}" for n in range(1_234)]
    with store.unit_of_work() as uow:
        for family_id in reversed(ids):
            payer = Guardian(f"{family_id}-g", "Camille", "Martin")
            uow.families.save(Family(family_id, "Foyer", (payer,), payer.id))
        uow.commit()
    with store.unit_of_work() as uow:
        seen = []
        for number, family in enumerate(uow.families.all(), start=1):
            seen.append(family.id)
            invoice = attrs.evolve(
                _hour_and_five_invoice(), number=f"FAC-enfance-2026-{number:06d}", family_id=family.id
            )
            uow.documents.save_invoice(invoice)
        uow.commit()
    assert seen == ids
    with store.unit_of_work() as uow:
        assert [i.number for i in uow.documents.invoices_of("F1233")] == ["FAC-enfance-2026-001234"]


def test_a_prepared_unit_of_work_does_not_block_another_writer(tmp_path: Path) -> None:
    # Writes wait for commit: a family portal preparing a basket never holds the lock others need.
    store = SqliteStore(tmp_path / "commune.sqlite")
    with store.unit_of_work() as slow:
        slow.families.save(_martin())
        with store.unit_of_work() as quick:
            quick.runs.save_carried("enfance", NOVEMBER, {"F2": _carried("F2", Money("3.10"))})
            quick.commit()
        slow.commit()
    with store.unit_of_work() as uow:
        assert uow.families.get("F1") == _martin()
        assert dict(uow.runs.carried("enfance")) == {"F2": _carried("F2", Money("3.10"))}


def test_an_invoice_number_taken_meanwhile_is_a_conflict_to_retry(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "commune.sqlite")
    mine = _hour_and_five_invoice()
    theirs = attrs.evolve(mine, family_id="F2")
    with store.unit_of_work() as late:
        _, number = late.documents.numbering().next("enfance", 2026, Series.INVOICE)
        with store.unit_of_work() as quick:
            quick.documents.save_numbering(
                quick.documents.numbering().next("enfance", 2026, Series.INVOICE)[0]
            )
            quick.documents.save_invoice(theirs)
            quick.commit()
        assert number == mine.number
        # The unit of work reads one snapshot, where the number is still free: the conflict is found when
        # it takes the write lock (here at commit), and nothing of it is written.
        late.documents.save_invoice(mine)
        with pytest.raises(ConcurrentChange):
            late.commit()
    with store.unit_of_work() as uow:
        assert uow.documents.invoice(mine.number) == theirs


def test_month_end_seeks_each_family_s_month_in_an_index_that_needs_no_sort(tmp_path: Path) -> None:
    path = tmp_path / "commune.sqlite"
    SqliteStore(path)
    connection = sqlite3.connect(path)
    try:
        plans = [
            " ".join(str(row[3]) for row in connection.execute(f"EXPLAIN QUERY PLAN {query}", arguments))
            for query, arguments in (
                (_runs_query(2, True), ("F1", "F2", "2026-11-01", "2026-11-30", "2026-11")),
                (_runs_query(2, False), ("F1", "F2", "2026-10-26", "2026-11-06")),
            )
        ]
    finally:
        connection.close()
    one_month, across_months = plans
    # Each family, then the month, is an equality: the runs come in order, whatever else the file holds.
    assert "COVERING INDEX bookings_by_month (family_id=? AND " in one_month
    assert "TEMP B-TREE" not in one_month
    # A period across months still seeks its days in each family (and sorts them into runs).
    assert "PRIMARY KEY (family_id=? AND day>? AND day<?)" in across_months


def _school_days(month: DateRange) -> list[dt.date]:
    # Monday, Tuesday, Thursday and Friday: the four days of a French school week.
    return [day for day in month if day.isoweekday() in (1, 2, 4, 5)]


def _school_year_store(path: Path, months: list[DateRange]) -> SqliteStore:
    """Households F1–F3, two children each, booked for every school day of ``months``: the meal, the
    morning care (cancelled) and the evening care (booked late, with a surcharge)."""
    store = SqliteStore(path)
    booked_at = dt.datetime(2026, 8, 28, 18, 30, tzinfo=PARIS)
    with store.unit_of_work() as uow:
        for family_id in ("F1", "F2", "F3"):
            uow.families.save(attrs.evolve(_martin(), id=family_id))
            children = [child(f"{family_id}-C{n}", family_id) for n in (1, 2)]
            for kid in children:
                uow.families.save_child(kid)
            uow.bookings.save(
                Booking(kid.id, prestation, day, family_id, status, booked_at, surcharge_code=surcharge)
                for kid in children
                for month in months
                for day in _school_days(month)
                for prestation, status, surcharge in (
                    ("repas", BookingStatus.BOOKED, None),
                    ("matin", BookingStatus.CANCELLED, None),
                    ("soir", BookingStatus.BOOKED, "after_deadline.surcharge"),
                )
            )
            uow.attendance.save(
                [
                    AttendanceFact(children[0].id, "repas", day, AttendanceStatus.ABSENT_JUSTIFIED)
                    for month in months
                    for day in _school_days(month)[:2]
                ],
                family_id,
            )
        uow.commit()
    return store


def test_a_file_holding_october_and_november_gives_month_end_only_november_s_runs(tmp_path: Path) -> None:
    october = DateRange.month(2026, 10)
    store = _school_year_store(tmp_path / "commune.sqlite", [october, NOVEMBER])
    with store.unit_of_work() as uow:
        records = list(uow.runs.family_records(NOVEMBER))
        # Friday 30 October to Friday 6 November: across the two months, each run still holds its days.
        across = DateRange(dt.date(2026, 10, 30), dt.date(2026, 11, 6))
        across_records = list(uow.runs.family_records(across))
        assert records == list(family_records_by_parts(uow, NOVEMBER))
        assert across_records == list(family_records_by_parts(uow, across))
    assert [r.family.id for r in records] == ["F1", "F2", "F3"]
    martin = records[0]
    november = tuple(_school_days(NOVEMBER))
    assert martin.bookings == tuple(
        BookedDays(kid, prestation, status, november, surcharge)
        for kid in ("F1-C1", "F1-C2")
        for prestation, status, surcharge in (
            ("matin", BookingStatus.CANCELLED, None),
            ("repas", BookingStatus.BOOKED, None),
            ("soir", BookingStatus.BOOKED, "after_deadline.surcharge"),
        )
    )
    # Monday 2 and Tuesday 3 November, not 1 and 2 October.
    assert [f.day for f in martin.attendance] == [dt.date(2026, 11, 2), dt.date(2026, 11, 3)]
    friday, monday = dt.date(2026, 10, 30), dt.date(2026, 11, 2)
    assert across_records[0].bookings[1] == BookedDays(
        "F1-C1", "repas", BookingStatus.BOOKED, (friday, monday, *november[1:4])
    )


def _steps_to_read(store: SqliteStore, period: DateRange) -> int:
    """How many instructions SQLite's engine runs to read every family's ``period``."""
    steps = 0

    def count() -> int:
        nonlocal steps
        steps += 1
        return 0  # carry on

    with store.unit_of_work() as uow:
        uow._db.set_progress_handler(count, 1)
        list(uow.runs.family_records(period))
    return steps


def test_reading_november_costs_the_same_whatever_other_months_the_file_holds(tmp_path: Path) -> None:
    # A commune keeps the school year in its file: September 2026 to June 2027.
    school_year = [DateRange.month(2026 + (month < 9), month) for month in (9, 10, 11, 12, 1, 2, 3, 4, 5, 6)]
    just_november = _school_year_store(tmp_path / "november.sqlite", [NOVEMBER])
    whole_year = _school_year_store(tmp_path / "year.sqlite", school_year)
    alone = _steps_to_read(just_november, NOVEMBER)
    assert (
        _steps_to_read(whole_year, NOVEMBER) < alone * 1.1
    )  # ten months of bookings, not ten times the work


def test_a_version_5_file_is_migrated_and_reads_a_month_of_bookings_from_its_new_index(
    tmp_path: Path,
) -> None:
    # A file of the fifth schema, whose run index read every month of a family.
    path = tmp_path / "commune.sqlite"
    booked_at = "'2026-10-20T16:30:00.000000Z[Europe/Paris]'"
    _old_file(
        path,
        5,
        *_MARTIN_ROWS,
        *(
            f"INSERT INTO bookings VALUES ('F1', '{day}', 'C1', 'repas', 'booked', {booked_at}, NULL, NULL)"
            for day in ("2026-10-30", "2026-11-03", "2026-11-02", "2026-12-01")
        ),
    )
    store = SqliteStore(path)
    assert _pragma(path, "user_version") == SCHEMA_VERSION == 11
    connection = sqlite3.connect(path)
    try:
        indexes = connection.execute(
            "SELECT name FROM sqlite_master "
            "WHERE type = 'index' AND tbl_name = 'bookings' AND sql IS NOT NULL ORDER BY name"
        ).fetchall()
    finally:
        connection.close()
    assert indexes == [("bookings_by_key",), ("bookings_by_month",), ("bookings_by_prestation",)]
    with store.unit_of_work() as uow:
        (martin,) = uow.runs.family_records(NOVEMBER)
    assert martin.bookings == (
        BookedDays("C1", "repas", BookingStatus.BOOKED, (dt.date(2026, 11, 2), dt.date(2026, 11, 3))),
    )


def test_a_version_8_file_is_migrated_and_its_attendance_has_no_reason_until_one_is_recorded(
    tmp_path: Path,
) -> None:
    # A file of the eighth schema, before an attendance fact could carry the commune's own reason.
    path = tmp_path / "commune.sqlite"
    _old_file(
        path,
        8,
        *_MARTIN_ROWS,
        "INSERT INTO attendance (family_id, day, child_id, prestation_id, status, recorded_by, recorded_at, "
        "note) VALUES ('F1', '2026-11-12', 'C1', 'repas', 'present', NULL, NULL, 'Sortie au musée.')",
    )
    store = SqliteStore(path)
    assert _pragma(path, "user_version") == SCHEMA_VERSION == 11
    with store.unit_of_work() as uow:
        (kept,) = uow.attendance.of_family("F1", NOVEMBER)
        assert (kept.note, kept.reason) == ("Sortie au musée.", None)
        uow.attendance.save([attrs.evolve(kept, reason="sortie_scolaire")], "F1")
        uow.commit()
    with store.unit_of_work() as uow:
        assert [fact.reason for fact in uow.attendance.of_family("F1", NOVEMBER)] == ["sortie_scolaire"]
