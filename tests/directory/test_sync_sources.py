"""Several sources combined field by field, approver groups (a CAB) from LDAP groups, the
people audit, the admins told once about a sync that is stuck, and the running desk picking
up a sync without a restart - against a real slapd, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import ldap3
import pytest
import yaml
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlmodel import select

from bot import directory_sync
from bot.adapters.memory import MemoryChat
from bot.app import build_desk, engine_desk, load_config
from bot.base.clock import FixedClock
from bot.base.messages import Inbound
from bot.cli.run import first_sync
from bot.desk import Desk
from bot.processes import ProcessWorkers
from bot.serve import add_directory_jobs
from store import timers
from store.models import OutboxMessage, PersonEvent
from tests.directory.people_ldif import GROUPS, demo_people, dn_of, inet_org_ldif
from tests.directory.slapd import Slapd, running_slapd
from tests.directory.test_ldap_sync import PASSWORD, _admin, _config, _people, _run, _sync

# A change advisory board in LDAP: olivia and dana.
CAB = (
    f"\ndn: cn=cab-members,{GROUPS}\nobjectClass: groupOfNames\ncn: cab-members\n"
    f"member: {dn_of('olivia')}\nmember: {dn_of('dana')}\n"
)


@pytest.fixture(autouse=True)
def _password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DESKBOT_LDAP_PASSWORD", PASSWORD)


@pytest.fixture
def slapd(tmp_path: Path) -> Iterator[Slapd]:
    ldif = inet_org_ldif(demo_people()) + CAB
    with running_slapd(tmp_path / "slapd", ldif, PASSWORD) as server:
        yield server


@pytest.fixture
def database(db_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """The test's database for every command (DATABASE_URL overrides config.yaml)."""
    monkeypatch.setenv("DATABASE_URL", db_url)
    return db_url


def _edit(config: Path, **directory: Any) -> Path:
    data = yaml.safe_load(config.read_text(encoding="utf-8"))
    for key, value in directory.items():
        if key == "ldap":
            data["directory"]["ldap"].update(value)
        else:
            data["directory"][key] = value
    config.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), "utf-8")
    return config


def _csv(tmp_path: Path, edit: dict[str, dict[str, str]], extra: tuple[str, ...] = ()) -> None:
    """chat.csv (paths.people) with whole columns: rows changed by `edit`, rows added."""
    rows = demo_people()
    for row in rows:
        row.update(edit.get(row["id"], {}))
    columns = list(rows[0])
    lines = [",".join(columns)] + [",".join(r[c] for c in columns) for r in rows] + list(extra)
    (tmp_path / "chat.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")


def _audit(capsys: pytest.CaptureFixture[str], config: Path, *who: str) -> list[dict[str, Any]]:
    code, out = _run(capsys, "audit", "--config", str(config), "--people", *who, "--format", "json")
    assert code == 0, out
    return list(json.loads(out)["events"])


def test_fields_come_from_the_source_the_precedence_names(
    tmp_path: Path, slapd: Slapd, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _config(tmp_path, slapd)
    _edit(
        config,
        sources=["ldap", "csv"],
        precedence={"telegram_id": "csv", "title": "csv", "roles": "ldap"},
    )
    # The CSV says alice is an admin and has another title; only its title is taken. A row
    # nobody in LDAP has (zoe) adds nobody: LDAP alone says who is a person.
    _csv(
        tmp_path,
        {"alice": {"title": "Chief Seller", "role": "admin", "telegram_id": "7001"}},
        ("zoe,Zoe Lin,zoe@example.com,,,,employee,,en,UTC,,,,",),
    )
    code, report = _sync(capsys, config)
    assert code == 0, report
    people = _people(capsys, config)
    alice = people["alice"]
    assert (alice["title"], alice["telegram_id"], alice["slack_id"]) == (
        "Chief Seller",
        "7001",
        "U0ALICE",
    )
    assert alice["roles"] == ["employee"] and alice["role"] == "employee"  # LDAP's groups
    assert people["priya"]["role"] == "admin" and people["dana"]["role"] == "technician"
    assert people["mark"]["title"] == "Sales Director"  # the CSV's title, as LDAP's
    assert "zoe" not in people
    assert {p["source"] for p in people.values()} == {"ldap"}

    # The CSV as a members source too: zoe joins, from the CSV alone.
    _edit(config, members=["ldap", "csv"])
    code, report = _sync(capsys, config)
    assert (code, report["adds"]) == (0, ["zoe"]), report
    people = _people(capsys, config)
    assert people["zoe"]["source"] == "csv" and people["alice"]["source"] == "ldap;csv"
    assert people["zoe"]["active"] is True and people["zoe"]["manager"] is None


def test_without_precedence_the_first_source_wins_and_chat_ids_survive(
    tmp_path: Path, slapd: Slapd, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _edit(_config(tmp_path, slapd), sources=["csv", "ldap"], members=["ldap"])
    _csv(tmp_path, {"bob": {"title": "Bass Player"}})
    assert _sync(capsys, config)[0] == 0
    assert _people(capsys, config)["bob"]["title"] == "Bass Player"  # csv comes first
    # bob's row leaves the CSV: LDAP's title now, his chat accounts as the last sync wrote.
    lines = (tmp_path / "chat.csv").read_text(encoding="utf-8").splitlines()
    (tmp_path / "chat.csv").write_text(
        "\n".join(x for x in lines if not x.startswith("bob,")) + "\n", "utf-8"
    )
    code, report = _sync(capsys, config)
    assert code == 0 and report["updates"] == [
        {
            "id": "bob",
            "fields": ["title"],
            "changes": {"title": ["Bass Player", "Software Engineer"]},
        }
    ]
    bob = _people(capsys, config)["bob"]
    assert (bob["slack_id"], bob["telegram_id"]) == ("U0BOB", "1002")


def test_a_cab_from_an_ldap_group_is_an_approver_group_of_the_desk(
    tmp_path: Path, slapd: Slapd, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _edit(
        _config(tmp_path, slapd),
        ldap={"approver_groups": {"cab": "cab-members", "change_advisory": "cab-members"}},
    )
    assert _sync(capsys, config)[0] == 0
    people = _people(capsys, config)
    assert people["olivia"]["approver_groups"] == ["cab", "change_advisory"]
    assert people["alice"]["approver_groups"] == []
    settings = load_config(config)
    assert "cab" in settings.approver_group_names()  # journeys may name it
    desk = build_desk(settings, needs_store=False)
    # config.yaml's members (olivia, priya) and LDAP's (olivia, dana), each once.
    assert [p.id for p in desk.directory.group("change_advisory")] == ["olivia", "priya", "dana"]
    assert [p.id for p in desk.directory.group("cab")] == ["dana", "olivia"]
    # dana leaves the group: gone from the CAB at the next sync, an audited update.
    with _admin(slapd) as conn:
        change = {"member": [(ldap3.MODIFY_DELETE, [dn_of("dana")])]}
        assert conn.modify(f"cn=cab-members,{GROUPS}", change)
    code, report = _sync(capsys, config)
    assert code == 0 and report["updates"] == [
        {
            "id": "dana",
            "fields": ["approver_groups"],
            "changes": {"approver_groups": ["cab;change_advisory", ""]},
        }
    ]
    desk.store.dispose()


def test_every_change_is_audited_with_old_and_new_values(
    tmp_path: Path, slapd: Slapd, database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _config(tmp_path, slapd)
    assert _sync(capsys, config)[0] == 0
    with _admin(slapd) as conn:
        assert conn.modify(dn_of("alice"), {"title": [(ldap3.MODIFY_REPLACE, ["Sales Lead"])]})
        assert conn.delete(dn_of("bob"))
    code, report = _sync(capsys, config)
    assert (code, report["deactivations"]) == (0, ["bob"])
    with _admin(slapd) as conn:  # bob comes back
        person = {"cn": "Bob Okafor", "sn": "Okafor", "mail": "bob@example.com", "uid": "bob"}
        assert conn.add(dn_of("bob"), "inetOrgPerson", person)
    code, report = _sync(capsys, config)
    assert (code, report["reactivations"]) == (0, ["bob"])

    alice = _audit(capsys, config, "alice")
    assert [e["event"] for e in alice] == ["add", "update"]
    assert alice[0]["changes"]["manager"] == ["", "mark"] and alice[0]["source"] == "ldap"
    assert alice[1]["changes"] == {"title": ["Account Executive", "Sales Lead"]}
    assert alice[1]["by"] == "cli"
    bob = _audit(capsys, config, "bob")
    assert [e["event"] for e in bob] == ["add", "deactivate", "reactivate"]
    assert bob[1]["changes"]["active"] == ["true", "false"]
    assert bob[2]["changes"]["active"] == ["false", "true"]
    everyone = _audit(capsys, config)
    assert len(everyone) == 11 + 3  # eleven added, then the three changes
    # The table names the change too.
    code, out = _run(capsys, "audit", "--config", str(config), "--people", "alice")
    assert code == 0 and "title: Account Executive -> Sales Lead" in out


def test_a_refused_sync_is_audited_once_per_problem(
    tmp_path: Path,
    slapd: Slapd,
    database: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config = _config(tmp_path, slapd)
    assert _sync(capsys, config)[0] == 0
    monkeypatch.setenv("DESKBOT_LDAP_PASSWORD", "Wrong-Pw-1234")
    assert _sync(capsys, config)[0] == 1
    assert _sync(capsys, config)[0] == 1  # the same problem: not audited again
    refused = [e for e in _audit(capsys, config) if e["event"] == "refused"]
    assert len(refused) == 1
    assert refused[0]["person"] is None and refused[0]["source"] == "ldap"
    assert "invalidCredentials" in refused[0]["note"].replace(" ", "")
    assert "Wrong-Pw-1234" not in json.dumps(refused)
    # It goes through again, then fails anew: a new problem, audited again.
    monkeypatch.setenv("DESKBOT_LDAP_PASSWORD", PASSWORD)
    assert _sync(capsys, config)[0] == 0
    monkeypatch.setenv("DESKBOT_LDAP_PASSWORD", "Wrong-Pw-1234")
    assert _sync(capsys, config)[0] == 1
    assert len([e for e in _audit(capsys, config) if e["event"] == "refused"]) == 2


def _desk(config: Path, clock: FixedClock) -> Desk:
    return build_desk(load_config(config), clock=clock)


def test_serve_sync_tells_the_admins_once_and_changes_nothing(
    tmp_path: Path,
    slapd: Slapd,
    database: str,
    clock: FixedClock,
    capsys: pytest.CaptureFixture[str],
) -> None:
    config = _config(tmp_path, slapd)
    assert _sync(capsys, config)[0] == 0
    desk = _desk(config, clock)
    try:
        before = (tmp_path / "synced.csv").read_bytes()
        with _admin(slapd) as conn:  # a wrong filter, a half-replicated server: 3 of 11 gone
            for pid in ("alice", "bob", "sam"):
                assert conn.delete(dn_of(pid))
        for _ in range(3):  # three intervals
            report = directory_sync.run(desk)
            assert report.problem == "max_deactivate" and not report.written
        assert (tmp_path / "synced.csv").read_bytes() == before
        assert desk.directory.get("alice").active  # type: ignore[union-attr]
        with desk.store.read() as session:
            alerts = list(session.exec(select(OutboxMessage)).all())
        admins = [p.id for p in desk.directory.admins()]
        assert sorted(str(a.person_id) for a in alerts) == sorted(admins) and admins
        text = alerts[0].payload["text"]
        assert "changed nothing" in text and "max_deactivate" in text
        # Private: each admin's own chat, never a shared place.
        assert all(":" not in a.conversation for a in alerts)
    finally:
        desk.store.dispose()


def test_serve_sync_applies_and_the_desk_has_the_new_people_at_once(
    tmp_path: Path,
    slapd: Slapd,
    database: str,
    clock: FixedClock,
    capsys: pytest.CaptureFixture[str],
) -> None:
    config = _edit(_config(tmp_path, slapd), every="1h")
    assert _sync(capsys, config)[0] == 0
    desk = _desk(config, clock)
    before = desk.directory
    try:
        with _admin(slapd) as conn:
            assert conn.delete(dn_of("bob"))
            assert conn.modify(
                dn_of("alice"), {"manager": [(ldap3.MODIFY_REPLACE, [dn_of("olivia")])]}
            )
        report = directory_sync.run(desk)
        assert report.written and report.deactivations == ["bob"]
        assert desk.directory.get("bob").active is False  # type: ignore[union-attr]
        assert desk.directory.get("alice").manager == "olivia"  # type: ignore[union-attr]
        assert report.managers == {"alice": ("mark", "olivia")}
        assert before.get("bob").active  # type: ignore[union-attr]
        assert [e.kind for e in _events(desk, "bob")] == ["add", "deactivate"]
        assert _events(desk, "bob")[-1].actor == "serve"
    finally:
        desk.store.dispose()


def _events(desk: Desk, pid: str) -> list[PersonEvent]:
    with desk.store.read() as session:
        return list(session.exec(select(PersonEvent).where(PersonEvent.person_id == pid)).all())


def test_a_sync_from_elsewhere_reaches_the_running_engine_without_a_restart(
    tmp_path: Path,
    slapd: Slapd,
    database: str,
    clock: FixedClock,
    capsys: pytest.CaptureFixture[str],
) -> None:
    config = _config(tmp_path, slapd)
    assert _sync(capsys, config)[0] == 0
    desk = _desk(config, clock)
    chat = MemoryChat(desk)
    try:
        unknown = desk.texts.render("en", "identity.unknown_person")
        assert [o.message.text for o in chat.say("bob", "hello")] != [unknown]
        with _admin(slapd) as conn:
            assert conn.delete(dn_of("bob"))
        assert _sync(capsys, config)[0] == 0  # `deskbot directory sync`, from cron say
        assert [o.message.text for o in chat.say("bob", "hello again")] == [unknown]
        assert desk.directory.get("bob").active is False  # type: ignore[union-attr]
    finally:
        desk.store.dispose()


async def test_an_engine_child_process_picks_up_a_sync(
    tmp_path: Path,
    slapd: Slapd,
    database: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    config = _config(tmp_path, slapd)
    assert _sync(capsys, config)[0] == 0
    settings = load_config(config)
    desk = build_desk(settings)
    workers = ProcessWorkers(settings, 1, engine_desk, desk.content)
    await workers.start()
    try:
        unknown = desk.texts.render("en", "identity.unknown_person")
        first = await workers.run(Inbound("memory", "bob", "bob", text="hi", event_id="p-1"))
        assert [o.message.text for o in first] != [unknown]
        with _admin(slapd) as conn:
            assert conn.delete(dn_of("bob"))
        assert _sync(capsys, config)[0] == 0
        again = await workers.run(Inbound("memory", "bob", "bob", text="hi", event_id="p-2"))
        assert [o.message.text for o in again] == [unknown]
    finally:
        await workers.close()
        desk.store.dispose()


def test_people_json_shows_active_manager_source_role_and_queues_for_the_csv(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out = _run(capsys, "people", "--format", "json")
    assert code == 0
    dana = {p["id"]: p for p in json.loads(out)}["dana"]
    assert (dana["active"], dana["manager"], dana["source"], dana["role"]) == (
        True,
        "priya",
        "csv",
        "technician",
    )
    assert dana["queues"] == ["service_desk", "workplace"]


def test_a_disabled_person_keeps_their_requests_listed(
    tmp_path: Path,
    slapd: Slapd,
    database: str,
    clock: FixedClock,
    capsys: pytest.CaptureFixture[str],
) -> None:
    config = _config(tmp_path, slapd)
    assert _sync(capsys, config)[0] == 0
    desk = _desk(config, clock)
    try:
        chat = MemoryChat(desk)
        for said in ("I forgot my password", "1", "yes", "+44 20 7946 0000"):
            chat.say("bob", said)
    finally:
        desk.store.dispose()
    code, out = _run(capsys, "tickets", "--config", str(config), "--format", "json")
    assert code == 0
    raised = [t["number"] for t in json.loads(out) if t["requester"] == "bob"]
    assert raised, out
    with _admin(slapd) as conn:
        assert conn.delete(dn_of("bob"))
    assert _sync(capsys, config)[0] == 0
    assert _people(capsys, config)["bob"]["active"] is False
    code, out = _run(capsys, "tickets", "--config", str(config), "--format", "json")
    assert code == 0
    assert [t["number"] for t in json.loads(out) if t["requester"] == "bob"] == raised


async def test_serve_runs_the_sync_every_interval_and_watches_the_file(
    tmp_path: Path,
    slapd: Slapd,
    database: str,
    clock: FixedClock,
    capsys: pytest.CaptureFixture[str],
) -> None:
    config = _edit(_config(tmp_path, slapd), every="2h", watch="5s")
    settings = load_config(config)
    first_sync(settings)  # `deskbot serve` before its desk: there were no people yet
    assert (tmp_path / "synced.csv").exists()
    desk = build_desk(settings, clock=clock)
    scheduler = AsyncIOScheduler(timezone="UTC")
    try:
        add_directory_jobs(scheduler, desk)
        sync_job, watch_job = scheduler.get_job("directory"), scheduler.get_job("people")
        assert sync_job.trigger.interval.total_seconds() == 7200
        assert watch_job.trigger.interval.total_seconds() == 5
        with _admin(slapd) as conn:
            assert conn.delete(dn_of("bob"))
        await sync_job.func()  # one round, as the scheduler runs it
        assert desk.directory.get("bob").active is False  # type: ignore[union-attr]
        # A sync from elsewhere (cron): the watch round loads it.
        with _admin(slapd) as conn:
            person = {"cn": "Bob Okafor", "sn": "Okafor", "mail": "bob@example.com", "uid": "bob"}
            assert conn.add(dn_of("bob"), "inetOrgPerson", person)
        assert _sync(capsys, config)[0] == 0
        assert desk.directory.get("bob").active is False  # type: ignore[union-attr]
        await watch_job.func()
        assert desk.directory.get("bob").active is True  # type: ignore[union-attr]
    finally:
        desk.store.dispose()


async def test_one_replica_per_interval_syncs_the_others_load_its_file(
    tmp_path: Path,
    slapd: Slapd,
    database: str,
    clock: FixedClock,
) -> None:
    """Replicas of `deskbot serve` share the database and the synced file: the first to
    take this interval's slot syncs, the other only loads the file its watch finds."""
    config = _edit(_config(tmp_path, slapd), every="2h", watch="5s")
    settings = load_config(config)
    first_sync(settings)
    desks = [build_desk(settings, clock=clock) for _ in range(2)]
    schedulers = [AsyncIOScheduler(timezone="UTC") for _ in desks]
    try:
        for scheduler, desk in zip(schedulers, desks, strict=True):
            add_directory_jobs(scheduler, desk)
        (one, two) = (s.get_job("directory") for s in schedulers)
        with _admin(slapd) as conn:
            assert conn.delete(dn_of("bob"))
        await one.func()
        await two.func()  # the same interval: the first replica's sync stands
        assert desks[0].directory.get("bob").active is False  # type: ignore[union-attr]
        assert desks[1].directory.get("bob").active is True  # type: ignore[union-attr]
        with desks[0].store.begin() as session:
            runs = [r for r in timers.last_runs(session=session) if r.name == "directory"]
        assert len(runs) == 1 and runs[0].finished_at is not None and runs[0].items == 1
        await schedulers[1].get_job("people").func()  # its watch round
        assert desks[1].directory.get("bob").active is False  # type: ignore[union-attr]
        clock.advance(timedelta(hours=2))  # the next interval: whoever comes first
        await two.func()
        with desks[0].store.begin() as session:
            runs = [r for r in timers.last_runs(session=session) if r.name == "directory"]
        assert len(runs) == 2 and runs[0].worker == runs[1].worker  # one process, two slots
    finally:
        for desk in desks:
            desk.store.dispose()


def test_without_people_csv_the_short_form_still_syncs(
    tmp_path: Path, slapd: Slapd, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _config(tmp_path, slapd)
    (tmp_path / "chat.csv").unlink()
    code, report = _sync(capsys, config)
    assert code == 0 and len(report["adds"]) == 11, report
    assert report["problems"] == [
        f"{tmp_path / 'chat.csv'}: no such file; no chat accounts taken from it"
    ]
    # As a members source, a missing CSV is a source that cannot be read: nothing changes.
    _edit(config, sources=["ldap", "csv"], members=["ldap", "csv"])
    code, report = _sync(capsys, config)
    assert code == 1 and report["refused"].startswith("csv: cannot read"), report


def test_a_delegate_who_leaves_is_dropped(
    tmp_path: Path, slapd: Slapd, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _config(tmp_path, slapd)
    _csv(tmp_path, {})  # people.csv's own rows: mark's delegate is olivia
    assert _sync(capsys, config)[0] == 0
    assert _people(capsys, config)["mark"]["delegate"] == "olivia"
    with _admin(slapd) as conn:
        assert conn.delete(dn_of("olivia"))
    code, report = _sync(capsys, config)
    assert (code, report["deactivations"]) == (0, ["olivia"]), report
    assert {"id": "mark", "fields": ["delegate"], "changes": {"delegate": ["olivia", ""]}} in (
        report["updates"]
    )
    assert _people(capsys, config)["mark"]["delegate"] is None
