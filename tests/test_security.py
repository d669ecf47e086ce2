"""CSRF, security headers, cookies, and oversized input."""

from __future__ import annotations

import re

from flask import Flask

from tests.conftest import PASSWORD, Client, TenantSet
from webapp.models import Role
from webapp.security import CSP


def _session_cookie(cookies: list[str]) -> str:
    return next(c for c in cookies if c.startswith("ecoute_session="))


def test_post_without_csrf_token_is_refused_and_changes_nothing(app: Flask, login_as,
                                                                tenants: dict[str, TenantSet]) -> None:
    admin = login_as("a", Role.TENANT_ADMIN, locale="en")
    staff = tenants["a"].users[Role.STAFF]
    response = admin.post(f"/people/{staff.id}/deactivate", csrf=False)
    assert response.status_code == 400
    assert "The form has expired" in response.text
    assert login_as("a", Role.STAFF).get("/room").status_code == 200  # still active


def test_login_without_csrf_token_is_refused(client: Client, tenants: dict[str, TenantSet]) -> None:
    response = client.post("/login", {"email": tenants["a"].users[Role.STAFF].email, "password": PASSWORD},
                           csrf=False)
    assert response.status_code == 400
    assert client.get("/room").status_code == 302


def test_htmx_requests_carry_the_token_in_a_header(login_as, tenants: dict[str, TenantSet]) -> None:
    admin = login_as("a", Role.TENANT_ADMIN)
    page = admin.get("/people").text
    token = re.search(r'hx-headers=\'\{"X-CSRFToken": "([^"]+)"\}\'', page)
    assert token
    staff = tenants["a"].users[Role.STAFF]
    response = admin.raw.post(f"/people/{staff.id}/role", data={"role": "quality_manager"},
                              headers={"HX-Request": "true", "X-CSRFToken": token.group(1)})
    assert response.status_code == 200
    failed = admin.raw.post(f"/people/{staff.id}/role", data={"role": "staff"}, headers={"HX-Request": "true"})
    assert failed.status_code == 400 and failed.headers["HX-Retarget"] == "#flash"


def test_security_headers_and_cookie_flags(client: Client, tenants: dict[str, TenantSet]) -> None:
    page = client.get("/login")
    assert page.headers["Content-Security-Policy"] == CSP
    assert "script-src 'self'" in CSP and "unsafe-inline" not in CSP
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    assert page.headers["X-Frame-Options"] == "DENY"
    assert page.headers["X-Request-Id"]
    login = client.post("/login", {"email": tenants["a"].users[Role.STAFF].email, "password": PASSWORD})
    cookie = _session_cookie(login.headers.getlist("Set-Cookie"))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # served over plain HTTP in tests


def test_secure_cookie_when_served_over_https(make_app, tenants: dict[str, TenantSet]) -> None:
    https = make_app(base_url="https://ecoute.example")
    client = Client(https.test_client())
    login = client.post("/login", {"email": tenants["a"].users[Role.STAFF].email, "password": PASSWORD})
    assert "Secure" in _session_cookie(login.headers.getlist("Set-Cookie"))
    assert https.test_client().get("/login").headers["Strict-Transport-Security"]


def test_pages_have_no_inline_script_or_style(login_as, client: Client) -> None:
    pages = [client.get("/login").text, login_as("a", Role.TENANT_ADMIN).get("/people").text]
    for html in pages:
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)
        assert "<style" not in html and " style=" not in html


def test_oversized_form_is_refused(login_as) -> None:
    admin = login_as("a", Role.TENANT_ADMIN)
    response = admin.post("/people/invite", {"email": "a@b.test", "role": "staff", "name": "x" * (2 * 1024 * 1024)})
    assert response.status_code == 413


def test_request_id_is_kept_from_the_proxy(client: Client) -> None:
    assert client.get("/healthz", headers={"X-Request-Id": "abc123"}).headers["X-Request-Id"] == "abc123"
