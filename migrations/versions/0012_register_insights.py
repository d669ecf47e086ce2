"""the complaint register, products and ratings, alert rules and alerts; topic mentions; clock,
mediator and 3/5-rule settings; people's department and digest (issue #15)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 16:15:00.000000
"""

import sqlalchemy as sa
from alembic import op

import webapp.db
from migrations import rls

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

TENANT_TABLES = ('products', 'ratings', 'alert_rules', 'alerts', 'register_entries', 'register_links',
                 'register_events')


def upgrade() -> None:
    op.create_table('ratings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('product', sa.String(length=120), nullable=False),
    sa.Column('stars', sa.SmallInteger(), nullable=False),
    sa.Column('rated_on', sa.Date(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('source', sa.Enum('csv', 'api', name='ratingsource', native_enum=False, length=20), nullable=False),
    sa.Column('external_id', sa.String(length=200), nullable=True),
    sa.Column('created_at', webapp.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_ratings_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ratings')),
    sa.UniqueConstraint('tenant_id', 'external_id', name=op.f('uq_ratings_tenant_id_external_id'))
    )
    with op.batch_alter_table('ratings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ratings_tenant_id'), ['tenant_id'], unique=False)
        batch_op.create_index('ix_ratings_tenant_id_product_rated_on', ['tenant_id', 'product', 'rated_on'], unique=False)

    op.create_table('alert_rules',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('kind', sa.Enum('threshold', 'change', 'emerging', 'rating', name='rulekind', native_enum=False, length=20), nullable=False),
    sa.Column('dimension', sa.Enum('all', 'product', 'topic', 'reason', name='dimension', native_enum=False, length=20), nullable=False),
    sa.Column('value', sa.String(length=120), nullable=False),
    sa.Column('threshold', sa.Float(), nullable=True),
    sa.Column('window_days', sa.Integer(), nullable=False),
    sa.Column('baseline_days', sa.Integer(), nullable=False),
    sa.Column('min_count', sa.Integer(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', webapp.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_evaluated_at', webapp.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_alert_rules_created_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_alert_rules_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_alert_rules'))
    )
    with op.batch_alter_table('alert_rules', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_alert_rules_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('products',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('family', sa.String(length=120), nullable=False),
    sa.Column('department', sa.String(length=120), nullable=False, server_default=''),
    sa.Column('owner_id', sa.Integer(), nullable=True),
    sa.Column('modified_at', webapp.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('watch_since', webapp.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('watch_rating', sa.Float(), nullable=True),
    sa.Column('created_at', webapp.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['owner_id'], ['users.id'], name=op.f('fk_products_owner_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_products_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_products')),
    sa.UniqueConstraint('tenant_id', 'name', name=op.f('uq_products_tenant_id_name'))
    )
    with op.batch_alter_table('products', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_products_family'), ['family'], unique=False)
        batch_op.create_index(batch_op.f('ix_products_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('register_entries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('reference', sa.String(length=20), nullable=False),
    sa.Column('subject', sa.String(length=200), nullable=False),
    sa.Column('received_on', sa.Date(), nullable=False),
    sa.Column('sent_on', sa.Date(), nullable=True),
    sa.Column('channel', sa.Enum('phone', 'store', 'email', 'web', 'letter', name='channel', native_enum=False, length=20), nullable=False),
    sa.Column('product', sa.String(length=120), nullable=False),
    sa.Column('reasons', sa.JSON(), nullable=False),
    sa.Column('remedy', sa.Text(), nullable=False),
    sa.Column('customer_ref', sa.String(length=120), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.Enum('received', 'acknowledged', 'investigating', 'answered', 'closed', 'reopened', name='entrystatus', native_enum=False, length=20), nullable=False),
    sa.Column('acknowledge_by', sa.Date(), nullable=False),
    sa.Column('answer_by', sa.Date(), nullable=False),
    sa.Column('acknowledged_at', webapp.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('answered_at', webapp.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('closed_at', webapp.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('answer_text', sa.Text(), nullable=False),
    sa.Column('outcome', sa.Enum('upheld', 'partly_upheld', 'rejected', name='outcome', native_enum=False, length=20), nullable=True),
    sa.Column('external_id', sa.String(length=200), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', webapp.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', webapp.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_register_entries_created_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['owner_id'], ['users.id'], name=op.f('fk_register_entries_owner_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_register_entries_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_register_entries')),
    sa.UniqueConstraint('tenant_id', 'external_id', name=op.f('uq_register_entries_tenant_id_external_id')),
    sa.UniqueConstraint('tenant_id', 'reference', name=op.f('uq_register_entries_tenant_id_reference')),
    sa.UniqueConstraint('tenant_id', 'year', 'number', name=op.f('uq_register_entries_tenant_id_year_number'))
    )
    with op.batch_alter_table('register_entries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_register_entries_tenant_id'), ['tenant_id'], unique=False)
        batch_op.create_index('ix_register_entries_tenant_id_acknowledge_by', ['tenant_id', 'acknowledge_by'], unique=False)
        batch_op.create_index('ix_register_entries_tenant_id_answer_by', ['tenant_id', 'answer_by'], unique=False)
        batch_op.create_index('ix_register_entries_tenant_id_owner_id', ['tenant_id', 'owner_id'], unique=False)
        batch_op.create_index('ix_register_entries_tenant_id_received_on', ['tenant_id', 'received_on'], unique=False)
        batch_op.create_index('ix_register_entries_tenant_id_status', ['tenant_id', 'status'], unique=False)

    op.create_table('alerts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('rule_id', sa.Integer(), nullable=True),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.Enum('threshold', 'change', 'emerging', 'rating', name='rulekind', native_enum=False, length=20), nullable=False),
    sa.Column('dimension', sa.Enum('all', 'product', 'topic', 'reason', name='dimension', native_enum=False, length=20), nullable=False),
    sa.Column('value', sa.String(length=120), nullable=False),
    sa.Column('window_start', sa.Date(), nullable=False),
    sa.Column('window_end', sa.Date(), nullable=False),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.Column('created_at', webapp.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['rule_id'], ['alert_rules.id'], name=op.f('fk_alerts_rule_id_alert_rules'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_alerts_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_alerts')),
    sa.UniqueConstraint('tenant_id', 'key', name=op.f('uq_alerts_tenant_id_key'))
    )
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_alerts_tenant_id'), ['tenant_id'], unique=False)
        batch_op.create_index('ix_alerts_tenant_id_created_at', ['tenant_id', 'created_at'], unique=False)

    op.create_table('register_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('entry_id', sa.Integer(), nullable=False),
    sa.Column('at', webapp.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('actor_label', sa.String(length=120), nullable=False),
    sa.Column('action', sa.String(length=40), nullable=False),
    sa.Column('from_status', sa.String(length=20), nullable=True),
    sa.Column('to_status', sa.String(length=20), nullable=True),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_register_events_actor_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['entry_id'], ['register_entries.id'], name=op.f('fk_register_events_entry_id_register_entries'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_register_events_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_register_events'))
    )
    with op.batch_alter_table('register_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_register_events_tenant_id'), ['tenant_id'], unique=False)
        batch_op.create_index('ix_register_events_tenant_id_entry_id_at', ['tenant_id', 'entry_id', 'at'], unique=False)

    op.create_table('register_links',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('entry_id', sa.Integer(), nullable=False),
    sa.Column('call_id', sa.Integer(), nullable=True),
    sa.Column('complaint_id', sa.Integer(), nullable=True),
    sa.Column('created_at', webapp.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['call_id'], ['calls.id'], name=op.f('fk_register_links_call_id_calls'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['complaint_id'], ['complaints.id'], name=op.f('fk_register_links_complaint_id_complaints'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['entry_id'], ['register_entries.id'], name=op.f('fk_register_links_entry_id_register_entries'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_register_links_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_register_links')),
    sa.UniqueConstraint('tenant_id', 'call_id', name=op.f('uq_register_links_tenant_id_call_id')),
    sa.UniqueConstraint('tenant_id', 'complaint_id', name=op.f('uq_register_links_tenant_id_complaint_id'))
    )
    with op.batch_alter_table('register_links', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_register_links_entry_id'), ['entry_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_register_links_tenant_id'), ['tenant_id'], unique=False)

    with op.batch_alter_table('tags', schema=None) as batch_op:
        batch_op.add_column(sa.Column('mention', sa.Boolean(), nullable=False, server_default=sa.false()))

    with op.batch_alter_table('tenants', schema=None) as batch_op:
        batch_op.add_column(sa.Column('clock_days', sa.String(length=20), nullable=False, server_default='ouvrables'))
        batch_op.add_column(sa.Column('clock_calendar', sa.String(length=20), nullable=False, server_default='metropolitan'))
        batch_op.add_column(sa.Column('clock_acknowledge_days', sa.Integer(), nullable=False, server_default='10'))
        batch_op.add_column(sa.Column('clock_answer_months', sa.Integer(), nullable=False, server_default='2'))
        batch_op.add_column(sa.Column('clock_answer_days', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('mediator_name', sa.String(length=200), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('mediator_details', sa.Text(), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('rating_floor', sa.Float(), nullable=False, server_default='3'))
        batch_op.add_column(sa.Column('rating_window_days', sa.Integer(), nullable=False, server_default='90'))
        batch_op.add_column(sa.Column('rating_min_count', sa.Integer(), nullable=False, server_default='10'))

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('department', sa.String(length=120), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('digest', sa.String(length=10), nullable=False, server_default='weekly'))

    for table in TENANT_TABLES:
        rls.enable(table)


def downgrade() -> None:
    for table in TENANT_TABLES:
        rls.disable(table)
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('digest')
        batch_op.drop_column('department')

    with op.batch_alter_table('tenants', schema=None) as batch_op:
        batch_op.drop_column('rating_min_count')
        batch_op.drop_column('rating_window_days')
        batch_op.drop_column('rating_floor')
        batch_op.drop_column('mediator_details')
        batch_op.drop_column('mediator_name')
        batch_op.drop_column('clock_answer_days')
        batch_op.drop_column('clock_answer_months')
        batch_op.drop_column('clock_acknowledge_days')
        batch_op.drop_column('clock_calendar')
        batch_op.drop_column('clock_days')

    with op.batch_alter_table('tags', schema=None) as batch_op:
        batch_op.drop_column('mention')

    with op.batch_alter_table('register_links', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_register_links_tenant_id'))
        batch_op.drop_index(batch_op.f('ix_register_links_entry_id'))

    op.drop_table('register_links')
    with op.batch_alter_table('register_events', schema=None) as batch_op:
        batch_op.drop_index('ix_register_events_tenant_id_entry_id_at')
        batch_op.drop_index(batch_op.f('ix_register_events_tenant_id'))

    op.drop_table('register_events')
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.drop_index('ix_alerts_tenant_id_created_at')
        batch_op.drop_index(batch_op.f('ix_alerts_tenant_id'))

    op.drop_table('alerts')
    with op.batch_alter_table('register_entries', schema=None) as batch_op:
        batch_op.drop_index('ix_register_entries_tenant_id_status')
        batch_op.drop_index('ix_register_entries_tenant_id_received_on')
        batch_op.drop_index('ix_register_entries_tenant_id_owner_id')
        batch_op.drop_index('ix_register_entries_tenant_id_answer_by')
        batch_op.drop_index('ix_register_entries_tenant_id_acknowledge_by')
        batch_op.drop_index(batch_op.f('ix_register_entries_tenant_id'))

    op.drop_table('register_entries')
    with op.batch_alter_table('products', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_products_tenant_id'))
        batch_op.drop_index(batch_op.f('ix_products_family'))

    op.drop_table('products')
    with op.batch_alter_table('alert_rules', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_alert_rules_tenant_id'))

    op.drop_table('alert_rules')
    with op.batch_alter_table('ratings', schema=None) as batch_op:
        batch_op.drop_index('ix_ratings_tenant_id_product_rated_on')
        batch_op.drop_index(batch_op.f('ix_ratings_tenant_id'))

    op.drop_table('ratings')
