"""The fake Bot API is only useful if it is strict: prove that it refuses what Telegram
refuses (unknown methods and fields, missing or mistyped values, bad HTML)."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.telegram.fake_bot_api import TOKEN, FakeBotAPI
from tests.telegram.spec import Upload, check_call, check_object
from tests.telegram.tg_html import HtmlError, visible_text

KEYBOARD = json.dumps({"inline_keyboard": [[{"text": "Yes", "callback_data": "j:y"}]]})


def test_valid_calls_pass():
    assert (
        check_call("sendMessage", {"chat_id": "1001", "text": "hi", "reply_markup": KEYBOARD}) == []
    )
    assert (
        check_call("sendMessage", {"chat_id": "@channel", "text": "hi", "parse_mode": "HTML"}) == []
    )
    assert (
        check_call("getUpdates", {"offset": "5", "timeout": "10", "allowed_updates": '["message"]'})
        == []
    )
    assert check_call("sendPhoto", {"chat_id": "1", "photo": Upload("a.png", 10)}) == []
    scope = json.dumps({"type": "all_private_chats"})
    commands = json.dumps([{"command": "help", "description": "What I can do"}])
    assert check_call("setMyCommands", {"commands": commands, "scope": scope}) == []


@pytest.mark.parametrize(
    ("method", "params", "problem"),
    [
        ("sendMesage", {}, "no such Bot API method"),
        ("sendMessage", {"chat_id": "1"}, "required parameter 'text' is missing"),
        (
            "sendMessage",
            {"chat_id": "1", "text": "x", "colour": "red"},
            "unknown parameter 'colour'",
        ),
        (
            "sendMessage",
            {"chat_id": "1", "text": "x", "disable_notification": "yes"},
            "expected Boolean",
        ),
        ("getUpdates", {"offset": "soon"}, "expected Integer"),
        (
            "sendMessage",
            {
                "chat_id": "1",
                "text": "x",
                "reply_markup": json.dumps({"inline_keyboard": [[{"label": "Yes"}]]}),
            },
            "has no field 'label'",
        ),
        (
            "setMyCommands",
            {"commands": json.dumps([{"command": "help"}])},
            "BotCommand.description is required",
        ),
        (
            "setMyCommands",
            {"commands": "[]", "scope": json.dumps({"type": "everyone"})},
            "must be",
        ),
        (
            "sendPhoto",
            {"chat_id": "1", "photo": Upload("a", 1), "caption": "c", "spoiler": "true"},
            "unknown parameter",
        ),
    ],
)
def test_wrong_calls_are_caught(method: str, params: dict[str, object], problem: str):
    problems = check_call(method, params)
    assert problems and problem in problems[0], problems


def test_objects_are_checked_too():
    assert check_object("User", {"id": 1, "is_bot": False, "first_name": "A"}) == []
    assert "User.first_name is required" in check_object("User", {"id": 1, "is_bot": False})[0]
    assert check_object("Update", {"update_id": "1"}) != []  # JSON objects are not form values


@pytest.mark.parametrize(
    "bad",
    [
        "a < b",
        "fish & chips",
        "<b>unclosed",
        "<b><i>x</b></i>",
        "<div>x</div>",
        "x > y",
        '<a href="x" title="t">l</a>',
        "<code><b>x</b></code>",
        "&nbsp;",
    ],
)
def test_html_that_telegram_refuses(bad: str):
    with pytest.raises(HtmlError):
        visible_text(bad)


def test_html_that_telegram_accepts():
    assert visible_text(
        '<b>a</b> &lt;&amp;&gt; &#33; <pre><code>x</code></pre> <a href="u">l</a>'
    ) == ("a <&> ! x l")


async def test_server_refuses_and_records_bad_calls():
    fake = await FakeBotAPI().start()
    try:
        async with httpx.AsyncClient(base_url=fake.api_url) as client:
            ok = await client.post(f"/bot{TOKEN}/getMe")
            assert ok.json()["result"]["username"] == "deskbot_test_bot"
            wrong_token = await client.post("/bot1:nope/getMe")
            assert wrong_token.status_code == 401
            bad = await client.post(f"/bot{TOKEN}/sendMessage", data={"chat_id": "1"})
            assert bad.status_code == 400 and "text" in bad.json()["description"]
            html = await client.post(
                f"/bot{TOKEN}/sendMessage",
                data={"chat_id": "1", "text": "<b>x", "parse_mode": "HTML"},
            )
            assert "can't parse entities" in html.json()["description"]
            fake.fail("sendMessage", retry_after=3)
            flood = await client.post(
                f"/bot{TOKEN}/sendMessage", data={"chat_id": "1", "text": "x"}
            )
            assert flood.status_code == 429
            assert flood.json()["parameters"] == {"retry_after": 3}
        assert len(fake.problems) == 2  # the missing text and the bad HTML
        fake.problems.clear()
    finally:
        await fake.close()


def _keyboard(rows: list[int], label: str = "B") -> str:
    return json.dumps(
        {
            "inline_keyboard": [
                [{"text": label, "callback_data": f"b:{r}:{i}"} for i in range(n)]
                for r, n in enumerate(rows)
            ]
        }
    )


async def test_server_refuses_keyboards_toasts_and_captions_over_the_limits():
    fake = await FakeBotAPI().start()
    try:
        async with httpx.AsyncClient(base_url=fake.api_url) as client:

            async def send(**params: str) -> httpx.Response:
                return await client.post(
                    f"/bot{TOKEN}/sendMessage", data={"chat_id": "1", "text": "x", **params}
                )

            # 100 buttons, 8 to a row, is the most Telegram takes.
            ok = await send(reply_markup=_keyboard([8] * 12 + [4]))
            assert ok.status_code == 200
            for refused in (
                _keyboard([8] * 12 + [5]),  # 101 buttons
                _keyboard([9]),  # 9 in a row
                _keyboard([1] * 60, label="L" * 150),  # about 11 kB of JSON
            ):
                answer = await send(reply_markup=refused)
                assert answer.status_code == 400
                assert answer.json()["description"] == "Bad Request: reply markup is too long"

            # A toast is 0-200 characters, counted in UTF-16 units like texts.
            shown = fake.shown[-1]
            for toast, status in (("😀" * 100, 200), ("😀" * 100 + "x", 400)):
                press = fake.press_update(1, shown, "b:0:0")
                query = press["callback_query"]["id"]
                answer = await client.post(
                    f"/bot{TOKEN}/answerCallbackQuery",
                    data={"callback_query_id": query, "text": toast},
                )
                assert answer.status_code == status
            assert fake.unanswered() == {query}

            files = {"photo": ("chart.png", b"\x89PNG fake", "image/png")}
            for caption, status in (("c" * 1024, 200), ("<b>" + "c" * 1025 + "</b>", 400)):
                answer = await client.post(
                    f"/bot{TOKEN}/sendPhoto",
                    data={"chat_id": "1", "caption": caption, "parse_mode": "HTML"},
                    files=files,
                )
                assert answer.status_code == status
        assert len(fake.problems) == 5  # three keyboards, a toast and a caption
        fake.problems.clear()
    finally:
        await fake.close()
