"""Desks for tests, built as `bot.app.build_desk` builds them but with the content (people,
texts, services, articles and the matcher trained on them) loaded once per test session for
each configuration and shared between tests: content is immutable (`bot.desk.Content`), and
loading it costs far more than the fresh store each test gets.

A configuration is its settings (the database aside) and the files they point at, down to
each file's bytes, so a test that writes its own catalog or learned
phrasings gets content of its own.

Helper processes that a test starts (a technician pressing Claim, a dispatcher, an app
process killed -9) are handed this process's content with `handed` and take it with `adopt`:
loading it again costs each of them seconds. They still compute their own configuration's
fingerprint, so content is only ever reused for the configuration it was built from.
"""

from __future__ import annotations

import hashlib
import pickle
from collections.abc import Mapping
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


def handed(settings: Settings) -> dict[str, Content]:
    """The content for `settings`, keyed as `adopt` takes it in another process."""
    return {fingerprint(settings): shared_content(settings)}


def adopt(contents: Mapping[str, Content]) -> None:
    """Take content handed over by the test process (see `handed`)."""
    _CONTENT.update(contents)


def hand_to_file(settings: Settings, path: Path) -> Path:
    """`handed(settings)` pickled into `path`, for a helper started as a command."""
    path.write_bytes(pickle.dumps(handed(settings)))
    return path


def adopt_file(path: Path) -> None:
    """Take the content `hand_to_file` wrote."""
    adopt(pickle.loads(path.read_bytes()))  # written by this very test run


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
