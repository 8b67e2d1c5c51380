"""Desks for tests, built as `bot.app.build_desk` builds them but with the content (people,
texts, services, articles and the matcher trained on them) loaded once per test session for
each configuration and shared between tests: content is immutable (`bot.desk.Content`), and
loading it costs far more than the fresh store each test gets.

A configuration is its settings (the database aside) and the files they point at, down to
each file's bytes, so a test that writes its own catalog or learned
phrasings gets content of its own.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from bot import app
from bot.base.clock import Clock
from bot.base.config import Settings
from bot.content import build_content
from bot.desk import Content, Desk

_CONTENT: dict[str, Content] = {}


def _files(path: Path) -> list[str]:
    if path.is_file():
        return [f"{path}:{hashlib.blake2b(path.read_bytes(), digest_size=16).hexdigest()}"]
    if path.is_dir():
        return [line for child in sorted(path.rglob("*")) for line in _files(child)]
    return [f"{path}:absent"]


def fingerprint(settings: Settings) -> str:
    parts = [settings.model_dump_json(exclude={"database", "attachments"})]  # not content
    for relative in settings.paths.model_dump().values():
        if relative:
            parts += _files(settings.resolve(str(relative)))
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def shared_content(settings: Settings) -> Content:
    key = fingerprint(settings)
    if key not in _CONTENT:
        _CONTENT[key] = build_content(settings)
    return _CONTENT[key]


def build_desk(
    settings: Settings,
    *,
    clock: Clock | None = None,
    migrate: bool | None = None,
    needs_store: bool = True,
) -> Desk:
    return app.build_desk(
        settings,
        clock=clock,
        migrate=migrate,
        content=shared_content(settings),
        needs_store=needs_store,
    )
