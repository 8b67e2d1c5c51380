"""The demo directory (directory/people.csv) as LDAP entries: inetOrgPerson people under
ou=people with managers as DNs, groupOfNames groups under ou=groups, or the same people
shaped as Active Directory users (sAMAccountName, userPrincipalName, memberOf,
userAccountControl)."""

from __future__ import annotations

import base64
import csv
from pathlib import Path

from tests.configs import ROOT
from tests.directory.slapd import SUFFIX

PEOPLE = f"ou=people,{SUFFIX}"
GROUPS = f"ou=groups,{SUFFIX}"
# Group name -> its members, from the demo people's roles and queues.
GROUP_OF = {"admin": "it-admins", "approver": "approvers"}
QUEUE_GROUPS = {
    "service_desk": "it-service-desk",
    "network": "it-network",
    "security": "it-security",
    "identity": "it-identity",
    "workplace": "it-workplace",
    "applications": "it-applications",
}


def demo_people() -> list[dict[str, str]]:
    path = ROOT / "directory" / "people.csv"
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def _line(attr: str, value: str) -> str:
    if value.isascii():
        return f"{attr}: {value}"
    return f"{attr}:: {base64.b64encode(value.encode()).decode()}"  # RFC 2849: UTF-8 as base64


def dn_of(pid: str) -> str:
    return f"uid={pid},{PEOPLE}"


def ad_dn_of(pid: str) -> str:
    return f"cn={pid},{PEOPLE}"


def groups_of(people: list[dict[str, str]]) -> dict[str, list[str]]:
    groups: dict[str, list[str]] = {g: [] for g in [*GROUP_OF.values(), *QUEUE_GROUPS.values()]}
    for p in people:
        for role in p["role"].split(";"):
            if role in GROUP_OF:
                groups[GROUP_OF[role]].append(p["id"])
        for queue in filter(None, p["queues"].split(";")):
            groups[QUEUE_GROUPS[queue]].append(p["id"])
    return groups


def _head() -> list[str]:
    return [
        f"dn: {SUFFIX}\nobjectClass: dcObject\nobjectClass: organization\ndc: example\no: Example",
        f"dn: {PEOPLE}\nobjectClass: organizationalUnit\nou: people",
        f"dn: {GROUPS}\nobjectClass: organizationalUnit\nou: groups",
    ]


# When the test directory's entries were last changed: long before any test runs, so a sync
# that reads only entries changed since the last one tells them from the test's own changes.
# The groups a day later: a sync reads again what changed in the newest second it saw, so
# the people are read again only when they change.
LOADED = ("createTimestamp: 20260101000000Z", "modifyTimestamp: 20260101000000Z")
GROUPS_LOADED = ("createTimestamp: 20260102000000Z", "modifyTimestamp: 20260102000000Z")


def inet_org_ldif(people: list[dict[str, str]]) -> str:
    entries = _head()
    for p in people:
        lines = [
            f"dn: {dn_of(p['id'])}",
            "objectClass: inetOrgPerson",
            _line("uid", p["id"]),
            _line("cn", p["name"]),
            _line("sn", p["name"].split()[-1]),
            _line("displayName", p["name"]),
            _line("mail", p["email"]),
            _line("preferredLanguage", {"zh": "zh-CN", "en": "en-GB"}[p["language"]]),
            _line("title", p["title"]),
            _line("departmentNumber", p["department"]),
            _line("l", p["location"]),
            "telephoneNumber: +44 20 7946 0000",
            *LOADED,
        ]
        if p["manager"]:
            lines.append(f"manager: {dn_of(p['manager'])}")
        entries.append("\n".join(lines))
    for name, members in groups_of(people).items():
        lines = [
            f"dn: cn={name},{GROUPS}",
            "objectClass: groupOfNames",
            f"cn: {name}",
            *GROUPS_LOADED,
        ]
        lines += [f"member: {dn_of(m)}" for m in members] or [f"member: {SUFFIX}"]
        entries.append("\n".join(lines))
    return "\n\n".join(entries) + "\n"


def ad_ldif(people: list[dict[str, str]], disabled: tuple[str, ...] = ()) -> str:
    """People as Active Directory shapes them; the groups are named by memberOf only."""
    entries = _head()
    member_of: dict[str, list[str]] = {}
    for name, members in groups_of(people).items():
        for m in members:
            member_of.setdefault(m, []).append(f"cn={name},{GROUPS}")
    for p in people:
        lines = [
            f"dn: {ad_dn_of(p['id'])}",
            "objectClass: user",
            # AD's securityPrincipal (sAMAccountName) is not in OpenLDAP's msuser.schema.
            "objectClass: extensibleObject",
            "instanceType: 4",  # what the schema requires of every AD object
            "nTSecurityDescriptor:: AQAEgA==",
            f"objectCategory: cn=Person,cn=Schema,cn=Configuration,{SUFFIX}",
            _line("cn", p["id"]),
            _line("sn", p["name"].split()[-1]),
            _line("sAMAccountName", p["id"]),
            _line("userPrincipalName", p["email"]),
            _line("displayName", p["name"]),
            _line("title", p["title"]),
            _line("department", p["department"]),
            _line("l", p["location"]),
            f"userAccountControl: {514 if p['id'] in disabled else 512}",
        ]
        if p["manager"]:
            lines.append(f"manager: {ad_dn_of(p['manager'])}")
        lines += [f"memberOf: {g}" for g in member_of.get(p["id"], [])]
        entries.append("\n".join(lines))
    return "\n\n".join(entries) + "\n"


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path
