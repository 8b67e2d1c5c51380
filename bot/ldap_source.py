"""Reading people and groups from LDAP / Active Directory (config `directory.ldap`).

One simple bind (optionally after StartTLS, or over LDAPS), then paged searches of the
people base and the groups base. What comes back is plain data (`Fetched`): each person's
DN, their fields under deskbot's names, their manager's DN and the names of their groups.
`read` turns that into plain person records (`bot/people_sources.py`): managers as person
ids, roles and approver groups from group names, a language and a time zone; combining them
with other sources and checking them is `bot/directory_sync.py`'s job.

The bind password is never part of an error message or a log line.
"""

from __future__ import annotations

import logging
import re
import ssl
from collections.abc import Iterator
from dataclasses import dataclass, field

import ldap3
from ldap3.core.exceptions import LDAPException
from ldap3.utils.dn import parse_dn

from bot.base.config import LANGUAGES, LdapSettings, Settings
from bot.people_sources import Read, Record, Source, SourceError

log = logging.getLogger(__name__)

# userAccountControl's ACCOUNTDISABLE flag (Microsoft: "UserAccountControl property flags").
ACCOUNT_DISABLED = 0x2


@dataclass(frozen=True)
class Entry:
    dn: str  # normalised (see `normal_dn`)
    fields: dict[str, str]  # deskbot field -> value (id, name, email, language, ...)
    manager_dn: str | None
    groups: frozenset[str]  # group names (cn), lower case
    disabled: bool


@dataclass
class Fetched:
    people: list[Entry] = field(default_factory=list)
    groups: dict[str, set[str]] = field(default_factory=dict)  # name (lower) -> member DNs


# A DN without escapes, quotes or multi-valued RDNs: splitting at "," and "=" is parsing it.
_PLAIN_DN = re.compile(r'^[^\\"+#;<>]*$')


def normal_dn(dn: str) -> str:
    """A DN compared as LDAP does for our purposes: attribute names and values without case,
    no spaces around the separators."""
    if _PLAIN_DN.match(dn):
        # The common case, and ten times faster than parse_dn: 50,000 people with managers
        # and group memberships mean hundreds of thousands of DNs per sync.
        parts = [part.split("=", 1) for part in dn.split(",")]
        if all(len(part) == 2 for part in parts):
            return ",".join(f"{a.strip()}={v.strip()}" for a, v in parts).lower()
    try:
        parts = parse_dn(dn, escape=False, strip=True)
    except LDAPException:
        return dn.strip().lower()
    return ",".join(f"{attr.strip()}={value.strip()}" for attr, value, _sep in parts).lower()


def first_rdn_value(dn: str) -> str:
    """`cn=it-admins,ou=groups,...` -> `it-admins` (how a memberOf value names its group)."""
    try:
        parts = parse_dn(dn, escape=False, strip=True)
    except LDAPException:
        return ""
    return parts[0][1].strip() if parts else ""


def _server(cfg: LdapSettings) -> ldap3.Server:
    tls = ldap3.Tls(
        validate=ssl.CERT_REQUIRED if cfg.verify else ssl.CERT_NONE,
        ca_certs_file=cfg.ca_file,
    )
    return ldap3.Server(
        cfg.url,
        use_ssl=cfg.url.startswith("ldaps://"),
        tls=tls,
        get_info=ldap3.NONE,
        connect_timeout=cfg.timeout.total_seconds(),
    )


def _values(attributes: dict[str, list[bytes]], name: str) -> list[str]:
    if not name:
        return []
    raw = attributes.get(name.lower(), [])
    return [v.decode("utf-8", "replace").strip() for v in raw if v.strip()]


def _first(attributes: dict[str, list[bytes]], name: str) -> str:
    values = _values(attributes, name)
    return values[0] if values else ""


def _entries(
    conn: ldap3.Connection, base: str, query: str, attributes: list[str], page_size: int
) -> Iterator[tuple[str, dict[str, list[bytes]]]]:
    """The entries page by page, as they arrive (a large directory is never held twice)."""
    for item in conn.extend.standard.paged_search(
        base,
        query,
        search_scope=ldap3.SUBTREE,
        attributes=attributes,
        paged_size=page_size,
        generator=True,
    ):
        if item.get("type") != "searchResEntry":
            continue  # referrals: not followed
        raw = {str(k).lower(): list(v) for k, v in item["raw_attributes"].items()}
        yield str(item["dn"]), raw


def _person(
    ndn: str, attrs: dict[str, list[bytes]], names: dict[str, str], groups_of: dict[str, set[str]]
) -> Entry:
    member_of = {first_rdn_value(g).lower() for g in _values(attrs, names["member_of"])}
    member_of |= groups_of.get(ndn, set())
    flags = _first(attrs, names["disabled"])
    values = {
        key: _first(attrs, names[key])
        for key in ("id", "name", "email", "language", "department", "title", "location")
    }
    if not values["name"]:
        values["name"] = _first(attrs, names["name_fallback"])
    return Entry(
        dn=ndn,
        fields=values,
        manager_dn=normal_dn(m) if (m := _first(attrs, names["manager"])) else None,
        groups=frozenset(member_of - {""}),
        disabled=flags.isdigit() and bool(int(flags) & ACCOUNT_DISABLED),
    )


def fetch(cfg: LdapSettings) -> Fetched:
    """Everyone under the people base and every group under the groups base."""
    names = cfg.attribute_map()
    wanted = sorted({a for a in names.values() if a})
    conn = ldap3.Connection(
        _server(cfg),
        user=cfg.bind_dn or None,
        password=cfg.bind_password or None,
        authentication=ldap3.SIMPLE if cfg.bind_dn else ldap3.ANONYMOUS,
        receive_timeout=int(cfg.timeout.total_seconds()),
        raise_exceptions=True,
        read_only=True,
    )
    try:
        conn.open()
        if cfg.start_tls:
            conn.start_tls()
        conn.bind()
        # Groups first, so each person becomes an Entry as their page arrives.
        fetched = Fetched()
        group_pages = _entries(
            conn,
            cfg.groups or cfg.people,
            cfg.group_filter,
            ["cn", "member", "uniqueMember"],
            cfg.page_size,
        )
        for _dn, attrs in group_pages:
            name = _first(attrs, "cn").lower()
            if name:
                members = _values(attrs, "member") + _values(attrs, "uniquemember")
                fetched.groups.setdefault(name, set()).update(normal_dn(m) for m in members)
        groups_of: dict[str, set[str]] = {}  # member DN -> group names
        for name, member_dns in fetched.groups.items():
            for member in member_dns:
                groups_of.setdefault(member, set()).add(name)
        for dn, attrs in _entries(conn, cfg.people, cfg.people_filter, wanted, cfg.page_size):
            fetched.people.append(_person(normal_dn(dn), attrs, names, groups_of))
    except LDAPException as exc:
        # ldap3's messages name the server and the result, never the password; say which
        # step failed in words an admin can act on.
        reason = type(exc).__name__
        detail = str(exc).replace(cfg.bind_password, "***") if cfg.bind_password else str(exc)
        raise SourceError(f"cannot read {cfg.url}: {reason}: {detail}") from None
    finally:
        try:
            conn.unbind()
        except LDAPException:
            log.debug("unbind from %s failed", cfg.url)
        # ldap3 leaves the socket of a refused connection open: close it ourselves.
        sock = getattr(conn, "socket", None)
        if sock is not None:
            sock.close()
    return fetched


def language(value: str, default: str) -> str:
    """`zh-CN`, `zh_Hans`, `en-GB;q=0.8` -> `zh` / `en`; anything else: the desk's language."""
    code = value.split(",")[0].split(";")[0].replace("_", "-").split("-")[0].strip().lower()
    return code if code in LANGUAGES else default


def _roles(entry: Entry, cfg: LdapSettings) -> tuple[str, str]:
    roles = ["employee"]
    groups = entry.groups
    if cfg.roles.admin and cfg.roles.admin.lower() in groups:
        roles.append("admin")
    if cfg.roles.approver and cfg.roles.approver.lower() in groups:
        roles.append("approver")
    queues = sorted(q for q, g in cfg.roles.technician.items() if g.lower() in groups)
    if queues:
        roles.append("technician")
    return ";".join(roles), ";".join(queues)


def records(settings: Settings, fetched: Fetched) -> Read:
    """What LDAP returned as person records: every field LDAP owns (never a chat account
    or a delegate: those come from other sources or stay as the last sync wrote them)."""
    cfg = settings.directory.ldap
    assert cfg is not None
    read = Read()
    by_dn = {e.dn: e.fields["id"] for e in fetched.people if e.fields["id"]}
    for entry in fetched.people:
        pid = entry.fields["id"]
        if not pid:
            read.problems.append(f"{entry.dn}: has no id attribute; left out")
            continue
        manager = ""
        if entry.manager_dn:
            manager = by_dn.get(entry.manager_dn, "")
            if not manager:
                read.problems.append(
                    f"{pid}: manager '{entry.manager_dn}' is not a person under {cfg.people}; "
                    "left without a manager"
                )
        role, queues = _roles(entry, cfg)
        groups = sorted(g for g, cn in cfg.approver_groups.items() if cn.lower() in entry.groups)
        location = entry.fields["location"]
        fields = {
            "name": entry.fields["name"] or pid,
            "email": entry.fields["email"],
            "manager": manager,
            "role": role,
            "queues": queues,
            "language": language(entry.fields["language"], settings.language),
            "timezone": cfg.timezones.get(location, "UTC"),
            "title": entry.fields["title"],
            "department": entry.fields["department"],
            "location": location,
            "approver_groups": ";".join(groups),
            "active": "false" if entry.disabled else "true",
        }
        read.records.append(Record(pid, fields, entry.dn))
    return read


def read(settings: Settings) -> Read:
    cfg = settings.directory.ldap
    if cfg is None:
        raise SourceError("there is no directory.ldap section in config.yaml")
    return records(settings, fetch(cfg))


LDAP = Source("ldap", read)
