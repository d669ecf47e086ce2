"""when each person last opened the alerts: the menu counts the alerts raised since (issue #15)

``users.alerts_seen_at``: empty until the person first opens the alerts page; the menu's "Alerts"
entry then shows how many alerts the company's rules raised since (webapp/services/alerts.py
``unseen_count``). The column is the person's own row: no new table, no new row-level policy.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-04 20:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

import webapp.db

revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('alerts_seen_at', webapp.db.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('alerts_seen_at')
