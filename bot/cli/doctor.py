"""`deskbot doctor`: check everything deskbot needs to run here and say what to fix.

Config and content, the database and its schema, the attachment store, each chat
platform's tokens and triage places (asked of the platform itself), time zones,
business-hours calendars and the ops listener. Exit status 1 when anything is wrong, so it
can gate a deployment.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import zoneinfo
from datetime import UTC, date, datetime
from pathlib import Path

from bot import checkup
from bot.app import load_config
from bot.base.config import Settings
from bot.base.findings import Finding, good, problem
from bot.base.yamlfile import ProblemsError, expand_env, load_yaml
from bot.cli.common import add_config, add_format, print_json
from bot.content import load_content
from bot.directory import Person
from bot.serve import probe_platforms


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "doctor", help="check config, database, Slack/Telegram, calendars; say what to fix"
    )
    add_config(p)
    add_format(p)
    p.set_defaults(func=doctor)


def doctor(args: argparse.Namespace) -> int:
    findings = diagnose(Path(args.config), dict(os.environ), datetime.now(UTC).date())
    problems = [f for f in findings if not f.ok]
    if args.format == "json":
        print_json({"ok": not problems, "checks": [f.as_dict() for f in findings]})
    else:
        width = max(len(f.check) for f in findings)
        for f in findings:
            print(f"{'OK' if f.ok else 'PROBLEM':8} {f.check:{width}}  {f.detail}")
            if f.fix:
                print(f"{'':8} {'':{width}}  fix: {f.fix}")
        count = len(problems)
        print(
            f"\n{count} problem{'s' if count != 1 else ''} found."
            if count
            else "\nEverything deskbot needs is in order."
        )
    return 1 if problems else 0


def diagnose(path: Path, environ: dict[str, str], today: date) -> list[Finding]:
    try:
        settings = load_config(path, environ)
    except ProblemsError as exc:
        return [_config_problem(str(p)) for p in exc.problems]
    found = [good("config", f"{settings.source} is valid")]
    people: list[Person] = []
    try:
        loaded = load_content(settings)
    except ProblemsError as exc:
        found += [
            problem("content", str(p), "fix that line, then run `deskbot check`")
            for p in exc.problems
        ]
    else:
        people = list(loaded.directory)
        found.append(
            good(
                "content",
                f"{len(people)} people, {len(loaded.catalog)} services, "
                f"{len(loaded.intents)} intents, {len(loaded.replies)} canned replies",
            )
        )
    found += checkup.database(settings)
    found += checkup.file_store(settings)
    found += asyncio.run(probe_platforms(settings))
    found += checkup.time_zones(settings, people)
    found += checkup.calendars(settings, today)
    found += checkup.ops_listener(ops_http(settings, path, environ))
    found += checkup.scim_listener(settings)
    return found


def _config_problem(text: str) -> Finding:
    if "unknown timezone" in text and not zoneinfo.available_timezones():
        return problem("config", text, checkup.TZDATA)
    return problem("config", text, "fix that line (see docs/configuration.md)")


def ops_http(settings: Settings, path: Path, environ: dict[str, str]) -> object:
    """`ops.http` from the settings when this release has it, else from the file itself
    (read here on its own, so the check does not depend on how the setting is modelled)."""
    ops = getattr(settings, "ops", None)
    if ops is not None:
        return getattr(ops, "http", None)
    try:
        doc = load_yaml(path)
    except ProblemsError:
        return None
    expand_env(doc, environ)
    raw = doc.data.get("ops") if isinstance(doc.data, dict) else None
    return raw.get("http") if isinstance(raw, dict) else None
