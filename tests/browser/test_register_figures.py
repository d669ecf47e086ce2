"""The regulator's yearly complaint figures through the UI in Debian's Chromium (issue #15, item 7): the
company admin opens them from the register, picks a year, reads the counts, and the page passes axe-core;
the register's list offers its rows as CSV and XLSX with its filters."""

from __future__ import annotations

from datetime import date

from flask import Flask
from playwright.sync_api import expect

from tests.browser.conftest import OpenPage
from tests.browser.test_layout import accessibility
from tests.browser.test_onboarding import log_in, translator
from tests.conftest import PASSWORD, TenantSet
from webapp import tenancy
from webapp.models import Channel, Label, LabelKind, Role
from webapp.services import register


def _entries(tenant_id: int) -> None:
    with tenancy.tenant_session(tenant_id) as session:
        session.add(Label(kind=LabelKind.REASON, key="billing", label_fr="Facturation", label_en="Billing"))
        for received, channel, reasons in ((date(2025, 3, 2), Channel.EMAIL, ["billing"]),
                                           (date(2025, 6, 9), Channel.PHONE, []),
                                           (date(2024, 1, 8), Channel.LETTER, ["billing"])):
            register.create_entry(session, actor=register.Actor.machine(), received_on=received, channel=channel,
                                  reasons=reasons, subject="Réclamation")


def test_the_admin_reads_the_years_figures(app: Flask, tenants: dict[str, TenantSet], new_page: OpenPage) -> None:
    with app.app_context():
        _entries(tenants["a"].id)
    fr = translator(app, "fr")
    page = new_page()
    log_in(page, fr, tenants["a"].users[Role.TENANT_ADMIN].email, PASSWORD)
    page.goto("/register?status=received")
    downloads = page.locator(".downloads a")
    expect(downloads.first).to_have_attribute("href", "/register/export.csv?status=received")
    expect(downloads.nth(1)).to_have_attribute("href", "/register/export.xlsx?status=received")

    page.get_by_role("link", name=fr("Yearly figures"), exact=True).click()
    page.get_by_label(fr("Year"), exact=True).select_option("2025")
    page.get_by_role("button", name=fr("Show"), exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(fr("Complaint figures %(year)d", year=2025))
    expect(page.locator("#figures-total")).to_have_text("2 réclamations reçues")
    expect(page.locator('#figures-reason-table tr[data-key="billing"] td')).to_have_text("1")
    expect(page.locator('#figures-channel-table tr[data-key="phone"] td')).to_have_text("1")
    expect(page.locator('#figures-answer-table tr[data-key="not_yet"] td')).to_have_text("2")
    expect(page.locator(".downloads a").first).to_have_attribute("href", "/register/figures.csv?year=2025")
    assert accessibility(page) == []
