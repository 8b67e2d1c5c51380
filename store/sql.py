"""Small dialect helpers shared by the repository modules."""

from __future__ import annotations

import hashlib
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import Table, bindparam, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, SQLModel

MAX_ID = 2**31 - 1


def row_id(raw: str) -> int | None:
    """A row id typed or sent in a button (`/approve 12`, `ap:12:y`), or None.

    Only ASCII digits that fit an id column (PostgreSQL `integer`, 32 bits): `str.isdigit`
    also accepts "²", which int() refuses, and a larger value makes the driver raise.
    """
    if raw.isascii() and raw.isdigit() and len(raw) <= 10 and int(raw) <= MAX_ID:
        return int(raw)
    return None


def table_of(model: type[SQLModel]) -> Table:
    table = model.__table__  # type: ignore[attr-defined]
    assert isinstance(table, Table)
    return table


@lru_cache(maxsize=64)
def _insert_ignore_statement(table: Table, dialect: str, columns: tuple[str, ...]) -> Any:
    # Built once per table and column set: statement construction costs more than the
    # INSERT itself on SQLite, and this runs for every inbound message.
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    first_key = next(iter(table.primary_key.columns))
    values = {name: bindparam(name, type_=table.c[name].type) for name in columns}
    # RETURNING tells us reliably whether a row went in (psycopg reports rowcount -1 here).
    return insert(table).values(**values).on_conflict_do_nothing().returning(first_key)


def insert_ignore(session: Session, model: type[SQLModel], values: dict[str, Any]) -> bool:
    """INSERT a row unless its unique key exists; return True when this call inserted it."""
    stmt = _insert_ignore_statement(
        table_of(model), session.get_bind().dialect.name, tuple(sorted(values))
    )
    # On the connection: a Core statement gains nothing from the ORM's execute path.
    return session.connection().execute(stmt, values).first() is not None


@lru_cache(maxsize=64)
def _insert_statement(table: Table, columns: tuple[str, ...]) -> Any:
    first_key = next(iter(table.primary_key.columns))
    values = {name: bindparam(name, type_=table.c[name].type) for name in columns}
    return table.insert().values(**values).returning(first_key)


def insert_row(session: Session, model: type[SQLModel], values: dict[str, Any]) -> Any:
    """INSERT one row with a prebuilt Core statement; return its primary key.

    For rows written on every message that nobody edits in the same transaction: it skips
    the ORM's object bookkeeping and flush, which cost more than the INSERT on SQLite.
    """
    stmt = _insert_statement(table_of(model), tuple(sorted(values)))
    return session.connection().execute(stmt, values).scalar_one()


def lock_key(name: str) -> int:
    """A stable signed 64-bit key for PostgreSQL advisory locks."""
    return int.from_bytes(
        hashlib.blake2b(name.encode(), digest_size=8).digest(), "big", signed=True
    )


def xact_lock(session: Session, name: str) -> None:
    """Serialise work on `name` until the transaction ends (SQLite's BEGIN IMMEDIATE already
    serialises every write transaction)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": lock_key(name)})


def try_xact_lock(session: Session, name: str) -> bool:
    """Take `name` for this transaction if nobody holds it; True on SQLite (single writer)."""
    if session.get_bind().dialect.name != "postgresql":
        return True
    got = session.execute(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": lock_key(name)})
    return bool(got.scalar_one())


def decide_once(
    session: Session,
    model: type[SQLModel],
    row: int,
    pending: str,
    to: str,
    by: str,
    at: datetime,
) -> bool:
    """Move a row from `pending` to `to` (status, decided_by, decided_at) unless someone
    else decided first: two people pressing one decision's buttons at once, on two
    devices or two replicas, get one winner. The row is read again either way."""
    table = table_of(model)
    won = session.execute(
        update(table)
        .where(table.c.id == row, table.c.status == pending)
        .values(status=to, decided_by=by, decided_at=at)
        .returning(table.c.id)
    ).first()
    found = session.get(model, row)
    if found is not None:
        session.refresh(found)
    return won is not None
