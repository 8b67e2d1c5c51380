"""Downloading the files people send, for both platforms: checked against the limits
(`attachments:`) before a byte is fetched, fetched with a time limit, kept in the file
store from a worker thread. The engine only ever sees the result (`InboundFile`), so a
slow download holds up nobody's turn but its sender's, and never the event loop.

Nothing here logs a file's content or a token: only the platform's file id and what went
wrong.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

from bot.base.config import Settings
from bot.base.filestore import FAILED, TOO_BIG, FileStore, refusal, safe_name
from bot.base.messages import InboundFile

log = logging.getLogger(__name__)

# fetch(limit) -> the bytes, or more than `limit` bytes when the file is bigger than it said.
Fetch = Callable[[int], Awaitable[bytes]]


class TooBig(Exception):
    """The download passed the size limit (the platform said it was smaller)."""


@dataclass(frozen=True)
class Offered:
    """A file a platform says a message carries, and how to fetch its bytes."""

    name: str
    mime: str
    size: int
    platform_id: str
    fetch: Fetch


async def keep_all(settings: Settings, files: Iterable[Offered]) -> tuple[InboundFile, ...]:
    """Every file of a message, fetched at once; each kept or refused on its own."""
    return tuple(
        await asyncio.gather(
            *(
                keep(
                    settings,
                    name=f.name,
                    mime=f.mime,
                    size=f.size,
                    platform_id=f.platform_id,
                    fetch=f.fetch,
                )
                for f in files
            )
        )
    )


async def keep(
    settings: Settings, *, name: str, mime: str, size: int, platform_id: str, fetch: Fetch
) -> InboundFile:
    """The file kept in the store, or why it was not (too big, wrong type, failed)."""
    policy = settings.attachments
    name = safe_name(name)
    found = InboundFile(name, mime, size, platform_id)
    problem = refusal(policy, name, mime, size)
    if problem:
        return _refused(found, problem)
    try:
        async with asyncio.timeout(policy.download_timeout.total_seconds()):
            data = await fetch(policy.max_size)
        if len(data) > policy.max_size:
            raise TooBig
        kept = await asyncio.to_thread(FileStore.for_settings(settings).put, data)
    except TooBig:  # bigger than the platform said: its real size is unknown (size 0)
        return _refused(InboundFile(name, mime, 0, platform_id), TOO_BIG)
    except Exception as exc:  # the platform, the network or the disk: the message goes on
        log.warning("file %s not downloaded: %s", platform_id, type(exc).__name__)
        return _refused(found, FAILED)
    return InboundFile(name, mime, kept.size, platform_id, kept.path, kept.sha256)


def _refused(found: InboundFile, problem: str) -> InboundFile:
    return InboundFile(found.name, found.mime, found.size, found.platform_id, problem=problem)
