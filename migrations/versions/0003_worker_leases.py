"""worker leases: jobs.locked_by, jobs.claimed_at

locked_by names the claim loop holding a job's lease (only it may finish the job);
claimed_at, with its index per tenant, gives each tenant its turn when jobs are claimed.
Both are NULL on existing rows, which is what they would be for a job never claimed.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 13:11:29.378559
"""

import sqlalchemy as sa
from alembic import op

import webapp.db

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('locked_by', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('claimed_at', webapp.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_index('ix_jobs_tenant_id_claimed_at', ['tenant_id', 'claimed_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.drop_index('ix_jobs_tenant_id_claimed_at')
        batch_op.drop_column('claimed_at')
        batch_op.drop_column('locked_by')
