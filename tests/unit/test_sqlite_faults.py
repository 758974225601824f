"""SQLite's faults, made for real, come out as the library's ``StoreUnavailable`` with a stable code, and
nothing half-written: a writer that waits for the lock past the busy timeout, a read-only file or folder
(refused when the store is opened), a disk that fills up or a file size limit, an unreachable folder."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from espacefamille.adapters.sqlite import SqliteAccountStore, SqliteStore
from espacefamille.adapters.sqlite.schema import _store_error
from espacefamille.errors import StoreUnavailable
from espacefamille.examples import example_commune
from espacefamille.families.accounts import Account
from espacefamille.testing.builders import family

SRC = Path(__file__).resolve().parents[2] / "src"


def _commune_store(path: Path, **kwargs: float) -> SqliteStore:
    store = SqliteStore(path, **kwargs)
    with store.unit_of_work() as uow:
        uow.save_commune(example_commune())
        uow.families.save(family("F1"))
        uow.commit()
    return store


def _families(store: SqliteStore) -> list[str]:
    with store.unit_of_work() as uow:
        return sorted(f.id for f in uow.families.all())


# -- the lock --------------------------------------------------------------------------------------


def test_a_write_waiting_for_the_lock_past_the_timeout_is_store_locked(tmp_path: Path) -> None:
    store = _commune_store(tmp_path / "commune.sqlite", busy_timeout=0.2)
    other = sqlite3.connect(tmp_path / "commune.sqlite", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process's month-end run holds the write lock
    try:
        started = time.monotonic()
        with store.unit_of_work() as uow:
            uow.families.save(family("F2"))
            with pytest.raises(StoreUnavailable) as caught:
                uow.commit()
        assert time.monotonic() - started < 5
        assert caught.value.code == "store.locked"
        assert "réessayez" in caught.value.message_fr
        assert caught.value.details["path"] == str(tmp_path / "commune.sqlite")
        assert isinstance(caught.value.__cause__, sqlite3.OperationalError)
        assert _families(store) == ["F1"]  # reads do not wait for a writer
    finally:
        other.execute("ROLLBACK")
        other.close()
    with store.unit_of_work() as uow:  # the lock released, the same write goes through
        uow.families.save(family("F2"))
        uow.commit()
    assert _families(store) == ["F1", "F2"]


def test_the_accounts_store_waiting_for_the_lock_is_store_locked_too(tmp_path: Path) -> None:
    accounts = SqliteAccountStore(tmp_path / "accounts.sqlite", busy_timeout=0.2)
    other = sqlite3.connect(tmp_path / "accounts.sqlite", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(StoreUnavailable) as caught:
            accounts.save_account(Account("acc-1", "claire@example.fr"))
        assert caught.value.code == "store.locked"
    finally:
        other.execute("ROLLBACK")
        other.close()


# -- files and folders -----------------------------------------------------------------------------


def _run(script: str, *arguments: str) -> str:
    """Run ``script`` in a fresh interpreter that cannot write read-only files (as root: without the
    capabilities that let root ignore file permissions); what it prints."""
    command = [sys.executable, "-c", textwrap.dedent(script), *arguments]
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        if setpriv is None:  # pragma: no cover - depends on the machine
            pytest.skip("running as root without setpriv: file permissions cannot be enforced")
        dropped = "-dac_override,-dac_read_search"
        command = [setpriv, f"--bounding-set={dropped}", f"--inh-caps={dropped}", *command]
    result = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(SRC)},
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


_OPEN = """
    import sys
    from espacefamille.adapters.sqlite import SqliteAccountStore, SqliteStore
    from espacefamille.errors import StoreUnavailable
    for make in (SqliteStore, SqliteAccountStore):
        try:
            make(sys.argv[1])
        except StoreUnavailable as error:
            print(error.code, end=" ")
        else:
            print("opened", end=" ")
"""


def test_a_read_only_database_file_is_refused_when_the_store_is_opened(tmp_path: Path) -> None:
    path = tmp_path / "commune.sqlite"
    _commune_store(path)
    SqliteAccountStore(tmp_path / "accounts.sqlite")
    for name in ("commune.sqlite", "commune.sqlite-wal", "commune.sqlite-shm", "accounts.sqlite"):
        if (tmp_path / name).exists():
            (tmp_path / name).chmod(0o444)
    assert _run(_OPEN, str(path)).split()[0] == "store.read_only"
    assert _run(_OPEN, str(tmp_path / "accounts.sqlite")).split()[1] == "store.read_only"


def test_a_database_in_a_read_only_folder_is_refused_when_the_store_is_opened(tmp_path: Path) -> None:
    folder = tmp_path / "lecture-seule"
    folder.mkdir()
    _commune_store(folder / "commune.sqlite")
    folder.chmod(0o555)
    try:
        assert _run(_OPEN, str(folder / "commune.sqlite")).split()[0] == "store.read_only"
        assert _run(_OPEN, str(folder / "nouvelle.sqlite")).split() == ["store.read_only", "store.read_only"]
    finally:
        folder.chmod(0o755)


def test_a_database_in_a_missing_or_unreachable_folder_cannot_be_opened(tmp_path: Path) -> None:
    with pytest.raises(StoreUnavailable) as caught:
        SqliteStore(tmp_path / "absent" / "commune.sqlite")
    assert caught.value.code == "store.cannot_open"
    assert "introuvable" in caught.value.message_fr
    hidden = tmp_path / "cache"
    hidden.mkdir()
    _commune_store(hidden / "commune.sqlite")
    hidden.chmod(0o000)
    try:
        assert _run(_OPEN, str(hidden / "commune.sqlite")).split() == [
            "store.cannot_open",
            "store.cannot_open",
        ]
    finally:
        hidden.chmod(0o755)


# -- the disk --------------------------------------------------------------------------------------

_FILL = """
    import os, resource, signal, sys
    from espacefamille.adapters.sqlite import SqliteStore
    from espacefamille.errors import StoreUnavailable
    from espacefamille.testing.builders import family
    path = sys.argv[1]
    store = SqliteStore(path)
    if len(sys.argv) > 2:  # a file size limit a little above what the files hold now
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        limit = os.path.getsize(path) + 20_000
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    try:
        for i in range(2, 5000):
            with store.unit_of_work() as uow:
                uow.families.save(family(f"F{i}", "x" * 900))
                uow.commit()
    except StoreUnavailable as error:
        print(error.code, i)
"""


def test_a_file_size_limit_reached_mid_write_is_a_store_error_and_writes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "commune.sqlite"
    store = _commune_store(path)
    code, failed_at = _run(_FILL, str(path), "limit").split()
    assert code == "store.io_error"
    saved = _families(store)  # read back without the limit: every commit before the failure, and no more
    assert len(saved) == int(failed_at) - 1
    assert f"F{failed_at}" not in saved


def test_a_full_disk_is_store_disk_full(tmp_path: Path) -> None:
    mount = tmp_path / "petit-disque"
    mount.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=600k", "tmpfs", str(mount)], capture_output=True, check=False
    )
    if mounted.returncode != 0:
        pytest.skip("cannot mount a small tmpfs here (not root); the file size limit test covers the disk")
    try:
        path = mount / "commune.sqlite"
        store = _commune_store(path)
        code, failed_at = _run(_FILL, str(path)).split()
        assert code == "store.disk_full"
        assert len(_families(store)) == int(failed_at) - 1
    finally:
        subprocess.run(["umount", str(mount)], check=False)


@pytest.mark.parametrize(
    ("sqlite_code", "code"),
    [
        (sqlite3.SQLITE_BUSY, "store.locked"),
        (sqlite3.SQLITE_READONLY, "store.read_only"),
        (sqlite3.SQLITE_FULL, "store.disk_full"),
        (sqlite3.SQLITE_IOERR | (4 << 8), "store.io_error"),
        (sqlite3.SQLITE_CANTOPEN, "store.cannot_open"),
        (sqlite3.SQLITE_CORRUPT, "store.error"),
    ],
)
def test_each_sqlite_fault_has_its_code_and_a_french_message(sqlite_code: int, code: str) -> None:
    error = sqlite3.OperationalError("what SQLite said")
    error.sqlite_errorcode = sqlite_code
    translated = _store_error(error, Path("commune.sqlite"), 60)
    assert translated.code == code
    assert translated.message_fr.endswith(".")
    assert "(e)" not in translated.message_fr
    assert isinstance(translated, OSError)


def test_a_healthy_store_still_opens_and_reopens(tmp_path: Path) -> None:
    store = _commune_store(tmp_path / "commune.sqlite")
    assert _families(SqliteStore(store.path)) == ["F1"]


def test_opening_checks_the_file_and_its_folder_as_this_process_may_use_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # In-process, whoever runs the tests: what os.access answers decides.
    path = tmp_path / "commune.sqlite"
    _commune_store(path)
    real = os.access
    denied: set[tuple[Path, int]] = set()

    def access(target: object, mode: int) -> bool:
        if any(Path(str(target)) == p and mode & m for p, m in denied):
            return False
        return real(target, mode)  # type: ignore[arg-type]

    monkeypatch.setattr("espacefamille.adapters.sqlite.schema.os.access", access)
    denied.add((path, os.W_OK))
    with pytest.raises(StoreUnavailable) as caught:
        SqliteStore(path)
    assert caught.value.code == "store.read_only"
    denied.clear()
    denied.add((tmp_path, os.W_OK))  # a folder that cannot be written
    with pytest.raises(StoreUnavailable) as caught:
        SqliteStore(tmp_path / "nouvelle.sqlite")
    assert caught.value.code == "store.read_only"
    holder = sqlite3.connect(path)  # while a connection is open, the -wal and -shm files are there
    holder.execute("SELECT count(*) FROM families").fetchone()
    try:
        assert _families(SqliteStore(path)) == ["F1"]
    finally:
        holder.close()
    denied.add((path, os.R_OK))
    with pytest.raises(StoreUnavailable) as caught:
        SqliteStore(path)
    assert caught.value.code == "store.cannot_open"


def test_creating_a_store_while_another_process_holds_the_file_s_lock_is_store_locked(tmp_path: Path) -> None:
    path = tmp_path / "commune.sqlite"
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("CREATE TABLE other_tool (x)")
    other.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(StoreUnavailable) as caught:
            SqliteStore(path, busy_timeout=0.1)
        assert caught.value.code == "store.locked"
    finally:
        other.execute("ROLLBACK")
        other.close()
