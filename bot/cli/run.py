"""`deskbot serve` and `deskbot chat`."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

from bot.adapters.console import run_console
from bot.app import build_desk, engine_in_processes
from bot.base import logformat
from bot.base.config import Settings, with_log_format
from bot.chat.engine import Engine
from bot.cli.common import add_config, settings_from
from bot.cli.directory import open_store
from bot.desk import Desk
from bot.directory import people_path
from bot.directory_sync import sync
from bot.insight import delivery
from bot.processes import start_fork_server
from bot.serve import run_service


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("serve", help="run the bot on every configured channel")
    add_config(p)
    add_log_format(p)
    p.set_defaults(func=serve)

    p = sub.add_parser("chat", help="talk to the bot in the terminal as a person")
    add_config(p)
    p.add_argument("--as", dest="person", required=True, help="person id from the directory")
    add_log_format(p)
    p.set_defaults(func=chat)


def add_log_format(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--log-format",
        choices=logformat.FORMATS,
        default=None,
        help="log lines as text or json (default: logging.format in config.yaml)",
    )


def first_sync(settings: Settings) -> None:
    """With `directory.every`, serve syncs people itself; before the first sync there are no
    people to build the desk on, so that one runs here (a refusal is printed, and the desk
    then says no people were synced yet)."""
    directory = settings.directory
    if not directory.from_sync or directory.every is None or people_path(settings).exists():
        return
    store = open_store(settings)
    try:
        report = sync(settings, store, actor="serve")
    finally:
        store.dispose()
    if report.refused:
        print(f"error: the first directory sync changed nothing: {report.refused}", file=sys.stderr)
        for problem in report.problems:
            print(f"  {problem}", file=sys.stderr)


def logged_desk(args: argparse.Namespace) -> Desk:
    """The desk, with logging switched to config.yaml's format and level (or the command
    line's) before it is built, so every line of the run, a child process's too, is alike."""
    settings = with_log_format(settings_from(args), args.log_format)
    verbose = getattr(args, "verbose", False)
    level = None if verbose else logging.getLevelNamesMapping()[settings.logging.level.upper()]
    logformat.use(settings.logging.format, level)
    return build_desk(settings)


def serve(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    if engine_in_processes(settings, platform_on=settings.channels.platform_on):
        start_fork_server()  # it imports deskbot while this process syncs and builds its desk
    first_sync(settings)
    desk = logged_desk(args)
    return asyncio.run(run_service(desk, Engine(desk)))


def chat(args: argparse.Namespace) -> int:
    desk = logged_desk(args)
    if desk.directory.get(args.person) is None:
        known = ", ".join(sorted(desk.directory.people))
        print(f"error: '{args.person}' is not in the people directory (known: {known})")
        return 2
    # No scheduler runs here: the `/report`s asked for are built as the console delivers.
    return run_console(
        desk, Engine(desk), args.person, chores=lambda: delivery.process_requests(desk, "chat")
    )
