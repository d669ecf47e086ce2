"""row-level security that the runtime role cannot widen: signed tenant, ecoute_ops for cross-tenant work

Before this revision, ``ecoute_rw`` saw every company's rows after
``set_config('app.all_tenants', 'on')``, or any one company's after setting ``app.tenant_id``
to its id. Now every tenant table's policy compares ``tenant_id`` with
``ecoute_current_tenant()``, which trusts ``app.tenant_id`` only with its signature
(``app.tenant_sig``, HMAC-SHA256 under a key the runtime role cannot read); the opt-out is
gone, and cross-tenant work connects as ``ecoute_ops`` (BYPASSRLS). See migrations/rls.py.

``jobs`` gets the same policy: tenants' sessions enqueue, finish and retry their own jobs,
and only the claim, which connects as ``ecoute_ops``, sees every tenant's.

``kiosk_pairings`` cannot have it: a pairing is made by a screen that belongs to no company
yet, and looked up by the screen's secret before any company is known (webapp/services/
kiosks.py). It gets policies on what may be written instead: anyone may start a pending
pairing (no company, no kiosk), only the company it names may take it or mark it collected,
and only expired ones may be swept; of an existing pairing, ``ecoute_rw`` may change only
``tenant_id``, ``kiosk_id`` and ``collected_at`` (column privileges). Without them, that
role could write a pairing naming another company's kiosk and collect its device token with
the pairing's secret, or swap the secret of the code another company's screen shows (in
place, or by deleting and making it again) and collect the token once that company pairs it.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 09:50:00.000000
"""

import secrets

import sqlalchemy as sa
from alembic import op

from migrations import rls

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

#: The role that reads the key to sign tenants (infra/postgres/roles.sql), and the one that must not.
OPS_ROLE = "ecoute_ops"
RUNTIME_ROLE = "ecoute_rw"

#: HMAC-SHA256 of ``tenant:<id>``, from the key's inner and outer pads (RFC 2104), as hex.
_SIGNATURE = ("encode(pg_catalog.sha256(k.opad || pg_catalog.sha256(k.ipad"
              " || pg_catalog.convert_to('tenant:' || {tenant}, 'UTF8'))), 'hex')")


def _pad(column: str, byte: int) -> str:
    """SQL for the 64-byte block ``key XOR byte`` (the key is 32 bytes, padded with zeros)."""
    return ("(SELECT pg_catalog.decode(pg_catalog.string_agg(pg_catalog.lpad(pg_catalog.to_hex("
            f"(CASE WHEN i < pg_catalog.length({column}) THEN pg_catalog.get_byte({column}, i) ELSE 0 END) # {byte}),"
            " 2, '0'), '' ORDER BY i), 'hex') FROM pg_catalog.generate_series(0, 63) AS i)")


def _tenant_tables() -> list[str]:
    rows = op.get_bind().execute(sa.text(
        "SELECT tablename FROM pg_policies WHERE schemaname = current_schema() AND policyname = 'tenant_isolation'"
        " ORDER BY tablename"))
    return [row[0] for row in rows]


def _role_exists(name: str) -> bool:
    return op.get_bind().execute(sa.text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": name}).first() is not None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return  # embedded SQLite has only wall 1 (the ORM guard)
    op.execute("CREATE SCHEMA ecoute_private")
    op.execute("REVOKE ALL ON SCHEMA ecoute_private FROM PUBLIC")
    op.execute("""
        CREATE TABLE ecoute_private.rls_key (
            id smallint PRIMARY KEY CHECK (id = 1),
            key bytea NOT NULL CHECK (length(key) = 32),
            ipad bytea NOT NULL,
            opad bytea NOT NULL
        )""")
    op.execute("REVOKE ALL ON ecoute_private.rls_key FROM PUBLIC")
    op.get_bind().execute(
        sa.text(f"INSERT INTO ecoute_private.rls_key (id, key, ipad, opad) "
                f"SELECT 1, k, {_pad('k', 0x36)}, {_pad('k', 0x5c)} FROM (SELECT CAST(:key AS bytea) AS k) AS s"),
        {"key": secrets.token_bytes(32)})
    # The one reader of the key on behalf of the runtime role: the id when its signature is right, else NULL.
    # PL/pgSQL, not SQL: its plans are kept for the session, where a SQL function that cannot be inlined
    # (SECURITY DEFINER) is planned again for every statement (measured: about twice the cost per statement).
    signature = _SIGNATURE.format(tenant="tenant")
    op.execute(f"""
        CREATE FUNCTION public.ecoute_current_tenant() RETURNS bigint
        LANGUAGE plpgsql STABLE SECURITY DEFINER PARALLEL RESTRICTED
        SET search_path = pg_catalog, pg_temp
        AS $$
        DECLARE
            tenant text := current_setting('app.tenant_id', true);
            sig text := current_setting('app.tenant_sig', true);
            k record;
        BEGIN
            IF tenant IS NULL OR sig IS NULL OR tenant !~ '^[1-9][0-9]{{0,17}}$' THEN
                RETURN NULL;
            END IF;
            SELECT ipad, opad INTO k FROM ecoute_private.rls_key WHERE id = 1;
            IF k IS NULL OR {signature} <> sig THEN
                RETURN NULL;
            END IF;
            RETURN tenant::bigint;
        END
        $$""")
    op.execute("COMMENT ON FUNCTION public.ecoute_current_tenant() IS "
               "'The company this transaction was opened for (app.tenant_id, when app.tenant_sig signs it); "
               "NULL otherwise. See migrations/rls.py.'")
    # For the owner (and ecoute_ops) in psql: enter one company for the rest of the transaction.
    entered = _SIGNATURE.format(tenant="tenant::text")
    op.execute(f"""
        CREATE FUNCTION ecoute_private.enter_tenant(tenant bigint) RETURNS bigint
        LANGUAGE sql VOLATILE
        AS $$
            SELECT pg_catalog.set_config('app.tenant_id', tenant::text, true)::bigint
            FROM ecoute_private.rls_key AS k
            WHERE pg_catalog.set_config('app.tenant_sig', {entered}, true) IS NOT NULL
        $$""")
    op.execute("REVOKE ALL ON FUNCTION ecoute_private.enter_tenant(bigint) FROM PUBLIC")
    if _role_exists(RUNTIME_ROLE):
        op.execute(f"REVOKE ALL ON SCHEMA ecoute_private FROM {RUNTIME_ROLE}")
    if _role_exists(OPS_ROLE):  # else infra/postgres/roles.sql grants it when it creates the role
        op.execute(f"GRANT USAGE ON SCHEMA ecoute_private TO {OPS_ROLE}")
        op.execute(f"GRANT SELECT ON ecoute_private.rls_key TO {OPS_ROLE}")
        op.execute(f"GRANT EXECUTE ON FUNCTION ecoute_private.enter_tenant(bigint) TO {OPS_ROLE}")

    for table in _tenant_tables():
        op.execute(f"DROP POLICY tenant_isolation ON {table}")
        rls.create_policy(table, rls.POLICY)
    rls.enable("jobs")

    op.execute("ALTER TABLE kiosk_pairings ENABLE ROW LEVEL SECURITY")
    op.execute("ALTER TABLE kiosk_pairings FORCE ROW LEVEL SECURITY")
    current = rls.CURRENT_TENANT
    op.execute("CREATE POLICY pairing_read ON kiosk_pairings FOR SELECT USING (true)")
    op.execute("CREATE POLICY pairing_start ON kiosk_pairings FOR INSERT "
               "WITH CHECK (tenant_id IS NULL AND kiosk_id IS NULL AND collected_at IS NULL)")
    op.execute(f"CREATE POLICY pairing_take ON kiosk_pairings FOR UPDATE "
               f"USING (tenant_id IS NULL OR tenant_id = {current}) WITH CHECK (tenant_id = {current})")
    op.execute("CREATE POLICY pairing_sweep ON kiosk_pairings FOR DELETE USING (expires_at < now())")
    if _role_exists(RUNTIME_ROLE):  # infra/postgres/roles.sql does the same when run again
        op.execute(f"REVOKE UPDATE ON kiosk_pairings FROM {RUNTIME_ROLE}")
        op.execute(f"GRANT UPDATE (tenant_id, kiosk_id, collected_at) ON kiosk_pairings TO {RUNTIME_ROLE}")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    if _role_exists(RUNTIME_ROLE):
        op.execute(f"GRANT UPDATE ON kiosk_pairings TO {RUNTIME_ROLE}")
    for policy in ("pairing_read", "pairing_start", "pairing_take", "pairing_sweep"):
        op.execute(f"DROP POLICY {policy} ON kiosk_pairings")
    op.execute("ALTER TABLE kiosk_pairings NO FORCE ROW LEVEL SECURITY")
    op.execute("ALTER TABLE kiosk_pairings DISABLE ROW LEVEL SECURITY")
    rls.disable("jobs")
    for table in _tenant_tables():
        op.execute(f"DROP POLICY tenant_isolation ON {table}")
        rls.create_policy(table, rls.LEGACY_POLICY)
    op.execute("DROP FUNCTION public.ecoute_current_tenant()")
    op.execute("DROP SCHEMA ecoute_private CASCADE")
