"""Markup to Telegram HTML, cards, splitting and keyboards (pure functions, no network)."""

from __future__ import annotations

import pytest

from bot.adapters.telegram.handlers import _toast
from bot.adapters.telegram.render import (
    Run,
    button_rows,
    compose,
    render,
    runs_from_markup,
    split,
    to_html,
    utf16_len,
)
from bot.base.markup import escape
from bot.base.messages import Address, CardField, Choice, Message, Outbound, TicketCard
from tests.telegram.tg_html import visible_text


def html(markup: str) -> str:
    return to_html(runs_from_markup(markup))


@pytest.mark.parametrize(
    ("markup", "expected"),
    [
        ("plain", "plain"),
        ("<b>bold</b> and <i>it</i>", "<b>bold</b> and <i>it</i>"),
        ("a &lt;b&gt; &amp; c &quot;q&quot;", 'a &lt;b&gt; &amp; c "q"'),
        ("<b>x<i>y</b>z</i>", "<b>x<i>y</i></b><i>z</i>"),  # overlapping: re-nested
        ("<b>open", "<b>open</b>"),  # unclosed: closed
        ("stray</b> close", "stray close"),
        ("<code><b>x</b> &amp;</code>", "<code>x &amp;</code>"),  # nothing nests in code
        (
            '<a href="https://e.com/?a=1&amp;b=&quot;">l</a>',
            '<a href="https://e.com/?a=1&amp;b=&quot;">l</a>',
        ),
        ('<a href="javascript:alert(1)">click</a>', "click"),  # unsafe link: text only
        ('<a href="https://a"><a href="https://b">x</a></a>', '<a href="https://a">x</a>'),
        ("<script>bad()</script>ok", "bad()ok"),  # unknown tags dropped, text kept
        ("line<br>break", "line\nbreak"),
    ],
)
def test_markup_to_telegram_html(markup: str, expected: str):
    assert html(markup) == expected
    visible_text(expected)  # and Telegram would accept it


def test_user_text_escaped_once_stays_literal():
    typed = "<b>not bold</b> & <!channel>"
    out = html(f"<i>{escape(typed)}</i>")
    assert visible_text(out) == typed


def test_card_and_progress_are_composed_as_plain_text():
    card = TicketCard(
        number="IT-1000",
        title="Printer <jammed>",
        status="New",
        fields=(CardField("Status", "New & shiny"),),
        url="https://desk.example.com/t/IT-1000",
    )
    [out] = render(Message(text="Done.", card=card, progress="Step 2 of 3"), empty="?")
    assert out == (
        'Done.\n\n<a href="https://desk.example.com/t/IT-1000"><b>IT-1000</b></a> '
        "Printer &lt;jammed&gt;\n<i>Status:</i> New &amp; shiny\n\n<i>Step 2 of 3</i>"
    )


def test_empty_text_uses_the_placeholder_only_with_buttons():
    assert render(Message(choices=(Choice("A", "a"),)), empty="Choose:") == ["Choose:"]
    assert render(Message(text="  "), empty="Choose:") == []


def test_split_keeps_every_chunk_within_the_limit_and_balanced():
    words = " ".join(f"w{i}" for i in range(400))
    runs = runs_from_markup(f"<b>{words}</b>\n<i>tail</i>")
    chunks = split(runs, limit=100)
    assert len(chunks) > 10
    shown = []
    for chunk in chunks:
        out = to_html(chunk)
        text = visible_text(out)  # balanced HTML
        assert utf16_len(text) <= 100
        shown.append(text)
    assert " ".join(shown).split() == (words + " tail").split()


def test_split_prefers_line_breaks_and_counts_utf16():
    runs = [Run("a" * 60 + "\n" + "b" * 60)]
    assert [r[0].text for r in split(runs, limit=100)] == ["a" * 60, "b" * 60]
    emoji = [Run("😀" * 60)]  # each counts twice in UTF-16
    chunks = split(emoji, limit=100)
    assert [len(c[0].text) for c in chunks] == [50, 10]


def test_split_drops_blank_chunks():
    assert split([Run("x" * 10 + "\n" * 30 + "y")], limit=10) == [[Run("x" * 10)], [Run("y")]]


def test_button_rows():
    yes_no = (Choice("Yes", "y"), Choice("No", "n"))
    assert button_rows(yes_no) == [list(yes_no)]
    four = tuple(Choice(f"Opt {i}", f"o{i}") for i in range(4))
    assert button_rows(four) == [list(four[:2]), list(four[2:])]
    long = (Choice("Windows / network login", "w"), Choice("VPN", "v"))
    assert button_rows(long) == [[long[0]], [long[1]]]
    assert button_rows((Choice("Too long", "x" * 65), Choice("中文按钮", "数" * 21))) == [
        [Choice("中文按钮", "数" * 21)]  # 63 bytes fits, 65 does not
    ]
    assert button_rows(()) == []


def test_compose_keeps_runs_for_text_card_progress():
    runs = compose(Message(text="<b>Hi</b>"), empty="?")
    assert runs == [Run("Hi", (("b", ""),))]


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8081", "http://127.0.0.1:8081/", "http://127.0.0.1:8081/bot"]
)
def test_api_url_is_the_server_root(url: str):
    from bot.adapters.telegram.channel import api_base

    assert api_base(url) == ("http://127.0.0.1:8081/bot", "http://127.0.0.1:8081/file/bot")
    assert api_base(None) is None


def test_a_toast_is_at_most_200_utf16_units():
    """answerCallbackQuery takes 0-200 characters, counted like texts: an emoji is two."""

    def reply(text: str) -> list[Outbound]:
        return [Outbound(Address("telegram", "-100500"), Message(text=text))]

    assert _toast(reply("😀" * 100)) == "😀" * 100
    assert _toast(reply("😀" * 101)) is None  # 202 units: sent as a message instead
