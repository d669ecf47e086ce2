"""Row-level security for tenant tables, used by the migrations (PostgreSQL only).

Each tenant table gets one policy, ``tenant_isolation``: its rows are visible and writable
only when ``tenant_id`` equals :data:`CURRENT_TENANT`, the company the transaction was
opened for by webapp.tenancy. No setting that the runtime role can change by itself widens
that (issue #13, item 5):

- The app sets two transaction-local settings: ``app.tenant_id`` and ``app.tenant_sig``,
  the HMAC-SHA256 of ``tenant:<id>`` under a key kept in ``ecoute_private.rls_key``.
- ``public.ecoute_current_tenant()`` returns the id only when the signature is right. It runs
  as the owner (SECURITY DEFINER), the only reader of the key besides ``ecoute_ops``;
  ``ecoute_rw`` may not even look into the schema ``ecoute_private``. An unsigned, badly
  signed, unset or reset setting gives NULL, which matches no rows and lets none be written.
- Signatures never travel where the runtime role could read them: they are bound parameters
  (``pg_stat_activity`` shows ``$1``), and each transaction's settings end with it.
- Cross-tenant work (login lookup, platform admin pages, the queue's claim, operator
  commands) connects as its own role, ``ecoute_ops``, which has BYPASSRLS
  (infra/postgres/roles.sql). There is no opt-out setting any more.

Why a signature rather than a role per tenant: the runtime role would have to be a member of
every tenant's role to ``SET ROLE`` to it, and then any SQL it runs could ``SET ROLE`` to
another one. A signature that only the app (holding the key, read once per process through
``ecoute_ops``) can make is the trusted path, and the check costs one hash per statement
(the policy calls the function once, as an InitPlan, not per row).

Migrations before 0009 created :data:`LEGACY_POLICY` (which trusted ``app.tenant_id`` and the
``app.all_tenants`` opt-out as set by anyone); :func:`enable` still does so until 0009 has
created the function, so that the history replays as it ran.
"""

from __future__ import annotations

from alembic import op
from sqlalchemy import text

#: The company this transaction was opened for, or NULL (0009 creates the function).
CURRENT_TENANT = "(SELECT public.ecoute_current_tenant())"
POLICY = f"tenant_id = {CURRENT_TENANT}"

LEGACY_POLICY = (
    "tenant_id = nullif(current_setting('app.tenant_id', true), '')::bigint"
    " OR current_setting('app.all_tenants', true) = 'on'"
)


def _is_postgresql() -> bool:
    return bool(op.get_bind().dialect.name == "postgresql")


def signed_tenants_installed() -> bool:
    """Whether 0009 has created ``ecoute_current_tenant()`` (else the history is replaying)."""
    found = op.get_bind().execute(text("SELECT to_regprocedure('public.ecoute_current_tenant()')")).scalar()
    return found is not None


def create_policy(table: str, policy: str | None = None) -> None:
    """``tenant_isolation`` on ``table`` (RLS already enabled), for reads and writes alike."""
    if policy is None:
        policy = POLICY if signed_tenants_installed() else LEGACY_POLICY
    op.execute(f"CREATE POLICY tenant_isolation ON {table} USING ({policy}) WITH CHECK ({policy})")


def enable(table: str) -> None:
    """Put a new tenant table under row-level security (call it in the migration that creates it)."""
    if not _is_postgresql():
        return
    op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
    op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
    create_policy(table)


def disable(table: str) -> None:
    if not _is_postgresql():
        return
    op.execute(f"DROP POLICY IF EXISTS tenant_isolation ON {table}")
    op.execute(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY")
    op.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")
