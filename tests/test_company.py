"""The tenant admin's company settings: default language and how stereo calls are recorded."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import select

from tests.conftest import TenantSet
from webapp import tenancy
from webapp.models import AuditEvent, Role, Tenant


def _tenant(app: Flask, tenant_id: int) -> Tenant:
    with app.app_context(), tenancy.tenant_session(tenant_id) as session:
        tenant = session.get(Tenant, tenant_id)
        assert tenant is not None
        session.expunge(tenant)
        return tenant


def test_admin_changes_the_stereo_layout_and_it_is_journalled(app: Flask, login_as,
                                                              tenants: dict[str, TenantSet]) -> None:
    admin = login_as("a", Role.TENANT_ADMIN, locale="en")
    page = admin.get("/settings/company").text
    assert 'value="agent_left" checked' in page  # the default: agent on the left, as most telephony records
    done = admin.post("/settings/company", {"default_locale": "fr", "stereo_layout": "agent_right"})
    assert done.status_code == 303
    assert "Settings saved." in admin.get("/settings/company").text
    assert _tenant(app, tenants["a"].id).stereo_layout == "agent_right"
    assert _tenant(app, tenants["b"].id).stereo_layout == "agent_left"  # the other company is untouched
    with app.app_context(), tenancy.tenant_session(tenants["a"].id) as session:
        event = session.scalars(select(AuditEvent).where(AuditEvent.action == "tenant.settings_changed")).one()
        assert event.details["stereo_layout"] == ["agent_left", "agent_right"]
    assert "Company settings changed" in admin.get("/people/journal").text


def test_bad_values_are_refused_and_nothing_changes(app: Flask, login_as, tenants: dict[str, TenantSet]) -> None:
    admin = login_as("b", Role.TENANT_ADMIN)
    refused = admin.post("/settings/company", {"default_locale": "en", "stereo_layout": "sideways"})
    assert refused.status_code == 422
    assert "Choose how your stereo recordings are made from the list." in refused.text
    refused = admin.post("/settings/company", {"default_locale": "de", "stereo_layout": "mixed"})
    assert refused.status_code == 422
    tenant = _tenant(app, tenants["b"].id)
    assert (tenant.default_locale, tenant.stereo_layout) == ("en", "agent_left")


def test_only_the_tenant_admin_may_change_settings(login_as) -> None:
    for role in (Role.QUALITY_MANAGER, Role.STAFF):
        assert login_as("a", role).post("/settings/company", {"default_locale": "fr",
                                                              "stereo_layout": "mixed"}).status_code == 403
