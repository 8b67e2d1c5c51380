"""Administration commands: check, db, people, tickets, catalog, audit."""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace

from sqlmodel import Session

from bot import search as finder
from bot.base.yamlfile import ProblemsError
from bot.cli.common import add_config, add_format, desk_from, print_json, print_table, settings_from
from bot.cli.directory import open_store
from bot.content import encoder_problems, load_content, unknown_services
from bot.desk import Desk
from bot.lookup import find_person
from store import people_audit as audit_repo
from store import tickets as repo
from store.db import Store
from store.migrate import current, head, upgrade
from store.search import Filters

SEARCH_LIMIT = 20  # results of `tickets --search` without --limit


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "check",
        help="validate config.yaml, people, catalog, texts, canned replies and configuration items",
    )
    add_config(p)
    p.set_defaults(func=check)

    p = sub.add_parser("db", help="database schema")
    add_config(p)
    p.add_argument("action", choices=["upgrade", "current"])
    p.set_defaults(func=db)

    p = sub.add_parser("people", help="list the people directory")
    add_config(p)
    add_format(p)
    p.set_defaults(func=people)

    p = sub.add_parser("tickets", help="list tickets")
    add_config(p)
    add_format(p)
    p.add_argument("--status", action="append", help="only these statuses (repeatable)")
    p.add_argument(
        "--search",
        metavar="TEXT",
        help="only tickets with these words (title, description, answers, replies, notes; "
        "English or Chinese), best match first",
    )
    p.add_argument("--queue", action="append", help="only these queues (repeatable)")
    p.add_argument("--requester", metavar="PERSON", help="only tickets raised by this person")
    p.add_argument(
        "--since", metavar="WHEN", help="only tickets created since: 7d, 12h, 2w or 2026-11-01"
    )
    p.add_argument("--limit", type=int, default=None, help="at most this many (search: 20)")
    p.set_defaults(func=tickets)

    p = sub.add_parser("catalog", help="list the services in the catalog")
    add_config(p)
    add_format(p)
    p.set_defaults(func=catalog)

    p = sub.add_parser(
        "audit", help="print a ticket's audit timeline, or the people audit (--people)"
    )
    add_config(p)
    add_format(p)
    p.add_argument("number", nargs="?", help="ticket number, e.g. IT-1042")
    p.add_argument(
        "--people",
        nargs="?",
        const="",
        metavar="ID",
        help="what directory syncs changed (everyone's, or one person's), and refused syncs",
    )
    p.add_argument(
        "--limit", type=int, default=200, help="--people: the latest this many (default 200)"
    )
    p.set_defaults(func=audit)


def check(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    loaded = load_content(settings)
    directory, _texts, services, intents, replies, cis = loaded
    problems = unknown_services(settings, loaded) + encoder_problems(settings)
    if problems:
        raise ProblemsError(problems)
    print(
        f"ok: {settings.source}: {len(directory.people)} people, {len(services)} services, "
        f"{len(intents)} intents, {len(settings.queues)} queues, {len(replies)} canned replies, "
        f"{len(cis)} configuration items"
    )
    for note in directory.notes:  # people from a directory: names it does not hold
        print(f"note: {note}")
    return 0


def db(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    store = Store(settings.database.url, base_dir=settings.base_dir)
    if args.action == "upgrade":
        upgrade(store)
    print(f"schema: {current(store) or 'empty'} (head: {head(store)})")
    return 0


def people(args: argparse.Namespace) -> int:
    desk = desk_from(args, migrate=False, needs_store=False)
    rows = [p.as_dict() for p in desk.directory]
    if args.format == "json":
        print_json(rows)
    else:
        for row in rows:
            row["roles"] = ",".join(row["roles"])  # type: ignore[arg-type]
            row["queues"] = ",".join(row["queues"])  # type: ignore[arg-type]
        print_table(rows, ["id", "name", "email", "roles", "queues", "manager", "language"])
    return 0


def tickets(args: argparse.Namespace) -> int:
    desk = desk_from(args)
    try:
        try:
            request = ticket_request(desk, args)
        except finder.BadFilter as bad:
            print(f"error: {desk.texts.plain('en', bad.key, **bad.params)}", file=sys.stderr)
            return 2
        if args.limit is not None and args.limit < 1:
            print("error: --limit must be 1 or more", file=sys.stderr)
            return 2
        with desk.store.read() as session:
            if args.search is not None:
                return print_found(desk, session, request, args)
            filters = request.filters
            found = [
                t
                for t in repo.list_tickets(
                    session=session,
                    statuses=filters.statuses,
                    requester_id=filters.requester_id,
                    limit=None if filters.queues or filters.since else args.limit,
                )
                if (filters.queues is None or t.queue in filters.queues)
                and (filters.since is None or t.created_at >= filters.since)
            ][: args.limit]
    finally:
        desk.store.dispose()
    rows = [
        {
            "number": t.number,
            "service": t.service_id,
            "requester": t.requester_id,
            "status": t.status,
            "priority": t.priority,
            "queue": t.queue,
            "assignee": t.assignee_id,
            "title": t.title,
            "source": t.source,  # "logged": reached IT outside the desk (a bypass)
            "created_at": t.created_at.isoformat(),
        }
        for t in found
    ]
    if args.format == "json":
        print_json(rows)
    else:
        print_table(
            rows, ["number", "service", "requester", "status", "priority", "assignee", "title"]
        )
    return 0


def ticket_request(desk: Desk, args: argparse.Namespace) -> finder.Request:
    """The --search words and the filters, checked as /find checks them."""
    now = desk.clock.now()
    filters = Filters(
        statuses=[s for raw in args.status for s in finder.parse_statuses(raw)]
        if args.status
        else None,
        queues=[finder.parse_queue(desk, q) for q in args.queue] if args.queue else None,
        since=finder.parse_since(args.since, now) if args.since else None,
    )
    if args.requester:
        person = find_person(desk, args.requester)
        if person is None:
            raise finder.BadFilter("search.unknown_person", who=args.requester)
        filters = replace(filters, requester_id=person.id)
    return finder.Request(args.search or "", filters)


def print_found(
    desk: Desk, session: Session, request: finder.Request, args: argparse.Namespace
) -> int:
    if request.empty:
        print("error: --search needs a word to look for", file=sys.stderr)
        return 2
    found = finder.find(session, request, limit=args.limit or SEARCH_LIMIT)
    rows = finder.rows(desk, session, found, "en")
    if args.format == "json":
        print_json(
            {
                "total": found.total,
                "tickets": [
                    finder.as_record(t, row, rank)
                    for rank, (t, row) in enumerate(zip(found.tickets, rows, strict=True), 1)
                ],
            }
        )
        return 0
    table = [
        {
            "number": t.number,
            "status": t.status,
            "queue": t.queue,
            "requester": t.requester_id,
            "title": t.title,
            "snippet": finder.plain(row["snippet"]),
        }
        for t, row in zip(found.tickets, rows, strict=True)
    ]
    print_table(table, ["number", "status", "queue", "requester", "title", "snippet"])
    if found.total > len(table):
        print(f"({found.total - len(table)} more; raise --limit or add filters)")
    return 0


def catalog(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    services = load_content(settings).catalog
    rows = [
        {
            "id": j.id,
            "type": j.type,
            "queue": j.queue,
            "steps": len(j.steps),
            "title": j.title.get("en"),
        }
        for j in services
    ]
    if args.format == "json":
        print_json(rows)
    else:
        print_table(rows, ["id", "type", "queue", "steps", "title"])
    return 0


def audit(args: argparse.Namespace) -> int:
    """Print a ticket's audit timeline: who did what, when, from which status to which."""
    if args.people is not None:
        return people_audit(args)
    if not args.number:
        print("error: name a ticket (e.g. IT-1042), or --people", file=sys.stderr)
        return 2
    desk = desk_from(args)
    try:
        with desk.store.read() as session:
            ticket = repo.get_ticket(session=session, number=args.number)
            if ticket is None or ticket.id is None:
                print(f"error: no ticket {args.number.upper()}", file=sys.stderr)
                return 1
            events = repo.events_of(session=session, ticket_id=ticket.id)
    finally:
        desk.store.dispose()
    rows = [
        {
            "at": e.at.isoformat(timespec="seconds"),
            "who": e.actor_id or "-",
            "event": e.kind,
            "from": e.from_status or "",
            "to": e.to_status or "",
            "note": e.note.replace("\n", " "),
            "detail": " ".join(f"{k}={v}" for k, v in sorted(e.data.items()) if v is not None),
            "data": e.data,
        }
        for e in events
    ]
    if args.format == "json":
        print_json({"number": ticket.number, "status": ticket.status, "events": rows})
    else:
        print(f"{ticket.number}: {ticket.title} [{ticket.status}]")
        print_table(rows, ["at", "who", "event", "from", "to", "note", "detail"])
    return 0


def people_audit(args: argparse.Namespace) -> int:
    """`deskbot audit --people [ID]`: adds, updates (old -> new), deactivations,
    reactivations and refused syncs, oldest first."""
    settings = settings_from(args)
    store = open_store(settings)
    try:
        with store.read() as session:
            events = audit_repo.events(
                session=session, person_id=args.people or None, limit=max(1, args.limit)
            )
    finally:
        store.dispose()
    rows = [
        {
            "at": e.at.isoformat(timespec="seconds"),
            "person": e.person_id,
            "event": e.kind,
            "source": e.source,
            "by": e.actor,
            "changes": e.changes,
            "note": e.note,
        }
        for e in events
    ]
    if args.format == "json":
        print_json({"person": args.people or None, "events": rows})
        return 0
    for row in rows:
        changes = row["changes"]
        assert isinstance(changes, dict)
        row["person"] = row["person"] or "-"
        row["detail"] = "; ".join(
            f"{f}: {old or '-'} -> {new or '-'}" for f, (old, new) in sorted(changes.items())
        ) or str(row["note"])
    print_table(rows, ["at", "person", "event", "source", "by", "detail"])
    return 0
