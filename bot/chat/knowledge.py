"""Answering "how do I..." questions straight from the knowledge base.

A question that one article clearly answers gets the article, with "That helped" and
"I still need help" buttons (`kb:y:<id>` / `kb:n:<id>`). Still needing help sends the
original question on to the intent matcher, and the journey it starts does not suggest
the same article again.
"""

from __future__ import annotations

import re

from bot.base.buttons import ARTICLE, button
from bot.base.messages import Choice, Message
from bot.turn import Turn
from journeys import answers as ans
from journeys.prompts import article_message
from journeys.state import Context
from store import tickets as ticket_repo


def is_how_to(turn: Turn, text: str) -> bool:
    """True when the text asks how to do something ("how do I...", "怎么...")."""
    said = ans.normalise(text)
    for cue in turn.desk.texts.words(turn.language, "kb.how_to"):
        cue = ans.normalise(cue)
        if not cue:
            continue
        if re.search(r"[a-z]", cue):
            if re.search(rf"(^|\W){re.escape(cue)}(\W|$)", said):
                return True
        elif cue in said:
            return True
    return False


def answer_question(turn: Turn, text: str) -> bool:
    """Answer a "how do I..." question with the one article that fits well. True if answered."""
    if turn.data.pop("kb_declined", None) == text:
        return False  # they said the article did not help: let the matcher take it
    turn.data.pop("kb_seen", None)
    if not is_how_to(turn, text):
        return False
    article = turn.desk.catalog.kb.answer(text, turn.language)
    if article is None:
        return False
    turn.data["kb_question"] = {"text": text, "article": article.id}
    ctx = Context(texts=turn.desk.texts, language=turn.language, requester={})
    shown = article_message(ctx, article, turn.t("kb.direct_intro"))
    turn.reply(
        Message(
            text=shown.text,
            choices=(
                Choice(turn.plain("kb.helped"), button(ARTICLE, "y", article.id), "primary"),
                Choice(turn.plain("kb.not_helped"), button(ARTICLE, "n", article.id)),
            ),
        )
    )
    record_outcome(turn, "kb_answered", article.id)
    return True


def record_outcome(turn: Turn, kind: str, article_id: str) -> None:
    """Self-help outcomes go in the audit trail, where metrics count them."""
    ticket_repo.add_event(
        session=turn.session,
        ticket=None,
        at=turn.now,
        actor_id=turn.person.id,
        kind=kind,
        note=article_id,
        data={"article": article_id, "language": turn.language},
    )
