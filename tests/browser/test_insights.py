"""The insight dashboard in Debian's Chromium: its Chart.js charts drawn under the strict CSP, each beside
its table, no WCAG 2 A/AA violation that axe-core finds, and a number that opens the calls behind it."""

from __future__ import annotations

import re

from flask import Flask
from flask_babel import force_locale, ngettext
from playwright.sync_api import expect

from tests.browser.conftest import OpenPage
from tests.browser.test_layout import accessibility, overflow
from tests.browser.test_onboarding import log_in, translator
from tests.conftest import PASSWORD, TenantSet
from tests.test_insights import WEEK, _seed
from webapp.models import Role


def test_the_dashboard_draws_its_charts_and_a_number_opens_its_calls(app: Flask, tenants: dict[str, TenantSet],
                                                                     new_page: OpenPage) -> None:
    with app.app_context():
        _seed(tenants["a"].id, tenants["b"].id)
    fr = translator(app, "fr")
    page = new_page()
    log_in(page, fr, tenants["a"].users[Role.TENANT_ADMIN].email, PASSWORD)
    page.get_by_role("link", name=fr("Insights"), exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(fr("Insights"))

    page.goto(WEEK)
    for chart in ("volumes", "sentiments", "topics", "reasons"):
        canvas = page.locator(f"#{chart}-chart")
        expect(canvas).to_have_attribute("data-drawn", "true")  # static/js/insights.js ran Chart.js
        assert canvas.bounding_box() is not None and canvas.bounding_box()["height"] > 100  # type: ignore[index]
        expect(page.locator(f"#{chart}-table")).to_be_visible()
    delivery = page.locator('#topics-table tr[data-key="delivery"]')
    expect(delivery.locator("th")).to_have_text("Livraison")
    expect(delivery).to_contain_text(fr("significant rise"))
    assert accessibility(page) == []

    delivery.locator("td.n-calls a").click()
    expect(page).to_have_url(re.compile(r"/calls\?.*topic=delivery.*passing=main"))
    with app.test_request_context(), force_locale("fr"):
        thirty = ngettext("%(num)d call", "%(num)d calls", 30)
    expect(page.get_by_role("status")).to_have_text(thirty)

    page.goto("/insights/voices?topic=delivery&passing=main&date_from=2026-11-24&date_to=2026-11-30")
    expect(page.locator("#voice-clips")).to_contain_text("Livreur en retard")
    assert accessibility(page) == []


def test_the_dashboard_fits_a_phone(app: Flask, tenants: dict[str, TenantSet], new_page: OpenPage) -> None:
    with app.app_context():
        _seed(tenants["a"].id, tenants["b"].id)
    fr = translator(app, "fr")
    page = new_page(viewport={"width": 390, "height": 844})
    log_in(page, fr, tenants["a"].users[Role.TENANT_ADMIN].email, PASSWORD)
    page.goto(WEEK)
    expect(page.locator("#volumes-chart")).to_have_attribute("data-drawn", "true")
    found = overflow(page)
    assert found["scrollWidth"] <= found["innerWidth"], found  # type: ignore[operator]
    assert accessibility(page) == []
