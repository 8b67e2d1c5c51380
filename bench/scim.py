"""What one SCIM change costs the desk: the endpoint's write, then the directory sync that
follows it (bot/directory_sync.py with the scim source: every pushed user and group read,
merged, checked with people.csv's rules, the people file written), against loading that
people file as the desk does at start (`load_directory`, the baseline, measured in the
same process).

    .venv/bin/python -m bench.scim [--people 5000] [--changes 15]

A temporary SQLite database gets `--people` users (a manager chain: each reports to the
person whose number is a tenth of theirs), 60 groups (roles and queues) listing them, then
`--changes` PATCHes of one user's title, each followed by a sync. Printed: the first full
sync, the median write and sync per change, the baseline and the ratio sync / baseline.
A change reads every pushed user and group again, so its cost still grows with the
directory; only the people it reaches are worked out and checked anew (their fingerprints
in sync-state.db tell which). 50,000 people, 60 groups (5 December 2026, SQLite): a sync
after one change 3.0 s, down from 4.4 s when everyone was worked out again; baseline 1.2 s.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from bot import directory_sync
from bot.app import load_config
from bot.base.clock import SystemClock
from bot.base.config import Settings
from bot.directory import load_directory
from bot.scim.schemas import ENTERPRISE, GROUPS, PATCH, USERS
from bot.scim.service import Scim
from store import scim as repo
from store.db import Store

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "bench-scim-token-0123456789"


def _settings(folder: Path, url: str) -> Settings:
    """The repository's config with SCIM as the source and nothing naming demo people."""
    data: dict[str, Any] = yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))
    data["paths"] = {k: str(ROOT / v) for k, v in data["paths"].items()}
    data["paths"]["assets"] = str(folder / "none.csv")
    data["paths"]["people"] = str(folder / "none.csv")
    for queue in data["queues"].values():
        queue["lead"] = None
    # The groups stay (change control names its advisory board among them), empty.
    data["approver_groups"] = {name: [] for name in data["approver_groups"]}
    data["channels"]["console"] = {"person": ""}
    data["database"] = {"url": url}
    roles = {"admin": "it-admins", "approver": "approvers", "technician": {"service_desk": "desk"}}
    data["directory"] = {
        "scim": {"token": TOKEN, "roles": roles},
        "synced": str(folder / "synced.csv"),
        "max_deactivate": 1.0,
    }
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return load_config(path, {})


def _fill(store: Store, people: int) -> list[str]:
    now = datetime.now(UTC)
    ids = [str(uuid.uuid4()) for _ in range(people)]
    with store.begin() as session:
        for i, uid in enumerate(ids):
            doc: dict[str, Any] = {
                "userName": f"user{i}",
                "displayName": f"User {i}" if i % 3 else f"用户 {i}",
                "emails": [{"value": f"user{i}@corp.test", "type": "work", "primary": True}],
                "active": True,
                "title": "Engineer",
                "preferredLanguage": "zh-CN" if i % 3 == 0 else "en-GB",
                ENTERPRISE: {"department": f"Dept {i % 40}", "employeeNumber": str(i)},
            }
            if i:
                doc[ENTERPRISE]["manager"] = {"value": ids[i // 10]}
            repo.add(
                session,
                rid=uid,
                kind=USERS.name,
                unique_key=f"user{i}",
                external_id=None,
                data=doc,
                now=now,
            )
        names = ["it-admins", "approvers", "desk"] + [f"team-{g}" for g in range(57)]
        for g, name in enumerate(names):
            members = [{"value": ids[i]} for i in range(g, people, len(names) * 3)]
            repo.add(
                session,
                rid=str(uuid.uuid4()),
                kind=GROUPS.name,
                unique_key=None,
                external_id=None,
                data={"displayName": name, "members": members},
                now=now,
            )
    return ids


def _timed(work: Any) -> float:
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--people", type=int, default=5000)
    parser.add_argument("--changes", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        url = f"sqlite:///{folder / 'bench.db'}"
        store = Store(url)
        store.upgrade()
        ids = _fill(store, args.people)
        settings = _settings(folder, url)
        scim = Scim(store, SystemClock())
        first = _timed(lambda: directory_sync.sync(settings, store, actor="bench"))
        report = directory_sync.sync(settings, store, dry_run=True, actor="bench")
        assert not report.refused, report.refused
        writes, syncs = [], []
        for n in range(args.changes):
            body = {
                "schemas": [PATCH],
                "Operations": [{"op": "replace", "path": "title", "value": f"Lead {n}"}],
            }
            uid = ids[(n * 7919) % len(ids)]
            writes.append(_timed(lambda: scim.patch(USERS, uid, body, "http://bench", None)))  # noqa: B023
            syncs.append(_timed(lambda: directory_sync.sync(settings, store, actor="bench")))
        baseline = statistics.median(_timed(lambda: load_directory(settings)) for _ in range(5))
        store.dispose()
    sync = statistics.median(syncs)
    print(f"people: {args.people}, groups: 60, changes: {args.changes} (SQLite)")
    print(f"first full sync:              {first * 1000:8.1f} ms")
    print(f"write of one change (median): {statistics.median(writes) * 1000:8.1f} ms")
    print(f"sync after it (median):       {sync * 1000:8.1f} ms")
    print(f"baseline, load_directory:     {baseline * 1000:8.1f} ms")
    print(f"ratio sync / baseline:        {sync / baseline:8.2f}")


if __name__ == "__main__":
    main()
