"""Finding tickets by their words, for `/find` and `deskbot tickets --search`: the filters
people type (`status:open queue:network by:alice since:7d`) and result rows with a short
snippet around the words found, split into highlighted and plain pieces so that the text
people wrote is escaped where it is shown. The index itself is `store.search`."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import UTC, datetime, time
from typing import Any

from sqlmodel import Session

from bot.base.config import parse_duration
from bot.desk import Desk
from bot.lookup import find_person
from bot.tickets import status_label
from store import search as index
from store import tickets as repo
from store.models import Ticket
from store.search import Filters, Found, answer_words
from store.search_text import MAX_TOKEN, fold, query_tokens, runs

SNIPPET_CHARS = 90
BEFORE_HIT = 30  # characters of context kept before the first word found
# Filter names as typed, in either language: the vocabulary keys of bot/locale/*/search.yaml.
FILTERS = ("status", "queue", "by", "since")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class BadFilter(Exception):
    """A filter that cannot be used; `key` and `params` say so in the person's language."""

    def __init__(self, key: str, **params: Any) -> None:
        super().__init__(key)
        self.key = key
        self.params = params


@dataclass(frozen=True)
class Request:
    words: str
    filters: Filters

    @property
    def empty(self) -> bool:
        return not query_tokens(self.words)


def parse(desk: Desk, text: str, now: datetime) -> Request:
    """Split typed text into the words to find and its `name:value` filters."""
    names = {
        word.casefold(): name
        for name in FILTERS
        for word in desk.texts.words_any(f"search.filter.{name}")
    }
    words: list[str] = []
    filters = Filters()
    for token in text.split():
        name, sep, value = token.replace("：", ":").partition(":")
        found = names.get(name.casefold()) if sep and value else None
        if found == "status":
            filters = replace(filters, statuses=parse_statuses(value))
        elif found == "queue":
            filters = replace(filters, queues=[parse_queue(desk, value)])
        elif found == "by":
            person = find_person(desk, value)
            if person is None:
                raise BadFilter("search.unknown_person", who=value)
            filters = replace(filters, requester_id=person.id)
        elif found == "since":
            filters = replace(filters, since=parse_since(value, now))
        else:
            words.append(token)
    return Request(" ".join(words), filters)


def parse_statuses(value: str) -> list[str]:
    """`open`, `open,in_progress`, or the groups `active` and `done`."""
    out: list[str] = []
    for raw in value.lower().split(","):
        if raw == "active":
            out += repo.ACTIVE
        elif raw == "done":
            out += repo.DONE
        elif raw in repo.STATUSES:
            out.append(raw)
        else:
            raise BadFilter(
                "search.bad_status",
                value=raw,
                statuses=", ".join(("active", "done", *repo.STATUSES)),
            )
    return out


def parse_queue(desk: Desk, value: str) -> str:
    if value not in desk.settings.queues:
        raise BadFilter("search.bad_queue", value=value, queues=", ".join(desk.settings.queues))
    return value


def parse_since(value: str, now: datetime) -> datetime:
    """`7d`, `12h`, `2w` back from now, or a day (`2026-11-01`, from its start in UTC)."""
    if _DATE.match(value):
        try:
            return datetime.combine(datetime.fromisoformat(value).date(), time(), tzinfo=UTC)
        except ValueError:
            raise BadFilter("search.bad_since", value=value) from None
    try:
        return now - parse_duration(value)
    except ValueError:
        raise BadFilter("search.bad_since", value=value) from None


def find(
    session: Session, request: Request, *, limit: int, queues: list[str] | None = None
) -> Found:
    """Search with the request's filters, never outside `queues` (None: every queue)."""
    filters = request.filters
    if queues is not None:
        wanted = filters.queues if filters.queues is not None else queues
        filters = replace(filters, queues=[q for q in wanted if q in queues])
    return index.search(session, request.words, filters, limit=limit)


# ---- what a result shows ------------------------------------------------------------------


def spans(text: str, tokens: list[str]) -> list[tuple[int, int]]:
    """Where in `text` the query's tokens are (words by their folded form, Chinese pairs and
    characters as written), merged where they touch."""
    wanted = set(tokens)
    found: list[tuple[int, int]] = []
    cjk = [t for t in tokens if any(run_cjk for run_cjk, _ in runs(t))]
    for match in re.finditer(r"[^\W_]+", text):
        word = match.group()
        if fold(word)[:MAX_TOKEN] in wanted:
            found.append(match.span())
    for token in cjk:
        start = text.find(token)
        while start >= 0:
            found.append((start, start + len(token)))
            start = text.find(token, start + 1)
    merged: list[tuple[int, int]] = []
    for start, end in sorted(found):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def pieces(text: str, found: list[tuple[int, int]], start: int, end: int) -> list[dict[str, Any]]:
    """`text[start:end]` as plain and highlighted pieces (`{"text", "hit"}`)."""
    out: list[dict[str, Any]] = []
    at = start
    for s, e in found:
        s, e = max(s, start), min(e, end)
        if s >= e:
            continue
        if s > at:
            out.append({"text": text[at:s], "hit": False})
        out.append({"text": text[s:e], "hit": True})
        at = e
    if at < end:
        out.append({"text": text[at:end], "hit": False})
    return out


def snippet(sources: list[str], tokens: list[str]) -> list[dict[str, Any]]:
    """A short piece of the text that has the most of the words found, around the first."""
    best: tuple[int, str, list[tuple[int, int]]] | None = None
    for source in sources:
        text = " ".join(source.split())
        found = spans(text, tokens)
        if found and (best is None or len(found) > best[0]):
            best = (len(found), text, found)
    if best is None:
        return []
    _, text, found = best
    start = max(0, found[0][0] - BEFORE_HIT)
    end = min(len(text), start + SNIPPET_CHARS)
    out = pieces(text, found, start, end)
    if start > 0:
        out.insert(0, {"text": "…", "hit": False})
    if end < len(text):
        out.append({"text": "…", "hit": False})
    return out


def rows(
    desk: Desk, session: Session, found: Found, lang: str, *, staff: bool = True
) -> list[dict[str, Any]]:
    """One row per ticket found: number, title pieces, status, queue, snippet pieces."""
    notes = index.notes_of(session, [t.id for t in found.tickets if t.id is not None])
    out = []
    for ticket in found.tickets:
        sources = [
            ticket.description,
            *answer_words(ticket.answers),
            *notes.get(ticket.id or 0, []),
        ]
        title = " ".join(ticket.title.split())
        out.append(
            {
                "number": ticket.number,
                "title": pieces(title, spans(title, found.tokens), 0, len(title)),
                "status": status_label(desk, ticket.status, lang, staff=staff),
                "queue": desk.queue_name(ticket.queue, lang),
                "snippet": snippet(sources, found.tokens),
            }
        )
    return out


def plain(parts: list[dict[str, Any]]) -> str:
    return "".join(p["text"] for p in parts)


def as_record(ticket: Ticket, row: dict[str, Any], rank: int) -> dict[str, Any]:
    """A result for `--format json`: plain text, the status and queue as ids."""
    return {
        "rank": rank,
        "number": ticket.number,
        "title": ticket.title,
        "status": ticket.status,
        "queue": ticket.queue,
        "requester": ticket.requester_id,
        "assignee": ticket.assignee_id,
        "created_at": ticket.created_at.isoformat(),
        "snippet": plain(row["snippet"]),
    }
