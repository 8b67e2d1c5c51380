"""Administration commands: check, db, people, tickets, catalog, audit."""

from __future__ import annotations

import argparse
import sys

from bot.cli.common import add_config, add_format, desk_from, print_json, print_table, settings_from
from bot.content import load_content
from store import tickets as repo
from store.db import Store
from store.migrate import current, head, upgrade


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("check", help="validate config.yaml, people, catalog and texts")
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
    p.set_defaults(func=tickets)

    p = sub.add_parser("catalog", help="list the services in the catalog")
    add_config(p)
    add_format(p)
    p.set_defaults(func=catalog)

    p = sub.add_parser("audit", help="print a ticket's audit timeline")
    add_config(p)
    add_format(p)
    p.add_argument("number", help="ticket number, e.g. IT-1042")
    p.set_defaults(func=audit)


def check(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    directory, _texts, services, intents = load_content(settings)
    print(
        f"ok: {settings.source}: {len(directory.people)} people, {len(services)} services, "
        f"{len(intents)} intents, {len(settings.queues)} queues"
    )
    return 0


def db(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    store = Store(settings.database.url, base_dir=settings.base_dir)
    if args.action == "upgrade":
        upgrade(store)
    print(f"schema: {current(store) or 'empty'} (head: {head(store)})")
    return 0


def people(args: argparse.Namespace) -> int:
    desk = desk_from(args, migrate=False)
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
        with desk.store.read() as session:
            found = repo.list_tickets(session=session, statuses=args.status)
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


def catalog(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    _directory, _texts, services, _intents = load_content(settings)
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
