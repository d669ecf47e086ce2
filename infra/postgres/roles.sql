-- Roles and privileges of the Écoute database. Step 2 of 2: run as a superuser connected
-- to the `ecoute` database, after database.sql. Idempotent: safe to run again, and
-- re-running puts back any role attribute or grant that drifted.
--
--   ecoute_owner  owns the database, its schema objects and every table; runs the
--                 migrations (which also create the row-level security policies).
--   ecoute_rw     the runtime role of web and worker: owns nothing, is no superuser and
--                 has no BYPASSRLS, so the RLS policies always apply to it (STYLE §3).
--
-- Passwords are not set here; in production set them apart, e.g.
--   ALTER ROLE ecoute_rw PASSWORD '...';

DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'ecoute_owner') THEN
        CREATE ROLE ecoute_owner;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'ecoute_rw') THEN
        CREATE ROLE ecoute_rw;
    END IF;
END
$$;

ALTER ROLE ecoute_owner LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;
ALTER ROLE ecoute_rw LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;

-- ALTER DATABASE cannot name the current database without spelling it out.
DO $$
BEGIN
    EXECUTE format('ALTER DATABASE %I OWNER TO ecoute_owner', current_database());
    EXECUTE format('REVOKE ALL ON DATABASE %I FROM PUBLIC', current_database());
    EXECUTE format('GRANT CONNECT ON DATABASE %I TO ecoute_rw', current_database());
END
$$;

-- PostgreSQL 15 no longer lets PUBLIC create in schema public; say who may.
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE, CREATE ON SCHEMA public TO ecoute_owner;
GRANT USAGE ON SCHEMA public TO ecoute_rw;

-- Tables and sequences the owner creates from now on (migrations) ...
ALTER DEFAULT PRIVILEGES FOR ROLE ecoute_owner IN SCHEMA public
    GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO ecoute_rw;
ALTER DEFAULT PRIVILEGES FOR ROLE ecoute_owner IN SCHEMA public
    GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO ecoute_rw;

-- ... and those that already exist, when this file is run again on a live database.
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO ecoute_rw;
GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO ecoute_rw;
