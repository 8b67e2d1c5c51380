"""Slack throughput: signed DM events handled end to end, against a bare bolt echo app.

Both apps run in this process (deskbot's engine in its child process or a thread) behind the same
kind of aiohttp endpoint and talk to the same
local fake Slack Web API (tests/slack/fake_slack.py), which runs in a child process as
Slack runs elsewhere. Simulated people each walk through
the password-reset journey (4 messages, the last opens a ticket), sending their next
message only when the fake has recorded the bot's answer to the previous one, as a person
would. For deskbot every event is: verify signature, ack, resolve the person, journey step
in one SQLite transaction, reply through chat.postMessage. The echo app only says the text
back. Printed: events/s for both, their ratio, ack latency (HTTP response time) p50/p99 and
the CPU each process spent per event. deskbot runs its engine both ways `engine.run_in`
allows (a child process, as `deskbot serve` does, and a worker thread), alternating with
echo round by round.

Last run on a quiet 2-core machine (4 runs, 16 rounds, medians; docs/architecture.md):
  engine in a process: ratio 0.76 (0.58-1.06), 493 events/s, ack p99 18.5 ms (worst 26.7)
  engine in a thread:  ratio 0.38 (0.26-0.51), 229 events/s; echo 605 events/s

    .venv/bin/python -m bench.slack_throughput [--people 60] [--concurrency 20] [--rounds 3]
        [--database URL] [--run-in process thread]
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import hashlib
import hmac
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the fake Slack lives with the tests

from bot.adapters.slack import SlackChannel  # noqa: E402
from bot.app import build_desk, load_config, workers_for  # noqa: E402
from bot.base.config import Limits, Paths, SlackHttp  # noqa: E402
from bot.base.config import SlackChannel as SlackSettings  # noqa: E402
from bot.base.messages import Outbound  # noqa: E402
from bot.chat.engine import Engine  # noqa: E402
from bot.chat.workers import Workers  # noqa: E402
from bot.processes import ProcessWorkers  # noqa: E402
from tests.slack.fake_slack import Call, FakeSlack, dm_of  # noqa: E402

SECRET = "bench-signing-secret"
# Throughput, not flood control: the simulated people type as fast as the bot answers.
UNLIMITED = Limits(messages_per_minute=1_000_000, requests_per_hour=1_000_000)

# What a person types at each step, and a word the bot's answer to it contains.
JOURNEY = (
    ("I forgot my password", "Which account"),
    ("Email", "locked out"),
    ("no", "phone number"),
    ("+44 20 7946 0000", "IT-"),
)


@dataclass
class Run:
    name: str
    events: int = 0
    seconds: float = 0.0
    acks_ms: list[float] = field(default_factory=list)
    engine_ms: list[float] = field(default_factory=list)  # from the loop to replies
    cpu_ms: dict[str, float] = field(default_factory=dict)  # per event, by process

    @property
    def rate(self) -> float:
        return self.events / self.seconds if self.seconds else 0.0

    def pct(self, q: float) -> float:
        ordered = sorted(self.acks_ms)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    def line(self) -> str:
        return (
            f"{self.name:8} {self.events:5d} events in {self.seconds:6.2f} s = "
            f"{self.rate:7.1f} events/s | ack p50 {self.pct(0.5):6.2f} ms  "
            f"p99 {self.pct(0.99):6.2f} ms  max {max(self.acks_ms):6.2f} ms\n"
            f"         CPU per event: "
            + ", ".join(f"{name} {ms:.2f} ms" for name, ms in self.cpu_ms.items())
        )


class Replies:
    """Resolves a waiter when the fake reports a chat.postMessage containing its marker."""

    def __init__(self) -> None:
        self.waiting: dict[str, tuple[str, asyncio.Future[None]]] = {}

    def expect(self, channel: str, marker: str) -> asyncio.Future[None]:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.waiting[channel] = (marker, future)
        return future

    def seen(self, channel: str, text: str) -> None:
        pending = self.waiting.get(channel)
        if pending is None:
            return
        marker, future = pending
        if marker in text:
            del self.waiting[channel]
            if not future.done():
                future.set_result(None)


class RemoteFake:
    """The fake Slack in its own process, as Slack is: it does not share our CPU or GIL.

    It prints one JSON line per posted message; we read them to know a reply arrived.
    """

    def __init__(self, replies: Replies) -> None:
        self.replies = replies
        self.api_url = ""
        self.violations: list[str] = []
        self._proc: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None

    async def start(self) -> RemoteFake:
        self._proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bench.slack_throughput",
            "--serve-fake",
            cwd=ROOT,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        assert self._proc.stdout is not None
        first = json.loads(await self._proc.stdout.readline())
        self.api_url = first["url"] + "/api/"
        self._reader = asyncio.create_task(self._read())
        return self

    async def _read(self) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        async for line in self._proc.stdout:
            data = json.loads(line)
            if "violations" in data:
                self.violations = data["violations"]
            else:
                self.replies.seen(data["channel"], data["text"])

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    async def stop(self) -> None:
        assert self._proc is not None and self._proc.stdin is not None
        self._proc.stdin.close()
        await self._proc.wait()
        if self._reader is not None:
            await self._reader


async def serve_fake() -> None:
    """Run the fake Slack until stdin closes (the child side of RemoteFake)."""
    fake = await FakeSlack().start()

    def report(call: Call) -> None:
        if call.method == "chat.postMessage":
            channel = call.result.get("channel") or call.params.get("channel")
            text = str(call.params.get("text", "")) + call.block_text()
            print(json.dumps({"channel": channel, "text": text}), flush=True)

    fake.observers.append(report)
    print(json.dumps({"url": fake.url}), flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    await fake.stop()
    print(json.dumps({"violations": fake.violations}), flush=True)


def signed_event(user: str, text: str, n: int) -> tuple[bytes, dict[str, str]]:
    body = {
        "token": "ignored",
        "team_id": "T0DESK",
        "api_app_id": "A0DESKBOT",
        "type": "event_callback",
        "event_id": f"EvBench{n:08d}",
        "event_time": int(time.time()),
        "authed_users": ["UBOT"],
        "event": {
            "type": "message",
            "channel_type": "im",
            "channel": dm_of(user),
            "user": user,
            "text": text,
            "ts": f"{time.time():.6f}",
            "event_ts": f"{time.time():.6f}",
        },
    }
    raw = json.dumps(body).encode()
    ts = str(int(time.time()))
    digest = hmac.new(SECRET.encode(), f"v0:{ts}:".encode() + raw, hashlib.sha256).hexdigest()
    headers = {
        "Content-Type": "application/json",
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": f"v0={digest}",
    }
    return raw, headers


async def serve(dispatch: Callable[[web.Request], Awaitable[web.Response]]) -> tuple[str, Any]:
    app = web.Application()
    app.router.add_post("/slack/events", dispatch)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    host, port = runner.addresses[0][:2]
    return f"http://{host}:{port}/slack/events", runner


async def drive(
    name: str,
    url: str,
    users: list[str],
    replies: Replies,
    concurrency: int,
    echo: bool,
    counter: list[int],
    processes: dict[str, int],
) -> Run:
    """Each user walks the journey; at most `concurrency` users are mid-journey at once."""
    run = Run(name)
    gate = asyncio.Semaphore(concurrency)
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as http:

        async def person(user: str) -> None:
            async with gate:
                for text, marker in JOURNEY:
                    counter[0] += 1
                    raw, headers = signed_event(user, text, counter[0])
                    answered = replies.expect(dm_of(user), text if echo else marker)
                    started = time.perf_counter()
                    async with http.post(url, data=raw, headers=headers) as resp:
                        await resp.read()
                        assert resp.status == 200, resp.status
                    run.acks_ms.append((time.perf_counter() - started) * 1000)
                    await asyncio.wait_for(answered, 30)
                    run.events += 1

        before = {name: cpu_seconds(pid) for name, pid in processes.items()}
        started = time.perf_counter()
        await asyncio.gather(*(person(u) for u in users))
        run.seconds = time.perf_counter() - started
        for name, pid in processes.items():
            run.cpu_ms[name] = (cpu_seconds(pid) - before[name]) * 1000 / max(run.events, 1)
    return run


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) a process has used so far, from /proc (Linux)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def timed(workers: Workers) -> list[float]:
    """Record how long each message takes from the loop's side of the workers: queueing
    behind other conversations' messages, the engine itself and, in a child process,
    the trip there and back."""
    durations: list[float] = []
    run = workers.run

    async def measured(inbound: Any) -> list[Outbound]:
        started = time.perf_counter()
        try:
            return await run(inbound)
        finally:
            durations.append((time.perf_counter() - started) * 1000)

    workers.run = measured  # type: ignore[method-assign]
    return durations


def echo_app(fake: RemoteFake) -> AsyncApp:
    """The baseline: a bare bolt app that says every DM back."""
    client = AsyncWebClient(token="xoxb-bench", base_url=fake.api_url)
    app = AsyncApp(client=client, signing_secret=SECRET)

    @app.event("message")
    async def echo(event: dict[str, Any], say: Any) -> None:
        await say(event["text"])

    return app


def write_people(folder: Path, count: int) -> list[str]:
    """The demo directory plus `count` generated employees with Slack ids."""
    source = ROOT / "directory" / "people.csv"
    rows = list(csv.DictReader(source.open(encoding="utf-8")))
    fields = list(rows[0])
    users = []
    for i in range(count):
        user = f"U9{i:05d}"
        users.append(user)
        rows.append(
            {
                **dict.fromkeys(fields, ""),
                "id": f"bench{i:05d}",
                "name": f"Bench Person {i}",
                "email": f"bench{i}@example.com",
                "slack_id": user,
                "manager": "mark",
                "role": "employee",
                "language": "en",
                "timezone": "Europe/London",
            }
        )
    with (folder / "people.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
    return users


async def main_async(
    people: int, concurrency: int, database: str | None, rounds: int, modes: list[str]
) -> list[dict[str, Run]]:
    replies = Replies()
    fake = await RemoteFake(replies).start()
    counter = [0]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        users = write_people(folder, people + 10)
        url = database or f"sqlite:///{folder}/b.db"
        base = load_config(ROOT / "config.yaml", {"DATABASE_URL": url})
        slack = SlackSettings(
            enabled=True,
            mode="http",
            bot_token="xoxb-bench",
            signing_secret=SECRET,
            api_url=fake.api_url,
            http=SlackHttp(host="127.0.0.1", port=0),
        )
        paths = Paths(**{**base.paths.model_dump(), "people": str(folder / "people.csv")})
        desk = build_desk(
            base.model_copy(
                update={
                    "channels": base.channels.model_copy(update={"slack": slack}),
                    "paths": paths,
                    # Throughput, not flood control: these people type as fast as the bot answers.
                    "limits": UNLIMITED,
                }
            ),
            migrate=True,
        )
        engine = Engine(desk)
        # One deskbot per way of running the engine, built as `deskbot serve` builds it.
        apps: dict[str, tuple[SlackChannel, list[float]]] = {}
        engine_pids: list[int] = []  # children of the fork server, not of this process
        for mode in modes:
            settings = desk.settings.model_copy(
                update={"engine": desk.settings.engine.model_copy(update={"run_in": mode})}
            )
            workers = workers_for(replace(desk, settings=settings), engine, platform_on=True)
            await workers.start()
            if isinstance(workers, ProcessWorkers):
                engine_pids += workers.pids
            channel = SlackChannel(desk, engine, workers)
            await channel.start()
            apps[mode] = (channel, timed(workers))

        echo_url, echo_runner = await serve(_dispatcher(echo_app(fake)))
        # Warm up (auth.test, first SQLite connections, imports) off the clock.
        await drive("warmup", echo_url, users[-10:-5], replies, 5, True, counter, {})
        for channel, _ in apps.values():
            assert channel.url is not None
            await drive("warmup", channel.url, users[-5:], replies, 5, False, counter, {})

        assert fake.pid is not None
        processes = {"app": os.getpid(), "fake": fake.pid}
        for n, pid in enumerate(engine_pids):
            processes[f"engine{n or ''}"] = pid
        results = []
        # Alternate the apps so a burst of load on the machine hits all alike.
        for _ in range(rounds):
            runs = {
                "echo": await drive(
                    "echo", echo_url, users[:people], replies, concurrency, True, counter, processes
                )
            }
            for mode, (channel, engine_ms) in apps.items():
                assert channel.url is not None
                engine_ms.clear()
                run = await drive(
                    mode,
                    channel.url,
                    users[:people],
                    replies,
                    concurrency,
                    False,
                    counter,
                    processes,
                )
                run.engine_ms = list(engine_ms)
                runs[mode] = run
            results.append(runs)
        await echo_runner.cleanup()
        for channel, _ in apps.values():
            await channel.stop()
            await channel.workers.close()
        desk.store.dispose()
    await fake.stop()
    if fake.violations:
        raise SystemExit(f"the fake Slack rejected calls: {fake.violations[:3]}")
    return results


def _dispatcher(app: AsyncApp) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def handle(request: web.Request) -> web.Response:
        return await to_aiohttp_response(await app.async_dispatch(await to_bolt_request(request)))

    return handle


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--people", type=int, default=60)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--database", help="an empty, migrated PostgreSQL URL instead of a fresh SQLite file"
    )
    parser.add_argument(
        "--run-in",
        nargs="+",
        choices=["process", "thread"],
        default=["process", "thread"],
        help="where deskbot runs its engine (config.yaml engine.run_in); several: each",
    )
    parser.add_argument("--serve-fake", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_fake:
        asyncio.run(serve_fake())
        return
    results = asyncio.run(
        main_async(args.people, args.concurrency, args.database, args.rounds, args.run_in)
    )
    print(
        f"{args.people} people x {len(JOURNEY)} messages, {args.concurrency} at a time, "
        f"{args.rounds} rounds; deskbot's engine in: {', '.join(args.run_in)}"
    )
    ratios: dict[str, list[float]] = {mode: [] for mode in args.run_in}
    p99s: dict[str, list[float]] = {mode: [] for mode in args.run_in}
    for runs in results:
        echo = runs["echo"]
        print(echo.line())
        for mode in args.run_in:
            run = runs[mode]
            print(run.line())
            ratios[mode].append(run.rate / echo.rate)
            p99s[mode].append(run.pct(0.99))
            print(
                f"         ratio {ratios[mode][-1]:.2f}; the engine (queue + Engine.handle "
                f"+ trip) {statistics.mean(run.engine_ms):.2f} ms per event"
            )
    for mode in args.run_in:
        print(
            f"engine in {mode:7}: ratio deskbot/echo, median of rounds = "
            f"{statistics.median(ratios[mode]):.2f} (target >= 0.5); ack p99, median of "
            f"rounds = {statistics.median(p99s[mode]):.2f} ms (target <= 50 ms on SQLite)"
        )


if __name__ == "__main__":
    main()
