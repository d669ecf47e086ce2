"""Alerts in Debian's Chromium: a quality manager sets a rule through the form (a mistake first, told
what to fix), the night's evaluation raises an alert, and the alerts page lists it with its figures
and the calls behind it; a person who has not opened the alerts since sees them counted in the menu;
the pages have no WCAG 2 A/AA violation that axe-core finds."""

from __future__ import annotations

import re

from flask import Flask
from playwright.sync_api import expect

from tests.browser.conftest import ConsoleWatch, OpenPage
from tests.browser.test_layout import accessibility
from tests.browser.test_onboarding import log_in, translator
from tests.conftest import PASSWORD, TenantSet
from tests.test_alerts import TODAY, WINDOW_DAY, _evaluate, _voices
from webapp.models import Role


def test_a_rule_set_in_the_form_raises_an_alert_listed_with_its_voices(
        app: Flask, tenants: dict[str, TenantSet], new_page: OpenPage, console: ConsoleWatch) -> None:
    console.allow(r"/alerts/rules .*status of 422")  # the form with a mistake, answered with what to fix
    fr = translator(app, "fr")
    page = new_page()
    log_in(page, fr, tenants["a"].users[Role.QUALITY_MANAGER].email, PASSWORD)
    page.get_by_role("link", name=fr("Alerts"), exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(fr("Alerts"))
    expect(page.get_by_role("heading", level=2)).to_have_text(fr("No alerts yet"))
    assert accessibility(page) == []

    page.get_by_role("link", name=fr("Alert rules"), exact=True).first.click()
    form = page.locator("#rule-create")
    form.get_by_label(fr("Name"), exact=True).fill("Four X200 mécontents")
    form.get_by_label(fr("About"), exact=True).select_option("product")
    form.get_by_role("button", name=fr("Save the rule"), exact=True).click()
    expect(page.locator("#form-error")).to_have_text(fr("Choose the product, topic or reason the threshold watches."))
    assert accessibility(page) == []
    form.get_by_label(fr("Product"), exact=True).fill("Four X200")
    form.get_by_role("button", name=fr("Save the rule"), exact=True).click()
    row = page.locator("#rule-rows tr").first
    expect(row).to_contain_text("Four X200 mécontents")
    expect(row).to_contain_text("Four X200")
    assert accessibility(page) == []

    with app.app_context():
        _voices(tenants["a"].id, 25, WINDOW_DAY, sentiment="unhappy", product="Four X200")
        assert len(_evaluate(tenants["a"].id, TODAY)) == 1
    page.get_by_role("link", name=fr("Alerts"), exact=True).first.click()
    alert = page.locator("#alert-rows tr").first
    expect(alert).to_contain_text("Four X200 mécontents")
    expect(alert).to_contain_text("25")
    assert accessibility(page) == []
    alert.get_by_role("link", name=fr("Complaints"), exact=True).click()
    expect(page).to_have_url(re.compile(r"/complaints\?.*product=Four\+X200.*sentiment=unhappy"))
    expect(page.locator("#complaint-rows tr")).to_have_count(25)

    # The admin has not opened the alerts since: the menu counts the new one, in words for a screen reader.
    admin = new_page()
    log_in(admin, fr, tenants["a"].users[Role.TENANT_ADMIN].email, PASSWORD)
    counted = admin.locator(".mainnav a", has=admin.locator(".menu-count"))
    expect(counted).to_have_count(1)
    expect(counted).to_have_accessible_name(f"{fr('Alerts')} 1 nouvelle depuis votre dernière visite")
    assert accessibility(admin) == []
    counted.click()
    expect(admin.get_by_role("heading", level=1)).to_have_text(fr("Alerts"))
    expect(admin.locator(".menu-count")).to_have_count(0)  # opened: nothing new any more
    expect(admin.get_by_role("link", name=fr("Alerts"), exact=True)).to_have_count(1)
