"""inbound updates kept until handled (Telegram long polling); chats that moved

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 01:50:00
"""
from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

import store.models

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('inbound_update',
    sa.Column('channel', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('event_id', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('payload', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=False),
    sa.Column('received_at', store.models.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('channel', 'event_id')
    )
    op.create_index(op.f('ix_inbound_update_received_at'), 'inbound_update', ['received_at'], unique=False)
    op.create_table('chat_move',
    sa.Column('channel', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('old_chat', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('new_chat', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('moved_at', store.models.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('channel', 'old_chat')
    )


def downgrade() -> None:
    op.drop_table('chat_move')
    op.drop_index(op.f('ix_inbound_update_received_at'), table_name='inbound_update')
    op.drop_table('inbound_update')
