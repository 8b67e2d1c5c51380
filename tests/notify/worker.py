"""A dispatcher process for the reliability tests: the real scheduler and dispatcher of
`deskbot serve`, with a chat channel that appends each delivery to a file.

    python -m tests.notify.worker --out FILE --name w1 [--exit-when-done] [--go FILE]
        [--content FILE]

DATABASE_URL selects the database. Each delivered message becomes one line
`conversation<TAB>text<TAB>worker<TAB>monotonic_ns`, flushed before the send "returns", so
a SIGKILL loses nothing that was delivered. `--delay` keeps each send in flight a little
while (the window in which a crash makes a duplicate). `--content` is the test process's
content (tests/desks.py `hand_to_file`), so the worker does not load it again.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from pathlib import Path

from bot import app
from bot.app import load_config
from bot.base.messages import Outbound
from bot.desk import Desk
from notifications.scheduler import build_scheduler
from store import outbox
from tests.desks import adopt_file, shared_content

ROOT = Path(__file__).resolve().parents[2]


class FileChannel:
    """Stands in for a chat platform: 'showing' a message appends it to a file."""

    name = "file"

    def __init__(self, path: Path, worker: str, delay: float) -> None:
        self.handle = path.open("a", encoding="utf-8")
        self.worker = worker
        self.delay = delay

    async def send(self, out: Outbound, *, edit: str | None = None) -> str:
        line = f"{out.to.conversation}\t{out.message.text}\t{self.worker}\t{time.monotonic_ns()}\n"
        self.handle.write(line)
        self.handle.flush()
        await asyncio.sleep(self.delay)  # accepted by the platform, reply not back yet
        return "ok"


def prepare(args: argparse.Namespace) -> Desk:
    """Build the desk (config.yaml with fast dispatch settings), then wait for `--go`."""
    settings = load_config(ROOT / "config.yaml")
    if args.content:
        adopt_file(Path(args.content))
    content = shared_content(settings)  # the dispatch settings below change no content
    notices = settings.notifications
    dispatch = notices.dispatch.model_copy(
        update={
            "every": args.every,
            "lease": args.lease,
            "batch": args.batch,
            "concurrency": args.concurrency,
        }
    )
    settings = settings.model_copy(
        update={"notifications": notices.model_copy(update={"dispatch": dispatch})}
    )
    desk = app.build_desk(settings, migrate=False, content=content)
    if args.go:
        Path(args.go + f".{args.name}.ready").touch()
        while not Path(args.go).exists():
            time.sleep(0.02)
    return desk


async def serve(desk: Desk, args: argparse.Namespace) -> int:
    channel = FileChannel(Path(args.out), args.name, args.delay)
    scheduler = build_scheduler(desk, {"file": channel}, worker=args.name)
    scheduler.start()
    try:
        while True:
            await asyncio.sleep(0.2)
            if args.exit_when_done:
                with desk.store.read() as session:
                    if outbox.pending_count(session=session) == 0:
                        return 0
    finally:
        scheduler.shutdown(wait=False)


def parse(argv: list[str]) -> argparse.Namespace:
    from datetime import timedelta

    p = argparse.ArgumentParser()
    p.add_argument("--out", required=True)
    p.add_argument("--name", required=True)
    p.add_argument("--delay", type=float, default=0.02)
    p.add_argument("--every", type=lambda s: timedelta(seconds=float(s)), default="0.05")
    p.add_argument("--lease", type=lambda s: timedelta(seconds=float(s)), default="2")
    p.add_argument("--batch", type=int, default=10)
    p.add_argument("--concurrency", type=int, default=1)
    p.add_argument("--exit-when-done", action="store_true")
    p.add_argument("--go", default="")
    p.add_argument("--content", default="")
    return p.parse_args(argv)


if __name__ == "__main__":
    os.chdir(ROOT)
    arguments = parse(sys.argv[1:])
    sys.exit(asyncio.run(serve(prepare(arguments), arguments)))
