"""Full-text search over tickets: one search document per ticket, kept in the same
transaction as the change that alters it, and ranked matching on either database.

The document (`ticket_search`) holds the ticket's title, and in `body` its description,
its answers and the words people wrote on it later (replies, questions, notes, answers,
resolutions, reasons), all as tokens from `store.search_text`. SQLite indexes it in an FTS5
table (`ticket_search_fts`, external content, kept by triggers) ranked by bm25; PostgreSQL in
a generated tsvector column (`tsv`, 'simple' configuration, GIN index) ranked by ts_rank.
Both weigh a word in the title ten times a word elsewhere. Those dialect-only objects are
made by migration 0009 and are not in the SQLModel models (`is_dialect_only`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Float, bindparam, column, func, literal_column, select, table, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col

from store.models import Ticket, TicketEvent, TicketSearch
from store.search_text import document, query_tokens

# Events whose note is something a person wrote about the ticket (not a timer key or an id).
SEARCHED_KINDS = frozenset(
    {
        "reply",  # technician to requester
        "asked",  # technician's question
        "note",  # internal note
        "info",  # requester added information
        "answered",  # requester's answer to a question
        "resolved",
        "reopened",
        "not_fixed",
        "cancelled",
        "closed",
        "approved",
        "rejected",
        "incident_linked",
    }
)
MAX_BODY = 100_000  # characters of tokens kept per ticket (a tsvector is at most 1 MB)
TITLE_WEIGHT = 10.0
# Made by the migration on one dialect only; the model comparison leaves them out.
SQLITE_TABLES = ("ticket_search_fts",)  # and its FTS5 shadow tables, ticket_search_fts_*
POSTGRESQL_COLUMNS = (("ticket_search", "tsv"),)
POSTGRESQL_INDEXES = ("ix_ticket_search_tsv",)

_PLAIN = re.compile(r"[^\W_]+")
_FTS = table("ticket_search_fts", column("rowid"))
_SEARCH = TicketSearch.__table__  # type: ignore[attr-defined]


def is_dialect_only(name: str | None, kind: str, parent: str | None = None) -> bool:
    """Whether a reflected database object is one of the search's dialect-only ones."""
    if name is None:
        return False
    if kind == "table":
        return any(name == t or name.startswith(t + "_") for t in SQLITE_TABLES)
    if kind == "column":
        return (parent, name) in POSTGRESQL_COLUMNS
    if kind == "index":
        return name in POSTGRESQL_INDEXES
    return False


def answer_words(answers: dict[str, Any]) -> Iterable[str]:
    """The text of a ticket's answers (values only: field names are the same everywhere)."""
    for value in answers.values():
        if isinstance(value, str):
            yield value
        elif isinstance(value, list | tuple):
            yield from (str(v) for v in value if isinstance(v, str | int | float))
        elif isinstance(value, int | float) and not isinstance(value, bool):
            yield str(value)


def _body(parts: Iterable[str]) -> str:
    return " ".join(d for d in (document(p) for p in parts) if d)[:MAX_BODY]


def _upsert(session: Session, ticket_id: int, title: str, body: str) -> None:
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(_SEARCH).values(ticket_id=ticket_id, title=title, body=body)
    stmt = stmt.on_conflict_do_update(
        index_elements=["ticket_id"], set_={"title": title, "body": body}
    )
    session.connection().execute(stmt)


def index_new(session: Session, ticket: Ticket) -> None:
    """The document of a ticket just created (it has no events yet)."""
    assert ticket.id is not None
    body = _body([ticket.description, *answer_words(ticket.answers)])
    _upsert(session, ticket.id, document(ticket.title), body)


def reindex(session: Session, ticket_id: int) -> None:
    """Write a ticket's document again from the ticket and its events (after its title,
    description or answers changed; the migration's backfill)."""
    ticket = session.get(Ticket, ticket_id)
    if ticket is None:
        return
    notes = session.scalars(
        select(col(TicketEvent.note))
        .where(
            col(TicketEvent.ticket_id) == ticket_id,
            col(TicketEvent.kind).in_(SEARCHED_KINDS),
            col(TicketEvent.note) != "",
        )
        .order_by(col(TicketEvent.id))
    ).all()
    body = _body([ticket.description, *answer_words(ticket.answers), *notes])
    _upsert(session, ticket_id, document(ticket.title), body)


_APPEND = text(
    "UPDATE ticket_search SET body = substr(body || ' ' || :words, 1, :cap) "
    "WHERE ticket_id = :ticket_id"
)


def add_words(session: Session, ticket_id: int, kind: str, note: str) -> None:
    """Append what an event says to its ticket's document (the trail is append-only, so the
    document only ever grows)."""
    if kind not in SEARCHED_KINDS or not note:
        return
    words = document(note)
    if words:
        session.connection().execute(
            _APPEND, {"words": words, "cap": MAX_BODY, "ticket_id": ticket_id}
        )


@dataclass(frozen=True)
class Filters:
    """What narrows a search besides its words; None means no limit."""

    statuses: Sequence[str] | None = None
    queues: Sequence[str] | None = None
    requester_id: str | None = None
    since: datetime | None = None  # created at or after


@dataclass(frozen=True)
class Found:
    tickets: list[Ticket]  # best first
    total: int  # all the tickets that match, shown or not
    tokens: list[str]  # what was looked for (for highlighting)


def search(
    session: Session, words: str, filters: Filters, *, limit: int = 10, offset: int = 0
) -> Found:
    """Tickets whose document has every token of `words`, best ranked first (then newest)."""
    # Letters and digits only (search_text makes them so; this keeps quoting safe anyway).
    tokens = [t for t in query_tokens(words) if _PLAIN.fullmatch(t)]
    if not tokens:
        return Found([], 0, [])
    params: dict[str, str] = {}
    if session.get_bind().dialect.name == "postgresql":
        # Tokens are letters and digits only, so the quotes cannot be escaped from.
        query = func.to_tsquery(
            literal_column("'simple'::regconfig"),
            bindparam("q", " & ".join(f"'{t}'" for t in tokens)),
        )
        tsv: Any = literal_column("ticket_search.tsv")
        score = func.ts_rank(tsv, query).label("score")
        stmt = (
            select(col(Ticket.id), score, func.count().over().label("total"))
            .join(_SEARCH, _SEARCH.c.ticket_id == col(Ticket.id))
            .where(tsv.op("@@")(query))
            .order_by(score.desc(), col(Ticket.id).desc())
        )
    else:
        rank = func.bm25(literal_column("ticket_search_fts"), TITLE_WEIGHT, 1.0, type_=Float)
        # bm25 only runs where FTS5 drives the scan: rank in a subquery, filter outside it.
        matches = (
            select(_FTS.c.rowid.label("id"), rank.label("score"))
            .where(text("ticket_search_fts MATCH :q"))
            .subquery("matches")
        )
        stmt = (
            select(col(Ticket.id), matches.c.score, func.count().over().label("total"))
            .join(matches, matches.c.id == col(Ticket.id))
            .order_by(matches.c.score, col(Ticket.id).desc())
        )
        # Each token quoted: FTS5 reads it as a plain string, never as its query syntax.
        params["q"] = " ".join(f'"{t}"' for t in tokens)
    stmt = _filtered(stmt, filters).limit(limit).offset(offset)
    rows = session.connection().execute(stmt, params).all()
    if not rows:
        return Found([], 0, tokens)
    ids = [row[0] for row in rows]
    loaded = {t.id: t for t in session.scalars(select(Ticket).where(col(Ticket.id).in_(ids)))}
    return Found([loaded[i] for i in ids if i in loaded], int(rows[0][2]), tokens)


def notes_of(session: Session, ticket_ids: list[int]) -> dict[int, list[str]]:
    """The searched notes of some tickets, oldest first (for the snippets of results)."""
    if not ticket_ids:
        return {}
    out: dict[int, list[str]] = {}
    for ticket_id, note in session.execute(
        select(col(TicketEvent.ticket_id), col(TicketEvent.note))
        .where(
            col(TicketEvent.ticket_id).in_(ticket_ids),
            col(TicketEvent.kind).in_(SEARCHED_KINDS),
            col(TicketEvent.note) != "",
        )
        .order_by(col(TicketEvent.id))
    ):
        out.setdefault(ticket_id, []).append(note)
    return out


def _filtered(stmt: Any, filters: Filters) -> Any:
    if filters.statuses is not None:
        stmt = stmt.where(col(Ticket.status).in_(list(filters.statuses)))
    if filters.queues is not None:
        stmt = stmt.where(col(Ticket.queue).in_(list(filters.queues)))
    if filters.requester_id is not None:
        stmt = stmt.where(col(Ticket.requester_id) == filters.requester_id)
    if filters.since is not None:
        stmt = stmt.where(col(Ticket.created_at) >= filters.since)
    return stmt


def backfill(session: Session, batch: int = 1000) -> int:
    """Write the document of every ticket (migration 0009; `deskbot db reindex` would be the
    same). Reads tickets and notes in id order, a batch at a time; returns how many."""
    done, last = 0, 0
    while True:
        tickets = session.execute(
            select(col(Ticket.id), col(Ticket.title), col(Ticket.description), Ticket.answers)  # type: ignore[call-overload]
            .where(col(Ticket.id) > last)
            .order_by(col(Ticket.id))
            .limit(batch)
        ).all()
        if not tickets:
            return done
        last = tickets[-1][0]
        notes: dict[int, list[str]] = {}
        for ticket_id, note in session.execute(
            select(col(TicketEvent.ticket_id), col(TicketEvent.note))
            .where(
                col(TicketEvent.ticket_id).between(tickets[0][0], last),
                col(TicketEvent.kind).in_(SEARCHED_KINDS),
                col(TicketEvent.note) != "",
            )
            .order_by(col(TicketEvent.id))
        ):
            notes.setdefault(ticket_id, []).append(note)
        rows = [
            {
                "ticket_id": ticket_id,
                "title": document(title),
                "body": _body([description, *answer_words(answers), *notes.get(ticket_id, [])]),
            }
            for ticket_id, title, description, answers in tickets
        ]
        session.connection().execute(
            _SEARCH.delete().where(_SEARCH.c.ticket_id.between(tickets[0][0], last))
        )
        session.connection().execute(_SEARCH.insert(), rows)
        done += len(rows)
