"""A product's review pack in Debian's Chromium: its owner opens it from the menu, picks the product
and the semester, reads the masked verbatims, asks for the PDF; the pages have no WCAG 2 A/AA violation
that axe-core finds and their French punctuation is spaced."""

from __future__ import annotations

from flask import Flask
from playwright.sync_api import expect

from tests.browser.conftest import OpenPage
from tests.browser.test_layout import accessibility, french_punctuation
from tests.browser.test_onboarding import log_in, translator
from tests.conftest import PASSWORD, TenantSet
from tests.test_review_packs import PHONE, seed_pack
from webapp.models import Role


def test_an_owner_reads_the_pack_of_their_product_and_asks_for_its_pdf(app: Flask, tenants: dict[str, TenantSet],
                                                                       new_page: OpenPage) -> None:
    data = seed_pack(app, tenants)
    fr = translator(app, "fr")
    page = new_page()
    log_in(page, fr, tenants["a"].users[Role.STAFF].email, PASSWORD)
    page.get_by_role("link", name=fr("Review packs"), exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(fr("Review packs"))
    assert accessibility(page) == []

    page.get_by_label(fr("Product or family"), exact=True).select_option(f"product:{data['product_id']}")
    page.get_by_label(fr("Period"), exact=True).select_option("2026-H1")
    page.get_by_role("button", name=fr("Show the pack"), exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(fr("Review pack: %(name)s", name="Four X"))
    for section in ("Volumes and trend", "Unhappy voices", "Top complaint reasons", "Main topics",
                    "Open complaints in the register", "Actions taken"):
        expect(page.get_by_role("heading", level=2, name=fr(section), exact=True)).to_be_visible()
    reasons = page.locator("#pack-reasons")
    expect(reasons.get_by_role("heading", level=3)).to_have_text("Panne")
    expect(reasons).to_contain_text("rappelez-moi au •••")
    assert PHONE not in page.locator("body").inner_text()
    assert accessibility(page) == []
    assert french_punctuation(page.locator("body").inner_text()) == []

    page.get_by_role("button", name=fr("Make the PDF"), exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(fr("Review pack as PDF"))
    expect(page.locator("#pack-pdf-status")).to_contain_text(
        fr("The PDF is being made. This page shows it when it is ready."))
    assert accessibility(page) == []
