"""A portable backup of every deskbot table, taken while `deskbot serve` runs.

One gzip'd JSON-lines file: a header line (format, schema revision, dialect, the tables in
insert order and each one's row count), one line per row (`[table, {column: value}]`), and
an end line with the total. The same file restores into SQLite or PostgreSQL, whichever
the backup came from: values are written by column type (aware UTC times as ISO 8601, JSON
columns as JSON), never as one database's text form.

Consistency: the whole dump is read in one snapshot - on SQLite one read transaction (WAL:
writers go on, the reader keeps seeing the database as it was when it began), on PostgreSQL
one `REPEATABLE READ READ ONLY` transaction. A restore is one transaction too: into an
empty database at the same schema revision, or nothing.
"""

from __future__ import annotations

import gzip
import json
import os
import sqlite3
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Integer, Table, func, select, text
from sqlmodel import SQLModel

from store import migrate, models
from store.db import Store

FORMAT = "deskbot-backup"
VERSION = 1
ROWS_PER_INSERT = 500


class BackupError(Exception):
    """A backup that cannot be written or restored, with what to do about it."""


@dataclass(frozen=True)
class Summary:
    revision: str
    tables: dict[str, int]  # table -> rows, in insert order

    @property
    def rows(self) -> int:
        return sum(self.tables.values())


def tables() -> list[Table]:
    """deskbot's tables, parents before children (foreign keys)."""
    return list(SQLModel.metadata.sorted_tables)


# ---- values ---------------------------------------------------------------------------------


def _is_time(table: Table, column: str) -> bool:
    return isinstance(table.c[column].type, models.UTCDateTime)


def _encode(row: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in row.items():
        if isinstance(value, datetime):
            value = value.astimezone(UTC).isoformat()
        out[name] = value
    return out


def _decode(table: Table, row: dict[str, Any], where: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in row.items():
        if name not in table.c:
            raise BackupError(f"{where}: table {table.name} has no column {name!r}")
        if value is not None and _is_time(table, name):
            try:
                value = datetime.fromisoformat(value)
            except (TypeError, ValueError) as exc:
                raise BackupError(f"{where}: {table.name}.{name} is not a time: {value!r}") from exc
            if value.tzinfo is None:
                raise BackupError(f"{where}: {table.name}.{name} has no time zone: {value}")
        out[name] = value
    return out


# ---- backup ---------------------------------------------------------------------------------


def _snapshot(store: Store) -> Connection:
    """A connection inside one read-only transaction that sees a single moment."""
    conn = store.engine.connect()
    if store.is_sqlite:
        # bot's `begin` hook issues a plain BEGIN for this option (no write lock); the
        # snapshot is fixed at the first read, which is the row counts below.
        conn = conn.execution_options(deskbot_readonly=True)
        conn.begin()
    else:
        conn = conn.execution_options(isolation_level="REPEATABLE READ")
        conn.begin()
        conn.execute(text("SET TRANSACTION READ ONLY"))
    return conn


SQLITE_FILES = (".db", ".sqlite", ".sqlite3")
SQLITE_MAGIC = b"SQLite format 3\x00"


def backup(store: Store, path: Path) -> Summary:
    """Write every table to `path` (replaced only once the whole backup is written).

    A `path` ending in .db (.sqlite, .sqlite3) on SQLite is a raw copy of the database file
    made by SQLite's online backup API instead; it restores only as a SQLite file."""
    revision = migrate.current(store)
    if revision is None:
        raise BackupError("the database has no deskbot schema; there is nothing to back up")
    part = path.with_name(path.name + ".part")
    if path.suffix in SQLITE_FILES:
        if not store.is_sqlite:
            raise BackupError(
                f"{path}: a {path.suffix} file is a raw SQLite copy, and this database is "
                f"{store.dialect}; name the backup FILE.jsonl.gz"
            )
        return _sqlite_copy(store, path, part)
    conn = _snapshot(store)
    try:
        # The revision again, inside the snapshot: a `db upgrade` may have run meanwhile.
        revision = conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
        counts = {
            t.name: conn.execute(select(func.count()).select_from(t)).scalar_one() for t in tables()
        }
        # Readable by its owner only: a backup holds people's messages and tickets.
        part.unlink(missing_ok=True)  # a leftover would keep its own mode
        raw = os.fdopen(os.open(part, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb")
        with raw, gzip.open(raw, "wt", encoding="utf-8") as out:
            header = {
                "format": FORMAT,
                "version": VERSION,
                "revision": revision,
                "dialect": store.dialect,
                "created_at": datetime.now(UTC).isoformat(),
                "tables": counts,
            }
            out.write(json.dumps(header) + "\n")
            written = 0
            for table in tables():
                order = list(table.primary_key.columns)
                rows = conn.execution_options(yield_per=1000).execute(
                    select(table).order_by(*order)
                )
                for row in rows.mappings():
                    line = [table.name, _encode(dict(row))]
                    out.write(json.dumps(line, ensure_ascii=False) + "\n")
                    written += 1
            out.write(json.dumps({"end": True, "rows": written}) + "\n")
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    finally:
        conn.rollback()
        conn.close()
    os.replace(part, path)
    return Summary(revision, counts)


# ---- reading a backup -----------------------------------------------------------------------


def _open(path: Path) -> Any:
    try:
        return _Lines(path)
    except OSError as exc:
        raise BackupError(f"{path}: cannot read it ({exc.strerror or exc})") from exc


class _Lines:
    """The lines of a gzip'd backup, with damage reported as BackupError naming the line."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.number = 0
        with path.open("rb") as peek:
            if peek.read(len(SQLITE_MAGIC)) == SQLITE_MAGIC:
                raise BackupError(
                    f"{path}: a raw SQLite copy, not a portable backup: stop deskbot and put "
                    "it in place of the database file, or point database.url at it"
                )
        self._file = gzip.open(path, "rt", encoding="utf-8")

    def __enter__(self) -> Iterator[str]:
        return self._lines()

    def __exit__(self, *exc: object) -> None:
        self._file.close()

    def _lines(self) -> Iterator[str]:
        try:
            for line in self._file:
                self.number += 1
                yield line
        except (gzip.BadGzipFile, zlib.error, UnicodeDecodeError) as exc:
            raise BackupError(
                f"{self.path}: not a readable deskbot backup (it is damaged or not gzip: {exc})"
            ) from exc
        except EOFError as exc:
            raise BackupError(
                f"{self.path}: the file ends early (after line {self.number}); "
                "it is truncated - take the backup again"
            ) from exc


def _sqlite_copy(store: Store, path: Path, part: Path) -> Summary:
    """SQLite's online backup API: pages copied while writers go on; a page written
    meanwhile restarts the copy from that page, so the file is one consistent moment."""
    part.unlink(missing_ok=True)
    os.close(os.open(part, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600))
    source = store.engine.raw_connection()
    try:
        target = sqlite3.connect(part)
        try:
            source.driver_connection.backup(target)  # type: ignore[union-attr]
            target.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
            revision = target.execute("SELECT version_num FROM alembic_version").fetchone()[0]
            counts = {
                t.name: target.execute(f'SELECT COUNT(*) FROM "{t.name}"').fetchone()[0]  # noqa: S608
                for t in tables()
            }
        finally:
            target.close()
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    finally:
        source.close()
    os.replace(part, path)
    return Summary(str(revision), counts)


def _header(path: Path, line: str | None) -> Summary:
    try:
        header = json.loads(line) if line else None
    except json.JSONDecodeError:
        header = None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise BackupError(f"{path}: not a deskbot backup (line 1 is not a deskbot-backup header)")
    if header.get("version") != VERSION:
        raise BackupError(
            f"{path}: backup format version {header.get('version')}; this deskbot reads {VERSION}"
        )
    counts = header.get("tables")
    if not isinstance(counts, dict) or not isinstance(header.get("revision"), str):
        raise BackupError(f"{path}: line 1: the header has no revision or table list")
    return Summary(header["revision"], {str(k): int(v) for k, v in counts.items()})


# ---- restore --------------------------------------------------------------------------------


def restore(store: Store, path: Path) -> Summary:
    """Load a backup into `store`, which must be empty (a new database, or one that was only
    migrated) and at the backup's schema revision. All rows go in one transaction."""
    want = migrate.head(store)
    with _open(path) as lines:
        summary = _header(path, next(lines, None))
        if summary.revision != want:
            raise BackupError(
                f"{path}: the backup is at schema revision {summary.revision}, this deskbot "
                f"is at {want}; restore it with the deskbot release of that revision"
            )
        known = {t.name: t for t in tables()}
        unknown = sorted(set(summary.tables) - set(known))
        if unknown:
            raise BackupError(f"{path}: line 1: tables this schema does not have: {unknown}")
        have = migrate.current(store)
        if have is None:
            store.upgrade()  # a brand-new database: make the schema first
        elif have != want:
            raise BackupError(
                f"the database is at schema revision {have}, the backup at {summary.revision}; "
                "run `deskbot db upgrade` first"
            )
        with store.engine.begin() as conn:
            full = [
                t.name
                for t in tables()
                if conn.execute(select(func.count()).select_from(t)).scalar_one()
            ]
            if full:
                raise BackupError(
                    "the database is not empty (rows in "
                    f"{', '.join(full)}); restore only into a new, empty database"
                )
            counted = _insert_all(conn, path, lines, known, summary)
            expected = {n: c for n, c in summary.tables.items() if c}
            if counted != expected:
                wrong = sorted(
                    n
                    for n in set(counted) | set(expected)
                    if counted.get(n, 0) != expected.get(n, 0)
                )
                raise BackupError(
                    f"{path}: row counts differ from the header for {', '.join(wrong)}; "
                    "the file is damaged"
                )
            if not store.is_sqlite:
                _fix_sequences(conn)
    return summary


def _insert_all(
    conn: Connection, path: Path, lines: Iterator[str], known: dict[str, Table], summary: Summary
) -> dict[str, int]:
    counted: dict[str, int] = {}
    batch: list[dict[str, Any]] = []
    batch_table: Table | None = None
    ended = False
    number = 1
    for number, line in enumerate(lines, start=2):
        where = f"{path}: line {number}"
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            raise BackupError(f"{where}: not JSON ({exc.msg}); the file is damaged") from exc
        if isinstance(item, dict) and item.get("end") is True:
            if item.get("rows") != sum(counted.values()):
                raise BackupError(f"{where}: the end line counts other rows; the file is damaged")
            ended = True
            break
        if not (
            isinstance(item, list)
            and len(item) == 2
            and item[0] in known
            and isinstance(item[1], dict)
        ):
            raise BackupError(f"{where}: not a row of a deskbot table; the file is damaged")
        table = known[item[0]]
        if batch_table is not None and table is not batch_table:
            conn.execute(batch_table.insert(), batch)
            batch = []
        batch_table = table
        batch.append(_decode(table, item[1], where))
        counted[table.name] = counted.get(table.name, 0) + 1
        if len(batch) >= ROWS_PER_INSERT:
            conn.execute(table.insert(), batch)
            batch = []
    if batch_table is not None and batch:
        conn.execute(batch_table.insert(), batch)
    if not ended:
        raise BackupError(
            f"{path}: the file ends early (after line {number}, before its end line); "
            "it is truncated - take the backup again"
        )
    return counted


def _fix_sequences(conn: Connection) -> None:
    """Rows went in with their ids: move each id sequence past the largest, so the next
    ticket or outbox row does not collide with a restored one."""
    for table in tables():
        for column in table.primary_key.columns:
            if isinstance(column.type, Integer) and column.autoincrement in (True, "auto"):
                seq = conn.execute(
                    text("SELECT pg_get_serial_sequence(:t, :c)"),
                    {"t": table.name, "c": column.name},
                ).scalar_one()
                if seq is None:
                    continue
                conn.execute(
                    text(
                        f'SELECT setval(:s, COALESCE((SELECT MAX("{column.name}") '  # noqa: S608
                        f'FROM "{table.name}"), 1), '
                        f'(SELECT MAX("{column.name}") FROM "{table.name}") IS NOT NULL)'
                    ),
                    {"s": seq},
                )
