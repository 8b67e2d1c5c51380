"""ticket search: a search document per ticket, indexed by FTS5 or a tsvector

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05 05:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlmodel import Session

from store import search

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

# SQLite: an FTS5 index over ticket_search (external content), kept in step by triggers.
# unicode61 without diacritic folding: store.search_text already folded the tokens.
SQLITE = (
    "CREATE VIRTUAL TABLE ticket_search_fts USING fts5(title, body, content='ticket_search', "
    "content_rowid='ticket_id', tokenize='unicode61 remove_diacritics 0')",
    "CREATE TRIGGER ticket_search_ai AFTER INSERT ON ticket_search BEGIN "
    "INSERT INTO ticket_search_fts(rowid, title, body) "
    "VALUES (new.ticket_id, new.title, new.body); END",
    "CREATE TRIGGER ticket_search_ad AFTER DELETE ON ticket_search BEGIN "
    "INSERT INTO ticket_search_fts(ticket_search_fts, rowid, title, body) "
    "VALUES ('delete', old.ticket_id, old.title, old.body); END",
    "CREATE TRIGGER ticket_search_au AFTER UPDATE ON ticket_search BEGIN "
    "INSERT INTO ticket_search_fts(ticket_search_fts, rowid, title, body) "
    "VALUES ('delete', old.ticket_id, old.title, old.body); "
    "INSERT INTO ticket_search_fts(rowid, title, body) "
    "VALUES (new.ticket_id, new.title, new.body); END",
)
# PostgreSQL: a generated tsvector (title weighted A, the rest D) with a GIN index.
POSTGRESQL = (
    "ALTER TABLE ticket_search ADD COLUMN tsv tsvector GENERATED ALWAYS AS ("
    "setweight(to_tsvector('simple'::regconfig, title), 'A') || "
    "setweight(to_tsvector('simple'::regconfig, body), 'D')) STORED",
    "CREATE INDEX ix_ticket_search_tsv ON ticket_search USING gin (tsv)",
)


def upgrade() -> None:
    op.create_table('ticket_search',
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('title', sa.Text(), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['ticket_id'], ['ticket.id'], ),
    sa.PrimaryKeyConstraint('ticket_id')
    )
    bind = op.get_bind()
    for statement in SQLITE if bind.dialect.name == "sqlite" else POSTGRESQL:
        op.execute(statement)
    search.backfill(Session(bind=bind))


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for trigger in ("ai", "ad", "au"):
            op.execute(f"DROP TRIGGER IF EXISTS ticket_search_{trigger}")
        op.execute("DROP TABLE IF EXISTS ticket_search_fts")
    op.drop_table('ticket_search')
