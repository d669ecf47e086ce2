"""the register list's indexes on running clocks (overdue, due soon)

Partial indexes on the due dates of clocks still running serve the register's overdue and due-soon
filters (and the reminders). Measured by benchmarks/register.py (issue #15).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03 17:30:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('register_entries', schema=None) as batch_op:
        batch_op.create_index('ix_register_entries_tenant_id_acknowledge_by_running',
                              ['tenant_id', 'acknowledge_by'], unique=False,
                              postgresql_where=sa.text('acknowledged_at IS NULL AND answered_at IS NULL'),
                              sqlite_where=sa.text('acknowledged_at IS NULL AND answered_at IS NULL'))
        batch_op.create_index('ix_register_entries_tenant_id_answer_by_running', ['tenant_id', 'answer_by'],
                              unique=False, postgresql_where=sa.text('answered_at IS NULL'),
                              sqlite_where=sa.text('answered_at IS NULL'))


def downgrade() -> None:
    with op.batch_alter_table('register_entries', schema=None) as batch_op:
        batch_op.drop_index('ix_register_entries_tenant_id_answer_by_running')
        batch_op.drop_index('ix_register_entries_tenant_id_acknowledge_by_running')
