"""`deskbot doctor` without chat platforms: config, database and schema, time zones,
calendars and the ops listener; what it prints and its exit status. (Slack and Telegram:
tests/slack/test_doctor.py, tests/telegram/test_doctor.py.)"""

from __future__ import annotations

import asyncio
import json
import shutil
import socket
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from aiohttp import web
from sqlalchemy import text

from bot import checkup
from bot.app import load_config
from bot.base.config import BusinessHours, Settings
from bot.base.findings import Finding
from bot.cli import main
from bot.cli.doctor import diagnose
from bot.directory import Person
from store.db import Store
from tests.configs import config_file
from tests.conftest import empty_postgres_schema

MONDAY = date(2026, 11, 23)


@pytest.fixture
def sqlite_url(sqlite_template: Path, tmp_path: Path) -> str:
    target = tmp_path / "deskbot.db"
    shutil.copyfile(sqlite_template, target)
    return f"sqlite:///{target}"


def problems(found: list[Finding], check: str | None = None) -> list[Finding]:
    return [f for f in found if not f.ok and check in (None, f.check)]


def test_a_healthy_desk_exits_zero_and_prints_json(
    tmp_path: Path,
    sqlite_url: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
):
    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    for name in ("SLACK_BOT_TOKEN", "TELEGRAM_BOT_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    config = config_file(tmp_path)
    assert main(["doctor", "--config", str(config), "--format", "json"]) == 0
    told = json.loads(capsys.readouterr().out)
    assert told["ok"] is True
    checks = {c["check"] for c in told["checks"]}
    assert checks == {
        "config",
        "content",
        "database",
        "schema",
        "attachments",
        "slack",
        "telegram",
        "time zones",
        "calendars",
        "ops",
    }


def test_problems_print_their_fix_and_exit_one(
    tmp_path: Path,
    sqlite_url: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
):
    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    config = config_file(tmp_path, {"business_hours": {"default": {"holidays": "XX"}}})
    assert main(["doctor", "--config", str(config)]) == 1
    out = capsys.readouterr().out
    assert "PROBLEM  calendars    business_hours.default.holidays: 'XX' is not known" in out
    assert "fix: set business_hours.default.holidays to a country code such as GB" in out
    assert out.rstrip().endswith("1 problem found.")


def test_a_broken_config_is_named_by_line(tmp_path: Path):
    config = config_file(tmp_path)
    config.write_text(config.read_text() + "ticket_start: lots\n")
    [finding] = diagnose(config, {}, MONDAY)
    assert finding.check == "config" and not finding.ok
    assert f"{config}:" in finding.detail and "ticket_start" in finding.detail


def test_people_file_problems_are_reported_and_the_rest_still_checked(
    tmp_path: Path, sqlite_url: str
):
    people = tmp_path / "people.csv"
    rows = (Path(__file__).resolve().parents[2] / "directory" / "people.csv").read_text()
    people.write_text(
        rows.replace("Europe/London,Account Executive", "Mars/Olympus,Account Executive")
    )
    config = config_file(tmp_path, {"paths": {"people": str(people)}})
    found = diagnose(config, {"DATABASE_URL": sqlite_url}, MONDAY)
    [bad] = problems(found)
    assert bad.check == "content" and "people.csv:2" in bad.detail and "Mars/Olympus" in bad.detail
    assert {f.check for f in found} >= {"database", "schema", "calendars", "ops"}


# ---- database and schema ----------------------------------------------------------------------


@pytest.fixture
def empty_postgres() -> Iterator[str]:
    with empty_postgres_schema() as url:
        yield url


def test_postgres_without_the_schema_says_run_db_upgrade(tmp_path: Path, empty_postgres: str):
    config = config_file(tmp_path)
    found = diagnose(config, {"DATABASE_URL": empty_postgres}, MONDAY)
    [bad] = problems(found)
    assert bad.check == "schema" and bad.detail.startswith("at revision none, this release needs")
    assert "run `deskbot db upgrade`" in bad.fix
    store = Store(empty_postgres)
    store.upgrade()
    store.dispose()
    assert problems(diagnose(config, {"DATABASE_URL": empty_postgres}, MONDAY)) == []


def test_unreachable_postgres_is_a_problem_not_a_crash(tmp_path: Path):
    config = config_file(tmp_path)
    url = "postgresql://deskbot:secret-pw@127.0.0.1:9/deskbot"
    found = diagnose(config, {"DATABASE_URL": url}, MONDAY)
    [bad] = problems(found)
    assert bad.check == "database" and "cannot use the database" in bad.detail
    assert "secret-pw" not in bad.detail  # the password is never printed
    assert "DATABASE_URL" in bad.fix


def test_a_database_from_a_newer_release(tmp_path: Path, sqlite_url: str):
    store = Store(sqlite_url)
    with store.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    store.dispose()
    found = diagnose(config_file(tmp_path), {"DATABASE_URL": sqlite_url}, MONDAY)
    [bad] = problems(found)
    assert bad.check == "schema" and "9999, which this release does not know" in bad.detail


def test_a_sqlite_file_not_made_yet_is_fine(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'var' / 'new.db'}"
    found = diagnose(config_file(tmp_path), {"DATABASE_URL": url}, MONDAY)
    assert problems(found) == []
    assert any("does not exist yet" in f.detail for f in found)
    assert not (tmp_path / "var" / "new.db").exists()  # the doctor made nothing


# ---- time zones and calendars -----------------------------------------------------------------


def test_time_zones_names_who_uses_an_unknown_one(tmp_path: Path):

    settings = load_config(config_file(tmp_path), {})
    people = [
        Person(id="alice", name="Alice", email="a@example.com", timezone="Europe/London"),
        Person(id="zed", name="Zed", email="z@example.com", timezone="Mars/Olympus"),
    ]
    [bad] = checkup.time_zones(settings, people)
    assert not bad.ok and bad.detail == "unknown time zone 'Mars/Olympus' (person zed)"
    [ok] = checkup.time_zones(settings, people[:1])
    assert ok.ok and "Europe/London" in ok.detail


def test_calendars_with_no_days_or_unknown_holidays(tmp_path: Path, sqlite_url: str):
    config = config_file(
        tmp_path,
        {
            "business_hours": {
                "default": {"holidays": "GB-ZZ"},
                "around_the_clock": {"days": []},
            }
        },
    )
    found = problems(diagnose(config, {"DATABASE_URL": sqlite_url}, MONDAY), "calendars")
    assert [f.detail.split(":")[0] for f in found] == [
        "business_hours.default.holidays",
        "business_hours.around_the_clock.days is empty",
    ]


def test_a_calendar_reports_its_next_working_day():
    settings_hours = {"timezone": "Europe/London", "holidays": "GB"}

    settings = Settings.model_validate(
        {"queues": {}, "sla": {}, "business_hours": {"default": BusinessHours(**settings_hours)}}
    )
    # Christmas Day 2026 is a Friday; the 26th and 27th a weekend; the 28th the Boxing Day
    # holiday moved to Monday: the next working day is Tuesday the 29th.
    [found] = checkup.calendars(settings, date(2026, 12, 25))
    assert found.ok and found.detail.endswith("next working day 2026-12-29")


# ---- the ops listener -------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_ops_listener_unset_free_and_malformed():
    assert checkup.ops_listener(None)[0].ok
    port = free_port()
    [free] = checkup.ops_listener(f"127.0.0.1:{port}")
    assert free.ok and "free to listen on" in free.detail
    for value in ("localhost", "127.0.0.1:http", "127.0.0.1:70000", 9102):
        [bad] = checkup.ops_listener(value)
        assert not bad.ok and "is not HOST:PORT" in bad.detail, value


def test_ops_listener_port_taken_by_another_program():
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        port = other.getsockname()[1]
        [bad] = checkup.ops_listener(f"127.0.0.1:{port}")
    assert not bad.ok and "taken by another program" in bad.detail


async def test_ops_listener_already_answering_healthz():
    app = web.Application()

    async def healthz(_request: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    app.router.add_get("/healthz", healthz)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        [found] = await asyncio.to_thread(checkup.ops_listener, f"127.0.0.1:{port}")
    finally:
        await runner.cleanup()
    assert found.ok and "deskbot answers /healthz there" in found.detail
