"""Where synced people come from: each source is a name and a function that returns plain
person records (`Source`). `bot/directory_sync.py` combines the records of every source in
`directory.sources`, field by field (`directory.precedence`), into the file the desk loads.

A record holds only the fields its source knows: a field it leaves out is taken from the
next source, while a field it gives empty is its answer ("no manager"). Values are text in
people.csv's own format (`role` and `queues` with `;`, `active` true or false), so a source
needs nothing of the desk's: the CSV (`paths.people`), LDAP (`bot/ldap_source.py`) and what
an identity provider pushed over SCIM (`bot/scim/source.py`, from the database: a source is
handed the store, when there is one) are three such functions, and a new source is one more.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from bot.base.config import SYNCED_FIELDS, Settings
from bot.base.yamlfile import TABLE_LIMIT, ProblemsError, read_text
from store.db import Store


class SourceError(Exception):
    """The source could not be read; the message is safe to print (no password)."""


@dataclass(frozen=True)
class Record:
    """One person as a source sees them."""

    id: str
    fields: Mapping[str, str]  # people.csv column -> value; only those this source knows
    where: str = ""  # where the source holds them (a DN, a line), for problems


@dataclass
class Read:
    """What one source returned: its people and what it noticed on the way.

    A source that keeps what it read last time (LDAP: bot/ldap_source.py) may answer with
    the changes only: `changed` then names the people whose record may differ from the one
    the last applied sync saw (added, changed, or no longer there); None means anyone's may.
    Records come either in `records`, or one at a time from `lookup` for everyone in `ids`
    (so 50,000 of them are never held at once). A sync works on the changed people only, so
    its cost follows the changes, not the size of the directory. `commit` is called once a
    sync has applied what was read (not after a dry run or a refused sync: the same changes
    are then read again next time)."""

    records: list[Record] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    changed: frozenset[str] | None = None
    ids: frozenset[str] = frozenset()
    lookup: Callable[[str], Record | None] | None = None
    # Whether a source whose records are looked up holds a person, one at a time: after a
    # changes-only read `ids` is not worked out (it would be everyone).
    has: Callable[[str], bool] | None = None
    # And who they all are, worked out only when a sync must work everyone out again.
    everyone: Callable[[], frozenset[str]] | None = None
    commit: Callable[[], None] | None = None
    # What answering cost, for the sync's report (LDAP: entries received, a full read or
    # the changes, how removals were found).
    cost: dict[str, object] = field(default_factory=dict)

    def held(self) -> frozenset[str]:
        """Everyone the source holds (after a changes-only read: worked out then, once)."""
        if self.everyone is not None:
            self.ids, self.everyone = self.everyone(), None
        if self.lookup is not None:
            return self.ids
        return frozenset(r.id for r in self.records)

    def holds(self, pid: str, given: Mapping[str, Record]) -> bool:
        """Whether the source holds the person (`given`: its records by id)."""
        if self.has is not None:
            return self.has(pid)
        return pid in self.ids if self.lookup is not None else pid in given

    def record(self, pid: str, given: Mapping[str, Record]) -> Record | None:
        """The person's record: among those returned (`given`, by id) or looked up."""
        found = given.get(pid)
        if found is None and self.lookup is not None and self.holds(pid, given):
            found = self.lookup(pid)
        return found


@dataclass(frozen=True)
class Source:
    name: str
    # Every person the source holds; raises SourceError when it cannot be read. The store
    # is None when there is no database (a sync without one): a source kept there fails.
    read: Callable[[Settings, Store | None], Read]


def _csv_records(settings: Settings, store: Store | None = None) -> Read:
    """paths.people's rows, each with the columns its header has (empty cells included:
    the file says so). A missing file is a source that cannot be read."""
    path = settings.resolve(settings.paths.people)
    if not path.exists() and "csv" not in settings.directory.members:
        # Only lending chat accounts (`source: ldap`): none to lend, the last sync's stay.
        return Read(problems=[f"{path}: no such file; no chat accounts taken from it"])
    try:
        text = read_text(path, TABLE_LIMIT)
    except ProblemsError as exc:
        raise SourceError(f"cannot read {path}: {exc.problems[0].message}") from None
    except OSError as exc:
        raise SourceError(f"cannot read {path}: {exc.strerror}") from None
    reader = csv.DictReader(io.StringIO(text, newline=""))
    read = Read()
    try:
        for row in reader:
            pid = (row.get("id") or "").strip()
            if not pid:
                read.problems.append(f"{path.name}:{reader.line_num}: has no id; left out")
                continue
            values = {k: (v or "").strip() for k, v in row.items() if k in SYNCED_FIELDS}
            read.records.append(Record(pid, values, f"{path.name}:{reader.line_num}"))
    except csv.Error as exc:
        raise SourceError(f"cannot read {path}: not a valid CSV file: {exc}") from None
    return read


CSV = Source("csv", _csv_records)


def read_rows(path: Path) -> dict[str, dict[str, str]]:
    """A people file's rows by id, as text; empty when there is none yet."""
    if not path.exists():
        return {}
    reader = csv.DictReader(io.StringIO(read_text(path, TABLE_LIMIT), newline=""))
    # Tens of thousands of rows share a few roles, languages, zones, departments, places
    # and managers: one string each, not one per row.
    shared: dict[str, str] = {}
    return {
        r["id"]: {
            k: shared.setdefault(v, v) if k in _SHARED else (v or "") for k, v in r.items() if k
        }
        for r in reader
        if r.get("id")
    }


_SHARED = frozenset(SYNCED_FIELDS) - {"name", "email", "slack_id", "telegram_id"}


def shape(settings: Settings) -> str:
    """What shapes the merge and its rules besides the sources' records: `directory`
    (sources, members, precedence...), the queues, approver groups and language. Another
    shape and everyone's row is worked out again."""
    # Where removals are found (LDAP's access log) changes what a read costs, not whom.
    how = {"bind_password", "accesslog", "accesslog_keeps"}
    what = [settings.directory.model_dump_json(exclude={"ldap": how, "scim": {"token"}})]
    what += [settings.language, *sorted(settings.queues), *sorted(settings.approver_group_names())]
    return hashlib.sha256("\n".join(what).encode()).hexdigest()[:32]
