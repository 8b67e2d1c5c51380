"""`deskbot attachments prune [--dry-run]`: remove stored files no ticket refers to (the same
operation the scheduler runs every `attachments.prune_every`)."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime

from bot.attachments import prune
from bot.base.filestore import StoreUnavailable, open_store
from bot.cli.common import add_config, add_format, print_json, with_desk
from bot.desk import Desk


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("attachments", help="the attachment store: remove unreferenced files")
    add_config(p)
    add_format(p)
    p.add_argument("action", choices=["prune"], help="prune: remove files no ticket refers to")
    p.add_argument(
        "--dry-run", action="store_true", help="list what would be removed; remove nothing"
    )
    p.set_defaults(func=with_desk(attachments))


def attachments(args: argparse.Namespace, desk: Desk) -> int:
    keep = desk.settings.attachments.keep_unreferenced
    try:
        where = open_store(desk.settings).where
        done = prune(desk, datetime.now(UTC), dry_run=args.dry_run)
    except StoreUnavailable as exc:
        print(f"error: {exc}", file=sys.stderr)
        print("fix: check attachments: in config.yaml, or run `deskbot doctor`", file=sys.stderr)
        return 1
    verb = "would remove" if args.dry_run else "removed"
    if args.format == "json":
        print_json(
            {
                "store": where,
                "dry_run": args.dry_run,
                "listed": done.listed,
                "referenced": done.referenced,
                "younger_than_limit": done.young,
                "removed": [
                    {"path": f.path, "size": f.size, "modified": f.modified.isoformat()}
                    for f in done.removed
                ],
            }
        )
        return 0
    for f in done.removed:
        print(f"{verb} {f.path} ({f.size} bytes, stored {f.modified:%Y-%m-%d %H:%M})")
    size = sum(f.size for f in done.removed)
    print(
        f"{where}: {done.listed} files, {done.referenced} referenced, {done.young} unreferenced "
        f"but younger than {keep}; {verb} {len(done.removed)} ({size} bytes)"
    )
    return 0
