"""Real processes: kill -9 while dispatching, and two dispatchers sharing one database."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import select

from bot.base.config import Settings
from bot.base.messages import Address, Message
from bot.desk import Desk
from store.models import OutboxMessage
from store.outbox import notify
from tests.desks import hand_to_file

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def queue_many(desk: Desk, conversations: int, per: int) -> dict[str, list[str]]:
    """Queue `per` messages to each conversation, interleaved; returns them in order."""
    expected: dict[str, list[str]] = {f"c{c}": [] for c in range(conversations)}
    now = datetime.now(UTC) - timedelta(minutes=1)  # the workers run on the real clock
    with desk.store.begin() as session:
        for n in range(per):
            for conv, texts in expected.items():
                text = f"{conv}-m{n}"
                notify(
                    session=session,
                    to=Address("file", conv, None),
                    message=Message(text=text),
                    idem_key=f"proc:{text}",
                    now=now,
                )
                texts.append(text)
    return expected


class Workers:
    def __init__(self, db_url: str, tmp: Path, content: Path) -> None:
        self.env = {**os.environ, "DATABASE_URL": db_url, "PYTHONPATH": str(ROOT)}
        self.tmp = tmp
        self.content = content  # this process's content, so no worker loads it again
        self.out = tmp / "delivered.tsv"
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, name: str, *extra: str) -> subprocess.Popen[bytes]:
        with (self.tmp / f"{name}.err").open("wb") as err:  # the child keeps its own copy
            proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "tests.notify.worker",
                    "--out",
                    str(self.out),
                    "--name",
                    name,
                    "--content",
                    str(self.content),
                    *extra,
                ],
                cwd=ROOT,
                env=self.env,
                stderr=err,
            )
        self.procs[name] = proc
        return proc

    def lines(self) -> list[list[str]]:
        if not self.out.exists():
            return []
        return [line.split("\t") for line in self.out.read_text(encoding="utf-8").splitlines()]

    def wait_for(self, condition: Callable[[], bool], timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            for name, proc in self.procs.items():
                if proc.poll() not in (None, 0, -signal.SIGKILL):
                    raise AssertionError((self.tmp / f"{name}.err").read_text())
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out; {len(self.lines())} lines delivered")
            time.sleep(0.05)

    def stop_all(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.kill()
            proc.wait(timeout=10)


@pytest.fixture(scope="session")
def content_file(tmp_path_factory: pytest.TempPathFactory, repository_settings: Settings) -> Path:
    """config.yaml's content, written once for every worker of the session."""
    return hand_to_file(repository_settings, tmp_path_factory.mktemp("content") / "content.pickle")


@pytest.fixture
def workers(db_url: str, tmp_path: Path, content_file: Path) -> Iterator[Workers]:
    w = Workers(db_url, tmp_path, content_file)
    yield w
    w.stop_all()


def in_order(lines: list[list[str]], expected: dict[str, list[str]]) -> None:
    for conv, texts in expected.items():
        seen = [text for c, text, *_ in lines if c == conv]
        firsts = list(dict.fromkeys(seen))
        assert firsts == texts, conv


def test_kill_9_while_dispatching_then_restart_delivers_everything_at_most_one_twice(
    desk: Desk, workers: Workers
):
    expected = queue_many(desk, conversations=6, per=10)
    first = workers.start("w1", "--delay", "0.05")
    workers.wait_for(lambda: len(workers.lines()) >= 15)
    first.send_signal(signal.SIGKILL)  # no chance to mark the in-flight message sent
    first.wait(timeout=10)
    before = len(workers.lines())
    last_of_first = workers.lines()[-1][1]
    second = workers.start("w2", "--exit-when-done")
    workers.wait_for(lambda: second.poll() == 0)

    lines = workers.lines()
    counts = Counter(text for _, text, *_ in lines)
    assert set(counts) == {t for texts in expected.values() for t in texts}
    duplicates = [t for t, n in counts.items() if n > 1]
    assert len(duplicates) <= 1 and all(n <= 2 for n in counts.values())
    assert set(duplicates) <= {last_of_first}  # only the one in flight at the kill
    assert 15 <= before < 60
    in_order(lines, expected)
    with desk.store.read() as session:
        assert {r.status for r in session.exec(select(OutboxMessage)).all()} == {"sent"}


def test_two_dispatcher_processes_deliver_each_message_once_and_in_order(
    desk: Desk, workers: Workers, tmp_path: Path
):
    expected = queue_many(desk, conversations=20, per=8)
    go = str(tmp_path / "go")
    args = ("--exit-when-done", "--go", go, "--concurrency", "3", "--batch", "6")
    one, two = workers.start("w1", *args), workers.start("w2", *args)
    workers.wait_for(lambda: all(Path(f"{go}.{n}.ready").exists() for n in ("w1", "w2")))
    Path(go).touch()  # both start dispatching at the same moment
    workers.wait_for(lambda: one.poll() == 0 and two.poll() == 0)

    lines = workers.lines()
    counts = Counter(text for _, text, *_ in lines)
    assert len(lines) == 160 and set(counts.values()) == {1}
    by_worker = Counter(worker for _, _, worker, _ in lines)
    assert set(by_worker) == {"w1", "w2"}, by_worker  # both did real work
    # Order per conversation holds across processes (monotonic clock is system-wide).
    ordered = sorted(lines, key=lambda parts: int(parts[3]))
    in_order(ordered, expected)
