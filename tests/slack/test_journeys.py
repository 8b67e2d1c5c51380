"""Whole conversations through Slack: signed events in, Block Kit out, tickets in the store."""

from __future__ import annotations

from store import tickets as repo
from tests.slack.conftest import TRIAGE, Driver


async def test_password_reset_in_a_dm_opens_one_ticket_and_a_triage_card(slack: Driver):
    assert await slack.dm("U0ALICE", "I forgot my password") == 200
    question = slack.last("D0ALICE")
    assert "Which account is it?" in question.block_text()
    assert list(question.buttons())[:2] == ["Windows / network login", "Email (Outlook)"]
    progress = [b for b in question.blocks if b["type"] == "context"]
    assert progress and "Step 1 of" in progress[0]["elements"][0]["text"]

    assert await slack.press("U0ALICE", question, "Email (Outlook)") == 200
    # The answered question now shows the answer instead of its buttons.
    [marked] = [
        c for c in slack.fake.called("chat.update") if c.params["ts"] == question.result["ts"]
    ]
    assert not [b for b in marked.blocks if b["type"] == "actions"]
    assert "→ Email (Outlook)" in marked.block_text()

    locked = slack.last("D0ALICE")
    assert "locked out" in locked.block_text()
    await slack.press("U0ALICE", locked, "Yes")
    assert "phone number" in slack.last("D0ALICE").block_text()
    await slack.dm("U0ALICE", "+44 20 7946 0000")

    done = slack.last("D0ALICE")
    text = done.block_text()
    assert "*IT-1000*" in text and "call you on +44 20 7946 0000" in text
    card = [b for b in done.blocks if b.get("fields")]
    assert card, "the ticket card is a section with fields"
    assert any("*Priority*\nP3" == f["text"] for f in card[0]["fields"])
    with slack.desk.store.read() as session:
        [ticket] = repo.list_tickets(session=session)
    assert ticket.requester_id == "alice" and ticket.channel == "slack"
    assert ticket.conversation == "D0ALICE"

    # The service desk's triage channel gets the card with Claim / Assign buttons.
    assert await slack.flush() >= 1
    triage = slack.last(TRIAGE)
    assert "IT-1000" in triage.block_text()
    assert set(triage.buttons()) == {"Claim", "Assign", "Transfer", "Canned reply"}


async def test_mention_in_a_channel_answers_in_its_thread_and_keeps_the_journey_there(
    slack: Driver,
):
    ts = "1795000100.000200"
    await slack.mention("U0BOB", "C0GENERAL", "<@UBOT> I forgot my password", ts=ts)
    question = slack.last("C0GENERAL")
    assert question.params["thread_ts"] == ts
    assert "Which account is it?" in question.block_text()

    # Replies in the thread need no @mention while the journey runs there.
    await slack.thread_reply("U0BOB", "C0GENERAL", ts, "Email")
    follow_up = slack.last("C0GENERAL")
    assert follow_up.params["thread_ts"] == ts and "locked out" in follow_up.block_text()

    # Other people chatting in the thread are not taken as answers.
    before = len(slack.fake.posts())
    await slack.thread_reply("U0ALICE", "C0GENERAL", ts, "no")
    assert len(slack.fake.posts()) == before


async def test_thread_chatter_without_a_journey_is_ignored(slack: Driver):
    await slack.thread_reply("U0BOB", "C0GENERAL", "1795000999.000100", "I forgot my password")
    assert slack.fake.posts() == []


async def test_bare_mention_gets_a_greeting(slack: Driver):
    await slack.mention("U0BOB", "C0GENERAL", "<@UBOT>", ts="1795000300.000100")
    assert "Hi Bob" in slack.last("C0GENERAL").block_text()


async def test_what_a_person_typed_reaches_the_core_as_plain_text(slack: Driver):
    """Slack sends `&` as &amp;, `@channel` as <!channel>, links as <url|label>."""
    await slack.dm("U0ALICE", "talk to a human")
    await slack.dm(
        "U0ALICE", "VPN &amp; wifi down <!channel> see <https://evil.example|Reset password>"
    )
    with slack.desk.store.read() as session:
        [ticket] = repo.list_tickets(session=session)
    assert ticket.description.endswith(
        "VPN & wifi down @channel see Reset password (https://evil.example)"
    )


async def test_echoed_text_is_escaped_once_and_cannot_ping_or_forge_links(slack: Driver):
    # One token: `/status` quotes the ticket number it was given, whatever it contains.
    await slack.dm("U0ALICE", "/status x&amp;y<!channel><!here|@here>&lt;!everyone&gt;")
    reply = slack.last("D0ALICE")
    shown = reply.block_text()
    # "No such ticket" quotes what was typed: inert text, escaped exactly once.
    assert "X&amp;Y@CHANNEL@HERE&lt;!EVERYONE&gt;" in shown
    assert "<!" not in shown and "<!" not in reply.params["text"]
    assert "&amp;amp;" not in shown and "&amp;lt;" not in shown


async def test_a_turn_that_says_something_before_it_asks_is_one_message(slack: Driver):
    # "Got it", the self-service tip and the question: one notification, one API call
    # (Slack allows about one message per second per channel).
    await slack.dm("U0ALICE", "I forgot my password")
    [message] = slack.fake.posts("D0ALICE")
    text = message.block_text()
    assert text.index("Password reset") < text.index("self-service") < text.index("Which account")
    assert "Email (Outlook)" in message.buttons()
