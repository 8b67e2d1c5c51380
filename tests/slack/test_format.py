"""Pure translation rules: markup to mrkdwn, Slack markup to plain text, Block Kit shapes."""

from __future__ import annotations

from bot.adapters.slack import inbound
from bot.adapters.slack.blocks import answered, render, render_parts
from bot.adapters.slack.mrkdwn import escape, from_markup, to_plain
from bot.base.messages import CardField, Choice, Message, TicketCard
from tests.slack.conftest import payload
from tests.slack.fake_slack import block_problems


def test_markup_becomes_mrkdwn_with_every_text_run_escaped():
    markup = "<b>IT-1</b> for &lt;!channel&gt; &amp; <i>you</i>\n<code>/status</code>"
    assert from_markup(markup) == "*IT-1* for &lt;!channel&gt; &amp; _you_\n`/status`"


def test_marks_hug_the_words_so_slack_formats_them():
    assert from_markup("<b> Next: </b>now") == " *Next:* now"
    assert from_markup("<b></b>x") == "x"


def test_links_are_kept_only_for_safe_schemes_and_cannot_be_forged():
    assert from_markup('<a href="https://kb.example/vpn?a=1&amp;b=2">VPN guide</a>') == (
        "<https://kb.example/vpn?a=1&amp;b=2|VPN guide>"
    )
    assert from_markup('<a href="javascript:alert(1)">click</a>') == "click"
    # A label trying to close the link and open another stays text.
    assert from_markup('<a href="https://a.example">x&gt;|&lt;https://evil</a>') == (
        "<https://a.example|x&gt;|&lt;https://evil>"
    )
    assert from_markup('<a href="https://a.example/p|q>r">t</a>') == (
        "<https://a.example/p%7Cq&gt;r|t>"
    )


def test_escape_only_touches_the_three_control_characters():
    assert escape("a & b < c > d \"e\" 'f'") == "a &amp; b &lt; c &gt; d \"e\" 'f'"


def test_slack_markup_in_becomes_what_the_person_typed():
    names = {"U0DANA": "Dana Whitfield"}.get
    text = (
        "<@U0DANA> &amp; <@U9|sam> in <#C1|it-help> <!here> <!subteam^S1|@it-team> "
        "<https://x.example> <mailto:a@b.example|a@b.example> &lt;b&gt; &amp;lt;"
    )
    assert to_plain(text, names) == (
        "@Dana Whitfield & @sam in #it-help @here @it-team https://x.example a@b.example <b> &lt;"
    )
    assert to_plain("plain words") == "plain words"


def test_plain_text_round_trip_never_double_escapes():
    slack_text = "R&amp;D &lt;3 <!channel>"
    assert escape(to_plain(slack_text)) == "R&amp;D &lt;3 @channel"


def test_few_choices_are_buttons_many_are_one_select():
    few = Message(
        text="Pick",
        choices=(Choice("Yes", "j:q:y", "primary"), Choice("No", "j:q:n", "danger")),
    )
    _, blocks = render(few, select_placeholder="Choose…")
    [actions] = [b for b in blocks if b["type"] == "actions"]
    assert [e["type"] for e in actions["elements"]] == ["button", "button"]
    assert [e.get("style") for e in actions["elements"]] == ["primary", "danger"]

    many = Message(text="Pick", choices=tuple(Choice(f"Option {i}", f"s:{i}") for i in range(7)))
    _, blocks = render(many, select_placeholder="Choose…")
    [select] = next(b for b in blocks if b["type"] == "actions")["elements"]
    assert select["type"] == "static_select" and len(select["options"]) == 7
    assert select["placeholder"]["text"] == "Choose…"
    assert block_problems(blocks) == []


def test_ticket_card_is_a_section_with_fields_and_a_progress_line():
    card = TicketCard(
        "IT-1042",
        "VPN <drops> & reconnects",
        "New",
        fields=tuple(CardField(f"F{i}", f"<v{i}>") for i in range(12)),
    )
    text, blocks = render(
        Message(text="", card=card, progress="Step 2 of 3"), select_placeholder="x"
    )
    assert blocks[0]["text"]["text"] == "*IT-1042* VPN &lt;drops&gt; &amp; reconnects"
    assert len(blocks[0]["fields"]) == 10 and len(blocks[1]["fields"]) == 2
    assert blocks[0]["fields"][0]["text"] == "*F0*\n&lt;v0&gt;"
    assert blocks[-1] == {
        "type": "context",
        "elements": [{"type": "mrkdwn", "text": "Step 2 of 3"}],
    }
    assert text == "IT-1042 VPN &lt;drops&gt; &amp; reconnects"
    assert block_problems(blocks) == []


def test_long_text_is_split_into_sections_slack_accepts():
    long = "\n".join(f"line {i} " + "x" * 90 for i in range(100))
    parts = render_parts(Message(text=long), select_placeholder="x")
    blocks = [b for _text, part in parts for b in part]
    assert len(parts) == 2 and len(blocks) > 2
    assert all(block_problems(part) == [] for _text, part in parts)
    assert "\n".join(b["text"]["text"] for b in blocks) == long


def test_answered_question_loses_its_buttons():
    _, blocks = render(
        Message(text="Which?", choices=(Choice("A", "j:a"),)), select_placeholder="x"
    )
    after = answered(blocks, "A <b>")
    assert [b["type"] for b in after] == ["section", "context"]
    assert after[-1]["elements"][0]["text"] == "→ A &lt;b&gt;"


def no_names(_user: str) -> str | None:
    return None


def test_which_messages_count():
    names = no_names
    dm = payload("event_dm")
    assert inbound.from_message(dm, "UBOT", names) == inbound.Incoming(
        "U0ALICE", "D0ALICE", "Ev0DM0001", text="I forgot my password"
    )
    for name in ("event_message_changed", "event_bot_message"):
        assert inbound.from_message(payload(name), "UBOT", names) is None
    reply = payload("event_thread_reply")
    found = inbound.from_message(reply, "UBOT", names)
    assert found is not None and found.thread_only
    assert found.conversation == "C0GENERAL:1795000100.000200"
    reply["event"]["text"] = "<@UBOT> Email"  # app_mention delivers this one
    assert inbound.from_message(reply, "UBOT", names) is None
    del reply["event"]["thread_ts"]
    reply["event"]["text"] = "Email"
    assert inbound.from_message(reply, "UBOT", names) is None  # plain channel chatter


def test_mention_in_a_thread_keeps_the_thread():
    body = payload("event_mention")
    body["event"]["thread_ts"] = "1795000000.000001"
    found = inbound.from_mention(body, "UBOT", no_names)
    assert found is not None
    assert found.conversation == "C0GENERAL:1795000000.000001"
    assert found.text == "I forgot my password"


def test_where_a_button_was_pressed():
    dm = payload("action_button")
    assert inbound.action_conversation(dm) == "D0ALICE"
    dm["container"].update(channel_id="C0TRIAGE", message_ts="1.2")
    dm["channel"] = {"id": "C0TRIAGE", "name": "it-triage"}
    assert inbound.action_conversation(dm) == "C0TRIAGE:1.2"
    dm["container"]["thread_ts"] = "1.0"
    assert inbound.action_conversation(dm) == "C0TRIAGE:1.0"
    assert inbound.action_conversation(payload("action_home")) is None
    assert inbound.pressed({"action_id": "someone_else", "value": "x"}) is None
