"""`deskbot link PERSON`: give someone a one-time code to link their Telegram account."""

from __future__ import annotations

import argparse
import sys

from bot import linking
from bot.base.config import parse_duration
from bot.cli.common import add_config, with_desk
from bot.desk import Desk
from store import links


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "link",
        help="issue a one-time code that links a person's chat account (or --revoke it)",
    )
    add_config(p)
    p.add_argument("person", help="person id from the directory")
    p.add_argument("--channel", choices=list(linking.LINKABLE), default="telegram")
    p.add_argument(
        "--ttl", default="15m", help="how long the code stays valid (e.g. 15m, 2h; default 15m)"
    )
    p.add_argument(
        "--revoke", action="store_true", help="forget the person's linked account instead"
    )
    p.set_defaults(func=link)


def _link(args: argparse.Namespace, desk: Desk) -> int:
    person = desk.directory.get(args.person)
    if person is None:
        print(f"error: '{args.person}' is not in the people directory", file=sys.stderr)
        return 2
    try:
        ttl = parse_duration(args.ttl)
    except ValueError as exc:
        print(f"error: --ttl: {exc}", file=sys.stderr)
        return 2
    now = desk.clock.now()
    with desk.store.begin() as session:
        if args.revoke:
            removed = links.unlink(session=session, channel=args.channel, person_id=person.id)
            print(
                f"{person.name} ({person.id}): {removed} linked {args.channel} account(s) removed"
            )
            return 0
        code = linking.issue_code(
            session=session,
            person_id=person.id,
            channel=args.channel,
            now=now,
            issued_by="admin-cli",
            ttl=ttl,
        )
    expires = (now + ttl).strftime("%Y-%m-%d %H:%M UTC")
    print(f"Code for {person.name} ({person.id}) on {args.channel}: {code}")
    print(f"Single use, expires {expires}. They send /link {code} to the bot in a private chat.")
    return 0


link = with_desk(_link)
