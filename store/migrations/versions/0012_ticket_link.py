"""tickets tied by technicians: related (/link) and merged (/merge)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05 05:50:00
"""
from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

import store.models

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('ticket_link',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('other_id', sa.Integer(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('actor_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('created_at', store.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['other_id'], ['ticket.id'], ),
    sa.ForeignKeyConstraint(['ticket_id'], ['ticket.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('ticket_id', 'other_id', name='uq_ticket_link_pair')
    )
    op.create_index(op.f('ix_ticket_link_other_id'), 'ticket_link', ['other_id'], unique=False)
    op.create_index(op.f('ix_ticket_link_ticket_id'), 'ticket_link', ['ticket_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_ticket_link_ticket_id'), table_name='ticket_link')
    op.drop_index(op.f('ix_ticket_link_other_id'), table_name='ticket_link')
    op.drop_table('ticket_link')
