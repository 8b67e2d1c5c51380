"""The listing commands: people, catalog, tickets, audit, db."""

from __future__ import annotations

import json
from pathlib import Path

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
