"""`deskbot serve` and `deskbot chat`."""

from __future__ import annotations

import argparse
import asyncio

from bot.adapters.console import run_console
from bot.chat.engine import Engine
from bot.cli.common import add_config, desk_from
from bot.serve import run_service


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("serve", help="run the bot on every configured channel")
    add_config(p)
    p.set_defaults(func=serve)

    p = sub.add_parser("chat", help="talk to the bot in the terminal as a person")
    add_config(p)
    p.add_argument("--as", dest="person", required=True, help="person id from the directory")
    p.set_defaults(func=chat)


def serve(args: argparse.Namespace) -> int:
    desk = desk_from(args)
    return asyncio.run(run_service(desk, Engine(desk)))


def chat(args: argparse.Namespace) -> int:
    desk = desk_from(args)
    if desk.directory.get(args.person) is None:
        known = ", ".join(sorted(desk.directory.people))
        print(f"error: '{args.person}' is not in the people directory (known: {known})")
        return 2
    return run_console(desk, Engine(desk), args.person)
