"""A second request seen in the same message, kept until the first journey ends.

"the vpn keeps dropping, and also the printer on 3 is jammed": the desk starts the first (or
the one called urgent) and keeps the other here, in the conversation's data; when that
journey ends (done, handed off, cancelled, parked on an approval, or closed for being left
idle: bot/expiry.py) the person is offered the other one with a button (`s:<service>`) or can
let it go (`m:skip_next`). An operation rather than chat, so that the idle sweep can offer it.
"""

from __future__ import annotations

from bot.base.buttons import MENU, SERVICE, button
from bot.base.messages import Choice, Message
from bot.turn import Turn

NEXT_KEY = "next_request"
SKIP = "skip_next"


def keep(turn: Turn, service_id: str) -> None:
    """Remember a request to offer once the current journey ends."""
    turn.data[NEXT_KEY] = service_id


def started(turn: Turn, service_id: str) -> None:
    """A journey of `service_id` starts: if that is the request kept for later, it is no
    longer waiting (offering it again when this one ends would ask for it twice)."""
    if turn.data.get(NEXT_KEY) == service_id:
        turn.data.pop(NEXT_KEY, None)


def offer(turn: Turn, finished: str) -> None:
    """The journey of `finished` has ended: offer the request kept for later, if any."""
    service_id = turn.data.get(NEXT_KEY)
    if not isinstance(service_id, str) or service_id == finished:
        return
    turn.data.pop(NEXT_KEY, None)
    journey = turn.desk.catalog.get(service_id)
    if journey is None:
        return
    title = journey.title.get(turn.language)
    turn.reply(
        Message(
            text=turn.t("intents.offer_next", title=title),
            choices=(
                Choice(
                    turn.plain("intents.button_start_next", title=title),
                    button(SERVICE, service_id),
                ),
                Choice(turn.plain("intents.button_skip_next"), button(MENU, SKIP)),
            ),
        )
    )


def drop(turn: Turn) -> None:
    """`m:skip_next`: the person does not want the other request now."""
    turn.data.pop(NEXT_KEY, None)
    turn.say("intents.next_dropped")
