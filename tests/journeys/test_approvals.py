"""Approvals inside the default journeys: rejected with a reason, group approvers, the path."""

from __future__ import annotations

from bot.adapters.memory import MemoryChat

from .talk import button, outcomes, plain, talk, tickets


def test_rejected_software_request_ends_with_the_reason(chat: MemoryChat) -> None:
    talk(chat, "alice", ["!s:software_request", "creative cloud", "To retouch photos for a deck"])
    ask = chat.seen_by("mark", channel="console")
    assert "Adobe Creative Cloud (licensed) for Alice Morgan: To retouch photos" in plain(ask)
    chat.press("mark", button(ask, ":n"), channel="console")
    chat.say("mark", "Marketing can do this for you", channel="console")
    told = plain(chat.seen_by("alice")[-1:])
    assert "Mark Jensen did not approve your request" in told
    assert "Marketing can do this for you" in told
    [ticket] = tickets(chat)
    assert ticket.status == "rejected"
    assert outcomes(chat) == ["rejected"]


def test_free_software_needs_no_approval(chat: MemoryChat) -> None:
    done = talk(
        chat, "alice", ["!s:software_request", "a free tool", "!j:self_service:no", "Zoom 6"]
    )
    [ticket] = tickets(chat)
    assert ticket.status == "new" and ticket.title == "Software: Zoom 6 for Alice Morgan"
    assert "approval" not in done.text
    assert chat.seen_by("mark", channel="console") == []


def test_system_owner_group_decides_and_the_requester_is_never_an_approver(
    chat: MemoryChat,
) -> None:
    # Priya asks for Jira access; the IT system owners are Priya and Dana: Dana decides.
    done = talk(chat, "priya", ["!s:access_request", "jira", "admin", "Set up the boards", "skip"])
    assert "waiting for approval from Dana Whitfield" in done.text
    assert chat.seen_by("priya", channel="console") == []
    ask = chat.seen_by("dana", channel="console")
    assert "Admin" in plain(ask) or "Administrator" in plain(ask)
    chat.press("dana", button(ask, ":y"), channel="console")
    [ticket] = tickets(chat)
    assert ticket.status == "open" and ticket.priority == "P3"  # admin rights: medium impact


def test_sap_access_goes_to_the_finance_owners(chat: MemoryChat) -> None:
    done = talk(chat, "bob", ["!s:access_request", "SAP", "read", "Check invoices", "skip"])
    assert "approval by the SAP Finance owners, usually within 1 business day" in done.text
    assert "SAP Finance" in plain(chat.seen_by("mark", channel="console"))


def test_standard_change_is_pre_approved(chat: MemoryChat) -> None:
    done = talk(
        chat,
        "alex",
        [
            "!s:change_request",
            "standard",
            "certificate",
            "www.example.com",
            "Renew the TLS certificate before it expires on 1 December",
            "low",
            "unlikely",
            "small",
            "2026-11-26",
            "skip",
            "Put the old certificate back from the vault",
            "yes",
            "yes",
        ],
    )
    [ticket] = tickets(chat)
    assert ticket.type == "change" and ticket.status == "new" and ticket.priority == "P4"
    assert "pre-approved" in done.text
    # Low impact, unlikely to fail, small, tested, reversible: low risk, shown on the card;
    # no hours given: two hours from midnight in Alex's time zone (London, UTC in November).
    assert "Risk of IT-1000: low (score 1). Window: 2026-11-26 00:00-02:00." in done.text
    card = next(o.message.card for o in done.turns[-1] if o.message.card)
    assert ("Risk", "low") in [(f.label, f.value) for f in card.fields]
    assert chat.seen_by("olivia", channel="console") == []
    assert outcomes(chat) == ["ticket"]


def test_path_after_submission_in_chinese(chat: MemoryChat) -> None:
    # Li Wei's laptop is from 2021; her manager is Priya.
    done = talk(chat, "li.wei", ["!s:new_laptop", "mac", "自取"])
    assert (
        "下一步：您的经理审批，通常在 1 个工作日内；然后IT 会准备电脑、迁移您的文件，"
        "并预约 30 分钟在 IT 服务台交接（通常在 4 个工作日内）。"
    ) in done.text
    assert "通常 5 个工作日内完成" in done.text


def test_managers_only_service_refuses_others_politely(chat: MemoryChat) -> None:
    refused = chat.press("alice", "s:offboarding")
    assert "Only the leaver's manager (or HR) can request this." in plain(refused)
    assert tickets(chat) == []


def test_forged_or_odd_ids_in_buttons_and_commands_are_refused_politely(
    chat: MemoryChat,
) -> None:
    # Slack and Telegram only send our own values, but a too-long number once crashed the
    # turn (the database driver overflowed) and "²" passes str.isdigit but not int().
    for value in ("ap:99999999999999999999:y", "ap:2147483648:y", "ap:²:n", "sv:2147483648:5"):
        replies = chat.press("mark", value, channel="console")
        assert replies, value
    assert "no longer does anything" in plain(chat.press("mark", "ap:99999999999999999999:y"))
    for command in ("/approve 2147483648", "/reject ² no budget", "/approve 99999999999999999999"):
        replies = chat.say("mark", command, channel="console")
        assert replies and "approv" in plain(replies).lower(), command
