"""Row-level security for tenant tables, used by the migrations (PostgreSQL only).

Each tenant table gets one policy: its rows are visible and writable only when
``tenant_id`` equals the transaction-local setting ``app.tenant_id`` (set by
webapp.tenancy), or when ``app.all_tenants`` is ``on`` (the explicit opt-out of operator
commands, the login lookup and platform admins). An unset setting matches nothing.
"""

from __future__ import annotations

from alembic import op

POLICY = (
    "tenant_id = nullif(current_setting('app.tenant_id', true), '')::bigint"
    " OR current_setting('app.all_tenants', true) = 'on'"
)


def enable(table: str) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
    op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
    op.execute(f"CREATE POLICY tenant_isolation ON {table} USING ({POLICY}) WITH CHECK ({POLICY})")


def disable(table: str) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"DROP POLICY IF EXISTS tenant_isolation ON {table}")
    op.execute(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY")
    op.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")
