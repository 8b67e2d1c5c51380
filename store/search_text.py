"""Text as the ticket search sees it: the same words on SQLite and PostgreSQL.

Neither database splits Chinese into words, so the splitting happens here, once, for the
document and for the query alike: lower case, accents dropped, English words kept (a plural
"s" dropped, a few filler words left out), and every run of Chinese (or Japanese, Korean)
characters written as its single characters and its overlapping pairs: 打印机 becomes
打 印 机 打印 印机. A query asks for the pairs (or the single character), so 打印机 finds
打印机 and 密码 finds 密码重置, without a dictionary. The result is plain space-separated
tokens that SQLite's unicode61 tokenizer and PostgreSQL's 'simple' parser both take as they
are (`tests/tickets/test_search.py` holds them to that).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator

# Han (with extensions and compatibility forms), kana and Hangul: no spaces between words.
_CJK = (
    "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff"
    "\U00020000-\U0002fa1f\U00030000-\U0003134f"
)
_WORD = re.compile(r"[^\W_]+")
_RUNS = re.compile(f"[{_CJK}]+|[^{_CJK}]+")
_IS_CJK = re.compile(f"[{_CJK}]")
MAX_TOKEN = 40  # longer "words" (hashes, pasted blobs) are cut: PostgreSQL refuses > 2 kB
MAX_QUERY_TOKENS = 24
# Words that say nothing about a ticket; asking for them would only hide matches.
STOPWORDS = frozenset(
    "a an and are as at be but by do for from has have i in is it its me my of on or our "
    "so that the this to was we were will with you your".split()
)


def fold(word: str) -> str:
    """One English (or other alphabetic) word as it is indexed: lower case, no accents,
    a plural "s" dropped ("printers" is "printer")."""
    decomposed = unicodedata.normalize("NFKD", word)
    bare = "".join(c for c in decomposed if unicodedata.category(c) != "Mn")
    word = unicodedata.normalize("NFC", bare).casefold()[:MAX_TOKEN]
    if len(word) > 3 and word.isascii() and word.isalpha():
        if word.endswith("ies") and len(word) > 4:
            return word[:-3] + "y"
        if word.endswith("s") and not word.endswith(("ss", "us", "is")):
            return word[:-1]
    return word


def runs(text: str) -> Iterator[tuple[bool, str]]:
    """(is_cjk, run) for each word of `text`, a Chinese run apart from letters next to it."""
    for word in _WORD.findall(unicodedata.normalize("NFKC", text)):
        for run in _RUNS.findall(word):
            yield bool(_IS_CJK.match(run)), run


def document(text: str) -> str:
    """The tokens stored for `text`: folded words, and Chinese characters and pairs."""
    out: list[str] = []
    for cjk, run in runs(text):
        if cjk:
            out.extend(run)
            out.extend(run[i : i + 2] for i in range(len(run) - 1))
        else:
            word = fold(run)
            if word not in STOPWORDS:
                out.append(word)
    return " ".join(out)


def query_tokens(text: str) -> list[str]:
    """What a query asks for, every token required: folded words, and the pairs of each
    Chinese run (a lone character stands for itself). Duplicates and filler words go."""
    out: list[str] = []
    for cjk, run in runs(text):
        if cjk:
            pieces = [run] if len(run) == 1 else [run[i : i + 2] for i in range(len(run) - 1)]
        else:
            word = fold(run)
            pieces = [] if word in STOPWORDS else [word]
        out.extend(p for p in pieces if p not in out)
    return out[:MAX_QUERY_TOKENS]
