"""Directory sync benchmark: tens of thousands of people from a real OpenLDAP server.

    .venv/bin/python -m bench.directory [--people 50000] [--groups 500] [--changes 100]
                                        [--postgres URL|none]

For two sizes (a tenth of --people, then --people) it loads a generated directory into
slapd (inetOrgPerson people with a five-level manager chain, English and Chinese names,
groupOfNames groups: the role groups of config.yaml and team groups up to --groups), runs
`deskbot directory sync` once from nothing (the full sync), then changes --changes people in
LDAP (titles, departments, a few managers, a few leavers removed from the base) and syncs
again (the incremental sync), on SQLite and, when it answers, on a fresh PostgreSQL schema.
Each sync runs in its own process, so its peak memory (max RSS) is its own. Then it times
loading the synced people the way the desk does.

Printed per size and database: seconds and peak MB of each sync, and the ratios that say
how it scales: incremental / full (the changes cost less than everything) and large /
small for the incremental sync (the cost grows with the changes, not with the directory).
Targets at 50,000 people: full <= 60 s, incremental <= 5 s, memory <= 300 MB. Then one
more incremental sync as the command an admin runs (`deskbot directory sync`, which also
loads the desk to hand a leaver's work on), timed as a whole process.

Last run (5 December 2026, the machine shared with a test run; 500 groups; slapd with the
change time indexed and an access log; 100 changes: 85 titles, 10 managers, 5 leavers):

    database    people  full s  full MB  incr s  incr MB   command s / MB
    sqlite        5000    2.00      163    0.15      130    2.97 / 175
    sqlite       50000   14.50      243    0.20      179    4.82 / 284
    postgresql    5000    2.35      270    0.14      270    3.35 / 175
    postgresql   50000   18.86      270    0.34      270    4.56 / 283

Incremental 50,000 / 5,000 people: 1.34 (SQLite), 2.47 (PostgreSQL); ten times the changes
at 50,000 (1,000): 4.9 and 2.6 times the time. Without the access log (every name listed)
the incremental sync at 50,000 takes 1.29 s. What still follows the size: writing the
people file the desks load, from lines kept rendered (about 0.1 s at 50,000), and counting
the active people (milliseconds). Before (JSON-lines snapshot, the people file read and
checked whole): 3.35 s incremental at 50,000, 7.3 times the 5,000 one. A process with
deskbot imported is already 140-150 MB before it reads anyone; the command also loads the
desk after the sync when someone left or moved, to hand their work on.

Needs slapd and slapadd (Debian's `slapd` package; scripts/test installs it).
"""

from __future__ import annotations

import argparse
import base64
import multiprocessing
import random
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import ldap3
import psycopg
import yaml

from bot.app import load_config
from bot.directory import load_directory
from bot.directory_sync import sync
from store.db import Store
from tests.configs import ROOT, config_file
from tests.directory.people_ldif import GROUPS, PEOPLE, QUEUE_GROUPS, dn_of
from tests.directory.slapd import ACCESSLOG, SUFFIX, running_slapd

PASSWORD = "bench-Bind-Pw"
FAMILY = ["Smith", "Jones", "Okafor", "Novak", "Silva", "Kim", "Müller", "Haddad"]
GIVEN = ["Alex", "Sam", "Priya", "Jonas", "Maria", "Tom", "Aiko", "Omar"]
ZH_FAMILY = ["王", "李", "张", "刘", "陈", "杨", "赵", "黄"]
ZH_GIVEN = ["芳", "伟", "娜", "敏", "静", "磊", "洋", "婷"]
DEPARTMENTS = ["Sales", "Engineering", "Finance", "Operations", "People", "Legal"]
LOCATIONS = ["London", "Shanghai", "Berlin", "New York"]
LOADED = datetime(2026, 11, 30, tzinfo=UTC)
SPAN = 8  # reports per manager: 50,000 people make a chain about five levels deep


def _attr(name: str, value: str) -> str:
    if value.isascii():
        return f"{name}: {value}"
    return f"{name}:: {base64.b64encode(value.encode()).decode()}"  # RFC 2849: UTF-8 as base64


def _stamp(rnd: random.Random) -> str:
    """A change time in the hundred days before the benchmark's directory was loaded."""
    return (LOADED - timedelta(seconds=rnd.randrange(100 * 86400))).strftime("%Y%m%d%H%M%SZ")


def pid_of(i: int) -> str:
    return f"p{i:06d}"


def manager_of(i: int) -> int | None:
    return None if i == 0 else (i - 1) // SPAN


def generate_ldif(people: int, groups: int, seed: int = 7) -> str:
    """People under ou=people (a quarter with Chinese names) and `groups` groups."""
    rnd = random.Random(seed)
    entries = [
        f"dn: {SUFFIX}\nobjectClass: dcObject\nobjectClass: organization\ndc: example\no: Example",
        f"dn: {PEOPLE}\nobjectClass: organizationalUnit\nou: people",
        f"dn: {GROUPS}\nobjectClass: organizationalUnit\nou: groups",
    ]
    for i in range(people):
        pid = pid_of(i)
        chinese = i % 4 == 3
        if chinese:
            name = rnd.choice(ZH_FAMILY) + rnd.choice(ZH_GIVEN)
            sn = name[0]
        else:
            sn = rnd.choice(FAMILY)
            name = f"{rnd.choice(GIVEN)} {sn}"
        lines = [
            f"dn: uid={pid},{PEOPLE}",
            "objectClass: inetOrgPerson",
            f"uid: {pid}",
            _attr("cn", name),
            _attr("sn", sn),
            _attr("displayName", name),
            f"mail: {pid}@example.com",
            f"preferredLanguage: {'zh-CN' if chinese else 'en-GB'}",
            f"title: Employee {i % 97}",
            f"departmentNumber: {DEPARTMENTS[i % len(DEPARTMENTS)]}",
            f"l: {LOCATIONS[i % len(LOCATIONS)]}",
            # A real directory's entries changed over the past months, not all in one second.
            f"modifyTimestamp: {_stamp(rnd)}",
        ]
        boss = manager_of(i)
        if boss is not None:
            lines.append(f"manager: {dn_of(pid_of(boss))}")
        entries.append("\n".join(lines))
    # The role groups config.yaml names, then team groups of about a hundred people.
    named = {"it-admins": range(0, 5), "approvers": range(0, min(people, 2000))}
    for n, group in enumerate(QUEUE_GROUPS.values()):
        named[group] = range(10 + 20 * n, 30 + 20 * n)
    for name, members in named.items():
        lines = [f"dn: cn={name},{GROUPS}", "objectClass: groupOfNames", f"cn: {name}"]
        lines += [f"modifyTimestamp: {_stamp(rnd)}"]
        # A small run still gives each group members (groupOfNames needs one).
        lines += [f"member: {dn_of(pid_of(m))}" for m in sorted({m % people for m in members})]
        entries.append("\n".join(lines))
    for g in range(max(groups - len(named), 0)):
        lines = [f"dn: cn=team-{g:03d},{GROUPS}", "objectClass: groupOfNames", f"cn: team-{g:03d}"]
        lines += [f"modifyTimestamp: {_stamp(rnd)}"]
        lines += [f"member: {dn_of(pid_of(rnd.randrange(people)))}" for _ in range(100)]
        entries.append("\n".join(lines))
    return "\n\n".join(entries) + "\n"


def change_people(url: str, people: int, changes: int, seed: int = 11) -> None:
    """`changes` people changed in LDAP: most get a new title or department, every tenth
    a new manager, every twentieth leaves (removed from the base)."""
    rnd = random.Random(seed)
    chosen = rnd.sample(range(SPAN + 1, people), changes)
    conn = ldap3.Connection(url, f"cn=admin,{SUFFIX}", PASSWORD, auto_bind=True)
    try:
        for n, i in enumerate(chosen):
            dn = dn_of(pid_of(i))
            if n % 20 == 19:
                conn.delete(dn)
            elif n % 10 == 9:
                conn.modify(dn, {"manager": [(ldap3.MODIFY_REPLACE, [dn_of(pid_of(1))])]})
            else:
                conn.modify(dn, {"title": [(ldap3.MODIFY_REPLACE, [f"Changed {n}"])]})
    finally:
        conn.unbind()


def write_config(folder: Path, url: str, database: str, accesslog: bool = True) -> Path:
    chat = folder / "chat.csv"  # chat accounts: nobody has one yet
    chat.write_text("id,name,email,slack_id,telegram_id,role\n", encoding="utf-8")
    assets = folder / "assets.csv"
    assets.write_text("asset_tag,owner,kind,model,purchased,status\n", encoding="utf-8")
    # The demo's queue leads are demo people: lead each queue by a member of its group.
    # So are its approver groups: give each to one generated person.
    demo = yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))
    queues = demo["queues"]
    for queue in queues.values():
        queue["lead"] = pid_of(10)
    approver_groups = {name: [pid_of(1)] for name in demo.get("approver_groups", {})}
    changes = {
        "database": {"url": database},
        "channels": {"console": {"person": pid_of(SPAN * 2)}},
        "queues": queues,
        "paths": {"people": str(chat), "assets": str(assets)},
        "approver_groups": approver_groups,
        "directory": {
            "ldap": {
                "url": url,
                "bind_dn": f"cn=admin,{SUFFIX}",
                "bind_password": PASSWORD,
                "people": PEOPLE,
                "groups": GROUPS,
                "roles": {
                    "admin": "it-admins",
                    "approver": "approvers",
                    "technician": QUEUE_GROUPS,
                },
                "timezones": {"London": "Europe/London", "Shanghai": "Asia/Shanghai"},
                # What an OpenLDAP admin sets: slapd walks its candidates again for every
                # page (docs/operations.md), and the admin bind has no size limit.
                "page_size": 5000,
                # Removals from the access log the benchmark's slapd keeps; without it, by
                # listing every entry's name.
                **({"accesslog": ACCESSLOG} if accesslog else {}),
            },
            "synced": str(folder / "synced.csv"),
            "max_deactivate": 0.5,
        },
    }
    return config_file(folder, changes)


@dataclass(frozen=True)
class Run:
    seconds: float
    peak_mb: float
    adds: int
    updates: int
    deactivations: int
    refused: str | None
    problems: tuple[str, ...]


def _sync_child(config: str, out: Any) -> None:
    settings = load_config(Path(config))
    store = Store(settings.database.url)  # every change is audited there
    store.upgrade()
    start = time.perf_counter()
    report = sync(settings, store)
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    out.send(
        Run(
            seconds,
            peak,
            len(report.adds),
            len(report.updates),
            len(report.deactivations),
            report.refused,
            tuple(report.problems[:5]),
        )
    )


def timed_sync(config: Path) -> Run:
    """One sync in a fresh process: its time and its own peak memory."""
    ctx = multiprocessing.get_context("spawn")
    receive, send = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_sync_child, args=(str(config), send))
    proc.start()
    run: Run = receive.recv()
    proc.join()
    if run.refused:
        raise SystemExit(f"the sync refused: {run.refused}\n" + "\n".join(run.problems))
    return run


def _cli_child(config: str, out: Any) -> None:
    # The command an admin or cron runs, in a process of its own: its wall time and peak
    # memory (the only child this process waits for).
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "bot", "directory", "sync", "--config", config],
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    out.send((seconds, peak, done.returncode, done.stdout[-500:] + done.stderr[-500:]))


def timed_cli(config: Path) -> tuple[float, float]:
    """`deskbot directory sync` as a command: seconds and peak MB (it also loads the people
    before and after, to hand a leaver's work on)."""
    ctx = multiprocessing.get_context("spawn")
    receive, send = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_cli_child, args=(str(config), send))
    proc.start()
    seconds, peak, code, output = receive.recv()
    proc.join()
    if code != 0:
        raise SystemExit(f"deskbot directory sync failed:\n{output}")
    return seconds, peak


def _load_seconds(config: Path) -> float:
    settings = load_config(config)
    start = time.perf_counter()
    directory = load_directory(settings)
    seconds = time.perf_counter() - start
    assert directory.people
    return seconds


@dataclass(frozen=True)
class Measured:
    full: Run
    incremental: Run  # removals from the access log
    listing: Run  # another incremental sync, removals by listing every name
    load: float
    cli: tuple[float, float]
    more: Run | None  # an incremental sync with ten times the changes (`more_changes`)
    more_changes: int = 0


def measure(people: int, groups: int, changes: int, database: str, more: bool) -> Measured:
    with tempfile.TemporaryDirectory(prefix="deskbot-dir-bench-") as tmp:
        folder = Path(tmp)
        ldif = generate_ldif(people, groups)
        maxsize = max(100, people // 50) * 1024 * 1024  # about 2 KB per person, with room
        # What an admin sets for syncs between full reads: the change time indexed (else
        # slapd looks at every entry to find the changed ones) and the access log.
        indexes = ("objectClass eq", "modifyTimestamp eq")
        with running_slapd(
            folder / "slapd", ldif, PASSWORD, maxsize=maxsize, accesslog=True, indexes=indexes
        ) as server:
            config = write_config(folder, server.url, database)
            # The same desk and files, without the access log (another config.yaml).
            (folder / "names").mkdir()
            names = write_config(folder / "names", server.url, database, accesslog=False)
            names.write_text(
                names.read_text(encoding="utf-8").replace(str(folder / "names"), str(folder)),
                encoding="utf-8",
            )
            full = timed_sync(config)
            change_people(server.url, people, changes)
            incremental = timed_sync(config)
            load = _load_seconds(config)
            change_people(server.url, people, changes, seed=12)
            listing = timed_sync(names)
            change_people(server.url, people, changes, seed=13)
            cli = timed_cli(config)
            bigger, count = None, 0
            if more:  # the same directory, ten times the changes (a small run: half of it)
                count = min(changes * 10, (people - SPAN - 1) // 2)
                change_people(server.url, people, count, seed=14)
                bigger = timed_sync(config)
    return Measured(full, incremental, listing, load, cli, bigger, count)


def _postgres_schema(url: str) -> str | None:
    if url == "none":
        return None
    try:
        with psycopg.connect(url, connect_timeout=3, autocommit=True) as conn:
            schema = f"bench_{uuid.uuid4().hex[:10]}"
            conn.execute(f'CREATE SCHEMA "{schema}"')
            return schema
    except psycopg.OperationalError as exc:
        print(f"postgresql: not measured ({str(exc).strip()})")
        return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--people", type=int, default=50_000)
    parser.add_argument("--groups", type=int, default=500)
    parser.add_argument("--changes", type=int, default=100)
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    databases: list[tuple[str, str, str | None]] = []
    with tempfile.TemporaryDirectory(prefix="deskbot-dir-bench-db-") as dbdir:
        databases.append(("sqlite", f"sqlite:///{dbdir}/bench.db", None))
        schema = _postgres_schema(args.postgres)
        if schema:
            databases.append(
                ("postgresql", f"{args.postgres}?options=-csearch_path%3D{schema}", schema)
            )
        try:
            sizes = (max(args.people // 10, 100), args.people)
            print(
                f"{'database':<11} {'people':>7} {'full s':>7} {'full MB':>8} "
                f"{'incr s':>7} {'incr MB':>8} {'load s':>7} {'incr/full':>9}"
            )
            small: dict[str, float] = {}
            for name, url, _ in databases:
                for size in sizes:
                    m = measure(size, args.groups, args.changes, url, size == sizes[-1])
                    full, incr, load, cli = m.full, m.incremental, m.load, m.cli
                    print(
                        f"{name:<11} {size:>7} {full.seconds:>7.2f} {full.peak_mb:>8.0f} "
                        f"{incr.seconds:>7.2f} {incr.peak_mb:>8.0f} {load:>7.2f} "
                        f"{incr.seconds / full.seconds:>9.2f}"
                    )
                    print(
                        f"{'':<11} {'':>7} full: {full.adds} added; incremental: "
                        f"{incr.updates} updated, {incr.deactivations} deactivated; "
                        f"`deskbot directory sync` (another {args.changes} changes): "
                        f"{cli[0]:.2f} s, {cli[1]:.0f} MB"
                    )
                    print(
                        f"{'':<11} {'':>7} incremental without the access log (every name "
                        f"listed): {m.listing.seconds:.2f} s, {m.listing.peak_mb:.0f} MB "
                        f"({m.listing.seconds / incr.seconds:.2f} x with it)"
                    )
                    if size == sizes[0]:
                        small[name] = incr.seconds
                    else:
                        ratio = incr.seconds / small[name]
                        print(
                            f"{'':<11} incremental {size} / {sizes[0]} people: {ratio:.2f} "
                            "(1.0 = the cost follows the changes, 10 = the size)"
                        )
                    if m.more is not None:
                        print(
                            f"{'':<11} incremental with {m.more_changes} changes at {size}: "
                            f"{m.more.seconds:.2f} s, {m.more.peak_mb:.0f} MB "
                            f"({m.more.seconds / incr.seconds:.2f} x {args.changes} changes')"
                        )
        finally:
            for _, _, schema_name in databases:
                if schema_name:
                    with psycopg.connect(args.postgres, autocommit=True) as conn:
                        conn.execute(f'DROP SCHEMA "{schema_name}" CASCADE')


if __name__ == "__main__":
    main()
