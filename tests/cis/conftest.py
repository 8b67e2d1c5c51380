"""A desk for the configuration-item tests: the repository's catalog and cis.yaml, with the
network and service desk queues triaged in console chats (as the insight tests have them)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.adapters.memory import MemoryChat
from bot.base.clock import FixedClock
from bot.base.config import Settings
from bot.desk import Desk
from tests.desks import build_desk
from tests.insight.conftest import insight_settings


@pytest.fixture
def cdesk(settings: Settings, clock: FixedClock, tmp_path: Path) -> Iterator[Desk]:
    desk = build_desk(insight_settings(settings, tmp_path / "charts"), clock=clock, migrate=False)
    yield desk
    desk.store.dispose()


@pytest.fixture
def cchat(cdesk: Desk) -> MemoryChat:
    return MemoryChat(cdesk)
