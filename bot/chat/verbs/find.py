"""`/find printer jam status:open`: ticket search for technicians, in their own queues
(admins: every queue). A staff view: in a shared place it stays only where all the asker's
queues are triaged (`bot.chat.places`), else it goes to the asker's private chat."""

from __future__ import annotations

from bot import permissions
from bot import search as finder
from bot.chat.places import Audience
from bot.chat.verbs import Verb, Verbs
from bot.lookup import staff_only
from bot.turn import Turn

SHOWN = 10  # results in one chat message; the rest are counted


def find_verb(turn: Turn, args: str) -> None:
    if not staff_only(turn, "find"):
        return
    desk, person = turn.desk, turn.person
    try:
        request = finder.parse(desk, args, turn.now)
    except finder.BadFilter as bad:
        turn.say(bad.key, **bad.params)
        return
    if request.empty:
        turn.say("search.usage")
        return
    for queue in request.filters.queues or ():
        if not permissions.may_work_queue(person, queue):
            permissions.refuse(
                turn,
                "find",
                key="perm.not_your_queue_name",
                queue=desk.queue_name(queue, turn.language),
            )
            return
    mine = None if "admin" in person.roles else sorted(person.queues)
    found = finder.find(turn.session, request, limit=SHOWN, queues=mine)
    filters = request.filters
    turn.say(
        "search.results",
        rows=finder.rows(desk, turn.session, found, turn.language),
        total=found.total,
        more=max(0, found.total - len(found.tickets)),
        words=request.words,
        filtered=any(
            f is not None
            for f in (filters.statuses, filters.queues, filters.requester_id, filters.since)
        ),
    )


def register(verbs: Verbs) -> None:
    # The results list tickets of the asker's queues, like /queue (bot.chat.places).
    verbs.add(Verb("find", find_verb, staff=True, aliases=("search",), audience=Audience.QUEUES))
