"""Ending sessions: a session cookie copied before logout, a new password, a deactivation or a
company's suspension opens nothing afterwards, even once the person or company is reactivated.

Each test copies the signed-in cookie into a second browser (as a thief, or a forgotten shared
computer, would hold it), checks that the copy works, then replays it after the event.
"""

from __future__ import annotations

from flask import Flask

from tests.conftest import PASSWORD, Client, TenantSet
from tests.mail import link_in, mail_to
from tests.support.smtpsink import SmtpSink
from webapp.models import Role

COOKIE = "ecoute_session"


def _signed_in(app: Flask, email: str) -> tuple[Client, str]:
    """A client logged in as ``email``, and a copy of its session cookie."""
    client = Client(app.test_client())
    client.login(email)
    cookie = client.raw.get_cookie(COOKIE)
    assert cookie is not None
    return client, cookie.value


def _replay(app: Flask, cookie: str, path: str) -> int:
    """The status of ``path`` for a fresh browser that sends only the copied cookie."""
    other = app.test_client()
    other.set_cookie(COOKIE, cookie)
    return other.get(path).status_code


def test_a_cookie_copied_before_logout_opens_nothing_after(app: Flask, tenants: dict[str, TenantSet]) -> None:
    staff, copied = _signed_in(app, tenants["a"].users[Role.STAFF].email)
    _colleague, colleague_cookie = _signed_in(app, tenants["a"].users[Role.QUALITY_MANAGER].email)
    assert _replay(app, copied, "/room") == 200  # the copy works while the session lives
    assert staff.post("/logout").status_code == 303
    assert _replay(app, copied, "/room") == 302  # sent to the login page
    assert _replay(app, colleague_cookie, "/calls") == 200  # someone else's session goes on
    assert staff.login(tenants["a"].users[Role.STAFF].email).status_code == 303  # and a new login works
    assert staff.get("/room").status_code == 200


def test_a_password_reset_ends_every_session(app: Flask, smtp: SmtpSink, tenants: dict[str, TenantSet]) -> None:
    email = tenants["b"].users[Role.STAFF].email
    _staff, copied = _signed_in(app, email)
    assert _replay(app, copied, "/room") == 200
    anonymous = Client(app.test_client())
    anonymous.post("/password/forgot", {"email": email})
    link = link_in(mail_to(smtp, email), "password/reset")
    new = "a brand new password"
    assert anonymous.post(link, {"password": new, "password_confirm": new}).status_code == 303
    assert _replay(app, copied, "/room") == 302
    fresh = Client(app.test_client())
    fresh.login(email, new)
    assert fresh.get("/room").status_code == 200


def test_changing_ones_password_ends_the_other_sessions_only(app: Flask, tenants: dict[str, TenantSet]) -> None:
    email = tenants["a"].users[Role.QUALITY_MANAGER].email
    here, copied = _signed_in(app, email)
    _elsewhere, elsewhere_cookie = _signed_in(app, email)
    new = "another long password"
    done = here.post("/password/change", {"current_password": PASSWORD, "password": new, "password_confirm": new})
    assert done.status_code == 303, done.text
    assert here.get("/calls").status_code == 200  # this browser stays signed in
    assert _replay(app, copied, "/calls") == 302  # a copy taken before the change does not
    assert _replay(app, elsewhere_cookie, "/calls") == 302  # nor does another browser's session


def test_deactivation_then_reactivation_does_not_revive_a_session(app: Flask, login_as,  # type: ignore[no-untyped-def]
                                                                   tenants: dict[str, TenantSet]) -> None:
    staff = tenants["a"].users[Role.STAFF]
    _client, copied = _signed_in(app, staff.email)
    admin = login_as("a", Role.TENANT_ADMIN)
    assert _replay(app, copied, "/room") == 200
    assert admin.post(f"/people/{staff.id}/deactivate").status_code == 303
    assert _replay(app, copied, "/room") == 302
    assert admin.post(f"/people/{staff.id}/reactivate").status_code == 303
    assert _replay(app, copied, "/room") == 302  # reactivated, but the old session stays ended
    again = Client(app.test_client())
    again.login(staff.email)
    assert again.get("/room").status_code == 200


def test_company_suspension_then_reactivation_does_not_revive_a_session(
        app: Flask, login_as, tenants: dict[str, TenantSet]) -> None:  # type: ignore[no-untyped-def]
    _client, copied = _signed_in(app, tenants["a"].users[Role.QUALITY_MANAGER].email)
    _other, other_company = _signed_in(app, tenants["b"].users[Role.QUALITY_MANAGER].email)
    root = Client(app.test_client())
    root.login("root@ecoute.test")
    assert _replay(app, copied, "/calls") == 200
    assert root.post(f"/admin/tenants/{tenants['a'].id}/suspend").status_code == 303
    assert _replay(app, copied, "/calls") == 302
    assert root.post(f"/admin/tenants/{tenants['a'].id}/reactivate").status_code == 303
    assert _replay(app, copied, "/calls") == 302
    assert _replay(app, other_company, "/calls") == 200  # another company's people are untouched
    assert root.get("/admin/tenants").status_code == 200  # and so is the platform admin who acted


def test_a_role_change_applies_at_once_and_keeps_the_session(app: Flask, login_as,  # type: ignore[no-untyped-def]
                                                              tenants: dict[str, TenantSet]) -> None:
    staff = tenants["a"].users[Role.STAFF]
    client, copied = _signed_in(app, staff.email)
    assert client.get("/calls").status_code == 403
    admin = login_as("a", Role.TENANT_ADMIN)
    assert admin.post(f"/people/{staff.id}/role", {"role": "quality_manager"}).status_code in (200, 303)
    assert client.get("/calls").status_code == 200
    assert _replay(app, copied, "/calls") == 200


def test_no_remember_me_cookie_outlives_the_session(client: Client, tenants: dict[str, TenantSet]) -> None:
    login = client.login(tenants["a"].users[Role.STAFF].email)
    cookies = login.headers.getlist("Set-Cookie")
    assert [c for c in cookies if c.startswith(COOKIE + "=")]
    # flask-login may clear its remember-me cookie; it must never set one (it would log in again).
    assert not [c for c in cookies if c.startswith("remember_token=") and not c.startswith("remember_token=;")]
