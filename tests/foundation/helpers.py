"""Helpers for tests that need their own copy of config.yaml or run the CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def config_copy(tmp_path: Path, text: str | None = None) -> Path:
    """Write config.yaml (the repo's, or `text`) into tmp_path with absolute content paths."""
    body = text if text is not None else (ROOT / "config.yaml").read_text(encoding="utf-8")
    for name in (
        "catalog/services",
        "catalog/builtins.yaml",
        "content/kb",
        "directory/people.csv",
        "directory/assets.csv",
    ):
        body = body.replace(f": {name}\n", f": {ROOT / name}\n")
    path = tmp_path / "config.yaml"
    path.write_text(body, encoding="utf-8")
    return path


def deskbot(
    *args: str,
    env: dict[str, str] | None = None,
    stdin: str | None = None,
    cwd: Path | None = None,
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    """Run the real `deskbot` command line in a subprocess."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "TELEGRAM_"))}
    full_env.pop("DATABASE_URL", None)
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=full_env,
        cwd=cwd or ROOT,
        timeout=timeout,
        check=False,
    )
