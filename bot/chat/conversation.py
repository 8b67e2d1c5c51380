"""Running journeys inside a conversation: start, feed input, apply what they decide."""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo

from bot import approvals, changes, flood, followup, incidents, problems
from bot.base.buttons import JOURNEY, button
from bot.base.messages import Choice, Message
from bot.base.metrics import JOURNEYS_STARTED, REFERRALS, TALLY, journey_ended
from bot.base.texts import trusted
from bot.base.timefmt import describe_duration
from bot.chat import files
from bot.expiry import active_journey
from bot.tickets import RISK_ANSWER, created_message, open_ticket
from bot.turn import Turn
from journeys import answers as ans
from journeys.flow import CONTROL
from journeys.interpreter import accepts, advance
from journeys.model import Journey
from journeys.state import (
    Audit,
    Context,
    CreateTicket,
    Ended,
    Handoff,
    Input,
    JourneyState,
    Press,
    RequestApproval,
    Result,
    Start,
    Text,
)
from store import tickets as ticket_repo


def requester_profile(turn: Turn) -> dict[str, object]:
    person = turn.person

    def make() -> dict[str, object]:
        profile = person.as_dict()
        profile["is_manager"] = turn.desk.directory.is_manager(person.id)
        profile["role"] = sorted(person.roles)
        return profile

    # Copied: a journey may read it, but the cached original must never change.
    return dict(turn.desk.remember(("profile", person.id), make))


def context_for(turn: Turn, journey: Journey, *, seen: frozenset[str] = frozenset()) -> Context:
    desk = turn.desk
    local_today = turn.now.astimezone(ZoneInfo(turn.person.timezone)).date()
    assets = []
    for asset in desk.directory.assets_of(turn.person.id):
        assets.append(
            {
                "asset_tag": asset.asset_tag,
                "kind": asset.kind,
                "model": asset.model,
                "purchased": asset.purchased.isoformat() if asset.purchased else None,
                "age_months": asset.age_months(local_today),
                "status": asset.status,
            }
        )
    return Context(
        texts=desk.texts,
        language=turn.language,
        requester=requester_profile(turn),
        assets=assets,
        now=turn.now,
        today=local_today,
        priority_matrix=desk.remember(
            ("priority_matrix",),
            lambda: {
                str(k): {str(u): str(p) for u, p in v.items()}
                for k, v in desk.settings.priority_matrix.items()
            },
        ),
        expected_text=desk.remember(
            ("expected", journey.id, turn.language),
            lambda: describe_duration(desk.texts, turn.language, journey.expected),
        ),
        max_failures=desk.settings.conversation.max_failures,
        kb=desk.catalog.kb,
        seen_articles=seen,
        service_titles=desk.remember(
            ("service_titles", turn.language),
            lambda: {j.id: j.title.get(turn.language) for j in desk.catalog},
        ),
    )


def may_use(turn: Turn, journey: Journey) -> bool:
    audience = journey.audience
    if not audience.roles and not audience.managers:
        return True
    if any(turn.person.has_role(role) for role in audience.roles):
        return True
    return audience.managers and turn.desk.directory.is_manager(turn.person.id)


def start_service(turn: Turn, service_id: str, *, understood: bool, request: str = "") -> None:
    """Begin a service's journey for this person (checking they may use it).

    `request` is what they asked in their own words; choices it names are not asked again.
    """
    journey = turn.desk.catalog.get(service_id)
    if journey is None:
        turn.say("errors.unknown_service")
        return
    title = journey.title.get(turn.language)
    if not may_use(turn, journey):
        reason = journey.audience.reason.get(turn.language) if journey.audience.reason else None
        turn.say(
            "journey.not_allowed",
            title=title,
            reason=trusted(turn.desk.texts.compile(reason).render()) if reason else "",
        )
        return

    if incidents.absorb_service(turn, journey.id, journey.type):
        return  # a declared major incident covers it: told and linked, no duplicate ticket
    if understood:
        turn.say("journey.understood", title=title)
    run(turn, journey, None, Start(text=request))


def run(turn: Turn, journey: Journey, state: JourneyState | None, event: Input) -> None:
    """Advance the journey and apply its replies and effects to this turn."""
    seen: frozenset[str] = frozenset()
    if isinstance(event, Start):
        TALLY.count(JOURNEYS_STARTED, journey.id)
        followup.started(turn, journey.id)
        # Articles just given as a direct answer are not suggested again by the journey.
        seen = frozenset(turn.data.pop("kb_seen", None) or ())
    result = advance(journey, state, event, context_for(turn, journey, seen=seen))
    apply_result(turn, journey, result)


def apply_result(turn: Turn, journey: Journey, result: Result) -> None:
    for replies, effect in result.ordered():
        if _opens_request(turn, effect) and not flood.may_open_request(turn):
            turn.data.pop("journey", None)  # refused: the journey ends here, told why
            return
        for message in replies:
            turn.reply(message)
        if effect is None:
            continue
        if isinstance(effect, CreateTicket):
            _create_ticket(turn, journey, effect)
        elif isinstance(effect, RequestApproval):
            _request_approval(turn, journey, effect, result.state)
        elif isinstance(effect, Handoff):
            _handoff(turn, journey, effect)
        elif isinstance(effect, Audit):
            ticket_repo.add_event(
                session=turn.session,
                ticket=None,
                at=turn.now,
                actor_id=turn.person.id,
                kind=effect.kind,
                note=effect.note,
                data={**effect.data, "service_id": journey.id},
            )
        elif isinstance(effect, Ended):
            journey_ended(effect.service_id, effect.outcome)
            ticket_repo.add_event(
                session=turn.session,
                ticket=None,
                at=turn.now,
                actor_id=turn.person.id,
                kind="journey_ended",
                note=effect.outcome,
                data={"service_id": effect.service_id},
            )
    if result.state.finished or result.state.status == "waiting":
        # A waiting journey is parked on its approval, leaving the conversation free.
        turn.data.pop("journey", None)
        followup.offer(turn, journey.id)  # a second request from the same message, if any
    else:
        turn.data["journey"] = result.state.to_dict()


def _opens_request(turn: Turn, effect: object) -> bool:
    """A new ticket, a hand-off to a person, or an approval asked before any ticket: what
    `limits.requests_per_hour` counts (bot/flood.py)."""
    if isinstance(effect, CreateTicket | Handoff):
        return True
    return isinstance(effect, RequestApproval) and not turn.tickets


def _request_approval(
    turn: Turn, journey: Journey, effect: RequestApproval, state: JourneyState
) -> None:
    ticket = turn.tickets[-1] if turn.tickets else None
    approval = approvals.request(turn, effect, state, ticket)
    if approval is not None:
        if ticket is None:  # files sent so far wait with the journey for the ticket
            files.park_pending(turn, approval)
        return
    # Nobody can approve (no manager and no group): a person sorts it out instead.
    state.status = "done"
    state.step = None
    if ticket is None:
        _handoff(turn, journey, Handoff(journey.id, effect.step, effect.answers, "no approver"))
    else:
        turn.say("approval.no_approver", number=ticket.number)


def _create_ticket(turn: Turn, journey: Journey, effect: CreateTicket) -> None:
    planned = changes.plan(turn.desk, turn.person, effect.change) if effect.change else None
    answers = effect.answers
    if planned is not None:  # its risk shows on the ticket and its card
        answers = {**answers, RISK_ANSWER: planned.risk.level}
    ticket = open_ticket(
        turn.desk,
        turn.session,
        requester=turn.person,
        service_id=effect.service_id,
        ticket_type=effect.ticket_type,
        title=effect.title,
        description=effect.description,
        priority=effect.priority,
        queue=effect.queue,
        answers=answers,
        origin=turn.address,
        language=turn.language,
        now=turn.now,
        sla_policy=journey.sla,
        expected=journey.expected,
    )
    turn.tickets.append(ticket)
    files.attach_pending(turn, ticket)
    expected = describe_duration(turn.desk.texts, turn.language, journey.expected)
    turn.reply(
        created_message(
            turn.desk, ticket, turn.language, next_text=effect.next_text, expected=expected
        )
    )
    problems.offer_workaround(turn, ticket)  # an open problem of this service has one
    if planned is not None:
        changes.register(turn, ticket, planned)
    elif ticket.type == "incident":  # after a failed change on the same item?
        changes.on_incident(turn.desk, turn.session, ticket, turn.now)


def _handoff(turn: Turn, journey: Journey | None, effect: Handoff) -> None:
    TALLY.count(REFERRALS, effect.reason)
    staff_lang = turn.desk.settings.language
    service = journey.title.get(staff_lang) if journey else ""
    about = "" if journey else _about(str(effect.answers.get("request") or ""))
    title = turn.desk.texts.plain(staff_lang, "ticket.handoff_title", service=service, about=about)
    lines = [f"{key}: {value}" for key, value in effect.answers.items()]
    ticket = open_ticket(
        turn.desk,
        turn.session,
        requester=turn.person,
        service_id=effect.service_id or None,
        ticket_type=journey.type if journey else "request",
        title=title[:300],
        description="\n".join(lines),
        priority="P3",
        queue=journey.queue if journey else default_queue(turn),
        answers=effect.answers,
        origin=turn.address,
        language=turn.language,
        now=turn.now,
        sla_policy=journey.sla if journey else "standard",
    )
    files.attach_pending(turn, ticket)
    turn.say("journey.handoff", number=ticket.number)


def _about(text: str, limit: int = 80) -> str:
    """A title from what the person said: its first line, cut at a word near `limit`."""
    line = " ".join(text.split())
    if len(line) <= limit:
        return line
    cut = line[:limit].rsplit(" ", 1)[0] if " " in line[:limit] else line[:limit]
    return cut.rstrip(" ,.;:，。") + "…"


def default_queue(turn: Turn) -> str:
    return next(iter(turn.desk.settings.queues))


def on_text(turn: Turn, text: str) -> None:
    found = active_journey(turn)
    if found is None:
        return
    journey, state = found
    turn.data.pop("switch", None)  # typing on instead of pressing a button drops the offer
    if offer_switch(turn, journey, state, text):
        return
    run(turn, journey, state, Text(text))


def offer_switch(turn: Turn, journey: Journey, state: JourneyState, text: str) -> bool:
    """Ask before leaving a journey for what sounds like a new request. True if asked.

    A clear match for another service counts as a new request when the text does not
    answer the current question, or when it says so ("actually", "also", "其实"...); said
    so, a close call is enough, and the likely services are offered. A long free-text
    answer that happens to mention another service stays an answer.
    """
    texts = turn.desk.texts
    if ans.control_word(texts, turn.language, text) is not None:
        return False
    said = ans.normalise(text)
    cued = any(
        ans.normalise(cue) in said for cue in texts.words(turn.language, "journey_switch.cues")
    )
    if not cued and not _sentence(text):
        return False  # a short answer ("VPN", "no", a phone number) is never a new request
    result = turn.desk.matcher.match(text)
    if result.tier == "low" or (result.tier == "medium" and not cued):
        return False
    limit = 1 if result.tier == "high" else 3
    targets = [
        service
        for c in result.candidates
        if c.intent != journey.id and (service := turn.desk.catalog.get(c.intent)) is not None
    ][:limit]
    top = result.top
    if not targets or top is None or (result.tier == "high" and top.intent != targets[0].id):
        return False  # the best match is this journey or a built-in (thanks, status...)
    if not cued:
        # Without "actually"/"其实", only a sentence that does not answer the question
        # counts: a stray "maybe" is a wrong answer, not a new request.
        if not _sentence(text) or accepts(journey, state, text, context_for(turn, journey)):
            return False
    turn.data["switch"] = {"to": [t.id for t in targets], "text": text}
    current = journey.title.get(turn.language)
    choices = [
        Choice(
            turn.plain("journey_switch.to", title=t.title.get(turn.language)),
            button(JOURNEY, CONTROL, "switch", t.id),
            "primary" if i == 0 else "default",
        )
        for i, t in enumerate(targets)
    ]
    choices.append(
        Choice(turn.plain("journey_switch.stay", title=current), button(JOURNEY, CONTROL, "stay"))
    )
    key = "journey_switch.ask" if len(targets) == 1 else "journey_switch.ask_many"
    turn.reply(
        Message(
            text=turn.t(key, current=current, new=targets[0].title.get(turn.language)),
            choices=tuple(choices),
        )
    )
    return True


def _sentence(text: str) -> bool:
    """Three or more words, or four or more Chinese characters.

    A word has a letter in it: a phone number or an amount ("+44 20 7946 0000") is a short
    answer, not a sentence to run through the intent matcher.
    """
    words = re.findall(r"[A-Za-z0-9]*[A-Za-z][A-Za-z0-9]*", text)
    return len(words) >= 3 or len(re.findall(r"[\u4e00-\u9fff]", text)) >= 4


def _switch(turn: Turn, journey: Journey, state: JourneyState, value: str) -> None:
    """`j:_:switch:<service>` leaves the journey for another; `j:_:stay` carries on."""
    pending = turn.data.pop("switch", None) or {}
    if value == "stay":
        text = str(pending.get("text") or "")
        if text and accepts(journey, state, text, context_for(turn, journey)):
            run(turn, journey, state, Text(text))  # what they typed answers this step
        else:
            run(turn, journey, state, Press(CONTROL, "retry"))  # ask the question again
        return
    target = value.partition(":")[2]
    new = turn.desk.catalog.get(target)
    if new is None or not may_use(turn, new):
        start_service(turn, target, understood=False)  # says why; the current journey stays
        return
    ended = JourneyState.from_dict(state.to_dict())
    ended.status, ended.step = "cancelled", None
    apply_result(turn, journey, Result(ended, effects=[Ended(journey.id, "switched")]))
    start_service(turn, target, understood=True, request=str(pending.get("text") or ""))


def on_journey_button(turn: Turn, rest: str) -> None:
    """`j:<step>:<value>`: an answer button (or `_` for controls) of the active journey."""
    step, _, value = rest.partition(":")
    found = active_journey(turn)
    if found is None:
        turn.say("journey.no_active")
        return
    journey, state = found
    if step == CONTROL and (value == "stay" or value.startswith("switch:")):
        _switch(turn, journey, state, value)
        return
    turn.data.pop("switch", None)
    run(turn, journey, state, Press(step, value))


def handoff_without_journey(turn: Turn, text: str, *, earlier: str = "") -> None:
    """Pass a free-text request to a person (general ticket in the default queue), titled
    from what they said it is about; `earlier` is what they wrote before being asked."""
    if not flood.may_open_request(turn):
        return
    answers = {"request": text, **({"earlier": earlier} if earlier else {})}
    _handoff(turn, None, Handoff(service_id="", step=None, answers=answers, reason="asked"))
