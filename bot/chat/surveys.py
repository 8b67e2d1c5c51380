"""Answers to satisfaction surveys: a 1-5 button (`sv:<id>:<score>`), then an optional comment.

The survey itself is sent by the sweep (notifications/ticket_notices.py) some time after a
ticket closes. Only the person it was sent to may answer it; the score and comment are stored
in the `survey` table and noted in the ticket's audit trail.
"""

from __future__ import annotations

from bot.base.buttons import SURVEY, SURVEY_COMMENT, awaiting, button
from bot.base.messages import Choice, Message
from bot.turn import Turn
from store import notices as repo
from store import tickets as ticket_repo
from store.models import Survey, Ticket
from store.sql import row_id


def _survey_for(turn: Turn, raw_id: str) -> Survey | None:
    survey_id = row_id(raw_id)
    survey = turn.session.get(Survey, survey_id) if survey_id is not None else None
    if survey is None:
        turn.say("notices.survey.unknown")
        return None
    if survey.person_id != turn.person.id:
        ticket = turn.session.get(Ticket, survey.ticket_id)
        ticket_repo.add_event(
            session=turn.session,
            ticket=ticket,
            at=turn.now,
            actor_id=turn.person.id,
            kind="refused",
            note="survey answer",
            data={"survey": survey.id},
        )
        turn.say("notices.survey.not_yours")
        return None
    return survey


def on_button(turn: Turn, rest: str) -> None:
    """`sv:<id>:<1-5>` records a score and offers a comment; `sv:<id>:skip` ends it."""
    raw_id, _, value = rest.partition(":")
    survey = _survey_for(turn, raw_id)
    if survey is None or survey.id is None:
        return
    if value == "skip":
        turn.data.pop("awaiting", None)
        turn.say("notices.survey.thanks")
        return
    score = row_id(value)
    if score is None or not 1 <= score <= 5:
        turn.say("errors.unknown_button")
        return
    repo.record_score(session=turn.session, survey_id=survey.id, score=score, now=turn.now)
    ticket_repo.add_event(
        session=turn.session,
        ticket=turn.session.get(Ticket, survey.ticket_id),
        at=turn.now,
        actor_id=turn.person.id,
        kind="rated",
        data={"survey": survey.id, "score": score},
    )
    if turn.data.get("journey"):
        # The person is in the middle of a request: their next text answers that, not us.
        turn.say("notices.survey.thanks")
        return
    turn.data["awaiting"] = awaiting(SURVEY_COMMENT, survey.id)
    turn.reply(
        Message(
            text=turn.t("notices.survey.ask_comment", score=score),
            choices=(
                Choice(turn.plain("notices.survey.no_comment"), button(SURVEY, survey.id, "skip")),
            ),
        )
    )


def on_comment(turn: Turn, survey_id: str, text: str) -> None:
    """The text typed after a score is the survey's comment."""
    survey = _survey_for(turn, survey_id)
    if survey is None or survey.id is None:
        return
    repo.record_comment(session=turn.session, survey_id=survey.id, comment=text, now=turn.now)
    turn.say("notices.survey.thanks")
