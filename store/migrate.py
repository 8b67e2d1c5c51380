"""Run Alembic migrations programmatically (no alembic.ini needed at run time)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from store import search

MIGRATIONS = Path(__file__).with_name("migrations")


class Store(Protocol):
    """What migrations need of a store (`store.db.Store`): its engine."""

    @property
    def engine(self) -> Engine: ...


def include_object(
    obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any
) -> bool:
    """For comparing the database with the models: leave out the objects only one dialect has
    on purpose (the search index: FTS5 tables on SQLite, a tsvector column on PostgreSQL)."""
    parent = getattr(getattr(obj, "table", None), "name", None)
    return not (reflected and search.is_dialect_only(name, type_, parent))


def alembic_config(store: Store) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection_engine"] = store.engine
    return config


def upgrade(store: Store, revision: str = "head") -> None:
    """Bring the schema up to `revision`."""
    command.upgrade(alembic_config(store), revision)


def current(store: Store) -> str | None:
    # Read-only: on SQLite a write transaction (BEGIN IMMEDIATE) would wait for any writer,
    # and every desk asks this as it starts.
    with store.engine.execution_options(deskbot_readonly=True).connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head(store: Store) -> str | None:
    return ScriptDirectory.from_config(alembic_config(store)).get_current_head()


def known(store: Store, revision: str) -> bool:
    """Whether `revision` is one of this release's migrations (not one from a newer one)."""
    scripts = ScriptDirectory.from_config(alembic_config(store))
    try:
        return scripts.get_revision(revision) is not None
    except Exception:  # alembic raises its own ResolutionError / CommandError kinds
        return False
