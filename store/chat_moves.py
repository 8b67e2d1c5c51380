"""Chats that moved to a new id (see `ChatMove`)."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, select

from store.models import ChatMove
from store.sql import insert_ignore


def record(session: Session, channel: str, old: str, new: str, now: datetime) -> None:
    """Remember that `old` is now `new` (idempotent: both ends of a move report it)."""
    values = {"channel": channel, "old_chat": old, "new_chat": new, "moved_at": now}
    if not insert_ignore(session, ChatMove, values):
        row = session.get(ChatMove, (channel, old))
        if row is not None and row.new_chat != new:
            row.new_chat, row.moved_at = new, now


def all_moves(session: Session, channel: str) -> dict[str, str]:
    """old chat id -> new chat id."""
    rows = session.exec(select(ChatMove).where(ChatMove.channel == channel)).all()
    return {row.old_chat: row.new_chat for row in rows}
