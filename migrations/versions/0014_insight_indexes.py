"""the insight dashboard's covering indexes (PostgreSQL): index-only scans for its tag counts and breakdowns

The dashboard joins every tag of a period's calls and complaints to count topics, reasons and
sentiments, and groups the voices by product, channel and agent. On PostgreSQL these indexes carry the
columns those queries read (INCLUDE), so that the counts are index-only scans; measured by
benchmarks/insights.py (issue #15): the 7-day view's p95 went from 672 ms to 300 ms on 100,000 calls and
100,000 complaints. SQLite has no INCLUDE, and the embedded default's sizes do not need them.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03 17:40:00.000000
"""

from alembic import op

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None

#: (index, table, key columns, included columns)
COVERING = (
    ('ix_tags_call_id_covering', 'tags', ['call_id'], ['tenant_id', 'kind', 'value', 'mention', 'rejected']),
    ('ix_tags_complaint_id_covering', 'tags', ['complaint_id'], ['tenant_id', 'kind', 'value', 'mention', 'rejected']),
    ('ix_calls_tenant_id_received_at_covering', 'calls', ['tenant_id', 'received_at'],
     ['product', 'channel', 'agent']),
    ('ix_complaints_tenant_id_received_at_covering', 'complaints', ['tenant_id', 'received_at'],
     ['product', 'channel', 'agent']),
)


def upgrade() -> None:
    if op.get_bind().dialect.name != 'postgresql':
        return
    for name, table, columns, included in COVERING:
        op.create_index(name, table, columns, unique=False, postgresql_include=included)


def downgrade() -> None:
    if op.get_bind().dialect.name != 'postgresql':
        return
    for name, table, _columns, _included in reversed(COVERING):
        op.drop_index(name, table_name=table)
