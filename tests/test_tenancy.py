"""Isolation: one tenant never sees, changes or infers another's data.

Three layers are checked: the ORM guard (wall 1) directly; every route of the app, found
from Flask's URL map so new routes are covered automatically; and PostgreSQL's
row-level security (wall 2) with raw SQL that bypasses the ORM.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterator
from datetime import date
from typing import Any

import openpyxl
import pytest
from flask import Flask
from sqlalchemy import create_engine, func, select, text, update
from werkzeug.routing import Rule
from werkzeug.test import TestResponse

from tests import factories
from tests.conftest import Client, DatabaseUnderTest, TenantSet
from webapp import access, tenancy
from webapp.db import Base
from webapp.models import (
    ApiToken,
    AuditEvent,
    Call,
    Clip,
    Complaint,
    Kiosk,
    Playlist,
    PlaylistItem,
    RegisterEntry,
    RegisterEvent,
    RegisterLink,
    Role,
    Tenant,
    TokenScope,
    Transcript,
    User,
    UserToken,
)

MISSING_ID = 987654

# --- wall 1: the ORM guard ---------------------------------------------------------------


def test_bound_session_sees_only_its_tenant(app: Flask, tenants: dict[str, TenantSet]) -> None:
    b_staff = tenants["b"].users[Role.STAFF]
    with app.app_context(), tenancy.tenant_session(tenants["a"].id) as session:
        emails = set(session.scalars(select(User.email)))
        assert emails == {u.email for u in tenants["a"].users.values()}
        assert session.get(User, b_staff.id) is None
        assert session.scalar(select(func.count()).select_from(User).where(User.id == b_staff.id)) == 0


def test_unbound_session_refuses_tenant_data(app: Flask, tenants: dict[str, TenantSet]) -> None:
    with app.app_context(), tenancy.tenant_session(None) as session:
        assert session.scalar(select(func.count()).select_from(Tenant)) == 3  # not tenant data
        with pytest.raises(tenancy.TenantNotBound):
            session.scalars(select(User)).all()
        with pytest.raises(tenancy.TenantNotBound):
            session.scalars(select(AuditEvent).join(User, AuditEvent.actor)).all()


def test_writes_are_stamped_and_cross_tenant_writes_refused(app: Flask, tenants: dict[str, TenantSet]) -> None:
    with app.app_context():
        with tenancy.tenant_session(tenants["a"].id) as session:
            session.add(AuditEvent(action="test.stamped"))
            session.flush()
            stamped = session.scalars(select(AuditEvent).where(AuditEvent.action == "test.stamped")).one()
            assert stamped.tenant_id == tenants["a"].id
        with pytest.raises(tenancy.TenantMismatch), tenancy.tenant_session(tenants["a"].id) as session:
            session.add(AuditEvent(tenant_id=tenants["b"].id, action="test.smuggled"))
            session.flush()
        with pytest.raises(tenancy.TenantNotBound), tenancy.tenant_session(None) as session:
            session.add(AuditEvent(tenant_id=tenants["b"].id, action="test.unbound"))
            session.flush()
        with tenancy.all_tenants_session() as session:
            assert session.scalar(select(func.count()).select_from(AuditEvent)
                                  .where(AuditEvent.action.like("test.%"))) == 1


def test_bulk_update_is_confined(app: Flask, tenants: dict[str, TenantSet]) -> None:
    with app.app_context():
        with tenancy.tenant_session(tenants["a"].id) as session:
            session.execute(update(User).values(name="Renamed"))
        with tenancy.all_tenants_session() as session:
            names = {e: n for e, n in session.execute(select(User.email, User.name))}
    assert {n for e, n in names.items() if e.endswith("@a.test")} == {"Renamed"}
    assert "Renamed" not in {n for e, n in names.items() if e.endswith("@b.test")}


# --- the route matrix ----------------------------------------------------------------------

def _processed_call(tenant_id: int) -> int:
    """A call the worker has processed (renditions and waveform peaks made): every call URL has something to serve."""
    from flask import current_app

    from worker.handlers import JobContext, process_call

    call_id = factories.make_ready_call(tenant_id, seconds=2.0)
    process_call.Handler().run(JobContext(job_id=0, kind=process_call.KIND, tenant_id=tenant_id,
                                          payload={"call_id": call_id}, attempt=1, max_attempts=1,
                                          settings=current_app.config["ECOUTE"]))
    return call_id


def _pack_pdf(t: TenantSet) -> int:
    """A review pack's PDF job, asked for by the company's admin and run by the worker (its file exists)."""
    from flask import current_app

    from webapp.services import review_packs
    from worker.handlers import JobContext, review_pack_pdf

    product_id = factories.make_product(t.id)
    with tenancy.tenant_session(t.id) as session:
        admin = session.get(User, t.users[Role.TENANT_ADMIN].id)
        assert admin is not None
        scope = review_packs.resolve_scope(session, admin, f"product:{product_id}")
        assert scope is not None
        job = review_packs.request_pdf(session, admin, scope, review_packs.Period(2026, 1), "en")
        job_id, payload = job.id, dict(job.payload)
    review_pack_pdf.Handler().run(JobContext(job_id=job_id, kind=review_pack_pdf.KIND, tenant_id=t.id,
                                             payload=payload, attempt=1, max_attempts=1,
                                             settings=current_app.config["ECOUTE"]))
    return job_id


def _register_entry(tenant_id: int) -> int:
    """The register entry a written complaint gets (webapp/services/register.py)."""
    from webapp.services import register

    complaint_id = factories.make_complaint(tenant_id)
    with tenancy.tenant_session(tenant_id) as session:
        entry = register.entry_of(session, complaint_id=complaint_id)
        assert entry is not None
        return entry.id


def _register_reference(t: TenantSet) -> str:
    """The reference of a register entry made by hand, as an oral complaint's; dated in a year of its own for each
    company, so that the two companies' references differ (each numbers its own register)."""
    from webapp.services import register

    with tenancy.tenant_session(t.id) as session:
        return register.create_entry(session, actor=register.Actor.machine(), received_on=date(2000 + t.id % 100, 1, 5),
                                     channel="phone").reference


def _workshop(t: TenantSet) -> int:
    """A workshop planned by the company's quality manager on a playlist of one playable clip."""
    from tests.test_workshops import make_workshop

    return make_workshop(t, clips=1)


def _action(t: TenantSet) -> int:
    """An improvement action proposed by the company's quality manager, owned by its staff member."""
    from tests.test_actions import make_action

    return make_action(t)


#: For each URL argument naming an object: how to get one of that kind in a company (made through the services).
OBJECT_ARGS: dict[str, Callable[[TenantSet], int | str]] = {
    "user_id": lambda t: t.users[Role.STAFF].id,
    "tenant_id": lambda t: t.id,
    "call_id": lambda t: _processed_call(t.id),
    "complaint_id": lambda t: factories.make_complaint(t.id),
    "token_id": lambda t: factories.make_api_token(t.id, TokenScope.READ).id,
    "label_id": lambda t: factories.first_label(t.id),
    # Audio to serve, approved: the room's phone pages (/react/<clip_id>) open approved clips only.
    "clip_id": lambda t: factories.make_clip(t.id, factories.make_ready_call(t.id), render=True, approve=True),
    "playlist_id": lambda t: factories.make_playlist(t.id),
    "kiosk_id": lambda t: factories.make_kiosk(t.id).id,
    "reference": _register_reference,
    "entry_id": lambda t: _register_entry(t.id),
    "job_id": lambda t: _pack_pdf(t),
    "product_id": lambda t: factories.make_product(t.id),
    "rule_id": lambda t: factories.make_alert_rule(t.id),
    "action_id": _action,
    "workshop_id": lambda t: _workshop(t),
}
#: Arguments that are not object ids (covered by their own tests: the kiosk's in test_kiosk_api.py).
NON_OBJECT_ARGS = {"token", "filename", "code", "name", "sha256", "fmt"}


def _routes(app: Flask) -> Iterator[tuple[Rule, str]]:
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            yield rule, method


def _id_rules(app: Flask) -> list[tuple[Rule, str]]:
    result = []
    for rule, method in _routes(app):
        args = set(rule.arguments)
        unknown = args - set(OBJECT_ARGS) - NON_OBJECT_ARGS
        assert not unknown, f"{rule.rule}: add {unknown} to OBJECT_ARGS or NON_OBJECT_ARGS in this test"
        if args & set(OBJECT_ARGS):
            result.append((rule, method))
    return result


def _url(rule: Rule, object_id: int | str) -> str:
    return rule.build({a: object_id for a in rule.arguments}, append_unknown=False)[1]


def _normalise(body: str) -> str:
    body = re.sub(r'(csrf_token" value=|X-CSRFToken": )"[^"]*"', "TOKEN", body)
    body = re.sub(r"\d{6,}", "ID", body)  # the id typed in the URL may be echoed in a form action
    return re.sub(r"(/|%2F)\d+(?=/|%2F|\"|<|&|\?|$)", r"\1ID", body)  # ... and at the end of a URL (login's next=)


@pytest.fixture
def objects(app: Flask, tenants: dict[str, TenantSet]) -> dict[str, dict[str, int | str]]:
    """For companies "a" and "b": the id of one object of every kind that a URL names."""
    with app.app_context():
        return {key: {arg: make(tenants[key]) for arg, make in OBJECT_ARGS.items()} for key in ("a", "b")}


def _snapshot(app: Flask) -> list[tuple[Any, ...]]:
    with app.app_context(), tenancy.all_tenants_session() as session:
        rows: list[tuple[Any, ...]] = []
        for model in (Tenant, User, UserToken, AuditEvent, Call, Complaint, ApiToken, Transcript, Clip, Playlist,
                      PlaylistItem, Kiosk, RegisterEntry, RegisterEvent, RegisterLink):
            rows += [tuple(getattr(o, c.key) for c in model.__table__.columns)  # type: ignore[attr-defined]
                     for o in session.scalars(select(model).order_by(model.id))]
        return rows


def test_the_matrix_covers_routes(app: Flask) -> None:
    assert len(_id_rules(app)) >= 14  # if this drops, routes lost their ids or the map changed
    assert {r.rule for r, _m in _id_rules(app) if r.rule.startswith("/api/")} == {
        "/api/v1/calls/<int:call_id>", "/api/v1/complaints/<int:complaint_id>", "/api/v1/register/<reference>"}


def _is_api(rule: Rule) -> bool:
    return rule.rule.startswith("/api/")


def _is_kiosk(rule: Rule) -> bool:
    return rule.rule.startswith("/kiosk/")


def _bearer(app: Flask, tenant_id: int, scope: TokenScope = TokenScope.INGEST) -> dict[str, str]:
    """Headers bearing a new token of the tenant, used once already (its ``last_used_at`` is set)."""
    with app.app_context():
        headers = {"Authorization": f"Bearer {factories.make_api_token(tenant_id, scope).raw}"}
    assert app.test_client().get(f"/api/v1/complaints/{MISSING_ID}", headers=headers).status_code == 404
    return headers


def _bearers(app: Flask, tenant_id: int) -> dict[str, dict[str, str]]:
    """A token of each scope: a company's systems (telephony, CRM...), each sending its own."""
    return {scope.value: _bearer(app, tenant_id, scope) for scope in TokenScope}


def _token_for(app: Flask, rule: Rule, bearers: dict[str, dict[str, str]]) -> dict[str, str]:
    """The headers of a token whose scope the API route lets in (its first)."""
    return bearers[access.table(app)[rule.endpoint].scopes[0]]


def _send(client: Client, method: str, url: str, headers: dict[str, str]) -> TestResponse:
    """A GET, a POST with a form, or another method (an API's PATCH) with a JSON body."""
    if method == "GET":
        return client.get(url, headers=headers)
    if method == "POST":
        return client.post(url, {"role": "staff"}, headers=headers)
    return client.raw.open(url, method=method, json={"status": "closed"}, headers=headers)


@pytest.mark.parametrize("who", ["anonymous", *[r.value for r in
                                                (Role.TENANT_ADMIN, Role.QUALITY_MANAGER, Role.STAFF)],
                                 "platform_admin", "api_token", "kiosk_token"])
def test_tenant_b_objects_look_missing_to_everyone_of_tenant_a(app: Flask, tenants: dict[str, TenantSet],
                                                               objects: dict[str, dict[str, int | str]],
                                                               who: str) -> None:
    client = Client(app.test_client())
    headers: dict[str, str] = {}
    bearers: dict[str, dict[str, str]] = {}
    if who == "api_token":
        bearers = _bearers(app, tenants["a"].id)  # tenant A's systems, sending their tokens everywhere
        headers = bearers[TokenScope.INGEST.value]
    elif who == "kiosk_token":
        with app.app_context():  # tenant A's kiosk, sending its device token everywhere
            headers = {"Authorization": f"Bearer {factories.make_kiosk(tenants['a'].id).token}"}
    elif who != "anonymous":
        role = Role(who)
        home = tenants["platform"] if role == Role.PLATFORM_ADMIN else tenants["a"]
        client.login(home.users[role].email)
    before = _snapshot(app)
    for rule, method in _id_rules(app):
        arg = next(a for a in rule.arguments if a in OBJECT_ARGS)
        if arg == "tenant_id" and who == "platform_admin":
            continue  # platform admins do act on every company; the platform tenant is tested in test_admin
        other = _url(rule, objects["b"][arg])
        missing = _url(rule, MISSING_ID)
        sent = _token_for(app, rule, bearers) if bearers and _is_api(rule) else headers
        theirs, nothing = _send(client, method, other, sent), _send(client, method, missing, sent)
        label = f"{who} {method} {rule.rule}"
        if _is_api(rule):
            # Only a token opens the API; a login cookie is no credential there.
            assert theirs.status_code == (404 if who == "api_token" else 401), label
            assert theirs.get_json()["code"] == ("not_found" if who == "api_token" else "unauthorized"), label
        elif _is_kiosk(rule):
            # Only a kiosk's device token opens the kiosk's endpoints (its own clips: test_kiosk_api.py).
            expected = (404, "not_found") if who == "kiosk_token" else (401, "kiosk_unpaired")
            assert (theirs.status_code, theirs.get_json()["code"]) == expected, label
        elif who in ("anonymous", "api_token", "kiosk_token"):
            assert theirs.status_code in (302, 400), label  # to the login page (or CSRF refusal)
        else:
            assert theirs.status_code in (403, 404), label
        assert theirs.status_code == nothing.status_code, label
        assert _normalise(theirs.text) == _normalise(nothing.text), label
    assert _snapshot(app) == before


def test_the_matrix_would_see_a_leak(app: Flask, tenants: dict[str, TenantSet],
                                     objects: dict[str, dict[str, int | str]]) -> None:
    """Positive control: the same requests on tenant A's own objects do reach them."""
    admin = Client(app.test_client())
    admin.login(tenants["a"].users[Role.TENANT_ADMIN].email)
    root = Client(app.test_client())
    root.login(tenants["platform"].users[Role.PLATFORM_ADMIN].email)
    system = Client(app.test_client())
    bearers = _bearers(app, tenants["a"].id)
    for rule, method in _id_rules(app):
        if _is_kiosk(rule):
            continue  # a kiosk reaching its own clips: test_kiosk_api.py
        arg = next(a for a in rule.arguments if a in OBJECT_ARGS)
        client = root if arg == "tenant_id" else system if _is_api(rule) else admin
        headers = _token_for(app, rule, bearers) if _is_api(rule) else {}
        response = _send(client, method, _url(rule, objects["a"][arg]), headers)
        assert response.status_code not in (401, 403, 404, 500), f"{method} {rule.rule}: {response.status_code}"


#: Company-wide downloads (no object in their address), each with what shows company A's own entry in it.
COMPANY_DOWNLOADS = {
    "/register/export.csv": "CRM-A-77", "/register/export.xlsx": "CRM-A-77",
    "/register/figures?year=2001": "1 réclamation reçue",
    "/register/figures.csv?year=2001": "Réclamations reçues,,1",
    "/register/figures.xlsx?year=2001": "reçues', None, 1]",
}


def test_proof_of_play_holds_only_the_companys_plays(app: Flask, tenants: dict[str, TenantSet]) -> None:
    """Company B's plays (its screen's name, its clip ids) never reach company A's report or its download."""
    from datetime import UTC, datetime

    from webapp.models import Kiosk
    from webapp.services import proof_of_play

    at = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
    with app.app_context():
        for key, name in (("a", "Our room"), ("b", "Secret room of company B")):
            ref = factories.make_kiosk(tenants[key].id, name=name)
            with tenancy.tenant_session(tenants[key].id) as session:
                kiosk = session.get(Kiosk, ref.id)
                assert kiosk is not None
                proof_of_play.count_plays(session, kiosk, [(424242, at)])
    admin = Client(app.test_client())
    admin.login(tenants["a"].users[Role.TENANT_ADMIN].email)
    for path in ("/settings/kiosks/plays", "/settings/kiosks/plays.csv", "/settings/kiosks/plays.xlsx"):
        text = _readable(path, admin.get(f"{path}?start=2026-11-01&end=2026-11-30").data)
        assert "Our room" in text and "Secret room" not in text, path


def _readable(path: str, body: bytes) -> str:
    if not path.split("?")[0].endswith(".xlsx"):
        return body.decode("utf-8")
    sheet = openpyxl.load_workbook(io.BytesIO(body)).active
    assert sheet is not None
    return "\n".join(repr([c.value for c in row]) for row in sheet.iter_rows())


def test_company_wide_downloads_hold_only_the_companys_rows(app: Flask, tenants: dict[str, TenantSet]) -> None:
    """Company B's register entry (dated 2001 so that the yearly figures count it) never reaches A's admin."""
    from webapp.services import register

    with app.app_context():
        for key, subject in (("a", "Ours"), ("b", "Secret of company B")):
            with tenancy.tenant_session(tenants[key].id) as session:
                register.create_entry(session, actor=register.Actor.machine(), received_on=date(2001, 5, 2),
                                      channel="letter", subject=subject, customer_ref=f"CRM-{key.upper()}-77")
    admin = Client(app.test_client())
    admin.login(tenants["a"].users[Role.TENANT_ADMIN].email)
    for path, own in COMPANY_DOWNLOADS.items():
        response = admin.get(path)
        assert response.status_code == 200, path
        text = _readable(path, response.data)
        assert "Secret of company B" not in text and "CRM-B-77" not in text, path
        assert own in text, path  # A's own entry, and only it, is counted


# --- wall 2: PostgreSQL row-level security -------------------------------------------------
# (What the runtime role cannot lift, whatever it sets: tests/test_rls.py.)


def _seed_two_tenants(pg: DatabaseUnderTest) -> tuple[int, int]:
    engine = create_engine(pg.ops_url)  # ecoute_ops: cross-tenant work, BYPASSRLS
    with engine.begin() as conn:
        ids = []
        for slug in ("rls-a", "rls-b"):
            tid = conn.execute(text("INSERT INTO tenants (slug, name, default_locale, retention_days, is_platform,"
                                    " created_at) VALUES (:s, :s, 'fr', 180, false, now()) RETURNING id"),
                               {"s": slug}).scalar_one()
            conn.execute(text("INSERT INTO users (tenant_id, email, name, role, status, created_at) "
                              "VALUES (:t, :e, '', 'staff', 'active', now())"), {"t": tid, "e": f"x@{slug}.test"})
            ids.append(tid)
    engine.dispose()
    return ids[0], ids[1]


def _enter(conn: Any, pg: DatabaseUnderTest, tenant_id: int) -> None:
    """Open ``tenant_id`` on this connection as webapp.tenancy does: the id with its signature."""
    ops = create_engine(pg.ops_url)
    with ops.connect() as reader:
        key = bytes(reader.execute(text("SELECT key FROM ecoute_private.rls_key")).scalar_one())
    ops.dispose()
    conn.execute(text("SELECT set_config('app.tenant_id', :t, false), set_config('app.tenant_sig', :s, false)"),
                 {"t": str(tenant_id), "s": tenancy.tenant_signature(key, tenant_id)})


def _cleanup(pg: DatabaseUnderTest) -> None:
    engine = create_engine(pg.owner_url)
    with engine.begin() as conn:
        names = ", ".join(t.name for t in Base.metadata.sorted_tables)
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture
def rls(postgres: DatabaseUnderTest) -> Iterator[tuple[DatabaseUnderTest, int, int]]:
    a, b = _seed_two_tenants(postgres)
    yield postgres, a, b
    _cleanup(postgres)


def test_runtime_role_without_setting_sees_no_tenant_rows(rls: tuple[DatabaseUnderTest, int, int]) -> None:
    pg, a, _b = rls
    engine = create_engine(pg.url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM tenants")).scalar_one() == 2  # not tenant data
        for table in ("users", "user_tokens", "audit_events", "jobs"):
            assert conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one() == 0, table  # noqa: S608
        _enter(conn, pg, a)
        assert conn.execute(text("SELECT email FROM users")).scalars().all() == ["x@rls-a.test"]
        conn.execute(text("SELECT set_config('app.tenant_id', '', false)"))
        assert conn.execute(text("SELECT count(*) FROM users")).scalar_one() == 0
        role = conn.execute(text("SELECT rolbypassrls, rolsuper FROM pg_roles WHERE rolname = current_user")).one()
        assert tuple(role) == (False, False)
    engine.dispose()


def test_runtime_role_cannot_write_into_another_tenant(rls: tuple[DatabaseUnderTest, int, int]) -> None:
    pg, a, b = rls
    engine = create_engine(pg.url)
    with engine.connect() as conn:
        _enter(conn, pg, a)
        with pytest.raises(Exception, match="row-level security"):
            conn.execute(text("INSERT INTO users (tenant_id, email, name, role, status, created_at) "
                              "VALUES (:t, 'spy@x.test', '', 'staff', 'active', now())"), {"t": b})
        conn.rollback()
        _enter(conn, pg, a)
        updated = conn.execute(text("UPDATE users SET name = 'pwned' WHERE tenant_id = :t"), {"t": b}).rowcount
        assert updated == 0
        conn.commit()
    engine.dispose()


def test_owner_role_is_bound_by_rls_too(rls: tuple[DatabaseUnderTest, int, int]) -> None:
    pg, a, _b = rls
    engine = create_engine(pg.owner_url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM users")).scalar_one() == 0  # FORCE ROW LEVEL SECURITY
        # As the README says to query as the owner: enter one company for the transaction.
        assert conn.execute(text("SELECT ecoute_private.enter_tenant(:t)"), {"t": a}).scalar_one() == a
        assert conn.execute(text("SELECT email FROM users")).scalars().all() == ["x@rls-a.test"]
        conn.rollback()
        assert conn.execute(text("SELECT count(*) FROM users")).scalar_one() == 0  # transaction-local
    engine.dispose()


def test_ops_role_sees_every_tenant(rls: tuple[DatabaseUnderTest, int, int]) -> None:
    pg, _a, _b = rls
    engine = create_engine(pg.ops_url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT current_user")).scalar_one() == "ecoute_ops"
        assert sorted(conn.execute(text("SELECT email FROM users")).scalars()) == ["x@rls-a.test", "x@rls-b.test"]
    engine.dispose()


def test_every_tenant_table_is_under_row_level_security(rls: tuple[DatabaseUnderTest, int, int]) -> None:
    """A table added without ``rls.enable`` in its migration would be visible to every tenant; one
    whose policy trusts a setting the runtime role can change (app.all_tenants) would be too."""
    from webapp.tenancy import TenantScoped

    pg, _a, _b = rls
    scoped = {m.class_.__tablename__ for m in Base.registry.mappers if issubclass(m.class_, TenantScoped)}
    assert {"clips", "playlists", "playlist_items", "kiosks", "calls", "users", "jobs"} <= scoped
    engine = create_engine(pg.owner_url)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity, count(p.policyname), "
                                 "string_agg(p.qual || ' ' || p.with_check, ' ') "
                                 "FROM pg_class c LEFT JOIN pg_policies p ON p.tablename = c.relname "
                                 "WHERE c.relname = ANY(:names) GROUP BY 1, 2, 3"), {"names": list(scoped)}).all()
    engine.dispose()
    assert {r[0] for r in rows} == scoped
    assert [r[0] for r in rows if not (r[1] and r[2] and r[3] == 1)] == []
    policy = "(tenant_id = ( SELECT ecoute_current_tenant() AS ecoute_current_tenant))"
    assert [r[0] for r in rows if r[4] != f"{policy} {policy}"] == []
