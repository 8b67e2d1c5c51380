"""Configuration items in chat: a new ticket links the requester's own device and the items
its answers name; technicians see an item (`/ci NAME`, privately), add and remove links
(audited, on the card and /show); a major incident names who and what depends on it."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlmodel import select

from bot.adapters.memory import MemoryChat
from bot.base.clock import FixedClock
from bot.base.markup import to_plain
from bot.base.messages import Address, Outbound
from bot.ci_tickets import impact_params
from bot.desk import Desk
from bot.insight.job import InsightJob
from bot.tickets import open_ticket
from store import ci_links
from store import tickets as repo
from store.models import MajorIncident, Ticket, TicketEvent
from tests.foundation.helpers import deskbot
from tests.insight.conftest import DESK_TRIAGE, NET_TRIAGE

VPN = ["my vpn is broken", "won't connect", "no", "hotel", "yes", "yes"]
EMAIL = ["!s:email_issue", "can't send", "outlook on windows", "no", "no", "skip"]


def talk(chat: MemoryChat, person: str, inputs: list[str]) -> list[Outbound]:
    out: list[Outbound] = []
    for said in inputs:
        if said.startswith("!"):
            out += chat.press(person, said[1:])
        else:
            out += chat.say(person, said)
    return out


def plain(outs: list[Outbound]) -> str:
    return "\n".join(to_plain(o.text) for o in outs)


def last_ticket(desk: Desk, person: str) -> Ticket:
    with desk.store.read() as session:
        mine = repo.list_tickets(session=session, requester_id=person)
    assert mine
    return max(mine, key=lambda t: t.id or 0)


def links(desk: Desk, ticket: Ticket) -> dict[str, str]:
    assert ticket.id is not None
    with desk.store.read() as session:
        return {link.ci_id: link.how for link in ci_links.links_of(session, ticket.id)}


def events(desk: Desk, ticket: Ticket) -> list[tuple[str, str | None, dict[str, object]]]:
    assert ticket.id is not None
    with desk.store.read() as session:
        found = repo.events_of(session=session, ticket_id=ticket.id)
        return [(e.kind, e.actor_id, dict(e.data or {})) for e in found if e.kind.startswith("ci_")]


def test_a_journey_links_the_system_it_names_and_the_requesters_device(
    cchat: MemoryChat, cdesk: Desk
) -> None:
    # VPN: the ticket step names the VPN gateway; nobody's laptop is about the VPN.
    talk(cchat, "alice", VPN)
    vpn = last_ticket(cdesk, "alice")
    assert links(cdesk, vpn) == {"vpn-gateway": "journey_answer"}
    assert events(cdesk, vpn) == [
        ("ci_linked", None, {"ci": "vpn-gateway", "how": "journey_answer"})
    ]
    # The network triage card shows the item.
    cards = [o for o in cchat.seen_by(NET_TRIAGE, "console") if o.key == f"card:{vpn.number}"]
    assert cards and cards[-1].message.card is not None
    fields = {f.label: f.value for f in cards[-1].message.card.fields}
    assert fields["Items"] == "VPN gateway"

    # A faulty laptop: Alice's own laptop (LT-0101) is linked, not her phone.
    talk(cchat, "alice", ["!s:hardware_issue", "screen", "it flickers and goes black", "no", "no"])
    laptop = last_ticket(cdesk, "alice")
    assert laptop.service_id == "hardware_issue"
    assert links(cdesk, laptop) == {"lt-0101": "requester_device"}

    # An access request for SAP names SAP by the option chosen.
    talk(
        cchat, "bob", ["!s:access_request", "sap", "read", "monthly reporting for my team", "skip"]
    )
    sap = last_ticket(cdesk, "bob")
    assert links(cdesk, sap) == {"sap": "journey_answer"}


def test_a_free_text_answer_and_a_change_link_what_they_name(cdesk: Desk) -> None:
    def opened(person: str, service: str, kind: str, answers: dict[str, object]) -> Ticket:
        who = cdesk.directory.get(person)
        assert who is not None
        with cdesk.store.begin() as session:
            return open_ticket(
                cdesk,
                session,
                requester=who,
                service_id=service,
                ticket_type=kind,
                title="t",
                description="d",
                priority="P3",
                queue="change" if kind == "change" else "workplace",
                answers=answers,
                origin=Address("memory", person, person),
                language="en",
                now=cdesk.clock.now(),
            )

    # The change journey's `system` answer is found inside the sentence: linked as a change.
    change = opened("alex", "change_request", "change", {"system": "firmware of the VPN gateway"})
    assert links(cdesk, change) == {"vpn-gateway": "change"}
    # A printer named by the label on it ("ci: true" on the printer question).
    printer = opened("wang.fang", "printer_issue", "incident", {"printer": "SHA-12-PRN-01"})
    assert links(cdesk, printer) == {"printer-sha-12f": "journey_answer"}
    # Nothing named, nothing linked (and an unknown printer is not guessed).
    vague = opened("bob", "printer_issue", "incident", {"printer": "the one by the kitchen"})
    assert links(cdesk, vague) == {}


def test_technicians_add_and_remove_links_audited_and_shown(cchat: MemoryChat, cdesk: Desk) -> None:
    talk(cchat, "alice", VPN)
    ticket = last_ticket(cdesk, "alice")
    number = ticket.number

    said = plain(cchat.say("alex", f"/ci {number} add J drive"))
    assert f"Linked {number} to File server (J drive)." in said
    assert "already" in plain(cchat.say("alex", f"/ci {number} add file-server"))
    assert "Did you mean vpn-gateway?" in plain(cchat.say("alex", f"/ci {number} add vpn gatewy"))
    shown = plain(cchat.say("alex", f"/show {number}"))
    assert "Configuration items of " + number in shown
    assert "File server (J drive) (file-server, added by IT)" in shown
    assert "VPN gateway (vpn-gateway, named in the request)" in shown
    # The requester's own view is unchanged: no items.
    assert "Configuration items" not in plain(cchat.say("alice", f"/show {number}"))

    said = plain(cchat.say("alex", f"/ci {number} remove file server"))
    assert f"File server (J drive) is no longer linked to {number}." in said
    assert "wasn't linked" in plain(cchat.say("alex", f"/ci {number} remove file server"))
    assert links(cdesk, ticket) == {"vpn-gateway": "journey_answer"}
    assert events(cdesk, ticket)[1:] == [
        ("ci_linked", "alex", {"ci": "file-server", "how": "technician"}),
        ("ci_unlinked", "alex", {"ci": "file-server"}),
    ]
    # The triage card was edited with each change and shows the item list as it is now.
    card = [o for o in cchat.seen_by(NET_TRIAGE, "console") if o.key == f"card:{number}"][-1]
    assert card.message.card is not None
    assert {f.label: f.value for f in card.message.card.fields}["Items"] == "VPN gateway"

    # Only technicians who work the ticket's queue change its links; refusals are audited.
    refused = plain(cchat.say("bob", f"/ci {number} add mail"))
    assert "for IT technicians" in refused
    assert "you're not one of its technicians" in plain(cchat.say("dana", f"/ci {number} add mail"))
    with cdesk.store.read() as session:
        refused_by = session.exec(
            select(TicketEvent.actor_id, TicketEvent.ticket_id).where(TicketEvent.kind == "refused")
        ).all()
    assert sorted(refused_by) == [("bob", None), ("dana", ticket.id)]
    assert links(cdesk, ticket) == {"vpn-gateway": "journey_answer"}


def test_ci_shows_open_tickets_changes_and_problems_privately(
    cchat: MemoryChat, cdesk: Desk
) -> None:
    talk(cchat, "alice", VPN)
    talk(cchat, "bob", VPN)
    alice, bob = last_ticket(cdesk, "alice"), last_ticket(cdesk, "bob")
    said = plain(cchat.say("alex", "/ci vpn"))
    assert "VPN gateway · system · vpn-gateway" in said
    assert "Owner: Alex Rivera" in said
    assert "Depends on: Company directory (LDAP / Active Directory)" in said
    assert f"{alice.number} [P2]" in said and f"{bob.number} [P2]" in said
    assert "Recent changes: none" in said and "Problems: none" in said
    # Chinese, by the technician's language: 陈杰 works identity, so the tickets are hidden.
    said = plain(cchat.say("chen.jie", "/ci VPN 网关"))
    assert "VPN 网关 · 系统 · vpn-gateway" in said and "负责人：Alex Rivera" in said
    assert "另有 2 个工单属于其他团队的队列" in said and alice.number not in said

    # Employees may not look; the refusal is audited.
    assert "for IT technicians" in plain(cchat.say("bob", "/ci vpn"))

    # Asked in a shared place (the triage thread), the answer goes to the private chat.
    in_thread = cchat.say("alex", "/ci vpn", conversation=f"{NET_TRIAGE}:thread", channel="console")
    assert "private" in plain(in_thread).lower() and alice.number not in plain(in_thread)
    assert any(alice.number in to_plain(o.text) for o in cchat.seen_by("alex", "console"))

    # Unknown names get suggestions; a ticket number lists its items.
    assert "I don't know an item called “vpnn”" in plain(cchat.say("alex", "/ci vpnn"))
    assert "VPN gateway (vpn-gateway" in plain(cchat.say("alex", f"/ci {alice.number}"))


def test_deskbot_ci_show_gives_the_item_as_text_or_json(
    cchat: MemoryChat, cdesk: Desk, db_url: str
) -> None:
    talk(cchat, "alice", VPN)
    ticket = last_ticket(cdesk, "alice")
    cchat.say("alex", f"/ci {ticket.number} add ldap")
    env = {"DATABASE_URL": db_url}
    result = deskbot("ci", "show", "anyconnect", "--format", "json", env=env)
    assert result.returncode == 0, result.stderr
    record = json.loads(result.stdout)
    assert (record["id"], record["owner"]["id"], record["kind"]) == (
        "vpn-gateway",
        "alex",
        "system",
    )
    assert [d["id"] for d in record["depends_on"]] == ["ldap", "core-network"]
    [row] = record["open_tickets"]
    assert (row["number"], row["how"], row["requester"]) == (
        ticket.number,
        "journey_answer",
        "Alice Morgan",
    )
    assert record["changes"] == [] and record["problems"] == [] and record["hidden"] == 0
    # LDAP: the technician's link, and everything standing on it.
    ldap = json.loads(deskbot("ci", "show", "ldap", "--format", "json", env=env).stdout)
    assert [r["how"] for r in ldap["open_tickets"]] == ["technician"]
    assert {"vpn-gateway", "mail", "printer-ldn-3f"} <= {d["id"] for d in ldap["dependents"]}
    text = deskbot("ci", "show", "VPN", "gateway", env=env).stdout
    assert "VPN gateway · system · vpn-gateway" in text and f"{ticket.number} [P2]" in text
    missing = deskbot("ci", "show", "vpn-gatway", env=env)
    assert missing.returncode == 2
    assert "I don't know an item called “vpn-gatway”. Did you mean vpn-gateway?" in missing.stderr


def report_vpn(chat: MemoryChat, person: str) -> str:
    talk(chat, person, VPN)
    return last_ticket(chat.desk, person).number


def test_a_major_incident_names_the_people_and_services_depending_on_it(
    cchat: MemoryChat, cdesk: Desk, clock: FixedClock
) -> None:
    # Mark's email is broken too (email stands on LDAP), before the VPN reports come in.
    talk(cchat, "mark", EMAIL)
    email = last_ticket(cdesk, "mark")
    assert links(cdesk, email) == {"mail": "journey_answer"}
    for person in ("alice", "bob", "wang.fang"):
        report_vpn(cchat, person)
        clock.advance(timedelta(minutes=2))
    InsightJob(cdesk).run_once()
    cchat.flush()
    [alert] = [o for o in cchat.seen_by(NET_TRIAGE, "console") if (o.key or "").startswith("mi:")]
    text = to_plain(alert.text)
    assert "Behind it: VPN gateway." in text and "People to tell: Alex Rivera." in text

    # Declared: the problem ticket is linked to the VPN gateway as a problem.
    declared = cchat.press(
        "alex", alert.choices[0].value, conversation=NET_TRIAGE, channel="console"
    )
    problem_number = to_plain(declared[0].text).split("declared ")[1].split(" ")[0]
    with cdesk.store.read() as session:
        problem = repo.get_ticket(session=session, number=problem_number)
        assert problem is not None and problem.id is not None
        assert ci_links.links_of(session, problem.id)[0].how == "problem"

    # Alex finds the cause is the directory: he links it, and the alert names who and what
    # stands on LDAP: the services (mail among them) and the people (Mark, whose email ticket
    # is open; the owners).
    said = plain(cchat.say("alex", f"/ci {problem_number} add ldap"))
    assert "Linked" in said
    [edited] = [
        s
        for s in cchat.channels["console"].shown
        if (s.out.key or "").startswith("mi:") and s.out.to.conversation == NET_TRIAGE
    ]
    text = to_plain(edited.out.text)
    assert "Major incident " + problem_number in text
    assert "Behind it: Company directory (LDAP / Active Directory), VPN gateway." in text
    assert "Email (Exchange and Outlook)" in text and "Single sign-on and MFA" in text
    assert "and 6 more" in text  # 14 items stand on LDAP besides the VPN gateway; 8 named
    assert "Mark Jensen" in text and "陈杰" in text and "Alex Rivera" in text
    with cdesk.store.read() as session:
        incident = session.get(MajorIncident, int(alert.choices[0].value.rpartition(":")[2]))
        assert incident is not None
        params = impact_params(cdesk, session, incident, "zh")
    assert params["items"] == ["公司目录（LDAP / AD 域）", "VPN 网关"]
    assert "Mark Jensen" in params["people"]
    assert DESK_TRIAGE  # the service desk's triage chat is not where this alert goes
