"""listening coverage's covering index (PostgreSQL): the quarter's minutes per person by an index-only scan

The coverage page sums each person's listening seconds over a quarter (webapp/services/coverage.py):
``SELECT user_id, sum(seconds) FROM listens WHERE at in the quarter GROUP BY user_id``. The index of
migration 0015 on ``(tenant_id, at, user_id)`` finds the rows but each must be read from the table for
its seconds; this one carries ``user_id`` and ``seconds`` (INCLUDE), so that the sum is an index-only
scan. Measured by benchmarks/coverage.py (issue #16) at 10,000 people and 1,000,000 listens. SQLite has
no INCLUDE, and the embedded default's sizes do not need it.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-03 22:15:00.000000
"""

from alembic import op

revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != 'postgresql':
        return
    op.create_index('ix_listens_tenant_id_at_covering', 'listens', ['tenant_id', 'at'], unique=False,
                    postgresql_include=['user_id', 'seconds'])


def downgrade() -> None:
    if op.get_bind().dialect.name != 'postgresql':
        return
    op.drop_index('ix_listens_tenant_id_at_covering', table_name='listens')
