"""Broken service files: one clear problem per mistake, with file, line and field."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from bot.app import load_config
from bot.base.config import Settings
from bot.base.texts import Texts
from bot.base.yamlfile import ProblemsError
from bot.cli import main
from journeys.answers import match_option, option_named_in
from journeys.loader import load_catalog, unlinked_services
from journeys.model import ChooseStep

ROOT = Path(__file__).resolve().parents[2]
BROKEN = Path(__file__).resolve().parent / "data" / "broken"

EXPECTED = [
    "dangling_goto.yaml:13: steps[0].goto[0].to: goto 'submitt' does not name a step",
    "dangling_goto.yaml:18: steps[1].otherwise: 'exception_path' does not name a step",
    "dangling_goto.yaml:22: steps[2].goto: goto 'finish' does not name a step",
    "duplicate_step.yaml:11: steps[1].id: step id 'details' is already used by steps[0]",
    "missing_fields.yaml:4: title: missing text for language(s): zh",
    "missing_fields.yaml:8: steps[0].prompt: required field is missing",
    "missing_fields.yaml:10: steps[1].options: required field is missing",
    "missing_fields.yaml:13: steps[2].id: required field is missing",
    "missing_fields.yaml:15: steps[3].reason: required field is missing",
    "question_after_approval.yaml:15: steps[2].type: 'feedback' asks a question after approval "
    "step 'manager_ok'; only say, ticket and approve steps may follow an approval",
    "undefined_variable.yaml:11: steps[0].prompt.en: undefined variable 'user' "
    "(known: answers, assets, devices, labels, lang, requester, today)",
    "undefined_variable.yaml:15: steps[1].rule: 'answers.role' is not a step of this journey",
    "undefined_variable.yaml:19: steps[2].summary: 'answers.nmae' is not a step of this journey",
    "undefined_variable.yaml:20: steps[2].urgency: template error: expected token ':', got '}'",
    "unknown_references.yaml:6: queue: unknown queue 'helpdesk' (not in config.yaml)",
    "unknown_references.yaml:7: sla: unknown SLA policy 'platinum' (not in config.yaml)",
    "unknown_references.yaml:11: steps[0].articles[1]: no article 'how-to-fly' in the "
    "knowledge base",
    "unknown_references.yaml:16: steps[1].alternatives[1]: unknown service 'teleport_request'",
    "unknown_references.yaml:20: steps[2].queue: unknown queue 'facilities'",
    "unknown_references.yaml:24: steps[3].group: unknown approver group 'board_of_wizards' "
    "(not in approver_groups of config.yaml)",
    "unknown_step_type.yaml:12: steps[1].type: unknown step type 'frobnicate' "
    "(known: say, ask, choose, confirm, check, suggest, ticket, approve)",
    "wrong_file_name.yaml:2: id: id 'another_name' must match the file name 'wrong_file_name'",
]


def _key(problem: str) -> tuple[str, int]:
    name, line = problem.split(":")[:2]
    return name, int(line)


def broken_settings() -> Settings:
    settings = load_config(ROOT / "config.yaml")
    paths = settings.paths.model_copy(update={"services": str(BROKEN)})
    return settings.model_copy(update={"paths": paths, "source": "config.yaml"})


def test_every_mistake_is_reported_once_with_file_line_and_field() -> None:
    with pytest.raises(ProblemsError) as caught:
        load_catalog(broken_settings(), Texts())
    found = []
    for problem in caught.value.problems:
        assert problem.file.startswith(str(BROKEN))
        found.append(str(problem).replace(f"{BROKEN}/", ""))
    assert sorted(found, key=_key) == sorted(EXPECTED, key=_key)


def test_each_reported_line_is_where_the_mistake_is() -> None:
    # The line named points at the offending key (or the mapping holding a missing one).
    expected_text = {
        "dangling_goto.yaml:13": "to: submitt",
        "dangling_goto.yaml:18": "otherwise: exception_path",
        "missing_fields.yaml:8": "- id: ask_without_prompt",
        "undefined_variable.yaml:11": "{{ user.name }}",
        "unknown_references.yaml:24": "group: board_of_wizards",
        "unknown_step_type.yaml:12": "type: frobnicate",
    }
    for where, text in expected_text.items():
        name, line = where.split(":")
        assert text in (BROKEN / name).read_text().splitlines()[int(line) - 1], where


def test_deskbot_check_lists_the_problems_and_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = (ROOT / "config.yaml").read_text()
    config = re.sub(r"(?m)^  services: .*$", f"  services: {BROKEN}", config)
    # The other content stays the repository's own.
    config = re.sub(
        r"(?m)^(  (?:builtins|knowledge|people|assets)): (\S+)", rf"\1: {ROOT}/\2", config
    )
    (tmp_path / "config.yaml").write_text(config)
    assert main(["--config", str(tmp_path / "config.yaml"), "check"]) == 2
    err = capsys.readouterr().err
    assert len([line for line in err.splitlines() if line.startswith("error: ")]) == len(EXPECTED)
    assert "unknown step type 'frobnicate'" in err
    assert f"{len(EXPECTED)} problems found" in err


def test_the_shipped_catalog_is_valid(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--config", str(ROOT / "config.yaml"), "check"]) == 0
    assert "23 services" in capsys.readouterr().out
    catalog = load_catalog(load_config(ROOT / "config.yaml"), Texts())
    assert unlinked_services(catalog) == []  # every article names real services


def test_catalog_command_lists_the_services_as_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--config", str(ROOT / "config.yaml"), "catalog", "--format", "json"]) == 0
    rows = {row["id"]: row for row in json.loads(capsys.readouterr().out)}
    assert len(rows) == 23
    assert rows["new_laptop"] == {
        "id": "new_laptop",
        "type": "request",
        "queue": "workplace",
        "steps": 6,
        "title": "New or replacement laptop",
    }
    assert rows["security_incident"]["queue"] == "security"
    assert rows["change_request"]["type"] == "change"


def test_the_email_problem_a_request_names_is_taken_from_it() -> None:
    """ "outlook keeps asking me for my password" names the password prompt (the label's
    words are not all there in order: its keyword is); "no" names nothing."""
    catalog = load_catalog(load_config(ROOT / "config.yaml"), Texts())
    step = catalog.journeys["email_issue"].steps[0]
    assert isinstance(step, ChooseStep)
    said = "hey, outlook keeps asking me for my password since this morning"
    named = option_named_in(step.options, said)
    assert named is not None and named.value == "password_prompt"
    assert option_named_in(step.options, "no") is None
    assert match_option(step.options, "no", "en") is None
    # Typed without the apostrophe (or with a phone's): "won't open" is named all the same.
    for typed in ("my outlook wont open", "my outlook won\u2019t open"):
        crashed = option_named_in(step.options, typed)
        assert crashed is not None and crashed.value == "crashes", typed
