"""Every default journey driven end to end through the in-memory chat, on SQLite and PostgreSQL.

Each script is what a person would type or press, in English or Chinese. The ticket it
ends in is checked for queue, type and priority (from the impact x urgency matrix), its
answers, and what the person was told; journeys with an approval are approved by the
real approver, and the requester hears about it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pytest

from bot.adapters.memory import MemoryChat
from bot.desk import Desk
from journeys.model import TicketStep

from .talk import button, outcomes, plain, talk, tickets

# The 23 default services (ids are exact; see the intent issue).
DEFAULT_SERVICES = {
    "password_reset",
    "mfa_reset",
    "vpn_issue",
    "network_issue",
    "email_issue",
    "printer_issue",
    "hardware_issue",
    "slow_computer",
    "app_error",
    "meeting_room_av",
    "security_incident",
    "lost_device",
    "new_laptop",
    "peripheral_request",
    "software_request",
    "access_request",
    "onboarding",
    "offboarding",
    "mobile_device",
    "shared_mailbox",
    "guest_wifi",
    "storage_quota",
    "change_request",
}


@dataclass(frozen=True)
class Script:
    person: str
    inputs: list[str]
    queue: str
    ticket_type: str
    priority: str
    title: str  # part of the ticket title
    answers: dict[str, object]  # part of the recorded answers
    said: list[str] = field(default_factory=list)  # the requester saw these (plain text)
    approver: str | None = None  # approves from the console
    after_approval: str = ""  # the requester is told this once approved
    # The rest of a quorum (a change's CAB): each approves after `approver`.
    also_approve: tuple[str, ...] = ()


SCRIPTS: dict[str, Script] = {
    "password_reset": Script(
        "alice",
        ["email", "yep", "+44 20 7946 0000"],
        "service_desk",
        "request",
        "P3",
        "Password reset: email for Alice Morgan",
        {"account": "email", "locked_out": True, "phone": "+44 20 7946 0000"},
        ["passwordreset.example.com", "call you on +44 20 7946 0000"],
    ),
    "mfa_reset": Script(
        "alice",
        ["new phone", "!j:self_help:no", "authenticator", "no", "+44 7700 900123"],
        "identity",
        "request",
        "P2",
        "MFA reset for Alice Morgan: I have a new phone",
        {"situation": "new_phone", "method": "app", "can_work": False},
        ["mysignins.example.com", "verify it's you"],
    ),
    "vpn_issue": Script(
        "bob",
        ["won't connect", "no", "hotel", "yes", "yes"],
        "network",
        "incident",
        "P2",
        "VPN: won't connect (hotel, café or travelling) for Bob Okafor",
        {"symptom": "wont_connect", "location": "travelling", "blocked": True},
        ["vpn.example.com", "network engineer"],
    ),
    "network_issue": Script(
        "wang.fang",
        ["整层", "网线", "完全连不上", "上海 5楼 工位5-12"],
        "network",
        "incident",
        "P1",
        "at 上海 5楼 工位5-12",
        {"scope": "whole_area", "connection": "wired", "symptom": "no_connection"},
        ["影响了哪些人", "网络团队会检查"],
    ),
    "email_issue": Script(
        "alice",
        ["can't send", "outlook on windows", "no", "no", "skip"],
        "service_desk",
        "incident",
        "P2",
        "Email: Can't send / stuck in Outbox (Outlook on Windows)",
        {"problem": "cannot_send", "client": "outlook_windows", "webmail_ok": False},
        ["Working offline", "service desk checks your mailbox"],
    ),
    "printer_issue": Script(
        "wang.fang",
        ["卡纸", "!j:self_help:no", "SHA-5-PRN-02", "是"],
        "workplace",
        "incident",
        "P3",
        "Printer: paper jam at SHA-5-PRN-02",
        {"problem": "jammed", "printer": "SHA-5-PRN-02", "others": True},
        ["清除卡纸", "办公设备技术员"],
    ),
    "hardware_issue": Script(
        "alice",
        ["screen", "The screen flickers and then goes black", "no", "no"],
        "workplace",
        "incident",
        "P2",
        "Hardware fault: laptop screen for Alice Morgan (LT-0101)",
        {"device": "screen", "damage": False, "can_work": False},
        ["Dell Latitude 7420 (LT-0101), 56 months old", "loan device today"],
    ),
    "slow_computer": Script(
        "bob",
        ["!j:self_help:no", "startup", "today"],
        "workplace",
        "incident",
        "P4",
        "Slow computer (starting up and logging in) for Bob Okafor",
        {"when_slow": "startup", "since": "today"},
        ["Restart", "checks your computer's health"],
    ),
    "app_error": Script(
        "alice",
        ["SAP", "Error FI-102 'document locked' when posting an invoice", "yes", "no"],
        "applications",
        "incident",
        "P2",
        "SAP error for Alice Morgan (several users)",
        {"app": "sap", "others": True, "blocked": False},
        ["applications team"],
    ),
    "meeting_room_av": Script(
        "alice",
        ["Thames 4.01", "no signal", "!j:self_help:no", "yes"],
        "workplace",
        "incident",
        "P2",
        "Meeting room Thames 4.01: screen or projector not working",
        {"room": "Thames 4.01", "problem": "screen", "meeting_soon": True},
        ["Input/Source", "move to another room"],
    ),
    "security_incident": Script(
        "alice",
        [
            "I clicked a suspicious link",
            "no",
            "5 minutes ago",
            "A DHL tracking email; I clicked the link",
        ],
        "security",
        "incident",
        "P1",
        "SECURITY: I clicked a suspicious link (reported by Alice Morgan)",
        {"what": "clicked_link", "disconnected": False},
        ["disconnect from the network now", "Please do it now", "within 15 minutes"],
    ),
    "lost_device": Script(
        "alice",
        ["phone", "stolen", "On the Tube around 8:30", "CR-1234"],
        "security",
        "incident",
        "P1",
        "SECURITY: stolen phone (Alice Morgan)",
        {"device": "phone", "how": "stolen", "police_ref": "CR-1234"},
        ["iPhone 13 (MB-0201)", "report it to the police", "locks the device"],
    ),
    "new_laptop": Script(
        "alice",
        ["lightweight", "ship", "1 Main Street, London E1 6AN"],
        "workplace",
        "request",
        "P4",
        "New laptop (Lightweight: ThinkPad X1 Carbon (Windows)) for Alice Morgan",
        {"eligible": True, "model": "light", "delivery": "home"},
        [
            "your manager's approval, usually within 1 business day; then IT prepares "
            "the laptop, copies your files and ships it to you (usually within 4 business days)",
            "waiting for approval from Mark Jensen",
        ],
        approver="mark",
        after_approval="Mark Jensen approved your new laptop",
    ),
    "peripheral_request": Script(
        "alice",
        ["monitor", "27 inch with USB-C", "home"],
        "workplace",
        "request",
        "P4",
        "Monitor for Alice Morgan",
        {"item": "monitor", "details": "27 inch with USB-C", "delivery": "home"},
        ["your manager's approval", "IT orders it and delivers it to your home"],
        approver="mark",
        after_approval="Mark Jensen approved your request",
    ),
    "software_request": Script(
        "alice",
        ["visio", "I draw network diagrams for customers"],
        "applications",
        "request",
        "P4",
        "Software: Microsoft Visio (licensed) for Alice Morgan",
        {"software": "visio", "reason": "I draw network diagrams for customers"},
        ["your manager's approval, usually within 1 business day"],
        approver="mark",
        after_approval="IT installs it within 2 business days",
    ),
    "access_request": Script(
        "bob",
        ["jira", "edit", "I am joining the platform team's sprint board", "skip"],
        "identity",
        "request",
        "P4",
        "Read and edit access to Jira or Confluence for Bob Okafor",
        {"system": "jira", "level": "edit", "until": None},
        ["approval by the IT system owners, usually within 1 business day"],
        approver="priya",
        after_approval="Priya Raman approved your request",
    ),
    "onboarding": Script(
        "mark",
        ["Jamie Lee", "2026-12-07", "Account Executive", "hybrid", "windows", "yes", "skip"],
        "identity",
        "request",
        "P4",
        "Onboarding: Jamie Lee (Account Executive) starting 2026-12-07",
        {"name": "Jamie Lee", "start_date": "2026-12-07", "laptop": "windows", "extras": True},
        ["3 business days before 2026-12-07"],
    ),
    "offboarding": Script(
        "li.wei",
        ["张明", "2026-12-18", "不", "笔记本、手机、工卡", "归档"],
        "identity",
        "request",
        "P4",
        "Leaver: 张明, last day 2026-12-18",
        {"name": "张明", "last_day": "2026-12-18", "immediate": False, "mailbox": "archive"},
        ["谁要离职", "笔记本、手机、工卡"],
    ),
    "mobile_device": Script(
        "alice",
        [
            "email on my phone",
            "!j:self_help:no",
            "iphone",
            "Outlook says my organisation requires Company Portal, then stops",
        ],
        "workplace",
        "request",
        "P4",
        "Mobile: work email on my phone (iPhone / iPad) for Alice Morgan",
        {"need": "email_setup", "platform": "iphone"},
        ["Company Portal", "a technician contacts you here"],
    ),
    "shared_mailbox": Script(
        "alice",
        ["access", "sales-team@example.com", "send as"],
        "identity",
        "request",
        "P4",
        "Shared mailbox access: sales-team@example.com for Alice Morgan",
        {"action": "access", "mailbox": "sales-team@example.com", "permission": "send_as"},
        ["confirms with the mailbox owner", "how do I open a shared mailbox"],
    ),
    "guest_wifi": Script(
        "wang.fang",
        ["没有", "ACME 公司 张伟", "明天", "2", "1"],
        "network",
        "request",
        "P4",
        "Guest Wi-Fi: ACME 公司 张伟 (1 person, 2 days from 2026-11-24)",
        {"first_day": "2026-11-24", "days": 2, "people": 1},
        ["Example-Guest", "访客码"],
    ),
    "storage_quota": Script(
        "wang.fang",
        ["邮箱", "没有", "80", "合同附件需要保存七年"],
        "service_desk",
        "request",
        "P4",
        "More storage: +80 GB on mailbox for 王芳",
        {"what": "mailbox", "amount": 80.0},
        ["您的经理审批，通常在 4 个工作小时内"],
        approver="li.wei",
        after_approval="李伟 已批准您的请求",
    ),
    "change_request": Script(
        "alex",
        [
            "normal",
            "core-fw-01",
            "Open TCP 443 from the DMZ web tier to the new API gateway",
            "high",
            "possible",
            "small",
            "2026-11-28",
            "22:00-23:30",
            "Remove the rule in the firewall manager; takes 5 minutes",
            "yes",
            "yes",
        ],
        "change",
        "change",
        "P2",
        "Normal change: core-fw-01 on 2026-11-28",
        {"kind": "normal", "impact": "high", "tested": True, "change_risk": "medium"},
        [
            "approval by the change advisory board, usually within 2 business days",
            "Risk of IT-1000: medium (score 6). Window: 2026-11-28 22:00-23:30.",
        ],
        approver="olivia",
        after_approval="The change advisory board (Olivia Brandt, Priya Raman) approved it",
        also_approve=("priya",),
    ),
}


def test_every_default_service_has_a_journey_and_a_script(desk: Desk) -> None:
    assert {j.id for j in desk.catalog} == DEFAULT_SERVICES
    assert set(SCRIPTS) == DEFAULT_SERVICES


_STEP = re.compile(
    r"(?:Step |第 )(?P<at>\d+)(?: of |\s*步，共 )(?P<total>\d+)(?:-(?P<most>\d+))?(?: 步)? ·"
)

# "Account: email" - a label written at the start of a line of a description template.
_LABEL = re.compile(r"^\s*([A-Z][\w ()/-]*):", re.MULTILINE)


def _each_label_starts_a_line(desk: Desk, service_id: str, description: str) -> None:
    """A line of the template stays a line of the ticket, whatever block tags end it.

    (A line ending in `{% endif %}` once ran into the next: "Account: emailLocked out now".)
    """
    journey = next(j for j in desk.catalog if j.id == service_id)
    sources = [s.description for s in journey.steps if isinstance(s, TicketStep)]
    labels = {label for source in sources for label in _LABEL.findall(source)}
    lines = [line.strip() for line in description.splitlines()]
    for label in labels:
        if f"{label}:" in description:
            assert any(line.startswith(f"{label}:") for line in lines), (label, description)


@pytest.mark.parametrize("service_id", sorted(SCRIPTS))
def test_journey_end_to_end(chat: MemoryChat, service_id: str) -> None:
    script = SCRIPTS[service_id]
    done = talk(chat, script.person, [f"!s:{service_id}", *script.inputs])

    # Every question showed where the person is ("Step 2 of 4 · usually ..."), and the
    # total was the path they were on: never a number that later shrank or grew.
    shown = []
    for turn in done.turns[:-1]:
        assert turn, f"no reply before the next input in {service_id}"
        assert turn[-1].message.progress, f"no progress line on: {plain(turn[-1:])}"
        shown.append(turn[-1].message.progress)
    steps = [_STEP.match(line) for line in shown]
    assert all(steps), shown
    last = max(int(m["at"]) for m in steps if m)
    for m in steps:
        assert m is not None
        assert int(m["total"]) <= last <= int(m["most"] or m["total"]), (shown, last)

    [ticket] = tickets(chat)
    assert ticket.service_id == service_id
    assert ticket.requester_id == script.person
    assert (ticket.queue, ticket.type, ticket.priority) == (
        script.queue,
        script.ticket_type,
        script.priority,
    )
    assert script.title in ticket.title
    _each_label_starts_a_line(chat.desk, service_id, ticket.description)
    for key, value in script.answers.items():
        assert ticket.answers.get(key) == value, key
    said = done.text
    assert ticket.number in said
    assert ("Next:" in said) or ("下一步" in said)
    for text in script.said:
        assert text in said, text

    if script.approver is None:
        assert ticket.status == "new"
        assert outcomes(chat) == ["ticket"]
        return
    assert ticket.status == "awaiting_approval"
    ask = chat.seen_by(script.approver, channel="console")
    assert ticket.number in plain(ask)
    chat.press(script.approver, button(ask, ":y"), channel="console")
    for other in script.also_approve:  # short of the quorum, it still waits
        [ticket] = tickets(chat)
        assert ticket.status == "awaiting_approval"
        ask = chat.seen_by(other, channel="console")
        chat.press(other, button(ask, ":y"), channel="console")
    [ticket] = tickets(chat)
    assert ticket.status == "open"
    assert script.after_approval in plain(chat.seen_by(script.person))
    assert outcomes(chat) == ["ticket"]
