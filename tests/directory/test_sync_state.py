"""The kept state of the last applied sync (bot/sync_state.py) and the check of a sync that
worked out only some rows against it: the same problems, in the same order, with the same
line numbers, as the check of the whole file."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.app import load_config
from bot.base.config import Settings
from bot.directory import PEOPLE_COLUMNS
from bot.directory_sync import Rows, check
from bot.people_sources import read_rows
from bot.sync_state import State, load, save
from tests.configs import ROOT, config_file

Row = dict[str, str]
HEAD = {"synced": "file-1", "shape": "shape-1"}


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_config(config_file(tmp_path))


def _demo() -> dict[str, Row]:
    rows = read_rows(ROOT / "directory" / "people.csv")
    return {pid: {c: row.get(c, "") for c in PEOPLE_COLUMNS} for pid, row in rows.items()}


def _kept(tmp_path: Path, rows: dict[str, Row]) -> State:
    path = tmp_path / "sync-state.db"
    save(path, None, rows.items(), {"csv": {"alice": "d1"}}, HEAD, PEOPLE_COLUMNS)
    state = load(path, HEAD["synced"], HEAD["shape"], PEOPLE_COLUMNS)
    assert state is not None
    return state


def test_the_state_is_trusted_only_for_the_file_and_settings_it_was_applied_to(
    tmp_path: Path,
) -> None:
    base = _demo()
    state = _kept(tmp_path, base)
    assert state["alice"] == base["alice"] and "nobody" not in state
    assert len(state) == len(base) and state.seen() == {"csv": {"alice": "d1"}}
    state.close()
    path = tmp_path / "sync-state.db"
    assert load(path, "another-file", HEAD["shape"], PEOPLE_COLUMNS) is None
    assert load(path, HEAD["synced"], "other-settings", PEOPLE_COLUMNS) is None
    assert load(path, HEAD["synced"], HEAD["shape"], PEOPLE_COLUMNS[:-1]) is None
    path.write_text("not a database", encoding="utf-8")
    assert load(path, HEAD["synced"], HEAD["shape"], PEOPLE_COLUMNS) is None


def test_only_the_changed_rows_are_written_back_and_the_file_lines_follow(
    tmp_path: Path,
) -> None:
    base = _demo()
    state = _kept(tmp_path, base)
    rows = Rows(state)
    rows["aaron"] = {**base["alice"], "id": "aaron", "email": "aaron@example.com"}
    rows["bob"] = {**base["bob"], "title": 'Night, "Shift" Lead'}
    lines = list(rows.lines())
    assert [pid for pid, _ in lines] == sorted([*base, "aaron"])
    assert lines[0][1].startswith("aaron,") and '"Night, ""Shift"" Lead"' in dict(lines)["bob"]
    assert rows.line("aaron") == 2 and rows.line("alice") == 4  # after alex
    save(tmp_path / "sync-state.db", state, rows.new.items(), {}, HEAD, PEOPLE_COLUMNS)
    assert state["bob"]["title"] == 'Night, "Shift" Lead' and "aaron" in state
    assert state.seen() == {"csv": {"alice": "d1"}}  # a source not read now keeps its own
    # Fingerprints read before are changed in place: new, changed and gone ones.
    save(
        tmp_path / "sync-state.db",
        state,
        [],
        {"csv": {"alice": "d2", "bob": "d3"}},
        HEAD,
        PEOPLE_COLUMNS,
    )
    assert state.seen() == {"csv": {"alice": "d2", "bob": "d3"}}
    save(tmp_path / "sync-state.db", state, [], {"csv": {"bob": "d3"}}, HEAD, PEOPLE_COLUMNS)
    assert state.seen() == {"csv": {"bob": "d3"}}
    state.close()


def test_the_check_of_the_changed_rows_is_the_check_of_the_whole_file(
    tmp_path: Path, settings: Settings
) -> None:
    base = _demo()
    state = _kept(tmp_path, base)
    new = {
        # An email someone else has, in another case: told on the later row, Bob's.
        "bob": {**base["bob"], "email": "Alice@Example.com"},
        # A new person coming first in the file takes Dana's Slack id: told on Dana's row,
        # which did not change, naming the new first line.
        "aaron": {**base["alice"], "id": "aaron", "email": "a@x.org", "slack_id": "U0DANA"},
        "wang.fang": {**base["wang.fang"], "manager": "zed"},  # nobody
        "priya": {**base["priya"], "manager": "mark"},  # mark's manager is priya: a circle
        # Someone who left may share an email: nobody is known by a leaver's.
        "sam": {**base["sam"], "active": "false", "email": base["chen.jie"]["email"]},
        "li.wei": {**base["li.wei"], "delegate": "li.wei"},
    }
    rows = Rows(state)
    for pid, row in new.items():
        rows[pid] = row
    whole = {**base, **new}
    told = check(settings, rows, set(new))
    assert told == check(settings, whole, set(new))
    assert "bob: email: 'Alice@Example.com' is also on line 4 (alice)" in told
    assert "dana: slack_id: 'U0DANA' is also on line 2 (aaron)" in told
    assert "wang.fang: manager: 'zed' is not a person in this file" in told
    assert "li.wei: delegate: 'li.wei' is this person: nobody is their own delegate" in told
    assert any(t.startswith("mark: manager: managers go round in a circle") for t in told)
    assert not any(t.startswith("sam:") or "chen.jie@" in t for t in told)
    assert rows.active_count() == sum(1 for r in whole.values() if r["active"] != "false")
    state.close()
