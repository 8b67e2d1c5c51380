"""`deskbot doctor`'s Slack checks: the bot token (`auth.test`), the app token in Socket Mode
(`apps.connections.open`), and that every triage channel exists and has the bot in it
(`conversations.info`). Read-only calls; nothing is posted."""

from __future__ import annotations

import asyncio
from collections import defaultdict

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.adapters.slack.channel import DEFAULT_API_URL
from bot.base.config import Settings
from bot.base.findings import Finding, good, problem

UNREACHABLE = (aiohttp.ClientError, OSError, asyncio.TimeoutError)
REFUSED_FIX = (
    "set SLACK_BOT_TOKEN to the app's Bot User OAuth Token (xoxb-..., api.slack.com/apps > "
    "OAuth & Permissions); reinstall the app to the workspace if it was revoked"
)


async def probe(settings: Settings) -> list[Finding]:
    slack = settings.channels.slack
    if not slack.active:
        return [good("slack", "off (no SLACK_BOT_TOKEN)")]
    where = slack.api_url or DEFAULT_API_URL
    client = AsyncWebClient(token=slack.bot_token, base_url=where, timeout=10)
    try:
        auth = await client.auth_test()
    except SlackApiError as exc:
        error = exc.response.get("error", "refused")
        return [problem("slack", f"Slack refused channels.slack.bot_token ({error})", REFUSED_FIX)]
    except UNREACHABLE as exc:
        return [_unreachable(where, exc)]
    bot = str(auth.get("user") or "deskbot")
    found = [good("slack", f"bot token: @{bot} in team {auth.get('team') or auth.get('team_id')}")]
    if slack.mode == "socket":
        found.append(await _app_token(slack.app_token, where))
    found += await _triage(settings, client, bot)
    return found


def _unreachable(where: str, exc: BaseException) -> Finding:
    return problem(
        "slack",
        f"cannot reach Slack at {where} ({type(exc).__name__}: {exc})",
        "check this machine's outbound HTTPS (proxy, firewall) to slack.com",
    )


async def _app_token(token: str, where: str) -> Finding:
    client = AsyncWebClient(base_url=where, timeout=10)
    try:
        await client.apps_connections_open(app_token=token)
    except SlackApiError as exc:
        error = exc.response.get("error", "refused")
        return problem(
            "slack",
            f"Slack refused channels.slack.app_token ({error}); Socket Mode cannot connect",
            "set SLACK_APP_TOKEN to an app-level token (xapp-...) with the connections:write "
            "scope (api.slack.com/apps > Basic Information > App-Level Tokens)",
        )
    except UNREACHABLE as exc:
        return _unreachable(where, exc)
    return good("slack", "app token: Socket Mode may connect")


async def _triage(settings: Settings, client: AsyncWebClient, bot: str) -> list[Finding]:
    queues: dict[str, list[str]] = defaultdict(list)
    for qid, queue in settings.queues.items():
        if queue.triage.slack:
            queues[queue.triage.slack].append(qid)
    found = []
    for channel, qids in queues.items():
        keys = ", ".join(f"queues.{q}.triage.slack" for q in qids)
        try:
            info = (await client.conversations_info(channel=channel)).get("channel") or {}
        except SlackApiError as exc:
            error = exc.response.get("error", "refused")
            if error == "missing_scope":
                fix = "add the channels:read and groups:read scopes to the app and reinstall it"
            else:
                fix = (
                    f"put the channel's id (C..., at the bottom of its details) in {keys}; "
                    f"for a private channel, first invite the bot there: /invite @{bot}"
                )
            found.append(problem("slack", f"triage channel {channel} ({error}) for {keys}", fix))
            continue
        except UNREACHABLE as exc:
            found.append(_unreachable(str(client.base_url), exc))
            continue
        name = info.get("name") or channel
        if not info.get("is_member"):
            found.append(
                problem(
                    "slack",
                    f"triage channel #{name} ({channel}): the bot is not in it, so new-ticket "
                    f"cards cannot be posted ({keys})",
                    f"invite the bot to #{name}: /invite @{bot}",
                )
            )
        else:
            found.append(good("slack", f"triage channel #{name} ({channel}): the bot is in it"))
    return found
