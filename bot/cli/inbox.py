"""`deskbot inbox`: messages from people that could not be handled (dead letters)."""

from __future__ import annotations

import argparse

from bot.cli.common import add_config, add_format, desk_from, print_json, print_table
from store import inbox as repo

TEXT_CHARS = 60  # of each message in the table; --format json has it whole


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("inbox", help="messages that could not be handled (dead letters)")
    add_config(p)
    add_format(p)
    p.set_defaults(func=inbox)


def inbox(args: argparse.Namespace) -> int:
    desk = desk_from(args)
    try:
        with desk.store.read() as session:
            rows = [
                {
                    "id": m.id,
                    "at": m.at.isoformat(timespec="seconds"),
                    "channel": m.channel,
                    "person": m.person_id,
                    "conversation": m.conversation,
                    "event": m.event_id or "",
                    "text": m.text if args.format == "json" else m.text[:TEXT_CHARS],
                    "action": m.action or "",
                    "error": m.error if args.format == "json" else m.error[:TEXT_CHARS],
                }
                for m in repo.dead_messages(session)
            ]
    finally:
        desk.store.dispose()
    if args.format == "json":
        print_json(rows)
    else:
        print_table(rows, ["id", "at", "channel", "person", "text", "error"])
    return 0
