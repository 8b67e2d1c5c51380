"""Helpers for tests that need their own copy of config.yaml or run the CLI."""

from __future__ import annotations

import contextlib
import io
import logging
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Connection, Engine, event

from bot.cli import main

ROOT = Path(__file__).resolve().parents[2]


def config_copy(tmp_path: Path, text: str | None = None) -> Path:
    """Write config.yaml (the repo's, or `text`) into tmp_path with absolute content paths."""
    body = text if text is not None else (ROOT / "config.yaml").read_text(encoding="utf-8")
    for name in (
        "catalog/services",
        "catalog/builtins.yaml",
        "content/kb",
        "content/replies",
        "directory/people.csv",
        "directory/assets.csv",
        "directory/cis.yaml",
    ):
        body = body.replace(f": {name}\n", f": {ROOT / name}\n")
    path = tmp_path / "config.yaml"
    path.write_text(body, encoding="utf-8")
    return path


@dataclass(frozen=True)
class CliResult:
    """What a run of the command line left behind, as `subprocess.run` would report it."""

    returncode: int
    stdout: str
    stderr: str


def _exit_code(exc: SystemExit) -> tuple[int, str]:
    if exc.code is None:
        return 0, ""
    if isinstance(exc.code, int):
        return exc.code, ""
    return 1, f"{exc.code}\n"  # the interpreter prints a non-int exit value to stderr


@contextlib.contextmanager
def _environment(env: dict[str, str] | None, cwd: Path) -> Iterator[None]:
    """The environment a fresh `deskbot` process would get, put back afterwards."""
    saved_env, saved_cwd = dict(os.environ), Path.cwd()
    for key in list(os.environ):
        if key.startswith(("SLACK_", "TELEGRAM_")) or key == "DATABASE_URL":
            del os.environ[key]
    os.environ.update(env or {})
    os.chdir(cwd)
    try:
        yield
    finally:
        os.chdir(saved_cwd)
        os.environ.clear()
        os.environ.update(saved_env)


@contextlib.contextmanager
def _fresh_root_logger() -> Iterator[None]:
    """No handlers on the root logger, so `main`'s logging.basicConfig installs its own on the
    (redirected) stderr, as in a new process; pytest's handlers come back afterwards."""
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    root.handlers = []
    try:
        yield
    finally:
        for handler in root.handlers:
            handler.close()
        root.handlers = saved_handlers
        root.setLevel(saved_level)


@contextlib.contextmanager
def _engines_disposed() -> Iterator[None]:
    """Close the database connections of every engine the command used, as the end of a
    process would (`chat` and `serve` leave theirs open for the exit to close)."""
    engines: dict[int, Engine] = {}

    def seen(conn: Connection) -> None:
        engines[id(conn.engine)] = conn.engine

    event.listen(Engine, "engine_connect", seen)
    try:
        yield
    finally:
        event.remove(Engine, "engine_connect", seen)
        for engine in engines.values():
            engine.dispose()


def deskbot(
    *args: str,
    env: dict[str, str] | None = None,
    stdin: str | None = None,
    cwd: Path | None = None,
) -> CliResult:
    """Run the real `deskbot` command line (`bot.cli.main`) in this process.

    Like a new process: DATABASE_URL and chat tokens are only what `env` gives, the working
    directory is the repository, stdin is `stdin` (piped, not a terminal) and stdout, stderr
    and the log output are captured. Tests that need a process of their own (signals, a
    closed pipe, what an import loads) start one themselves.
    """
    out, err = io.StringIO(), io.StringIO()
    saved_stdin = sys.stdin
    sys.stdin = io.StringIO(stdin or "")
    try:
        with (
            _environment(env, cwd or ROOT),
            contextlib.redirect_stdout(out),
            contextlib.redirect_stderr(err),
            _fresh_root_logger(),
            _engines_disposed(),
        ):
            try:
                code = main(list(args))
            except SystemExit as exc:
                code, message = _exit_code(exc)
                err.write(message)
    finally:
        sys.stdin = saved_stdin
    return CliResult(code, out.getvalue(), err.getvalue())
