"""Product scorecards through the UI in Debian's Chromium (issue #15, item 5): the company admin imports a
ratings CSV, sees the product flagged on the scorecards' watch list, gives it an owner and marks it modified;
each page passes axe-core."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask
from playwright.sync_api import expect

from tests import factories
from tests.browser.conftest import OpenPage
from tests.browser.test_layout import DESKTOP, PHONE, Findings, accessibility, check_pages
from tests.browser.test_onboarding import log_in, translator
from tests.conftest import PASSWORD, TenantSet
from webapp import tenancy
from webapp.db import utcnow
from webapp.models import Rating, Role
from webapp.services import scorecards

OVEN = "Four X2"


def test_admin_imports_ratings_sees_the_product_flagged_and_marks_it_modified(
        app: Flask, tenants: dict[str, TenantSet], new_page: OpenPage) -> None:
    fr = translator(app, "fr")
    page = new_page()
    log_in(page, fr, tenants["a"].users[Role.TENANT_ADMIN].email, PASSWORD)

    page.get_by_role("link", name=fr("Scorecards"), exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(fr("Product scorecards"))
    expect(page.locator("#watch-list")).to_contain_text(fr("No product is on the watch list."))
    day = (utcnow().date() - timedelta(days=2)).strftime("%d/%m/%Y")
    rows = "".join(f"{OVEN};{stars};{day};;avis-{n}\n" for n, stars in enumerate([2, 1, 3, 2, 2, 3, 1, 2, 3, 2]))
    page.get_by_label(fr("CSV file"), exact=True).set_input_files(
        {"name": "notes.csv", "mimeType": "text/csv",
         "buffer": f"Produit;Note;Date;Avis;Identifiant\n{rows}Grille-pain;5;{day};Parfait;avis-x\n".encode()})
    page.get_by_role("button", name=fr("Import"), exact=True).click()
    expect(page.get_by_text("11 notes importées.")).to_be_visible()
    watch = page.locator("#watch-list")
    expect(watch.locator(f'tr[data-product="{OVEN}"]')).to_contain_text("2,1 / 5")
    expect(watch).not_to_contain_text("Grille-pain")
    expect(page.locator(f'#scorecards tr[data-product="{OVEN}"]')).to_contain_text(fr("On the watch list"))
    assert accessibility(page) == []

    # The products page: give the oven an owner, then mark it modified from its scorecard.
    page.get_by_role("link", name=fr("Products"), exact=True).click()
    row = page.locator(f'tr[data-product="{OVEN}"]')
    row.get_by_label(fr("Owner of %(product)s", product=OVEN), exact=True).select_option(
        label=tenants["a"].users[Role.QUALITY_MANAGER].email.split("@")[0].title())
    row.get_by_label(fr("Family of %(product)s", product=OVEN), exact=True).fill("Cuisson")
    row.get_by_role("button", name=fr("Save"), exact=True).click()
    expect(page.get_by_text(fr("Product saved."))).to_be_visible()
    expect(page.locator(f'tr[data-product="{OVEN}"]').get_by_label(
        fr("Family of %(product)s", product=OVEN), exact=True)).to_have_value("Cuisson")
    assert accessibility(page) == []

    page.locator(f'tr[data-product="{OVEN}"]').get_by_role("link", name=OVEN, exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(fr("Scorecard: %(product)s", product=OVEN))
    expect(page.locator("#watch-notice")).to_be_visible()
    assert accessibility(page) == []
    page.get_by_role("button", name=fr("Mark as modified"), exact=True).click()
    expect(page.locator("#watch-notice")).to_contain_text(fr("Marked as modified on %(day)s: the ratings given "
                                                             "after that day decide when it leaves the list.",
                                                             day="")[:20])
    # Still on the watch list: only ratings given after the modification can take it off.
    page.get_by_role("link", name=fr("All scorecards"), exact=True).click()
    expect(page.locator(f'#watch-list tr[data-product="{OVEN}"]')).to_be_visible()


def test_the_scorecard_pages_fit_a_phone_with_french_typography(app: Flask, tenants: dict[str, TenantSet],
                                                               new_page: OpenPage) -> None:
    """... with a product on the watch list, one estimated from voices, and the company settings' 3/5 form."""
    a = tenants["a"].id
    with app.app_context():
        product_id = factories.make_product(a, name=OVEN)
        factories.make_call(a, product="Lave-linge L5")
        with tenancy.tenant_session(a) as session:
            session.add_all([Rating(product=OVEN, stars=1, rated_on=utcnow().date()) for _ in range(10)])
        scorecards.run_rating_rule(a)
    findings = Findings([], [], [])
    for viewport, label in ((PHONE, "phone"), (DESKTOP, "desktop")):
        page = new_page(viewport=viewport)
        log_in(page, translator(app, "fr"), tenants["a"].users[Role.TENANT_ADMIN].email, PASSWORD)
        check_pages(page, ["/scorecards", f"/scorecards/{product_id}", "/products", "/settings/company"], label,
                    findings)
    assert not findings.wide, "pages wider than the screen:\n" + "\n".join(findings.wide)
    assert not findings.accessibility, "axe-core, WCAG 2 A/AA:\n" + "\n".join(findings.accessibility)
    assert not findings.typography, "French punctuation without its no-break space:\n" + "\n".join(findings.typography)
