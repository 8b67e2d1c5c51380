"""From free text to action: confident -> start the service; close call -> offer buttons;
no idea -> say so and offer to rephrase, talk to a person or open a general ticket."""

from __future__ import annotations

from bot import conversation
from bot.engine import Turn
from bot.messages import Choice, Message
from intents.matcher import MatchResult


def understand(turn: Turn, text: str) -> None:
    """Route a free-text message when no journey is active."""
    if turn.data.get("awaiting") == "handoff_text":
        turn.data.pop("awaiting", None)
        conversation.handoff_without_journey(turn, text)
        return
    from bot import knowledge  # journeys helper: a "how do I..." an article answers well

    if knowledge.answer_question(turn, text):
        return
    result = turn.desk.matcher.match(text)
    top = result.top
    if result.tier == "high" and top is not None:
        turn.data.pop("pending_text", None)
        act_on(turn, top.intent, understood=True)
    elif result.tier == "medium":
        turn.data["pending_text"] = text
        offer_candidates(turn, result)
    else:
        turn.data["pending_text"] = text
        not_understood(turn)


def act_on(turn: Turn, intent_id: str, *, understood: bool) -> None:
    intent = turn.desk.intents.get(intent_id)
    if intent is not None and intent.kind == "builtin":
        BUILTIN_HANDLERS[intent_id](turn)
    else:
        conversation.start_service(turn, intent_id, understood=understood)


def _label(turn: Turn, intent_id: str) -> str:
    intent = turn.desk.intents.get(intent_id)
    if intent is None:
        return intent_id
    return intent.titles.get(turn.language) or intent.titles.get("en") or intent_id


def offer_candidates(turn: Turn, result: MatchResult) -> None:
    limit = turn.desk.settings.matcher.max_choices
    choices = [Choice(_label(turn, c.intent), f"s:{c.intent}") for c in result.candidates[:limit]]
    choices.append(Choice(turn.plain("button.none_of_these"), "m:none"))
    turn.reply(Message(text=turn.t("understand.which"), choices=tuple(choices)))


def not_understood(turn: Turn) -> None:
    turn.reply(
        Message(
            text=turn.t("understand.unsure"),
            choices=(
                Choice(turn.plain("button.rephrase"), "m:rephrase"),
                Choice(turn.plain("button.human"), "m:human"),
                Choice(turn.plain("button.general_ticket"), "m:general"),
            ),
        )
    )


def on_service_button(turn: Turn, service_id: str) -> None:
    """`s:<intent>`: the person picked one of the offered services."""
    turn.data.pop("pending_text", None)
    if turn.desk.intents.get(service_id) is None:
        turn.say("errors.unknown_service")
        return
    act_on(turn, service_id, understood=False)


def on_menu_button(turn: Turn, choice: str) -> None:
    """`m:<choice>`: rephrase, human, general ticket, or none of the offered services."""
    pending = turn.data.pop("pending_text", None)
    if choice in ("rephrase", "none"):
        turn.say("understand.rephrase")
    elif choice in ("human", "general"):
        if pending:
            conversation.handoff_without_journey(turn, pending)
        else:
            turn.data["awaiting"] = "handoff_text"
            turn.say("understand.ask_for_text")
    else:
        turn.say("errors.unknown_button")


# ---- built-in intents ---------------------------------------------------------------------


def _greet(turn: Turn) -> None:
    turn.say("builtin.greet", name=turn.person.first_name)


def _help(turn: Turn) -> None:
    turn.say("builtin.help")


def _thanks(turn: Turn) -> None:
    turn.say("builtin.thanks")


def _cancel(turn: Turn) -> None:
    turn.data.pop("awaiting", None)
    turn.say("builtin.nothing_to_cancel")


def _status(turn: Turn) -> None:
    from bot.verbs.requester import my_tickets

    my_tickets(turn, "")


def _human(turn: Turn) -> None:
    pending = turn.data.pop("pending_text", None)
    if pending:
        conversation.handoff_without_journey(turn, pending)
    else:
        turn.data["awaiting"] = "handoff_text"
        turn.say("understand.ask_for_text")


BUILTIN_HANDLERS = {
    "greet": _greet,
    "help": _help,
    "thanks": _thanks,
    "cancel": _cancel,
    "ticket_status": _status,
    "human_handoff": _human,
}
