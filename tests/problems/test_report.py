"""`deskbot report` counts problems: opened, resolved, open at the end, incidents per
problem and recurring-fault candidates, in all and by service, as JSON and as the table."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from bot.adapters.memory import MemoryChat
from bot.base.clock import FixedClock
from bot.cli import main
from tests.conftest import ROOT
from tests.problems.test_problem_flow import report_vpn, texts
from tests.problems.test_recurring import EVERY, check


def run_report(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    code = main(["report", "--config", str(ROOT / "config.yaml"), *args])
    out = capsys.readouterr()
    assert code == 0, out.err
    return out.out


def test_report_counts_problems_by_service(
    pchat: MemoryChat,
    clock: FixedClock,
    db_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
):
    chat = pchat
    start = clock.now()
    # A VPN fault recurring over a week: proposed, opened with its three incidents, resolved.
    for person in ("alice", "bob", "wang.fang"):
        report_vpn(chat, person)
        clock.advance(EVERY)
    check(chat, clock)
    assert "Problem PRB-1 opened" in texts(chat.press("alex", "pb:open:1"))
    # A second VPN problem, opened by hand from a fourth incident, stays open.
    number = report_vpn(chat, "mark")[0]
    assert "Problem PRB-2 opened" in texts(chat.say("alex", f"/problem {number} Slow VPN"))
    clock.advance(timedelta(hours=1))
    chat.say("alex", "/problem PRB-1 resolve Replaced the gateway's certificate")
    end = clock.now() + timedelta(hours=1)

    monkeypatch.setenv("DATABASE_URL", db_url)
    period = ["--since", start.isoformat(), "--until", end.isoformat()]
    data = json.loads(run_report(capsys, *period, "--format", "json"))["problems"]
    assert data == {
        "opened": 2,
        "resolved": 1,
        "open_at_end": 1,
        "problems_in_period": 2,
        "incidents_linked": 4,
        "incidents_per_problem": 2.0,
        "recurring_candidates": 1,
        "by_service": [
            {
                "service": "vpn_issue",
                "opened": 2,
                "resolved": 1,
                "open_at_end": 1,
                "incidents_linked": 4,
                "recurring_candidates": 1,
            }
        ],
    }
    # A period after PRB-1 was resolved sees only PRB-2, still open.
    later = ["--since", end.isoformat(), "--until", (end + timedelta(days=1)).isoformat()]
    data = json.loads(run_report(capsys, *later, "--format", "json"))["problems"]
    assert (data["opened"], data["resolved"], data["open_at_end"], data["incidents_linked"]) == (
        0,
        0,
        1,
        1,
    )

    table = run_report(capsys, *period)
    assert "Problems\n" in table
    for label, value in (
        ("Problems opened", "2"),
        ("Problems resolved", "1"),
        ("Problems open at the end", "1"),
        ("Incidents per problem", "2 (4 incidents, 2 problems)"),
        ("Recurring faults proposed", "1"),
        ("· VPN problem", "2 opened, 1 resolved, 1 open, 4 incidents, 1 proposed"),
    ):
        line = next(ln for ln in table.splitlines() if ln.strip().startswith(label))
        assert line.rstrip().endswith(value), line
    chinese = run_report(capsys, *period, "--lang", "zh")
    assert "每个问题的事件数" in chinese and "开立 2，解决 1，未解决 1，事件 4，提出 1" in chinese
