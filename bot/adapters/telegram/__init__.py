"""Telegram front end on python-telegram-bot 22: the only package that imports `telegram`.

`deskbot serve` calls `build(desk, engine)` when channels.telegram is configured.
"""

from bot.adapters.telegram.channel import TelegramChannel, build
from bot.adapters.telegram.pacing import Pacing

__all__ = ["Pacing", "TelegramChannel", "build"]
