"""message refs are kept per conversation (a moved ticket has a card in each queue's channel)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05 07:10:00
"""
from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

import store.models

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def _rebuild(primary_key: list[str]) -> None:
    # A new table, the rows copied, the old one dropped: the same on SQLite (which cannot
    # change a primary key in place) and PostgreSQL.
    op.create_table('message_ref_next',
    sa.Column('channel', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('conversation', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('ref', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('updated_at', store.models.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint(*primary_key, name='pk_message_ref_next')
    )
    op.execute(
        'INSERT INTO message_ref_next (channel, key, conversation, ref, updated_at) '
        'SELECT channel, key, conversation, ref, updated_at FROM message_ref'
    )
    op.drop_table('message_ref')
    op.rename_table('message_ref_next', 'message_ref')


def upgrade() -> None:
    _rebuild(['channel', 'key', 'conversation'])


def downgrade() -> None:
    # Back to one ref per key: the newest wins (an older card in another conversation of the
    # same platform is forgotten, as it was before).
    op.execute(
        'DELETE FROM message_ref WHERE EXISTS (SELECT 1 FROM message_ref AS newer '
        'WHERE newer.channel = message_ref.channel AND newer.key = message_ref.key '
        'AND newer.updated_at > message_ref.updated_at)'
    )
    _rebuild(['channel', 'key'])
