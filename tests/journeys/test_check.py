"""Eligibility (`check` steps): refused with a reason and alternatives, recorded for audit."""

from __future__ import annotations

from typing import Any

from bot.adapters.memory import MemoryChat
from bot.desk import Desk
from journeys import advance
from journeys.model import Journey
from journeys.state import Audit, Context, Ended, Start

from .talk import events, outcomes, plain, talk, tickets


def test_laptop_too_new_is_refused_with_reason_alternatives_and_audit(chat: MemoryChat) -> None:
    # Wang Fang's ThinkPad is 22 months old (policy: 36) and she is not an engineer.
    done = talk(chat, "wang.fang", ["我需要一台新笔记本"])
    said = done.text
    assert "无法办理" in said
    assert "ThinkPad T14 Gen 5" in said and "22 个月" in said  # the plain-language reason
    assert "改为报修" in said  # what she can do instead
    refusal = done.replies[-1]
    assert [c.value for c in refusal.choices] == ["s:hardware_issue", "s:slow_computer", "m:human"]
    assert [c.label for c in refusal.choices][:2] == ["硬件故障", "电脑很慢"]
    assert tickets(chat) == []
    assert outcomes(chat) == ["refused"]
    [audit] = events(chat, "eligibility_refused")
    assert audit.actor_id == "wang.fang" and audit.ticket_id is None
    assert "36 months" in audit.note and "22 months" in audit.note  # English, for staff
    assert audit.data["service_id"] == "new_laptop"
    assert audit.data["devices"]["laptop"] == {"model": "ThinkPad T14 Gen 5", "age_months": 22}
    assert "36" in audit.data["rule"]

    # The offered alternative starts that service straight away.
    after = chat.press("wang.fang", "s:hardware_issue")
    assert "哪个设备有问题" in plain(after)


def test_old_laptop_or_engineer_role_passes(chat: MemoryChat) -> None:
    # Alice's laptop is 56 months old; Bob's is 33 months but he is a software engineer.
    for person in ("alice", "bob"):
        first = chat.press(person, "s:new_laptop")
        assert "Which model would you like?" in plain(first), person
    assert events(chat, "eligibility_refused") == []


def _journey(steps: list[dict[str, Any]]) -> Journey:
    return Journey.model_validate(
        {
            "id": "laptop_exception",
            "type": "request",
            "title": {"en": "Laptop", "zh": "笔记本"},
            "description": {"en": "Laptop", "zh": "笔记本"},
            "queue": "workplace",
            "steps": steps,
        }
    )


def test_failed_check_with_otherwise_continues_on_the_exception_path(desk: Desk) -> None:
    journey = _journey(
        [
            {
                "id": "eligible",
                "type": "check",
                "rule": "devices.laptop.age_months >= 36",
                "reason": {"en": "Yours is {{ devices.laptop.age_months }} months old.", "zh": "x"},
                "instead": {"en": "Your manager can approve an exception.", "zh": "y"},
                "otherwise": "why",
            },
            {"id": "model", "type": "ask", "prompt": {"en": "Which model?", "zh": "型号？"}},
            {"id": "why", "type": "ask", "prompt": {"en": "Why now?", "zh": "为什么？"}},
        ]
    )
    ctx = Context(
        texts=desk.texts,
        language="en",
        requester={"id": "wang.fang", "title": "Analyst"},
        assets=[{"kind": "laptop", "model": "T14", "age_months": 22, "purchased": "2025-01-20"}],
    )
    result = advance(journey, None, Start(), ctx)
    assert result.state.step == "why"  # rerouted, not ended
    assert result.state.answers["eligible"] is False
    assert (
        "Yours is 22 months old. Your manager can approve an exception." in result.replies[0].text
    )
    assert result.replies[-1].text == "Why now?"
    [audit] = [e for e in result.effects if isinstance(e, Audit)]
    assert audit.kind == "eligibility_failed"
    assert not any(isinstance(e, Ended) for e in result.effects)


def test_rule_on_a_missing_asset_counts_as_failed_not_as_a_crash(desk: Desk) -> None:
    journey = _journey(
        [
            {
                "id": "eligible",
                "type": "check",
                "rule": "devices.laptop.age_months >= 36",
                "reason": {"en": "No laptop on record.", "zh": "没有记录。"},
            },
            {"id": "model", "type": "ask", "prompt": {"en": "Which model?", "zh": "型号？"}},
        ]
    )
    ctx = Context(texts=desk.texts, language="en", requester={"id": "new.person"})
    result = advance(journey, None, Start(), ctx)
    assert result.state.status == "done"
    assert "No laptop on record." in result.replies[0].text
    assert [e.outcome for e in result.effects if isinstance(e, Ended)] == ["refused"]
