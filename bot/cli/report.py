"""`deskbot report`: the service-insight figures for a period, as a table, JSON or CSV."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.base.config import parse_duration
from bot.cli.common import add_config, desk_from
from bot.insight import charts, render
from bot.insight.changes import change_figures, change_table
from bot.insight.metrics import build_report, report_timezone


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("report", help="service insight: usage, self-service, SLA, CSAT, matcher")
    add_config(p)
    p.add_argument(
        "--since",
        help="how far back: a duration (30d, 4w; default insight.since) or a date (2026-10-01)",
    )
    p.add_argument("--until", help="end of the period: a date or ISO time (default: now)")
    p.add_argument("--format", choices=["table", "json", "csv"], default="table")
    p.add_argument("--chart", type=Path, metavar="FILE.png", help="also draw the weekly trends")
    p.add_argument("--lang", choices=["en", "zh"], help="language of the table and chart")
    p.set_defaults(func=report)


def parse_moment(value: str, tz: str) -> datetime:
    """A date (midnight at its start, in the report's timezone) or an ISO date and time."""
    try:
        day = date.fromisoformat(value)
    except ValueError:
        moment = datetime.fromisoformat(value)
        return moment if moment.tzinfo else moment.replace(tzinfo=ZoneInfo(tz))
    return datetime.combine(day, datetime.min.time(), ZoneInfo(tz))


def period(
    raw_since: str | None, raw_until: str | None, default: timedelta, now: datetime, tz: str
) -> tuple[datetime, datetime]:
    """[start, end) from --since and --until; ValueError with a readable message."""
    end = parse_moment(raw_until, tz) if raw_until else now
    if not raw_since:
        start = end - default
    else:
        try:
            start = end - parse_duration(raw_since)
        except ValueError:
            try:
                start = parse_moment(raw_since, tz)
            except ValueError:
                raise ValueError(
                    f"--since '{raw_since}' is neither a duration (30d, 4w) nor a date (2026-10-01)"
                ) from None
    if start >= end:
        raise ValueError("the period is empty: --since must be before --until")
    return start, end


def report(args: argparse.Namespace) -> int:
    desk = desk_from(args)
    try:
        tz = report_timezone(desk)
        try:
            start, end = period(
                args.since, args.until, desk.settings.insight.since, desk.clock.now(), tz
            )
        except ValueError as exc:
            print(f"deskbot report: {exc}", file=sys.stderr)
            return 2
        lang = args.lang or desk.settings.language
        with desk.store.read() as session:
            result = build_report(desk, session, start, end)
            changed = change_figures(desk, session, start, end)
        if args.format == "json":
            data = {**result.as_dict(), "changes": changed.as_dict()}
            json.dump(data, sys.stdout, ensure_ascii=False, indent=2)
            sys.stdout.write("\n")
        elif args.format == "csv":
            sys.stdout.write(render.to_csv(result))
        else:
            sys.stdout.write(render.table(desk, lang, result))
            sys.stdout.write("\n" + change_table(desk, lang, changed))
        if args.chart:
            charts.draw(desk, result, args.chart, lang)
            print(f"chart: {args.chart}", file=sys.stderr)
        return 0
    finally:
        desk.store.dispose()
