"""search folding: a folded copy (lower case, no accents) of transcripts, complaints and clip titles,
so that "decu" finds "déçu"; filled in for the rows already there

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 09:50:00.000000
"""

import sqlalchemy as sa
from alembic import op

from webapp.search import fold

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

#: (table, text column, folded column)
FOLDED = (("transcripts", "text", "text_folded"), ("complaints", "text", "text_folded"),
          ("clips", "title", "title_folded"))
BATCH = 500


def upgrade() -> None:
    for table, _source, folded in FOLDED:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column(folded, sa.Text(), nullable=False, server_default=""))
    for table, source, folded in FOLDED:
        _backfill(table, source, folded)


def _backfill(table: str, source: str, folded: str) -> None:
    """Fold every row's text. On PostgreSQL the owner is itself under forced row-level security, which
    would show it no rows: the table is lifted out of it for this transaction only, then put back."""
    bind = op.get_bind()
    forced = bind.dialect.name == "postgresql" and bool(bind.execute(
        sa.text("SELECT relforcerowsecurity FROM pg_class WHERE oid = CAST(:t AS regclass)"), {"t": table}).scalar())
    if forced:
        op.execute(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY")
    rows = sa.table(table, sa.column("id"), sa.column(source), sa.column(folded))
    last = 0
    while True:
        batch = bind.execute(sa.select(rows.c.id, rows.c[source]).where(rows.c.id > last)
                             .order_by(rows.c.id).limit(BATCH)).all()
        if not batch:
            break
        bind.execute(rows.update().where(rows.c.id == sa.bindparam("row_id")).values({folded: sa.bindparam("value")}),
                     [{"row_id": row_id, "value": fold(value or "")} for row_id, value in batch])
        last = batch[-1][0]
    if forced:
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")


def downgrade() -> None:
    for table, _source, folded in reversed(FOLDED):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column(folded)
