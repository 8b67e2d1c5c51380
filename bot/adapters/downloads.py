"""Files in and out of the attachment store, for both platforms. In: the files people send,
checked against the limits (`attachments:`) before a byte is fetched, fetched with a time
limit, kept in the file store from a worker thread. Out: a ticket's files read back from
the store before a message that re-shares them is sent (`shared_bytes`). The engine only
ever sees the result (`InboundFile`), so a slow download holds up nobody's turn but its
sender's, and never the event loop.

Nothing here logs a file's content or a token: only the platform's file id and what went
wrong.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

from bot.base.channel import DeliveryError
from bot.base.config import Settings
from bot.base.filestore import (
    FAILED,
    NOT_STORED,
    TOO_BIG,
    FileMissing,
    Kept,
    StoreUnavailable,
    open_store,
    refusal,
    safe_name,
)
from bot.base.messages import InboundFile, SharedFile

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
    """The file kept in the store, or why it was not (too big, wrong type, the download
    failed, the store failed)."""
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
    except TooBig:  # bigger than the platform said: its real size is unknown (size 0)
        return _refused(InboundFile(name, mime, 0, platform_id), TOO_BIG)
    except Exception as exc:  # the platform or the network: the message goes on
        log.warning("file %s not downloaded: %s", platform_id, type(exc).__name__)
        return _refused(found, FAILED)
    try:
        kept = await asyncio.to_thread(_put, settings, data)
    except StoreUnavailable as exc:  # downloaded, but the store failed: say so, go on
        log.error("file %s not stored: %s", platform_id, exc)
        return _refused(found, NOT_STORED)
    return InboundFile(name, mime, kept.size, platform_id, kept.path, kept.sha256)


def _put(settings: Settings, data: bytes) -> Kept:
    return open_store(settings).put(data)


def _refused(found: InboundFile, problem: str) -> InboundFile:
    return InboundFile(found.name, found.mime, found.size, found.platform_id, problem=problem)


async def shared_bytes(
    settings: Settings, files: Iterable[SharedFile]
) -> list[tuple[SharedFile, bytes]]:
    """The bytes of each file a message re-shares, read before anything of the message is
    sent. A file gone from the store is left out (logged: retrying cannot bring it back); a
    store that does not answer fails the whole send with a DeliveryError, so the outbox sends
    the message again later instead of sending it without its files."""
    out = []
    for shared in files:
        try:
            data = await asyncio.to_thread(_read, settings, shared.path)
        except (FileMissing, ValueError):
            log.error("file %s is not in the attachment store; sent without it", shared.path)
            continue
        except StoreUnavailable as exc:
            # Not a rate limit: the outbox's usual backoff, then a dead letter that admins are
            # alerted to with this reason.
            raise DeliveryError(f"attachment store unavailable: {exc}") from exc
        out.append((shared, data))
    return out


def _read(settings: Settings, path: str) -> bytes:
    return open_store(settings).read(path)
