"""Fixtures for the notification tests: desks with tuned settings, tickets, transitions."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest

from bot.adapters.memory import MemoryChat
from bot.base.clock import FixedClock
from bot.base.config import Settings
from bot.base.markup import to_plain
from bot.base.messages import Address, Outbound
from bot.desk import Desk
from bot.tickets import open_ticket
from notifications.sweep import Sweeper, SweepReport
from store import tickets as repo
from store.models import Ticket
from tests.desks import build_desk

MakeDesk = Callable[..., Desk]


def with_notifications(settings: Settings, **sections: dict[str, Any]) -> Settings:
    """Settings with some `notifications.<section>` fields changed (e.g. survey={"ratio": 1})."""
    current = settings.notifications
    updates = {}
    for name, values in sections.items():
        section = getattr(current, name)
        updates[name] = type(section).model_validate({**section.model_dump(), **values})
    return settings.model_copy(update={"notifications": current.model_copy(update=updates)})


@pytest.fixture
def make_desk(settings: Settings, clock: FixedClock) -> Iterator[MakeDesk]:
    desks: list[Desk] = []

    def make(**sections: dict[str, Any]) -> Desk:
        desk = build_desk(with_notifications(settings, **sections), clock=clock, migrate=False)
        desks.append(desk)
        return desk

    yield make
    for desk in desks:
        desk.store.dispose()


def new_ticket(
    desk: Desk,
    *,
    requester: str = "alice",
    priority: str = "P3",
    queue: str = "service_desk",
    service_id: str | None = "password_reset",
    language: str = "en",
    channel: str = "memory",
    title: str = "VPN drops every hour",
) -> Ticket:
    """Open a ticket with the real ticket code, as a journey would."""
    person = desk.directory.get(requester)
    assert person is not None
    with desk.store.begin() as session:
        return open_ticket(
            desk,
            session,
            requester=person,
            service_id=service_id,
            ticket_type="incident",
            title=title,
            description="",
            priority=priority,
            queue=queue,
            answers={},
            origin=Address(channel, requester, requester),
            language=language,
            now=desk.clock.now(),
            expected=timedelta(hours=4),
        )


def move(
    desk: Desk,
    number: str,
    status: str,
    *,
    actor: str = "alex",
    kind: str = "status",
    note: str = "",
) -> None:
    """Change a ticket's status and audit it, the way the ticket verbs do."""
    now = desk.clock.now()
    with desk.store.begin() as session:
        ticket = repo.get_ticket(session=session, number=number)
        assert ticket is not None
        before = ticket.status
        ticket.status = status
        ticket.updated_at = now
        if status == "resolved":
            ticket.resolved_at = now
        if status == "closed":
            ticket.closed_at = now
        session.add(ticket)
        repo.add_event(
            session=session,
            ticket=ticket,
            at=now,
            actor_id=actor,
            kind=kind,
            # As the lifecycle records it: no status fields when the status stays the same.
            from_status=None if status == before else before,
            to_status=None if status == before else status,
            note=note,
        )


def ticket(desk: Desk, number: str) -> Ticket:
    with desk.store.read() as session:
        found = repo.get_ticket(session=session, number=number)
        assert found is not None
        return found


def kinds(desk: Desk, number: str) -> list[str]:
    with desk.store.read() as session:
        t = repo.get_ticket(session=session, number=number)
        assert t is not None and t.id is not None
        return [e.kind for e in repo.events_of(session=session, ticket_id=t.id)]


def sweep_at(
    desk: Desk, clock: FixedClock, when: datetime, chat: MemoryChat | None = None
) -> SweepReport:
    """Move the clock, run one sweep, and deliver what it queued."""
    clock.set(when)
    report = Sweeper(desk).sweep()
    if chat is not None:
        chat.flush()
    return report


def plain(outs: list[Outbound]) -> list[str]:
    return [to_plain(o.text) for o in outs]
