"""The platform-free core: `Engine.handle(inbound) -> list[Outbound]`.

One inbound message is handled in one database transaction: the event id is claimed
(redeliveries stop here), the conversation is locked, the message is routed (button,
slash verb, active journey, or free text for the intent matcher), and every change plus
every message for other people (outbox) commits together. Replies to the sender are
returned for the channel to deliver.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from bot import expiry, flood, followup, people_watch
from bot.base import buttons, logcontext
from bot.base.language import detect
from bot.base.messages import Inbound, Message, Outbound, clean_text
from bot.base.metrics import MESSAGES, TALLY, TURN_SECONDS
from bot.chat import (
    approvals,
    conversation,
    dead_letters,
    files,
    incidents,
    reception,
    surveys,
    understanding,
)
from bot.chat.places import Audience, confine
from bot.chat.verbs import (
    Verbs,
    approver,
    changes,
    cis,
    find,
    insight,
    linking,
    notify,
    problems,
    related,
    requester,
    staff,
    transfer,
)
from bot.desk import Desk
from bot.directory import Person
from bot.turn import ActionHandler, ReplyHandler, Turn, save_turn
from store import conversations
from store.db import is_outage, reports_outages
from store.events import claim_event

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Awaited:
    """The handler of a text the desk asked for; `lapses`: once the conversation has been
    idle past its timeout, a text is something new rather than the answer."""

    handler: ReplyHandler
    lapses: bool = True
    audience: Audience = Audience.ANYONE  # who may read the replies (bot.chat.places)


# Each feature's slash verbs, in the order `/help` lists them.
VERB_MODULES = (
    requester,
    staff,
    transfer,
    related,
    cis,
    find,
    approver,
    changes,
    linking,
    notify,
    insight,
    problems,
)


def default_verbs() -> Verbs:
    verbs = Verbs()
    for module in VERB_MODULES:
        module.register(verbs)
    return verbs


def _is_command(inbound: Inbound) -> bool:
    return inbound.text.lstrip().startswith("/")


class Engine:
    """Routes each inbound message; adapters translate, the engine decides.

    Everything an adapter calls raises `bot.base.outages.Unavailable` when the database
    cannot be reached just now (its transaction rolled back), so adapters can tell "try
    again later" from a failure without knowing the store."""

    def __init__(self, desk: Desk) -> None:
        self.desk = desk
        self.verbs = default_verbs()
        # The router table: a button's kind (bot.base.buttons) -> its handler, and what the
        # desk waits for in a person's next text -> the handler of that text.
        self.actions: dict[str, ActionHandler] = {
            buttons.JOURNEY: conversation.on_journey_button,
            buttons.SERVICE: understanding.on_service_button,
            buttons.MENU: understanding.on_menu_button,
            buttons.APPROVAL: approvals.on_button,
            buttons.ARTICLE: understanding.on_article_button,
            buttons.SURVEY: surveys.on_button,
            buttons.INCIDENT: incidents.on_button,  # declare, dismiss, not mine
            buttons.PROBLEM: problems.on_button,  # a recurring fault: open a problem or not
            buttons.TICKET: self.verbs.on_ticket_button,  # the verb of the same name
        }
        # Who may read what a button shows, where it is not ANYONE; a ticket button's is
        # its verb's.
        self.audiences: dict[str, Audience] = {
            buttons.APPROVAL: Audience.ASKER,
            buttons.INCIDENT: Audience.INCIDENT,
            buttons.PROBLEM: Audience.ASKER,
        }
        self.replies: dict[str, Awaited] = {
            # An approver's reason stands however late it comes: the approval waits for it.
            buttons.REJECT_REASON: Awaited(
                approvals.on_reason, lapses=False, audience=Audience.ASKER
            ),
            buttons.SURVEY_COMMENT: Awaited(surveys.on_comment),
            buttons.ADD_INFO: Awaited(requester.add_information),
        }

    # ---- the front door: what adapters ask before (or instead of) a turn -------------

    @reports_outages
    def seen(self, channel: str, event_id: str) -> bool:
        return reception.seen(self.desk, channel, event_id)

    @reports_outages
    def first_time(self, channel: str, event_id: str) -> bool:
        return reception.first_time(self.desk, channel, event_id)

    @reports_outages
    def answer_once(self, channel: str, event_id: str, replies: list[Outbound]) -> list[Outbound]:
        return reception.answer_once(self.desk, channel, event_id, replies)

    @reports_outages
    def in_conversation(self, channel: str, person_id: str, conversation: str) -> bool:
        return reception.in_conversation(self.desk, channel, person_id, conversation)

    @reports_outages
    def ticket_thread(self, channel: str, conversation: str) -> bool:
        return reception.ticket_thread(self.desk, channel, conversation)

    @reports_outages
    def identify(self, channel: str, external_id: str) -> Person | None:
        return reception.identify(self.desk, channel, external_id)

    @reports_outages
    def stranger(
        self,
        *,
        channel: str,
        event_id: str,
        external_id: str,
        conversation: str,
        private: bool,
        text: str,
        pressed: bool,
        language: str,
    ) -> list[Outbound]:
        return reception.stranger(
            self.desk,
            channel=channel,
            event_id=event_id,
            external_id=external_id,
            conversation=conversation,
            private=private,
            text=text,
            pressed=pressed,
            language=language,
        )

    @reports_outages
    def keep_updates(
        self, channel: str, updates: Sequence[tuple[str, dict[str, Any]]], done: Sequence[str]
    ) -> None:
        reception.keep_updates(self.desk, channel, updates, done)

    @reports_outages
    def waiting_updates(self, channel: str) -> list[dict[str, Any]]:
        return reception.waiting_updates(self.desk, channel)

    @reports_outages
    def moved_chats(self, channel: str) -> dict[str, str]:
        return reception.moved_chats(self.desk, channel)

    @reports_outages
    def record_move(self, channel: str, old: str, new: str) -> None:
        reception.record_move(self.desk, channel, old, new)

    # ---- a turn ----------------------------------------------------------------------

    @reports_outages
    def handle(self, inbound: Inbound) -> list[Outbound]:
        """Handle one message or button press and return the replies to its sender.

        A message that breaks its turn is set aside (bot/chat/dead_letters.py) so it never
        blocks anyone; an outage (the database cannot be reached) is raised for a retry.
        """
        inbound = replace(
            inbound,
            text=clean_text(inbound.text),
            action=clean_text(inbound.action) if inbound.action is not None else None,
            # The adapter's id for this turn; one of our own when it gave none (tests).
            correlation=inbound.correlation or logcontext.correlation_id(),
        )
        started = time.perf_counter()
        # People synced since the last message (one stat when nothing changed).
        people_watch.refresh(self.desk)
        with logcontext.turn(inbound.correlation, person=inbound.person_id, event=inbound.event_id):
            try:
                # What the turn counts stands only if it commits (bot/base/metrics.py).
                with TALLY.held():
                    replies = self._turn(inbound)
            except Exception as exc:
                if is_outage(exc):
                    TALLY.count(MESSAGES, inbound.channel, "unavailable")
                    raise  # as Unavailable: the same message may be tried again later
                log.exception("message %s could not be handled", inbound.event_id)
                TALLY.count(MESSAGES, inbound.channel, "dead_letter")
                return dead_letters.set_aside(self.desk, inbound, exc)
            finally:
                TALLY.observe(TURN_SECONDS, time.perf_counter() - started, inbound.channel)
            # What kind of message, never what it said (that stays out of INFO lines).
            kind = "button" if inbound.action else "command" if _is_command(inbound) else "text"
            log.info(
                "%s %s %s handled: %d repl%s",
                inbound.channel,
                kind,
                inbound.event_id,
                len(replies),
                "y" if len(replies) == 1 else "ies",
            )
            return replies

    def _turn(self, inbound: Inbound) -> list[Outbound]:
        desk = self.desk
        now = desk.clock.now()
        with desk.store.begin() as session:
            if inbound.event_id and not claim_event(
                session=session, channel=inbound.channel, event_id=inbound.event_id, now=now
            ):
                TALLY.count(MESSAGES, inbound.channel, "duplicate")
                return []
            person = desk.directory.get(inbound.person_id)
            if person is None or not person.active:  # someone who left acts as nobody
                TALLY.count(MESSAGES, inbound.channel, "unknown_person")
                text = desk.texts.render(desk.settings.language, "identity.unknown_person")
                return [Outbound(inbound.address, Message(text=text))]
            desk.store.lock(session, f"conv:{inbound.channel}:{person.id}:{inbound.conversation}")
            row = conversations.load_conversation(
                session=session,
                channel=inbound.channel,
                person_id=person.id,
                conversation=inbound.conversation,
            )
            data: dict[str, Any] = dict(row.data) if row else {}
            language = detect(inbound.text) or (row.language if row else None) or person.language
            turn = Turn(desk, session, inbound, person, now, language, row, data)
            if flood.over_message_limit(turn):
                TALLY.count(MESSAGES, inbound.channel, "rate_limited")
                return turn.replies  # told once a minute at most; nothing else happens
            TALLY.count(MESSAGES, inbound.channel, "handled")
            audience, argument = self._audience(turn)
            self._route(turn)
            confine(turn, audience, argument)
            save_turn(turn)
            return turn.replies

    def _audience(self, turn: Turn) -> tuple[Audience, str]:
        """Who may read the replies to this message, and the argument that decides it (a
        ticket number, a queue): by the verb or button, or what the desk was waiting for."""
        inbound = turn.inbound
        if inbound.action:
            pressed = buttons.read_button(inbound.action)
            if pressed.kind == buttons.TICKET:
                verb, args = self.verbs.pressed(pressed.rest)
                return (verb.audience if verb else Audience.ANYONE), args
            return self.audiences.get(pressed.kind, Audience.ANYONE), pressed.rest
        text = inbound.text.strip()
        if text.startswith("/"):
            _, verb, args = self.verbs.find(text)
            return (verb.audience if verb else Audience.ANYONE), args
        name, _ = buttons.read_awaiting(str(turn.data.get("awaiting") or ""))
        awaited = self.replies.get(name)
        return (awaited.audience if awaited else Audience.ANYONE), ""

    def _route(self, turn: Turn) -> None:
        inbound = turn.inbound
        if not expiry.expire_if_idle(turn):
            self._dispatch(turn)
            return
        pressed = buttons.read_button(inbound.action or "")
        if inbound.text or not inbound.action or pressed.kind != buttons.JOURNEY:
            self._dispatch(turn)  # (a press on the expired journey's own buttons is spent)
        if expiry.active_journey(turn) is None:
            # The journey ended by timing out: a second request kept from the same message
            # is offered now, as when a journey ends otherwise; if this message started a
            # journey, the request waits for that one to end.
            followup.offer(turn, "")

    def _dispatch(self, turn: Turn) -> None:
        inbound = turn.inbound
        if inbound.action:
            pressed = buttons.read_button(inbound.action)
            handler = self.actions.get(pressed.kind)
            if handler is None:
                turn.say("errors.unknown_button")
            else:
                handler(turn, pressed.rest)
            return
        text = inbound.text.strip()
        if inbound.files and files.receive(turn, self.verbs):
            return  # only files, or only the `/add IT-1042` that carried them
        if not text:
            return
        name, arg = buttons.read_awaiting(str(turn.data.get("awaiting") or ""))
        awaited = self.replies.get(name)
        if awaited is not None and not text.startswith("/"):
            turn.data.pop("awaiting", None)
            row = turn.row
            fresh = row is None or row.expires_at is None or row.expires_at > turn.now
            if fresh or not awaited.lapses:
                awaited.handler(turn, arg, text)
                return
            # Asked too long ago: this text is something new, not the answer.
        if text.startswith("/"):
            self.verbs.dispatch(turn, text)
        elif requester.take_text(turn, text):
            return  # information for a ticket, or the answer to a technician's question
        elif expiry.active_journey(turn) is not None:
            conversation.on_text(turn, text)
        else:
            understanding.understand(turn, text)
