"""The tenant admin's settings pages, through the UI in Debian's Chromium: the company's stereo
layout, and its taxonomy (add a complaint reason with example phrases, rename a topic, retire one)."""

from __future__ import annotations

import re

from flask import Flask
from playwright.sync_api import expect

from tests.browser.conftest import OpenPage
from tests.browser.test_onboarding import log_in, translator
from tests.conftest import PASSWORD, TenantSet
from webapp.models import Role


def test_admin_shapes_the_taxonomy_and_the_stereo_layout(app: Flask, tenants: dict[str, TenantSet],
                                                         new_page: OpenPage) -> None:
    fr = translator(app, "fr")
    page = new_page()
    log_in(page, fr, tenants["a"].users[Role.TENANT_ADMIN].email, PASSWORD)

    page.get_by_role("link", name=fr("Topics"), exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(fr("Topics and complaint reasons"))
    expect(page.locator('tr[data-key="delivery"]')).to_contain_text("Livraison")
    form = page.locator("#label-form")
    form.get_by_label(fr("Kind"), exact=True).select_option("reason")
    form.get_by_label(fr("Label in French"), exact=True).fill("Double prélèvement")
    form.get_by_label(fr("Label in English"), exact=True).fill("Double charge")
    form.get_by_label(fr("Example phrases, one per line"), exact=True).fill("prélevé deux fois\ncharged twice")
    form.get_by_role("button", name=fr("Add"), exact=True).click()
    row = page.locator('tr[data-key="double_charge"]')
    expect(row).to_contain_text("Double prélèvement")
    expect(row.locator("td").nth(2)).to_have_text("2")

    # Rename a default topic: its key stays, so tags already given keep pointing at it.
    waiting = page.locator('tr[data-key="waiting"]')
    waiting.locator("summary").click()
    waiting.get_by_label(fr("Label in French"), exact=True).fill("Attente au téléphone")
    waiting.get_by_role("button", name=fr("Save"), exact=True).click()
    expect(page.locator('tr[data-key="waiting"] summary')).to_have_text("Attente au téléphone")
    page.locator('tr[data-key="website"]').get_by_role("button", name=fr("Retire"), exact=True).click()
    expect(page.locator('tr[data-key="website"]')).to_have_class(re.compile(r"\bretired\b"))
    expect(page.locator('tr[data-key="website"]').get_by_role("button")).to_have_text(fr("Use again"))

    page.get_by_role("link", name=fr("Settings"), exact=True).click()
    page.get_by_label(fr("Agent on the right channel, customer on the left"), exact=True).check()
    # The page has a form per section (the company, the register's clocks, the rating rule), each with its
    # own "Save".
    page.locator("#company-form").get_by_role("button", name=fr("Save"), exact=True).click()
    expect(page.get_by_text(fr("Settings saved."))).to_be_visible()
    expect(page.get_by_label(fr("Agent on the right channel, customer on the left"), exact=True)).to_be_checked()
