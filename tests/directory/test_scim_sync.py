"""`directory.source: scim`: what an identity provider pushes over real HTTP becomes the
people the desk loads, through the sync `deskbot serve` runs (`directory_sync.run`): the
same records, precedence and people.csv rules as LDAP, audited, refusals told to the
admins, and the running desk's people loaded again at once; managers, roles from group
names, languages, leavers. SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlmodel import select

from bot import directory_sync
from bot.adapters.memory import MemoryChat
from bot.app import build_desk, load_config
from bot.base.config import Settings
from bot.cli import main
from bot.desk import Desk
from bot.directory import load_directory
from store import people_audit
from store.models import OutboxMessage, PersonEvent
from tests.configs import ROOT, config_file
from tests.directory.people_ldif import QUEUE_GROUPS, demo_people
from tests.directory.scim_http import ENTERPRISE, TOKEN, Api, running
from tests.tickets.helpers import get, kinds, new_ticket

ROLES = {"admin": "it-admins", "approver": "approvers", "technician": QUEUE_GROUPS}


@pytest.fixture(autouse=True)
def _token(monkeypatch: pytest.MonkeyPatch) -> None:
    """The command line reads the token's ${DESKBOT_SCIM_TOKEN} from the environment."""
    monkeypatch.setenv("DESKBOT_SCIM_TOKEN", TOKEN)


def _nobody_named() -> dict[str, Any]:
    """config.yaml's keys that name demo people, emptied (for a directory without them)."""
    data = yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))
    return {
        "queues": {q: {"lead": None} for q in data["queues"]},
        "approver_groups": {g: [] for g in data.get("approver_groups", {})},
        "channels": {"console": {"person": ""}},
    }


def _ownerless(tmp_path: Path) -> Path:
    """directory/cis.yaml without its owners (demo people, not pushed yet)."""
    data = yaml.safe_load((ROOT / "directory" / "cis.yaml").read_text(encoding="utf-8"))
    for item in data["items"]:
        item.pop("owner", None)
    path = tmp_path / "cis.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def _settings(
    tmp_path: Path, db_url: str, demo: bool = True, **scim: object
) -> tuple[Path, Settings]:
    chat = tmp_path / "chat.csv"  # chat accounts stay people.csv's, as with LDAP
    rows = ["id,name,email,slack_id,telegram_id,role"]
    rows += [
        f"{p['id']},{p['name']},{p['email']},{p['slack_id']},{p['telegram_id']},employee"
        for p in demo_people()
    ]
    chat.write_text("\n".join(rows) + "\n", encoding="utf-8")
    changes = {
        # Without the demo people, the demo assets and items (owned by them) go too.
        "paths": {"people": str(chat)}
        | (
            {} if demo else {"assets": str(tmp_path / "none.csv"), "cis": str(_ownerless(tmp_path))}
        ),
        "database": {"url": db_url},
        # No `source`: a scim section makes it scim.
        "directory": {
            "scim": {
                "listen": "127.0.0.1:0",
                "token": "${DESKBOT_SCIM_TOKEN}",
                "roles": ROLES,
                **scim,
            },
            "synced": str(tmp_path / "synced.csv"),
        },
    }
    path = config_file(tmp_path, changes if demo else {**changes, **_nobody_named()})
    return path, load_config(path, {"DESKBOT_SCIM_TOKEN": TOKEN, "DATABASE_URL": db_url})


def _syncer(settings: Settings) -> tuple[Callable[[], object], Desk]:
    """A running desk (nobody in it yet) and what `deskbot serve` runs after each change."""
    desk = build_desk(settings)
    return (lambda: directory_sync.run(desk, actor="scim")), desk


def _events(desk: Desk, person: str | None = None) -> list[PersonEvent]:
    with desk.store.read() as session:
        return people_audit.events(session=session, person_id=person)


def _people(capsys: pytest.CaptureFixture[str], config: Path, db_url: str) -> dict[str, Any]:
    capsys.readouterr()
    code = main(["people", "--config", str(config), "--format", "json"])
    out = capsys.readouterr()
    assert code == 0, out.err
    return {p["id"]: p for p in json.loads(out.out)}


async def _push_demo(api: Api) -> dict[str, str]:
    """The demo directory pushed as Entra ID pushes: users, then managers by PATCH, then
    groups named after roles and queues. Returns person id -> SCIM id."""
    ids: dict[str, str] = {}
    people = demo_people()
    for p in people:
        user = await api.user(
            p["id"],
            displayName=p["name"],
            emails=[{"value": p["email"], "type": "work", "primary": True}],
            preferredLanguage="zh-CN" if p["language"] == "zh" else "en-GB",
            title=p["title"],
            timezone=p["timezone"],
            addresses=[{"type": "work", "locality": p["location"]}],
            active=True,
            **{ENTERPRISE: {"department": p["department"], "employeeNumber": p["id"]}},
        )
        ids[p["id"]] = user["id"]
    for p in people:
        if p["manager"]:
            answer = await api.patch(
                f"/Users/{ids[p['id']]}",
                {"op": "Add", "path": f"{ENTERPRISE}:manager", "value": ids[p["manager"]]},
            )
            assert answer.status == 200
    members: dict[str, list[str]] = {}
    for p in people:
        roles = p["role"].split(";")
        for role in ("admin", "approver"):
            if role in roles:
                members.setdefault(ROLES[role], []).append(p["id"])  # type: ignore[arg-type]
        for queue in filter(None, p["queues"].split(";")):
            members.setdefault(QUEUE_GROUPS[queue], []).append(p["id"])
    for name, who in members.items():
        created = await api.call("POST", "/Groups", {"displayName": name})
        answer = await api.patch(
            f"/Groups/{created.body['id']}",
            {"op": "Add", "path": "members", "value": [{"value": ids[w]} for w in who]},
        )
        assert answer.status == 200
    await api.server.settled()
    return ids


async def test_pushed_people_become_the_desks_people(
    db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config, settings = _settings(tmp_path, db_url, demo=False)
    assert settings.directory.source == "scim"
    sync, desk = _syncer(settings)
    try:
        async with running(db_url, sync, settings.directory.scim) as api:
            ids = await _push_demo(api)
            people = _people(capsys, config, db_url)
            demo = {p["id"]: p for p in demo_people()}
            assert set(people) == set(demo)
            for pid, want in demo.items():
                got = people[pid]
                assert got["active"] is True
                assert got["name"] == want["name"]
                assert got["email"] == want["email"]
                assert got["manager"] == (want["manager"] or None), pid
                assert got["language"] == want["language"], pid
                assert got["timezone"] == want["timezone"], pid
                assert got["department"] == want["department"]
                assert got["location"] == want["location"]
                assert got["slack_id"] == want["slack_id"]  # chat accounts kept
                assert set(got["roles"]) == set(want["role"].split(";")) | {"employee"}, pid
                assert set(got["queues"]) == set(filter(None, want["queues"].split(";"))), pid
            assert people["wang.fang"]["name"] == "王芳"
            # The running desk has them at once, and each change is audited as SCIM's (bob
            # came, then his manager and groups did, as each push was synced).
            assert desk.directory.get("wang.fang") is not None
            bob = _events(desk, "bob")
            assert bob[0].kind == "add" and {e.actor for e in bob} == {"scim"}

            # A technician the provider deactivates: the ticket they had claimed goes back
            # to its queue (leavers are handed on as after any sync).
            number = new_ticket(desk, "bob", "VPN drops every hour")
            chat = MemoryChat(desk)
            await asyncio.to_thread(chat.say, "alex", f"/claim {number}")
            assert get(desk, number).assignee_id == "alex"
            answer = await api.patch(
                f"/Users/{ids['alex']}", {"op": "replace", "path": "active", "value": False}
            )
            assert answer.status == 200
            await api.server.settled()
            ticket = get(desk, number)
            assert (ticket.status, ticket.assignee_id) == ("open", None)
            assert "leaver_released" in kinds(desk, number)

            # A leaver: Entra ID disables them; they stay, inactive, so tickets name them.
            answer = await api.patch(
                f"/Users/{ids['bob']}", {"op": "Replace", "path": "active", "value": "False"}
            )
            assert answer.status == 200
            await api.server.settled()
            people = _people(capsys, config, db_url)
            assert people["bob"]["active"] is False
            assert people["alice"]["active"] is True
            assert desk.directory.get("bob").active is False  # type: ignore[union-attr]
            assert _events(desk, "bob")[-1].kind == "deactivate"
            # Deleted outright: also kept as inactive.
            assert (await api.call("DELETE", f"/Users/{ids['alice']}")).status == 204
            await api.server.settled()
            people = _people(capsys, config, db_url)
            assert people["alice"]["active"] is False and people["alice"]["manager"] is None

            # Group membership moves a role: priya leaves the admins' group.
            admins = await api.call(
                "GET", "/Groups", params={"filter": 'displayName eq "it-admins"'}
            )
            gid = admins.body["Resources"][0]["id"]
            before = _people(capsys, config, db_url)
            assert "admin" in before["priya"]["roles"]
            await api.patch(
                f"/Groups/{gid}", {"op": "Remove", "path": f'members[value eq "{ids["priya"]}"]'}
            )
            await api.server.settled()
            assert "admin" not in _people(capsys, config, db_url)["priya"]["roles"]
    finally:
        desk.store.dispose()

    # The command line gives the same result from the database: nothing left to change.
    capsys.readouterr()
    code = main(["directory", "sync", "--config", str(config), "--format", "json", "--dry-run"])
    report = json.loads(capsys.readouterr().out)
    assert code == 0, report
    assert report["adds"] == [] and report["deactivations"] == [] and report["updates"] == []
    assert report["refused"] is None


async def test_a_push_works_out_only_the_people_it_reaches(db_url: str, tmp_path: Path) -> None:
    """SCIM returns every user each time; what the last sync saw of them (sync-state.db)
    tells which changed, so one PATCH is one person worked out and checked again, a push
    that changes nothing leaves the people file alone, and new settings mean everyone."""
    _, settings = _settings(tmp_path, db_url, demo=False)
    desk = build_desk(settings)
    reports: list[directory_sync.SyncReport] = []
    try:

        def sync() -> None:
            reports.append(directory_sync.run(desk, actor="scim"))

        async with running(db_url, sync, settings.directory.scim) as api:
            ids = await _push_demo(api)
            synced = tmp_path / "synced.csv"
            before = synced.stat().st_ino
            patch = {"op": "replace", "path": "title", "value": "Sales Lead"}
            assert (await api.patch(f"/Users/{ids['alice']}", patch)).status == 200
            await api.server.settled()
            last = reports[-1]
            assert not last.whole and last.written
            assert [u["id"] for u in last.updates] == ["alice"]
            assert [c.person_id for c in last.changes] == ["alice"]
            assert desk.directory.get("alice").title == "Sales Lead"  # type: ignore[union-attr]
            assert synced.stat().st_ino != before
            # A sync with nothing pushed since: nothing to change, the file left alone.
            before = synced.stat().st_ino
            again = await asyncio.to_thread(directory_sync.run, desk, actor="scim")
            assert not again.whole and not again.changes and not again.written
            assert synced.stat().st_ino == before
    finally:
        desk.store.dispose()
    # Other settings that shape the people (here: how many may leave at once): everyone.
    directory = settings.directory.model_copy(update={"max_deactivate": 0.5})
    report = directory_sync.sync(
        settings.model_copy(update={"directory": directory}), None, dry_run=True
    )
    assert report.whole and not report.changes


async def test_a_push_that_breaks_the_people_rules_changes_nothing(
    db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config, settings = _settings(tmp_path, db_url, demo=False)
    sync, desk = _syncer(settings)
    synced = tmp_path / "synced.csv"
    try:
        async with running(db_url, sync, settings.directory.scim) as api:
            ids = await _push_demo(api)
            written = synced.read_text(encoding="utf-8")
            # Someone pushed with another person's email: people.csv's rules refuse it.
            answer = await api.patch(
                f"/Users/{ids['bob']}",
                {
                    "op": "Replace",
                    "path": 'emails[type eq "work"].value',
                    "value": "alice@example.com",
                },
            )
            assert answer.status == 200  # the endpoint keeps what the provider says...
            await api.server.settled()
            assert synced.read_text(encoding="utf-8") == written  # ...the desk's file waits
            refused = [e for e in _events(desk) if e.kind == "refused"]
            assert [(e.actor, e.source) for e in refused] == [("scim", "scim;csv")]
            # The admins are told privately, once, with the reason.
            with desk.store.read() as session:
                alerts = list(session.exec(select(OutboxMessage)).all())
            admins = sorted(p.id for p in desk.directory.admins())
            assert admins and sorted(str(a.person_id) for a in alerts) == admins
            text = alerts[0].payload["text"]
            assert "alice@example.com" in text and "email" in text
            # Mended at the provider: the next change goes through, with everything since.
            await api.patch(
                f"/Users/{ids['bob']}",
                {
                    "op": "Replace",
                    "path": 'emails[type eq "work"].value',
                    "value": "bob.o@example.com",
                },
            )
            await api.patch(
                f"/Users/{ids['bob']}",
                {"op": "Replace", "path": "title", "value": "Staff Engineer"},
            )
            await api.server.settled()
            people = _people(capsys, config, db_url)
            assert people["bob"]["email"] == "bob.o@example.com"
            assert people["bob"]["title"] == "Staff Engineer"
            assert desk.directory.get("bob").title == "Staff Engineer"  # type: ignore[union-attr]
    finally:
        desk.store.dispose()


async def test_ids_languages_and_unknown_managers(
    db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`person_id: local_part` makes `jo@corp.test` the person `jo`; a manager named by
    userName (some Okta mappings) is found; one nobody knows is a problem, not a failure;
    an unknown time zone falls back to the location's."""
    from_location = {"Shanghai": "Asia/Shanghai"}
    config, settings = _settings(
        tmp_path, db_url, demo=False, person_id="local_part", timezones=from_location
    )
    sync, desk = _syncer(settings)
    try:
        async with running(db_url, sync, settings.directory.scim) as api:
            await api.user(
                "boss@corp.test", name={"givenName": "Big", "familyName": "Boss"}, locale="zh_CN"
            )
            await api.user(
                "jo@corp.test",
                displayName="Jo",
                emails=[
                    {"value": "jo.private@home.test", "type": "home"},
                    {"value": "jo@corp.test", "type": "work"},
                ],
                timezone="Mars/Olympus",
                addresses=[{"locality": "Shanghai"}],
                **{ENTERPRISE: {"manager": {"value": "BOSS@corp.test"}}},
            )
            await api.user("ann@corp.test", **{ENTERPRISE: {"manager": {"value": "ghost"}}})
            await api.server.settled()
        capsys.readouterr()
        code = main(["directory", "sync", "--config", str(config), "--format", "json", "--dry-run"])
        report = json.loads(capsys.readouterr().out)
        assert code == 0
        assert any("ann: manager 'ghost'" in p for p in report["problems"]), report
        assert any("jo: unknown timezone 'Mars/Olympus'" in p for p in report["problems"])
        people = _people(capsys, config, db_url)
        assert set(people) == {"boss", "jo", "ann"}
        assert people["boss"]["name"] == "Big Boss" and people["boss"]["language"] == "zh"
        assert people["jo"]["manager"] == "boss"
        assert people["jo"]["email"] == "jo@corp.test"  # the work address, none is primary
        assert people["jo"]["timezone"] == "Asia/Shanghai"
        assert people["ann"]["manager"] is None
        assert people["ann"]["email"] == "ann@corp.test"  # no emails: the userName
    finally:
        desk.store.dispose()


async def test_many_leavers_at_once_change_nothing(
    db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`directory.max_deactivate` guards pushed people too: three of eleven deleted
    between two syncs is more than 10%, so the file stays until an admin lets it through."""
    config, _ = _settings(tmp_path, db_url)
    async with running(db_url) as api:  # no sync after each push: the command line's turn
        ids = await _push_demo(api)
        capsys.readouterr()
        assert main(["directory", "sync", "--config", str(config), "--format", "json"]) == 0
        for pid in ("alice", "bob", "wang.fang"):
            assert (await api.call("DELETE", f"/Users/{ids[pid]}")).status == 204
    capsys.readouterr()
    code = main(["directory", "sync", "--config", str(config), "--format", "json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 1 and report["written"] is False
    assert "3 of 11 people would be deactivated" in report["refused"]
    assert _people(capsys, config, db_url)["alice"]["active"] is True


def test_before_the_first_push_config_naming_people_is_told_why(
    db_url: str, tmp_path: Path
) -> None:
    _, settings = _settings(tmp_path, db_url)  # the repository's config: queue leads etc.
    # The directory is right: the names config.yaml gives are left out, each with a note.
    directory = load_directory(settings)
    assert list(directory) == []
    leads = [n for n in directory.notes if ": queues." in n]
    assert leads and all("pushed over SCIM (nobody yet" in n for n in leads)
    _, empty = _settings(tmp_path, db_url, demo=False)
    assert list(load_directory(empty)) == []  # nobody named: the desk starts empty


async def test_a_pushed_person_talks_to_the_desk_at_once_and_a_deactivated_one_is_a_stranger(
    db_url: str, tmp_path: Path
) -> None:
    """No restart: the sync after a push loads the running desk's people again, so the
    engine knows a new colleague at their first message, and answers one the provider
    deactivated as a stranger."""
    _, settings = _settings(tmp_path, db_url, demo=False)
    sync, desk = _syncer(settings)
    chat = MemoryChat(desk)
    unknown = desk.texts.render("en", "identity.unknown_person")

    async def says(person: str, text: str) -> list[str]:
        # The memory chat runs its own event loop: in a thread, as the engine's workers do.
        replies = await asyncio.to_thread(chat.say, person, text)
        return [o.message.text for o in replies]

    try:
        assert await says("jo", "my laptop is broken") == [unknown]  # nobody pushed yet
        async with running(db_url, sync, settings.directory.scim) as api:
            user = await api.user(
                "jo",
                displayName="Jo Park",
                emails=[{"value": "jo@corp.test", "type": "work", "primary": True}],
            )
            await api.server.settled()
            assert desk.directory.get("jo") is not None  # loaded by the sync itself
            assert await says("jo", "my laptop is broken") != [unknown]
            answer = await api.patch(
                f"/Users/{user['id']}", {"op": "replace", "path": "active", "value": False}
            )
            assert answer.status == 200
            await api.server.settled()
            assert desk.directory.get("jo").active is False  # type: ignore[union-attr]
            assert await says("jo", "my laptop is broken") == [unknown]
        assert [(e.kind, e.actor) for e in _events(desk, "jo")] == [
            ("add", "scim"),
            ("deactivate", "scim"),
        ]
    finally:
        desk.store.dispose()


async def test_scim_and_the_csv_combined_with_precedence(db_url: str, tmp_path: Path) -> None:
    """The long form: `sources: [scim, csv]`, SCIM saying who is a person; the CSV's
    title wins where `precedence` says so, its chat accounts are added, and a CSV row
    SCIM does not know is nobody."""
    chat = tmp_path / "chat.csv"
    chat.write_text(
        "id,name,email,telegram_id,title\n"
        "jo,Someone Else,jo@corp.test,4242,Head of Desks\n"
        "ghost,Ghost,ghost@corp.test,1,Nobody\n",
        encoding="utf-8",
    )
    changes = {
        "paths": {
            "people": str(chat),
            "assets": str(tmp_path / "none.csv"),
            "cis": str(_ownerless(tmp_path)),
        },
        "directory": {
            "sources": ["scim", "csv"],
            "precedence": {"title": "csv"},
            "scim": {
                "listen": "127.0.0.1:0",
                "token": "${DESKBOT_SCIM_TOKEN}",
                "person_id": "externalId",
            },
            "synced": str(tmp_path / "synced.csv"),
        },
    }
    config = config_file(tmp_path, {**_nobody_named(), **changes})
    settings = load_config(config, {"DESKBOT_SCIM_TOKEN": TOKEN, "DATABASE_URL": db_url})
    sync, desk = _syncer(settings)
    try:
        async with running(db_url, sync, settings.directory.scim) as api:
            await api.user("jo@corp.test", displayName="Jo Park", title="Engineer", externalId="jo")
            await api.server.settled()
        jo = desk.directory.get("jo")
        assert jo is not None
        assert (jo.name, jo.title, jo.telegram_id) == ("Jo Park", "Head of Desks", "4242")
        assert jo.source == "scim"
        assert desk.directory.get("ghost") is None
    finally:
        desk.store.dispose()
