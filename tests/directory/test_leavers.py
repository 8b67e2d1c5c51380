"""Someone who left (`active: false`, written by `deskbot directory sync`) keeps their name
on old tickets but can no longer be found, counted on or act."""

from __future__ import annotations

from dataclasses import replace

from bot.adapters.memory import MemoryChat
from bot.desk import Desk
from bot.directory import Directory
from notifications.approval_notices import fallback_approver
from store.models import Approval


def _gone(desk: Desk, *ids: str) -> None:
    people = dict(desk.directory.people)
    for pid in ids:
        people[pid] = replace(people[pid], active=False)
    old = desk.directory
    directory = Directory(people, dict(old.approver_groups), list(old.assets))
    desk.content = replace(desk.content, directory=directory)


def test_someone_who_left_is_no_longer_found_or_counted(desk: Desk) -> None:
    _gone(desk, "alex", "priya", "mark", "bob")
    d = desk.directory
    assert d.get("alex") is not None  # old tickets still name him
    assert d.by_slack("U0ALEX") is None and d.by_telegram("1007") is None
    assert d.by_email("alex@example.com") is None
    assert "alex" not in [p.id for p in d.technicians("network")]
    assert d.admins() == []
    assert "mark" not in [p.id for p in d.group("finance_system_owners")]
    assert not d.is_manager("mark")
    assert [p.id for p in d.reports("mark")] == ["alice"]  # bob left too


def test_someone_who_left_is_answered_as_a_stranger(desk: Desk, chat: MemoryChat) -> None:
    _gone(desk, "bob")
    unknown = desk.texts.render("en", "identity.unknown_person")
    assert [o.message.text for o in chat.say("bob", "my laptop is broken")] == [unknown]
    assert [o.message.text for o in chat.say("alice", "my laptop is broken")] != [unknown]


def test_the_next_manager_up_who_is_still_here(desk: Desk) -> None:
    _gone(desk, "li.wei")
    d = desk.directory
    assert d.active_manager("wang.fang") == d.get("priya")  # li.wei left: his manager
    assert d.active_manager("alice") == d.get("mark")
    assert d.active_manager("priya") is None  # nobody above her
    assert d.present("li.wei") is None and d.present("priya") == d.get("priya")
    _gone(desk, "priya")
    assert desk.directory.active_manager("wang.fang") is None  # nobody up the chain is left


def test_an_escalation_never_falls_back_to_someone_who_left(desk: Desk) -> None:
    approval = Approval(
        service_id="s",
        step="ok",
        requester_id="alice",
        rule="manager",
        approvers=["mark"],
        channel="memory",
        conversation="alice",
        created_at=desk.clock.now(),
    )
    assert fallback_approver(desk, approval) == desk.directory.get("priya")
    _gone(desk, "priya")
    assert fallback_approver(desk, approval) is None
