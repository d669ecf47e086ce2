"""The tenant admin's API tokens page: create (shown once, stored hashed), list, revoke."""

from __future__ import annotations

import hashlib
import html
import re
from datetime import datetime, timedelta

from flask import Flask
from sqlalchemy import select

from tests import factories
from tests.conftest import Client, TenantSet
from webapp import principals, tenancy
from webapp.models import ApiToken, AuditEvent, Role, TokenScope

_NEW_TOKEN = re.compile(r'id="new-token"[^>]*value="(ect_[^"]+)"')


def _tokens(app: Flask, tenant_id: int) -> list[ApiToken]:
    with app.app_context(), tenancy.tenant_session(tenant_id) as session:
        return list(session.scalars(select(ApiToken).order_by(ApiToken.id)))


def _audit(app: Flask, tenant_id: int) -> list[tuple[str, str]]:
    with app.app_context(), tenancy.tenant_session(tenant_id) as session:
        return [(e.action, e.target) for e in session.scalars(select(AuditEvent).order_by(AuditEvent.id))
                if e.action.startswith("api_token.")]


def _create(admin: Client, name: str = "Téléphonie", scope: str = "ingest") -> str:
    response = admin.post("/settings/api-tokens", {"name": name, "scope": scope})
    assert response.status_code == 200, response.text
    assert response.headers["Cache-Control"] == "no-store"
    match = _NEW_TOKEN.search(response.text)
    assert match, "the new token is not shown"
    return match.group(1)


def test_token_is_shown_once_and_stored_hashed(app: Flask, login_as, tenants: dict[str, TenantSet]) -> None:
    admin = login_as("a", Role.TENANT_ADMIN, locale="en")
    response = admin.post("/settings/api-tokens", {"name": "  Call   centre ", "scope": "read"})
    assert "it will not be shown again" in response.text
    raw = _NEW_TOKEN.search(response.text).group(1)  # type: ignore[union-attr]
    assert re.fullmatch(rf"ect_{tenants['a'].id}_[A-Za-z0-9_-]{{43}}", raw)
    [token] = _tokens(app, tenants["a"].id)
    assert (token.name, token.scope, token.revoked_at, token.last_used_at) == (
        "Call centre", TokenScope.READ, None, None)
    assert token.token_hash == hashlib.sha256(raw.encode()).hexdigest()
    assert raw.startswith(token.prefix) and len(token.prefix) == len(f"ect_{tenants['a'].id}_") + 6
    assert raw not in repr([getattr(token, c.key) for c in ApiToken.__table__.columns])
    assert _audit(app, tenants["a"].id) == [("api_token.created", f"api_token:{token.id}")]

    page = admin.get("/settings/api-tokens")
    assert page.status_code == 200
    assert raw not in page.text and "new-token" not in page.text  # never shown again
    assert f"{token.prefix}…" in page.text and "Call centre" in page.text and "Read status only" in page.text
    assert "Never" in page.text  # not used yet


def test_invalid_form_is_refused_and_stores_nothing(app: Flask, login_as, tenants: dict[str, TenantSet]) -> None:
    admin = login_as("a", Role.TENANT_ADMIN, locale="en")
    empty = admin.post("/settings/api-tokens", {"name": "  ", "scope": "ingest"})
    assert empty.status_code == 422 and "Give the token a name" in empty.text
    bad_scope = admin.post("/settings/api-tokens", {"name": "CRM", "scope": "admin"})
    assert bad_scope.status_code == 422 and "Choose what the token may do" in bad_scope.text
    assert 'value="CRM"' in bad_scope.text  # what was typed comes back
    assert _tokens(app, tenants["a"].id) == [] and _audit(app, tenants["a"].id) == []


def test_revoke_without_javascript_then_the_token_is_refused(app: Flask, login_as,
                                                             tenants: dict[str, TenantSet]) -> None:
    admin = login_as("a", Role.TENANT_ADMIN, locale="en")
    raw = _create(admin)
    [token] = _tokens(app, tenants["a"].id)
    with app.app_context():
        call_id = factories.make_call(tenants["a"].id)
    url = f"/api/v1/calls/{call_id}"
    assert app.test_client().get(url, headers={"Authorization": f"Bearer {raw}"}).status_code == 200
    [used] = _tokens(app, tenants["a"].id)
    assert used.last_used_at is not None
    assert "Never" not in admin.get("/settings/api-tokens").text

    response = admin.post(f"/settings/api-tokens/{token.id}/revoke")
    assert response.status_code == 303 and response.headers["Location"] == "/settings/api-tokens"
    page = admin.get("/settings/api-tokens")
    assert "Token “Téléphonie” revoked" in page.text and "Revoked on" in page.text
    assert f"/settings/api-tokens/{token.id}/revoke" not in page.text  # nothing left to revoke
    [revoked] = _tokens(app, tenants["a"].id)
    assert revoked.revoked_at is not None
    assert app.test_client().get(url, headers={"Authorization": f"Bearer {raw}"}).status_code == 401
    assert admin.post(f"/settings/api-tokens/{token.id}/revoke").status_code == 303  # again: no change
    assert _audit(app, tenants["a"].id) == [("api_token.created", f"api_token:{token.id}"),
                                            ("api_token.revoked", f"api_token:{token.id}")]


def test_revoke_with_htmx_swaps_the_row(app: Flask, login_as, tenants: dict[str, TenantSet]) -> None:
    admin = login_as("a", Role.TENANT_ADMIN, locale="en")
    _create(admin, name="CRM")
    other = _create(admin, name="Telephony")
    crm, telephony = _tokens(app, tenants["a"].id)
    page = admin.get("/settings/api-tokens").text
    assert f'hx-post="/settings/api-tokens/{crm.id}/revoke"' in page and 'hx-target="#token-' in page
    response = admin.post(f"/settings/api-tokens/{crm.id}/revoke", htmx=True)
    assert response.status_code == 200
    assert "HX-Request" in response.headers["Vary"]
    assert response.text.lstrip().startswith(f'<tr id="token-{crm.id}">') and "<html" not in response.text
    assert "Revoked on" in response.text and "hx-post" not in response.text
    assert [t.revoked_at is not None for t in _tokens(app, tenants["a"].id)] == [True, False]
    assert app.test_client().get("/api/v1/calls/1", headers={"Authorization": f"Bearer {other}"}).status_code == 404
    assert telephony.name == "Telephony"


def test_only_the_tenant_admin_manages_tokens(app: Flask, login_as, tenants: dict[str, TenantSet]) -> None:
    with app.app_context():
        token = factories.make_api_token(tenants["a"].id)
    for role in (Role.QUALITY_MANAGER, Role.STAFF):
        client = login_as("a", role)
        assert client.get("/settings/api-tokens").status_code == 403
        assert client.post("/settings/api-tokens", {"name": "x", "scope": "ingest"}).status_code == 403
        assert client.post(f"/settings/api-tokens/{token.id}/revoke").status_code == 403
    assert [t.revoked_at for t in _tokens(app, tenants["a"].id)] == [None]
    assert len(_tokens(app, tenants["a"].id)) == 1
    admin = login_as("a", Role.TENANT_ADMIN, locale="en")
    assert 'href="/settings/api-tokens"' in admin.get("/people").text  # in the admin's menu
    assert 'href="/settings/api-tokens"' not in login_as("a", Role.QUALITY_MANAGER).get("/calls").text


def test_other_tenants_tokens_are_neither_listed_nor_revocable(app: Flask, login_as,
                                                               tenants: dict[str, TenantSet]) -> None:
    with app.app_context():
        theirs = factories.make_api_token(tenants["b"].id, name="Their CRM")
    admin = login_as("a", Role.TENANT_ADMIN, locale="en")
    assert "Their CRM" not in admin.get("/settings/api-tokens").text
    assert admin.post(f"/settings/api-tokens/{theirs.id}/revoke").status_code == 404
    assert [t.revoked_at for t in _tokens(app, tenants["b"].id)] == [None]


def test_page_and_journal_speak_french(app: Flask, login_as, tenants: dict[str, TenantSet]) -> None:
    admin = login_as("a", Role.TENANT_ADMIN)  # company A speaks French
    page = admin.post("/settings/api-tokens", {"name": "CRM", "scope": "ingest"}).text
    assert "Jetons d'API" in page and "ne sera plus affiché" in page
    journal = html.unescape(admin.get("/people/journal").text)
    assert "Jeton d'API créé" in journal


def test_authenticate_api_token_gives_one_answer_for_every_failure(app: Flask,
                                                                   tenants: dict[str, TenantSet]) -> None:
    with app.app_context():
        good = factories.make_api_token(tenants["a"].id)
    secret = good.raw.split("_", 2)[2]
    for raw in ("", "ect_", "ect_0_" + secret, f"ect_{tenants['a'].id}_short", f"ect_{tenants['b'].id}_{secret}",
                f"xyz_{tenants['a'].id}_{secret}", good.raw + " ", good.raw.upper()):
        with app.test_request_context("/api/v1/calls/1"):
            assert principals.authenticate_api_token(raw) is None, raw
            assert tenancy.current_tenant_id() is None  # the request stays unbound
    with app.test_request_context("/api/v1/calls/1"):
        token = principals.authenticate_api_token(good.raw)
        assert token is not None and token.id == good.id
        assert tenancy.current_tenant_id() == tenants["a"].id


def test_last_used_is_written_at_most_once_a_minute(app: Flask, tenants: dict[str, TenantSet]) -> None:
    with app.app_context():
        token = factories.make_api_token(tenants["a"].id)
        complaint = factories.make_complaint(tenants["a"].id)
    api = app.test_client()

    def use(path: str = f"/api/v1/complaints/{complaint}", status: int = 200) -> datetime | None:
        assert api.get(path, headers={"Authorization": f"Bearer {token.raw}"}).status_code == status
        [row] = [t for t in _tokens(app, tenants["a"].id) if t.id == token.id]
        return row.last_used_at

    first = use("/api/v1/complaints/987654", 404)  # used, even if what it asked for is not there
    assert first is not None
    assert use() == first  # a moment later: not written again
    with app.app_context(), tenancy.tenant_session(tenants["a"].id) as session:
        session.get_one(ApiToken, token.id).last_used_at = first - timedelta(minutes=2)
    later = use()
    assert later is not None and later > first
