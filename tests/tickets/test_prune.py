"""Stored files nothing refers to are removed once older than `attachments.keep_unreferenced`:
by the scheduler (once per `prune_every`, across replicas) and by `deskbot attachments prune
[--dry-run]`, the same operation. Files of tickets, of a request under way and of a request
waiting for its approval stay; so does a young orphan (its turn may not have committed)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.adapters.memory import MemoryChat
from bot.attachments import prune
from bot.base.clock import FixedClock
from bot.base.config import Settings
from bot.base.filestore import FolderStore, Kept, open_store
from bot.base.messages import Inbound, InboundFile
from bot.desk import Desk
from notifications.sweep import Sweeper
from store import timers as timer_repo
from tests.desks import build_desk
from tests.foundation.helpers import config_copy, deskbot
from tests.s3server import S3Server, on_s3, s3_config
from tests.tickets.helpers import DATA, new_ticket, plain, with_triage

TICKET, ORPHAN, YOUNG, JOURNEY, PARKED = (f"file {n}\n".encode() * 40 for n in range(5))


def backdate(desk: Desk, kept: Kept, days: float) -> None:
    store = open_store(desk.settings)
    assert isinstance(store, FolderStore)
    when = desk.clock.now() - timedelta(days=days)
    os.utime(store.path(kept.path), (when.timestamp(), when.timestamp()))


def send(chat: MemoryChat, person: str, text: str, kept: Kept, n: int) -> str:
    file = InboundFile(f"f{n}.log", "text/plain", kept.size, f"F{n}", kept.path, kept.sha256)
    inbound = Inbound("memory", person, person, text=text, event_id=f"p{n}", files=(file,))
    return plain(chat.send(inbound))


@pytest.fixture
def pdesk(settings: Settings, clock: FixedClock) -> Iterator[Desk]:
    """The test catalog whose request is approved before its ticket exists."""
    desk = build_desk(with_triage(settings, DATA / "approve_first"), clock=clock)
    yield desk
    desk.store.dispose()


def files_everywhere(desk: Desk) -> dict[str, Kept]:
    """One file of a ticket, one of a journey under way, one waiting with an approval, an
    orphan and another one."""
    store = open_store(desk.settings)
    kept = {
        name: store.put(data)
        for name, data in zip(
            ("ticket", "orphan", "young", "journey", "parked"),
            (TICKET, ORPHAN, YOUNG, JOURNEY, PARKED),
            strict=True,
        )
    }
    chat = MemoryChat(desk)
    number = new_ticket(desk, "bob", "VPN drops")
    assert "Added" in send(chat, "bob", f"/add {number}", kept["ticket"], 1)
    chat.say("alice", "I need admin rights")
    chat.say("alice", "To install the lab's VPN client")  # parked on her manager's approval
    assert "waiting for approval" in send(chat, "alice", "", kept["parked"], 2)
    chat.say("bob", "I need admin rights")  # under way: asks what for
    assert "add it to your request" in send(chat, "bob", "", kept["journey"], 3)
    return kept


def test_the_prune_removes_old_orphans_only(pdesk: Desk) -> None:
    kept = files_everywhere(pdesk)
    for name in ("ticket", "orphan", "journey", "parked"):
        backdate(pdesk, kept[name], days=3)
    backdate(pdesk, kept["young"], days=1)
    now = pdesk.clock.now()
    dry = prune(pdesk, now, dry_run=True)
    assert [f.path for f in dry.removed] == [kept["orphan"].path]
    assert (dry.listed, dry.referenced, dry.young) == (5, 3, 1)
    store = open_store(pdesk.settings)
    assert len(list(store.listing())) == 5  # a dry run removes nothing
    done = prune(pdesk, now)
    assert [f.path for f in done.removed] == [kept["orphan"].path]
    left = {f.path for f in store.listing()}
    assert left == {kept[n].path for n in ("ticket", "young", "journey", "parked")}
    # Two days on, the young orphan is old enough.
    assert [f.path for f in prune(pdesk, now + timedelta(days=2)).removed] == [kept["young"].path]


def test_an_orphan_sent_again_is_young_again(pdesk: Desk) -> None:
    store = open_store(pdesk.settings)
    kept = store.put(ORPHAN)
    backdate(pdesk, kept, days=3)
    store.put(ORPHAN)  # sent again: its turn may be about to record it
    assert prune(pdesk, pdesk.clock.now()).removed == []
    assert store.read(kept.path) == ORPHAN


def test_the_scheduler_prunes_once_per_period_and_simulate_never(pdesk: Desk) -> None:
    store = open_store(pdesk.settings)
    kept = store.put(ORPHAN)
    backdate(pdesk, kept, days=3)
    sweeper = Sweeper(pdesk, worker="test")
    sweeper.sweep()  # what `deskbot simulate` runs: no prune
    assert store.read(kept.path) == ORPHAN
    assert sweeper.run_once() is not None
    assert list(store.listing()) == []
    again = store.put(ORPHAN)
    backdate(pdesk, again, days=3)
    assert sweeper.prune_files(pdesk.clock.now()) is None  # this period's prune is done
    assert store.read(again.path) == ORPHAN
    with pdesk.store.read() as session:
        runs = [r for r in timer_repo.last_runs(session=session) if r.name == "prune"]
    assert [(r.items, r.error) for r in runs] == [(1, None)]


def test_the_command_lists_then_removes(settings: Settings, tmp_path: Path) -> None:
    folder = tmp_path / "files"
    config = config_copy(tmp_path)
    text = config.read_text(encoding="utf-8").replace(
        "folder: var/attachments", f"folder: {folder}"
    )
    config.write_text(text, encoding="utf-8")
    store = FolderStore(folder)
    kept = store.put(ORPHAN)
    old = (datetime.now(UTC) - timedelta(days=3)).timestamp()
    os.utime(store.path(kept.path), (old, old))
    young = store.put(YOUNG)
    env = {"DATABASE_URL": settings.database.url}
    dry = deskbot("attachments", "prune", "--dry-run", "--config", str(config), env=env)
    assert dry.returncode == 0, dry.stderr
    assert f"would remove {kept.path}" in dry.stdout and young.path not in dry.stdout
    assert store.read(kept.path) == ORPHAN
    done = deskbot("attachments", "prune", "--format", "json", "--config", str(config), env=env)
    report = json.loads(done.stdout)
    assert [f["path"] for f in report["removed"]] == [kept.path]
    assert (report["listed"], report["younger_than_limit"]) == (2, 1)
    assert [f.path for f in store.listing()] == [young.path]


def test_the_prune_works_on_an_s3_bucket(
    settings: Settings, clock: FixedClock, s3_server: S3Server
) -> None:
    desk = build_desk(on_s3(settings, s3_config(s3_server, s3_server.bucket())), clock=clock)
    try:
        store = open_store(desk.settings)
        orphan = store.put(ORPHAN)
        number = new_ticket(desk, "bob", "VPN drops")
        assert "Added" in send(MemoryChat(desk), "bob", f"/add {number}", store.put(TICKET), 1)
        # Objects are dated by the server's clock: look from three days on.
        later = datetime.now(UTC) + timedelta(days=3)
        assert [f.path for f in prune(desk, later).removed] == [orphan.path]
        assert len(list(store.listing())) == 1
    finally:
        desk.store.dispose()
