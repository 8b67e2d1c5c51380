"""Turn a neutral `Message` into Telegram HTML chunks and an inline keyboard layout.

Pure functions (no telegram import), so every rule here is unit-tested directly.

The markup we receive is already escaped; `bot.base.markup.tokens()` decodes it into text runs
and allowed tags, and we escape each run again for Telegram's HTML parse mode. Telegram
refuses a whole message when its HTML is malformed, so the output is always balanced:
each run carries the full set of tags around it and tags are re-opened after a cut.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

from bot.base.markup import tokens
from bot.base.messages import Choice, Message

TEXT_LIMIT = 4096  # characters after entity parsing (sendMessage, editMessageText)
CALLBACK_LIMIT = 64  # bytes of callback_data
SAFE_SCHEMES = ("http://", "https://", "tg://", "mailto:")

Tag = tuple[str, str]  # (tag name, href for <a>)


@dataclass(frozen=True, slots=True)
class Run:
    """Plain (unescaped) text shown with the tags in `tags`, outermost first."""

    text: str
    tags: tuple[Tag, ...] = ()


def utf16_len(text: str) -> int:
    """Telegram counts lengths in UTF-16 code units (an emoji can count twice)."""
    return len(text.encode("utf-16-le")) // 2


def runs_from_markup(markup: str) -> list[Run]:
    """Decode markup into runs. Tags Telegram cannot nest are dropped, text never is."""
    stack: list[tuple[str, str, bool]] = []  # (tag, href, shown)
    runs: list[Run] = []
    for tok in tokens(markup):
        if tok.kind == "text":
            if tok.text:
                shown = tuple((tag, href) for tag, href, ok in stack if ok)
                runs.append(Run(tok.text, shown))
        elif tok.kind == "open":
            literal = any(ok and tag in ("code", "pre") for tag, _h, ok in stack)
            nested_link = tok.tag == "a" and any(ok and tag == "a" for tag, _h, ok in stack)
            bad_link = tok.tag == "a" and not tok.href.lower().startswith(SAFE_SCHEMES)
            stack.append((tok.tag, tok.href, not (literal or nested_link or bad_link)))
        else:
            for i in range(len(stack) - 1, -1, -1):
                if stack[i][0] == tok.tag:
                    del stack[i]
                    break
    return runs


def _open(tag: Tag) -> str:
    name, href = tag
    return f'<a href="{escape(href, quote=True)}">' if name == "a" else f"<{name}>"


def to_html(runs: list[Run]) -> str:
    """Render runs as Telegram HTML with properly nested tags."""
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


def compose(message: Message, *, empty: str) -> list[Run]:
    """The whole message as runs: text, then the ticket card, then the progress line.

    `empty` is shown when there is nothing else but buttons (Telegram needs some text).
    """
    runs = runs_from_markup(message.text)
    card = message.card
    if card is not None:
        if runs:
            runs.append(Run("\n\n"))
        number: tuple[Tag, ...] = (("b", ""),)
        if card.url and card.url.lower().startswith(SAFE_SCHEMES):
            number = (("a", card.url), ("b", ""))
        runs += [Run(card.number, number), Run(f" {card.title}")]
        for f in card.fields:
            runs += [Run("\n"), Run(f"{f.label}:", (("i", ""),)), Run(f" {f.value}")]
    if message.progress:
        if runs:
            runs.append(Run("\n\n"))
        runs.append(Run(message.progress, (("i", ""),)))
    if not "".join(r.text for r in runs).strip():
        return [Run(empty)] if message.choices else []
    return runs


def _cut_points(text: str, limit: int) -> list[tuple[int, int]]:
    """(start, end) slices of `text`, each at most `limit` UTF-16 units, cut at a line
    break or space in the second half of a chunk when there is one."""
    if utf16_len(text) <= limit:  # the usual case: one message
        return [(0, len(text))]
    spans: list[tuple[int, int]] = []
    start = 0
    while start < len(text):
        used, end = 0, start
        while end < len(text) and used + utf16_len(text[end]) <= limit:
            used += utf16_len(text[end])
            end += 1
        if end >= len(text):
            spans.append((start, len(text)))
            break
        floor = start + (end - start) // 2
        for sep in ("\n", " "):
            at = text.rfind(sep, floor, end + 1)  # text[end] exists: end < len(text)
            if at > start:
                spans.append((start, at))
                start = at + 1  # the separator itself is not shown at either edge
                break
        else:
            spans.append((start, end))
            start = end
    return spans


def split(runs: list[Run], limit: int = TEXT_LIMIT) -> list[list[Run]]:
    """Cut runs into chunks of at most `limit` visible UTF-16 units; blank chunks vanish."""
    text = "".join(r.text for r in runs)
    bounds: list[tuple[int, int, Run]] = []
    pos = 0
    for run in runs:
        bounds.append((pos, pos + len(run.text), run))
        pos += len(run.text)
    chunks: list[list[Run]] = []
    for start, end in _cut_points(text, limit):
        # Telegram trims a message's edges anyway; trimming here keeps chunks honest.
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


def render(message: Message, *, empty: str, limit: int = TEXT_LIMIT) -> list[str]:
    """The message as one or more Telegram HTML texts (the keyboard goes on the last)."""
    return [to_html(chunk) for chunk in split(compose(message, empty=empty), limit)]


def fits_callback(value: str) -> bool:
    return 0 < len(value.encode()) <= CALLBACK_LIMIT


def button_rows(choices: tuple[Choice, ...]) -> list[list[Choice]]:
    """Short labels side by side (Yes / No, Claim / Assign), longer ones one per row."""
    usable = [c for c in choices if fits_callback(c.value)]
    if usable and all(len(c.label) <= 14 for c in usable):
        width = 3 if len(usable) <= 3 else 2
        return [usable[i : i + width] for i in range(0, len(usable), width)]
    return [[c] for c in usable]
