"""change control: change records, CAB votes, an approval's quorum

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-05 08:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy.dialects import postgresql

import store.models

revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('approval') as batch:
        batch.add_column(sa.Column('quorum', sa.Integer(), nullable=False, server_default='1'))
    op.create_table('approval_vote',
    sa.Column('approval_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('verdict', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('on_behalf_of', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('at', store.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['approval_id'], ['approval.id'], ),
    sa.PrimaryKeyConstraint('approval_id', 'person_id')
    )
    op.create_table('change_record',
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('system', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('item', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('impact', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('likelihood', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('size', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('tested', sa.Boolean(), nullable=True),
    sa.Column('rollback', sa.Boolean(), nullable=True),
    sa.Column('risk', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('score', sa.Integer(), nullable=False),
    sa.Column('window_start', store.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('window_end', store.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('stage', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('implementer_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('conflicts', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('review_needed', sa.Boolean(), nullable=False),
    sa.Column('reviewed_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('created_at', store.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', store.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('outcome_at', store.models.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['ticket_id'], ['ticket.id'], ),
    sa.PrimaryKeyConstraint('ticket_id')
    )
    op.create_index(op.f('ix_change_record_item'), 'change_record', ['item'], unique=False)
    op.create_index(op.f('ix_change_record_stage'), 'change_record', ['stage'], unique=False)
    op.create_index('ix_change_record_window', 'change_record', ['window_start', 'window_end'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_change_record_window', table_name='change_record')
    op.drop_index(op.f('ix_change_record_stage'), table_name='change_record')
    op.drop_index(op.f('ix_change_record_item'), table_name='change_record')
    op.drop_table('change_record')
    op.drop_table('approval_vote')
    with op.batch_alter_table('approval') as batch:
        batch.drop_column('quorum')
