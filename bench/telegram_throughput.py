"""Telegram throughput: updates handled end to end per second, deskbot vs a bare PTB echo bot.

Both bots long-poll the same local fake Bot API (tests/telegram/fake_bot_api.py, which
checks every call against the published spec) in one process. The workload is whole
password-reset journeys: each synthetic user sends four messages (request, account,
locked out?, phone number), so an update means intent matching or a journey step, a
store transaction (SQLite by default) and the replies rendered and sent; the last one
creates the ticket. "Handled" means the reply has reached the fake Bot API.

The echo bot answers every text with the same text (`reply_text`), run both as PTB's
default (one update at a time) and with the same concurrency deskbot uses.

deskbot runs as `deskbot serve` runs it, with its engine in a child process, and once more
with the engine in a worker thread (`engine.run_in: thread`). Quiet 2-core machine, two
runs: engine in a process 149-164 updates/s, in a thread 123-125, echo at the same
concurrency 291-385 (ratio 0.39-0.56 and 0.32-0.42). Since a turn's text-only replies
travel as one message (`bot.base.messages.run_together`): 197-219 against 127-131, echo 337-352
(ratio 0.56-0.65 and 0.36-0.39). The fake Bot API shares this process, so part of every
number is the fake's own work.

Pacing (Telegram's 1 msg/s per chat, 30/s overall) is switched off here: it is Telegram's
limit, not our cost, and would make both numbers measure the sleep.

    .venv/bin/python -m bench.telegram_throughput [--users 100] [--database URL]
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import tempfile
import time
from pathlib import Path
from typing import Any

from telegram import Update
from telegram.ext import Application, ContextTypes, MessageHandler, filters

from bot.adapters.telegram import Pacing, TelegramChannel
from bot.app import build_desk, load_config, workers_for
from bot.base.config import Limits, Paths, Settings
from bot.base.config import TelegramChannel as TelegramConfig
from bot.base.messages import Inbound
from bot.chat.engine import Engine
from bot.directory import PEOPLE_COLUMNS
from tests.telegram.fake_bot_api import TOKEN, FakeBotAPI

ROOT = Path(__file__).resolve().parent.parent
FIRST_ID = 50_000
JOURNEY = ("I forgot my password", "VPN", "no", "+44 20 7946 0000")
NO_PACING = Pacing(per_chat_burst=10**6, per_group_per_minute=10**6, overall_per_second=10**6)
CONCURRENCY = 8


UNLIMITED = Limits(messages_per_minute=1_000_000, requests_per_hour=1_000_000)


def people_csv(folder: Path, users: int) -> Path:
    """The demo directory plus `users` synthetic employees with Telegram ids."""
    source = ROOT / "directory" / "people.csv"
    target = folder / "people.csv"
    with source.open(encoding="utf-8") as src, target.open("w", encoding="utf-8") as out:
        out.write(src.read())
        writer = csv.DictWriter(out, fieldnames=PEOPLE_COLUMNS)
        for i in range(users):
            writer.writerow(
                {
                    "id": f"user{i}",
                    "name": f"User {i}",
                    "email": f"user{i}@example.com",
                    "telegram_id": FIRST_ID + i,
                    "manager": "mark",
                    "role": "employee",
                    "language": "en",
                    "timezone": "Europe/London",
                }
            )
    return target


def bench_settings(folder: Path, users: int, api_url: str, database: str | None) -> Settings:
    base = load_config(ROOT / "config.yaml", {})
    paths = Paths(**{**base.paths.model_dump(), "people": str(people_csv(folder, users))})
    telegram = TelegramConfig.model_validate(
        {"enabled": True, "token": TOKEN, "api_url": api_url, "mode": "polling"}
    )
    url = database or f"sqlite:///{folder / 'bench.db'}"
    return base.model_copy(
        update={
            "paths": paths,
            # Throughput, not flood control: these people type as fast as the bot answers.
            "limits": UNLIMITED,
            "channels": base.channels.model_copy(update={"telegram": telegram}),
            "database": base.database.model_copy(update={"url": url}),
        }
    )


def push_workload(fake: FakeBotAPI, users: int) -> int:
    """Queue every user's journey (in order per user, users interleaved)."""
    count = 0
    for text in JOURNEY:
        for i in range(users):
            fake.push(fake.message_update(FIRST_ID + i, text))
            count += 1
    return count


class Done:
    """Counts finished conversations incrementally as the fake records messages."""

    def __init__(self, fake: FakeBotAPI, marker: str | None) -> None:
        self.fake = fake
        self.marker = marker
        self.seen = 0
        self.count = 0

    def __call__(self) -> int:
        shown = self.fake.shown
        for s in shown[self.seen :]:
            if self.marker is None or self.marker in s.text:
                self.count += 1
        self.seen = len(shown)
        return self.count


async def run_deskbot(users: int, database: str | None, run_in: str) -> tuple[int, float]:
    """deskbot as `deskbot serve` runs it, its engine in a child process or a thread."""
    fake = await FakeBotAPI().start()
    with tempfile.TemporaryDirectory() as folder:
        settings = bench_settings(Path(folder), users, fake.api_url, database)
        settings = settings.model_copy(
            update={"engine": settings.engine.model_copy(update={"run_in": run_in})}
        )
        desk = build_desk(settings, migrate=True)
        engine = Engine(desk)
        workers = workers_for(desk, engine, platform_on=True)
        await workers.start()
        channel = TelegramChannel(desk, engine, workers, pacing=NO_PACING, concurrency=CONCURRENCY)
        await channel.start()
        try:
            done = Done(fake, "is logged")
            started = time.perf_counter()
            updates = push_workload(fake, users)
            await fake.wait_for(lambda: done() >= users, within=600)
            elapsed = time.perf_counter() - started
        finally:
            await channel.stop()
            await workers.close()
            desk.store.dispose()
            await fake.close()
    assert not fake.problems, fake.problems[:5]
    return updates, elapsed


def run_engine_alone(users: int, database: str | None) -> tuple[int, float]:
    """The same journeys straight into Engine.handle: the core's cost without Telegram."""
    with tempfile.TemporaryDirectory() as folder:
        desk = build_desk(
            bench_settings(Path(folder), users, "http://unused", database), migrate=True
        )
        engine = Engine(desk)
        count = 0
        started = time.perf_counter()
        for text in JOURNEY:
            for i in range(users):
                count += 1
                uid = str(FIRST_ID + i)
                engine.handle(Inbound("telegram", uid, f"user{i}", text=text, event_id=f"e{count}"))
        elapsed = time.perf_counter() - started
        desk.store.dispose()
    return count, elapsed


async def echo(update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.effective_message is not None and update.effective_message.text
    await update.effective_message.reply_text(update.effective_message.text)


async def run_echo(users: int, concurrent: bool) -> tuple[int, float]:
    fake = await FakeBotAPI().start()
    builder = Application.builder().token(TOKEN).job_queue(None)
    builder = builder.base_url(f"{fake.api_url}/bot").base_file_url(f"{fake.api_url}/file/bot")
    if concurrent:
        builder = builder.concurrent_updates(CONCURRENCY)
    app: Application[Any, Any, Any, Any, Any, Any] = builder.build()
    app.add_handler(MessageHandler(filters.TEXT, echo))
    await app.initialize()
    await app.start()
    assert app.updater is not None
    await app.updater.start_polling()
    try:
        done = Done(fake, None)
        started = time.perf_counter()
        updates = push_workload(fake, users)
        await fake.wait_for(lambda: done() >= updates, within=600)
        elapsed = time.perf_counter() - started
    finally:
        await app.updater.stop()
        await app.stop()
        await app.shutdown()
        await fake.close()
    assert not fake.problems, fake.problems[:5]
    return updates, elapsed


async def main_async(users: int, database: str | None) -> None:
    await run_deskbot(5, database, "thread")  # warm up imports, caches, the intent matcher
    db = "SQLite" if not database else "given DB"
    results = {
        "echo (PTB default, sequential)": await run_echo(users, concurrent=False),
        f"echo (concurrent_updates={CONCURRENCY})": await run_echo(users, concurrent=True),
        f"deskbot, engine in a process ({db})": await run_deskbot(users, database, "process"),
        "deskbot's engine alone (no Telegram)": run_engine_alone(users, database),
        f"deskbot, engine in a thread ({db})": await run_deskbot(users, database, "thread"),
    }
    rates = {name: n / seconds for name, (n, seconds) in results.items()}
    print(f"{users} users x {len(JOURNEY)} messages, long polling a local fake Bot API")
    for name, (n, seconds) in results.items():
        print(f"  {name:45s} {n:5d} updates in {seconds:6.2f} s = {rates[name]:7.1f} updates/s")
    names = list(rates)
    print(f"ratio deskbot / echo (same concurrency):  {rates[names[2]] / rates[names[1]]:.2f}")
    print(f"ratio deskbot / echo (PTB default):      {rates[names[2]] / rates[names[0]]:.2f}")
    print(f"ratio deskbot / its engine alone:         {rates[names[2]] / rates[names[3]]:.2f}")
    print(f"ratio engine in a thread / echo (same):   {rates[names[4]] / rates[names[1]]:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--database", help="database URL (default: a fresh SQLite file)")
    args = parser.parse_args()
    asyncio.run(main_async(args.users, args.database))


if __name__ == "__main__":
    main()
