"""A technician in a separate process pressing Claim on tickets (used by test_claim_race).

Each process builds its own desk from the test database URL, waits at a barrier so every
process presses at the same moment, and reports what the bot answered it.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from bot.app import load_config
from bot.base.clock import FixedClock
from bot.base.markup import to_plain
from bot.base.messages import Inbound
from bot.chat.engine import Engine
from bot.desk import Content
from tests.desks import adopt, build_desk

ROOT = Path(__file__).resolve().parents[2]


def claim_all(
    db_url: str,
    now_iso: str,
    person: str,
    numbers: list[str],
    barrier: Any,
    results: Any,
    contents: dict[str, Content],
) -> None:
    """Press Claim on every ticket in `numbers` as `person`; put (person, number, reply).
    `contents`: the test process's content (tests/desks.py), not loaded again here."""
    from datetime import datetime

    adopt(contents)
    settings = load_config(ROOT / "config.yaml", {"DATABASE_URL": db_url})
    desk = build_desk(settings, clock=FixedClock(datetime.fromisoformat(now_iso)), migrate=False)
    engine = Engine(desk)
    try:
        barrier.wait(timeout=60)
        for number in numbers:
            inbound = Inbound(
                "slack",
                "C0SERVICEDESK",
                person,
                action=f"t:claim:{number}",
                event_id=uuid.uuid4().hex,
            )
            replies = engine.handle(inbound)
            results.put((person, number, "\n".join(to_plain(r.text) for r in replies)))
    finally:
        desk.store.dispose()
