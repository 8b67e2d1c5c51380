"""`deskbot directory sync`: people from LDAP / Active Directory, from what an identity
provider pushed over SCIM, and from the CSV (bot/directory_sync.py)."""

from __future__ import annotations

import argparse
import sys

from bot import directory_sync
from bot.app import build_desk, require_current_schema
from bot.base.config import Settings
from bot.base.yamlfile import ProblemsError
from bot.cli.common import add_config, add_format, print_json, settings_from
from bot.directory import people_path
from bot.directory_sync import SyncReport, sync
from bot.leavers import Handover
from store.db import Store
from store.migrate import current, head


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("directory", help="people from LDAP / Active Directory, SCIM and the CSV")
    actions = p.add_subparsers(dest="action", metavar="ACTION")
    actions.required = True
    s = actions.add_parser(
        "sync",
        help="read the sources and replace the synced people (adds, updates, deactivations)",
    )
    add_config(s)
    add_format(s)
    s.add_argument("--dry-run", action="store_true", help="print what would change; change nothing")
    s.set_defaults(func=directory_sync_command)


def _print(report: SyncReport, dry_run: bool) -> None:
    for pid in report.adds:
        print(f"add         {pid}")
    for update in report.updates:
        changes = update["changes"]
        assert isinstance(changes, dict)
        shown = ", ".join(f"{f}: {old!r} -> {new!r}" for f, (old, new) in changes.items())
        print(f"update      {update['id']} ({shown})")
    for pid in report.deactivations:
        print(f"deactivate  {pid}")
    for pid in report.reactivations:
        print(f"reactivate  {pid}")
    for problem in report.problems:
        print(f"problem     {problem}")
    if report.refused:
        print(f"refused: {report.refused}")
    elif dry_run:
        print(f"dry run: nothing written ({report.people} active people)")
    elif not report.changes:
        print(f"nothing changed: {report.people} active people")
    else:
        print(f"synced: {report.people} active people")


def open_store(settings: Settings) -> Store:
    """The database the audit goes to, at the code's schema (SQLite is upgraded here)."""
    store = Store(
        settings.database.url,
        base_dir=settings.base_dir,
        busy_timeout=settings.database.busy_timeout.total_seconds(),
    )
    if store.is_sqlite:
        store.upgrade()
    have, want = current(store), head(store)
    if have != want:
        store.dispose()
        message = (
            f"database schema is at {have or 'nothing'}, code needs {want}; "
            "run `deskbot db upgrade`"
        )
        raise ProblemsError([settings.problem(("database", "url"), message)])
    return store


def _print_handover(handover: Handover) -> None:
    for h in handover.approvals:
        where = f" ({h.ticket})" if h.ticket else ""
        to = h.to or ("its group" if h.why == "group" else "nobody: no delegate or manager left")
        print(f"approval    #{h.approval}{where} of {h.requester}: {h.previous} -> {to} ({h.why})")
    for r in handover.released:
        print(f"released    {r.ticket} ({r.person} left) back to {r.queue}")
    if handover.withheld:
        print(f"withheld    {handover.withheld} message(s) to people who left")


def directory_sync_command(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    # Before the first sync there is nobody to tell, nor anything to hand on.
    first = not people_path(settings).exists()
    store = open_store(settings)
    try:
        report = sync(settings, store, dry_run=args.dry_run, actor="cli")
    finally:
        store.dispose()
    handover = Handover()
    # Only a new problem, a leaver or a mover needs the desk loaded (everyone, 50,000
    # people in seconds); new titles or groups need nothing handed on.
    if not first and (report.new_problem or not report.people_changes().empty):
        handover = _follow_up(settings, report)
    if args.format == "json":
        print_json({**report.as_dict(), "dry_run": args.dry_run, "handover": handover.as_dict()})
    else:
        _print(report, args.dry_run)
        _print_handover(handover)
    return 1 if report.refused else 0


def _follow_up(settings: Settings, report: SyncReport) -> Handover:
    """What `deskbot serve` does after its own syncs: tell the admins about a new problem,
    hand a leaver's and a mover's work on. It needs the whole desk (texts, the people
    loaded), so only then; never a request, so its matcher is not trained, nor are
    knowledge articles from the store loaded into it."""
    try:
        desk = build_desk(settings, needs_store=False, train=False)
    except ProblemsError as exc:
        print(f"note: the admins were not told ({exc.problems[0]})", file=sys.stderr)
        return Handover()
    try:
        require_current_schema(desk)
        if report.new_problem:
            directory_sync.alert_admins(desk, report)
        if report.written:
            return directory_sync.applied(desk, report).handover
        return Handover()
    finally:
        desk.store.dispose()
