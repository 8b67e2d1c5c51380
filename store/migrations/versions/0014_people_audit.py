"""people audit (person_event) and the directory sync's state (directory_state)

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05 08:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

import store.models

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('person_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', store.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('person_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('source', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('actor', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('changes', sa.JSON().with_variant(sa.dialects.postgresql.JSONB(), 'postgresql'), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('person_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_person_event_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_person_event_person_id'), ['person_id'], unique=False)
    op.create_table('directory_state',
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('problem', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('since', store.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_run', store.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_ok', store.models.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('name')
    )
    # The people audit is append-only, as the ticket audit is.
    if op.get_bind().dialect.name == "sqlite":
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER person_event_no_{verb.lower()} BEFORE {verb} ON person_event "
                "BEGIN SELECT RAISE(ABORT, 'person_event is append-only'); END"
            )
    else:
        op.execute(
            "CREATE FUNCTION person_event_append_only() RETURNS trigger AS $$ "
            "BEGIN RAISE EXCEPTION 'person_event is append-only'; END; $$ LANGUAGE plpgsql"
        )
        op.execute(
            "CREATE TRIGGER person_event_append_only BEFORE UPDATE OR DELETE ON person_event "
            "FOR EACH ROW EXECUTE FUNCTION person_event_append_only()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS person_event_no_update")
        op.execute("DROP TRIGGER IF EXISTS person_event_no_delete")
    else:
        op.execute("DROP TRIGGER IF EXISTS person_event_append_only ON person_event")
        op.execute("DROP FUNCTION IF EXISTS person_event_append_only()")
    op.drop_table('directory_state')
    with op.batch_alter_table('person_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_person_event_person_id'))
        batch_op.drop_index(batch_op.f('ix_person_event_at'))
    op.drop_table('person_event')
