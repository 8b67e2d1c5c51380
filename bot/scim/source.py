"""The `scim` directory source: the Users and Groups an identity provider pushed, kept in
the database (`scim_resource`), in the shape LDAP's are read in (`bot.ldap_source.Fetched`),
then turned into person records by the same function as LDAP's (`ldap_source.records`, with
`directory.scim`'s roles, approver groups and time zones). `bot/directory_sync.py` combines
them with the other sources, checks them with people.csv's rules and writes the file.

A person's "DN" here is their SCIM id; their manager is the enterprise extension's
`manager.value`, which names a User by id (Entra ID, the RFC) or, failing that, by
externalId or userName (what some Okta mappings send); their groups are the displayNames
of the groups listing them, directly or through a listed group; their time zone is their
own `timezone` when it is a known one, else their address's locality's.
"""

from __future__ import annotations

from typing import Any

from bot.base.clock import SystemClock
from bot.base.config import ScimSettings, Settings
from bot.ldap_source import Entry, Fetched, records
from bot.people_sources import Read, Source, SourceError
from bot.scim.schemas import ENTERPRISE
from bot.scim.service import Scim
from store.db import Store


def _primary(items: Any, kind: str = "work") -> dict[str, Any]:
    """The primary value of a multi-valued attribute, else the `kind` one, else the first."""
    values = [i for i in items if isinstance(i, dict)] if isinstance(items, list) else []
    for test in (lambda i: i.get("primary") is True, lambda i: i.get("type") == kind):
        found = next((i for i in values if test(i)), None)
        if found is not None:
            return found
    return values[0] if values else {}


def _name(doc: dict[str, Any]) -> str:
    if doc.get("displayName"):
        return str(doc["displayName"])
    name = doc.get("name") or {}
    if name.get("formatted"):
        return str(name["formatted"])
    parts = [name.get("givenName", ""), name.get("familyName", "")]
    return " ".join(p for p in parts if p)


def _email(doc: dict[str, Any]) -> str:
    email = str(_primary(doc.get("emails")).get("value", ""))
    user = str(doc.get("userName", ""))
    return email or (user if "@" in user else "")


def person_id(doc: dict[str, Any], how: str) -> str:
    user = str(doc.get("userName", ""))
    if how == "local_part":
        return user.split("@")[0]
    if how == "externalId":
        return str(doc.get("externalId", ""))
    if how == "employeeNumber":
        return str(doc.get(ENTERPRISE, {}).get("employeeNumber", ""))
    return user


def _group_names(groups: list[tuple[str, dict[str, Any]]]) -> dict[str, set[str]]:
    """Each member id -> the names (lower case) of every group it is in, nested ones too."""
    direct: dict[str, set[str]] = {}  # member id -> group ids
    names = {gid: str(doc.get("displayName", "")).lower() for gid, doc in groups}
    for gid, doc in groups:
        for member in doc.get("members", []):
            if isinstance(member.get("value"), str):
                direct.setdefault(member["value"], set()).add(gid)
    found: dict[str, set[str]] = {}
    for member in direct:
        seen: set[str] = set()
        todo = list(direct[member])
        while todo:
            gid = todo.pop()
            if gid in seen:
                continue
            seen.add(gid)
            todo += direct.get(gid, set())  # the group is itself a member of groups
        found[member] = {names[g] for g in seen if names.get(g)}
    return found


def pushed(scim: Scim, settings: ScimSettings) -> Fetched:
    """Everyone pushed, as a directory's people and groups (`ldap_source.records` makes
    them person records)."""
    users, groups = scim.snapshot()
    member_of = _group_names(groups)
    by_external = {str(d["externalId"]): uid for uid, d in users if d.get("externalId")}
    by_user = {str(d.get("userName", "")).lower(): uid for uid, d in users}
    ids = {uid for uid, _ in users}
    fetched = Fetched()
    for _gid, doc in groups:
        members = {m["value"] for m in doc.get("members", []) if isinstance(m.get("value"), str)}
        fetched.groups.setdefault(str(doc.get("displayName", "")).lower(), set()).update(members)
    for uid, doc in users:
        ext = doc.get(ENTERPRISE, {})
        ref = str((ext.get("manager") or {}).get("value", ""))
        manager = None
        if ref:
            manager = ref if ref in ids else by_external.get(ref) or by_user.get(ref.lower()) or ref
        address = _primary(doc.get("addresses"))
        fetched.people.append(
            Entry(
                dn=uid,
                fields={
                    "id": person_id(doc, settings.person_id),
                    "name": _name(doc),
                    "email": _email(doc),
                    "language": str(doc.get("preferredLanguage") or doc.get("locale") or ""),
                    "department": str(ext.get("department", "")),
                    "title": str(doc.get("title", "")),
                    "location": str(address.get("locality", "")),
                    "timezone": str(doc.get("timezone", "")),
                },
                manager_dn=manager,
                groups=frozenset(member_of.get(uid, set())),
                disabled=doc.get("active") is False,
            )
        )
    return fetched


def read(settings: Settings, store: Store | None = None) -> Read:
    """The people pushed over SCIM as person records."""
    cfg = settings.directory.scim
    if cfg is None:
        raise SourceError("there is no directory.scim section in config.yaml")
    if store is None:
        raise SourceError("the people pushed over SCIM are in the database, and there is none")
    return records(settings, pushed(Scim(store, SystemClock()), cfg), cfg)


SCIM = Source("scim", read)
