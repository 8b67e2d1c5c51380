"""The README opens with exactly the two set-up commands, and CI runs the same test command."""

from __future__ import annotations

import re

from .helpers import ROOT


def test_readme_opens_with_the_two_commands():
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    head = [line_.strip() for line_ in lines[:6] if line_.strip() and not line_.startswith("#")]
    commands = [re.split(r"\s+#", line_)[0].strip() for line_ in head[:2]]
    assert commands == ["./scripts/serve", "./scripts/test"]
    assert all((ROOT / c[2:]).exists() for c in commands)


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "exec ./scripts/test" in ci
    assert "set -euo pipefail" in ci
    test_script = (ROOT / "scripts" / "test").read_text(encoding="utf-8")
    for gate in (".venv/bin/ruff check .", ".venv/bin/mypy", ".venv/bin/python -m pytest"):
        assert gate in test_script
