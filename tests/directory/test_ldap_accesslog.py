"""Removals between full reads from OpenLDAP's access log (`directory.ldap.accesslog`),
against a real slapd that keeps one (slapo-accesslog, tests/directory/slapd.py)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import ldap3
import pytest

from bot.ldap_snapshot import save_snapshot
from tests.directory.people_ldif import (
    GROUPS,
    QUEUE_GROUPS,
    demo_people,
    dn_of,
    groups_of,
    inet_org_ldif,
)
from tests.directory.slapd import ACCESSLOG, Slapd, running_slapd
from tests.directory.test_ldap_sync import (
    PASSWORD,
    _admin,
    _chat_csv,
    _config,
    _rows,
    _snapshot,
    _sync,
)

# People marked as gone by an attribute, not removed: no longer matched by the filter.
FILTER = "(&(objectClass=inetOrgPerson)(!(employeeType=left)))"


@pytest.fixture
def logged(tmp_path: Path) -> Iterator[Slapd]:
    ldif = inet_org_ldif(demo_people())
    with running_slapd(tmp_path / "slapd", ldif, PASSWORD, accesslog=True) as server:
        yield server


@pytest.fixture(autouse=True)
def _password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DESKBOT_LDAP_PASSWORD", PASSWORD)


def _folder(tmp_path: Path, name: str) -> Path:
    folder = tmp_path / name
    folder.mkdir()
    _chat_csv(folder, "1002")
    return folder


def test_removals_come_from_the_access_log_and_the_result_is_a_full_reads(
    tmp_path: Path, logged: Slapd, capsys: pytest.CaptureFixture[str]
) -> None:
    """A person removed, one moved to another DN (their reports' manager DN now names
    nobody), one no longer matched by the filter, a role group removed: found from the log,
    each named entry looked up alone, and the file is the one a full read makes."""
    inc = _folder(tmp_path, "inc")
    config = _config(inc, logged, accesslog=ACCESSLOG, people_filter=FILTER)
    code, report = _sync(capsys, config)
    assert code == 0, report
    assert report["reads"]["ldap"]["read"] == "full"
    assert report["reads"]["ldap"]["entries"] > len(demo_people())
    with _admin(logged) as conn:
        assert conn.delete(dn_of("olivia"))
        assert conn.modify_dn(dn_of("dana"), "cn=Dana Whitfield", delete_old_dn=False)
        assert conn.delete(f"cn={QUEUE_GROUPS['security']},{GROUPS}")
        assert conn.modify(dn_of("alice"), {"title": [(ldap3.MODIFY_REPLACE, ["Sales Lead"])]})
    code, report = _sync(capsys, config)
    assert code == 0, report
    assert report["reads"]["ldap"]["removals"] == "from the access log"
    assert report["reads"]["ldap"]["read"] == "changes"
    # Alice's and Dana's entries (the moved one has a new change time), and the groups
    # changed in the second of the mark (loaded together, read again): nobody else's name
    # was listed, and of those the log named only the ones gone were looked up.
    groups = len(groups_of(demo_people())) - 1
    assert report["reads"]["ldap"]["entries"] == 2 + groups
    assert report["deactivations"] == ["olivia"]
    # Sam loses the security queue; Dana's reports name a DN that is nobody now.
    assert {"alex", "chen.jie", "sam"} <= {u["id"] for u in report["updates"]}
    with _admin(logged) as conn:  # one leaver a sync: directory.max_deactivate
        assert conn.modify(dn_of("sam"), {"employeeType": [(ldap3.MODIFY_ADD, ["left"])]})
    code, report = _sync(capsys, config)
    assert code == 0 and report["deactivations"] == ["sam"], report
    # At most Alice and Dana again (changed in the second of the mark); Sam, looked up by
    # DN, is no longer matched: not an entry received.
    assert report["reads"]["ldap"]["entries"] <= 2
    full = _folder(tmp_path, "full")
    code, fresh = _sync(capsys, _config(full, logged, accesslog=ACCESSLOG, people_filter=FILTER))
    assert code == 0, fresh
    incremental, from_nothing = _rows(inc / "synced.csv"), _rows(full / "synced.csv")
    for leaver in ("olivia", "sam"):  # gone before the second desk's first sync
        assert incremental.pop(leaver)["active"] == "false" and leaver not in from_nothing
    assert incremental == from_nothing
    assert incremental["alex"]["manager"] == "" and incremental["alice"]["title"] == "Sales Lead"


def test_a_log_that_cannot_be_trusted_means_every_name_is_listed(
    tmp_path: Path, logged: Slapd, capsys: pytest.CaptureFixture[str]
) -> None:
    """Too long since the last read for what the log keeps, or a log whose oldest change
    moved past the last read (purged, started again): removals by listing every name,
    and still found."""
    stale = _folder(tmp_path, "stale")
    config = _config(stale, logged, accesslog=ACCESSLOG, accesslog_keeps="0s")
    assert _sync(capsys, config)[0] == 0
    purged = _folder(tmp_path, "purged")
    purged_config = _config(purged, logged, accesslog=ACCESSLOG)
    assert _sync(capsys, purged_config)[0] == 0
    with _admin(logged) as conn:
        assert conn.delete(dn_of("olivia"))
    code, report = _sync(capsys, config)
    assert code == 0 and report["deactivations"] == ["olivia"], report
    assert report["reads"]["ldap"]["removals"] == "by listing every name"
    # The log held changes from long ago at the last read; its oldest is newer now.
    kept = _snapshot(purged)
    kept.log_start = "20000101000000"
    save_snapshot(purged / "ldap-snapshot.db", kept)
    code, report = _sync(capsys, purged_config)
    assert code == 0 and report["deactivations"] == ["olivia"], report
    assert report["reads"]["ldap"]["removals"] == "by listing every name"
    # Trusted again from there on.
    with _admin(logged) as conn:
        assert conn.delete(dn_of("chen.jie"))
    code, report = _sync(capsys, purged_config)
    assert code == 0 and report["deactivations"] == ["chen.jie"], report
    assert report["reads"]["ldap"]["removals"] == "from the access log"


def test_a_server_without_the_log_is_told_and_every_name_listed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    ldif = inet_org_ldif(demo_people())
    with running_slapd(tmp_path / "slapd", ldif, PASSWORD) as server:
        folder = _folder(tmp_path, "desk")
        config = _config(folder, server, accesslog=ACCESSLOG)
        assert _sync(capsys, config)[0] == 0
        with _admin(server) as conn:
            assert conn.delete(dn_of("olivia"))
        with caplog.at_level(logging.WARNING, logger="bot.ldap_source"):
            code, report = _sync(capsys, config)
    assert code == 0 and report["deactivations"] == ["olivia"], report
    assert report["reads"]["ldap"]["removals"] == "by listing every name"
    assert any("cannot read the access log cn=accesslog" in r.message for r in caplog.records)
