"""What a log line is about: the turn's correlation id, the person, the ticket, the event.

A turn (one thing a person did) gets a correlation id where the adapter receives it; the id
travels with the `Inbound` to the engine (in a child process, too), is stored with every
outbox row the turn writes, and is set again when the dispatcher sends that row, so the
platform call made later, maybe in another process or after a retry, is logged with the id
of the turn that caused it. The values live in context variables: each asyncio task and
each thread sees its own, and `turn()` puts the previous ones back when it ends.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_correlation: ContextVar[str | None] = ContextVar("correlation_id", default=None)
_person: ContextVar[str | None] = ContextVar("person_id", default=None)
_ticket: ContextVar[str | None] = ContextVar("ticket", default=None)
_event: ContextVar[str | None] = ContextVar("event_id", default=None)

# The record attributes and JSON fields, in the order they are shown.
FIELDS = ("correlation_id", "person_id", "ticket", "event_id")


def new_id() -> str:
    """A fresh correlation id: 16 hex digits, short enough to read, long enough never to
    repeat in one desk's logs."""
    return secrets.token_hex(8)


def correlation_id() -> str | None:
    return _correlation.get()


def ticket() -> str | None:
    return _ticket.get()


def current() -> dict[str, str]:
    """The fields known here and now (those not known are left out)."""
    values = (_correlation.get(), _person.get(), _ticket.get(), _event.get())
    return {name: value for name, value in zip(FIELDS, values, strict=True) if value}


def set_person(person_id: str | None) -> None:
    """The person is known now (the adapter looked them up); until the turn ends."""
    if person_id:
        _person.set(person_id)


def set_ticket(number: str | None) -> None:
    """The turn is about this ticket (opened or changed); until the turn ends."""
    if number:
        _ticket.set(number)


@contextmanager
def turn(
    correlation: str | None = None,
    *,
    person: str | None = None,
    ticket: str | None = None,
    event: str | None = None,
) -> Iterator[str]:
    """Log everything inside as part of one turn (a fresh id when `correlation` is None);
    yields the id. The fields set inside (`set_person`, `set_ticket`) end with it too."""
    cid = correlation or new_id()
    tokens = (
        _correlation.set(cid),
        _person.set(person),
        _ticket.set(ticket),
        _event.set(event),
    )
    try:
        yield cid
    finally:
        for var, token in zip((_correlation, _person, _ticket, _event), tokens, strict=True):
            var.reset(token)


@contextmanager
def cleared() -> Iterator[None]:
    """Nothing known inside: no turn, person, ticket or event (work that belongs to no turn,
    such as each test, must not inherit fields an earlier piece of work left set)."""
    variables = (_correlation, _person, _ticket, _event)
    tokens = [var.set(None) for var in variables]
    try:
        yield
    finally:
        for var, token in zip(variables, tokens, strict=True):
            var.reset(token)
