-- Roles and privileges of the Écoute database. Step 2 of 2: run as a superuser connected
-- to the `ecoute` database, after database.sql. Idempotent: safe to run again, and
-- re-running puts back any role attribute or grant that drifted.
--
--   ecoute_owner  owns the database, its schema objects and every table; runs the
--                 migrations (which also create the row-level security policies).
--                 It is bound by row-level security too (FORCE): to query one company's
--                 rows in psql, first run SELECT ecoute_private.enter_tenant(<id>) in the
--                 same transaction.
--   ecoute_rw     the runtime role of web and worker (ECOUTE_DATABASE_URL): owns nothing,
--                 is no superuser, has no BYPASSRLS and is a member of no other role. It
--                 sees one company's rows, and only once the app has named that company
--                 with a signature made with a key it cannot read (migrations/rls.py): no
--                 setting it can change by itself widens what it sees.
--   ecoute_ops    cross-tenant work (ECOUTE_DATABASE_OPS_URL): the login lookup by e-mail,
--                 platform admin pages, the queue's claim, operator commands. BYPASSRLS,
--                 but owns nothing and cannot change the schema. It reads the signing key.
--
-- Passwords are not set here; in production set them apart, each different, e.g.
--   ALTER ROLE ecoute_rw PASSWORD '...';
--   ALTER ROLE ecoute_ops PASSWORD '...';

DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'ecoute_owner') THEN
        CREATE ROLE ecoute_owner;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'ecoute_rw') THEN
        CREATE ROLE ecoute_rw;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'ecoute_ops') THEN
        CREATE ROLE ecoute_ops;
    END IF;
END
$$;

ALTER ROLE ecoute_owner LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;
ALTER ROLE ecoute_rw LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;
ALTER ROLE ecoute_ops LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION BYPASSRLS;

-- A member of a role may SET ROLE to it: the runtime role must be a member of none (it would
-- reach ecoute_ops' BYPASSRLS, or the owner's key, that way).
DO $$
DECLARE
    membership record;
BEGIN
    FOR membership IN
        SELECT r.rolname AS granted, m.rolname AS member FROM pg_auth_members a
        JOIN pg_roles r ON r.oid = a.roleid JOIN pg_roles m ON m.oid = a.member
        WHERE m.rolname = 'ecoute_rw'
    LOOP
        EXECUTE format('REVOKE %I FROM %I', membership.granted, membership.member);
    END LOOP;
END
$$;

-- ALTER DATABASE cannot name the current database without spelling it out.
DO $$
BEGIN
    EXECUTE format('ALTER DATABASE %I OWNER TO ecoute_owner', current_database());
    EXECUTE format('REVOKE ALL ON DATABASE %I FROM PUBLIC', current_database());
    EXECUTE format('GRANT CONNECT ON DATABASE %I TO ecoute_rw, ecoute_ops', current_database());
END
$$;

-- PostgreSQL 15 no longer lets PUBLIC create in schema public; say who may.
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE, CREATE ON SCHEMA public TO ecoute_owner;
GRANT USAGE ON SCHEMA public TO ecoute_rw, ecoute_ops;

-- Tables and sequences the owner creates from now on (migrations) ...
ALTER DEFAULT PRIVILEGES FOR ROLE ecoute_owner IN SCHEMA public
    GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO ecoute_rw, ecoute_ops;
ALTER DEFAULT PRIVILEGES FOR ROLE ecoute_owner IN SCHEMA public
    GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO ecoute_rw, ecoute_ops;

-- ... and those that already exist, when this file is run again on a live database.
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO ecoute_rw, ecoute_ops;
GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO ecoute_rw, ecoute_ops;

-- Of a kiosk pairing, the runtime role changes only whom it is for and when it was collected
-- (migration 0009 says why); put back here after the grant above.
DO $$
BEGIN
    IF to_regclass('public.kiosk_pairings') IS NOT NULL THEN
        REVOKE UPDATE ON kiosk_pairings FROM ecoute_rw;
        GRANT UPDATE (tenant_id, kiosk_id, collected_at) ON kiosk_pairings TO ecoute_rw;
    END IF;
END
$$;

-- The row-level security key lives in the schema ecoute_private, made by the migrations
-- (0009): ecoute_ops reads the key, ecoute_rw may not even look into the schema. Granted
-- here too for a database migrated before ecoute_ops existed.
DO $$
BEGIN
    IF EXISTS (SELECT FROM pg_namespace WHERE nspname = 'ecoute_private') THEN
        REVOKE ALL ON SCHEMA ecoute_private FROM PUBLIC, ecoute_rw;
        REVOKE ALL ON ALL TABLES IN SCHEMA ecoute_private FROM PUBLIC, ecoute_rw;
        GRANT USAGE ON SCHEMA ecoute_private TO ecoute_ops;
        GRANT SELECT ON ALL TABLES IN SCHEMA ecoute_private TO ecoute_ops;
    END IF;
END
$$;
