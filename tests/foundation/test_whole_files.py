"""Files written whole (bot.base.files.replaced, bot.base.sqlitefile.anew): the old file
until the new one is complete, and nothing left behind when writing fails."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.base import sqlitefile
from bot.base.files import replaced, stamp


def test_the_file_is_replaced_once_written(tmp_path: Path) -> None:
    path = tmp_path / "state" / "people.csv"
    assert stamp(path) == "absent"
    with replaced(path) as out:
        out.write("id\nalice\n")
        assert not path.exists()  # nobody sees half a file
    assert path.read_text(encoding="utf-8") == "id\nalice\n"
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    before = stamp(path)
    with replaced(path, binary=True) as out:
        out.write(b"id\nbob\n")
    assert stamp(path) != before and path.read_bytes() == b"id\nbob\n"


def test_a_failed_write_keeps_the_old_file_and_leaves_nothing_behind(tmp_path: Path) -> None:
    path = tmp_path / "people.csv"
    path.write_text("id\nalice\n", encoding="utf-8")
    with pytest.raises(RuntimeError), replaced(path) as out:
        out.write("id\nhalf")
        raise RuntimeError("disk full")
    assert path.read_text(encoding="utf-8") == "id\nalice\n"
    assert [p.name for p in tmp_path.iterdir()] == ["people.csv"]


SCHEMA = "CREATE TABLE IF NOT EXISTS row (id TEXT PRIMARY KEY);"


def test_a_sqlite_file_written_anew_replaces_the_old_only_when_complete(tmp_path: Path) -> None:
    path = tmp_path / "state" / "sync-state.db"
    assert sqlitefile.opened(path, SCHEMA) is None
    with sqlitefile.anew(path, SCHEMA) as db:
        db.execute("INSERT INTO row VALUES ('alice')")
        sqlitefile.write_head(db, {"version": "1"})
        assert not path.exists()
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    found = sqlitefile.opened(path, SCHEMA)
    assert found is not None and found[1] == {"version": "1"}
    kept = found[0]
    with pytest.raises(RuntimeError), sqlitefile.anew(path, SCHEMA) as db:
        db.execute("INSERT INTO row VALUES ('bob')")
        raise RuntimeError("disk full")
    assert [p.name for p in path.parent.iterdir()] == ["sync-state.db"]
    with pytest.raises(RuntimeError), sqlitefile.transaction(kept) as db:
        db.execute("INSERT INTO row VALUES ('carol')")
        raise RuntimeError("interrupted")
    assert [r for (r,) in kept.execute("SELECT id FROM row")] == ["alice"]
    kept.close()


def test_a_file_that_is_not_such_a_database_is_none(tmp_path: Path) -> None:
    path = tmp_path / "ldap-snapshot.db"
    path.write_text("{not json", encoding="utf-8")
    assert sqlitefile.opened(path, SCHEMA) is None
