"""Making a message fit a platform's limits: text runs, cut at sensible places, never broken.

Each platform counts differently (Telegram counts UTF-16 code units of the text it shows,
Slack counts characters of what it is sent, where `&` travels as `&amp;`), so every
function here takes the measure as `length`, a function of one character. The markup is
first decoded into runs (plain text plus the tags around it), cut there, and only then
written out again: a cut can never fall inside a tag, an entity such as `&amp;`, a link
or a mark, and every piece reopens the tags it needs.

The rule shared by the adapters (docs/architecture.md, "Platform limits"):
* one message becomes at most `MAX_PARTS` platform messages, in order, cut at a line
  break or a space; more than that is cut, and the last part says so (`pointer`);
* labels and short fields are shortened with an ellipsis.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape

from bot.base.markup import tokens
from bot.base.messages import Message
from bot.base.texts import Texts

# Platform messages one message may become. Telegram and Slack both ask for about one
# message per second per chat and let a short burst through (Telegram's pacer allows 3):
# a reply of up to three parts goes out at once, a longer one would be held back.
MAX_PARTS = 3
ELLIPSIS = "…"

Tag = tuple[str, str]  # (tag name, href for <a>)
Measure = Callable[[str], int]  # the length of one character as the platform counts it


def one(_char: str) -> int:
    return 1


def utf16(char: str) -> int:
    """Telegram counts UTF-16 code units: a character outside the BMP (most emoji) is 2."""
    return 2 if ord(char) > 0xFFFF else 1


@dataclass(frozen=True, slots=True)
class Run:
    """Plain (unescaped) text shown with the tags in `tags`, outermost first."""

    text: str
    tags: tuple[Tag, ...] = ()


def size(runs: Sequence[Run], length: Measure = one) -> int:
    if length is one:
        return sum(len(r.text) for r in runs)
    return sum(length(c) for r in runs for c in r.text)


def runs_from_markup(markup: str) -> list[Run]:
    """Decode markup into runs, every allowed tag kept (properly nested or not)."""
    stack: list[Tag] = []
    out: list[Run] = []
    for tok in tokens(markup):
        if tok.kind == "text":
            if tok.text:
                out.append(Run(tok.text, tuple(stack)))
        elif tok.kind == "open":
            stack.append((tok.tag, tok.href))
        else:
            for i in range(len(stack) - 1, -1, -1):
                if stack[i][0] == tok.tag:
                    del stack[i]
                    break
    return out


def _open(tag: Tag) -> str:
    name, href = tag
    return f'<a href="{escape(href, quote=True)}">' if name == "a" else f"<{name}>"


def to_markup(runs: Sequence[Run]) -> str:
    """Write runs as markup (the same safe-HTML subset Telegram reads), tags balanced."""
    out: list[str] = []
    current: list[Tag] = []
    for run in runs:
        wanted = list(run.tags)
        keep = 0
        while keep < min(len(current), len(wanted)) and current[keep] == wanted[keep]:
            keep += 1
        for tag in reversed(current[keep:]):
            out.append(f"</{tag[0]}>")
        for tag in wanted[keep:]:
            out.append(_open(tag))
        current = wanted
        out.append(escape(run.text, quote=False))
    for tag in reversed(current):
        out.append(f"</{tag[0]}>")
    return "".join(out)


def cut_points(text: str, limit: int, length: Measure = one) -> list[tuple[int, int]]:
    """(start, end) slices of `text`, each at most `limit` long, cut at a line break or
    space in the second half of a slice when there is one (the separator is dropped)."""
    total = len(text) if length is one else sum(length(c) for c in text)
    if total <= limit:  # the usual case: it fits
        return [(0, len(text))]
    spans: list[tuple[int, int]] = []
    start = 0
    while start < len(text):
        used, end = 0, start
        while end < len(text) and used + length(text[end]) <= limit:
            used += length(text[end])
            end += 1
        if end >= len(text):
            spans.append((start, len(text)))
            break
        if end == start:  # one character wider than the limit: it cannot be shown
            start += 1
            continue
        floor = start + (end - start) // 2
        for sep in ("\n", " "):
            at = text.rfind(sep, floor, end + 1)  # text[end] exists: end < len(text)
            if at > start:
                spans.append((start, at))
                start = at + 1
                break
        else:
            spans.append((start, end))
            start = end
    return spans


def split(runs: Sequence[Run], limit: int, length: Measure = one) -> list[list[Run]]:
    """Cut runs into chunks of at most `limit`; whitespace at a chunk's edges is dropped
    (both platforms trim it anyway) and blank chunks vanish."""
    text = "".join(r.text for r in runs)
    bounds: list[tuple[int, int, Run]] = []
    pos = 0
    for run in runs:
        bounds.append((pos, pos + len(run.text), run))
        pos += len(run.text)
    chunks: list[list[Run]] = []
    for start, end in cut_points(text, limit, length):
        while start < end and text[start].isspace():
            start += 1
        while end > start and text[end - 1].isspace():
            end -= 1
        if start == end:
            continue
        chunk = [
            Run(run.text[max(start, a) - a : min(end, b) - a], run.tags)
            for a, b, run in bounds
            if a < end and b > start
        ]
        chunks.append([r for r in chunk if r.text])
    return chunks


def fit(
    runs: Sequence[Run],
    limit: int,
    *,
    length: Measure = one,
    parts: int = MAX_PARTS,
    last: int | None = None,
    pointer: Sequence[Run] = (),
) -> list[list[Run]]:
    """At most `parts` chunks of at most `limit` (the last at most `last`, which leaves
    room for what follows the text there: a card, a progress line). When the text needs
    more, the last chunk is cut shorter and ends with `pointer` ("…(cut; see /show...)")."""
    last = limit if last is None else min(last, limit)
    chunks = split(runs, limit, length)
    if chunks and size(chunks[-1], length) > last:
        chunks = chunks[:-1] + split(chunks[-1], max(last, 1), length)
    if len(chunks) <= parts:
        return chunks
    kept = chunks[: parts - 1]
    room = last - size(pointer, length)
    tail = split(chunks[parts - 1], room, length) if room > 0 else []
    final = [*tail[0], *pointer] if tail else list(pointer)
    return [*kept, final] if final else kept


def shorten(text: str, limit: int, length: Measure = one) -> str:
    """`text` within `limit`, cut at a word boundary near the end when there is one, with
    an ellipsis. For labels, titles and card fields: plain text, one line."""
    if limit <= 0:
        return ""
    total = len(text) if length is one else sum(length(c) for c in text)
    if total <= limit:
        return text
    room = limit - length(ELLIPSIS)
    used, end = 0, 0
    while end < len(text) and used + length(text[end]) <= room:
        used += length(text[end])
        end += 1
    space = text.rfind(" ", end * 3 // 4, end + 1)
    kept = text[:space] if space > 0 else text[:end]
    return kept.rstrip() + ELLIPSIS


def cut_pointer(texts: Texts, lang: str, message: Message) -> str:
    """What ends a cut message: where the rest is (`Message.more`), or that it did not fit."""
    if message.more:
        return texts.plain(lang, "limits.cut_see", where=message.more)
    return texts.plain(lang, "limits.cut")
