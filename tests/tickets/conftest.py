"""Fixtures for the ticket tests: desks whose queues have triage channels."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bot.adapters.memory import MemoryChat
from bot.base.clock import FixedClock
from bot.base.config import Settings
from bot.desk import Desk
from tests.desks import build_desk
from tests.s3server import own_s3_server, s3_server  # noqa: F401 - fixtures
from tests.tickets.helpers import DATA, with_triage


@pytest.fixture
def make_desk(settings: Settings, clock: FixedClock) -> Iterator[Callable[..., Desk]]:
    made: list[Desk] = []

    def make(services: Path | None = None) -> Desk:
        desk = build_desk(with_triage(settings, services), clock=clock, migrate=False)
        made.append(desk)
        return desk

    yield make
    for desk in made:
        desk.store.dispose()


@pytest.fixture
def tdesk(make_desk: Callable[..., Desk]) -> Desk:
    """The repository's catalog, with triage channels for three queues."""
    return make_desk()


@pytest.fixture
def adesk(make_desk: Callable[..., Desk]) -> Desk:
    """Test services with approvals (monitor: manager; firewall: approver group)."""
    return make_desk(DATA / "services")


@pytest.fixture
def tchat(tdesk: Desk) -> MemoryChat:
    return MemoryChat(tdesk)


@pytest.fixture
def achat(adesk: Desk) -> MemoryChat:
    return MemoryChat(adesk)
