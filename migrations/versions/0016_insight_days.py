"""the insight dashboard's daily roll-ups and the marks of their stale days (issue #15, item 3)

``insight_days`` holds per company, UTC day (and month) and source the counts the dashboard reads (voices in all, by
product, channel, agent, product and channel; tags in all and by product); ``insight_marks`` the days
whose roll-ups may be stale (webapp/models/insight_days.py). Every day that already has calls or
complaints is marked here, so that the dashboard counts it live until the first build
(webapp/services/insight_days.py) has rolled it up.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-03 21:30:00.000000
"""

import sqlalchemy as sa
from alembic import op

from migrations import rls

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None

TENANT_TABLES = ('insight_days', 'insight_marks')


def upgrade() -> None:
    op.create_table('insight_days',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('span', sa.Enum('day', 'month', name='span', native_enum=False, length=20), nullable=False),
    sa.Column('source', sa.Enum('call', 'complaint', name='voicekind', native_enum=False, length=20), nullable=False),
    sa.Column('grouping', sa.Enum('total', 'product', 'channel', 'agent', 'product_channel', 'tag', 'product_tag',
                                  name='grouping', native_enum=False, length=20), nullable=False),
    sa.Column('product', sa.String(length=120), nullable=False),
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('agent', sa.String(length=120), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('value', sa.String(length=60), nullable=False),
    sa.Column('mention', sa.Boolean(), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_insight_days_tenant_id_tenants'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_insight_days'))
    )
    with op.batch_alter_table('insight_days', schema=None) as batch_op:
        batch_op.create_index('ix_insight_days_tenant_id_span_grouping_day',
                              ['tenant_id', 'span', 'grouping', 'day', 'product'], unique=False)
        batch_op.create_index(batch_op.f('ix_insight_days_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('insight_marks',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_insight_marks_tenant_id_tenants'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_insight_marks'))
    )
    with op.batch_alter_table('insight_marks', schema=None) as batch_op:
        batch_op.create_index('ix_insight_marks_tenant_id_day', ['tenant_id', 'day'], unique=False)
        batch_op.create_index(batch_op.f('ix_insight_marks_tenant_id'), ['tenant_id'], unique=False)

    _mark_existing_days()
    for table in TENANT_TABLES:
        rls.enable(table)


def _mark_existing_days() -> None:
    """Mark every (company, UTC day) that has calls or complaints. On PostgreSQL the owner is itself under
    forced row-level security, which would show it no voices: their tables are lifted out of it for this
    transaction only, then put back (as 0010 does)."""
    bind = op.get_bind()
    is_postgresql = bind.dialect.name == 'postgresql'
    day = "(received_at AT TIME ZONE 'UTC')::date" if is_postgresql else 'date(received_at)'
    for table in ('calls', 'complaints'):
        if is_postgresql:
            op.execute(f'ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY')
        op.execute(f'INSERT INTO insight_marks (tenant_id, day) SELECT DISTINCT tenant_id, {day} FROM {table}')
        if is_postgresql:
            op.execute(f'ALTER TABLE {table} FORCE ROW LEVEL SECURITY')


def downgrade() -> None:
    for table in TENANT_TABLES:
        rls.disable(table)
    with op.batch_alter_table('insight_marks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_insight_marks_tenant_id'))
        batch_op.drop_index('ix_insight_marks_tenant_id_day')

    op.drop_table('insight_marks')
    with op.batch_alter_table('insight_days', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_insight_days_tenant_id'))
        batch_op.drop_index('ix_insight_days_tenant_id_span_grouping_day')

    op.drop_table('insight_days')
