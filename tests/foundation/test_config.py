"""config.yaml: typed, validated, and every problem reported with file, line and field."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from bot.app import load_config
from bot.base.config import load_settings, parse_duration
from bot.base.yamlfile import ProblemsError
from bot.content import load_content

from .helpers import ROOT, config_copy, deskbot


def problems_for(path: Path, env: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ProblemsError) as caught:
        load_settings(path, env or {})
    return [str(p) for p in caught.value.problems]


def test_repository_config_loads_and_content_checks():
    settings = load_config(ROOT / "config.yaml", {})
    directory, texts, catalog, intents, _replies, _cis = load_content(settings)
    assert settings.channels.console_active and not settings.channels.slack.active
    assert "service_desk" in settings.queues and settings.sla["standard"][
        "P1"
    ].resolution == timedelta(hours=4)
    assert len(directory.people) >= 5 and len(catalog) >= 1 and len(intents) >= 7
    assert texts.plain("zh", "button.yes") == "是"


def test_database_url_from_environment_wins():
    settings = load_config(ROOT / "config.yaml", {"DATABASE_URL": "postgresql://x@h/db"})
    assert settings.database.url == "postgresql://x@h/db"


def test_bad_yaml_names_file_and_line(tmp_path: Path):
    path = tmp_path / "config.yaml"
    path.write_text("language: en\nqueues:\n  desk: [unclosed\nsla: {}\n", encoding="utf-8")
    [line] = problems_for(path)
    assert line.startswith(f"{path}:") and "invalid YAML" in line
    assert int(line.split(":")[1]) in (3, 4)


def test_unknown_field_is_one_line_with_its_line_number(tmp_path: Path):
    text = (ROOT / "config.yaml").read_text(encoding="utf-8")
    text = text.replace("\nmatcher:\n", "\nmatcher:\n  treshold: 0.5\n")
    path = config_copy(tmp_path, text)
    line_no = text.splitlines().index("  treshold: 0.5") + 1
    assert problems_for(path) == [f"{path}:{line_no}: matcher.treshold: unknown field"]


def test_missing_secret_names_the_variable_and_line(tmp_path: Path):
    text = (ROOT / "config.yaml").read_text(encoding="utf-8")
    text = text.replace("bot_token: ${SLACK_BOT_TOKEN:-}", "bot_token: ${SLACK_BOT_TOKEN}")
    path = config_copy(tmp_path, text)
    line_no = next(
        i for i, line_ in enumerate(text.splitlines(), 1) if "${SLACK_BOT_TOKEN}" in line_
    )
    assert problems_for(path) == [
        f"{path}:{line_no}: channels.slack.bot_token: "
        "environment variable SLACK_BOT_TOKEN is not set"
    ]
    # With the variable set, the same file is fine (and Slack then needs its app token).
    with pytest.raises(ProblemsError) as caught:
        load_settings(path, {"SLACK_BOT_TOKEN": "xoxb-1"})
    assert "app_token" in str(caught.value)


def test_several_problems_are_all_reported(tmp_path: Path):
    text = (ROOT / "config.yaml").read_text(encoding="utf-8")
    text = text.replace(
        "P2: {first_response: 1h, resolution: 8h}", "P2: {first_response: soon, resolution: 8h}", 1
    )
    text = text.replace("timezone: Europe/London", "timezone: Mars/Olympus", 1)
    text = text.replace("language: en ", "language: fr ", 1)
    lines = problems_for(config_copy(tmp_path, text))
    assert len(lines) == 3
    assert any(
        "sla.standard.P2.first_response" in line_ and "'soon' is not a duration" in line_
        for line_ in lines
    )
    assert any(
        "business_hours.default" in line_ and "unknown timezone 'Mars/Olympus'" in line_
        for line_ in lines
    )
    assert any(line_.split(": ", 2)[1] == "language" for line_ in lines)


def test_cross_references_are_checked(tmp_path: Path):
    text = (ROOT / "config.yaml").read_text(encoding="utf-8")
    text = text.replace(
        "    business_hours: default\n    lead: alex", "    business_hours: nights\n    lead: alex"
    )
    path = config_copy(tmp_path, text)
    [line] = problems_for(path)
    assert "queues.network.business_hours" in line and "'nights' is not defined" in line
    line_no = int(line.split(":")[1])
    assert text.splitlines()[line_no - 1].strip() == "business_hours: nights"


def test_durations():
    assert parse_duration("30m") == timedelta(minutes=30)
    assert parse_duration("2d") == timedelta(days=2)
    assert parse_duration(90) == timedelta(minutes=90)
    with pytest.raises(ValueError):
        parse_duration("2 fortnights")


def test_check_command_reports_one_line_per_problem_and_exit_code(tmp_path: Path):
    good = deskbot("check")
    assert good.returncode == 0 and good.stdout.startswith("ok: ")
    text = (
        (ROOT / "config.yaml").read_text(encoding="utf-8").replace("  high: 0.6 ", "  high: lots ")
    )
    bad = deskbot("check", "--config", str(config_copy(tmp_path, text)))
    assert bad.returncode == 2
    errors = [line_ for line_ in bad.stderr.splitlines() if line_.startswith("error: ")]
    assert len(errors) == 1 and "matcher.high" in errors[0]
    assert "Traceback" not in bad.stderr


def test_serve_with_a_bad_config_exits_without_traceback(tmp_path: Path):
    path = tmp_path / "config.yaml"
    path.write_text("queues: {\n", encoding="utf-8")
    result = deskbot("serve", "--config", str(path), stdin="")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert f"error: {path}:" in result.stderr and "invalid YAML" in result.stderr


def test_people_csv_problems_name_the_row(tmp_path: Path):
    people = (ROOT / "directory/people.csv").read_text(encoding="utf-8")
    people += "zoe,Zoe,zoe-at-example,,,nobody,wizard,,fr,Moon/Base,,,,\n"
    (tmp_path / "people.csv").write_text(people, encoding="utf-8")
    text = (
        (ROOT / "config.yaml")
        .read_text(encoding="utf-8")
        .replace("people: directory/people.csv", f"people: {tmp_path / 'people.csv'}")
    )
    settings = load_settings(config_copy(tmp_path, text), {})
    with pytest.raises(ProblemsError) as caught:
        load_content(settings)
    lines = [str(p) for p in caught.value.problems]
    row = len(people.splitlines())
    for column in ("role", "language", "timezone", "email", "manager"):
        assert any(
            line_.startswith(f"{tmp_path / 'people.csv'}:{row}: {column}:") for line_ in lines
        ), column


def test_attachment_limits_are_validated_with_their_key_and_line(tmp_path: Path):
    text = (ROOT / "config.yaml").read_text(encoding="utf-8")
    text = text.replace("  max_size: 20MB ", "  max_size: lots ").replace(
        "    - text/csv\n", "    - csv\n"
    )
    lines = problems_for(config_copy(tmp_path, text))
    assert any(
        "attachments.max_size: 'lots' is not a size; use a number and KB, MB or GB" in line
        for line in lines
    ), lines
    good = load_settings(config_copy(tmp_path), {})
    assert (
        good.attachments.max_size == 20 * 1024 * 1024
        and "image/*" in good.attachments.allowed_types
    )
    text = (
        (ROOT / "config.yaml")
        .read_text(encoding="utf-8")
        .replace("    - text/csv\n", "    - csv\n")
    )
    [line] = problems_for(config_copy(tmp_path, text))
    assert "attachments: allowed_types: 'csv' is not a media type such as image/png" in line


def test_telegram_poll_retry_is_a_duration_longer_than_zero(tmp_path: Path):
    assert load_config(ROOT / "config.yaml", {}).channels.telegram.poll_retry == timedelta(
        seconds=1
    )
    text = (ROOT / "config.yaml").read_text(encoding="utf-8")
    mode = "    mode: polling           # polling or webhook\n"
    assert mode in text

    def with_retry(value: str) -> Path:
        return config_copy(tmp_path, text.replace(mode, f"{mode}    poll_retry: {value}\n"))

    assert "poll_retry: '250ms' is not a duration" in problems_for(with_retry("250ms"))[0]
    assert "poll_retry must be longer than zero" in problems_for(with_retry("0s"))[0]
    retry = load_settings(with_retry("0.25s"), {}).channels.telegram.poll_retry
    assert retry == timedelta(milliseconds=250)


def test_connect_retry_is_a_duration_longer_than_zero(tmp_path: Path):
    default = load_config(ROOT / "config.yaml", {}).channels.connect_retry
    assert default == timedelta(seconds=1)
    text = (ROOT / "config.yaml").read_text(encoding="utf-8")
    console = "  console:\n"
    assert text.count(console) == 1

    def with_retry(value: str) -> Path:
        return config_copy(tmp_path, text.replace(console, f"  connect_retry: {value}\n{console}"))

    assert "connect_retry must be longer than zero" in problems_for(with_retry("0s"))[0]
    retry = load_settings(with_retry("0.1s"), {}).channels.connect_retry
    assert retry == timedelta(milliseconds=100)
