"""Only bot/adapters/telegram may import python-telegram-bot; texts exist in both
languages; `deskbot serve` finds the adapter when Telegram is configured."""

from __future__ import annotations

import ast

import yaml

from bot.adapters.telegram import TelegramChannel
from bot.base.texts import _flatten
from bot.chat.engine import Engine
from bot.desk import Desk
from bot.serve import platform_channels
from tests.conftest import ROOT

PACKAGES = ("bot", "intents", "journeys", "store", "notifications")


def imports_telegram(path) -> bool:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        if any(n == "telegram" or n.startswith("telegram.") for n in names):
            return True
    return False


def test_only_the_telegram_adapter_imports_telegram():
    adapter = ROOT / "bot" / "adapters" / "telegram"
    offenders = [
        str(path.relative_to(ROOT))
        for package in PACKAGES
        for path in (ROOT / package).rglob("*.py")
        if adapter not in path.parents and imports_telegram(path)
    ]
    assert offenders == []
    assert imports_telegram(adapter / "channel.py")  # the check itself can see an import


def test_telegram_texts_have_the_same_keys_in_both_languages():
    keys = {}
    for lang in ("en", "zh"):
        data = yaml.safe_load((ROOT / "bot" / "locale" / lang / "telegram.yaml").read_text("utf-8"))
        keys[lang] = set(_flatten(data))
    assert keys["en"] == keys["zh"]
    assert "telegram.unknown_user" in keys["en"] and "link.code" in keys["en"]


def test_serve_builds_the_adapter_only_when_configured(tg_desk: Desk, desk: Desk):
    channels = platform_channels(tg_desk, Engine(tg_desk))
    assert isinstance(channels["telegram"], TelegramChannel)
    assert channels["telegram"].name == "telegram"
    assert "telegram" not in platform_channels(desk, Engine(desk))
