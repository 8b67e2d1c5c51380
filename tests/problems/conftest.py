"""Desks for the problem tests: the shipped config with `problems:` tuned per test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from bot.adapters.memory import MemoryChat
from bot.base.clock import FixedClock
from bot.base.config import Problems, Settings
from bot.desk import Desk
from tests.desks import build_desk

MakeDesk = Callable[..., Desk]


def tuned(settings: Settings, **recurring: Any) -> Settings:
    """Settings with `problems.recurring.<field>` set."""
    problems = settings.problems.model_dump()
    problems["recurring"] = {**problems["recurring"], **recurring}
    return settings.model_copy(update={"problems": Problems.model_validate(problems)})


@pytest.fixture
def make_desk(settings: Settings, clock: FixedClock) -> Iterator[MakeDesk]:
    desks: list[Desk] = []

    def make(**recurring: Any) -> Desk:
        desk = build_desk(tuned(settings, **recurring), clock=clock, migrate=False)
        desks.append(desk)
        return desk

    yield make
    for desk in desks:
        desk.store.dispose()


@pytest.fixture
def pchat(make_desk: MakeDesk) -> MemoryChat:
    return MemoryChat(make_desk())
