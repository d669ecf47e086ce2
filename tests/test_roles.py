"""Each role reaches its own pages and no other; every page is behind the role policy."""

from __future__ import annotations

import inspect
from collections.abc import Callable

import pytest
from flask import Flask

from tests.conftest import Client, TenantSet
from webapp import access
from webapp.context import PrincipalKind
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
    "/coverage": {Role.TENANT_ADMIN, Role.QUALITY_MANAGER},
    "/coverage/people": {Role.TENANT_ADMIN},
    "/room/check-in": {Role.TENANT_ADMIN, Role.QUALITY_MANAGER, Role.STAFF},
    "/insights": {Role.TENANT_ADMIN, Role.QUALITY_MANAGER, Role.STAFF},
    "/insights/voices": {Role.TENANT_ADMIN, Role.QUALITY_MANAGER, Role.STAFF},
    "/register": {Role.TENANT_ADMIN, Role.QUALITY_MANAGER},
    "/register/new": {Role.TENANT_ADMIN, Role.QUALITY_MANAGER},
    "/register/export.csv": {Role.TENANT_ADMIN, Role.QUALITY_MANAGER},
    "/register/export.xlsx": {Role.TENANT_ADMIN, Role.QUALITY_MANAGER},
    "/register/figures": {Role.TENANT_ADMIN},
    "/register/figures.csv": {Role.TENANT_ADMIN},
    "/register/figures.xlsx": {Role.TENANT_ADMIN},
    "/alerts": {Role.TENANT_ADMIN, Role.QUALITY_MANAGER},
    "/alerts/rules": {Role.TENANT_ADMIN, Role.QUALITY_MANAGER},
    "/actions": {Role.TENANT_ADMIN, Role.QUALITY_MANAGER, Role.STAFF},
    "/actions/new": {Role.TENANT_ADMIN, Role.QUALITY_MANAGER},
    "/products": {Role.TENANT_ADMIN},
    "/scorecards": {Role.TENANT_ADMIN, Role.QUALITY_MANAGER, Role.STAFF},
    "/review-packs": {Role.TENANT_ADMIN, Role.QUALITY_MANAGER, Role.STAFF},
    "/exports/calls.csv": {Role.TENANT_ADMIN, Role.QUALITY_MANAGER},
    "/exports/complaints.xlsx": {Role.TENANT_ADMIN, Role.QUALITY_MANAGER},
    "/account": set(Role),
    "/settings/api-tokens": {Role.TENANT_ADMIN},
    "/settings/company": {Role.TENANT_ADMIN},
    "/settings/taxonomy": {Role.TENANT_ADMIN},
    "/settings/kiosks": {Role.TENANT_ADMIN},
    "/workshops": {Role.TENANT_ADMIN, Role.QUALITY_MANAGER},
    "/workshops/new": {Role.TENANT_ADMIN, Role.QUALITY_MANAGER},
    "/settings/kiosks/plays": {Role.TENANT_ADMIN},
    "/settings/kiosks/plays.csv": {Role.TENANT_ADMIN},
}
PUBLIC = {"/", "/login", "/logout", "/password/forgot", "/password/reset/<token>", "/invitation/<token>",
          "/locale", "/healthz", "/readyz", "/static/<path:filename>", "/api/v1/openapi.json"}
#: The integrator API: authenticated by an API token (@access(API_TOKEN)), never by a login.
TOKEN_ROUTES = {"/api/v1/calls", "/api/v1/calls/<int:call_id>", "/api/v1/complaints",
                "/api/v1/complaints/<int:complaint_id>", "/api/v1/ratings", "/api/v1/register/<reference>"}
#: What an unpaired screen reaches: the kiosk's page and files, and pairing (webapp.views.kiosk).
KIOSK_PUBLIC = {"/kiosk", "/kiosk/", '/kiosk/<any("player.js", "kiosk.css", "sw.js"):name>', "/kiosk/pairings",
                "/kiosk/pairings/<code>/qr.svg", "/kiosk/pairings/claim"}
#: A paired screen: its device token (@access(KIOSK)), never a login.
KIOSK_ROUTES = {"/kiosk/manifest.json", "/kiosk/media/<int:clip_id>-<sha256>.webm", "/kiosk/heartbeat",
                "/kiosk/look/<name>", "/kiosk/qr/react-<int:clip_id>.svg", "/kiosk/qr/check-in.svg"}


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
    """Read from the one access registry (webapp.access), which @access fills: one entry per endpoint."""
    declared = access.table(app)
    assert TOKEN_ROUTES <= {rule.rule for rule in app.url_map.iter_rules()}, "a token route has gone"
    assert KIOSK_ROUTES | KIOSK_PUBLIC <= {rule.rule for rule in app.url_map.iter_rules()}, "a kiosk route has gone"
    for rule in app.url_map.iter_rules():
        entry = declared.get(rule.endpoint)
        assert entry is not None, f"{rule.rule} declares no access: add @access(...) to {rule.endpoint}"
        if rule.rule in PUBLIC | KIOSK_PUBLIC:
            assert entry.kind is PrincipalKind.ANONYMOUS, f"{rule.rule}: listed as public but needs credentials"
            continue
        if rule.rule in KIOSK_ROUTES:
            assert entry.kind is PrincipalKind.KIOSK, f"{rule.rule} is not @access(KIOSK)"
            continue
        if rule.rule in TOKEN_ROUTES:
            assert rule.rule.startswith("/api/v1/"), f"{rule.rule}: API tokens open /api/v1 only"
            assert entry.kind is PrincipalKind.API_TOKEN and entry.scopes, f"{rule.rule} is not @access(API_TOKEN)"
            assert not entry.roles, f"{rule.rule}: a login must not open the API"
            continue
        assert not rule.rule.startswith("/api/"), f"{rule.rule}: list it in TOKEN_ROUTES (with @access(API_TOKEN))"
        assert not rule.rule.startswith("/kiosk"), f"{rule.rule}: list it in KIOSK_ROUTES or KIOSK_PUBLIC"
        assert entry.kind is PrincipalKind.PERSON and entry.roles, \
            f"{rule.rule} is not @access(PERSON, roles=...): add one, or list it in PUBLIC"


def test_a_route_without_declared_access_is_refused(make_app: Callable[..., Flask]) -> None:
    """Fail closed: an endpoint added without @access answers 403 to everyone, and the test above names it."""
    app = make_app()
    app.add_url_rule("/undeclared", "undeclared", lambda: "reached")
    assert "undeclared" not in access.table(app)
    response = app.test_client().get("/undeclared")
    assert response.status_code == 403 and "reached" not in response.text


#: How long a view may be, decorators and docstring included: a longer one is doing a service's job.
MAX_VIEW_LINES = 25


def test_views_are_thin(app: Flask) -> None:
    too_long = {}
    for endpoint, view in app.view_functions.items():
        function = inspect.unwrap(view)
        if not function.__module__.startswith("webapp.views."):
            continue
        lines = len(inspect.getsourcelines(function)[0])
        if lines > MAX_VIEW_LINES:
            too_long[endpoint] = lines
    assert not too_long, f"views over {MAX_VIEW_LINES} lines (move the work into a service): {too_long}"


def test_forbidden_page_explains_in_the_users_language(login_as, tenants: dict[str, TenantSet]) -> None:
    french = login_as("a", Role.STAFF).get("/people")  # company A speaks French
    assert french.status_code == 403
    assert "Votre rôle ne donne pas accès à cette page." in french.text
    english = login_as("b", Role.STAFF).get("/people")
    assert english.status_code == 403
    assert "Your role does not give access to this page." in english.text
