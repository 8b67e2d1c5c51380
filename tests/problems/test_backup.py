"""A backup carries problem records, their links and the recurring-fault candidates, and a
restore into an empty database gives them back whole."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlmodel import select

from bot.adapters.memory import MemoryChat
from bot.base.clock import FixedClock
from bot.cli import main
from store.db import Store
from store.models import Problem, ProblemCandidate, ProblemLink
from tests.conftest import ROOT
from tests.problems.test_problem_flow import report_vpn
from tests.problems.test_recurring import EVERY, check


def test_problems_survive_backup_and_restore(
    pchat: MemoryChat,
    clock: FixedClock,
    db_url: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
):
    chat = pchat
    for person in ("alice", "bob", "wang.fang"):
        report_vpn(chat, person)
        clock.advance(EVERY)
    check(chat, clock)
    chat.press("alex", "pb:open:1")
    chat.say("alex", "/problem PRB-1 workaround Use vpn2.example.com")

    config = str(ROOT / "config.yaml")
    monkeypatch.setenv("DATABASE_URL", db_url)
    path = tmp_path / "backup.jsonl.gz"
    assert main(["backup", str(path), "--config", config, "--format", "json"]) == 0
    told = json.loads(capsys.readouterr().out)["tables"]
    assert (told["problem"], told["problem_link"], told["problem_candidate"]) == (1, 3, 1)

    target = f"sqlite:///{tmp_path / 'restored.db'}"
    monkeypatch.setenv("DATABASE_URL", target)
    assert main(["restore", str(path), "--config", config]) == 0
    restored = Store(target)
    try:
        with restored.read() as session:
            record = session.exec(select(Problem)).one()
            links = session.exec(select(ProblemLink)).all()
            candidate = session.exec(select(ProblemCandidate)).one()
    finally:
        restored.dispose()
    assert (record.status, record.workaround) == ("known_error", "Use vpn2.example.com")
    assert len(links) == 3 and {lk.how for lk in links} == {"candidate"}
    assert (candidate.status, candidate.problem_id, len(candidate.ticket_ids)) == (
        "opened",
        record.id,
        3,
    )
