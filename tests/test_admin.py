"""Platform admins onboard companies, see them with their head count, suspend them."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import func, select

from tests.conftest import Client, TenantSet
from tests.mail import link_in, mail_to
from tests.support.smtpsink import SmtpSink
from webapp import tenancy
from webapp.models import Role, Tenant

EN = {"Accept-Language": "en"}
NEW = {"name": "Boulangerie Dupain", "slug": "boulangerie-dupain", "default_locale": "fr",
       "retention_days": "90", "admin_email": "patron@dupain.test"}


def _tenant_count(app: Flask) -> int:
    with app.app_context(), tenancy.all_tenants_session() as session:
        return int(session.scalar(select(func.count()).select_from(Tenant)) or 0)


def test_create_tenant_invites_its_admin(app: Flask, login_as, smtp: SmtpSink,
                                         tenants: dict[str, TenantSet]) -> None:
    root = login_as("platform", Role.PLATFORM_ADMIN)
    assert root.post("/admin/tenants", NEW).status_code == 303
    listing = root.get("/admin/tenants")
    assert "Boulangerie Dupain" in listing.text
    msg = mail_to(smtp, "patron@dupain.test")
    assert "Boulangerie Dupain" in msg["Subject"]
    newcomer = Client(app.test_client())
    link = link_in(msg, "invitation")
    newcomer.post(link, {"name": "Paul", "password": "pain au chocolat", "password_confirm": "pain au chocolat"})
    assert newcomer.login("patron@dupain.test", "pain au chocolat").headers["Location"] == "/people"
    with app.app_context(), tenancy.all_tenants_session() as session:
        tenant = session.scalars(select(Tenant).where(Tenant.slug == "boulangerie-dupain")).one()
        assert (tenant.retention_days, tenant.default_locale) == (90, "fr")


def test_tenant_list_shows_people_counts(login_as, tenants: dict[str, TenantSet]) -> None:
    page = login_as("platform", Role.PLATFORM_ADMIN).get("/admin/tenants")
    rows = {tid: page.text.split(f'id="tenant-{tid}"')[1].split("</tr>")[0]
            for tid in (tenants["a"].id, tenants["b"].id)}
    assert all("<td>3</td>" in row for row in rows.values())
    assert 'id="tenant-{}"'.format(tenants["platform"].id) not in page.text  # the platform is not a company


def test_create_tenant_refuses_bad_input(app: Flask, login_as, smtp: SmtpSink,
                                         tenants: dict[str, TenantSet]) -> None:
    root = login_as("platform", Role.PLATFORM_ADMIN, locale="en")
    before = _tenant_count(app)
    cases = [
        ({"slug": "tenant-a"}, "already uses the short name"),
        ({"slug": "Not A Slug!"}, "lower-case letters"),
        ({"slug": "platform"}, "reserved word"),
        ({"name": ""}, "Enter a name"),
        ({"name": "x" * 121}, "too long"),
        ({"admin_email": "nope"}, "does not look right"),
        ({"retention_days": "0"}, "between 1 and 3650"),
        ({"retention_days": "abc"}, "between 1 and 3650"),
        ({"default_locale": "de"}, "French or English"),
    ]
    for change, message in cases:
        response = root.post("/admin/tenants", {**NEW, **change}, headers=EN)
        assert response.status_code == 422, change
        assert message in response.text, (change, response.text)
    assert _tenant_count(app) == before
    assert smtp.messages == []


def test_suspend_locks_out_and_reactivate_restores(app: Flask, login_as, tenants: dict[str, TenantSet]) -> None:
    logged_in = login_as("a", Role.QUALITY_MANAGER)
    root = login_as("platform", Role.PLATFORM_ADMIN, locale="en")
    row = root.post(f"/admin/tenants/{tenants['a'].id}/suspend", htmx=True, headers=EN)
    assert row.status_code == 200 and "Reactivate" in row.text and "Suspended" in row.text
    thrown_out = logged_in.get("/calls")  # at once, and told why on the login page
    assert thrown_out.status_code == 302
    assert "à Écoute est suspendu" in logged_in.get(thrown_out.headers["Location"]).text
    email = tenants["a"].users[Role.STAFF].email
    refused = Client(app.test_client()).post("/login", {"email": email, "password": "correct horse battery"},
                                             headers=EN)
    assert refused.status_code == 422 and "suspended" in refused.text
    Client(app.test_client()).login(tenants["b"].users[Role.STAFF].email)  # B is untouched
    assert root.post(f"/admin/tenants/{tenants['a'].id}/reactivate").status_code == 303
    Client(app.test_client()).login(email)


def test_platform_tenant_cannot_be_suspended(login_as, tenants: dict[str, TenantSet]) -> None:
    root = login_as("platform", Role.PLATFORM_ADMIN)
    assert root.post(f"/admin/tenants/{tenants['platform'].id}/suspend").status_code == 404
    assert root.get("/admin/tenants").status_code == 200
