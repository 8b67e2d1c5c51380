"""Pinyin: people type Chinese as toneless pinyin ("dayinji buneng yong", "mima wangle").

Typed pinyin is read back into the catalog's own Chinese words: the catalog's Chinese
character runs, 1-4 characters long, are indexed by their toneless syllables (`Hanzi`), and
a run of pinyin words is cut into syllables and rewritten, longest known word first
("dayinji buneng yong" -> 打印机 不能 用). The matcher then reads Chinese as usual, and
`deskbot explain` shows the rewriting like a typo fix. A Latin word is taken for pinyin only
when it splits whole into syllables and the message reads as pinyin (`looks_like_pinyin`),
so English words that happen to split ("change" -> chan ge) stay English.

The readings are a table shipped in intents/data (`pinyin.txt`, made once from the
`pypinyin` package, MIT licence, by scripts/build_pinyin_table.py): each common character's
most common reading, read once per process in milliseconds.
"""

from __future__ import annotations

from collections.abc import Container, Sequence
from functools import lru_cache
from pathlib import Path

TABLE = Path(__file__).resolve().parent / "data" / "pinyin.txt"


@lru_cache(maxsize=1)
def readings(path: Path = TABLE) -> dict[str, str]:
    """Character -> its most common reading, toneless ("绿" -> "lv"), for the 6,763
    characters of GB 2312 (intents/data/pinyin.txt, scripts/build_pinyin_table.py)."""
    out: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            sound, _, chars = line.partition(" ")
            for ch in chars:
                out[ch] = sound
    return out


@lru_cache(maxsize=1)
def syllables() -> frozenset[str]:
    return frozenset(readings().values())


def of_text(text: str) -> list[str]:
    """The syllables of the Chinese characters in `text`, in order (others skipped)."""
    table = readings()
    return [table[ch] for ch in text if ch in table]


@lru_cache(maxsize=65536)
def split(word: str) -> tuple[str, ...]:
    """A Latin word cut into pinyin syllables, fewest pieces first; () if it does not cut."""
    known = syllables()
    if not word.isascii() or not word.isalpha() or len(word) > 30:
        return ()
    best: list[tuple[str, ...] | None] = [None] * (len(word) + 1)
    best[0] = ()
    for end in range(1, len(word) + 1):
        for start in range(max(0, end - 6), end):
            head = best[start]
            piece = word[start:end]
            if head is not None and piece in known:
                candidate = (*head, piece)
                current = best[end]
                if current is None or len(candidate) < len(current):
                    best[end] = candidate
    return best[len(word)] or ()


def looks_like_pinyin(
    words: Sequence[str], english: Container[str], catalog: Container[str] = ()
) -> bool:
    """Does a message's Latin words read as pinyin?

    Yes when half of them split into syllables and one of those is no English word
    ("mima wangle"), or when two thirds split, at least two, and one is not a word of the
    catalog ("vpn lian bu shang": each syllable is also some English word or name).
    """
    if not words:
        return False
    splits = [w for w in words if split(w)]
    if any(w not in english for w in splits) and 2 * len(splits) >= len(words):
        return True
    return (
        len(splits) >= 2
        and 3 * len(splits) >= 2 * len(words)
        and any(w not in catalog for w in splits)
    )


class Hanzi:
    """Toneless syllables -> the catalog's most frequent Chinese word that reads so."""

    LONGEST = 4  # characters in the longest word indexed

    def __init__(self) -> None:
        self._counts: dict[tuple[str, ...], dict[str, int]] = {}
        self._best: dict[tuple[str, ...], str] = {}

    def learn(self, run: str) -> None:
        """Index every 1-4 character piece of a run of Chinese characters."""
        table = readings()
        if not all(ch in table for ch in run):
            return
        sounds = [table[ch] for ch in run]
        for n in range(1, self.LONGEST + 1):
            for i in range(len(run) - n + 1):
                key = tuple(sounds[i : i + n])
                counts = self._counts.setdefault(key, {})
                counts[run[i : i + n]] = counts.get(run[i : i + n], 0) + 1
        self._best.clear()

    def write(self, sounds: Sequence[str]) -> str:
        """The syllables as the catalog's Chinese, longest word first; unknown ones dropped."""
        if not self._best and self._counts:
            self._best = {k: max(v, key=lambda w: (v[w], w)) for k, v in self._counts.items()}
        out: list[str] = []
        i = 0
        while i < len(sounds):
            for n in range(min(self.LONGEST, len(sounds) - i), 0, -1):
                word = self._best.get(tuple(sounds[i : i + n]))
                if word is not None:
                    out.append(word)
                    i += n
                    break
            else:
                i += 1
        return "".join(out)
