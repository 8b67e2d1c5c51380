"""From free text to action: confident -> start the service; close call -> offer buttons;
no idea -> say so and offer to rephrase, talk to a person or open a general ticket."""

from __future__ import annotations

import re

from bot import followup, incidents, matching
from bot.base.buttons import HANDOFF_TEXT, MENU, SERVICE, awaiting, button
from bot.base.language import detect
from bot.base.messages import Choice, Message
from bot.base.texts import trusted
from bot.chat import conversation, knowledge
from bot.chat.verbs.requester import fixed_verb, my_tickets, not_fixed_verb
from bot.turn import Turn
from intents.matcher import MatchResult
from journeys.answers import yes_no, yes_no_or_label
from store import tickets as repo
from store.intent_feedback import record_feedback


def understand(turn: Turn, text: str) -> None:
    """Route a free-text message when no journey is active."""
    if turn.data.get("awaiting") == awaiting(HANDOFF_TEXT):
        turn.data.pop("awaiting", None)
        earlier = str(turn.data.pop("handoff_draft", "") or "")
        conversation.handoff_without_journey(turn, text, earlier=earlier)
        return
    if _answers_is_it_fixed(turn, text):
        return
    if incidents.absorb_text(turn, text):
        return  # reads like a declared major incident: told and linked
    if knowledge.answer_question(turn, text):
        return
    if yes_no(turn.desk.texts, turn.language, text) is not None:
        # A lone "yes"/"ok"/"no" with nothing asked (a late answer, a nod): not a request.
        turn.say("builtin.ack")
        return
    result = turn.desk.matcher.match(text)
    if turn.person.language == "zh" and _read_as_pinyin(result):
        # Pinyin is Chinese typed on a Latin keyboard: answered in Chinese, not English.
        turn.language = "zh"
    matching.record(turn, result)  # insight: how the matcher fared (docs/insight.md)
    top = result.top
    if result.asked_for_person:
        _asked_for_person(turn, text, result)
    elif result.referral is not None and result.referral in turn.desk.intents.referrals:
        turn.data["pending_text"] = text
        turn.data.pop("offered", None)
        _record(turn, "out_of_scope", text, candidates=_offered(turn, result))
        refer(turn, result.referral)
    elif result.tier == "high" and top is not None:
        turn.data.pop("pending_text", None)
        if result.second is not None and turn.desk.catalog.get(result.second) is not None:
            turn.say(
                "intents.two_requests",
                first=_label(turn, top.intent),
                second=_label(turn, result.second),
            )
            followup.keep(turn, result.second)
        act_on(turn, top.intent, understood=True, request=as_understood(text, result))
    elif result.tier == "medium":
        turn.data["pending_text"] = text
        turn.data["offered"] = _offered(turn, result)
        offer_candidates(turn, result)
    else:
        turn.data["pending_text"] = text
        turn.data.pop("offered", None)
        kind = "out_of_scope" if result.out_of_scope else "not_understood"
        _record(turn, kind, text, candidates=_offered(turn, result))
        not_understood(turn, out_of_scope=result.out_of_scope)


def as_understood(text: str, result: MatchResult) -> str:
    """The request with its typos read as the matcher read them ("outlok" -> "outlook").

    The journey takes the choices a request already names from it; it should not ask
    "What's wrong?" of someone who wrote "outlok keeps asking for my pasword".
    """
    for typed, meant in result.corrections:
        text = re.sub(rf"(?<!\w){re.escape(typed)}(?!\w)", meant, text, flags=re.IGNORECASE)
    return text


def act_on(turn: Turn, intent_id: str, *, understood: bool, request: str = "") -> None:
    intent = turn.desk.intents.get(intent_id)
    if intent is not None and intent.kind == "builtin":
        BUILTIN_HANDLERS[intent_id](turn)
    else:
        conversation.start_service(turn, intent_id, understood=understood, request=request)


def _label(turn: Turn, intent_id: str) -> str:
    intent = turn.desk.intents.get(intent_id)
    if intent is None:
        return intent_id
    return intent.titles.get(turn.language) or intent.titles.get("en") or intent_id


def offer_candidates(turn: Turn, result: MatchResult) -> None:
    limit = turn.desk.settings.matcher.max_choices
    choices = [
        Choice(_label(turn, c.intent), button(SERVICE, c.intent)) for c in result.candidates[:limit]
    ]
    choices.append(Choice(turn.plain("button.none_of_these"), button(MENU, "none")))
    turn.reply(Message(text=turn.t("understand.which"), choices=tuple(choices)))


def _asked_for_person(turn: Turn, text: str, result: MatchResult) -> None:
    """An explicit ask for a person wins. When the message also says what it is about
    ("转人工 outlook 又挂了"), that goes to the person at once; else they are asked."""
    low = turn.desk.settings.matcher.low
    about = any(
        turn.desk.catalog.get(c.intent) is not None and c.score >= low
        for c in result.candidates[1:]
    )
    if about:
        turn.data.pop("pending_text", None)
        conversation.handoff_without_journey(turn, text)  # titled from what they said
        return
    turn.data.pop("pending_text", None)  # asked what it is about (nothing earlier to offer)
    act_on(turn, "human_handoff", understood=True)


def refer(turn: Turn, topic: str) -> None:
    """Not for IT: say where to go instead (catalog/referrals.yaml), in their language."""
    referral = turn.desk.intents.referrals[topic]
    where = referral.where.get(turn.language) or referral.where.get("en") or ""
    title = referral.titles.get(turn.language) or referral.titles.get("en") or topic
    turn.reply(
        Message(
            text=turn.t(
                "intents.referral",
                topic=title,
                where=trusted(turn.desk.texts.compile(where).render()),
            ),
            choices=(
                Choice(turn.plain("button.rephrase"), button(MENU, "rephrase")),
                Choice(turn.plain("button.human"), button(MENU, "human")),
                Choice(turn.plain("button.general_ticket"), button(MENU, "general")),
            ),
        )
    )


def not_understood(turn: Turn, *, out_of_scope: bool = False) -> None:
    turn.reply(
        Message(
            text=turn.t("intents.out_of_scope" if out_of_scope else "understand.unsure"),
            choices=(
                Choice(turn.plain("button.rephrase"), button(MENU, "rephrase")),
                Choice(turn.plain("button.human"), button(MENU, "human")),
                Choice(turn.plain("button.general_ticket"), button(MENU, "general")),
            ),
        )
    )


def on_service_button(turn: Turn, service_id: str) -> None:
    """`s:<intent>`: the person picked one of the offered services."""
    pending = turn.data.pop("pending_text", None)
    offered = turn.data.pop("offered", None) or []
    if pending and any(item[0] == service_id for item in offered):
        _record(turn, "resolved", pending, intent_id=service_id, candidates=offered)
        matching.settle(turn, service_id)
    if turn.desk.intents.get(service_id) is None:
        turn.say("errors.unknown_service")
        return
    act_on(turn, service_id, understood=False, request=str(pending or ""))


def on_menu_button(turn: Turn, choice: str) -> None:
    """`m:<choice>`: rephrase, human, general ticket, or none of the offered services."""
    pending = turn.data.pop("pending_text", None)
    offered = turn.data.pop("offered", None)
    if choice == "none" and pending and offered:
        _record(turn, "none_of_these", pending, candidates=offered)
        matching.settle(turn, None)
    if choice == followup.SKIP:
        followup.drop(turn)
    elif choice in ("rephrase", "none"):
        turn.say("understand.rephrase")
    elif choice in ("human", "general"):
        ask_what_about(turn, str(pending or ""))
    elif choice == "as_written":
        draft = str(turn.data.pop("handoff_draft", "") or "")
        if draft and turn.data.get("awaiting") == awaiting(HANDOFF_TEXT):
            turn.data.pop("awaiting", None)
            conversation.handoff_without_journey(turn, draft)
        else:
            turn.say("journey.no_active")  # an old button: that question was dealt with
    else:
        turn.say("errors.unknown_button")


def ask_what_about(turn: Turn, draft: str) -> None:
    """Before a person gets a request with no service, ask what it is about (the ticket is
    titled from the answer); what they wrote before may be sent as it is."""
    turn.data["awaiting"] = awaiting(HANDOFF_TEXT)
    if not draft:
        turn.say("understand.ask_for_text")
        return
    turn.data["handoff_draft"] = draft
    turn.reply(
        Message(
            text=turn.t("understand.ask_for_text_draft", draft=draft),
            choices=(Choice(turn.plain("button.as_written"), button(MENU, "as_written")),),
        )
    )


def _offered(turn: Turn, result: MatchResult) -> list[list[object]]:
    limit = turn.desk.settings.matcher.max_choices
    return [[c.intent, round(c.score, 3)] for c in result.candidates[:limit]]


def _record(
    turn: Turn,
    kind: str,
    text: str,
    *,
    intent_id: str | None = None,
    candidates: list[list[object]] | None = None,
) -> None:
    """Keep what the matcher could not settle alone, for `deskbot intents review`."""
    record_feedback(
        session=turn.session,
        kind=kind,
        text=text,
        language=turn.language,
        person_id=turn.person.id,
        channel=turn.inbound.channel,
        now=turn.now,
        intent_id=intent_id,
        candidates=candidates,
    )


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


def _read_as_pinyin(result: MatchResult) -> bool:
    """The matcher read Latin words as pinyin ("wo de diannao hen man" -> 我的电脑很慢)."""
    return any(
        detect(typed) != "zh" and detect(written) == "zh" for typed, written in result.corrections
    )


def _answers_is_it_fixed(turn: Turn, text: str) -> bool:
    """A yes or a no typed while a resolved ticket waits for "Is it fixed?" answers it, as
    its Fixed / Not fixed buttons do ("yes its working again, thanks", "nope, it still
    flickers": the rest goes to the technician). Only when exactly one of the person's
    tickets waits, they have not written here since it was resolved (as far as this
    conversation was kept), and a longer answer does not read as a new request ("no
    internet in building B" starts one). True when answered."""
    texts = turn.desk.texts
    said = yes_no_or_label(texts, turn.language, text)
    if said is None:
        return False
    waiting = repo.list_tickets(
        session=turn.session, requester_id=turn.person.id, statuses=("resolved",)
    )
    if len(waiting) != 1:
        return False
    [ticket] = waiting
    since = turn.row.updated_at if turn.row is not None else None
    if ticket.resolved_at is None or (since is not None and since > ticket.resolved_at):
        return False
    bare = yes_no(texts, turn.language, text) is not None
    if not bare and turn.desk.matcher.match(text).tier == "high":
        return False
    if said:
        fixed_verb(turn, ticket.number)
    else:  # a bare "no": they are asked what is still wrong
        not_fixed_verb(turn, ticket.number if bare else f"{ticket.number} {text}")
    return True


def _status(turn: Turn) -> None:
    my_tickets(turn, "")


def _human(turn: Turn) -> None:
    ask_what_about(turn, str(turn.data.pop("pending_text", None) or ""))


BUILTIN_HANDLERS = {
    "greet": _greet,
    "help": _help,
    "thanks": _thanks,
    "cancel": _cancel,
    "ticket_status": _status,
    "human_handoff": _human,
}


def on_article_button(turn: Turn, rest: str) -> None:
    """`kb:y:<article>` it helped; `kb:n:<article>` still need help (go on to a service)."""
    verdict, _, article_id = rest.partition(":")
    if verdict not in ("y", "n"):
        turn.say("errors.unknown_button")
        return
    asked = turn.data.pop("kb_question", None) or {}
    if asked.get("article") != article_id:
        # Answered already (or another article was offered since): a second press must not
        # count twice in the self-service numbers.
        turn.say("kb.glad" if verdict == "y" else "kb.tell_me")
        return
    if verdict == "y":
        knowledge.record_outcome(turn, "kb_self_solved", article_id)
        turn.say("kb.glad")
        return
    knowledge.record_outcome(turn, "kb_not_helpful", article_id)
    question = str(asked.get("text") or "")
    if not question:
        turn.say("kb.tell_me")
        return
    turn.data["kb_declined"] = question
    turn.data["kb_seen"] = [article_id]
    turn.say("kb.sorry")
    understand(turn, question)
