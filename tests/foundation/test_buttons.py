"""Button values and awaited replies are written and read by one codec (bot/base/buttons.py),
and the engine's router table has a handler for every kind it writes."""

from __future__ import annotations

from bot.base import buttons
from bot.chat.engine import Engine
from bot.desk import Desk


def test_a_button_value_reads_back_as_its_kind_and_the_rest():
    value = buttons.button(buttons.APPROVAL, 12, "y")
    assert value == "ap:12:y"
    pressed = buttons.read_button(value)
    assert (pressed.kind, pressed.rest) == ("ap", "12:y")
    assert buttons.read_button("garbage") == buttons.Pressed("garbage", "")


def test_only_answers_to_a_question_count_as_answers():
    answering = {
        k
        for k in (buttons.JOURNEY, buttons.SERVICE, buttons.MENU, buttons.TICKET, buttons.SURVEY)
        if buttons.read_button(buttons.button(k, "x")).answers_question
    }
    assert answering == {buttons.JOURNEY, buttons.SERVICE, buttons.MENU}


def test_awaited_replies_round_trip_with_and_without_an_argument():
    assert buttons.awaiting(buttons.ADD_INFO, "IT-1042") == "add_info:IT-1042"
    assert buttons.read_awaiting("add_info:IT-1042") == ("add_info", "IT-1042")
    assert buttons.awaiting(buttons.HANDOFF_TEXT) == "handoff_text"
    assert buttons.read_awaiting("handoff_text") == ("handoff_text", "")
    assert buttons.read_awaiting("") == ("", "")


def test_the_engine_routes_every_kind_of_button_and_awaited_reply(desk: Desk):
    engine = Engine(desk)
    kinds = {
        buttons.JOURNEY,
        buttons.SERVICE,
        buttons.MENU,
        buttons.APPROVAL,
        buttons.ARTICLE,
        buttons.SURVEY,
        buttons.INCIDENT,
        buttons.PROBLEM,
        buttons.TICKET,
    }
    assert set(engine.actions) == kinds
    assert {buttons.REJECT_REASON, buttons.SURVEY_COMMENT, buttons.ADD_INFO} <= set(engine.replies)
    # An approver's reason does not lapse; a survey comment or ticket information does.
    assert not engine.replies[buttons.REJECT_REASON].lapses
    assert engine.replies[buttons.ADD_INFO].lapses
