"""Reading people and groups from LDAP / Active Directory (config `directory.ldap`).

One simple bind (optionally after StartTLS, or over LDAPS), then paged searches of the
people base and the groups base. What comes back is plain data (`Fetched`): each person's
DN, their fields under deskbot's names, their manager's DN and the names of their groups.
`records` turns that into plain person records (`bot/people_sources.py`): managers as person
ids, roles and approver groups from group names, a language and a time zone; the SCIM source
(`bot/scim/source.py`) hands it the people an identity provider pushed in the same shape.
Combining them with other sources and checking them is `bot/directory_sync.py`'s job.

The bind password is never part of an error message or a log line.
"""

from __future__ import annotations

import hashlib
import logging
import re
import ssl
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import ldap3
from ldap3.core.exceptions import LDAPException, LDAPNoSuchObjectResult
from ldap3.utils.conv import escape_filter_chars
from ldap3.utils.dn import parse_dn

from bot.base.config import LANGUAGES, LdapSettings, ScimSettings, Settings
from bot.base.files import stamp
from bot.ldap_snapshot import PersonData, Snapshot, load_snapshot, new_snapshot, save_snapshot
from bot.people_sources import Read, Record, Source, SourceError, shape
from store.db import Store

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
        parts_ = parse_dn(dn, escape=False, strip=True)
    except LDAPException:
        return dn.strip().lower()
    return ",".join(f"{attr.strip()}={value.strip()}" for attr, value, _sep in parts_).lower()


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
    conn: ldap3.Connection, base: str, query: str, attributes: list[str] | str, page_size: int
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


def snapshot_key(settings: Settings, cfg: LdapSettings) -> str:
    """What shapes the read and the records made of it: LDAP's settings, and the rest of
    `directory` (sources, precedence, roles...), the queues, approver groups and language,
    since a change there may change anyone's record."""
    what = [cfg.url, cfg.bind_dn, cfg.people, cfg.groups, cfg.people_filter, cfg.group_filter]
    what += [f"{k}={v}" for k, v in sorted(cfg.attribute_map().items())]
    what += [shape(settings)]
    return hashlib.sha256("\n".join(what).encode()).hexdigest()[:32]


def _time_key(value: str) -> str:
    """GeneralizedTime compared by its digits (`20261205081500Z`, AD's `...00.0Z`)."""
    return re.sub(r"\D", "", value)[:14]


@contextmanager
def _connected(cfg: LdapSettings) -> Iterator[ldap3.Connection]:
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
        yield conn
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


# Values many people share (a few languages, departments, titles, places, managers): kept
# once per read, not once per person.
_REPEATED = ("language", "department", "title", "location")


def _person(
    attrs: dict[str, list[bytes]], names: dict[str, str], shared: dict[str, str]
) -> PersonData:
    values = {
        key: _first(attrs, names[key])
        for key in ("id", "name", "email", "language", "department", "title", "location")
    }
    for key in _REPEATED:
        values[key] = shared.setdefault(values[key], values[key])
    if not values["name"]:
        values["name"] = _first(attrs, names["name_fallback"])
    manager = _first(attrs, names["manager"])
    manager = normal_dn(manager) if manager else ""
    member_of = sorted({first_rdn_value(g).lower() for g in _values(attrs, names["member_of"])})
    flags = _first(attrs, names["disabled"])
    disabled = flags.isdigit() and bool(int(flags) & ACCOUNT_DISABLED)
    return values, shared.setdefault(manager, manager), member_of, disabled


def refresh(
    settings: Settings, cfg: LdapSettings, snapshot: Snapshot | None, now: datetime
) -> tuple[Snapshot, set[str] | None, set[str]]:
    """Read LDAP into a snapshot: everything when `snapshot` is None, else only what changed
    since its mark, and what was removed since (from the access log, else by listing every
    entry's DN). With the snapshot, the DNs of the people whose record may have changed
    (None after a full read): their own entry changed, a group they are in changed, or
    their manager's entry went; and the ids of the people whose entry went or took another
    id (they may have left)."""
    names = cfg.attribute_map()
    changed_attr = names.get("changed", "")
    wanted = sorted({a for k, a in names.items() if a})
    group_attrs = ["cn", "member", "uniqueMember", *([changed_attr] if changed_attr else [])]
    group_base = cfg.groups or cfg.people
    incremental = snapshot is not None and bool(snapshot.mark) and bool(changed_attr)
    last = snapshot
    if snapshot is None or not incremental:
        if snapshot is not None:
            snapshot.close()
        snapshot = new_snapshot(snapshot_key(settings, cfg), now.isoformat())
    since = ""
    if incremental:
        since = f"({changed_attr}>={escape_filter_chars(snapshot.mark)})"
    marks = [snapshot.mark] if snapshot.mark else []
    changed: set[str] = set()
    seen: set[str] = set()  # the DNs this read returned
    shared: dict[str, str] = {}
    renamed: set[str] = set()  # entries whose person id changed: their reports' manager too
    gone_ids: set[str] = set()
    with _connected(cfg) as conn:
        # The log's state first: a change logged while the bases are read is seen next time.
        log_start = _log_start(conn, cfg) if cfg.accesslog else ""
        people_query = f"(&{cfg.people_filter}{since})" if since else cfg.people_filter
        for dn, attrs in _entries(conn, cfg.people, people_query, wanted, cfg.page_size):
            key = normal_dn(dn)
            person = _person(attrs, names, shared)
            old = snapshot.people.get(key) if incremental else None
            if old is not None and old[0].get("id") != person[0].get("id"):
                renamed.add(key)
                gone_ids.add(old[0].get("id", ""))
            snapshot.people[key] = person
            changed.add(key)
            seen.add(key)
            if changed_attr and (stamp := _first(attrs, changed_attr)):
                marks.append(stamp)
        group_query = f"(&{cfg.group_filter}{since})" if since else cfg.group_filter
        for dn, attrs in _entries(conn, group_base, group_query, group_attrs, cfg.page_size):
            members = _values(attrs, "member") + _values(attrs, "uniquemember")
            name = _first(attrs, "cn").lower()
            key = normal_dn(dn)
            group = (name, sorted({normal_dn(m) for m in members}))
            changed.update(_moved(snapshot.groups.get(key), group))
            snapshot.groups[key] = group
            seen.add(key)
            if changed_attr and (stamp := _first(attrs, changed_attr)):
                marks.append(stamp)
        snapshot.entries = len(seen)
        if incremental:
            assert last is not None
            logged = _logged(conn, cfg, last, log_start, now) if cfg.accesslog else None
            people, groups = snapshot.people, snapshot.groups
            if logged is None:
                # Removed entries leave no change time behind: who is still there, by name.
                snapshot.removals = "names"
                gone = {
                    "people": _removed(conn, snapshot, people, cfg.people, cfg.people_filter, cfg),
                    "groups": _removed(conn, snapshot, groups, group_base, cfg.group_filter, cfg),
                }
            else:
                # Only the entries the log names that this read did not return: each is
                # looked up by its DN (gone, renamed away, or no longer matching a filter).
                snapshot.removals = "log"
                unread = logged - seen
                gone = {
                    "people": _absent(conn, snapshot, people, unread, cfg.people_filter),
                    "groups": _absent(conn, snapshot, groups, unread, cfg.group_filter),
                }
            for key in gone["people"]:
                gone_ids.add(snapshot.pid_of(key))
                del snapshot.people[key]
            for key in gone["groups"]:
                changed.update(_moved(snapshot.groups.pop(key), None))
            renamed |= gone["people"]
    if renamed:  # their reports now have another manager id, or none
        changed |= snapshot.reports_of(renamed)
    snapshot.mark = max(marks, key=_time_key, default="")
    snapshot.read_at, snapshot.log_start = now.isoformat(), log_start
    return snapshot, (changed if incremental else None), gone_ids - {""}


# The deskbot host's clock and the LDAP server's may differ: the log is read from a little
# before the last read began (a change seen twice is looked up twice, no more).
LOG_MARGIN = timedelta(minutes=10)


def _log_start(conn: ldap3.Connection, cfg: LdapSettings) -> str:
    """The oldest change the access log holds (OpenLDAP 2.5's `minCSN` on the log's root,
    its time part); "" when it holds none or does not say. A log that cannot be read is
    logged and the names are listed instead (`_logged` then finds no `read_at` to trust)."""
    try:
        conn.search(cfg.accesslog, "(objectClass=*)", ldap3.BASE, attributes=["minCSN"])
    except LDAPException as exc:
        log.warning("cannot read the access log %s (%s): listing every name", cfg.accesslog, exc)
        return "-"
    found = conn.response[0]["raw_attributes"] if conn.response else {}
    values = [v.decode() for k, vs in found.items() if str(k).lower() == "mincsn" for v in vs]
    return min((_time_key(v.split("#")[0]) for v in values), default="")


def _logged(
    conn: ldap3.Connection, cfg: LdapSettings, last: Snapshot, log_start: str, now: datetime
) -> set[str] | None:
    """The DNs written to (deleted, renamed, modified) since the last read, by the access
    log; None when the log cannot be trusted to hold every change since then: none read
    before, too long ago for it (`accesslog_keeps`), or its oldest change is another than
    at the last read and newer than that read (purged past it, or started again)."""
    if not last.read_at or log_start == "-" or last.log_start == "-":
        return None
    read_at = datetime.fromisoformat(last.read_at)
    if now - read_at > cfg.accesslog_keeps:
        return None
    since = (read_at - LOG_MARGIN).astimezone(UTC)
    if last.log_start and log_start != last.log_start:
        if not log_start or log_start > since.strftime("%Y%m%d%H%M%S"):
            return None
    query = (
        "(&(objectClass=auditWriteObject)(reqResult=0)"
        f"(reqStart>={since.strftime('%Y%m%d%H%M%S')}Z)"
        "(|(reqType=delete)(reqType=modrdn)(reqType=modify)))"
    )
    try:
        entries = list(_entries(conn, cfg.accesslog, query, ["reqDN"], cfg.page_size))
    except LDAPException as exc:
        log.warning("cannot read the access log %s (%s): listing every name", cfg.accesslog, exc)
        return None
    return {normal_dn(_first(attrs, "reqDN")) for _, attrs in entries if _first(attrs, "reqDN")}


def _absent(
    conn: ldap3.Connection,
    snapshot: Snapshot,
    kept: Mapping[str, object],
    named: set[str],
    query: str,
) -> set[str]:
    """The `kept` entries (the snapshot's people or groups) among `named` that are no
    longer there as they were read: gone, renamed away or no longer matched by `query`."""
    gone = set()
    for dn in sorted(dn for dn in named if dn in kept):
        try:
            conn.search(dn, query, ldap3.BASE, attributes=ldap3.NO_ATTRIBUTES)
        except LDAPNoSuchObjectResult:
            gone.add(dn)
            continue
        snapshot.entries += len(conn.response or [])
        if not any(r.get("type") == "searchResEntry" for r in conn.response or []):
            gone.add(dn)
    return gone


def _moved(old: tuple[str, list[str]] | None, new: tuple[str, list[str]] | None) -> set[str]:
    """The member DNs whose groups differ between a group's old and new (name, members)."""
    before = set(old[1]) if old else set()
    after = set(new[1]) if new else set()
    if old and new and old[0] != new[0]:
        return before | after  # renamed: a role or approver group may follow the name
    return before ^ after


def _removed(
    conn: ldap3.Connection,
    snapshot: Snapshot,
    kept: Mapping[str, object],
    base: str,
    query: str,
    cfg: LdapSettings,
) -> set[str]:
    """The `kept` DNs (the snapshot's people or groups) no longer under `base`: every entry
    listed by DN alone (no attributes), since LDAP keeps no trace of a removal (unless it
    keeps an access log: `_logged`)."""
    present = set()
    for dn, _ in _entries(conn, base, query, ldap3.NO_ATTRIBUTES, cfg.page_size):
        present.add(normal_dn(dn))
    snapshot.entries += len(present)
    return set(kept) - present


def fetched(snapshot: Snapshot) -> Fetched:
    """The snapshot as the people and groups a sync works from."""
    result = Fetched()
    groups_of: dict[str, set[str]] = {}  # member DN -> group names
    for name, members in snapshot.groups.values():
        if not name:
            continue
        result.groups.setdefault(name, set()).update(members)
        for member in members:
            groups_of.setdefault(member, set()).add(name)
    for dn, (values, manager, member_of, disabled) in snapshot.people.items():
        groups = set(member_of) | groups_of.get(dn, set())
        result.people.append(
            Entry(
                dn=dn,
                fields=values,
                manager_dn=manager or None,
                groups=frozenset(groups - {""}),
                disabled=disabled,
            )
        )
    return result


def language(value: str, default: str) -> str:
    """`zh-CN`, `zh_Hans`, `en-GB;q=0.8` -> `zh` / `en`; anything else: the desk's language."""
    code = value.split(",")[0].split(";")[0].replace("_", "-").split("-")[0].strip().lower()
    return code if code in LANGUAGES else default


# What turns groups and locations into roles, approver groups and time zones: LDAP's
# settings, or SCIM's (bot/scim/source.py gives the same `Fetched`).
GroupRules = LdapSettings | ScimSettings


def _roles(entry: Entry, cfg: GroupRules) -> tuple[str, str]:
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


def _timezone(entry: Entry, cfg: GroupRules, pid: str, read: Read) -> str:
    """The person's own time zone when the source gives a valid one (SCIM's `timezone`),
    else their location's, else UTC."""
    given = entry.fields.get("timezone", "")
    if given:
        try:
            ZoneInfo(given)
        except (ZoneInfoNotFoundError, ValueError):
            read.problems.append(f"{pid}: unknown timezone '{given}'; the location's is used")
        else:
            return given
    return cfg.timezones.get(entry.fields.get("location", ""), "UTC")


def records(settings: Settings, fetched: Fetched, cfg: GroupRules | None = None) -> Read:
    """What a directory returned as person records: every field it owns (never a chat
    account or a delegate: those come from other sources or stay as the last sync wrote
    them). `cfg`: the settings that map its groups and locations (default: LDAP's)."""
    cfg = cfg or settings.directory.ldap
    assert cfg is not None
    read = Read()
    by_dn = {e.dn: e.fields["id"] for e in fetched.people if e.fields["id"]}
    for entry in fetched.people:
        record = _record(settings, cfg, entry, by_dn, read)
        if record is not None:
            read.records.append(record)
    return read


def _record(
    settings: Settings, cfg: GroupRules, entry: Entry, by_dn: Mapping[str, str], read: Read
) -> Record | None:
    """One entry as a person record (None without an id); problems go to `read`."""
    where = f"under {cfg.people}" if isinstance(cfg, LdapSettings) else "pushed over SCIM"
    pid = entry.fields["id"]
    if not pid:
        read.problems.append(f"{entry.dn}: has no id attribute; left out")
        return None
    manager = ""
    if entry.manager_dn:
        manager = by_dn.get(entry.manager_dn, "")
        if not manager:
            read.problems.append(
                f"{pid}: manager '{entry.manager_dn}' is not a person {where}; "
                "left without a manager"
            )
    role, queues = _roles(entry, cfg)
    groups = sorted(g for g, cn in cfg.approver_groups.items() if cn.lower() in entry.groups)
    fields = {
        "name": entry.fields["name"] or pid,
        "email": entry.fields["email"],
        "manager": manager,
        "role": role,
        "queues": queues,
        "language": language(entry.fields["language"], settings.language),
        "timezone": _timezone(entry, cfg, pid, read),
        "title": entry.fields["title"],
        "department": entry.fields["department"],
        "location": entry.fields["location"],
        "approver_groups": ";".join(groups),
        "active": "false" if entry.disabled else "true",
    }
    return Record(pid, fields, entry.dn)


class _Changes:
    """The people an incremental read found changed, and anyone else's record on demand,
    made from the snapshot one person at a time (never everyone's)."""

    def __init__(self, settings: Settings, cfg: LdapSettings, snapshot: Snapshot) -> None:
        self.settings, self.cfg, self.snapshot = settings, cfg, snapshot
        self.by_dn = _ByDn(snapshot)

    def entry(self, dn: str) -> Entry:
        values, manager, member_of, disabled = self.snapshot.people[dn]
        groups = set(member_of) | self.snapshot.groups_of(dn)
        return Entry(dn, values, manager or None, frozenset(groups - {""}), disabled)

    def dn_of(self, pid: str) -> str | None:
        found = self.snapshot.dns_of(pid) if pid else []
        return found[0] if found else None

    def record(self, pid: str, read: Read | None = None) -> Record | None:
        dn = self.dn_of(pid)
        if dn is None:
            return None
        return _record(self.settings, self.cfg, self.entry(dn), self.by_dn, read or Read())

    def read(self, changed: set[str] | None, gone: set[str]) -> Read:
        """Everyone's records on demand; with `changed` (DNs), theirs only are new, and
        `gone` the ids whose entries went (removed, renamed, no longer matched). What they
        break is told in the read's problems as they are made."""
        read = Read()
        if changed is None:
            ids = set()
            for dn in self.snapshot.people:
                pid = self.snapshot.pid_of(dn)
                if pid:
                    ids.add(pid)
                else:
                    read.problems.append(f"{dn}: has no id attribute; left out")
            read.ids = frozenset(ids)
        else:
            read.everyone = lambda: frozenset(self.by_dn.values())
            now = {self.snapshot.pid_of(dn) for dn in changed if dn in self.snapshot.people}
            read.changed = frozenset((now | gone) - {""})
            read.has = lambda pid: self.dn_of(pid) is not None
        read.lookup = lambda pid: self.record(pid, read)
        return read


class _ByDn(Mapping[str, str]):
    """Person ids by their entry's DN, looked up one at a time (a manager's, say)."""

    def __init__(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot

    def __getitem__(self, dn: str) -> str:
        pid = self.snapshot.pid_of(dn)
        if not pid:
            raise KeyError(dn)
        return pid

    def __iter__(self) -> Iterator[str]:
        return (dn for dn in self.snapshot.people if self.snapshot.pid_of(dn))

    def __len__(self) -> int:
        return sum(1 for _ in self)


def snapshot_path(settings: Settings) -> Path:
    """Next to the synced people: `var/directory/ldap-snapshot.db` by default."""
    return settings.resolve(settings.directory.synced).with_name("ldap-snapshot.db")


def read(settings: Settings, store: Store | None = None) -> Read:
    """LDAP's people as records: after a full read everyone's; otherwise the changes since
    the last applied sync (`Read.changed`), read into its snapshot. A full read when there
    is no snapshot, it is older than `full_every`, the settings that shape it changed, or
    it was not applied to the synced people file there now."""
    cfg = settings.directory.ldap
    if cfg is None:
        raise SourceError("there is no directory.ldap section in config.yaml")
    now = datetime.now(UTC)
    path = snapshot_path(settings)
    synced = settings.resolve(settings.directory.synced)
    kept = load_snapshot(path, snapshot_key(settings, cfg))
    if kept is not None and (
        now - datetime.fromisoformat(kept.full_at) >= cfg.full_every or kept.synced != stamp(synced)
    ):
        kept.close()
        kept = None
    snapshot, changed, gone = refresh(settings, cfg, kept, now)

    def commit() -> None:
        # Kept once the sync is applied: the snapshot mirrors LDAP as the people file now
        # has it. A refused sync or a dry run keeps the old one, and reads the same changes
        # again next time.
        snapshot.synced = stamp(synced)
        try:
            save_snapshot(path, snapshot)
        finally:
            snapshot.close()

    view = _Changes(settings, cfg, snapshot)
    # Two entries with one id: the whole list, for the sync to tell and refuse.
    twice = snapshot.twice()
    result = records(settings, fetched(snapshot)) if twice else view.read(changed, gone)
    result.commit = commit
    result.cost = {
        "entries": snapshot.entries,
        "read": "full" if changed is None else "changes",
        "removals": {"log": "from the access log", "names": "by listing every name"}.get(
            snapshot.removals, ""
        ),
    }
    return result


LDAP = Source("ldap", read)
