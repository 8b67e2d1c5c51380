"""Helpers shared by the subcommands: loading the desk, printing tables and JSON."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from bot.app import build_desk, load_config
from bot.base.config import Settings
from bot.desk import Desk


def add_config(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config", type=Path, default=argparse.SUPPRESS, help="path to config.yaml"
    )


def add_format(parser: argparse.ArgumentParser, choices: Sequence[str] = ("table", "json")) -> None:
    parser.add_argument("--format", choices=list(choices), default="table")


def settings_from(args: argparse.Namespace) -> Settings:
    return load_config(Path(args.config))


def desk_from(
    args: argparse.Namespace, *, migrate: bool | None = None, needs_store: bool = True
) -> Desk:
    return build_desk(settings_from(args), migrate=migrate, needs_store=needs_store)


def with_desk(
    work: Callable[[argparse.Namespace, Desk], int],
) -> Callable[[argparse.Namespace], int]:
    """A command that runs `work` on the configured desk, then closes its database
    connections at once (PostgreSQL would otherwise keep them until the process exits)."""

    def run(args: argparse.Namespace) -> int:
        desk = desk_from(args)
        try:
            return work(args, desk)
        finally:
            desk.store.dispose()

    return run


def print_json(data: Any) -> None:
    json.dump(data, sys.stdout, ensure_ascii=False, indent=2, default=str)
    sys.stdout.write("\n")


def print_table(rows: list[dict[str, Any]], columns: Sequence[str]) -> None:
    if not rows:
        print("(none)")
        return
    cells = [
        [str(row.get(c, "") if row.get(c) is not None else "") for c in columns] for row in rows
    ]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    print("  ".join(c.upper().ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip())
    for r in cells:
        print("  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip())
