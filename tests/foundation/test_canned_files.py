"""content/replies: every problem in a canned reply file is named with file, line and field,
and `deskbot check` reports them."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.base.yamlfile import ProblemsError
from bot.canned import load_replies

from .helpers import ROOT, config_copy, deskbot

GOOD = """title:
  en: Restart
  zh: 重启
body:
  en: Hi {{ requester }}, please restart ({{ number }}).
  zh: "{{ requester }}，请重启（{{ number }}）。"
"""


def _problems(folder: Path) -> list[str]:
    with pytest.raises(ProblemsError) as caught:
        load_replies(folder)
    return [str(p) for p in caught.value.problems]


def test_the_shipped_replies_load_in_both_languages() -> None:
    replies = load_replies(ROOT / "content/replies")
    assert {"vpn-reset", "need-screenshot", "restart-first"} <= set(replies)
    for reply in replies.values():
        for lang in ("en", "zh"):
            text = reply.render(
                lang,
                requester="Ann",
                requester_full="Ann Lee",
                number="IT-1",
                title="t",
                technician="Dana",
            )
            assert "Ann" in text and "{{" not in text


def test_each_problem_names_file_line_and_field(tmp_path: Path) -> None:
    (tmp_path / "good.yaml").write_text(GOOD, encoding="utf-8")
    (tmp_path / "no-zh.yaml").write_text(
        "title:\n  en: One\n  zh: 一\nbody:\n  en: Hello\n", encoding="utf-8"
    )
    (tmp_path / "bad-var.yaml").write_text(
        GOOD.replace("please restart", "{{ password }} please restart"), encoding="utf-8"
    )
    (tmp_path / "bad-yaml.yaml").write_text("title: {en: x\nbody: y\n", encoding="utf-8")
    (tmp_path / "syntax.yaml").write_text(
        GOOD.replace("({{ number }}).", "({{ number )."), encoding="utf-8"
    )
    (tmp_path / "extra.yaml").write_text(GOOD + "colour: red\n", encoding="utf-8")
    (tmp_path / "Bad Name.yaml").write_text(GOOD, encoding="utf-8")
    lines = _problems(tmp_path)
    where = {line.split(": ")[0]: line for line in lines}
    assert f"{tmp_path / 'no-zh.yaml'}:4: body.zh: the zh text is missing" in lines
    assert where[f"{tmp_path / 'bad-var.yaml'}:5"].startswith(
        f"{tmp_path / 'bad-var.yaml'}:5: body.en: unknown variable password (known: number,"
    )
    assert any(
        line.startswith(f"{tmp_path / 'bad-yaml.yaml'}:") and "invalid YAML" in line
        for line in lines
    )
    assert any(
        line.startswith(f"{tmp_path / 'syntax.yaml'}:5: body.en: invalid template")
        for line in lines
    )
    assert f"{tmp_path / 'extra.yaml'}:7: colour: unknown field" in lines
    assert any("Bad Name.yaml: 'Bad Name' is not a reply name" in line for line in lines)
    assert not any("good.yaml" in line for line in lines)
    assert len(lines) == 6


def test_check_reports_a_bad_reply_and_fails(tmp_path: Path) -> None:
    replies = tmp_path / "replies"
    replies.mkdir()
    (replies / "hello.yaml").write_text(GOOD.replace("  zh: 重启\n", ""), encoding="utf-8")
    text = (ROOT / "config.yaml").read_text(encoding="utf-8")
    path = config_copy(tmp_path, text.replace("replies: content/replies", f"replies: {replies}"))
    bad = deskbot("check", "--config", str(path))
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    assert f"error: {replies / 'hello.yaml'}:1: title.zh: the zh text is missing" in bad.stderr
    good = deskbot("check")
    assert good.returncode == 0 and "5 canned replies" in good.stdout
