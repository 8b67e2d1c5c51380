"""Who is writing (slack_id, else profile email) and the App Home tab built from the store."""

from __future__ import annotations

import json
from dataclasses import replace
from urllib.parse import urlencode

import aiohttp
import pytest
from pydantic import ValidationError
from sqlmodel import select

from bot.adapters.slack import SlackChannel
from bot.base.config import SlackChannel as SlackSettings
from bot.chat.engine import Engine
from bot.desk import Desk
from bot.directory import Directory
from store import tickets as repo
from store.models import ConversationState
from tests.slack.conftest import Driver, payload, view_text
from tests.slack.fake_slack import TEAM, FakeSlack
from tests.slack.test_staff import open_password_ticket


def member(uid: str, email: str, *, team: str = TEAM, **more: object) -> dict[str, object]:
    """A users.info user as Slack answers it (team_id is always there)."""
    return {"id": uid, "name": uid.lower(), "team_id": team, "profile": {"email": email}, **more}


async def test_user_found_by_profile_email_when_slack_id_is_not_in_the_directory(slack: Driver):
    # Bob's directory row has another slack_id (say, an old workspace); his email matches.
    slack.fake.users["U0BOBNEW"] = member("U0BOBNEW", "Bob@Example.com")
    await slack.dm("U0BOBNEW", "hello")
    await slack.dm("U0BOBNEW", "hello again")
    assert "Hi Bob" in slack.last("D0BOBNEW").block_text()
    assert len(slack.fake.called("users.info")) == 1  # remembered after the first lookup


async def test_slack_connect_users_are_never_matched_by_email(slack: Driver):
    # People of other organisations reach the bot through Slack Connect (a shared channel,
    # a DM). Their profile email is whatever their organisation says: it proves nothing.
    slack.fake.users["U0EVE"] = member("U0EVE", "priya@example.com", team="T0OTHERORG")
    slack.fake.users["U0MALLORY"] = member("U0MALLORY", "priya@example.com", is_stranger=True)
    grid = {"id": "W0GRID", "enterprise_id": "E0OTHER", "enterprise_name": "Other"}
    slack.fake.users["U0GRID"] = member(
        "U0GRID", "priya@example.com", team="T0ELSE", enterprise_user=grid
    )
    for user in ("U0EVE", "U0MALLORY", "U0GRID"):
        await slack.dm(user, "/queue")
        told = slack.last("D" + user[1:]).block_text()
        assert "couldn't find you in the people directory" in told, user
    with slack.desk.store.read() as session:
        assert session.exec(select(ConversationState)).all() == []
    # The Home tab does not take them for Priya (an admin) either.
    assert "couldn't find you" in view_text(await slack.open_home("U0EVE"))


async def test_allowed_teams_from_the_config_are_the_ones_matched_by_email(
    slack_desk: Desk, fake: FakeSlack
):
    slack = slack_desk.settings.channels.slack.model_copy(
        update={"allowed_teams": ["T0SISTER", "E0GROUP"]}
    )
    channels = slack_desk.settings.channels.model_copy(update={"slack": slack})
    slack_desk.settings = slack_desk.settings.model_copy(update={"channels": channels})
    fake.users["U0BOBSIS"] = member("U0BOBSIS", "bob@example.com", team="T0SISTER")
    grid = {"id": "W0ALI", "enterprise_id": "E0GROUP", "enterprise_name": "Group"}
    fake.users["U0ALIGRP"] = member(
        "U0ALIGRP", "alice@example.com", team="T0BRANCH", enterprise_user=grid
    )
    # Listing workspaces replaces the default (the bot's own, T0DESK), so list it too.
    fake.users["U0DANAHQ"] = member("U0DANAHQ", "dana@example.com", team=TEAM)
    channel = SlackChannel(slack_desk, Engine(slack_desk))
    await channel.start()
    try:
        async with aiohttp.ClientSession() as http:
            driver = Driver(channel, fake, http)
            for user in ("U0BOBSIS", "U0ALIGRP", "U0DANAHQ"):
                await driver.dm(user, "hello")
    finally:
        await channel.stop()
    assert "Hi Bob" in driver.last("D0BOBSIS").block_text()
    assert "Hi Alice" in driver.last("D0ALIGRP").block_text()
    assert "couldn't find you" in driver.last("D0DANAHQ").block_text()


def test_allowed_teams_must_be_slack_team_ids():
    slack = SlackSettings
    assert slack.model_validate({"allowed_teams": ["T0SISTER"]}).allowed_teams == ["T0SISTER"]
    with pytest.raises(ValidationError, match=r"allowed_teams.0\n  String should match"):
        slack.model_validate({"allowed_teams": ["acme.slack.com"]})


async def test_unknown_user_is_told_clearly_and_nothing_is_started(slack: Driver):
    slack.fake.users["U0GUEST"] = member("U0GUEST", "guest@elsewhere.org")
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
    slack.fake.users["U0OTHERBOT"] = member("U0OTHERBOT", "alice@example.com", is_bot=True)
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
    slack.fake.users["U0BOBNEW"] = member("U0BOBNEW", "bob@example.com")
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


async def test_people_synced_while_running_are_known_by_their_slack_id(slack: Driver):
    # A directory sync replaces the desk's people (bot/people_watch.py): the adapter asks the
    # desk each time, so someone added since the start is known at once.
    desk = slack.desk
    people = dict(desk.directory.people)
    people["zoe"] = replace(
        people["bob"],
        id="zoe",
        name="Zoe Park",
        slack_id="U0ZOE",
        telegram_id=None,
        email="zoe@example.com",
    )
    old = desk.directory
    desk.content = replace(
        desk.content, directory=Directory(people, dict(old.approver_groups), list(old.assets))
    )
    await slack.dm("U0ZOE", "hello")
    assert "Hi Zoe" in slack.last("D0ZOE").block_text()
    assert slack.fake.called("users.info") == []  # known by the directory, not looked up
