"""SCIM 2.0 Users and Groups pushed by an identity provider

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-05 08:30:00
"""
from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy.dialects import postgresql

import store.models

revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('scim_resource',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('unique_key', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
    sa.Column('external_id', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
    sa.Column('data', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', store.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', store.models.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('kind', 'unique_key', name='uq_scim_resource_key')
    )
    op.create_index(op.f('ix_scim_resource_external_id'), 'scim_resource', ['external_id'], unique=False)
    op.create_index(op.f('ix_scim_resource_kind'), 'scim_resource', ['kind'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_scim_resource_kind'), table_name='scim_resource')
    op.drop_index(op.f('ix_scim_resource_external_id'), table_name='scim_resource')
    op.drop_table('scim_resource')
