"""Turn a neutral `Message` into Telegram HTML parts and an inline keyboard layout.

Pure functions (no telegram import), so every rule here is unit-tested directly.

The markup we receive is already escaped; `bot.base.markup.tokens()` decodes it into text runs
and allowed tags, and we escape each run again for Telegram's HTML parse mode. Telegram
refuses a whole message when its HTML is malformed, so the output is always balanced:
each run carries the full set of tags around it and tags are re-opened after a cut.

Limits (Bot API, tests/specs/telegram/api.json, and python-telegram-bot's constants): a
text is 1-4096 characters after entity parsing, counted in UTF-16 code units; callback data
is 1-64 bytes; an inline keyboard holds at most 100 buttons, 8 to a row, and Telegram
refuses a keyboard of about 10 kB ("reply markup is too long"). What does not fit is cut
here (see `bot.base.fitting` and docs/architecture.md, "Platform limits").
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from bot.base import fitting
from bot.base.fitting import Run, Tag, shorten, utf16
from bot.base.markup import tokens
from bot.base.messages import Choice, Message

TEXT_LIMIT = 4096  # characters after entity parsing (sendMessage, editMessageText)
CALLBACK_LIMIT = 64  # bytes of callback_data
MAX_BUTTONS = 100  # buttons in one inline keyboard
PER_ROW = 8  # buttons in one row
KEYBOARD_BYTES = 8000  # the keyboard as JSON: Telegram refuses about 10 kB
LABEL_LIMIT = 64  # no documented limit; clients cut longer labels off anyway
TITLE_LIMIT = 256  # a card's title
FIELD_LABEL_LIMIT = 40
FIELD_LIMIT = 200  # a card field's value
MAX_FIELDS = 10
PROGRESS_LIMIT = 200
SAFE_SCHEMES = ("http://", "https://", "tg://", "mailto:")
ITALIC: tuple[Tag, ...] = (("i", ""),)

__all__ = ["Run", "Tag"]


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


def to_html(runs: Sequence[Run]) -> str:
    """Render runs as Telegram HTML with properly nested tags."""
    return fitting.to_markup(runs)


def _tail(message: Message, note: str | None) -> list[Run]:
    """What follows the text: the ticket card, the progress line, a note on buttons left
    out. Each part is shortened on its own, so the tail always leaves room for text."""
    runs: list[Run] = []
    card = message.card
    if card is not None:
        number: tuple[Tag, ...] = (("b", ""),)
        if card.url and card.url.lower().startswith(SAFE_SCHEMES):
            number = (("a", card.url), ("b", ""))
        title = shorten(card.title, TITLE_LIMIT, utf16)
        runs += [Run(shorten(card.number, 40, utf16), number), Run(f" {title}")]
        for f in card.fields[:MAX_FIELDS]:
            label = shorten(f.label, FIELD_LABEL_LIMIT, utf16)
            value = shorten(f.value, FIELD_LIMIT, utf16)
            runs += [Run("\n"), Run(f"{label}:", ITALIC), Run(f" {value}")]
    for line in (message.progress, note):
        if line:
            if runs:
                runs.append(Run("\n\n"))
            runs.append(Run(shorten(line, PROGRESS_LIMIT, utf16), ITALIC))
    return runs


def compose(message: Message, *, empty: str, note: str | None = None) -> list[Run]:
    """The whole message as runs: text, then the ticket card, then the progress line.

    `empty` is shown when there is nothing else but buttons (Telegram needs some text).
    """
    runs = runs_from_markup(message.text)
    tail = _tail(message, note)
    if runs and tail:
        runs.append(Run("\n\n"))
    runs += tail
    if not "".join(r.text for r in runs).strip():
        return [Run(empty)] if message.choices else []
    return runs


def split(runs: Sequence[Run], limit: int = TEXT_LIMIT) -> list[list[Run]]:
    """Cut runs into chunks of at most `limit` visible UTF-16 units; blank chunks vanish."""
    return fitting.split(runs, limit, utf16)


def parts(
    message: Message,
    *,
    empty: str,
    pointer: str,
    note: str | None = None,
    limit: int = TEXT_LIMIT,
    most: int = fitting.MAX_PARTS,
) -> list[list[Run]]:
    """The message as at most `most` Telegram texts, in order (the keyboard goes on the
    last). Long text is split at line breaks or spaces; what does not fit in `most`
    texts is cut and the last says so with `pointer`. The card and the progress line
    always come whole, after the text."""
    body = runs_from_markup(message.text)
    tail = _tail(message, note)
    if not "".join(r.text for r in [*body, *tail]).strip():
        return [[Run(empty)]] if message.choices else []
    sep = [Run("\n\n")] if tail else []
    room = limit - fitting.size([*sep, *tail], utf16)
    chunks = fitting.fit(
        body, limit, length=utf16, parts=most, last=room, pointer=[Run(pointer, ITALIC)]
    )
    if not chunks:
        return [split(tail, limit)[0]]
    return [*chunks[:-1], [*chunks[-1], *sep, *tail]]


def render(
    message: Message, *, empty: str, limit: int = TEXT_LIMIT, pointer: str = fitting.ELLIPSIS
) -> list[str]:
    """The message as one or more Telegram HTML texts (the keyboard goes on the last)."""
    return [to_html(p) for p in parts(message, empty=empty, pointer=pointer, limit=limit)]


def fits_callback(value: str) -> bool:
    return 0 < len(value.encode()) <= CALLBACK_LIMIT


def _json_bytes(choice: Choice) -> int:
    button = {"text": choice.label, "callback_data": choice.value, "style": choice.style}
    return len(json.dumps(button, ensure_ascii=False, separators=(",", ":")).encode()) + 3


def shown_choices(choices: Sequence[Choice]) -> list[Choice]:
    """The choices that go on the keyboard, labels shortened: values Telegram cannot carry
    are left out, and so is whatever would make the keyboard too big."""
    shown: list[Choice] = []
    used = 0
    for c in choices:
        if not fits_callback(c.value):
            continue
        label = shorten(c.label, LABEL_LIMIT, utf16)
        choice = Choice(label, c.value, c.style) if label != c.label else c
        used += _json_bytes(choice)
        if len(shown) == MAX_BUTTONS or used > KEYBOARD_BYTES:
            break
        shown.append(choice)
    return shown


def button_rows(choices: Sequence[Choice]) -> list[list[Choice]]:
    """Short labels side by side (Yes / No, Claim / Assign), longer ones one per row."""
    usable = shown_choices(choices)
    if usable and all(len(c.label) <= 14 for c in usable):
        width = min(3 if len(usable) <= 3 else 2, PER_ROW)
        return [usable[i : i + width] for i in range(0, len(usable), width)]
    return [[c] for c in usable]
