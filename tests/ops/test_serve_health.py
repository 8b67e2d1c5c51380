"""The real `deskbot serve` with Telegram (polling, against the fake) and the engine in child
processes, `ops.http` on: /metrics counts the conversations the children handled, /readyz
shows a killed engine process until its replacement takes messages and Telegram while
getUpdates fails, and /healthz stays 200 throughout."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import BinaryIO

import pytest
import yaml

from tests.configs import MODELS
from tests.foundation.test_serve_logs import free_port
from tests.ops.helpers import get, scrape, until, value
from tests.telegram.fake_bot_api import FakeBotAPI

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "987654321:AAF-healthTokenForOpsTests_xyzabc"
ALICE, BOB = 1001, 1002


def write_config(tmp: Path, db_url: str, telegram: str, port: int) -> Path:
    """The repository's config with Telegram on, people who are not the demo ones, and the
    health endpoints on 127.0.0.1:`port`."""
    config = yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))
    people = (ROOT / "directory" / "people.csv").read_text(encoding="utf-8")
    (tmp / "people.csv").write_text(people.replace("@example.com", "@corp.test"), "utf-8")
    paths = config.setdefault("paths", {})
    for key, path in list(paths.items()):
        if isinstance(path, str) and key != "people":
            paths[key] = str(ROOT / path)
    paths["people"] = str(tmp / "people.csv")
    config.setdefault("insight", {})["charts"] = str(tmp / "reports")
    config["database"] = {"url": db_url}
    config["matcher"]["cache"] = MODELS  # trained models shared by the run
    config["channels"] = {
        "slack": {"enabled": False},
        "telegram": {
            "enabled": True,
            "token": TOKEN,
            "api_url": telegram,
            "mode": "polling",
            # getUpdates fails three times below: 0.2 + 0.4 + 0.8 s of waits, not 1 + 2 + 4
            "poll_retry": "0.2s",
        },
    }
    config["ops"] = {"http": f"127.0.0.1:{port}", "gauges_every": "0s"}
    path = tmp / "config.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    return path


def children_of(pid: int) -> list[int]:
    found = []
    try:  # a process, a thread or a child may end between the listing and the reading
        for task in Path(f"/proc/{pid}/task").iterdir():
            with contextlib.suppress(FileNotFoundError, ProcessLookupError):
                found += [int(child) for child in (task / "children").read_text().split()]
    except (FileNotFoundError, ProcessLookupError):
        return []
    return found


def engine_children(pid: int) -> list[int]:
    """The engine processes of the serve process `pid`: the children of its fork server
    (its child running multiprocessing's forkserver; not its resource tracker)."""
    found = []
    for child in children_of(pid):
        try:
            cmdline = Path(f"/proc/{child}/cmdline").read_bytes()
        except (FileNotFoundError, ProcessLookupError):
            continue
        if b"multiprocessing.forkserver" in cmdline:
            found += children_of(child)
    return sorted(found)


@pytest.fixture
def serve_log(tmp_path: Path) -> Iterator[BinaryIO]:
    """Where serve writes its log (a file, so a long log never blocks it on a full pipe)."""
    with open(tmp_path / "serve.log", "wb") as log:
        yield log


@pytest.fixture
async def telegram() -> AsyncIterator[FakeBotAPI]:
    fake = await FakeBotAPI(token=TOKEN).start()
    yield fake
    await fake.close()


@pytest.mark.slow
async def test_serve_counts_engine_process_work_and_shows_a_dead_engine_process(
    telegram: FakeBotAPI, db_url: str, tmp_path: Path, serve_log: BinaryIO
) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    config = write_config(tmp_path, db_url, telegram.api_url, port)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("DATABASE_URL", None)
    serve = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "serve", "--config", str(config),
        stdin=asyncio.subprocess.DEVNULL, stdout=serve_log, stderr=asyncio.subprocess.STDOUT,
        env=env, cwd=tmp_path,
    )  # fmt: skip
    try:

        async def answers() -> bool:
            assert serve.returncode is None, "serve stopped; its log is in serve.log"
            try:
                return (await get(f"{base}/healthz"))[0] == 200
            except OSError:
                return False

        async def ready() -> bool:
            return (await get(f"{base}/readyz"))[0] == 200

        await until(answers, tries=1200)
        await until(ready, tries=1200)
        children = engine_children(serve.pid)
        assert children, "the engine runs in child processes"

        before = await scrape(base)
        telegram.push(telegram.message_update(ALICE, "I forgot my password"))
        telegram.push(telegram.message_update(BOB, "my laptop fan is very loud"))
        await telegram.wait_for(lambda: telegram.in_chat(ALICE) and telegram.in_chat(BOB), 60)

        async def counted(n: float) -> bool:
            samples = await scrape(base)
            handled = {"channel": "telegram", "outcome": "handled"}
            grew = value(samples, "deskbot_messages_total", **handled) - value(
                before, "deskbot_messages_total", **handled
            )
            return grew == n

        # Handled in an engine process, counted by the app process that serves /metrics.
        await until(lambda: counted(2))
        after = await scrape(base)
        assert value(after, "deskbot_turn_seconds_count", channel="telegram") >= 2
        assert value(after, "deskbot_channel_up", channel="telegram") == 1
        assert value(after, "deskbot_engine_processes_down") == 0
        assert value(after, "deskbot_engine_restarts_total") == 0

        os.kill(children[0], signal.SIGKILL)

        async def shows_the_dead_one() -> bool:
            status, body = await get(f"{base}/readyz")
            return status == 503 and any(r.startswith("engine: ") for r in body["reasons"])

        await until(shows_the_dead_one)
        assert await get(f"{base}/healthz") == (200, {"status": "alive"})
        await until(ready, tries=1200)  # replaced, and the new one has built its desk
        assert children[0] not in engine_children(serve.pid)
        replaced = await scrape(base)
        assert value(replaced, "deskbot_engine_restarts_total") == 1
        assert value(replaced, "deskbot_engine_processes_down") == 0

        # Telegram stops answering getUpdates for a while: not ready, then ready again.
        telegram.fail("getUpdates", code=502, description="Bad Gateway", times=3)
        telegram.push(telegram.message_update(BOB, "thanks"))  # ends the poll under way

        async def telegram_down() -> bool:
            status, body = await get(f"{base}/readyz")
            return status == 503 and "telegram: getUpdates failed (NetworkError)" in body["reasons"]

        await until(telegram_down)
        assert value(await scrape(base), "deskbot_channel_up", channel="telegram") == 0
        await until(ready, tries=1200)
        # The new engine process's work adds to what the dead one counted.
        await until(lambda: counted(3))
    finally:
        if serve.returncode is None:
            serve.send_signal(signal.SIGINT)
        await asyncio.wait_for(serve.wait(), 60)
        serve_log.flush()
    log = (tmp_path / "serve.log").read_text("utf-8", "replace")
    assert serve.returncode == 0, log[-3000:]
    # channels.telegram.poll_retry, then twice as long after each failure in a row.
    waits = re.findall(r"getUpdates failed .*; trying again in (\S+)s$", log, re.MULTILINE)
    assert waits[:3] == ["0.2", "0.4", "0.8"], log[-3000:]


def console_config(tmp: Path, db_url: str, port: int) -> Path:
    """The repository's config as it is (the console, no platform), health on `port`."""
    config = yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))
    paths = config.setdefault("paths", {})
    for key, path in list(paths.items()):
        if isinstance(path, str):
            paths[key] = str(ROOT / path)
    config.setdefault("insight", {})["charts"] = str(tmp / "reports")
    config["database"] = {"url": db_url}
    config["matcher"]["cache"] = MODELS  # trained models shared by the run
    config["ops"] = {"http": f"127.0.0.1:{port}"}
    path = tmp / "config.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    return path


async def test_a_console_serve_answers_while_it_waits_for_input(
    db_url: str, tmp_path: Path, serve_log: BinaryIO
) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    config = console_config(tmp_path, db_url, port)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("DATABASE_URL", None)
    serve = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "serve", "--config", str(config),
        stdin=asyncio.subprocess.PIPE, stdout=serve_log, stderr=asyncio.subprocess.STDOUT,
        env=env, cwd=tmp_path,
    )  # fmt: skip
    assert serve.stdin is not None
    try:

        async def ready() -> bool:
            assert serve.returncode is None, "serve stopped; its log is in serve.log"
            try:
                return (await get(f"{base}/readyz"))[0] == 200
            except OSError:  # not listening yet
                return False

        # Nothing typed yet: the console waits for a line, the endpoints still answer.
        await until(ready, tries=1200)
        assert await get(f"{base}/healthz") == (200, {"status": "alive"})
        serve.stdin.write(b"I forgot my password\n")
        await serve.stdin.drain()

        async def handled() -> bool:
            samples = await scrape(base)
            return (
                value(samples, "deskbot_messages_total", channel="console", outcome="handled") == 1
            )

        await until(handled)
        serve.stdin.close()  # end of input: the console run ends
        await asyncio.wait_for(serve.wait(), 60)
    finally:
        if serve.returncode is None:
            serve.kill()
            await serve.wait()
    assert serve.returncode == 0
