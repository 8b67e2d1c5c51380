"""Fixtures for the intent tests: a small fixed service catalog and a private learned file."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.adapters.memory import MemoryChat
from bot.base.clock import FixedClock
from bot.base.config import Settings
from bot.desk import Desk
from tests.desks import build_desk

SERVICES = Path(__file__).parent / "data" / "services"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def intent_settings(settings: Settings, tmp_path: Path) -> Settings:
    """The repo config with the test services and a learned.yaml of this test's own."""
    paths = settings.paths.model_copy(
        update={"services": str(SERVICES), "learned": str(tmp_path / "learned.yaml")}
    )
    return settings.model_copy(update={"paths": paths})


@pytest.fixture
def intent_desk(intent_settings: Settings, clock: FixedClock) -> Iterator[Desk]:
    desk = build_desk(intent_settings, clock=clock, migrate=False)
    yield desk
    desk.store.dispose()


@pytest.fixture
def intent_chat(intent_desk: Desk) -> MemoryChat:
    return MemoryChat(intent_desk)


@pytest.fixture
def config(tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A config.yaml of the test's own: repo content, the test services, a private learned file."""
    text = (ROOT / "config.yaml").read_text(encoding="utf-8")
    for name in ("builtins", "knowledge", "people", "assets", "referrals"):
        text = text.replace(f"  {name}: ", f"  {name}: {ROOT}/", 1)
    text = text.replace("  services: catalog/services", f"  services: {SERVICES}", 1)
    text = text.replace("  learned: catalog/learned.yaml", f"  learned: {tmp_path}/learned.yaml", 1)
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    monkeypatch.setenv("DATABASE_URL", db_url)
    return path
