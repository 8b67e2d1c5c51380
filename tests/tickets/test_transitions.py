"""The transition table and the one function that applies every change, on both databases."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from bot.adapters.memory import MemoryChat
from bot.desk import Desk
from bot.workflow import close_resolved
from store import lifecycle
from store import tickets as repo
from store.tickets import ACTIVE, DONE, STATUSES
from tests.tickets.helpers import card, field, get, kinds, new_ticket


def test_table_covers_every_status_and_final_ones_stay_final() -> None:
    assert set(lifecycle.TRANSITIONS) == set(STATUSES)
    for status in ("closed", "cancelled", "rejected"):
        assert lifecycle.TRANSITIONS[status] == frozenset()
    # Resolved only closes or reopens; nothing goes back to "new".
    assert lifecycle.TRANSITIONS["resolved"] == {"closed", "reopened"}
    assert not any("new" in targets for targets in lifecycle.TRANSITIONS.values())
    # Every active ticket can be cancelled or resolved (except while awaiting approval).
    for status in ACTIVE:
        assert lifecycle.allowed(status, "cancelled")
        assert lifecycle.allowed(status, "resolved") == (status != "awaiting_approval")
    # Rejection only ever comes from an approval decision.
    assert [s for s in STATUSES if lifecycle.allowed(s, "rejected")] == ["awaiting_approval"]
    assert set(DONE) - {"resolved"} == {"closed", "cancelled", "rejected"}


def test_transition_changes_and_audits_in_one_step(tdesk: Desk) -> None:
    number = new_ticket(tdesk, "alice", "Dock not charging")
    now = tdesk.clock.now()
    with tdesk.store.begin() as session:
        ticket = repo.get_ticket(session=session, number=number)
        assert ticket is not None
        event = lifecycle.transition(
            session=session,
            ticket=ticket,
            actor_id="dana",
            now=now,
            kind="claimed",
            to="in_progress",
            values={"assignee_id": "dana"},
        )
        assert (ticket.status, ticket.assignee_id) == ("in_progress", "dana")
    assert (event.actor_id, event.from_status, event.to_status) == ("dana", "new", "in_progress")
    assert event.data == {"assignee": "dana"} and event.at == now
    assert kinds(tdesk, number) == ["created", "claimed"]


def test_invalid_transition_changes_nothing(tdesk: Desk) -> None:
    number = new_ticket(tdesk, "alice", "Dock not charging")
    with tdesk.store.begin() as session:
        ticket = repo.get_ticket(session=session, number=number)
        assert ticket is not None
        with pytest.raises(lifecycle.InvalidTransition) as refused:
            lifecycle.transition(
                session=session,
                ticket=ticket,
                actor_id="alice",
                now=tdesk.clock.now(),
                kind="confirmed_fixed",
                to="closed",
            )
    assert "from new to closed" in str(refused.value)
    assert get(tdesk, number).status == "new"
    assert kinds(tdesk, number) == ["created"]


def test_stale_ticket_is_a_conflict_not_a_lost_update(tdesk: Desk) -> None:
    """A change based on an old read must not overwrite what someone else did meanwhile."""
    number = new_ticket(tdesk, "alice", "Dock not charging")
    stale = get(tdesk, number)  # read before Dana claims it
    with tdesk.store.begin() as session:
        fresh = repo.get_ticket(session=session, number=number)
        assert fresh is not None
        lifecycle.transition(
            session=session,
            ticket=fresh,
            actor_id="dana",
            now=tdesk.clock.now(),
            kind="claimed",
            to="in_progress",
            values={"assignee_id": "dana"},
        )
    with tdesk.store.begin() as session:
        mine = session.merge(stale, load=False)
        with pytest.raises(lifecycle.Conflict) as lost:
            lifecycle.transition(
                session=session,
                ticket=mine,
                actor_id="alex",
                now=tdesk.clock.now(),
                kind="claimed",
                to="in_progress",
                values={"assignee_id": "alex"},
            )
        assert lost.value.ticket.assignee_id == "dana"  # refreshed: who has it now
    assert get(tdesk, number).assignee_id == "dana"
    assert kinds(tdesk, number) == ["created", "claimed"]


def test_audit_events_cannot_be_edited_or_deleted(tdesk: Desk) -> None:
    new_ticket(tdesk, "alice", "Dock not charging")
    for statement in ("UPDATE ticket_event SET note = 'edited'", "DELETE FROM ticket_event"):
        with pytest.raises(DBAPIError, match="append-only"):
            with tdesk.store.begin() as session:
                session.execute(text(statement))


def test_close_resolved_for_timers(tchat: MemoryChat, tdesk: Desk) -> None:
    """What auto-close (another feature) calls: only a resolved ticket closes, once."""
    number = new_ticket(tdesk, "alice", "Dock not charging")
    tchat.say("dana", f"/claim {number}")
    with tdesk.store.begin() as session:
        ticket = repo.get_ticket(session=session, number=number)
        assert ticket is not None
        assert close_resolved(tdesk, session, ticket, now=tdesk.clock.now()) is None
    tchat.say("dana", f"/resolve {number} New dock")
    with tdesk.store.begin() as session:
        ticket = repo.get_ticket(session=session, number=number)
        assert ticket is not None
        event = close_resolved(tdesk, session, ticket, now=tdesk.clock.now(), note="no answer")
        assert event is not None and event.actor_id is None
        assert close_resolved(tdesk, session, ticket, now=tdesk.clock.now()) is None
    tchat.flush()
    assert get(tdesk, number).status == "closed" and get(tdesk, number).closed_at is not None
    assert field(card(tchat, number), "Status") == "Closed"
    assert kinds(tdesk, number)[-1] == "closed"
