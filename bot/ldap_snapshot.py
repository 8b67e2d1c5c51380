"""What LDAP held when it was last read, kept between syncs in a small SQLite file next to
the synced people (`ldap-snapshot.db`), so that a sync reads only the entries changed since
and looks up anyone else's one at a time: its cost follows the changes, not the size of the
directory.

A `Snapshot` is the kept entries with this read's changes laid over them (`Kept`): a person
or group read now, or gone now, is held in memory until the sync is applied
(`save_snapshot` writes just those rows); everyone else stays on disk and is looked up by
DN, by person id, by manager or by group member through the file's indexes. A full read
starts from nothing (a `Snapshot` without a file) and replaces every row when saved.

Local to the machine that syncs, like the synced people file it belongs to: not the store
(a sync without a database keeps one too), and never read by the running desks.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterable, Iterator, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Generic, TypeVar

from bot.base import sqlitefile

# What a snapshot keeps of a person: their fields, their manager's DN ("" for none), the
# group names their own entry lists (memberOf) and whether the account is disabled.
PersonData = tuple[dict[str, str], str, list[str], bool]
GroupData = tuple[str, list[str]]  # the group's name (cn, lower case) and its member DNs
VERSION = "3"  # 3: SQLite (2: JSON lines, 1: one JSON document)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS person (
    dn TEXT PRIMARY KEY, pid TEXT NOT NULL, manager TEXT NOT NULL, data TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS person_pid ON person (pid);
CREATE INDEX IF NOT EXISTS person_manager ON person (manager);
CREATE TABLE IF NOT EXISTS grp (dn TEXT PRIMARY KEY, name TEXT NOT NULL, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS member (
    member TEXT NOT NULL, grp TEXT NOT NULL, PRIMARY KEY (member, grp)
) WITHOUT ROWID;
"""
_HEAD = ("key", "full_at", "mark", "synced", "read_at", "log_start")

V = TypeVar("V")


class Kept(MutableMapping[str, V], Generic[V]):
    """Entries by DN: what this read set or removed, over what the file kept. Reading a
    key not changed now is one indexed lookup; iterating reads every row (full reads, and
    the one-off checks that need everyone)."""

    def __init__(
        self,
        load: Callable[[str], V | None] = lambda dn: None,
        keys: Callable[[], Iterator[str]] = lambda: iter(()),
    ) -> None:
        self._load, self._keys = load, keys
        self.changed: dict[str, V] = {}
        self.gone: set[str] = set()
        self.version = 0  # moves on with every change (what an index of `changed` is of)

    def __getitem__(self, dn: str) -> V:
        if dn in self.changed:
            return self.changed[dn]
        found = None if dn in self.gone else self._load(dn)
        if found is None:
            raise KeyError(dn)
        return found

    def __setitem__(self, dn: str, value: V) -> None:
        self.changed[dn] = value
        self.gone.discard(dn)
        self.version += 1

    def __delitem__(self, dn: str) -> None:
        if dn not in self:
            raise KeyError(dn)
        self.changed.pop(dn, None)
        self.gone.add(dn)
        self.version += 1

    def __contains__(self, dn: object) -> bool:
        if not isinstance(dn, str) or dn in self.gone:
            return False
        return dn in self.changed or self._load(dn) is not None

    def __iter__(self) -> Iterator[str]:
        yield from self.changed
        for dn in self._keys():
            if dn not in self.changed and dn not in self.gone:
                yield dn

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def kept(self, dn: str) -> bool:
        """Whether the file's row for `dn` still stands (not changed or removed now)."""
        return dn not in self.changed and dn not in self.gone


@dataclass
class Snapshot:
    key: str  # what was read (server, bases, filters, attributes): another key, a full read
    full_at: str  # when the last full read was (ISO 8601, UTC)
    mark: str = ""  # the newest change time seen, as the server writes it
    # The synced people file this snapshot was applied to (its `bot.base.files.stamp`):
    # another file (none yet, edited by hand, restored) and the next read is a full one.
    synced: str = ""
    # When the last read began (ISO 8601, UTC, this host's clock) and the oldest change the
    # access log held then (its `minCSN`, "" for none, "-" unreadable): where the next
    # read's look at the log starts, and how it tells that the log lost changes it needed.
    read_at: str = ""
    log_start: str = ""
    people: Kept[PersonData] = field(default_factory=Kept)
    groups: Kept[GroupData] = field(default_factory=Kept)
    # What the last read cost (not kept): entries received, and how removals were found
    # ("log": the access log, "names": every name listed, "": a full read).
    entries: int = 0
    removals: str = ""
    # The kept file it was loaded from; None: read from nothing, every row replaced when saved.
    db: sqlite3.Connection | None = None
    _index: tuple[tuple[int, int], dict[str, list[str]], dict[str, set[str]]] | None = None

    def _changed(self) -> tuple[dict[str, list[str]], dict[str, set[str]]]:
        """What this read set, indexed: DNs by person id, group names by member DN (after a
        full read that is everyone: looked up by index, never scanned per person)."""
        at = (self.people.version, self.groups.version)
        if self._index is None or self._index[0] != at:
            by_pid: dict[str, list[str]] = {}
            for dn, data in self.people.changed.items():
                by_pid.setdefault(data[0].get("id", ""), []).append(dn)
            members: dict[str, set[str]] = {}
            for name, listed in self.groups.changed.values():
                for member in listed:
                    members.setdefault(member, set()).add(name)
            self._index = (at, by_pid, members)
        return self._index[1], self._index[2]

    def pid_of(self, dn: str) -> str:
        """The person id of the person entry at `dn` ("" for none, or no id)."""
        data = self.people.get(dn)
        return data[0].get("id", "") if data is not None else ""

    def dns_of(self, pid: str) -> list[str]:
        """The DNs of the person entries with this id (two or more: a problem to tell)."""
        found = list(self._changed()[0].get(pid, ()))
        if self.db is not None:
            rows = self.db.execute("SELECT dn FROM person WHERE pid = ?", (pid,))
            found += [dn for (dn,) in rows if self.people.kept(dn)]
        return found

    def reports_of(self, managers: set[str]) -> set[str]:
        """The DNs of the people whose manager's DN is one of `managers`."""
        found = {dn for dn, data in self.people.changed.items() if data[1] in managers}
        if self.db is not None:
            for manager in sorted(managers):
                rows = self.db.execute("SELECT dn FROM person WHERE manager = ?", (manager,))
                found |= {dn for (dn,) in rows if self.people.kept(dn)}
        return found

    def groups_of(self, member: str) -> set[str]:
        """The names of the groups that list `member` (a DN) as a member."""
        names = set(self._changed()[1].get(member, ()))
        if self.db is not None:
            rows = self.db.execute(
                "SELECT grp.dn, grp.name FROM member JOIN grp ON grp.dn = member.grp"
                " WHERE member.member = ?",
                (member,),
            )
            names |= {name for dn, name in rows if self.groups.kept(dn)}
        return names - {""}

    def twice(self) -> bool:
        """Whether two person entries have one id (only a full read tells them apart)."""
        if self.db is None:
            seen: set[str] = set()
            for data in self.people.changed.values():
                pid = data[0].get("id", "")
                if pid and pid in seen:
                    return True
                seen.add(pid)
            return False
        # The kept rows passed when they were applied: only the entries changed now can
        # have brought a second one.
        return any(
            len(self.dns_of(pid)) > 1
            for pid in {d[0].get("id", "") for d in self.people.changed.values()} - {""}
        )

    def close(self) -> None:
        if self.db is not None:
            self.db.close()
            self.db = None


def new_snapshot(key: str, full_at: str) -> Snapshot:
    """A snapshot to read everything into (a full read)."""
    return Snapshot(key=key, full_at=full_at)


def load_snapshot(path: Path, key: str | None) -> Snapshot | None:
    """The kept snapshot, or None (none yet, unreadable, another version or settings): a
    full read then. `key` None: whatever settings it was read with."""
    found = sqlitefile.opened(path, _SCHEMA)
    if found is None:
        return None
    db, head = found
    if head.get("version") != VERSION or not head.get("key") or key not in (None, head["key"]):
        db.close()
        return None
    snapshot = Snapshot(key=head["key"], full_at=head.get("full_at", ""), db=db)
    for name in ("mark", "synced", "read_at", "log_start"):
        setattr(snapshot, name, head.get(name, ""))

    def person(dn: str) -> PersonData | None:
        row = db.execute("SELECT data FROM person WHERE dn = ?", (dn,)).fetchone()
        if row is None:
            return None
        values, manager, member_of, disabled = json.loads(row[0])
        return values, manager, member_of, bool(disabled)

    def group(dn: str) -> GroupData | None:
        row = db.execute("SELECT name, data FROM grp WHERE dn = ?", (dn,)).fetchone()
        return None if row is None else (row[0], json.loads(row[1]))

    def people() -> Iterator[str]:
        yield from (dn for (dn,) in db.execute("SELECT dn FROM person ORDER BY dn"))

    def groups() -> Iterator[str]:
        yield from (dn for (dn,) in db.execute("SELECT dn FROM grp ORDER BY dn"))

    snapshot.people = Kept(person, people)
    snapshot.groups = Kept(group, groups)
    return snapshot


def save_snapshot(path: Path, snapshot: Snapshot) -> None:
    """Write what this read changed (everything after a full read) in one transaction: a
    sync interrupted midway keeps the old snapshot."""
    if snapshot.db is not None:
        with sqlitefile.transaction(snapshot.db) as db:
            _write(db, snapshot)
    else:
        with sqlitefile.anew(path, _SCHEMA) as db:  # everything anew
            _write(db, snapshot)
    for old in ("ldap-snapshot.json", "ldap-snapshot.jsonl"):  # versions 1 and 2, unread now
        path.with_name(old).unlink(missing_ok=True)


def _write(db: sqlite3.Connection, snapshot: Snapshot) -> None:
    sqlitefile.write_head(db, {k: getattr(snapshot, k) for k in _HEAD} | {"version": VERSION})
    people, groups = snapshot.people, snapshot.groups
    gone_people = sorted(people.gone | set(people.changed))
    gone_groups = sorted(groups.gone | set(groups.changed))
    db.executemany("DELETE FROM person WHERE dn = ?", ((dn,) for dn in gone_people))
    db.executemany("DELETE FROM member WHERE grp = ?", ((dn,) for dn in gone_groups))
    db.executemany("DELETE FROM grp WHERE dn = ?", ((dn,) for dn in gone_groups))
    db.executemany(
        "INSERT INTO person (dn, pid, manager, data) VALUES (?, ?, ?, ?)",
        (
            (dn, d[0].get("id", ""), d[1], _json([d[0], d[1], d[2], d[3]]))
            for dn, d in people.changed.items()
        ),
    )
    db.executemany(
        "INSERT INTO grp (dn, name, data) VALUES (?, ?, ?)",
        ((dn, name, _json(members)) for dn, (name, members) in groups.changed.items()),
    )
    db.executemany(
        "INSERT OR IGNORE INTO member (member, grp) VALUES (?, ?)",
        _members(groups.changed.items()),
    )


def _members(groups: Iterable[tuple[str, GroupData]]) -> Iterator[tuple[str, str]]:
    for dn, (_name, members) in groups:
        for member in members:
            yield member, dn


def _json(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
