"""The composition root: the one place that reads the environment and wires deskbot's
parts together (settings, content, store, known errors; channels and workers in `serve`)."""

from __future__ import annotations

import os
from pathlib import Path

from bot import known_errors
from bot.base.clock import Clock, SystemClock
from bot.base.config import Settings, load_settings, with_database
from bot.content import build_content
from bot.desk import Content, Desk
from store.db import Store


def load_config(path: Path, environ: dict[str, str] | None = None) -> Settings:
    """Load config.yaml; DATABASE_URL in the environment overrides database.url."""
    env = dict(os.environ) if environ is None else environ
    return with_database(load_settings(path, env), env.get("DATABASE_URL"))


def build_desk(
    settings: Settings,
    *,
    clock: Clock | None = None,
    migrate: bool | None = None,
    content: Content | None = None,
) -> Desk:
    """Build the desk. Migrations run automatically for SQLite (the embedded default).

    `content`: what `load_content(settings)` returned before, to share it (it is immutable)."""
    content = content or build_content(settings)
    store = Store(settings.database.url, echo=settings.database.echo, base_dir=settings.base_dir)
    if migrate if migrate is not None else store.is_sqlite:
        store.upgrade()
    desk = Desk(settings=settings, store=store, content=content, clock=clock or SystemClock())
    known_errors.refresh(desk)  # articles made from resolutions (`/kb IT-1042`)
    return desk
