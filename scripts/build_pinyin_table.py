"""Build intents/data/pinyin.txt: the toneless reading of each common Chinese character.

The matcher reads requests typed in pinyin back into the catalog's Chinese
(`intents.pinyin`). It needs each character's reading, and only the commonest one: the
6,763 characters of GB 2312 (every character of everyday simplified Chinese), each read by
pypinyin's own table, its first (most common) reading, tones dropped, ü written v. Stored one
syllable per line, followed by its characters: about 30 kB, read in milliseconds, where
loading pypinyin's full table at start-up cost 2 s and 60 MB per process.

Run (once, not at install; pypinyin is not a dependency of deskbot):

    pip install pypinyin
    python scripts/build_pinyin_table.py

Source and licence (see intents/data/README.md): pypinyin (MIT), whose readings come from
the Unicode Han Database (kHanyuPinyin, kMandarin...) and other open tables it lists.
"""

from __future__ import annotations

import unicodedata
from pathlib import Path

from pypinyin.pinyin_dict import pinyin_dict

OUT = Path(__file__).resolve().parents[1] / "intents" / "data" / "pinyin.txt"


def toneless(reading: str) -> str:
    decomposed = unicodedata.normalize("NFKD", reading.replace("ü", "v"))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def common(ch: str) -> bool:
    try:
        ch.encode("gb2312")
    except UnicodeEncodeError:
        return False
    return "\u4e00" <= ch <= "\u9fff"


def main() -> None:
    by_sound: dict[str, list[str]] = {}
    for codepoint in sorted(pinyin_dict):
        ch = chr(codepoint)
        if common(ch):
            sound = toneless(pinyin_dict[codepoint].split(",")[0])
            by_sound.setdefault(sound, []).append(ch)
    lines = [f"{sound} {''.join(chars)}" for sound, chars in sorted(by_sound.items())]
    header = "# syllable characters (scripts/build_pinyin_table.py; source: pypinyin, MIT)\n"
    OUT.write_text(header + "\n".join(lines) + "\n", encoding="utf-8")
    print(f"{OUT}: {sum(len(c) for c in by_sound.values())} characters, {len(lines)} syllables")


if __name__ == "__main__":
    main()
