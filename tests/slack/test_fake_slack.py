"""The fake Slack is only useful if it says no where Slack would: prove that it does."""

from __future__ import annotations

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from tests.slack.fake_slack import FakeSlack, required_params


def test_required_parameters_come_from_the_published_spec():
    required = required_params()
    assert required["chat.postMessage"] == ["channel"]
    assert required["chat.update"] == ["channel", "ts"]
    assert set(required["views.publish"]) == {"user_id", "view"}
    assert len(required) > 170  # every method in the spec, not a hand-made list


async def test_fake_rejects_what_slack_would_reject(fake: FakeSlack):
    bot = AsyncWebClient(token="xoxb-test", base_url=fake.api_url)
    cases = [
        (bot.api_call("chat.postMesage", json={"channel": "D1"}), "unknown_method"),
        (bot.api_call("chat.postMessage", json={"text": "hi"}), "invalid_arguments"),
        (
            bot.chat_postMessage(
                channel="D1", text="x", blocks=[{"type": "actions", "elements": []}]
            ),
            "invalid_blocks",
        ),
        (bot.chat_update(channel="D1", ts="1.1", text="x"), "message_not_found"),
        (
            AsyncWebClient(token="xapp-1", base_url=fake.api_url).chat_postMessage(
                channel="D1", text="x"
            ),
            "not_authed",
        ),
    ]
    for call, error in cases:
        with pytest.raises(SlackApiError) as caught:
            await call
        assert caught.value.response["error"] == error
    assert len(fake.violations) == 4  # message_not_found is Slack behaviour, not our mistake
    fake.violations.clear()


async def test_fake_rate_limits_on_request(fake: FakeSlack):
    bot = AsyncWebClient(token="xoxb-test", base_url=fake.api_url)
    fake.fail_next("chat.postMessage", retry_after=12)
    with pytest.raises(SlackApiError) as caught:
        await bot.chat_postMessage(channel="D1", text="x")
    assert caught.value.response.status_code == 429
    assert caught.value.response.headers["Retry-After"] == "12"
    posted = await bot.chat_postMessage(channel="D1", text="x")
    assert posted["ok"] is True


def _sections(total: int) -> list[dict[str, object]]:
    """Sections of at most 3,000 characters holding `total` characters of text."""
    sizes = [3000] * (total // 3000) + ([total % 3000] if total % 3000 else [])
    return [{"type": "section", "text": {"type": "mrkdwn", "text": "x" * n}} for n in sizes]


async def test_fake_refuses_a_message_too_long_as_a_whole(fake: FakeSlack):
    """Each block within its own limit, but too much text altogether (msg_blocks_too_long);
    and a top-level text past 40,000 characters (msg_too_long)."""
    bot = AsyncWebClient(token="xoxb-test", base_url=fake.api_url)
    fine = await bot.chat_postMessage(channel="D1", text="x", blocks=_sections(11_000))
    assert fine["ok"] is True
    with pytest.raises(SlackApiError) as caught:
        await bot.chat_postMessage(channel="D1", text="x", blocks=_sections(11_001))
    assert caught.value.response["error"] == "msg_blocks_too_long"
    with pytest.raises(SlackApiError) as caught:
        await bot.chat_update(channel="D1", ts=fine["ts"], text="x", blocks=_sections(20_000))
    assert caught.value.response["error"] == "msg_blocks_too_long"
    # Buttons and select options count too.
    options = [
        {"text": {"type": "plain_text", "text": "o" * 75}, "value": str(i)} for i in range(100)
    ]
    select = {
        "type": "static_select",
        "action_id": "a",
        "placeholder": {"type": "plain_text", "text": "Pick"},
        "options": options,
    }
    with pytest.raises(SlackApiError) as caught:
        await bot.chat_postMessage(
            channel="D1",
            text="x",
            blocks=[*_sections(4000), {"type": "actions", "elements": [select]}],
        )
    assert caught.value.response["error"] == "msg_blocks_too_long"
    assert (await bot.chat_postMessage(channel="D1", text="y" * 40_000))["ok"] is True
    with pytest.raises(SlackApiError) as caught:
        await bot.chat_postMessage(channel="D1", text="y" * 40_001)
    assert caught.value.response["error"] == "msg_too_long"
    assert len(fake.violations) == 4
    fake.violations.clear()
