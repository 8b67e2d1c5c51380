"""`deskbot directory sync` against a real OpenLDAP server (tests/directory/slapd.py)."""

from __future__ import annotations

import csv
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import ldap3
import pytest

from bot.adapters.memory import MemoryChat
from bot.app import load_config
from bot.cli import main
from bot.ldap_snapshot import Snapshot, load_snapshot, save_snapshot
from bot.ldap_source import normal_dn
from tests.configs import config_file
from tests.desks import build_desk
from tests.directory.people_ldif import (
    GROUPS,
    PEOPLE,
    QUEUE_GROUPS,
    ad_dn_of,
    ad_ldif,
    demo_people,
    dn_of,
    inet_org_ldif,
)
from tests.directory.slapd import SUFFIX, Slapd, running_slapd, self_signed

PASSWORD = "s3cret-Bind-Pw"


@pytest.fixture
def slapd(tmp_path: Path) -> Iterator[Slapd]:
    with running_slapd(tmp_path / "slapd", inet_org_ldif(demo_people()), PASSWORD) as server:
        yield server


def _config(
    tmp_path: Path, server: Slapd, *, extra: dict[str, object] | None = None, **ldap: object
) -> Path:
    chat = tmp_path / "chat.csv"  # where the chat accounts are kept: people.csv's columns
    rows = ["id,name,email,slack_id,telegram_id,role"]
    rows += [
        f"{p['id']},{p['name']},{p['email']},{p['slack_id']},{p['telegram_id']},employee"
        for p in demo_people()
    ]
    chat.write_text("\n".join(rows) + "\n", encoding="utf-8")
    settings = {
        "url": server.url,
        "bind_dn": server.admin_dn,
        "bind_password": "${DESKBOT_LDAP_PASSWORD}",
        "people": PEOPLE,
        "groups": GROUPS,
        "page_size": 3,  # several pages for eleven people
        "roles": {"admin": "it-admins", "approver": "approvers", "technician": QUEUE_GROUPS},
        "timezones": {"London": "Europe/London", "Shanghai": "Asia/Shanghai"},
        **ldap,
    }
    extra = dict(extra or {})
    paths = {"people": str(chat), **extra.pop("paths", {})}  # type: ignore[dict-item]
    changes: dict[str, object] = {
        "paths": paths,
        # No `source`: an ldap section makes it ldap (the issue's own config block).
        "directory": {"ldap": settings, "synced": str(tmp_path / "synced.csv")},
        **extra,
    }
    return config_file(tmp_path, changes)


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out + out.err


def _sync(capsys: pytest.CaptureFixture[str], config: Path, *extra: str) -> tuple[int, dict]:
    code, out = _run(
        capsys, "directory", "sync", "--config", str(config), "--format", "json", *extra
    )
    return code, json.loads(out)


def _people(capsys: pytest.CaptureFixture[str], config: Path) -> dict[str, dict]:
    code, out = _run(capsys, "people", "--config", str(config), "--format", "json")
    assert code == 0, out
    return {p["id"]: p for p in json.loads(out)}


@contextmanager
def _admin(server: Slapd) -> Iterator[ldap3.Connection]:
    """The server's administrator, to change the directory between syncs."""
    conn = ldap3.Connection(server.url, server.admin_dn, server.password, auto_bind=True)
    try:
        yield conn
    finally:
        conn.unbind()  # leaving `with Connection` would leave its socket open


@pytest.fixture(autouse=True)
def _password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DESKBOT_LDAP_PASSWORD", PASSWORD)


def test_full_sync_gives_every_person_their_manager_roles_language_and_chat_ids(
    tmp_path: Path, slapd: Slapd, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _config(tmp_path, slapd)
    code, report = _sync(capsys, config)
    assert code == 0, report
    assert sorted(report["adds"]) == sorted(p["id"] for p in demo_people())
    assert report["problems"] == [] and report["written"] is True
    people = _people(capsys, config)
    for want in demo_people():
        got = people[want["id"]]
        assert got["name"] == want["name"]
        assert got["manager"] == (want["manager"] or None)  # the DN became a person id
        assert set(got["roles"]) == {"employee", *want["role"].split(";")}
        assert got["queues"] == sorted(filter(None, want["queues"].split(";")))
        assert got["language"] == want["language"]  # zh-CN -> zh
        assert got["timezone"] == want["timezone"]  # from the location
        assert got["slack_id"] == want["slack_id"]  # from the CSV, not LDAP
        assert got["telegram_id"] == want["telegram_id"]
        assert got["active"] is True
    # The chain of managers, walked: alice -> mark -> priya (who has none).
    assert [people["alice"]["manager"], people["mark"]["manager"]] == ["mark", "priya"]
    assert people["priya"]["manager"] is None
    # A second sync with nothing changed reports nothing.
    code, again = _sync(capsys, config)
    assert (code, again["adds"], again["updates"], again["deactivations"]) == (0, [], [], [])


def test_someone_removed_from_the_base_is_deactivated_and_still_known_by_id(
    tmp_path: Path, slapd: Slapd, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _config(tmp_path, slapd)
    assert _sync(capsys, config)[0] == 0
    with _admin(slapd) as conn:
        assert conn.delete(dn_of("bob"))
    code, report = _sync(capsys, config)
    assert code == 0, report
    assert report["deactivations"] == ["bob"]
    people = _people(capsys, config)
    assert people["bob"]["active"] is False
    assert people["bob"]["name"] == "Bob Okafor"  # old tickets still name him
    assert people["alice"]["active"] is True


def test_moving_a_person_to_another_manager_is_an_update(
    tmp_path: Path, slapd: Slapd, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _config(tmp_path, slapd)
    assert _sync(capsys, config)[0] == 0
    with _admin(slapd) as conn:
        assert conn.modify(dn_of("alice"), {"manager": [(ldap3.MODIFY_REPLACE, [dn_of("olivia")])]})
    code, report = _sync(capsys, config)
    assert code == 0 and report["updates"] == [
        {"id": "alice", "fields": ["manager"], "changes": {"manager": ["mark", "olivia"]}}
    ]
    assert _people(capsys, config)["alice"]["manager"] == "olivia"


def test_a_deactivation_share_over_the_limit_changes_nothing(
    tmp_path: Path, slapd: Slapd, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _config(tmp_path, slapd)
    assert _sync(capsys, config)[0] == 0
    before = (tmp_path / "synced.csv").read_bytes()
    with _admin(slapd) as conn:
        assert conn.delete(dn_of("alice")) and conn.delete(dn_of("bob"))  # 2 of 11: 18%
    code, report = _sync(capsys, config)
    assert code == 1
    assert "max_deactivate" in report["refused"] and report["written"] is False
    assert (tmp_path / "synced.csv").read_bytes() == before
    assert _people(capsys, config)["alice"]["active"] is True


def test_a_failed_bind_changes_nothing_and_never_shows_the_password(
    tmp_path: Path,
    slapd: Slapd,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    caplog.set_level(logging.DEBUG)
    config = _config(tmp_path, slapd)
    code, out = _run(capsys, "-v", "directory", "sync", "--config", str(config))
    assert code == 0, out
    before = (tmp_path / "synced.csv").read_bytes()
    wrong = "Wrong-Pw-1234"
    monkeypatch.setenv("DESKBOT_LDAP_PASSWORD", wrong)
    code, out = _run(capsys, "-v", "directory", "sync", "--config", str(config))
    assert code == 1
    assert "refused" in out and "invalidCredentials" in out.replace(" ", "")
    assert (tmp_path / "synced.csv").read_bytes() == before
    logged = caplog.text + out
    assert PASSWORD not in logged and wrong not in logged
    assert PASSWORD not in (tmp_path / "synced.csv").read_text(encoding="utf-8")


def test_a_server_that_does_not_answer_changes_nothing(
    tmp_path: Path, slapd: Slapd, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _config(tmp_path, slapd)
    assert _sync(capsys, config)[0] == 0
    before = (tmp_path / "synced.csv").read_bytes()
    gone = _config(tmp_path, slapd, url="ldap://127.0.0.1:1", timeout="2s")
    code, report = _sync(capsys, gone)
    assert code == 1 and "cannot read ldap://127.0.0.1:1" in report["refused"]
    assert (tmp_path / "synced.csv").read_bytes() == before


def test_chat_accounts_survive_a_sync_without_their_csv_row(
    tmp_path: Path, slapd: Slapd, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _config(tmp_path, slapd)
    assert _sync(capsys, config)[0] == 0
    chat = tmp_path / "chat.csv"
    lines = chat.read_text(encoding="utf-8").splitlines()
    chat.write_text("\n".join(x for x in lines if not x.startswith("alice,")) + "\n", "utf-8")
    with _admin(slapd) as conn:  # LDAP changes alice's title: an update, chat ids untouched
        assert conn.modify(dn_of("alice"), {"title": [(ldap3.MODIFY_REPLACE, ["Sales Lead"])]})
    code, report = _sync(capsys, config)
    assert code == 0 and report["updates"] == [
        {
            "id": "alice",
            "fields": ["title"],
            "changes": {"title": ["Account Executive", "Sales Lead"]},
        }
    ]
    alice = _people(capsys, config)["alice"]
    assert (alice["slack_id"], alice["telegram_id"], alice["title"]) == (
        "U0ALICE",
        "1001",
        "Sales Lead",
    )


def test_dry_run_reports_and_writes_nothing(
    tmp_path: Path, slapd: Slapd, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _config(tmp_path, slapd)
    code, out = _run(capsys, "directory", "sync", "--config", str(config), "--dry-run")
    assert code == 0
    assert "add         alice" in out and "dry run: nothing written (11 active people)" in out
    assert not (tmp_path / "synced.csv").exists()
    code, out = _run(capsys, "people", "--config", str(config))
    assert code == 2 and "run `deskbot directory sync` first" in out


def test_active_directory_users_with_member_of_and_a_disabled_account(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    people = demo_people()
    ldif = ad_ldif(people)
    with running_slapd(tmp_path / "slapd", ldif, PASSWORD, schemas=("nis", "msuser")) as server:
        config = _config(
            tmp_path, server, preset="active_directory", people_filter="(objectClass=user)"
        )
        code, report = _sync(capsys, config)
        assert code == 0, report
        got = _people(capsys, config)
        assert got["dana"]["queues"] == ["service_desk", "workplace"]  # from memberOf
        assert set(got["priya"]["roles"]) == {"employee", "admin"}
        assert got["alice"]["email"] == "alice@example.com"  # userPrincipalName
        assert got["alice"]["manager"] == "mark"
        with _admin(server) as conn:
            change = {"userAccountControl": [(ldap3.MODIFY_REPLACE, ["514"])]}  # 512 | disabled
            assert conn.modify(ad_dn_of("bob"), change)
        code, report = _sync(capsys, config)
        assert code == 0 and report["deactivations"] == ["bob"]
        assert _people(capsys, config)["bob"]["active"] is False


def test_a_server_limiting_each_search_to_five_entries_gives_everyone_by_pages(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Like Active Directory's MaxPageSize: a search returns at most 5 entries unless paged.
    # The server's administrator is above limits: bind as a service account, as deskbot would.
    limit = "size.soft=5 size.hard=5 size.prtotal=unlimited"
    service = f"cn=deskbot,{SUFFIX}"
    account = (
        f"\ndn: {service}\nobjectClass: organizationalRole\nobjectClass: simpleSecurityObject\n"
        f"cn: deskbot\nuserPassword: {PASSWORD}\n"
    )
    ldif = inet_org_ldif(demo_people()) + account
    with running_slapd(tmp_path / "slapd", ldif, "root-only-Pw", sizelimit=limit) as server:
        code, report = _sync(capsys, _config(tmp_path, server, bind_dn=service, page_size=5))
        assert code == 0, report
        assert len(report["adds"]) == 11
        # The same search unpaged stops at five: the eleven came page by page.
        conn = ldap3.Connection(server.url, service, PASSWORD, auto_bind=True)
        try:
            conn.search(PEOPLE, "(objectClass=inetOrgPerson)", attributes=["uid"])
            assert conn.result["description"] == "sizeLimitExceeded"
            assert len(conn.entries) == 5
        finally:
            conn.unbind()


def test_a_new_colleague_may_take_the_email_of_someone_who_left(
    tmp_path: Path, slapd: Slapd, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _config(tmp_path, slapd)
    assert _sync(capsys, config)[0] == 0
    with _admin(slapd) as conn:
        assert conn.delete(dn_of("bob"))
        person = {"cn": "Bob Stone", "sn": "Stone", "mail": "bob@example.com", "uid": "bob.s"}
        assert conn.add(dn_of("bob.s"), "inetOrgPerson", person)
    code, report = _sync(capsys, config)
    assert code == 0, report
    assert (report["adds"], report["deactivations"]) == (["bob.s"], ["bob"])
    people = _people(capsys, config)
    assert (people["bob"]["active"], people["bob.s"]["active"]) == (False, True)
    assert people["bob.s"]["slack_id"] is None  # not the leaver's accounts
    assert people["bob"]["slack_id"] == "U0BOB"


def test_a_csv_row_under_another_id_lends_its_chat_accounts_by_email(
    tmp_path: Path, slapd: Slapd, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _config(tmp_path, slapd)
    chat = tmp_path / "chat.csv"
    chat.write_text(
        chat.read_text(encoding="utf-8").replace("alice,Alice", "amorgan,Alice"), "utf-8"
    )
    assert _sync(capsys, config)[0] == 0
    assert _people(capsys, config)["alice"]["slack_id"] == "U0ALICE"


def test_a_manager_outside_the_base_is_a_problem_and_the_rest_is_synced(
    tmp_path: Path, slapd: Slapd, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _config(tmp_path, slapd)
    with _admin(slapd) as conn:
        elsewhere = f"uid=ceo,ou=board,{SUFFIX}"
        assert conn.modify(dn_of("alice"), {"manager": [(ldap3.MODIFY_REPLACE, [elsewhere])]})
    code, report = _sync(capsys, config)
    assert code == 0, report
    assert report["problems"] == [
        f"alice: manager '{elsewhere}' is not a person under {PEOPLE}; left without a manager"
    ]
    people = _people(capsys, config)
    assert people["alice"]["manager"] is None and people["bob"]["manager"] == "mark"


def test_managers_in_a_circle_change_nothing(
    tmp_path: Path, slapd: Slapd, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _config(tmp_path, slapd)
    assert _sync(capsys, config)[0] == 0
    before = (tmp_path / "synced.csv").read_bytes()
    with _admin(slapd) as conn:  # priya, at the top, now reports to alice: a circle
        assert conn.modify(dn_of("priya"), {"manager": [(ldap3.MODIFY_ADD, [dn_of("alice")])]})
    code, report = _sync(capsys, config)
    assert code == 1 and "nothing was changed" in report["refused"]
    assert any("managers go round in a circle" in p for p in report["problems"])
    assert (tmp_path / "synced.csv").read_bytes() == before


def test_two_entries_with_one_id_change_nothing(
    tmp_path: Path, slapd: Slapd, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _config(tmp_path, slapd)
    with _admin(slapd) as conn:
        twin = {"cn": "Alice Other", "sn": "Other", "mail": "alice2@example.com", "uid": "alice"}
        assert conn.add(f"cn=Alice Other,{PEOPLE}", "inetOrgPerson", twin)
    code, report = _sync(capsys, config)
    assert code == 1 and "two people have one id" in report["refused"]
    assert not (tmp_path / "synced.csv").exists()


def test_a_duplicate_email_is_told_by_person_and_changes_nothing(
    tmp_path: Path, slapd: Slapd, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _config(tmp_path, slapd)
    with _admin(slapd) as conn:
        assert conn.modify(dn_of("bob"), {"mail": [(ldap3.MODIFY_REPLACE, ["ALICE@example.com"])]})
    code, report = _sync(capsys, config)
    assert code == 1
    assert any(p.startswith("bob: email: 'ALICE@example.com' is also") for p in report["problems"])


def test_a_change_that_breaks_the_rules_with_someone_unchanged_is_told_and_changes_nothing(
    tmp_path: Path, slapd: Slapd, capsys: pytest.CaptureFixture[str]
) -> None:
    """Between full reads only the changed people are checked, against the others looked up
    in the kept state: Alex taking Bob's email is told on Bob's row (the later one), with
    the line numbers the whole file's check gives; a circle of managers through someone
    unchanged too. Nothing is written, and once mended the next sync goes through."""
    config = _config(tmp_path, slapd)
    assert _sync(capsys, config)[0] == 0
    before = (tmp_path / "synced.csv").read_bytes()
    with _admin(slapd) as conn:
        assert conn.modify(dn_of("alex"), {"mail": [(ldap3.MODIFY_REPLACE, ["Bob@example.com"])]})
        assert conn.modify(dn_of("priya"), {"manager": [(ldap3.MODIFY_REPLACE, [dn_of("mark")])]})
    code, report = _sync(capsys, config)
    assert code == 1 and report["written"] is False, report
    order = sorted(p["id"] for p in demo_people())
    line = {pid: n for n, pid in enumerate(order, start=2)}
    assert (
        f"bob: email: 'bob@example.com' is also on line {line['alex']} (alex)"
        in (report["problems"])
    )
    circle = f"mark (line {line['mark']}) -> priya (line {line['priya']}) -> mark"
    assert f"mark: manager: managers go round in a circle: {circle}" in report["problems"]
    assert (tmp_path / "synced.csv").read_bytes() == before
    with _admin(slapd) as conn:
        assert conn.modify(dn_of("alex"), {"mail": [(ldap3.MODIFY_REPLACE, ["ar@example.com"])]})
        assert conn.modify(dn_of("priya"), {"manager": [(ldap3.MODIFY_DELETE, [])]})
    code, report = _sync(capsys, config)
    assert code == 0 and report["written"] is True, report
    assert [(u["id"], u["fields"]) for u in report["updates"]] == [("alex", ["email"])]


def test_start_tls_and_ldaps_check_the_server_certificate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "tls").mkdir()
    cert, key = self_signed(tmp_path / "tls")
    ldif = inet_org_ldif(demo_people())
    with running_slapd(tmp_path / "slapd", ldif, PASSWORD, tls=(cert, key)) as server:
        trusted = _config(tmp_path, server, start_tls=True, ca_file=str(cert))
        code, report = _sync(capsys, trusted)
        assert code == 0 and len(report["adds"]) == 11, report["refused"]
        over_ldaps = _config(tmp_path, server, url=server.ldaps, ca_file=str(cert))
        code, report = _sync(capsys, over_ldaps)
        assert code == 0 and report["adds"] == [], report
        # The system's CAs do not know this certificate: refused, nothing changed.
        for untrusted in (
            _config(tmp_path, server, start_tls=True),
            _config(tmp_path, server, url=server.ldaps),
        ):
            code, report = _sync(capsys, untrusted)
            assert code == 1 and "cannot read" in report["refused"], report


def test_one_leaver_passes_even_a_zero_share_and_a_second_does_not(
    tmp_path: Path, slapd: Slapd, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _config(tmp_path, slapd)
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace("max_deactivate: 0.1", "max_deactivate: 0"), "utf-8")
    assert _sync(capsys, config)[0] == 0
    with _admin(slapd) as conn:
        assert conn.delete(dn_of("bob"))
    code, report = _sync(capsys, config)
    assert (code, report["deactivations"]) == (0, ["bob"])
    with _admin(slapd) as conn:
        assert conn.delete(dn_of("alice")) and conn.delete(dn_of("wang.fang"))
    code, report = _sync(capsys, config)
    assert code == 1 and "max_deactivate (0%)" in report["refused"]


SERVICES = Path(__file__).resolve().parent.parent / "tickets" / "data" / "services"


def test_a_sync_hands_over_a_movers_and_a_leavers_approvals_and_says_so(
    tmp_path: Path, slapd: Slapd, capsys: pytest.CaptureFixture[str], db_url: str
) -> None:
    """The issue's leavers and movers, end to end: slapd, `deskbot directory sync`, the real
    desk and store (SQLite and PostgreSQL), `deskbot audit` and `deskbot tickets`."""
    extra: dict[str, object] = {"database": {"url": db_url}, "paths": {"services": str(SERVICES)}}
    config = _config(tmp_path, slapd, extra=extra)
    code, first = _sync(capsys, config)
    assert code == 0 and first["handover"]["approvals"] == []  # nobody known before
    desk = build_desk(load_config(config), migrate=False)
    try:
        chat = MemoryChat(desk)
        for who in ("alice", "olivia"):  # alice asks mark; olivia asks priya
            chat.say(who, "I need another monitor")
            chat.press(who, "j:size:27")
    finally:
        desk.store.dispose()

    with _admin(slapd) as conn:  # alice moves to olivia
        assert conn.modify(dn_of("alice"), {"manager": [(ldap3.MODIFY_REPLACE, [dn_of("olivia")])]})
    code, out = _run(capsys, "directory", "sync", "--config", str(config))
    assert code == 0, out
    assert "update      alice (manager: 'mark' -> 'olivia')" in out
    assert "approval    #1 (IT-1000) of alice: mark -> olivia (manager_changed)" in out

    with _admin(slapd) as conn:  # then olivia leaves
        assert conn.delete(dn_of("olivia"))
    code, report = _sync(capsys, config)
    assert code == 0, report
    assert report["deactivations"] == ["olivia"]
    assert report["handover"]["leavers"] == ["olivia"]
    assert report["handover"]["approvals"] == [
        {
            "approval": 1,
            "ticket": "IT-1000",
            "requester": "alice",
            "from": "olivia",
            "to": "priya",  # olivia's manager: the next one up
            "why": "manager",
        }
    ]

    # Olivia's request for alice's approval, asked at the move and not sent yet: kept, unsent.
    assert report["handover"]["withheld"] == 1
    code, out = _run(capsys, "outbox", "--config", str(config), "--format", "json")
    assert code == 0 and json.loads(out)[0]["withheld"] == 1, out

    code, out = _run(capsys, "audit", "IT-1000", "--config", str(config), "--format", "json")
    assert code == 0, out
    handed = [e["data"] for e in json.loads(out)["events"] if e["event"] == "approval_handed_over"]
    assert [(d["from"], d["to"], d["why"]) for d in handed] == [
        ("mark", "olivia", "manager_changed"),
        ("olivia", "priya", "manager"),
    ]
    # Olivia's own request stays, listed under her name, still waiting for Priya.
    code, out = _run(
        capsys, "tickets", "--config", str(config), "--requester", "olivia", "--format", "json"
    )
    assert code == 0, out
    assert [(t["number"], t["status"]) for t in json.loads(out)] == [
        ("IT-1001", "awaiting_approval")
    ]
    assert _people(capsys, config)["olivia"]["active"] is False


def _snapshot(tmp_path: Path) -> Snapshot:
    kept = load_snapshot(tmp_path / "ldap-snapshot.db", None)
    assert kept is not None
    return kept


def test_a_second_sync_reads_only_what_changed_since_the_first(
    tmp_path: Path, slapd: Slapd, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _config(tmp_path, slapd)
    assert _sync(capsys, config)[0] == 0
    kept = _snapshot(tmp_path)
    assert kept.mark and len(kept.people) == len(demo_people())
    # A sync that reads everything would put LDAP's title for Bob back into the snapshot;
    # one that reads only the changes leaves his kept entry as it is.
    _tamper_bob(tmp_path)
    with _admin(slapd) as conn:
        assert conn.modify(dn_of("alice"), {"title": [(ldap3.MODIFY_REPLACE, ["Sales Lead"])]})
        # Group changes reach the people they name: Alice joins the network team.
        network = f"cn={QUEUE_GROUPS['network']},{GROUPS}"
        assert conn.modify(network, {"member": [(ldap3.MODIFY_ADD, [dn_of("alice")])]})
        assert conn.delete(dn_of("wang.fang"))
    code, report = _sync(capsys, config)
    assert code == 0, report
    people = _people(capsys, config)
    assert people["alice"]["title"] == "Sales Lead"
    assert "network" in people["alice"]["queues"] and "technician" in people["alice"]["roles"]
    assert people["wang.fang"]["active"] is False  # removed entries are seen without a change
    # Bob did not change: his entry was not read again, and his row is the last sync's.
    assert _kept_bob(tmp_path) == "Kept Only Here"
    assert people["bob"]["title"] == "Software Engineer"
    # Only the people who changed were worked out anew (and told).
    assert [u["id"] for u in report["updates"]] == ["alice"]
    assert report["deactivations"] == ["wang.fang"] and report["adds"] == []


def _tamper_bob(tmp_path: Path) -> None:
    """Make the kept copy of Bob's entry say what LDAP never said."""
    kept = _snapshot(tmp_path)
    bob = kept.people[normal_dn(dn_of("bob"))]
    bob[0]["title"] = "Kept Only Here"
    kept.people[normal_dn(dn_of("bob"))] = bob
    save_snapshot(tmp_path / "ldap-snapshot.db", kept)


def _kept_bob(tmp_path: Path) -> str:
    return _snapshot(tmp_path).people[normal_dn(dn_of("bob"))][0]["title"]


def test_a_full_read_comes_back_after_full_every_or_a_changed_setting(
    tmp_path: Path, slapd: Slapd, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _sync(capsys, _config(tmp_path, slapd))[0] == 0
    _tamper_bob(tmp_path)
    # Another people filter may read other entries: the snapshot is not reused.
    refiltered = _config(tmp_path, slapd, people_filter="(&(objectClass=inetOrgPerson)(uid=*))")
    assert _sync(capsys, refiltered)[0] == 0
    assert _kept_bob(tmp_path) == "Software Engineer"
    _tamper_bob(tmp_path)
    assert _sync(capsys, refiltered)[0] == 0  # the same settings: only changes are read
    assert _kept_bob(tmp_path) == "Kept Only Here"
    always_full = _config(
        tmp_path,
        slapd,
        people_filter="(&(objectClass=inetOrgPerson)(uid=*))",
        full_every="0s",
    )
    assert _sync(capsys, always_full)[0] == 0
    assert _kept_bob(tmp_path) == "Software Engineer"
    assert _people(capsys, always_full)["bob"]["title"] == "Software Engineer"


def test_a_people_file_edited_by_hand_or_a_refused_sync_leads_to_a_full_read(
    tmp_path: Path, slapd: Slapd, capsys: pytest.CaptureFixture[str]
) -> None:
    """The snapshot is the LDAP the people file was made from: a file changed since (by hand,
    or restored) is read against everything again, and a sync that was refused or only a
    dry run does not move the snapshot on, so its changes are read again next time."""
    config = _config(tmp_path, slapd)
    assert _sync(capsys, config)[0] == 0
    synced = tmp_path / "synced.csv"
    text = synced.read_text(encoding="utf-8")
    synced.write_text(text.replace("Software Engineer", "Edited By Hand"), encoding="utf-8")
    _tamper_bob(tmp_path)
    code, report = _sync(capsys, config)
    assert code == 0, report
    assert _kept_bob(tmp_path) == "Software Engineer"  # read again in full
    assert _people(capsys, config)["bob"]["title"] == "Software Engineer"
    # A change seen by a dry run only is still a change for the next sync.
    with _admin(slapd) as conn:
        assert conn.modify(dn_of("alice"), {"title": [(ldap3.MODIFY_REPLACE, ["Sales Lead"])]})
    code, out = _run(
        capsys, "directory", "sync", "--dry-run", "--config", str(config), "--format", "json"
    )
    assert code == 0 and [u["id"] for u in json.loads(out)["updates"]] == ["alice"], out
    code, report = _sync(capsys, config)
    assert code == 0 and [u["id"] for u in report["updates"]] == ["alice"], report
    # Nothing changed since: nothing to tell, and the people file is not replaced.
    before = synced.stat().st_ino
    code, report = _sync(capsys, config)
    assert code == 0 and report["updates"] == [] and report["written"] is False, report
    assert synced.stat().st_ino == before
    code, out = _run(capsys, "directory", "sync", "--config", str(config))
    assert code == 0 and out.strip() == "nothing changed: 11 active people", out


def test_an_unreadable_snapshot_means_a_full_read(
    tmp_path: Path, slapd: Slapd, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _config(tmp_path, slapd)
    (tmp_path / "ldap-snapshot.db").write_text("{not json", encoding="utf-8")
    code, report = _sync(capsys, config)
    assert code == 0 and len(report["adds"]) == len(demo_people())
    assert len(_snapshot(tmp_path).people) == len(demo_people())


def test_a_directory_without_the_demo_people_config_names_still_syncs_and_says_what_it_left_out(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A company's own directory does not hold config.yaml's demo people (a queue lead, the
    console person, an approver group member, an asset and item owner): the directory is
    right, so they are left out with a note, not a refused sync."""
    gone = {"dana", "alice"}
    people = [p for p in demo_people() if p["id"] not in gone]
    with running_slapd(tmp_path / "slapd", inet_org_ldif(people), PASSWORD) as server:
        config = _config(tmp_path, server)
        code, report = _sync(capsys, config)
        assert code == 0 and report["written"] is True, report
        assert sorted(report["adds"]) == sorted(p["id"] for p in people)
        listed = _people(capsys, config)
        assert "dana" not in listed and "bob" in listed
        code, out = _run(capsys, "check", "--config", str(config))
        assert code == 0, out
        assert "queues.service_desk.lead: 'dana' is not in synced.csv; left out" in out
        assert "channels.console.person: 'alice' is not in synced.csv; left out" in out
        assert "owner: 'alice' is not a person; left out" in out  # assets.csv


def _chat_csv(folder: Path, telegram_bob: str) -> None:
    """The chat accounts file, lending Mark a delegate and Bob a Telegram id."""
    rows = ["id,name,email,slack_id,telegram_id,role,delegate"]
    for p in demo_people():
        telegram = telegram_bob if p["id"] == "bob" else p["telegram_id"]
        delegate = "olivia" if p["id"] == "mark" else ""
        rows.append(
            f"{p['id']},{p['name']},{p['email']},{p['slack_id']},{telegram},employee,{delegate}"
        )
    (folder / "chat.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")


def _rows(path: Path) -> dict[str, dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        return {r["id"]: r for r in csv.DictReader(f)}


def test_an_incremental_sync_ends_where_a_full_read_would(
    tmp_path: Path, slapd: Slapd, capsys: pytest.CaptureFixture[str]
) -> None:
    """Only the changed people are worked out anew, yet the file is the one a full read
    from nothing makes: own changes, group changes, a new colleague, a leaver who was
    someone's delegate, a new manager, and a changed row of the CSV that lends accounts."""
    inc, full = tmp_path / "inc", tmp_path / "full"
    inc.mkdir()
    full.mkdir()
    config = _config(inc, slapd)
    _chat_csv(inc, "1002")
    code, report = _sync(capsys, config)
    assert code == 0 and report["written"] is True, report
    assert _rows(inc / "synced.csv")["mark"]["delegate"] == "olivia"
    with _admin(slapd) as conn:
        assert conn.modify(dn_of("alice"), {"title": [(ldap3.MODIFY_REPLACE, ["Sales Lead"])]})
        assert conn.modify(
            dn_of("wang.fang"), {"manager": [(ldap3.MODIFY_REPLACE, [dn_of("priya")])]}
        )
        assert conn.delete(dn_of("olivia"))
        assert conn.add(
            dn_of("nina"),
            ["inetOrgPerson"],
            {
                "uid": "nina",
                "cn": "Nina Berg",
                "sn": "Berg",
                "mail": "nina@example.com",
                "manager": dn_of("mark"),
                "preferredLanguage": "en-GB",
                "l": "London",
            },
        )
        admins, approvers = f"cn=it-admins,{GROUPS}", f"cn=approvers,{GROUPS}"
        network = f"cn={QUEUE_GROUPS['network']},{GROUPS}"
        assert conn.modify(admins, {"member": [(ldap3.MODIFY_ADD, [dn_of("sam")])]})
        assert conn.modify(approvers, {"member": [(ldap3.MODIFY_DELETE, [dn_of("mark")])]})
        assert conn.modify(network, {"member": [(ldap3.MODIFY_ADD, [dn_of("nina")])]})
    _chat_csv(inc, "2002")
    code, report = _sync(capsys, config)
    assert code == 0, report
    assert report["adds"] == ["nina"] and report["deactivations"] == ["olivia"]
    assert sorted(u["id"] for u in report["updates"]) == [
        "alice",
        "bob",
        "mark",
        "sam",
        "wang.fang",
    ]
    # The same directory read in full, from nothing, by a second desk.
    fresh = _config(full, slapd)
    _chat_csv(full, "2002")
    code, report = _sync(capsys, fresh)
    assert code == 0, report
    incremental, from_nothing = _rows(inc / "synced.csv"), _rows(full / "synced.csv")
    # Olivia left before the second desk's first sync: it never knew her.
    assert incremental.pop("olivia")["active"] == "false" and "olivia" not in from_nothing
    assert incremental == from_nothing
    assert incremental["mark"]["delegate"] == "" and "approver" not in incremental["mark"]["role"]
    assert incremental["bob"]["telegram_id"] == "2002"


def test_without_the_sync_state_every_person_is_worked_out_again_and_leavers_stay_gone(
    tmp_path: Path, slapd: Slapd, capsys: pytest.CaptureFixture[str]
) -> None:
    """sync-state.db (what the CSV lending accounts said last time) lost, the LDAP
    snapshot kept: LDAP's changes are still read incrementally, everyone's row is worked
    out again, and someone who left earlier stays a leaver."""
    config = _config(tmp_path, slapd)
    assert _sync(capsys, config)[0] == 0
    with _admin(slapd) as conn:
        assert conn.delete(dn_of("olivia"))
    code, report = _sync(capsys, config)
    assert code == 0 and report["deactivations"] == ["olivia"], report
    (tmp_path / "sync-state.db").unlink()
    with _admin(slapd) as conn:
        assert conn.modify(dn_of("alice"), {"title": [(ldap3.MODIFY_REPLACE, ["Sales Lead"])]})
    code, report = _sync(capsys, config)
    assert code == 0, report
    assert [u["id"] for u in report["updates"]] == ["alice"]
    assert report["reactivations"] == [] and report["deactivations"] == []
    assert _people(capsys, config)["olivia"]["active"] is False


def test_an_incremental_sync_follows_renamed_entries_and_groups_as_a_full_read_would(
    tmp_path: Path, slapd: Slapd, capsys: pytest.CaptureFixture[str]
) -> None:
    """A person's entry renamed (another uid: another person id, and their reports' manager
    DN now names nobody) and a role group renamed (its members lose the role): the people
    these reach are worked out anew, and the file is the one a full read makes."""
    inc, full = tmp_path / "inc", tmp_path / "full"
    inc.mkdir()
    full.mkdir()
    config = _config(inc, slapd)
    _chat_csv(inc, "1002")
    assert _sync(capsys, config)[0] == 0
    with _admin(slapd) as conn:
        assert conn.modify_dn(dn_of("mark"), "uid=mark.j")
        assert conn.modify(dn_of("mark.j"), {"uid": [(ldap3.MODIFY_REPLACE, ["mark.j"])]})
        network = f"cn={QUEUE_GROUPS['network']},{GROUPS}"
        assert conn.modify_dn(network, "cn=it-net-old")
    code, report = _sync(capsys, config)
    assert code == 0, report
    assert report["adds"] == ["mark.j"] and report["deactivations"] == ["mark"]
    assert {"alice", "bob", "alex"} <= {u["id"] for u in report["updates"]}
    fresh = _config(full, slapd)
    _chat_csv(full, "1002")
    assert _sync(capsys, fresh)[0] == 0
    incremental, from_nothing = _rows(inc / "synced.csv"), _rows(full / "synced.csv")
    assert incremental.pop("mark")["active"] == "false" and "mark" not in from_nothing
    # The one difference: the CSV's row for mark lends its accounts by email to someone
    # whose id is nobody's. The second desk never knew mark, so mark.j gets them there;
    # here mark is a leaver, and a leaver's accounts never pass to a new id.
    assert incremental["mark.j"]["slack_id"] == "" and from_nothing["mark.j"]["slack_id"]
    for row in (incremental["mark.j"], from_nothing["mark.j"]):
        row["slack_id"] = row["telegram_id"] = row["delegate"] = ""
    assert incremental == from_nothing
    assert "network" not in incremental["alex"]["queues"]
