"""Known errors: a technician turns a ticket's resolution into a knowledge article (`/kb`).

The articles live in the store (`kb_article`), not in `content/kb`: they are written in a
chat turn, in the same transaction as the audit event, and every replica sees them without
a shared or writable content folder. At start-up (`build_desk`) and every `insight.every`
on each replica (the insight job), the articles in the store join the Markdown ones in the
knowledge base, so suggest steps and direct answers offer them, and their title and
keywords become examples of their service for the intent matcher, which is retrained.
`deskbot kb` lists, exports (as Markdown files) and retires them.
"""

from __future__ import annotations

import logging
import re
from dataclasses import replace
from datetime import datetime
from pathlib import Path

from sqlalchemy import func, update
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session, col, select

from bot.base.language import detect
from bot.content import build_matcher
from bot.desk import Desk
from bot.lookup import split_number, workable_ticket
from bot.turn import Turn
from intents.catalog import IntentCatalog
from journeys.kb import ARTICLE_ID, Article, KnowledgeBase
from store import tickets as ticket_repo
from store.models import IncidentLink, KnowledgeArticle, MajorIncident, Ticket
from store.sql import insert_ignore

log = logging.getLogger(__name__)

MAX_KEYWORDS = 12
TITLE_CHARS = (3, 120)
STORE_PATH = Path("store:kb_article")  # shown where an article's file would be


def article_id_for(ticket: Ticket) -> str:
    """`IT-1042` -> `ke-it-1042` (a valid article id: lower case, digits and dashes)."""
    return "ke-" + re.sub(r"[^a-z0-9-]", "-", ticket.number.lower())


def resolution_note(session: Session, ticket: Ticket) -> str | None:
    """What fixed it: the note of the ticket's latest move to resolved."""
    assert ticket.id is not None
    for event in reversed(ticket_repo.events_of(session=session, ticket_id=ticket.id)):
        if event.to_status == "resolved" and event.note.strip():
            return event.note.strip()
    return None


def default_title(desk: Desk, session: Session, ticket: Ticket) -> str:
    """The problem in people's words: a general request's own text, a major incident's
    reports, else the ticket title without "for <requester>"."""
    said = ticket.answers.get("request") if isinstance(ticket.answers, dict) else None
    if said:
        return str(said)
    requester = desk.directory.get(ticket.requester_id)
    title = ticket.title
    if requester is not None:
        title = re.sub(rf"\s+for\s+{re.escape(requester.name)}\s*$", "", title, flags=re.I)
    return title


def _reports(session: Session, ticket: Ticket) -> list[str]:
    """For a problem ticket: what the people who reported it said."""
    incident = session.exec(
        select(MajorIncident).where(MajorIncident.problem_ticket_id == ticket.id)
    ).first()
    if incident is None or incident.id is None:
        return []
    links = session.exec(select(IncidentLink).where(IncidentLink.incident_id == incident.id))
    return [link.text for link in links.all() if link.text]


def keywords_for(session: Session, ticket: Ticket, title: str) -> list[str]:
    phrases = [title]
    said = ticket.answers.get("request") if isinstance(ticket.answers, dict) else None
    if said:
        phrases.append(str(said))
    phrases += _reports(session, ticket)
    out: list[str] = []
    for phrase in phrases:
        phrase = " ".join(phrase.split())[:120]
        if len(phrase) >= TITLE_CHARS[0] and phrase.casefold() not in {p.casefold() for p in out}:
            out.append(phrase)
    return out[:MAX_KEYWORDS]


def save_article(
    desk: Desk, session: Session, ticket: Ticket, *, title: str, body: str, by: str, now: datetime
) -> tuple[KnowledgeArticle, bool]:
    """Create the ticket's article, or update it; returns (row, created)."""
    article_id = article_id_for(ticket)
    assert ARTICLE_ID.match(article_id)
    values = {
        "language": detect(body) or detect(title) or desk.settings.language,
        "title": title,
        "services": [ticket.service_id] if ticket.service_id else [],
        "keywords": keywords_for(session, ticket, title),
        "body": body,
        "ticket_id": ticket.id,
        "status": "active",
        "created_by": by,
        "updated_at": now,
    }
    created = insert_ignore(
        session, KnowledgeArticle, {"article_id": article_id, "created_at": now, **values}
    )
    if not created:
        values.pop("created_by")
        session.execute(
            update(KnowledgeArticle)
            .where(col(KnowledgeArticle.article_id) == article_id)
            .values(**values, version=col(KnowledgeArticle.version) + 1)
        )
    row = session.exec(
        select(KnowledgeArticle).where(KnowledgeArticle.article_id == article_id)
    ).one()
    session.refresh(row)
    return row, created


def kb_verb(turn: Turn, args: str) -> None:
    """`/kb IT-1042 [title]`: the ticket's resolution becomes a knowledge article."""

    number, title = split_number(args)
    if not number:
        turn.say("insight.kb.usage")
        return
    ticket = workable_ticket(turn, number, "kb")
    if ticket is None:
        return
    note = resolution_note(turn.session, ticket)
    if ticket.status not in ("resolved", "closed") or note is None:
        turn.say("insight.kb.not_resolved", number=ticket.number)
        return
    title = " ".join((title or default_title(turn.desk, turn.session, ticket)).split())
    low, high = TITLE_CHARS
    if not low <= len(title) <= high:
        turn.say("insight.kb.bad_title", title=title)
        return
    row, created = save_article(
        turn.desk, turn.session, ticket, title=title, body=note, by=turn.person.id, now=turn.now
    )
    ticket_repo.add_event(
        session=turn.session,
        ticket=ticket,
        at=turn.now,
        actor_id=turn.person.id,
        kind="kb_article",
        note=row.article_id,
        data={"article": row.article_id, "created": created},
    )
    # Self-help on this replica offers it at once. Retraining the matcher takes about a
    # second, too long to hold this turn's write transaction: the insight job does it off
    # the turn within insight.every, on every replica.
    refresh(turn.desk, session=turn.session, matcher=False)
    journey = turn.desk.catalog.get(ticket.service_id) if ticket.service_id else None
    turn.say(
        "insight.kb.created" if created else "insight.kb.updated",
        id=row.article_id,
        number=ticket.number,
        title=title,
        service=journey.title.get(turn.language) if journey is not None else "",
    )


# ---- loading into the knowledge base and the matcher --------------------------------------


def to_article(row: KnowledgeArticle) -> Article:
    return Article(
        id=row.article_id,
        language=row.language,
        title=row.title,
        services=tuple(row.services),
        keywords=tuple(row.keywords),
        body=row.body,
        path=STORE_PATH / row.article_id,
        known_error=True,
    )


def signature(session: Session) -> str:
    """Changes whenever an article is added, edited or retired."""
    count, versions, top = session.execute(
        select(
            func.count(col(KnowledgeArticle.id)),
            func.sum(KnowledgeArticle.version),
            func.max(KnowledgeArticle.id),
        )
    ).one()
    return f"{count}:{versions}:{top}"


def refresh(
    desk: Desk, *, session: Session | None = None, force: bool = False, matcher: bool = True
) -> bool:
    """Bring the knowledge base and the matcher in line with the store; True if changed.

    Cheap when nothing changed (one aggregate query). With `matcher=False` only the
    knowledge base is swapped, and the next full refresh retrains the matcher. A database
    without the table yet (PostgreSQL before `deskbot db upgrade`) leaves the files'
    articles alone.
    """
    try:
        if session is not None:
            return _refresh(desk, session, force, matcher)
        with desk.store.read() as reading:
            return _refresh(desk, reading, force, matcher)
    except DBAPIError as exc:
        log.warning("knowledge articles from the store not loaded: %s", exc.orig)
        return False


def _refresh(desk: Desk, session: Session, force: bool, with_matcher: bool) -> bool:
    current = signature(session)
    if current == desk.content.known_errors and not force:
        return False
    rows = session.exec(
        select(KnowledgeArticle)
        .where(KnowledgeArticle.status == "active")
        .order_by(col(KnowledgeArticle.id))
    ).all()
    files = {k: a for k, a in desk.catalog.kb.articles.items() if not a.known_error}
    articles = dict(files)
    file_ids = {aid for aid, _ in files}
    phrases: dict[str, dict[str, list[str]]] = {}
    for row in rows:
        if row.article_id in file_ids:
            log.warning("article %s exists as a file; the stored one is ignored", row.article_id)
            continue
        article = to_article(row)
        articles[(article.id, article.language)] = article
        for service in article.services:
            by_lang = phrases.setdefault(service, {})
            by_lang.setdefault(article.language, []).extend(article.phrases())
    # A new content view replaces the desk's in one assignment: turns running in other
    # threads see the old or the new, never half; the old view is never changed.
    content = desk.content
    catalog = replace(content.catalog, kb=KnowledgeBase(articles=articles))
    if not with_matcher:
        # Never equal to a signature: the next full refresh rebuilds both from the store
        # (also if this turn's transaction is rolled back after all).
        desk.content = replace(content, catalog=catalog, known_errors="stale")
        return True
    intents, matcher = content.intents, content.matcher
    if phrases or content.known_errors:  # nothing was ever added: the files' matcher stands
        own = content.file_intents
        intents = IntentCatalog(intents=dict(own.intents), referrals=dict(own.referrals))
        for service, by_lang in phrases.items():
            intents.add_examples(service, by_lang)
        matcher = build_matcher(desk.settings, intents)
    desk.content = replace(
        content, catalog=catalog, intents=intents, matcher=matcher, known_errors=current
    )
    return True


def retire(session: Session, article_id: str, now: datetime) -> bool:
    """Stop offering an article (kept in the store); False if there is no such article."""
    done = session.execute(
        update(KnowledgeArticle)
        .where(col(KnowledgeArticle.article_id) == article_id)
        .values(status="retired", updated_at=now, version=col(KnowledgeArticle.version) + 1)
        .returning(col(KnowledgeArticle.id))
    ).first()
    return done is not None


def as_markdown(row: KnowledgeArticle) -> str:
    """The article as a Markdown file with front matter (the content/kb format)."""
    import yaml

    front = {
        "title": row.title,
        "services": list(row.services),
        "keywords": list(row.keywords),
        "language": row.language,
    }
    dumped = yaml.safe_dump(front, allow_unicode=True, sort_keys=False)
    return f"---\n{dumped}---\n{row.body.strip()}\n"
