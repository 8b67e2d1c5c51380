"""store/ci_links.py on SQLite and PostgreSQL: a link is made once, removed once, and read
both ways."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from store import ci_links
from store import tickets as repo
from store.db import Store

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


def new_ticket(store: Store, number: str) -> int:
    with store.begin() as session:
        ticket = repo.create_ticket(
            session=session,
            number=number,
            now=NOW,
            type="incident",
            requester_id="alice",
            status="new",
            priority="P3",
            queue="service_desk",
            title="t",
        )
        assert ticket.id is not None
        return ticket.id


def test_links_are_made_once_and_read_both_ways(db_url: str) -> None:
    store = Store(db_url)
    first, second = new_ticket(store, "IT-1000"), new_ticket(store, "IT-1001")
    with store.begin() as session:
        assert ci_links.link_ci(session, first, "vpn-gateway", "journey_answer", NOW)
        assert ci_links.link_ci(session, first, "lt-0101", "requester_device", NOW - timedelta(1))
        assert not ci_links.link_ci(session, first, "vpn-gateway", "technician", NOW)
        assert ci_links.link_ci(session, second, "vpn-gateway", "technician", NOW)
    with store.read() as session:
        assert ci_links.cis_of(session, first) == ["lt-0101", "vpn-gateway"]
        assert ci_links.tickets_of(session, "vpn-gateway") == [first, second]
        assert ci_links.tickets_of(session, "mail") == []
        hows = {link.ci_id: link.how for link in ci_links.links_of(session, first)}
        assert hows == {"lt-0101": "requester_device", "vpn-gateway": "journey_answer"}
        assert ci_links.links_of(session, first)[0].created_at == NOW - timedelta(1)
    with store.begin() as session:
        assert ci_links.unlink_ci(session, first, "vpn-gateway")
        assert not ci_links.unlink_ci(session, first, "vpn-gateway")
    with store.read() as session:
        assert ci_links.cis_of(session, first) == ["lt-0101"]
        assert ci_links.tickets_of(session, "vpn-gateway") == [second]
    store.dispose()


def test_an_unknown_way_of_linking_is_refused(db_url: str) -> None:
    store = Store(db_url)
    ticket = new_ticket(store, "IT-1000")
    with store.begin() as session, pytest.raises(ValueError, match="unknown way"):
        ci_links.link_ci(session, ticket, "mail", "guessed", NOW)
    store.dispose()
