"""Who is writing (slack_id, else profile email) and the App Home tab built from the store."""

from __future__ import annotations

import json
from urllib.parse import urlencode

from sqlmodel import select

from store import tickets as repo
from store.models import ConversationState
from tests.slack.conftest import Driver, payload, view_text
from tests.slack.test_staff import open_password_ticket


async def test_user_found_by_profile_email_when_slack_id_is_not_in_the_directory(slack: Driver):
    # Bob's directory row has another slack_id (say, an old workspace); his email matches.
    slack.fake.users["U0BOBNEW"] = {"id": "U0BOBNEW", "profile": {"email": "Bob@Example.com"}}
    await slack.dm("U0BOBNEW", "hello")
    await slack.dm("U0BOBNEW", "hello again")
    assert "Hi Bob" in slack.last("D0BOBNEW").block_text()
    assert len(slack.fake.called("users.info")) == 1  # remembered after the first lookup


async def test_unknown_user_is_told_clearly_and_nothing_is_started(slack: Driver):
    slack.fake.users["U0GUEST"] = {"id": "U0GUEST", "profile": {"email": "guest@elsewhere.org"}}
    await slack.dm("U0GUEST", "I forgot my password")
    nobody = slack.dm_event("U0NOBODY", "I forgot my password")  # users.info: user_not_found
    await slack.event(nobody)
    await slack.event(nobody, retry=1)
    assert len(slack.fake.posts("D0NOBODY")) == 1  # a redelivery is not answered twice
    for dm in ("D0GUEST", "D0NOBODY"):
        text = slack.last(dm).block_text()
        assert "couldn't find you in the people directory" in text
    with slack.desk.store.read() as session:
        assert session.exec(select(ConversationState)).all() == []
        assert repo.list_tickets(session=session) == []


async def test_other_bots_are_not_people(slack: Driver):
    slack.fake.users["U0OTHERBOT"] = {
        "id": "U0OTHERBOT",
        "is_bot": True,
        "profile": {"email": "alice@example.com"},
    }
    await slack.dm("U0OTHERBOT", "hello")
    assert "couldn't find you" in slack.last("D0OTHERBOT").block_text()


async def test_home_lists_open_requests_with_status_and_next_step(slack: Driver):
    assert "no open requests" in view_text(await slack.open_home("U0ALICE"))
    number = await open_password_ticket(slack)
    text = view_text(await slack.open_home("U0ALICE"))
    assert f"*{number}* Password reset" in text
    assert "New · The Service Desk team will pick it up." in text
    assert "Expected by Mon 23 Nov" in text
    assert "Waiting in your queues" not in text  # employees see no queue


async def test_technician_home_shows_the_queue_and_claims_from_it(slack: Driver):
    number = await open_password_ticket(slack)
    view = await slack.open_home("U0DANA")
    assert "Waiting in your queues" in view_text(view)
    [claim] = [b["accessory"] for b in view["blocks"] if "accessory" in b]
    assert claim["value"] == f"t:claim:{number}"

    body = payload("action_home")
    body["actions"][0]["value"] = claim["value"]
    form = urlencode({"payload": json.dumps(body)})
    status, _ = await slack.post(form, content_type="application/x-www-form-urlencoded")
    await slack.settle()
    assert status == 200
    assert f"You've claimed *{number}*" in slack.last("D0DANA").block_text()
    republished = slack.fake.called("views.publish")[-1].params["view"]
    text = view_text(republished)
    assert "Assigned to you" in text and number in text
    assert "Nothing is waiting in your queues." in text
    # Alice's home now says who is working on it.
    assert "Dana Whitfield is working on it." in view_text(await slack.open_home("U0ALICE"))


async def test_unknown_user_home_explains_why_it_is_empty(slack: Driver):
    view = await slack.open_home("U0NOBODY")
    assert "couldn't find you" in view_text(view)


async def test_rate_limited_lookup_is_not_mistaken_for_an_unknown_user(slack: Driver):
    # Slack keeps answering 429 for longer than the lookup client waits.
    slack.channel.lookups.retry_handlers = []
    slack.fake.fail_next("users.info", retry_after=30)
    await slack.dm("U0BOBNEW", "hello")
    told = slack.last("D0BOBNEW").block_text()
    assert "send that again" in told and "couldn't find you" not in told
    # Once Slack answers again, the same person is recognised by email.
    slack.fake.users["U0BOBNEW"] = {"id": "U0BOBNEW", "profile": {"email": "bob@example.com"}}
    await slack.dm("U0BOBNEW", "hello")
    assert "Hi Bob" in slack.last("D0BOBNEW").block_text()


def test_lookups_wait_out_rate_limits_but_message_sends_do_not(slack: Driver):
    from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler

    def waits(client) -> bool:
        return any(isinstance(h, AsyncRateLimitErrorRetryHandler) for h in client.retry_handlers)

    assert waits(slack.channel.lookups) and not waits(slack.channel.client)


async def test_home_speaks_the_persons_language(slack: Driver):
    text = view_text(await slack.open_home("U0WANGF"))
    assert "您的 IT 请求" in text and "您没有未完成的请求" in text
