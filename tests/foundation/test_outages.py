"""Telling "the database is away, try again" from "this is wrong", and how long a message is
tried again (bot/base/outages.py, store/db.py)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import text

from bot.base.config import EngineSettings
from bot.base.outages import TURNS, Unavailable, patiently
from store.db import Store, is_outage, reports_outages
from tests.outages import PostgresGate


class Clock:
    """Time that passes only when someone sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


async def test_a_sixty_second_outage_is_waited_out_with_the_default_patience():
    clock = Clock()
    within = EngineSettings().retry_for.total_seconds()
    tries: list[float] = []

    async def turn() -> str:
        tries.append(clock.now)
        if clock.now < 60:
            raise Unavailable("database is locked")
        return "handled"

    assert await patiently(turn, what="t", within=within, sleep=clock.sleep, clock=clock) == (
        "handled"
    )
    assert clock.sleeps[:6] == [0.5, 1.0, 2.0, 4.0, 8.0, 10.0]  # then every 10 s
    assert max(clock.sleeps) == TURNS.cap and 60 <= tries[-1] < 60 + TURNS.cap


async def test_an_outage_longer_than_the_patience_is_raised():
    clock = Clock()

    async def turn() -> str:
        raise Unavailable("connection refused")

    with pytest.raises(Unavailable, match="connection refused"):
        await patiently(turn, what="t", within=30, sleep=clock.sleep, clock=clock)
    assert 29 < clock.now <= 30


async def test_other_errors_are_not_tried_again():
    calls = []

    async def turn() -> str:
        calls.append(1)
        raise ValueError("a bug")

    with pytest.raises(ValueError):
        await patiently(turn, what="t", within=30)
    assert len(calls) == 1


def test_sqlite_locked_is_an_outage_a_missing_table_is_not(tmp_path: Path):
    path = tmp_path / "x.db"
    store = Store(f"sqlite:///{path}")
    holder = sqlite3.connect(path, isolation_level=None)
    impatient = sqlite3.connect(path, isolation_level=None, timeout=0)
    try:
        holder.execute("BEGIN IMMEDIATE")  # another process's long write
        with pytest.raises(sqlite3.OperationalError) as locked:
            impatient.execute("BEGIN IMMEDIATE")
        assert is_outage(locked.value)
        holder.execute("ROLLBACK")
        with pytest.raises(Exception) as missing, store.begin() as session:
            session.execute(text("SELECT * FROM nowhere"))
        assert not is_outage(missing.value)
    finally:
        holder.close()
        impatient.close()
        store.dispose()


def test_postgresql_gone_is_an_outage_a_missing_table_is_not(pg_schema_url: str):
    gate = PostgresGate(pg_schema_url)
    store = Store(gate.url)

    @reports_outages
    def select(what: str) -> None:
        with store.begin() as session:
            session.execute(text(f"SELECT * FROM {what}"))

    try:
        select("(SELECT 1) AS one")
        gate.begin()  # the server goes away under an open pooled connection
        with pytest.raises(Unavailable, match="OperationalError"):
            select("(SELECT 1) AS one")
        gate.end()
        select("(SELECT 1) AS one")
        with pytest.raises(Exception) as missing:
            select("nowhere")
        assert not isinstance(missing.value, Unavailable) and not is_outage(missing.value)
    finally:
        store.dispose()
        gate.close()
