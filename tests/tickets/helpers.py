"""Helpers for the ticket tests: triage channels for the queues, opening tickets, and
reading what people see and what the store recorded."""

from __future__ import annotations

from pathlib import Path

from bot.adapters.memory import MemoryChat, Shown
from bot.base.config import Settings, Triage
from bot.base.markup import to_plain
from bot.base.messages import Address, Outbound
from bot.desk import Desk
from bot.tickets import open_ticket
from store import tickets as repo
from store.models import Ticket

DATA = Path(__file__).resolve().parent / "data"
SLACK_TRIAGE = "C0SERVICEDESK"
TELEGRAM_TRIAGE = "-1002001"
WORKPLACE_TRIAGE = "C0WORKPLACE"
NETWORK_TRIAGE = "C0NETWORK"
TRIAGE = {
    "service_desk": Triage(slack=SLACK_TRIAGE, telegram=TELEGRAM_TRIAGE),
    "workplace": Triage(slack=WORKPLACE_TRIAGE),
    "network": Triage(slack=NETWORK_TRIAGE),
}


def with_triage(settings: Settings, services: Path | None = None) -> Settings:
    queues = {
        qid: q.model_copy(update={"triage": TRIAGE.get(qid, q.triage)})
        for qid, q in settings.queues.items()
    }
    update: dict[str, object] = {"queues": queues}
    if services is not None:
        update["paths"] = settings.paths.model_copy(update={"services": str(services)})
    return settings.model_copy(update=update)


def plain(outs: list[Outbound]) -> str:
    return "\n".join(to_plain(o.text) for o in outs)


def new_ticket(
    desk: Desk,
    requester: str,
    title: str,
    *,
    queue: str = "service_desk",
    priority: str = "P3",
    answers: dict[str, object] | None = None,
    channel: str = "memory",
) -> str:
    """Open a ticket as a journey would (real open_ticket: SLA, audit, triage card)."""
    person = desk.directory.get(requester)
    assert person is not None
    with desk.store.begin() as session:
        ticket = open_ticket(
            desk,
            session,
            requester=person,
            service_id=None,
            ticket_type="incident",
            title=title,
            description=title,
            priority=priority,
            queue=queue,
            answers=answers or {},
            origin=Address(channel, requester, requester),
            language=person.language,
            now=desk.clock.now(),
        )
        return ticket.number


def get(desk: Desk, number: str) -> Ticket:
    with desk.store.read() as session:
        ticket = repo.get_ticket(session=session, number=number)
    assert ticket is not None
    return ticket


def kinds(desk: Desk, number: str) -> list[str]:
    with desk.store.read() as session:
        ticket = repo.get_ticket(session=session, number=number)
        assert ticket is not None and ticket.id is not None
        return [e.kind for e in repo.events_of(session=session, ticket_id=ticket.id)]


def card(
    chat: MemoryChat, number: str, channel: str = "slack", conversation: str = SLACK_TRIAGE
) -> Shown:
    """The triage card of `number` as the channel shows it now (exactly one, edited in place)."""
    found = [
        s
        for s in chat.channels[channel].shown
        if s.out.to.conversation == conversation
        and s.out.message.card is not None
        and s.out.message.card.number == number
    ]
    assert len(found) == 1, f"{len(found)} cards for {number} in {channel}:{conversation}"
    return found[0]


def field(shown: Shown, label: str) -> str:
    assert shown.out.message.card is not None
    return next(f.value for f in shown.out.message.card.fields if f.label == label)


def buttons(out: Outbound) -> list[str]:
    return [c.value for c in out.choices]
