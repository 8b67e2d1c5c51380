"""configuration items a ticket concerns (ticket_ci)

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-05 07:45:00
"""
from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

import store.models

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('ticket_ci',
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('ci_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('how', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('created_at', store.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['ticket_id'], ['ticket.id'], ),
    sa.PrimaryKeyConstraint('ticket_id', 'ci_id')
    )
    op.create_index(op.f('ix_ticket_ci_ci_id'), 'ticket_ci', ['ci_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_ticket_ci_ci_id'), table_name='ticket_ci')
    op.drop_table('ticket_ci')
