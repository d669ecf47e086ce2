"""Tenant admins manage their company's people: invite, resend, revoke, roles, deactivation."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import func, select

from tests.conftest import Client, TenantSet
from tests.mail import link_in, mail_to
from tests.support.smtpsink import SmtpSink
from webapp import tenancy
from webapp.models import AuditEvent, Role, User, UserStatus

EN = {"Accept-Language": "en"}


def _person(app: Flask, tenant_id: int, email: str) -> User | None:
    with app.app_context(), tenancy.tenant_session(tenant_id) as session:
        user = session.scalars(select(User).where(User.email == email)).one_or_none()
        if user is not None:
            session.expunge(user)
        return user


def _count_people(app: Flask, tenant_id: int) -> int:
    with app.app_context(), tenancy.tenant_session(tenant_id) as session:
        return int(session.scalar(select(func.count()).select_from(User)) or 0)


def test_people_page_lists_only_own_company(login_as, tenants: dict[str, TenantSet]) -> None:
    page = login_as("a", Role.TENANT_ADMIN).get("/people")
    assert page.status_code == 200
    assert "quality_manager@a.test" in page.text and "staff@a.test" in page.text
    assert "@b.test" not in page.text


def test_invite_records_audit_and_sends_mail_in_tenant_language(app: Flask, login_as, smtp: SmtpSink,
                                                                tenants: dict[str, TenantSet]) -> None:
    admin = login_as("b", Role.TENANT_ADMIN)
    assert admin.post("/people/invite", {"email": "joe@b.test", "role": "staff", "name": "Joe"}).status_code == 303
    msg = mail_to(smtp, "joe@b.test")
    assert msg["Subject"] == "You are invited to join Entreprise B on Écoute"
    joe = _person(app, tenants["b"].id, "joe@b.test")
    assert joe is not None and joe.status == UserStatus.INVITED and joe.role == Role.STAFF
    with app.app_context(), tenancy.tenant_session(tenants["b"].id) as session:
        actions = session.scalars(select(AuditEvent.action)).all()
    assert "user.invited" in actions


def test_invite_refuses_bad_input_and_changes_nothing(app: Flask, login_as, smtp: SmtpSink,
                                                      tenants: dict[str, TenantSet]) -> None:
    admin = login_as("b", Role.TENANT_ADMIN)
    before = _count_people(app, tenants["b"].id)
    cases = {
        ("not-an-email", "staff", ""): "does not look right",
        ("staff@b.test", "staff", ""): "already in this company",
        ("x@b.test", "platform_admin", ""): "Choose a role from the list",
        ("y@b.test", "staff", "N" * 121): "too long",
        ("z" * 250 + "@b.test", "staff", ""): "does not look right",
    }
    for (email, role, name), message in cases.items():
        response = admin.post("/people/invite", {"email": email, "role": role, "name": name}, headers=EN)
        assert response.status_code == 422, (email, role)
        assert message in response.text, (email, role, response.text)
    assert _count_people(app, tenants["b"].id) == before
    assert smtp.messages == []


def test_same_email_may_work_for_two_companies(app: Flask, login_as, tenants: dict[str, TenantSet]) -> None:
    admin = login_as("b", Role.TENANT_ADMIN)
    # staff@a.test exists in company A only; company B learns nothing and may invite it.
    assert admin.post("/people/invite", {"email": "staff@a.test", "role": "staff"}).status_code == 303
    assert _person(app, tenants["b"].id, "staff@a.test") is not None


def test_resend_invalidates_the_first_link_and_revoke_removes(app: Flask, login_as, smtp: SmtpSink,
                                                              tenants: dict[str, TenantSet]) -> None:
    admin = login_as("a", Role.TENANT_ADMIN)
    admin.post("/people/invite", {"email": "late@a.test", "role": "staff"})
    first = link_in(mail_to(smtp, "late@a.test"), "invitation")
    smtp.clear()
    person = _person(app, tenants["a"].id, "late@a.test")
    assert person is not None
    assert admin.post(f"/people/{person.id}/resend").status_code == 303
    second = link_in(mail_to(smtp, "late@a.test"), "invitation")
    assert first != second
    assert Client(app.test_client()).get(first).status_code == 422
    assert Client(app.test_client()).get(second).status_code == 200
    row = admin.post(f"/people/{person.id}/revoke", htmx=True)
    assert row.status_code == 200 and "person-" not in row.text
    assert _person(app, tenants["a"].id, "late@a.test") is None
    assert Client(app.test_client()).get(second).status_code == 422


def test_change_role_by_htmx_returns_the_row(app: Flask, login_as, tenants: dict[str, TenantSet]) -> None:
    admin = login_as("a", Role.TENANT_ADMIN)
    staff = tenants["a"].users[Role.STAFF]
    row = admin.post(f"/people/{staff.id}/role", {"role": "quality_manager"}, htmx=True)
    assert row.status_code == 200
    assert row.text.lstrip().startswith(f'<tr id="person-{staff.id}"')
    assert "HX-Request" in row.headers["Vary"]
    person = _person(app, tenants["a"].id, staff.email)
    assert person is not None and person.role == Role.QUALITY_MANAGER


def test_the_admin_names_a_persons_department_which_is_journalled(app: Flask, login_as,
                                                                  tenants: dict[str, TenantSet]) -> None:
    admin = login_as("a", Role.TENANT_ADMIN, locale="en")
    staff = tenants["a"].users[Role.STAFF]
    row = admin.post(f"/people/{staff.id}/department", {"department": "  Service   client "}, htmx=True)
    assert row.status_code == 200 and 'value="Service client"' in row.text
    person = _person(app, tenants["a"].id, staff.email)
    assert person is not None and person.department == "Service client"
    too_long = admin.post(f"/people/{staff.id}/department", {"department": "x" * 121}, headers=EN)
    assert too_long.status_code == 422 and "at most 120 characters" in too_long.text
    page = admin.get("/people")
    assert '<option value="Service client">' in page.text  # offered to the next person
    assert "Department changed" in admin.get("/people/journal").text
    other = tenants["b"].users[Role.STAFF]
    assert admin.post(f"/people/{other.id}/department", {"department": "Ventes"}).status_code == 404


def test_the_admin_marks_managers_which_is_journalled(app: Flask, login_as, tenants: dict[str, TenantSet]) -> None:
    admin = login_as("a", Role.TENANT_ADMIN, locale="en")
    staff = tenants["a"].users[Role.STAFF]
    row = admin.post(f"/people/{staff.id}/manager", {"is_manager": "1"}, htmx=True)
    assert row.status_code == 200 and f'id="manager-{staff.id}" name="is_manager" value="1" checked' in row.text
    person = _person(app, tenants["a"].id, staff.email)
    assert person is not None and person.is_manager
    assert admin.post(f"/people/{staff.id}/manager", {}).status_code == 303  # unticked, without JavaScript
    person = _person(app, tenants["a"].id, staff.email)
    assert person is not None and not person.is_manager
    assert admin.get("/people/journal").text.count("Marked as a manager, or no longer") == 2
    assert login_as("a", Role.STAFF).post(f"/people/{staff.id}/manager", {"is_manager": "1"}).status_code == 403
    other = tenants["b"].users[Role.STAFF]
    assert admin.post(f"/people/{other.id}/manager", {"is_manager": "1"}).status_code == 404


def test_deactivated_person_is_logged_out_and_cannot_log_in(app: Flask, login_as,
                                                            tenants: dict[str, TenantSet]) -> None:
    staff_client = login_as("a", Role.STAFF)
    admin = login_as("a", Role.TENANT_ADMIN)
    staff = tenants["a"].users[Role.STAFF]
    assert admin.post(f"/people/{staff.id}/deactivate").status_code == 303
    assert staff_client.get("/room").status_code == 302  # logged out on the next request
    refused = Client(app.test_client()).post("/login", {"email": staff.email, "password": "correct horse battery"},
                                             headers=EN)
    assert refused.status_code == 422 and "deactivated" in refused.text
    admin.post(f"/people/{staff.id}/reactivate")
    Client(app.test_client()).login(staff.email)


def test_company_keeps_an_active_admin(app: Flask, login_as, tenants: dict[str, TenantSet]) -> None:
    admin = login_as("a", Role.TENANT_ADMIN, locale="en")
    me = tenants["a"].users[Role.TENANT_ADMIN]
    own = admin.post(f"/people/{me.id}/deactivate", headers=EN)
    assert own.status_code == 422 and "your own account" in own.text
    demote = admin.post(f"/people/{me.id}/role", {"role": "staff"}, headers=EN)
    assert demote.status_code == 422 and "at least one active administrator" in demote.text
    person = _person(app, tenants["a"].id, me.email)
    assert person is not None and person.role == Role.TENANT_ADMIN and person.status == UserStatus.ACTIVE


def test_journal_shows_who_did_what_to_the_admin_only(login_as, tenants: dict[str, TenantSet]) -> None:
    admin = login_as("b", Role.TENANT_ADMIN)
    staff = tenants["b"].users[Role.STAFF]
    admin.post(f"/people/{staff.id}/role", {"role": "quality_manager"})
    admin.post("/people/invite", {"email": "new@b.test", "role": "staff"})
    journal = admin.get("/people/journal")
    assert journal.status_code == 200
    rows = journal.text.split('id="journal-rows"')[1]
    assert rows.index("Person invited") < rows.index("Role changed")  # newest first
    assert f'<a href="/people#person-{staff.id}">Staff</a>' in rows  # named and linked, not user:ID
    assert login_as("b", Role.QUALITY_MANAGER).get("/people/journal").status_code == 403
    assert "Person invited" not in login_as("a", Role.TENANT_ADMIN).get("/people/journal").text
