"""Row-level security that the runtime role cannot lift (issue #13, item 5).

Everything here connects to PostgreSQL directly with psycopg, as an attacker who can run any
SQL as ``ecoute_rw`` would (an injection, a compromised web process): no setting lets that
role see or write another company's rows. Rows are seeded as the cluster's superuser, which
row-level security never binds, so the seed does not depend on what is under test.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import psycopg
import pytest
from flask import Flask
from sqlalchemy import create_engine, select, text
from sqlalchemy.orm import Session

from tests.conftest import DatabaseUnderTest
from webapp import create_app, tenancy
from webapp.config import Settings
from webapp.db import Base, get_database


def _connect(url: str) -> psycopg.Connection[tuple[Any, ...]]:
    """A psycopg connection (autocommit) from one of the suite's SQLAlchemy URLs."""
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    return psycopg.connect(host=query["host"], port=query["port"], dbname=parts.path.lstrip("/"),
                           user=parts.username, autocommit=True)


@dataclass(frozen=True)
class Seeded:
    pg: DatabaseUnderTest
    a: int
    b: int
    b_user: int
    b_kiosk: int


def _superuser_url(pg: DatabaseUnderTest) -> str:
    return pg.owner_url.replace("ecoute_owner@", "postgres@", 1)


def _seed(pg: DatabaseUnderTest) -> Seeded:
    """Two companies, each with a user, a complaint, a job and a kiosk (ORM objects: their defaults apply)."""
    from webapp.jobs import Job
    from webapp.models import Complaint, Kiosk, Role, Tenant, User

    engine = create_engine(_superuser_url(pg))
    ids: dict[str, dict[str, int]] = {}
    with Session(engine, info={"all_tenants": True}) as session, session.begin():
        for key in ("a", "b"):
            tenant = Tenant(slug=f"rls-{key}", name=f"RLS {key}")
            session.add(tenant)
            session.flush()
            user = User(tenant_id=tenant.id, email=f"x@rls-{key}.test", role=Role.STAFF,
                        password_hash="$argon2id$v=19$secret")
            kiosk = Kiosk(tenant_id=tenant.id, name="room")
            session.add_all([user, kiosk, Complaint(tenant_id=tenant.id, text=f"complaint of {key}"),
                             Job(tenant_id=tenant.id, kind="noop", idempotency_key=f"noop:{key}", payload={})])
            session.flush()
            ids[key] = {"tenant": tenant.id, "user": user.id, "kiosk": kiosk.id}
    engine.dispose()
    return Seeded(pg, ids["a"]["tenant"], ids["b"]["tenant"], ids["b"]["user"], ids["b"]["kiosk"])


@pytest.fixture
def seeded(postgres: DatabaseUnderTest) -> Iterator[Seeded]:
    seed = _seed(postgres)
    yield seed
    with _connect(_superuser_url(postgres)) as conn:
        conn.execute(f"TRUNCATE {', '.join(t.name for t in Base.metadata.sorted_tables)} RESTART IDENTITY CASCADE")


def _visible(conn: psycopg.Connection[tuple[Any, ...]], tenant_id: int) -> dict[str, int]:
    """How many of ``tenant_id``'s rows this connection sees, per table."""
    return {table: conn.execute(f"SELECT count(*) FROM {table} WHERE tenant_id = %s",  # noqa: S608 - our names
                                (tenant_id,)).fetchone()[0]  # type: ignore[index]
            for table in ("users", "complaints", "jobs", "kiosks")}


NOTHING = {"users": 0, "complaints": 0, "jobs": 0, "kiosks": 0}


@pytest.mark.parametrize("settings", [
    {"app.all_tenants": "on"},
    {"app.tenant_id": "{b}"},
    {"app.all_tenants": "on", "app.tenant_id": "{b}"},
    {"app.tenant_id": "{b}", "app.tenant_sig": "0" * 64},
], ids=["all_tenants", "tenant_id", "both", "tenant_id_with_a_made_up_signature"])
@pytest.mark.parametrize("scope", ["session", "transaction"])
def test_runtime_role_cannot_widen_what_it_sees(seeded: Seeded, settings: dict[str, str], scope: str) -> None:
    with _connect(seeded.pg.url) as conn:
        assert conn.execute("SELECT current_user").fetchone() == ("ecoute_rw",)
        with conn.transaction():
            for name, value in settings.items():
                conn.execute("SELECT set_config(%s, %s, %s)", (name, value.format(b=seeded.b), scope == "transaction"))
            assert _visible(conn, seeded.b) == NOTHING
            assert conn.execute("SELECT count(*) FROM users WHERE password_hash <> ''").fetchone() == (0,)
            assert conn.execute("SELECT count(*) FROM complaints").fetchone() == (0,)


def test_runtime_role_cannot_write_another_tenants_rows_by_setting(seeded: Seeded) -> None:
    with _connect(seeded.pg.url) as conn:
        conn.execute("SELECT set_config('app.all_tenants', 'on', false), set_config('app.tenant_id', %s, false)",
                     (str(seeded.b),))
        assert conn.execute("UPDATE users SET name = 'pwned' WHERE id = %s", (seeded.b_user,)).rowcount == 0
        assert conn.execute("DELETE FROM complaints WHERE tenant_id = %s", (seeded.b,)).rowcount == 0
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="row-level security"):
            conn.execute("INSERT INTO users (tenant_id, email, name, role, status, created_at) "
                         "VALUES (%s, 'spy@x.test', '', 'tenant_admin', 'active', now())", (seeded.b,))
    with _connect(_superuser_url(seeded.pg)) as conn:
        assert conn.execute("SELECT count(*) FROM users WHERE name = 'pwned' OR email = 'spy@x.test'"
                            ).fetchone() == (0,)
        assert conn.execute("SELECT count(*) FROM complaints").fetchone() == (2,)


def test_a_kiosk_pairing_cannot_be_forged_for_another_tenant(seeded: Seeded) -> None:
    """A pairing names the tenant and kiosk whose device token its secret collects: forging one for
    tenant B's kiosk would hand its token (and B's playlist) to whoever knows the secret."""
    forged = ("INSERT INTO kiosk_pairings (code, secret_hash, expires_at, requested_by, tenant_id, kiosk_id,"
              " created_at) VALUES ('FORGED01', %s, now() + interval '10 minutes', '', %s, %s, now())")
    with _connect(seeded.pg.url) as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="row-level security"):
            conn.execute(forged, ("f" * 64, seeded.b, seeded.b_kiosk))
        # A pending pairing (no company yet) is what an unpaired screen makes: allowed ...
        conn.execute(forged, ("e" * 64, None, None))
        # ... but it cannot then be pointed at tenant B's kiosk.
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="row-level security"):
            conn.execute("UPDATE kiosk_pairings SET tenant_id = %s, kiosk_id = %s WHERE code = 'FORGED01'",
                         (seeded.b, seeded.b_kiosk))
        # Nor can the secret behind a code some company's screen shows be swapped for one the attacker
        # knows, in place or by deleting the pairing and making it again.
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="permission denied"):
            conn.execute("UPDATE kiosk_pairings SET secret_hash = %s WHERE code = 'FORGED01'", ("d" * 64,))
        assert conn.execute("DELETE FROM kiosk_pairings WHERE code = 'FORGED01'").rowcount == 0
    with _connect(_superuser_url(seeded.pg)) as conn:
        assert conn.execute("SELECT tenant_id, secret_hash FROM kiosk_pairings").fetchall() == [(None, "e" * 64)]


def test_runtime_role_holds_no_key_and_no_other_role(seeded: Seeded) -> None:
    with _connect(seeded.pg.url) as conn:
        row = conn.execute("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user").fetchone()
        assert row == (False, False)
        # A member of another role could SET ROLE to it.
        assert conn.execute("SELECT count(*) FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.member "
                            "WHERE r.rolname = current_user").fetchone() == (0,)
        assert conn.execute("SELECT has_schema_privilege('ecoute_private', 'USAGE')").fetchone() == (False,)
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("SELECT * FROM ecoute_private.rls_key")


@pytest.fixture
def pg_app(seeded: Seeded, tmp_path: Path) -> Iterator[Flask]:
    """The app on the PostgreSQL database under test, with its three roles."""
    pg = seeded.pg
    settings = Settings(env="test", data_dir=tmp_path, secret_key="test-secret-key", database_url=pg.url,
                        database_owner_url=pg.owner_url, database_ops_url=pg.ops_url).with_overrides({})
    application = create_app(settings=settings)
    yield application
    get_database(application).dispose()


def test_the_app_opens_one_tenant_as_rw_and_every_tenant_as_ops(pg_app: Flask, seeded: Seeded) -> None:
    from webapp.models import User

    with pg_app.app_context():
        with tenancy.tenant_session(seeded.b) as session:
            assert session.scalar(text("SELECT current_user")) == "ecoute_rw"
            assert list(session.scalars(select(User.email))) == ["x@rls-b.test"]
            # Raw SQL, past the ORM guard: row-level security alone keeps tenant A out.
            assert session.scalar(text("SELECT count(*) FROM users WHERE tenant_id = :a"), {"a": seeded.a}) == 0
        with tenancy.all_tenants_session() as session:
            assert session.scalar(text("SELECT current_user")) == "ecoute_ops"
            assert sorted(session.scalars(select(User.email))) == ["x@rls-a.test", "x@rls-b.test"]


def test_signatures_never_show_to_other_sessions_of_the_runtime_role(pg_app: Flask, seeded: Seeded) -> None:
    """pg_stat_activity shows each backend's last statement to every session of the same role:
    the signature is a bound parameter there, never its value."""
    with pg_app.app_context(), tenancy.tenant_session(seeded.b) as session:
        connection = session.connection()  # begins: tenancy's set_config is this backend's last statement
        with _connect(seeded.pg.url) as spy:
            seen = [row[0] for row in spy.execute(
                "SELECT query FROM pg_stat_activity WHERE usename = current_user AND pid <> pg_backend_pid()")]
        signature = connection.exec_driver_sql("SELECT current_setting('app.tenant_sig')").scalar()
    assert isinstance(signature, str) and len(signature) == 64
    assert [q for q in seen if "app.tenant_sig" in q], seen  # the statement is there ...
    assert [q for q in seen if signature in q] == []  # ... without the signature


def test_postgresql_needs_the_ops_url(tmp_path: Path) -> None:
    """Without it, cross-tenant work would run as ecoute_rw and see nothing: logins would all fail."""
    from webapp.config import ConfigError, load_settings

    env = {"ECOUTE_DATA_DIR": str(tmp_path), "ECOUTE_SECRET_KEY": "k",
           "ECOUTE_DATABASE_URL": "postgresql+psycopg://ecoute_rw@db/ecoute"}
    with pytest.raises(ConfigError, match="ECOUTE_DATABASE_OPS_URL is required"):
        load_settings(env)
    ops = "postgresql+psycopg://ecoute_ops@db/ecoute"
    assert load_settings({**env, "ECOUTE_DATABASE_OPS_URL": ops}).database_ops_url == ops
    assert load_settings({"ECOUTE_DATA_DIR": str(tmp_path), "ECOUTE_SECRET_KEY": "k"}).database_ops_url.startswith(
        "sqlite:///")  # embedded: one file, one engine


def test_a_runtime_role_given_as_ops_url_is_told_what_to_do(seeded: Seeded) -> None:
    from webapp.db import Database

    database = Database(seeded.pg.url, seeded.pg.url)  # ECOUTE_DATABASE_OPS_URL pointing at ecoute_rw
    try:
        with pytest.raises(RuntimeError, match="ecoute_rw cannot read ecoute_private.rls_key; set ECOUTE_DATABASE_OPS"):
            database.rls_key()
    finally:
        database.dispose()
    database = Database(seeded.pg.url, seeded.pg.ops_url)
    try:
        assert len(database.rls_key()) == 32
    finally:
        database.dispose()
