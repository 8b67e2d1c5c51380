"""The people directory and asset registry, loaded from CSV files named in config.yaml."""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.base.config import LANGUAGES, SYNCED_FIELDS, Settings
from bot.base.files import stamp
from bot.base.yamlfile import TABLE_LIMIT, Problem, ProblemsError, read_text

log = logging.getLogger(__name__)

ROLES = ("employee", "technician", "approver", "admin")
# Domains reserved for examples (RFC 2606): nobody's real address. The demo directory's
# people all have one, which is how `deskbot serve` recognises it.
EXAMPLE_DOMAINS = ("example.com", "example.org", "example.net", "example")
# people.csv's columns: the id, every field a sync's sources may give (bot/base/config.py:
# `active` false for someone who left, `approver_groups` the person is in, `;`-separated),
# and the sources a synced person's fields came from. All but id, name and email optional.
PEOPLE_COLUMNS = ("id", *SYNCED_FIELDS, "source")
ASSET_COLUMNS = ("asset_tag", "owner", "kind", "model", "purchased", "status")


@dataclass(frozen=True)
class Person:
    """Someone the desk knows: an employee, technician, approver or admin (or several)."""

    id: str
    name: str
    email: str
    roles: frozenset[str] = frozenset({"employee"})
    queues: frozenset[str] = frozenset()
    manager: str | None = None
    slack_id: str | None = None
    telegram_id: str | None = None
    language: str = "en"
    timezone: str = "UTC"
    title: str = ""
    department: str = ""
    location: str = ""
    delegate: str | None = None
    active: bool = True
    approver_groups: frozenset[str] = frozenset()
    source: str = "csv"  # the sources a sync took them from (`ldap;csv`), else csv

    @property
    def first_name(self) -> str:
        return self.name.split()[0] if self.name else self.id

    def has_role(self, role: str) -> bool:
        return role in self.roles or "admin" in self.roles

    def works_queue(self, queue: str) -> bool:
        """True for technicians of this queue and for admins."""
        return "admin" in self.roles or ("technician" in self.roles and queue in self.queues)

    @property
    def role(self) -> str:
        """The highest of their roles (employee, technician, approver, admin)."""
        return max(self.roles, key=ROLES.index, default="employee")

    def as_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "name": self.name,
            "email": self.email,
            "role": self.role,
            "roles": sorted(self.roles),
            "queues": sorted(self.queues),
            "manager": self.manager,
            "slack_id": self.slack_id,
            "telegram_id": self.telegram_id,
            "language": self.language,
            "timezone": self.timezone,
            "title": self.title,
            "department": self.department,
            "location": self.location,
            "delegate": self.delegate,
            "active": self.active,
            "approver_groups": sorted(self.approver_groups),
            "source": self.source,
        }


@dataclass(frozen=True)
class Asset:
    asset_tag: str
    owner: str
    kind: str
    model: str
    purchased: date | None
    status: str = "in_use"

    def age_months(self, today: date) -> int | None:
        if self.purchased is None:
            return None
        months = (today.year - self.purchased.year) * 12 + (today.month - self.purchased.month)
        return months - (1 if today.day < self.purchased.day else 0)


@dataclass
class Directory:
    """Lookups over people, approver groups and assets."""

    people: dict[str, Person]
    approver_groups: dict[str, list[str]] = field(default_factory=dict)
    assets: list[Asset] = field(default_factory=list)
    # People from a sync: what the other files said of people the directory does not hold,
    # left out (a queue lead, an approver group member, an asset's owner...), one line each.
    notes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        # Someone who left keeps their name on old tickets (`get`) but is no longer found by
        # their accounts, nor counted as a technician, admin, approver or manager.
        active = [p for p in self.people.values() if p.active]
        self._by_email = {p.email.lower(): p for p in active if p.email}
        self._by_slack = {p.slack_id: p for p in active if p.slack_id}
        self._by_telegram = {p.telegram_id: p for p in active if p.telegram_id}

    def __iter__(self) -> Iterator[Person]:
        return iter(self.people.values())

    def get(self, person_id: str | None) -> Person | None:
        return self.people.get(person_id) if person_id else None

    def present(self, person_id: str | None) -> Person | None:
        """The person if they are still here (not someone who left): whom to tell or ask."""
        person = self.get(person_id)
        return person if person is not None and person.active else None

    def by_email(self, email: str) -> Person | None:
        return self._by_email.get(email.lower())

    def by_slack(self, slack_id: str) -> Person | None:
        return self._by_slack.get(slack_id)

    def by_telegram(self, telegram_id: str) -> Person | None:
        return self._by_telegram.get(str(telegram_id))

    def reports(self, manager_id: str) -> list[Person]:
        return [p for p in self.people.values() if p.manager == manager_id and p.active]

    def active_manager(self, person_id: str | None) -> Person | None:
        """The person's manager, or the next one up the chain when the manager has left;
        None when nobody up the chain is still here."""
        person = self.get(person_id)
        seen = {person_id}
        while person is not None and person.manager and person.manager not in seen:
            seen.add(person.manager)
            person = self.get(person.manager)
            if person is not None and person.active:
                return person
        return None

    def is_manager(self, person_id: str) -> bool:
        manager = self.people.get(person_id)
        if manager is None or not manager.active:
            return False
        return any(p.manager == person_id and p.active for p in self.people.values())

    def technicians(self, queue: str) -> list[Person]:
        return [
            p
            for p in self.people.values()
            if "technician" in p.roles and queue in p.queues and p.active
        ]

    def admins(self) -> list[Person]:
        return [p for p in self.people.values() if "admin" in p.roles and p.active]

    def group(self, name: str) -> list[Person]:
        found = (self.people.get(i) for i in self.approver_groups.get(name, []))
        return [p for p in found if p is not None and p.active]

    def assets_of(self, person_id: str) -> list[Asset]:
        return [a for a in self.assets if a.owner == person_id]


def example_people(directory: Directory) -> list[Person]:
    """People whose email is at a domain reserved for examples: demo or placeholder rows."""
    found = []
    for person in directory:
        domain = person.email.rpartition("@")[2].lower().rstrip(".")
        if any(domain == d or domain.endswith("." + d) for d in EXAMPLE_DOMAINS):
            found.append(person)
    return found


def _split(value: str) -> list[str]:
    return [v.strip() for v in value.replace(",", ";").split(";") if v.strip()]


def _rows(
    path: Path, expected: Iterable[str], required: Iterable[str]
) -> Iterator[tuple[int, dict[str, str]]]:
    """Each row with its line number; the file is read within TABLE_LIMIT, as UTF-8 (with or
    without the byte-order mark Excel writes)."""
    reader = csv.DictReader(io.StringIO(read_text(path, TABLE_LIMIT), newline=""))
    done = 0  # the last line of the last row read: a bad row starts on the next one
    try:
        header = reader.fieldnames or []
        unknown = [c for c in header if c not in expected]
        missing = [c for c in required if c not in header]
        if unknown or missing:
            msgs = [Problem(str(path), 1, c, "unknown column") for c in unknown]
            msgs += [Problem(str(path), 1, c, "required column is missing") for c in missing]
            raise ProblemsError(msgs)
        done = reader.line_num
        for row in reader:
            yield reader.line_num, {k: (v or "").strip() for k, v in row.items() if k}
            done = reader.line_num
    except csv.Error as exc:  # a field over csv's size limit, say
        message = f"not a valid CSV file: {exc}"
        raise ProblemsError([Problem(str(path), done + 1, "", message)]) from exc


def is_email(value: str) -> bool:
    """A pragmatic check, not RFC 5322: one @, something before it, a domain with a dot
    and no empty part after it, and no spaces."""
    local, _, domain = value.partition("@")
    parts = domain.split(".")
    return (
        bool(local)
        and "@" not in domain
        and len(parts) >= 2
        and all(parts)
        and value.split() == [value]  # no spaces (str.split is C: a sync checks 50,000)
    )


# Columns that name one person each: a value on two rows would let the later row take over
# the earlier person's chat accounts (and so their roles). Emails compare without case.
UNIQUE = ("email", "slack_id", "telegram_id")


Bad = Callable[[int, str, str], None]  # line, column, message


def person_of(
    row: Mapping[str, str],
    line: int,
    bad: Bad,
    queues: set[str] | None = None,
    groups: set[str] | None = None,
) -> Person:
    """One people row as a person, telling `bad` each rule of `deskbot check` it breaks on
    its own (roles, queues, language, time zone, email, active, approver groups); what
    needs the other rows too is `Owners`, `reference_problems` and `manager_cycles`."""
    pid = row["id"]
    roles = set(_split(row.get("role", "")) or ["employee"])
    for role in roles - set(ROLES):
        bad(line, "role", f"'{role}' is not one of {', '.join(ROLES)}")
    roles &= set(ROLES)
    roles.add("employee")
    person_queues = frozenset(_split(row.get("queues", "")))
    if "technician" in roles and not person_queues:
        bad(line, "queues", "a technician needs at least one queue")
    for q in sorted(person_queues - queues) if queues is not None else []:
        bad(line, "queues", f"'{q}' is not a queue in config.yaml")
    language = row.get("language") or "en"
    if language not in LANGUAGES:
        bad(line, "language", f"'{language}' is not one of {', '.join(LANGUAGES)}")
        language = "en"
    tz = row.get("timezone") or "UTC"
    if not _known_zone(tz):
        bad(line, "timezone", f"unknown timezone '{tz}'")
        tz = "UTC"
    if not is_email(row["email"]):
        bad(line, "email", f"'{row['email']}' is not an email address like name@example.com")
    active = _active(row.get("active", ""), line, bad)
    person_groups = frozenset(_split(row.get("approver_groups", "")))
    for g in sorted(person_groups - groups) if groups is not None else []:
        bad(line, "approver_groups", f"'{g}' is not an approver group in config.yaml")
    return Person(
        id=pid,
        name=row["name"],
        email=row["email"],
        roles=frozenset(roles),
        queues=person_queues,
        manager=row.get("manager") or None,
        slack_id=row.get("slack_id") or None,
        telegram_id=row.get("telegram_id") or None,
        language=language,
        timezone=tz,
        title=row.get("title", ""),
        department=row.get("department", ""),
        location=row.get("location", ""),
        delegate=row.get("delegate") or None,
        active=active,
        approver_groups=person_groups,
        source=row.get("source") or "csv",
    )


@cache
def _known_zone(name: str) -> bool:
    # Asked once per person: tens of thousands of people share a few dozen zones.
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


class Owners:
    """Who each email, Slack id and Telegram id belongs to, row by row in file order: a
    value on two active rows is told on the later one."""

    def __init__(self) -> None:
        self._owner: dict[tuple[str, str], tuple[str, int]] = {}

    def claim(self, pid: str, line: int, row: Mapping[str, str], active: bool) -> list[Clash]:
        clashes: list[Clash] = []
        if not active:
            # Someone who left is no longer known by their accounts (their old email may
            # well belong to a new colleague now).
            return clashes
        for column in UNIQUE:
            value = row.get(column, "")
            if not value:
                continue  # nobody is known by an empty value
            key = (column, value.lower() if column == "email" else value)
            first = self._owner.get(key)
            if first is None:
                self._owner[key] = (pid, line)
            else:
                clashes.append(Clash(pid, first[0], line, column, value, first[1]))
        return clashes


@dataclass(frozen=True)
class Clash:
    pid: str  # the later row's person
    first: str  # the earlier row's
    line: int
    column: str
    value: str
    first_line: int

    @property
    def message(self) -> str:
        return f"'{self.value}' is also on line {self.first_line} ({self.first})"


def reference_problems(
    pid: str, manager: str | None, delegate: str | None, exists: Callable[[str], bool]
) -> list[tuple[str, str]]:
    """(column, message) for a manager or delegate who is nobody here, or the person."""
    found = []
    for column, ref in (("manager", manager), ("delegate", delegate)):
        if ref and not exists(ref):
            found.append((column, f"'{ref}' is not a person in this file"))
        elif ref == pid:
            found.append((column, f"'{ref}' is this person: nobody is their own {column}"))
    return found


def cycle_message(cycle: list[str], lines: Callable[[str], int]) -> tuple[str, str]:
    """The first person of a circle of managers (by line) and what is told there."""
    first = min(cycle, key=lines)
    at = cycle.index(first)
    cycle = cycle[at:] + cycle[:at]  # told from the row that comes first in the file
    steps = " -> ".join(f"{p} (line {lines(p)})" for p in cycle)
    return first, f"managers go round in a circle: {steps} -> {first}"


def load_people(
    path: Path, queues: set[str] | None = None, groups: set[str] | None = None
) -> tuple[dict[str, Person], list[Problem]]:
    people: dict[str, Person] = {}
    problems: list[Problem] = []

    def bad(line: int, column: str, message: str) -> None:
        problems.append(Problem(str(path), line, column, message))

    lines: dict[str, int] = {}
    owners = Owners()
    for line, row in _rows(path, PEOPLE_COLUMNS, ("id", "name", "email", "role")):
        pid = row["id"]
        if not pid:
            bad(line, "id", "is empty")
            continue
        if pid in people:
            bad(line, "id", f"'{pid}' appears twice (first on line {lines[pid]})")
            continue
        person = person_of(row, line, bad, queues, groups)
        for clash in owners.claim(pid, line, row, person.active):
            bad(line, clash.column, clash.message)
        lines[pid] = line
        people[pid] = person
    for pid, person in people.items():
        for column, message in reference_problems(
            pid, person.manager, person.delegate, people.__contains__
        ):
            bad(lines[pid], column, message)
    managers = {pid: p.manager for pid, p in people.items()}
    for cycle in manager_cycles(managers):
        first, message = cycle_message(cycle, lines.__getitem__)
        bad(lines[first], "manager", message)
    return people, problems


def _active(value: str, line: int, bad: Bad) -> bool:
    if value.lower() in ("", "true", "yes", "1"):
        return True
    if value.lower() in ("false", "no", "0"):
        return False
    bad(line, "active", f"'{value}' is not true or false")
    return True


def people_path(settings: Settings) -> Path:
    """The people file the desk loads: people.csv, or what `deskbot directory sync` wrote."""
    if settings.directory.from_sync:
        return settings.resolve(settings.directory.synced)
    return settings.resolve(settings.paths.people)


def people_stamp(settings: Settings) -> str:
    """Changes whenever the people file the desk loads is replaced or edited (a sync
    renames a new file into place: a new inode); one `stat`, cheap enough for every message.
    Taken before the file is read, so a change while reading is seen the next time."""
    return stamp(people_path(settings))


def manager_cycles(
    managers: Mapping[str, str | None], starts: Iterable[str] | None = None
) -> list[list[str]]:
    """Every circle of managers (person id -> their manager's id): two or more people whose
    chain of managers comes back to where it started (someone who is their own manager is
    told on their own). Walked from `starts` only when given (a sync's changed people: a new
    circle goes through one of them). Nobody is walked twice, so this takes linear time."""
    done: set[str] = set()
    cycles: list[list[str]] = []
    for start in managers if starts is None else starts:
        chain: list[str] = []
        on_chain: set[str] = set()
        pid: str | None = start
        while pid is not None and pid in managers and pid not in done and pid not in on_chain:
            chain.append(pid)
            on_chain.add(pid)
            pid = managers[pid]
        if pid is not None and pid in on_chain:
            cycle = chain[chain.index(pid) :]
            if len(cycle) > 1:
                cycles.append(cycle)
        done |= on_chain
    return cycles


def load_assets(path: Path, people: dict[str, Person]) -> tuple[list[Asset], list[Problem]]:
    assets: list[Asset] = []
    problems: list[Problem] = []
    if not path.exists():
        return assets, problems
    for line, row in _rows(path, ASSET_COLUMNS, ("asset_tag", "owner", "kind")):
        purchased: date | None = None
        if row.get("purchased"):
            try:
                purchased = date.fromisoformat(row["purchased"])
            except ValueError:
                problems.append(Problem(str(path), line, "purchased", "expected a date YYYY-MM-DD"))
        if row["owner"] not in people:
            problems.append(Problem(str(path), line, "owner", f"'{row['owner']}' is not a person"))
        assets.append(
            Asset(
                row["asset_tag"],
                row["owner"],
                row["kind"],
                row.get("model", ""),
                purchased,
                row.get("status") or "in_use",
            )
        )
    return assets, problems


def load_directory(settings: Settings) -> Directory:
    """Load people and assets; raise ProblemsError with every problem found."""
    source_path = people_path(settings)
    if (
        settings.directory.from_sync
        and not source_path.exists()
        and "scim" not in settings.directory.members
    ):
        names = " and ".join(settings.directory.members)
        message = f"no people synced from {names} yet: run `deskbot directory sync` first"
        raise ProblemsError([settings.problem(("directory", "source"), message)])
    group_names = settings.approver_group_names()
    named = source_path.name  # how the problems below name the people
    if settings.directory.from_sync and not source_path.exists():
        # Nobody pushed over SCIM yet: the desk starts empty, so `deskbot serve` can take
        # the first push.
        people: dict[str, Person] = {}
        problems: list[Problem] = []
        named = "the people pushed over SCIM (nobody yet: leave it out until they are)"
    else:
        people, problems = load_people(source_path, set(settings.queues), group_names)
    assets, asset_problems = load_assets(settings.resolve(settings.paths.assets), people)
    # What config.yaml and assets.csv say of people. With people.csv kept by hand a name
    # that is nobody is a mistake to fix there; with people from a directory the directory
    # is right, and the demo's names (or a leaver's) must not stop a whole company's sync:
    # they are left out, each with a note (logged, and listed by `deskbot check`).
    unknown: list[Problem] = [p for p in asset_problems if p.field == "owner"]
    problems += [p for p in asset_problems if p.field != "owner"]
    for group, members in settings.approver_groups.items():
        for member in members:
            if member not in people:
                unknown.append(
                    settings.problem(("approver_groups", group), f"'{member}' is not in {named}")
                )
    for qid, queue in settings.queues.items():
        if queue.lead and queue.lead not in people:
            unknown.append(
                settings.problem(("queues", qid, "lead"), f"'{queue.lead}' is not in {named}")
            )
    notices = settings.notifications
    fallback = notices.approvals.fallback
    if fallback != "manager" and fallback not in people:
        unknown.append(
            settings.problem(
                ("notifications", "approvals", "fallback"),
                f"'{fallback}' is not in {named} (use a person id or 'manager')",
            )
        )
    for i, pid in enumerate(notices.dead_letters_to):
        if pid not in people:
            unknown.append(
                settings.problem(
                    ("notifications", "dead_letters_to", i), f"'{pid}' is not in {named}"
                )
            )
    if settings.channels.console.person and settings.channels.console.person not in people:
        unknown.append(
            settings.problem(
                ("channels", "console", "person"),
                f"'{settings.channels.console.person}' is not in {named}",
            )
        )
    notes: tuple[str, ...] = ()
    if settings.directory.from_sync:
        notes = tuple(f"{p}; left out" for p in unknown)
        for note in notes:
            log.warning("%s", note)
        assets = [a for a in assets if a.owner in people]
    else:
        problems += unknown
    if problems:
        raise ProblemsError(problems)
    # config.yaml's members, then those the people file puts in a group (from LDAP groups).
    groups = {
        g: [m for m in members if m in people] for g, members in settings.approver_groups.items()
    }
    groups.update({g: [] for g in sorted(group_names - set(groups))})
    for person in people.values():
        for g in sorted(person.approver_groups):
            if person.id not in groups[g]:
                groups[g].append(person.id)
    return Directory(people=people, approver_groups=groups, assets=assets, notes=notes)
