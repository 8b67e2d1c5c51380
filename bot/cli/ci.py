"""`deskbot ci show NAME [--format json]`: what is known about a configuration item (its
open tickets, recent changes, problems, owner and relations; docs/cis.md)."""

from __future__ import annotations

import argparse
import sys

from bot import ci_tickets
from bot.base.markup import to_plain
from bot.cli.common import add_config, add_format, print_json, with_desk
from bot.desk import Desk


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("ci", help="configuration items: what is known about one")
    add_config(p)
    actions = p.add_subparsers(dest="action", metavar="ACTION")
    actions.required = True
    show = actions.add_parser(
        "show", help="an item's open tickets, recent changes, problems, owner and relations"
    )
    add_config(show)
    add_format(show, ("text", "json"))
    show.add_argument("name", nargs="+", help="the item's id, name or alias, e.g. vpn")
    show.set_defaults(func=with_desk(_show))


def _show(args: argparse.Namespace, desk: Desk) -> int:
    name = " ".join(args.name)
    cmdb = desk.content.cis
    item = cmdb.find(name)  # exactly, as /ci NAME: a near miss gets suggestions
    lang = desk.settings.language
    if item is None:
        said = desk.texts.render(lang, "ci.unknown", name=name, suggestions=cmdb.similar(name))
        print(f"error: {to_plain(said)}", file=sys.stderr)
        return 2
    with desk.store.read() as session:
        record = ci_tickets.as_record(desk, ci_tickets.report(desk, session, item), lang)
    if args.format == "json":
        print_json(record)
    else:
        print(to_plain(desk.texts.render(lang, "ci.show", **record)))
    return 0
