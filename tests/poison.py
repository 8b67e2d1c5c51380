"""A real fault for tests: a database trigger that refuses any ticket whose description
holds `PILL`, on SQLite and PostgreSQL alike. A message that opens such a ticket breaks its
turn the way a bug or bad data would, with nothing of ours replaced."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import text

from bot.desk import Desk

PILL = "poison-pill"

_SQLITE = f"""
CREATE TRIGGER poison_pill BEFORE INSERT ON ticket
WHEN NEW.description LIKE '%{PILL}%'
BEGIN SELECT RAISE(ABORT, 'refused by the poison_pill trigger'); END
"""
_PG_FUNCTION = f"""
CREATE OR REPLACE FUNCTION poison_pill() RETURNS trigger AS $$
BEGIN
  IF NEW.description LIKE '%{PILL}%' THEN
    RAISE EXCEPTION 'refused by the poison_pill trigger';
  END IF;
  RETURN NEW;
END $$ LANGUAGE plpgsql
"""
_PG_TRIGGER = (
    "CREATE TRIGGER poison_pill BEFORE INSERT ON ticket FOR EACH ROW EXECUTE FUNCTION poison_pill()"
)


@contextmanager
def poisoned(desk: Desk) -> Iterator[None]:
    """The trigger in place for the duration (PostgreSQL schemas outlive a test: dropped)."""
    with desk.store.engine.begin() as conn:
        if desk.store.is_sqlite:
            conn.execute(text(_SQLITE))
        else:
            conn.execute(text(_PG_FUNCTION))
            conn.execute(text(_PG_TRIGGER))
    try:
        yield
    finally:
        with desk.store.engine.begin() as conn:
            conn.execute(
                text(
                    "DROP TRIGGER IF EXISTS poison_pill"
                    + ("" if desk.store.is_sqlite else " ON ticket")
                )
            )
            if not desk.store.is_sqlite:
                conn.execute(text("DROP FUNCTION IF EXISTS poison_pill()"))
