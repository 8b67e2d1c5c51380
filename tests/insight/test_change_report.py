"""`deskbot report`'s changes block: success rate and changes followed by incidents, by the
item changed, in JSON and in the table (English and Chinese)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from bot.adapters.memory import MemoryChat
from bot.base.clock import FixedClock
from bot.cli import main
from tests.conftest import ROOT
from tests.journeys.talk import talk, tickets
from tests.scenario.test_changes import submit

PERIOD = ["--since", "2026-11-20", "--until", "2026-11-30"]


def run(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    assert main(["report", "--config", str(ROOT / "config.yaml"), *PERIOD, *args]) == 0
    return capsys.readouterr().out


def test_change_success_and_incidents_by_item(
    chat: MemoryChat,
    clock: FixedClock,
    db_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Two VPN changes (one fails and an incident follows), one on the mail relay, and one
    # still pending, which is not counted.
    for system, outcome in (("vpn", "done"), ("VPN gateway", "failed"), ("mail relay", "done")):
        submit(chat, kind="standard", system=system, day="2026-11-23", hours="09:00-11:00")
        number = tickets(chat)[-1].number
        for action in ("schedule", "start", outcome):
            chat.say("alex", f"/change {number} {action}")
        clock.advance(timedelta(minutes=2))  # within the flood limit of one person
    talk(chat, "bob", ["!s:vpn_issue", "won't connect", "no", "hotel", "yes", "yes"])
    submit(chat, system="vpn")
    monkeypatch.setenv("DATABASE_URL", db_url)

    data = json.loads(run(capsys, "--format", "json"))["changes"]
    assert data["total"]["finished"] == 3 and data["total"]["success_rate"] == 0.6667
    vpn, mail = data["by_item"]
    assert (vpn["item"], vpn["name"]["en"], vpn["finished"]) == ("vpn-gateway", "VPN gateway", 2)
    assert (vpn["succeeded"], vpn["failed"], vpn["success_rate"]) == (1, 1, 0.5)
    assert vpn["followed_by_incidents"] == 1
    assert (mail["item"], mail["success_rate"], mail["followed_by_incidents"]) == (
        "mail relay",
        1.0,
        0,
    )

    table = run(capsys)
    assert "With an outcome: 3 · succeeded: 67% · failed: 1" in table
    assert (
        "VPN gateway: 2 · succeeded 50% · failed 1 · rolled back 0 · followed by incidents 1"
        in (table)
    )
    assert "VPN 网关：2 · 成功率 50%" in run(capsys, "--lang", "zh")
