"""`deskbot kb`: knowledge articles made in chat from resolutions (`/kb IT-1042`)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sqlmodel import col, select

from bot import known_errors
from bot.cli.common import add_config, add_format, desk_from, print_json, print_table
from store.models import KnowledgeArticle, Ticket


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("kb", help="knowledge articles made in chat from resolved tickets")
    add_config(p)
    actions = p.add_subparsers(dest="action", metavar="ACTION")
    actions.required = True
    listing = actions.add_parser("list", help="list them (active and retired)")
    add_config(listing)
    add_format(listing)
    listing.set_defaults(func=list_articles)
    export = actions.add_parser(
        "export", help="write the active ones as Markdown files (<folder>/<lang>/<id>.md)"
    )
    add_config(export)
    export.add_argument("folder", type=Path, help="e.g. content/kb, to keep them with the files")
    export.set_defaults(func=export_articles)
    retire = actions.add_parser("retire", help="stop offering one (it stays in the store)")
    add_config(retire)
    retire.add_argument("id", help="the article id, e.g. ke-it-1042")
    retire.set_defaults(func=retire_article)


def _rows(args: argparse.Namespace) -> list[dict[str, object]]:
    desk = desk_from(args)
    try:
        with desk.store.read() as session:
            stmt = (
                select(KnowledgeArticle, Ticket.number)
                .join(Ticket, col(Ticket.id) == col(KnowledgeArticle.ticket_id), isouter=True)
                .order_by(col(KnowledgeArticle.id))
            )
            return [
                {
                    "id": row.article_id,
                    "status": row.status,
                    "language": row.language,
                    "title": row.title,
                    "services": list(row.services),
                    "keywords": list(row.keywords),
                    "ticket": number,
                    "by": row.created_by,
                    "updated": row.updated_at.isoformat(),
                    "body": row.body,
                    "markdown": known_errors.as_markdown(row),
                }
                for row, number in session.exec(stmt).all()
            ]
    finally:
        desk.store.dispose()


def list_articles(args: argparse.Namespace) -> int:
    rows = _rows(args)
    if args.format == "json":
        print_json([{k: v for k, v in r.items() if k != "markdown"} for r in rows])
    else:
        print_table(
            [{**r, "services": ", ".join(r["services"])} for r in rows],  # type: ignore[arg-type]
            ("id", "status", "ticket", "title", "services", "updated"),
        )
    return 0


def export_articles(args: argparse.Namespace) -> int:
    written = 0
    for row in _rows(args):
        if row["status"] != "active":
            continue
        path = args.folder / str(row["language"]) / f"{row['id']}.md"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(str(row["markdown"]), encoding="utf-8")
        print(path)
        written += 1
    print(f"{written} article(s) written", file=sys.stderr)
    return 0


def retire_article(args: argparse.Namespace) -> int:
    desk = desk_from(args)
    try:
        with desk.store.begin() as session:
            done = known_errors.retire(session, args.id, desk.clock.now())
    finally:
        desk.store.dispose()
    if not done:
        print(f"deskbot kb: no article {args.id} (see `deskbot kb list`)", file=sys.stderr)
        return 1
    print(f"retired {args.id}: self-help stops offering it within insight.every")
    return 0
