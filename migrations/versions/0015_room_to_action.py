"""from the room to action (issue #16): improvement actions with their links and timeline, reactions,
listening time, proof-of-play tallies, workshops with invites and attendance; complaint cards in
playlists; screens' schedules; the company's time zone, look and listening goal; managers; corrected
captions and transcripts

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03 21:09:18.730911
"""

import sqlalchemy as sa
from alembic import op

import webapp.db
from migrations import rls

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None

TENANT_TABLES = ('play_tallies', 'workshops', 'improvement_actions', 'listens', 'workshop_attendances',
                 'workshop_invites', 'action_events', 'reactions', 'action_links')


def upgrade() -> None:
    op.create_table('play_tallies',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kiosk_id', sa.Integer(), nullable=False),
    sa.Column('clip_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('plays', sa.Integer(), nullable=False),
    sa.Column('kiosk_name', sa.String(length=120), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_play_tallies_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_play_tallies')),
    sa.UniqueConstraint('tenant_id', 'kiosk_id', 'clip_id', 'day', name=op.f('uq_play_tallies_tenant_id_kiosk_id_clip_id_day'))
    )
    with op.batch_alter_table('play_tallies', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_play_tallies_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('workshops',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('starts_at', webapp.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('playlist_id', sa.Integer(), nullable=True),
    sa.Column('pause_seconds', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('planned', 'running', 'ended', name='workshopstatus', native_enum=False, length=20), nullable=False),
    sa.Column('checkin_code', sa.String(length=64), nullable=False),
    sa.Column('facilitator_id', sa.Integer(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', webapp.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('started_at', webapp.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('ended_at', webapp.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_workshops_created_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['facilitator_id'], ['users.id'], name=op.f('fk_workshops_facilitator_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['playlist_id'], ['playlists.id'], name=op.f('fk_workshops_playlist_id_playlists'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_workshops_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_workshops')),
    sa.UniqueConstraint('checkin_code', name=op.f('uq_workshops_checkin_code'))
    )
    with op.batch_alter_table('workshops', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_workshops_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('improvement_actions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('problem', sa.Text(), nullable=False),
    sa.Column('status', sa.Enum('proposed', 'accepted', 'in_progress', 'done', 'verified', 'rejected', name='actionstatus', native_enum=False, length=20), nullable=False),
    sa.Column('rejection_reason', sa.Text(), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=True),
    sa.Column('due_on', sa.Date(), nullable=True),
    sa.Column('origin', sa.Enum('manual', 'clip', 'reaction', 'complaint', 'register', 'dashboard', 'alert', 'workshop', name='actionorigin', native_enum=False, length=20), nullable=False),
    sa.Column('topic', sa.String(length=60), nullable=False),
    sa.Column('reason', sa.String(length=60), nullable=False),
    sa.Column('product', sa.String(length=120), nullable=False),
    sa.Column('origin_query', sa.String(length=500), nullable=False),
    sa.Column('workshop_id', sa.Integer(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', webapp.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', webapp.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('accepted_at', webapp.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('done_at', webapp.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('verified_at', webapp.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('verified_by_id', sa.Integer(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_improvement_actions_created_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['owner_id'], ['users.id'], name=op.f('fk_improvement_actions_owner_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_improvement_actions_tenant_id_tenants'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['verified_by_id'], ['users.id'], name=op.f('fk_improvement_actions_verified_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['workshop_id'], ['workshops.id'], name=op.f('fk_improvement_actions_workshop_id_workshops'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_improvement_actions'))
    )
    with op.batch_alter_table('improvement_actions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_improvement_actions_owner_id'), ['owner_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_improvement_actions_tenant_id'), ['tenant_id'], unique=False)
        batch_op.create_index('ix_improvement_actions_tenant_id_status_due_on', ['tenant_id', 'status', 'due_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_improvement_actions_workshop_id'), ['workshop_id'], unique=False)

    op.create_table('listens',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('source', sa.Enum('own', 'workshop', 'room', name='listensource', native_enum=False, length=20), nullable=False),
    sa.Column('clip_id', sa.Integer(), nullable=True),
    sa.Column('workshop_id', sa.Integer(), nullable=True),
    sa.Column('kiosk_id', sa.Integer(), nullable=True),
    sa.Column('at', webapp.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('seconds', sa.Float(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_listens_tenant_id_tenants'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_listens_user_id_users'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['workshop_id'], ['workshops.id'], name=op.f('fk_listens_workshop_id_workshops'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_listens'))
    )
    with op.batch_alter_table('listens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_listens_tenant_id'), ['tenant_id'], unique=False)
        batch_op.create_index('ix_listens_tenant_id_at_user_id', ['tenant_id', 'at', 'user_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_listens_user_id'), ['user_id'], unique=False)

    op.create_table('workshop_attendances',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('workshop_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('checked_in_at', webapp.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_workshop_attendances_tenant_id_tenants'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_workshop_attendances_user_id_users'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['workshop_id'], ['workshops.id'], name=op.f('fk_workshop_attendances_workshop_id_workshops'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_workshop_attendances')),
    sa.UniqueConstraint('tenant_id', 'workshop_id', 'user_id', name=op.f('uq_workshop_attendances_tenant_id_workshop_id_user_id'))
    )
    with op.batch_alter_table('workshop_attendances', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_workshop_attendances_tenant_id'), ['tenant_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_workshop_attendances_user_id'), ['user_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_workshop_attendances_workshop_id'), ['workshop_id'], unique=False)

    op.create_table('workshop_invites',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('workshop_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('department', sa.String(length=120), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_workshop_invites_tenant_id_tenants'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_workshop_invites_user_id_users'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['workshop_id'], ['workshops.id'], name=op.f('fk_workshop_invites_workshop_id_workshops'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_workshop_invites'))
    )
    with op.batch_alter_table('workshop_invites', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_workshop_invites_tenant_id'), ['tenant_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_workshop_invites_workshop_id'), ['workshop_id'], unique=False)

    op.create_table('action_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('action_id', sa.Integer(), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('at', webapp.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['action_id'], ['improvement_actions.id'], name=op.f('fk_action_events_action_id_improvement_actions'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_action_events_actor_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_action_events_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_action_events'))
    )
    with op.batch_alter_table('action_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_action_events_action_id'), ['action_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_action_events_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('reactions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('clip_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.Enum('understand', 'touched', 'act', name='reactionkind', native_enum=False, length=20), nullable=False),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.Column('kiosk_id', sa.Integer(), nullable=True),
    sa.Column('workshop_id', sa.Integer(), nullable=True),
    sa.Column('created_at', webapp.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['clip_id'], ['clips.id'], name=op.f('fk_reactions_clip_id_clips'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_reactions_tenant_id_tenants'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_reactions_user_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['workshop_id'], ['workshops.id'], name=op.f('fk_reactions_workshop_id_workshops'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reactions'))
    )
    with op.batch_alter_table('reactions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reactions_clip_id'), ['clip_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_reactions_tenant_id'), ['tenant_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_reactions_user_id'), ['user_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_reactions_workshop_id'), ['workshop_id'], unique=False)

    op.create_table('action_links',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('action_id', sa.Integer(), nullable=False),
    sa.Column('clip_id', sa.Integer(), nullable=True),
    sa.Column('call_id', sa.Integer(), nullable=True),
    sa.Column('complaint_id', sa.Integer(), nullable=True),
    sa.Column('register_entry_id', sa.Integer(), nullable=True),
    sa.Column('reaction_id', sa.Integer(), nullable=True),
    sa.Column('alert_id', sa.Integer(), nullable=True),
    sa.Column('created_at', webapp.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['action_id'], ['improvement_actions.id'], name=op.f('fk_action_links_action_id_improvement_actions'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['alert_id'], ['alerts.id'], name=op.f('fk_action_links_alert_id_alerts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['call_id'], ['calls.id'], name=op.f('fk_action_links_call_id_calls'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['clip_id'], ['clips.id'], name=op.f('fk_action_links_clip_id_clips'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['complaint_id'], ['complaints.id'], name=op.f('fk_action_links_complaint_id_complaints'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['reaction_id'], ['reactions.id'], name=op.f('fk_action_links_reaction_id_reactions'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['register_entry_id'], ['register_entries.id'], name=op.f('fk_action_links_register_entry_id_register_entries'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_action_links_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_action_links'))
    )
    with op.batch_alter_table('action_links', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_action_links_action_id'), ['action_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_action_links_alert_id'), ['alert_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_action_links_call_id'), ['call_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_action_links_clip_id'), ['clip_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_action_links_complaint_id'), ['complaint_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_action_links_reaction_id'), ['reaction_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_action_links_register_entry_id'), ['register_entry_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_action_links_tenant_id'), ['tenant_id'], unique=False)

    with op.batch_alter_table('clips', schema=None) as batch_op:
        batch_op.add_column(sa.Column('captions_corrected_at', webapp.db.UTCDateTime(timezone=True), nullable=True))

    with op.batch_alter_table('kiosks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('schedule', sa.JSON(), nullable=False, server_default='{}'))

    with op.batch_alter_table('playlist_items', schema=None) as batch_op:
        batch_op.add_column(sa.Column('complaint_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('card_text', sa.Text(), nullable=False, server_default=''))
        batch_op.alter_column('clip_id',
               existing_type=sa.INTEGER(),
               nullable=True)
        batch_op.create_index(batch_op.f('ix_playlist_items_complaint_id'), ['complaint_id'], unique=False)
        batch_op.create_unique_constraint(batch_op.f('uq_playlist_items_tenant_id_playlist_id_complaint_id'), ['tenant_id', 'playlist_id', 'complaint_id'])
        batch_op.create_foreign_key(batch_op.f('fk_playlist_items_complaint_id_complaints'), 'complaints', ['complaint_id'], ['id'], ondelete='CASCADE')

    with op.batch_alter_table('tenants', schema=None) as batch_op:
        batch_op.add_column(sa.Column('timezone', sa.String(length=60), nullable=False, server_default='Europe/Paris'))
        batch_op.add_column(sa.Column('accent_color', sa.String(length=7), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('logo_key', sa.String(length=300), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('listening_goal_minutes', sa.Integer(), nullable=False, server_default='20'))

    with op.batch_alter_table('transcripts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('corrected_at', webapp.db.UTCDateTime(timezone=True), nullable=True))

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('is_manager', sa.Boolean(), nullable=False, server_default=sa.false()))

    for table in TENANT_TABLES:
        rls.enable(table)



def downgrade() -> None:
    for table in TENANT_TABLES:
        rls.disable(table)
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('is_manager')

    with op.batch_alter_table('transcripts', schema=None) as batch_op:
        batch_op.drop_column('corrected_at')

    with op.batch_alter_table('tenants', schema=None) as batch_op:
        batch_op.drop_column('listening_goal_minutes')
        batch_op.drop_column('logo_key')
        batch_op.drop_column('accent_color')
        batch_op.drop_column('timezone')

    with op.batch_alter_table('playlist_items', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_playlist_items_complaint_id_complaints'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('uq_playlist_items_tenant_id_playlist_id_complaint_id'), type_='unique')
        batch_op.drop_index(batch_op.f('ix_playlist_items_complaint_id'))
        batch_op.alter_column('clip_id',
               existing_type=sa.INTEGER(),
               nullable=False)
        batch_op.drop_column('card_text')
        batch_op.drop_column('complaint_id')

    with op.batch_alter_table('kiosks', schema=None) as batch_op:
        batch_op.drop_column('schedule')

    with op.batch_alter_table('clips', schema=None) as batch_op:
        batch_op.drop_column('captions_corrected_at')

    with op.batch_alter_table('action_links', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_action_links_tenant_id'))
        batch_op.drop_index(batch_op.f('ix_action_links_register_entry_id'))
        batch_op.drop_index(batch_op.f('ix_action_links_reaction_id'))
        batch_op.drop_index(batch_op.f('ix_action_links_complaint_id'))
        batch_op.drop_index(batch_op.f('ix_action_links_clip_id'))
        batch_op.drop_index(batch_op.f('ix_action_links_call_id'))
        batch_op.drop_index(batch_op.f('ix_action_links_alert_id'))
        batch_op.drop_index(batch_op.f('ix_action_links_action_id'))

    op.drop_table('action_links')
    with op.batch_alter_table('reactions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reactions_workshop_id'))
        batch_op.drop_index(batch_op.f('ix_reactions_user_id'))
        batch_op.drop_index(batch_op.f('ix_reactions_tenant_id'))
        batch_op.drop_index(batch_op.f('ix_reactions_clip_id'))

    op.drop_table('reactions')
    with op.batch_alter_table('action_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_action_events_tenant_id'))
        batch_op.drop_index(batch_op.f('ix_action_events_action_id'))

    op.drop_table('action_events')
    with op.batch_alter_table('workshop_invites', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_workshop_invites_workshop_id'))
        batch_op.drop_index(batch_op.f('ix_workshop_invites_tenant_id'))

    op.drop_table('workshop_invites')
    with op.batch_alter_table('workshop_attendances', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_workshop_attendances_workshop_id'))
        batch_op.drop_index(batch_op.f('ix_workshop_attendances_user_id'))
        batch_op.drop_index(batch_op.f('ix_workshop_attendances_tenant_id'))

    op.drop_table('workshop_attendances')
    with op.batch_alter_table('listens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_listens_user_id'))
        batch_op.drop_index('ix_listens_tenant_id_at_user_id')
        batch_op.drop_index(batch_op.f('ix_listens_tenant_id'))

    op.drop_table('listens')
    with op.batch_alter_table('improvement_actions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_improvement_actions_workshop_id'))
        batch_op.drop_index('ix_improvement_actions_tenant_id_status_due_on')
        batch_op.drop_index(batch_op.f('ix_improvement_actions_tenant_id'))
        batch_op.drop_index(batch_op.f('ix_improvement_actions_owner_id'))

    op.drop_table('improvement_actions')
    with op.batch_alter_table('workshops', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_workshops_tenant_id'))

    op.drop_table('workshops')
    with op.batch_alter_table('play_tallies', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_play_tallies_tenant_id'))

    op.drop_table('play_tallies')
