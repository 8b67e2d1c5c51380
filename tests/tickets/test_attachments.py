"""Files kept with tickets: sent during a request, with /add, refused with a clear message
when too big or of the wrong type, listed on /show and the triage card, and re-shared to a
technician's private chat. The adapters' downloads are in tests/slack and tests/telegram;
here the files arrive kept, as the adapters hand them over."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from itertools import count

import pytest
from sqlmodel import col, select

from bot.adapters.memory import MemoryChat
from bot.base.clock import FixedClock
from bot.base.config import Settings
from bot.base.filestore import TOO_BIG, WRONG_TYPE, FolderStore, open_store, refusal
from bot.base.markup import to_plain
from bot.base.messages import Inbound, InboundFile
from bot.desk import Desk
from store import attachments as repo
from store import tickets as ticket_repo
from store.models import Approval
from tests.desks import build_desk
from tests.tickets.helpers import (
    DATA,
    SLACK_TRIAGE,
    buttons,
    card,
    field,
    kinds,
    new_ticket,
    plain,
    with_triage,
)

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8
LOG = b"2026-12-05 09:00 VPN: handshake failed\n" * 20
_events = count(1)


@pytest.fixture
def fdesk(settings: Settings, clock: FixedClock) -> Iterator[Desk]:
    """Files are kept in the test's own folder (tests/conftest.py `settings`)."""
    desk = build_desk(with_triage(settings), clock=clock)
    yield desk
    desk.store.dispose()


@pytest.fixture
def fchat(fdesk: Desk) -> MemoryChat:
    return MemoryChat(fdesk)


def kept(desk: Desk, name: str, mime: str, data: bytes) -> InboundFile:
    """A file as an adapter hands it over once downloaded into the store."""
    done = open_store(desk.settings).put(data)
    return InboundFile(name, mime, len(data), "F1", done.path, done.sha256)


def send(chat: MemoryChat, person: str, text: str, *files: InboundFile) -> str:
    inbound = Inbound(
        "memory", person, person, text=text, event_id=f"f{next(_events)}", files=files
    )
    return plain(chat.send(inbound))


def stored(desk: Desk, number: str) -> list[tuple[str, str, int, str, str]]:
    with desk.store.read() as session:
        ticket = ticket_repo.get_ticket(session=session, number=number)
        assert ticket is not None and ticket.id is not None
        rows = repo.attachments_of(session=session, ticket_id=ticket.id)
        return [(r.name, r.mime, r.size, r.sha256, r.added_by) for r in rows]


def test_a_screenshot_sent_during_a_request_is_kept_with_its_ticket(
    fchat: MemoryChat, fdesk: Desk
) -> None:
    fchat.say("alice", "I forgot my password")
    said = send(fchat, "alice", "", kept(fdesk, "error.png", "image/png", PNG))
    assert "Got error.png: I'll add it to your request when it's raised." in said
    fchat.say("alice", "2")  # Email
    fchat.say("alice", "yes")
    assert "IT-1000" in plain(fchat.say("alice", "+44 20 7946 0000"))
    sha = hashlib.sha256(PNG).hexdigest()
    assert stored(fdesk, "IT-1000") == [("error.png", "image/png", len(PNG), sha, "alice")]
    assert "attached" in kinds(fdesk, "IT-1000")
    # The triage card names it and offers it; /show lists it with who sent it.
    shown = card(fchat, "IT-1000")
    assert field(shown, "Files") == "error.png"
    assert "t:file:IT-1000" in buttons(shown.out)
    out = fchat.say("dana", "/show IT-1000")[-1]
    assert "1. error.png (2 KB, Alice Morgan)" in to_plain(out.text)
    assert buttons(out)[-1] == "t:file:IT-1000"


def test_get_files_in_the_triage_channel_uploads_them_privately(
    fchat: MemoryChat, fdesk: Desk
) -> None:
    number = new_ticket(fdesk, "bob", "VPN drops")
    send(fchat, "bob", f"/add {number}", kept(fdesk, "vpn.log", "text/plain", LOG))
    thread = f"{SLACK_TRIAGE}:1800000000.000001"  # the card's thread, where its buttons are
    said = plain(fchat.press("dana", f"t:file:{number}", channel="slack", conversation=thread))
    assert f"I've sent the files of {number} to you in a private message" in said
    assert not any(
        o.message.files for o in fchat.seen_by(thread, "slack")
    )  # never to the shared place
    private = [o for o in fchat.channels["slack"].in_conversation("U0DANA") if o.message.files]
    [shared] = private[-1].message.files
    assert shared.name == "vpn.log" and open_store(fdesk.settings).read(shared.path) == LOG
    assert private[-1].to.person_id == "dana"
    assert kinds(fdesk, number)[-1] == "files_shared"


def test_add_with_a_file_or_a_file_after_add(fchat: MemoryChat, fdesk: Desk) -> None:
    number = new_ticket(fdesk, "bob", "Outlook crashes")
    fchat.say("dana", f"/claim {number}")
    said = send(fchat, "bob", f"/add {number}", kept(fdesk, "crash.png", "image/png", PNG))
    assert f"Added crash.png to {number}." in said
    assert "What would you like to add" not in said  # the caption only carried the file
    told = to_plain(fchat.seen_by("dana", "console")[-1].text)
    assert f"Bob Okafor added crash.png to {number}" in told and f"/file {number}" in told
    # /add first, then the file: the file is what was awaited.
    fchat.say("bob", f"/add {number}")
    said = send(fchat, "bob", "", kept(fdesk, "outlook.log", "text/plain", LOG))
    assert f"Added outlook.log to {number}." in said
    assert [r[0] for r in stored(fdesk, number)] == ["crash.png", "outlook.log"]
    # The awaited information was the file: the next words are a new message.
    assert "Added" not in plain(fchat.say("bob", "thanks"))


def test_too_big_or_wrong_type_is_refused_clearly_and_the_rest_is_kept(
    fchat: MemoryChat, fdesk: Desk
) -> None:
    number = new_ticket(fdesk, "bob", "Laptop slow")
    big = InboundFile("screen-recording.mov", "video/quicktime", 30 * 1024 * 1024, problem=TOO_BIG)
    exe = InboundFile("fix.exe", "application/x-msdownload", 1000, problem=WRONG_TYPE)
    said = send(
        fchat,
        "bob",
        f"/add {number} it freezes at 9am",
        big,
        exe,
        kept(fdesk, "task-manager.png", "image/png", PNG),
    )
    assert "I couldn't keep screen-recording.mov: it is 30.0 MB, and the limit is 20.0 MB." in said
    assert "I couldn't keep fix.exe: files of that type (application/x-msdownload)" in said
    assert f"Added task-manager.png to {number}." in said
    assert [r[0] for r in stored(fdesk, number)] == ["task-manager.png"]
    assert kinds(fdesk, number)[-2:] == ["attached", "info"]  # the words were added too


def test_the_store_policy_checks_size_type_and_extension(fdesk: Desk) -> None:
    policy = fdesk.settings.attachments
    assert refusal(policy, "shot.png", "image/png", 1000) == ""
    assert refusal(policy, "report.pdf", "application/pdf", 1000) == ""
    assert refusal(policy, "huge.png", "image/png", policy.max_size + 1) == TOO_BIG
    assert refusal(policy, "setup.exe", "image/png", 1000) == WRONG_TYPE  # a name that lies
    assert refusal(policy, "clip.mp4", "video/mp4", 1000) == WRONG_TYPE
    first = open_store(fdesk.settings).put(PNG)
    again = open_store(fdesk.settings).put(PNG)
    assert first == again and first.sha256 == hashlib.sha256(PNG).hexdigest()
    store = open_store(fdesk.settings)
    assert isinstance(store, FolderStore)
    for wrong in ("../../etc/passwd", "ab/" + "c" * 64, "/etc/passwd", first.path + "/x"):
        with pytest.raises(ValueError):
            store.path(wrong)
        with pytest.raises(ValueError):
            store.read(wrong)


def test_only_the_requester_or_the_queue_may_add_or_get_files(
    fchat: MemoryChat, fdesk: Desk
) -> None:
    number = new_ticket(fdesk, "bob", "VPN drops")
    said = send(fchat, "alice", f"/add {number}", kept(fdesk, "x.png", "image/png", PNG))
    assert f"can't find a ticket {number}" in said
    assert stored(fdesk, number) == []
    assert "is for IT technicians" in plain(fchat.say("alice", f"/file {number}"))
    assert "belongs to the Service Desk team" in plain(fchat.say("sam", f"/file {number}"))
    assert f"{number} has no files" in plain(fchat.say("dana", f"/file {number}"))
    send(fchat, "bob", f"/add {number}", kept(fdesk, "x.png", "image/png", PNG))
    assert "use a number from 1 to 1" in plain(fchat.say("dana", f"/file {number} 7"))


def test_a_file_with_nowhere_to_go_asks_which_request(fchat: MemoryChat, fdesk: Desk) -> None:
    number = new_ticket(fdesk, "bob", "Printer jams")
    said = send(fchat, "bob", "", kept(fdesk, "jam.png", "image/png", PNG))
    assert "Which request is jam.png for?" in said and f"/add {number} Printer jams" in said
    assert stored(fdesk, number) == []


def approvals_of(desk: Desk) -> list[Approval]:
    with desk.store.read() as session:
        return list(session.exec(select(Approval).order_by(col(Approval.id))).all())


@pytest.fixture
def first_desk(settings: Settings, clock: FixedClock) -> Iterator[Desk]:
    """A catalog whose one service asks the manager before its ticket exists."""
    desk = build_desk(with_triage(settings, DATA / "approve_first"), clock=clock)
    yield desk
    desk.store.dispose()


def test_files_sent_while_a_request_waits_for_approval_go_to_its_ticket(
    first_desk: Desk,
) -> None:
    chat = MemoryChat(first_desk)
    chat.say("alice", "I need admin rights")
    # One file while the journey asks, one after it has parked on the manager's approval.
    send(chat, "alice", "", kept(first_desk, "installer-error.png", "image/png", PNG))
    said = plain(chat.say("alice", "To install the VPN client for the lab"))
    assert "approv" in said.lower()
    [approval] = approvals_of(first_desk)
    assert approval.ticket_id is None and approval.status == "pending"
    said = send(chat, "alice", "", kept(first_desk, "setup.log", "text/plain", LOG))
    assert "Got setup.log: your request for Admin rights is waiting for approval" in said
    assert "Which request" not in said
    # Alice's manager approves: the ticket is raised with both files.
    manager = approval.approvers[0]
    chat.say(manager, f"/approve {approval.id}")
    with first_desk.store.read() as session:
        [ticket] = ticket_repo.list_tickets(session=session, requester_id="alice")
    assert [r[0] for r in stored(first_desk, ticket.number)] == ["installer-error.png", "setup.log"]
    assert "attached" in kinds(first_desk, ticket.number)
    told = "\n".join(to_plain(o.text) for o in chat.seen_by("alice"))
    assert f"Added installer-error.png, setup.log to {ticket.number}" in told


def test_a_rejected_request_attaches_nothing_and_a_new_journey_keeps_its_own_files(
    first_desk: Desk,
) -> None:
    chat = MemoryChat(first_desk)
    chat.say("alice", "I need admin rights")
    chat.say("alice", "To debug a driver")
    [approval] = approvals_of(first_desk)
    send(chat, "alice", "", kept(first_desk, "driver.log", "text/plain", LOG))
    chat.say(approval.approvers[0], f"/reject {approval.id}")
    with first_desk.store.read() as session:
        assert ticket_repo.list_tickets(session=session, requester_id="alice") == []
        assert repo.referenced_paths(session=session) == set()  # left for the prune
