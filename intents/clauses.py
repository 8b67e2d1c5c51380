"""Cut a message into the clauses a person strings requests and courtesies together with.

"hi, hope your Monday is better than mine, I've locked myself out again, could you help?"
is four clauses, one of them a request; "the vpn keeps dropping and also the printer on 3 is
jammed" is two requests. The matcher reads each clause on its own as well as the whole
message (`intents.matcher`), so courtesy no longer dilutes a clear request and a second
request is seen instead of losing to the first. No segmenter: punctuation and the words
people join clauses with, in English and Chinese.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Sentence ends, then clause punctuation (a dot between digits is a number: "room 4.01").
_SENTENCE = r"[!?;\n。！？；]|(?<!\d)\.(?!\d)"
_COMMA = r"[,，、]"
# Words that add another matter ("also the printer..."); they start a clause and stay in it.
_ADD_EN = (
    r"and also|also|plus|as well as|separately|while you're at it|while youre at it|"
    r"on top of that|another thing|btw|by the way|more urgently|more importantly"
)
_ADD_ZH = r"另外|还有|顺便|同时|以及|再就是|还想|也想|更急|更要紧|最急"
# Words that only join: a new clause, but not by themselves a new matter.
_JOIN_EN = r"but|and|then|so"
_JOIN_ZH = r"而且|并且|不过|但是|然后|可是"
_CUT = re.compile(
    rf"({_SENTENCE})|{_COMMA}"
    rf"|(?=\b(?:{_ADD_EN}|{_JOIN_EN})\b)|(?=(?:{_ADD_ZH}|{_JOIN_ZH}))",
    re.I,
)
_ADDS = re.compile(rf"\b(?:{_ADD_EN})\b|{_ADD_ZH}|\b(?:too|either|as well)\W*$|也", re.I)
_ONLY_JOINER = re.compile(rf"(?:{_ADD_EN}|{_JOIN_EN}|{_ADD_ZH}|{_JOIN_ZH})", re.I)
_WORDISH = re.compile(r"\w")


@dataclass(frozen=True)
class Clause:
    text: str
    # Marked as a matter of its own: after a full stop, or with "also", "另外", "too"...
    # A clause after a mere comma or "and" may well be the same request going on.
    separate: bool


def clauses(text: str) -> list[Clause]:
    """The message's clauses in order, stripped; pieces with no letters are dropped."""
    out: list[Clause] = []
    after_sentence = False
    pieces = _CUT.split(text)
    # re.split with one group: text, sentence-mark-or-None, text, ...
    for i, piece in enumerate(pieces):
        if i % 2 == 1:
            after_sentence = after_sentence or bool(piece)
            continue
        piece = (piece or "").strip()
        if not piece or not _WORDISH.search(piece) or _ONLY_JOINER.fullmatch(piece):
            continue
        separate = bool(out) and (after_sentence or bool(_ADDS.search(piece)))
        out.append(Clause(piece, separate))
        after_sentence = False
    return out
