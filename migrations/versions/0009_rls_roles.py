"""row-level security that the runtime role cannot widen (placeholder: filled by the RLS work)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 09:50:00.000000
"""

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
