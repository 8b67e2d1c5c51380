"""Known errors: `/kb IT-1042` turns a resolution into an article that self-help and the
matcher use at once, on every replica, and after a restart."""

from __future__ import annotations

import json

import pytest

from bot.adapters.memory import MemoryChat
from bot.base.markup import to_plain
from bot.cli import main
from bot.desk import Desk
from bot.insight.job import InsightJob
from store import tickets as repo
from store.models import TicketEvent
from tests.conftest import ROOT
from tests.desks import build_desk
from tests.insight.test_major_incident import report_vpn, texts

TITLE = "Zscaler prompt loops after Monday's update"
FIX = "Reinstall GlobalProtect 6.2 from the Company Portal: the old client loops on the prompt."


def resolved_vpn_ticket(chat: MemoryChat) -> str:
    number = report_vpn(chat, "alice")
    chat.say("alex", f"/claim {number}")
    chat.say("alex", f"/resolve {number} {FIX}")
    return number


def test_a_resolution_becomes_an_article_self_help_and_the_matcher_use(ichat: MemoryChat):
    desk = ichat.desk
    before = desk.matcher.match(TITLE)
    assert before.tier != "high"  # the desk cannot place these words yet
    number = resolved_vpn_ticket(ichat)

    made = ichat.say("alex", f"/kb {number} {TITLE}")
    said = texts(made)[0]
    assert f"Knowledge article ke-it-1000 made from {number}" in said and TITLE in said
    assert "self-help offers it in VPN problem" in said
    with desk.store.read() as session:
        t = repo.get_ticket(session=session, number=number)
        assert t is not None and t.id is not None
        audit = [
            e for e in repo.events_of(session=session, ticket_id=t.id) if e.kind == "kb_article"
        ]
    assert [(e.actor_id, e.note) for e in audit] == [("alex", "ke-it-1000")]

    # The matcher learns the title as an example of the VPN service: retrained by the
    # insight job, off the chat turn.
    assert desk.matcher.match(TITLE).tier != "high"
    assert InsightJob(desk).run_once().knowledge_changed
    after = desk.matcher.match(TITLE)
    assert after.tier == "high" and after.top is not None and after.top.intent == "vpn_issue"
    # The retrained desk still knows where non-IT requests go (catalog/referrals.yaml).
    assert set(desk.intents.referrals) >= {"facilities", "hr_payroll"}
    assert "That sounds like HR and payroll" in texts(ichat.say("bob", "my payslip is wrong"))[0]

    # A VPN journey's self-help offers it after its own article.
    replies = ichat.say("bob", "my vpn is broken") + ichat.say("bob", "won't connect")
    shown = [c.label for o in replies for c in o.choices]
    assert f"Show: {TITLE}" in shown
    more = next(c.value for o in replies for c in o.choices if c.label == f"Show: {TITLE}")
    article = ichat.press("bob", more)
    assert "Reinstall GlobalProtect 6.2" in to_plain(article[0].text)

    # A "how do I..." question it answers well gets it directly.
    direct = ichat.say("wang.fang", f"how do I fix the {TITLE.lower()}?")
    assert "This article answers that" in to_plain(direct[0].text)
    assert "Reinstall GlobalProtect 6.2" in to_plain(direct[0].text)


def test_other_replicas_pick_it_up_and_it_survives_a_restart(ichat: MemoryChat, idesk: Desk):
    other = build_desk(idesk.settings, clock=idesk.clock, migrate=False)  # a second replica
    try:
        number = resolved_vpn_ticket(ichat)
        ichat.say("alex", f"/kb {number} {TITLE}")
        assert other.catalog.kb.get("ke-it-1000", "en") is None
        run = InsightJob(other).run_once()  # every replica refreshes each insight.every
        assert run.knowledge_changed
        assert other.catalog.kb.get("ke-it-1000", "en") is not None
        top = other.matcher.match(TITLE).top
        assert top is not None and top.intent == "vpn_issue"
        assert not InsightJob(other).run_once().knowledge_changed  # nothing new: no rebuild
    finally:
        other.store.dispose()
    restarted = build_desk(idesk.settings, clock=idesk.clock, migrate=False)
    try:
        article = restarted.catalog.kb.get("ke-it-1000", "en")
        assert article is not None and article.known_error and article.title == TITLE
        assert article.services == ("vpn_issue",) and article.body == FIX
        assert restarted.catalog.kb.get("vpn-troubleshooting", "en") is not None  # files too
        top = restarted.matcher.match(TITLE).top
        assert top is not None and top.intent == "vpn_issue"
    finally:
        restarted.store.dispose()


def test_default_title_drops_the_requester_and_kb_again_updates(ichat: MemoryChat):
    number = resolved_vpn_ticket(ichat)
    made = ichat.say("alex", f"/kb {number}")
    # The ticket title "VPN: won't connect (hotel, café or travelling) for Alice Morgan".
    assert "“VPN: won't connect (hotel, café or travelling)”" in texts(made)[0]
    again = ichat.say("alex", f"/kb {number} {TITLE}")
    assert "Knowledge article ke-it-1000 updated" in texts(again)[0]
    assert ichat.desk.catalog.kb.get("ke-it-1000", "en").title == TITLE  # type: ignore[union-attr]


def test_only_technicians_of_the_queue_and_only_resolved_tickets(ichat: MemoryChat):
    number = report_vpn(ichat, "alice")
    assert "is for IT technicians" in texts(ichat.say("bob", f"/kb {number}"))[0]
    assert "belongs to the Network team" in texts(ichat.say("dana", f"/kb {number}"))[0]
    assert "has no resolution yet" in texts(ichat.say("alex", f"/kb {number}"))[0]
    assert "Use it like this" in texts(ichat.say("alex", "/kb"))[0]
    with ichat.desk.store.read() as session:
        from sqlmodel import select

        refused = session.exec(select(TicketEvent).where(TicketEvent.kind == "refused")).all()
    assert sorted(e.actor_id or "" for e in refused) == ["bob", "dana"]
    assert ichat.desk.catalog.kb.get("ke-it-1000", "en") is None


def test_cli_lists_exports_and_retires(
    ichat: MemoryChat, db_url: str, monkeypatch: pytest.MonkeyPatch, capsys, tmp_path
):
    number = resolved_vpn_ticket(ichat)
    ichat.say("alex", f"/kb {number} {TITLE}")
    monkeypatch.setenv("DATABASE_URL", db_url)
    config = ["--config", str(ROOT / "config.yaml")]
    assert main(["kb", "list", "--format", "json", *config]) == 0
    [row] = json.loads(capsys.readouterr().out)
    assert (row["id"], row["status"], row["ticket"], row["by"]) == (
        "ke-it-1000",
        "active",
        number,
        "alex",
    )
    assert main(["kb", "export", str(tmp_path), *config]) == 0
    exported = (tmp_path / "en" / "ke-it-1000.md").read_text(encoding="utf-8")
    from journeys.kb import load_kb

    loaded = load_kb(tmp_path).get("ke-it-1000", "en")  # a valid content/kb article
    assert loaded is not None and loaded.title == TITLE and loaded.body == FIX
    assert exported.startswith("---\ntitle:")
    capsys.readouterr()
    assert main(["kb", "retire", "ke-it-1000", *config]) == 0
    assert main(["kb", "retire", "ke-it-9999", *config]) == 1
    InsightJob(ichat.desk).run_once()
    assert ichat.desk.catalog.kb.get("ke-it-1000", "en") is None
    top = ichat.desk.matcher.match(TITLE)
    assert top.tier != "high"  # the matcher forgot it too


def test_an_article_from_a_rolled_back_turn_is_dropped_at_the_next_refresh(ichat: MemoryChat):
    from bot import known_errors

    desk = ichat.desk
    number = resolved_vpn_ticket(ichat)

    class Abort(Exception):
        pass

    with pytest.raises(Abort), desk.store.begin() as session:
        ticket = repo.get_ticket(session=session, number=number)
        assert ticket is not None
        known_errors.save_article(
            desk, session, ticket, title=TITLE, body=FIX, by="alex", now=desk.clock.now()
        )
        known_errors.refresh(desk, session=session, matcher=False)
        assert desk.catalog.kb.get("ke-it-1000", "en") is not None  # offered at once...
        raise Abort  # ...but the turn fails and nothing is stored
    assert known_errors.refresh(desk)
    assert desk.catalog.kb.get("ke-it-1000", "en") is None
