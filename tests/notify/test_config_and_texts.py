"""The `notifications:` settings (defaults, located errors) and the notice texts (en = zh)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from bot.base.config import load_settings, parse_duration
from bot.base.texts import PACKAGE_LOCALE, Texts, _flatten
from bot.base.yamlfile import ProblemsError, load_yaml
from bot.content import load_content

ROOT = Path(__file__).resolve().parents[2]


def write_config(tmp_path: Path, notifications: str) -> Path:
    base = (ROOT / "config.yaml").read_text(encoding="utf-8")
    head = base.split("\nnotifications:")[0]
    path = tmp_path / "config.yaml"
    path.write_text(head + "\nnotifications:\n" + notifications, encoding="utf-8")
    for name in ("directory", "catalog"):
        (tmp_path / name).symlink_to(ROOT / name)
    return path


def test_repository_config_has_the_documented_defaults():
    notices = load_settings(ROOT / "config.yaml", {}).notifications
    assert notices.dispatch.every == timedelta(seconds=1)
    assert notices.sweep.every == timedelta(seconds=30)
    assert notices.sla.warn_at == 0.75 and notices.sla.pause_on == [
        "waiting_on_user",
        "awaiting_approval",
    ]
    assert notices.nudge.after == timedelta(days=3)
    assert notices.quiet_hours.start == "08:00"


def test_seconds_are_a_duration_unit():
    assert parse_duration("30s") == timedelta(seconds=30)
    assert parse_duration("1.5h") == timedelta(minutes=90)
    with pytest.raises(ValueError, match="too long"):
        parse_duration("1000000000000000000000d")
    with pytest.raises(ValueError, match="too long"):
        parse_duration(99999999999999999999)  # a bare number in config.yaml is minutes


def test_bad_values_are_reported_with_file_line_and_field(tmp_path: Path):
    path = write_config(
        tmp_path,
        "  waiting:\n"
        "    warn_after: 5d\n"
        "    close_after: 4d\n"
        "  survey:\n"
        "    ratio: 1.5\n"
        "  sla:\n"
        "    pause_on: [on_holiday]\n",
    )
    with pytest.raises(ProblemsError) as caught:
        load_settings(path, {})
    text = str(caught.value)
    lines = {p.field: p for p in caught.value.problems}
    assert "warn_after must be longer than zero and shorter than close_after" in text
    source = path.read_text(encoding="utf-8").splitlines()
    assert lines["notifications.survey.ratio"].line == source.index("    ratio: 1.5") + 1
    assert any(f.startswith("notifications.sla.pause_on") for f in lines)
    assert all(p.file == str(path) for p in caught.value.problems)


def test_unknown_people_in_notification_settings_are_named(tmp_path: Path):
    path = write_config(
        tmp_path, "  approvals:\n    fallback: nobody\n  dead_letters_to: [priya, ghost]\n"
    )
    settings = load_settings(path, {})
    with pytest.raises(ProblemsError) as caught:
        load_content(settings)
    text = str(caught.value)
    assert "notifications.approvals.fallback: 'nobody' is not in people.csv" in text
    assert "notifications.dead_letters_to[1]: 'ghost' is not in people.csv" in text
    source = path.read_text(encoding="utf-8").splitlines()
    [fallback] = [p for p in caught.value.problems if p.field.endswith("fallback")]
    assert fallback.line == source.index("    fallback: nobody") + 1


def test_english_and_chinese_notice_texts_have_the_same_keys():
    keys = {
        lang: set(_flatten(load_yaml(PACKAGE_LOCALE / lang / "notify.yaml").data))
        for lang in ("en", "zh")
    }
    assert keys["en"] == keys["zh"]
    assert len(keys["en"]) > 25


def test_every_notice_renders_in_both_languages_and_escapes_user_text():
    texts = Texts()
    evil = "<!channel> <b>x</b>"
    params = {
        "number": "IT-1",
        "title": evil,
        "question": evil,
        "close": "Mon 30 Nov, 10:00",
        "next": "n",
        "expected": "e",
        "late": False,
        "queue": "q",
        "name": "n",
        "names": "n",
        "score": 4,
        "requester": evil,
        "waited": "1 day",
        "request": "r",
        "approvers": "a",
        "count": 1,
        "fallback": "f",
        "priority": "P1",
        "target": "t",
        "due": "d",
        "assignee": "",
        "until": "",
        "value": evil,
        "id": 7,
        "who": evil,
        "channel": "slack",
        "attempts": 3,
        "error": evil,
        "kind": "k",
        "subject": "s",
        "own": evil,
    }
    flat = _flatten(load_yaml(PACKAGE_LOCALE / "en" / "notify.yaml").data)
    for lang in ("en", "zh"):
        for key, value in flat.items():
            if isinstance(value, str):
                out = texts.render(lang, key, **params)
                assert "<!channel>" not in out and "<b>x</b>" not in out, key
