-- The Écoute database. Step 1 of 2: run as a superuser connected to the `postgres`
-- database, then run roles.sql connected to `ecoute`:
--
--   psql -U postgres -d postgres -f infra/postgres/database.sql
--   psql -U postgres -d ecoute   -f infra/postgres/roles.sql
--
-- Not idempotent: CREATE DATABASE cannot run inside a DO block or a function, so it
-- cannot be made conditional here. Skip this file when the database already exists
-- (tests/support/pgcluster.py checks pg_database first). Ownership is handed to
-- ecoute_owner by roles.sql, which also creates that role.

CREATE DATABASE ecoute ENCODING 'UTF8' TEMPLATE template0;
