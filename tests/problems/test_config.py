"""The `problems:` section of config.yaml: read with its defaults, bad values refused with
the file, line and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.base.config import load_settings
from bot.base.yamlfile import ProblemsError
from tests.conftest import ROOT


def copy(tmp_path: Path, old: str, new: str) -> Path:
    text = (ROOT / "config.yaml").read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "config.yaml"
    path.write_text(text.replace(old, new), encoding="utf-8")
    return path


def problems_for(path: Path) -> list[str]:
    with pytest.raises(ProblemsError) as caught:
        load_settings(path, {})
    return [str(p) for p in caught.value.problems]


def test_shipped_values(tmp_path: Path):
    settings = load_settings(copy(tmp_path, "window: 30d ", "window: 2w "), {})
    rules = settings.problems.recurring
    assert (settings.problems.prefix, rules.incidents, rules.window.days) == ("PRB", 3, 14)


@pytest.mark.parametrize(
    ("old", "new", "said"),
    [
        ("    incidents: 3 ", "    incidents: 1 ", "problems.recurring.incidents"),
        ("    window: 30d ", "    window: soon ", "problems.recurring.window"),
        ("  prefix: PRB ", "  prefix: prb ", "problems.prefix"),
        ("  prefix: PRB ", "  prefix: IT ", "problems.prefix: 'IT' is the ticket_prefix too"),
    ],
)
def test_bad_values_are_named_with_their_line(tmp_path: Path, old: str, new: str, said: str):
    [line] = problems_for(copy(tmp_path, old, new))
    assert "config.yaml" in line and said in line, line
