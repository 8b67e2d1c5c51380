"""What looking for a new people sync costs each message (bot/people_watch.py).

    .venv/bin/python -m bench.people_watch [--rounds 20000]

The engine calls `people_watch.refresh(desk)` before every message: one `stat` of the
people file when nothing changed. Printed against `Engine.handle` for one short message in
the same process (the baseline), as microseconds per call and the share it adds; and what a
reload costs when the file did change (load the people again, a new Content).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from bot import people_watch
from bot.app import build_desk, load_config
from bot.base.clock import FixedClock
from bot.base.messages import Inbound
from bot.chat.engine import Engine

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=20000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        env = {"DATABASE_URL": f"sqlite:///{Path(folder) / 'bench.db'}"}
        settings = load_config(ROOT / "config.yaml", env)
        desk = build_desk(settings, clock=FixedClock(datetime(2026, 11, 23, 10, tzinfo=UTC)))
        engine = Engine(desk)
        started = time.perf_counter()
        for _ in range(args.rounds):
            people_watch.refresh(desk)
        watch = (time.perf_counter() - started) / args.rounds
        messages = 200
        started = time.perf_counter()
        for i in range(messages):
            engine.handle(Inbound("memory", "alice", "alice", text="hi", event_id=f"b-{i}"))
        turn = (time.perf_counter() - started) / messages
        reloads = 50
        started = time.perf_counter()
        for _ in range(reloads):
            people_watch.refresh(desk, force=True)
        reload = (time.perf_counter() - started) / reloads
        desk.store.dispose()
    print(f"refresh, nothing changed: {watch * 1e6:8.2f} us per message")
    print(f"Engine.handle('hi'):      {turn * 1e6:8.0f} us per message (baseline)")
    print(f"share added to a turn:    {watch / turn:8.4%}")
    print(f"reload when it changed:   {reload * 1e3:8.2f} ms ({len(desk.directory.people)} people)")


if __name__ == "__main__":
    main()
