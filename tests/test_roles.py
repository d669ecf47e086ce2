"""Each role reaches its own pages and no other; every page is behind the role policy."""

from __future__ import annotations

import pytest
from flask import Flask

from tests.conftest import Client, TenantSet
from webapp.models import Role

PAGES = {
    "/admin/tenants": {Role.PLATFORM_ADMIN},
    "/people": {Role.TENANT_ADMIN},
    "/people/journal": {Role.TENANT_ADMIN},
    "/complaints": {Role.TENANT_ADMIN, Role.QUALITY_MANAGER},
    "/calls/upload": {Role.TENANT_ADMIN, Role.QUALITY_MANAGER},
    "/calls": {Role.TENANT_ADMIN, Role.QUALITY_MANAGER},
    "/clips": {Role.TENANT_ADMIN, Role.QUALITY_MANAGER},
    "/playlists": {Role.TENANT_ADMIN, Role.QUALITY_MANAGER},
    "/room": {Role.TENANT_ADMIN, Role.QUALITY_MANAGER, Role.STAFF},
    "/account": set(Role),
    "/settings/api-tokens": {Role.TENANT_ADMIN},
    "/settings/company": {Role.TENANT_ADMIN},
    "/settings/taxonomy": {Role.TENANT_ADMIN},
    "/settings/kiosks": {Role.TENANT_ADMIN},
}
PUBLIC = {"/", "/login", "/logout", "/password/forgot", "/password/reset/<token>", "/invitation/<token>",
          "/locale", "/healthz", "/readyz", "/static/<path:filename>", "/api/v1/openapi.json"}
#: The integrator API: authenticated by an API token (webapp.views.api.requires_token), never by a login.
TOKEN_ROUTES = {"/api/v1/calls", "/api/v1/calls/<int:call_id>", "/api/v1/complaints",
                "/api/v1/complaints/<int:complaint_id>"}
#: What an unpaired screen reaches: the kiosk's page and files, and pairing (webapp.views.kiosk).
KIOSK_PUBLIC = {"/kiosk", "/kiosk/", '/kiosk/<any("player.js", "kiosk.css", "sw.js"):name>', "/kiosk/pairings",
                "/kiosk/pairings/<code>/qr.svg", "/kiosk/pairings/claim"}
#: A paired screen: its device token (webapp.views.kiosk.requires_kiosk), never a login.
KIOSK_ROUTES = {"/kiosk/manifest.json", "/kiosk/media/<int:clip_id>-<sha256>.webm", "/kiosk/heartbeat"}


@pytest.mark.parametrize("role", list(Role))
def test_role_reaches_only_its_pages(app: Flask, tenants: dict[str, TenantSet], role: Role) -> None:
    client = Client(app.test_client())
    home = tenants["platform"] if role == Role.PLATFORM_ADMIN else tenants["a"]
    client.login(home.users[role].email)
    for path, allowed in PAGES.items():
        status = client.get(path).status_code
        assert status == (200 if role in allowed else 403), f"{role} {path}: {status}"


def test_anonymous_is_sent_to_login(client: Client) -> None:
    for path in PAGES:
        response = client.get(path)
        assert response.status_code == 302 and response.headers["Location"].startswith("/login"), path


def test_every_route_is_public_on_purpose_or_role_checked(app: Flask) -> None:
    assert TOKEN_ROUTES <= {rule.rule for rule in app.url_map.iter_rules()}, "a token route has gone"
    assert KIOSK_ROUTES | KIOSK_PUBLIC <= {rule.rule for rule in app.url_map.iter_rules()}, "a kiosk route has gone"
    for rule in app.url_map.iter_rules():
        if rule.rule in PUBLIC | KIOSK_PUBLIC:
            continue
        if rule.rule in KIOSK_ROUTES:
            view = app.view_functions[rule.endpoint]
            assert getattr(view, "ecoute_kiosk_only", False), f"{rule.rule} has no @requires_kiosk"
            continue
        view = app.view_functions[rule.endpoint]
        if rule.rule in TOKEN_ROUTES:
            assert rule.rule.startswith("/api/v1/"), f"{rule.rule}: API tokens open /api/v1 only"
            assert getattr(view, "ecoute_token_scopes", None), f"{rule.rule} has no @requires_token"
            assert not getattr(view, "ecoute_roles", None), f"{rule.rule}: a login must not open the API"
            continue
        assert not rule.rule.startswith("/api/"), f"{rule.rule}: list it in TOKEN_ROUTES (with @requires_token)"
        assert not rule.rule.startswith("/kiosk"), f"{rule.rule}: list it in KIOSK_ROUTES or KIOSK_PUBLIC"
        assert getattr(view, "ecoute_roles", None), \
            f"{rule.rule} has no @requires_role: add one, or list it in PUBLIC"


def test_forbidden_page_explains_in_the_users_language(login_as, tenants: dict[str, TenantSet]) -> None:
    french = login_as("a", Role.STAFF).get("/people")  # company A speaks French
    assert french.status_code == 403
    assert "Votre rôle ne donne pas accès à cette page." in french.text
    english = login_as("b", Role.STAFF).get("/people")
    assert english.status_code == 403
    assert "Your role does not give access to this page." in english.text
