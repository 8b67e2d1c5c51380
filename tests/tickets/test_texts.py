"""Every ticket message exists in English and Chinese, and every key the code names exists."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.base.texts import PACKAGE_LOCALE, Texts, _flatten
from bot.base.yamlfile import load_yaml

ROOT = Path(__file__).resolve().parents[2]
MODULES = [
    "bot/workflow.py",
    "bot/permissions.py",
    "bot/approvals.py",
    "bot/tickets.py",
    "bot/chat/verbs/staff.py",
    "bot/chat/verbs/requester.py",
    "bot/lookup.py",
    "bot/chat/verbs/approver.py",
]
KEY = re.compile(
    r"""["']((?:tickets|perm|approval|event|status|card|triage|verbs|button)\.[a-z_]+(?:\.[a-z_]+)?)["']"""
)


def keys(lang: str) -> set[str]:
    data = load_yaml(PACKAGE_LOCALE / lang / "tickets.yaml").data
    assert isinstance(data, dict)
    return set(_flatten(data))


def test_both_languages_have_the_same_ticket_keys() -> None:
    assert keys("en") == keys("zh")


@pytest.mark.parametrize("module", MODULES)
def test_keys_named_in_code_exist_in_both_languages(module: str) -> None:
    texts = Texts()
    named = set(KEY.findall((ROOT / module).read_text(encoding="utf-8")))
    for key in named:
        for lang in ("en", "zh"):
            assert key in texts.catalogs[lang], f"{module}: {key} missing in {lang}"
