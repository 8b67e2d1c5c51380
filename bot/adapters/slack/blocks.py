"""A neutral Message as Block Kit: mrkdwn sections, a ticket card, a progress line, choices.

Up to five choices are buttons; more become one static select (Slack shows at most a few
buttons comfortably, and a select keeps long option lists usable). Labels and card values
are plain text from the core; they are escaped here wherever Slack parses mrkdwn.

Limits (Slack's Block Kit reference; the same numbers as slack_sdk's validators): 50 blocks
in a message, 100 in a Home tab; a section's text 3,000 characters, its fields at most 10
of 2,000 each; a header 150; a context at most 10 elements; an actions block at most 25
elements; button text 75, button value 2,000; a select at most 100 options, option text 75
and value 150, placeholder 150. The top-level `text` is cut by Slack past 40,000. Besides,
Slack refuses a message whose blocks hold too much text altogether (`msg_blocks_too_long`,
undocumented: reports put it near 12,000 characters), so one message carries at most
`MESSAGE_TEXT` and a longer one is sent as several (see `bot.base.fitting` and
docs/architecture.md, "Platform limits").
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from bot.adapters.slack.mrkdwn import escape, from_markup
from bot.base import fitting
from bot.base.fitting import Run, runs_from_markup, shorten
from bot.base.messages import Choice, Message, TicketCard

log = logging.getLogger(__name__)

Block = dict[str, Any]
Part = tuple[str, list[Block]]  # (fallback text, blocks) of one chat.postMessage

ACTION_PREFIX = "deskbot:"  # every action_id we create; the app routes on it
MAX_BUTTONS = 5
MAX_BLOCKS = 50  # in a message (a Home tab holds 100)
SECTION_TEXT_LIMIT = 3000  # Slack's limit for a section's text
FIELD_LIMIT = 2000
FIELDS_PER_SECTION = 10
HEADER_LIMIT = 150
LABEL_LIMIT = 75  # button and option text
BUTTON_VALUE_LIMIT = 2000
OPTION_VALUE_LIMIT = 150
OPTIONS_LIMIT = 100
FALLBACK_LIMIT = 3000  # the top-level text (Slack cuts at 40,000; notifications show less)
# All text in one message's blocks: Slack's own ceiling is undocumented (about 12,000).
MESSAGE_TEXT = 10_000
PART_TEXT = 9_000  # the text of one part, before marks, links and the card are added
SECTION_TEXT = 2_900  # the same for one section
# A card, the progress line and the choices each get a share, so text always has room.
TITLE_LIMIT = 300
FIELD_LABEL_LIMIT = 40
FIELD_VALUE_LIMIT = 200
MAX_FIELDS = 20
CARD_FIELDS_TEXT = 3_000
PROGRESS_LIMIT = 300
CHOICES_TEXT = 2_500


def _weight(char: str) -> int:
    """A character's length once escaped for mrkdwn (`&amp;`, `&lt;`, `&gt;`)."""
    return 5 if char == "&" else 4 if char in "<>" else 1


def text_size(blocks: Sequence[Block]) -> int:
    """All the text in `blocks`, as Slack adds it up."""
    total = 0

    def walk(node: Any) -> None:
        nonlocal total
        if isinstance(node, dict):
            if node.get("type") in ("plain_text", "mrkdwn") and isinstance(node.get("text"), str):
                total += len(node["text"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(list(blocks))
    return total


def section(mrkdwn: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": mrkdwn}}


def context(plain: str) -> Block:
    text = escape(shorten(plain, PROGRESS_LIMIT))
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text}]}


def plain_text(text: str, limit: int = LABEL_LIMIT) -> dict[str, Any]:
    return {"type": "plain_text", "text": shorten(text, limit) or fitting.ELLIPSIS, "emoji": True}


def header(text: str) -> Block:
    return {"type": "header", "text": plain_text(text, HEADER_LIMIT)}


def button(choice: Choice, action_id: str) -> Block:
    element: Block = {
        "type": "button",
        "action_id": action_id,
        "text": plain_text(choice.label),
        "value": choice.value,
    }
    if choice.style != "default":
        element["style"] = choice.style
    return element


def _usable(choices: Sequence[Choice], value_limit: int) -> list[Choice]:
    """Values are short codes (`bot.base.buttons`); one Slack cannot carry is left out, loudly."""
    usable = []
    for c in choices:
        if 0 < len(c.value) <= value_limit:
            usable.append(c)
        else:
            log.error("slack: choice %r dropped: value of %d characters", c.label, len(c.value))
    return usable


def choice_blocks(choices: tuple[Choice, ...], placeholder: str, more: str) -> list[Block]:
    """Buttons for a few choices, one static select for more; `more` (with `{n}`) says how
    many did not fit in the select."""
    if len(choices) <= MAX_BUTTONS:
        usable = _usable(choices, BUTTON_VALUE_LIMIT)
        elements = [button(c, f"{ACTION_PREFIX}{i}") for i, c in enumerate(usable)]
        return [{"type": "actions", "elements": elements}] if elements else []
    options: list[Block] = []
    used = len(placeholder)
    usable = _usable(choices, OPTION_VALUE_LIMIT)
    for c in usable[:OPTIONS_LIMIT]:
        label = plain_text(c.label)
        used += len(label["text"])
        option: Block = {"text": label, "value": c.value}
        if used > CHOICES_TEXT:
            break
        options.append(option)
    if not options:
        return []
    blocks: list[Block] = [
        {
            "type": "actions",
            "elements": [
                {
                    "type": "static_select",
                    "action_id": f"{ACTION_PREFIX}select",
                    "placeholder": plain_text(placeholder, HEADER_LIMIT),
                    "options": options,
                }
            ],
        }
    ]
    hidden = len(choices) - len(options)
    if hidden:
        blocks.append(context(more.format(n=hidden)))
    return blocks


def card_blocks(card: TicketCard) -> list[Block]:
    """A ticket as a section with its number and title, and its fields two columns wide."""
    number = f"*{escape(shorten(card.number, 40))}*"
    if card.url and card.url.lower().startswith(("http://", "https://")) and len(card.url) < 1000:
        number = f"<{escape(card.url).replace('|', '%7C')}|{escape(card.number[:40])}>"
    head = section(f"{number} {escape(shorten(card.title, TITLE_LIMIT))}")
    fields: list[Block] = []
    used = 0
    for f in card.fields[:MAX_FIELDS]:
        label = escape(shorten(f.label, FIELD_LABEL_LIMIT))
        text = f"*{label}*\n{escape(shorten(f.value, FIELD_VALUE_LIMIT)) or '-'}"
        used += len(text)
        if used > CARD_FIELDS_TEXT:
            break
        fields.append({"type": "mrkdwn", "text": text})
    blocks = [head]
    if fields:
        head["fields"] = fields[:FIELDS_PER_SECTION]
        for start in range(FIELDS_PER_SECTION, len(fields), FIELDS_PER_SECTION):
            blocks.append({"type": "section", "fields": fields[start : start + FIELDS_PER_SECTION]})
    return blocks


def _sections(runs: list[Run], budget: int = SECTION_TEXT) -> list[str]:
    """Text as mrkdwn sections of at most 3,000 characters each. The cut is made on the
    text (never inside `&amp;`, a link or a mark); a piece whose marks and links still make
    it too long is cut again smaller."""
    out: list[str] = []
    for piece in fitting.split(runs, budget, _weight):
        mrkdwn = from_markup(fitting.to_markup(piece)).strip()
        if len(mrkdwn) <= SECTION_TEXT_LIMIT:
            if mrkdwn:
                out.append(mrkdwn)
        elif budget > 200:
            out += _sections(piece, budget // 2)
        else:  # a link longer than a section: its text, without the link
            out.append(escape("".join(r.text for r in piece)))
    return out


def _fallback(runs: Sequence[Run], message: Message) -> str:
    plain = "".join(r.text for r in runs).strip()
    if not plain and message.card is not None:
        plain = f"{message.card.number} {message.card.title}"
    if not plain and message.progress:
        plain = message.progress
    return escape(shorten(plain, FALLBACK_LIMIT))


def render_parts(
    message: Message,
    *,
    select_placeholder: str,
    pointer: str = fitting.ELLIPSIS,
    more: str = "+{n}",
    most: int = fitting.MAX_PARTS,
) -> list[Part]:
    """The message as at most `most` chat.postMessage payloads, in order; the card, the
    progress line and the buttons go with the last. Text that needs more is cut, and the
    last part ends with `pointer`."""
    tail: list[Block] = []
    if message.card is not None:
        tail += card_blocks(message.card)
    if message.progress:
        tail.append(context(message.progress))
    if message.choices:
        placeholder = message.select_label or select_placeholder
        tail += choice_blocks(message.choices, placeholder, more)
    body = runs_from_markup(message.text)
    cut = [Run(pointer, (("i", ""),))]
    room = MESSAGE_TEXT - text_size(tail)
    budget = PART_TEXT
    while True:
        chunks = fitting.fit(
            body, budget, length=_weight, parts=most, last=min(budget, room - 200), pointer=cut
        )
        sections = [_sections(c) for c in chunks]
        sizes = [sum(len(s) for s in part) for part in sections]
        fits = all(size <= MESSAGE_TEXT for size in sizes) and all(
            len(part) <= MAX_BLOCKS for part in sections
        )
        if sections:
            fits = fits and sizes[-1] <= room and len(sections[-1]) + len(tail) <= MAX_BLOCKS
        if fits or budget <= 1000:
            break
        budget = budget * 3 // 4
    parts: list[Part] = [
        (_fallback(chunk, message), [section(s) for s in secs])
        for chunk, secs in zip(chunks, sections, strict=True)
    ]
    if not parts:
        return [(_fallback([], message), tail)] if tail else []
    text, blocks = parts[-1]
    parts[-1] = (text, blocks + tail)
    return parts


def render(
    message: Message,
    *,
    select_placeholder: str,
    pointer: str = fitting.ELLIPSIS,
    more: str = "+{n}",
) -> Part:
    """The message as one chat.postMessage or chat.update (cut if it must be)."""
    parts = render_parts(
        message, select_placeholder=select_placeholder, pointer=pointer, more=more, most=1
    )
    return parts[0] if parts else ("", [])


def answered(blocks: list[Block], label: str) -> list[Block]:
    """The same message with its buttons replaced by the answer given, so it reads as done."""
    kept = [b for b in blocks if b.get("type") != "actions"]
    return [*kept, context(f"→ {label}")]
