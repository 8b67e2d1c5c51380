"""Pacing sends within Telegram's limits so messages are delayed, never refused.

Telegram asks bots to stay under about one message per second per chat (short bursts are
tolerated), 20 messages per minute per group and 30 per second overall; beyond that it
answers 429 with `retry_after`. The pacer says how long to wait before the next send to
a chat; a short wait is slept, a long one is handed back so the outbox retries later
instead of holding the caller. A 429 from Telegram blocks the chat until it has passed.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Pacing:
    """Limits; the defaults are Telegram's published ones."""

    per_chat_per_second: float = 1.0
    per_chat_burst: int = 3  # a reply of a few messages goes out at once
    per_group_per_minute: int = 20
    overall_per_second: int = 30
    max_wait: float = 2.0  # seconds worth sleeping for; longer waits go back to the outbox


@dataclass
class _Bucket:
    tokens: float
    at: float
    recent: deque[float] = field(default_factory=deque)  # groups: send times in the last minute
    blocked_until: float = 0.0


class Pacer:
    """Tracks sends per chat (`chat_id < 0` is a group) and how long the next must wait."""

    def __init__(self, pacing: Pacing, *, now: Callable[[], float] = time.monotonic) -> None:
        self.pacing = pacing
        self._now = now
        self._chats: dict[int | str, _Bucket] = {}
        self._overall: deque[float] = deque()

    def _bucket(self, chat: int | str, now: float) -> _Bucket:
        bucket = self._chats.get(chat)
        if bucket is None:
            bucket = self._chats[chat] = _Bucket(float(self.pacing.per_chat_burst), now)
        rate = self.pacing.per_chat_per_second
        bucket.tokens = min(
            float(self.pacing.per_chat_burst), bucket.tokens + (now - bucket.at) * rate
        )
        bucket.at = now
        while bucket.recent and bucket.recent[0] <= now - 60.0:
            bucket.recent.popleft()
        return bucket

    def wait(self, chat: int | str) -> float:
        """Seconds to wait before sending to `chat` (0 when it may go now)."""
        now = self._now()
        bucket = self._bucket(chat, now)
        waits = [bucket.blocked_until - now]
        if bucket.tokens < 1.0:
            waits.append((1.0 - bucket.tokens) / self.pacing.per_chat_per_second)
        if _is_group(chat) and len(bucket.recent) >= self.pacing.per_group_per_minute:
            waits.append(bucket.recent[-self.pacing.per_group_per_minute] + 60.0 - now)
        while self._overall and self._overall[0] <= now - 1.0:
            self._overall.popleft()
        if len(self._overall) >= self.pacing.overall_per_second:
            waits.append(self._overall[-self.pacing.overall_per_second] + 1.0 - now)
        return max(0.0, *waits)

    def sent(self, chat: int | str) -> None:
        """Record one message sent to `chat` now."""
        now = self._now()
        bucket = self._bucket(chat, now)
        bucket.tokens -= 1.0
        if _is_group(chat):
            bucket.recent.append(now)
        self._overall.append(now)

    def block(self, chat: int | str, seconds: float) -> None:
        """Telegram said 429: send nothing more to `chat` for `seconds`."""
        now = self._now()
        bucket = self._bucket(chat, now)
        bucket.blocked_until = max(bucket.blocked_until, now + seconds)


def _is_group(chat: int | str) -> bool:
    # Private chats have positive ids; groups, supergroups and channels negative ones.
    if isinstance(chat, int):
        return chat < 0
    return chat.startswith("-")
