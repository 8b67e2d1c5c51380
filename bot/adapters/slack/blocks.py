"""A neutral Message as Block Kit: mrkdwn sections, a ticket card, a progress line, choices.

Up to five choices are buttons; more become one static select (Slack shows at most a few
buttons comfortably, and a select keeps long option lists usable). Labels and card values
are plain text from the core; they are escaped here wherever Slack parses mrkdwn.
"""

from __future__ import annotations

from typing import Any

from bot.adapters.slack.mrkdwn import escape, from_markup
from bot.base.markup import to_plain
from bot.base.messages import Choice, Message, TicketCard

Block = dict[str, Any]

ACTION_PREFIX = "deskbot:"  # every action_id we create; the app routes on it
MAX_BUTTONS = 5
SECTION_TEXT_LIMIT = 3000  # Slack's limit for a section's text
FIELD_LIMIT = 2000
FIELDS_PER_SECTION = 10
LABEL_LIMIT = 75  # button and option text
OPTIONS_LIMIT = 100
FALLBACK_LIMIT = 3000


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _chunks(text: str, limit: int) -> list[str]:
    """Split long mrkdwn on line breaks so no section exceeds Slack's limit."""
    chunks: list[str] = []
    current = ""
    for line in text.split("\n"):
        while len(line) > limit:
            if current:
                chunks.append(current)
                current = ""
            chunks.append(line[:limit])
            line = line[limit:]
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > limit:
            chunks.append(current)
            current = line
        else:
            current = candidate
    if current.strip():
        chunks.append(current)
    return chunks


def section(mrkdwn: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": mrkdwn}}


def context(plain: str) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": escape(plain)}]}


def plain_text(text: str, limit: int = LABEL_LIMIT) -> dict[str, Any]:
    return {"type": "plain_text", "text": _clip(text, limit), "emoji": True}


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


def choice_block(choices: tuple[Choice, ...], placeholder: str) -> Block:
    """Buttons for a few choices, one static select for more."""
    if len(choices) <= MAX_BUTTONS:
        elements = [button(c, f"{ACTION_PREFIX}{i}") for i, c in enumerate(choices)]
    else:
        elements = [
            {
                "type": "static_select",
                "action_id": f"{ACTION_PREFIX}select",
                "placeholder": plain_text(placeholder, 150),
                "options": [
                    {"text": plain_text(c.label), "value": c.value} for c in choices[:OPTIONS_LIMIT]
                ],
            }
        ]
    return {"type": "actions", "elements": elements}


def card_blocks(card: TicketCard) -> list[Block]:
    """A ticket as a section with its number and title, and its fields two columns wide."""
    number = f"*{escape(card.number)}*"
    if card.url and card.url.lower().startswith(("http://", "https://")):
        number = f"<{escape(card.url).replace('|', '%7C')}|{escape(card.number)}>"
    head = section(_clip(f"{number} {escape(card.title)}", SECTION_TEXT_LIMIT))
    fields = [
        {"type": "mrkdwn", "text": _clip(f"*{escape(f.label)}*\n{escape(f.value)}", FIELD_LIMIT)}
        for f in card.fields
    ]
    blocks = [head]
    if fields:
        head["fields"] = fields[:FIELDS_PER_SECTION]
        for start in range(FIELDS_PER_SECTION, len(fields), FIELDS_PER_SECTION):
            blocks.append({"type": "section", "fields": fields[start : start + FIELDS_PER_SECTION]})
    return blocks


def render(message: Message, *, select_placeholder: str) -> tuple[str, list[Block]]:
    """Return (fallback text for notifications, blocks) for chat.postMessage/chat.update."""
    blocks: list[Block] = []
    body = from_markup(message.text).strip()
    blocks += [section(chunk) for chunk in _chunks(body, SECTION_TEXT_LIMIT)]
    if message.card is not None:
        blocks += card_blocks(message.card)
    if message.progress:
        blocks.append(context(message.progress))
    if message.choices:
        blocks.append(choice_block(message.choices, message.select_label or select_placeholder))
    fallback = to_plain(message.text).strip()
    if not fallback and message.card is not None:
        fallback = f"{message.card.number} {message.card.title}"
    if not fallback and message.progress:
        fallback = message.progress
    return _clip(escape(fallback), FALLBACK_LIMIT), blocks


def answered(blocks: list[Block], label: str) -> list[Block]:
    """The same message with its buttons replaced by the answer given, so it reads as done."""
    kept = [b for b in blocks if b.get("type") != "actions"]
    return [*kept, context(f"→ {label}")]
