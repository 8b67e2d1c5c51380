"""Slash verbs, the same on every channel: `/status`, `/queue`, `/claim IT-1042`...

Slack sends them as `/desk <verb> <args>`; Telegram and the console as `/<verb> <args>`.
Both forms reach `Verbs.dispatch`. Ticket buttons (`t:<verb>:<number>`) run the same
handlers, so a button and a typed verb can never behave differently.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bot.chat.places import Audience
from bot.turn import Turn

Handler = Callable[[Turn, str], None]
NAME_CHARS = 32  # of an unknown verb repeated back


@dataclass(frozen=True)
class Verb:
    name: str
    handler: Handler
    staff: bool = False  # shown in help only to technicians and admins
    aliases: tuple[str, ...] = ()
    audience: Audience = Audience.ANYONE  # who may read its replies (bot.chat.places)


class Verbs:
    def __init__(self) -> None:
        self.by_name: dict[str, Verb] = {}
        self.ordered: list[Verb] = []

    def add(self, verb: Verb) -> None:
        self.ordered.append(verb)
        for name in (verb.name, *verb.aliases):
            self.by_name[name] = verb

    def find(self, text: str) -> tuple[str, Verb | None, str]:
        """`/claim IT-1042` -> ("claim", its verb, "IT-1042"); the verb is None if unknown."""
        name, _, args = text.lstrip("/").partition(" ")
        name = name.split("@", 1)[0].lower()  # Telegram groups append @botname
        if name == "desk":  # Slack: /desk <verb> <args>
            name, _, args = args.strip().partition(" ")
            name = name.lower() or "help"
        return name, self.by_name.get(name), args.strip()

    def dispatch(self, turn: Turn, text: str) -> None:
        name, verb, args = self.find(text)
        if verb is None:
            # Echo a short name only: "/xxxx…" of any length is not ours to repeat.
            shown = name if len(name) <= NAME_CHARS else name[: NAME_CHARS - 1] + "…"
            turn.say("verbs.unknown", verb=shown)
            return
        verb.handler(turn, args)

    def pressed(self, rest: str) -> tuple[Verb | None, str]:
        """The verb of a ticket button (`claim:IT-1042`) and its arguments."""
        name, _, args = rest.partition(":")
        return self.by_name.get(name), args

    def on_ticket_button(self, turn: Turn, rest: str) -> None:
        """A ticket button (`t:claim:IT-1042`) runs the verb of the same name."""
        verb, args = self.pressed(rest)
        if verb is None:
            turn.say("errors.unknown_button")
        else:
            verb.handler(turn, args)
