"""`deskbot directory sync`: people from one or more sources into the people file the desk
loads.

Sources (`directory.sources`, bot/people_sources.py: the CSV, LDAP, and what an identity
provider pushed over SCIM, bot/scim/source.py) each return plain person records; the
`members` sources say who is a person at all (and who left), and every field is taken from
the first source, in `directory.precedence`'s order for that field, that holds the person
and gives that field. Where the synced people live: a generated CSV in people.csv's own
format, at `directory.synced` (default var/directory/people.csv), which the desk loads instead
of people.csv; `active` keeps people who left (false) so old tickets still name them. The file
is replaced in one rename, and only when the result passes the rules `deskbot check`
applies to people.csv; otherwise nothing changes. When a source answers with its changes
only (LDAP after its first read: `Read.changed`), only the people they reach are worked out
and checked anew, and the rest keep the last sync's rows: the cost follows the changes.

Chat accounts survive every sync: a Slack or Telegram id (or a delegate) that no source
gives stays as the last sync wrote it, and accounts joined with /link live in the database's
identity links, which a sync does not touch.

Every change is audited (store/people_audit.py); a sync that changes nothing because a
source failed or the result looks wrong is audited and told to the admins once per problem
(`run`), not at every interval.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, MutableMapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

from sqlmodel import Session

from bot import leavers, people_watch, sync_state
from bot.addresses import home_address
from bot.base.config import SYNCED_FIELDS, DirectorySettings, Settings
from bot.base.files import replaced, stamp
from bot.base.messages import Message
from bot.desk import Desk
from bot.directory import (
    PEOPLE_COLUMNS,
    UNIQUE,
    Clash,
    Directory,
    Owners,
    cycle_message,
    manager_cycles,
    person_of,
    reference_problems,
)
from bot.ldap_source import LDAP
from bot.leavers import Handover, PeopleChanges
from bot.people_sources import (
    CSV,
    Read,
    Record,
    Source,
    SourceError,
    read_rows,
    shape,
)
from bot.scim.source import SCIM
from bot.sync_state import State, active, line_of
from store import people_audit, timers
from store.db import Store
from store.outbox import notify
from store.people_audit import Change
from store.sql import xact_lock

log = logging.getLogger(__name__)

Row = dict[str, str]
# Every source deskbot can read, by its name in `directory.sources`.
SOURCES: dict[str, Source] = {s.name: s for s in (CSV, LDAP, SCIM)}
# Fields that stay as the last sync wrote them when no source gives them.
KEPT = ("slack_id", "telegram_id", "delegate")
# Fields a sync compares to tell an update (all but the id).
COMPARED = tuple(c for c in PEOPLE_COLUMNS if c != "id")
LOCK = "directory:sync"
JOB = "directory"  # its slots in job_run (`run_in_slot`)
_NO = Record("", {})  # a source that does not hold the person


@dataclass
class SyncReport:
    adds: list[str] = field(default_factory=list)
    # id, changed fields, and each field's old and new value
    updates: list[dict[str, object]] = field(default_factory=list)
    deactivations: list[str] = field(default_factory=list)
    reactivations: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    refused: str | None = None  # why nothing was changed
    written: bool = False
    # Everyone's row was worked out anew (a full read, the first sync, an unknown state),
    # not only the rows the sources' changes reach.
    whole: bool = True
    people: int = 0  # active people after the sync
    sources: list[str] = field(default_factory=list)
    # A stable name for why it was refused (`source:ldap`, `max_deactivate`, `rules`).
    problem: str | None = None
    # The refusal is a new problem (audited now; the admins are to be told).
    new_problem: bool = False
    # Applied changes as they are audited, and the people whose manager changed (old, new).
    changes: list[Change] = field(default_factory=list)
    managers: dict[str, tuple[str, str]] = field(default_factory=dict)
    # Who left, and their manager until then (a leaver's is cleared): whom their work goes to.
    leavers: dict[str, str] = field(default_factory=dict)
    # What reading each source cost (`Read.cost`), by source.
    reads: dict[str, dict[str, object]] = field(default_factory=dict)

    def people_changes(self) -> PeopleChanges:
        """Who left and who has a new manager, for the handover (bot/leavers.py)."""
        movers = {
            pid: (old or None, new or None)
            for pid, (old, new) in self.managers.items()
            if pid not in self.reactivations  # came back: nothing of theirs was pending
        }
        gone = {pid: manager or None for pid, manager in self.leavers.items()}
        return PeopleChanges(gone, movers)

    def as_dict(self) -> dict[str, object]:
        return {
            "adds": self.adds,
            "updates": self.updates,
            "deactivations": self.deactivations,
            "reactivations": self.reactivations,
            "problems": self.problems,
            "refused": self.refused,
            "written": self.written,
            "people": self.people,
            "sources": self.sources,
            "reads": self.reads,
        }


def _index(name: str, read: Read, report: SyncReport) -> dict[str, Record]:
    by_id: dict[str, Record] = {}
    for record in read.records:
        if record.id in by_id:
            where = record.where or name
            report.problems.append(f"{where}: id '{record.id}' is also another person's")
            report.refused = "two people have one id; nothing was changed"
            report.problem = "rules"
            continue
        by_id[record.id] = record
    return by_id


def merge(
    settings: Settings,
    reads: Mapping[str, Read],
    previous: Mapping[str, Row],
    seen: Mapping[str, Mapping[str, str]] | None = None,
    fresh: Mapping[str, Mapping[str, str]] | None = None,
) -> tuple[dict[str, Row] | Rows, SyncReport, set[str]]:
    """The new people file's rows by id, what changes, and whose rows were worked out anew.
    Only the people the sources' changes reach, the rest keeping the last sync's row, when
    the last applied sync is known (`previous` is then its `State`, looked up one at a
    time): a source that answered with its changes only says whose (LDAP), and for one
    that returns everyone (the CSV, SCIM) `seen` holds what it said then (`digests`;
    `fresh`: what it says now, when worked out already). Otherwise everyone's."""
    cfg = settings.directory
    report = SyncReport(sources=list(cfg.sources))
    given = {name: _index(name, reads[name], report) for name in cfg.sources}
    partial = bool(previous) and (
        seen is not None or any(reads[n].changed is not None for n in cfg.sources)
    )
    # Everyone worked out anew: after full reads (LDAP's after `full_every`), or when what
    # the sources that return everyone said last time is not known.
    everyone = (
        not partial
        or seen is None
        or not isinstance(previous, State)
        or any(reads[n].changed is None and reads[n].lookup is not None for n in cfg.sources)
    )

    def holds(pid: str) -> bool:
        return any(reads[m].holds(pid, given[m]) for m in cfg.members)

    leaving: Iterable[str]
    rows: dict[str, Row] | Rows
    if everyone:
        if isinstance(previous, State):
            previous = previous.everyone()
        member_ids: set[str] = set()
        for name in cfg.members:
            member_ids |= reads[name].held()
        # A record of a source that only adds fields is matched by email when its id is
        # nobody's, among the members or in the last sync: a new colleague given a
        # leaver's old address must not get the leaver's accounts.
        by_email = _by_emails(cfg, reads, given, lambda p: p in member_ids or p in previous)
        touched = set(member_ids)
        leaving = sorted(set(previous) - member_ids)
        rows = dict(previous) if partial else {}
    else:
        assert seen is not None and isinstance(previous, State)
        state = previous
        by_email = _by_emails(cfg, reads, given, lambda p: holds(p) or p in state)
        fresh = fresh if fresh is not None else _fingerprints(reads)
        reached = _touched(cfg.sources, reads, fresh, by_email, state, seen)
        touched = {pid for pid in reached if holds(pid)}
        # Gone from every member source: the ones they said were gone, or changed.
        leaving = sorted(pid for pid in reached - touched if pid in state)
        rows = Rows(state)
    orders = {f: cfg.order_for(f) for f in SYNCED_FIELDS}
    for pid in sorted(touched):
        found: dict[str, Record] = {}
        for name in cfg.members:
            record = reads[name].record(pid, given[name])
            if record is not None:
                found[name] = record
        email = next((found[m].fields.get("email", "") for m in cfg.members if m in found), "")
        for name in cfg.sources:
            if name in cfg.members:
                continue
            record = reads[name].record(pid, given[name])
            if record is None and email:
                record = by_email[name].get(email.lower())
            if record is not None:
                found[name] = record
        old = previous.get(pid, {})
        row = dict.fromkeys(PEOPLE_COLUMNS, "")
        row["id"] = pid
        for f in SYNCED_FIELDS:
            taken = next(
                (found[s].fields[f] for s in orders[f] if f in found.get(s, _NO).fields), None
            )
            if taken is None:
                taken = old.get(f, "") if f in KEPT else ""
            row[f] = taken
        row["name"] = row["name"] or pid
        row["active"] = "false" if row["active"].lower() in ("false", "no", "0") else "true"
        row["source"] = ";".join(m for m in cfg.members if m in found)
        if row["active"] == "false" and pid not in previous:
            continue  # never synced and already gone: nobody to deactivate
        rows[pid] = row
    dirty = {pid for pid in touched if pid in rows}
    for pid in leaving:  # gone from every member source: kept, inactive
        old = previous[pid]
        if everyone or old.get("active") != "false" or old.get("manager"):
            rows[pid] = {
                **dict.fromkeys(PEOPLE_COLUMNS, ""),
                **old,
                "active": "false",
                "manager": "",
            }
            dirty.add(pid)
    _drop_delegates(rows, dirty, None if everyone else previous)
    report.whole = everyone
    _compare(rows, previous, report, dirty)
    # Records looked up on the way told their problems as they were made (once each).
    told = [p for name in cfg.sources for p in reads[name].problems]
    report.problems = list(dict.fromkeys(told)) + report.problems
    if isinstance(rows, Rows):
        report.people = rows.active_count()
    else:
        report.people = sum(1 for r in rows.values() if active(r))
    return rows, report, dirty


def _by_emails(
    cfg: DirectorySettings,
    reads: Mapping[str, Read],
    given: Mapping[str, Mapping[str, Record]],
    known: Callable[[str], bool],
) -> dict[str, dict[str, Record]]:
    """For each source that only adds fields: its records by email, of those whose id is
    nobody's (`known`: a member or in the last sync)."""
    return {
        name: _by_email(reads[name], given[name], known)
        for name in cfg.sources
        if name not in cfg.members
    }


def _by_email(
    read: Read, given: Mapping[str, Record], known: Callable[[str], bool]
) -> dict[str, Record]:
    """A source's records by email, of those whose id is nobody's."""
    if read.lookup is None:
        found: Iterable[Record | None] = given.values()
    else:  # a source that makes its records on demand: every record is looked up
        found = (read.record(pid, given) for pid in sorted(read.held()))
    return {
        r.fields["email"].lower(): r
        for r in found
        if r is not None and not known(r.id) and r.fields.get("email")
    }


def _touched(
    sources: Iterable[str],
    reads: Mapping[str, Read],
    fresh: Mapping[str, Mapping[str, str]],
    by_email: Mapping[str, Mapping[str, Record]],
    previous: State,
    seen: Mapping[str, Mapping[str, str]],
) -> set[str]:
    """Whose row a sync may have to work out anew when the last applied sync is known: the
    people a source that gave its changes only named (changed or gone); those whose record
    in a source that returns everyone is new, changed or gone since the last applied sync;
    and the people such a source's records reach by email. (A source read in full, record
    by record, makes the sync work out everyone's: `merge` does not ask here then.)"""
    touched: set[str] = set()
    for name in sources:
        read = reads[name]
        if read.changed is not None:
            touched |= read.changed
            continue
        now, before = fresh[name], seen.get(name, {})
        touched |= {pid for pid, d in now.items() if before.get(pid) != d}
        touched |= set(before) - set(now)
    for records in by_email.values():
        for email in records:
            touched.update(previous.by_email(email))
    return touched


def _fingerprints(reads: Mapping[str, Read]) -> dict[str, dict[str, str]]:
    """`digests` of each source that returned everyone."""
    return {
        name: digests(read.records)
        for name, read in reads.items()
        if read.changed is None and read.lookup is None
    }


def digests(records: Iterable[Record]) -> dict[str, str]:
    """Each record's fields as a short fingerprint, by id: kept between syncs to tell which
    records of a source that returns everyone changed."""
    found = {}
    for r in records:
        text = "\x1f".join(f"{k}\x1e{v}" for k, v in sorted(r.fields.items()))
        found[r.id] = hashlib.blake2b(text.encode(), digest_size=8).hexdigest()
    return found


def state_path(settings: Settings) -> Path:
    """Next to the synced people: `var/directory/sync-state.db` by default."""
    return settings.resolve(settings.directory.synced).with_name("sync-state.db")


class Rows(MutableMapping[str, Row]):
    """The last applied sync's rows (`State`, looked up one at a time) with the rows this
    sync worked out anew laid over them."""

    def __init__(self, state: State) -> None:
        self.state = state
        self.new: dict[str, Row] = {}
        # The new rows' unique values ((column, value) -> ids), made when first asked.
        self._held: dict[tuple[str, str], list[str]] | None = None

    def __getitem__(self, pid: str) -> Row:
        return self.new[pid] if pid in self.new else self.state[pid]

    def __setitem__(self, pid: str, row: Row) -> None:
        self.new[pid] = row
        self._held = None

    def __delitem__(self, pid: str) -> None:
        raise TypeError("a synced person is never removed, only deactivated")

    def __contains__(self, pid: object) -> bool:
        return pid in self.new or pid in self.state

    def __iter__(self) -> Iterator[str]:
        return (pid for pid, _ in self.lines())

    def __len__(self) -> int:
        return len(self.state) + sum(1 for pid in self.new if pid not in self.state)

    def added(self, pid: str) -> bool:
        return pid in self.new and pid not in self.state

    def active_count(self) -> int:
        count = self.state.active_count()
        for pid, row in self.new.items():
            count += active(row) - (pid in self.state and active(self.state[pid]))
        return count

    def line(self, pid: str) -> int:
        """The person's line in the new file (its header is line 1; rows in id order)."""
        return self.state.below(pid) + sum(1 for p in self.new if p < pid and self.added(p)) + 2

    def holders(self, column: str, value: str) -> list[str]:
        """The active people whose `column` (email, slack_id, telegram_id) is `value`."""
        if self._held is None:
            self._held = {}
            for pid, row in self.new.items():
                for name in UNIQUE if active(row) else ():
                    mine = row.get(name, "")
                    key = (name, mine.lower() if name == "email" else mine)
                    self._held.setdefault(key, []).append(pid)
        found = [p for p in self.state.holders(column, value) if p not in self.new]
        found += self._held.get((column, value.lower() if column == "email" else value), [])
        return sorted(found)

    def lines(self) -> Iterator[tuple[str, str]]:
        """(id, CSV line) of every row in the file's order: the kept lines, and the new."""
        new = sorted((pid, line_of(row, PEOPLE_COLUMNS)) for pid, row in self.new.items())
        at = 0
        for pid, line in self.state.lines():
            while at < len(new) and new[at][0] < pid:
                yield new[at]
                at += 1
            if at < len(new) and new[at][0] == pid:
                yield new[at]
                at += 1
            else:
                yield pid, line
        yield from new[at:]


def _drop_delegates(
    rows: MutableMapping[str, Row], dirty: set[str], previous: Mapping[str, Row] | None
) -> None:
    """A delegate who is nobody here, or has left, is dropped: from the rows worked out
    anew, and from the kept rows (`previous` given) that name someone who changed."""
    check = set(dirty)
    if isinstance(previous, State):
        check |= previous.delegating_to(dirty)
    elif previous is not None:
        check |= {pid for pid, r in previous.items() if r.get("delegate") in dirty}
    for pid in sorted(check):
        row = rows[pid]
        delegate = rows.get(row["delegate"])
        if row["delegate"] and (delegate is None or delegate["active"] == "false"):
            rows[pid] = {**row, "delegate": ""}  # a copy: the last sync's rows stay as read
            dirty.add(pid)


def _compare(
    rows: Mapping[str, Row], previous: Mapping[str, Row], report: SyncReport, dirty: set[str]
) -> None:
    for pid in sorted(dirty):
        row = rows[pid]
        if pid not in previous:
            report.adds.append(pid)
            # What was added is audited from the row (`_audited`): a first sync of 50,000
            # people would otherwise hold every value twice more until then.
            report.changes.append(Change(pid, "add", row["source"], {}))
            continue
        old = previous[pid]
        # A column the last sync's file did not have yet (an older deskbot) is not a change.
        changed = {c: [old[c], row[c]] for c in COMPARED if c in old and old[c] != row[c]}
        if not changed:
            continue
        was_active = old.get("active", "true") != "false"
        now_active = row["active"] != "false"
        if was_active and not now_active:
            kind = "deactivate"
            report.deactivations.append(pid)
            report.leavers[pid] = old.get("manager", "")
        elif now_active and not was_active:
            kind = "reactivate"
            report.reactivations.append(pid)
        else:
            kind = "update"
            report.updates.append({"id": pid, "fields": sorted(changed), "changes": changed})
        if "manager" in changed and kind != "deactivate":  # a leaver's is cleared, not moved
            report.managers[pid] = (old["manager"], row["manager"])
        report.changes.append(Change(pid, kind, row["source"] or old.get("source", ""), changed))


def _audited(changes: Iterable[Change], rows: Mapping[str, Row]) -> Iterator[Change]:
    """The changes as audited: an add with every value the person was added with."""
    for change in changes:
        if change.kind == "add":
            row = rows[change.person_id]
            added = {c: ["", row[c]] for c in COMPARED if row[c]}
            change = replace(change, changes=added)
        yield change


def check(settings: Settings, rows: Mapping[str, Row], dirty: set[str]) -> list[str]:
    """The rules `deskbot check` applies to people.csv (bot/directory.py), on the rows
    worked out anew and whatever they meet: their own fields, an email or chat account
    someone else has, a manager or delegate who is nobody, a circle of managers. The rows
    kept from the last sync passed them then. Told as `id: column: message`, with the
    new file's line numbers."""
    if isinstance(rows, Rows):
        return _check_changes(settings, rows, dirty)
    order = sorted(rows)
    line_of = {pid: n for n, pid in enumerate(order, start=2)}
    queues, groups = set(settings.queues), settings.approver_group_names()
    found: list[str] = []

    def bad(line: int, column: str, message: str) -> None:
        found.append(f"{order[line - 2]}: {column}: {message}")

    for pid in sorted(dirty, key=line_of.__getitem__):
        row = rows[pid]
        person_of(row, line_of[pid], bad, queues, groups)
        for column, message in reference_problems(
            pid, row["manager"] or None, row["delegate"] or None, rows.__contains__
        ):
            bad(line_of[pid], column, message)
    owners = Owners()
    for pid in order:
        row = rows[pid]
        for clash in owners.claim(pid, line_of[pid], row, row["active"] != "false"):
            if clash.pid in dirty or clash.first in dirty:
                bad(clash.line, clash.column, clash.message)
    managers = {pid: r["manager"] or None for pid, r in rows.items()}
    for cycle in manager_cycles(managers, sorted(dirty)):
        first, message = cycle_message(cycle, line_of.__getitem__)
        bad(line_of[first], "manager", message)
    return found


def _check_changes(settings: Settings, rows: Rows, dirty: set[str]) -> list[str]:
    """`check` for a sync that worked out only some rows, with the others looked up one at
    a time through the kept state's indexes: the same problems in the same order."""
    queues, groups = set(settings.queues), settings.approver_group_names()
    lines: dict[str, int] = {}

    def line(pid: str) -> int:
        if pid not in lines:
            lines[pid] = rows.line(pid)
        return lines[pid]

    found: list[str] = []
    for pid in sorted(dirty):
        row = rows[pid]

        def bad(_line: int, column: str, message: str, pid: str = pid) -> None:
            found.append(f"{pid}: {column}: {message}")

        person_of(row, 0, bad, queues, groups)  # told by id: its line is not needed
        for column, message in reference_problems(
            pid, row["manager"] or None, row["delegate"] or None, rows.__contains__
        ):
            bad(0, column, message)
    # A value two active people share is told on the later row, naming the first: where
    # a row worked out anew is either.
    clashes: dict[tuple[str, int], Clash] = {}
    for pid in sorted(dirty):
        row = rows[pid]
        if not active(row):
            continue
        for n, column in enumerate(UNIQUE):
            value = row.get(column, "")
            holders = rows.holders(column, value) if value else []
            for later in holders[1:]:
                if later in dirty or holders[0] in dirty:
                    value = rows[later][column]
                    clash = Clash(later, holders[0], line(later), column, value, line(holders[0]))
                    clashes[(later, n)] = clash
    for key in sorted(clashes, key=lambda k: (line(k[0]), k[1])):
        clash = clashes[key]
        found.append(f"{clash.pid}: {clash.column}: {clash.message}")
    for cycle in manager_cycles(_Managers(rows), sorted(dirty)):
        first, message = cycle_message(cycle, line)
        found.append(f"{first}: manager: {message}")
    return found


class _Managers(Mapping[str, str | None]):
    """Each person's manager, looked up one at a time (`manager_cycles` from some people)."""

    def __init__(self, rows: Mapping[str, Row]) -> None:
        self.rows = rows

    def __getitem__(self, pid: str) -> str | None:
        return self.rows[pid]["manager"] or None

    def __contains__(self, pid: object) -> bool:
        return pid in self.rows

    def __iter__(self) -> Iterator[str]:
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)


def _read_sources(
    settings: Settings, store: Store | None, sources: Mapping[str, Source], report: SyncReport
) -> dict[str, Read] | None:
    reads = {}
    for name in settings.directory.sources:
        source = sources.get(name)
        if source is None:
            report.refused, report.problem = f"{name}: no such source", f"source:{name}"
            return None
        try:
            reads[name] = source.read(settings, store)
        except SourceError as exc:
            report.refused, report.problem = f"{name}: {exc}", f"source:{name}"
            return None
    return reads


def sync(
    settings: Settings,
    store: Store | None = None,
    *,
    dry_run: bool = False,
    sources: Mapping[str, Source] = SOURCES,
    actor: str = "cli",
    now: datetime | None = None,
) -> SyncReport:
    """Read the sources and, unless `dry_run`, replace the synced people file and audit each
    change in `store`; a failed read, a result that breaks the rules or that deactivates too
    many changes nothing (and is audited once per problem)."""
    if not settings.directory.from_sync:
        return SyncReport(
            refused="directory.sources is only csv in config.yaml: people.csv is loaded as it "
            "is, nothing to sync"
        )
    report = SyncReport(sources=list(settings.directory.sources))
    reads = _read_sources(settings, store, sources, report)
    if reads is None:
        return _refused(settings, store, report, dry_run, actor, now)
    costs = {name: read.cost for name, read in reads.items() if read.cost}
    target = settings.resolve(settings.directory.synced)
    target.parent.mkdir(parents=True, exist_ok=True)
    if store is None or dry_run:
        report = _apply(settings, None, target, reads, report, dry_run, actor, now)
        report.reads = costs
        return report
    with store.begin() as session:
        xact_lock(session, LOCK)  # one sync at a time, from the file read to its audit
        report = _apply(settings, session, target, reads, report, dry_run, actor, now)
    report.reads = costs
    if report.refused:
        return _refused(settings, store, report, dry_run, actor, now)
    return report


def _apply(
    settings: Settings,
    session: Session | None,
    target: Path,
    reads: Mapping[str, Read],
    report: SyncReport,
    dry_run: bool,
    actor: str,
    now: datetime | None,
) -> SyncReport:
    path = state_path(settings)
    state = sync_state.load(path, stamp(target), shape(settings), PEOPLE_COLUMNS)
    try:
        return _apply_rows(settings, session, target, reads, state, dry_run, actor, now)
    finally:
        if state is not None:
            state.close()


def _apply_rows(
    settings: Settings,
    session: Session | None,
    target: Path,
    reads: Mapping[str, Read],
    state: State | None,
    dry_run: bool,
    actor: str,
    now: datetime | None,
) -> SyncReport:
    # The last applied sync's rows: looked up one at a time in its state, or read from
    # the people file when there is no state for it (a file edited by hand, restored).
    previous: Mapping[str, Row] = state if state is not None else read_rows(target)
    fresh = _fingerprints(reads)  # kept below, for the next sync
    rows, report, dirty = merge(settings, reads, previous, state.seen() if state else None, fresh)
    if report.refused:
        return report
    if isinstance(previous, State):
        was_active = previous.active_count()
    else:
        was_active = sum(1 for r in previous.values() if active(r))
    share = settings.directory.max_deactivate
    # One leaver is always let through, so a small directory can lose someone at all.
    if len(report.deactivations) > max(share * was_active, 1):
        report.refused = (
            f"{len(report.deactivations)} of {was_active} people would be deactivated, more "
            f"than directory.max_deactivate ({share:.0%}); nothing was changed"
        )
        report.problem = "max_deactivate"
        return report
    broken = check(settings, rows, dirty)
    if broken:
        report.problems += broken
        report.refused = "the people break the rules above; nothing was changed"
        report.problem = "rules"
        return report
    if dry_run:
        return report
    if session is not None:
        at = now or _now()
        changes = _audited(report.changes, rows)
        people_audit.record(session=session, at=at, actor=actor, changes=changes)
        people_audit.went_through(session=session, at=at)
    # After changes only (or a full read, or the first sync): an unchanged file is not
    # replaced, so the running desks do not load everyone again for nothing.
    if report.changes or not target.exists() or report.whole:
        # Written after the audit: if the audit fails the file stays as it was.
        with replaced(target, newline="") as out:
            out.write(line_of({c: c for c in PEOPLE_COLUMNS}, PEOPLE_COLUMNS))  # the header
            if isinstance(rows, Rows):  # the kept rows' lines as they are, and the new
                out.writelines(line for _, line in rows.lines())
            else:
                out.writelines(line_of(rows[pid], PEOPLE_COLUMNS) for pid in sorted(rows))
        report.written = True
    head = {"synced": stamp(target), "shape": shape(settings)}
    path = state_path(settings)
    if isinstance(rows, Rows):  # only the rows this sync changed
        sync_state.save(path, rows.state, rows.new.items(), fresh, head, PEOPLE_COLUMNS)
    else:  # everyone's, into a new file
        sync_state.save(path, None, rows.items(), fresh, head, PEOPLE_COLUMNS)
    path.with_name("sync-state.json").unlink(missing_ok=True)  # before sync-state.db
    for read in reads.values():
        if read.commit is not None:
            read.commit()
    return report


def _refused(
    settings: Settings,
    store: Store | None,
    report: SyncReport,
    dry_run: bool,
    actor: str,
    now: datetime | None,
) -> SyncReport:
    if store is None or dry_run or report.problem is None:
        return report
    source = report.problem.partition(":")[2] if report.problem.startswith("source:") else ""
    with store.begin() as session:
        report.new_problem = people_audit.refused(
            session=session,
            at=now or _now(),
            actor=actor,
            problem=report.problem,
            source=source or ";".join(settings.directory.sources),
            note=report.refused or "",
        )
    return report


def _now() -> datetime:
    return datetime.now(UTC)


# ---- in the running desk ------------------------------------------------------------------


@dataclass(frozen=True)
class Applied:
    """A sync that changed the people, as the running desk saw it: its people after, and
    who left, came back or has a new manager (old, new)."""

    after: Directory
    deactivated: tuple[str, ...]
    reactivated: tuple[str, ...]
    managers: Mapping[str, tuple[str, str]]
    handover: Handover  # leavers' and movers' approvals and claimed tickets (bot/leavers.py)


def run(desk: Desk, *, actor: str = "serve", dry_run: bool = False) -> SyncReport:
    """Sync into the running desk (`deskbot serve`'s job): apply, load the new people at
    once, tell the admins about a new problem, and hand what changed on (`applied`).

    One at a time in a process: a SCIM push and the interval job may start together."""
    with _ONE_AT_A_TIME:
        now = desk.clock.now()
        report = sync(desk.settings, desk.store, dry_run=dry_run, actor=actor, now=now)
        if report.new_problem:
            alert_admins(desk, report)
        if report.refused:
            log.warning("directory sync changed nothing: %s", report.refused)
        elif report.written:
            people_watch.refresh(desk, force=True)
            applied(desk, report)
        return report


_ONE_AT_A_TIME = threading.Lock()


def run_in_slot(desk: Desk, worker: str) -> SyncReport | None:
    """`deskbot serve`'s interval sync: one replica per `directory.every` slot syncs (they
    share the synced people file, docs/operations.md), the others pick the new file up with
    their watch job. None when another replica had this slot."""
    every = desk.settings.directory.every
    assert every is not None
    now = desk.clock.now()
    slot = int(now.timestamp() // every.total_seconds())
    with desk.store.begin() as session:
        mine = timers.claim_slot(session=session, name=JOB, slot=slot, worker=worker, now=now)
    if not mine:
        return None
    report, error = None, None
    try:
        report = run(desk, actor="serve")
        error = report.problem
    finally:
        with desk.store.begin() as session:
            timers.finish_slot(
                session=session,
                name=JOB,
                slot=slot,
                now=desk.clock.now(),
                items=len(report.changes) if report is not None else 0,
                error=error if report is not None else "failed",
            )
    return report


def applied(desk: Desk, report: SyncReport) -> Applied:
    """After a sync changed the people file, with `desk` holding the new people: the one
    place that hands a leaver's approvals and claimed tickets, and a mover's manager
    approvals, on (bot/leavers.py), from what this sync changed (`SyncReport`), not from a
    comparison with people loaded earlier: a sync run elsewhere meanwhile handed its own on."""
    with desk.store.begin() as session:
        changes = report.people_changes()
        handover = leavers.hand_over(desk, session, changes, desk.clock.now())
    change = Applied(
        after=desk.directory,
        deactivated=tuple(report.deactivations),
        reactivated=tuple(report.reactivations),
        managers=dict(report.managers),
        handover=handover,
    )
    log.info(
        "directory synced: %d added, %d updated, %d deactivated, %d reactivated; "
        "%d approvals and %d tickets handed over",
        len(report.adds),
        len(report.updates),
        len(report.deactivations),
        len(report.reactivations),
        len(handover.approvals),
        len(handover.released),
    )
    return change


def alert_admins(desk: Desk, report: SyncReport) -> int:
    """Tell each admin privately that syncs are stuck on a new problem; how many were told."""
    now = desk.clock.now()
    told = 0
    with desk.store.begin() as session:
        state = people_audit.state(session=session)
        since = state.since.isoformat() if state is not None and state.since else now.isoformat()
        for admin in desk.directory.admins():
            text = desk.texts.render(
                admin.language,
                "directory.sync_refused",
                sources=", ".join(report.sources),
                reason=report.refused or "",
                problems=report.problems[:5],
                more=max(0, len(report.problems) - 5),
            )
            told += notify(
                session=session,
                to=home_address(desk, session, admin),
                message=Message(text=text),
                # `dead:`: an alert, never alerted about in turn if it cannot be delivered.
                idem_key=f"dead:directory:{report.problem}:{since}:{admin.id}",
                now=now,
            )
    return told
