"""`deskbot backup FILE` and `deskbot restore FILE` (store/backup.py)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from bot.cli.common import add_config, add_format, print_json, settings_from
from store import backup as dump
from store.db import Store, is_outage


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("backup", help="write every table to FILE (safe while `deskbot serve` runs)")
    add_config(p)
    add_format(p)
    p.add_argument("file", type=Path, help="the backup to write, e.g. deskbot-2026-12-05.jsonl.gz")
    p.set_defaults(func=backup)

    p = sub.add_parser("restore", help="load a backup FILE into an empty database")
    add_config(p)
    add_format(p)
    p.add_argument("file", type=Path, help="a file written by `deskbot backup`")
    p.set_defaults(func=restore)


def backup(args: argparse.Namespace) -> int:
    return _run(args, dump.backup, "backed up")


def restore(args: argparse.Namespace) -> int:
    return _run(args, dump.restore, "restored")


def _run(args: argparse.Namespace, work: Callable[[Store, Path], dump.Summary], done: str) -> int:
    settings = settings_from(args)
    store = Store(
        settings.database.url,
        base_dir=settings.base_dir,
        busy_timeout=settings.database.busy_timeout.total_seconds(),
    )
    try:
        summary = work(store, args.file)
    except dump.BackupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"error: {args.file}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    except Exception as exc:
        if not is_outage(exc):
            raise
        print(
            f"error: the database cannot be reached ({_first_line(exc)}); nothing was "
            f"{done}. Check database.url / DATABASE_URL and try again.",
            file=sys.stderr,
        )
        return 1
    finally:
        store.dispose()
    if args.format == "json":
        print_json({"file": str(args.file), "revision": summary.revision, "tables": summary.tables})
    else:
        print(
            f"{done} {summary.rows} rows in {len(summary.tables)} tables "
            f"(schema {summary.revision}): {args.file}"
        )
    return 0


def _first_line(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None) or exc
    lines = str(orig).strip().splitlines()
    return lines[0] if lines else type(orig).__name__
