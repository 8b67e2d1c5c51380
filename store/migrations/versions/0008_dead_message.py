"""messages that could not be handled, set aside as dead letters

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05 03:20:00
"""
from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

import store.models

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('dead_message',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('channel', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('event_id', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True),
    sa.Column('person_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('conversation', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('action', sqlmodel.sql.sqltypes.AutoString(length=256), nullable=True),
    sa.Column('error', sa.Text(), nullable=False),
    sa.Column('at', store.models.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_dead_message_at'), 'dead_message', ['at'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_dead_message_at'), table_name='dead_message')
    op.drop_table('dead_message')
