"""The engine in a child process, as `deskbot serve` runs it: Slack traffic stays in this
process, journeys run in the child against the same database."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import shutil
import signal
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import replace
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import text
from sqlmodel import col, select

from bot.adapters.slack import SlackChannel
from bot.app import engine_desk, load_config, workers_for
from bot.base.config import Settings
from bot.base.messages import Inbound
from bot.chat.engine import Engine
from bot.chat.workers import EngineFailed, ThreadWorkers
from bot.desk import Content, Desk
from bot.processes import ProcessWorkers
from store import tickets as repo
from store.db import Store
from store.models import OutboxMessage
from tests.desks import build_desk, handed, shared_content
from tests.slack import engine_parent
from tests.slack.conftest import Driver, slack_settings
from tests.slack.fake_slack import FakeSlack

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def real_clock_desk(settings: Settings, fake: FakeSlack) -> Iterator[Desk]:
    # The child keeps the system clock, so the parent does too (no FixedClock here).
    desk = build_desk(slack_settings(settings, fake.api_url), migrate=False)
    yield desk
    desk.store.dispose()


@pytest.fixture
async def workers(real_clock_desk: Desk) -> AsyncIterator[ProcessWorkers]:
    made = workers_for(real_clock_desk, Engine(real_clock_desk), platform_on=True)
    assert isinstance(made, ProcessWorkers), "config.yaml runs the engine in a process"
    await made.start()
    yield made
    await made.close()


@pytest.fixture
async def slack(
    real_clock_desk: Desk, fake: FakeSlack, workers: ProcessWorkers
) -> AsyncIterator[Driver]:
    channel = SlackChannel(real_clock_desk, Engine(real_clock_desk), workers)
    await channel.start()
    async with aiohttp.ClientSession() as http:
        yield Driver(channel, fake, http)
    await channel.stop()


async def test_a_journey_runs_in_the_engine_process_and_survives_its_death(
    slack: Driver, workers: ProcessWorkers
):
    children = workers.pids  # one on SQLite, engine.processes on PostgreSQL
    assert os.getpid() not in children

    await slack.dm("U0ALICE", "I forgot my password")
    question = slack.last("D0ALICE")
    assert "Which account is it?" in question.block_text()
    await slack.press("U0ALICE", question, "Email (Outlook)")
    assert "locked out" in slack.last("D0ALICE").block_text()

    # The children are killed between two messages: the journey lives in the store, so
    # new children carry on where the person is.
    for child in children:
        os.kill(child, signal.SIGKILL)
    for _ in range(400):  # until the pool has seen them die (it replaces them at once)
        if not set(workers.pids) & set(children):
            break
        await asyncio.sleep(0.01)
    await slack.press("U0ALICE", slack.last("D0ALICE"), "Yes")
    assert "phone number" in slack.last("D0ALICE").block_text()
    assert not set(workers.pids) & set(children)
    await slack.dm("U0ALICE", "+44 20 7946 0000")

    assert "*IT-1000*" in slack.last("D0ALICE").block_text()
    with slack.desk.store.read() as session:
        [ticket] = repo.list_tickets(session=session)
    assert ticket.requester_id == "alice" and ticket.channel == "slack"


def parent_of(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


def command_line(pid: int) -> bytes:
    return Path(f"/proc/{pid}/cmdline").read_bytes()


async def test_engine_processes_are_forks_of_a_fork_server_with_deskbot_loaded(
    workers: ProcessWorkers,
):
    """Not forks of this process (its threads' locks, its connections), not new
    interpreters that import deskbot again (a second or more each, before a dead one is
    replaced): forks of one clean server that has deskbot loaded."""
    servers = {parent_of(pid) for pid in workers.pids}
    [server] = servers
    assert server != os.getpid() and parent_of(server) == os.getpid()
    started = command_line(server)
    # It imports the command line (and with it the rest) before it forks: the children of
    # the `deskbot` script import it, as their parent's main module did.
    assert b"multiprocessing.forkserver" in started and b"['bot.cli']" in started


async def test_a_message_being_handled_when_the_child_dies_is_handled_by_the_next(
    real_clock_desk: Desk, workers: ProcessWorkers
):
    for child in workers.pids:
        os.kill(child, signal.SIGKILL)
    # Submitted before the pool noticed the death (or after): either way it is answered.
    replies = await workers.run(
        Inbound("slack", "D0BOB", "bob", text="I forgot my password", event_id="Ev-died")
    )
    assert any("Which account is it?" in r.text for r in replies)
    # A redelivery of the same event is recognised, wherever it was handled.
    again = await workers.run(
        Inbound("slack", "D0BOB", "bob", text="I forgot my password", event_id="Ev-died")
    )
    assert again == []


async def test_messages_handed_over_before_the_app_process_is_killed_are_not_lost(
    settings: Settings, db_url: str
):
    # The app process acked them and passed them to its engine process, then died (-9).
    # The child still reads them from the pipe, handles them, and - with nobody to answer
    # to - queues the replies in the outbox for the next app process to send.
    people = ["alice", "bob", "wang.fang", "mark"]
    rows = await _replies_after_death(engine_parent.hand_over_and_die, db_url, people, "orphan")
    by_person: dict[str, list[str]] = {}
    for row in rows:
        by_person.setdefault(row.conversation, []).append(str(row.payload.get("text")))
    assert set(by_person) == {f"D-{p}" for p in people}
    assert all(any("Which account" in t for t in texts) for texts in by_person.values())
    assert all(r.status == "pending" for r in rows), "waiting for the next app process"


async def test_replies_the_app_process_never_read_are_not_lost_when_it_is_killed(
    settings: Settings, db_url: str
):
    # The child answered every message, but the app process died (-9) before reading the
    # replies from the pipe: the child queues them in the outbox instead of losing them.
    people = ["alice", "bob", "wang.fang"]
    rows = await _replies_after_death(
        engine_parent.hand_over_and_die_unread, db_url, people, "unread"
    )
    assert {r.conversation for r in rows} == {f"D-{p}" for p in people}
    assert all(r.status == "pending" for r in rows), "waiting for the next app process"


async def _replies_after_death(
    app_main: Callable[[str, list[str], dict[str, Content]], None],
    db_url: str,
    people: list[str],
    tag: str,
) -> list[OutboxMessage]:
    """Run `app_main` as an app process that is killed -9, then wait (up to a minute) for
    its engine child to queue a reply for each person in the outbox."""
    context = multiprocessing.get_context("spawn")
    settings = load_config(ROOT / "config.yaml", {"DATABASE_URL": db_url})  # as it does
    app = context.Process(target=app_main, args=(db_url, people, handed(settings)))
    app.start()
    app.join(120)
    assert app.exitcode == -signal.SIGKILL
    store = Store(db_url)
    try:
        for _ in range(600):
            with store.read() as session:
                rows = list(
                    session.exec(
                        select(OutboxMessage).where(
                            col(OutboxMessage.idem_key).startswith(f"reply:slack:Ev-{tag}-")
                        )
                    ).all()
                )
            if {r.conversation for r in rows} == {f"D-{p}" for p in people}:
                break
            await asyncio.sleep(0.1)
        return rows
    finally:
        store.dispose()


async def test_a_message_with_every_child_that_dies_fails_after_two(
    sqlite_template: Path, tmp_path: Path
):
    # SQLite only: the test holds the database's write lock, so the message stays in the
    # child's hands (waiting for the lock) while the child is killed.
    path = tmp_path / "deskbot.db"
    shutil.copyfile(sqlite_template, path)
    settings = load_config(ROOT / "config.yaml", {"DATABASE_URL": f"sqlite:///{path}"})
    workers = ProcessWorkers(settings, 1, engine_desk, shared_content(settings))
    await workers.start()
    lock = sqlite3.connect(path, isolation_level=None)
    try:
        lock.execute("BEGIN IMMEDIATE")
        hello = Inbound("slack", "D0BOB", "bob", text="hi", event_id="Ev-poison")
        handled = asyncio.create_task(workers.run(hello))
        for _ in range(2):
            await asyncio.sleep(0.5)  # the child has it and waits for the lock
            before = workers.pids
            os.kill(before[0], signal.SIGKILL)
            for _ in range(1200):  # a new child, ready: the message went to it
                if workers.pids != before and workers.ready:
                    break
                await asyncio.sleep(0.05)
        with pytest.raises(EngineFailed, match="died handling it"):
            await asyncio.wait_for(handled, 30)
        lock.execute("ROLLBACK")
        assert await workers.run(hello), "the child after them handles it once it is sent again"
    finally:
        lock.close()
        await workers.close()


async def test_ctrl_c_to_the_process_group_does_not_interrupt_the_engine(
    workers: ProcessWorkers,
):
    children = workers.pids
    for child in children:
        os.kill(child, signal.SIGINT)
    replies = await workers.run(Inbound("slack", "D0BOB", "bob", text="hi", event_id="Ev-int"))
    assert replies, "the child still answers"
    assert workers.pids == children, "and no child was replaced"


async def test_an_engine_error_in_the_child_reaches_the_caller(
    real_clock_desk: Desk, workers: ProcessWorkers
):
    # The database loses a table under the running child: its turn fails and rolls back.
    with real_clock_desk.store.engine.begin() as conn:
        conn.execute(text("ALTER TABLE processed_event RENAME TO processed_event_away"))
    try:
        with pytest.raises(EngineFailed, match="processed_event"):
            await workers.run(Inbound("slack", "D0BOB", "bob", text="hi", event_id="Ev-1"))
    finally:
        with real_clock_desk.store.engine.begin() as conn:
            conn.execute(text("ALTER TABLE processed_event_away RENAME TO processed_event"))
    replies = await workers.run(Inbound("slack", "D0BOB", "bob", text="hi", event_id="Ev-1"))
    assert replies, "the same child carries on, and the failed event was not recorded"


async def test_children_answer_from_the_app_processs_content_not_the_files_again(
    real_clock_desk: Desk, tmp_path: Path
):
    """The content arrives with the child: a people file gone from disk since the app
    process loaded it does not stop a child from starting and answering."""
    good = real_clock_desk.settings
    gone = good.paths.model_copy(update={"people": str(tmp_path / "gone.csv")})
    workers = ProcessWorkers(
        good.model_copy(update={"paths": gone}), 1, engine_desk, real_clock_desk.content
    )
    await workers.start()
    try:
        hello = Inbound("slack", "D0BOB", "bob", text="hi", event_id="Ev-content")
        assert await asyncio.wait_for(workers.run(hello), 60)
    finally:
        await workers.close()


async def test_a_child_that_cannot_even_be_spawned_fails_its_messages_instead_of_hanging(
    workers: ProcessWorkers, real_clock_desk: Desk
):
    """Its arguments would not pickle (it happened: compiled templates in the content), so
    no process starts at all: the message it had fails, and a later spawn is tried."""
    content = workers.content
    assert content is not None
    workers.restart_delay = 0.5
    workers.content = replace(content, known_errors=Unpicklable())  # type: ignore[arg-type]
    before = workers.pids
    for child in before:
        os.kill(child, signal.SIGKILL)
    for _ in range(1200):  # the death is noticed; its replacement cannot be spawned
        if not workers.ready:
            break
        await asyncio.sleep(0.05)
    hello = Inbound("slack", "D0BOB", "bob", text="hi", event_id="Ev-spawn")
    with pytest.raises(EngineFailed, match="could not start"):
        await asyncio.wait_for(workers.run(hello), 60)
    workers.content = content  # fixed: the next try starts a child that answers
    assert await asyncio.wait_for(workers.run(hello), 60)


class Unpicklable:
    def __reduce__(self) -> str:
        raise TypeError("cannot be pickled")


async def test_a_child_that_cannot_start_fails_its_messages_and_is_tried_again(
    real_clock_desk: Desk, tmp_path: Path
):
    good = real_clock_desk.settings
    missing = tmp_path / "gone.csv"
    bad = good.model_copy(update={"paths": good.paths.model_copy(update={"people": str(missing)})})
    with pytest.raises(RuntimeError, match="did not start"):
        await ProcessWorkers(bad, 1, engine_desk).start()

    # The good children take the app process's content (as serve's do), and need not
    # train the matcher again; the bad one has none, so it reads the files.
    workers = ProcessWorkers(good, 1, engine_desk, real_clock_desk.content)
    await workers.start()
    try:
        workers.restart_delay = 0.5
        # The next child cannot build its desk.
        workers.settings, workers.content = bad, None
        for child in workers.pids:
            os.kill(child, signal.SIGKILL)
        hello = Inbound("slack", "D0BOB", "bob", text="hi", event_id="Ev-a")
        with pytest.raises(EngineFailed, match="could not start"):
            await asyncio.wait_for(workers.run(hello), 60)
        # Fixed: the next attempt starts, and this waits for it.
        workers.settings, workers.content = good, real_clock_desk.content
        assert await asyncio.wait_for(workers.run(hello), 60)
    finally:
        await workers.close()


async def test_in_memory_databases_and_console_only_runs_keep_the_engine_in_this_process(
    settings: Settings,
):
    memory = build_desk(
        settings.model_copy(
            update={"database": settings.database.model_copy(update={"url": "sqlite://"})}
        ),
        migrate=True,
    )
    made = workers_for(memory, Engine(memory), platform_on=True)
    assert isinstance(made, ThreadWorkers)
    await made.close()
    on_file = build_desk(settings, migrate=False)
    made = workers_for(on_file, Engine(on_file), platform_on=False)
    assert isinstance(made, ThreadWorkers), "no chat platform: nothing to share the core with"
    await made.close()
    threads = on_file.settings.model_copy(
        update={"engine": on_file.settings.engine.model_copy(update={"run_in": "thread"})}
    )
    on_file.settings = threads
    made = workers_for(on_file, Engine(on_file), platform_on=True)
    assert isinstance(made, ThreadWorkers), "engine.run_in: thread"
    await made.close()
    for desk in (memory, on_file):
        desk.store.dispose()


async def test_the_loop_keeps_answering_while_a_dead_child_is_replaced(
    workers: ProcessWorkers,
) -> None:
    """Starting a child writes the settings and content down its pipe and waits while the
    child reads them (its interpreter's start and imports). Done on the loop, the platforms
    and /readyz were answered by nobody for that long whenever a child was replaced."""
    loop = asyncio.get_running_loop()
    victim = workers.pids[0]
    gaps: list[float] = []
    done = asyncio.Event()

    async def tick() -> None:
        last = loop.time()
        while not done.is_set():
            await asyncio.sleep(0.01)
            now = loop.time()
            gaps.append(now - last)
            last = now

    ticker = asyncio.create_task(tick())
    os.kill(victim, signal.SIGKILL)
    for _ in range(3000):  # until a new child has built its desk
        if victim not in workers.pids and workers.ready:
            break
        await asyncio.sleep(0.01)
    done.set()
    await ticker
    assert victim not in workers.pids and workers.ready
    assert max(gaps) < 0.5, f"the loop stood still for {max(gaps):.2f} s"
