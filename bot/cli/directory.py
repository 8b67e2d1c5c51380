"""`deskbot directory sync`: people from LDAP / Active Directory (bot/directory_sync.py)."""

from __future__ import annotations

import argparse

from bot.cli.common import add_config, add_format, print_json, settings_from
from bot.directory_sync import SyncReport, sync


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("directory", help="people from LDAP / Active Directory")
    actions = p.add_subparsers(dest="action", metavar="ACTION")
    actions.required = True
    s = actions.add_parser(
        "sync", help="read LDAP and replace the synced people (adds, updates, deactivations)"
    )
    add_config(s)
    add_format(s)
    s.add_argument("--dry-run", action="store_true", help="print what would change; change nothing")
    s.set_defaults(func=directory_sync)


def _print(report: SyncReport, dry_run: bool) -> None:
    for pid in report.adds:
        print(f"add         {pid}")
    for update in report.updates:
        fields = ", ".join(str(f) for f in update["fields"])  # type: ignore[attr-defined]
        print(f"update      {update['id']} ({fields})")
    for pid in report.deactivations:
        print(f"deactivate  {pid}")
    for problem in report.problems:
        print(f"problem     {problem}")
    if report.refused:
        print(f"refused: {report.refused}")
    elif dry_run:
        print(f"dry run: nothing written ({report.people} active people)")
    else:
        print(f"synced: {report.people} active people")


def directory_sync(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    report = sync(settings, dry_run=args.dry_run)
    if args.format == "json":
        print_json({**report.as_dict(), "dry_run": args.dry_run})
    else:
        _print(report, args.dry_run)
    return 1 if report.refused else 0
