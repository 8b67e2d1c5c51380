"""A change journey's step data (`change:` on its ticket step) and the `changes` settings:
every mistake reported once, with file, line and field, by the loader and `deskbot check`."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.app import load_config
from bot.base.config import load_settings
from bot.base.texts import Texts
from bot.base.yamlfile import ProblemsError
from bot.cli import main
from journeys.loader import load_catalog
from tests.configs import config_file

ROOT = Path(__file__).resolve().parents[2]
BROKEN = Path(__file__).resolve().parent / "data" / "broken_changes"

EXPECTED = [
    "bad_change.yaml:39: steps[7].change.kind: step 'kind' has option(s) urgent; kind takes "
    "standard, normal, emergency",
    "bad_change.yaml:41: steps[7].change.impact: step 'impact' must be a choose step",
    "bad_change.yaml:42: steps[7].change.likelihood: 'likelyhood' is not a step of this journey",
    "bad_change.yaml:43: steps[7].change.size: step 'size' has option(s) huge; size takes "
    "small, medium, large (changes.risk.size in config.yaml)",
    "bad_change.yaml:44: steps[7].change.tested: step 'tested' must be a confirm (yes/no) step",
    "bad_change.yaml:45: steps[7].change.window: step 'day' must be an ask step with "
    "validate: {kind: date}",
    "bad_change.yaml:46: steps[7].change.hours: step 'hours' must accept a time range such as "
    "22:00-23:30",
    "bad_change.yaml:51: steps[8].change: only a change ticket (ticket_type: change) has one",
    "bad_change.yaml:55: steps[9].change.colour: unknown field",
]


def test_each_mistake_in_a_change_step_is_reported_with_file_line_and_field() -> None:
    settings = load_config(ROOT / "config.yaml")
    paths = settings.paths.model_copy(update={"services": str(BROKEN)})
    with pytest.raises(ProblemsError) as caught:
        load_catalog(settings.model_copy(update={"paths": paths, "source": "config.yaml"}), Texts())
    found = sorted(str(p).replace(f"{BROKEN}/", "") for p in caught.value.problems)
    assert found == sorted(EXPECTED)
    lines = (BROKEN / "bad_change.yaml").read_text().splitlines()
    assert lines[41] == "      likelihood: likelyhood"  # line 42 is where the mistake is


def test_deskbot_check_reports_them(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = config_file(tmp_path, {"paths": {"services": str(BROKEN)}})
    assert main(["--config", str(path), "check"]) == 2
    err = capsys.readouterr().err
    assert len(re.findall(r"(?m)^error: .*bad_change\.yaml", err)) == len(EXPECTED)
    assert "steps[7].change.likelihood" in err


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"quorum": 1, "emergency_quorum": 2}, "changes", "emergency_quorum must not be more"),
        (
            {"risk": {"matrix": {"extreme": {"high": 9}}}},
            "changes.risk",
            "'extreme' is not high, medium or low",
        ),
        ({"risk": {"levels": {"medium": 7, "high": 4}}}, "changes.risk", "high must be above"),
        (
            {"freezes": [{"start": "2027-01-03", "end": "2026-12-21", "name": {"en": "x"}}]},
            "changes.freezes[0]",
            "end is before start",
        ),
        ({"cab": "the_board"}, "changes.cab", "not one of the approver_groups"),
    ],
)
def test_bad_change_settings_name_the_field(
    tmp_path: Path, changes: dict[str, object], field: str, message: str
) -> None:
    path = config_file(tmp_path, {"changes": changes})
    with pytest.raises(ProblemsError) as caught:
        load_settings(path)
    [problem] = caught.value.problems
    assert problem.field == field and message in problem.message, problem
    assert problem.line is not None  # the line of the field (or the section holding it)
    written = path.read_text().splitlines()[problem.line - 1]
    entry = written.strip().startswith("- ")  # a list entry: the mapping at its first key
    assert entry or written.strip().split(":")[0] in field, written
