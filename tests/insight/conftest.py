"""Desks for the insight tests: triage channels on the console, tuned insight settings."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.adapters.memory import MemoryChat
from bot.base.clock import FixedClock
from bot.base.config import Settings, Triage
from bot.desk import Desk
from tests.desks import build_desk

NET_TRIAGE = "net-triage"  # the network queue's triage chat (console channel)
DESK_TRIAGE = "desk-triage"  # the service desk queue's

MakeDesk = Callable[..., Desk]


def insight_settings(settings: Settings, charts_dir: Path, **sections: Any) -> Settings:
    """Settings with triage chats for network and service_desk, charts drawn under `charts`,
    and `insight.<field>` tuned."""
    queues = dict(settings.queues)
    queues["network"] = queues["network"].model_copy(update={"triage": Triage(console=NET_TRIAGE)})
    queues["service_desk"] = queues["service_desk"].model_copy(
        update={"triage": Triage(console=DESK_TRIAGE)}
    )
    insight = settings.insight
    updates: dict[str, Any] = {"charts": str(charts_dir)}
    for name, values in sections.items():
        section = getattr(insight, name)
        if isinstance(values, dict) and hasattr(section, "model_dump"):
            updates[name] = type(section).model_validate({**section.model_dump(), **values})
        else:
            updates[name] = values
    return settings.model_copy(
        update={"queues": queues, "insight": insight.model_copy(update=updates)}
    )


@pytest.fixture
def make_desk(settings: Settings, clock: FixedClock, tmp_path: Path) -> Iterator[MakeDesk]:
    desks: list[Desk] = []

    def make(**sections: Any) -> Desk:
        tuned = insight_settings(settings, tmp_path / "charts", **sections)
        desk = build_desk(tuned, clock=clock, migrate=False)
        desks.append(desk)
        return desk

    yield make
    for desk in desks:
        desk.store.dispose()


@pytest.fixture
def idesk(make_desk: MakeDesk) -> Desk:
    return make_desk()


@pytest.fixture
def ichat(idesk: Desk) -> MemoryChat:
    return MemoryChat(idesk)
