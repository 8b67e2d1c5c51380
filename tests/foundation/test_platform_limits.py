"""Property test: whatever a person typed, every message we build stays inside the platforms'
limits. Random Messages (markup with escaped user text of any length, CJK and emoji, cards,
progress lines, up to 300 choices) are rendered for Slack and Telegram, and every payload
is checked with the same rules the fakes enforce (tests/slack/fake_slack.py,
tests/telegram/fake_bot_api.py and tg_html.py)."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.adapters.slack.blocks import render, render_parts
from bot.adapters.telegram import render as tg
from bot.base import buttons
from bot.base.fitting import MAX_PARTS
from bot.base.markup import escape
from bot.base.messages import CardField, Choice, Message, TicketCard
from tests.slack.fake_slack import BLOCKS_TEXT_LIMIT, TEXT_LIMIT, block_problems, blocks_text
from tests.telegram.fake_bot_api import MARKUP_BYTES, MAX_BUTTONS, PER_ROW
from tests.telegram.tg_html import utf16_len, visible_text

# What people type: ASCII, the characters markup and mrkdwn treat specially, Chinese, emoji
# outside the BMP (two UTF-16 units each), a ZWJ sequence, combining marks, line breaks.
PIECES = st.sampled_from(
    [
        *"abcdefghij XYZ 0189",
        *"&<>\"'*_~`|#@!",
        *"服务台网络密码",
        "\U0001f600",  # an emoji: two UTF-16 units
        "\U0001f469\u200d\U0001f4bb",  # a ZWJ sequence
        "e\u0301",  # a combining accent
        "\n",
        "\n\n",
        "  ",
    ]
)
POINTER = "…(cut; see /show IT-1042 for the rest)"
MORE = "…and {n} more options that don't fit here."


@st.composite
def typed(draw: st.DrawFn, longest: int = 20_000) -> str:
    """A piece of typed text: a short random pattern repeated up to `longest` characters."""
    pattern = "".join(draw(st.lists(PIECES, min_size=1, max_size=30)))
    length = draw(st.one_of(st.integers(0, 120), st.integers(0, longest)))
    return (pattern * (length // len(pattern) + 1))[:length]


@st.composite
def markup(draw: st.DrawFn) -> str:
    """Template markup around escaped user text, as `Texts.render` produces it."""
    pieces = []
    for _ in range(draw(st.integers(0, 6))):
        text = escape(draw(typed()))
        tag = draw(st.sampled_from(["", "b", "i", "u", "s", "code", "pre", "a"]))
        if tag == "a":
            href = escape("https://desk.example.com/t?q=" + draw(st.text("ab&<", max_size=20)))
            pieces.append(f'<a href="{href}">{text}</a>')
        elif tag:
            pieces.append(f"<{tag}>{text}</{tag}>")
        else:
            pieces.append(text)
        pieces.append(draw(st.sampled_from(["", " ", "\n", "<br>"])))
    return "".join(pieces)


def short_code(draw: st.DrawFn) -> str:
    """A button value as the core makes them: a kind and ids, never user text."""
    kind = draw(st.sampled_from([buttons.JOURNEY, buttons.TICKET, buttons.SERVICE, buttons.MENU]))
    number = f"IT-{draw(st.integers(1000, 99_999_999))}"
    return buttons.button(kind, draw(st.sampled_from(["claim", "assign", "a"])), number)


@st.composite
def messages(draw: st.DrawFn) -> Message:
    choices = tuple(
        Choice(
            draw(typed(longest=300)) or "x",
            short_code(draw),
            draw(st.sampled_from(["default", "primary", "danger"])),
        )
        for _ in range(draw(st.one_of(st.integers(0, 6), st.integers(0, 300))))
    )
    card = None
    if draw(st.booleans()):
        card = TicketCard(
            number=f"IT-{draw(st.integers(1000, 99999))}",
            title=draw(typed(longest=5_000)),
            status=draw(typed(longest=40)),
            fields=tuple(
                CardField(draw(typed(longest=100)), draw(typed(longest=3_000)))
                for _ in range(draw(st.integers(0, 30)))
            ),
            url=draw(st.sampled_from([None, "https://desk.example.com/t/IT-1"])),
        )
    return Message(
        text=draw(markup()),
        choices=choices,
        progress=draw(st.one_of(st.none(), typed(longest=500))),
        card=card,
        select_label=draw(st.one_of(st.none(), typed(longest=300))),
        more=draw(st.sampled_from([None, "/show IT-1042"])),
    )


LIMITS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@LIMITS
@given(messages())
def test_slack_payloads_stay_inside_every_limit(message: Message):
    parts = render_parts(message, select_placeholder="Choose…", pointer=POINTER, more=MORE)
    single = render(message, select_placeholder="Choose…", pointer=POINTER, more=MORE)
    assert len(parts) <= MAX_PARTS + 1  # the text in up to three, a large card may follow
    for text, blocks in [*parts, single] if parts else []:
        assert block_problems(blocks) == []
        assert blocks_text(blocks) <= BLOCKS_TEXT_LIMIT
        assert len(text) <= TEXT_LIMIT
        for block in blocks:
            for element in block.get("elements", []):
                assert len(element.get("value", "")) <= 2000
                assert all(len(o["value"]) <= 150 for o in element.get("options", []))


@LIMITS
@given(messages())
def test_telegram_payloads_stay_inside_every_limit(message: Message):
    parts = tg.parts(message, empty="Choose:", pointer=POINTER)
    [edited] = tg.parts(message, empty="Choose:", pointer=POINTER, most=1) or [[tg.Run("x")]]
    assert len(parts) <= MAX_PARTS
    for runs in [*parts, edited]:
        shown = visible_text(tg.to_html(runs))  # Telegram would parse it: well-formed HTML
        assert shown.strip() and utf16_len(shown) <= tg.TEXT_LIMIT
    rows = tg.button_rows(message.choices)
    keyboard = [
        [{"text": c.label, "callback_data": c.value, "style": c.style} for c in row] for row in rows
    ]
    assert sum(len(row) for row in rows) <= MAX_BUTTONS
    assert all(len(row) <= PER_ROW for row in rows)
    size = json.dumps({"inline_keyboard": keyboard}, ensure_ascii=False, separators=(",", ":"))
    assert len(size.encode()) <= MARKUP_BYTES
    assert all(1 <= len(c.value.encode()) <= 64 for row in rows for c in row)
    # Values hold ids, never user text: all the core makes fit Telegram's 64 bytes.
    assert all(tg.fits_callback(c.value) for c in message.choices)
    # Text alone: what is shown is the text, in order, up to where a pointer says it was cut.
    text_only = tg.parts(Message(text=message.text), empty="-", pointer=POINTER)
    shown = "".join("".join(r.text for r in runs) for runs in text_only)
    whole = "".join("".join(r.text for r in tg.runs_from_markup(message.text)).split())
    if shown.endswith(POINTER):
        assert whole.startswith("".join(shown.removesuffix(POINTER).split()))
    else:
        assert "".join(shown.split()) == whole
