"""Who a Slack user is in the directory: by slack_id, else by the email on their Slack profile.

An email only counts for an account of our own organisation. Slack Connect brings people of
other organisations into shared channels and DMs, and their profile email is whatever their
own organisation says it is; so an account from another workspace (`team_id`), or one
Slack calls a stranger (`is_stranger`), is never matched by email, only by a slack_id the
directory names. Which workspaces are ours: `channels.slack.allowed_teams`, else the
workspace of the bot token (auth.test, when the channel starts).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.directory import Directory, Person

log = logging.getLogger(__name__)

NOT_FOUND = frozenset({"user_not_found", "users_not_found"})


class LookupFailed(Exception):
    """Slack could not answer a lookup just now (rate limited, down): not "unknown user"."""


class Identity:
    """Resolves Slack user ids to directory people; remembers answers for the process.

    `client` should retry rate-limited calls itself (asynchronously): a lookup has no
    outbox to wait in.
    """

    def __init__(
        self,
        directory: Callable[[], Directory],
        client: AsyncWebClient,
        teams: Iterable[str] = (),
    ) -> None:
        # Asked each time: a directory sync replaces the desk's people while serve runs.
        self._directory = directory
        self.client = client
        # Workspace (T...) or Enterprise Grid organisation (E...) ids whose accounts may be
        # matched by email; empty until the channel knows its own workspace.
        self.teams = frozenset(teams)
        self._known: dict[str, str] = {}  # slack user id -> person id
        self._dms: dict[str, str] = {}  # slack user id -> their DM channel with the bot

    @property
    def directory(self) -> Directory:
        return self._directory()

    async def person(self, user_id: str) -> Person | None:
        """The person behind `user_id`, or None when neither id nor email is in the directory."""
        person = self.directory.by_slack(user_id)
        if person is not None:
            return person
        cached = self._known.get(user_id)
        if cached is not None:
            known = self.directory.get(cached)
            if known is not None and known.active:
                return known
            self._known.pop(user_id, None)  # left since (or synced away): asked again
        try:
            response = await self.client.users_info(user=user_id)
        except SlackApiError as exc:
            if exc.response.get("error") in NOT_FOUND:
                return None
            raise LookupFailed(f"users.info: {exc.response.get('error')}") from exc
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise LookupFailed(f"users.info: {exc!r}") from exc
        user = response.get("user") or {}
        if user.get("is_bot") or user.get("deleted"):
            return None
        if not self.ours(user):
            log.info(
                "slack user %s is from another organisation (team %s); not matched by email",
                user_id,
                user.get("team_id") or "unknown",
            )
            return None
        email = (user.get("profile") or {}).get("email")
        person = self.directory.by_email(email) if email else None
        if person is not None:
            self._known[user_id] = person.id
        return person

    def ours(self, user: dict[str, Any]) -> bool:
        """Whether a users.info account belongs to one of our workspaces (fails closed: an
        account without a team is not ours)."""
        if user.get("is_stranger"):
            return False
        enterprise = (user.get("enterprise_user") or {}).get("enterprise_id")
        return bool({user.get("team_id"), enterprise} & self.teams)

    async def dm_channel(self, user_id: str) -> str:
        """The DM channel between the bot and `user_id` (conversations.open is idempotent)."""
        channel = self._dms.get(user_id)
        if channel is None:
            try:
                response = await self.client.conversations_open(users=user_id)
            except (SlackApiError, aiohttp.ClientError, TimeoutError) as exc:
                raise LookupFailed(f"conversations.open: {exc}") from exc
            channel = str((response.get("channel") or {})["id"])
            self._dms[user_id] = channel
        return channel
