"""Helpers for driving journeys through the in-memory chat like a person would."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlmodel import select

from bot.adapters.memory import MemoryChat
from bot.base.markup import to_plain
from bot.base.messages import Outbound
from store import tickets as repo
from store.models import Ticket, TicketEvent


@dataclass
class Talk:
    """What the bot answered to each input, in order."""

    turns: list[list[Outbound]] = field(default_factory=list)

    @property
    def replies(self) -> list[Outbound]:
        return [out for turn in self.turns for out in turn]

    @property
    def text(self) -> str:
        return plain(self.replies)


def plain(outs: list[Outbound]) -> str:
    return "\n".join(to_plain(o.text) for o in outs)


def talk(chat: MemoryChat, person: str, inputs: list[str], channel: str = "memory") -> Talk:
    """Send each input: `!value` presses the button with that value, anything else is typed."""
    done = Talk()
    for item in inputs:
        if item.startswith("!"):
            done.turns.append(chat.press(person, item[1:], channel=channel))
        else:
            done.turns.append(chat.say(person, item, channel=channel))
    return done


def tickets(chat: MemoryChat) -> list[Ticket]:
    with chat.desk.store.read() as session:
        return list(repo.list_tickets(session=session))


def events(chat: MemoryChat, kind: str | None = None) -> list[TicketEvent]:
    with chat.desk.store.read() as session:
        stmt = select(TicketEvent).order_by(TicketEvent.id)  # type: ignore[arg-type]
        found = list(session.exec(stmt).all())
    return [e for e in found if kind is None or e.kind == kind]


def outcomes(chat: MemoryChat) -> list[str]:
    """The outcome of every journey that ended, in order (ticket, self_solved, refused...)."""
    return [e.note for e in events(chat, "journey_ended")]


def button(outs: list[Outbound], ending: str) -> str:
    """The value of the (last) button whose value ends with `ending`."""
    values = [c.value for o in outs for c in o.choices if c.value.endswith(ending)]
    assert values, f"no button ending in {ending!r} in {[c.value for o in outs for c in o.choices]}"
    return values[-1]
