"""Personal data through the UI in Debian's Chromium: a quality manager erases a call from its page
(confirming why); the tenant admin finds one customer's data by reference and erases it, and
shortens the company's retention period."""

from __future__ import annotations

from flask import Flask
from playwright.sync_api import expect

from tests import factories
from tests.browser.conftest import OpenPage
from tests.browser.test_onboarding import log_in, translator
from tests.conftest import PASSWORD, TenantSet
from tests.test_clips import processed_call
from webapp import tenancy
from webapp.models import Call, Complaint, Role, Tenant


def test_a_call_then_a_customer_are_erased_and_the_retention_shortened(
        app: Flask, tenants: dict[str, TenantSet], new_page: OpenPage) -> None:
    fr = translator(app, "fr")
    a = tenants["a"].id
    with app.app_context():
        call_id = processed_call(a, consent="yes")
        factories.make_clip(a, call_id, start=0.5, end=2.5)
        complaint_id = factories.make_complaint(a, customer_ref="CRM-7")
        kept_id = factories.make_complaint(a, customer_ref="CRM-8")

    page = new_page()
    log_in(page, fr, tenants["a"].users[Role.QUALITY_MANAGER].email, PASSWORD)
    page.goto(f"/calls/{call_id}")
    page.get_by_role("link", name=fr("Erase this call…"), exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(fr("Erase call #%(id)d", id=call_id))
    expect(page.locator("#erase-confirm")).to_contain_text(fr("Its tags"))
    page.get_by_role("button", name=fr("Erase for good"), exact=True).click()  # no reason: the browser asks
    expect(page.get_by_role("heading", level=1)).to_have_text(fr("Erase call #%(id)d", id=call_id))
    page.get_by_label(fr("The customer asked for it"), exact=True).check()
    page.get_by_role("button", name=fr("Erase for good"), exact=True).click()
    expect(page.get_by_text(fr("Call #%(id)d erased, with its clips. Its files are being deleted.",
                               id=call_id))).to_be_visible()
    expect(page.locator(f'a[href="/calls/{call_id}"]')).to_have_count(0)

    admin = new_page()
    log_in(admin, fr, tenants["a"].users[Role.TENANT_ADMIN].email, PASSWORD)
    admin.get_by_role("link", name=fr("Personal data"), exact=True).click()
    admin.get_by_placeholder(fr("Customer reference")).fill("CRM-7")
    admin.get_by_role("button", name=fr("Find"), exact=True).click()
    footprint = admin.locator("#customer-footprint")
    expect(footprint).to_contain_text(fr("For the reference “%(ref)s”:", ref="CRM-7"))
    expect(footprint).to_contain_text("1 réclamation écrite")
    admin.get_by_label(fr("I confirm: erase all of it. This cannot be undone."), exact=True).check()
    admin.get_by_role("button", name=fr("Erase this customer's data"), exact=True).click()
    expect(admin.get_by_text(fr("Customer “%(ref)s” erased. Calls: %(calls)d. Complaints: %(complaints)d.",
                                ref="CRM-7", calls=0, complaints=1))).to_be_visible()

    admin.get_by_label(fr("Days kept after the date received"), exact=True).fill("90")
    admin.get_by_role("button", name=fr("Save"), exact=True).click()
    expect(admin.get_by_text(fr("Retention period saved."))).to_be_visible()
    expect(admin.get_by_label(fr("Days kept after the date received"), exact=True)).to_have_value("90")

    with app.app_context(), tenancy.tenant_session(a) as session:
        assert session.get(Call, call_id) is None and session.get(Complaint, complaint_id) is None
        assert session.get(Complaint, kept_id) is not None
        tenant = session.get(Tenant, a)
        assert tenant is not None and tenant.retention_days == 90
