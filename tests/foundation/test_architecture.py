"""The core never imports a chat SDK: platforms live only in bot/adapters/."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CORE = ("bot", "intents", "journeys", "store", "notifications")
FORBIDDEN = ("slack_bolt", "slack_sdk", "telegram", "bot.adapters.slack", "bot.adapters.telegram")


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def core_files() -> list[Path]:
    files = []
    for package in CORE:
        for path in (ROOT / package).rglob("*.py"):
            if "adapters" in path.relative_to(ROOT).parts[:2] and package == "bot":
                continue
            files.append(path)
    return files


def offenders(files: list[Path]) -> list[str]:
    found = []
    for path in files:
        for name in imported_modules(path):
            if any(name == f or name.startswith(f + ".") for f in FORBIDDEN):
                found.append(f"{path.relative_to(ROOT)} imports {name}")
    return found


def test_core_packages_do_not_import_chat_sdks():
    files = core_files()
    assert len(files) > 20  # the walk really found the core
    assert offenders(files) == []


def test_the_check_catches_an_offender(tmp_path: Path):
    bad = tmp_path / "leaky.py"
    bad.write_text("from slack_sdk.web import WebClient\nimport telegram.ext\n", encoding="utf-8")
    tree_names = imported_modules(bad)
    assert "slack_sdk.web" in tree_names and "telegram.ext" in tree_names
    assert (
        len([n for n in tree_names if any(n == f or n.startswith(f + ".") for f in FORBIDDEN)]) >= 2
    )


def test_core_modules_import_without_chat_sdks_loaded():
    """Importing the core (engine, journeys, store...) must not drag in a chat SDK."""
    import subprocess
    import sys

    code = (
        "import sys; import bot.chat.engine, bot.chat.conversation, bot.chat.understanding, "
        "bot.approvals, bot.chat.verbs, journeys, intents, store.tickets, notifications.dispatch, "
        "bot.adapters.memory, bot.adapters.console, bot.service, bot.cli; "
        "bad=[m for m in sys.modules if m.split('.')[0] in ('slack_bolt','slack_sdk','telegram')]; "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
