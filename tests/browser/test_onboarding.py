"""The onboarding story, through the UI only, in Debian's Chromium.

The platform admin onboards a company; its admin accepts the mailed invitation and invites a
quality manager, who switches the interface to English. The htmx interactions are exercised
once each: the inline role <select> on /people and the suspend button on /admin/tenants.

Expected texts come from the app's own catalogs (``translator(app, "fr")``), so the test follows the
translations instead of copying them (the French catalog must be compiled: bin/setup does it).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from email.message import EmailMessage
from pathlib import Path

from flask import Flask
from flask_babel import gettext, pgettext
from playwright.sync_api import Locator, Page, expect

from tests.browser.conftest import ConsoleWatch, OpenPage
from tests.conftest import PASSWORD, TenantSet
from tests.mail import link_in, mail_to
from tests.support.smtpsink import SmtpSink
from webapp import tenancy
from webapp.i18n import force_locale
from webapp.models import Role
from webapp.services import accounts as account_service
from webapp.services import tenants as tenant_service

Translate = Callable[..., str]

COMPANY = "Boulangerie Dupain"
ADMIN = "patron@dupain.test"
QM = "qualite@dupain.test"
ADMIN_PASSWORD = "pain au chocolat"
QM_PASSWORD = "croissant au beurre"
OPS = "ops@ecoute.test"
OPS_ONE_TIME = "printed-by-the-operator"
OPS_PASSWORD = "baguette tradition"


def translator(app: Flask, locale: str) -> Translate:
    """``t("Calls")``: the text the app shows for this message id in ``locale``."""

    def t(msgid: str, context: str | None = None, **variables: object) -> str:
        with app.test_request_context(), force_locale(locale):
            if context is not None:
                return str(pgettext(context, msgid, **variables))
            return str(gettext(msgid, **variables))

    return t


def log_in(page: Page, t: Translate, email: str, password: str) -> None:
    page.goto("/login")
    page.get_by_label(t("E-mail"), exact=True).fill(email)
    page.get_by_label(t("Password"), exact=True).fill(password)
    page.get_by_role("button", name=t("Log in"), exact=True).click()


def accept_invitation(page: Page, t: Translate, msg: EmailMessage, name: str, password: str) -> None:
    page.goto(link_in(msg, "invitation"))
    expect(page.get_by_role("heading", level=1)).to_have_text(t("Join %(company)s on Écoute", company=COMPANY))
    page.get_by_label(t("Your name"), exact=True).fill(name)
    page.get_by_label(t("New password"), exact=True).fill(password)
    page.get_by_label(t("New password, again"), exact=True).fill(password)
    page.get_by_role("button", name=t("Activate my account")).click()
    expect(page).to_have_url(re.compile(r"/login$"))
    expect(page.get_by_role("status")).to_have_text(
        t("Welcome! Your account is ready: log in with your e-mail and new password."))


def expect_language(page: Page, locale: str) -> None:
    expect(page.locator("html")).to_have_attribute("lang", locale)


def row_of(page: Page, text: str) -> Locator:
    return page.get_by_role("row").filter(has_text=text)


def mark_document(page: Page) -> None:
    """Tag the loaded document, so that a full page load (which drops the tag) can be told apart."""
    page.evaluate("window.__marker = 1")


def assert_same_document(page: Page) -> None:
    assert page.evaluate("window.__marker") == 1, "the page was reloaded instead of swapping a fragment"


def test_onboarding_story(app: Flask, tenants: dict[str, TenantSet], smtp: SmtpSink, new_page: OpenPage,
                          console: ConsoleWatch, tmp_path: Path) -> None:
    fr, en = translator(app, "fr"), translator(app, "en")
    assert fr("Calls") == "Appels", "no compiled French catalog: run bin/setup (pybabel compile -d webapp/translations)"
    shots = tmp_path / "shots"

    # The platform admin logs in; a browser set to French gets the French interface.
    root = new_page()
    root.goto("/login")
    expect_language(root, "fr")
    expect(root.get_by_role("heading", level=1)).to_have_text(fr("Log in to Écoute"))
    root.screenshot(path=shots / "login.png", full_page=True)
    log_in(root, fr, "root@ecoute.test", PASSWORD)
    expect(root).to_have_url(re.compile(r"/admin/tenants$"))

    # ... onboards the company.
    root.get_by_label(fr("Company name"), exact=True).fill(COMPANY)
    root.get_by_label(fr("Short name"), exact=True).fill("boulangerie-dupain")
    root.get_by_label(fr("Language"), exact=True).select_option("fr")
    root.get_by_label(fr("Keep recordings (days)"), exact=True).fill("90")
    root.get_by_label(fr("E-mail of its first admin"), exact=True).fill(ADMIN)
    root.get_by_role("button", name=fr("Create and invite")).click()
    expect(root.get_by_role("status")).to_have_text(
        fr("%(name)s is created. Its admin has been sent an invitation.", name=COMPANY))
    company_row = row_of(root, COMPANY)
    expect(company_row.get_by_role("cell")).to_have_text(
        [COMPANY, "boulangerie-dupain", "Français", "1", re.compile(r"^90\b"), fr("Active", "company status"),
         fr("Suspend")])
    root.screenshot(path=shots / "tenants.png", full_page=True)

    # The new admin gets the invitation in the company's language, accepts it and logs in.
    invitation = mail_to(smtp, ADMIN)
    assert invitation["Subject"] == fr("You are invited to join %(company)s on Écoute", company=COMPANY)
    boss = new_page()
    accept_invitation(boss, fr, invitation, "Paul Dupain", ADMIN_PASSWORD)
    log_in(boss, fr, ADMIN, ADMIN_PASSWORD)
    expect(boss).to_have_url(re.compile(r"/people$"))
    expect(boss.get_by_role("heading", level=1)).to_have_text(fr("People of %(company)s", company=COMPANY))

    # ... and invites a quality manager.
    boss.get_by_label(fr("E-mail"), exact=True).fill(QM)
    boss.get_by_label(fr("Name (optional)"), exact=True).fill("Claire Martin")
    boss.get_by_label(fr("Role"), exact=True).select_option(label=fr("Quality manager"))
    boss.get_by_role("button", name=fr("Send the invitation")).click()
    expect(boss.get_by_role("status")).to_have_text(fr("An invitation has been sent to %(email)s.", email=QM))
    expect(row_of(boss, QM)).to_contain_text(fr("Invited"))
    boss.screenshot(path=shots / "people.png", full_page=True)

    # The quality manager accepts and lands on the calls page, in French.
    qm_invitation = mail_to(smtp, QM)
    assert qm_invitation["Subject"] == fr("You are invited to join %(company)s on Écoute", company=COMPANY)
    qm = new_page()
    accept_invitation(qm, fr, qm_invitation, "Claire Martin", QM_PASSWORD)
    log_in(qm, fr, QM, QM_PASSWORD)
    expect(qm).to_have_url(re.compile(r"/calls$"))
    expect_language(qm, "fr")
    expect(qm.get_by_role("heading", level=1)).to_have_text("Appels")

    # ... switches to English with the header's button; the choice outlives logging out.
    qm.get_by_role("button", name="English").click()
    expect_language(qm, "en")
    expect(qm).to_have_url(re.compile(r"/calls\??$"))
    expect(qm.get_by_role("heading", level=1)).to_have_text(en("Calls"))
    expect(qm.get_by_role("button", name="English")).to_have_attribute("aria-pressed", "true")
    qm.get_by_role("button", name=en("Log out")).click()
    expect(qm).to_have_url(re.compile(r"/login$"))
    expect(qm.get_by_role("status")).to_have_text(en("You are logged out."))
    log_in(qm, en, QM, QM_PASSWORD)
    expect(qm).to_have_url(re.compile(r"/calls$"))
    expect_language(qm, "en")
    expect(qm.get_by_role("heading", level=1)).to_have_text(en("Calls"))

    # htmx, inline edit: the admin makes the quality manager Staff; only the row is swapped.
    boss.reload()
    role_select = boss.get_by_label(fr("Role of %(email)s", email=QM), exact=True)
    expect(role_select).to_have_value("quality_manager")
    mark_document(boss)
    with boss.expect_response(re.compile(r"/people/\d+/role$")) as answer:
        role_select.select_option("staff")
    assert answer.value.status == 200
    assert answer.value.request.headers.get("hx-request") == "true"
    expect(row_of(boss, QM)).to_contain_text(fr("Role changed."))
    expect(role_select).to_have_value("staff")
    assert_same_document(boss)
    boss.reload()
    expect(boss.get_by_label(fr("Role of %(email)s", email=QM), exact=True)).to_have_value("staff")

    # htmx, row action: the platform admin suspends the company; the row's button flips.
    mark_document(root)
    confirms: list[str] = []
    root.once("dialog", lambda dialog: (confirms.append(dialog.message), dialog.accept()))
    company_row.get_by_role("button", name=fr("Suspend"), exact=True).click()
    expect(company_row.get_by_role("button", name=fr("Reactivate"), exact=True)).to_be_visible()
    expect(company_row).to_contain_text(fr("Suspended", "company status"))
    assert confirms == [fr("Suspend %(name)s? Its people will be logged out at once.", name=COMPANY)]
    assert_same_document(root)

    # The company's admin is logged out at the next request and cannot log in again.
    boss.goto("/people")
    expect(boss).to_have_url(re.compile(r"/login(\?.*)?$"))
    console.allow(r"/login\): Failed to load resource: .* status of 422")  # a refused login answers 422
    log_in(boss, fr, ADMIN, ADMIN_PASSWORD)
    expect(boss.get_by_role("alert")).to_have_text(
        fr("Your company's access to Écoute is suspended. Contact your administrator."))
    expect(boss).to_have_url(re.compile(r"/login$"))

    # An operator printed a one-time password (``ecoute platform-admin create``): it opens only the
    # form that replaces it, whatever page is asked for; then the person lands on their own page.
    with app.app_context(), tenancy.all_tenants_session() as session:
        tenant_service.upsert_active_user(session, account_service.platform_tenant(session), email=OPS,
                                          role=Role.PLATFORM_ADMIN, password=OPS_ONE_TIME, one_time=True)
    ops = new_page()
    log_in(ops, fr, OPS, OPS_ONE_TIME)
    expect(ops).to_have_url(re.compile(r"/password/change$"))
    expect(ops.get_by_role("heading", level=1)).to_have_text(fr("Choose your own password"))
    ops.goto("/admin/tenants")
    expect(ops).to_have_url(re.compile(r"/password/change$"))
    ops.get_by_label(fr("Current password"), exact=True).fill(OPS_ONE_TIME)
    ops.get_by_label(fr("New password"), exact=True).fill(OPS_PASSWORD)
    ops.get_by_label(fr("New password, again"), exact=True).fill(OPS_PASSWORD)
    ops.get_by_role("button", name=fr("Save the password")).click()
    expect(ops).to_have_url(re.compile(r"/admin/tenants$"))
    expect(ops.get_by_role("status")).to_have_text(fr("Your password has been changed."))
    ops.screenshot(path=shots / "own-password.png", full_page=True)
