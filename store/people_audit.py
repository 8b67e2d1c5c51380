"""The people audit (`person_event`) and the directory sync's state (`directory_state`)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from store.models import DirectoryState, PersonEvent
from store.sql import insert_ignore, table_of

STATE = "directory"


@dataclass(frozen=True)
class Change:
    """One person's change in a sync, as it is audited."""

    person_id: str
    kind: str  # add | update | deactivate | reactivate
    source: str
    changes: dict[str, Any]  # field -> [old, new]


def record(*, session: Session, at: datetime, actor: str, changes: Iterable[Change]) -> int:
    """Audit every change of one sync; how many rows were written. In batches of plain
    INSERTs: a first sync of 50,000 people is 50,000 rows, and ORM objects for all of them
    at once would cost more memory than the people themselves."""
    table = table_of(PersonEvent)
    written = 0
    batch: list[dict[str, Any]] = []
    for c in changes:
        batch.append(
            {
                "at": at,
                "person_id": c.person_id,
                "kind": c.kind,
                "source": c.source[:64],
                "actor": actor[:64],
                "changes": c.changes,
                "note": "",
            }
        )
        if len(batch) == BATCH:
            session.connection().execute(table.insert(), batch)
            written, batch = written + len(batch), []
    if batch:
        session.connection().execute(table.insert(), batch)
        written += len(batch)
    return written


BATCH = 1000


def state(*, session: Session) -> DirectoryState | None:
    return session.get(DirectoryState, STATE)


def _locked_state(session: Session) -> DirectoryState:
    """The state row, locked for this transaction (made on first use)."""
    insert_ignore(session, DirectoryState, {"name": STATE})
    row = session.exec(
        select(DirectoryState).where(DirectoryState.name == STATE).with_for_update()
    ).one()
    return row


def refused(
    *, session: Session, at: datetime, actor: str, problem: str, source: str, note: str
) -> bool:
    """A sync that changed nothing because of `problem` (a stable key: the same failure
    twice has the same key). Audited and True only when the syncs were not already stuck
    on this problem: the caller tells the admins once, not at every interval."""
    row = _locked_state(session)
    row.last_run = at
    if row.problem == problem[:200]:
        session.add(row)
        return False
    row.problem, row.since = problem[:200], at
    session.add(row)
    session.add(
        PersonEvent(
            at=at, person_id=None, kind="refused", source=source[:64], actor=actor[:64], note=note
        )
    )
    session.flush()
    return True


def went_through(*, session: Session, at: datetime) -> str | None:
    """A sync that applied (or found nothing to change): the syncs are no longer stuck.
    Returns the problem they were stuck on, if any."""
    row = _locked_state(session)
    was = row.problem
    row.problem, row.since, row.last_run, row.last_ok = None, None, at, at
    session.add(row)
    session.flush()
    return was


def events(
    *, session: Session, person_id: str | None = None, limit: int | None = None
) -> list[PersonEvent]:
    """The audit, oldest first: one person's, or everyone's (refused syncs included); with
    `limit`, the latest that many."""
    stmt = select(PersonEvent)
    if person_id is not None:
        stmt = stmt.where(PersonEvent.person_id == person_id)
    stmt = stmt.order_by(col(PersonEvent.id).desc())
    if limit is not None:
        stmt = stmt.limit(limit)
    return list(reversed(session.exec(stmt).all()))
