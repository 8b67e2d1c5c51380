"""`/link telegram`: a one-time code that links a chat account to the person asking."""

from __future__ import annotations

from bot import linking
from bot.chat.verbs import Verb, Verbs, related
from bot.turn import Turn

_NAMES = {"telegram": "Telegram"}


def _active(turn: Turn, channel: str) -> bool:
    channels = turn.desk.settings.channels
    return bool(channel == "telegram" and channels.telegram.active)


def link_verb(turn: Turn, args: str) -> None:
    """Issue a code for the named channel (Telegram when none is named); `/link IT-1043
    IT-1042` ties two tickets instead (`bot.chat.verbs.related`)."""
    if args.split() and related.looks_like_ticket(args.split()[0]):
        related.link_tickets(turn, args)
        return
    target = (args.split() or ["telegram"])[0].lower()
    if target not in linking.LINKABLE:
        if turn.inbound.channel in linking.LINKABLE and linking.looks_like_code(args):
            # Someone already recognised here typed a code: this account is theirs already.
            turn.say("link.already_here", channel=_NAMES[turn.inbound.channel])
        else:
            turn.say("link.usage")
        return
    name = _NAMES[target]
    if not _active(turn, target):
        turn.say("link.unavailable", channel=name)
        return
    if turn.inbound.channel == target:
        turn.say("link.already_here", channel=name)
        return
    if ":" in turn.inbound.conversation:  # a shared place: others would see the code
        turn.say("link.private_only")
        return
    code = linking.issue_code(
        session=turn.session,
        person_id=turn.person.id,
        channel=target,
        now=turn.now,
        issued_by=turn.person.id,
    )
    minutes = int(linking.CODE_TTL.total_seconds() // 60)
    turn.say("link.code", channel=name, code=code, minutes=minutes)


def register(verbs: Verbs) -> None:
    verbs.add(Verb("link", link_verb))
