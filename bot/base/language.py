"""Guess the language of a message so the bot answers in the language it was asked in."""

from __future__ import annotations

import re

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN_WORD = re.compile(r"[A-Za-z]{2,}")


def detect(text: str) -> str | None:
    """'zh' when the text has Chinese characters, 'en' for two or more Latin words, else None.

    Product names ("VPN", "Outlook") inside Chinese text keep it Chinese; a single Latin
    word ("vpn") is too little evidence to switch a Chinese speaker to English.
    """
    if _CJK.search(text):
        return "zh"
    if len(_LATIN_WORD.findall(text)) >= 2:
        return "en"
    return None
