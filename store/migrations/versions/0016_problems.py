"""problem records, their links and recurring-fault candidates

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-05 07:30:15.115650
"""
from __future__ import annotations

import sqlalchemy as sa
import sqlmodel  # noqa: F401  (autogenerate emits sqlmodel.sql.sqltypes.AutoString)
from alembic import op
from sqlalchemy import Text  # noqa: F401  (autogenerate renders JSONB(astext_type=Text()))

from sqlalchemy.dialects import postgresql

import store.models  # noqa: F401  (custom column types such as UTCDateTime)

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('problem',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.Column('service_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('root_cause', sa.Text(), nullable=False),
    sa.Column('workaround', sa.Text(), nullable=False),
    sa.Column('article_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('incident_id', sa.Integer(), nullable=True),
    sa.Column('created_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('created_at', store.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', store.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('resolved_at', store.models.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['incident_id'], ['major_incident.id'], ),
    sa.ForeignKeyConstraint(['ticket_id'], ['ticket.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('ticket_id')
    )
    with op.batch_alter_table('problem', schema=None) as batch_op:
        batch_op.create_index('ix_problem_status', ['status', 'service_id'], unique=False)

    op.create_table('problem_candidate',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('queue', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('service_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('ci_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('person_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('ticket_ids', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=False),
    sa.Column('reporters', sa.Integer(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('problem_id', sa.Integer(), nullable=True),
    sa.Column('last_at', store.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_at', store.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('decided_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('decided_at', store.models.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['problem_id'], ['problem.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('problem_candidate', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_problem_candidate_created_at'), ['created_at'], unique=False)
        batch_op.create_index('ix_problem_candidate_key', ['key', 'last_at'], unique=False)

    op.create_table('problem_link',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('problem_id', sa.Integer(), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('how', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('actor_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('created_at', store.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['problem_id'], ['problem.id'], ),
    sa.ForeignKeyConstraint(['ticket_id'], ['ticket.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('problem_id', 'ticket_id', name='uq_problem_link')
    )
    with op.batch_alter_table('problem_link', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_problem_link_problem_id'), ['problem_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_problem_link_ticket_id'), ['ticket_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('problem_link', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_problem_link_ticket_id'))
        batch_op.drop_index(batch_op.f('ix_problem_link_problem_id'))

    op.drop_table('problem_link')
    with op.batch_alter_table('problem_candidate', schema=None) as batch_op:
        batch_op.drop_index('ix_problem_candidate_key')
        batch_op.drop_index(batch_op.f('ix_problem_candidate_created_at'))

    op.drop_table('problem_candidate')
    with op.batch_alter_table('problem', schema=None) as batch_op:
        batch_op.drop_index('ix_problem_status')

    op.drop_table('problem')
