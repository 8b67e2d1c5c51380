"""Ticket search benchmark: full-text search over 100,000 tickets against a LIKE scan.

    .venv/bin/python -m bench.search [--tickets 100000] [--queries 300] [--postgres URL|none]

Builds tickets in English and Chinese (titles, descriptions, answers, and replies, notes
and resolutions on about half of them) in a temporary SQLite database, and in a fresh
schema of PostgreSQL when it answers (default: the test server). The search documents are
written by the migration's own backfill (`store.search.backfill`). Then it runs a few
hundred queries as a technician would (one or two words, Chinese terms, with and without
filters; restricted to two queues as `/find` is) through `store.search.search`, and the
baseline, a LIKE scan over titles, descriptions, answers and notes, on a sample of the same
queries. Printed: p50 and p95 per database, and the ratio baseline / search at p50.
Target: search p95 <= 200 ms.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
from sqlalchemy import Text, or_, select
from sqlmodel import col

from store import search
from store.db import Store
from store.models import Ticket, TicketEvent
from store.tickets import STATUSES

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
QUEUES = ("service_desk", "workplace", "network", "identity", "security", "applications")
MINE = ["service_desk", "network"]  # the technician's queues, as /find restricts them
PEOPLE = [f"user{i}" for i in range(2000)]
EN_TERMS = (
    "printer paper jam toner laptop screen broken keyboard mouse monitor docking station "
    "vpn token expired password reset locked account email outlook calendar teams meeting "
    "wifi network slow disconnect badge door access license adobe excel crash update "
    "install software request phone mobile sim headset camera microphone backup restore "
    "file share drive permission folder sharepoint login mfa authenticator certificate "
    "server database timeout error blue firewall port proxy browser chrome cache"
).split()
ZH_TERMS = (
    "打印机 卡纸 墨盒 笔记本 屏幕 键盘 鼠标 显示器 密码 重置 账号 锁定 邮箱 日历 会议 "
    "无线 网络 断开 门禁 权限 软件 安装 更新 手机 耳机 摄像头 备份 恢复 共享 文件夹 "
    "登录 验证码 证书 服务器 数据库 超时 错误 防火墙 代理 浏览器 缓存 蓝屏 许可证 报销"
).split()
EN_FILLER = (
    "the my is not working since this morning please help we need it for a client after "
    "again today urgent when I try to open shows an message keeps asking"
).split()
ZH_FILLER = "我的 今天 一直 无法 使用 请 帮忙 处理 早上 开始 出现 问题 客户 急 需要".split()


def pseudo_words(rng: random.Random, count: int) -> list[str]:
    """A long tail of rare words (names, model numbers, error codes) as real tickets have."""
    syllables = "ka lo mi tre vor zen pa qui dex nor sal tu bri gan fel ox".split()
    return [
        "".join(rng.choice(syllables) for _ in range(rng.randint(2, 3))) + str(rng.randint(0, 99))
        for _ in range(count)
    ]


def sentence(rng: random.Random, zh: bool, rare: list[str], words: int) -> str:
    terms, filler = (ZH_TERMS, ZH_FILLER) if zh else (EN_TERMS, EN_FILLER)
    out = []
    for _ in range(words):
        roll = rng.random()
        out.append(
            rng.choice(terms)
            if roll < 0.35
            else rng.choice(rare)
            if roll < 0.45
            else rng.choice(filler)
        )
    return ("" if zh else " ").join(out)


def build(store: Store, count: int, seed: int = 7) -> float:
    """Insert `count` tickets and their events, then write their search documents."""
    rng = random.Random(seed)
    rare = pseudo_words(rng, 20_000)
    tickets_table = Ticket.__table__  # type: ignore[attr-defined]
    events_table = TicketEvent.__table__  # type: ignore[attr-defined]
    started = time.perf_counter()
    batch = 5000
    for first in range(1, count + 1, batch):
        tickets, events = [], []
        for i in range(first, min(first + batch, count + 1)):
            zh = rng.random() < 0.3
            at = NOW - timedelta(minutes=rng.randint(0, 60 * 24 * 365))
            tickets.append(
                {
                    "id": i,
                    "number": f"IT-{i}",
                    "type": "incident",
                    "requester_id": rng.choice(PEOPLE),
                    "status": rng.choice(STATUSES),
                    "priority": rng.choice(("P1", "P2", "P3", "P4")),
                    "queue": rng.choice(QUEUES),
                    "title": sentence(rng, zh, rare, rng.randint(3, 7))[:300],
                    "description": sentence(rng, zh, rare, rng.randint(10, 40)),
                    "answers": {"device": sentence(rng, zh, rare, 2), "floor": rng.randint(1, 9)},
                    "source": "desk",
                    "language": "zh" if zh else "en",
                    "created_at": at,
                    "updated_at": at,
                }
            )
            for kind in rng.sample(
                ("reply", "note", "asked", "info", "resolved"), rng.randint(0, 3)
            ):
                events.append(
                    {
                        "ticket_id": i,
                        "at": at,
                        "actor_id": "dana",
                        "kind": kind,
                        "note": sentence(rng, zh, rare, rng.randint(5, 20)),
                        "data": {},
                    }
                )
        with store.begin() as session:
            session.connection().execute(tickets_table.insert(), tickets)
            if events:
                session.connection().execute(events_table.insert(), events)
    with store.begin() as session:
        search.backfill(session)
    if store.dialect == "sqlite":
        with store.engine.begin() as conn:  # as a long-running desk's index would be
            conn.exec_driver_sql(
                "INSERT INTO ticket_search_fts(ticket_search_fts) VALUES('optimize')"
            )
    else:
        with store.engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
    return time.perf_counter() - started


def queries(count: int, seed: int = 11) -> list[tuple[str, search.Filters]]:
    rng = random.Random(seed)
    rare = pseudo_words(random.Random(7), 20_000)
    out = []
    for _ in range(count):
        roll = rng.random()
        if roll < 0.3:
            words = rng.choice(EN_TERMS)
        elif roll < 0.5:
            words = f"{rng.choice(EN_TERMS)} {rng.choice(EN_TERMS)}"
        elif roll < 0.6:
            words = rng.choice(rare)
        elif roll < 0.85:
            words = rng.choice(ZH_TERMS)
        else:
            words = f"{rng.choice(ZH_TERMS)} {rng.choice(ZH_TERMS)}"
        f = rng.random()
        filters = search.Filters(
            queues=MINE,
            statuses=("open", "in_progress", "new") if f < 0.3 else None,
            since=NOW - timedelta(days=30) if 0.3 <= f < 0.5 else None,
            requester_id=rng.choice(PEOPLE) if 0.5 <= f < 0.55 else None,
        )
        out.append((words, filters))
    return out


def like_scan(store: Store, words: str, filters: search.Filters) -> int:
    """The baseline: every word somewhere in the title, description, answers or a note."""
    with store.read() as session:
        stmt = select(col(Ticket.id)).where(col(Ticket.queue).in_(list(filters.queues or QUEUES)))
        if filters.statuses is not None:
            stmt = stmt.where(col(Ticket.status).in_(list(filters.statuses)))
        if filters.since is not None:
            stmt = stmt.where(col(Ticket.created_at) >= filters.since)
        if filters.requester_id is not None:
            stmt = stmt.where(col(Ticket.requester_id) == filters.requester_id)
        for word in words.split():
            pattern = f"%{word}%"
            notes = select(col(TicketEvent.ticket_id)).where(col(TicketEvent.note).ilike(pattern))
            stmt = stmt.where(
                or_(
                    col(Ticket.title).ilike(pattern),
                    col(Ticket.description).ilike(pattern),
                    Ticket.answers.cast(Text).ilike(pattern),  # type: ignore[attr-defined]
                    col(Ticket.id).in_(notes),
                )
            )
        return len(session.execute(stmt.order_by(col(Ticket.id).desc()).limit(10)).all())


def timed(run: Callable[[], object]) -> float:
    started = time.perf_counter()
    run()
    return (time.perf_counter() - started) * 1000


def p(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def measure(store: Store, name: str, count: int, nqueries: int) -> None:
    built = build(store, count)
    plan = queries(nqueries)

    def find(words: str, filters: search.Filters) -> None:
        with store.read() as session:
            search.search(session, words, filters, limit=10)

    for words, filters in plan[:20]:  # warm the caches, as a running desk's would be
        find(words, filters)
    found = [timed(lambda w=w, f=f: find(w, f)) for w, f in plan]  # type: ignore[misc]
    sample = plan[: max(20, nqueries // 10)]
    naive = [timed(lambda w=w, f=f: like_scan(store, w, f)) for w, f in sample]  # type: ignore[misc]
    print(
        f"{name:<10} {count:>8} tickets (built in {built:.0f} s)  "
        f"search p50 {p(found, 50):7.1f} ms  p95 {p(found, 95):7.1f} ms  "
        f"max {max(found):7.1f} ms ({len(found)} queries)"
    )
    print(
        f"{'':<10} {'':>8} LIKE scan p50 {p(naive, 50):7.1f} ms  p95 {p(naive, 95):7.1f} ms "
        f"({len(naive)} queries)  ratio LIKE/search at p50: {p(naive, 50) / p(found, 50):.0f}x"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument(
        "--postgres",
        default="postgresql://postgres@127.0.0.1:5432/test",
        help="PostgreSQL URL, or 'none' to measure SQLite only",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(f"sqlite:///{Path(tmp) / 'bench.db'}")
        store.upgrade()
        measure(store, "sqlite", args.tickets, args.queries)
        store.dispose()
    if args.postgres == "none":
        return
    try:
        with psycopg.connect(args.postgres, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        print(f"postgresql: not measured ({str(exc).strip()})")
        return
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(args.postgres, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        store = Store(f"{args.postgres}?options=-csearch_path%3D{schema}")
        store.upgrade()
        measure(store, "postgresql", args.tickets, args.queries)
        store.dispose()
    finally:
        with psycopg.connect(args.postgres, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


if __name__ == "__main__":
    main()
