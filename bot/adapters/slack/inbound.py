"""Slack payloads to what the engine needs: who, which conversation, what they typed or pressed.

Pure functions over the JSON Slack sends, so every rule (which messages count, where a
reply goes) is readable in one place and testable without a server.

Conversation keys (docs/architecture.md): a DM is its channel id (`D0123`); a channel
thread is `<channel>:<thread_ts>`, so a journey started by an @mention stays in its thread.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot.adapters.slack.blocks import ACTION_PREFIX
from bot.adapters.slack.mrkdwn import to_plain

# Message subtypes that are still a person typing; everything else (edits, deletions,
# joins, bot posts...) is not a request.
_PERSON_SUBTYPES = (None, "file_share", "thread_broadcast")
START = "/start"  # what a bare @mention means: say hello


@dataclass(frozen=True, slots=True)
class SharedFile:
    """A file on a message event, as Slack describes it (downloaded with the bot token)."""

    id: str
    name: str
    mime: str
    size: int
    url: str


@dataclass(frozen=True, slots=True)
class Incoming:
    """One request from a Slack user, before we know who they are in the directory."""

    user: str
    conversation: str
    event_id: str
    text: str = ""
    action: str | None = None
    # A reply in a channel thread without an @mention: only ours if a journey runs there
    # (or, with files, if the thread is a ticket's).
    thread_only: bool = False
    files: tuple[SharedFile, ...] = ()


def split_conversation(conversation: str) -> tuple[str, str | None]:
    """`C1:1700.1` -> ("C1", "1700.1"); `D1` -> ("D1", None)."""
    channel, _, thread_ts = conversation.partition(":")
    return channel, thread_ts or None


def is_dm(channel_id: str, channel_name: str | None = None) -> bool:
    return channel_id.startswith("D") or channel_name == "directmessage"


def _by_person(event: dict[str, Any]) -> bool:
    return (
        event.get("subtype") in _PERSON_SUBTYPES
        and not event.get("bot_id")
        and not event.get("edited")
        and bool(event.get("user"))
    )


def files_of(event: dict[str, Any]) -> tuple[SharedFile, ...]:
    """The files shared on a message that can be downloaded (not ones hidden by the
    workspace's plan, deleted ones or external links)."""
    found = []
    for f in event.get("files") or ():
        if not isinstance(f, dict):
            continue
        url = f.get("url_private_download") or f.get("url_private")
        if not url or f.get("mode") in ("tombstone", "hidden_by_limit", "external"):
            continue
        name = str(f.get("name") or f.get("title") or f.get("id") or "file")
        size = f.get("size")
        found.append(
            SharedFile(
                id=str(f.get("id") or ""),
                name=name,
                mime=str(f.get("mimetype") or ""),
                size=size if isinstance(size, int) else 0,
                url=str(url),
            )
        )
    return tuple(found)


def from_message(
    body: dict[str, Any], bot_user: str | None, names: Callable[[str], str | None]
) -> Incoming | None:
    """A `message` event: DMs always count; channel thread replies only maybe."""
    event = body.get("event") or {}
    if not _by_person(event):
        return None
    channel = str(event.get("channel") or "")
    text = str(event.get("text") or "")
    event_id = str(body.get("event_id") or f"msg:{channel}:{event.get('ts')}")
    files = files_of(event)
    if event.get("channel_type") == "im" or is_dm(channel):
        plain = to_plain(text, names)
        return Incoming(str(event["user"]), channel, event_id, text=plain, files=files)
    thread_ts = event.get("thread_ts")
    if not thread_ts or (bot_user and f"<@{bot_user}" in text):
        return None  # channel chatter, or an @mention that app_mention delivers
    return Incoming(
        str(event["user"]),
        f"{channel}:{thread_ts}",
        event_id,
        text=to_plain(text, names),
        thread_only=True,
        files=files,
    )


def from_mention(
    body: dict[str, Any], bot_user: str | None, names: Callable[[str], str | None]
) -> Incoming | None:
    """An `app_mention`: answer in its thread (a new thread on the mentioning message)."""
    event = body.get("event") or {}
    if not _by_person(event):
        return None
    text = str(event.get("text") or "")
    if bot_user:
        text = text.replace(f"<@{bot_user}>", " ")
    files = files_of(event)
    plain = " ".join(to_plain(text, names).split()) or ("" if files else START)
    thread = event.get("thread_ts") or event.get("ts")
    channel = str(event.get("channel") or "")
    event_id = str(body.get("event_id") or f"mention:{channel}:{event.get('ts')}")
    conversation = f"{channel}:{thread}"
    return Incoming(str(event["user"]), conversation, event_id, text=plain, files=files)


def pressed(action: dict[str, Any]) -> tuple[str, str] | None:
    """(value, label) of one of our buttons or select options; None for anything else."""
    if not str(action.get("action_id") or "").startswith(ACTION_PREFIX):
        return None
    option = action.get("selected_option")
    if option:
        return str(option["value"]), str((option.get("text") or {}).get("text") or "")
    if "value" in action:
        return str(action["value"]), str((action.get("text") or {}).get("text") or "")
    return None


def action_conversation(body: dict[str, Any]) -> str | None:
    """Where a button was pressed: a DM, a thread (a card's own thread), or None for a view."""
    container = body.get("container") or {}
    if container.get("type") != "message":
        return None
    channel = body.get("channel") or {}
    channel_id = str(container.get("channel_id") or channel.get("id") or "")
    if is_dm(channel_id, channel.get("name")):
        return channel_id
    message = body.get("message") or {}
    thread = container.get("thread_ts") or message.get("thread_ts") or container.get("message_ts")
    return f"{channel_id}:{thread}"


def action_event_id(body: dict[str, Any], action: dict[str, Any]) -> str:
    """A click is unique by its trigger_id; Socket Mode redelivers the same payload."""
    trigger = body.get("trigger_id")
    user = (body.get("user") or {}).get("id", "")
    return f"act:{trigger}" if trigger else f"act:{user}:{action.get('action_ts')}"
