"""Logging in and out, throttling, password resets and invitations, as a person does it."""

from __future__ import annotations

import re
from datetime import timedelta

from flask import Flask
from sqlalchemy import select, update

from tests.conftest import PASSWORD, Client, TenantSet
from tests.mail import link_in, mail_to
from tests.support.smtpsink import SmtpSink
from webapp import tenancy
from webapp.db import utcnow
from webapp.models import LoginFailure, Role, User, UserStatus, UserToken


def test_each_role_lands_on_its_home(client: Client, tenants: dict[str, TenantSet]) -> None:
    homes = {Role.TENANT_ADMIN: "/people", Role.QUALITY_MANAGER: "/calls", Role.STAFF: "/room"}
    for role, path in homes.items():
        c = Client(client.raw.application.test_client())
        response = c.login(tenants["a"].users[role].email)
        assert response.headers["Location"] == path
        assert c.get(path).status_code == 200
    root = Client(client.raw.application.test_client())
    assert root.login("root@ecoute.test").headers["Location"] == "/admin/tenants"


def test_wrong_password_is_refused_with_a_message_and_no_session(client: Client,
                                                                  tenants: dict[str, TenantSet]) -> None:
    email = tenants["a"].users[Role.STAFF].email
    response = client.post("/login", {"email": email, "password": "not the password"},
                           headers={"Accept-Language": "en"})
    assert response.status_code == 422
    assert "Wrong e-mail or password." in response.text
    assert client.get("/room").status_code == 302  # still anonymous: sent to the login page


def test_unknown_email_gets_the_same_answer_as_a_wrong_password(client: Client,
                                                                 tenants: dict[str, TenantSet]) -> None:
    en = {"Accept-Language": "en"}
    known = client.post("/login", {"email": tenants["a"].users[Role.STAFF].email, "password": "nope-nope-nope"},
                        headers=en)
    unknown = client.post("/login", {"email": "nobody@nowhere.test", "password": "nope-nope-nope"}, headers=en)
    assert known.status_code == unknown.status_code == 422
    error = re.compile(r'class="form-error"[^>]*>([^<]+)<')
    assert error.findall(known.text) == error.findall(unknown.text) == ["Wrong e-mail or password."]
    assert "nobody@nowhere.test" in unknown.text  # the typed e-mail is kept in the form


def test_logout_ends_the_session(client: Client, tenants: dict[str, TenantSet]) -> None:
    client.login(tenants["a"].users[Role.STAFF].email)
    assert client.get("/room").status_code == 200
    assert client.post("/logout").status_code == 303
    assert client.get("/room").status_code == 302


def test_login_is_throttled_per_account_then_clears_after_success(app: Flask, client: Client,
                                                                   tenants: dict[str, TenantSet]) -> None:
    email = tenants["a"].users[Role.STAFF].email
    limit = app.config["ECOUTE"].login_max_failures_account
    for _ in range(limit):
        assert client.post("/login", {"email": email, "password": "wrong-wrong"}).status_code == 422
    blocked = client.post("/login", {"email": email, "password": PASSWORD}, headers={"Accept-Language": "en"})
    assert blocked.status_code == 429
    assert "Too many failed attempts" in blocked.text
    # Another account from another address is not affected.
    other = Client(app.test_client())
    other.login(tenants["a"].users[Role.QUALITY_MANAGER].email)


def test_login_is_throttled_per_ip(app: Flask, settings_ip_limit: None, tenants: dict[str, TenantSet]) -> None:
    c = Client(app.test_client())
    for n in range(3):
        assert c.post("/login", {"email": f"guess{n}@a.test", "password": "wrong-wrong"}).status_code == 422
    blocked = c.post("/login", {"email": tenants["a"].users[Role.STAFF].email, "password": PASSWORD})
    assert blocked.status_code == 429


def test_password_reset_by_mail_is_single_use(client: Client, smtp: SmtpSink,
                                              tenants: dict[str, TenantSet]) -> None:
    email = tenants["b"].users[Role.STAFF].email
    response = client.post("/password/forgot", {"email": email})
    assert response.status_code == 303
    msg = mail_to(smtp, email)
    assert msg["Subject"] == "Choose a new password for Écoute"  # tenant B speaks English
    link = link_in(msg, "password/reset")
    assert client.get(link).status_code == 200
    new = "a brand new password"
    assert client.post(link, {"password": new, "password_confirm": new}).status_code == 303
    client.login(email, new)
    again = client.post(link, {"password": "yet another one!", "password_confirm": "yet another one!"},
                        headers={"Accept-Language": "en"})
    assert again.status_code == 422
    assert "already been used" in again.text


def test_password_reset_for_unknown_address_says_the_same_and_sends_nothing(client: Client, smtp: SmtpSink,
                                                                            tenants: dict[str, TenantSet]) -> None:
    response = client.post("/password/forgot", {"email": "stranger@nowhere.test"})
    assert response.status_code == 303
    assert smtp.messages == []


def test_expired_reset_link_is_refused(app: Flask, client: Client, smtp: SmtpSink,
                                       tenants: dict[str, TenantSet]) -> None:
    email = tenants["a"].users[Role.STAFF].email
    client.post("/password/forgot", {"email": email})
    link = link_in(mail_to(smtp, email), "password/reset")
    with app.app_context(), tenancy.tenant_session(tenants["a"].id) as session:
        session.execute(update(UserToken).values(expires_at=utcnow() - timedelta(minutes=1)))
    response = client.get(link, headers={"Accept-Language": "en"})
    assert response.status_code == 422
    assert "This link has expired" in response.text
    refused = client.post(link, {"password": "a brand new password", "password_confirm": "a brand new password"})
    assert refused.status_code == 422
    Client(app.test_client()).login(email)  # the old password still works


def test_mismatched_or_short_new_password_changes_nothing(client: Client, smtp: SmtpSink,
                                                          tenants: dict[str, TenantSet]) -> None:
    email = tenants["b"].users[Role.STAFF].email
    client.post("/password/forgot", {"email": email})
    link = link_in(mail_to(smtp, email), "password/reset")
    short = client.post(link, {"password": "short", "password_confirm": "short"}, headers={"Accept-Language": "en"})
    assert short.status_code == 422 and "at least 10 characters" in short.text
    mismatch = client.post(link, {"password": "a long password 1", "password_confirm": "a long password 2"},
                           headers={"Accept-Language": "en"})
    assert mismatch.status_code == 422 and "two passwords are different" in mismatch.text
    # Still usable: the failed attempts did not spend the link.
    assert client.post(link, {"password": "a long password 1", "password_confirm": "a long password 1"}
                       ).status_code == 303


def test_forged_or_malformed_links_are_refused(client: Client, tenants: dict[str, TenantSet]) -> None:
    for link in ("/invitation/garbage", f"/invitation/{tenants['a'].id}.{'x' * 43}", "/password/reset/9.abc",
                 f"/password/reset/{tenants['b'].id}.{'y' * 43}"):
        response = client.get(link, headers={"Accept-Language": "en"})
        assert response.status_code == 422, link
        assert "not valid" in response.text


def test_invitation_link_sets_password_and_activates(app: Flask, smtp: SmtpSink, login_as,
                                                     tenants: dict[str, TenantSet]) -> None:
    admin = login_as("a", Role.TENANT_ADMIN)
    assert admin.post("/people/invite", {"email": "New.Person@A.test", "role": "quality_manager"}).status_code == 303
    msg = mail_to(smtp, "new.person@a.test")
    assert "Entreprise A" in msg["Subject"]
    link = link_in(msg, "invitation")
    newcomer = Client(app.test_client())
    page = newcomer.get(link)
    assert page.status_code == 200 and "new.person@a.test" in page.text
    done = newcomer.post(link, {"name": "Nina Petit", "password": "un mot de passe sûr",
                                "password_confirm": "un mot de passe sûr"})
    assert done.status_code == 303
    assert newcomer.login("new.person@a.test", "un mot de passe sûr").headers["Location"] == "/calls"
    with app.app_context(), tenancy.tenant_session(tenants["a"].id) as session:
        user = session.scalars(select(User).where(User.email == "new.person@a.test")).one()
        assert (user.status, user.name, user.role) == (UserStatus.ACTIVE, "Nina Petit", Role.QUALITY_MANAGER)
    assert newcomer.get(link).status_code == 422  # single use


def test_locale_switch_is_remembered_per_user(app: Flask, login_as, tenants: dict[str, TenantSet]) -> None:
    c = login_as("a", Role.STAFF)
    assert 'lang="fr"' in c.get("/room").text  # tenant A's default
    c.post("/locale", {"locale": "en", "next": "/room"})
    assert 'lang="en"' in c.get("/room").text
    again = Client(app.test_client())  # a new browser: the choice follows the person
    again.login(tenants["a"].users[Role.STAFF].email)
    assert 'lang="en"' in again.get("/room").text


def test_anonymous_locale_follows_accept_language_then_choice(client: Client) -> None:
    assert 'lang="en"' in client.get("/login", headers={"Accept-Language": "en-GB,en;q=0.8"}).text
    assert 'lang="fr"' in client.get("/login", headers={"Accept-Language": "fr-FR"}).text
    client.post("/locale", {"locale": "fr"})
    assert 'lang="fr"' in client.get("/login", headers={"Accept-Language": "en"}).text


def test_login_returns_to_the_page_asked_for_but_never_off_site(client: Client,
                                                                 tenants: dict[str, TenantSet]) -> None:
    asked = client.get("/calls")
    assert asked.status_code == 302 and asked.headers["Location"] == "/login?next=/calls"
    form = client.get(asked.headers["Location"]).text
    assert 'action="/login?next=/calls"' in form
    done = client.post("/login?next=%2Fcalls", {"email": tenants["a"].users[Role.QUALITY_MANAGER].email,
                                                "password": PASSWORD})
    assert done.headers["Location"] == "/calls"
    other = Client(client.raw.application.test_client())
    off_site = other.post("/login?next=//evil.example/x", {"email": tenants["a"].users[Role.STAFF].email,
                                                           "password": PASSWORD})
    assert off_site.headers["Location"] == "/room"


# --- throttling per (address, account), with growing delays ------------------------------


def _fail(client: Client, email: str, token: str) -> int:
    return client.post("/login", {"email": email, "password": "wrong-wrong", "csrf_token": token}).status_code


def _age_failures(app: Flask, seconds: int) -> None:
    """Move every recorded failure ``seconds`` into the past, as if that time had gone by."""
    with app.app_context(), tenancy.tenant_session(None) as session:
        for failure in session.scalars(select(LoginFailure)):
            failure.at -= timedelta(seconds=seconds)


def test_failures_on_one_account_do_not_lock_out_the_office(app: Flask, tenants: dict[str, TenantSet]) -> None:
    """One address (an office behind NAT): colleagues mistype, someone hammers account A; B still logs in."""
    office = Client(app.test_client())
    token = office.csrf_token()
    settings = app.config["ECOUTE"]
    a = tenants["a"].users[Role.STAFF].email
    for n in range(20):
        assert _fail(office, f"typo{n}@a.test", token) == 422
    for _ in range(settings.login_max_failures_account):
        assert _fail(office, a, token) == 422
    refused = office.post("/login", {"email": a, "password": PASSWORD}, headers={"Accept-Language": "en"})
    assert refused.status_code == 429  # A is delayed from this address...
    colleague = Client(app.test_client())
    assert colleague.post("/login", {"email": tenants["a"].users[Role.QUALITY_MANAGER].email,
                                     "password": PASSWORD}).status_code == 303  # ...B is not


def test_a_delayed_account_waits_a_growing_time_not_for_ever(app: Flask, tenants: dict[str, TenantSet]) -> None:
    c = Client(app.test_client())
    token = c.csrf_token()
    settings = app.config["ECOUTE"]
    email = tenants["b"].users[Role.STAFF].email
    for _ in range(settings.login_max_failures_account):
        assert _fail(c, email, token) == 422
    first = c.post("/login", {"email": email, "password": PASSWORD}, headers={"Accept-Language": "en"})
    assert first.status_code == 429
    assert 0 < int(first.headers["Retry-After"]) <= settings.login_delay_s
    assert f"Wait {first.headers['Retry-After']} second" in first.text
    _age_failures(app, settings.login_delay_s + 1)  # the first delay is over: one more try
    assert _fail(c, email, token) == 422
    second = c.post("/login", {"email": email, "password": PASSWORD}, headers={"Accept-Language": "en"})
    assert second.status_code == 429
    assert settings.login_delay_s < int(second.headers["Retry-After"]) <= 2 * settings.login_delay_s  # doubled
    _age_failures(app, 2 * settings.login_delay_s + 1)
    assert c.login(email).headers["Location"] == "/room"  # a delay, never a lockout
    # The successful login forgets this account's failures from this address.
    assert _fail(c, email, token) == 422


def test_the_per_address_ceiling_still_applies_much_higher(app: Flask, tenants: dict[str, TenantSet]) -> None:
    settings = app.config["ECOUTE"]
    assert settings.login_max_failures_ip >= 10 * settings.login_max_failures_account
    c = Client(app.test_client())
    token = c.csrf_token()
    for n in range(settings.login_max_failures_ip):
        assert _fail(c, f"guess{n}@a.test", token) == 422, n
    blocked = c.post("/login", {"email": tenants["a"].users[Role.STAFF].email, "password": PASSWORD})
    assert blocked.status_code == 429
    assert int(blocked.headers["Retry-After"]) > 0


# --- one-time passwords: replaced at first login -----------------------------------------


def _one_time_account(app: Flask, tenant_id: int, email: str, password: str) -> None:
    """An account with an operator-set password, as ``ecoute user create --password`` makes it."""
    from webapp.services import tenants as tenant_service

    with app.app_context(), tenancy.tenant_session(tenant_id) as session:
        home = tenant_service.get_tenant(session, tenant_id)
        tenant_service.upsert_active_user(session, home, email=email, role=Role.QUALITY_MANAGER, password=password,
                                          one_time=True)


def test_a_one_time_password_must_be_replaced_before_anything_else(app: Flask,
                                                                   tenants: dict[str, TenantSet]) -> None:
    given = "printed-once-1234"
    _one_time_account(app, tenants["b"].id, "temp@b.test", given)
    c = Client(app.test_client())
    assert c.login("temp@b.test", given).headers["Location"] == "/password/change"
    page = c.get("/password/change", headers={"Accept-Language": "en"})
    assert page.status_code == 200 and "The password you were given works only once" in page.text
    for path in ("/calls", "/complaints", "/account", "/room", "/clips"):
        response = c.get(path)
        assert response.status_code == 303 and response.headers["Location"] == "/password/change", path
    htmx = c.get("/calls", headers={"HX-Request": "true"})
    assert htmx.headers["HX-Redirect"] == "/password/change"
    assert c.post("/locale", {"locale": "en"}).status_code == 303  # still allowed: language, log out
    # The given password cannot be kept, and a mistyped current password changes nothing.
    same = c.post("/password/change", {"current_password": given, "password": given, "password_confirm": given},
                  headers={"Accept-Language": "en"})
    assert same.status_code == 422 and "different from the current one" in same.text
    wrong = c.post("/password/change", {"current_password": "not-it-at-all", "password": "my very own password",
                                        "password_confirm": "my very own password"}, headers={"Accept-Language": "en"})
    assert wrong.status_code == 422 and "not your current password" in wrong.text
    assert c.get("/calls").status_code == 303
    done = c.post("/password/change", {"current_password": given, "password": "my very own password",
                                       "password_confirm": "my very own password"})
    assert done.status_code == 303 and done.headers["Location"] == "/calls"
    assert c.get("/calls").status_code == 200
    # The one-time password is spent; the chosen one works and asks for nothing more.
    refused = Client(app.test_client()).post("/login", {"email": "temp@b.test", "password": given})
    assert refused.status_code == 422
    assert Client(app.test_client()).login("temp@b.test", "my very own password").headers["Location"] == "/calls"
    with app.app_context(), tenancy.tenant_session(tenants["b"].id) as session:
        user = session.scalars(select(User).where(User.email == "temp@b.test")).one()
        assert user.must_change_password is False


def test_a_one_time_password_logs_in_only_to_the_change_page_even_twice(app: Flask,
                                                                      tenants: dict[str, TenantSet]) -> None:
    given = "printed-once-5678"
    _one_time_account(app, tenants["a"].id, "temp@a.test", given)
    for _ in range(2):
        c = Client(app.test_client())
        assert c.login("temp@a.test", given).headers["Location"] == "/password/change"
        assert c.get("/calls").headers["Location"] == "/password/change"
    # Logging out stays possible.
    assert c.post("/logout").status_code == 303
    assert c.get("/calls").headers["Location"].startswith("/login")
