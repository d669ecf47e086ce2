"""The complaint register through the UI in Debian's Chromium (issue #15): a quality manager records an
oral complaint proposed on a call's page in one click, moves the entry along its life cycle, sees a
rejection refused while it does not name the mediator, then accepted once it does; the register's list
filters by status and by product; the register's list and the entry's page pass axe-core."""

from __future__ import annotations

import re

from flask import Flask
from playwright.sync_api import expect

from tests import factories, test_register
from tests.browser.conftest import ConsoleWatch, OpenPage
from tests.browser.test_layout import DESKTOP, PHONE, Findings, accessibility, check_pages
from tests.browser.test_onboarding import log_in, translator
from tests.conftest import PASSWORD, TenantSet
from tests.test_register import _reason
from webapp import tenancy
from webapp.models import Role, Tenant

MEDIATOR = "Médiateur de la consommation CM2C"
#: Chromium logs every 4xx answer as a console error: a refused answer is a 422, and the call page asks
#: for waveform peaks that only the worker makes.
REFUSED = r"Failed to load resource: the server responded with a status of (422|404)"


def _unhappy_call(app: Flask, tenant_id: int) -> int:
    """A processed call whose customer is unhappy, with a complaint reason and complaint expressions, all
    found by the worker's own tagging step (as tests/test_register.py's oral complaints are)."""
    _reason(app, tenant_id)
    return test_register._unhappy_call(app, tenant_id, "Je veux faire une réclamation, c'est inadmissible, "
                                                       "on ne me rembourse pas.")


def _name_the_mediator(tenant_id: int) -> None:
    with tenancy.tenant_session(tenant_id) as session:
        tenant = session.get(Tenant, tenant_id)
        assert tenant is not None
        tenant.mediator_name = MEDIATOR


def test_a_quality_manager_records_an_oral_complaint_and_answers_it(
        app: Flask, tenants: dict[str, TenantSet], new_page: OpenPage, console: ConsoleWatch) -> None:
    console.allow(REFUSED)
    fr = translator(app, "fr")
    call_id = _unhappy_call(app, tenants["a"].id)
    page = new_page()
    log_in(page, fr, tenants["a"].users[Role.QUALITY_MANAGER].email, PASSWORD)

    # The call page proposes it; one click records it.
    page.goto(f"/calls/{call_id}")
    proposal = page.locator("#oral-proposal")
    expect(proposal).to_contain_text(fr("This call looks like an oral complaint"))
    proposal.get_by_role("button", name=fr("Record as an oral complaint"), exact=True).click()
    heading = page.get_by_role("heading", level=1)
    expect(heading).to_contain_text("REC-")
    reference = heading.inner_text().split(" ")[0]
    expect(page.locator("#entry-status")).to_have_text(fr("Newly received"))
    expect(page.locator("#acknowledge-by")).to_contain_text(re.compile(r"\d+ jours? restants?"))
    expect(page.locator(f'#entry-links a[href="/calls/{call_id}"]')).to_be_visible()
    assert accessibility(page) == []

    # Along the life cycle.
    page.get_by_role("button", name=fr("Mark as “%(status)s”", status=fr("Acknowledged")), exact=True).click()
    expect(page.locator("#entry-status")).to_have_text(fr("Acknowledged"))
    expect(page.locator("#acknowledge-by")).to_contain_text(fr("Done"))
    page.get_by_role("button", name=fr("Mark as “%(status)s”", status=fr("Under investigation")), exact=True).click()
    expect(page.locator("#entry-status")).to_have_text(fr("Under investigation"))

    # A rejection: refused while the company has no mediator, then while the answer does not name it.
    form = page.locator("#answer-form")
    form.get_by_label(fr("Rejected"), exact=True).check()
    form.get_by_label(fr("Answer sent to the customer"), exact=True).fill("Nous ne pouvons pas vous rembourser.")
    form.get_by_role("button", name=fr("Record the answer"), exact=True).click()
    expect(page.locator("#answer-form [role=alert]")).to_contain_text("paramètres de l'entreprise")
    with app.app_context():
        _name_the_mediator(tenants["a"].id)
    page.locator("#answer-form").get_by_role("button", name=fr("Record the answer"), exact=True).click()
    expect(page.locator("#answer-form [role=alert]")).to_contain_text(MEDIATOR)
    expect(page.locator("#entry-status")).to_have_text(fr("Under investigation"))
    form = page.locator("#answer-form")
    form.get_by_label(fr("Answer sent to the customer"), exact=True).fill(
        "Nous ne pouvons pas vous rembourser. Vous pouvez saisir le médiateur de la consommation CM2C.")
    form.get_by_role("button", name=fr("Record the answer"), exact=True).click()
    expect(page.get_by_text(fr("Answer recorded."))).to_be_visible()
    expect(page.locator("#entry-status")).to_have_text(fr("Answered"))
    expect(page.locator("#entry-outcome")).to_have_text(fr("Rejected"))
    expect(page.locator("#answer-by")).to_contain_text(fr("Done"))
    page.get_by_role("button", name=fr("Mark as “%(status)s”", status=fr("Closed")), exact=True).click()
    expect(page.locator("#entry-status")).to_have_text(fr("Closed"))
    expect(page.locator("#timeline li")).to_have_count(5)
    assert accessibility(page) == []

    # The register's list shows it, and filters by status.
    page.get_by_role("link", name=fr("Register"), exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(fr("Complaint register"))
    expect(page.locator("#entry-results")).to_contain_text(reference)
    assert accessibility(page) == []
    page.get_by_label(fr("Status"), exact=True).select_option("investigating")
    expect(page.locator("#entry-results")).not_to_contain_text(reference)
    assert accessibility(page) == []


def test_a_letter_is_added_and_the_register_pages_fit_a_phone(
        app: Flask, tenants: dict[str, TenantSet], new_page: OpenPage) -> None:
    """An admin adds a letter through the new-entry form; the register's pages and the company settings fit a
    phone and a wide screen, keep French typography and pass axe-core."""
    fr = translator(app, "fr")
    with app.app_context():
        factories.make_complaint(tenants["a"].id)  # an entry made by itself, with a linked complaint
    page = new_page()
    log_in(page, fr, tenants["a"].users[Role.TENANT_ADMIN].email, PASSWORD)
    page.goto("/register/new")
    form = page.locator("#register-new-form")
    form.get_by_label(fr("Subject"), exact=True).fill("Lettre, four en panne")
    form.get_by_label(fr("Received on"), exact=True).fill("2026-01-05")
    form.get_by_label(fr("Sent on (postmark, e-mail date)"), exact=True).fill("2026-01-02")
    form.get_by_label(fr("Product"), exact=True).fill("Four X2")
    form.get_by_role("button", name=fr("Add to the register"), exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("REC-2026-")
    expect(page.locator("#acknowledge-by")).to_contain_text("14 janv. 2026")  # 10 ouvrables from the 2nd
    entry_path = "/register/" + page.url.rstrip("/").rsplit("/", 1)[-1].split("#")[0]
    # The list's product filter is a pick among the company's products, matched exactly.
    page.goto("/register")
    rows = page.locator("#entry-results tbody tr")
    expect(rows).to_have_count(2)
    page.get_by_label(fr("Product"), exact=True).select_option("Four X2")
    expect(rows).to_have_count(1)
    expect(rows).to_contain_text("Lettre, four en panne")
    findings = Findings([], [], [])
    for viewport, label in ((PHONE, "phone"), (DESKTOP, "desktop")):
        viewer = new_page(viewport=viewport)
        log_in(viewer, fr, tenants["a"].users[Role.TENANT_ADMIN].email, PASSWORD)
        check_pages(viewer, ["/register", "/register/new", entry_path, "/settings/company"], label, findings)
    assert not findings.wide, "pages wider than the screen:\n" + "\n".join(findings.wide)
    assert not findings.accessibility, "axe-core, WCAG 2 A/AA:\n" + "\n".join(findings.accessibility)
    assert not findings.typography, "French punctuation without its no-break space:\n" + "\n".join(findings.typography)
