"""a started workshop's clips, in play order, kept as they were when it started (issue #16, item 5)

A workshop read its clips from its playlist every time: the facilitator screen's position, the clips
the summary lists and the listening time credited to attendees all followed later edits of the
playlist (or its shuffle), so a summary could list clips nobody heard. ``workshop_clips`` holds the
run of each workshop started from now on (webapp/models/workshops.py ``WorkshopClip``), and
``workshops.run_kept`` says it was kept. Workshops started before this migration keep reading their
playlist (nothing records what they played).

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-04 16:10:00.000000
"""

import sqlalchemy as sa
from alembic import op

from migrations import rls

revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('workshop_clips',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('workshop_id', sa.Integer(), nullable=False),
    sa.Column('clip_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['clip_id'], ['clips.id'], name=op.f('fk_workshop_clips_clip_id_clips'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_workshop_clips_tenant_id_tenants'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['workshop_id'], ['workshops.id'], name=op.f('fk_workshop_clips_workshop_id_workshops'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_workshop_clips')),
    sa.UniqueConstraint('tenant_id', 'workshop_id', 'position',
                        name=op.f('uq_workshop_clips_tenant_id_workshop_id_position'))
    )
    with op.batch_alter_table('workshop_clips', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_workshop_clips_clip_id'), ['clip_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_workshop_clips_tenant_id'), ['tenant_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_workshop_clips_workshop_id'), ['workshop_id'], unique=False)
    rls.enable('workshop_clips')
    with op.batch_alter_table('workshops', schema=None) as batch_op:
        batch_op.add_column(sa.Column('run_kept', sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table('workshops', schema=None) as batch_op:
        batch_op.drop_column('run_kept')
    rls.disable('workshop_clips')
    op.drop_table('workshop_clips')
