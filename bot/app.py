"""The composition root: the one place that reads the environment and wires deskbot's parts
together - settings, content, store and known errors into a desk, and the engine on threads
or in child processes. `bot.serve` adds the chat platforms, the console and the scheduler."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from bot import known_errors
from bot.base import redact
from bot.base.clock import Clock, SystemClock
from bot.base.config import Settings, load_settings, with_database
from bot.base.yamlfile import Problem, ProblemsError
from bot.chat.engine import Engine
from bot.chat.workers import Workers, engine_threads
from bot.content import build_content
from bot.desk import Content, Desk
from bot.processes import ProcessWorkers
from store.db import Store, in_memory
from store.migrate import current, head


def require_current_schema(desk: Desk) -> None:
    """Refuse to run against a database whose schema is behind the code."""
    have, want = current(desk.store), head(desk.store)
    if have != want:
        raise ProblemsError(
            [
                Problem(
                    desk.settings.source,
                    None,
                    "database.url",
                    f"database schema is at {have or 'nothing'}, code needs {want}; "
                    "run `deskbot db upgrade`",
                )
            ]
        )


def load_config(path: Path, environ: dict[str, str] | None = None) -> Settings:
    """Load config.yaml; DATABASE_URL in the environment overrides database.url."""
    env = dict(os.environ) if environ is None else environ
    settings = with_database(load_settings(path, env), env.get("DATABASE_URL"))
    keep_secret(settings)
    return settings


def keep_secret(settings: Settings) -> None:
    """Register the settings' secrets with the log filter (bot.base.redact)."""
    channels = settings.channels
    for value in (
        channels.slack.bot_token,
        channels.slack.app_token,
        channels.slack.signing_secret,
        channels.telegram.token,
        channels.telegram.webhook.secret_token,
        settings.directory.scim.token if settings.directory.scim else "",
    ):
        redact.add_secret(value)
    redact.add_url_password(settings.database.url)


def build_desk(
    settings: Settings,
    *,
    clock: Clock | None = None,
    migrate: bool | None = None,
    content: Content | None = None,
    needs_store: bool = True,
    train: bool = True,
) -> Desk:
    """Build the desk. Migrations run automatically for SQLite (the embedded default).

    A database whose schema is behind the code is refused here, with the one thing to do
    about it (`ProblemsError`), before anything reads a table; `needs_store=False` is for
    commands that only read the files (`deskbot people`).
    `content`: what `load_content(settings)` returned before, to share it (it is immutable).
    `train=False`: the matcher is trained when first asked (a command that may never ask)."""
    keep_secret(settings)  # engine processes get their settings without load_config
    content = content or build_content(settings, train=train)
    store = Store(
        settings.database.url,
        echo=settings.database.echo,
        base_dir=settings.base_dir,
        busy_timeout=settings.database.busy_timeout.total_seconds(),
    )
    if migrate if migrate is not None else store.is_sqlite:
        store.upgrade()
    desk = Desk(settings=settings, store=store, content=content, clock=clock or SystemClock())
    if needs_store:
        try:
            require_current_schema(desk)
        except BaseException:
            store.dispose()
            raise
        known_errors.refresh(desk)  # articles made from resolutions (`/kb IT-1042`)
    return desk


def engine_in_processes(settings: Settings, *, platform_on: bool) -> bool:
    """Whether `deskbot serve` runs the engine in child processes, as config.yaml's
    `engine:` says (else on threads)."""
    return (
        settings.engine.run_in == "process"
        and platform_on
        and not in_memory(settings.database.url)
        # Windows' default event loop cannot watch a pipe (`add_reader`): threads there.
        and sys.platform != "win32"
    )


def workers_for(desk: Desk, engine: Engine, *, platform_on: bool) -> Workers:
    """The workers `deskbot serve` runs the engine on."""
    if engine_in_processes(desk.settings, platform_on=platform_on):
        count = 1 if desk.store.is_sqlite else desk.settings.engine.processes
        return ProcessWorkers(desk.settings, count, engine_desk, desk.content)
    return engine_threads(desk, engine)


def engine_desk(settings: Settings, content: Content | None = None) -> Desk:
    """The desk an engine child process builds (the app process has migrated already), on
    the app process's content when it was given."""
    return build_desk(settings, migrate=False, content=content)
