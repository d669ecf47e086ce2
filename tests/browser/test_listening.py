"""A person's own listening page in Chromium (issue #16, item 2): it plays the room's playlist with
captions, the listening time shown rises after playback (counted from the audio element, not from the
page load), and the page passes axe-core."""

from __future__ import annotations

import re

from flask import Flask
from playwright.sync_api import expect

from tests import factories
from tests.browser.conftest import OpenPage
from tests.browser.test_layout import DESKTOP, PHONE, Findings, check_pages
from tests.browser.test_onboarding import log_in, translator
from tests.conftest import PASSWORD, TenantSet
from tests.test_coverage import seed_company
from tests.test_listening import _own
from webapp.models import Role


def test_staff_play_a_clip_and_their_listening_time_rises(
        app: Flask, tenants: dict[str, TenantSet], new_page: OpenPage) -> None:
    fr, a = translator(app, "fr"), tenants["a"].id
    with app.app_context():
        call = factories.make_ready_call(a, seconds=6.0)
        first = factories.make_clip(a, call, start=0.0, end=2.5, render=True, approve=True, title="Premier appel")
        second = factories.make_clip(a, call, start=3.0, end=5.5, render=True, approve=True, title="Second appel")
        factories.make_kiosk(a, factories.make_playlist(a, [first, second], name="Salle"))
    me = tenants["a"].users[Role.STAFF]
    page = new_page()
    log_in(page, fr, me.email, PASSWORD)
    expect(page).to_have_url(re.compile(r"/room$"))
    expect(page.locator("#listen-clip-title")).to_have_text("Premier appel")
    total = page.locator("#listen-total")
    expect(total).to_have_attribute("data-seconds", "0.0")
    page.wait_for_timeout(500)
    assert _own(app, a, me.id) == []  # opening the page counts nothing

    with page.expect_response(re.compile(r"/room/played$")) as answer:
        page.locator("#listen-audio").evaluate("p => p.play()")
    assert answer.value.status == 200
    page.wait_for_function("() => parseFloat(document.getElementById('listen-total').dataset.seconds) > 1.5")
    expect(page.locator("#listen-clip-title")).to_have_text("Second appel")  # the next clip follows
    rows = _own(app, a, me.id)
    assert rows and rows[0].clip_id == first and 1.5 < sum(r.seconds for r in rows) < 3.5
    page.locator("#listen-audio").evaluate("p => p.pause()")

    findings = Findings([], [], [])
    for viewport, label in ((PHONE, "phone"), (DESKTOP, "desktop")):
        viewer = new_page(viewport=viewport)
        log_in(viewer, fr, me.email, PASSWORD)
        check_pages(viewer, ["/room"], label, findings)
    assert not findings.wide, "pages wider than the screen:\n" + "\n".join(findings.wide)
    assert not findings.accessibility, "axe-core, WCAG 2 A/AA:\n" + "\n".join(findings.accessibility)


def test_the_coverage_pages_and_the_goal_setting_pass_axe(
        app: Flask, tenants: dict[str, TenantSet], new_page: OpenPage) -> None:
    """A quality manager reads coverage per department and picks a quarter; the admin's per-person table and
    the goal on company settings fit a phone and pass axe-core."""
    fr = translator(app, "fr")
    seed_company(app, tenants)
    qm = new_page()
    log_in(qm, fr, tenants["a"].users[Role.QUALITY_MANAGER].email, PASSWORD)
    qm.goto("/coverage")
    qm.get_by_label(fr("Quarter"), exact=True).select_option("2026-Q2")
    qm.get_by_role("button", name=fr("Show"), exact=True).click()
    expect(qm).to_have_url(re.compile(r"/coverage\?quarter=2026-Q2$"))
    sales = qm.locator("#coverage-table tbody tr", has_text="Ventes")
    expect(sales.locator("td").nth(2)).to_have_text(re.compile(r"^50\s%$"))
    findings, settings = Findings([], [], []), Findings([], [], [])
    for viewport, label in ((PHONE, "phone"), (DESKTOP, "desktop")):
        viewer = new_page(viewport=viewport)
        log_in(viewer, fr, tenants["a"].users[Role.TENANT_ADMIN].email, PASSWORD)
        check_pages(viewer, ["/coverage?quarter=2026-Q2", "/coverage/people?quarter=2026-Q2"], label, findings)
        check_pages(viewer, ["/settings/company"], label, settings)  # its French is other sections' too
    # The admin narrows the per-person table to a department, then types a name nobody has: htmx swaps it.
    viewer.goto("/coverage/people?quarter=2026-Q2")
    viewer.get_by_label(fr("Department"), exact=True).select_option("Ventes")
    expect(viewer.locator("#person-rows tr")).to_have_count(3)
    expect(viewer).to_have_url(re.compile(r"department=Ventes"))
    viewer.get_by_label(fr("Name or e-mail"), exact=True).press_sequentially("personne-inconnue")
    expect(viewer.locator("#person-results")).to_contain_text(fr("Nobody matches these filters"))
    check_pages(viewer, ["/coverage/people?quarter=2026-Q2&department=Ventes&q=personne-inconnue"], "filtered",
                findings)
    assert not findings.wide + settings.wide, "pages wider than the screen:\n" + "\n".join(findings.wide)
    assert not findings.accessibility + settings.accessibility, "axe-core, WCAG 2 A/AA:\n" + "\n".join(
        findings.accessibility + settings.accessibility)
    assert not findings.typography, "French punctuation without its no-break space:\n" + "\n".join(findings.typography)
