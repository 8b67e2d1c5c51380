"""Technicians and approvers on Slack: triage cards updated in place, /desk verbs, approvals."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest
from sqlmodel import select

from bot.adapters.slack import SlackChannel
from bot.base.clock import FixedClock
from bot.base.config import Paths, Settings
from bot.chat.engine import Engine
from store import tickets as repo
from store.models import TicketEvent
from tests.desks import build_desk
from tests.slack.conftest import TRIAGE, Driver, slack_settings, view_text
from tests.slack.fake_slack import FakeSlack

DATA = Path(__file__).resolve().parent.parent / "data"


async def open_password_ticket(slack: Driver, user: str = "U0ALICE") -> str:
    await slack.dm(user, "I forgot my password")
    await slack.press(user, slack.last("D" + user[1:]), "VPN")
    await slack.press(user, slack.last("D" + user[1:]), "No")
    await slack.dm(user, "+44 20 7946 0000")
    await slack.flush()
    with slack.desk.store.read() as session:
        return repo.list_tickets(session=session)[-1].number


async def test_claim_by_button_updates_the_card_in_place_and_tells_the_requester(slack: Driver):
    number = await open_password_ticket(slack)
    card = slack.last(TRIAGE)
    posts_before = len(slack.fake.posts(TRIAGE))

    assert await slack.press("U0DANA", card, "Claim") == 200
    # Dana's confirmation goes to the card's own thread in the triage channel.
    said = slack.last(TRIAGE)
    assert said.params["thread_ts"] == card.result["ts"]
    assert f"You've claimed *{number}*" in said.block_text()

    await slack.flush()
    updates = [c for c in slack.fake.called("chat.update") if c.params["ts"] == card.result["ts"]]
    assert updates, "the card is edited with chat.update, not posted again"
    latest = updates[-1]
    assert latest.params["channel"] == TRIAGE
    assert "Dana Whitfield" in latest.block_text() and "In progress" in latest.block_text()
    assert "Claim" not in latest.buttons()  # nobody can claim it any more (Assign remains)
    cards = [c for c in slack.fake.posts(TRIAGE) if "thread_ts" not in c.params]
    assert len(cards) == 1 and len(slack.fake.posts(TRIAGE)) == posts_before + 1
    assert "Dana" in slack.last("D0ALICE").block_text()  # the requester hears who has it
    with slack.desk.store.read() as session:
        ticket = repo.get_ticket(session=session, number=number)
        assert ticket is not None and ticket.assignee_id == "dana"


async def test_an_employee_pressing_claim_is_refused_and_audited(slack: Driver):
    number = await open_password_ticket(slack)
    card = slack.last(TRIAGE)
    await slack.press("U0BOB", card, "Claim")
    assert "is for IT technicians" in slack.last(TRIAGE).block_text()
    with slack.desk.store.read() as session:
        ticket = repo.get_ticket(session=session, number=number)
        assert ticket is not None and ticket.assignee_id is None
        refused = session.exec(
            select(TicketEvent).where(TicketEvent.kind == "refused", TicketEvent.actor_id == "bob")
        ).all()
    assert len(refused) == 1 and refused[0].data["channel"] == "slack"


async def test_desk_command_runs_technician_verbs_in_the_dm(slack: Driver):
    number = await open_password_ticket(slack)
    status, body = await slack.command("U0DANA", "queue")
    assert status == 200 and body == ""  # acked at once, nothing shown in place
    assert number in slack.last("D0DANA").block_text()

    await slack.command("U0DANA", f"claim {number}")
    assert f"You've claimed *{number}*" in slack.last("D0DANA").block_text()


async def test_desk_command_in_a_channel_answers_privately(slack: Driver):
    status, body = await slack.command("U0ALICE", "status", channel="C0GENERAL")
    assert status == 200 and "direct messages" in body
    assert slack.fake.posts("C0GENERAL") == []
    assert "no open requests" in slack.last("D0ALICE").block_text()


@pytest.fixture
async def approvals(settings: Settings, clock: FixedClock, fake: FakeSlack):
    """The monitor journey from tests/data (it needs the manager's approval)."""
    base = slack_settings(settings, fake.api_url)
    paths = Paths(**{**base.paths.model_dump(), "services": str(DATA / "services")})
    desk = build_desk(base.model_copy(update={"paths": paths}), clock=clock, migrate=False)
    channel = SlackChannel(desk, Engine(desk))
    await channel.start()
    async with aiohttp.ClientSession() as http:
        yield Driver(channel, fake, http)
    await channel.stop()
    desk.store.dispose()


async def test_approval_by_button_resumes_the_requesters_journey(approvals: Driver):
    slack = approvals
    await slack.dm("U0ALICE", "I need another monitor")
    await slack.press("U0ALICE", slack.last("D0ALICE"), "27 inch")
    assert "waiting for approval from Mark Jensen" in slack.last("D0ALICE").block_text()
    await slack.flush()
    # Mark never wrote to the bot: the request reaches him at his Slack user id (his DM).
    ask = slack.last("D0MARK")
    assert ask.params["channel"] == "U0MARK"
    assert "Alice Morgan" in ask.block_text()
    assert ask.buttons().keys() == {"Approve", "Reject"}
    home = view_text(await slack.open_home("U0ALICE"))
    assert "Waiting for approval · Waiting for approval from Mark Jensen." in home

    await slack.press("U0MARK", ask, "Approve")
    assert "recorded" in slack.last("D0MARK").block_text()
    await slack.flush()
    assert "Mark Jensen approved it" in slack.last("D0ALICE").block_text()
    with slack.desk.store.read() as session:
        [ticket] = repo.list_tickets(session=session)
    assert ticket.status == "open"


async def test_rejection_reason_typed_in_slack_reaches_the_requester_inert(approvals: Driver):
    slack = approvals
    await slack.dm("U0ALICE", "I need another monitor")
    await slack.press("U0ALICE", slack.last("D0ALICE"), "24 inch")
    await slack.flush()
    await slack.press("U0MARK", slack.last("D0MARK"), "Reject")
    assert "Why are you rejecting" in slack.last("D0MARK").block_text()
    await slack.dm("U0MARK", "No budget &amp; no desk <!channel>")
    await slack.flush()
    told = slack.last("D0ALICE").block_text()
    assert "No budget &amp; no desk @channel" in told and "<!channel>" not in told


async def test_requester_cannot_approve_their_own_request(approvals: Driver):
    slack = approvals
    await slack.dm("U0ALICE", "I need another monitor")
    await slack.press("U0ALICE", slack.last("D0ALICE"), "27 inch")
    await slack.flush()
    ask = slack.last("D0MARK")
    await slack.press("U0ALICE", ask, "Approve")  # a forwarded button, pressed by Alice
    assert "can't decide" in slack.last("D0MARK").block_text()
    with slack.desk.store.read() as session:
        refused = [e for e in session.exec(select(TicketEvent)).all() if e.kind == "refused"]
    assert refused


async def test_ticket_details_asked_for_by_mention_in_a_channel_go_to_a_dm(slack: Driver):
    """Anyone in #general reads the thread of an @mention: the ticket, its notes and its
    requester's words go to the technician's DM, and only a pointer stays in the thread."""
    number = await open_password_ticket(slack)
    await slack.dm("U0DANA", f"/note {number} her phone is +44 20 7946 0000")
    general, ts = "C0GENERAL", "1795000300.000100"
    assert await slack.mention("U0DANA", general, f"<@UBOT> /show {number}", ts=ts) == 200

    [pointer] = slack.fake.posts(general)
    assert pointer.params["thread_ts"] == ts
    assert "private message" in pointer.block_text() and number not in pointer.block_text()
    await slack.flush()
    shown = slack.last("D0DANA")
    assert number in shown.block_text() and "+44 20 7946 0000" in shown.block_text()
    assert len(slack.fake.posts(general)) == 1
