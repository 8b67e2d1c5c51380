"""Moving a ticket to another team's queue: which queue a technician means, and what the
move does to the due times.

The SLA policy (the service's, by priority) stays; the time already used stays used. What
is left of each target when the ticket moves is counted on the new queue's business hours
from the moment of the move, so a ticket handed to a team in another time zone is due in
that team's working time.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from bot.desk import Desk
from store.models import Ticket

DUE_FIELDS = ("first_response_due", "resolution_due", "expected_at")


def find_queue(desk: Desk, word: str) -> str | None:
    """The queue named by its id or its name in any language ("network", "Network", "网络")."""
    wanted = word.strip().casefold()
    for queue_id, queue in desk.settings.queues.items():
        names = {queue_id.casefold(), *(n.casefold() for n in queue.name.values())}
        if wanted in names:
            return queue_id
    return None


def split_queue(desk: Desk, text: str) -> tuple[str | None, str, str]:
    """`service desk it's a password thing` -> (`service_desk`, the words naming it, the
    rest): the longest run of leading words that names a queue (names may have spaces)."""
    words = text.split()
    for count in range(len(words), 0, -1):
        queue = find_queue(desk, " ".join(words[:count]))
        if queue is not None:
            return queue, " ".join(words[:count]), " ".join(words[count:])
    return None, words[0] if words else "", " ".join(words[1:])


def moved_due(desk: Desk, ticket: Ticket, queue: str, now: datetime) -> dict[str, Any]:
    """The due times of `ticket` once it is in `queue`: what is left of each, counted on the
    new queue's calendar from now. A target already missed stays missed."""
    before, after = desk.calendar_for(ticket.queue), desk.calendar_for(queue)
    moved: dict[str, Any] = {}
    for field in DUE_FIELDS:
        due: datetime | None = getattr(ticket, field)
        if due is None or (field == "first_response_due" and ticket.first_response_at):
            continue
        left = before.elapsed(now, due)
        if left > timedelta(0):
            moved[field] = after.add_working(now, left)
    return moved
