"""notifications: timers, follow cursors, job runs, surveys, notice preferences

Also, on outbox: an index on pending rows per conversation (delivery order across rounds)
and `first_attempt_at` (the age limit for dead letters counts from the first attempt).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""
from __future__ import annotations

import sqlalchemy as sa
import sqlmodel  # noqa: F401  (autogenerate emits sqlmodel.sql.sqltypes.AutoString)
from alembic import op
from sqlalchemy import Text  # noqa: F401  (autogenerate renders JSONB(astext_type=Text()))

import store.models  # noqa: F401  (custom column types such as UTCDateTime)
from sqlalchemy.dialects import postgresql

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('follow_cursor',
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('holes', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=False),
    sa.Column('updated_at', store.models.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name')
    )
    op.create_table('job_run',
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('slot', sa.Integer(), nullable=False),
    sa.Column('worker', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('started_at', store.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('finished_at', store.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('items', sa.Integer(), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('name', 'slot')
    )
    with op.batch_alter_table('job_run', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_job_run_started_at'), ['started_at'], unique=False)

    op.create_table('notice_pref',
    sa.Column('person_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('muted', sa.Boolean(), nullable=False),
    sa.Column('muted_until', store.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('updated_at', store.models.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('person_id')
    )
    op.create_table('timer',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=160), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('subject', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('due_at', store.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('data', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('created_at', store.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', store.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('fired_at', store.models.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('key')
    )
    with op.batch_alter_table('timer', schema=None) as batch_op:
        batch_op.create_index('ix_timer_due', ['due_at'], unique=False, sqlite_where=sa.text("status = 'pending'"), postgresql_where=sa.text("status = 'pending'"))
        batch_op.create_index('ix_timer_subject', ['subject', 'status'], unique=False)

    op.create_table('survey',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('sent_at', store.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('score', sa.Integer(), nullable=True),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.Column('answered_at', store.models.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['ticket_id'], ['ticket.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('ticket_id')
    )
    with op.batch_alter_table('survey', schema=None) as batch_op:
        batch_op.create_index('ix_survey_person_sent', ['person_id', 'sent_at'], unique=False)

    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('first_attempt_at', store.models.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_index('ix_outbox_pending_conversation', ['channel', 'conversation', 'id'], unique=False, sqlite_where=sa.text("status = 'pending'"), postgresql_where=sa.text("status = 'pending'"))



def downgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_pending_conversation', sqlite_where=sa.text("status = 'pending'"), postgresql_where=sa.text("status = 'pending'"))
        batch_op.drop_column('first_attempt_at')

    with op.batch_alter_table('survey', schema=None) as batch_op:
        batch_op.drop_index('ix_survey_person_sent')

    op.drop_table('survey')
    with op.batch_alter_table('timer', schema=None) as batch_op:
        batch_op.drop_index('ix_timer_subject')
        batch_op.drop_index('ix_timer_due', sqlite_where=sa.text("status = 'pending'"), postgresql_where=sa.text("status = 'pending'"))

    op.drop_table('timer')
    op.drop_table('notice_pref')
    with op.batch_alter_table('job_run', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_job_run_started_at'))

    op.drop_table('job_run')
    op.drop_table('follow_cursor')
