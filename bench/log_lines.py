"""What a log line costs: the plain `logging` format deskbot used before against the text and
JSON formats with the turn's fields (bot/base/logformat.py), in one process.

    .venv/bin/python -m bench.log_lines [--lines 100000]

Each run logs the same INFO line inside a turn (correlation id, person, ticket, event) to a
handler writing into memory, with the secret mask on, as `deskbot serve` sets it up.
Printed: lines per second for each and the ratio to the baseline. A skipped line (below the
level) costs the same in all three: the fields are only looked up for lines written.
"""

from __future__ import annotations

import argparse
import io
import logging
import time

from bot.base import logcontext, logformat, redact

BASELINE = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def run(formatter: logging.Formatter, lines: int, *, fields: bool) -> float:
    """Lines per second through a root handler with `formatter`."""
    root = logging.getLogger()
    saved, level = root.handlers[:], root.level
    handler = logging.StreamHandler(io.StringIO())
    handler.setFormatter(formatter)
    if fields:
        handler.addFilter(logformat.ContextFilter())
    root.handlers = [handler]
    root.setLevel(logging.INFO)
    redact.guard()
    log = logging.getLogger("bench.engine")
    try:
        with logcontext.turn(person="alice", ticket="IT-1042", event="999000:5001"):
            started = time.perf_counter()
            for i in range(lines):
                log.info("telegram %s %s handled: %d replies", "text", i, 2)
            took = time.perf_counter() - started
    finally:
        root.handlers = saved
        root.setLevel(level)
    return lines / took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=100_000)
    args = parser.parse_args()
    redact.add_secret("xoxb-bench-secret-token")  # the mask runs on every line, as in serve
    base = run(logging.Formatter(BASELINE), args.lines, fields=False)
    text = run(logformat.TextFormatter(), args.lines, fields=True)
    json = run(logformat.JsonFormatter(), args.lines, fields=True)
    print(f"{args.lines} INFO lines, one process")
    print(f"  before (plain text):       {base:>10,.0f} lines/s")
    print(f"  text with the turn fields: {text:>10,.0f} lines/s  ({text / base:.2f}x)")
    print(f"  json with the turn fields: {json:>10,.0f} lines/s  ({json / base:.2f}x)")


if __name__ == "__main__":
    main()
