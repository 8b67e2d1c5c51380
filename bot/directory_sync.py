"""`deskbot directory sync`: people from LDAP into the people file the desk loads.

Where the synced people live: a generated CSV in people.csv's own format, at
`directory.synced` (default var/directory/people.csv), which the desk loads instead of
people.csv when `directory.source: ldap`. One more column, `active`, keeps people who left
(false) so old tickets still name them. The file is replaced in one rename, and only when
the whole result passes the rules `deskbot check` applies to people.csv; otherwise nothing
changes.

What LDAP never overwrites: a person's chat accounts. Slack and Telegram ids come from
people.csv (matched by id, else by email) or stay as the last sync wrote them; accounts
joined with /link live in the database's identity links, which a sync does not touch.
"""

from __future__ import annotations

import csv
import io
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bot.base.config import LANGUAGES, LdapSettings, Settings
from bot.base.yamlfile import TABLE_LIMIT, ProblemsError, read_text
from bot.directory import PEOPLE_COLUMNS, load_directory
from bot.ldap_source import Entry, Fetched, SourceError, fetch

Row = dict[str, str]
# Fields a sync compares to tell an update: all but the id and what never comes from LDAP
# (chat ids, the delegate: people.csv's alone).
COMPARED = tuple(
    c for c in PEOPLE_COLUMNS if c not in ("id", "slack_id", "telegram_id", "delegate")
)


@dataclass
class SyncReport:
    adds: list[str] = field(default_factory=list)
    updates: list[dict[str, object]] = field(default_factory=list)  # id and changed fields
    deactivations: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    refused: str | None = None  # why nothing was changed
    written: bool = False
    people: int = 0  # active people after the sync

    def as_dict(self) -> dict[str, object]:
        return {
            "adds": self.adds,
            "updates": self.updates,
            "deactivations": self.deactivations,
            "problems": self.problems,
            "refused": self.refused,
            "written": self.written,
            "people": self.people,
        }


def _read_rows(path: Path) -> dict[str, Row]:
    """A people file's rows by id, as text; empty when there is none yet."""
    if not path.exists():
        return {}
    reader = csv.DictReader(io.StringIO(read_text(path, TABLE_LIMIT), newline=""))
    return {r["id"]: {k: (v or "") for k, v in r.items() if k} for r in reader if r.get("id")}


def _language(value: str, default: str) -> str:
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


def plan(
    settings: Settings, fetched: Fetched, previous: dict[str, Row], chat: dict[str, Row]
) -> tuple[list[Row], SyncReport]:
    """The new people file's rows and what changes, from what LDAP returned."""
    cfg = settings.directory.ldap
    assert cfg is not None
    report = SyncReport()
    by_dn = {e.dn: e.fields["id"] for e in fetched.people if e.fields["id"]}
    # A CSV row is matched by email only when its id is nobody's, in LDAP or in the last
    # sync: a new colleague given a leaver's old address must not get the leaver's accounts.
    ids = set(by_dn.values())
    known = ids | set(previous)
    by_email = {r["email"].lower(): r for i, r in chat.items() if i not in known and r.get("email")}
    rows: dict[str, Row] = {}
    for entry in fetched.people:
        pid = entry.fields["id"]
        if not pid:
            report.problems.append(f"{entry.dn}: has no id attribute; left out")
            continue
        if entry.disabled and pid not in previous:
            continue  # never synced and already disabled: nobody to deactivate
        manager = ""
        if entry.manager_dn:
            manager = by_dn.get(entry.manager_dn, "")
            if not manager:
                report.problems.append(
                    f"{pid}: manager '{entry.manager_dn}' is not a person under {cfg.people}; "
                    "left without a manager"
                )
        role, queues = _roles(entry, cfg)
        kept = chat.get(pid) or by_email.get(entry.fields["email"].lower()) or previous.get(pid, {})
        location = entry.fields["location"]
        row = dict.fromkeys(PEOPLE_COLUMNS, "")
        row.update(
            id=pid,
            name=entry.fields["name"] or pid,
            email=entry.fields["email"],
            slack_id=kept.get("slack_id", ""),
            telegram_id=kept.get("telegram_id", ""),
            manager=manager,
            role=role,
            queues=queues,
            language=_language(entry.fields["language"], settings.language),
            timezone=cfg.timezones.get(location, "UTC"),
            title=entry.fields["title"],
            department=entry.fields["department"],
            location=location,
            delegate=kept.get("delegate", "") if kept.get("delegate", "") in ids else "",
            active="false" if entry.disabled else "true",
        )
        if pid in rows:
            report.problems.append(f"{entry.dn}: id '{pid}' is also another person's")
            report.refused = "two people have one id; nothing was changed"
        rows[pid] = row
    for pid, old in previous.items():
        if pid not in rows:  # gone from the base: kept, inactive, so old tickets name them
            rows[pid] = {**old, "active": "false", "manager": ""}
    for pid, row in sorted(rows.items()):
        if pid not in previous:
            report.adds.append(pid)
            continue
        old = previous[pid]
        if old.get("active", "true") != "false" and row["active"] == "false":
            report.deactivations.append(pid)
        else:
            changed = sorted(c for c in COMPARED if old.get(c, "") != row[c])
            if changed:
                report.updates.append({"id": pid, "fields": changed})
    report.people = sum(1 for r in rows.values() if r["active"] != "false")
    return [rows[pid] for pid in sorted(rows)], report


def _write(path: Path, rows: list[Row]) -> None:
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=list(PEOPLE_COLUMNS))
        writer.writeheader()
        writer.writerows(rows)


def _check(settings: Settings, candidate: Path, rows: list[Row]) -> list[str]:
    """The rules `deskbot check` applies (duplicates, unknown managers, circles, queues,
    approver groups and queue leads naming people), on the candidate file."""
    directory = settings.directory.model_copy(update={"synced": str(candidate)})
    trial = settings.model_copy(update={"directory": directory})
    trial._lines = settings._lines
    try:
        load_directory(trial)
    except ProblemsError as exc:
        found = []
        for p in exc.problems:
            if p.file == str(candidate) and p.line and 2 <= p.line <= len(rows) + 1:
                found.append(f"{rows[p.line - 2]['id']}: {p.field}: {p.message}")
            else:
                found.append(str(p))
        return found
    return []


def sync(
    settings: Settings, *, dry_run: bool = False, source: Callable[[LdapSettings], Fetched] = fetch
) -> SyncReport:
    """Read the directory and, unless `dry_run`, replace the synced people file; a failed
    read, a result that breaks the rules or that deactivates too many changes nothing."""
    cfg = settings.directory.ldap
    if settings.directory.source != "ldap" or cfg is None:
        return SyncReport(refused="directory.source is not ldap in config.yaml: nothing to sync")
    target = settings.resolve(settings.directory.synced)
    try:
        fetched = source(cfg)
    except SourceError as exc:
        return SyncReport(refused=str(exc))
    previous = _read_rows(target)
    chat = _read_rows(settings.resolve(settings.paths.people))
    rows, report = plan(settings, fetched, previous, chat)
    if report.refused:
        return report
    was_active = sum(1 for r in previous.values() if r.get("active", "true") != "false")
    share = settings.directory.max_deactivate
    # One leaver is always let through, so a small directory can lose someone at all.
    if len(report.deactivations) > max(share * was_active, 1):
        report.refused = (
            f"{len(report.deactivations)} of {was_active} people would be deactivated, more "
            f"than directory.max_deactivate ({share:.0%}); nothing was changed"
        )
        return report
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=".people-", suffix=".csv", dir=target.parent)
    os.close(fd)
    candidate = Path(name)
    try:
        _write(candidate, rows)
        broken = _check(settings, candidate, rows)
        if broken:
            report.problems += broken
            report.refused = "the directory breaks the people rules above; nothing was changed"
        elif not dry_run:
            candidate.replace(target)
            report.written = True
    finally:
        candidate.unlink(missing_ok=True)
    return report
