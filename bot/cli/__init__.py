"""The `deskbot` command line. Each module in this package adds its own subcommands."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from bot.base import logformat
from bot.base.yamlfile import ProblemsError
from bot.cli import (
    admin,
    attachments,
    backup,
    ci,
    directory,
    doctor,
    inbox,
    intents,
    kb,
    link,
    outbox,
    report,
    run,
    simulate,
)

# Modules that define `register(subparsers)`; add new command groups here.
# Each subcommand's module, in the order `deskbot --help` lists them.
COMMAND_MODULES = (
    run,
    admin,
    directory,
    doctor,
    backup,
    simulate,
    link,
    outbox,
    inbox,
    attachments,
    intents,
    report,
    kb,
    ci,
)


def default_config() -> Path:
    return Path(os.environ.get("DESKBOT_CONFIG", "config.yaml"))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="deskbot", description="A chat-first IT service desk.")
    parser.add_argument(
        "--config",
        type=Path,
        default=None,
        help="path to config.yaml (default: $DESKBOT_CONFIG or ./config.yaml)",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug output")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for module in COMMAND_MODULES:
        module.register(sub)
    return parser


def report_problems(exc: ProblemsError) -> int:
    for problem in exc.problems:
        print(f"error: {problem}", file=sys.stderr)
    count = len(exc.problems)
    print(
        f"deskbot: {count} problem{'s' if count != 1 else ''} found; nothing was started.",
        file=sys.stderr,
    )
    return 2


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    # A --config given after the subcommand lands in the subparser's namespace too.
    args.config = getattr(args, "config", None) or default_config()
    # Text until a command reads its config (serve and chat switch to logging.format);
    # no token or password in any log line, even with -v.
    logformat.install(logging.DEBUG if args.verbose else logging.WARNING)
    try:
        return int(args.func(args) or 0)
    except ProblemsError as exc:
        return report_problems(exc)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (`deskbot explain ... | head -3`): nothing left to tell it.
        # Point stdout at /dev/null so the interpreter's final flush does not fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


if __name__ == "__main__":
    sys.exit(main())
