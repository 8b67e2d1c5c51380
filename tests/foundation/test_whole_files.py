"""Files written whole (bot.base.files.replaced): the old file until the new one is
complete, and nothing left behind when writing fails."""

from __future__ import annotations

from pathlib import Path

import pytest

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
