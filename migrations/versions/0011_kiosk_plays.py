"""kiosk play acceptance bookkeeping: the clips each screen was served, plays dropped, the per-minute count

A screen's plays are journalled only for clips it was served, timed within the offline window,
within limits per heartbeat and per minute; what is dropped is counted on the screen's row
(issue #13, item 6).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 09:50:00.000000
"""

import sqlalchemy as sa
from alembic import op

import webapp.db

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('kiosks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('served_clips', sa.JSON(), nullable=False, server_default='{}'))
        batch_op.add_column(sa.Column('served_version', sa.String(length=40), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('plays_dropped', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('plays_minute_at', webapp.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('plays_minute_count', sa.Integer(), nullable=False, server_default='0'))


def downgrade() -> None:
    with op.batch_alter_table('kiosks', schema=None) as batch_op:
        batch_op.drop_column('plays_minute_count')
        batch_op.drop_column('plays_minute_at')
        batch_op.drop_column('plays_dropped')
        batch_op.drop_column('served_version')
        batch_op.drop_column('served_clips')
