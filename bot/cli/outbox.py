"""`deskbot outbox`: what waits to be delivered, dead letters, and sending them again."""

from __future__ import annotations

import argparse

from bot.cli.common import add_config, add_format, print_json, print_table, with_desk
from bot.desk import Desk
from store import outbox as repo
from store import timers as timer_repo


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("outbox", help="outgoing messages: status, dead letters, retry")
    add_config(p)
    add_format(p)
    p.add_argument(
        "action",
        nargs="?",
        default="status",
        choices=["status", "dead", "retry"],
        help="status (default), dead (list dead letters) or retry (send dead letters again)",
    )
    p.add_argument("ids", nargs="*", type=int, help="dead letter ids to retry (default: all)")
    p.set_defaults(func=outbox)


def outbox(args: argparse.Namespace) -> int:
    # SQLite is brought up to date; PostgreSQL must be already. The connections are closed
    # when it is done (PostgreSQL would otherwise keep them until the process exits).
    return with_desk(_outbox)(args)


def _outbox(args: argparse.Namespace, desk: Desk) -> int:
    now = desk.clock.now()
    if args.action == "retry":
        with desk.store.begin() as session:
            count = repo.requeue(session=session, message_ids=args.ids or None, now=now)
        print(f"{count} dead letter{'s' if count != 1 else ''} queued again")
        return 0
    with desk.store.read() as session:
        if args.action == "dead":
            rows = [
                {
                    "id": r.id,
                    "channel": r.channel,
                    "conversation": r.conversation,
                    "person": r.person_id,
                    "ticket": r.ticket,
                    # The turn that queued it: `grep` the logs for it (docs/operations.md).
                    "correlation": r.correlation_id,
                    "attempts": r.attempts,
                    "created": r.created_at.isoformat(timespec="seconds"),
                    "error": (r.last_error or "")[:80],
                }
                for r in repo.dead_letters(session=session)
            ]
            columns = [
                "id",
                "channel",
                "conversation",
                "person",
                "ticket",
                "correlation",
                "attempts",
                "created",
                "error",
            ]
        else:
            stats = repo.stats(session=session)
            runs = timer_repo.last_runs(session=session, limit=1)
            rows = [
                {
                    "pending": stats.counts.get("pending", 0),
                    "sent": stats.counts.get("sent", 0),
                    "dead": stats.counts.get("dead", 0),
                    # To people who left: kept, never sent (bot/leavers.py).
                    "withheld": stats.counts.get("withheld", 0),
                    "oldest_pending": stats.oldest_pending.isoformat(timespec="seconds")
                    if stats.oldest_pending
                    else "",
                    "timers_pending": timer_repo.pending_count(session=session),
                    "last_sweep": runs[0].started_at.isoformat(timespec="seconds") if runs else "",
                }
            ]
            columns = [
                "pending",
                "sent",
                "dead",
                "withheld",
                "oldest_pending",
                "timers_pending",
                "last_sweep",
            ]
    if args.format == "json":
        print_json(rows)
    else:
        print_table(rows, columns)
    return 0
