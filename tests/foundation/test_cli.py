"""The listing commands: people, catalog, tickets, audit, db."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import empty_postgres_schema

from .helpers import deskbot
from .test_console import PASSWORD, run_as


def test_people_lists_every_role_as_json():
    result = deskbot("people", "--format", "json")
    assert result.returncode == 0, result.stderr
    people = json.loads(result.stdout)
    roles = {r for p in people for r in p["roles"]}
    assert {"employee", "technician", "approver", "admin"} <= roles
    dana = next(p for p in people if p["id"] == "dana")
    assert dana["queues"] == ["service_desk", "workplace"] and dana["slack_id"] == "U0DANA"
    table = deskbot("people")
    assert table.stdout.splitlines()[0].split()[:3] == ["ID", "NAME", "EMAIL"]


def test_catalog_lists_services_as_json():
    result = deskbot("catalog", "--format", "json")
    services = {s["id"]: s for s in json.loads(result.stdout)}
    assert services["password_reset"]["type"] == "request"
    assert services["password_reset"]["queue"] == "service_desk"
    assert services["password_reset"]["steps"] >= 4


def test_audit_prints_the_timeline(db_url: str):
    run_as("alice", PASSWORD, db_url)
    run_as("dana", "/claim IT-1000\n", db_url)
    result = deskbot("audit", "IT-1000", "--format", "json", env={"DATABASE_URL": db_url})
    timeline = json.loads(result.stdout)
    assert [(e["who"], e["event"], e["to"]) for e in timeline["events"]] == [
        ("alice", "created", "new"),
        ("dana", "claimed", "in_progress"),
    ]
    missing = deskbot("audit", "IT-9999", env={"DATABASE_URL": db_url})
    assert missing.returncode == 1 and "no ticket IT-9999" in missing.stderr


def test_db_upgrade_and_current(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    before = deskbot("db", "current", env={"DATABASE_URL": url})
    assert "schema: empty" in before.stdout
    after = deskbot("db", "upgrade", env={"DATABASE_URL": url})
    assert after.returncode == 0
    revision = after.stdout.split("schema: ")[1].split()[0]
    assert revision != "empty" and f"(head: {revision})" in after.stdout


@pytest.fixture
def unmigrated_postgres() -> Iterator[str]:
    """A PostgreSQL schema nobody has run `deskbot db upgrade` on."""
    with empty_postgres_schema() as url:
        yield url


@pytest.mark.parametrize(
    "command",
    [
        ("tickets",),
        ("report",),
        ("chat", "--as", "alice"),
        ("outbox",),
        ("inbox",),
        ("intents", "review"),
        ("kb", "list"),
        ("audit", "IT-1000"),
    ],
)
def test_a_database_never_upgraded_gets_one_clear_instruction(
    unmigrated_postgres: str, command: tuple[str, ...]
):
    ran = deskbot(*command, env={"DATABASE_URL": unmigrated_postgres}, stdin="/status\n")
    assert ran.returncode != 0
    assert "run `deskbot db upgrade`" in ran.stderr
    # Only that: no SQL warning, no traceback before it.
    assert "Traceback" not in ran.stderr + ran.stdout
    assert "WARNING" not in ran.stderr and "does not exist" not in ran.stderr


def test_a_report_asked_for_in_deskbot_chat_arrives_there(db_url: str):
    """`deskbot chat` runs no scheduler: the `/report` it promises is built as it delivers."""
    ran = deskbot("chat", "--as", "priya", stdin="/report 7d\n", env={"DATABASE_URL": db_url})
    assert ran.returncode == 0, ran.stderr
    assert "It will arrive here in a moment" in ran.stdout
    assert "Service desk report" in ran.stdout and "Requests through the desk" in ran.stdout
